/* cmd_bench.c -- `recstream bench`: throughput, latency, memory, state size.
 *
 * One run, four phases, same machine, same topic data:
 *  1. produce N generated events (Confluent Avro, keyed by user) to a fresh
 *     topic on the embedded mock cluster (or -b BROKERS);
 *  2. raw consume: a bare librdkafka consumer (no group) reads all N records
 *     with the same fetch settings the pipeline uses -> raw_consume_per_sec;
 *  3. full pipeline: `recstream run` as a child process (its own RSS), fresh
 *     state dir and group, until all N are consumed, committed and every
 *     recommendation delivered -> events_per_sec, rss_mb, state_bytes;
 *  3b. the same again on the same records with segments and alerts off
 *     (segments.enable=false, alert.enable=false) -> what they cost, as a
 *     ratio of two throughputs measured in one run;
 *  4. latency: a second fresh topic, a fresh child, and events produced at a
 *     fixed rate (--rate, default half of phase 3's throughput), generated
 *     and encoded before the clock starts so that the load generator only
 *     produces, with their produce time as CreateTime -> p50/p99 from
 *     produce to delivery of the refreshed recommendation list.
 * Phases 3 and 4 also report the child's CPU per event, on its loop thread
 * and in all its threads: a cost that other load on a shared machine moves
 * far less than it moves a rate.
 * Throughput is measured from the first record the consumer sees, so the
 * consumer-group join (3 s on the mock) is not counted. */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <time.h>

#include "recstream/rs_buf.h"
#include "recstream/rs_codec.h"
#include "recstream/rs_kafka.h"
#include "recstream/rs_pipeline.h"
#include "recstream/rs_log.h"
#include "rs_cli.h"
#include "recstream/rs_feed.h"

static void usage(FILE *out) {
    fprintf(out, "usage: recstream bench [--events N] [--users N] [--items N] [--partitions P]\n"
                 "                       [--rate R] [--latency-events M] [-b BROKERS]\n"
                 "                       [-c FILE] [-X key=value]... [--json]\n"
                 "\n"
                 "  --events N          events for the throughput phases (default 1000000)\n"
                 "  --users N           distinct users (default 100000)\n"
                 "  --partitions P      topic partitions (default 48: the mock keeps ~5 MiB each)\n"
                 "  --rate R            events/s for the latency phase (default: half the\n"
                 "                      measured pipeline throughput)\n"
                 "  --latency-events M  events in the latency phase (default min(N, 10 s at R))\n"
                 "  -b BROKERS          use a real Kafka instead of the embedded mock cluster\n"
                 "  --engine-only       only the in-memory engine phase (no Kafka), CPU time\n"
                 "  --json              one JSON object on stdout\n");
}

typedef struct child_stats {
    double events, eps, p50, p99, rss, seconds, recs, samples, batches, cp50, cp99, p90;
    double loop_cpu, proc_cpu; /* CPU seconds: the loop thread, the whole child */
    double pp50, pp99;         /* consumed -> its batch's lists handed to the producer */
} child_stats_t;

static double json_num(const char *s, const char *key) {
    char pat[64];
    snprintf(pat, sizeof(pat), "\"%s\":", key);
    const char *p = strstr(s, pat);
    return p ? atof(p + strlen(pat)) : -1;
}

