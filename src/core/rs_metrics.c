/* rs_metrics.c -- log-bucketed histograms and the Prometheus text output.
 *
 * Histogram buckets (RS_HIST_BUCKETS = 128): values 0..3 get one bucket each;
 * a value v >= 4 with e = floor(log2 v) falls in bucket 4*(e-1) + s, where s
 * is the two bits below the leading one. So each power of two is split in 4
 * equal-width buckets and bucket i covers
 *     [ (4+s) << (e-2),  ((5+s) << (e-2)) - 1 ]   with e = i/4 + 1, s = i%4.
 * The last bucket (e = 32) starts at 7 << 30 and is open-ended (~2.4 h in
 * us and above); its bound is the max. A quantile is the upper bound of the bucket holding the
 * rank-th value (rank = ceil(q*count)), clamped by the exact max: an
 * overestimate of less than 25% (the widest bucket is a quarter of its lower
 * bound), exact for 0..7. Merging is bucket-wise addition.
 *
 * Rendering: Prometheus text format 0.0.4. Counters end in _total, the DLQ
 * counter has one sample per reason (label from rs_reject_name), histograms
 * are summaries with quantiles 0.5/0.9/0.99 plus _sum and _count; the *_us
 * histograms are exported in seconds (formatted exactly from integer us). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "recstream/rs_metrics.h"

static unsigned bucket_of(uint64_t v) {
    if (v < 4) return (unsigned)v;
    unsigned e = 63u - (unsigned)__builtin_clzll(v);
    unsigned i = 4 * (e - 1) + (unsigned)((v >> (e - 2)) & 3);
    return i < RS_HIST_BUCKETS ? i : RS_HIST_BUCKETS - 1;
}

static uint64_t bucket_upper(unsigned i) {
    if (i < 4) return i;
    if (i == RS_HIST_BUCKETS - 1) return UINT64_MAX; /* open-ended: max decides */
    unsigned e = i / 4 + 1, s = i % 4;
    return ((uint64_t)(5 + s) << (e - 2)) - 1;
}

void rs_hist_add(rs_hist_t *h, uint64_t v) {
    h->count++;
    h->sum += v;
    if (v > h->max) h->max = v;
    h->b[bucket_of(v)]++;
}

void rs_hist_add_n(rs_hist_t *h, uint64_t v, uint64_t n) {
    if (!n) return;
    h->count += n;
    h->sum += v * n;
    if (v > h->max) h->max = v;
    h->b[bucket_of(v)] += n;
}

void rs_hist_merge(rs_hist_t *dst, const rs_hist_t *src) {
    dst->count += src->count;
    dst->sum += src->sum;
    if (src->max > dst->max) dst->max = src->max;
    for (int i = 0; i < RS_HIST_BUCKETS; i++) dst->b[i] += src->b[i];
}

uint64_t rs_hist_quantile(const rs_hist_t *h, double q) {
    if (!h->count) return 0;
    if (!(q > 0)) q = 0; /* also NaN */
    if (q > 1) q = 1;
    double r = q * (double)h->count;
    uint64_t rank = (uint64_t)r;
    if ((double)rank < r) rank++;
    if (rank < 1) rank = 1;
    if (rank > h->count) rank = h->count;
    uint64_t cum = 0;
    for (unsigned i = 0; i < RS_HIST_BUCKETS; i++) {
        cum += h->b[i];
        if (cum >= rank) {
            uint64_t up = bucket_upper(i);
            return up < h->max ? up : h->max;
        }
    }
    return h->max; /* unreachable while count == sum of buckets */
}

void rs_hist_reset(rs_hist_t *h) {
    memset(h, 0, sizeof(*h));
}

/* ---- rendering ---- */

static void meta(rs_buf_t *out, const char *name, const char *type, const char *help) {
    rs_buf_printf(out, "# HELP recstream_%s %s\n# TYPE recstream_%s %s\n", name, help, name, type);
}

static void counter(rs_buf_t *out, const char *name, uint64_t v, const char *help) {
    meta(out, name, "counter", help);
    rs_buf_printf(out, "recstream_%s %" PRIu64 "\n", name, v);
}

