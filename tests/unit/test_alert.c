/* test_alert.c -- fraud/anomaly detectors (rs_alert.h): each rule fires
 * exactly once per planted episode and re-fires after the episode gap,
 * normal traffic stays quiet, ids are deterministic, the closed-form EWMA
 * matches the bucket-by-bucket one, late events do not corrupt state, and
 * the state codec round-trips and rejects corruption. Every threshold the
 * expected numbers depend on is pinned below, not taken from the defaults. */
#include <math.h>
#include <string.h>

#include "recstream/rs_alert.h"
#include "recstream/rs_buf.h"
#include "recstream/rs_conf.h"
#include "rs_test.h"

#define T0  INT64_C(1700000040000) /* a bucket boundary (60 s) */
#define MIN INT64_C(60000)

static rs_conf_t *mkconf(void) {
    static const char *const kv[][2] = {
        {"alert.enable", "true"},
        {"alert.episode.gap.ms", "600000"},
        {"alert.rate.bucket.ms", "60000"},
        {"alert.rate.alpha", "0.05"},
        {"alert.rate.z", "10"},
        {"alert.rate.min.events", "100"},
        {"alert.bot.window.ms", "10000"},
        {"alert.bot.min.views", "50"},
        {"alert.bot.max.dwell.ms", "1000"},
        {"alert.amount.factor", "10"},
        {"alert.amount.min.history", "2"},
        {"alert.card.window.ms", "30000"},
        {"alert.card.min.purchases", "5"},
        {"alert.item.bucket.ms", "60000"},
        {"alert.item.alpha", "0.05"},
        {"alert.item.z", "8"},
        {"alert.item.factor", "5"},
        {"alert.item.min.events", "100"},
        {"alert.item.warmup.ms", "60000"},
    };
    char err[256];
    rs_conf_t *c = rs_conf_new();
    for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
        if (rs_conf_set(c, kv[i][0], kv[i][1], "test", err, sizeof(err))) {
            fprintf(stderr, "%s\n", err);
            abort();
        }
    return c;
}

static void set(rs_conf_t *c, const char *k, const char *v) {
    char err[256];
    if (rs_conf_set(c, k, v, "test", err, sizeof(err))) abort();
}

/* A tiny world: users and items by number, alerts tallied per rule. */
#define NU 64
#define NI 64
typedef struct world {
    rs_alerter_t *al;
    rs_alert_user_t u[NU];
    rs_alert_item_t it[NI];
    char uid[NU][16], iid[NI][16];
    size_t per_rule[RS_ALERT__RULE_COUNT];
    size_t total;
    rs_alert_t last; /* the last alert fired */
    rs_alert_t first[RS_ALERT__RULE_COUNT];
    int last_user[RS_ALERT__RULE_COUNT]; /* subject of the last alert per rule */
} world_t;

static void world_init(world_t *w, const rs_conf_t *c) {
    memset(w, 0, sizeof(*w));
    w->al = rs_alerter_new(c);
    for (int k = 0; k < NU; k++) snprintf(w->uid[k], sizeof(w->uid[k]), "u%d", k);
    for (int k = 0; k < NI; k++) snprintf(w->iid[k], sizeof(w->iid[k]), "i%d", k);
}

static size_t feed(world_t *w, int user, int item, rs_evtype_t t, int64_t ts, double price) {
    rs_event_t e = {0};
    rs_alert_t out[RS_ALERT__RULE_COUNT];
    e.fields = RS_F_REQUIRED | (price > 0 ? RS_F_PRICE : 0);
    e.type = t;
    e.ts_ms = ts;
    e.price = price;
    size_t n = rs_alert_check(w->al, &w->u[user], w->uid[user], (uint32_t)strlen(w->uid[user]),
                              &w->it[item], w->iid[item], (uint32_t)strlen(w->iid[item]), &e, out);
    for (size_t k = 0; k < n; k++) {
        if (!w->per_rule[out[k].rule]) w->first[out[k].rule] = out[k];
        w->per_rule[out[k].rule]++;
        w->last_user[out[k].rule] = out[k].user_id ? user : item;
        w->last = out[k];
    }
    w->total += n;
    return n;
}

static double evidence(const rs_alert_t *a, const char *name) {
    for (uint32_t k = 0; k < a->n_evidence; k++)
        if (!strcmp(a->evidence[k].name, name)) return a->evidence[k].value;
    return NAN;
}

/* Deterministic LCG for the background stream. */
static uint64_t g_rng;
static uint32_t rnd(uint32_t n) {
    g_rng = g_rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)((g_rng >> 33) % n);
}

