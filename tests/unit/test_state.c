/* test_state.c -- profiles, co-occurrence, dedup, offsets, persistence. */
#include <stdlib.h>
#include <unistd.h>

#include "recstream/rs_conf.h"
#include "recstream/rs_state.h"
#include "rs_test.h"

static char g_dir[256];

static rs_conf_t *mkconf(void) {
    char err[256];
    rs_conf_t *c = rs_conf_new();
    snprintf(g_dir, sizeof(g_dir), "/tmp/rs-test-state-XXXXXX");
    if (!mkdtemp(g_dir)) abort();
    rs_conf_set(c, "state.dir", g_dir, "test", err, sizeof(err));
    return c;
}

static void rmdir_r(void) {
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", g_dir);
    if (system(cmd)) {
    }
}

static rs_event_t ev(const char *user, const char *item, rs_evtype_t t, int64_t ts) {
    rs_event_t e = {0};
    e.fields = RS_F_REQUIRED;
    e.type = t;
    e.ts_ms = ts;
    e.event_id = rs_str("x", 1);
    e.user_id = rs_str(user, (uint32_t)strlen(user));
    e.item_id = rs_str(item, (uint32_t)strlen(item));
    return e;
}

static uint32_t cooc(rs_state_t *st, const char *a, const char *b) {
    rs_item_t *ia = rs_state_item_get(st, a, strlen(a)), *ib = rs_state_item_get(st, b, strlen(b));
    if (!ia || !ib) return 0;
    rs_state_sync(st);
    /* read through the dump-independent path: top list holds sims, so scan the row */
    for (uint32_t i = 0; i < ia->nb_cap; i++)
        if (ia->nb[i].key == ib->idx) return ia->nb[i].cnt;
    return 0;
}

TEST(pairs_weights_windows) {
    rs_conf_t *conf = mkconf();
    char err[256];
    rs_state_t *st = NULL;
    ASSERT_OK(rs_state_open(&st, conf, err, sizeof(err)));
    int late;
    int64_t t = 1700000000000;
    rs_event_t e1 = ev("u1", "A", RS_EV_VIEW, t);
    rs_event_t e2 = ev("u1", "B", RS_EV_VIEW, t + 1000);
    rs_event_t e3 = ev("u1", "C", RS_EV_PURCHASE, t + 2000);
    rs_event_t e4 = ev("u1", "A", RS_EV_CART, t + 3000);
    rs_event_t e5 = ev("u2", "A", RS_EV_PURCHASE, t + 4000);
    rs_event_t e6 = ev("u2", "C", RS_EV_PURCHASE, t + 5000);
    /* out of the time window (default 30 days): no pair with u2's earlier items */
    rs_event_t e7 = ev("u2", "D", RS_EV_VIEW, t + 5000 + 31 * 86400000LL);
    rs_state_apply(st, &e1, 0, &late);
    rs_state_apply(st, &e2, 0, &late);
    rs_state_apply(st, &e3, 0, &late);
    rs_user_t *u1 = rs_state_apply(st, &e4, 0, &late);
    ASSERT_EQ(late, 0);
    rs_state_apply(st, &e5, 0, &late);
    rs_state_apply(st, &e6, 0, &late);
    rs_state_apply(st, &e7, 0, &late);
    /* position weights x60: the p-th most recent item pairs with 60/(1+p);
     * A(cart) by u1 is a repeat within the window and adds no pairs */
    ASSERT_EQ(rs_state_pair_scale(st), 60);
    ASSERT_EQ(cooc(st, "A", "B"), 60); /* B after A (p=0) */
    ASSERT_EQ(cooc(st, "B", "A"), 60);
    ASSERT_EQ(cooc(st, "A", "C"), 30 + 60); /* u1: C with A at p=1; u2: C with A at p=0 */
    ASSERT_EQ(cooc(st, "B", "C"), 60);
    ASSERT_EQ(cooc(st, "D", "A"), 0);
    ASSERT_EQ(cooc(st, "D", "C"), 0);
    /* profile: ring is distinct items, most recent first, A keeps the stronger type */
    ASSERT_EQ(u1->n_recent, 3);
    ASSERT_EQ(u1->recent[0].item, rs_state_item_get(st, "A", 1)->idx);
    ASSERT_EQ(u1->recent[0].type, RS_EV_CART);
    ASSERT_EQ(u1->counts[RS_EV_VIEW], 2);
    ASSERT_EQ(u1->counts[RS_EV_PURCHASE], 1);
    ASSERT_EQ(u1->n_purchased, 1);
    ASSERT_EQ(u1->sessions, 1);
    /* n(item): users it was new to (u1's repeat of A does not count) */
    rs_item_t *a = rs_state_item_get(st, "A", 1);
    ASSERT_EQ(a->weight, 2);
    ASSERT_EQ(rs_state_total_weight(st), 6);
    /* late event: older than the user's last event */
    rs_event_t e8 = ev("u1", "E", RS_EV_VIEW, t - 1000);
    rs_state_apply(st, &e8, 0, &late);
    ASSERT_EQ(late, 1);
    rs_state_close(st);
    rmdir_r();
    rs_conf_destroy(conf);
}

