/* test_truth.c -- `recstream score`'s library (rs_truth): exact ARI, alert
 * matching at the window edges, rate_burst attribution, merged episodes,
 * last segment per user, missing/extra/malformed lines, the report, the
 * bounds, and the generator's own truth file read back with a perfect
 * detector. The CLI part needs RS_BIN and a binary that knows `score`. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "recstream/rs_gen.h"
#include "recstream/rs_truth.h"
#include "rs_test.h"

static char err[512];

/* A scratch file name under $TMPDIR (default /tmp), unique per process. */
static const char *tmp_path(char *buf, size_t size, const char *tag) {
    const char *d = getenv("TMPDIR");
    snprintf(buf, size, "%s/test_truth_%s_%d.jsonl", d && *d ? d : "/tmp", tag, (int)getpid());
    return buf;
}

static rs_truth_t *mk(int64_t gap) {
    rs_truth_opts_t o;
    rs_truth_opts_default(&o);
    o.gap_ms = gap;
    rs_truth_t *t = NULL;
    rs_truth_new(&t, &o, err, sizeof(err));
    return t;
}

/* Feeds lines separated by '\n'; truth first when emitted != 0 is false. */
static int feed(rs_truth_t *t, int emitted, const char *text) {
    const char *p = text;
    while (*p) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        int rc = emitted ? rs_truth_add_emitted_line(t, p, n, err, sizeof(err))
                         : rs_truth_add_truth_line(t, p, n, err, sizeof(err));
        if (rc) return rc;
        p += n + (e != NULL);
    }
    return 0;
}

#define ALERT(rule, subj, ts)                                                                      \
    "{\"kind\":\"alert\",\"id\":\"0123456789abcdef\",\"rule\":\"" rule "\"," subj                  \
    ",\"score\":3,\"ts_ms\":" #ts ",\"episode_start\":" #ts ",\"evidence\":{\"views\":3}}\n"
#define U(x) "\"user_id\":\"" x "\""
#define I(x) "\"item_id\":\"" x "\""

/* ---- ARI ---- */

TEST(ari_exact) {
    uint64_t same[] = {3, 0, 0, 0, 4, 0, 0, 0, 5}; /* identical partitions */
    ASSERT_NEAR(rs_truth_ari(same, 3, 3), 1.0, 0);
    uint64_t perm[] = {0, 7, 9, 0}; /* the same up to names */
    ASSERT_NEAR(rs_truth_ari(perm, 2, 2), 1.0, 0);
    /* scikit-learn's documented examples (adjusted_rand_score):
     * [0,0,1,1] vs [0,0,1,2] = 4/7; [0,0,1,1] vs [0,1,0,1] = -1/2;
     * [0,0,0,0] vs [0,1,2,3] = 0 */
    uint64_t ex1[] = {2, 0, 0, 0, 1, 1};
    ASSERT_NEAR(rs_truth_ari(ex1, 2, 3), 4.0 / 7.0, 1e-15);
    uint64_t ex2[] = {1, 1, 1, 1};
    ASSERT_NEAR(rs_truth_ari(ex2, 2, 2), -0.5, 1e-15);
    uint64_t ex3[] = {1, 1, 1, 1};
    ASSERT_NEAR(rs_truth_ari(ex3, 1, 4), 0.0, 0);
    /* By hand (exact rationals): [[1,1,0],[1,2,1],[0,0,4]] = 266/851; the
     * table of rs_truth's own segment test: [[2,0],[1,2]] = 1/6. */
    uint64_t h[] = {1, 1, 0, 1, 2, 1, 0, 0, 4};
    ASSERT_NEAR(rs_truth_ari(h, 3, 3), 266.0 / 851.0, 1e-15);
    uint64_t h2[] = {2, 0, 1, 2};
    ASSERT_NEAR(rs_truth_ari(h2, 2, 2), 1.0 / 6.0, 1e-15);
    /* Degenerate: < 2 items undefined; both trivial the same way = 1. */
    uint64_t one[] = {1, 0};
    ASSERT(isnan(rs_truth_ari(one, 1, 2)));
    ASSERT(isnan(rs_truth_ari(one, 0, 0)));
    uint64_t block[] = {5};
    ASSERT_NEAR(rs_truth_ari(block, 1, 1), 1.0, 0);
    uint64_t single[] = {1, 0, 0, 1};
    ASSERT_NEAR(rs_truth_ari(single, 2, 2), 1.0, 0);
    /* Millions of users: products beyond 2^64 stay exact. */
    uint64_t big[] = {4000000, 1, 2, 3000000};
    double expect = 0.999998285001236; /* exact rational, rounded (Python fractions) */
    ASSERT_NEAR(rs_truth_ari(big, 2, 2), expect, 1e-15);
}