/* Normal shoppers: users 0..39, ~75 events a minute between them (a user
 * every ~30 s) over items 0..39: views, some carts and purchases (price
 * 10..40), for `minutes`. */
static void background(world_t *w, int64_t t0, int minutes) {
    for (int64_t t = t0; t < t0 + minutes * MIN; t += 200) {
        int u = (int)rnd(40), i = (int)rnd(40);
        if (rnd(4) == 0) {
            uint32_t r = rnd(20);
            rs_evtype_t ty = r == 0 ? RS_EV_PURCHASE : r < 3 ? RS_EV_CART : RS_EV_VIEW;
            feed(w, u, i, ty, t, ty == RS_EV_PURCHASE ? 10.0 + rnd(31) : 0);
        }
    }
}

TEST(names) {
    for (int r = 0; r < RS_ALERT__RULE_COUNT; r++) {
        const char *n = rs_alert_rule_name((rs_alert_rule_t)r);
        ASSERT_EQ(rs_alert_rule_parse(n, strlen(n)), r);
    }
    ASSERT_STREQ(rs_alert_rule_name(RS_ALERT_CARD_TESTING), "card_testing");
    ASSERT_STREQ(rs_alert_rule_name(RS_ALERT_ITEM_SPIKE), "item_spike");
    ASSERT_EQ(rs_alert_rule_parse("bots", 4), -1);
    ASSERT_EQ(rs_alert_rule_parse(NULL, 0), -1);
    ASSERT_EQ(rs_alert_rule_parse("bots", 3), RS_ALERT_BOT); /* length-bounded */
    ASSERT_EQ(rs_alert_rule_parse("bo", 2), -1);
    ASSERT_EQ(rs_alert_rule_parse("nope", 4), -1);
}

TEST(normal_stream_is_quiet) {
    rs_conf_t *c = mkconf();
    world_t *w = rs_xcalloc(1, sizeof(*w));
    world_init(w, c);
    g_rng = rs_test_seed();
    background(w, T0, 180);
    ASSERT_EQ(w->total, 0);
    rs_alerter_destroy(w->al);
    free(w);
    rs_conf_destroy(c);
}

/* Everything planted in one stream over the background: each rule fires
 * exactly once, for the planted subject. */
TEST(planted_episodes_fire_once) {
    rs_conf_t *c = mkconf();
    world_t *w = rs_xcalloc(1, sizeof(*w));
    world_init(w, c);
    g_rng = rs_test_seed();
    background(w, T0, 40);
    int64_t t = T0 + 40 * MIN;
    /* bot u50: 20 views/s for 60 s (also a rate burst) */
    for (int k = 0; k < 1200; k++) feed(w, 50, k % 40, RS_EV_VIEW, t + 50 * k, 0);
    /* card testing u51: 12 purchases 2 s apart, no views */
    for (int k = 0; k < 12; k++) feed(w, 51, k % 5, RS_EV_PURCHASE, t + 2000 * k, 1.5);
    /* big purchase u52: two purchases of 20, then 500 */
    feed(w, 52, 1, RS_EV_PURCHASE, t, 20);
    feed(w, 52, 2, RS_EV_PURCHASE, t + 60000, 20);
    feed(w, 52, 3, RS_EV_PURCHASE, t + 120000, 500);
    /* item spike i60 (never seen, the detector has watched for 40 min): 400 views in 60 s */
    for (int k = 0; k < 400; k++) feed(w, k % 40, 60, RS_EV_VIEW, t + 150 * k, 0);
    background(w, t + 3 * MIN, 60);

    ASSERT_EQ(w->per_rule[RS_ALERT_BOT], 1);
    ASSERT_EQ(w->per_rule[RS_ALERT_RATE_BURST], 1);
    ASSERT_EQ(w->per_rule[RS_ALERT_CARD_TESTING], 1);
    ASSERT_EQ(w->per_rule[RS_ALERT_BIG_PURCHASE], 1);
    ASSERT_EQ(w->per_rule[RS_ALERT_ITEM_SPIKE], 1);
    ASSERT_EQ(w->total, 5);

    const rs_alert_t *b = &w->first[RS_ALERT_BOT];
    ASSERT_STREQ(b->user_id, "u50");
    ASSERT(b->item_id == NULL);
    ASSERT_EQ(b->ts_ms, t + 49 * 50); /* the 50th view */
    ASSERT_EQ(b->episode_start, b->ts_ms);
    ASSERT_EQ(evidence(b, "views"), 50);
    ASSERT_EQ(evidence(b, "window_ms"), 49 * 50);
    ASSERT_EQ(evidence(b, "mean_gap_ms"), 50);
    ASSERT_EQ(evidence(b, "carts"), 0);
    ASSERT_NEAR(b->score, (49.0 / 2450) / (49.0 / 10000), 1e-9); /* 20/s vs 4.9/s */

    const rs_alert_t *r = &w->first[RS_ALERT_RATE_BURST];
    ASSERT_EQ(r->ts_ms, t + 99 * 50); /* the 100th event of the minute */
    ASSERT_EQ(evidence(r, "events"), 100);
    ASSERT_EQ(evidence(r, "baseline_mean"), 0);
    ASSERT_EQ(evidence(r, "baseline_sd"), 1);
    ASSERT_EQ(r->score, 100);

    const rs_alert_t *k = &w->first[RS_ALERT_CARD_TESTING];
    ASSERT_STREQ(k->user_id, "u51");
    ASSERT_EQ(k->ts_ms, t + 8000); /* the 5th purchase */
    ASSERT_EQ(evidence(k, "purchases"), 5);
    ASSERT_EQ(evidence(k, "window_ms"), 8000);
    ASSERT_NEAR(evidence(k, "total"), 7.5, 1e-9);
    ASSERT_NEAR(k->score, (4.0 / 8000) / (4.0 / 30000), 1e-9);

    const rs_alert_t *p = &w->first[RS_ALERT_BIG_PURCHASE];
    ASSERT_STREQ(p->user_id, "u52");
    ASSERT(p->item_id && p->item_len == 2 && !memcmp(p->item_id, "i3", 2));
    ASSERT_EQ(evidence(p, "price"), 500);
    ASSERT_EQ(evidence(p, "mean_price"), 20);
    ASSERT_EQ(evidence(p, "factor"), 25);
    ASSERT_EQ(evidence(p, "history"), 2);
    ASSERT_EQ(p->score, 25);

    const rs_alert_t *s = &w->first[RS_ALERT_ITEM_SPIKE];
    ASSERT(s->user_id == NULL);
    ASSERT(s->item_id && !memcmp(s->item_id, "i60", 3));
    ASSERT_EQ(s->ts_ms, t + 99 * 150);
    ASSERT_EQ(evidence(s, "events"), 100);
    ASSERT_EQ(evidence(s, "baseline_mean"), 0);
    ASSERT_EQ(s->score, 100);
    ASSERT_EQ(w->u[50].fired, 2);
    ASSERT_EQ(w->it[60].fired, 1);
    rs_alerter_destroy(w->al);
    free(w);
    rs_conf_destroy(c);
}