TEST(commit_reopen_exact) {
    rs_conf_t *conf = mkconf();
    char err[256];
    rs_state_t *st = NULL;
    ASSERT_OK(rs_state_open(&st, conf, err, sizeof(err)));
    int late;
    int64_t t = 1700000000000;
    char u[16], it[16];
    for (int i = 0; i < 2000; i++) {
        snprintf(u, sizeof(u), "u%d", i % 37);
        snprintf(it, sizeof(it), "i%d", (i * 7) % 101);
        rs_event_t e = ev(u, it, (rs_evtype_t)(i % 4), t + i * 1000);
        rs_state_apply(st, &e, 0, &late);
        rs_state_offset_consumed(st, "events", i % 3, i);
        if (i % 500 == 499) ASSERT_OK(rs_state_commit(st, err, sizeof(err)));
    }
    ASSERT_EQ(rs_state_offset(st, "events", 0), 1998 + 1);
    ASSERT_EQ(rs_state_offset(st, "events", 1), 1999 + 1);
    uint64_t entries = rs_state_cooc_entries(st);
    uint32_t nitems = rs_state_item_count(st);
    uint32_t c_ab = cooc(st, "i7", "i14");
    char *d1 = NULL, *d2 = NULL;
    size_t l1 = 0, l2 = 0;
    FILE *f = open_memstream(&d1, &l1);
    ASSERT_OK(rs_state_dump(st, f, err, sizeof(err)));
    fclose(f);
    rs_state_close(st);
    st = NULL;
    ASSERT_OK(rs_state_open(&st, conf, err, sizeof(err)));
    ASSERT_EQ(rs_state_item_count(st), nitems);
    ASSERT_EQ(rs_state_cooc_entries(st), entries);
    ASSERT_EQ(cooc(st, "i7", "i14"), c_ab);
    ASSERT_EQ(rs_state_offset(st, "events", 2), 1997 + 1);
    ASSERT_EQ(rs_state_offset(st, "other", 0), -1);
    f = open_memstream(&d2, &l2);
    ASSERT_OK(rs_state_dump(st, f, err, sizeof(err)));
    fclose(f);
    ASSERT_EQ(l1, l2);
    ASSERT(memcmp(d1, d2, l1) == 0);
    ASSERT(strstr(d1, "offset events 1 2000\n") != NULL);
    rs_user_t *u0 = rs_state_user_get(st, "u0", 2);
    ASSERT(u0 != NULL);
    ASSERT_EQ(u0->counts[0] + u0->counts[1] + u0->counts[2] + u0->counts[3],
              55); /* ceil(2000/37) */
    free(d1);
    free(d2);
    rs_state_close(st);
    rmdir_r();
    rs_conf_destroy(conf);
}

