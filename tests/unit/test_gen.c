/* test_gen.c -- the traffic generator (rs_gen): determinism, injected kinds,
 * planted pairs, popularity and session structure, ids and time order;
 * behaviour groups, time-of-day habits, anomaly episodes against their
 * ground truth, CSV written and read back, and `recstream gen` (RS_BIN).
 * Golden numbers are for seed 42 and pin the exact sequence: a change in the
 * generator's model shows up here and must be deliberate. */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "recstream/rs_buf.h"
#include "recstream/rs_csv.h"
#include "recstream/rs_gen.h"
#include "recstream/rs_source.h"
#include "rs_test.h"

static int str_eq(rs_str_t a, rs_str_t b) {
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static int str_is(rs_str_t a, const char *s) {
    return a.len == strlen(s) && !memcmp(a.p, s, a.len);
}

/* Number after the one-letter prefix of an id ("e123" -> 123). */
static uint64_t id_num(rs_str_t s) {
    uint64_t v = 0;
    for (uint32_t i = 1; i < s.len; i++) v = v * 10 + (uint64_t)(s.p[i] - '0');
    return v;
}

static int ev_eq(const rs_event_t *a, const rs_event_t *b) {
    return a->fields == b->fields && a->type == b->type && a->ts_ms == b->ts_ms &&
           str_eq(a->event_id, b->event_id) && str_eq(a->user_id, b->user_id) &&
           str_eq(a->item_id, b->item_id) && str_eq(a->session_id, b->session_id) &&
           str_eq(a->category, b->category) && str_eq(a->device, b->device) && a->price == b->price;
}

static void dirty_opts(rs_gen_opts_t *o, uint64_t seed) {
    rs_gen_opts_default(o);
    o->seed = seed;
    o->dup_rate = 0.05;
    o->late_rate = 0.05;
    o->bad_rate = 0.06;
}

TEST(opts) {
    rs_gen_opts_t o;
    char err[128];
    rs_gen_opts_default(&o);
    ASSERT_EQ(o.seed, 42);
    ASSERT_EQ(o.users, 100000);
    ASSERT_EQ(o.items, 20000);
    ASSERT_EQ(o.categories, 50);
    ASSERT_EQ(o.pairs, 50);
    ASSERT_EQ(o.start_ms, 1700000000000LL);
    ASSERT_NEAR(o.zipf_s, 1.05, 0);
    ASSERT_NEAR(o.events_per_sec, 1000, 0);
    ASSERT_OK(rs_gen_opts_check(&o, err, sizeof(err)));

    rs_gen_opts_t b = o;
    b.cart_rate = 1.5;
    ASSERT_EQ(rs_gen_opts_check(&b, err, sizeof(err)), RS_ECONF);
    ASSERT_STREQ(err, "cart_rate 1.5 not in [0, 1]");
    ASSERT(rs_gen_new(&b) == NULL);
    b = o;
    b.dup_rate = b.late_rate = b.bad_rate = 0.4;
    ASSERT_EQ(rs_gen_opts_check(&b, err, sizeof(err)), RS_ECONF);
    b = o;
    b.items = 100;
    b.pairs = 50; /* window of 90 items cannot hold 100 distinct */
    ASSERT_EQ(rs_gen_opts_check(&b, err, sizeof(err)), RS_ECONF);
    ASSERT_STREQ(err, "pairs 50 too many for 100 items");
    b = o;
    b.users = 0;
    ASSERT_EQ(rs_gen_opts_check(&b, err, sizeof(err)), RS_ECONF);
    b = o;
    b.events_per_sec = 0;
    ASSERT_EQ(rs_gen_opts_check(&b, err, sizeof(err)), RS_ECONF);
    b = o;
    b.zipf_s = NAN;
    ASSERT_EQ(rs_gen_opts_check(&b, err, sizeof(err)), RS_ECONF);

    /* Tiny worlds still work: one user, two items, no pairs. */
    b = o;
    b.users = 1;
    b.items = 2;
    b.categories = 1;
    b.pairs = 0;
    rs_gen_t *g = rs_gen_new(&b);
    ASSERT(g != NULL);
    for (int i = 0; i < 1000; i++) {
        const rs_event_t *ev = rs_gen_next(g, NULL);
        if (!str_is(ev->user_id, "u0")) {
            rs_gen_destroy(g);
            ASSERT(!"single user expected");
        }
    }
    ASSERT_EQ(rs_gen_pair_count(g), 0);
    rs_gen_destroy(g);
    rs_gen_destroy(NULL);
    ASSERT_STREQ(rs_gen_kind_name(RS_GEN_BAD_OVERSIZE), "oversize");
    ASSERT_STREQ(rs_gen_kind_name(RS_GEN__KIND_COUNT), "unknown");
}

TEST(determinism) {
    rs_gen_opts_t o;
    dirty_opts(&o, rs_test_seed());
    rs_gen_t *a = rs_gen_new(&o), *b = rs_gen_new(&o);
    o.seed++;
    rs_gen_t *c = rs_gen_new(&o);
    int mismatch = -1;
    long differ = 0;
    for (int i = 0; i < 100000; i++) {
        rs_gen_kind_t ka, kb, kc;
        const rs_event_t *ea = rs_gen_next(a, &ka), *eb = rs_gen_next(b, &kb);
        const rs_event_t *ec = rs_gen_next(c, &kc);
        if (mismatch < 0 && (ka != kb || !ev_eq(ea, eb))) mismatch = i;
        differ += !str_eq(ea->item_id, ec->item_id) || !str_eq(ea->user_id, ec->user_id);
    }
    unsigned char ga[256], gb[256];
    size_t na = rs_gen_garbage(a, ga, sizeof(ga)), nb = rs_gen_garbage(b, gb, sizeof(gb));
    rs_gen_destroy(a);
    rs_gen_destroy(b);
    rs_gen_destroy(c);
    ASSERT_EQ(mismatch, -1);
    ASSERT_EQ(na, nb);
    ASSERT(memcmp(ga, gb, na) == 0);
    ASSERT(differ > 90000); /* another seed is another stream */
}

/* Seed 42, 200k records: shares within 5 sigma, and the exact counts. */
TEST(kind_counts) {
    rs_gen_opts_t o;
    dirty_opts(&o, 42);
    rs_gen_t *g = rs_gen_new(&o);
    long n = 200000, cnt[RS_GEN__KIND_COUNT] = {0}, types[RS_EV__COUNT] = {0};
    for (long i = 0; i < n; i++) {
        rs_gen_kind_t k;
        const rs_event_t *ev = rs_gen_next(g, &k);
        cnt[k]++;
        if (k == RS_GEN_OK) types[ev->type]++;
    }
    rs_gen_destroy(g);
    const double share[RS_GEN__KIND_COUNT] = {0.84, 0.05, 0.05, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01};
    for (int k = 0; k < RS_GEN__KIND_COUNT; k++) {
        double sd = sqrt(n * share[k] * (1 - share[k]));
        fprintf(stderr, "  %-9s %ld\n", rs_gen_kind_name((rs_gen_kind_t)k), cnt[k]);
        ASSERT_NEAR(cnt[k], n * share[k], 5 * sd);
    }
    fprintf(stderr, "  ok views %ld carts %ld purchases %ld\n", types[RS_EV_VIEW],
            types[RS_EV_CART], types[RS_EV_PURCHASE]);
    const long golden[RS_GEN__KIND_COUNT] = {168028, 9817, 10030, 2123, 2034,
                                             1998,   1960, 1895,  2115};
    for (int k = 0; k < RS_GEN__KIND_COUNT; k++) ASSERT_EQ(cnt[k], golden[k]);
    ASSERT_EQ(types[RS_EV_VIEW], 151586);
    ASSERT_EQ(types[RS_EV_CART], 11831);
    ASSERT_EQ(types[RS_EV_PURCHASE], 4611);
}

/* Injection uses its own PRNG: the fresh records of a dirty stream are the
 * clean stream's events, modified only as their kind says. */
TEST(injection_invariance) {
    rs_gen_opts_t o;
    dirty_opts(&o, rs_test_seed());
    rs_gen_t *d = rs_gen_new(&o);
    o.dup_rate = o.late_rate = o.bad_rate = 0;
    rs_gen_t *c = rs_gen_new(&o);
    long bad = 0, fresh = 0;
    unsigned char junk[256];
    for (int i = 0; i < 100000; i++) {
        rs_gen_kind_t k;
        const rs_event_t *ed = rs_gen_next(d, &k);
        if (k == RS_GEN_DUP) continue;
        if (k == RS_GEN_BAD_GARBAGE) rs_gen_garbage(d, junk, sizeof(junk)); /* no effect */
        fresh++;
        const rs_event_t *ec = rs_gen_next(c, NULL);
        int same = str_eq(ed->event_id, ec->event_id) && str_eq(ed->user_id, ec->user_id) &&
                   str_eq(ed->session_id, ec->session_id) && str_eq(ed->device, ec->device);
        switch (k) {
        case RS_GEN_OK:
        case RS_GEN_BAD_GARBAGE:
            same = same && ev_eq(ed, ec);
            break;
        case RS_GEN_LATE:
            same = same && ed->ts_ms < ec->ts_ms && str_eq(ed->item_id, ec->item_id);
            break;
        case RS_GEN_BAD_MISSING:
            same = same && !(ed->fields & RS_F_ITEM) && !ed->item_id.p;
            break;
        case RS_GEN_BAD_NEGPRICE:
            same = same && ed->price == -ec->price && ed->price < 0;
            break;
        case RS_GEN_BAD_TYPE:
            same = same && ed->type == RS_EV_UNKNOWN;
            break;
        case RS_GEN_BAD_FUTURE:
            same = same && ed->ts_ms == RS_GEN_FUTURE_MS;
            break;
        case RS_GEN_BAD_OVERSIZE:
            same = same && ed->category.len == RS_GEN_OVERSIZE_LEN && (ed->fields & RS_F_CATEGORY);
            break;
        default:
            same = 0;
        }
        bad += !same;
    }
    rs_gen_destroy(d);
    rs_gen_destroy(c);
    ASSERT_EQ(bad, 0);
    ASSERT(fresh > 90000);
}

TEST(garbage) {
    rs_gen_opts_t o;
    rs_gen_opts_default(&o);
    rs_gen_t *g = rs_gen_new(&o);
    unsigned char buf[512];
    size_t minn = 1000, maxn = 0;
    for (int i = 0; i < 2000; i++) {
        size_t n = rs_gen_garbage(g, buf, sizeof(buf));
        if (n < minn) minn = n;
        if (n > maxn) maxn = n;
        if (buf[0] != 0x01) break;
    }
    ASSERT_EQ(buf[0], 0x01);
    ASSERT_EQ(minn, 9);
    ASSERT_EQ(maxn, 200);
    ASSERT_EQ(rs_gen_garbage(g, buf, 4), 4);
    ASSERT_EQ(rs_gen_garbage(g, buf, 0), 0);
    rs_gen_destroy(g);
}

/* Fresh ids are e0, e1, ... in order; a dup repeats an earlier OK record
 * exactly; time never goes back except on LATE/DUP/FUTURE records. */
TEST(ids_and_time) {
    rs_gen_opts_t o;
    dirty_opts(&o, rs_test_seed());
    rs_gen_t *g = rs_gen_new(&o);
    enum { N = 200000 };
    int64_t *ts_of = rs_xcalloc(N, sizeof(int64_t)); /* by seq: ts of OK records */
    uint64_t *item_of = rs_xcalloc(N, sizeof(uint64_t));
    uint64_t seq = 0;
    long bad_id = 0, bad_dup = 0, bad_order = 0, bad_late = 0, dups = 0;
    int64_t last = 0;
    for (int i = 0; i < N; i++) {
        rs_gen_kind_t k;
        const rs_event_t *ev = rs_gen_next(g, &k);
        uint64_t id = id_num(ev->event_id);
        if (ev->event_id.p[0] != 'e') bad_id++;
        if (k == RS_GEN_DUP) {
            dups++;
            if (id >= seq || ts_of[id] != ev->ts_ms || item_of[id] != id_num(ev->item_id))
                bad_dup++;
            continue;
        }
        if (id != seq++) bad_id++;
        if (k == RS_GEN_OK) {
            ts_of[id] = ev->ts_ms;
            item_of[id] = id_num(ev->item_id);
        }
        if (k == RS_GEN_LATE) {
            if (last - ev->ts_ms > 3600000 || ev->ts_ms >= last) bad_late++;
        } else if (k != RS_GEN_BAD_FUTURE) {
            if (ev->ts_ms < last) bad_order++;
            last = ev->ts_ms;
        }
    }
    rs_gen_destroy(g);
    free(ts_of);
    free(item_of);
    ASSERT_EQ(bad_id, 0);
    ASSERT_EQ(bad_dup, 0);
    ASSERT_EQ(bad_order, 0);
    ASSERT_EQ(bad_late, 0);
    ASSERT(dups > 9000);
    /* 200k records at 1000/s: the clock covers about (N - dups) ms * 1000 / 1000. */
    ASSERT_NEAR((double)(last - o.start_ms) / 1000.0, (double)(N - dups) / 1000.0, 5.0);
}

TEST(pairs) {
    rs_gen_opts_t o;
    rs_gen_opts_default(&o);
    o.seed = 42;
    rs_gen_t *g = rs_gen_new(&o);
    uint32_t np = rs_gen_pair_count(g);
    ASSERT_EQ(np, 50);
    int32_t pa[50], pb[50], part[20000];
    for (int i = 0; i < 20000; i++) part[i] = -1;
    for (uint32_t p = 0; p < np; p++) {
        const char *a, *b;
        rs_gen_pair(g, p, &a, &b);
        ASSERT(a[0] == 'i' && b[0] == 'i');
        pa[p] = atoi(a + 1);
        pb[p] = atoi(b + 1);
        ASSERT(pa[p] >= 10 && pa[p] < 410 && pb[p] >= 10 && pb[p] < 410);
        ASSERT_EQ(part[pa[p]], -1);
        part[pa[p]] = (int32_t)p;
    }
    const char *x, *y;
    rs_gen_pair(g, np, &x, &y);
    ASSERT(x == NULL && y == NULL);

    /* Per session, the previous (type, item); sessions are numbered. An
     * occurrence of A counts when emitted, whether or not a next event comes. */
    enum { N = 300000 };
    uint32_t *prev_item = rs_xcalloc(N, sizeof(uint32_t));
    uint8_t *prev_type = rs_xcalloc(N, 1);
    long occ[50] = {0}, hit[50] = {0}, tocc = 0, thit = 0;
    for (int i = 0; i < N; i++) {
        const rs_event_t *ev = rs_gen_next(g, NULL);
        uint64_t s = id_num(ev->session_id);
        uint32_t it = (uint32_t)id_num(ev->item_id);
        if (s >= N) continue;
        if (prev_item[s]) {
            int p = part[prev_item[s] - 1];
            if (p >= 0) hit[p] += it == (uint32_t)pb[p] && ev->type == prev_type[s];
        }
        if (part[it] >= 0) occ[part[it]]++;
        prev_item[s] = it + 1;
        prev_type[s] = (uint8_t)ev->type;
    }
    /* Sessions open when the count stops: their next event still decides. */
    for (int i = 0; i < 200000; i++) {
        const rs_event_t *ev = rs_gen_next(g, NULL);
        uint64_t s = id_num(ev->session_id);
        uint32_t it = (uint32_t)id_num(ev->item_id);
        if (s >= N || !prev_item[s]) continue;
        int p = part[prev_item[s] - 1];
        if (p >= 0) hit[p] += it == (uint32_t)pb[p] && ev->type == prev_type[s];
        prev_item[s] = 0;
    }
    rs_gen_destroy(g);
    free(prev_item);
    free(prev_type);
    long weak = 0;
    for (uint32_t p = 0; p < np; p++) {
        tocc += occ[p];
        thit += hit[p];
        weak += occ[p] < 20 || hit[p] < 0.4 * occ[p];
    }
    fprintf(stderr, "  pair follow-ups %ld of %ld (%.3f)\n", thit, tocc, (double)thit / tocc);
    ASSERT_EQ(weak, 0);
    ASSERT_NEAR((double)thit / tocc, o.pair_rate, 0.02);
    ASSERT_EQ(tocc, 13158);
    ASSERT_EQ(thit, 7945);
}

/* Popularity is Zipf, activity heavy-tailed, sessions stay in few categories. */
TEST(structure) {
    rs_gen_opts_t o;
    rs_gen_opts_default(&o);
    o.seed = rs_test_seed();
    o.users = 5000;         /* small population: per-user activity shows in 200k events */
    o.events_per_sec = 100; /* pool of 1000 sessions: whole sessions fit in the run */
    rs_gen_t *g = rs_gen_new(&o);
    enum { N = 200000 };
    long *item_n = rs_xcalloc(o.items, sizeof(long)), *user_n = rs_xcalloc(o.users, sizeof(long));
    long *sess_n = rs_xcalloc(N, sizeof(long)), *sess_user = rs_xcalloc(N, sizeof(long));
    uint32_t *prev_cat = rs_xcalloc(N, sizeof(uint32_t));
    int64_t *prev_ts = rs_xcalloc(N, sizeof(int64_t));
    long same_cat = 0, follows = 0, gaps = 0, conc = 0;
    uint64_t half_sess = 0, max_sess = 0;
    double gap_sum = 0;
    for (int i = 0; i < N; i++) {
        const rs_event_t *ev = rs_gen_next(g, NULL);
        uint64_t s = id_num(ev->session_id), u = id_num(ev->user_id);
        uint32_t c = (uint32_t)id_num(ev->category) + 1;
        item_n[id_num(ev->item_id)]++;
        user_n[u]++;
        if (s >= N) continue;
        if (s > max_sess) max_sess = s;
        if (i == N / 2) half_sess = max_sess;
        sess_n[s]++;
        if (prev_cat[s]) {
            same_cat += prev_cat[s] == c;
            follows++;
            gap_sum += (double)(ev->ts_ms - prev_ts[s]);
            gaps++;
            conc += sess_user[s] != (long)u;
        }
        sess_user[s] = (long)u;
        prev_cat[s] = c;
        prev_ts[s] = ev->ts_ms;
    }
    rs_gen_destroy(g);
    /* Sessions started in the first half are complete by the end. */
    long ev_first = 0;
    for (uint64_t s = 0; s < half_sess; s++) ev_first += sess_n[s];
    double mean_len = (double)ev_first / (double)half_sess, mean_gap = gap_sum / gaps / 1000.0;
    double cat_share = (double)same_cat / follows;
    /* The busiest 1% of users against an even share. */
    long top = 0;
    for (int k = 0; k < (int)o.users / 100; k++) {
        long best = -1;
        uint32_t bu = 0;
        for (uint32_t u = 0; u < o.users; u++)
            if (user_n[u] > best) best = user_n[u], bu = u;
        top += best;
        user_n[bu] = -1;
    }
    fprintf(stderr, "  i0 %ld i1 %ld i10 %ld i1000 %ld; busiest 1%% of users: %.3f of events\n",
            item_n[0], item_n[1], item_n[10], item_n[1000], (double)top / N);
    fprintf(stderr, "  events/session %.2f, gap %.1f s, same-category follow %.3f\n", mean_len,
            mean_gap, cat_share);
    long i0 = item_n[0], i1 = item_n[1], i10 = item_n[10], i1000 = item_n[1000];
    free(item_n);
    free(user_n);
    free(sess_n);
    free(sess_user);
    free(prev_cat);
    free(prev_ts);
    ASSERT_EQ(conc, 0); /* a session belongs to one user */
    ASSERT(i0 > 20 * (i1000 + 1));
    ASSERT(i0 > i10 && i1 > i10);
    ASSERT((double)top / N > 0.05); /* heavy tail: 5x an even share at least */
    ASSERT(mean_len > 5.5 && mean_len < 6.5);
    ASSERT(mean_gap > 5.0 && mean_gap < 20.0);
    ASSERT(cat_share > 0.4); /* random pairs would share a category ~10% of the time */
}

/* ---- behaviour mode and anomaly episodes ---- */

#define EP_BASE 1000000000000ull /* episode sessions are numbered from here */

typedef struct rec {
    int64_t ts;
    uint32_t user, item;
    uint8_t type;
    uint64_t sess;
    double price;
} rec_t;

static void rec_of(rec_t *r, const rs_event_t *ev) {
    r->ts = ev->ts_ms;
    r->user = (uint32_t)id_num(ev->user_id);
    r->item = (uint32_t)id_num(ev->item_id);
    r->type = (uint8_t)ev->type;
    r->sess = id_num(ev->session_id);
    r->price = ev->price;
}

static void anom_opts(rs_gen_opts_t *o, uint64_t seed) {
    rs_gen_opts_default(o);
    rs_gen_opts_behaviour(o);
    o->seed = seed;
    o->users = 20000;
    o->items = 5000;
    o->anomaly_rate[RS_GEN_AN_BOT] = 3;
    o->anomaly_rate[RS_GEN_AN_CARD_TESTING] = 10;
    o->anomaly_rate[RS_GEN_AN_BIG_PURCHASE] = 10;
    o->anomaly_rate[RS_GEN_AN_ITEM_SPIKE] = 2;
    o->spike_calm_ms = 0; /* a short stream */
}

TEST(behaviour_opts) {
    rs_gen_opts_t o;
    char err[128];
    rs_gen_opts_default(&o);
    for (int k = 0; k < RS_GEN__GROUP_COUNT; k++) ASSERT_NEAR(o.group_mix[k], 0, 0);
    for (int k = 0; k < RS_GEN__AN_COUNT; k++) ASSERT_NEAR(o.anomaly_rate[k], 0, 0);
    ASSERT_NEAR(o.night_owl_share, 0, 0);
    rs_gen_opts_behaviour(&o);
    ASSERT_NEAR(o.group_mix[RS_GEN_BIG_SPENDER], 0.1, 0);
    ASSERT_NEAR(o.night_owl_share, 0.15, 0);
    ASSERT_OK(rs_gen_opts_check(&o, err, sizeof(err)));
    rs_gen_opts_t b = o;
    b.group_mix[RS_GEN_BARGAIN] = -1;
    ASSERT_EQ(rs_gen_opts_check(&b, err, sizeof(err)), RS_ECONF);
    ASSERT_STREQ(err, "group_mix bargain -1 not in [0, 1e6]");
    b = o;
    b.anomaly_rate[RS_GEN_AN_ITEM_SPIKE] = NAN;
    ASSERT_EQ(rs_gen_opts_check(&b, err, sizeof(err)), RS_ECONF);
    ASSERT_STREQ(err, "item_spike rate nan not in [0, 1e5]");
    rs_gen_opts_default(&b);
    b.night_owl_share = 0.2;
    ASSERT_EQ(rs_gen_opts_check(&b, err, sizeof(err)), RS_ECONF);
    ASSERT_STREQ(err, "night owls need a group mix");
    ASSERT_STREQ(rs_gen_group_name(RS_GEN_BOT), "bot");
    ASSERT_STREQ(rs_gen_anomaly_name(RS_GEN_AN_CARD_TESTING), "card_testing");
    ASSERT_EQ(rs_gen_group_parse("big_spender"), RS_GEN_BIG_SPENDER);
    ASSERT_EQ(rs_gen_group_parse("nobody"), -1);
    ASSERT_EQ(rs_gen_anomaly_parse("item_spike"), RS_GEN_AN_ITEM_SPIKE);
    /* Off: every user regular, no episodes. */
    rs_gen_opts_default(&b);
    b.users = 1000;
    rs_gen_t *g = rs_gen_new(&b);
    long reg = 0;
    for (uint32_t u = 0; u < b.users; u++) reg += rs_gen_user_group(g, u) == RS_GEN_REGULAR;
    for (int i = 0; i < 10000; i++) rs_gen_next(g, NULL);
    ASSERT_EQ(reg, 1000);
    ASSERT_EQ(rs_gen_anomaly_count(g), 0);
    ASSERT(rs_gen_anomaly(g, 0) == NULL);
    rs_gen_destroy(g);
}

/* Group sizes follow the mix; each group behaves as described. */
TEST(groups) {
    rs_gen_opts_t o;
    rs_gen_opts_default(&o);
    rs_gen_opts_behaviour(&o);
    o.users = 20000;
    o.items = 5000;
    o.events_per_sec = 200; /* pool of 2000: most sessions complete */
    rs_gen_t *g = rs_gen_new(&o);
    long size[RS_GEN__GROUP_COUNT] = {0}, owls = 0;
    uint8_t *grp = rs_xmalloc(o.users);
    for (uint32_t u = 0; u < o.users; u++) {
        grp[u] = (uint8_t)rs_gen_user_group(g, u);
        size[grp[u]]++;
        owls += rs_gen_user_night_owl(g, u);
    }
    for (int k = 0; k < RS_GEN__GROUP_COUNT; k++) {
        double p = o.group_mix[k], sd = sqrt(o.users * p * (1 - p));
        ASSERT_NEAR(size[k], o.users * p, 5 * sd);
    }
    ASSERT_NEAR(owls, o.users * 0.15, 5 * sqrt(o.users * 0.15 * 0.85));
    fprintf(stderr, "  groups %ld %ld %ld %ld, night owls %ld\n", size[0], size[1], size[2],
            size[3], owls);
    ASSERT_EQ(size[RS_GEN_REGULAR], 11028);
    ASSERT_EQ(size[RS_GEN_BARGAIN], 3958);
    ASSERT_EQ(size[RS_GEN_BIG_SPENDER], 1996);
    ASSERT_EQ(size[RS_GEN_BROWSER], 3018);
    ASSERT_EQ(owls, 3008);

    enum { N = 150000 };
    long ev[4] = {0}, views[4] = {0}, carts[4] = {0}, buys[4] = {0}, sess[4] = {0};
    long dev[4][3] = {{0}};
    double vprice[4] = {0};
    uint64_t next_sess = 0;
    for (int i = 0; i < N; i++) {
        const rs_event_t *e = rs_gen_next(g, NULL);
        uint32_t u = (uint32_t)id_num(e->user_id);
        int k = grp[u];
        uint64_t s = id_num(e->session_id);
        ev[k]++;
        if (s >= next_sess) { /* sessions are numbered in start order */
            sess[k]++;
            next_sess = s + 1;
        }
        if (e->type == RS_EV_VIEW) {
            views[k]++;
            vprice[k] += e->price;
        }
        carts[k] += e->type == RS_EV_CART;
        buys[k] += e->type == RS_EV_PURCHASE;
        dev[k][str_is(e->device, "mobile") ? 0 : str_is(e->device, "desktop") ? 1 : 2]++;
    }
    rs_gen_destroy(g);
    free(grp);
    double len[4], cart[4], buy[4], price[4];
    for (int k = 0; k < 4; k++) {
        len[k] = (double)ev[k] / sess[k];
        cart[k] = (double)carts[k] / views[k];
        buy[k] = (double)buys[k] / views[k];
        price[k] = vprice[k] / views[k];
        fprintf(stderr,
                "  %-11s events %6ld, %5.2f/session, carts/view %.3f, buys/view %.4f, "
                "view price %6.2f, mobile/desktop/app %.2f/%.2f/%.2f\n",
                rs_gen_group_name((rs_gen_group_t)k), ev[k], len[k], cart[k], buy[k], price[k],
                (double)dev[k][0] / ev[k], (double)dev[k][1] / ev[k], (double)dev[k][2] / ev[k]);
    }
    enum { R = RS_GEN_REGULAR, B = RS_GEN_BARGAIN, S = RS_GEN_BIG_SPENDER, W = RS_GEN_BROWSER };
    ASSERT(len[W] > len[B] && len[B] > len[R] && len[R] > len[S]);
    ASSERT(buy[S] > 2 * buy[R] && buy[R] > 2 * buy[B] && buy[R] > 2 * buy[W]);
    ASSERT(cart[W] < 0.5 * cart[R]);
    ASSERT(price[S] > 1.5 * price[R] && price[R] > 1.5 * price[B]);
    /* Big spenders are 10% of users and start sessions 3x as often. */
    ASSERT((double)sess[S] / (sess[R] + sess[B] + sess[S] + sess[W]) > 0.18);
    ASSERT((double)dev[S][2] / ev[S] > 0.4 && (double)dev[W][1] / ev[W] > 0.5);
    ASSERT((double)dev[B][0] / ev[B] > 0.6);
}

/* Night owls' share of events is much higher at night than in the day. */
TEST(night_owls) {
    rs_gen_opts_t o;
    rs_gen_opts_default(&o);
    rs_gen_opts_behaviour(&o);
    o.users = 2000;
    o.items = 2000;
    o.events_per_sec = 2;                /* 100k events: 14 hours */
    o.start_ms = INT64_C(1700006400000); /* 2023-11-15T00:00:00Z */
    rs_gen_t *g = rs_gen_new(&o);
    long night[2] = {0}, day[2] = {0};
    int64_t last = 0;
    for (int i = 0; i < 100000; i++) {
        const rs_event_t *e = rs_gen_next(g, NULL);
        int owl = rs_gen_user_night_owl(g, (uint32_t)id_num(e->user_id));
        int h = (int)(e->ts_ms / 3600000 % 24);
        if (h < 5) night[owl]++;
        if (h >= 8 && h < 21) day[owl]++;
        last = e->ts_ms;
    }
    rs_gen_destroy(g);
    double sn = (double)night[1] / (night[0] + night[1]), sd = (double)day[1] / (day[0] + day[1]);
    fprintf(stderr, "  night owls' share: %.3f at 00-05, %.3f at 08-21 (%.1f h)\n", sn, sd,
            (double)(last - o.start_ms) / 3.6e6);
    ASSERT(day[0] + day[1] > 10000 && night[0] + night[1] > 10000);
    ASSERT(sn > 0.4 && sd < 0.1);
}

static long stream(const rs_gen_opts_t *o, rec_t *r, long n, rs_gen_t **keep) {
    rs_gen_t *g = rs_gen_new(o);
    long back = 0;
    for (long i = 0; i < n; i++) {
        rec_of(&r[i], rs_gen_next(g, NULL));
        back += i && r[i].ts < r[i - 1].ts;
    }
    if (keep)
        *keep = g;
    else
        rs_gen_destroy(g);
    return back;
}

/* Organic big purchases (rs_gen_organic): exactly the background purchases
 * at >= 10x the buyer's mean background purchase (>= 2 before), each told
 * right. Returns the mistakes. */
static long organic_wrong(const rs_gen_t *g, const rec_t *r, long n, uint32_t users) {
    uint32_t *bn = rs_xcalloc(users, sizeof(*bn));
    double *bs = rs_xcalloc(users, sizeof(*bs));
    uint32_t norg = rs_gen_organic_count(g), seen = 0;
    long wrong = 0;
    for (long i = 0; i < n; i++) {
        const rec_t *e = &r[i];
        if (e->sess >= EP_BASE || e->type != RS_EV_PURCHASE || e->user >= users) continue;
        if (bn[e->user] >= 2 && e->price >= 10.0 * bs[e->user] / bn[e->user]) {
            const rs_gen_anomaly_t *a = rs_gen_organic(g, seen++);
            wrong += !a || a->type != RS_GEN_AN_BIG_PURCHASE || a->user != e->user ||
                     a->item != e->item || a->start_ts != e->ts || a->end_ts != e->ts ||
                     a->events != 1 || a->price != e->price ||
                     fabs(a->usual - bs[e->user] / bn[e->user]) > 1e-6;
        }
        bn[e->user]++;
        bs[e->user] += e->price;
    }
    free(bn);
    free(bs);
    fprintf(stderr, "  organic big purchases: %u\n", norg);
    return wrong + (seen != norg);
}

/* The largest max / min background purchase price of one user. */
static double max_price_spread(const rec_t *r, long n, uint32_t users) {
    double *lo = rs_xcalloc(users, sizeof(*lo)), *hi = rs_xcalloc(users, sizeof(*hi)), m = 0;
    for (long i = 0; i < n; i++) {
        const rec_t *e = &r[i];
        if (e->sess >= EP_BASE || e->type != RS_EV_PURCHASE || e->user >= users) continue;
        if (!lo[e->user] || e->price < lo[e->user]) lo[e->user] = e->price;
        if (e->price > hi[e->user]) hi[e->user] = e->price;
        if (hi[e->user] / lo[e->user] > m) m = hi[e->user] / lo[e->user];
    }
    free(lo);
    free(hi);
    fprintf(stderr, "  widest purchase price spread of a user: %.2fx\n", m);
    return m;
}

/* Without behaviour groups, prices span categories 5..500 and ordinary
 * shoppers do make big purchases: the truth lists each one. */
TEST(organic_big_purchases) {
    rs_gen_opts_t o;
    anom_opts(&o, 42);
    memset(o.group_mix, 0, sizeof(o.group_mix));
    o.night_owl_share = 0;
    o.users = 2000; /* a history of purchases for many */
    enum { N = 100000 };
    rec_t *r = rs_xcalloc(N, sizeof(*r));
    rs_gen_t *g;
    stream(&o, r, N, &g);
    ASSERT_EQ(organic_wrong(g, r, N, o.users), 0);
    ASSERT(rs_gen_organic_count(g) > 0);
    ASSERT(max_price_spread(r, N, o.users) > 10.0);
    rs_gen_destroy(g);
    free(r);
}

/* Episodes: exact counts for seed 42, Poisson bounds, every truth record
 * matches the events, and the background is the stream without them. */
TEST(anomalies) {
    rs_gen_opts_t o;
    anom_opts(&o, 42);
    enum { N = 200000 };
    rec_t *r = rs_xcalloc(N, sizeof(*r)), *c = rs_xcalloc(N, sizeof(*c));
    rs_gen_t *g;
    ASSERT_EQ(stream(&o, r, N, &g), 0); /* time order kept by the merge */
    long bg = 0, per[RS_GEN__AN_COUNT] = {0}, bad[RS_GEN__AN_COUNT] = {0}, ep_events = 0;
    for (long i = 0; i < N; i++) bg += r[i].sess < EP_BASE;
    uint32_t na = rs_gen_anomaly_count(g);
    for (uint32_t k = 0; k < na; k++) {
        const rs_gen_anomaly_t *a = rs_gen_anomaly(g, k);
        per[a->type]++;
        ep_events += a->events;
        long n = 0, other = 0, buys = 0;
        double bsum = 0;
        int found = 0;
        for (long i = 0; i < N; i++) {
            const rec_t *e = &r[i];
            int in = e->ts >= a->start_ts && e->ts <= a->end_ts && e->sess >= EP_BASE;
            switch (a->type) {
            case RS_GEN_AN_BOT:
                if (e->user != a->user) break;
                n++;
                other += e->type != RS_EV_VIEW || !in;
                break;
            case RS_GEN_AN_CARD_TESTING:
                n += in && e->user == a->user && e->type == RS_EV_PURCHASE;
                break;
            case RS_GEN_AN_BIG_PURCHASE:
                if (e->user != a->user) break;
                if (e->sess < EP_BASE && e->type == RS_EV_PURCHASE && e->ts < a->start_ts) {
                    buys++;
                    bsum += e->price;
                }
                n += in && e->item == a->item;
                found |= in && e->ts == a->end_ts && e->type == RS_EV_PURCHASE &&
                         e->item == a->item && e->price == a->price;
                break;
            default:
                n += in && e->item == a->item && e->type == RS_EV_VIEW && e->user < o.users;
            }
        }
        double span = (double)(a->end_ts - a->start_ts) / 1000.0;
        int ok = n == (long)a->events && a->end_ts >= a->start_ts && !other;
        switch (a->type) {
        case RS_GEN_AN_BOT: /* 10..50 views a second, evenly spaced */
            ok = ok && a->user >= o.users && rs_gen_user_group(g, a->user) == RS_GEN_BOT &&
                 (a->events < 2 ||
                  (span <= 0.1 * (a->events - 1) && span >= 0.02 * (a->events - 1)));
            break;
        case RS_GEN_AN_CARD_TESTING:
            ok = ok && a->user < o.users && a->events >= 1 && a->events <= 30 &&
                 span <= 5.0 * (a->events - 1);
            break;
        case RS_GEN_AN_BIG_PURCHASE:
            ok = ok && (a->events < 3 || found) && buys >= 2 && a->price >= 10 * a->usual &&
                 fabs(bsum / buys - a->usual) < 1e-6;
            break;
        default:
            ok = ok && (span < 10 || (a->events / span > 40 && a->events / span < 60));
        }
        if (!ok)
            fprintf(stderr, "  bad %s episode %u: %ld events seen, %u told, %.1f s\n",
                    rs_gen_anomaly_name(a->type), k, n, a->events, span);
        bad[a->type] += !ok;
    }
    fprintf(stderr,
            "  %ld background events; episodes: %ld bot, %ld card_testing, %ld big_purchase, "
            "%ld item_spike (%ld events)\n",
            bg, per[0], per[1], per[2], per[3], ep_events);
    /* Behaviour mode: shoppers buy within their price band, so the
     * background makes no purchase that looks like a planted big one. */
    ASSERT_EQ(organic_wrong(g, r, N, o.users), 0);
    ASSERT_EQ(rs_gen_organic_count(g), 0);
    ASSERT(max_price_spread(r, N, o.users) < 9.0 + 1e-9);
    rs_gen_destroy(g);
    for (int k = 0; k < RS_GEN__AN_COUNT; k++) {
        double mean = o.anomaly_rate[k] * bg / 1e5;
        ASSERT_EQ(bad[k], 0);
        ASSERT(per[k] <= mean + 5 * sqrt(mean) + 1);
        if (k != RS_GEN_AN_BIG_PURCHASE) ASSERT(per[k] >= mean - 5 * sqrt(mean) - 1);
    }
    ASSERT(per[RS_GEN_AN_BIG_PURCHASE] > 0);
    ASSERT_EQ(bg + ep_events, N);
    ASSERT_EQ(per[RS_GEN_AN_BOT], 6);
    ASSERT_EQ(per[RS_GEN_AN_CARD_TESTING], 16);
    ASSERT_EQ(per[RS_GEN_AN_BIG_PURCHASE], 10);
    ASSERT_EQ(per[RS_GEN_AN_ITEM_SPIKE], 6);
    ASSERT_EQ(bg, 167276);

    /* Without episodes, the background events are the same, in the same order. */
    memset(o.anomaly_rate, 0, sizeof(o.anomaly_rate));
    stream(&o, c, bg, NULL);
    long diff = 0, j = 0;
    for (long i = 0; i < N; i++) {
        if (r[i].sess >= EP_BASE) continue;
        const rec_t *x = &r[i], *y = &c[j++];
        diff += x->ts != y->ts || x->user != y->user || x->item != y->item || x->type != y->type ||
                x->sess != y->sess || x->price != y->price;
    }
    free(r);
    free(c);
    ASSERT_EQ(diff, 0);
}

static char *slurp(FILE *f, size_t *n) {
    rs_buf_t b = {0};
    char tmp[65536];
    size_t k;
    rewind(f);
    while ((k = fread(tmp, 1, sizeof(tmp), f)) > 0) rs_buf_append(&b, tmp, k);
    *n = b.len;
    rs_buf_cstr(&b);
    return b.p;
}

static size_t count(const char *s, const char *needle) {
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, needle)) != NULL; p++) n++;
    return n;
}

