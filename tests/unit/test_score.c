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

/* Category fill, hidden items, diversity cap, trending. */
TEST(category_fill_hidden_diversity_trending) {
    rs_conf_t *conf = mkconf();
    char err[256];
    rs_conf_set(conf, "rec.blocklist", "B2", "test", err, sizeof(err));
    rs_state_t *st = NULL;
    ASSERT_OK(rs_state_open(&st, conf, err, sizeof(err)));
    /* books B1..B4 and toys T1..T3 with distinct popularity (users each) */
    static const struct {
        const char *item, *cat;
        int users;
    } cat[] = {{"B1", "books", 6}, {"B2", "books", 5}, {"B3", "books", 4}, {"B4", "books", 3},
               {"T1", "toys", 9},  {"T2", "toys", 8},  {"T3", "toys", 7}};
    char u[32];
    for (size_t i = 0; i < sizeof(cat) / sizeof(cat[0]); i++)
        for (int j = 0; j < cat[i].users; j++) {
            snprintf(u, sizeof(u), "%s-%d", cat[i].item, j);
            rs_event_t e = {0};
            e.fields = RS_F_REQUIRED | RS_F_CATEGORY;
            e.type = RS_EV_VIEW;
            e.ts_ms = (g_t += 1000);
            e.event_id = rs_str("x", 1);
            e.user_id = rs_str(u, (uint32_t)strlen(u));
            e.item_id = rs_str(cat[i].item, 2);
            e.category = rs_str(cat[i].cat, (uint32_t)strlen(cat[i].cat));
            int late;
            rs_state_apply(st, &e, 0, &late);
        }
    uint32_t n;
    uint32_t books = rs_state_item_get(st, "B1", 2)->category;
    const uint32_t *cp = rs_state_category_popular(st, books, &n);
    ASSERT_EQ(n, 4);
    ASSERT_STREQ(id(st, cp[0]), "B1");
    ASSERT_STREQ(id(st, cp[3]), "B4");
    /* out of stock through the catalog */
    rs_item_meta_t m = {
        .item_id = rs_str("B3", 2), .category = rs_str("books", 5), .price = 9.5, .stock = 0};
    ASSERT(rs_state_item_meta(st, &m) != NULL);
    ASSERT(rs_state_item_get(st, "B3", 2)->flags & RS_ITEM_OUT_OF_STOCK);
    /* a reader of B4 (no neighbours): books first (B2 blocked, B3 out of
     * stock, B4 seen), then the overall popular */
    rs_user_t *me = act(st, "reader", "B4", RS_EV_VIEW);
    rs_scorer_t *sc = rs_scorer_new(conf);
    rs_scored_t out[10];
    const char *strategy;
    size_t k = rs_score_user(sc, st, me, out, 4, &strategy);
    ASSERT_EQ(k, 4);
    ASSERT_STREQ(strategy, "category-popular");
    ASSERT_STREQ(id(st, out[0].item), "B1");
    ASSERT_EQ(out[0].because_type, RS_BECAUSE_CATEGORY);
    char reason[160];
    rs_pipeline_reason(st, out[0].because, out[0].because_type, reason, sizeof(reason));
    ASSERT_STREQ(reason, "popular in books");
    ASSERT_STREQ(id(st, out[1].item), "T1");
    ASSERT_STREQ(id(st, out[2].item), "T2");
    ASSERT_STREQ(id(st, out[3].item), "T3");
    /* at most 2 toys */
    rs_conf_set(conf, "rec.diversity.max", "2", "test", err, sizeof(err));
    k = rs_score_user(sc, st, me, out, 4, &strategy);
    ASSERT_EQ(k, 3);
    ASSERT_STREQ(id(st, out[2].item), "T2");
    rs_scorer_destroy(sc);

    /* trending: S steady for 3 days, T steady then a burst in the last minutes */
    int64_t t0 = g_t;
    for (int h = 0; h < 72; h++) {
        g_t = t0 + (int64_t)h * 3600000;
        snprintf(u, sizeof(u), "s%d", h);
        act(st, u, "S", RS_EV_VIEW);
        snprintf(u, sizeof(u), "t%d", h);
        act(st, u, "T", RS_EV_VIEW);
    }
    for (int i = 0; i < 30; i++) {
        snprintf(u, sizeof(u), "burst%d", i);
        act(st, u, "T", RS_EV_VIEW);
    }
    int64_t now = rs_state_event_now(st);
    double ts = rs_state_item_trending(st, rs_state_item_get(st, "S", 1), now);
    double tt = rs_state_item_trending(st, rs_state_item_get(st, "T", 1), now);
    ASSERT(ts > 0.5 && ts < 2.0);
    ASSERT(tt > 5.0);
    ASSERT(rs_state_item_trending(st, rs_state_item_get(st, "B1", 2), now) < 0.01); /* quiet */
    rs_state_close(st);
    cleanup(conf);
}

static rs_user_t *act_cat(rs_state_t *st, const char *user, const char *item, const char *cat) {
    rs_event_t e = {0};
    e.fields = RS_F_REQUIRED | RS_F_CATEGORY;
    e.type = RS_EV_VIEW;
    e.ts_ms = (g_t += 1000);
    e.event_id = rs_str("x", 1);
    e.user_id = rs_str(user, (uint32_t)strlen(user));
    e.item_id = rs_str(item, (uint32_t)strlen(item));
    e.category = rs_str(cat, (uint32_t)strlen(cat));
    int late;
    return rs_state_apply(st, &e, 0, &late);
}

