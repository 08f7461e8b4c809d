/* cmd_demo.c -- `recstream demo`: the whole pipeline with no broker installed.
 *
 * Starts librdkafka's mock cluster in-process, produces generated traffic
 * (with duplicates, late and malformed records) to `events`, runs the real
 * daemon against it until every record is consumed, then reads the
 * `recommendations` and `alerts` topics back and prints samples and a
 * summary. The traffic carries a few planted anomalies (bots, card testing,
 * big purchases, an item spike) so the detectors have something to find,
 * and the generator's behaviour groups (shoppers with budgets, so every big
 * purchase is a planted one) at 100 events/s of event time: 1,000 s for
 * the default 100k records, long enough for items to have a usual traffic
 * a spike can stand out against. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recstream/rs_codec.h"
#include "recstream/rs_daemon.h"
#include "recstream/rs_log.h"
#include "recstream/rs_state.h"
#include "rs_cli.h"
#include "recstream/rs_feed.h"

static void usage(FILE *out) {
    fprintf(out, "usage: recstream demo [--events N] [--users N] [--items N] [--seed S]\n"
                 "                      [-c FILE] [-X key=value]... [--keep-state]\n"
                 "\n"
                 "Runs the pipeline on an in-process Kafka mock cluster with generated\n"
                 "traffic (default 100000 events, 5000 users) and prints what it emitted.\n"
                 "The daemon reads that backlog with consume.align.ms=30000 (-X replaces\n"
                 "it), so item_spike sees the partitions together.\n");
}

typedef struct sample {
    char user[64];
    rs_buf_t json;
} sample_t;

/* Reads the recommendations topic back; keeps the latest list of a few users. */
static uint64_t read_back(rs_conf_t *conf, uint64_t expect, sample_t *samples, int n_samples,
                          const char *(*users)[1]) {
    char err[256];
    rs_consumer_t *c = NULL;
    rs_codec_t *codec = NULL;
    uint64_t got = 0;
    if (rs_consumer_new(&c, conf->kafka, conf->kafka_cnt, NULL, NULL, err, sizeof(err)) ||
        rs_codec_new(&codec, err, sizeof(err))) {
        fprintf(stderr, "demo: %s\n", err);
        goto done;
    }
    rs_tp_t tps[64];
    int64_t offs[64];
    int np = rs_kafka_partition_count(conf->kafka, conf->kafka_cnt, conf->topic_recommendations,
                                      5000, err, sizeof(err));
    if (np <= 0 || np > 64) goto done;
    for (int i = 0; i < np; i++) {
        tps[i] = (rs_tp_t){conf->topic_recommendations, i};
        offs[i] = RS_OFFSET_BEGINNING;
    }
    if (rs_consumer_assign(c, tps, offs, (size_t)np, err, sizeof(err))) goto done;
    rs_msg_t msgs[512];
    int64_t deadline = rs_now_ms() + 20000;
    while (got < expect && rs_now_ms() < deadline) {
        size_t n = rs_consumer_poll_wait(c, msgs, 512, 200);
        for (size_t i = 0; i < n; i++) {
            if (msgs[i].err) continue;
            got++;
            rs_rec_t rec;
            if (rs_codec_decode_rec(codec, msgs[i].payload, msgs[i].len,
                                    (rs_format_t)conf->output_format, &rec, err, sizeof(err)))
                continue;
            for (int s = 0; s < n_samples; s++) {
                if (strlen(samples[s].user) != rec.user_id.len ||
                    memcmp(samples[s].user, rec.user_id.p, rec.user_id.len))
                    continue;
                rs_buf_reset(&samples[s].json);
                rs_buf_printf(&samples[s].json, "  %.*s (v%" PRId64 ", %.*s):\n",
                              (int)rec.user_id.len, rec.user_id.p, rec.version,
                              (int)rec.strategy.len, rec.strategy.p);
                for (uint32_t k = 0; k < rec.n_items && k < 5; k++)
                    rs_buf_printf(&samples[s].json, "      %-8.*s %.3f  %.*s\n",
                                  (int)rec.items[k].item_id.len, rec.items[k].item_id.p,
                                  (double)rec.items[k].score, (int)rec.items[k].reason.len,
                                  rec.items[k].reason.p);
            }
        }
        rs_consumer_release(c, msgs, n);
    }
done:
    (void)users;
    rs_codec_destroy(codec);
    rs_consumer_destroy(c);
    return got;
}

