/* test_inspect.c -- the user/item views (JSON parsed back with jansson, exact
 * fields), not-found, the HTTP handler, percent coding, query options, and
 * `recstream inspect` end to end (--state and --url) when RS_BIN is set. */
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "recstream/rs_conf.h"
#include "recstream/rs_http.h"
#include "recstream/rs_inspect.h"
#include "recstream/rs_loop.h"
#include "recstream/rs_pipeline.h"
#include "recstream/rs_score.h"
#include "recstream/rs_state.h"
#include "rs_test.h"

extern char **environ;

static char g_dir[512];
static int64_t g_t0 = 1700000000000;

static rs_conf_t *mkconf(void) {
    char err[256];
    const char *t = getenv("TMPDIR");
    rs_conf_t *c = rs_conf_new();
    snprintf(g_dir, sizeof(g_dir), "%s/rs-test-inspect-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(g_dir)) abort();
    rs_conf_set(c, "state.dir", g_dir, "test", err, sizeof(err));
    /* pin what the hand-computed numbers assume */
    rs_conf_set(c, "rec.similarity", "cosine", "test", err, sizeof(err));
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

static int64_t g_ts;

static void apply_cat(rs_state_t *st, const char *user, const char *item, rs_evtype_t t,
                      double price, const char *category) {
    rs_event_t e = {0};
    int late;
    e.fields = RS_F_REQUIRED | (price > 0 ? RS_F_PRICE : 0) | (category ? RS_F_CATEGORY : 0);
    e.type = t;
    e.ts_ms = g_ts += 1000;
    e.event_id = rs_str("x", 1);
    e.user_id = rs_str(user, (uint32_t)strlen(user));
    e.item_id = rs_str(item, (uint32_t)strlen(item));
    e.price = price;
    if (category) e.category = rs_str(category, (uint32_t)strlen(category));
    rs_state_apply(st, &e, 0, &late);
}

static void apply(rs_state_t *st, const char *user, const char *item, rs_evtype_t t, double price) {
    apply_cat(st, user, item, t, price, NULL);
}

/* Views unless noted; n(X) = users X is new to; pairs weighted by position
 * (1 for the most recent partner, 1/2 for the one before):
 *   u1: A B   u2: A B   u3: A C   u4: B C   u5: A B C
 *   u6: A, A purchase (19.5)   u7: P purchase (5, category "toys")   u8: "red shoe", Q
 * c(A,B) = 3, c(A,C) = 1 + 1/2 = 1.5; n(A) = 5 (u6's purchase is a repeat),
 * n(B) = 4, n(C) = 3, N = 5 + 4 + 3 + 1 + 1 + 1 = 15.
 *   A -> B: support 3/15, confidence 3/5, lift 0.6 / (4/15) = 2.25
 *   A -> C: support 1.5/15, confidence 0.3, lift 0.3 / (3/15) = 1.5
 *           (below the default min_count of 2)
 * A: views 5, purchases 1 -> conversion 0.2; P: no views -> null.
 * A's first event is event 1, its last event 13 (u6's purchase); 16 events. */
static rs_state_t *build(rs_conf_t *conf) {
    char err[256];
    rs_state_t *st = NULL;
    if (rs_state_open(&st, conf, err, sizeof(err))) return NULL;
    g_ts = g_t0;
    const char *seq[5][3] = {
        {"A", "B", NULL}, {"A", "B", NULL}, {"A", "C", NULL}, {"B", "C", NULL}, {"A", "B", "C"}};
    char u[16];
    for (int i = 0; i < 5; i++) {
        snprintf(u, sizeof(u), "u%d", i + 1);
        for (int j = 0; j < 3 && seq[i][j]; j++) apply(st, u, seq[i][j], RS_EV_VIEW, 0);
    }
    apply(st, "u6", "A", RS_EV_VIEW, 0);
    apply(st, "u6", "A", RS_EV_PURCHASE, 19.5);
    apply_cat(st, "u7", "P", RS_EV_PURCHASE, 5, "toys");
    apply(st, "u8", "red shoe", RS_EV_VIEW, 0);
    apply(st, "u8", "Q", RS_EV_VIEW, 0);
    return st;
}

static json_t *parse(const rs_buf_t *b) {
    json_error_t je;
    json_t *j = json_loadb(b->p, b->len, 0, &je);
    if (!j) fprintf(stderr, "  json: %s: %.*s\n", je.text, (int)b->len, b->p);
    return j;
}

static json_int_t jint(json_t *o, const char *k) {
    return json_integer_value(json_object_get(o, k));
}
static double jnum(json_t *o, const char *k) {
    return json_number_value(json_object_get(o, k));
}
static const char *jstr(json_t *o, const char *k) {
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "(not a string)";
}

/* Checks the item document for A (also used for the CLI's output). */
static int check_item_a(json_t *j, rs_state_t *st) {
#define CHK(c)                                                                                     \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "  check failed: %s (line %d)\n", #c, __LINE__);                       \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)
    CHK(j && json_is_object(j));
    CHK(!strcmp(jstr(j, "item_id"), "A"));
    CHK(jint(j, "idx") == 0);
    CHK(json_is_null(json_object_get(j, "category")) && json_is_null(json_object_get(j, "brand")));
    CHK(jnum(j, "price") == 19.5); /* the newest event's price */
    CHK(json_is_null(json_object_get(j, "attributes")));
    CHK(json_is_false(json_object_get(j, "out_of_stock")));
    CHK(json_is_false(json_object_get(j, "blocked")) &&
        json_is_false(json_object_get(j, "deleted")));
    json_t *c = json_object_get(j, "counts");
    CHK(jint(c, "view") == 5 && jint(c, "purchase") == 1 && jint(c, "cart") == 0);
    CHK(json_object_size(c) == 8);
    CHK(jint(j, "events") == 6);
    CHK(fabs(jnum(j, "conversion_rate") - 0.2) < 1e-9);
    CHK(jint(j, "weight") == 5);
    CHK(jint(j, "total_weight") == 15);
    CHK(jint(j, "first_ts") == g_t0 + 1000);
    CHK(jint(j, "last_ts") == g_t0 + 13000);
    CHK(jint(j, "popularity_at") == g_t0 + 16000);
    CHK(jint(j, "cooc_entries") == 2);
    CHK(!strcmp(jstr(j, "similarity"), "cosine"));
    if (st) { /* the live numbers come from the state's own accessors */
        rs_item_t *a = rs_state_item_get(st, "A", 1);
        double pop = rs_state_item_popularity(st, a, rs_state_event_now(st));
        CHK(fabs(jnum(j, "popularity") - pop) <= 1e-8 * pop);
        uint32_t n = 0;
        const rs_nbr_t *top = rs_state_item_top(st, a, &n);
        CHK(n == 2);
        json_t *nb = json_object_get(j, "neighbors");
        CHK(json_array_size(nb) == 2);
        CHK(fabs(jnum(json_array_get(nb, 0), "similarity") - top[0].sim) < 1e-6);
        CHK(fabs(jnum(json_array_get(nb, 1), "similarity") - top[1].sim) < 1e-6);
    }
    json_t *nb = json_object_get(j, "neighbors");
    CHK(json_array_size(nb) == 2);
    CHK(!strcmp(jstr(json_array_get(nb, 0), "item_id"), "B"));
    CHK(jnum(json_array_get(nb, 0), "count") == 3.0);
    CHK(!strcmp(jstr(json_array_get(nb, 1), "item_id"), "C"));
    CHK(jnum(json_array_get(nb, 1), "count") == 1.5);
    json_t *r = json_object_get(j, "rules");
    CHK(json_array_size(r) == 1);
    json_t *r0 = json_array_get(r, 0);
    CHK(!strcmp(jstr(r0, "item_id"), "B") && jnum(r0, "count") == 3.0);
    CHK(fabs(jnum(r0, "support") - 0.2) < 1e-8);
    CHK(fabs(jnum(r0, "confidence") - 0.6) < 1e-8);
    CHK(fabs(jnum(r0, "lift") - 2.25) < 1e-8);
    CHK(!strcmp(jstr(r0, "text"), "customers who interacted with A also interacted with B: "
                                  "60% (lift 2.2, support 3)"));
    return 0;
}

TEST(item_json) {
    rs_conf_t *conf = mkconf();
    rs_state_t *st = build(conf);
    ASSERT(st != NULL);
    rs_buf_t b = {0};
    ASSERT_OK(rs_inspect_item(st, conf, "A", 1, NULL, &b));
    json_t *j = parse(&b);
    ASSERT_OK(check_item_a(j, st));
    json_decref(j);

    /* P: purchased, never viewed -> conversion null; no pairs */
    rs_buf_reset(&b);
    ASSERT_OK(rs_inspect_item(st, conf, "P", 1, NULL, &b));
    j = parse(&b);
    ASSERT(j != NULL);
    ASSERT(json_is_null(json_object_get(j, "conversion_rate")));
    ASSERT_EQ(jint(j, "weight"), 1);
    ASSERT_STREQ(jstr(j, "category"), "toys");
    ASSERT_NEAR(jnum(j, "price"), 5.0, 0);
    ASSERT_EQ(json_array_size(json_object_get(j, "neighbors")), 0);
    ASSERT_EQ(json_array_size(json_object_get(j, "rules")), 0);
    json_decref(j);

    /* options: one neighbour; min_count 1 lets A -> C in */
    rs_inspect_opts_t o;
    rs_inspect_opts_default(&o);
    ASSERT_OK(rs_inspect_opts_query(&o, "neighbors=1&rules=5&min_count=1"));
    rs_buf_reset(&b);
    ASSERT_OK(rs_inspect_item(st, conf, "A", 1, &o, &b));
    j = parse(&b);
    ASSERT_EQ(json_array_size(json_object_get(j, "neighbors")), 1);
    json_t *r = json_object_get(j, "rules");
    ASSERT_EQ(json_array_size(r), 2);
    json_t *r1 = json_array_get(r, 1);
    ASSERT_STREQ(jstr(r1, "item_id"), "C");
    ASSERT_NEAR(jnum(r1, "count"), 1.5, 1e-12);
    ASSERT_NEAR(jnum(r1, "support"), 0.1, 1e-8);
    ASSERT_NEAR(jnum(r1, "confidence"), 0.3, 1e-8);
    ASSERT_NEAR(jnum(r1, "lift"), 1.5, 1e-8);
    ASSERT_STREQ(jstr(r1, "text"), "customers who interacted with A also interacted with C: 30% "
                                   "(lift 1.5, support 1.5)");
    json_decref(j);

    /* unknown: RS_ENOTFOUND, nothing appended */
    rs_buf_reset(&b);
    ASSERT_EQ(rs_inspect_item(st, conf, "nope", 4, NULL, &b), RS_ENOTFOUND);
    ASSERT_EQ(b.len, 0);

    /* text */
    o.fmt = RS_INSPECT_TEXT;
    ASSERT_OK(rs_inspect_item(st, conf, "A", 1, &o, &b));
    const char *txt = rs_buf_cstr(&b);
    ASSERT(strstr(txt, "item A (idx 0)\n") != NULL);
    ASSERT(strstr(txt, "  conversion  20.00% (1 purchases / 5 views)\n") != NULL);
    ASSERT(strstr(txt, "  weight      5 of 15\n") != NULL);
    ASSERT(strstr(txt, "  catalog     price 19.50\n") != NULL);
    ASSERT(strstr(txt, "   1. B  sim ") != NULL);
    ASSERT(strstr(txt, "count 3\n") != NULL);
    ASSERT(strstr(txt, "  customers who interacted with A also interacted with C: 30% (lift 1.5, "
                       "support 1.5)\n") != NULL);
    rs_buf_free(&b);
    rs_state_close(st);
    rmdir_r();
    rs_conf_destroy(conf);
}

TEST(user_json) {
    rs_conf_t *conf = mkconf();
    rs_state_t *st = build(conf);
    ASSERT(st != NULL);
    rs_buf_t b = {0};
    ASSERT_OK(rs_inspect_user(st, conf, NULL, "u6", 2, NULL, &b));
    json_t *j = parse(&b);
    ASSERT(j != NULL);
    ASSERT_STREQ(jstr(j, "user_id"), "u6");
    json_t *c = json_object_get(j, "counts");
    ASSERT_EQ(json_object_size(c), 8);
    ASSERT_EQ(jint(c, "view"), 1);
    ASSERT_EQ(jint(c, "purchase"), 1);
    ASSERT_EQ(jint(j, "events"), 2);
    ASSERT_EQ(jint(j, "first_ts"), g_t0 + 12000);
    ASSERT_EQ(jint(j, "last_ts"), g_t0 + 13000);
    ASSERT_EQ(jint(j, "sessions"), 1);
    ASSERT_EQ(jint(j, "purchases"), 1);
    ASSERT_NEAR(jnum(j, "monetary"), 19.5, 1e-9);
    ASSERT_EQ(jint(j, "rec_version"), 0);
    ASSERT_EQ(jint(j, "k"), conf->rec_k);
    rs_user_t *u = rs_state_user_get(st, "u6", 2);
    json_t *rec = json_object_get(j, "recent");
    ASSERT_EQ(json_array_size(rec), u->n_recent);
    ASSERT_EQ(json_array_size(rec), 1);
    ASSERT_STREQ(jstr(json_array_get(rec, 0), "item_id"), "A");
    ASSERT_STREQ(jstr(json_array_get(rec, 0), "type"),
                 rs_evtype_name((rs_evtype_t)u->recent[0].type));
    ASSERT_EQ(jint(json_array_get(rec, 0), "ts"), u->recent[0].ts);
    json_t *pur = json_object_get(j, "purchased");
    ASSERT_EQ(json_array_size(pur), 1);
    ASSERT_STREQ(json_string_value(json_array_get(pur, 0)), "A");

    /* the list is what the engine's scorer gives now, with the pipeline's reasons */
    rs_scorer_t *sc = rs_scorer_new(conf);
    rs_scored_t want[64];
    const char *strategy = NULL;
    size_t n = rs_score_user(sc, st, u, want, (size_t)conf->rec_k, &strategy);
    rs_scorer_destroy(sc);
    ASSERT_STREQ(jstr(j, "strategy"), strategy);
    json_t *recs = json_object_get(j, "recommendations");
    ASSERT_EQ(json_array_size(recs), n);
    ASSERT(n >= 2);
    char reason[256];
    for (size_t i = 0; i < n; i++) {
        json_t *r = json_array_get(recs, i);
        rs_item_t *it = rs_state_item_by_idx(st, want[i].item);
        ASSERT_STREQ(jstr(r, "item_id"), it->id);
        ASSERT_NEAR(jnum(r, "score"), want[i].score, 1e-6);
        rs_pipeline_reason(st, want[i].because, want[i].because_type, reason, sizeof(reason));
        ASSERT_STREQ(jstr(r, "reason"), reason);
    }
    /* B is A's best neighbour, explained by A */
    ASSERT_STREQ(jstr(json_array_get(recs, 0), "item_id"), "B");
    ASSERT(strstr(jstr(json_array_get(recs, 0), "reason"), "A") != NULL);
    json_decref(j);

    rs_buf_reset(&b);
    ASSERT_EQ(rs_inspect_user(st, conf, NULL, "nobody", 6, NULL, &b), RS_ENOTFOUND);
    ASSERT_EQ(b.len, 0);

    rs_inspect_opts_t o;
    rs_inspect_opts_default(&o);
    o.fmt = RS_INSPECT_TEXT;
    ASSERT_OK(rs_inspect_user(st, conf, NULL, "u6", 2, &o, &b));
    const char *txt = rs_buf_cstr(&b);
    ASSERT(strstr(txt, "user u6\n  events     2 (view 1, purchase 1)\n") != NULL);
    ASSERT(strstr(txt, "  purchases  1 (monetary 19.50)\n") != NULL);
    ASSERT(strstr(txt, "  purchased  A\n") != NULL);
    ASSERT(strstr(txt, "   1. B  ") != NULL);
    rs_buf_free(&b);
    rs_state_close(st);
    rmdir_r();
    rs_conf_destroy(conf);
}

TEST(pct_and_query) {
    rs_buf_t b = {0};
    ASSERT_OK(rs_inspect_pct_decode("red%20shoe%2Fx+y", 16, &b));
    ASSERT_STREQ(rs_buf_cstr(&b), "red shoe/x+y");
    rs_buf_reset(&b);
    ASSERT_EQ(rs_inspect_pct_decode("a%2", 3, &b), RS_EARG);
    rs_buf_reset(&b);
    ASSERT_EQ(rs_inspect_pct_decode("a%zz", 4, &b), RS_EARG);
    rs_buf_reset(&b);
    const char raw[] = "a b/\xc3\xa9~_.-Z9%";
    rs_inspect_pct_encode(raw, strlen(raw), &b);
    ASSERT_STREQ(rs_buf_cstr(&b), "a%20b%2F%C3%A9~_.-Z9%25");
    rs_buf_t d = {0};
    ASSERT_OK(rs_inspect_pct_decode(b.p, b.len, &d));
    ASSERT_STREQ(rs_buf_cstr(&d), raw);
    rs_buf_free(&b);
    rs_buf_free(&d);

    rs_inspect_opts_t o;
    rs_inspect_opts_default(&o);
    ASSERT_EQ(o.max_rules, 10);
    ASSERT_EQ(o.rules.min_count, 2);
    ASSERT_OK(rs_inspect_opts_query(&o, "rules=3&min_count=1.5&min_confidence=0.25&junk=1&x"));
    ASSERT_EQ(o.max_rules, 3);
    ASSERT_NEAR(o.rules.min_count, 1.5, 1e-12);
    ASSERT_NEAR(o.rules.min_confidence, 0.25, 1e-12);
    ASSERT_OK(rs_inspect_opts_query(&o, ""));
    ASSERT_OK(rs_inspect_opts_query(&o, NULL));
    ASSERT_EQ(rs_inspect_opts_query(&o, "rules=x"), RS_EARG);
    ASSERT_EQ(rs_inspect_opts_query(&o, "min_lift=-1"), RS_EARG);
    ASSERT_EQ(rs_inspect_opts_query(&o, "neighbors="), RS_EARG);
}

TEST(http_handler) {
    rs_conf_t *conf = mkconf();
    rs_state_t *st = build(conf);
    ASSERT(st != NULL);
    rs_http_resp_t r = {0};
    rs_inspect_http(st, conf, NULL, RS_INSPECT_ITEM, "A", "", &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_STREQ(r.content_type, "application/json");
    json_t *j = parse(&r.body);
    ASSERT_OK(check_item_a(j, st));
    json_decref(j);
    rs_buf_free(&r.body);

    memset(&r, 0, sizeof(r));
    rs_inspect_http(st, conf, NULL, RS_INSPECT_ITEM, "red%20shoe", "rules=1", &r);
    ASSERT_EQ(r.status, 200);
    j = parse(&r.body);
    ASSERT_STREQ(jstr(j, "item_id"), "red shoe");
    json_decref(j);
    rs_buf_free(&r.body);

    memset(&r, 0, sizeof(r));
    rs_inspect_http(st, conf, NULL, RS_INSPECT_USER, "u%31", NULL, &r);
    ASSERT_EQ(r.status, 200);
    j = parse(&r.body);
    ASSERT_STREQ(jstr(j, "user_id"), "u1");
    json_decref(j);
    rs_buf_free(&r.body);

    memset(&r, 0, sizeof(r));
    rs_inspect_http(st, conf, NULL, RS_INSPECT_USER, "ghost", "", &r);
    ASSERT_EQ(r.status, 404);
    ASSERT_STREQ(rs_buf_cstr(&r.body), "{\"error\":\"unknown user\",\"user_id\":\"ghost\"}\n");
    rs_buf_free(&r.body);

    memset(&r, 0, sizeof(r));
    rs_inspect_http(st, conf, NULL, RS_INSPECT_ITEM, "", "", &r);
    ASSERT_EQ(r.status, 400);
    rs_buf_free(&r.body);
    memset(&r, 0, sizeof(r));
    rs_inspect_http(st, conf, NULL, RS_INSPECT_ITEM, "%G0", "", &r);
    ASSERT_EQ(r.status, 400);
    rs_buf_free(&r.body);
    memset(&r, 0, sizeof(r));
    rs_inspect_http(st, conf, NULL, RS_INSPECT_ITEM, "A", "rules=many", &r);
    ASSERT_EQ(r.status, 400);
    rs_buf_free(&r.body);

    /* /v1/: one part of the view each */
    memset(&r, 0, sizeof(r));
    rs_inspect_http_v1(st, conf, NULL, "users/u%31/recommendations", "", &r);
    ASSERT_EQ(r.status, 200);
    j = parse(&r.body);
    ASSERT_STREQ(jstr(j, "user_id"), "u1");
    ASSERT(json_is_array(json_object_get(j, "recommendations")));
    ASSERT(json_object_get(j, "k") != NULL);
    ASSERT(json_object_get(j, "profile") == NULL);
    ASSERT_EQ(json_object_size(j), 5);
    json_decref(j);
    rs_buf_free(&r.body);
    memset(&r, 0, sizeof(r));
    rs_inspect_http_v1(st, conf, NULL, "users/u1/profile", "", &r);
    ASSERT_EQ(r.status, 200);
    j = parse(&r.body);
    ASSERT(json_object_get(j, "profile") != NULL);
    ASSERT(json_object_get(j, "segments") != NULL);
    ASSERT(json_object_get(j, "alerts") != NULL);
    ASSERT(json_object_get(j, "recommendations") == NULL);
    json_decref(j);
    rs_buf_free(&r.body);
    memset(&r, 0, sizeof(r));
    rs_inspect_http_v1(st, conf, NULL, "items/A/similar", "neighbors=1", &r);
    ASSERT_EQ(r.status, 200);
    j = parse(&r.body);
    ASSERT_STREQ(jstr(j, "item_id"), "A");
    ASSERT_EQ(json_array_size(json_object_get(j, "neighbors")), 1);
    ASSERT_EQ(json_object_size(j), 3);
    json_decref(j);
    rs_buf_free(&r.body);
    const char *bad[] = {"users/u1", "users/u1/else", "items/A/b/similar", "users//profile",
                         "things/A/similar"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&r, 0, sizeof(r));
        rs_inspect_http_v1(st, conf, NULL, bad[i], "", &r);
        ASSERT_EQ(r.status, strcmp(bad[i], "users//profile") ? 404 : 400);
        rs_buf_free(&r.body);
    }
    memset(&r, 0, sizeof(r));
    rs_inspect_http_v1(st, conf, NULL, "users/ghost/profile", "", &r);
    ASSERT_EQ(r.status, 404);
    ASSERT_STREQ(rs_buf_cstr(&r.body), "{\"error\":\"unknown user\",\"user_id\":\"ghost\"}\n");
    rs_buf_free(&r.body);
    rs_state_close(st);
    rmdir_r();
    rs_conf_destroy(conf);
}

/* ---- the CLI (RS_BIN) ---- */

typedef struct child {
    pid_t pid;
    int status, done;
    rs_loop_t *loop;
    int64_t deadline_ms;
} child_t;

/* Runs argv with stdout to out_path (stderr to /dev/null); returns pid. */
static pid_t spawn(char *const argv[], const char *out_path) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid = -1;
    if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ)) pid = -1;
    posix_spawn_file_actions_destroy(&fa);
    return pid;
}