/* rec.content.weight: equal kNN scores, the candidate in the user's category wins. */
TEST(content_affinity) {
    rs_conf_t *conf = mkconf();
    char err[256];
    rs_state_t *st = NULL;
    ASSERT_OK(rs_state_open(&st, conf, err, sizeof(err)));
    act_cat(st, "a", "Z", "toys"); /* Z gets the lower index: wins ties */
    act_cat(st, "a", "X", "books");
    act_cat(st, "b", "Y", "books");
    act_cat(st, "b", "X", "books");
    rs_user_t *me = act_cat(st, "me", "X", "books");
    rs_scorer_t *sc = rs_scorer_new(conf);
    rs_scored_t out[4];
    const char *strategy;
    ASSERT_EQ(rs_score_user(sc, st, me, out, 2, &strategy), 2);
    ASSERT_STREQ(id(st, out[0].item), "Z");
    rs_conf_set(conf, "rec.content.weight", "1", "test", err, sizeof(err));
    ASSERT_EQ(rs_score_user(sc, st, me, out, 2, &strategy), 2);
    ASSERT_STREQ(id(st, out[0].item), "Y");
    ASSERT_NEAR(out[0].score, 2 * out[1].score, 1e-6); /* x (1 + 1 x 1.0) */
    rs_scorer_destroy(sc);
    rs_state_close(st);
    cleanup(conf);
}

/* Purchased items come back after their category's repurchase window. */
TEST(repurchase_window) {
    rs_conf_t *conf = mkconf();
    char err[256];
    rs_state_t *st = NULL;
    ASSERT_OK(rs_state_open(&st, conf, err, sizeof(err)));
    rs_event_t e = {0};
    e.fields = RS_F_REQUIRED | RS_F_CATEGORY;
    e.event_id = rs_str("x", 1);
    int late;
    /* others make milk and a book popular */
    static const char *items[][2] = {{"milk", "groceries"}, {"book", "books"}};
    char u[16];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++) {
            snprintf(u, sizeof(u), "o%d%d", i, j);
            e.type = RS_EV_VIEW;
            e.ts_ms = (g_t += 1000);
            e.user_id = rs_str(u, (uint32_t)strlen(u));
            e.item_id = rs_str(items[i][0], (uint32_t)strlen(items[i][0]));
            e.category = rs_str(items[i][1], (uint32_t)strlen(items[i][1]));
            rs_state_apply(st, &e, 0, &late);
        }
    /* me buys both, then a day passes */
    rs_user_t *me = NULL;
    for (int i = 0; i < 2; i++) {
        e.type = RS_EV_PURCHASE;
        e.ts_ms = (g_t += 1000);
        e.user_id = rs_str("me", 2);
        e.item_id = rs_str(items[i][0], (uint32_t)strlen(items[i][0]));
        e.category = rs_str(items[i][1], (uint32_t)strlen(items[i][1]));
        me = rs_state_apply(st, &e, 0, &late);
    }
    ASSERT_EQ(me->n_purchased, 2);
    act(st, "late", "other", RS_EV_VIEW); /* moves event time on */
    g_t += 86400000;
    act(st, "later", "other2", RS_EV_VIEW);
    rs_scorer_t *sc = rs_scorer_new(conf);
    rs_scored_t out[8];
    const char *strategy;
    size_t n = rs_score_user(sc, st, me, out, 8, &strategy);
    for (size_t i = 0; i < n; i++) ASSERT(strcmp(id(st, out[i].item), "milk") != 0);
    /* groceries come back after 12 h, books never */
    rs_conf_set(conf, "rec.repurchase.categories", "groceries=43200000", "test", err, sizeof(err));
    n = rs_score_user(sc, st, me, out, 8, &strategy);
    int milk = 0, book = 0;
    for (size_t i = 0; i < n; i++) {
        milk += !strcmp(id(st, out[i].item), "milk");
        book += !strcmp(id(st, out[i].item), "book");
    }
    ASSERT_EQ(milk, 1);
    ASSERT_EQ(book, 0);
    /* a window longer than the time since the purchase keeps it out */
    rs_conf_set(conf, "rec.repurchase.categories", "groceries=172800000", "test", err, sizeof(err));
    n = rs_score_user(sc, st, me, out, 8, &strategy);
    for (size_t i = 0; i < n; i++) ASSERT(strcmp(id(st, out[i].item), "milk") != 0);
    /* the purchase time survives a commit and reopen */
    ASSERT_OK(rs_state_commit(st, err, sizeof(err)));
    int64_t ts0 = me->purchased_ts[0];
    rs_state_close(st);
    ASSERT_OK(rs_state_open(&st, conf, err, sizeof(err)));
    me = rs_state_user_get(st, "me", 2);
    ASSERT(me != NULL);
    ASSERT_EQ(me->purchased_ts[0], ts0);
    rs_scorer_destroy(sc);
    rs_state_close(st);
    cleanup(conf);
}

int main(void) {
    return RUN_TESTS(t_knn_ranking_and_reason, t_excludes_seen_and_purchased,
                     t_cold_start_is_popular, t_category_fill_hidden_diversity_trending,
                     t_content_affinity, t_repurchase_window);
}
