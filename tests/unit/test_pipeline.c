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
    rs_sink_t sink = {.opaque = &cap, .rec = cap_rec, .dlq = cap_dlq};
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
    /* records handed out again (offsets already applied): skipped, even an
     * invalid one, which must not reach the DLQ twice */
    feed(p, EV("e9", "u1", "C", "view", "1700000006500"), off - 2);
    feed(p, "not json at all", 2);
    ASSERT_EQ(stats.events_refetched, 2);
    ASSERT_EQ(stats.events_in, (uint64_t)off);
    ASSERT_EQ(stats.events_applied, 2 + 4);
    ASSERT_EQ(cap.dlq, 5);
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

/* Alerts and segment changes reach the sink encoded in output.format, once
 * per episode / per change, and the detector state survives a restart. */
typedef struct watch_cap {
    rs_codec_t *codec;
    int alerts, bot_alerts, segments, rfm_changes;
    char alert_key[32], alert_id[17], rfm_new[32];
} watch_cap_t;

static void cap_alert(void *opaque, const rs_alert_t *a, const void *key, size_t klen,
                      const void *val, size_t vlen) {
    watch_cap_t *c = opaque;
    char err[256];
    rs_alert_msg_t m;
    c->alerts++;
    if (a->rule == RS_ALERT_BOT) c->bot_alerts++;
    snprintf(c->alert_key, sizeof(c->alert_key), "%.*s", (int)klen, (const char *)key);
    snprintf(c->alert_id, sizeof(c->alert_id), "%s", a->id);
    /* the value is the JSON encoding of the same alert */
    if (rs_codec_decode_alert(c->codec, val, vlen, RS_FMT_JSON, &m, err, sizeof(err)) ||
        m.rule_id != (int)a->rule || m.id.len != 16 || memcmp(m.id.p, a->id, 16))
        c->alerts += 1000;
}

static void cap_segment(void *opaque, const rs_segment_change_t *ch, const void *key, size_t klen,
                        const void *val, size_t vlen) {
    watch_cap_t *c = opaque;
    char err[256];
    rs_segment_msg_t m;
    c->segments++;
    if (rs_codec_decode_segment(c->codec, val, vlen, RS_FMT_JSON, &m, err, sizeof(err)) ||
        m.kind != (int)ch->kind || m.user_id.len != klen)
        c->segments += 1000;
    if (ch->kind == RS_SEG_RFM && klen == 2 && !memcmp(key, "b1", 2)) {
        c->rfm_changes++;
        snprintf(c->rfm_new, sizeof(c->rfm_new), "%s", ch->new_name);
    }
}