TEST(truth) {
    rs_gen_opts_t o;
    anom_opts(&o, 42);
    o.users = 3000;
    rs_gen_t *g = rs_gen_new(&o);
    for (int i = 0; i < 200000; i++) rs_gen_next(g, NULL);
    FILE *f = tmpfile();
    ASSERT(f != NULL);
    ASSERT_OK(rs_gen_write_truth(g, f));
    size_t n;
    char *t = slurp(f, &n);
    fclose(f);
    uint32_t na = rs_gen_anomaly_count(g), bots = 0;
    for (uint32_t k = 0; k < na; k++) bots += rs_gen_anomaly(g, k)->type == RS_GEN_AN_BOT;
    /* Every episode's line, rebuilt from the accessor. */
    long missing = 0, cut = 0;
    for (uint32_t k = 0; k < na; k++) {
        const rs_gen_anomaly_t *a = rs_gen_anomaly(g, k);
        char line[512];
        int m = snprintf(line, sizeof(line), "{\"kind\":\"anomaly\",\"type\":\"%s\"",
                         rs_gen_anomaly_name(a->type));
        if (a->type != RS_GEN_AN_ITEM_SPIKE)
            m += snprintf(line + m, sizeof(line) - m, ",\"user_id\":\"u%u\"", a->user);
        if (a->type == RS_GEN_AN_ITEM_SPIKE || a->type == RS_GEN_AN_BIG_PURCHASE)
            m += snprintf(line + m, sizeof(line) - m, ",\"item_id\":\"i%u\"", a->item);
        if (a->type == RS_GEN_AN_BIG_PURCHASE)
            m += snprintf(line + m, sizeof(line) - m, ",\"price\":%.2f,\"usual_price\":%.2f",
                          a->price, a->usual);
        snprintf(line + m, sizeof(line) - m,
                 ",\"start_ts\":%lld,\"end_ts\":%lld,\"events\":%u%s}\n", (long long)a->start_ts,
                 (long long)a->end_ts, a->events, a->complete ? "" : ",\"complete\":false");
        cut += !a->complete;
        missing += strstr(t, line) == NULL;
        if (k == 0) fprintf(stderr, "  first episode: %s", line);
    }
    uint32_t norg = rs_gen_organic_count(g);
    rs_gen_destroy(g);
    size_t lines = count(t, "\n");
    ASSERT_EQ(count(t, "{\"kind\":\"user\""), 3000 + bots);
    ASSERT_EQ(count(t, "\"group\":\"bot\""), bots);
    ASSERT_EQ(count(t, "{\"kind\":\"pair\",\"item_a\":\"i"), 50);
    ASSERT_EQ(count(t, "{\"kind\":\"anomaly\""), na + norg);
    ASSERT_EQ(count(t, ",\"planted\":false}"), norg);
    ASSERT_EQ(lines, 3000 + bots + 50 + na + norg);
    ASSERT_EQ(count(t, "\"type\":\"big_purchase\",\"user_id\":\"u"), count(t, ",\"usual_price\":"));
    ASSERT(strncmp(t, "{\"kind\":\"user\",\"user_id\":\"u0\",\"group\":\"", 39) == 0);
    ASSERT_EQ(missing, 0);
    ASSERT_EQ(count(t, ",\"complete\":false}"), cut);
    ASSERT(cut > 0); /* the stream stops in the middle of some */
    ASSERT(na > 10);
    free(t);
}

