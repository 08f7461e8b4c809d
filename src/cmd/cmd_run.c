/* cmd_run.c -- `recstream run -c FILE`: the daemon. */
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recstream/rs_daemon.h"
#include "recstream/rs_log.h"
#include "rs_cli.h"

static void usage(FILE *out) {
    fprintf(out, "usage: recstream run [-c FILE] [-X key=value]... [options]\n"
                 "\n"
                 "Consume the events topic, keep state in state.dir, emit recommendations.\n"
                 "\n"
                 "  -c, --config FILE     properties file (see docs/CONFIGURATION.md)\n"
                 "  -X key=value          override a key (after the file, in order); kafka.* keys\n"
                 "                        go to librdkafka\n"
                 "      --stop-after N    exit cleanly after N records and all outputs delivered\n"
                 "      --idle-exit-ms MS exit cleanly after MS without records\n"
                 "      --stats-json FILE write final statistics as JSON on exit\n"
                 "  -h, --help\n"
                 "\n"
                 "Signals: SIGINT/SIGTERM commit and exit 0; SIGHUP re-reads the file and -X\n"
                 "(keys marked Live in docs/CONFIGURATION.md change at once, others are kept\n"
                 "and logged; GET /v1/config shows what runs). Exit 2 on bad configuration.\n");
}

static void write_stats(const char *path, const rs_stats_t *s, double secs) {
    FILE *f = fopen(path, "w");
    if (!f) {
        rs_error("run", "cannot write %s", path);
        return;
    }
    uint64_t dlq = 0;
    for (int i = 0; i < RS_REJ__COUNT; i++) dlq += s->dlq[i];
    fprintf(f,
            "{\"events\":%llu,\"applied\":%llu,\"duplicates\":%llu,\"late\":%llu,\"dlq\":%llu,"
            "\"recs\":%llu,\"batches\":%llu,\"seconds\":%.6f,\"events_per_sec\":%.1f,"
            "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"e2e_samples\":%llu,\"rss_mb\":%.1f,"
            "\"consume_p50_ms\":%.3f,\"consume_p99_ms\":%.3f,\"p90_ms\":%.3f,"
            "\"loop_cpu_s\":%.3f,\"process_cpu_s\":%.3f,\"pipeline_p50_ms\":%.3f,\"pipeline_p99_"
            "ms\":%.3f}\n",
            (unsigned long long)s->events_in, (unsigned long long)s->events_applied,
            (unsigned long long)s->events_duplicate, (unsigned long long)s->events_late,
            (unsigned long long)dlq, (unsigned long long)s->recs_emitted,
            (unsigned long long)s->batches, secs, secs > 0 ? (double)s->events_in / secs : 0,
            rs_hist_quantile(&s->e2e_us, 0.5) / 1000.0, rs_hist_quantile(&s->e2e_us, 0.99) / 1000.0,
            (unsigned long long)s->e2e_us.count, rs_cli_peak_rss_mb(),
            rs_hist_quantile(&s->consume_us, 0.5) / 1000.0,
            rs_hist_quantile(&s->consume_us, 0.99) / 1000.0,
            rs_hist_quantile(&s->e2e_us, 0.9) / 1000.0,
            /* the loop thread (run is called on it), and the whole daemon:
             * the bench divides them by the events */
            rs_cli_cpu_s(CLOCK_THREAD_CPUTIME_ID), rs_cli_cpu_s(CLOCK_PROCESS_CPUTIME_ID),
            rs_hist_quantile(&s->pipeline_us, 0.5) / 1000.0,
            rs_hist_quantile(&s->pipeline_us, 0.99) / 1000.0);
    fclose(f);
}

/* SIGHUP (loop thread): the same file and -X as at start, read again. */
typedef struct reload_ctx {
    const rs_cli_conf_t *cc;
    rs_conf_t *conf;
} reload_ctx_t;

static int reload(void *opaque, rs_buf_t *report, char *errstr, size_t errstr_size) {
    reload_ctx_t *r = opaque;
    rs_conf_t *fresh = rs_cli_conf_load(r->cc, errstr, errstr_size);
    if (!fresh) return RS_ECONF;
    int n = rs_conf_reload(r->conf, fresh, report, errstr, errstr_size);
    rs_conf_destroy(fresh);
    return n;
}

int cmd_run(int argc, char **argv) {
    static const struct option lo[] = {{"config", required_argument, 0, 'c'},
                                       {"stop-after", required_argument, 0, 1},
                                       {"idle-exit-ms", required_argument, 0, 2},
                                       {"stats-json", required_argument, 0, 3},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    rs_cli_conf_t cc = {0};
    rs_daemon_opts_t opts = {0};
    const char *stats_json = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "c:X:h", lo, NULL)) != -1) {
        switch (c) {
        case 1:
            opts.stop_after_events = strtoull(optarg, NULL, 10);
            break;
        case 2:
            opts.idle_exit_ms = atoi(optarg);
            break;
        case 3:
            stats_json = optarg;
            break;
        default: {
            int ex;
            if (rs_cli_common_opt(c, optarg, &cc, usage, &ex)) return ex;
            break;
        }
        }
    }
    rs_conf_t *conf = rs_cli_conf_build(&cc, "recstream run");
    if (!conf) {
        rs_cli_conf_free(&cc);
        return RS_EXIT_FAIL;
    }
    /* glibc gives each thread that allocates (librdkafka's, RocksDB's, the
     * libuv pool's) its own arena, and their free lists do not mix: at 1M
     * events the daemon peaked at ~600 MiB with the default and ~476 MiB with
     * one arena, at the same throughput (docs/BENCHMARKS.md). Before any
     * thread starts; MALLOC_ARENA_MAX in the environment still wins. */
    if (!getenv("MALLOC_ARENA_MAX")) mallopt(M_ARENA_MAX, 1);
    /* A fixed mmap threshold: glibc otherwise raises it to each large block
     * freed (up to 32 MiB), and WriteBatches and pair buffers of tens of MiB
     * then come from the arena, whose free middle is never returned.
     * 4 MiB keeps librdkafka's fetch buffers in the arena (1 MiB mmaps cost
     * throughput; docs/BENCHMARKS.md). */
    if (!getenv("MALLOC_MMAP_THRESHOLD_")) mallopt(M_MMAP_THRESHOLD, 4 << 20);
    reload_ctx_t rctx = {&cc, conf};
    opts.reload = reload;
    opts.opaque = &rctx;
    char err[512];
    rs_daemon_t *d = NULL;
    int rc = rs_daemon_new(&d, conf, &opts, err, sizeof(err));
    if (rc) {
        fprintf(stderr, "recstream run: %s\n", err);
        rs_conf_destroy(conf);
        rs_cli_conf_free(&cc);
        return rc == RS_ECONF ? RS_EXIT_FAIL : 1;
    }
    rc = rs_daemon_run(d);
    int64_t first = rs_daemon_first_msg_us(d);
    double secs = first ? (double)(rs_mono_us() - first) / 1e6 : 0;
    if (stats_json) write_stats(stats_json, rs_daemon_stats(d), secs);
    rs_daemon_destroy(d);
    rs_conf_destroy(conf);
    rs_cli_conf_free(&cc);
    return rc ? 1 : 0;
}