/* The same episode keeps quiet; after a quiet gap a new one fires, with a
 * new id; a replay on fresh state gives the same ids. */
static void bot_runs(world_t *w, rs_alert_t *ids, size_t *nids) {
    *nids = 0;
    int64_t starts[3] = {T0, T0 + 5 * MIN, T0 + 20 * MIN}; /* 2nd within the gap, 3rd after */
    for (int r = 0; r < 3; r++)
        for (int k = 0; k < 200; k++)
            if (feed(w, 7, k % 10, RS_EV_VIEW, starts[r] + 40 * k, 0) &&
                w->last.rule == RS_ALERT_BOT)
                ids[(*nids)++] = w->last;
}

TEST(episodes_and_ids) {
    rs_conf_t *c = mkconf();
    set(c, "alert.rate.min.events", "100000"); /* bot only */
    world_t *w = rs_xcalloc(1, sizeof(*w));
    rs_alert_t a[4], b[4];
    size_t na, nb;
    world_init(w, c);
    bot_runs(w, a, &na);
    ASSERT_EQ(na, 2);
    ASSERT_EQ(a[0].episode_start, T0 + 49 * 40);
    ASSERT_EQ(a[1].episode_start, T0 + 20 * MIN + 49 * 40);
    ASSERT(strcmp(a[0].id, a[1].id) != 0);
    ASSERT_EQ(strlen(a[0].id), 16);
    ASSERT_EQ(strspn(a[0].id, "0123456789abcdef"), 16);
    /* the documented formula */
    unsigned char buf[32];
    memcpy(buf, "bot", 3);
    buf[3] = 0;
    rs_put_u64(buf + 4, rs_hash64("u7", 2));
    rs_put_u64(buf + 12, (uint64_t)a[0].episode_start);
    char want[17];
    snprintf(want, sizeof(want), "%016llx", (unsigned long long)rs_hash64(buf, 20));
    ASSERT_STREQ(a[0].id, want);
    rs_alerter_destroy(w->al);

    world_init(w, c); /* replay on fresh state */
    bot_runs(w, b, &nb);
    ASSERT_EQ(nb, 2);
    ASSERT_STREQ(a[0].id, b[0].id);
    ASSERT_STREQ(a[1].id, b[1].id);
    rs_alerter_destroy(w->al);
    free(w);
    rs_conf_destroy(c);
}