static void poll_child(void *o) {
    child_t *c = o;
    if (!c->done && waitpid(c->pid, &c->status, WNOHANG) == c->pid) c->done = 1;
    if (!c->done && rs_now_ms() > c->deadline_ms) { /* never hang the suite */
        kill(c->pid, SIGKILL);
        waitpid(c->pid, &c->status, 0);
        c->done = 1;
    }
    if (c->done && c->loop) rs_loop_stop(c->loop);
}

/* Runs the CLI to completion (driving `loop` meanwhile if given); returns
 * its exit code and reads its stdout into out. */
static int run_cli(char *const argv[], rs_loop_t *loop, rs_buf_t *out) {
    char path[600];
    snprintf(path, sizeof(path), "%s.out", g_dir);
    child_t c = {.pid = spawn(argv, path), .loop = loop, .deadline_ms = rs_now_ms() + 30000};
    if (c.pid < 0) return -1;
    if (loop) {
        rs_timer_t *t = rs_timer_start(loop, 2, 2, poll_child, &c);
        while (!c.done) rs_loop_run(loop);
        rs_timer_close(t);
        rs_loop_run_nowait(loop);
    } else {
        waitpid(c.pid, &c.status, 0);
    }
    rs_buf_reset(out);
    FILE *f = fopen(path, "r");
    if (f) {
        char buf[4096];
        size_t n;
        while ((n = fread(buf, 1, sizeof(buf), f)) > 0) rs_buf_append(out, buf, n);
        fclose(f);
    }
    unlink(path);
    return WIFEXITED(c.status) ? WEXITSTATUS(c.status) : -1;
}