static void gauge(rs_buf_t *out, const char *name, int64_t v, const char *help) {
    meta(out, name, "gauge", help);
    rs_buf_printf(out, "recstream_%s %" PRId64 "\n", name, v);
}

/* Integer microseconds as exact decimal seconds: 1500 -> "0.0015". */
static void put_seconds(rs_buf_t *out, uint64_t us) {
    uint64_t frac = us % 1000000;
    if (!frac) {
        rs_buf_printf(out, "%" PRIu64, us / 1000000);
        return;
    }
    char f[8];
    snprintf(f, sizeof(f), "%06" PRIu64, frac);
    size_t n = 6;
    while (f[n - 1] == '0') n--;
    f[n] = '\0';
    rs_buf_printf(out, "%" PRIu64 ".%s", us / 1000000, f);
}

static void put_value(rs_buf_t *out, uint64_t v, int seconds) {
    if (seconds)
        put_seconds(out, v);
    else
        rs_buf_printf(out, "%" PRIu64, v);
}

static void summary(rs_buf_t *out, const char *name, const rs_hist_t *h, int seconds,
                    const char *help) {
    static const struct {
        double q;
        const char *label;
    } qs[] = {{0.5, "0.5"}, {0.9, "0.9"}, {0.99, "0.99"}};
    meta(out, name, "summary", help);
    for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
        rs_buf_printf(out, "recstream_%s{quantile=\"%s\"} ", name, qs[i].label);
        if (h->count)
            put_value(out, rs_hist_quantile(h, qs[i].q), seconds);
        else
            rs_buf_append(out, "NaN", 3); /* what client libraries emit when empty */
        rs_buf_putc(out, '\n');
    }
    rs_buf_printf(out, "recstream_%s_sum ", name);
    put_value(out, h->sum, seconds);
    rs_buf_printf(out, "\nrecstream_%s_count %" PRIu64 "\n", name, h->count);
}