/* Reads the alerts topic back: how many, and the first alert of each rule. */
static uint64_t read_alerts(rs_conf_t *conf, uint64_t expect, rs_buf_t *examples) {
    char err[256];
    rs_consumer_t *c = NULL;
    rs_codec_t *codec = NULL;
    uint64_t got = 0;
    char shown[RS_ALERT__RULE_COUNT][32]; /* rule names already shown */
    int n_shown = 0;
    if (rs_consumer_new(&c, conf->kafka, conf->kafka_cnt, NULL, NULL, err, sizeof(err)) ||
        rs_codec_new(&codec, err, sizeof(err)))
        goto done;
    rs_tp_t tp = {conf->topic_alerts, 0};
    int64_t off = RS_OFFSET_BEGINNING;
    if (rs_consumer_assign(c, &tp, &off, 1, err, sizeof(err))) goto done;
    rs_msg_t msgs[256];
    int64_t deadline = rs_now_ms() + 10000;
    while (got < expect && rs_now_ms() < deadline) {
        size_t n = rs_consumer_poll_wait(c, msgs, 256, 200);
        for (size_t i = 0; i < n; i++) {
            if (msgs[i].err) continue;
            got++;
            rs_alert_msg_t a;
            if (n_shown == RS_ALERT__RULE_COUNT ||
                rs_codec_decode_alert(codec, msgs[i].payload, msgs[i].len,
                                      (rs_format_t)conf->output_format, &a, err, sizeof(err)))
                continue;
            int seen = 0;
            for (int k = 0; k < n_shown && !seen; k++)
                seen = strlen(shown[k]) == a.rule.len && !memcmp(shown[k], a.rule.p, a.rule.len);
            if (seen) continue;
            snprintf(shown[n_shown++], sizeof(shown[0]), "%.*s", (int)a.rule.len, a.rule.p);
            rs_buf_printf(examples, "  %-13.*s %s %.*s  score %.1f  (", (int)a.rule.len, a.rule.p,
                          a.user_id.p ? "user" : "item",
                          (int)(a.user_id.p ? a.user_id.len : a.item_id.len),
                          a.user_id.p ? a.user_id.p : a.item_id.p, a.score);
            for (uint32_t k = 0; k < a.n_evidence; k++)
                rs_buf_printf(examples, "%s%s %g", k ? ", " : "", a.evidence[k].name,
                              a.evidence[k].value);
            rs_buf_printf(examples, ")\n");
        }
        rs_consumer_release(c, msgs, n);
    }
done:
    rs_codec_destroy(codec);
    rs_consumer_destroy(c);
    return got;
}