TEST(cli_state) {
    const char *bin = getenv("RS_BIN");
    if (!bin || !*bin) {
        fprintf(stderr, "  RS_BIN unset: skipped\n");
        return;
    }
    rs_conf_t *conf = mkconf();
    rs_state_t *st = build(conf);
    char err[256];
    ASSERT(st != NULL);
    ASSERT_OK(rs_state_commit(st, err, sizeof(err)));
    rs_state_close(st);
    rs_buf_t out = {0};
    char *a1[] = {(char *)bin, "inspect", "--state",
                  g_dir,       "--item",  "A",
                  "--json",    "-X",      "rec.similarity=cosine",
                  NULL};
    ASSERT_EQ(run_cli(a1, NULL, &out), 0);
    json_t *j = parse(&out);
    ASSERT_OK(check_item_a(j, NULL));
    json_decref(j);
    char *a2[] = {(char *)bin, "inspect", "--state", g_dir, "--user", "u6", NULL};
    ASSERT_EQ(run_cli(a2, NULL, &out), 0);
    ASSERT(strstr(rs_buf_cstr(&out), "user u6\n") != NULL);
    char *a3[] = {(char *)bin, "inspect", "--state", g_dir, "--item", "nope", NULL};
    ASSERT_EQ(run_cli(a3, NULL, &out), 1);
    ASSERT_EQ(out.len, 0);
    char *a4[] = {(char *)bin, "inspect", "--state", g_dir, NULL};
    ASSERT_EQ(run_cli(a4, NULL, &out), 2);
    char *a5[] = {(char *)bin, "inspect", "--help", NULL};
    ASSERT_EQ(run_cli(a5, NULL, &out), 0);
    ASSERT(strstr(rs_buf_cstr(&out), "usage: recstream inspect") != NULL);
    rs_buf_free(&out);
    rmdir_r();
    rs_conf_destroy(conf);
}