TEST(bot_needs_no_cart_and_speed) {
    rs_conf_t *c = mkconf();
    set(c, "alert.rate.min.events", "100000");
    world_t *w = rs_xcalloc(1, sizeof(*w));
    world_init(w, c);
    /* fast views with a cart in every 10 s window: never a bot */
    for (int k = 0; k < 600; k++)
        feed(w, 1, k % 10, k % 100 == 3 ? RS_EV_CART : RS_EV_VIEW, T0 + 50 * k, 0);
    ASSERT_EQ(w->total, 0);
    /* 50 views in 10 s but mean gap > max dwell (set 100 ms): not a bot */
    set(c, "alert.bot.max.dwell.ms", "100");
    for (int k = 0; k < 100; k++) feed(w, 2, k % 10, RS_EV_VIEW, T0 + 190 * k, 0);
    ASSERT_EQ(w->total, 0);
    /* impressions are not views */
    for (int k = 0; k < 500; k++) feed(w, 3, k % 10, RS_EV_IMPRESSION, T0 + 10 * k, 0);
    ASSERT_EQ(w->total, 0);
    ASSERT_EQ(w->u[3].bot_views, 0);
    ASSERT_EQ(w->u[3].rate_n, 0);
    rs_alerter_destroy(w->al);
    free(w);
    rs_conf_destroy(c);
}

TEST(card_testing) {
    rs_conf_t *c = mkconf();
    world_t *w = rs_xcalloc(1, sizeof(*w));
    world_init(w, c);
    /* a checkout of 5 items at one timestamp, three times a minute apart */
    for (int r = 0; r < 3; r++)
        for (int k = 0; k < 5; k++) feed(w, 1, k, RS_EV_PURCHASE, T0 + r * 20000, 9.99);
    ASSERT_EQ(w->per_rule[RS_ALERT_CARD_TESTING], 0);
    ASSERT_EQ(w->u[1].card_n, 1); /* 0 s and 20 s counted once each; 40 s opened a new window */
    ASSERT_NEAR(w->u[1].card_sum, 5 * 9.99, 1e-9);
    /* 4 purchases in 30 s, then a late one (older time): still 4 */
    for (int k = 0; k < 4; k++) feed(w, 2, k, RS_EV_PURCHASE, T0 + 5000 * k, 1);
    feed(w, 2, 9, RS_EV_PURCHASE, T0 + 2000, 1);
    ASSERT_EQ(w->u[2].card_n, 4);
    ASSERT_EQ(w->total, 0);
    /* the 5th at a new time fires; more in the window keep quiet */
    feed(w, 2, 5, RS_EV_PURCHASE, T0 + 20000, 1);
    ASSERT_EQ(w->per_rule[RS_ALERT_CARD_TESTING], 1);
    for (int k = 0; k < 10; k++) feed(w, 2, k, RS_EV_PURCHASE, T0 + 21000 + 1000 * k, 1);
    ASSERT_EQ(w->per_rule[RS_ALERT_CARD_TESTING], 1);
    /* 5 purchases spread over 40 s: the hopping window never holds 5 */
    for (int k = 0; k < 5; k++) feed(w, 3, k, RS_EV_PURCHASE, T0 + 10000 * k, 1);
    ASSERT_EQ(w->per_rule[RS_ALERT_CARD_TESTING], 1);
    rs_alerter_destroy(w->al);
    free(w);
    rs_conf_destroy(c);
}

TEST(big_purchase) {
    rs_conf_t *c = mkconf();
    world_t *w = rs_xcalloc(1, sizeof(*w));
    world_init(w, c);
    feed(w, 1, 1, RS_EV_PURCHASE, T0, 10);
    feed(w, 1, 2, RS_EV_PURCHASE, T0 + MIN, 0);                       /* unpriced: not history */
    ASSERT_EQ(feed(w, 1, 3, RS_EV_PURCHASE, T0 + 2 * MIN, 500), 0);   /* history 1 < 2 */
    ASSERT_EQ(w->u[1].spend_n, 2);                                    /* 10 and 500 */
    ASSERT_EQ(feed(w, 1, 4, RS_EV_PURCHASE, T0 + 3 * MIN, 2500), 0);  /* 2500 < 10 x 255 */
    ASSERT_EQ(feed(w, 1, 5, RS_EV_PURCHASE, T0 + 4 * MIN, 10300), 1); /* mean 1003.33 */
    ASSERT_EQ(w->last.rule, RS_ALERT_BIG_PURCHASE);
    ASSERT_NEAR(evidence(&w->last, "mean_price"), 3010.0 / 3, 1e-9);
    ASSERT_EQ(evidence(&w->last, "history"), 3);
    ASSERT_EQ(w->u[1].spend_n, 3); /* a big one stays out of the history */
    /* a second item of the same checkout: the same episode */
    ASSERT_EQ(feed(w, 1, 6, RS_EV_PURCHASE, T0 + 4 * MIN, 90000), 0);
    ASSERT_EQ(w->u[1].spend_n, 3);
    /* far later, another one: a new episode */
    ASSERT_EQ(feed(w, 1, 7, RS_EV_PURCHASE, T0 + 60 * MIN, 2e6), 1);
    ASSERT_EQ(w->per_rule[RS_ALERT_BIG_PURCHASE], 2);
    rs_alerter_destroy(w->al);
    free(w);
    rs_conf_destroy(c);
}

