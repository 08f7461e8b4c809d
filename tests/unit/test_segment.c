/* test_segment.c -- RFM quintiles and grid, change reporting, features,
 * mini-batch k-means (blobs, stable identities, deferred executor) and
 * persistence through state blobs (round trip, corrupt blob). */
#include <stdlib.h>
#include <unistd.h>

#include "recstream/rs_conf.h"
#include "recstream/rs_segment.h"
#include "recstream/rs_state.h"
#include "rs_test.h"

#define T0 INT64_C(1700000000000)
#define NF RS_SEGMENT_FEATURES

static char g_dir[256];

static rs_conf_t *mkconf(const char *k, const char *batch, const char *min_events) {
    char err[256];
    rs_conf_t *c = rs_conf_new();
    snprintf(g_dir, sizeof(g_dir), "/tmp/rs-test-segment-XXXXXX");
    if (!mkdtemp(g_dir)) abort();
    rs_conf_set(c, "state.dir", g_dir, "test", err, sizeof(err));
    if (rs_conf_set(c, "segments.clusters", k, "test", err, sizeof(err)) ||
        rs_conf_set(c, "segments.cluster.batch", batch, "test", err, sizeof(err)) ||
        rs_conf_set(c, "segments.cluster.min.events", min_events, "test", err, sizeof(err)))
        abort();
    return c;
}

static void cleanup(rs_conf_t *c) {
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", g_dir);
    if (system(cmd)) {
    }
    rs_conf_destroy(c);
}

/* A buyer built by hand: n purchases, the last at ts, total spent m. */
static void buyer(rs_user_t *u, char *id, uint32_t n, int64_t ts, double m) {
    memset(u, 0, sizeof(*u));
    u->id = id;
    u->id_len = (uint32_t)strlen(id);
    u->counts[RS_EV_PURCHASE] = n;
    u->purchases = n;
    u->first_purchase_ts = ts;
    u->last_purchase_ts = ts;
    u->monetary = m;
}

static rs_event_t purchase_ev(int64_t ts) {
    rs_event_t e = {0};
    e.fields = RS_F_REQUIRED;
    e.type = RS_EV_PURCHASE;
    e.ts_ms = ts;
    return e;
}

TEST(grid_names) {
    static const char *const want[5][5] = {
        {"lost", "lost", "at_risk", "at_risk", "at_risk"},
        {"hibernating", "hibernating", "at_risk", "at_risk", "at_risk"},
        {"hibernating", "hibernating", "potential", "loyal", "loyal"},
        {"new", "potential", "potential", "loyal", "loyal"},
        {"new", "potential", "potential", "champions", "champions"}};
    int seen[RS_RFM__COUNT] = {0};
    for (int r = 1; r <= 5; r++)
        for (int f = 1; f <= 5; f++) {
            rs_rfm_t s = rs_segment_rfm_of(r, f);
            ASSERT_STREQ(rs_rfm_name(s), want[r - 1][f - 1]);
            seen[s]++;
        }
    for (int s = 1; s < RS_RFM__COUNT; s++) ASSERT(seen[s] > 0); /* every name is reachable */
    ASSERT_EQ(rs_segment_rfm_of(0, 3), RS_RFM_NONE);
    ASSERT_EQ(rs_segment_rfm_of(6, 3), RS_RFM_NONE);
    ASSERT_STREQ(rs_rfm_name(RS_RFM_NONE), "");
    ASSERT_STREQ(rs_segment_cluster_name(3), "cluster-3");
    ASSERT_STREQ(rs_segment_cluster_name(-1), "");
    ASSERT_STREQ(rs_segment_feature_name(4), "relative_price");
}

/* 100 buyers, the k-th with k purchases, last one k minutes in, spending
 * 10 * 1.1^k: mid-rank percentile (k - 0.5) / 100, so k = 1..20 score 1,
 * 21..40 score 2, ... on all three dimensions. */
