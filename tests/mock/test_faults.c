/* test_faults.c -- the whole daemon under faults, on librdkafka's mock
 * cluster (3 brokers): the final state must equal a fault-free run's, and
 * every output must be there exactly once.
 *
 * Each scenario feeds N generated events (dup/late/bad as in test_e2e) LIVE
 * into its own topic (8 partitions) from a producer thread while the real
 * daemon consumes it in-process with its own group, state dir and output
 * topics; a controller thread injects faults once the daemon has committed
 * a quarter (and half) of the stream. The oracle is a reference run of the
 * same daemon over the same input (same seed, so the same records in the
 * same partitions) without faults: `state dump` texts must be equal byte
 * for byte (topic names normalised), i.e. nothing lost, nothing counted
 * twice, offsets at the end. Outputs: the DLQ holds exactly the invalid
 * records, once each (unique rs-source-partition/offset, exact per-reason
 * counts from the generator), and the recommendations topic exactly the
 * lists the daemon emitted (no produce error, no duplicate delivery).
 *
 * Scenarios: request errors (on a pre-produced input read in small
 * fetches, see the test for why) (Fetch NOT_LEADER / REQUEST_TIMED_OUT, Produce
 * NOT_LEADER / REQUEST_TIMED_OUT, OffsetCommit COORDINATOR_LOAD_IN_PROGRESS /
 * NOT_COORDINATOR), leader moves of every partition twice, a broker down for
 * 2 s twice, and a RocksDB write failure through the RS_FAULT_ROCKS_WRITE
 * hook: consumption pauses (events_in stays put across retries), /readyz
 * answers 503 with the error, /metrics shows the paused gauge and one
 * failure, exactly one "write failed" and one "resumed" log line; after the
 * flag file goes, /readyz is 200 again and the run completes exactly.
 * (A real full filesystem is exercised at the wrapper level, test_rocks
 * write_fault_disk_full.) Sleeps only shape the faults; no assertion depends
 * on timing. Runtime ~60-90 s (each run waits ~3 s for its group).
 * Knobs: RS_TEST_SEED, RS_FAULTS_ONLY=<test> (reference + that test),
 * RS_TEST_KEEP=1 (keep the state directories). */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e_util.h"
#include "recstream/rs_log.h"
#include "recstream/rs_state.h"
#include "rs_test.h"
#include "slow/slow_util.h"

#define N_EVENTS   20000
#define EV_PARTS   8
#define RATE       8000.0 /* records/s of the live feed: ~2.5 s per run */
#define WATCHDOG_S 90

/* Kafka API keys and error codes (protocol constants) */
enum { API_PRODUCE = 0, API_FETCH = 1, API_OFFSET_COMMIT = 8 };
enum { NOT_LEADER = 6, REQUEST_TIMED_OUT = 7, COORD_LOADING = 14, NOT_COORDINATOR = 16 };

typedef struct run run_t;
typedef void(fault_fn_t)(run_t *r);

struct run {
    const char *name;
    char topic[64], recs[64], dlq[64];
    char *dir;
    rs_conf_t *conf;
    int http_port;
    rs_feed_stats_t fs;
    int feed_rc;
    double rate;
    atomic_ullong committed; /* events_in at the last commit (on_flush) */
    rs_stats_t stats;
    char *dump;
    /* rocks scenario observations */
    int ready_status_paused, ready_status_after;
    char ready_body[512];
    double paused_gauge, failures_paused;
    double events_a, events_b;
    int timed_out;
    /* all-brokers-down scenario observations */
    int ready_status_down;
    double kafka_ready_down, kafka_ready_after;
    int backlog;            /* feed everything before the daemon starts */
    rs_daemon_t *d;         /* the daemon, for a live feed that finds its input short */
    atomic_int input_short; /* the topic holds fewer records than were acknowledged: */
    uint64_t input_held;    /* how many (written before input_short is set) */
    const char *extra[4];   /* more daemon settings, key=value */
};

static rs_mock_t *g_mock;
static char *g_ref_dump;
static rs_stats_t g_ref_stats;

static rs_gen_opts_t gen_opts(void) {
    rs_gen_opts_t go;
    rs_gen_opts_default(&go);
    go.seed = rs_test_seed();
    go.users = 2000;
    go.items = 1000;
    go.pairs = 10;
    go.dup_rate = 0.02;
    go.late_rate = 0.02;
    go.bad_rate = 0.01;
    return go;
}