/* Starts `recstream run` on the topic; it exits after stop_after records. */
static int run_child(const char *self, rs_cli_conf_t *cc, const char *bootstrap, const char *topic,
                     const char *state_dir, const char *group, uint64_t stop_after,
                     const char *stats_path, int http_port, int no_watch, pid_t *pid_out) {
    char stop[32];
    snprintf(stop, sizeof(stop), "%" PRIu64, stop_after);
    char xb[512], xt[256], xs[512], xg[256];
    snprintf(xb, sizeof(xb), "kafka.bootstrap.servers=%s", bootstrap);
    snprintf(xt, sizeof(xt), "topic.events=%s", topic);
    snprintf(xs, sizeof(xs), "state.dir=%s", state_dir);
    snprintf(xg, sizeof(xg), "group.id=%s", group);
    const char *argv[64];
    int n = 0;
    argv[n++] = self;
    argv[n++] = "run";
    if (cc->file) argv[n++] = "-c", argv[n++] = cc->file;
    for (int i = 0; i < cc->n_x && n < 48; i++) argv[n++] = "-X", argv[n++] = cc->x[i];
    argv[n++] = "-X", argv[n++] = xb;
    argv[n++] = "-X", argv[n++] = xt;
    argv[n++] = "-X", argv[n++] = xs;
    argv[n++] = "-X", argv[n++] = xg;
    char xh[64];
    snprintf(xh, sizeof(xh), "http.port=%d", http_port > 0 ? http_port : 0);
    argv[n++] = "-X", argv[n++] = xh;
    argv[n++] = "-X", argv[n++] = "log.level=warn";
    if (no_watch) {
        argv[n++] = "-X", argv[n++] = "segments.enable=false";
        argv[n++] = "-X", argv[n++] = "alert.enable=false";
    }
    argv[n++] = "--stop-after", argv[n++] = stop;
    argv[n++] = "--stats-json", argv[n++] = stats_path;
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        execv(self, (char *const *)argv);
        _exit(127);
    }
    *pid_out = pid;
    return 0;
}

static int wait_child(pid_t pid, const char *stats_path, child_stats_t *cs) {
    int status = 0;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
        fprintf(stderr, "bench: pipeline process failed (status %d)\n", status);
        return -1;
    }
    FILE *f = fopen(stats_path, "r");
    if (!f) return -1;
    char buf[2048];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    cs->events = json_num(buf, "events");
    cs->eps = json_num(buf, "events_per_sec");
    cs->p50 = json_num(buf, "p50_ms");
    cs->p99 = json_num(buf, "p99_ms");
    cs->rss = json_num(buf, "rss_mb");
    cs->seconds = json_num(buf, "seconds");
    cs->recs = json_num(buf, "recs");
    cs->samples = json_num(buf, "e2e_samples");
    cs->batches = json_num(buf, "batches");
    cs->cp50 = json_num(buf, "consume_p50_ms");
    cs->cp99 = json_num(buf, "consume_p99_ms");
    cs->p90 = json_num(buf, "p90_ms");
    cs->loop_cpu = json_num(buf, "loop_cpu_s");
    cs->proc_cpu = json_num(buf, "process_cpu_s");
    cs->pp50 = json_num(buf, "pipeline_p50_ms");
    cs->pp99 = json_num(buf, "pipeline_p99_ms");
    return 0;
}

/* Microseconds of CPU per event from a child's totals (0 if unknown). */
static double per_event(double cpu_s, double events) {
    return cpu_s > 0 && events > 0 ? cpu_s * 1e6 / events : 0;
}

static void null_rec(void *opaque, const rs_rec_t *rec, const void *key, size_t klen,
                     const void *val, size_t vlen, int64_t origin_us) {
    (*(uint64_t *)opaque)++;
}

/* Alerts and segment changes are encoded as for Kafka, then dropped. */
static void null_alert(void *opaque, const rs_alert_t *a, const void *key, size_t klen,
                       const void *val, size_t vlen) {}
static void null_segment(void *opaque, const rs_segment_change_t *c, const void *key, size_t klen,
                         const void *val, size_t vlen) {}

/* Phase 0: the engine alone (decode, validate, dedup, state, scoring, rec
 * encoding, commits) fed from memory, timed in thread CPU time so other load
 * on the machine does not distort it. Same batching as the daemon. */