TEST(quintiles_known_population) {
    rs_conf_t *conf = mkconf("4", "256", "10");
    char err[256], ids[100][16];
    rs_segmenter_t *s = NULL;
    ASSERT_OK(rs_segmenter_new(&s, conf, NULL, NULL, err, sizeof(err)));
    static rs_user_t u[100];
    rs_segment_change_t ch[RS_SEG__KIND_COUNT];
    for (int k = 1; k <= 100; k++) {
        snprintf(ids[k - 1], sizeof(ids[0]), "u%d", k);
        buyer(&u[k - 1], ids[k - 1], (uint32_t)k, T0 + k * 60000LL, 10 * pow(1.1, k));
        rs_event_t e = purchase_ev(T0 + k * 60000LL);
        rs_segment_on_event(s, &u[k - 1], NULL, &e);
    }
    for (int k = 1; k <= 100; k++) rs_segment_eval(s, &u[k - 1], T0 + 101 * 60000LL, ch);
    for (int k = 1; k <= 100; k++) {
        int want = (k - 1) / 20 + 1;
        ASSERT_EQ(u[k - 1].seg.r, want);
        ASSERT_EQ(u[k - 1].seg.f, want);
        ASSERT_EQ(u[k - 1].seg.m, want);
        ASSERT_EQ(u[k - 1].seg.rfm, rs_segment_rfm_of(want, want));
    }
    /* the diagonal: lost 20, hibernating 20, potential 20, loyal 20, champions 20 */
    ASSERT_EQ(rs_segment_rfm_size(s, RS_RFM_LOST), 20);
    ASSERT_EQ(rs_segment_rfm_size(s, RS_RFM_HIBERNATING), 20);
    ASSERT_EQ(rs_segment_rfm_size(s, RS_RFM_POTENTIAL), 20);
    ASSERT_EQ(rs_segment_rfm_size(s, RS_RFM_LOYAL), 20);
    ASSERT_EQ(rs_segment_rfm_size(s, RS_RFM_CHAMPIONS), 20);
    ASSERT_EQ(rs_segment_rfm_size(s, RS_RFM_NEW), 0);
    rs_segmenter_destroy(s);
    cleanup(conf);
}

/* Ties share a score: 60 buyers with 1 purchase sit at percentile 0.3
 * (score 2), 40 with 2 at 0.8 (score 5). */
TEST(quintiles_ties) {
    rs_conf_t *conf = mkconf("4", "256", "10");
    char err[256], ids[100][16];
    rs_segmenter_t *s = NULL;
    ASSERT_OK(rs_segmenter_new(&s, conf, NULL, NULL, err, sizeof(err)));
    static rs_user_t u[100];
    rs_segment_change_t ch[RS_SEG__KIND_COUNT];
    for (int k = 0; k < 100; k++) {
        snprintf(ids[k], sizeof(ids[0]), "u%d", k);
        buyer(&u[k], ids[k], k < 60 ? 1 : 2, T0, 50);
        rs_segment_eval(s, &u[k], T0, ch); /* eval counts a buyer too */
    }
    for (int k = 0; k < 100; k++) rs_segment_eval(s, &u[k], T0, ch);
    ASSERT_EQ(u[0].seg.f, 2);
    ASSERT_EQ(u[59].seg.f, 2);
    ASSERT_EQ(u[60].seg.f, 5);
    ASSERT_EQ(u[0].seg.r, 3); /* all share one recency bucket: percentile 0.5 */
    ASSERT_EQ(u[0].seg.m, 3);
    rs_segmenter_destroy(s);
    cleanup(conf);
}

