/* test_broker_restart.c -- the broker goes away mid-stream and comes back
 * (issue 7: "broker stopped for 30 s and restarted mid-stream").
 *
 * The test runs a broker of its own (ku_broker_*: tools/kafka-start with a
 * private state file), so the shared broker of the other kafka tests is
 * never disturbed; a guard process stops it and removes its temp dir however
 * the test ends. RS_KAFKA_BOOTSTRAP only says that kafka tests are wanted.
 *
 * A `recstream run` owns the 8 partitions of `events`; RS_KAFKA_RESTART_EVENTS
 * records (default 240k: 1% duplicates, 1% late, 0.5% malformed) are produced
 * at a steady rate over STREAM_S seconds from a thread (rs_feed_run, the
 * idempotent producer the demo and bench use). STOP_AT_S seconds in, the
 * broker JVM is stopped for real (tools/kafka-stop --pause: SIGTERM, or
 * SIGKILL with RS_KAFKA_RESTART_KILL=1; storage kept), the test waits
 * RS_KAFKA_OUTAGE_S (default 30) s watching the daemon (/readyz, /metrics,
 * alive), then restarts it on the same ports with the same storage
 * (tools/kafka-start --restart). The producer queues and retries meanwhile;
 * the daemon's consumer and producer reconnect on their own.
 *
 * Asserted at the end (daemon stopped with SIGTERM once it has read all
 * N records and nothing more arrives for 3 s):
 *  - every record delivered exactly once to the topic (the stored offsets
 *    add up to N) and the producer reports no failure;
 *  - 0 double-counted on the read side: the daemon read exactly N records,
 *    and its applied/duplicates/late/DLQ counts equal the oracle's;
 *  - 0 lost, 0 double-counted in the state: `state dump` equals the oracle
 *    (tests/kafka/kafka_oracle.h) for every user and item;
 *  - the outputs, read back with kcat: every list decodes, versions run
 *    1, 2, 3... per user (a list lost or sent twice across the outage would
 *    break the sequence), as many as the daemon emitted; the DLQ holds
 *    exactly the malformed records.
 * Reported (su_log, in the ctest output): what the daemon did during the
 * outage (asserted: /readyz answers "not ready: Kafka: ..." from 5 s after
 * the stop to the restart, and "ready" after the catch-up), how long the
 * stop and the restart took, and the catch-up: after
 * the broker was back, when the producer delivered again and had delivered
 * all, when the daemon owned its partitions again, read its first record,
 * had read everything produced before the restart, and all N (the records
 * queued in the producer during the outage only reach the broker after it,
 * so the daemon's catch-up includes the producer's).
 *
 * The daemon and the producer run with recstream's defaults, as a user's
 * would: reconnect.backoff.max.ms is 1 s (librdkafka's own is 10 s). RS_KAFKA_RESTART_BACKOFF_MS
 * sets it for both (kafka.reconnect.backoff.max.ms for the daemon).
 *
 * Knobs: RS_KAFKA_RESTART_EVENTS, RS_KAFKA_OUTAGE_S, RS_KAFKA_RESTART_KILL,
 * RS_KAFKA_RESTART_BACKOFF_MS, RS_TEST_SEED, RS_KEEP_TMP. */
#include "rs_test.h"

#include "kafka_oracle.h"

#define EV_PARTS  8
#define REC_PARTS 4
#define N_USERS   20000
#define N_ITEMS   5000
#define STREAM_S  60 /* production is spread over this many seconds */
#define STOP_AT_S 12 /* the broker stops this far into the stream */

typedef struct rst {
    ko_ctx_t c; /* oracle, read-back, dump, daemon pid, scratch dir */
    ku_broker_t br;
    ku_feed_t feed;
    rs_feed_stats_t fs;
    rs_gen_t *gen;
} rst_t;

static uint64_t produced(const rs_feed_stats_t *fs) {
    return __atomic_load_n(&fs->produced, __ATOMIC_RELAXED);
}

static uint64_t delivered(const rs_feed_stats_t *fs) {
    return __atomic_load_n(&fs->delivered, __ATOMIC_RELAXED);
}

/* "ready" or the first line of /readyz's answer ("not ready: ..."), or
 * "no answer". */