/* A card test's cheap purchases leave the big_purchase history once the
 * window fires, so the user's next ordinary purchase is judged on the
 * purchases before the test; the ones before it fired are taken back too. */
TEST(card_test_leaves_history) {
    rs_conf_t *c = mkconf();
    world_t *w = rs_xcalloc(1, sizeof(*w));
    world_init(w, c);
    feed(w, 1, 1, RS_EV_PURCHASE, T0, 40);
    feed(w, 1, 2, RS_EV_PURCHASE, T0 + 10 * MIN, 60);
    int64_t t = T0 + 20 * MIN;
    for (int k = 0; k < 4; k++) feed(w, 1, 10 + k, RS_EV_PURCHASE, t + 2000 * k, 1);
    ASSERT_EQ(w->u[1].spend_n, 6); /* not a test yet: counted */
    ASSERT_EQ(w->total, 0);
    feed(w, 1, 14, RS_EV_PURCHASE, t + 8000, 1); /* the 5th fires card_testing */
    ASSERT_EQ(w->per_rule[RS_ALERT_CARD_TESTING], 1);
    ASSERT_EQ(w->u[1].spend_n, 2);
    ASSERT_NEAR(w->u[1].spend_sum, 100.0, 1e-9);
    feed(w, 1, 15, RS_EV_PURCHASE, t + 8000, 2); /* same checkout: not counted either */
    for (int k = 0; k < 5; k++) feed(w, 1, 20 + k, RS_EV_PURCHASE, t + 9000 + 1000 * k, 1);
    /* the test goes on in a new window, too short to fire by itself: still
     * the episode (gap 10 min), still out */
    for (int k = 0; k < 3; k++) feed(w, 1, 25 + k, RS_EV_PURCHASE, t + 40000 + 1000 * k, 1);
    ASSERT_EQ(w->per_rule[RS_ALERT_CARD_TESTING], 1);
    ASSERT_EQ(w->u[1].spend_n, 2);
    ASSERT_NEAR(w->u[1].spend_sum, 100.0, 1e-9);
    /* an hour later: 120 is 2.4x the mean of 50, not 120x the test's 1.00 */
    ASSERT_EQ(feed(w, 1, 30, RS_EV_PURCHASE, t + 60 * MIN, 120), 0);
    ASSERT_EQ(w->per_rule[RS_ALERT_BIG_PURCHASE], 0);
    ASSERT_EQ(w->u[1].spend_n, 3);
    /* a user whose window never fires keeps its purchases */
    for (int k = 0; k < 4; k++) feed(w, 2, k, RS_EV_PURCHASE, t + 2000 * k, 3);
    ASSERT_EQ(w->u[2].spend_n, 4);
    ASSERT_EQ(feed(w, 2, 9, RS_EV_PURCHASE, t + 60 * MIN, 40), 1); /* 40 >= 10 x 3 */
    ASSERT_EQ(w->last.rule, RS_ALERT_BIG_PURCHASE);
    rs_alerter_destroy(w->al);
    free(w);
    rs_conf_destroy(c);
}

/* A steady heavy user (90 events/min) stays quiet; a 5x burst fires. */
TEST(rate_burst) {
    rs_conf_t *c = mkconf();
    set(c, "alert.bot.min.views", "100000");
    world_t *w = rs_xcalloc(1, sizeof(*w));
    world_init(w, c);
    int64_t t = T0;
    for (int m = 0; m < 120; m++)
        for (int k = 0; k < 90; k++) feed(w, 1, k % 30, RS_EV_VIEW, t + m * MIN + 600 * k, 0);
    ASSERT_EQ(w->total, 0);
    ASSERT(w->u[1].rate_mean > 89 && w->u[1].rate_mean < 90);
    t += 120 * MIN;
    for (int k = 0; k < 450; k++) feed(w, 1, k % 30, RS_EV_VIEW, t + 130 * k, 0);
    ASSERT_EQ(w->per_rule[RS_ALERT_RATE_BURST], 1);
    const rs_alert_t *a = &w->first[RS_ALERT_RATE_BURST];
    double z = evidence(a, "z"), mean = evidence(a, "baseline_mean");
    ASSERT(z >= 10);
    ASSERT_NEAR(z, (evidence(a, "events") - mean) / evidence(a, "baseline_sd"), 1e-9);
    ASSERT_NEAR(evidence(a, "baseline_sd"), sqrt(mean), 1e-4); /* steady: Poisson floor */
    rs_alerter_destroy(w->al);
    free(w);
    rs_conf_destroy(c);
}