/* A change is reported once, with what moved; a repeat evaluation is silent. */
TEST(change_reported_once) {
    rs_conf_t *conf = mkconf("4", "256", "10");
    char err[256], ids[10][16];
    rs_segmenter_t *s = NULL;
    ASSERT_OK(rs_segmenter_new(&s, conf, NULL, NULL, err, sizeof(err)));
    static rs_user_t u[10];
    rs_segment_change_t ch[RS_SEG__KIND_COUNT];
    /* 9 others with 1..9 purchases, all bought at T0; x has 1 purchase at T0 */
    for (int k = 0; k < 9; k++) {
        snprintf(ids[k], sizeof(ids[0]), "o%d", k);
        buyer(&u[k], ids[k], (uint32_t)k + 1, T0, 100);
        rs_segment_eval(s, &u[k], T0, ch);
    }
    rs_user_t *x = &u[9];
    buyer(x, "x", 1, T0, 100);
    ASSERT_EQ(rs_segment_eval(s, x, T0, ch), 1);
    ASSERT_EQ(ch[0].kind, RS_SEG_RFM);
    ASSERT_STREQ(ch[0].old_name, "");
    /* f: 2 buyers with 1 purchase -> percentile 0.1 -> 1; r, m: all tied -> 3 */
    ASSERT_STREQ(ch[0].new_name, "hibernating");
    ASSERT_STREQ(ch[0].reason, "first purchase: recency 3, frequency 1, monetary 3 (1 purchase, "
                               "100.00 spent, last 0 min ago)");
    ASSERT_EQ(ch[0].n_scores, 6);
    ASSERT_STREQ(ch[0].scores[1].name, "f");
    ASSERT_EQ(ch[0].scores[1].value, 1);
    ASSERT_EQ(rs_segment_eval(s, x, T0, ch), 0);
    /* x buys 6 more, 41 days later: most recent (r 5) and 7 purchases (f 4) */
    int64_t t1 = T0 + 41 * 86400000LL;
    x->purchases = 7, x->counts[RS_EV_PURCHASE] = 7, x->last_purchase_ts = t1, x->monetary = 700;
    rs_event_t e = purchase_ev(t1);
    rs_segment_on_event(s, x, NULL, &e);
    ASSERT_EQ(rs_segment_eval(s, x, t1, ch), 1);
    ASSERT_STREQ(ch[0].old_name, "hibernating");
    ASSERT_STREQ(ch[0].new_name, "champions");
    ASSERT_STREQ(ch[0].reason, "recency 3 -> 5: last purchase 0 min ago; frequency 1 -> 4: 7 "
                               "purchases; monetary 3 -> 5: 700.00 spent");
    ASSERT_EQ(rs_segment_eval(s, x, t1, ch), 0);
    /* five others buy again at t1: o8's purchase (T0) now ranks lower */
    for (int k = 0; k < 5; k++) {
        u[k].last_purchase_ts = t1;
        rs_segment_eval(s, &u[k], t1, ch);
    }
    ASSERT_EQ(rs_segment_eval(s, &u[8], t1 + 41 * 86400000LL, ch), 1);
    ASSERT_STREQ(ch[0].old_name, "loyal");
    ASSERT_STREQ(ch[0].new_name, "at_risk");
    ASSERT_STREQ(ch[0].reason, "recency 3 -> 2: last purchase 82 days ago");
    ASSERT_EQ(ch[0].scores[3].value, 82);
    ASSERT_EQ(ch[0].scores[4].value, 9);
    ASSERT_EQ(rs_segment_rfm_size(s, RS_RFM_CHAMPIONS), 1);
    rs_segment_forget(s, x);
    ASSERT_EQ(rs_segment_rfm_size(s, RS_RFM_CHAMPIONS), 0);
    ASSERT_EQ(x->seg.counted, 0);
    rs_segmenter_destroy(s);
    cleanup(conf);
}

static rs_event_t view_ev(const char *cat, double price, int64_t ts) {
    rs_event_t e = {0};
    e.fields = RS_F_REQUIRED | RS_F_CATEGORY | RS_F_PRICE;
    e.type = RS_EV_VIEW;
    e.ts_ms = ts;
    e.category = rs_str(cat, (uint32_t)strlen(cat));
    e.price = price;
    return e;
}

/* relp against the category's running geometric mean; category switches
 * within a session. */