static char *mktmp(void) {
    const char *t = getenv("TMPDIR");
    rs_buf_t b = {0};
    rs_buf_printf(&b, "%s/rs-test-gen-XXXXXX", t && *t ? t : "/tmp");
    rs_buf_cstr(&b);
    if (!mkdtemp(b.p)) {
        rs_buf_free(&b);
        return NULL;
    }
    return b.p;
}

/* Writes n records as CSV the way `recstream gen` does (garbage lines
 * mapped to printable bytes); counts kinds. */
static void write_csv(const rs_gen_opts_t *o, const char *path, long n, rec_t *keep, long *kinds) {
    rs_gen_t *g = rs_gen_new(o);
    FILE *f = fopen(path, "w");
    rs_buf_t b = {0};
    rs_buf_append(&b, RS_CSV_HEADER "\n", strlen(RS_CSV_HEADER) + 1);
    for (long i = 0; i < n; i++) {
        rs_gen_kind_t k;
        const rs_event_t *ev = rs_gen_next(g, &k);
        if (kinds) kinds[k]++;
        if (keep) rec_of(&keep[i], ev);
        if (k == RS_GEN_BAD_GARBAGE) {
            unsigned char raw[256];
            size_t m = rs_gen_garbage(g, raw, sizeof(raw));
            for (size_t j = 0; j < m; j++)
                rs_buf_putc(&b, (char)('0' + raw[j] % 75) == ',' ? '#' : (char)('0' + raw[j] % 75));
            rs_buf_putc(&b, '\n');
        } else {
            rs_gen_csv_line(ev, k, &b);
        }
    }
    fwrite(b.p, 1, b.len, f);
    fclose(f);
    rs_buf_free(&b);
    rs_gen_destroy(g);
}

