/* cmd_replay.c -- `recstream replay`: feeds a file (--input) or a Kafka
 * topic range (-b BROKERS --topic T [--from X] [--to Y]) through the daemon's
 * pipeline into a state directory (SPEC F12; issue 6).
 *
 * Determinism: events are applied in file order (files) or in the merge
 * order of replay_kafka.c (timestamp, partition, offset: content only) and,
 * when outputs are asked for, every event is scored right after it is
 * applied (a daemon whose poll batches hold one record), so the lists
 * depend on the events alone; --batch-size only sets how many events go
 * into one WriteBatch. Emit decisions and decay use event time. Two replays
 * of the same input with any batch sizes give the same state dump and
 * byte-identical JSON lines.
 *
 * Outputs: --emit-jsonl writes the lists, alerts and segment changes to a
 * file; --topic-prefix P sends them (output.format, keyed by user; item
 * alerts by item) to P + topic.recommendations / topic.alerts /
 * topic.segments and the rejected records to P + topic.dlq with the
 * daemon's rs-error headers, so
 * a candidate configuration can run beside the live one (shadow mode). A
 * Kafka range replay stores the consumed offsets in the state, which is
 * what lets the daemon take over the state dir (docs/ARCHITECTURE.md,
 * "Cut-over"). */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "recstream/rs_buf.h"
#include "recstream/rs_kafka.h"
#include "recstream/rs_log.h"
#include "recstream/rs_pipeline.h"
#include "recstream/rs_source.h"
#include "replay_kafka.h"
#include "rs_cli.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: recstream replay --input FILE --state DIR [--emit-jsonl OUT] [options]\n"
            "       recstream replay -b BROKERS --topic T [--from X] [--to Y] --state DIR "
            "[options]\n"
            "\n"
            "Apply an event file or a Kafka topic range to a state directory (fresh or\n"
            "existing) with the daemon's pipeline. With --emit-jsonl, every recommendation\n"
            "list, alert and segment change it would have emitted is written as one JSON\n"
            "object a line ({\"kind\":\"recommendation\"|\"alert\"|\"segment\",...}).\n"
            "\n"
            "  -i, --input FILE       canonical CSV or JSON lines (by extension, or --format)\n"
            "      --format F         csv | jsonl | avro (default: by extension)\n"
            "  -b, --brokers LIST     Kafka bootstrap servers (= -X kafka.bootstrap.servers)\n"
            "  -t, --topic T          replay this topic's range instead of a file; no consumer\n"
            "                         group is joined, so the live group is untouched\n"
            "      --from X           first offset per partition (default: log start)\n"
            "      --to Y             end offset, exclusive (default: high watermark at start)\n"
            "                         X, Y: N | @MS (first offset with timestamp >= MS) |\n"
            "                         beginning | end | stored (--from: the state's offset),\n"
            "                         for all partitions or per partition: 0:123,1:@1700000000000\n"
            "  -s, --state DIR        state directory (created if missing)\n"
            "      --emit-jsonl OUT   write the outputs there (- = stdout)\n"
            "      --topic-prefix P   also send the lists, alerts and segment changes to\n"
            "                         P+topic.recommendations, P+topic.alerts, P+topic.segments\n"
            "                         and rejected records to P+topic.dlq (shadow; needs -b)\n"
            "      --emit-topics      send them to the live topics themselves (a backfill\n"
            "                         after a logic change; needs -b)\n"
            "      --batch-size N     events per state commit (default 1000000); does not\n"
            "                         change the results\n"
            "      --dlq-file FILE    write rejected events as JSON lines (where, reason)\n"
            "      --limit N          stop after N events\n"
            "      --merge-buffer N   topic: records buffered per partition before it is\n"
            "                         paused (default 65536)\n"
            "      --idle-timeout-ms N  topic: fail when nothing arrives for N ms (30000)\n"
            "      --json             print the summary as JSON\n"
            "  -c, --config FILE      properties file; -X key=value overrides\n"
            "  -q, --quiet            no progress bar\n"
            "  -h, --help\n");
}

typedef struct replay {
    FILE *out, *dlq;
    rs_buf_t line;
    rs_source_t *src; /* NULL for a topic */
    const char *input;
    uint64_t recs, rejected;
    /* shadow outputs (--topic-prefix) */
    rs_producer_t *prod;
    char *rec_topic, *dlq_topic, *alert_topic, *seg_topic;
    uint64_t produced, failed;
    uint64_t alerts, segments;
    rs_codec_t *codec; /* JSON lines of alerts and segment changes */
} replay_t;