/* Pair counting by brute force (Rand's definition) against the formula. */
TEST(ari_brute_force) {
    uint64_t s = rs_test_seed();
    for (int round = 0; round < 20; round++) {
        enum { N = 60 };
        int x[N], y[N];
        uint64_t tab[4 * 3] = {0};
        for (int i = 0; i < N; i++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            x[i] = (int)(s >> 33) % 4;
            y[i] = (round % 2 && (s >> 20) % 3) ? x[i] % 3 : (int)(s >> 40) % 3;
            tab[x[i] * 3 + y[i]]++;
        }
        double tp = 0, fp = 0, fn = 0, tn = 0;
        for (int i = 0; i < N; i++)
            for (int j = i + 1; j < N; j++) {
                int a = x[i] == x[j], b = y[i] == y[j];
                tp += a && b, fp += a && !b, fn += !a && b, tn += !a && !b;
            }
        double ari = 2 * (tp * tn - fn * fp) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn));
        ASSERT_NEAR(rs_truth_ari(tab, 4, 3), ari, 1e-12);
    }
}

/* ---- alerts ---- */

static const char *truth_text =
    "{\"kind\":\"user\",\"user_id\":\"u1\",\"group\":\"regular\",\"night_owl\":false}\n"
    "{\"kind\":\"user\",\"user_id\":\"u2\",\"group\":\"bargain\"}\n"
    "{\"kind\":\"user\",\"user_id\":\"u4\",\"group\":\"regular\"}\n"
    "{\"kind\":\"user\",\"user_id\":\"u3\",\"group\":\"bot\"}\n"
    "{\"kind\":\"pair\",\"item_a\":\"i1\",\"item_b\":\"i2\"}\n"
    "{\"kind\":\"anomaly\",\"type\":\"bot\",\"user_id\":\"u3\",\"start_ts\":1000,\"end_ts\":2000,"
    "\"events\":40}\n"
    "{\"kind\":\"anomaly\",\"type\":\"card_testing\",\"user_id\":\"u1\",\"start_ts\":10000,"
    "\"end_ts\":20000,\"events\":12}\n"
    "{\"kind\":\"anomaly\",\"type\":\"big_purchase\",\"user_id\":\"u2\",\"item_id\":\"i9\","
    "\"price\":900.00,\"usual_price\":20.00,\"start_ts\":50000,\"end_ts\":50000,\"events\":3}\n"
    "{\"kind\":\"anomaly\",\"type\":\"item_spike\",\"item_id\":\"i5\",\"start_ts\":100000,"
    "\"end_ts\":200000,\"events\":500}\n";

/* Episodes the end of the stream cut short count for recall only when
 * detected; a wrong "complete" is a decode error. */
TEST(cut_episodes) {
    rs_truth_t *t = mk(1000);
    ASSERT_OK(
        feed(t, 0,
             "{\"kind\":\"anomaly\",\"type\":\"card_testing\",\"user_id\":\"u1\",\"start_ts\":100,"
             "\"end_ts\":200,\"events\":9}\n"
             "{\"kind\":\"anomaly\",\"type\":\"card_testing\",\"user_id\":\"u2\",\"start_ts\":100,"
             "\"end_ts\":200,\"events\":9,\"complete\":false}\n"
             "{\"kind\":\"anomaly\",\"type\":\"card_testing\",\"user_id\":\"u3\",\"start_ts\":100,"
             "\"end_ts\":200,\"events\":2,\"complete\":false}\n"
             "{\"kind\":\"anomaly\",\"type\":\"card_testing\",\"user_id\":\"u4\",\"start_ts\":100,"
             "\"end_ts\":200,\"events\":12,\"complete\":true}\n"));
    ASSERT_OK(feed(t, 1, ALERT("card_testing", U("u2"), 150) ALERT("card_testing", U("u4"), 150)));
    rs_truth_rule_stats_t r;
    ASSERT(rs_truth_rule_find(t, "card_testing", &r));
    ASSERT_EQ(r.episodes, 3); /* u1, u2 (cut but detected), u4; not u3 */
    ASSERT_EQ(r.detected, 2);
    ASSERT_EQ(r.cut, 1);
    ASSERT_NEAR(r.recall, 2.0 / 3, 1e-15);
    rs_buf_t out = {0};
    rs_truth_report(t, 1, &out);
    ASSERT(strstr(rs_buf_cstr(&out), "\"detected\":2,\"merged\":0,\"cut\":1,") != NULL);
    rs_buf_reset(&out);
    rs_truth_report(t, 0, &out);
    ASSERT(strstr(rs_buf_cstr(&out), "(1 cut by the end, not counted)") != NULL);
    rs_buf_free(&out);
    rs_truth_destroy(t);
    t = mk(1000);
    const char *bad = "{\"kind\":\"anomaly\",\"type\":\"bot\",\"user_id\":\"u1\",\"start_ts\":1,"
                      "\"end_ts\":2,\"events\":2,\"complete\":\"no\"}";
    ASSERT_EQ(rs_truth_add_truth_line(t, bad, strlen(bad), err, sizeof(err)),
              RS_EDECODE); /* the file's buffer */
    ASSERT(strstr(err, "complete") != NULL);
    rs_truth_destroy(t);
}