int cmd_demo(int argc, char **argv) {
    static const struct option lo[] = {
        {"events", required_argument, 0, 'n'}, {"users", required_argument, 0, 'u'},
        {"items", required_argument, 0, 'i'},  {"seed", required_argument, 0, 's'},
        {"config", required_argument, 0, 'c'}, {"keep-state", no_argument, 0, 'k'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    rs_cli_conf_t cc = {0};
    rs_gen_opts_t go;
    rs_gen_opts_default(&go);
    rs_gen_opts_behaviour(&go);
    go.events_per_sec = 100;
    uint64_t n_events = 100000;
    go.users = 5000;
    go.items = 5000;
    go.dup_rate = 0.01;
    go.late_rate = 0.01;
    go.bad_rate = 0.005;
    /* a few planted anomaly episodes per 100k background events (they leave
     * the background traffic, and so the recommendations, unchanged) */
    go.anomaly_rate[RS_GEN_AN_BOT] = 3;
    go.anomaly_rate[RS_GEN_AN_CARD_TESTING] = 3;
    go.anomaly_rate[RS_GEN_AN_BIG_PURCHASE] = 3;
    go.anomaly_rate[RS_GEN_AN_ITEM_SPIKE] = 1;
    int keep = 0, c;
    /* a backlog of few events per partition and second: read it aligned in
     * event time (rs_align.h), or item_spike misses or multiplies its spike */
    rs_cli_conf_add_x(&cc, "consume.align.ms=30000");
    while ((c = getopt_long(argc, argv, "c:X:h", lo, NULL)) != -1) {
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
        case 's':
            go.seed = strtoull(optarg, NULL, 10);
            break;
        case 'k':
            keep = 1;
            break;
        default: {
            int ex;
            if (rs_cli_common_opt(c, optarg, &cc, usage, &ex)) return ex;
            break;
        }
        }
    }
    rs_conf_t *conf = rs_cli_conf_build(&cc, "recstream demo");
    rs_cli_conf_free(&cc);
    if (!conf) return RS_EXIT_FAIL;

    char err[512];
    int rc = 1;
    rs_mock_t *mock = NULL;
    rs_gen_t *gen = NULL;
    rs_daemon_t *d = NULL;
    sample_t samples[3];
    memset(samples, 0, sizeof(samples));
    char *tmp = NULL;
    if (!strcmp(conf->state_dir, "./state")) { /* not chosen by the user: use a temp dir */
        tmp = rs_cli_tmpdir("recstream-demo");
        if (!tmp) {
            fprintf(stderr, "demo: cannot create a temporary state directory\n");
            goto done;
        }
        rs_conf_set(conf, "state.dir", tmp, "demo", err, sizeof(err));
    }
    if (rs_mock_new(&mock, 1, err, sizeof(err))) goto fail;
    rs_mock_topic_create(mock, conf->topic_events, 8);
    rs_mock_topic_create(mock, conf->topic_recommendations, 4);
    rs_mock_topic_create(mock, conf->topic_dlq, 1);
    rs_mock_topic_create(mock, conf->topic_alerts, 1);
    rs_mock_topic_create(mock, conf->topic_segments, 4);
    rs_conf_set_kafka(conf, "bootstrap.servers", rs_mock_bootstraps(mock), "demo");
    printf("recstream demo: Kafka mock cluster at %s, state in %s\n", rs_mock_bootstraps(mock),
           conf->state_dir);

    gen = rs_gen_new(&go);
    rs_feed_stats_t fs = {0};
    int64_t t0 = rs_mono_us();
    if (rs_feed_run(conf->kafka, conf->kafka_cnt, conf->topic_events, gen, n_events, 0, 10, &fs,
                    err, sizeof(err)))
        goto fail;
    printf("produced %" PRIu64 " records to %s in %.2f s (%" PRIu64 " duplicates, %" PRIu64
           " late, %" PRIu64 " malformed)\n",
           fs.produced, conf->topic_events, (double)(rs_mono_us() - t0) / 1e6, fs.dup, fs.late,
           fs.bad);

    rs_daemon_opts_t opts = {.stop_after_events = fs.produced, .no_signals = 0};
    if (rs_daemon_new(&d, conf, &opts, err, sizeof(err))) goto fail;
    if (rs_daemon_run(d)) {
        snprintf(err, sizeof(err), "daemon failed");
        goto fail;
    }
    const rs_stats_t *s = rs_daemon_stats(d);
    int64_t first = rs_daemon_first_msg_us(d);
    double secs = first ? (double)(rs_mono_us() - first) / 1e6 : 0;
    rs_stats_t st = *s;
    rs_daemon_destroy(d);
    d = NULL;

    /* samples: the first three users of the generator's id space */
    for (int i = 0; i < 3; i++) snprintf(samples[i].user, sizeof(samples[i].user), "u%d", i);
    uint64_t read = read_back(conf, st.recs_emitted, samples, 3, NULL);
    uint64_t alerts = 0,
             seg_changes = st.segment_changes[RS_SEG_RFM] + st.segment_changes[RS_SEG_CLUSTER];
    for (int r = 0; r < RS_ALERT__RULE_COUNT; r++) alerts += st.alerts[r];
    rs_buf_t alert_examples = {0};
    uint64_t alerts_read = read_alerts(conf, alerts, &alert_examples);

    /* planted bought-together pairs found among the item neighbours */
    rs_state_t *state = NULL;
    uint32_t found = 0, n_pairs = rs_gen_pair_count(gen);
    if (!rs_state_open_ro(&state, conf, err, sizeof(err))) {
        for (uint32_t i = 0; i < n_pairs; i++) {
            const char *a, *b;
            rs_gen_pair(gen, i, &a, &b);
            rs_item_t *ia = rs_state_item_get(state, a, strlen(a));
            rs_item_t *ib = rs_state_item_get(state, b, strlen(b));
            if (!ia || !ib) continue;
            uint32_t nn;
            const rs_nbr_t *nb = rs_state_item_top(state, ia, &nn);
            for (uint32_t j = 0; j < nn && j < 10; j++)
                if (nb[j].item == ib->idx) {
                    found++;
                    break;
                }
        }
    }

    uint64_t dlq = 0;
    for (int i = 0; i < RS_REJ__COUNT; i++) dlq += st.dlq[i];
    printf("\nsample recommendations (latest list per user):\n");
    for (int i = 0; i < 3; i++)
        if (samples[i].json.len) fwrite(samples[i].json.p, 1, samples[i].json.len, stdout);
    printf("\nsummary:\n");
    printf("  events in         %" PRIu64 "\n", st.events_in);
    printf("  applied           %" PRIu64 "\n", st.events_applied);
    printf("  duplicates        %" PRIu64 "\n", st.events_duplicate);
    printf("  late (applied)    %" PRIu64 "\n", st.events_late);
    printf("  dead-lettered     %" PRIu64, dlq);
    const char *sep = " (";
    for (int i = 1; i < RS_REJ__COUNT; i++)
        if (st.dlq[i])
            printf("%s%s %" PRIu64, sep, rs_reject_name((rs_reject_t)i), st.dlq[i]), sep = ", ";
    printf("%s\n", dlq ? ")" : "");
    printf("  users             %" PRIu64 "\n", st.users_cached);
    printf("  items             %u\n", state ? rs_state_item_count(state) : 0);
    printf("  co-occurrences    %" PRIu64 "\n", state ? rs_state_cooc_entries(state) : 0);
    printf("  recommendations   %" PRIu64 " emitted, %" PRIu64 " read back from %s\n",
           st.recs_emitted, read, conf->topic_recommendations);
    printf("  planted pairs     %u of %u found in their item's top-10 neighbours\n", found,
           n_pairs);
    uint32_t planted[RS_GEN__AN_COUNT] = {0};
    for (uint32_t i = 0; i < rs_gen_anomaly_count(gen); i++)
        planted[rs_gen_anomaly(gen, i)->type]++;
    printf("  alerts            %" PRIu64 " emitted, %" PRIu64 " read back from %s:", alerts,
           alerts_read, conf->topic_alerts);
    for (int r = 0; r < RS_ALERT__RULE_COUNT; r++)
        printf("%s %s %" PRIu64, r ? "," : "", rs_alert_rule_name((rs_alert_rule_t)r),
               st.alerts[r]);
    printf("\n                    planted: %u bots, %u card testers, %u big purchases, %u item "
           "spikes\n",
           planted[RS_GEN_AN_BOT], planted[RS_GEN_AN_CARD_TESTING], planted[RS_GEN_AN_BIG_PURCHASE],
           planted[RS_GEN_AN_ITEM_SPIKE]);
    if (alert_examples.len) fwrite(alert_examples.p, 1, alert_examples.len, stdout);
    printf("  segments          %" PRIu64 " changes to %s; RFM:", seg_changes,
           conf->topic_segments);
    for (int r = 1; r < RS_RFM__COUNT; r++)
        printf("%s %s %" PRIu64, r > 1 ? "," : "", rs_rfm_name((rs_rfm_t)r), st.segment_rfm[r]);
    printf("\n                    behaviour:");
    for (uint32_t k = 0; k < st.segment_clusters && k < RS_SEGMENT_MAX_CLUSTERS; k++)
        printf("%s %s %" PRIu64, k ? "," : "", rs_segment_cluster_name((int)k),
               st.segment_cluster[k]);
    uint64_t clustered = 0;
    for (uint32_t k = 0; k < st.segment_clusters && k < RS_SEGMENT_MAX_CLUSTERS; k++)
        clustered += st.segment_cluster[k];
    printf("%s\n", !st.segment_clusters ? " (not enough active users yet)"
                   : !clustered ? " (centroids learnt near the end of this short run; users "
                                  "are assigned as they act)"
                                : "");
    rs_buf_free(&alert_examples);
    printf("  throughput        %.0f events/s (%.2f s from the first record)\n",
           secs > 0 ? (double)st.events_in / secs : 0, secs);
    printf("  e2e latency       p50 %.2f ms, p99 %.2f ms (all records were produced before the\n"
           "                    daemon joined, so this includes their wait in the topic; see\n"
           "                    `recstream bench` for latency at a fixed rate)\n",
           rs_hist_quantile(&st.e2e_us, 0.5) / 1000.0, rs_hist_quantile(&st.e2e_us, 0.99) / 1000.0);
    rs_state_close(state);
    rc = st.events_in == fs.produced && read == st.recs_emitted && alerts_read == alerts ? 0 : 1;
    if (rc)
        fprintf(stderr,
                "demo: consumed %" PRIu64 " of %" PRIu64 " records, read back %" PRIu64
                " of %" PRIu64 " lists, %" PRIu64 " of %" PRIu64 " alerts\n",
                st.events_in, fs.produced, read, st.recs_emitted, alerts_read, alerts);
    goto done;
fail:
    fprintf(stderr, "recstream demo: %s\n", err);
done:
    for (int i = 0; i < 3; i++) rs_buf_free(&samples[i].json);
    rs_daemon_destroy(d);
    rs_gen_destroy(gen);
    rs_mock_destroy(mock);
    if (tmp && !keep)
        rs_cli_rmtree(tmp);
    else if (tmp)
        printf("state kept in %s\n", tmp);
    free(tmp);
    rs_conf_destroy(conf);
    return rc;
}