/* The closed form over empty buckets equals stepping through them (a small
 * alpha, so 4320 empty buckets -- 3 days -- leave something to compare). */
TEST(ewma_closed_form) {
    rs_conf_t *c = mkconf();
    set(c, "alert.rate.alpha", "0.001");
    world_t *w = rs_xcalloc(1, sizeof(*w));
    world_init(w, c);
    const int counts[4] = {7, 3, 12, 5};
    const int gaps[4] = {1, 4, 1, 4321}; /* buckets to the next one: 3 and 4320 empty */
    double m = 0, v = 0, a = 0.001;
    int64_t b = T0;
    for (int s = 0; s < 4; s++) {
        for (int k = 0; k < counts[s]; k++) feed(w, 1, 1, RS_EV_CART, b + k, 0);
        for (int g = 0; g < gaps[s]; g++) { /* reference: one step per bucket */
            double x = g == 0 ? counts[s] : 0, d = x - m;
            m += a * d;
            v = (1 - a) * (v + a * d * d);
        }
        b += gaps[s] * MIN;
    }
    feed(w, 1, 1, RS_EV_CART, b, 0); /* closes the last bucket and the 4320 empty ones */
    ASSERT_EQ(w->u[1].rate_bucket, b);
    ASSERT_EQ(w->u[1].rate_n, 1);
    ASSERT(m > 1e-6 && m < 1e-3); /* decayed by 0.999^4320 = 1.3% */
    ASSERT_NEAR(w->u[1].rate_mean / m, 1, 1e-5);
    ASSERT_NEAR(w->u[1].rate_var / v, 1, 1e-5);
    /* and over the short gaps (3 empty buckets) to float precision */
    rs_alerter_destroy(w->al);
    set(c, "alert.rate.alpha", "0.05");
    a = 0.05;
    world_init(w, c);
    m = v = 0;
    for (int k = 0; k < 7; k++) feed(w, 2, 1, RS_EV_CART, T0 + k, 0);
    feed(w, 2, 1, RS_EV_CART, T0 + 4 * MIN, 0);
    for (int g = 0; g < 4; g++) {
        double d = (g == 0 ? 7 : 0) - m;
        m += a * d;
        v = (1 - a) * (v + a * d * d);
    }
    ASSERT_NEAR(w->u[2].rate_mean, m, 1e-6);
    ASSERT_NEAR(w->u[2].rate_var, v, 1e-6);
    rs_alerter_destroy(w->al);
    free(w);
    rs_conf_destroy(c);
}

TEST(late_events) {
    rs_conf_t *c = mkconf();
    world_t *w = rs_xcalloc(1, sizeof(*w));
    world_init(w, c);
    for (int k = 0; k < 10; k++) feed(w, 1, 1, RS_EV_VIEW, T0 + k * 1000, 0);
    feed(w, 1, 1, RS_EV_VIEW, T0 + 5 * MIN, 0);
    rs_alert_user_t before = w->u[1];
    rs_alert_item_t ibefore = w->it[1];
    feed(w, 1, 1, RS_EV_VIEW, T0 - 30 * MIN, 0); /* half an hour late */
    /* the user's: counted into the current bucket; the item's: not counted
     * (partitions far apart in a catch-up); baselines and windows untouched */
    ASSERT_EQ(w->u[1].rate_bucket, before.rate_bucket);
    ASSERT_EQ(w->u[1].rate_n, before.rate_n + 1);
    ASSERT(w->u[1].rate_mean == before.rate_mean && w->u[1].rate_var == before.rate_var);
    ASSERT_EQ(w->u[1].bot_start, before.bot_start);
    ASSERT_EQ(w->u[1].bot_last_view, before.bot_last_view);
    ASSERT_EQ(w->it[1].bucket, ibefore.bucket);
    ASSERT_EQ(w->it[1].n, ibefore.n);
    ASSERT_EQ(w->it[1].pn, ibefore.pn);
    ASSERT(w->it[1].mean == ibefore.mean);
    ASSERT_EQ(w->it[1].first_ts, T0);
    /* a minute late: the item's previous bucket is still open and counts it
     * (a catch-up reads partitions up to consume.align.ms apart) */
    feed(w, 2, 1, RS_EV_VIEW, T0 + 4 * MIN + 30000, 0);
    ASSERT_EQ(w->it[1].pn, ibefore.pn + 1);
    ASSERT_EQ(w->it[1].n, ibefore.n);
    /* the next bucket closes it into the baseline with that event: the
     * mean moves by alpha x (1 - mean) from what the idle buckets left */
    float m0 = w->it[1].mean;
    feed(w, 3, 1, RS_EV_VIEW, T0 + 6 * MIN, 0);
    ASSERT_EQ(w->it[1].bucket, T0 + 6 * MIN);
    ASSERT_EQ(w->it[1].pn, 1);
    ASSERT_EQ(w->it[1].n, 1);
    double alpha = c->alert_item_alpha;
    ASSERT(fabs(w->it[1].mean - (m0 + alpha * (1.0 - m0))) < 1e-6);
    ASSERT_EQ(w->total, 0);
    rs_alerter_destroy(w->al);
    free(w);
    rs_conf_destroy(c);
}