static double metric(int port, const char *name) {
    char *b = su_http_get(port, "/metrics");
    double v = b ? su_metric(b, name) : -1;
    free(b);
    return v;
}

/* The live feed: starts once the daemon owns every partition (so the
 * faults hit a flowing stream, not a backlog), paced at r->rate. */
static void *feed_main(void *arg) {
    run_t *r = arg;
    char err[512];
    for (int i = 0; r->rate > 0 && i < 3000; i++) {
        if (metric(r->http_port, "recstream_partitions_assigned") >= EV_PARTS) break;
        su_sleep_ms(10);
    }
    rs_gen_opts_t go = gen_opts();
    rs_gen_t *gen = rs_gen_new(&go);
    /* Idempotent: a plain producer cut off by a broker outage retries, and
     * the mock then stored up to 6 records twice (seen in CI), which
     * corrupts the input rather than testing the daemon. */
    rs_kv_t kv[4] = {{(char *)"bootstrap.servers", (char *)rs_mock_bootstraps(g_mock), (char *)"t"},
                     {(char *)"compression.codec", (char *)"lz4", (char *)"t"},
                     {(char *)"reconnect.backoff.max.ms", (char *)"1000", (char *)"t"},
                     {(char *)"enable.idempotence", (char *)"true", (char *)"t"}};
    r->feed_rc = rs_feed_run(kv, 4, r->topic, gen, N_EVENTS, r->rate, 10, &r->fs, err, sizeof(err));
    if (r->feed_rc) fprintf(stderr, "  feed %s: %s\n", r->topic, err);
    rs_gen_destroy(gen);
    /* A live feed meets the faults too, and the 2.0.2 mock sometimes loses
     * batches its idempotent producer retried after a leader move (it once
     * held 19,995 of 20,000 acknowledged records). The daemon would wait for
     * them until the watchdog; such a run says nothing about the daemon. */
    if (r->rate > 0 && !r->feed_rc && r->fs.delivered == N_EVENTS) {
        uint64_t held = su_count_topic(rs_mock_bootstraps(g_mock), r->topic, EV_PARTS, N_EVENTS);
        if (held < N_EVENTS) {
            r->input_held = held;
            atomic_store(&r->input_short, 1);
            rs_daemon_stop_async(r->d); /* still running: it cannot reach N_EVENTS */
        }
    }
    return NULL;
}

static void on_flush(void *opaque, const rs_stats_t *s) {
    run_t *r = opaque;
    atomic_store(&r->committed, s->events_in);
}

/* Waits until the daemon committed at least n events (or 60 s, or the
 * input is found short). */
static void wait_committed(run_t *r, uint64_t n) {
    for (int i = 0; i < 6000 && atomic_load(&r->committed) < n && !atomic_load(&r->input_short);
         i++)
        su_sleep_ms(10);
}