TEST(csv_readback) {
    char *dir = mktmp(), path[512], err[256];
    ASSERT(dir != NULL);
    snprintf(path, sizeof(path), "%s/a.csv", dir);
    rs_gen_opts_t o;
    anom_opts(&o, rs_test_seed());
    enum { N = 100000 };
    rec_t *r = rs_xcalloc(N, sizeof(*r));
    write_csv(&o, path, N, r, NULL);
    rs_source_t *s = NULL;
    ASSERT_OK(rs_source_open(&s, path, NULL, err, sizeof(err)));
    long good = 0, malformed = 0, diff = 0;
    rs_event_t ev;
    int rc;
    while ((rc = rs_source_next(s, &ev, err, sizeof(err))) != 0) {
        if (rc == RS_EDECODE) {
            if (!malformed++) fprintf(stderr, "  %s\n", err);
            continue;
        }
        ASSERT_EQ(rc, 1);
        rec_t x;
        rec_of(&x, &ev);
        const rec_t *y = &r[good++];
        diff += x.ts != y->ts || x.user != y->user || x.item != y->item || x.type != y->type ||
                x.sess != y->sess || fabs(x.price - y->price) > 0.001;
    }
    rs_source_close(s);
    ASSERT_EQ(malformed, 0);
    ASSERT_EQ(good, N);
    ASSERT_EQ(diff, 0);

    /* Malformed records on: the ones the CSV reader can see are rejected. */
    o.dup_rate = 0.02;
    o.late_rate = 0.02;
    o.bad_rate = 0.06;
    long kinds[RS_GEN__KIND_COUNT] = {0};
    write_csv(&o, path, N, NULL, kinds);
    ASSERT_OK(rs_source_open(&s, path, NULL, err, sizeof(err)));
    good = malformed = 0;
    while ((rc = rs_source_next(s, &ev, err, sizeof(err))) != 0) {
        ASSERT(rc == 1 || rc == RS_EDECODE);
        malformed += rc == RS_EDECODE;
        good += rc == 1;
    }
    rs_source_close(s);
    fprintf(stderr, "  malformed lines %ld (garbage %ld, missing %ld, type %ld)\n", malformed,
            kinds[RS_GEN_BAD_GARBAGE], kinds[RS_GEN_BAD_MISSING], kinds[RS_GEN_BAD_TYPE]);
    ASSERT_EQ(malformed,
              kinds[RS_GEN_BAD_GARBAGE] + kinds[RS_GEN_BAD_MISSING] + kinds[RS_GEN_BAD_TYPE]);
    ASSERT_EQ(good + malformed, N);
    free(r);
    unlink(path);
    rmdir(dir);
    free(dir);
}