/* A popular item from the start (160/min) stays quiet (bias-corrected
 * baseline); the same item at 5x fires; an item seen within the warmup of
 * the origin is not judged. */
TEST(item_spike) {
    rs_conf_t *c = mkconf();
    set(c, "alert.rate.min.events", "100000");
    set(c, "alert.bot.min.views", "100000");
    world_t *w = rs_xcalloc(1, sizeof(*w));
    world_init(w, c);
    int64_t t = T0 + 30000; /* the origin falls mid-bucket */
    for (int k = 0; k < 160 * 30; k++) {
        feed(w, k % NU, 1, RS_EV_VIEW, t + 375 * k, 0);
        if (k < 200) feed(w, k % NU, 2, RS_EV_VIEW, t + 20000 + 100 * k, 0); /* young item */
    }
    ASSERT_EQ(w->total, 0);
    ASSERT_EQ(rs_alerter_origin(w->al), t);
    t = T0 + 31 * MIN; /* a minute later, at a bucket start: 1000 views in 50 s */
    for (int k = 0; k < 1000; k++) feed(w, k % NU, 1, RS_EV_VIEW, t + 50 * k, 0);
    ASSERT_EQ(w->per_rule[RS_ALERT_ITEM_SPIKE], 1);
    const rs_alert_t *a = &w->first[RS_ALERT_ITEM_SPIKE];
    ASSERT(a->item_id && !memcmp(a->item_id, "i1", 2) && a->item_len == 2);
    ASSERT(evidence(a, "baseline_mean") > 140 && evidence(a, "baseline_mean") < 165);
    ASSERT(evidence(a, "events") >= 5 * evidence(a, "baseline_mean"));
    ASSERT(evidence(a, "z") >= 8);
    rs_alerter_destroy(w->al);
    free(w);
    rs_conf_destroy(c);
}

TEST(disabled) {
    rs_conf_t *c = mkconf();
    set(c, "alert.enable", "false");
    world_t *w = rs_xcalloc(1, sizeof(*w));
    world_init(w, c);
    for (int k = 0; k < 500; k++) feed(w, 1, 1, RS_EV_VIEW, T0 + 10 * k, 0);
    ASSERT_EQ(w->total, 0);
    ASSERT_EQ(w->u[1].rate_n, 0);
    /* NULL states skip their rules */
    rs_alerter_destroy(w->al);
    set(c, "alert.enable", "true");
    w->al = rs_alerter_new(c);
    rs_event_t e = {0};
    rs_alert_t out[RS_ALERT__RULE_COUNT];
    e.fields = RS_F_REQUIRED;
    e.type = RS_EV_VIEW;
    e.ts_ms = T0;
    ASSERT_EQ(rs_alert_check(w->al, NULL, NULL, 0, NULL, NULL, 0, &e, out), 0);
    rs_alerter_destroy(w->al);
    rs_alerter_destroy(NULL);
    free(w);
    rs_conf_destroy(c);
}

