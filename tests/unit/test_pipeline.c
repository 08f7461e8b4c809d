/* test_pipeline.c -- records in, DLQ/dedup/state/emit-on-change out, no Kafka. */
#include <stdlib.h>

#include "recstream/rs_codec.h"
#include "recstream/rs_pipeline.h"
#include "rs_test.h"

static char g_dir[256];

typedef struct capture {
    int recs, dlq;
    int dlq_by[RS_REJ__COUNT];
    char last_user[64];
    int64_t last_version;
    int64_t versions_u1[16];
    int n_u1;
} capture_t;

static void cap_rec(void *opaque, const rs_rec_t *rec, const void *key, size_t klen,
                    const void *val, size_t vlen, int64_t origin_us) {
    capture_t *c = opaque;
    c->recs++;
    snprintf(c->last_user, sizeof(c->last_user), "%.*s", (int)klen, (const char *)key);
    c->last_version = rec->version;
    if (klen == 2 && !memcmp(key, "u1", 2) && c->n_u1 < 16)
        c->versions_u1[c->n_u1++] = rec->version;
}

static void cap_dlq(void *opaque, const rs_msg_t *m, rs_reject_t r, const char *detail) {
    capture_t *c = opaque;
    c->dlq++;
    c->dlq_by[r]++;
}

static rs_conf_t *mkconf(void) {
    char err[256];
    rs_conf_t *c = rs_conf_new();
    snprintf(g_dir, sizeof(g_dir), "/tmp/rs-test-pipe-XXXXXX");
    if (!mkdtemp(g_dir)) abort();
    rs_conf_set(c, "state.dir", g_dir, "test", err, sizeof(err));
    rs_conf_set(c, "output.format", "json", "test", err, sizeof(err));
    return c;
}

static void feed(rs_pipeline_t *p, const char *json, int64_t offset) {
    rs_msg_t m = {0};
    m.payload = json;
    m.len = strlen(json);
    m.topic = "events";
    m.partition = 0;
    m.offset = offset;
    rs_pipeline_process(p, &m);
}

#define EV(id, user, item, type, ts)                                                               \
    "{\"event_id\":\"" id "\",\"ts_ms\":" ts ",\"user_id\":\"" user "\",\"item_id\":\"" item       \
    "\",\"type\":\"" type "\"}"

TEST(reject_dedup_apply_emit) {
    rs_conf_t *conf = mkconf();
    char err[256];
    rs_stats_t stats;
    memset(&stats, 0, sizeof(stats));
    capture_t cap;
    memset(&cap, 0, sizeof(cap));
    rs_sink_t sink = {&cap, cap_rec, cap_dlq};
    rs_pipeline_t *p = NULL;
    ASSERT_OK(rs_pipeline_new(&p, conf, &sink, &stats, err, sizeof(err)));
    int64_t off = 0;
    /* history so that u1's list has kNN content */
    feed(p, EV("h1", "h", "A", "view", "1700000000000"), off++);
    feed(p, EV("h2", "h", "B", "view", "1700000001000"), off++);
    /* bad records of several kinds */
    feed(p, "not json at all", off++);
    feed(p, "{\"event_id\":\"b1\",\"ts_ms\":1700000002000,\"user_id\":\"u1\",\"type\":\"view\"}",
         off++);
    feed(p, EV("b2", "u1", "A", "teleport", "1700000002000"), off++);
    feed(p,
         "{\"event_id\":\"b3\",\"ts_ms\":1700000002000,\"user_id\":\"u1\",\"item_id\":\"A\","
         "\"type\":\"purchase\",\"price\":-1}",
         off++);
    feed(p, EV("b4", "u1", "A", "view", "4102444800000"), off++); /* year 2100 */
    ASSERT_EQ(cap.dlq, 5);
    ASSERT_EQ(cap.dlq_by[RS_REJ_MALFORMED], 1);
    ASSERT_EQ(cap.dlq_by[RS_REJ_MISSING_FIELD], 1);
    ASSERT_EQ(cap.dlq_by[RS_REJ_UNKNOWN_TYPE], 1);
    ASSERT_EQ(cap.dlq_by[RS_REJ_NEGATIVE_PRICE], 1);
    ASSERT_EQ(cap.dlq_by[RS_REJ_FUTURE_TS], 1);
    /* u1 views A: list = [B] (kNN), emitted with version 1 */
    feed(p, EV("e1", "u1", "A", "view", "1700000003000"), off++);
    feed(p, EV("e1", "u1", "A", "view", "1700000003000"), off++); /* duplicate */
    ASSERT_EQ(stats.events_duplicate, 1);
    ASSERT_OK(rs_pipeline_flush(p, err, sizeof(err)));
    ASSERT_EQ(cap.n_u1, 1);
    ASSERT_EQ(cap.versions_u1[0], 1);
    /* u1 views A again: same list, nothing emitted */
    feed(p, EV("e2", "u1", "A", "view", "1700000004000"), off++);
    ASSERT_OK(rs_pipeline_flush(p, err, sizeof(err)));
    ASSERT_EQ(cap.n_u1, 1);
    ASSERT_EQ(stats.recs_unchanged, 1);
    /* u1 views B: list changes (A and B now seen -> popularity only), version 2 */
    feed(p, EV("e3", "u1", "B", "view", "1700000005000"), off++);
    feed(p, EV("e4", "x", "C", "purchase", "1700000006000"), off++);
    ASSERT_OK(rs_pipeline_flush(p, err, sizeof(err)));
    ASSERT_EQ(cap.n_u1, 2);
    ASSERT_EQ(cap.versions_u1[1], 2);
    ASSERT_EQ(stats.events_in, (uint64_t)off);
    ASSERT_EQ(stats.events_applied, 2 + 4);
    ASSERT_EQ(rs_state_offset(rs_pipeline_state(p), "events", 0), off);
    ASSERT_EQ(rs_pipeline_pending(p), 0);
    rs_pipeline_destroy(p);

    /* reopen: versions and dedup survive */
    memset(&cap, 0, sizeof(cap));
    ASSERT_OK(rs_pipeline_new(&p, conf, &sink, &stats, err, sizeof(err)));
    feed(p, EV("e3", "u1", "B", "view", "1700000005000"), off++); /* duplicate across restart */
    feed(p, EV("e5", "u1", "C", "view", "1700000007000"), off++);
    ASSERT_OK(rs_pipeline_flush(p, err, sizeof(err)));
    ASSERT_EQ(cap.n_u1, 1);
    ASSERT_EQ(cap.versions_u1[0], 3);
    rs_user_t *u = rs_state_user_get(rs_pipeline_state(p), "u1", 2);
    ASSERT_EQ(u->counts[RS_EV_VIEW], 4);
    rs_pipeline_destroy(p);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", g_dir);
    if (system(cmd)) {
    }
    rs_conf_destroy(conf);
}

int main(void) {
    return RUN_TESTS(t_reject_dedup_apply_emit);
}