TEST(matching) {
    rs_truth_t *t = mk(1000);
    ASSERT(t != NULL);
    ASSERT_OK(feed(t, 0, truth_text));
    ASSERT_OK(feed(
        t, 1,
        ALERT("bot", U("u3"), 1000) /* start edge: match */
        ALERT("bot", U("u3"), 3000) /* end + gap edge: match */
        ALERT("bot", U("u3"), 3001) /* 1 ms past: no */
        ALERT("bot", U("u3"), 999)  /* 1 ms before: no */
        ALERT("bot", U("u1"), 1500) /* wrong user: no */
        ALERT("card_testing", U("u1"), 15000) ALERT("card_testing", U("u2"), 15000) /* wrong user */
        ALERT("big_purchase", U("u2") "," I("i9"), 50000) ALERT("item_spike", I("i5"), 150000)
            ALERT("item_spike", I("i6"), 150000) /* wrong item */
        ALERT("item_spike", I("i5"), 201001)     /* past the gap */
        ALERT("rate_burst", U("u3"), 1500)       /* during the bot episode */
        ALERT("rate_burst", U("u1"), 21000)      /* card end + gap */
        ALERT("rate_burst", U("u1"), 21001)      /* past it */
        ALERT("rate_burst", U("u4"), 5000)       /* no episode at all */
        ALERT("rate_burst", U("u9"), 5000)));    /* not in the truth */
    rs_truth_rule_stats_t r;
    ASSERT(rs_truth_rule_find(t, "bot", &r));
    ASSERT_EQ(r.alerts, 5);
    ASSERT_EQ(r.matched, 2);
    ASSERT_NEAR(r.precision, 0.4, 1e-15);
    ASSERT_EQ(r.episodes, 1);
    ASSERT_EQ(r.detected, 1);
    ASSERT_NEAR(r.recall, 1.0, 0);
    ASSERT_EQ(r.n_examples, 3); /* the first 3 unmatched ones */
    ASSERT(strstr(rs_truth_example(t, 1, 0), "\"ts_ms\":3001") != NULL);
    ASSERT(rs_truth_example(t, 1, 3) == NULL);
    ASSERT(rs_truth_rule_find(t, "card_testing", &r));
    ASSERT_EQ(r.alerts, 2);
    ASSERT_EQ(r.matched, 1);
    ASSERT_EQ(r.detected, 1);
    ASSERT(rs_truth_rule_find(t, "big_purchase", &r));
    ASSERT_EQ(r.alerts, 1);
    ASSERT_EQ(r.matched, 1);
    ASSERT_NEAR(r.recall, 1.0, 0);
    ASSERT(rs_truth_rule_find(t, "item_spike", &r));
    ASSERT_EQ(r.alerts, 3);
    ASSERT_EQ(r.matched, 1);
    ASSERT_EQ(r.episodes, 1);
    ASSERT_EQ(r.detected, 1);
    ASSERT(rs_truth_rule_find(t, "rate_burst", &r));
    ASSERT_EQ(r.alerts, 5);
    ASSERT_EQ(r.matched, 2);
    ASSERT_EQ(r.has_kind, 0);
    ASSERT(isnan(r.recall));
    rs_truth_summary_t s;
    rs_truth_summary(t, &s);
    ASSERT_EQ(s.alerts, 16);
    ASSERT_EQ(s.lines_alert, 16);
    ASSERT_EQ(s.alerted_users, 5); /* u1 u2 u3 u4 u9 */
    ASSERT_EQ(s.users, 4);         /* truth users */
    ASSERT_EQ(s.fp_alerts, 2);     /* u4, u9 */
    ASSERT_EQ(s.fp_users, 2);
    ASSERT_EQ(s.truth_episodes, 4);
    ASSERT_EQ(s.truth_pairs, 1);
    rs_buf_t out = {0};
    rs_truth_report(t, 0, &out);
    const char *txt = rs_buf_cstr(&out);
    ASSERT(strstr(txt,
                  "\nrate_burst            5        2    0.4000        -        -         -\n"
                  "bot                   5        2    0.4000        1        1    1.0000\n") !=
           NULL);
    ASSERT(strstr(txt, "alerted users: 5 of 4 truth users (125.000%)\n"
                       "alerts on users in no planted episode: 2 on 2 users\n"
                       "unmatched alerts (first 3 per rule):\n  rate_burst    {") != NULL);
    rs_buf_reset(&out);
    rs_truth_report(t, 1, &out);
    ASSERT(strstr(rs_buf_cstr(&out),
                  "\"item_spike\":{\"alerts\":3,\"matched\":1,\"precision\":0.3333333333333333,"
                  "\"episodes\":1,\"detected\":1,\"merged\":0,\"cut\":0,\"recall\":1,") != NULL);
    ASSERT(strstr(rs_buf_cstr(&out), "\"no_episode\":{\"alerts\":2,\"users\":2}") != NULL);
    rs_buf_free(&out);
    rs_truth_destroy(t);
}