TEST(uncommitted_is_lost_on_reopen) {
    rs_conf_t *conf = mkconf();
    char err[256];
    rs_state_t *st = NULL;
    ASSERT_OK(rs_state_open(&st, conf, err, sizeof(err)));
    int late;
    rs_event_t e = ev("u1", "A", RS_EV_VIEW, 1700000000000);
    rs_state_apply(st, &e, 0, &late);
    rs_state_offset_consumed(st, "events", 0, 5);
    ASSERT_OK(rs_state_commit(st, err, sizeof(err)));
    rs_event_t e2 = ev("u1", "B", RS_EV_VIEW, 1700000001000);
    rs_state_apply(st, &e2, 0, &late);
    rs_state_offset_consumed(st, "events", 0, 6);
    rs_state_close(st); /* "crash": no commit */
    st = NULL;
    ASSERT_OK(rs_state_open(&st, conf, err, sizeof(err)));
    ASSERT_EQ(rs_state_offset(st, "events", 0), 6);
    ASSERT(rs_state_item_get(st, "B", 1) == NULL);
    rs_user_t *u = rs_state_user_get(st, "u1", 2);
    ASSERT_EQ(u->counts[RS_EV_VIEW], 1);
    rs_state_close(st);
    rmdir_r();
    rs_conf_destroy(conf);
}

TEST(dedup_window_persists_and_evicts) {
    rs_conf_t *conf = mkconf();
    char err[256];
    rs_conf_set(conf, "dedup.window", "10", "test", err, sizeof(err));
    rs_state_t *st = NULL;
    ASSERT_OK(rs_state_open(&st, conf, err, sizeof(err)));
    char id[16];
    for (int i = 0; i < 25; i++) {
        snprintf(id, sizeof(id), "e%d", i);
        ASSERT_EQ(rs_state_dedup(st, id, strlen(id)), 0);
        ASSERT_EQ(rs_state_dedup(st, id, strlen(id)), 1);
        if (i % 5 == 4) ASSERT_OK(rs_state_commit(st, err, sizeof(err)));
    }
    rs_state_close(st);
    st = NULL;
    ASSERT_OK(rs_state_open(&st, conf, err, sizeof(err)));
    /* chunks of 5: the newest >= 10 ids are kept (e15..e24), older ones evicted */
    ASSERT_EQ(rs_state_dedup(st, "e24", 3), 1);
    ASSERT_EQ(rs_state_dedup(st, "e15", 3), 1);
    ASSERT_EQ(rs_state_dedup(st, "e3", 2), 0);
    rs_state_close(st);
    rmdir_r();
    rs_conf_destroy(conf);
}

TEST(top_neighbours_and_popular) {
    rs_conf_t *conf = mkconf();
    char err[256];
    rs_state_t *st = NULL;
    ASSERT_OK(rs_state_open(&st, conf, err, sizeof(err)));
    int late;
    int64_t t = 1700000000000;
    char u[16];
    /* A-B bought together by 10 users, A-C viewed together by 2 */
    for (int i = 0; i < 10; i++) {
        snprintf(u, sizeof(u), "b%d", i);
        rs_event_t x = ev(u, "A", RS_EV_PURCHASE, t), y = ev(u, "B", RS_EV_PURCHASE, t + 1);
        rs_state_apply(st, &x, 0, &late);
        rs_state_apply(st, &y, 0, &late);
    }
    for (int i = 0; i < 2; i++) {
        snprintf(u, sizeof(u), "v%d", i);
        rs_event_t x = ev(u, "A", RS_EV_VIEW, t), y = ev(u, "C", RS_EV_VIEW, t + 1);
        rs_state_apply(st, &x, 0, &late);
        rs_state_apply(st, &y, 0, &late);
    }
    rs_item_t *a = rs_state_item_get(st, "A", 1);
    uint32_t n;
    const rs_nbr_t *nb = rs_state_item_top(st, a, &n);
    ASSERT_EQ(n, 2);
    ASSERT_EQ(nb[0].item, rs_state_item_get(st, "B", 1)->idx);
    /* c / (n(A)^0.85 n(b)^0.15): n(A) = 12 users, n(B) = 10, n(C) = 2 */
    ASSERT_EQ(nb[0].cnt, 600);
    /* in pair units: the stored count is x60 */
    ASSERT_NEAR(nb[0].sim, 10.0 / (pow(12, 0.85) * pow(10, 0.15)), 1e-5);
    ASSERT_NEAR(nb[1].sim, 2.0 / (pow(12, 0.85) * pow(2, 0.15)), 1e-5);
    ASSERT_NEAR(rs_state_sim(st, a, nb[1].item, 120), nb[1].sim, 1e-5);
    uint32_t np;
    const uint32_t *pop = rs_state_popular(st, &np);
    ASSERT_EQ(np, 3);
    ASSERT_EQ(pop[0], a->idx);
    ASSERT_EQ(pop[1], rs_state_item_get(st, "B", 1)->idx);
    rs_state_close(st);
    rmdir_r();
    rs_conf_destroy(conf);
}