typedef struct srv_ctx {
    rs_state_t *st;
    const rs_conf_t *conf;
} srv_ctx_t;

/* The same calls as the daemon's /users/ and /items/ handlers. */
static void h_users(void *o, const char *path, const char *query, rs_http_resp_t *r) {
    srv_ctx_t *c = o;
    rs_inspect_http(c->st, c->conf, NULL, RS_INSPECT_USER, path + 7, query, r);
}
static void h_items(void *o, const char *path, const char *query, rs_http_resp_t *r) {
    srv_ctx_t *c = o;
    rs_inspect_http(c->st, c->conf, NULL, RS_INSPECT_ITEM, path + 7, query, r);
}

TEST(cli_url) {
    const char *bin = getenv("RS_BIN");
    if (!bin || !*bin) {
        fprintf(stderr, "  RS_BIN unset: skipped\n");
        return;
    }
    rs_conf_t *conf = mkconf();
    rs_state_t *st = build(conf);
    ASSERT(st != NULL);
    char err[256];
    rs_loop_t *loop = NULL;
    rs_http_t *h = NULL;
    ASSERT_OK(rs_loop_new(&loop, err, sizeof(err)));
    ASSERT_OK(rs_http_new(&h, loop, "127.0.0.1", 0, err, sizeof(err)));
    srv_ctx_t ctx = {st, conf};
    rs_http_route(h, "/users/", h_users, &ctx);
    rs_http_route(h, "/items/", h_items, &ctx);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", rs_http_port(h));
    rs_buf_t out = {0};
    char *a1[] = {(char *)bin, "inspect", "--url", url, "--item", "A", NULL};
    ASSERT_EQ(run_cli(a1, loop, &out), 0);
    json_t *j = parse(&out);
    ASSERT_OK(check_item_a(j, st));
    json_decref(j);
    /* an id that needs encoding, and options passed as a query */
    char *a2[] = {(char *)bin, "inspect", "--url", url, "--item", "red shoe", "--rules", "0", NULL};
    ASSERT_EQ(run_cli(a2, loop, &out), 0);
    j = parse(&out);
    ASSERT_STREQ(jstr(j, "item_id"), "red shoe");
    ASSERT_EQ(json_array_size(json_object_get(j, "rules")), 0);
    json_decref(j);
    char *a3[] = {(char *)bin, "inspect", "--url", url, "--user", "u6", NULL};
    ASSERT_EQ(run_cli(a3, loop, &out), 0);
    j = parse(&out);
    ASSERT_STREQ(jstr(j, "user_id"), "u6");
    json_decref(j);
    char *a4[] = {(char *)bin, "inspect", "--url", url, "--user", "ghost", NULL};
    ASSERT_EQ(run_cli(a4, loop, &out), 1);
    /* nothing listening: a clean failure, not a hang */
    rs_http_destroy(h);
    h = NULL;
    char *a5[] = {(char *)bin, "inspect",      "--url", url, "--user",
                  "u6",        "--timeout-ms", "2000",  NULL};
    ASSERT_EQ(run_cli(a5, loop, &out), 1);
    rs_buf_free(&out);
    rs_loop_destroy(loop);
    rs_state_close(st);
    rmdir_r();
    rs_conf_destroy(conf);
}

int main(void) {
    return RUN_TESTS(t_item_json, t_user_json, t_pct_and_query, t_http_handler, t_cli_state,
                     t_cli_url);
}