static double engine_only(const rs_conf_t *base, const rs_gen_opts_t *go, uint64_t n,
                          const char *dir, int no_watch, double *cpu_us_per_event, uint64_t *recs) {
    char err[512];
    rs_conf_t *conf = rs_conf_new();
    rs_conf_set(conf, "state.dir", dir, "bench", err, sizeof(err));
    if (no_watch) {
        rs_conf_set(conf, "segments.enable", "false", "bench", err, sizeof(err));
        rs_conf_set(conf, "alert.enable", "false", "bench", err, sizeof(err));
    }
    rs_stats_t stats;
    memset(&stats, 0, sizeof(stats));
    rs_sink_t sink = {recs, null_rec, NULL, null_alert, null_segment};
    rs_pipeline_t *p = NULL;
    rs_codec_t *codec = NULL;
    rs_gen_t *g = rs_gen_new(go);
    double eps = 0;
    if (rs_pipeline_new(&p, conf, &sink, &stats, err, sizeof(err)) ||
        rs_codec_new(&codec, err, sizeof(err))) {
        fprintf(stderr, "bench: %s\n", err);
        goto done;
    }
    /* encode up front: the consumer hands the pipeline encoded records */
    rs_buf_t all = {0};
    size_t *off = rs_xmalloc((n + 1) * sizeof(size_t));
    for (uint64_t i = 0; i < n; i++) {
        off[i] = all.len;
        rs_codec_encode_event(codec, rs_gen_next(g, NULL), RS_FMT_CONFLUENT, 1, &all);
    }
    off[n] = all.len;
    size_t batch = (size_t)base->batch_max_events;
    double c0 = rs_cli_cpu_s(CLOCK_THREAD_CPUTIME_ID);
    rs_msg_t m;
    memset(&m, 0, sizeof(m));
    m.topic = "bench";
    for (uint64_t i = 0; i < n; i++) {
        m.payload = all.p + off[i];
        m.len = off[i + 1] - off[i];
        m.partition = (int32_t)(i & 7);
        m.offset = (int64_t)(i >> 3);
        rs_pipeline_process(p, &m);
        if ((i + 1) % batch == 0 || i + 1 == n) rs_pipeline_score(p);
        if ((i + 1) % (uint64_t)base->commit_max_events == 0)
            rs_pipeline_commit(p, err, sizeof(err));
    }
    rs_pipeline_commit(p, err, sizeof(err));
    double cpu = rs_cli_cpu_s(CLOCK_THREAD_CPUTIME_ID) - c0;
    *cpu_us_per_event = cpu * 1e6 / (double)n;
    eps = cpu > 0 ? (double)n / cpu : 0;
    rs_buf_free(&all);
    free(off);
done:
    rs_gen_destroy(g);
    rs_codec_destroy(codec);
    rs_pipeline_destroy(p);
    rs_conf_destroy(conf);
    return eps;
}

/* A free loopback port (bind 0, read it back, close). */
static int free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof(a);
    int port = -1;
    if (fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof(a)) &&
        !getsockname(fd, (struct sockaddr *)&a, &l))
        port = ntohs(a.sin_port);
    if (fd >= 0) close(fd);
    return port;
}

/* Value of a metric line "NAME VALUE" from the child's /metrics, or -1. */
static double scrape(int port, const char *name) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    double v = -1;
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
        close(fd);
        return -1;
    }
    const char req[] = "GET /metrics HTTP/1.0\r\n\r\n";
    if (write(fd, req, sizeof(req) - 1) < 0) {
        close(fd);
        return -1;
    }
    rs_buf_t b = {0};
    char chunk[4096];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof(chunk))) > 0) rs_buf_append(&b, chunk, (size_t)n);
    close(fd);
    rs_buf_cstr(&b);
    char pat[128];
    snprintf(pat, sizeof(pat), "\n%s ", name);
    const char *p = strstr(b.p, pat);
    if (p) v = atof(p + strlen(pat));
    rs_buf_free(&b);
    return v;
}

