/* cmd_gen.c -- `recstream gen`: generated traffic (rs_gen.h) to a file or a
 * Kafka topic, plus an optional ground-truth file of what was planted.
 *
 * Design: one generator, one pass. CSV and JSON lines stream out as the
 * records come; an Avro container file is written in one call at the end
 * (rs_avro_file_write_events takes an array), so those events are kept in
 * memory with their strings copied into one arena. Kafka goes through
 * rs_feed_run(), exactly as demo and bench produce. Fresh records come out in
 * event-time order by construction, so the file is sorted by ts unless late,
 * duplicate or malformed records are asked for: those stay where they
 * arrive, which is what makes them late or duplicated for a replay.
 * Unlike demo/bench, gen turns behaviour groups on by default (--groups off
 * gives their classic stream). Same options and seed -> same bytes. */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "recstream/rs_buf.h"
#include "recstream/rs_codec.h"
#include "recstream/rs_csv.h"
#include "recstream/rs_feed.h"
#include "recstream/rs_fileio.h"
#include "recstream/rs_gen.h"
#include "rs_cli.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: recstream gen [--events N] [--seed S] [--out FILE] [--truth FILE] [options]\n"
            "       recstream gen ... -b BROKERS --topic T [-c FILE] [-X key=value]...\n"
            "\n"
            "Writes synthetic e-commerce traffic, reproducible from the seed: the same\n"
            "options give byte-identical output.\n"
            "\n"
            "Output:\n"
            "  -o, --out FILE          .csv (canonical CSV), .jsonl/.json/.ndjson (JSON lines,\n"
            "                          event schema fields incl. event_id and device) or .avro\n"
            "                          (Avro container file, built in memory); '-' = CSV on\n"
            "                          stdout (default)\n"
            "      --format F          csv | jsonl | avro, instead of the extension\n"
            "      --deflate           Avro: deflate codec\n"
            "      --truth FILE        JSON lines of what was planted: users and their group,\n"
            "                          planted pairs, anomaly episodes with their time window\n"
            "  -b, --brokers LIST      produce to Kafka instead (Confluent Avro, keyed by user)\n"
            "  -t, --topic T           topic (default: topic.events of the configuration)\n"
            "      --json-pct P        Kafka: send P%% of good records as JSON (default 0)\n"
            "  -c, --config FILE, -X key=value   configuration (kafka.* keys)\n"
            "\n"
            "World (defaults of the generator):\n"
            "  -n, --events N          records to write (default 100000)\n"
            "  -s, --seed S            (42)\n"
            "      --users U           (100000)        --items I        (20000)\n"
            "      --categories C      (50)            --zipf S         (1.05)\n"
            "      --pairs P           planted bought-together pairs (50)\n"
            "      --pair-rate R       P(partner follows) (0.6)\n"
            "      --cart-rate R       P(view -> cart) (0.08)\n"
            "      --purchase-rate R   P(cart -> purchase) (0.4)\n"
            "      --rate EPS          event-time events per second (1000)\n"
            "      --start T           first event time: ms since epoch or\n"
            "                          YYYY-MM-DDTHH:MM:SSZ (default 2023-11-14T22:13:20Z)\n"
            "Behaviour:\n"
            "      --groups MIX        default | off | regular=W,bargain=W,big_spender=W,\n"
            "                          browser=W (relative weights; default: 0.55/0.2/0.1/0.15)\n"
            "      --night-owls F      share of night-owl users (default 0.15; 0 with --groups "
            "off)\n"
            "                          with groups, a user buys only within 3x of its budget\n"
            "Anomaly episodes, expected per 100k background events (default 0):\n"
            "      --bots R            bot users: 10-50 views/s for 20-120 s, no carts\n"
            "      --card-testing R    10-30 cheap purchases 1-5 s apart by one user\n"
            "      --big-purchases R   a purchase >= 10x the user's mean purchase price\n"
            "      --spikes R          an item's views jump to max(5/s, 5%% of --rate),\n"
            "                          from 10 min of event time on\n"
            "Injected records (shares of all records, default 0):\n"
            "      --dup R  --late R  --bad R   duplicates, late (up to 1 h), malformed\n"
            "  -q, --quiet             no summary on stderr\n");
}