TEST(recall_and_merge) {
    rs_truth_t *t = mk(1000);
    ASSERT_OK(feed(t, 0,
                   "{\"kind\":\"anomaly\",\"type\":\"card_testing\",\"user_id\":\"u1\","
                   "\"start_ts\":20500,\"end_ts\":22000}\n"
                   "{\"kind\":\"anomaly\",\"type\":\"card_testing\",\"user_id\":\"u1\","
                   "\"start_ts\":10000,\"end_ts\":20000}\n"
                   "{\"kind\":\"anomaly\",\"type\":\"card_testing\",\"user_id\":\"u1\","
                   "\"start_ts\":30000,\"end_ts\":31000}\n"
                   "{\"kind\":\"anomaly\",\"type\":\"card_testing\",\"user_id\":\"u2\","
                   "\"start_ts\":20500,\"end_ts\":22000}\n"
                   "{\"kind\":\"anomaly\",\"type\":\"bot\",\"user_id\":\"u7\","
                   "\"start_ts\":0,\"end_ts\":5}\n"));
    /* One alert on u1's first episode: the second starts within its end +
     * gap (merged by the engine), the third does not; u2's is missed. */
    ASSERT_OK(feed(t, 1, ALERT("card_testing", U("u1"), 12000)));
    rs_truth_rule_stats_t r;
    ASSERT(rs_truth_rule_find(t, "card_testing", &r));
    ASSERT_EQ(r.episodes, 4);
    ASSERT_EQ(r.detected, 2);
    ASSERT_EQ(r.merged, 1);
    ASSERT_NEAR(r.recall, 0.5, 0);
    ASSERT(rs_truth_rule_find(t, "bot", &r));
    ASSERT_EQ(r.alerts, 0);
    ASSERT(isnan(r.precision));
    ASSERT_EQ(r.episodes, 1);
    ASSERT_EQ(r.detected, 0);
    ASSERT_NEAR(r.recall, 0.0, 0);
    rs_truth_bounds_t b;
    rs_truth_bounds_none(&b);
    ASSERT_EQ(rs_truth_check(t, &b, NULL), 0);
    b.min_recall = 0.5;
    rs_buf_t why = {0};
    ASSERT_EQ(rs_truth_check(t, &b, &why), 1); /* bot 0 < 0.5; card 0.5 passes */
    ASSERT(strstr(rs_buf_cstr(&why), "bot: recall") != NULL);
    b.min_precision = 1.0; /* card_testing 1/1 passes; bot has no alerts */
    ASSERT_EQ(rs_truth_check(t, &b, NULL), 1);
    b.min_ari = 0.5; /* no clusters: undefined misses */
    ASSERT_EQ(rs_truth_check(t, &b, NULL), 2);
    b.max_alerted_share = 0.0; /* 1 alerted of 0 truth users: undefined */
    ASSERT_EQ(rs_truth_check(t, &b, NULL), 3);
    rs_buf_free(&why);
    rs_truth_destroy(t);
}

/* ---- segments ---- */

#define SEG(u, dim, old, nw)                                                                       \
    "{\"kind\":\"segment\",\"user_id\":\"" u "\",\"dimension\":\"" dim "\",\"old\":\"" old         \
    "\",\"new\":\"" nw "\",\"reason\":\"x\",\"ts_ms\":1,\"scores\":{\"r\":5}}\n"