void rs_metrics_render(const rs_stats_t *s, rs_buf_t *out) {
    counter(out, "events_in_total", s->events_in, "Records consumed from the events topic.");
    counter(out, "events_refetched_total", s->events_refetched,
            "Records skipped because their offset was already applied (fetched again).");
    counter(out, "events_applied_total", s->events_applied,
            "Valid, non-duplicate events applied to state.");
    counter(out, "events_duplicate_total", s->events_duplicate,
            "Events dropped as duplicates by event_id.");
    counter(out, "events_late_total", s->events_late,
            "Events applied with a timestamp older than the user's last event.");
    meta(out, "dlq_total", "counter", "Records sent to the dead-letter topic, by reason.");
    for (int r = 1; r < RS_REJ__COUNT; r++)
        rs_buf_printf(out, "recstream_dlq_total{reason=\"%s\"} %" PRIu64 "\n",
                      rs_reject_name((rs_reject_t)r), s->dlq[r]);
    counter(out, "dlq_produce_errors_total", s->dlq_produce_errors,
            "Dead-letter records that failed delivery.");
    counter(out, "batches_total", s->batches, "State WriteBatches committed.");
    counter(out, "commit_errors_total", s->commit_errors, "State WriteBatch commits that failed.");
    counter(out, "state_write_failures_total", s->state_write_failures,
            "State write failures that paused consumption (one per episode).");
    counter(out, "state_write_retries_total", s->state_write_retries,
            "State writes retried while consumption was paused (state.retry.ms).");
    gauge(out, "state_write_paused", (int64_t)s->state_write_paused,
          "1 while consumption is paused because the state store cannot be written.");
    counter(out, "recs_emitted_total", s->recs_emitted,
            "Recommendation lists produced because they changed.");
    counter(out, "recs_unchanged_total", s->recs_unchanged,
            "Recommendation lists recomputed but identical, not produced.");
    counter(out, "recs_produce_errors_total", s->recs_produce_errors,
            "Recommendation lists that failed delivery.");
    meta(out, "alerts_total", "counter",
         "Fraud/anomaly alerts emitted (one per episode), by rule.");
    for (int r = 0; r < RS_ALERT__RULE_COUNT; r++)
        rs_buf_printf(out, "recstream_alerts_total{rule=\"%s\"} %" PRIu64 "\n",
                      rs_alert_rule_name((rs_alert_rule_t)r), s->alerts[r]);
    counter(out, "alerts_produce_errors_total", s->alerts_produce_errors,
            "Alerts that failed delivery.");
    meta(out, "segment_changes_total", "counter",
         "Segment changes emitted, by dimension (rfm, cluster).");
    rs_buf_printf(out, "recstream_segment_changes_total{dimension=\"rfm\"} %" PRIu64 "\n",
                  s->segment_changes[RS_SEG_RFM]);
    rs_buf_printf(out, "recstream_segment_changes_total{dimension=\"cluster\"} %" PRIu64 "\n",
                  s->segment_changes[RS_SEG_CLUSTER]);
    counter(out, "segments_produce_errors_total", s->segments_produce_errors,
            "Segment changes that failed delivery.");
    counter(out, "catalog_records_total", s->catalog_records,
            "Records consumed from the item catalog topic, tombstones included.");
    counter(out, "catalog_rejected_total", s->catalog_rejected,
            "Catalog records sent to the dead-letter topic (also counted in dlq_total).");

    gauge(out, "users_cached", (int64_t)s->users_cached, "User profiles held in memory.");
    counter(out, "state_users_expired_total", s->users_expired,
            "Idle users dropped after state.user.ttl.ms of event time.");
    gauge(out, "kafka_ready", (int64_t)s->kafka_ready,
          "1 while the brokers answer; 0 after all brokers went down or refused authentication.");
    counter(out, "config_reloads_total", s->config_reloads,
            "Configuration reloads (SIGHUP) applied.");
    counter(out, "config_reload_errors_total", s->config_reload_errors,
            "Configuration reloads (SIGHUP) refused: the file did not load or broke a rule.");
    gauge(out, "items", (int64_t)s->items, "Items known to the state.");
    gauge(out, "cooc_pairs", (int64_t)s->cooc_pairs,
          "Stored item co-occurrence entries, both directions.");
    gauge(out, "partitions_assigned", (int64_t)s->partitions_assigned,
          "Partitions of the events topic assigned to this instance.");
    gauge(out, "partitions_aligned", (int64_t)s->partitions_aligned,
          "Partitions paused because they ran ahead in event time (consume.align.ms).");
    counter(out, "align_pauses_total", s->align_pauses,
            "Partition pauses by event-time alignment (consume.align.ms).");
    gauge(out, "align_spread_ms", s->align_spread_ms,
          "Event-time spread between the partitions still catching up, ms.");
    gauge(out, "consumer_lag", s->consumer_lag,
          "Messages behind the end of the assigned partitions; -1 when unknown.");
    gauge(out, "state_bytes", (int64_t)s->state_bytes, "Approximate size of the state store.");
    meta(out, "segment_users", "gauge",
         "Users per segment: RFM segments (buyers only) and behavioural clusters.");
    for (int r = 1; r < RS_RFM__COUNT; r++)
        rs_buf_printf(out,
                      "recstream_segment_users{dimension=\"rfm\",segment=\"%s\"} %" PRIu64 "\n",
                      rs_rfm_name((rs_rfm_t)r), s->segment_rfm[r]);
    for (uint32_t c = 0; c < s->segment_clusters && c < RS_SEGMENT_MAX_CLUSTERS; c++)
        rs_buf_printf(out,
                      "recstream_segment_users{dimension=\"cluster\",segment=\"%s\"} %" PRIu64 "\n",
                      rs_segment_cluster_name((int)c), s->segment_cluster[c]);

    summary(out, "batch_events", &s->batch_events, 0, "Events per batch.");
    summary(out, "commit_seconds", &s->commit_us, 1, "State WriteBatch write time.");
    summary(out, "batch_seconds", &s->batch_us, 1,
            "Whole batch time: apply, commit, score and produce.");
    summary(out, "e2e_seconds", &s->e2e_us, 1, "Event produce time to recommendation delivered.");
    summary(out, "consume_delay_seconds", &s->consume_us, 1,
            "Event produce time to consumed by the pipeline (broker and fetch delay).");
    summary(out, "pipeline_delay_seconds", &s->pipeline_us, 1,
            "Record consumed to the lists of its batch handed to the producer (per record; "
            "an upper bound: a batch's lists go out during its scoring).");
}