/* Parses "2023-11-14T22:13:20Z" or a number of ms. */
static int parse_start(const char *s, int64_t *out) {
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*s && !*end) {
        *out = v;
        return 0;
    }
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!end || (*end && strcmp(end, "Z"))) return -1;
    *out = (int64_t)timegm(&tm) * 1000;
    return 0;
}

static int parse_groups(const char *s, rs_gen_opts_t *o) {
    memset(o->group_mix, 0, sizeof(o->group_mix));
    if (!strcmp(s, "off")) return 0;
    if (!strcmp(s, "default")) {
        rs_gen_opts_behaviour(o);
        return 0;
    }
    char *dup = rs_xstrdup(s), *save = NULL;
    int rc = 0;
    for (char *tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '='), *end;
        if (!eq) goto bad;
        *eq = '\0';
        int k = rs_gen_group_parse(tok);
        double w = strtod(eq + 1, &end);
        if (k < 0 || k >= RS_GEN__GROUP_COUNT || *end || end == eq + 1) goto bad;
        o->group_mix[k] = w;
    }
    free(dup);
    return rc;
bad:
    free(dup);
    return -1;
}

static int num(const char *s, double *out) {
    char *end;
    *out = strtod(s, &end);
    return *s && !*end ? 0 : -1;
}

/* Garbage records as a text line: the generator's bytes mapped to printable
 * characters other than ',' '"' and '{', so no line reader can take them. */
static void junk_line(rs_buf_t *b, rs_gen_t *g) {
    unsigned char raw[256];
    size_t n = rs_gen_garbage(g, raw, sizeof(raw));
    for (size_t i = 0; i < n; i++) {
        char c = (char)('0' + raw[i] % 75); /* '0'..'z' */
        rs_buf_putc(b, c == ',' ? '#' : c);
    }
    rs_buf_putc(b, '\n');
}

/* Avro: events kept with their strings as offsets into one arena. */
typedef struct held {
    rs_event_t *ev;
    size_t n, cap;
    rs_buf_t arena;
} held_t;

static rs_str_t keep_str(held_t *h, rs_str_t s) {
    rs_str_t r = {(const char *)(uintptr_t)h->arena.len, s.len};
    if (s.p) rs_buf_append(&h->arena, s.p, s.len);
    return s.p ? r : RS_STR_NULL;
}

static void hold(held_t *h, const rs_event_t *ev) {
    if (h->n == h->cap) {
        h->cap = h->cap ? 2 * h->cap : 4096;
        h->ev = rs_xrealloc(h->ev, h->cap * sizeof(*h->ev));
    }
    rs_event_t *e = &h->ev[h->n++];
    *e = *ev;
    e->event_id = keep_str(h, ev->event_id);
    e->user_id = keep_str(h, ev->user_id);
    e->item_id = keep_str(h, ev->item_id);
    e->session_id = keep_str(h, ev->session_id);
    e->category = keep_str(h, ev->category);
    e->device = keep_str(h, ev->device);
}

static void fix(const held_t *h, rs_str_t *s) {
    if (s->p || s->len) s->p = h->arena.p + (uintptr_t)s->p;
}

/* Offsets become pointers once the arena stops moving. */
static void held_fix(held_t *h) {
    for (size_t i = 0; i < h->n; i++) {
        rs_event_t *e = &h->ev[i];
        fix(h, &e->event_id);
        fix(h, &e->user_id);
        fix(h, &e->item_id);
        fix(h, &e->session_id);
        fix(h, &e->category);
        fix(h, &e->device);
    }
}

enum { FMT_CSV, FMT_JSONL, FMT_AVRO };

static int fmt_of(const char *path, const char *format) {
    const char *f = format;
    if (!f) {
        const char *dot = strrchr(path, '.');
        f = !dot ? "csv" : dot + 1;
        if (!strcmp(f, "json") || !strcmp(f, "ndjson")) f = "jsonl";
        if (strcmp(f, "jsonl") && strcmp(f, "avro")) f = "csv";
    }
    return !strcmp(f, "csv")     ? FMT_CSV
           : !strcmp(f, "jsonl") ? FMT_JSONL
           : !strcmp(f, "avro")  ? FMT_AVRO
                                 : -1;
}