TEST(segments) {
    rs_truth_t *t = mk(600000);
    ASSERT_OK(feed(t, 0,
                   "{\"kind\":\"user\",\"user_id\":\"u1\",\"group\":\"a\"}\n"
                   "{\"kind\":\"user\",\"user_id\":\"u2\",\"group\":\"a\"}\n"
                   "{\"kind\":\"user\",\"user_id\":\"u3\",\"group\":\"a\"}\n"
                   "{\"kind\":\"user\",\"user_id\":\"u4\",\"group\":\"b\"}\n"
                   "{\"kind\":\"user\",\"user_id\":\"u5\",\"group\":\"b\"}\n"
                   "{\"kind\":\"user\",\"user_id\":\"u6\",\"group\":\"b\"}\n"));
    ASSERT_OK(feed(
        t, 1,
        SEG("u1", "cluster", "", "cluster-0") SEG("u2", "cluster", "", "cluster-0")
            SEG("u3", "cluster", "", "cluster-0") SEG("u3", "cluster", "cluster-0", "cluster-1")
                SEG("u4", "cluster", "", "cluster-1") SEG("u5", "cluster", "", "cluster-1")
                    SEG("u6", "cluster", "", "cluster-1") SEG("u6", "cluster", "cluster-1", "")
                        SEG("u7", "cluster", "", "cluster-1") SEG("u1", "rfm", "", "new")
                            SEG("u1", "rfm", "new", "champions") SEG("u2", "rfm", "", "loyal")
                                SEG("u3", "rfm", "", "") SEG("u3", "mood", "", "happy")));
    rs_truth_summary_t s;
    rs_truth_summary(t, &s);
    ASSERT_EQ(s.lines_segment, 14);
    ASSERT_EQ(s.clustered, 5);
    ASSERT_EQ(s.clustered_unknown, 1); /* u7 */
    ASSERT_EQ(s.unclustered, 1);       /* u6 left its cluster */
    ASSERT_NEAR(s.ari, 1.0 / 6.0, 1e-15);
    ASSERT_EQ(rs_truth_cell(t, "cluster-0", "a"), 2);
    ASSERT_EQ(rs_truth_cell(t, "cluster-1", "a"), 1);
    ASSERT_EQ(rs_truth_cell(t, "cluster-1", "b"), 2);
    ASSERT_EQ(rs_truth_cell(t, "cluster-0", "b"), 0);
    ASSERT_EQ(rs_truth_cell(t, "cluster-9", "b"), 0);
    ASSERT_EQ(s.rfm_users, 3);
    ASSERT_EQ(rs_truth_rfm_size(t, "champions"), 1);
    ASSERT_EQ(rs_truth_rfm_size(t, "loyal"), 1);
    ASSERT_EQ(rs_truth_rfm_size(t, "new"), 0);
    ASSERT_EQ(rs_truth_rfm_size(t, ""), 1);
    ASSERT_EQ(s.output_users, 7);
    rs_buf_t out = {0};
    rs_truth_report(t, 1, &out);
    const char *j = rs_buf_cstr(&out);
    ASSERT(strstr(j,
                  "\"clusters\":{\"users\":5,\"not_in_truth\":1,\"unclustered\":1,\"ari\":"
                  "0.16666666666666666,\"sizes\":{\"cluster-0\":2,\"cluster-1\":4},"
                  "\"table\":{\"cluster-0\":{\"a\":2,\"b\":0},\"cluster-1\":{\"a\":1,\"b\":2}}}") !=
           NULL);
    ASSERT(strstr(j, "\"rfm\":{\"champions\":1,\"loyal\":1,\"potential\":0,\"new\":0,\"at_risk\":"
                     "0,\"hibernating\":0,\"lost\":0,\"none\":1}}\n") != NULL);
    rs_buf_reset(&out);
    rs_truth_report(t, 0, &out);
    ASSERT(strstr(rs_buf_cstr(&out), "ARI 0.1667") != NULL);
    rs_buf_free(&out);
    rs_truth_destroy(t);
}

/* ---- lines ---- */

TEST(lines_missing_extra) {
    rs_truth_t *t = mk(1000);
    ASSERT_OK(feed(t, 0, truth_text));
    ASSERT_OK(feed(t, 1,
                   "{\"kind\":\"recommendation\",\"user_id\":\"u1\",\"version\":1,\"items\":[]}\n"
                   "\n"
                   "   \n"
                   "{\"kind\":\"recommendation\",\"user_id\":\"u\\u0032\",\"items\":[]}\n"
                   "{\"user_id\":\"u5\",\"kind\":\"recommendation\"}\n"
                   "{\"kind\":\"heartbeat\",\"ts_ms\":1}\n" ALERT("teleport", U("u1"), 7)
                       ALERT("teleport", I("i1"), 8)));
    rs_truth_summary_t s;
    rs_truth_summary(t, &s);
    ASSERT_EQ(s.lines_rec, 3);
    ASSERT_EQ(s.lines_other, 1);
    ASSERT_EQ(s.lines_alert, 2);
    ASSERT_EQ(s.output_users, 3); /* u1, u2 (escaped), u5 */
    ASSERT_EQ(s.alerted_users, 1);
    ASSERT_EQ(s.fp_alerts, 0); /* u1 has a card_testing episode */
    ASSERT_EQ(rs_truth_rule_count(t), 6);
    rs_truth_rule_stats_t r;
    ASSERT(rs_truth_rule_find(t, "teleport", &r));
    ASSERT_EQ(r.alerts, 2);
    ASSERT_EQ(r.matched, 0);
    ASSERT_EQ(r.has_kind, 0);
    ASSERT(!rs_truth_rule_find(t, "nothing", &r));
    /* Every episode missed: recall 0 for each kind, precision undefined. */
    ASSERT(rs_truth_rule_find(t, "item_spike", &r));
    ASSERT_EQ(r.episodes, 1);
    ASSERT_EQ(r.detected, 0);
    ASSERT(isnan(r.precision));
    rs_truth_destroy(t);
}

