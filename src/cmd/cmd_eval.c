/* cmd_eval.c -- `recstream eval --input FILE --k K [--json] [--svg FILE]`:
 * prequential quality of the engine and a popularity baseline on a file
 * (SPEC F14 and "Interfaces"). The state lives in a scratch directory that
 * is removed afterwards unless --state names one. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "recstream/rs_buf.h"
#include "recstream/rs_source.h"
#include "recstream/rs_eval.h"
#include "recstream/rs_log.h"
#include "rs_cli.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: recstream eval --input FILE [--k K] [--json] [options]\n"
            "\n"
            "Test-then-train on a canonical event CSV: before each event whose item is new\n"
            "to its (returning) user, ask the engine and a popularity baseline for the\n"
            "user's top-K, then apply the event. Prints HR@K, MRR@K, NDCG@K, coverage,\n"
            "Gini of exposure and popularity bias for both.\n"
            "\n"
            "  -i, --input FILE       canonical CSV (ts_ms,user_id,item_id,type,...) or JSON\n"
            "                         lines (.jsonl); - = stdin\n"
            "      --format F         csv | jsonl | avro (default: by extension)\n"
            "  -k, --k K              list length (default 20)\n"
            "      --json             one JSON object on stdout\n"
            "      --svg FILE         draw HR@K over the stream\n"
            "      --score-from X     score only targets from event X on (an index, or a\n"
            "                         fraction like 0.5 of the file's events); earlier events\n"
            "                         still train (tune on one part, confirm on the rest)\n"
            "      --limit N          stop after N events\n"
            "      --state DIR        keep the state there (default: a scratch dir, removed)\n"
            "  -c, --config FILE      properties file; -X key=value overrides (rec.* weights)\n"
            "  -q, --quiet            no progress bar\n"
            "  -h, --help\n");
}

static uint64_t count_events(const char *path, const char *format) {
    char err[256];
    rs_source_t *r;
    if (rs_source_open(&r, path, format, err, sizeof(err))) return 0;
    rs_event_t e;
    uint64_t n = 0;
    int rc;
    while ((rc = rs_source_next(r, &e, err, sizeof(err))) != 0 && rc != RS_EIO)
        if (rc == 1) n++;
    rs_source_close(r);
    return n;
}

static void print_model_json(const char *name, const rs_eval_model_t *m) {
    printf("\"%s\":{\"hr\":%.6f,\"mrr\":%.6f,\"ndcg\":%.6f,\"coverage\":%.6f,\"gini\":%.6f,"
           "\"popularity_percentile\":%.3f,\"hits\":%" PRIu64 ",\"distinct_items\":%" PRIu64 "}",
           name, m->hr, m->mrr, m->ndcg, m->coverage, m->gini, m->pop_pct, m->hits, m->distinct);
}

static int write_svg(const char *path, rs_eval_t *ev, int k) {
    enum { N = 50 };
    double e[N], p[N];
    size_t n = rs_eval_curve(ev, N, e, p);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    double ymax = 0.05;
    for (size_t i = 0; i < n; i++) {
        if (e[i] > ymax) ymax = e[i];
        if (p[i] > ymax) ymax = p[i];
    }
    ymax *= 1.1;
    const double W = 640, H = 360, L = 50, R = 20, T = 30, B = 40;
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
            "font-family=\"sans-serif\" font-size=\"12\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
            "<text x=\"%.0f\" y=\"18\">HR@%d over the stream (%zu windows of targets)</text>\n"
            "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"black\"/>\n"
            "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"black\"/>\n",
            W, H, L, k, n, L, H - B, W - R, H - B, L, T, L, H - B);
    for (int t = 0; t <= 4; t++) {
        double y = H - B - (H - T - B) * t / 4.0;
        fprintf(f, "<text x=\"4\" y=\"%.1f\">%.3f</text>\n", y + 4, ymax * t / 4.0);
    }
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\">share of the stream</text>\n", W / 2 - 50, H - 10);
    const char *color[2] = {"#1f77b4", "#ff7f0e"}, *name[2] = {"engine", "popularity"};
    for (int s = 0; s < 2; s++) {
        const double *v = s ? p : e;
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", color[s]);
        for (size_t i = 0; i < n; i++)
            fprintf(f, "%.1f,%.1f ", L + (W - L - R) * ((double)i + 0.5) / (double)n,
                    H - B - (H - T - B) * v[i] / ymax);
        fprintf(f, "\"/>\n<text x=\"%.0f\" y=\"%.0f\" fill=\"%s\">%s</text>\n", W - R - 90,
                T + 14.0 + 16 * s, color[s], name[s]);
    }
    fprintf(f, "</svg>\n");
    return fclose(f);
}

int cmd_eval(int argc, char **argv) {
    static const struct option lo[] = {{"input", required_argument, 0, 'i'},
                                       {"k", required_argument, 0, 'k'},
                                       {"json", no_argument, 0, 1},
                                       {"svg", required_argument, 0, 2},
                                       {"score-from", required_argument, 0, 3},
                                       {"limit", required_argument, 0, 4},
                                       {"state", required_argument, 0, 5},
                                       {"config", required_argument, 0, 'c'},
                                       {"quiet", no_argument, 0, 'q'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    rs_cli_conf_t cc = {0};
    const char *input = NULL, *svg = NULL, *state_dir = NULL, *score_from = NULL, *format = NULL;
    int k = 20, json = 0, quiet = 0, c;
    uint64_t limit = UINT64_MAX;
    while ((c = getopt_long(argc, argv, "i:k:c:X:qh", lo, NULL)) != -1) {
        switch (c) {
        case 'i':
            input = optarg;
            break;
        case 'k':
            k = atoi(optarg);
            break;
        case 1:
            json = 1;
            break;
        case 2:
            svg = optarg;
            break;
        case 3:
            score_from = optarg;
            break;
        case 4:
            limit = strtoull(optarg, NULL, 10);
            break;
        case 5:
            state_dir = optarg;
            break;
        case 6:
            format = optarg;
            break;
        case 'q':
            quiet = 1;
            break;
        default: {
            int ex;
            if (rs_cli_common_opt(c, optarg, &cc, usage, &ex)) return ex;
            break;
        }
        }
    }
    if (!input || optind < argc || k < 1 || k > 256) {
        fprintf(stderr, "recstream eval: %s\n",
                !input ? "--input FILE is required" : "--k must be in 1..256");
        usage(stderr);
        rs_cli_conf_free(&cc);
        return RS_EXIT_FAIL;
    }
    rs_conf_t *conf = rs_cli_conf_build(&cc, "recstream eval");
    rs_cli_conf_free(&cc);
    if (!conf) return RS_EXIT_FAIL;
    if (rs_log_level > RS_LOG_WARN) rs_log_level = RS_LOG_WARN; /* keep stdout/stderr clean */

    rs_eval_opts_t o = {.k = k};
    if (score_from) {
        if (strchr(score_from, '.')) {
            double f = atof(score_from);
            o.score_from = (uint64_t)(f * (double)count_events(input, format));
        } else {
            o.score_from = strtoull(score_from, NULL, 10);
        }
    }
    char err[512], *tmp = NULL;
    if (!state_dir) state_dir = tmp = rs_cli_tmpdir("recstream-eval");
    /* A state thrown away at the end is committed only to bound the memory
     * an open WriteBatch holds (~100 MB at this interval); a kept one (--state)
     * as often as before. Commits were 16% of a yoochoose run. */
    if (tmp) o.commit_every = 262144;
    rs_conf_set(conf, "state.dir", state_dir, "--state", err, sizeof(err));

    rs_source_t *r = NULL;
    rs_eval_t *ev = NULL;
    int rc = rs_source_open(&r, input, format, err, sizeof(err));
    if (!rc) rc = rs_eval_new(&ev, conf, &o, err, sizeof(err));
    if (rc) {
        fprintf(stderr, "recstream eval: %s\n", err);
        goto out;
    }
    int tty = !quiet && isatty(2);
    uint64_t bad = 0, n = 0;
    int64_t t0 = rs_mono_us(), last_bar = 0;
    rs_event_t e;
    int got;
    while (n < limit && (got = rs_source_next(r, &e, err, sizeof(err))) != 0) {
        if (got < 0) {
            if (got == RS_EIO) {
                fprintf(stderr, "recstream eval: %s\n", err);
                rc = got;
                goto out;
            }
            if (bad++ < 10) fprintf(stderr, "recstream eval: skipped %s\n", err);
            continue;
        }
        n++;
        rc = rs_eval_event(ev, &e, err, sizeof(err));
        if (rc < 0) {
            fprintf(stderr, "recstream eval: %s\n", err);
            goto out;
        }
        rc = 0;
        if (tty && (n & 4095) == 0 && rs_mono_us() - last_bar > 200000) {
            last_bar = rs_mono_us();
            uint64_t sz = rs_source_size(r);
            rs_eval_result_t x;
            rs_eval_result(ev, &x);
            fprintf(stderr, "\r%5.1f%%  %" PRIu64 " events  HR@%d engine %.4f  popularity %.4f ",
                    sz ? 100.0 * (double)rs_source_offset(r) / (double)sz : 0.0, n, k, x.engine.hr,
                    x.popularity.hr);
        }
    }
    if (!tmp && (rc = rs_eval_finish(ev, err, sizeof(err))) != 0) {
        fprintf(stderr, "recstream eval: %s\n", err);
        goto out;
    }
    double secs = (double)(rs_mono_us() - t0) / 1e6;
    if (tty) fprintf(stderr, "\r%*s\r", 78, "");
    rs_eval_result_t x;
    rs_eval_result(ev, &x);
    double eps = secs > 0 ? (double)x.events / secs : 0;
    if (json) {
        printf("{\"input\":");
        rs_buf_t b = {0};
        rs_buf_json_str(&b, input, strlen(input));
        fwrite(b.p, 1, b.len, stdout);
        rs_buf_free(&b);
        printf(",\"events\":%" PRIu64 ",\"targets\":%" PRIu64 ",\"k\":%d,", x.events, x.targets, k);
        print_model_json("engine", &x.engine);
        putchar(',');
        print_model_json("popularity", &x.popularity);
        printf(",\"events_per_sec\":%.1f,\"seconds\":%.3f,\"users\":%" PRIu64 ",\"items\":%" PRIu64
               ",\"rejected\":%" PRIu64 ",\"malformed\":%" PRIu64 ",\"score_from\":%" PRIu64
               ",\"unscored_targets\":%" PRIu64 "}\n",
               eps, secs, x.users, x.items, x.rejected, bad, o.score_from, x.skipped);
    } else {
        printf("%s: %" PRIu64 " events (%" PRIu64 " rejected, %" PRIu64 " malformed), %" PRIu64
               " users, %" PRIu64 " items\n%" PRIu64 " targets scored",
               input, x.events, x.rejected, bad, x.users, x.items, x.targets);
        if (o.score_from) printf(" from event %" PRIu64, o.score_from);
        printf(", %.2f s, %.0f events/s\n\n", secs, eps);
        printf("%-11s %8s %8s %8s %9s %6s %8s\n", "model", "HR", "MRR", "NDCG", "coverage", "gini",
               "pop-pct");
        const rs_eval_model_t *m[2] = {&x.engine, &x.popularity};
        const char *nm[2] = {"engine", "popularity"};
        for (int i = 0; i < 2; i++)
            printf("%-11s %8.4f %8.4f %8.4f %9.4f %6.3f %8.1f\n", nm[i], m[i]->hr, m[i]->mrr,
                   m[i]->ndcg, m[i]->coverage, m[i]->gini, m[i]->pop_pct);
        printf("(@%d; pop-pct: mean popularity percentile of recommended items, 100 = top)\n", k);
    }
    if (svg && write_svg(svg, ev, k)) {
        fprintf(stderr, "recstream eval: cannot write %s\n", svg);
        rc = 1;
    }
out:
    rs_eval_destroy(ev);
    rs_source_close(r);
    if (tmp) {
        rs_cli_rmtree(tmp);
        free(tmp);
    }
    rs_conf_destroy(conf);
    return rc ? (rc == RS_EXIT_FAIL ? rc : 1) : 0;
}