/* Writes n records to path; counts kinds in cnt. */
static int write_file(rs_gen_t *g, uint64_t n, const char *path, int fmt, int deflate,
                      uint64_t *cnt, uint64_t *skipped) {
    char err[512];
    FILE *f = NULL;
    rs_codec_t *codec = NULL;
    rs_buf_t b = {0};
    held_t h = {0};
    int rc = 1;
    if (fmt != FMT_AVRO) {
        f = !strcmp(path, "-") ? stdout : fopen(path, "w");
        if (!f) {
            perror(path);
            goto done;
        }
        if (fmt == FMT_CSV) fputs(RS_CSV_HEADER "\n", f);
    }
    if (fmt == FMT_JSONL && rs_codec_new(&codec, err, sizeof(err))) {
        fprintf(stderr, "recstream gen: %s\n", err);
        goto done;
    }
    for (uint64_t i = 0; i < n; i++) {
        rs_gen_kind_t k;
        const rs_event_t *ev = rs_gen_next(g, &k);
        cnt[k]++;
        if (fmt == FMT_AVRO) {
            /* The schema cannot carry these: left out, and counted. */
            if (k == RS_GEN_BAD_GARBAGE || k == RS_GEN_BAD_MISSING || k == RS_GEN_BAD_TYPE)
                (*skipped)++;
            else
                hold(&h, ev);
            continue;
        }
        if (k == RS_GEN_BAD_GARBAGE)
            junk_line(&b, g);
        else if (fmt == FMT_CSV)
            rs_gen_csv_line(ev, k, &b);
        else {
            rs_codec_encode_event(codec, ev, RS_FMT_JSON, 0, &b);
            rs_buf_putc(&b, '\n');
        }
        if (b.len >= 1 << 16) {
            fwrite(b.p, 1, b.len, f);
            rs_buf_reset(&b);
        }
    }
    if (fmt == FMT_AVRO) {
        held_fix(&h);
        if (rs_avro_file_write_events(path, h.ev, h.n, deflate, err, sizeof(err))) {
            fprintf(stderr, "recstream gen: %s\n", err);
            goto done;
        }
    } else {
        fwrite(b.p, 1, b.len, f);
        if (fflush(f) || ferror(f)) {
            perror(path);
            goto done;
        }
    }
    rc = 0;
done:
    if (f && f != stdout && fclose(f) && !rc) {
        perror(path);
        rc = 1;
    }
    rs_codec_destroy(codec);
    rs_buf_free(&b);
    rs_buf_free(&h.arena);
    free(h.ev);
    return rc;
}

static int write_truth(const rs_gen_t *g, const char *path) {
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return 1;
    }
    int bad = rs_gen_write_truth(g, f) != RS_OK;
    bad |= fclose(f) != 0;
    if (bad) fprintf(stderr, "recstream gen: writing %s failed\n", path);
    return bad;
}

