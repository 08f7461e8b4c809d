/* test_eval.c -- eval metric arithmetic on hand-computed streams, the CSV
 * reader, and eval's lists == the daemon pipeline's lists for the same events. */
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "recstream/rs_csv.h"
#include "recstream/rs_eval.h"
#include "recstream/rs_pipeline.h"
#include "rs_test.h"

static rs_conf_t *mkconf(char *dir, size_t size) {
    char err[256];
    rs_conf_t *c = rs_conf_new();
    snprintf(dir, size, "/tmp/rs-test-eval-XXXXXX");
    if (!mkdtemp(dir)) abort();
    rs_conf_set(c, "state.dir", dir, "test", err, sizeof(err));
    rs_conf_set(c, "output.format", "json", "test", err, sizeof(err));
    return c;
}

static void rmdir_r(const char *dir) {
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd)) fprintf(stderr, "cannot remove %s\n", dir);
}

static rs_event_t mkev(const char *user, const char *item, int64_t ts, const char *id) {
    rs_event_t e;
    memset(&e, 0, sizeof(e));
    e.fields = RS_F_REQUIRED;
    e.type = RS_EV_VIEW;
    e.ts_ms = ts;
    e.user_id = rs_str(user, (uint32_t)strlen(user));
    e.item_id = rs_str(item, (uint32_t)strlen(item));
    e.event_id = rs_str(id, (uint32_t)strlen(id));
    return e;
}

/* The stream and its expected figures, worked out by hand (k = 2):
 *   e1 u1 A, e2 u2 A, e3 u3 A
 *   e4 u2 B  target; B unknown: both miss (engine list []: A is u2's, A has
 *            no neighbours; popularity [] for the same reason)
 *   e5 u3 B  target; engine: seed A -> neighbour B -> [B] hit@1;
 *            popularity A3 B1, A excluded -> [B] hit@1
 *   e6 u1 C  target; C unknown: engine [B], popularity [B], both miss
 *   e7 u4 D  new user: not a target
 *   e8 u4 B  target; D has no neighbours, so the engine falls back to
 *            popularity: A3 B2 C1 D1, D excluded -> [A, B] hit@2 (both)
 *   e9 u1 B  target (u1 has A, C); engine: seeds C (newest), A; C's only
 *            neighbour A is excluded, A's are B and C -> B; the popularity
 *            fill adds D (A, C excluded) -> [B, D] hit@1; popularity
 *            A3 B3 C1 D1 with A, C excluded -> [B, D] hit@1
 *   targets 5; engine hits 3 (ranks 1, 2, 1), popularity hits 3 (1, 2, 1). */
TEST(metric_arithmetic) {
    char dir[64], err[256];
    rs_conf_t *conf = mkconf(dir, sizeof(dir));
    rs_eval_opts_t o = {.k = 2};
    rs_eval_t *ev = NULL;
    ASSERT_OK(rs_eval_new(&ev, conf, &o, err, sizeof(err)));
    static const char *s[][2] = {{"u1", "A"}, {"u2", "A"}, {"u3", "A"}, {"u2", "B"}, {"u3", "B"},
                                 {"u1", "C"}, {"u4", "D"}, {"u4", "B"}, {"u1", "B"}};
    static const int target[] = {0, 0, 0, 1, 1, 1, 0, 1, 1};
    int64_t t0 = 1700000000000;
    for (int i = 0; i < 9; i++) {
        char id[16];
        snprintf(id, sizeof(id), "e%d", i + 1);
        rs_event_t e = mkev(s[i][0], s[i][1], t0 + i * 1000, id);
        ASSERT_EQ(rs_eval_event(ev, &e, err, sizeof(err)), target[i]);
    }
    rs_eval_result_t r;
    rs_eval_result(ev, &r);
    ASSERT_EQ(r.events, 9);
    ASSERT_EQ(r.targets, 5);
    ASSERT_EQ(r.users, 4);
    ASSERT_EQ(r.items, 4);
    const rs_eval_model_t *m[2] = {&r.engine, &r.popularity};
    for (int i = 0; i < 2; i++) {
        ASSERT_EQ(m[i]->hits, 3);
        ASSERT_NEAR(m[i]->hr, 3.0 / 5, 1e-12);
        ASSERT_NEAR(m[i]->mrr, (1 + 0.5 + 1) / 5.0, 1e-12);
        ASSERT_NEAR(m[i]->ndcg, (1 + 1 / log2(3.0) + 1) / 5.0, 1e-12);
    }
    /* both models list [] [B] [B] [A,B] [B,D]: exposure A1 B4 C0 D1 */
    for (int i = 0; i < 2; i++) {
        ASSERT_EQ(m[i]->distinct, 3);
        ASSERT_NEAR(m[i]->coverage, 0.75, 1e-12);
        /* Gini of [0,1,1,4]: sum (2i-n-1) x_i / (n sum x) = (-1 + 1 + 12) / (4 * 6) */
        ASSERT_NEAR(m[i]->gini, 0.5, 1e-12);
        /* popularity percentile when recommended: e5 and e6 B is 2nd of 2
         * items (0); e8 A 1st of 4 (100), B 2nd (66.7); e9 B 2nd (66.7) and
         * D 4th (0): B reached count 3 after A and stays behind it */
        ASSERT_NEAR(m[i]->pop_pct, (100 + 400.0 / 3) / 6, 1e-9);
    }
    /* the curve over one window is the overall HR */
    double ce, cp;
    ASSERT_EQ(rs_eval_curve(ev, 1, &ce, &cp), 1);
    ASSERT_NEAR(ce, 0.6, 1e-12);
    rs_eval_destroy(ev);
    rs_conf_destroy(conf);
    rmdir_r(dir);
}

