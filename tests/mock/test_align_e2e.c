/* test_align_e2e.c -- event-time alignment (consume.align.ms) on the mock
 * cluster, in the demo's situation: a backlog of 100k events at 100 events/s
 * of event time on 8 partitions, with one planted item spike. librdkafka
 * reads such a backlog with partitions hundreds of seconds of event time
 * apart; without alignment (RS_E2E_SET=consume.align.ms=0) item_spike
 * fired 1, 4 and 1 times in three runs. With it the daemon pauses the
 * partitions that run ahead, and item_spike fires once, on the planted item. */
#include "e2e_util.h"
#include "recstream/rs_alert.h"
#include "recstream/rs_codec.h"
#include "recstream/rs_feed.h"
#include "rs_test.h"

#define N_EVENTS   100000
#define PARTS      8
#define WATCHDOG_S 240

typedef struct seen {
    rs_codec_t *codec;
    int spikes, other, bad;
    char item[32];
} seen_t;

static void on_alert(void *opaque, const rs_msg_t *m) {
    seen_t *s = opaque;
    rs_alert_msg_t a;
    char err[256];
    if (rs_codec_decode_alert(s->codec, m->payload, m->len, RS_FMT_AVRO, &a, err, sizeof(err))) {
        s->bad++;
        return;
    }
    if (a.rule_id != RS_ALERT_ITEM_SPIKE) {
        s->other++;
        return;
    }
    s->spikes++;
    snprintf(s->item, sizeof(s->item), "%.*s", (int)a.item_id.len, a.item_id.p);
}

TEST(backlog_item_spike) {
    char err[512];
    rs_mock_t *mock = NULL;
    ASSERT_OK(rs_mock_new(&mock, 3, err, sizeof(err)));
    ASSERT_OK(rs_mock_topic_create(mock, "events", PARTS));
    ASSERT_OK(rs_mock_topic_create(mock, "alerts", 1));

    rs_gen_opts_t go;
    rs_gen_opts_default(&go);
    rs_gen_opts_behaviour(&go);
    go.events_per_sec = 100;
    go.users = 5000;
    go.items = 5000;
    go.anomaly_rate[RS_GEN_AN_ITEM_SPIKE] = 1;
    rs_gen_t *g = rs_gen_new(&go);
    e2e_kv_t pk = e2e_client_kv(mock, 1);
    rs_feed_stats_t fs;
    memset(&fs, 0, sizeof(fs));
    ASSERT_OK(rs_feed_run(pk.kv, pk.n, "events", g, N_EVENTS, 0, 0, &fs, err, sizeof(err)));
    ASSERT_EQ(fs.delivered, N_EVENTS);
    char planted[32] = "";
    int n_planted = 0;
    const rs_gen_anomaly_t *an;
    for (uint32_t i = 0; (an = rs_gen_anomaly(g, i)) != NULL; i++)
        if (an->type == RS_GEN_AN_ITEM_SPIKE)
            n_planted++, snprintf(planted, sizeof(planted), "i%u", an->item);
    rs_gen_destroy(g);
    ASSERT_EQ(n_planted, 1);

    char *dir = e2e_tmpdir("rs-align");
    ASSERT(dir != NULL);
    rs_conf_t *conf = e2e_conf(mock, dir);
    ASSERT(conf != NULL);
    if (!getenv("RS_E2E_SET")) /* RS_E2E_SET=consume.align.ms=0 shows the skew */
        ASSERT_OK(rs_conf_set(conf, "consume.align.ms", "30000", "test", err, sizeof(err)));
    rs_daemon_t *d = NULL;
    rs_daemon_opts_t opts = {.stop_after_events = N_EVENTS, .no_signals = 1};
    ASSERT_OK(rs_daemon_new(&d, conf, &opts, err, sizeof(err)));
    e2e_watchdog_t wd;
    e2e_watchdog_start(&wd, d, WATCHDOG_S);
    int rc = rs_daemon_run(d);
    int fired = e2e_watchdog_stop(&wd);
    rs_stats_t st = *rs_daemon_stats(d);
    rs_daemon_destroy(d);
    ASSERT_OK(rc);
    ASSERT_EQ(fired, 0);
    ASSERT_EQ(st.events_in, N_EVENTS);
    printf("  %" PRIu64 " partition pauses; item_spike alerts %" PRIu64 " (planted on %s)\n",
           st.align_pauses, st.alerts[RS_ALERT_ITEM_SPIKE], planted);
    ASSERT(st.align_pauses > 0); /* the backlog was read unevenly, and aligned */
    ASSERT_EQ(st.alerts[RS_ALERT_ITEM_SPIKE], 1);

    uint64_t total = 0;
    for (int r = 0; r < RS_ALERT__RULE_COUNT; r++) total += st.alerts[r];
    seen_t s;
    memset(&s, 0, sizeof(s));
    ASSERT_OK(rs_codec_new(&s.codec, err, sizeof(err)));
    e2e_kv_t ck = e2e_client_kv(mock, 0);
    int64_t n = e2e_read_topic(&ck, "alerts", 1, total, 30000, 300, on_alert, &s);
    rs_codec_destroy(s.codec);
    ASSERT_EQ(n, (int64_t)total);
    ASSERT_EQ(s.bad, 0);
    ASSERT_EQ(s.spikes, 1);
    ASSERT_STREQ(s.item, planted);

    rs_conf_destroy(conf);
    e2e_rmtree(dir);
    rs_mock_destroy(mock);
}

int main(void) {
    return RUN_TESTS(t_backlog_item_spike);
}