static void readyz(int port, char *out, size_t size) {
    char *body = su_http_get(port, "/readyz");
    snprintf(out, size, "%s", body ? body : "no answer");
    out[strcspn(out, "\n")] = '\0';
    free(body);
}

/* The body: an ASSERT returns from here and rst_cleanup still runs. */
static void restart_body(rst_t *x) {
    const char *bin = su_bin();
    ASSERT(bin != NULL);
    const uint64_t n = ku_env_u64("RS_KAFKA_RESTART_EVENTS", 240000);
    const int64_t outage_ms = (int64_t)ku_env_u64("RS_KAFKA_OUTAGE_S", 30) * 1000;
    const int kill9 = ku_env_u64("RS_KAFKA_RESTART_KILL", 0) != 0;
    const uint64_t backoff = ku_env_u64("RS_KAFKA_RESTART_BACKOFF_MS", 0);
    char backoff_s[32];
    snprintf(backoff_s, sizeof(backoff_s), "%" PRIu64, backoff);
    char *root = x->c.root = su_tmpdir("rs-kafka-restart");
    ASSERT(root != NULL);

    /* ---- a broker of our own ---- */
    int64_t t0 = su_ms(), t;
    ASSERT_OK(ku_broker_start(&x->br, root));
    const char *bs = x->br.bootstrap;
    su_log("dedicated broker %s up in %.1f s (state %s)", bs, ku_secs(t0), x->br.state);

    ku_names_t nm;
    ku_names(&nm, "r-", "restart");
    const char *t_ev = nm.ev, *t_rec = nm.rec, *t_dlq = nm.dlq;
    const char *names[] = {t_ev, t_rec, t_dlq};
    const int parts[] = {EV_PARTS, REC_PARTS, 1};
    ASSERT_OK(ku_create_topics(bs, names, parts, 3));

    rs_gen_opts_t go;
    ku_gen_opts(&go, N_USERS, N_ITEMS);
    ko_oracle_t *o = &x->c.o;
    ASSERT_OK(ko_init(o, N_USERS, N_ITEMS));
    ko_run(o, &go, n);
    ASSERT_EQ(o->bad_ids, 0);

    ku_files_t fl;
    ku_files(&fl, root, "run");
    const char *dir = fl.dir, *stats = fl.stats, *log = fl.log;
    int port = su_free_port();
    ASSERT(port > 0);
    ku_run_t run = ku_run_of(bin, bs, &nm, &fl);
    run.http_port = port;
    char backoff_x[64];
    snprintf(backoff_x, sizeof(backoff_x), "kafka.reconnect.backoff.max.ms=%s", backoff_s);
    const char *extra[] = {"-X", backoff_x, NULL};
    if (backoff) run.extra = extra;
    t = su_ms();
    x->c.pid = ku_start(&run);
    ASSERT(x->c.pid > 0);
    int code, a = 0;
    while (ku_secs(t) < 60 &&
           (a = (int)ku_metric(port, "recstream_partitions_assigned")) != EV_PARTS) {
        if (su_exited(x->c.pid, &code)) {
            x->c.pid = -1;
            break;
        }
        su_sleep_ms(100);
    }
    if (a != EV_PARTS) ku_tail(log, 20);
    ASSERT_EQ(a, EV_PARTS);
    su_log("daemon owns all %d partitions after %.1f s", EV_PARTS, ku_secs(t));

    /* ---- a steady stream from a thread ---- */
    double rate = (double)n / STREAM_S;
    x->gen = rs_gen_new(&go);
    ASSERT(x->gen != NULL);
    x->feed = (ku_feed_t){.kv = {{(char *)"bootstrap.servers", (char *)bs, (char *)"test"},
                                 {(char *)"reconnect.backoff.max.ms", backoff_s, (char *)"test"}},
                          .n_kv = backoff ? 2 : 1,
                          .topic = t_ev,
                          .gen = x->gen,
                          .n = n,
                          .rate = rate,
                          .fs = &x->fs};
    int64_t t_feed = su_ms();
    ASSERT_EQ(ku_feed_start(&x->feed), 0);
    while (ku_secs(t_feed) < STOP_AT_S && !ku_feed_done(&x->feed)) su_sleep_ms(100);

    /* ---- the outage ---- */
    double ev_stop = ku_metric(port, "recstream_events_in_total");
    uint64_t prod_stop = produced(&x->fs);
    t = su_ms();
    ASSERT_OK(ku_broker_pause(&x->br, kill9));
    int64_t t_down = su_ms();
    su_log("broker stopped (%s) in %.1f s, %.1f s into the stream: %" PRIu64
           " records produced, the daemon had read %.0f",
           kill9 ? "SIGKILL" : "SIGTERM", ku_secs(t), (double)(t - t_feed) / 1000, prod_stop,
           ev_stop);
    char ready[256], last_ready[256] = "";
    double ev = 0, lag = 0;
    int alive = 1, la = -1, ready_late = 0;
    while (su_ms() - t_down < outage_ms) {
        readyz(port, ready, sizeof(ready));
        /* 5 s after the stop every connection has failed: not ready */
        if (su_ms() - t_down > 5000 && strncmp(ready, "not ready: Kafka: ", 18)) ready_late++;
        a = (int)ku_metric(port, "recstream_partitions_assigned");
        ev = ku_metric(port, "recstream_events_in_total");
        if (strcmp(ready, last_ready) || a != la)
            su_log("outage +%.1f s: /readyz \"%s\", %d partitions assigned, %.0f read, %" PRIu64
                   " produced (queued in the producer)",
                   ku_secs(t_down), ready, a, ev, produced(&x->fs));
        snprintf(last_ready, sizeof(last_ready), "%s", ready), la = a;
        if (su_exited(x->c.pid, &code)) {
            alive = 0, x->c.pid = -1;
            break;
        }
        su_sleep_ms(500);
    }
    if (!alive) ku_tail(log, 30);
    ASSERT(alive);            /* the daemon rides out a broker outage */
    ASSERT_EQ(ready_late, 0); /* /readyz said "not ready: Kafka: ..." all along */
    su_log("outage end (%.1f s): daemon alive, read %.0f (%.0f during the outage)", ku_secs(t_down),
           ev, ev - ev_stop);

    /* ---- the same broker again ---- */
    t = su_ms();
    ASSERT_OK(ku_broker_restart(&x->br));
    int64_t t_up = su_ms();
    double ev_up = ku_metric(port, "recstream_events_in_total");
    uint64_t prod_up = produced(&x->fs);
    su_log("broker restarted on %s in %.1f s (down %.1f s in all); %" PRIu64
           " records produced so far, the daemon has read %.0f",
           bs, ku_secs(t), (double)(t_up - t_down) / 1000, prod_up, ev_up);

    /* ---- catch-up: until all N are read and nothing more comes for 3 s ---- */
    int64_t t_first = -1, t_caught = -1, t_all = -1, stable_since = -1;
    int64_t t_dfirst = -1, t_dall = -1; /* the producer: delivery resumed, all delivered */
    int64_t t_parts = -1;               /* the daemon owns its partitions again */
    uint64_t del_up = delivered(&x->fs);
    double last = -1;
    int unanswered = 0;
    la = -1;
    while (ku_secs(t_up) < 300) {
        a = (int)ku_metric(port, "recstream_partitions_assigned");
        ev = ku_metric(port, "recstream_events_in_total");
        if (a < 0 || ev < 0) { /* /metrics did not answer within 2 s: a busy loop */
            unanswered++;
            if (su_exited(x->c.pid, &code)) {
                x->c.pid = -1;
                break;
            }
            continue;
        }
        lag = ku_metric(port, "recstream_consumer_lag");
        if (a != la)
            su_log("after restart +%.1f s: %d partitions assigned, %.0f read",
                   (double)(su_ms() - t_up) / 1000, a, ev),
                la = a;
        uint64_t del = delivered(&x->fs);
        if (del > del_up && t_dfirst < 0) t_dfirst = su_ms();
        if (del >= n && t_dall < 0) t_dall = su_ms();
        if (a == EV_PARTS && t_parts < 0) t_parts = su_ms();
        if (ev > ev_up && t_first < 0) t_first = su_ms();
        if (ev >= (double)prod_up && t_caught < 0) t_caught = su_ms();
        if (ev >= (double)n && t_all < 0) t_all = su_ms();
        int ok = a == EV_PARTS && ev >= (double)n && ku_feed_done(&x->feed);
        if (!ok || ev != last)
            stable_since = ok ? su_ms() : -1;
        else if (su_ms() - stable_since >= 3000)
            break;
        last = ev;
        if (su_exited(x->c.pid, &code)) {
            x->c.pid = -1;
            break;
        }
        su_sleep_ms(100);
    }
    ASSERT_OK(ku_feed_join(&x->feed));
    double stream_s = (double)(su_ms() - t_feed) / 1000;
#define AFTER(t) ((t) < 0 ? -1.0 : (double)((t)-t_up) / 1000)
    su_log("catch-up, seconds after the broker was back: producer delivering again %.1f, all "
           "%" PRIu64 " delivered %.1f; daemon owns its %d partitions again %.1f, first record "
           "%.1f, the %" PRIu64 " records produced before the restart read %.1f, all read %.1f "
           "(%.1f s after the last delivery)",
           AFTER(t_dfirst), n, AFTER(t_dall), EV_PARTS, AFTER(t_parts), AFTER(t_first), prod_up,
           AFTER(t_caught), AFTER(t_all),
           t_all < 0 || t_dall < 0 ? -1.0 : (double)(t_all - t_dall) / 1000);
#undef AFTER
    su_log("production ran %.0f s in all at %.0f records/s; producer %" PRIu64
           " delivered, %" PRIu64 " failed; lag now %.0f; /metrics unanswered (2 s timeout) %d "
           "times while catching up",
           stream_s, rate, x->fs.delivered, x->fs.failed, lag, unanswered);
    ASSERT(x->c.pid > 0);
    ASSERT_EQ(x->fs.delivered, n);
    ASSERT_EQ(x->fs.failed, 0);
    ASSERT(t_all > 0);
    readyz(port, ready, sizeof(ready));
    su_log("after the catch-up: /readyz \"%s\"", ready);
    ASSERT(!strcmp(ready, "ready")); /* ready again once the brokers answer */

    kill(x->c.pid, SIGTERM);
    code = su_wait(x->c.pid, 60000);
    x->c.pid = -1;
    if (code) ku_tail(log, 30);
    ASSERT_EQ(code, 0);
    ku_stats_t s = {0};
    ASSERT_OK(ku_read_stats(stats, &s));
    su_log("daemon: read %.0f (re-read %.0f), applied %.0f, duplicates %.0f, late %.0f, dlq %.0f, "
           "lists %.0f",
           s.events, s.events - (double)n, s.applied, s.duplicates, s.late, s.dlq, s.recs);
    ko_check_stats(o, &s, n);
    if (rs_test_failed_) return;
    ASSERT_OK(ku_dump(bin, dir, &x->c.d));
    ko_check_dump(o, &x->c.d, t_ev, EV_PARTS, n);
    if (rs_test_failed_) return;
    su_log("state exact: 0 lost, 0 double-counted (%" PRIu64 " applied)", o->base.applied);

    ko_recs_open(&x->c.rc, o);
    if (rs_test_failed_) return;
    ko_read_back(&x->c.rc, bs, NULL, t_rec, t_dlq, (uint64_t)s.recs);
    if (rs_test_failed_) return;
    su_log("broker_restart: %.1f s in all", ku_secs(t0));
}

static void rst_cleanup(rst_t *x) {
    if (x->c.pid > 0) kill(x->c.pid, SIGKILL), waitpid(x->c.pid, NULL, 0);
    ku_feed_join(&x->feed); /* rs_feed_run gives up within 60 s without a broker */
    ku_broker_stop(&x->br, rs_test_failed_);
    rs_gen_destroy(x->gen);
    ko_ctx_done(&x->c);
}

TEST(broker_restart) {
    rst_t x = {.c = {.pid = -1}, .br = {.guard_fd = -1}};
    restart_body(&x);
    rst_cleanup(&x);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    setvbuf(stderr, NULL, _IOLBF, 0);
    int skip = ku_skip_or_fail("test_broker_restart");
    if (skip) return skip > 0;
    return RUN_TESTS(t_broker_restart);
}