/* score_from: targets before it train but are not scored. */
TEST(score_from_skips) {
    char dir[64], err[256];
    rs_conf_t *conf = mkconf(dir, sizeof(dir));
    rs_eval_opts_t o = {.k = 2, .score_from = 5};
    rs_eval_t *ev = NULL;
    ASSERT_OK(rs_eval_new(&ev, conf, &o, err, sizeof(err)));
    static const char *s[][2] = {{"u1", "A"}, {"u2", "A"}, {"u3", "A"}, {"u2", "B"}, {"u3", "B"},
                                 {"u1", "C"}, {"u4", "D"}, {"u4", "B"}, {"u1", "B"}};
    for (int i = 0; i < 9; i++) {
        char id[16];
        snprintf(id, sizeof(id), "e%d", i + 1);
        rs_event_t e = mkev(s[i][0], s[i][1], 1700000000000 + i * 1000, id);
        ASSERT(rs_eval_event(ev, &e, err, sizeof(err)) >= 0);
    }
    rs_eval_result_t r;
    rs_eval_result(ev, &r);
    ASSERT_EQ(r.targets, 3); /* e6, e8, e9 */
    ASSERT_EQ(r.skipped, 2); /* e4, e5 */
    ASSERT_EQ(r.engine.hits, 2);
    rs_eval_destroy(ev);
    rs_conf_destroy(conf);
    rmdir_r(dir);
}

/* Exclusion of every item a user ever had, not just the recent ring, with
 * few items (stamped per scoring) and with many (the set fallback):
 *   o views i0, i(n-1), i1, i(n-2), ... so the newest items of h have the
 *   oldest as neighbours; h views i0 .. i(n-1); q views x1, x2; then the
 *   one scored target, h -> x2. Every i is h's, so both models must list
 *   x1 and x2: the baseline [x1, x2] (x1 reached count 1 first), the
 *   engine's popularity fill [x2, x1] (most recently gained first). A leaked
 *   i (count 2) would come first and push x2 out of the k = 2 list. The
 *   engine's fill list (rec.popular) must be long enough to get past the i's. */