/* F4 profile: sessions, dwell, RFM, mixes, affinities, tags; kept across a reopen. */
TEST(behaviour_profile) {
    rs_conf_t *conf = mkconf();
    char err[256];
    rs_state_t *st = NULL;
    ASSERT_OK(rs_state_open(&st, conf, err, sizeof(err)));
    int late;
    /* 2023-11-14 22:13:20 UTC: night bucket from 00:00, so start at 01:00 */
    int64_t t = 1699923600000; /* 2023-11-14 01:00:00 UTC */
    static const struct {
        const char *item, *cat, *type, *device;
        int64_t dt; /* ms after the previous event */
        double price;
    } evs[] = {
        {"A", "shoes", "view", "iPhone", 0, -1},     /* session 1 */
        {"B", "shoes", "view", "iPhone", 20000, -1}, /* A's dwell 20 s */
        {"B", "shoes", "cart", "iPhone", 10000, -1}, /* B's dwell 10 s */
        {"B", "shoes", "purchase", "iPhone", 5000, 100},
        {"C", "hats", "view", "desktop-web", 3600000, -1}, /* session 2 (gap 1 h) */
        {"D", "shoes", "purchase", "android app", 86400000, 300},
    };
    rs_user_t *u = NULL;
    for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
        t += evs[i].dt;
        rs_event_t e = ev("p1", evs[i].item, rs_evtype_parse(evs[i].type, strlen(evs[i].type)), t);
        e.fields |= RS_F_CATEGORY | RS_F_DEVICE;
        e.category = rs_str(evs[i].cat, (uint32_t)strlen(evs[i].cat));
        e.device = rs_str(evs[i].device, (uint32_t)strlen(evs[i].device));
        if (evs[i].price >= 0) e.fields |= RS_F_PRICE, e.price = evs[i].price;
        u = rs_state_apply(st, &e, 0, &late);
    }
    ASSERT_EQ(u->sessions, 3);
    ASSERT_EQ(u->dwell_n, 2); /* views followed by an event in the same session: A, B */
    ASSERT_EQ(u->dwell_ms, 30000);
    ASSERT_EQ(u->purchases, 2);
    ASSERT_EQ(u->first_purchase_ts, 1699923600000 + 35000);
    ASSERT_EQ(u->last_purchase_ts, t);
    ASSERT_EQ(u->tod[RS_TOD_NIGHT], 6); /* 01:00-02:00 UTC on both days */
    ASSERT_EQ(u->device[RS_DEV_MOBILE], 4);
    ASSERT_EQ(u->device[RS_DEV_DESKTOP], 1);
    ASSERT_EQ(u->device[RS_DEV_APP], 1);
    ASSERT_EQ(u->price_n, 2);
    ASSERT_NEAR(u->price_sum, 400, 1e-9);
    /* shoes hold most of the decayed affinity */
    ASSERT(u->cat_aff[0].ix == rs_state_name_lookup(st, "shoes", 5));
    ASSERT(rs_state_affinity_share(u->cat_aff, RS_PROFILE_CATS, 0) > 0.9);
    char tags[256];
    rs_state_user_tags(st, u, tags, sizeof(tags));
    ASSERT_STREQ(tags, "likes:shoes,night-owl,mobile-first");
    ASSERT_OK(rs_state_commit(st, err, sizeof(err)));
    int64_t dwell = u->dwell_ms;
    double w0 = u->cat_aff[0].log_w;
    rs_state_close(st);
    ASSERT_OK(rs_state_open(&st, conf, err, sizeof(err)));
    u = rs_state_user_get(st, "p1", 2);
    ASSERT(u != NULL);
    ASSERT_EQ(u->dwell_ms, dwell);
    ASSERT_EQ(u->device[RS_DEV_APP], 1);
    ASSERT(u->cat_aff[0].ix == rs_state_name_lookup(st, "shoes", 5));
    ASSERT_NEAR(u->cat_aff[0].log_w, w0, 0);
    rs_state_user_tags(st, u, tags, sizeof(tags));
    ASSERT_STREQ(tags, "likes:shoes,night-owl,mobile-first");
    rs_state_close(st);
    rmdir_r();
    rs_conf_destroy(conf);
}