static int bad_emitted(const char *line, const char *want) {
    rs_truth_t *t = mk(1000);
    int rc = feed(t, 0, truth_text);
    if (!rc) rc = feed(t, 1, "{\"kind\":\"heartbeat\"}\n\n");
    if (!rc) rc = rs_truth_add_emitted_line(t, line, strlen(line), err, sizeof(err));
    rs_truth_destroy(t);
    if (rc != RS_EDECODE || !strstr(err, want)) {
        fprintf(stderr, "  got %d \"%s\", want \"%s\"\n", rc, err, want);
        return -1;
    }
    return 0;
}

TEST(malformed) {
    ASSERT_OK(bad_emitted("{\"kind\":\"alert\",\"rule\":\"bot\"", "line 3: json: "));
    ASSERT_OK(bad_emitted("[1,2]", "line 3: json: expected an object"));
    ASSERT_OK(bad_emitted("{\"rule\":\"bot\"}", "line 3: missing field kind"));
    ASSERT_OK(bad_emitted("{\"kind\":\"alert\",\"rule\":\"bot\",\"user_id\":\"u1\"}",
                          "line 3: missing field ts_ms"));
    ASSERT_OK(bad_emitted("{\"kind\":\"alert\",\"rule\":\"bot\",\"ts_ms\":\"x\",\"user_id\":\"u\"}",
                          "line 3: json: field ts_ms: expected integer"));
    ASSERT_OK(bad_emitted("{\"kind\":\"alert\",\"rule\":\"bot\",\"ts_ms\":5}",
                          "line 3: alert of rule bot without user_id"));
    ASSERT_OK(bad_emitted("{\"kind\":\"alert\",\"rule\":\"item_spike\",\"ts_ms\":5}",
                          "line 3: alert of rule item_spike without item_id"));
    ASSERT_OK(bad_emitted("{\"kind\":\"segment\",\"user_id\":\"u1\",\"new\":\"x\"}",
                          "line 3: missing field dimension"));
    ASSERT_OK(bad_emitted("{\"kind\":\"segment\",\"user_id\":\"u1\",\"dimension\":\"rfm\","
                          "\"new\":5}",
                          "line 3: json: field new: expected string"));
    /* A recommendation whose fast path fails is parsed in full. */
    ASSERT_OK(bad_emitted("{\"kind\":\"recommendation\",\"user_id\":\"u1", "line 3: json: "));

    rs_truth_t *t = mk(1000);
    const char *bad_truth[] = {
        "{\"kind\":\"anomaly\",\"type\":\"alien\",\"user_id\":\"u1\",\"start_ts\":1,\"end_ts\":2}",
        "{\"kind\":\"anomaly\",\"type\":\"bot\",\"user_id\":\"u1\",\"start_ts\":3,\"end_ts\":2}",
        "{\"kind\":\"anomaly\",\"type\":\"item_spike\",\"user_id\":\"u1\",\"start_ts\":1,"
        "\"end_ts\":2}",
        "{\"kind\":\"user\",\"user_id\":\"u1\"}",
        "{\"kind\":\"user\",\"user_id\":\"u2\",\"group\":\"a\"}"};
    const char *want[] = {"line 1: unknown anomaly type \"alien\"",
                          "line 2: end_ts before start_ts", "line 3: missing field item_id",
                          "line 4: missing field group", NULL};
    for (int i = 0; i < 5; i++) {
        int rc = rs_truth_add_truth_line(t, bad_truth[i], strlen(bad_truth[i]), err, sizeof(err));
        if (!want[i]) {
            ASSERT_OK(rc);
            continue;
        }
        ASSERT_EQ(rc, RS_EDECODE);
        ASSERT_STREQ(err, want[i]);
    }
    ASSERT_EQ(feed(t, 0, "{\"kind\":\"user\",\"user_id\":\"u2\",\"group\":\"b\"}"), RS_EDECODE);
    ASSERT_STREQ(err, "line 6: user u2 listed twice");
    ASSERT_OK(feed(t, 1, "{\"kind\":\"x\"}"));
    ASSERT_EQ(feed(t, 0, "{\"kind\":\"pair\"}"), RS_ESTATE);
    rs_truth_destroy(t);

    /* Files: "path:LINE: reason"; a missing file is RS_EIO. */
    char path[256];
    tmp_path(path, sizeof(path), "bad");
    FILE *f = fopen(path, "w");
    ASSERT(f != NULL);
    fputs("{\"kind\":\"recommendation\",\"user_id\":\"u1\",\"items\":[]}\n\n{oops}\n", f);
    fclose(f);
    t = mk(1000);
    ASSERT_EQ(rs_truth_read_emitted(t, path, err, sizeof(err)), RS_EDECODE);
    char want3[320];
    snprintf(want3, sizeof(want3), "%s:3: json: ", path);
    ASSERT(strncmp(err, want3, strlen(want3)) == 0);
    rs_truth_destroy(t);
    unlink(path);
    t = mk(1000);
    ASSERT_EQ(rs_truth_read_truth(t, path, err, sizeof(err)), RS_EIO);
    rs_truth_destroy(t);
    rs_truth_opts_t o;
    rs_truth_opts_default(&o);
    o.gap_ms = -1;
    ASSERT_EQ(rs_truth_new(&t, &o, err, sizeof(err)), RS_EARG);
    ASSERT(t == NULL);
    rs_truth_destroy(NULL);
}