static void exclusion_case(int n) {
    char dir[64], err[256];
    rs_conf_t *conf = mkconf(dir, sizeof(dir));
    ASSERT_OK(rs_conf_set(conf, "rec.popular", "1000", "test", err, sizeof(err)));
    rs_eval_opts_t o = {.k = 2, .score_from = (uint64_t)(2 * n + 2)};
    rs_eval_t *ev = NULL;
    ASSERT_OK(rs_eval_new(&ev, conf, &o, err, sizeof(err)));
    int64_t ts = 1700000000000;
    int seq = 0;
    char item[16], id[16];
#define FEED(user, ...)                                                                            \
    do {                                                                                           \
        snprintf(item, sizeof(item), __VA_ARGS__);                                                 \
        snprintf(id, sizeof(id), "e%d", seq++);                                                    \
        rs_event_t e = mkev(user, item, ts += 1000, id);                                           \
        ASSERT(rs_eval_event(ev, &e, err, sizeof(err)) >= 0);                                      \
    } while (0)
    for (int i = 0; i < n; i++) FEED("o", "i%d", i % 2 ? n - 1 - i / 2 : i / 2);
    for (int i = 0; i < n; i++) FEED("h", "i%d", i);
    FEED("q", "x1");
    FEED("q", "x2");
    FEED("h", "x2");
#undef FEED
    rs_eval_result_t r;
    rs_eval_result(ev, &r);
    ASSERT_EQ(r.targets, 1);
    ASSERT_EQ(r.engine.hits, 1);
    ASSERT_NEAR(r.engine.mrr, 1.0, 1e-12);
    ASSERT_EQ(r.popularity.hits, 1);
    ASSERT_NEAR(r.popularity.mrr, 0.5, 1e-12);
    rs_eval_destroy(ev);
    rs_conf_destroy(conf);
    rmdir_r(dir);
}

TEST(excludes_all_seen) {
    exclusion_case(40);  /* stamped */
    exclusion_case(300); /* more than eval keeps stamps for */
}