/* Status code and body of GET http://127.0.0.1:port/path (0: unreachable). */
static int http_status(int port, const char *path, char *body, size_t size) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (body && size) body[0] = '\0';
    if (fd < 0) return 0;
    struct timeval tv = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    char buf[2048];
    int st = 0, rl = snprintf(buf, sizeof(buf), "GET %s HTTP/1.0\r\n\r\n", path);
    if (!connect(fd, (struct sockaddr *)&a, sizeof(a)) && write(fd, buf, (size_t)rl) == rl) {
        size_t len = 0;
        ssize_t n;
        while (len < sizeof(buf) - 1 && (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
            len += (size_t)n;
        buf[len] = '\0';
        if (sscanf(buf, "HTTP/1.%*d %d", &st) != 1) st = -1;
        const char *b = strstr(buf, "\r\n\r\n");
        if (body && b) snprintf(body, size, "%s", b + 4);
    }
    close(fd);
    return st;
}

/* ------------------------------------------------------------ faults */

static void fault_errors(run_t *r) {
    /* first wave as soon as the group is formed: the first fetches, offset
     * commits and outputs meet it; the second one mid-stream */
    for (int i = 0; i < 3000 && metric(r->http_port, "recstream_partitions_assigned") < EV_PARTS;
         i++)
        su_sleep_ms(10);
    rs_mock_push_errors(g_mock, API_FETCH, 5, NOT_LEADER);
    rs_mock_push_errors(g_mock, API_PRODUCE, 5, NOT_LEADER);
    rs_mock_push_errors(g_mock, API_OFFSET_COMMIT, 5, COORD_LOADING);
    wait_committed(r, N_EVENTS / 2);
    rs_mock_push_errors(g_mock, API_FETCH, 3, REQUEST_TIMED_OUT);
    rs_mock_push_errors(g_mock, API_PRODUCE, 3, REQUEST_TIMED_OUT);
    rs_mock_push_errors(g_mock, API_OFFSET_COMMIT, 3, NOT_COORDINATOR);
}

static void move_leaders(run_t *r, int shift) {
    for (int p = 0; p < EV_PARTS; p++)
        rs_mock_partition_leader(g_mock, r->topic, p, (p + shift) % 3 + 1);
    for (int p = 0; p < 4; p++) rs_mock_partition_leader(g_mock, r->recs, p, (p + shift) % 3 + 1);
    rs_mock_partition_leader(g_mock, r->dlq, 0, shift % 3 + 1);
}

static void fault_leaders(run_t *r) {
    wait_committed(r, N_EVENTS / 4);
    move_leaders(r, 1);
    wait_committed(r, N_EVENTS / 2);
    move_leaders(r, 2);
}

static void fault_broker_down(run_t *r) {
    wait_committed(r, N_EVENTS / 4);
    rs_mock_broker_down(g_mock, 1);
    su_sleep_ms(2000);
    rs_mock_broker_up(g_mock, 1);
    wait_committed(r, N_EVENTS / 2);
    rs_mock_broker_down(g_mock, 2);
    su_sleep_ms(2000);
    rs_mock_broker_up(g_mock, 2);
}

static void fault_rocks(run_t *r) {
    char flag[600];
    snprintf(flag, sizeof(flag), "%s.fail", r->dir);
    wait_committed(r, N_EVENTS / 4);
    FILE *f = fopen(flag, "w");
    if (f) fclose(f);
    int i;
    for (i = 0; i < 2000 && metric(r->http_port, "recstream_state_write_paused") != 1; i++)
        su_sleep_ms(10);
    r->timed_out |= i == 2000;
    r->paused_gauge = metric(r->http_port, "recstream_state_write_paused");
    r->failures_paused = metric(r->http_port, "recstream_state_write_failures_total");
    r->ready_status_paused =
        http_status(r->http_port, "/readyz", r->ready_body, sizeof(r->ready_body));
    /* paused: nothing consumed across retries */
    double r0 = metric(r->http_port, "recstream_state_write_retries_total");
    r->events_a = metric(r->http_port, "recstream_events_in_total");
    for (i = 0; i < 2000 && metric(r->http_port, "recstream_state_write_retries_total") < r0 + 3;
         i++)
        su_sleep_ms(10);
    r->timed_out |= i == 2000;
    r->events_b = metric(r->http_port, "recstream_events_in_total");
    unlink(flag);
    for (i = 0; i < 2000 && http_status(r->http_port, "/readyz", NULL, 0) != 200; i++)
        su_sleep_ms(10);
    r->ready_status_after = http_status(r->http_port, "/readyz", NULL, 0);
}

/* Every broker down for a while: /readyz says Kafka is down, then recovers
 * once the brokers answer again; the state is still exact. */
static void fault_all_down(run_t *r) {
    wait_committed(r, N_EVENTS / 4);
    for (int b = 1; b <= 3; b++) rs_mock_broker_down(g_mock, b);
    int i;
    for (i = 0; i < 3000 && http_status(r->http_port, "/readyz", NULL, 0) != 503; i++)
        su_sleep_ms(10);
    r->timed_out |= i == 3000;
    r->ready_status_down =
        http_status(r->http_port, "/readyz", r->ready_body, sizeof(r->ready_body));
    r->kafka_ready_down = metric(r->http_port, "recstream_kafka_ready");
    for (int b = 1; b <= 3; b++) rs_mock_broker_up(g_mock, b);
    for (i = 0; i < 6000 && http_status(r->http_port, "/readyz", NULL, 0) != 200; i++)
        su_sleep_ms(10);
    r->timed_out |= i == 6000;
    r->ready_status_after = http_status(r->http_port, "/readyz", NULL, 0);
    r->kafka_ready_after = metric(r->http_port, "recstream_kafka_ready");
}

typedef struct ctl {
    run_t *r;
    fault_fn_t *fn;
} ctl_t;

static void *ctl_main(void *arg) {
    ctl_t *c = arg;
    c->fn(c->r);
    return NULL;
}

/* ------------------------------------------------------------ checks */

/* The state dump with "offset <topic> " made topic-independent. */
static char *dump_state(run_t *r) {
    char err[512];
    rs_state_t *st = NULL;
    if (rs_state_open_ro(&st, r->conf, err, sizeof(err))) {
        fprintf(stderr, "  open %s: %s\n", r->dir, err);
        return NULL;
    }
    char *raw = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&raw, &len);
    int rc = rs_state_dump(st, f, err, sizeof(err));
    fclose(f);
    rs_state_close(st);
    if (rc) {
        fprintf(stderr, "  dump %s: %s\n", r->dir, err);
        free(raw);
        return NULL;
    }
    rs_buf_t out = {0};
    char pat[80];
    int pl = snprintf(pat, sizeof(pat), "offset %s ", r->topic);
    for (const char *p = raw; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p + 1) : strlen(p);
        if (!strncmp(p, pat, (size_t)pl)) {
            rs_buf_append(&out, "offset T ", 9);
            rs_buf_append(&out, p + pl, n - (size_t)pl);
        } else {
            rs_buf_append(&out, p, n);
        }
        p += n;
    }
    rs_buf_append(&out, "", 1);
    free(raw);
    return (char *)out.p;
}