TEST(features_relp_switch) {
    rs_conf_t *conf = mkconf("4", "256", "10");
    char err[256];
    rs_segmenter_t *s = NULL;
    ASSERT_OK(rs_segmenter_new(&s, conf, NULL, NULL, err, sizeof(err)));
    rs_user_t a, b;
    buyer(&a, "a", 0, 0, 0);
    buyer(&b, "b", 0, 0, 0);
    rs_event_t e = view_ev("shoes", 10, T0);
    a.sessions = 1;
    rs_segment_on_event(s, &a, NULL, &e); /* first price of the category: no reference */
    ASSERT_EQ(a.seg.relp_n, 0);
    e = view_ev("shoes", 40, T0 + 1);
    rs_segment_on_event(s, &a, NULL, &e); /* ln 40 - ln 10 */
    e = view_ev("hats", 5, T0 + 2);
    rs_segment_on_event(s, &a, NULL, &e);
    a.sessions = 2; /* a new session: no step across it */
    e = view_ev("hats", 5, T0 + 3);
    rs_segment_on_event(s, &a, NULL, &e); /* ln 5 - ln 5 */
    ASSERT_EQ(a.seg.relp_n, 2);
    ASSERT_NEAR(a.seg.relp_sum, log(4.0), 1e-12);
    ASSERT_EQ(a.seg.cat_steps, 2);
    ASSERT_EQ(a.seg.cat_switch, 1);
    e = view_ev("shoes", 10, T0 + 4); /* mean of ln 10, ln 40 = ln 20: relp = -ln 2 */
    b.sessions = 1;
    rs_segment_on_event(s, &b, NULL, &e);
    ASSERT_NEAR(b.seg.relp_sum, -log(2.0), 1e-12);
    float x[NF];
    a.counts[RS_EV_VIEW] = 4;
    rs_segment_features(s, &a, x);
    ASSERT_NEAR(x[0], 1.0, 1e-6);                        /* view share */
    ASSERT_NEAR(x[1], 0.5 / 14.0, 1e-6);                 /* smoothed cart rate */
    ASSERT_NEAR(x[3], log1p(2.0), 1e-6);                 /* views per session */
    ASSERT_NEAR(x[4], log(4.0) / 2, 1e-6);               /* mean relp */
    ASSERT_NEAR(x[12], (1 + 0.4 * 5) / (2 + 5.0), 1e-6); /* smoothed switch rate */
    rs_segmenter_destroy(s);
    cleanup(conf);
}