TEST(alerts_and_segments_to_sink) {
    rs_conf_t *conf = mkconf();
    char err[256], js[256], id[16];
    rs_stats_t stats;
    memset(&stats, 0, sizeof(stats));
    watch_cap_t cap;
    memset(&cap, 0, sizeof(cap));
    ASSERT_OK(rs_codec_new(&cap.codec, err, sizeof(err)));
    rs_sink_t sink = {.opaque = &cap, .alert = cap_alert, .segment = cap_segment};
    rs_pipeline_t *p = NULL;
    ASSERT_OK(rs_pipeline_new(&p, conf, &sink, &stats, err, sizeof(err)));
    int64_t off = 0, t = 1700000000000;
    /* a buyer: one purchase gives it an RFM segment (one change) */
    snprintf(js, sizeof(js), EV("p1", "b1", "A", "purchase", "%lld"), (long long)t);
    feed(p, js, off++);
    ASSERT_OK(rs_pipeline_flush(p, err, sizeof(err)));
    ASSERT_EQ(cap.rfm_changes, 1);
    ASSERT(cap.rfm_new[0] != 0);
    /* a bot: 80 views 100 ms apart, no cart -> exactly one bot alert */
    for (int i = 0; i < 80; i++) {
        snprintf(id, sizeof(id), "v%d", i);
        snprintf(js, sizeof(js),
                 "{\"event_id\":\"%s\",\"ts_ms\":%lld,\"user_id\":\"bot\",\"item_id\":"
                 "\"i%d\",\"type\":\"view\"}",
                 id, (long long)(t + 1000 + 100 * i), i);
        feed(p, js, off++);
    }
    ASSERT_OK(rs_pipeline_flush(p, err, sizeof(err)));
    ASSERT_EQ(cap.bot_alerts, 1);
    ASSERT_EQ(cap.alerts, 1);
    ASSERT_STREQ(cap.alert_key, "bot");
    ASSERT_EQ(stats.alerts[RS_ALERT_BOT], 1);
    ASSERT(cap.segments < 1000);
    ASSERT_EQ(stats.segment_changes[RS_SEG_RFM] + stats.segment_changes[RS_SEG_CLUSTER],
              (uint64_t)cap.segments);
    rs_pipeline_destroy(p);

    /* restart: the open bot episode is remembered, so more bot views fire no
     * second bot alert ... */
    ASSERT_OK(rs_pipeline_new(&p, conf, &sink, &stats, err, sizeof(err)));
    for (int i = 80; i < 160; i++) {
        snprintf(id, sizeof(id), "v%d", i);
        snprintf(js, sizeof(js),
                 "{\"event_id\":\"%s\",\"ts_ms\":%lld,\"user_id\":\"bot\",\"item_id\":"
                 "\"i%d\",\"type\":\"view\"}",
                 id, (long long)(t + 1000 + 100 * i), i);
        feed(p, js, off++);
    }
    ASSERT_OK(rs_pipeline_flush(p, err, sizeof(err)));
    ASSERT_EQ(cap.bot_alerts, 1);
    /* ... while the rate bucket kept counting across the restart: 80 + 20
     * views in the same minute reach alert.rate.min.events (100), so a
     * rate_burst episode begins (80 alone would not) */
    ASSERT_EQ(cap.alerts, 2);
    ASSERT_EQ(stats.alerts[RS_ALERT_RATE_BURST], 1);
    rs_user_t *u = rs_state_user_get(rs_pipeline_state(p), "bot", 3);
    ASSERT_EQ(u->alert.fired, 2);
    rs_pipeline_destroy(p);
    rs_codec_destroy(cap.codec);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", g_dir);
    if (system(cmd)) {
    }
    rs_conf_destroy(conf);
}

/* Users who reached segments.cluster.min.events before the first centroids
 * existed, and then went quiet, are clustered by the sweep those centroids
 * start (the demo reads its backlog in a few batches: without it every
 * user stayed unclustered). */
TEST(first_centroids_cluster_everyone) {
    rs_conf_t *conf = mkconf();
    char err[256], js[256];
    ASSERT_OK(rs_conf_set(conf, "segments.cluster.batch", "16", "test", err, sizeof(err)));
    ASSERT_OK(rs_conf_set(conf, "segments.cluster.min.events", "3", "test", err, sizeof(err)));
    rs_stats_t stats;
    memset(&stats, 0, sizeof(stats));
    rs_sink_t sink = {0};
    rs_pipeline_t *p = NULL;
    ASSERT_OK(rs_pipeline_new(&p, conf, &sink, &stats, err, sizeof(err)));
    static const char *const types[] = {"view", "cart", "purchase"};
    int64_t off = 0, t = 1700000000000;
    enum { USERS = 40 };
    for (int u = 0; u < USERS; u++)
        for (int e = 0; e < 3; e++, t += 60000) {
            /* three behaviours: browsers, carters, buyers */
            const char *type = e < 2 ? "view" : types[u % 3];
            snprintf(js, sizeof(js),
                     "{\"event_id\":\"e%lld\",\"ts_ms\":%lld,\"user_id\":\"u%d\",\"item_id\":"
                     "\"i%d\",\"type\":\"%s\",\"price\":%d}",
                     (long long)off, (long long)t, u, (u * 7 + e) % 30, type, 5 + (u % 3) * 200);
            feed(p, js, off++);
        }
    ASSERT_OK(rs_pipeline_flush(p, err, sizeof(err)));
    ASSERT_EQ(stats.segment_clusters, 4);
    uint64_t clustered = 0;
    for (int k = 0; k < 4; k++) clustered += stats.segment_cluster[k];
    ASSERT_EQ(clustered, USERS);
    rs_pipeline_destroy(p);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", g_dir);
    if (system(cmd)) {
    }
    rs_conf_destroy(conf);
}

int main(void) {
    return RUN_TESTS(t_reject_dedup_apply_emit, t_alerts_and_segments_to_sink,
                     t_first_centroids_cluster_everyone);
}