typedef struct dlq_read {
    uint64_t per_reason[RS_REJ__COUNT];
    uint64_t total, dup_src;
    uint8_t *seen[EV_PARTS]; /* by source offset */
} dlq_read_t;

static void on_dlq(void *opaque, const rs_msg_t *m) {
    dlq_read_t *q = opaque;
    char err[64], part[24], off[32];
    e2e_header(m, "rs-error", err, sizeof(err));
    e2e_header(m, "rs-source-partition", part, sizeof(part));
    e2e_header(m, "rs-source-offset", off, sizeof(off));
    q->total++;
    for (int r = 0; r < RS_REJ__COUNT; r++)
        if (!strcmp(err, rs_reject_name((rs_reject_t)r))) q->per_reason[r]++;
    long p = atol(part), o = atol(off);
    if (p < 0 || p >= EV_PARTS || o < 0 || o >= N_EVENTS || q->seen[p][o]++) q->dup_src++;
}

static void on_count(void *opaque, const rs_msg_t *m) {
    (*(uint64_t *)opaque)++;
}

/* Runs the daemon over r's topic (fn: faults from a controller thread,
 * NULL for the reference) and checks everything against the reference. */
static void run_scenario(run_t *r, fault_fn_t *fn) {
    char err[512], kv[700];
    snprintf(r->topic, sizeof(r->topic), "ev-%s", r->name);
    snprintf(r->recs, sizeof(r->recs), "recs-%s", r->name);
    snprintf(r->dlq, sizeof(r->dlq), "dlq-%s", r->name);
    ASSERT_OK(rs_mock_topic_create(g_mock, r->topic, EV_PARTS));
    ASSERT_OK(rs_mock_topic_create(g_mock, r->recs, 4));
    ASSERT_OK(rs_mock_topic_create(g_mock, r->dlq, 1));
    r->dir = e2e_tmpdir("rs-faults");
    ASSERT(r->dir != NULL);
    r->conf = e2e_conf(g_mock, r->dir);
    ASSERT(r->conf != NULL);
    r->http_port = su_free_port();
    const char *sets[][2] = {
        {"topic.events", r->topic}, {"topic.recommendations", r->recs},
        {"topic.dlq", r->dlq},      {"group.id", r->name},
        {"state.retry.ms", "100"},  {"kafka.reconnect.backoff.max.ms", "1000"}};
    for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
        snprintf(kv, sizeof(kv), "%s=%s", sets[i][0], sets[i][1]);
        ASSERT_OK(rs_conf_set_kv(r->conf, kv, err, sizeof(err)));
    }
    snprintf(kv, sizeof(kv), "http.port=%d", r->http_port);
    ASSERT_OK(rs_conf_set_kv(r->conf, kv, err, sizeof(err)));
    for (int i = 0; i < 4 && r->extra[i]; i++)
        ASSERT_OK(rs_conf_set_kv(r->conf, r->extra[i], err, sizeof(err)));
    r->rate = fn && !r->backlog ? RATE : 0;

    pthread_t feed, ctl_th;
    ctl_t ctl = {r, fn};
    if (!fn || r->backlog) { /* the whole input first */
        feed_main(r);
        ASSERT_OK(r->feed_rc);
    }
    char flag_env[600];
    if (fn == fault_rocks) {
        snprintf(flag_env, sizeof(flag_env), "%s.fail", r->dir);
        setenv("RS_FAULT_ROCKS_WRITE", flag_env, 1);
    }
    rs_daemon_t *d = NULL;
    rs_daemon_opts_t opts = {
        .stop_after_events = N_EVENTS, .no_signals = 1, .on_flush = on_flush, .opaque = r};
    int nrc = rs_daemon_new(&d, r->conf, &opts, err, sizeof(err));
    unsetenv("RS_FAULT_ROCKS_WRITE");
    if (nrc) fprintf(stderr, "  daemon: %s\n", err);
    ASSERT_OK(nrc);
    r->d = d;
    if (fn) {
        if (!r->backlog) pthread_create(&feed, NULL, feed_main, r);
        pthread_create(&ctl_th, NULL, ctl_main, &ctl);
    }
    /* the rocks scenario counts its log lines: stderr to a file meanwhile */
    char log_path[600];
    int saved = -1;
    if (fn == fault_rocks) {
        snprintf(log_path, sizeof(log_path), "%s.log", r->dir);
        fflush(stderr);
        saved = dup(2);
        int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, 2);
        close(fd);
    }
    e2e_watchdog_t wd;
    e2e_watchdog_start(&wd, d, WATCHDOG_S);
    int rc = rs_daemon_run(d);
    int fired = e2e_watchdog_stop(&wd);
    if (fn) {
        if (!r->backlog) pthread_join(feed, NULL);
        pthread_join(ctl_th, NULL);
    }
    r->stats = *rs_daemon_stats(d);
    rs_daemon_destroy(d);
    r->d = NULL;
    if (saved >= 0) {
        fflush(stderr);
        dup2(saved, 2);
        close(saved);
    }
    if (atomic_load(&r->input_short)) {
        fprintf(stderr, "  %s: the mock holds %llu of %d acknowledged input records\n", r->name,
                (unsigned long long)r->input_held, N_EVENTS);
        return; /* the caller runs the scenario again */
    }
    if (fired || r->fs.delivered != N_EVENTS)
        fprintf(stderr,
                "  %s: feed delivered %" PRIu64 " of %d; daemon consumed %" PRIu64
                ", committed %llu\n",
                r->name, r->fs.delivered, N_EVENTS, r->stats.events_in,
                (unsigned long long)atomic_load(&r->committed));
    if (fired)
        fprintf(stderr, "  %s: the topic holds %" PRIu64 " records\n", r->name,
                su_count_topic(rs_mock_bootstraps(g_mock), r->topic, EV_PARTS, N_EVENTS));
    ASSERT_OK(rc);
    ASSERT_EQ(fired, 0);
    ASSERT_OK(r->feed_rc);
    ASSERT_EQ(r->fs.delivered, N_EVENTS);

    /* exact state */
    r->dump = dump_state(r);
    ASSERT(r->dump != NULL);
    const rs_stats_t *s = &r->stats;
    ASSERT_EQ(s->events_in, N_EVENTS);
    ASSERT_EQ(s->events_duplicate, r->fs.dup);
    ASSERT_EQ(s->events_applied, r->fs.good + r->fs.late);
    ASSERT_EQ(s->recs_produce_errors, 0);
    ASSERT_EQ(s->dlq_produce_errors, 0);
    if (g_ref_dump) {
        ASSERT_EQ(s->events_late, g_ref_stats.events_late);
        size_t la = strlen(g_ref_dump), lb = strlen(r->dump);
        size_t i = 0;
        while (i < la && i < lb && g_ref_dump[i] == r->dump[i]) i++;
        if (i < la || i < lb)
            fprintf(stderr,
                    "  %s: state dump differs from the reference at byte %zu: \"%.80s\" vs "
                    "\"%.80s\"\n",
                    r->name, i, g_ref_dump + i, r->dump + i);
        ASSERT(la == lb && i == la);
    }

    /* exact outputs: each invalid record once in the DLQ, every list once */
    uint64_t expect[RS_REJ__COUNT] = {0};
    for (int k = 0; k < 16; k++)
        expect[e2e_reason_of(k)] += e2e_reason_of(k) ? r->fs.bad_kind[k] : 0;
    dlq_read_t q;
    memset(&q, 0, sizeof(q));
    for (int p = 0; p < EV_PARTS; p++) q.seen[p] = rs_xcalloc(N_EVENTS, 1);
    e2e_kv_t ckv = e2e_client_kv(g_mock, 0);
    int64_t n = e2e_read_topic(&ckv, r->dlq, 1, r->fs.bad, 30000, 300, on_dlq, &q);
    for (int p = 0; p < EV_PARTS; p++) free(q.seen[p]);
    ASSERT_EQ(n, r->fs.bad);
    ASSERT_EQ(q.dup_src, 0);
    for (int k = 0; k < RS_REJ__COUNT; k++) {
        ASSERT_EQ(q.per_reason[k], expect[k]);
        ASSERT_EQ(s->dlq[k], expect[k]);
    }
    uint64_t recs = 0;
    n = e2e_read_topic(&ckv, r->recs, 4, s->recs_emitted, 90000, 300, on_count, &recs);
    ASSERT_EQ(n, s->recs_emitted);
    printf("  %s: %" PRIu64 " in, %" PRIu64 " applied, %" PRIu64 " dlq, %" PRIu64 " lists, %" PRIu64
           " batches, %" PRIu64 " commit errors; state %s the reference\n",
           r->name, s->events_in, s->events_applied, q.total, recs, s->batches, s->commit_errors,
           g_ref_dump ? "equals" : "is");
}