/* Detector and segment state ride with the profile and the item; blobs
 * are staged into the next batch; every loaded user is walked once. */
TEST(watch_state_and_blobs) {
    rs_conf_t *conf = mkconf();
    char err[256];
    rs_state_t *st = NULL;
    ASSERT_OK(rs_state_open(&st, conf, err, sizeof(err)));
    int late;
    int64_t t = 1700000000000;
    char uid[16];
    for (int i = 0; i < 50; i++) {
        snprintf(uid, sizeof(uid), "u%d", i);
        rs_event_t e = ev(uid, i % 2 ? "A" : "B", RS_EV_VIEW, t + i);
        rs_state_apply(st, &e, 0, &late);
        ASSERT_STREQ(rs_state_applied_item(st)->id, i % 2 ? "A" : "B");
    }
    size_t cur = 0, seen = 0;
    uint64_t mask[1] = {0};
    for (rs_user_t *u; (u = rs_state_user_next(st, &cur));) {
        int k = atoi(u->id + 1);
        ASSERT_EQ((mask[0] >> k) & 1, 0);
        mask[0] |= 1ull << k;
        seen++;
    }
    ASSERT_EQ(seen, 50);
    rs_user_t *u7 = rs_state_user_get(st, "u7", 2);
    u7->alert.fired = 3;
    u7->alert.episode_start[RS_ALERT_BOT] = t + 7;
    u7->alert.episode_last[RS_ALERT_BOT] = t + 9;
    u7->seg.rfm = RS_RFM_LOYAL;
    u7->seg.cluster = 2;
    u7->seg.r = 4, u7->seg.f = 3, u7->seg.m = 5;
    rs_state_user_recs_dirty(st, u7);
    rs_item_t *a = rs_state_item_get(st, "A", 1);
    a->alert.fired = 2;
    a->alert.episode_start = t + 1;
    rs_event_t e = ev("u7", "A", RS_EV_VIEW, t + 100); /* marks A dirty */
    rs_state_apply(st, &e, 0, &late);
    rs_buf_t b = {0};
    ASSERT_EQ(rs_state_blob_get(st, "seg", &b), 0);
    rs_state_blob_set(st, "seg", "old", 3);
    rs_state_blob_set(st, "seg", "value", 5); /* replaces the staged one */
    ASSERT_EQ(rs_state_blob_get(st, "seg", &b), 1);
    ASSERT_EQ(b.len, 5);
    ASSERT_OK(rs_state_commit(st, err, sizeof(err)));
    rs_state_close(st);

    ASSERT_OK(rs_state_open(&st, conf, err, sizeof(err)));
    ASSERT_EQ(rs_state_blob_get(st, "seg", &b), 1);
    ASSERT_EQ(b.len, 5);
    ASSERT_EQ(memcmp(b.p, "value", 5), 0);
    ASSERT_EQ(rs_state_blob_get(st, "other", &b), 0);
    u7 = rs_state_user_get(st, "u7", 2);
    ASSERT_EQ(u7->alert.fired, 3);
    ASSERT_EQ(u7->alert.episode_start[RS_ALERT_BOT], t + 7);
    ASSERT_EQ(u7->alert.episode_last[RS_ALERT_BOT], t + 9);
    ASSERT_EQ(u7->seg.rfm, RS_RFM_LOYAL);
    ASSERT_EQ(u7->seg.cluster, 2);
    ASSERT_EQ(u7->seg.r * 100 + u7->seg.f * 10 + u7->seg.m, 435);
    a = rs_state_item_get(st, "A", 1);
    ASSERT_EQ(a->alert.fired, 2);
    ASSERT_EQ(a->alert.episode_start, t + 1);
    rs_buf_free(&b);
    rs_state_close(st);
    rmdir_r();
    rs_conf_destroy(conf);
}

