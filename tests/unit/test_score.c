/* test_score.c -- item-kNN ranking, exclusions, popularity fallback, reasons. */
#include <stdlib.h>

#include "recstream/rs_conf.h"
#include "recstream/rs_pipeline.h"
#include "recstream/rs_score.h"
#include "recstream/rs_state.h"
#include "rs_test.h"

static char g_dir[256];

static rs_conf_t *mkconf(void) {
    char err[256];
    rs_conf_t *c = rs_conf_new();
    snprintf(g_dir, sizeof(g_dir), "/tmp/rs-test-score-XXXXXX");
    if (!mkdtemp(g_dir)) abort();
    rs_conf_set(c, "state.dir", g_dir, "test", err, sizeof(err));
    return c;
}

static void cleanup(rs_conf_t *c) {
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", g_dir);
    if (system(cmd)) {
    }
    rs_conf_destroy(c);
}

static int64_t g_t = 1700000000000;

static rs_user_t *act(rs_state_t *st, const char *user, const char *item, rs_evtype_t t) {
    rs_event_t e = {0};
    e.fields = RS_F_REQUIRED;
    e.type = t;
    e.ts_ms = (g_t += 1000);
    e.event_id = rs_str("x", 1);
    e.user_id = rs_str(user, (uint32_t)strlen(user));
    e.item_id = rs_str(item, (uint32_t)strlen(item));
    int late;
    return rs_state_apply(st, &e, 0, &late);
}

static const char *id(rs_state_t *st, uint32_t idx) {
    return rs_state_item_by_idx(st, idx)->id;
}

/* History: many users view X then Y; fewer view X then Z; W is popular alone. */
static void history(rs_state_t *st) {
    char u[16];
    for (int i = 0; i < 8; i++) {
        snprintf(u, sizeof(u), "h%d", i);
        act(st, u, "X", RS_EV_VIEW);
        act(st, u, "Y", RS_EV_VIEW);
    }
    for (int i = 0; i < 3; i++) {
        snprintf(u, sizeof(u), "g%d", i);
        act(st, u, "X", RS_EV_VIEW);
        act(st, u, "Z", RS_EV_VIEW);
    }
    for (int i = 0; i < 20; i++) {
        snprintf(u, sizeof(u), "p%d", i);
        act(st, u, "W", RS_EV_PURCHASE);
    }
}

TEST(knn_ranking_and_reason) {
    rs_conf_t *conf = mkconf();
    char err[256];
    rs_state_t *st = NULL;
    ASSERT_OK(rs_state_open(&st, conf, err, sizeof(err)));
    history(st);
    rs_user_t *u = act(st, "me", "X", RS_EV_VIEW);
    rs_scorer_t *sc = rs_scorer_new(conf);
    rs_scored_t out[10];
    const char *strategy;
    size_t n = rs_score_user(sc, st, u, out, 3, &strategy);
    ASSERT_EQ(n, 3);
    ASSERT_STREQ(id(st, out[0].item), "Y"); /* 8 co-views beat 3 */
    ASSERT_STREQ(id(st, out[1].item), "Z");
    ASSERT_STREQ(id(st, out[2].item), "W"); /* popularity fills the rest */
    ASSERT_STREQ(strategy, "item-knn+popular");
    ASSERT_STREQ(id(st, out[0].because), "X");
    ASSERT_EQ(out[2].because, UINT32_MAX);
    ASSERT(out[0].score > out[1].score);
    ASSERT(out[1].score > out[2].score);
    char reason[160];
    rs_pipeline_reason(st, out[0].because, out[0].because_type, reason, sizeof(reason));
    ASSERT_STREQ(reason, "because you viewed X");
    rs_pipeline_reason(st, out[2].because, out[2].because_type, reason, sizeof(reason));
    ASSERT_STREQ(reason, "popular");
    /* the list hash identifies items and order, not scores */
    rs_scored_t copy[3];
    memcpy(copy, out, sizeof(copy));
    copy[0].score += 1;
    ASSERT_EQ(rs_score_list_hash(out, 3), rs_score_list_hash(copy, 3));
    copy[0] = out[1], copy[1] = out[0];
    ASSERT_NE(rs_score_list_hash(out, 3), rs_score_list_hash(copy, 3));
    rs_scorer_destroy(sc);
    rs_state_close(st);
    cleanup(conf);
}

TEST(excludes_seen_and_purchased) {
    rs_conf_t *conf = mkconf();
    char err[256];
    rs_state_t *st = NULL;
    ASSERT_OK(rs_state_open(&st, conf, err, sizeof(err)));
    history(st);
    act(st, "me", "W", RS_EV_PURCHASE);
    act(st, "me", "Y", RS_EV_VIEW);
    rs_user_t *u = act(st, "me", "X", RS_EV_VIEW);
    rs_scorer_t *sc = rs_scorer_new(conf);
    rs_scored_t out[10];
    const char *strategy;
    size_t n = rs_score_user(sc, st, u, out, 10, &strategy);
    for (size_t i = 0; i < n; i++) {
        ASSERT(strcmp(id(st, out[i].item), "Y") != 0);
        ASSERT(strcmp(id(st, out[i].item), "W") != 0);
        ASSERT(strcmp(id(st, out[i].item), "X") != 0);
    }
    ASSERT_EQ(n, 1);
    ASSERT_STREQ(id(st, out[0].item), "Z");
    /* seen items allowed when configured */
    rs_conf_set(conf, "rec.exclude.seen", "false", "test", err, sizeof(err));
    rs_conf_set(conf, "rec.exclude.purchased", "false", "test", err, sizeof(err));
    n = rs_score_user(sc, st, u, out, 10, &strategy);
    ASSERT_EQ(n, 4); /* Y, Z by kNN; X, W from popularity */
    rs_scorer_destroy(sc);
    rs_state_close(st);
    cleanup(conf);
}

TEST(cold_start_is_popular) {
    rs_conf_t *conf = mkconf();
    char err[256];
    rs_state_t *st = NULL;
    ASSERT_OK(rs_state_open(&st, conf, err, sizeof(err)));
    history(st);
    /* a new user whose only item has no neighbours */
    rs_user_t *u = act(st, "new", "lonely", RS_EV_VIEW);
    rs_scorer_t *sc = rs_scorer_new(conf);
    rs_scored_t out[10];
    const char *strategy;
    size_t n = rs_score_user(sc, st, u, out, 2, &strategy);
    ASSERT_EQ(n, 2);
    ASSERT_STREQ(strategy, "popular");
    ASSERT_STREQ(id(st, out[0].item), "W"); /* 20 purchases x weight 5 */
    ASSERT_STREQ(id(st, out[1].item), "X");
    rs_scorer_destroy(sc);
    rs_state_close(st);
    cleanup(conf);
}

int main(void) {
    return RUN_TESTS(t_knn_ranking_and_reason, t_excludes_seen_and_purchased,
                     t_cold_start_is_popular);
}