static int run(const char *cmd) {
    int rc = system(cmd);
    if (rc) fprintf(stderr, "  \"%s\" exited %d\n", cmd, rc);
    return rc;
}

static char *file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *p = slurp(f, n);
    fclose(f);
    return p;
}

/* `recstream gen`: reproducible bytes in every format, the CSV is the
 * library's stream with gen's defaults, JSON lines and Avro read back. */
TEST(cli) {
    const char *bin = getenv("RS_BIN");
    if (!bin || !*bin) {
        fprintf(stderr, "  RS_BIN unset: CLI part skipped\n");
        return;
    }
    char *dir = mktmp(), cmd[2048], p[6][512];
    ASSERT(dir != NULL);
    const char *names[6] = {"a.csv", "b.csv", "c.csv", "a.jsonl", "a.avro", "a.truth"};
    for (int i = 0; i < 6; i++) snprintf(p[i], sizeof(p[i]), "%s/%s", dir, names[i]);
    const char *common = "gen -q -n 30000 --users 20000 --items 5000 --bots 3 --card-testing 10 "
                         "--big-purchases 10 --spikes 2";
    snprintf(cmd, sizeof(cmd), "\"%s\" %s --seed 42 -o %s --truth %s", bin, common, p[0], p[5]);
    ASSERT_EQ(run(cmd), 0);
    snprintf(cmd, sizeof(cmd), "\"%s\" %s --seed 42 > %s", bin, common, p[1]);
    ASSERT_EQ(run(cmd), 0);
    snprintf(cmd, sizeof(cmd), "\"%s\" %s --seed 43 -o %s", bin, common, p[2]);
    ASSERT_EQ(run(cmd), 0);
    size_t na, nb, nc, nt;
    char *a = file(p[0], &na), *b = file(p[1], &nb), *c = file(p[2], &nc), *t = file(p[5], &nt);
    ASSERT(a && b && c && t);
    ASSERT(na == nb && !memcmp(a, b, na));
    ASSERT(na != nc || memcmp(a, c, na));

    /* The same bytes as the library with the CLI's defaults. */
    rs_gen_opts_t o, dflt;
    anom_opts(&o, 42);
    rs_gen_opts_default(&dflt);
    o.spike_calm_ms = dflt.spike_calm_ms;
    write_csv(&o, p[2], 30000, NULL, NULL);
    free(c);
    c = file(p[2], &nc);
    ASSERT(na == nc && !memcmp(a, c, na));
    ASSERT(count(t, "{\"kind\":\"user\"") >= 20000);

    for (int f = 3; f <= 4; f++) {
        char err[256];
        snprintf(cmd, sizeof(cmd), "\"%s\" %s --seed 42 -o %s", bin, common, p[f]);
        ASSERT_EQ(run(cmd), 0);
        size_t n1, n2;
        char *x = file(p[f], &n1);
        ASSERT_EQ(run(cmd), 0);
        char *y = file(p[f], &n2);
        int same = x && y && n1 == n2 && !memcmp(x, y, n1);
        free(x);
        free(y);
        ASSERT(same);
        rs_source_t *s = NULL;
        rs_event_t ev;
        long good = 0, bad = 0, dev = 0;
        int rc;
        ASSERT_OK(rs_source_open(&s, p[f], NULL, err, sizeof(err)));
        while ((rc = rs_source_next(s, &ev, err, sizeof(err))) != 0) {
            good += rc == 1;
            bad += rc != 1;
            dev += rc == 1 && (ev.fields & RS_F_DEVICE) && ev.device.len > 0;
        }
        rs_source_close(s);
        fprintf(stderr, "  %s: %zu bytes, %ld events read back\n", names[f], n1, good);
        ASSERT_EQ(good, 30000);
        ASSERT_EQ(bad, 0);
        ASSERT_EQ(dev, 30000);
    }
    snprintf(cmd, sizeof(cmd), "\"%s\" gen --groups nobody=1 -n 1 2>/dev/null", bin);
    ASSERT(system(cmd) != 0);
    free(a);
    free(b);
    free(c);
    free(t);
    for (int i = 0; i < 6; i++) unlink(p[i]);
    rmdir(dir);
    free(dir);
}

