/* test_rules.c -- association rules: exact support/confidence/lift on tiny
 * hand-computed states, thresholds, order, the bounded list and the text. */
#include <stdlib.h>
#include <unistd.h>

#include "recstream/rs_conf.h"
#include "recstream/rs_rules.h"
#include "recstream/rs_state.h"
#include "rs_test.h"

static char g_dir[512];

static rs_conf_t *mkconf(void) {
    char err[256];
    const char *t = getenv("TMPDIR");
    rs_conf_t *c = rs_conf_new();
    snprintf(g_dir, sizeof(g_dir), "%s/rs-test-rules-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(g_dir)) abort();
    rs_conf_set(c, "state.dir", g_dir, "test", err, sizeof(err));
    /* pin what the hand-computed numbers assume */
    rs_conf_set(c, "cooc.pair.weight", "position", "test", err, sizeof(err));
    rs_conf_set(c, "cooc.window.count", "10", "test", err, sizeof(err));
    return c;
}

static void rmdir_r(void) {
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
    if (system(cmd)) {
    }
}

static void apply(rs_state_t *st, const char *user, const char *item, rs_evtype_t t, int64_t ts) {
    rs_event_t e = {0};
    int late;
    e.fields = RS_F_REQUIRED;
    e.type = t;
    e.ts_ms = ts;
    e.event_id = rs_str("x", 1);
    e.user_id = rs_str(user, (uint32_t)strlen(user));
    e.item_id = rs_str(item, (uint32_t)strlen(item));
    rs_state_apply(st, &e, 0, &late);
}

static rs_item_t *item(rs_state_t *st, const char *id) {
    return rs_state_item_get(st, id, strlen(id));
}

/* Views, one user per line, n(X) = users X is new to, pairs weighted by
 * position (1 for the most recent partner, 1/2 for the one before):
 *   u1: A B   u2: A B   u3: A C   u4: B C   u5: A B C
 * c(A,B) = 1 + 1 + 1 = 3 (u5: B right after A)
 * c(A,C) = 1 (u3) + 1/2 (u5: C two after A) = 1.5, c(B,C) = 1 + 1 = 2
 * n(A) = 4, n(B) = 4, n(C) = 3, N = 11
 *   A -> B: support 3/11, confidence 3/4, lift (3/4)/(4/11) = 2.0625
 *   A -> C: support 1.5/11, confidence 1.5/4, lift (3/8)/(3/11) = 1.375
 *   C -> B: confidence 2/3, lift (2/3)/(4/11) = 11/6 (before C -> A: 1.5/3) */
static void build_abc(rs_state_t *st) {
    int64_t t = 1700000000000;
    const char *seq[5][3] = {
        {"A", "B", NULL}, {"A", "B", NULL}, {"A", "C", NULL}, {"B", "C", NULL}, {"A", "B", "C"}};
    char u[16];
    for (int i = 0; i < 5; i++) {
        snprintf(u, sizeof(u), "u%d", i + 1);
        for (int j = 0; j < 3 && seq[i][j]; j++) apply(st, u, seq[i][j], RS_EV_VIEW, t += 1000);
    }
}

TEST(exact_numbers) {
    rs_conf_t *conf = mkconf();
    char err[256];
    rs_state_t *st = NULL;
    ASSERT_OK(rs_state_open(&st, conf, err, sizeof(err)));
    build_abc(st);
    ASSERT_EQ(rs_state_total_weight(st), 11);
    rs_item_t *a = item(st, "A"), *b = item(st, "B"), *c = item(st, "C");
    ASSERT_EQ(a->weight, 4);
    ASSERT_EQ(c->weight, 3);
    rs_rule_t r[8];
    /* default min_count 2: A -> C (1.5) is below it */
    size_t n = rs_rules_for_item(st, a, NULL, r, 8);
    ASSERT_EQ(n, 1);
    ASSERT_EQ(r[0].item, b->idx);
    rs_rules_opts_t o;
    rs_rules_opts_default(&o);
    ASSERT_NEAR(o.min_count, 2.0, 0);
    o.min_count = 1;
    n = rs_rules_for_item(st, a, &o, r, 8);
    ASSERT_EQ(n, 2);
    ASSERT_EQ(r[0].item, b->idx);
    ASSERT_NEAR(r[0].count, 3.0, 1e-12);
    ASSERT_NEAR(r[0].support, 3.0 / 11.0, 1e-12);
    ASSERT_NEAR(r[0].confidence, 0.75, 1e-12);
    ASSERT_NEAR(r[0].lift, 2.0625, 1e-12);
    ASSERT_EQ(r[1].item, c->idx);
    ASSERT_NEAR(r[1].count, 1.5, 1e-12);
    ASSERT_NEAR(r[1].support, 1.5 / 11.0, 1e-12);
    ASSERT_NEAR(r[1].confidence, 0.375, 1e-12);
    ASSERT_NEAR(r[1].lift, 1.375, 1e-12);

    n = rs_rules_for_item(st, c, &o, r, 8);
    ASSERT_EQ(n, 2);
    ASSERT_EQ(r[0].item, b->idx);
    ASSERT_NEAR(r[0].confidence, 2.0 / 3.0, 1e-12);
    ASSERT_NEAR(r[0].lift, 11.0 / 6.0, 1e-12);
    ASSERT_EQ(r[1].item, a->idx);
    ASSERT_NEAR(r[1].confidence, 0.5, 1e-12);
    ASSERT_NEAR(r[1].lift, 1.375, 1e-12);

    /* bounded: only the best one */
    ASSERT_EQ(rs_rules_for_item(st, a, &o, r, 1), 1);
    ASSERT_EQ(r[0].item, b->idx);
    ASSERT_EQ(rs_rules_for_item(st, a, &o, r, 0), 0);

    /* thresholds */
    o.min_count = 1.5;
    ASSERT_EQ(rs_rules_for_item(st, a, &o, r, 8), 2);
    o.min_count = 1.6;
    ASSERT_EQ(rs_rules_for_item(st, a, &o, r, 8), 1);
    o.min_count = 0;
    o.min_confidence = 0.5;
    ASSERT_EQ(rs_rules_for_item(st, a, &o, r, 8), 1);
    o.min_confidence = 0;
    o.min_lift = 2.0;
    ASSERT_EQ(rs_rules_for_item(st, a, &o, r, 8), 1);
    o.min_lift = 0;
    o.min_support = 0.2; /* 3/11 = 0.27 passes, 1.5/11 = 0.14 does not */
    ASSERT_EQ(rs_rules_for_item(st, a, &o, r, 8), 1);
    o.min_support = 0;
    o.min_count = 3.5;
    ASSERT_EQ(rs_rules_for_item(st, a, &o, r, 8), 0);

    /* text: whole counts without decimals, fractional ones with one */
    o.min_count = 0;
    n = rs_rules_for_item(st, a, &o, r, 8);
    rs_buf_t txt = {0};
    rs_rule_format(st, a, &r[0], &txt);
    ASSERT_STREQ(rs_buf_cstr(&txt),
                 "customers who interacted with A also interacted with B: 75% (lift 2.1, "
                 "support 3)");
    rs_buf_reset(&txt);
    rs_rule_format(st, a, &r[1], &txt);
    ASSERT_STREQ(rs_buf_cstr(&txt),
                 "customers who interacted with A also interacted with C: 38% (lift 1.4, "
                 "support 1.5)");
    rs_buf_free(&txt);
    rs_state_close(st);
    rmdir_r();
    rs_conf_destroy(conf);
}

/* Pairs weighted by event type (cooc.pair.weight = type: the smaller of the
 * two type weights; view 1, purchase 5) while n(X) counts users: a pair of
 * purchases adds 5 for one user each, so the raw ratios pass 1 and are
 * capped.  u1: Z view, W purchase -> c(W,Z) = 1;  u2: Z purchase, W purchase
 * -> c(W,Z) = 1 + 5 = 6;  n(W) = n(Z) = 2, N = 4:
 *   W -> Z: support min(1, 6/4) = 1, confidence min(1, 6/2) = 1, lift 1/(2/4) = 2
 * A third user who views W alone: n(W) = 3, N = 5 -> W -> Z keeps confidence 1,
 * lift 1/(2/5) = 2.5; Z -> W: lift 1/(3/5) = 5/3. */
TEST(type_weights_and_caps) {
    rs_conf_t *conf = mkconf();
    char err[256];
    rs_conf_set(conf, "cooc.pair.weight", "type", "test", err, sizeof(err));
    rs_state_t *st = NULL;
    ASSERT_OK(rs_state_open(&st, conf, err, sizeof(err)));
    int64_t t = 1700000000000;
    apply(st, "u1", "Z", RS_EV_VIEW, t + 1);
    apply(st, "u1", "W", RS_EV_PURCHASE, t + 2);
    apply(st, "u2", "Z", RS_EV_PURCHASE, t + 3);
    apply(st, "u2", "W", RS_EV_PURCHASE, t + 4);
    rs_item_t *w = item(st, "W"), *z = item(st, "Z");
    ASSERT_EQ(w->weight, 2);
    ASSERT_EQ(rs_state_total_weight(st), 4);
    rs_rule_t r[4];
    ASSERT_EQ(rs_rules_for_item(st, w, NULL, r, 4), 1);
    ASSERT_EQ(r[0].item, z->idx);
    ASSERT_NEAR(r[0].count, 6.0, 1e-12);
    ASSERT_NEAR(r[0].support, 1.0, 1e-12);
    ASSERT_NEAR(r[0].confidence, 1.0, 1e-12);
    ASSERT_NEAR(r[0].lift, 2.0, 1e-12);
    apply(st, "u3", "W", RS_EV_VIEW, t + 5);
    ASSERT_EQ(rs_rules_for_item(st, w, NULL, r, 4), 1);
    ASSERT_NEAR(r[0].lift, 2.5, 1e-12);
    ASSERT_EQ(rs_rules_for_item(st, z, NULL, r, 4), 1);
    ASSERT_NEAR(r[0].support, 1.0, 1e-12);
    ASSERT_NEAR(r[0].lift, 5.0 / 3.0, 1e-12);
    rs_buf_t txt = {0};
    rs_rule_format(st, z, &r[0], &txt);
    ASSERT_STREQ(rs_buf_cstr(&txt),
                 "customers who interacted with Z also interacted with W: 100% (lift 1.7, "
                 "support 6)");
    rs_buf_free(&txt);
    rs_state_close(st);
    rmdir_r();
    rs_conf_destroy(conf);
}

/* Many neighbours through a small heap: the kept rules are the global best
 * in the documented order (compared against a full sort by hand). */
TEST(heap_matches_full_order) {
    rs_conf_t *conf = mkconf();
    char err[256];
    rs_state_t *st = NULL;
    ASSERT_OK(rs_state_open(&st, conf, err, sizeof(err)));
    int64_t t = 1700000000000;
    char u[16], it[16];
    /* user k views H then item Ik, k % 7 + 1 times over separate users,
     * so c(H, Ik) = k % 7 + 1 = n(Ik): all lifts equal, many confidence ties */
    int users = 0;
    for (int k = 0; k < 40; k++) {
        for (int rep = 0; rep < k % 7 + 1; rep++) {
            snprintf(u, sizeof(u), "u%d", users++);
            snprintf(it, sizeof(it), "I%d", k);
            apply(st, u, "H", RS_EV_VIEW, t += 1000);
            apply(st, u, it, RS_EV_VIEW, t += 1000);
        }
    }
    rs_item_t *h = item(st, "H");
    rs_rule_t all[64], top[5];
    rs_rules_opts_t o;
    rs_rules_opts_default(&o);
    o.min_count = 1;
    size_t n = rs_rules_for_item(st, h, &o, all, 64);
    ASSERT_EQ(n, 40);
    for (size_t i = 1; i < n; i++) {
        ASSERT(all[i - 1].confidence >= all[i].confidence);
        if (all[i - 1].confidence == all[i].confidence) {
            ASSERT(all[i - 1].lift >= all[i].lift);
            if (all[i - 1].lift == all[i].lift) ASSERT(all[i - 1].item < all[i].item);
        }
    }
    /* c = 7 for k = 6, 13, 20, 27, 34: confidence 7/n(H), n(Ik) = 7 */
    ASSERT_NEAR(all[0].count, 7, 1e-12);
    ASSERT_EQ(all[0].item, item(st, "I6")->idx);
    ASSERT_EQ(all[4].item, item(st, "I34")->idx);
    ASSERT_NEAR(all[5].count, 6, 1e-12);
    ASSERT_EQ(rs_rules_for_item(st, h, &o, top, 5), 5);
    for (int i = 0; i < 5; i++) ASSERT_EQ(top[i].item, all[i].item);
    rs_state_close(st);
    rmdir_r();
    rs_conf_destroy(conf);
}

int main(void) {
    return RUN_TESTS(t_exact_numbers, t_type_weights_and_caps, t_heap_matches_full_order);
}