static void run_free(run_t *r) {
    if (r->dir) {
        char p[600];
        snprintf(p, sizeof(p), "%s.log", r->dir);
        unlink(p);
        snprintf(p, sizeof(p), "%s.fail", r->dir);
        unlink(p);
    }
    e2e_rmtree(r->dir);
    rs_conf_destroy(r->conf);
    free(r->dump);
}

/* ------------------------------------------------------------ tests */

/* RS_FAULTS_ONLY=<test name>: run the reference and that test only. */
static int skip(const char *name) {
    const char *only = getenv("RS_FAULTS_ONLY");
    return only && *only && strcmp(only, name);
}

TEST(reference) {
    char err[256];
    ASSERT_OK(rs_mock_new(&g_mock, 3, err, sizeof(err)));
    run_t r = {.name = "ref"};
    run_scenario(&r, NULL);
    if (!rs_test_failed_) {
        g_ref_dump = r.dump, r.dump = NULL;
        g_ref_stats = r.stats;
    }
    run_free(&r);
}

TEST(request_errors) {
    ASSERT(g_ref_dump != NULL);
    if (skip("request_errors")) return;
    /* The input is produced first: injected Produce errors must hit only
     * the daemon's producer. The 2.0.2 mock loses records that an
     * idempotent producer retried after an injected Produce error (NOT_LEADER
     * or REQUEST_TIMED_OUT: the topic then held 2-5 fewer records than were
     * acknowledged, in 4 of 6 runs), which would corrupt the input rather
     * than test the daemon. Small fetches keep the backlog flowing while
     * the faults land. */
    run_t r = {.name = "errors",
               .backlog = 1,
               .extra = {"kafka.max.partition.fetch.bytes=4096", "commit.max.events=2000"}};
    run_scenario(&r, fault_errors);
    run_free(&r);
}