/* Deterministic test PRNG (splitmix64). */
static uint64_t trng(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Blob b has every feature at 0 or 10 by a pattern ((j + b) % 4 < 2), plus
 * uniform noise of +-0.5: blobs differ in at least half of the features. */
static void blob_point(int b, uint64_t *r, float *x) {
    for (int j = 0; j < NF; j++) {
        double noise = (double)(trng(r) >> 11) * 0x1.0p-53 - 0.5;
        x[j] = (float)(((j + b) % 4 < 2 ? 10.0 : 0.0) + noise);
    }
}

TEST(kmeans_blobs_stable) {
    rs_conf_t *conf = mkconf("4", "64", "10");
    char err[256];
    rs_segmenter_t *s = NULL;
    ASSERT_OK(rs_segmenter_new(&s, conf, NULL, NULL, err, sizeof(err)));
    uint64_t r = rs_test_seed();
    float x[NF];
    int map[4] = {-1, -1, -1, -1};
    ASSERT_EQ(rs_segment_nearest(s, x, NULL), -1);
    for (int i = 0; i < 64; i++) blob_point(i % 4, &r, x), rs_segment_add_vector(s, x);
    ASSERT_EQ(rs_segment_refreshes(s), 1);
    ASSERT_EQ(rs_segment_cluster_count(s), 4);
    for (int b = 0; b < 4; b++) {
        blob_point(b, &r, x);
        map[b] = rs_segment_nearest(s, x, NULL);
        for (int c = 0; c < b; c++) ASSERT_NE(map[c], map[b]); /* one centroid per blob */
    }
    /* 7 more batches in a shuffled order: every point keeps its blob's
     * centroid, before and after (identities are stable) */
    for (int i = 0; i < 7 * 64; i++) {
        int b = (int)(trng(&r) % 4);
        blob_point(b, &r, x);
        ASSERT_EQ(rs_segment_nearest(s, x, NULL), map[b]);
        rs_segment_add_vector(s, x);
    }
    ASSERT_EQ(rs_segment_refreshes(s), 8);
    /* a non-finite vector is neither learnt from nor assigned */
    x[4] = NAN;
    ASSERT_EQ(rs_segment_nearest(s, x, NULL), -1);
    for (int i = 0; i < 64; i++) rs_segment_add_vector(s, x);
    ASSERT_EQ(rs_segment_refreshes(s), 8);
    for (int i = 0; i < 400; i++) {
        int b = i % 4;
        float d;
        blob_point(b, &r, x);
        ASSERT_EQ(rs_segment_nearest(s, x, &d), map[b]);
        ASSERT(d < 3.0f);
    }
    rs_segmenter_destroy(s);
    cleanup(conf);
}

/* A user with n views in 2 sessions and a price level of relp per view. */
static void shopper(rs_user_t *u, char *id, uint32_t n, double relp) {
    memset(u, 0, sizeof(*u));
    u->id = id;
    u->id_len = (uint32_t)strlen(id);
    u->counts[RS_EV_VIEW] = n;
    u->sessions = 2;
    u->seg.relp_sum = relp * n;
    u->seg.relp_n = n;
}

typedef struct fake_exec {
    void (*work)(void *);
    void (*done)(void *);
    void *arg;
    int submitted;
} fake_exec_t;

static int fake_submit(void *opaque, void (*work)(void *), void (*done)(void *), void *arg) {
    fake_exec_t *f = opaque;
    f->work = work, f->done = done, f->arg = arg;
    f->submitted++;
    return 0;
}

static void fake_run(fake_exec_t *f) {
    void *arg = f->arg;
    f->arg = NULL;
    f->work(arg);
    f->done(arg);
}

/* Users through eval with a deferring executor: nothing is installed until
 * done runs; then each user's next evaluation reports its first cluster
 * once; the two planted behaviours get different clusters. */
TEST(eval_clusters_deferred_executor) {
    rs_conf_t *conf = mkconf("2", "16", "10");
    char err[256], ids[32][16];
    fake_exec_t fx = {0};
    rs_executor_t ex = {&fx, fake_submit};
    rs_segmenter_t *s = NULL;
    rs_executor_t bad = {&fx, NULL};
    ASSERT_EQ(rs_segmenter_new(&s, conf, NULL, &bad, err, sizeof(err)), RS_EARG);
    ASSERT(s == NULL);
    ASSERT_OK(rs_segmenter_new(&s, conf, NULL, &ex, err, sizeof(err)));
    static rs_user_t u[32];
    rs_segment_change_t ch[RS_SEG__KIND_COUNT];
    for (int i = 0; i < 32; i++) {
        snprintf(ids[i], sizeof(ids[0]), "u%d", i);
        shopper(&u[i], ids[i], 10 + (uint32_t)i % 3, i % 2 ? 0.6 : -0.6);
    }
    rs_user_t few;
    shopper(&few, "few", 9, 0.6); /* below segments.cluster.min.events */
    for (int i = 0; i < 16; i++) ASSERT_EQ(rs_segment_eval(s, &u[i], T0, ch), 0);
    ASSERT_EQ(fx.submitted, 1);
    ASSERT_EQ(rs_segment_busy(s), 1);
    ASSERT_EQ(rs_segment_cluster_count(s), 0);
    for (int i = 16; i < 32; i++) rs_segment_eval(s, &u[i], T0, ch); /* fills the next batch */
    ASSERT_EQ(rs_segment_eval(s, &u[0], T0, ch), 0); /* already queued at 10 events: no requeue */
    fake_run(&fx);                                   /* installs; the full batch goes next */
    ASSERT_EQ(rs_segment_cluster_count(s), 2);
    ASSERT_EQ(rs_segment_refreshes(s), 1);
    ASSERT_EQ(fx.submitted, 2);
    ASSERT_EQ(rs_segment_busy(s), 1);
    fake_run(&fx);
    ASSERT_EQ(rs_segment_busy(s), 0);
    ASSERT_EQ(rs_segment_refreshes(s), 2);
    for (int i = 0; i < 32; i++) {
        ASSERT_EQ(rs_segment_eval(s, &u[i], T0, ch), 1);
        ASSERT_EQ(ch[0].kind, RS_SEG_CLUSTER);
        ASSERT_STREQ(ch[0].old_name, "");
        ASSERT(!strncmp(ch[0].reason, "first assignment at 1", 21));
        ASSERT_EQ(rs_segment_eval(s, &u[i], T0, ch), 0);
        ASSERT_EQ(u[i].seg.cluster, u[i % 2].seg.cluster);
    }
    ASSERT_NE(u[0].seg.cluster, u[1].seg.cluster);
    ASSERT_EQ(rs_segment_cluster_size(s, 0), 16);
    ASSERT_EQ(rs_segment_cluster_size(s, 1), 16);
    ASSERT_EQ(rs_segment_eval(s, &few, T0, ch), 0);
    ASSERT_EQ(few.seg.cluster, 0);
    /* a user who changes behaviour moves, once, with the reason */
    u[0].seg.relp_sum = 0.6 * 40, u[0].seg.relp_n = 40, u[0].counts[RS_EV_VIEW] = 40;
    ASSERT_EQ(rs_segment_eval(s, &u[0], T0, ch), 1);
    ASSERT_STREQ(ch[0].new_name, rs_segment_cluster_name(u[1].seg.cluster - 1));
    ASSERT(strstr(ch[0].reason, "at 40 events: closer on relative_price 0.6") != NULL);
    ASSERT_EQ(rs_segment_eval(s, &u[0], T0, ch), 0);
    ASSERT_EQ(rs_segment_cluster_size(s, u[1].seg.cluster - 1), 17);
    /* re-assessment: not for a few more events, nor for new centroids until
     * segments.refresh.ms has passed since the last one (the sweep) */
    ASSERT_EQ(u[2].seg.a_events, 12);
    u[2].counts[RS_EV_VIEW] = 14;
    rs_segment_eval(s, &u[2], T0, ch);
    ASSERT_EQ(u[2].seg.a_events, 12); /* 2 < 12 / 4 */
    u[2].counts[RS_EV_VIEW] = 15;
    rs_segment_eval(s, &u[2], T0, ch);
    ASSERT_EQ(u[2].seg.a_events, 15);
    for (int i = 0; i < 16; i++) rs_segment_add_vector(s, (float[NF]){0}); /* a third refresh */
    fake_run(&fx);
    ASSERT_EQ(rs_segment_refreshes(s), 3);
    rs_segment_eval(s, &u[2], T0 + conf->segments_refresh_ms - 1, ch);
    ASSERT_EQ(u[2].seg.a_gen, 2);
    rs_segment_eval(s, &u[2], T0 + conf->segments_refresh_ms, ch);
    ASSERT_EQ(u[2].seg.a_gen, 3);
    ASSERT_EQ(u[2].seg.a_ts, T0 + conf->segments_refresh_ms);
    /* a refresh still on the executor when the segmenter goes: done only frees */
    for (int i = 0; i < 16; i++) rs_segment_add_vector(s, (float[NF]){0});
    ASSERT_EQ(rs_segment_busy(s), 1);
    rs_segmenter_destroy(s);
    fake_run(&fx);
    cleanup(conf);
}

TEST(user_codec) {
    rs_segment_user_t a = {0}, b;
    unsigned char buf[RS_SEGMENT_STATE_MAX_BYTES];
    a.rfm = RS_RFM_LOYAL, a.cluster = 3, a.r = 4, a.f = 5, a.m = 1, a.counted = 1;
    a.h_recency = T0, a.h_freq = 7, a.h_monetary = 123.25, a.relp_sum = -1.5, a.relp_n = 9;
    a.dist = 0.75f, a.q_events = 20, a.last_cat = 77, a.last_sess = 3, a.cat_steps = 12;
    a.cat_switch = 5;
    size_t n = rs_segment_user_encode(&a, buf);
    ASSERT(n <= RS_SEGMENT_STATE_MAX_BYTES);
    ASSERT_OK(rs_segment_user_decode(&b, buf, n));
    ASSERT_EQ(b.rfm, RS_RFM_LOYAL);
    ASSERT_EQ(b.cluster, 3);
    ASSERT_EQ(b.r * 100 + b.f * 10 + b.m, 451);
    ASSERT_EQ(b.counted, 1);
    ASSERT_EQ(b.h_freq, 7);
    ASSERT_EQ(b.h_monetary, 123.25);
    ASSERT_EQ(b.relp_sum, -1.5);
    ASSERT_EQ(b.relp_n, 9);
    ASSERT_EQ(b.last_cat, 77);
    ASSERT_EQ(b.cat_steps * 100 + b.cat_switch, 1205);
    ASSERT_EQ(b.h_recency, T0);
    ASSERT_EQ(b.q_events, 20);
    ASSERT_EQ(b.last_sess, 3);
    ASSERT_EQ(b.dist, 0.75);
    ASSERT_OK(rs_segment_user_decode(&b, buf, 0)); /* older profile: fresh */
    ASSERT_EQ(b.rfm, 0);
    ASSERT_EQ(rs_segment_user_decode(&b, buf, n - 1), -1);
    buf[0] = 9;
    ASSERT_EQ(rs_segment_user_decode(&b, buf, n), -1);
}

/* Aggregates survive stage -> commit -> reopen; a corrupt blob is refused. */
TEST(stage_load_round_trip) {
    rs_conf_t *conf = mkconf("2", "16", "10");
    char err[256], ids[40][16];
    rs_state_t *st = NULL;
    rs_segmenter_t *s = NULL;
    ASSERT_OK(rs_state_open(&st, conf, err, sizeof(err)));
    ASSERT_OK(rs_segmenter_new(&s, conf, st, NULL, err, sizeof(err)));
    static rs_user_t u[40];
    rs_segment_change_t ch[RS_SEG__KIND_COUNT];
    for (int i = 0; i < 40; i++) {
        snprintf(ids[i], sizeof(ids[0]), "u%d", i);
        shopper(&u[i], ids[i], 12, i % 2 ? 0.6 : -0.6);
        u[i].purchases = u[i].counts[RS_EV_PURCHASE] = (uint32_t)(i % 5) + 1;
        u[i].last_purchase_ts = T0 + i * 3600000LL;
        u[i].monetary = 20.0 * (i + 1);
    }
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < 40; i++) rs_segment_eval(s, &u[i], T0 + 40 * 3600000LL, ch);
    rs_event_t e = view_ev("shoes", 10, T0);
    rs_segment_on_event(s, &u[0], NULL, &e);
    rs_segment_stage(s);
    ASSERT_OK(rs_state_commit(st, err, sizeof(err)));
    uint64_t sizes[RS_RFM__COUNT],
        cl[2] = {rs_segment_cluster_size(s, 0), rs_segment_cluster_size(s, 1)};
    for (int r = 0; r < RS_RFM__COUNT; r++) sizes[r] = rs_segment_rfm_size(s, r);
    float x[NF], d1, d2;
    rs_segment_features(s, &u[3], x);
    int c1 = rs_segment_nearest(s, x, &d1);
    uint64_t refreshes = rs_segment_refreshes(s);
    ASSERT_EQ(refreshes, 2);
    ASSERT_EQ(cl[0] + cl[1], 40);
    rs_segmenter_destroy(s);
    rs_state_close(st);

    ASSERT_OK(rs_state_open(&st, conf, err, sizeof(err)));
    ASSERT_OK(rs_segmenter_new(&s, conf, st, NULL, err, sizeof(err)));
    for (int r = 0; r < RS_RFM__COUNT; r++) ASSERT_EQ(rs_segment_rfm_size(s, r), sizes[r]);
    ASSERT_EQ(rs_segment_cluster_size(s, 0), cl[0]);
    ASSERT_EQ(rs_segment_cluster_size(s, 1), cl[1]);
    ASSERT_EQ(rs_segment_refreshes(s), refreshes);
    ASSERT_EQ(rs_segment_nearest(s, x, &d2), c1);
    ASSERT_EQ(d1, d2);
    /* histograms came back: re-scoring everybody changes nothing */
    for (int i = 0; i < 40; i++) ASSERT_EQ(rs_segment_eval(s, &u[i], T0 + 40 * 3600000LL, ch), 0);
    /* the price map came back: a view at 20 is ln 2 above the stored mean */
    rs_user_t v;
    shopper(&v, "v", 0, 0);
    e = view_ev("shoes", 20, T0);
    rs_segment_on_event(s, &v, NULL, &e);
    ASSERT_NEAR(v.seg.relp_sum, log(2.0), 1e-12);
    rs_segmenter_destroy(s);

    /* corrupt blobs: a clear error naming the blob */
    rs_state_blob_set(st, "segment.rfm", "\x01\x02\x03", 3);
    ASSERT_EQ(rs_segmenter_new(&s, conf, st, NULL, err, sizeof(err)), RS_EDECODE);
    ASSERT(s == NULL);
    ASSERT(strstr(err, "segment.rfm") && strstr(err, "truncated"));
    rs_state_blob_set(st, "segment.rfm", "\x07", 1);
    ASSERT_EQ(rs_segmenter_new(&s, conf, st, NULL, err, sizeof(err)), RS_EDECODE);
    ASSERT(strstr(err, "unknown version") != NULL);
    rs_state_close(st);
    cleanup(conf);
}

int main(void) {
    return RUN_TESTS(t_grid_names, t_quintiles_known_population, t_quintiles_ties,
                     t_change_reported_once, t_features_relp_switch, t_kmeans_blobs_stable,
                     t_eval_clusters_deferred_executor, t_user_codec, t_stage_load_round_trip);
}