/* No truth (real data): nothing matches, the share is over output users. */
TEST(no_truth) {
    rs_truth_t *t = mk(600000);
    ASSERT_OK(feed(t, 1,
                   "{\"kind\":\"recommendation\",\"user_id\":\"a\",\"items\":[]}\n"
                   "{\"kind\":\"recommendation\",\"user_id\":\"b\",\"items\":[]}\n"
                   "{\"kind\":\"recommendation\",\"user_id\":\"a\",\"items\":[]}\n"
                   "{\"kind\":\"recommendation\",\"user_id\":\"c\",\"items\":[]}\n" ALERT(
                       "bot", U("a"), 5) ALERT("bot", U("a"), 6) SEG("d", "rfm", "", "lost")));
    rs_truth_summary_t s;
    rs_truth_summary(t, &s);
    ASSERT_EQ(s.has_truth, 0);
    ASSERT_EQ(s.users, 4);
    ASSERT_EQ(s.alerted_users, 1);
    ASSERT_NEAR(s.alerted_share, 0.25, 0);
    ASSERT_EQ(s.fp_alerts, 2);
    rs_truth_rule_stats_t r;
    ASSERT(rs_truth_rule_find(t, "bot", &r));
    ASSERT(isnan(r.precision));
    ASSERT_EQ(r.n_examples, 2);
    rs_buf_t out = {0};
    rs_truth_report(t, 1, &out);
    ASSERT(strstr(rs_buf_cstr(&out), "\"truth\":null") != NULL);
    ASSERT(strstr(rs_buf_cstr(&out), "\"bot\":{\"alerts\":2,\"examples\":[{\"kind\":\"alert\"") !=
           NULL);
    ASSERT(strstr(rs_buf_cstr(&out), "\"alerted_users\":1,\"users\":4,\"alerted_share\":0.25,") !=
           NULL);
    rs_buf_free(&out);
    rs_truth_destroy(t);
}

/* The generator's truth file with a perfect detector and clusters = groups. */
TEST(generator_truth) {
    rs_gen_opts_t o;
    rs_gen_opts_default(&o);
    rs_gen_opts_behaviour(&o);
    o.seed = rs_test_seed();
    o.users = 2000;
    o.items = 3000;
    o.anomaly_rate[RS_GEN_AN_BOT] = 5;
    o.anomaly_rate[RS_GEN_AN_CARD_TESTING] = 10;
    o.anomaly_rate[RS_GEN_AN_BIG_PURCHASE] = 10;
    o.anomaly_rate[RS_GEN_AN_ITEM_SPIKE] = 5;
    o.spike_calm_ms = 0;
    rs_gen_t *g = rs_gen_new(&o);
    ASSERT(g != NULL);
    for (int i = 0; i < 100000; i++) rs_gen_next(g, NULL);
    FILE *f = tmpfile();
    ASSERT_OK(rs_gen_write_truth(g, f));
    rewind(f);
    rs_truth_t *t = mk(600000);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0)
        ASSERT_OK(rs_truth_add_truth_line(t, line, (size_t)n - 1, err, sizeof(err)));
    fclose(f);
    rs_buf_t b = {0};
    uint32_t na = rs_gen_anomaly_count(g), per[RS_GEN__AN_COUNT] = {0}, users = o.users;
    for (uint32_t k = 0; k < na; k++) {
        const rs_gen_anomaly_t *a = rs_gen_anomaly(g, k);
        per[a->type]++;
        users += a->type == RS_GEN_AN_BOT;
        rs_buf_reset(&b);
        rs_buf_printf(&b, "{\"kind\":\"alert\",\"rule\":\"%s\",\"ts_ms\":%lld",
                      rs_gen_anomaly_name(a->type), (long long)a->end_ts);
        if (a->type == RS_GEN_AN_ITEM_SPIKE)
            rs_buf_printf(&b, ",\"item_id\":\"i%u\"}", a->item);
        else
            rs_buf_printf(&b, ",\"user_id\":\"u%u\"}", a->user);
        ASSERT_OK(rs_truth_add_emitted_line(t, b.p, b.len, err, sizeof(err)));
    }
    /* organic big purchases are truth episodes too (rs_gen_organic) */
    uint32_t norg = rs_gen_organic_count(g);
    for (uint32_t k = 0; k < norg; k++) {
        const rs_gen_anomaly_t *a = rs_gen_organic(g, k);
        per[a->type]++;
        rs_buf_reset(&b);
        rs_buf_printf(&b,
                      "{\"kind\":\"alert\",\"rule\":\"big_purchase\",\"ts_ms\":%lld,"
                      "\"user_id\":\"u%u\"}",
                      (long long)a->end_ts, a->user);
        ASSERT_OK(rs_truth_add_emitted_line(t, b.p, b.len, err, sizeof(err)));
    }
    ASSERT_EQ(norg, 0); /* behaviour mode: shoppers buy within their price band */
    for (uint32_t u = 0; u < users; u++) {
        rs_buf_reset(&b);
        rs_buf_printf(&b,
                      "{\"kind\":\"segment\",\"user_id\":\"u%u\",\"dimension\":\"cluster\","
                      "\"new\":\"cluster-%d\"}",
                      u, (int)rs_gen_user_group(g, u));
        ASSERT_OK(rs_truth_add_emitted_line(t, b.p, b.len, err, sizeof(err)));
    }
    for (int k = 0; k < RS_GEN__AN_COUNT; k++) {
        rs_truth_rule_stats_t r;
        ASSERT(per[k] > 0);
        ASSERT(rs_truth_rule_find(t, rs_gen_anomaly_name((rs_gen_anomaly_type_t)k), &r));
        ASSERT_EQ(r.episodes, per[k]);
        ASSERT_EQ(r.alerts, per[k]);
        ASSERT_EQ(r.matched, per[k]);
        ASSERT_EQ(r.detected, per[k]);
    }
    rs_truth_summary_t s;
    rs_truth_summary(t, &s);
    ASSERT_EQ(s.truth_users, users);
    ASSERT_EQ(s.truth_episodes, na + norg);
    ASSERT_EQ(s.truth_pairs, o.pairs);
    ASSERT_EQ(s.clustered, users);
    ASSERT_NEAR(s.ari, 1.0, 0);
    ASSERT_EQ(s.fp_alerts, 0);
    free(line);
    rs_buf_free(&b);
    rs_truth_destroy(t);
    rs_gen_destroy(g);
}