TEST(speed) {
    rs_gen_opts_t o;
    dirty_opts(&o, 42);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rs_gen_t *g = rs_gen_new(&o);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double setup = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    long n = 2000000, sum = 0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < n; i++) sum += rs_gen_next(g, NULL)->item_id.len;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double dt = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    fprintf(stderr, "  setup %.3f s; %.2fM events/s (%ld)\n", setup, n / dt / 1e6, sum);
    rs_gen_destroy(g);

    /* Behaviour mode with episodes, formatted as CSV lines. */
    anom_opts(&o, 42);
    o.users = 100000;
    o.items = 20000;
    g = rs_gen_new(&o);
    n = 300000;
    rs_buf_t b = {0};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < n; i++) {
        rs_gen_kind_t k;
        const rs_event_t *ev = rs_gen_next(g, &k);
        rs_gen_csv_line(ev, k, &b);
        if (b.len > 1 << 16) b.len = 0;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    dt = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    fprintf(stderr, "  behaviour + episodes to CSV lines: %.2fM events/s\n", n / dt / 1e6);
    rs_buf_free(&b);
    rs_gen_destroy(g);
}

int main(void) {
    return RUN_TESTS(t_opts, t_determinism, t_kind_counts, t_injection_invariance, t_garbage,
                     t_ids_and_time, t_pairs, t_structure, t_behaviour_opts, t_groups, t_night_owls,
                     t_organic_big_purchases, t_anomalies, t_truth, t_csv_readback, t_cli, t_speed);
}
