/* cmd_replay.c -- `recstream replay --input FILE --state DIR [--emit-jsonl OUT]
 * [--batch-size N]`: feeds a file through the daemon's pipeline (SPEC F12).
 *
 * Determinism: events are applied in file order and, when outputs are asked
 * for, every event is scored right after it is applied (a daemon whose poll
 * batches hold one record), so the lists depend on the events alone;
 * --batch-size only sets how many events go into one WriteBatch. Emit
 * decisions and decay use event time. Two replays of the same file with
 * any batch sizes give the same state dump and byte-identical JSON lines. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "recstream/rs_buf.h"
#include "recstream/rs_log.h"
#include "recstream/rs_pipeline.h"
#include "recstream/rs_source.h"
#include "rs_cli.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: recstream replay --input FILE --state DIR [--emit-jsonl OUT] [options]\n"
            "\n"
            "Apply an event file to a state directory (fresh or existing) with the daemon's\n"
            "pipeline. With --emit-jsonl, every recommendation list it would have emitted is\n"
            "written as one JSON object a line ({\"kind\":\"recommendation\",\"user_id\",...}).\n"
            "\n"
            "  -i, --input FILE       canonical CSV or JSON lines (by extension, or --format)\n"
            "      --format F         csv | jsonl\n"
            "  -s, --state DIR        state directory (created if missing)\n"
            "      --emit-jsonl OUT   write the outputs there (- = stdout)\n"
            "      --batch-size N     events per state commit (default 1000000); does not\n"
            "                         change the results\n"
            "      --dlq-file FILE    write rejected events as JSON lines (file:line, reason)\n"
            "      --limit N          stop after N events\n"
            "      --json             print the summary as JSON\n"
            "  -c, --config FILE      properties file; -X key=value overrides\n"
            "  -q, --quiet            no progress bar\n"
            "  -h, --help\n");
}

typedef struct replay {
    FILE *out, *dlq;
    rs_buf_t line;
    rs_source_t *src;
    const char *input;
    uint64_t recs, rejected;
} replay_t;

static void on_rec(void *opaque, const rs_rec_t *rec, const void *key, size_t klen, const void *val,
                   size_t vlen, int64_t origin_us) {
    replay_t *r = opaque;
    r->recs++;
    if (!r->out) return;
    rs_buf_t *b = &r->line;
    rs_buf_reset(b);
    rs_buf_printf(b, "{\"kind\":\"recommendation\",\"user_id\":");
    rs_buf_json_str(b, rec->user_id.p, rec->user_id.len);
    rs_buf_printf(b, ",\"ts_ms\":%" PRId64 ",\"version\":%" PRId64 ",\"strategy\":", rec->ts_ms,
                  rec->version);
    rs_buf_json_str(b, rec->strategy.p, rec->strategy.len);
    rs_buf_printf(b, ",\"items\":[");
    for (uint32_t i = 0; i < rec->n_items; i++) {
        const rs_rec_item_t *it = &rec->items[i];
        rs_buf_printf(b, "%s{\"item_id\":", i ? "," : "");
        rs_buf_json_str(b, it->item_id.p, it->item_id.len);
        rs_buf_printf(b, ",\"score\":%.6g,\"reason\":", (double)it->score);
        rs_buf_json_str(b, it->reason.p, it->reason.len);
        rs_buf_putc(b, '}');
    }
    rs_buf_printf(b, "]}\n");
    fwrite(b->p, 1, b->len, r->out);
}

static void on_dlq(void *opaque, const rs_msg_t *m, rs_reject_t reason, const char *detail) {
    replay_t *r = opaque;
    r->rejected++;
    if (r->rejected <= 5)
        fprintf(stderr, "recstream replay: %s:%" PRIu64 ": %s: %s\n", r->input,
                rs_source_line(r->src), rs_reject_name(reason), detail);
    if (!r->dlq) return;
    rs_buf_t b = {0};
    rs_buf_printf(&b, "{\"input\":");
    rs_buf_json_str(&b, r->input, strlen(r->input));
    rs_buf_printf(&b, ",\"line\":%" PRIu64 ",\"reason\":\"%s\",\"detail\":", rs_source_line(r->src),
                  rs_reject_name(reason));
    rs_buf_json_str(&b, detail, strlen(detail));
    rs_buf_printf(&b, "}\n");
    fwrite(b.p, 1, b.len, r->dlq);
    rs_buf_free(&b);
}

int cmd_replay(int argc, char **argv) {
    static const struct option lo[] = {
        {"input", required_argument, 0, 'i'},    {"format", required_argument, 0, 1},
        {"state", required_argument, 0, 's'},    {"emit-jsonl", required_argument, 0, 2},
        {"batch-size", required_argument, 0, 3}, {"dlq-file", required_argument, 0, 4},
        {"limit", required_argument, 0, 5},      {"json", no_argument, 0, 6},
        {"config", required_argument, 0, 'c'},   {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
    rs_cli_conf_t cc = {0};
    const char *input = NULL, *format = NULL, *dir = NULL, *emit = NULL, *dlq = NULL;
    uint64_t batch = 1000000, limit = UINT64_MAX;
    int json = 0, quiet = 0, c;
    while ((c = getopt_long(argc, argv, "i:s:c:X:qh", lo, NULL)) != -1) {
        switch (c) {
        case 'i':
            input = optarg;
            break;
        case 1:
            format = optarg;
            break;
        case 's':
            dir = optarg;
            break;
        case 2:
            emit = optarg;
            break;
        case 3:
            batch = strtoull(optarg, NULL, 10);
            break;
        case 4:
            dlq = optarg;
            break;
        case 5:
            limit = strtoull(optarg, NULL, 10);
            break;
        case 6:
            json = 1;
            break;
        case 'c':
            cc.file = optarg;
            break;
        case 'X':
            rs_cli_conf_add_x(&cc, optarg);
            break;
        case 'q':
            quiet = 1;
            break;
        case 'h':
            usage(stdout);
            rs_cli_conf_free(&cc);
            return 0;
        default:
            usage(stderr);
            rs_cli_conf_free(&cc);
            return RS_EXIT_FAIL;
        }
    }
    if (!input || !dir || !batch || optind < argc) {
        fprintf(stderr, "recstream replay: %s\n",
                !input ? "--input FILE is required"
                : !dir ? "--state DIR is required"
                       : "--batch-size must be at least 1");
        usage(stderr);
        rs_cli_conf_free(&cc);
        return RS_EXIT_FAIL;
    }
    rs_conf_t *conf = rs_cli_conf_build(&cc, "recstream replay");
    rs_cli_conf_free(&cc);
    if (!conf) return RS_EXIT_FAIL;
    if (rs_log_level > RS_LOG_WARN) rs_log_level = RS_LOG_WARN;
    char err[512];
    rs_conf_set(conf, "state.dir", dir, "--state", err, sizeof(err));

    replay_t r = {.input = input};
    rs_stats_t stats;
    memset(&stats, 0, sizeof(stats));
    rs_pipeline_t *p = NULL;
    int rc = rs_source_open(&r.src, input, format, err, sizeof(err));
    if (!rc && emit) {
        r.out = strcmp(emit, "-") ? fopen(emit, "w") : stdout;
        if (!r.out) rc = rs_seterr(err, sizeof(err), RS_EIO, "cannot write %s", emit);
    }
    if (!rc && dlq && !(r.dlq = fopen(dlq, "w")))
        rc = rs_seterr(err, sizeof(err), RS_EIO, "cannot write %s", dlq);
    rs_sink_t sink = {&r, on_rec, on_dlq};
    if (!rc) rc = rs_pipeline_new(&p, conf, &sink, &stats, err, sizeof(err));
    if (rc) {
        fprintf(stderr, "recstream replay: %s\n", err);
        goto out;
    }
    rs_state_t *st = rs_pipeline_state(p);
    int tty = !quiet && isatty(2);
    uint64_t n = 0, bad = 0, in_batch = 0;
    int64_t t0 = rs_mono_us(), last_bar = 0;
    rs_event_t e;
    int got;
    while (n < limit && (got = rs_source_next(r.src, &e, err, sizeof(err))) != 0) {
        if (got < 0) {
            if (got == RS_EIO) {
                fprintf(stderr, "recstream replay: %s\n", err);
                rc = got;
                goto out;
            }
            if (bad++ < 5) fprintf(stderr, "recstream replay: skipped %s\n", err);
            if (r.dlq) {
                rs_buf_t b = {0};
                rs_buf_printf(&b, "{\"input\":");
                rs_buf_json_str(&b, input, strlen(input));
                rs_buf_printf(&b, ",\"line\":%" PRIu64 ",\"reason\":\"malformed\",\"detail\":",
                              rs_source_line(r.src));
                rs_buf_json_str(&b, err, strlen(err));
                rs_buf_printf(&b, "}\n");
                fwrite(b.p, 1, b.len, r.dlq);
                rs_buf_free(&b);
            }
            continue;
        }
        n++;
        rs_pipeline_process_event(p, &e, 0);
        if (r.out) rs_pipeline_score(p); /* per event: lists independent of the batch size */
        if (++in_batch >= batch) {
            in_batch = 0;
            if (!r.out) rs_state_touched_reset(st);
            if ((rc = rs_pipeline_commit(p, err, sizeof(err))) != 0) {
                fprintf(stderr, "recstream replay: %s\n", err);
                goto out;
            }
        }
        if (tty && (n & 8191) == 0 && rs_mono_us() - last_bar > 200000) {
            last_bar = rs_mono_us();
            double secs = (double)(last_bar - t0) / 1e6;
            uint64_t sz = rs_source_size(r.src), off = rs_source_offset(r.src);
            double eta = sz && off ? secs * (double)(sz - off) / (double)off : 0;
            fprintf(stderr, "\r%5.1f%%  %" PRIu64 " events  %.0f/s  ETA %.0f s  bad %" PRIu64 " ",
                    sz ? 100.0 * (double)off / (double)sz : 0.0, n, (double)n / secs, eta,
                    bad + r.rejected);
        }
    }
    if (!r.out) rs_state_touched_reset(st);
    if ((rc = rs_pipeline_commit(p, err, sizeof(err))) != 0) {
        fprintf(stderr, "recstream replay: %s\n", err);
        goto out;
    }
    double secs = (double)(rs_mono_us() - t0) / 1e6;
    if (tty) fprintf(stderr, "\r%*s\r", 78, "");
    if (json)
        printf("{\"events\":%" PRIu64 ",\"applied\":%" PRIu64 ",\"duplicates\":%" PRIu64
               ",\"rejected\":%" PRIu64 ",\"malformed\":%" PRIu64 ",\"recommendations\":%" PRIu64
               ",\"seconds\":%.3f,\"events_per_sec\":%.1f,\"items\":%u}\n",
               n, stats.events_applied, stats.events_duplicate, r.rejected, bad, r.recs, secs,
               secs > 0 ? (double)n / secs : 0, rs_state_item_count(st));
    else
        fprintf(r.out == stdout ? stderr : stdout,
                "replayed %" PRIu64 " events from %s into %s in %.2f s (%.0f/s): %" PRIu64
                " applied, %" PRIu64 " duplicates, %" PRIu64 " rejected, %" PRIu64
                " malformed lines, %" PRIu64 " recommendation lists\n",
                n, input, dir, secs, secs > 0 ? (double)n / secs : 0, stats.events_applied,
                stats.events_duplicate, r.rejected, bad, r.recs);
out:
    rs_pipeline_destroy(p);
    rs_source_close(r.src);
    if (r.out && r.out != stdout && fclose(r.out)) rc = rc ? rc : RS_EIO;
    if (r.out == stdout) fflush(stdout);
    if (r.dlq) fclose(r.dlq);
    rs_buf_free(&r.line);
    rs_conf_destroy(conf);
    return rc ? (rc == RS_EXIT_FAIL ? rc : 1) : 0;
}