TEST(codec) {
    rs_alert_user_t u, u2;
    rs_alert_item_t it, it2;
    unsigned char buf[RS_ALERT_STATE_MAX_BYTES];
    memset(&u, 0, sizeof(u));
    u.rate_bucket = T0;
    u.rate_n = 17;
    u.rate_mean = 1.25f;
    u.rate_var = 3.5f;
    u.bot_start = T0 + 1;
    u.bot_last_view = T0 + 2;
    u.bot_views = 40;
    u.bot_other = 1;
    u.card_start = T0 + 3;
    u.card_last = T0 + 4;
    u.card_n = 3;
    u.card_sum = 12.5;
    u.spend_n = 9;
    u.spend_sum = 1234.56;
    for (int r = 0; r < RS_ALERT_USER__COUNT; r++) {
        u.episode_start[r] = T0 + 10 * r;
        u.episode_last[r] = T0 + 10 * r + 5;
    }
    u.fired = 6;
    u.card_pn = 2;
    u.card_ps = 7.5;
    size_t n = rs_alert_user_encode(&u, buf);
    ASSERT_EQ(n, 165);
    ASSERT(n <= RS_ALERT_STATE_MAX_BYTES);
    ASSERT_EQ(buf[0], 2);
    ASSERT_OK(rs_alert_user_decode(&u2, buf, n));
    ASSERT_EQ(memcmp(&u, &u2, sizeof(u)), 0);     /* both memset: padding equal too */
    ASSERT_OK(rs_alert_user_decode(&u2, buf, 0)); /* fresh */
    rs_alert_user_t zero;
    memset(&zero, 0, sizeof(zero));
    ASSERT_EQ(memcmp(&u2, &zero, sizeof(zero)), 0);
    ASSERT_EQ(rs_alert_user_decode(&u2, buf, n - 1), -1);
    buf[0] = 3;
    ASSERT_EQ(rs_alert_user_decode(&u2, buf, n), -1);
    /* v1 (before the card-test fields): the same bytes, shorter, version 1 */
    buf[0] = 1;
    ASSERT_EQ(rs_alert_user_decode(&u2, buf, n), -1); /* v1 with v2's length */
    ASSERT_OK(rs_alert_user_decode(&u2, buf, 153));
    ASSERT_EQ(u2.card_pn, 0);
    ASSERT_EQ(u2.card_ps, 0.0);
    u2.card_pn = u.card_pn;
    u2.card_ps = u.card_ps;
    ASSERT_EQ(memcmp(&u, &u2, sizeof(u)), 0);
    buf[0] = 2;
    memcpy(buf + 157, &(double){-1.0}, 8); /* card_ps */
    ASSERT_EQ(rs_alert_user_decode(&u2, buf, n), -1);
    n = rs_alert_user_encode(&u, buf);
    float nanf_ = NAN;
    memcpy(buf + 1 + 8 + 4, &nanf_, 4); /* rate_mean */
    ASSERT_EQ(rs_alert_user_decode(&u2, buf, n), -1);

    memset(&it, 0, sizeof(it));
    it.first_ts = T0;
    it.bucket = T0 + MIN;
    it.n = 77;
    it.mean = 12.5f;
    it.var = 40.25f;
    it.episode_start = T0 + 5;
    it.episode_last = T0 + 6;
    it.fired = 2;
    it.pn = 9;
    n = rs_alert_item_encode(&it, buf);
    ASSERT_EQ(n, 53);
    ASSERT_EQ(buf[0], 2);
    ASSERT_OK(rs_alert_item_decode(&it2, buf, n));
    ASSERT_EQ(memcmp(&it, &it2, sizeof(it)), 0);
    /* v1 (before the open previous bucket): the same bytes less pn */
    buf[0] = 1;
    ASSERT_EQ(rs_alert_item_decode(&it2, buf, n), -1);
    ASSERT_OK(rs_alert_item_decode(&it2, buf, 49));
    ASSERT_EQ(it2.pn, 0);
    it2.pn = it.pn;
    ASSERT_EQ(memcmp(&it, &it2, sizeof(it)), 0);
    buf[0] = 2;
    ASSERT_OK(rs_alert_item_decode(&it2, NULL, 0));
    ASSERT_EQ(it2.n, 0);
    ASSERT_EQ(rs_alert_item_decode(&it2, buf, n + 1), -1);
    float neg = -1.0f;
    memcpy(buf + 1 + 8 + 8 + 4 + 4, &neg, 4); /* var */
    ASSERT_EQ(rs_alert_item_decode(&it2, buf, n), -1);
    /* little-endian on the wire */
    n = rs_alert_item_encode(&it, buf);
    ASSERT_EQ(rs_get_u64(buf + 1), (uint64_t)T0);
    ASSERT_EQ(rs_get_u32(buf + 17), 77);
}

int main(void) {
    return RUN_TESTS(t_names, t_normal_stream_is_quiet, t_planted_episodes_fire_once,
                     t_episodes_and_ids, t_bot_needs_no_cart_and_speed, t_card_testing,
                     t_big_purchase, t_card_test_leaves_history, t_rate_burst, t_ewma_closed_form,
                     t_late_events, t_item_spike, t_disabled, t_codec);
}
