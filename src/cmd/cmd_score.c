/* cmd_score.c -- `recstream score --truth T.jsonl --emitted OUT.jsonl
 * [--json]` (issue 5): scores the alerts and segments a replay emitted
 * against the generator's ground truth (rs_truth.h has the rules), so the
 * detector and cluster targets can be measured end to end:
 *
 *   recstream gen --seed S ... --truth T.jsonl -o events.csv
 *   recstream replay --input events.csv --state DIR --emit-jsonl OUT.jsonl
 *   recstream score --truth T.jsonl --emitted OUT.jsonl
 *
 * Without --truth (real data) it reports alert counts, the alerted share of
 * the users seen in the output, example alerts, cluster and RFM sizes.
 * The episode gap defaults to alert.episode.gap.ms of the configuration
 * (-c/-X), so the scorer and the engine agree on what one episode is.
 *
 * Exit: 0 report written, 1 a --min-... or --max-... bound missed, 2 usage or
 * trouble (unreadable file, malformed line: "path:LINE: reason"). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "recstream/rs_buf.h"
#include "recstream/rs_truth.h"
#include "rs_cli.h"

#define EXIT_BOUND 1

static void usage(FILE *out) {
    fprintf(out, "usage: recstream score --emitted OUT.jsonl [--truth T.jsonl] [--json] [options]\n"
                 "\n"
                 "Scores the alert and segment lines of a `recstream replay --emit-jsonl` output\n"
                 "against the ground truth of `recstream gen --truth`:\n"
                 "  alerts    per rule: precision (alerts matching a planted episode of the same\n"
                 "            kind and subject within [start, end + gap]); per planted kind:\n"
                 "            recall; rate_burst matches any planted user episode; alerted users\n"
                 "            and alerts on users in no planted episode, with examples\n"
                 "  clusters  the last cluster per user against the truth groups: adjusted Rand\n"
                 "            index and the cluster x group table\n"
                 "  rfm       sizes of the last RFM segment per user\n"
                 "Without --truth: alert counts, the alerted share of the users in the output,\n"
                 "examples, cluster and RFM sizes.\n"
                 "\n"
                 "  -e, --emitted FILE       replay output (JSON lines)\n"
                 "  -t, --truth FILE         generator truth (JSON lines)\n"
                 "      --gap-ms MS          episode gap (default alert.episode.gap.ms)\n"
                 "      --examples N         unmatched alerts shown per rule (default 3)\n"
                 "  -j, --json               one JSON object instead of text\n"
                 "      --min-precision P    exit 1 if a rule with alerts has precision < P\n"
                 "      --min-recall R       exit 1 if a planted kind has recall < R\n"
                 "      --min-ari A          exit 1 if the clusters' ARI < A (or undefined)\n"
                 "      --max-alerted-share S  exit 1 if alerted users / users > S\n"
                 "  -c, --config FILE        properties file (alert.episode.gap.ms)\n"
                 "  -X key=value             override a configuration key\n"
                 "  -h, --help\n"
                 "\n"
                 "Exit status: 0 report written, 1 a bound missed, 2 usage or trouble.\n");
}

enum { O_GAP = 1, O_EXAMPLES, O_MINP, O_MINR, O_MINA, O_MAXS };

/* A number option (>= 0 unless neg); -1 with a message when it is not. */
static int num_arg(const char *name, const char *s, int neg, double *out) {
    char *end;
    *out = strtod(s, &end);
    if (end == s || *end || !isfinite(*out) || (!neg && *out < 0)) {
        fprintf(stderr, "recstream score: --%s: expected a number%s, got \"%s\"\n", name,
                neg ? "" : " >= 0", s);
        return -1;
    }
    return 0;
}

int cmd_score(int argc, char **argv) {
    static const struct option lo[] = {{"emitted", required_argument, NULL, 'e'},
                                       {"truth", required_argument, NULL, 't'},
                                       {"json", no_argument, NULL, 'j'},
                                       {"gap-ms", required_argument, NULL, O_GAP},
                                       {"examples", required_argument, NULL, O_EXAMPLES},
                                       {"min-precision", required_argument, NULL, O_MINP},
                                       {"min-recall", required_argument, NULL, O_MINR},
                                       {"min-ari", required_argument, NULL, O_MINA},
                                       {"max-alerted-share", required_argument, NULL, O_MAXS},
                                       {"config", required_argument, NULL, 'c'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
    rs_cli_conf_t cc = {0};
    rs_truth_opts_t o;
    rs_truth_bounds_t bounds;
    const char *emitted = NULL, *truth = NULL;
    double gap = -1, ex = -1;
    int json = 0, c, rc;
    rs_truth_opts_default(&o);
    rs_truth_bounds_none(&bounds);
    optind = 1;
    while ((c = getopt_long(argc, argv, "e:t:jc:X:h", lo, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'e':
            emitted = optarg;
            break;
        case 't':
            truth = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case O_GAP:
            bad = num_arg("gap-ms", optarg, 0, &gap);
            break;
        case O_EXAMPLES:
            bad = num_arg("examples", optarg, 0, &ex);
            break;
        case O_MINP:
            bad = num_arg("min-precision", optarg, 0, &bounds.min_precision);
            break;
        case O_MINR:
            bad = num_arg("min-recall", optarg, 0, &bounds.min_recall);
            break;
        case O_MINA: /* an ARI can be negative */
            bad = num_arg("min-ari", optarg, 1, &bounds.min_ari);
            break;
        case O_MAXS:
            bad = num_arg("max-alerted-share", optarg, 0, &bounds.max_alerted_share);
            break;
        default:
            if (rs_cli_common_opt(c, optarg, &cc, usage, &rc)) return rc;
        }
        if (bad) {
            rs_cli_conf_free(&cc);
            return RS_EXIT_FAIL;
        }
    }
    if (!emitted || optind < argc) {
        fprintf(stderr, "recstream score: %s\n",
                !emitted ? "--emitted is required" : "unexpected argument");
        usage(stderr);
        rs_cli_conf_free(&cc);
        return RS_EXIT_FAIL;
    }
    if (!truth && !isnan(bounds.min_precision)) {
        fprintf(stderr, "recstream score: --min-precision needs --truth\n");
        rs_cli_conf_free(&cc);
        return RS_EXIT_FAIL;
    }
    rs_conf_t *conf = rs_cli_conf_build(&cc, "recstream score");
    rs_cli_conf_free(&cc);
    if (!conf) return RS_EXIT_FAIL;
    o.gap_ms = gap >= 0 ? (int64_t)gap : conf->alert_episode_gap_ms;
    if (ex >= 0) o.examples = ex > 1000 ? 1000 : (uint32_t)ex;
    rs_conf_destroy(conf);

    char err[512];
    rs_truth_t *t = NULL;
    rs_buf_t out = {0}, why = {0};
    rc = RS_EXIT_FAIL;
    if (rs_truth_new(&t, &o, err, sizeof(err)) ||
        (truth && rs_truth_read_truth(t, truth, err, sizeof(err))) ||
        rs_truth_read_emitted(t, emitted, err, sizeof(err))) {
        fprintf(stderr, "recstream score: %s\n", err);
        goto out;
    }
    rs_truth_report(t, json, &out);
    fwrite(out.p, 1, out.len, stdout);
    fflush(stdout);
    rc = 0;
    if (rs_truth_check(t, &bounds, &why)) {
        fprintf(stderr, "recstream score: bound missed:\n%.*s", (int)why.len, why.p);
        rc = EXIT_BOUND;
    }
out:
    rs_buf_free(&out);
    rs_buf_free(&why);
    rs_truth_destroy(t);
    return rc;
}