int cmd_gen(int argc, char **argv) {
    enum {
        O_USERS = 256,
        O_ITEMS,
        O_CATS,
        O_ZIPF,
        O_PAIRS,
        O_PAIR_RATE,
        O_CART,
        O_BUY,
        O_RATE,
        O_START,
        O_GROUPS,
        O_NIGHT,
        O_BOTS,
        O_CARD,
        O_BIG,
        O_SPIKES,
        O_DUP,
        O_LATE,
        O_BAD,
        O_FORMAT,
        O_DEFLATE,
        O_TRUTH,
        O_JSONPCT
    };
    static const struct option lo[] = {{"events", required_argument, 0, 'n'},
                                       {"seed", required_argument, 0, 's'},
                                       {"out", required_argument, 0, 'o'},
                                       {"brokers", required_argument, 0, 'b'},
                                       {"topic", required_argument, 0, 't'},
                                       {"config", required_argument, 0, 'c'},
                                       {"quiet", no_argument, 0, 'q'},
                                       {"help", no_argument, 0, 'h'},
                                       {"users", required_argument, 0, O_USERS},
                                       {"items", required_argument, 0, O_ITEMS},
                                       {"categories", required_argument, 0, O_CATS},
                                       {"zipf", required_argument, 0, O_ZIPF},
                                       {"pairs", required_argument, 0, O_PAIRS},
                                       {"pair-rate", required_argument, 0, O_PAIR_RATE},
                                       {"cart-rate", required_argument, 0, O_CART},
                                       {"purchase-rate", required_argument, 0, O_BUY},
                                       {"rate", required_argument, 0, O_RATE},
                                       {"start", required_argument, 0, O_START},
                                       {"groups", required_argument, 0, O_GROUPS},
                                       {"night-owls", required_argument, 0, O_NIGHT},
                                       {"bots", required_argument, 0, O_BOTS},
                                       {"card-testing", required_argument, 0, O_CARD},
                                       {"big-purchases", required_argument, 0, O_BIG},
                                       {"spikes", required_argument, 0, O_SPIKES},
                                       {"dup", required_argument, 0, O_DUP},
                                       {"late", required_argument, 0, O_LATE},
                                       {"bad", required_argument, 0, O_BAD},
                                       {"format", required_argument, 0, O_FORMAT},
                                       {"deflate", no_argument, 0, O_DEFLATE},
                                       {"truth", required_argument, 0, O_TRUTH},
                                       {"json-pct", required_argument, 0, O_JSONPCT},
                                       {0, 0, 0, 0}};
    rs_cli_conf_t cc = {0};
    rs_gen_opts_t go;
    rs_gen_opts_default(&go);
    rs_gen_opts_behaviour(&go);
    const char *out = "-", *brokers = NULL, *topic = NULL, *format = NULL, *truth = NULL;
    uint64_t n = 100000;
    int quiet = 0, deflate = 0, json_pct = 0, night_set = 0, c, rc = RS_EXIT_FAIL;
    rs_gen_t *g = NULL;
    rs_conf_t *conf = NULL;
    char err[512];
    while ((c = getopt_long(argc, argv, "n:s:o:b:t:c:X:qh", lo, NULL)) != -1) {
        double v = 0;
        int bad = 0;
        if (c >= O_USERS && c != O_START && c != O_GROUPS && c != O_FORMAT && c != O_DEFLATE &&
            c != O_TRUTH)
            bad = num(optarg, &v);
        switch (c) {
        case 'n':
            bad = num(optarg, &v);
            n = (uint64_t)v;
            break;
        case 's':
            go.seed = strtoull(optarg, NULL, 10);
            break;
        case 'o':
            out = optarg;
            break;
        case 'b':
            brokers = optarg;
            break;
        case 't':
            topic = optarg;
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
            rc = 0;
            goto done;
        case O_USERS:
            go.users = (uint32_t)v;
            break;
        case O_ITEMS:
            go.items = (uint32_t)v;
            break;
        case O_CATS:
            go.categories = (uint32_t)v;
            break;
        case O_ZIPF:
            go.zipf_s = v;
            break;
        case O_PAIRS:
            go.pairs = (uint32_t)v;
            break;
        case O_PAIR_RATE:
            go.pair_rate = v;
            break;
        case O_CART:
            go.cart_rate = v;
            break;
        case O_BUY:
            go.purchase_rate = v;
            break;
        case O_RATE:
            go.events_per_sec = v;
            break;
        case O_START:
            bad = parse_start(optarg, &go.start_ms);
            break;
        case O_GROUPS:
            bad = parse_groups(optarg, &go);
            break;
        case O_NIGHT:
            go.night_owl_share = v;
            night_set = 1;
            break;
        case O_BOTS:
            go.anomaly_rate[RS_GEN_AN_BOT] = v;
            break;
        case O_CARD:
            go.anomaly_rate[RS_GEN_AN_CARD_TESTING] = v;
            break;
        case O_BIG:
            go.anomaly_rate[RS_GEN_AN_BIG_PURCHASE] = v;
            break;
        case O_SPIKES:
            go.anomaly_rate[RS_GEN_AN_ITEM_SPIKE] = v;
            break;
        case O_DUP:
            go.dup_rate = v;
            break;
        case O_LATE:
            go.late_rate = v;
            break;
        case O_BAD:
            go.bad_rate = v;
            break;
        case O_FORMAT:
            format = optarg;
            break;
        case O_DEFLATE:
            deflate = 1;
            break;
        case O_TRUTH:
            truth = optarg;
            break;
        case O_JSONPCT:
            json_pct = (int)v;
            break;
        default:
            usage(stderr);
            goto done;
        }
        if (bad || ((c == 'n' || (c >= O_USERS && c <= O_PAIRS)) && (v < 0 || v != floor(v)))) {
            fprintf(stderr, "recstream gen: bad value \"%s\" for --%s\n", optarg,
                    c == 'n' ? "events" : lo[c - O_USERS + 8].name);
            goto done;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "recstream gen: unexpected argument \"%s\"\n", argv[optind]);
        goto done;
    }
    double mix = 0;
    for (int k = 0; k < RS_GEN__GROUP_COUNT; k++) mix += go.group_mix[k];
    if (mix <= 0 && !night_set) go.night_owl_share = 0;
    if (rs_gen_opts_check(&go, err, sizeof(err))) {
        fprintf(stderr, "recstream gen: %s\n", err);
        goto done;
    }
    int fmt = fmt_of(out, format);
    if (fmt < 0) {
        fprintf(stderr, "recstream gen: unknown format \"%s\" (csv, jsonl, avro)\n", format);
        goto done;
    }
    if (!strcmp(out, "-") && fmt != FMT_CSV && !brokers) {
        fprintf(stderr, "recstream gen: stdout takes CSV only\n");
        goto done;
    }
    if (brokers || topic || cc.file || cc.n_x) {
        conf = rs_cli_conf_build(&cc, "recstream gen");
        if (!conf) goto done;
        if (brokers) rs_conf_set_kafka(conf, "bootstrap.servers", brokers, "-b");
        if (!rs_conf_get_kafka(conf, "bootstrap.servers")) {
            fprintf(stderr, "recstream gen: Kafka output needs -b BROKERS\n");
            goto done;
        }
    }
    g = rs_gen_new(&go);
    uint64_t cnt[RS_GEN__KIND_COUNT] = {0}, skipped = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (conf) {
        rs_feed_stats_t fs = {0};
        const char *tp = topic ? topic : conf->topic_events;
        if (rs_feed_run(conf->kafka, conf->kafka_cnt, tp, g, n, 0, json_pct, &fs, err,
                        sizeof(err))) {
            fprintf(stderr, "recstream gen: %s\n", err);
            rc = 1;
            goto done;
        }
        for (int k = 0; k < RS_GEN__KIND_COUNT; k++) cnt[k] = fs.bad_kind[k];
        out = tp;
    } else if (write_file(g, n, out, fmt, deflate, cnt, &skipped)) {
        rc = 1;
        goto done;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (truth && write_truth(g, truth)) {
        rc = 1;
        goto done;
    }
    if (!quiet) {
        double dt = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        uint64_t bad = 0, an[RS_GEN__AN_COUNT] = {0};
        for (int k = RS_GEN_BAD_GARBAGE; k < RS_GEN__KIND_COUNT; k++) bad += cnt[k];
        for (uint32_t i = 0; i < rs_gen_anomaly_count(g); i++) an[rs_gen_anomaly(g, i)->type]++;
        fprintf(stderr,
                "recstream gen: %" PRIu64 " records to %s (%" PRIu64 " ok, %" PRIu64
                " dup, %" PRIu64 " late, %" PRIu64 " malformed",
                n, !strcmp(out, "-") ? "stdout" : out, cnt[RS_GEN_OK], cnt[RS_GEN_DUP],
                cnt[RS_GEN_LATE], bad);
        if (skipped) fprintf(stderr, "; %" PRIu64 " not representable in Avro, left out", skipped);
        fprintf(stderr,
                ") in %.2f s (%.0f records/s); anomalies: %" PRIu64 " bot, %" PRIu64
                " card_testing, %" PRIu64 " big_purchase, %" PRIu64 " item_spike\n",
                dt, dt > 0 ? (double)n / dt : 0.0, an[0], an[1], an[2], an[3]);
    }
    rc = 0;
done:
    rs_gen_destroy(g);
    rs_conf_destroy(conf);
    rs_cli_conf_free(&cc);
    return rc;
}