TEST(csv_reader) {
    char path[] = "/tmp/rs-test-csv-XXXXXX";
    int fd = mkstemp(path);
    ASSERT(fd >= 0);
    const char *text = RS_CSV_HEADER "\n"
                                     "1700000000000,u1,i1,view,,,\n"
                                     "1700000000001,u1,i2,purchase,s9,12.5,cat\r\n"
                                     "\n"
                                     "17x,u1,i1,view,,,\n"
                                     "1700000000002,u2,i1,teleport,,,\n"
                                     "1700000000003,u2,i1,view,,\n"
                                     "1700000000004,u2,i3,cart,,,";
    ASSERT_EQ(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    char err[256];
    rs_csv_t *r = NULL;
    ASSERT_OK(rs_csv_open(&r, path, err, sizeof(err)));
    rs_event_t e;
    ASSERT_EQ(rs_csv_next(r, &e, err, sizeof(err)), 1);
    ASSERT_EQ(e.ts_ms, 1700000000000);
    ASSERT_EQ(e.type, RS_EV_VIEW);
    ASSERT_EQ(e.fields & (RS_F_SESSION | RS_F_PRICE | RS_F_CATEGORY), 0);
    ASSERT(e.fields & RS_F_EVENT_ID);
    ASSERT_EQ(rs_csv_next(r, &e, err, sizeof(err)), 1);
    ASSERT_EQ(e.type, RS_EV_PURCHASE);
    ASSERT_NEAR(e.price, 12.5, 0);
    ASSERT(e.category.len == 3 && !memcmp(e.category.p, "cat", 3)); /* \r stripped */
    ASSERT(e.session_id.len == 2 && !memcmp(e.session_id.p, "s9", 2));
    ASSERT_EQ(rs_csv_next(r, &e, err, sizeof(err)), RS_EDECODE); /* line 5: ts */
    ASSERT(strstr(err, ":5: ts_ms"));
    ASSERT_EQ(rs_csv_next(r, &e, err, sizeof(err)), RS_EDECODE); /* line 6: type */
    ASSERT(strstr(err, ":6: unknown type"));
    ASSERT_EQ(rs_csv_next(r, &e, err, sizeof(err)), RS_EDECODE); /* line 7: 6 fields */
    ASSERT(strstr(err, ":7: 6 fields"));
    ASSERT_EQ(rs_csv_next(r, &e, err, sizeof(err)), 1); /* last line without \n */
    ASSERT_EQ(e.type, RS_EV_CART);
    ASSERT(e.item_id.len == 2 && !memcmp(e.item_id.p, "i3", 2));
    ASSERT_EQ(rs_csv_next(r, &e, err, sizeof(err)), 0);
    rs_csv_close(r);
    /* bad header */
    fd = open(path, O_WRONLY | O_TRUNC);
    ASSERT_EQ(write(fd, "ts,user\n", 8), 8);
    close(fd);
    ASSERT_EQ(rs_csv_open(&r, path, err, sizeof(err)), RS_EDECODE);
    ASSERT(strstr(err, ":1: header must be"));
    unlink(path);
}

/* ---- eval and the daemon pipeline give the same lists ---- */

typedef struct last_list {
    char user[8];
    char items[10][8];
    int n;
} last_list_t;

static last_list_t g_last[64];

static void cap_rec(void *opaque, const rs_rec_t *rec, const void *key, size_t klen,
                    const void *val, size_t vlen, int64_t origin_us) {
    int u = atoi((const char *)rec->user_id.p + 1);
    last_list_t *l = &g_last[u];
    l->n = (int)rec->n_items;
    for (uint32_t i = 0; i < rec->n_items && i < 10; i++)
        snprintf(l->items[i], sizeof(l->items[i]), "%.*s", (int)rec->items[i].item_id.len,
                 rec->items[i].item_id.p);
}

TEST(eval_matches_daemon) {
    char d1[64], d2[64], err[256];
    rs_conf_t *c1 = mkconf(d1, sizeof(d1)), *c2 = mkconf(d2, sizeof(d2));
    /* the daemon excludes its recent ring; make it hold every item so the
     * exclusions are the same as eval's */
    rs_conf_set(c1, "profile.recent.items", "1000", "test", err, sizeof(err));
    rs_conf_set(c2, "profile.recent.items", "1000", "test", err, sizeof(err));
    rs_eval_opts_t o = {.k = 10, .commit_every = 97};
    rs_eval_t *ev = NULL;
    ASSERT_OK(rs_eval_new(&ev, c1, &o, err, sizeof(err)));
    rs_stats_t stats;
    memset(&stats, 0, sizeof(stats));
    rs_sink_t sink = {.rec = cap_rec};
    rs_pipeline_t *p = NULL;
    ASSERT_OK(rs_pipeline_new(&p, c2, &sink, &stats, err, sizeof(err)));
    memset(g_last, 0, sizeof(g_last));
    static const rs_evtype_t types[] = {RS_EV_VIEW, RS_EV_VIEW, RS_EV_VIEW, RS_EV_CART,
                                        RS_EV_PURCHASE};
    uint64_t x = 12345;
    int compared = 0, nonempty = 0;
    for (int i = 0; i < 3000; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        char user[8], item[8], id[16];
        unsigned r = (unsigned)(x >> 33);
        snprintf(user, sizeof(user), "u%u", r % 64);
        /* skewed items with some user-specific taste so neighbours form */
        unsigned it = (r >> 8) % 8 == 0 ? (r >> 12) % 200 : ((r % 64) * 3 + (r >> 12) % 7) % 200;
        snprintf(item, sizeof(item), "i%u", it);
        snprintf(id, sizeof(id), "x%d", i);
        rs_event_t e = mkev(user, item, 1700000000000 + (int64_t)i * 1000, id);
        e.type = types[(r >> 20) % 5];
        ASSERT(rs_eval_event(ev, &e, err, sizeof(err)) >= 0);
        rs_pipeline_process_event(p, &e, 0);
        rs_pipeline_score(p);
        if (i % 10) continue;
        const char *got[10];
        size_t n = rs_eval_recommend(ev, user, strlen(user), got, 10);
        last_list_t *l = &g_last[r % 64];
        ASSERT_EQ((int)n, l->n);
        for (size_t j = 0; j < n; j++) ASSERT_STREQ(got[j], l->items[j]);
        compared++;
        nonempty += n > 0;
    }
    ASSERT_EQ(compared, 300);
    ASSERT(nonempty > 250);
    rs_pipeline_destroy(p);
    rs_eval_destroy(ev);
    rs_conf_destroy(c1);
    rs_conf_destroy(c2);
    rmdir_r(d1);
    rmdir_r(d2);
}

int main(void) {
    return RUN_TESTS(t_metric_arithmetic, t_score_from_skips, t_excludes_all_seen, t_csv_reader,
                     t_eval_matches_daemon);
}