/* Every row entry's "listed" bit (rs_nbent_t.delta's top bit) matches its
 * item's top-N list exactly, through evictions (rec.neighbors=3), rebuilds
 * and commits; no bit reaches the stored deltas: after a reopen every count
 * equals the one in memory. */
static void check_listed(rs_state_t *st, int *bad) {
    rs_state_sync(st);
    for (uint32_t i = 0; i < rs_state_item_count(st); i++) {
        rs_item_t *it = rs_state_item_by_idx(st, i);
        uint32_t n, flagged = 0;
        const rs_nbr_t *top = rs_state_item_top(st, it, &n);
        for (uint32_t k = 0; k < it->nb_cap; k++) {
            if (it->nb[k].key == UINT32_MAX || !(it->nb[k].delta & 0x80000000u)) continue;
            flagged++;
            int found = 0;
            for (uint32_t j = 0; j < n; j++) found |= top[j].item == it->nb[k].key;
            if (!found) (*bad)++;
        }
        if (flagged != n) (*bad)++;
    }
}

TEST(top_listed_bits_exact) {
    rs_conf_t *conf = mkconf();
    char err[256];
    ASSERT_OK(rs_conf_set(conf, "rec.neighbors", "3", "test", err, sizeof(err)));
    rs_state_t *st = NULL;
    ASSERT_OK(rs_state_open(&st, conf, err, sizeof(err)));
    int late, bad = 0;
    int64_t t = 1700000000000;
    uint64_t r = 12345;
    char u[16], it[16];
    for (int round = 0; round < 6; round++) {
        for (int i = 0; i < 400; i++) {
            r = r * 6364136223846793005ull + 1442695040888963407ull;
            snprintf(u, sizeof(u), "u%u", (unsigned)(r >> 33) % 60);
            /* skewed items, so some rows keep changing their leaders */
            unsigned x = (unsigned)(r >> 45) % 1000;
            snprintf(it, sizeof(it), "i%u", x * x / 25000);
            rs_event_t e = ev(u, it, i % 7 ? RS_EV_VIEW : RS_EV_CART, t + round * 1000 + i);
            rs_state_apply(st, &e, 0, &late);
        }
        check_listed(st, &bad);
        if (round % 2) ASSERT_OK(rs_state_commit(st, err, sizeof(err)));
    }
    ASSERT_EQ(bad, 0);
    ASSERT_OK(rs_state_commit(st, err, sizeof(err)));
    uint32_t n_items = rs_state_item_count(st);
    uint64_t sum = 0;
    for (uint32_t i = 0; i < n_items; i++) {
        rs_item_t *x = rs_state_item_by_idx(st, i);
        for (uint32_t k = 0; k < x->nb_cap; k++)
            if (x->nb[k].key != UINT32_MAX)
                sum += (uint64_t)x->nb[k].cnt * (x->nb[k].key + 1) * (i + 1) % 1000003;
    }
    ASSERT(sum > 0);
    rs_state_close(st);
    ASSERT_OK(rs_state_open(&st, conf, err, sizeof(err)));
    ASSERT_EQ(rs_state_item_count(st), n_items);
    uint64_t again = 0; /* the same (neighbour, count) pairs */
    for (uint32_t i = 0; i < n_items; i++) {
        rs_item_t *x = rs_state_item_by_idx(st, i);
        for (uint32_t k = 0; k < x->nb_cap; k++)
            if (x->nb[k].key != UINT32_MAX)
                again += (uint64_t)x->nb[k].cnt * (x->nb[k].key + 1) * (i + 1) % 1000003;
    }
    ASSERT_EQ(again, sum);
    check_listed(st, &bad);
    ASSERT_EQ(bad, 0);
    rs_state_close(st);
    rmdir_r();
    rs_conf_destroy(conf);
}