/* A scenario with a live feed, again on fresh topics (up to 3 runs) when
 * the mock lost acknowledged input (feed_main). */
static void run_live(const char *name, fault_fn_t *fn) {
    for (int attempt = 1; attempt <= 3; attempt++) {
        char nm[32];
        snprintf(nm, sizeof(nm), attempt == 1 ? "%s" : "%s-%d", name, attempt);
        run_t r = {.name = nm};
        run_scenario(&r, fn);
        int again = atomic_load(&r.input_short);
        run_free(&r);
        if (!again || rs_test_failed_) return;
    }
    RS_T_FAIL_("the mock lost acknowledged input records in 3 runs");
}

TEST(leader_changes) {
    ASSERT(g_ref_dump != NULL);
    if (skip("leader_changes")) return;
    run_live("leaders", fault_leaders);
}

TEST(broker_down_up) {
    ASSERT(g_ref_dump != NULL);
    if (skip("broker_down_up")) return;
    run_live("down", fault_broker_down);
}

TEST(all_brokers_down) {
    ASSERT(g_ref_dump != NULL);
    if (skip("all_brokers_down")) return;
    /* Input produced first, as for request_errors: a producer cut off by
     * the outage retries, and the 2.0.2 mock then stored 3 records twice
     * (seen in CI). Small fetches and a small prefetch keep the backlog
     * flowing across the outage rather than all in the consumer's queue. */
    run_t r = {.name = "alldown",
               .backlog = 1,
               .extra = {"kafka.max.partition.fetch.bytes=4096",
                         "kafka.queued.max.messages.kbytes=64", "commit.max.events=2000"}};
    run_scenario(&r, fault_all_down);
    if (!rs_test_failed_) {
        printf("  down: /readyz %d \"%.*s\"\n", r.ready_status_down,
               (int)strcspn(r.ready_body, "\n"), r.ready_body);
        ASSERT_EQ(r.timed_out, 0);
        ASSERT_EQ(r.ready_status_down, 503);
        ASSERT(strstr(r.ready_body, "not ready: Kafka: ") != NULL);
        ASSERT_EQ(r.kafka_ready_down, 0);
        ASSERT_EQ(r.ready_status_after, 200);
        ASSERT_EQ(r.kafka_ready_after, 1);
    }
    run_free(&r);
}