static void on_delivery(void *opaque, void *msg_opaque, int err, const char *errstr) {
    replay_t *r = opaque;
    if (err && r->failed++ < 5) fprintf(stderr, "recstream replay: delivery failed: %s\n", errstr);
}

static void produce(replay_t *r, const char *topic, const void *key, size_t klen, const void *val,
                    size_t vlen, const rs_header_t *h, size_t nh) {
    for (int tries = 0;; tries++) {
        int rc = rs_producer_send(r->prod, topic, -1, key, klen, val, vlen, h, nh, NULL);
        if (rc == RS_OK) {
            r->produced++;
            return;
        }
        if (rc != RS_EFULL || tries > 3000) {
            if (r->failed++ < 5)
                fprintf(stderr, "recstream replay: produce to %s: %s\n", topic, rs_strerror(rc));
            return;
        }
        rs_producer_flush(r->prod, 10); /* local queue full: let deliveries drain */
    }
}

static void poll_producer(void *opaque) {
    replay_t *r = opaque;
    if (r->prod) rs_producer_poll(r->prod);
}

static void on_rec(void *opaque, const rs_rec_t *rec, const void *key, size_t klen, const void *val,
                   size_t vlen, int64_t origin_us) {
    replay_t *r = opaque;
    r->recs++;
    if (r->prod) produce(r, r->rec_topic, key, klen, val, vlen, NULL, 0);
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

static void on_alert(void *opaque, const rs_alert_t *a, const void *key, size_t klen,
                     const void *val, size_t vlen) {
    replay_t *r = opaque;
    r->alerts++;
    const char *rule = rs_alert_rule_name(a->rule);
    rs_header_t h[1] = {{"rs-rule", rule, strlen(rule)}};
    if (r->prod) produce(r, r->alert_topic, key, klen, val, vlen, h, 1);
    if (!r->out) return;
    rs_buf_reset(&r->line);
    /* created_ms 0: the line carries event time only, so replays compare equal */
    if (rs_codec_encode_alert(r->codec, a, 0, RS_FMT_JSON, 0, &r->line)) return;
    rs_buf_putc(&r->line, '\n');
    fwrite(r->line.p, 1, r->line.len, r->out);
}

static void on_segment(void *opaque, const rs_segment_change_t *c, const void *key, size_t klen,
                       const void *val, size_t vlen) {
    replay_t *r = opaque;
    r->segments++;
    if (r->prod) produce(r, r->seg_topic, key, klen, val, vlen, NULL, 0);
    if (!r->out) return;
    rs_buf_reset(&r->line);
    if (rs_codec_encode_segment(r->codec, c, 0, RS_FMT_JSON, 0, &r->line)) return;
    rs_buf_putc(&r->line, '\n');
    fwrite(r->line.p, 1, r->line.len, r->out);
}

/* "file:line" or "topic [p] @offset" of the record being processed. */
static void where(const replay_t *r, const rs_msg_t *m, char *buf, size_t size) {
    if (r->src)
        snprintf(buf, size, "%s:%" PRIu64, r->input, rs_source_line(r->src));
    else
        snprintf(buf, size, "%s [%d] @%" PRId64, m->topic ? m->topic : "", (int)m->partition,
                 m->offset);
}

static void on_dlq(void *opaque, const rs_msg_t *m, rs_reject_t reason, const char *detail) {
    replay_t *r = opaque;
    char at[512];
    r->rejected++;
    where(r, m, at, sizeof(at));
    if (r->rejected <= 5)
        fprintf(stderr, "recstream replay: %s: %s: %s\n", at, rs_reject_name(reason), detail);
    const char *rname = rs_reject_name(reason);
    if (r->prod) { /* the daemon's DLQ headers; file records carry the place instead */
        char part[16], off[24];
        snprintf(part, sizeof(part), "%d", (int)m->partition);
        snprintf(off, sizeof(off), "%" PRId64, m->offset);
        const char *src = r->src ? at : m->topic ? m->topic : "";
        rs_header_t h[5] = {
            {"rs-error", rname, strlen(rname)},
            {"rs-error-detail", detail, strlen(detail)},
            {r->src ? "rs-source-file" : "rs-source-topic", src, strlen(src)},
            {"rs-source-partition", part, strlen(part)},
            {"rs-source-offset", off, strlen(off)},
        };
        produce(r, r->dlq_topic, m->key, m->key_len, m->payload, m->len, h, r->src ? 3 : 5);
    }
    if (!r->dlq) return;
    rs_buf_t b = {0};
    if (r->src) {
        rs_buf_printf(&b, "{\"input\":");
        rs_buf_json_str(&b, r->input, strlen(r->input));
        rs_buf_printf(&b, ",\"line\":%" PRIu64, rs_source_line(r->src));
    } else {
        rs_buf_printf(&b, "{\"topic\":");
        rs_buf_json_str(&b, m->topic ? m->topic : "", m->topic ? strlen(m->topic) : 0);
        rs_buf_printf(&b, ",\"partition\":%d,\"offset\":%" PRId64, (int)m->partition, m->offset);
    }
    rs_buf_printf(&b, ",\"reason\":\"%s\",\"detail\":", rname);
    rs_buf_json_str(&b, detail, strlen(detail));
    rs_buf_printf(&b, "}\n");
    fwrite(b.p, 1, b.len, r->dlq);
    rs_buf_free(&b);
}

static int has_brokers(const rs_conf_t *conf) {
    const char *b = rs_conf_get_kafka(conf, "bootstrap.servers");
    return b && *b;
}

static char *concat(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    char *s = rs_xmalloc(la + lb + 1);
    memcpy(s, a, la);
    memcpy(s + la, b, lb + 1);
    return s;
}

/* The file path: events in file order. */
static int replay_file(replay_t *r, rs_pipeline_t *p, uint64_t batch, uint64_t limit, int tty,
                       uint64_t *n_out, uint64_t *bad_out, char *err, size_t errsz) {
    rs_state_t *st = rs_pipeline_state(p);
    uint64_t n = 0, bad = 0, in_batch = 0;
    int64_t t0 = rs_mono_us(), last_bar = 0;
    rs_event_t e;
    int got, rc = 0;
    while (n < limit && (got = rs_source_next(r->src, &e, err, errsz)) != 0) {
        if (got < 0) {
            if (got == RS_EIO) return got;
            if (bad++ < 5) fprintf(stderr, "recstream replay: skipped %s\n", err);
            if (r->dlq) {
                rs_buf_t b = {0};
                rs_buf_printf(&b, "{\"input\":");
                rs_buf_json_str(&b, r->input, strlen(r->input));
                rs_buf_printf(&b, ",\"line\":%" PRIu64 ",\"reason\":\"malformed\",\"detail\":",
                              rs_source_line(r->src));
                rs_buf_json_str(&b, err, strlen(err));
                rs_buf_printf(&b, "}\n");
                fwrite(b.p, 1, b.len, r->dlq);
                rs_buf_free(&b);
            }
            continue;
        }
        n++;
        rs_pipeline_process_event(p, &e, 0);
        if (r->out || r->prod) rs_pipeline_score(p); /* per event: lists independent of batching */
        if (++in_batch >= batch) {
            in_batch = 0;
            if (!r->out && !r->prod) rs_state_touched_reset(st);
            if ((rc = rs_pipeline_commit(p, err, errsz)) != 0) return rc;
        }
        if ((n & 8191) == 0) {
            poll_producer(r);
            if (tty && rs_mono_us() - last_bar > 200000) {
                last_bar = rs_mono_us();
                double secs = (double)(last_bar - t0) / 1e6;
                uint64_t sz = rs_source_size(r->src), off = rs_source_offset(r->src);
                double eta = sz && off ? secs * (double)(sz - off) / (double)off : 0;
                fprintf(stderr,
                        "\r%5.1f%%  %" PRIu64 " events  %.0f/s  ETA %.0f s  bad %" PRIu64 " ",
                        sz ? 100.0 * (double)off / (double)sz : 0.0, n, (double)n / secs, eta,
                        bad + r->rejected);
            }
        }
    }
    if (!r->out && !r->prod) rs_state_touched_reset(st);
    *n_out = n;
    *bad_out = bad;
    return rs_pipeline_commit(p, err, errsz);
}

int cmd_replay(int argc, char **argv) {
    static const struct option lo[] = {{"input", required_argument, 0, 'i'},
                                       {"format", required_argument, 0, 1},
                                       {"state", required_argument, 0, 's'},
                                       {"emit-jsonl", required_argument, 0, 2},
                                       {"batch-size", required_argument, 0, 3},
                                       {"dlq-file", required_argument, 0, 4},
                                       {"limit", required_argument, 0, 5},
                                       {"json", no_argument, 0, 6},
                                       {"brokers", required_argument, 0, 'b'},
                                       {"topic", required_argument, 0, 't'},
                                       {"from", required_argument, 0, 7},
                                       {"to", required_argument, 0, 8},
                                       {"topic-prefix", required_argument, 0, 9},
                                       {"merge-buffer", required_argument, 0, 10},
                                       {"idle-timeout-ms", required_argument, 0, 11},
                                       {"emit-topics", no_argument, 0, 12},
                                       {"config", required_argument, 0, 'c'},
                                       {"quiet", no_argument, 0, 'q'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    rs_cli_conf_t cc = {0};
    const char *input = NULL, *format = NULL, *dir = NULL, *emit = NULL, *dlq = NULL;
    const char *brokers = NULL, *topic = NULL, *from = NULL, *to = NULL, *prefix = NULL;
    uint64_t batch = 1000000, limit = UINT64_MAX, mbuf = 65536, idle_ms = 30000;
    int json = 0, quiet = 0, live = 0, c;
    while ((c = getopt_long(argc, argv, "i:s:b:t:c:X:qh", lo, NULL)) != -1) {
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
        case 'b':
            brokers = optarg;
            break;
        case 't':
            topic = optarg;
            break;
        case 7:
            from = optarg;
            break;
        case 8:
            to = optarg;
            break;
        case 9:
            prefix = optarg;
            break;
        case 10:
            mbuf = strtoull(optarg, NULL, 10);
            break;
        case 11:
            idle_ms = strtoull(optarg, NULL, 10);
            break;
        case 12:
            live = 1;
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
    const char *bad_use = !input == !topic ? "give exactly one of --input FILE and --topic T"
                          : !dir           ? "--state DIR is required"
                          : !batch         ? "--batch-size must be at least 1"
                          : !mbuf          ? "--merge-buffer must be at least 1"
                          : idle_ms < 1 || idle_ms > 86400000
                              ? "--idle-timeout-ms must be 1..86400000"
                          : (from || to) && !topic ? "--from/--to need --topic"
                          : prefix && !*prefix     ? "--topic-prefix must not be empty"
                          : prefix && live ? "give at most one of --topic-prefix and --emit-topics"
                          : optind < argc  ? "unexpected argument"
                                           : NULL;
    if (bad_use) {
        fprintf(stderr, "recstream replay: %s\n", bad_use);
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
    if (brokers) rs_conf_set_kafka(conf, "bootstrap.servers", brokers, "-b");
    if (live) prefix = ""; /* the configured topic names themselves */
    if ((topic || prefix) && !has_brokers(conf)) {
        fprintf(stderr, "recstream replay: %s needs -b BROKERS (or kafka.bootstrap.servers)\n",
                topic  ? "--topic"
                : live ? "--emit-topics"
                       : "--topic-prefix");
        rs_conf_destroy(conf);
        return RS_EXIT_FAIL;
    }

    replay_t r = {.input = input ? input : topic};
    rs_stats_t stats;
    memset(&stats, 0, sizeof(stats));
    rs_pipeline_t *p = NULL;
    int rc = input ? rs_source_open(&r.src, input, format, err, sizeof(err)) : 0;
    if (!rc && emit) {
        r.out = strcmp(emit, "-") ? fopen(emit, "w") : stdout;
        if (!r.out) rc = rs_seterr(err, sizeof(err), RS_EIO, "cannot write %s", emit);
    }
    if (!rc && dlq && !(r.dlq = fopen(dlq, "w")))
        rc = rs_seterr(err, sizeof(err), RS_EIO, "cannot write %s", dlq);
    if (!rc && prefix) {
        r.rec_topic = concat(prefix, conf->topic_recommendations);
        r.dlq_topic = concat(prefix, conf->topic_dlq);
        r.alert_topic = concat(prefix, conf->topic_alerts);
        r.seg_topic = concat(prefix, conf->topic_segments);
        if (topic && (!strcmp(r.rec_topic, topic) || !strcmp(r.dlq_topic, topic) ||
                      !strcmp(r.alert_topic, topic) || !strcmp(r.seg_topic, topic)))
            rc = rs_seterr(err, sizeof(err), RS_EARG, "--topic-prefix %s would write to %s", prefix,
                           topic);
        if (!rc)
            rc = rs_producer_new(&r.prod, conf->kafka, conf->kafka_cnt, on_delivery, &r, err,
                                 sizeof(err));
    }
    if (!rc) rc = rs_codec_new(&r.codec, err, sizeof(err));
    rs_sink_t sink = {&r, on_rec, on_dlq, on_alert, on_segment};
    if (!rc) rc = rs_pipeline_new(&p, conf, &sink, &stats, err, sizeof(err));
    if (rc) goto fail;
    int tty = !quiet && isatty(2);
    uint64_t n = 0, bad = 0;
    replay_kafka_result_t kr = {0};
    int64_t t0 = rs_mono_us();
    if (topic) {
        replay_kafka_opts_t ko = {.conf = conf,
                                  .topic = topic,
                                  .from = from,
                                  .to = to,
                                  .batch = batch,
                                  .limit = limit,
                                  .buffer = (size_t)mbuf,
                                  .emit = r.out || r.prod,
                                  .tty = tty,
                                  .idle_timeout_ms = (int)idle_ms,
                                  .poll = poll_producer,
                                  .poll_opaque = &r};
        rc = replay_kafka_run(&ko, p, &kr, err, sizeof(err));
        n = kr.records;
    } else {
        rc = replay_file(&r, p, batch, limit, tty, &n, &bad, err, sizeof(err));
    }
    if (tty) fprintf(stderr, "\r%*s\r", 78, "");
    if (rc) goto fail;
    if (r.prod && rs_producer_flush(r.prod, 60000)) {
        rc = rs_seterr(err, sizeof(err), RS_ETIMEOUT, "%d output record(s) not delivered",
                       rs_producer_outq_len(r.prod));
        goto fail;
    }
    poll_producer(&r);
    if (r.failed) {
        rc =
            rs_seterr(err, sizeof(err), RS_EKAFKA, "%" PRIu64 " output record(s) failed", r.failed);
        goto fail;
    }
    double secs = (double)(rs_mono_us() - t0) / 1e6;
    rs_state_t *st = rs_pipeline_state(p);
    if (json) {
        printf("{\"events\":%" PRIu64 ",\"applied\":%" PRIu64 ",\"duplicates\":%" PRIu64
               ",\"rejected\":%" PRIu64 ",\"malformed\":%" PRIu64 ",\"recommendations\":%" PRIu64
               ",\"alerts\":%" PRIu64 ",\"segment_changes\":%" PRIu64 ",\"produced\":%" PRIu64,
               n, stats.events_applied, stats.events_duplicate, r.rejected, bad, r.recs, r.alerts,
               r.segments, r.produced);
        if (topic)
            printf(",\"partitions\":%d,\"range\":%" PRIu64 ",\"gaps\":%" PRIu64 ",\"complete\":%s",
                   (int)kr.partitions, kr.range, kr.gaps, kr.complete ? "true" : "false");
        printf(",\"seconds\":%.3f,\"events_per_sec\":%.1f,\"items\":%u}\n", secs,
               secs > 0 ? (double)n / secs : 0, rs_state_item_count(st));
    } else {
        FILE *o = r.out == stdout ? stderr : stdout;
        fprintf(o,
                "replayed %" PRIu64 " events from %s into %s in %.2f s (%.0f/s): %" PRIu64
                " applied, %" PRIu64 " duplicates, %" PRIu64 " rejected, %" PRIu64
                " malformed lines, %" PRIu64 " recommendation lists, %" PRIu64 " alerts, %" PRIu64
                " segment changes",
                n, r.input, dir, secs, secs > 0 ? (double)n / secs : 0, stats.events_applied,
                stats.events_duplicate, r.rejected, bad, r.recs, r.alerts, r.segments);
        if (r.prod)
            fprintf(o, " (%" PRIu64 " records to %s%s)", r.produced, *prefix ? prefix : "",
                    *prefix ? "*" : "the live output topics");
        if (topic)
            fprintf(o, "; %d partitions, %" PRIu64 " offsets without a record%s",
                    (int)kr.partitions, kr.gaps,
                    kr.complete ? "" : "; stopped before the end (--limit)");
        fprintf(o, "\n");
    }
    goto out;
fail:
    fprintf(stderr, "recstream replay: %s\n", err);
out:
    rs_pipeline_destroy(p);
    rs_producer_destroy(r.prod);
    rs_source_close(r.src);
    if (r.out && r.out != stdout && fclose(r.out)) rc = rc ? rc : RS_EIO;
    if (r.out == stdout) fflush(stdout);
    if (r.dlq) fclose(r.dlq);
    rs_buf_free(&r.line);
    free(r.rec_topic);
    free(r.dlq_topic);
    free(r.alert_topic);
    free(r.seg_topic);
    rs_codec_destroy(r.codec);
    rs_conf_destroy(conf);
    /* a bad --from/--to spec is a usage error */
    return rc ? (rc == RS_EXIT_FAIL || rc == RS_EARG ? RS_EXIT_FAIL : 1) : 0;
}
