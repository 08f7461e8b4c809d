/* test_gen.c -- the traffic generator (rs_gen): determinism, injected kinds,
 * planted pairs, popularity and session structure, ids and time order.
 * Golden numbers are for seed 42 and pin the exact sequence: a change in the
 * generator's model shows up here and must be deliberate. */
#include <time.h>

#include "recstream/rs_buf.h"
#include "recstream/rs_gen.h"
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
}

int main(void) {
    return RUN_TESTS(t_opts, t_determinism, t_kind_counts, t_injection_invariance, t_garbage,
                     t_ids_and_time, t_pairs, t_structure, t_speed);
}