static size_t count_lines(const char *path, const char *needle) {
    FILE *f = fopen(path, "r");
    char line[4096];
    size_t n = 0;
    while (f && fgets(line, sizeof(line), f))
        if (strstr(line, needle)) n++;
    if (f) fclose(f);
    return n;
}

TEST(rocks_write_failure) {
    ASSERT(g_ref_dump != NULL);
    if (skip("rocks_write_failure")) return;
    run_t r = {.name = "rocks"};
    run_scenario(&r, fault_rocks);
    if (!rs_test_failed_) {
        char log_path[600];
        snprintf(log_path, sizeof(log_path), "%s.log", r.dir);
        printf("  paused: /readyz %d \"%.*s\"\n", r.ready_status_paused,
               (int)strcspn(r.ready_body, "\n"), r.ready_body);
        size_t failed = count_lines(log_path, "state: write failed (");
        size_t resumed = count_lines(log_path, "consumption resumed");
        if (failed != 1 || resumed != 1) {
            FILE *f = fopen(log_path, "r");
            char line[4096];
            while (f && fgets(line, sizeof(line), f)) fputs(line, stderr);
            if (f) fclose(f);
        }
        ASSERT_EQ(r.timed_out, 0);
        ASSERT_EQ(r.ready_status_paused, 503);
        ASSERT(strstr(r.ready_body, "not ready: state write failed (IO error: No space left on "
                                    "device") != NULL);
        ASSERT(strstr(r.ready_body, "consumption paused") != NULL);
        ASSERT_EQ(r.paused_gauge, 1);
        ASSERT_EQ(r.failures_paused, 1);
        ASSERT(r.events_a > 0);
        ASSERT_EQ(r.events_a, r.events_b); /* nothing consumed across 3 retries */
        ASSERT_EQ(r.ready_status_after, 200);
        ASSERT_EQ(r.stats.state_write_failures, 1);
        ASSERT_EQ(r.stats.state_write_paused, 0);
        ASSERT(r.stats.state_write_retries >= 3);
        ASSERT_EQ(failed, 1);
        ASSERT_EQ(resumed, 1);
    }
    run_free(&r);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    rs_log_level = RS_LOG_WARN;
    int rc = RUN_TESTS(t_reference, t_request_errors, t_leader_changes, t_broker_down_up,
                       t_all_brokers_down, t_rocks_write_failure);
    free(g_ref_dump);
    rs_mock_destroy(g_mock);
    return rc;
}