/* Phase 2: bare consumer over all partitions from the beginning. */
static double raw_consume(rs_kv_t *kafka, size_t nk, const char *topic, int parts, uint64_t n,
                          uint64_t *got_out) {
    char err[512];
    rs_consumer_t *c = NULL;
    if (rs_consumer_new(&c, kafka, nk, NULL, NULL, err, sizeof(err))) {
        fprintf(stderr, "bench: %s\n", err);
        return 0;
    }
    rs_tp_t *tps = rs_xcalloc((size_t)parts, sizeof(*tps));
    int64_t *offs = rs_xcalloc((size_t)parts, sizeof(*offs));
    for (int i = 0; i < parts; i++) tps[i] = (rs_tp_t){topic, i}, offs[i] = RS_OFFSET_BEGINNING;
    rs_consumer_assign(c, tps, offs, (size_t)parts, err, sizeof(err));
    rs_msg_t *msgs = rs_xcalloc(1024, sizeof(*msgs));
    uint64_t got = 0;
    int64_t t0 = 0, deadline = rs_now_ms() + 120000;
    while (got < n && rs_now_ms() < deadline) {
        size_t k = rs_consumer_poll_wait(c, msgs, 1024, 100);
        if (k && !t0) t0 = rs_mono_us();
        for (size_t i = 0; i < k; i++) got += msgs[i].err == 0;
        rs_consumer_release(c, msgs, k);
    }
    double secs = t0 ? (double)(rs_mono_us() - t0) / 1e6 : 0;
    free(msgs);
    free(tps);
    free(offs);
    rs_consumer_destroy(c);
    *got_out = got;
    return secs > 0 ? (double)got / secs : 0;
}