/* Runs the same events through a state, committing at the same points; with
 * steps > 0, serialises part of the dirty objects (rs_state_commit_step, as
 * the pipeline does after each scoring) every `steps` events, so users are
 * dirtied again after an early serialisation and some wait for the commit.
 * A user is deleted while dirty. Returns the dump after a reopen. */
static char *run_steps(int steps, size_t budget, size_t *len) {
    rs_conf_t *conf = mkconf();
    char err[256];
    rs_state_t *st = NULL;
    if (rs_state_open(&st, conf, err, sizeof(err))) return NULL;
    int late;
    int64_t t = 1700000000000;
    char u[16], it[16];
    for (int i = 0; i < 3000; i++) {
        snprintf(u, sizeof(u), "u%d", (i * 13) % 53);
        snprintf(it, sizeof(it), "i%d", (i * 7) % 89);
        rs_event_t e = ev(u, it, (rs_evtype_t)(i % 4), t + i * 1000);
        rs_state_apply(st, &e, 0, &late);
        rs_state_offset_consumed(st, "events", i % 3, i);
        if (steps && i % steps == steps - 1) rs_state_commit_step(st, budget);
        if (i == 1234) rs_state_user_delete(st, "u5", 2, err, sizeof(err));
        if (i % 1000 == 999 && rs_state_commit(st, err, sizeof(err))) return NULL;
    }
    rs_state_close(st);
    st = NULL;
    char *d = NULL;
    if (rs_state_open(&st, conf, err, sizeof(err))) return NULL;
    FILE *f = open_memstream(&d, len);
    rs_state_dump(st, f, err, sizeof(err));
    fclose(f);
    rs_state_close(st);
    rmdir_r();
    rs_conf_destroy(conf);
    return d;
}

TEST(commit_steps_exact) {
    size_t l0 = 0, l1 = 0, l2 = 0;
    char *d0 = run_steps(0, 0, &l0), *d1 = run_steps(5, 3, &l1), *d2 = run_steps(2, 1000, &l2);
    ASSERT(d0 && d1 && d2);
    ASSERT(l0 > 1000);
    ASSERT(strstr(d0, "offset events 2 3000\n") != NULL);
    ASSERT_EQ(l1, l0);
    ASSERT(memcmp(d0, d1, l0) == 0);
    ASSERT_EQ(l2, l0);
    ASSERT(memcmp(d0, d2, l0) == 0);
    free(d0);
    free(d1);
    free(d2);
}

int main(void) {
    return RUN_TESTS(t_watch_state_and_blobs, t_behaviour_profile, t_pairs_weights_windows,
                     t_commit_reopen_exact, t_uncommitted_is_lost_on_reopen,
                     t_dedup_window_persists_and_evicts, t_top_neighbours_and_popular,
                     t_top_listed_bits_exact, t_commit_steps_exact);
}