/* `recstream score` when RS_BIN knows it: exit codes and the JSON object. */
static int run(const char *cmd) {
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TEST(cli) {
    const char *bin = getenv("RS_BIN");
    char cmd[2048], tp[256], ep[256];
    if (!bin || !*bin) {
        fprintf(stderr, "  RS_BIN unset: CLI part skipped\n");
        return;
    }
    snprintf(cmd, sizeof(cmd), "%s score --help >/dev/null 2>&1", bin);
    if (run(cmd) != 0) {
        fprintf(stderr, "  %s has no score command yet: CLI part skipped\n", bin);
        return;
    }
    tmp_path(tp, sizeof(tp), "t");
    tmp_path(ep, sizeof(ep), "e");
    FILE *f = fopen(tp, "w");
    fputs(truth_text, f);
    fclose(f);
    f = fopen(ep, "w");
    fputs(ALERT("bot", U("u3"), 1000) ALERT("bot", U("u3"), 999999) "\n", f);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "%s score -t %s -e %s --json --gap-ms 1000 >/dev/null", bin, tp, ep);
    ASSERT_EQ(run(cmd), 0);
    snprintf(cmd, sizeof(cmd),
             "%s score -t %s -e %s --json --gap-ms 1000 | grep -q '\"bot\":{\"alerts\":2,"
             "\"matched\":1,\"precision\":0.5,\"episodes\":1,\"detected\":1,\"merged\":0,"
             "\"cut\":0,\"recall\":1,'",
             bin, tp, ep);
    ASSERT_EQ(run(cmd), 0);
    snprintf(cmd, sizeof(cmd), "%s score -t %s -e %s --min-precision 0.9 >/dev/null 2>&1", bin, tp,
             ep);
    ASSERT_EQ(run(cmd), 1);
    snprintf(cmd, sizeof(cmd), "%s score -t %s -e %s --min-recall 0.9 >/dev/null 2>&1", bin, tp,
             ep);
    ASSERT_EQ(run(cmd), 1); /* card_testing, big_purchase, item_spike missed */
    snprintf(cmd, sizeof(cmd), "%s score -t %s -e %s.none >/dev/null 2>&1", bin, tp, ep);
    ASSERT_EQ(run(cmd), 2);
    snprintf(cmd, sizeof(cmd), "%s score -t %s >/dev/null 2>&1", bin, tp);
    ASSERT_EQ(run(cmd), 2);
    snprintf(cmd, sizeof(cmd), "%s score -e %s --gap-ms x >/dev/null 2>&1", bin, ep);
    ASSERT_EQ(run(cmd), 2);
    unlink(tp);
    unlink(ep);
}

int main(void) {
    return RUN_TESTS(t_ari_exact, t_ari_brute_force, t_cut_episodes, t_matching, t_recall_and_merge,
                     t_segments, t_lines_missing_extra, t_malformed, t_no_truth, t_generator_truth,
                     t_cli);
}