int cmd_bench(int argc, char **argv) {
    static const struct option lo[] = {{"events", required_argument, 0, 'n'},
                                       {"users", required_argument, 0, 'u'},
                                       {"items", required_argument, 0, 'i'},
                                       {"partitions", required_argument, 0, 'p'},
                                       {"rate", required_argument, 0, 'r'},
                                       {"latency-events", required_argument, 0, 'm'},
                                       {"json", no_argument, 0, 'j'},
                                       {"config", required_argument, 0, 'c'},
                                       {"brokers", required_argument, 0, 'b'},
                                       {"seed", required_argument, 0, 's'},
                                       {"engine-only", no_argument, 0, 'e'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    rs_cli_conf_t cc = {0};
    rs_gen_opts_t go;
    rs_gen_opts_default(&go);
    uint64_t n_events = 1000000, lat_events = 0;
    double rate = 0;
    int parts = 48, json = 0, engine_only_flag = 0, c;
    const char *brokers = NULL;
    while ((c = getopt_long(argc, argv, "c:X:b:h", lo, NULL)) != -1) {
        switch (c) {
        case 'n':
            n_events = strtoull(optarg, NULL, 10);
            break;
        case 'u':
            go.users = (uint32_t)strtoul(optarg, NULL, 10);
            break;
        case 'i':
            go.items = (uint32_t)strtoul(optarg, NULL, 10);
            break;
        case 'p':
            parts = atoi(optarg);
            break;
        case 'r':
            rate = atof(optarg);
            break;
        case 'm':
            lat_events = strtoull(optarg, NULL, 10);
            break;
        case 'j':
            json = 1;
            break;
        case 'b':
            brokers = optarg;
            break;
        case 's':
            go.seed = strtoull(optarg, NULL, 10);
            break;
        case 'e':
            engine_only_flag = 1;
            break;
        default: {
            int ex;
            if (rs_cli_common_opt(c, optarg, &cc, usage, &ex)) return ex;
            break;
        }
        }
    }
    if (parts < 1 || parts > 1024 || n_events == 0) {
        usage(stderr);
        rs_cli_conf_free(&cc);
        return RS_EXIT_FAIL;
    }
    rs_conf_t *conf = rs_cli_conf_build(&cc, "recstream bench");
    if (!conf) {
        rs_cli_conf_free(&cc);
        return RS_EXIT_FAIL;
    }
    if (rs_log_level > RS_LOG_WARN) rs_log_level = RS_LOG_WARN;
    char self[4096];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (sl <= 0) return 1;
    self[sl] = '\0';

    char err[512];
    int rc = 1;
    rs_mock_t *mock = NULL;
    rs_gen_t *gen = NULL;
    char *dir1 = rs_cli_tmpdir("recstream-bench"), *dir2 = rs_cli_tmpdir("recstream-bench");
    char stats1[600], stats2[600], topic1[64], topic2[64], group1[64], group2[64];
    snprintf(stats1, sizeof(stats1), "%s/stats.json", dir1);
    snprintf(stats2, sizeof(stats2), "%s/stats.json", dir2);
    char state1[600], state2[600];
    snprintf(state1, sizeof(state1), "%s/state", dir1);
    snprintf(state2, sizeof(state2), "%s/state", dir2);
    snprintf(topic1, sizeof(topic1), "bench-events-%d", (int)getpid());
    snprintf(topic2, sizeof(topic2), "bench-latency-%d", (int)getpid());
    snprintf(group1, sizeof(group1), "bench-%d-a", (int)getpid());
    snprintf(group2, sizeof(group2), "bench-%d-b", (int)getpid());
    const char *bootstrap = brokers;
    if (!brokers) {
        if (rs_mock_new(&mock, 1, err, sizeof(err))) goto fail;
        bootstrap = rs_mock_bootstraps(mock);
        rs_mock_topic_create(mock, topic1, parts);
        rs_mock_topic_create(mock, topic2, parts);
        rs_mock_topic_create(mock, conf->topic_recommendations, parts);
        rs_mock_topic_create(mock, conf->topic_dlq, 1);
    }
    rs_conf_set_kafka(conf, "bootstrap.servers", bootstrap, "bench");
    if (brokers) {
        /* a real broker would auto-create them with its num.partitions */
        const char *names[] = {topic1, topic2, conf->topic_recommendations, conf->topic_dlq};
        const int nparts[] = {parts, parts, parts, 1};
        if (rs_kafka_create_topics(conf->kafka, conf->kafka_cnt, names, nparts, 4, 30000, err,
                                   sizeof(err)))
            goto fail;
    }

    /* 0. engine alone, CPU time */
    char dir0[600];
    snprintf(dir0, sizeof(dir0), "%s/engine", dir1);
    double cpu_per_event = 0;
    uint64_t engine_recs = 0;
    double engine_eps = engine_only(conf, &go, n_events, dir0, 0, &cpu_per_event, &engine_recs);
    if (!json)
        fprintf(stderr,
                "bench: engine alone %.0f events/s of CPU (%.2f us/event, %" PRIu64 " lists)\n",
                engine_eps, cpu_per_event, engine_recs);
    snprintf(dir0, sizeof(dir0), "%s/engine-nowatch", dir1);
    double cpu_per_event_nw = 0;
    uint64_t engine_recs_nw = 0;
    double engine_eps_nw =
        engine_only(conf, &go, n_events, dir0, 1, &cpu_per_event_nw, &engine_recs_nw);
    if (!json)
        fprintf(stderr,
                "bench: engine alone without segments and alerts %.0f events/s of CPU "
                "(%.2f us/event)\n",
                engine_eps_nw, cpu_per_event_nw);

    if (engine_only_flag) {
        if (json)
            printf("{\"events\":%" PRIu64 ",\"engine_cpu_per_sec\":%.1f,"
                   "\"engine_cpu_us_per_event\":%.3f,\"recs\":%" PRIu64
                   ",\"engine_cpu_per_sec_no_watch\":%.1f,\"engine_watch_ratio\":%.4f}\n",
                   n_events, engine_eps, cpu_per_event, engine_recs, engine_eps_nw,
                   engine_eps_nw > 0 ? engine_eps / engine_eps_nw : 0);
        rc = 0;
        goto done;
    }

    /* 1. produce */
    gen = rs_gen_new(&go);
    rs_feed_stats_t fs = {0};
    int64_t t0 = rs_mono_us();
    if (rs_feed_run(conf->kafka, conf->kafka_cnt, topic1, gen, n_events, 0, 0, &fs, err,
                    sizeof(err)))
        goto fail;
    double produce_eps = (double)n_events / ((double)(rs_mono_us() - t0) / 1e6);
    if (!json)
        fprintf(stderr, "bench: produced %" PRIu64 " events at %.0f/s\n", n_events, produce_eps);

    /* 2. raw consume */
    uint64_t raw_got = 0;
    double raw_eps = raw_consume(conf->kafka, conf->kafka_cnt, topic1, parts, n_events, &raw_got);
    if (raw_got != n_events)
        fprintf(stderr,
                "bench: WARNING raw consumer saw %" PRIu64 " of %" PRIu64
                " records (mock retention?)\n",
                raw_got, n_events);
    if (!json) fprintf(stderr, "bench: raw consume %.0f/s\n", raw_eps);

    /* 3. pipeline throughput */
    child_stats_t c1 = {0}, c2 = {0};
    pid_t pid;
    run_child(self, &cc, bootstrap, topic1, state1, group1, n_events, stats1, 0, 0, &pid);
    if (wait_child(pid, stats1, &c1)) goto fail;
    uint64_t state_bytes = rs_cli_dir_bytes(state1);
    if (!json)
        fprintf(stderr,
                "bench: pipeline %.0f events/s (%.0f events, %.2f s, %.0f batches, %.0f lists), "
                "rss %.1f MiB\n",
                c1.eps, c1.events, c1.seconds, c1.batches, c1.recs, c1.rss);

    /* 3b. the same records without segments and alerts */
    child_stats_t c1b = {0};
    char state1b[600], group1b[64];
    snprintf(state1b, sizeof(state1b), "%s/state-nowatch", dir1);
    snprintf(group1b, sizeof(group1b), "bench-%d-c", (int)getpid());
    run_child(self, &cc, bootstrap, topic1, state1b, group1b, n_events, stats1, 0, 1, &pid);
    if (wait_child(pid, stats1, &c1b)) goto fail;
    if (!json)
        fprintf(stderr, "bench: pipeline without segments and alerts %.0f events/s\n", c1b.eps);

    /* 4. latency at a fixed rate */
    if (rate <= 0) rate = c1.eps / 2;
    if (rate < 100) rate = 100;
    if (!lat_events)
        lat_events = (uint64_t)(rate * 10) < n_events ? (uint64_t)(rate * 10) : n_events;
    int hport = free_port();
    run_child(self, &cc, bootstrap, topic2, state2, group2, lat_events, stats2, hport, 0, &pid);
    /* start the clock only once the child owns every partition and has had
     * time for its first fetches: otherwise the first events measure the
     * group join, not the pipeline */
    int64_t join_deadline = rs_now_ms() + 60000;
    while (rs_now_ms() < join_deadline &&
           scrape(hport, "recstream_partitions_assigned") < (double)parts)
        usleep(100000);
    usleep(1000000);
    rs_gen_t *gen2 = rs_gen_new(&go);
    rs_feed_stats_t fs2 = {0};
    int frc = rs_feed_run(conf->kafka, conf->kafka_cnt, topic2, gen2, lat_events, rate, 0, &fs2,
                          err, sizeof(err));
    rs_gen_destroy(gen2);
    double fp50 = rs_hist_quantile(&fs2.dr_us, 0.5) / 1e3;
    double fp99 = rs_hist_quantile(&fs2.dr_us, 0.99) / 1e3;
    if (frc) {
        kill(pid, SIGTERM);
        wait_child(pid, stats2, &c2);
        goto fail;
    }
    if (wait_child(pid, stats2, &c2)) goto fail;

    if (json) {
        printf("{\"events\":%" PRIu64 ",\"events_per_sec\":%.1f,\"raw_consume_per_sec\":%.1f,"
               "\"ratio\":%.4f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"latency_rate\":%.1f,"
               "\"latency_events\":%" PRIu64 ",\"latency_samples\":%.0f,\"consume_p50_ms\":%.3f,"
               "\"consume_p99_ms\":%.3f,\"rss_mb\":%.1f,"
               "\"state_bytes\":%" PRIu64 ",\"recs\":%.0f,\"produce_per_sec\":%.1f,"
               "\"partitions\":%d,\"users\":%u,\"items\":%u,\"broker\":\"%s\","
               "\"engine_cpu_per_sec\":%.1f,\"engine_cpu_us_per_event\":%.3f,"
               "\"events_per_sec_no_watch\":%.1f,\"watch_ratio\":%.4f,"
               "\"engine_cpu_per_sec_no_watch\":%.1f,\"engine_watch_ratio\":%.4f,"
               "\"loop_cpu_us_per_event\":%.3f,\"process_cpu_us_per_event\":%.3f,"
               "\"latency_loop_cpu_us_per_event\":%.3f,\"latency_process_cpu_us_per_event\":%.3f,"
               "\"feed_delivery_p50_ms\":%.3f,\"feed_delivery_p99_ms\":%.3f,"
               "\"pipeline_p50_ms\":%.3f,\"pipeline_p99_ms\":%.3f,"
               "\"raw_settings\":\"fetch.wait.max.ms=2,queued.min.messages=1000000,queued.max."
               "messages.kbytes=16384 (the pipeline defaults, plus any -X)\"}\n",
               n_events, c1.eps, raw_eps, raw_eps > 0 ? c1.eps / raw_eps : 0, c2.p50, c2.p99, rate,
               lat_events, c2.samples, c2.cp50, c2.cp99, c1.rss, state_bytes, c1.recs, produce_eps,
               parts, go.users, go.items, brokers ? "kafka" : "mock", engine_eps, cpu_per_event,
               c1b.eps, c1b.eps > 0 ? c1.eps / c1b.eps : 0, engine_eps_nw,
               engine_eps_nw > 0 ? engine_eps / engine_eps_nw : 0,
               per_event(c1.loop_cpu, c1.events), per_event(c1.proc_cpu, c1.events),
               per_event(c2.loop_cpu, c2.events), per_event(c2.proc_cpu, c2.events), fp50, fp99,
               c2.pp50, c2.pp99);
    } else {
        printf("events              %" PRIu64 "\n", n_events);
        printf("pipeline            %.0f events/s\n", c1.eps);
        printf("engine alone        %.0f events/s per CPU core (%.2f us/event, no Kafka)\n",
               engine_eps, cpu_per_event);
        printf("without watch       %.0f events/s pipeline, %.0f engine (segments and alerts "
               "off)\n",
               c1b.eps, engine_eps_nw);
        printf("watch cost          pipeline keeps %.1f%%, engine keeps %.1f%%\n",
               c1b.eps > 0 ? 100 * c1.eps / c1b.eps : 0,
               engine_eps_nw > 0 ? 100 * engine_eps / engine_eps_nw : 0);
        printf("raw consume         %.0f events/s (same settings, same run)\n", raw_eps);
        printf("ratio               %.1f%%\n", raw_eps > 0 ? 100 * c1.eps / raw_eps : 0);
        printf("latency @ %.0f/s    p50 %.2f ms, p90 %.2f ms, p99 %.2f ms (%.0f samples)\n", rate,
               c2.p50, c2.p90, c2.p99, c2.samples);
        printf("  load generator    p50 %.2f ms, p99 %.2f ms (produce -> its delivery report)\n",
               fp50, fp99);
        printf("  consumed          p50 %.2f ms, p99 %.2f ms (produce -> consumed)\n", c2.cp50,
               c2.cp99);
        printf("  in the pipeline   p50 %.2f ms, p99 %.2f ms (consumed -> lists handed to the "
               "producer)\n",
               c2.pp50, c2.pp99);
        printf("pipeline CPU        %.2f us/event on the loop thread, %.2f in all its threads\n",
               per_event(c1.loop_cpu, c1.events), per_event(c1.proc_cpu, c1.events));
        printf("  at the fixed rate %.2f us/event on the loop thread, %.2f in all its threads\n",
               per_event(c2.loop_cpu, c2.events), per_event(c2.proc_cpu, c2.events));
        printf("rss (pipeline)      %.1f MiB\n", c1.rss);
        printf("state on disk       %.1f MiB\n", (double)state_bytes / 1048576.0);
    }
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "recstream bench: %s\n", err);
done:
    rs_gen_destroy(gen);
    rs_mock_destroy(mock);
    rs_cli_rmtree(dir1);
    rs_cli_rmtree(dir2);
    free(dir1);
    free(dir2);
    rs_cli_conf_free(&cc);
    rs_conf_destroy(conf);
    return rc;
}
