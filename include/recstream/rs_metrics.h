/* rs_metrics.h -- counters and latency histograms, Prometheus text output.
 *
 * The engine keeps one rs_stats_t and bumps plain fields on the loop thread;
 * rendering reads them on the same thread, so no atomics. Histograms use
 * fixed log-spaced buckets (4 per power of two, 1 us .. ~2.4 h) so quantiles
 * overestimate by less than 25% and merging is addition. */
#ifndef RS_METRICS_H
#define RS_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "rs_alert.h"
#include "rs_buf.h"
#include "rs_segment.h"
#include "rs_validate.h"

#define RS_HIST_BUCKETS 128

typedef struct rs_hist {
    uint64_t count;
    uint64_t sum;
    uint64_t max;
    uint64_t b[RS_HIST_BUCKETS];
} rs_hist_t;

void rs_hist_add(rs_hist_t *h, uint64_t v);
/* n samples of the same value v */
void rs_hist_add_n(rs_hist_t *h, uint64_t v, uint64_t n);
void rs_hist_merge(rs_hist_t *dst, const rs_hist_t *src);
/* q in [0,1]; returns the upper bound of the bucket holding the
 * ceil(q*count)-th smallest value, at most max (0 if empty). */
uint64_t rs_hist_quantile(const rs_hist_t *h, double q);
void rs_hist_reset(rs_hist_t *h);

typedef struct rs_stats {
    uint64_t events_in;            /* records consumed from the events topic */
    uint64_t events_refetched;     /* skipped: at an offset already applied (not in events_in) */
    uint64_t events_applied;       /* valid, non-duplicate events applied */
    uint64_t events_duplicate;     /* dropped by event_id */
    uint64_t events_late;          /* applied with ts older than the user's last event */
    uint64_t dlq[RS_REJ__COUNT];   /* rejected, per reason */
    uint64_t dlq_produce_errors;   /* DLQ delivery failures */
    uint64_t batches;              /* WriteBatches committed */
    uint64_t commit_errors;        /* failed WriteBatch writes, retries included */
    uint64_t state_write_failures; /* times a failed write paused consumption */
    uint64_t state_write_retries;  /* writes retried while paused */
    uint64_t state_write_paused;   /* gauge: 1 while paused on a failed write */
    uint64_t recs_emitted;         /* recommendation lists produced (changed) */
    uint64_t recs_unchanged;       /* recomputed, identical, not emitted */
    uint64_t recs_produce_errors;
    uint64_t alerts[RS_ALERT__RULE_COUNT]; /* alerts emitted, per rule */
    uint64_t alerts_produce_errors;
    uint64_t segment_changes[RS_SEG__KIND_COUNT]; /* segment changes emitted, per dimension */
    uint64_t segments_produce_errors;
    uint64_t segment_rfm[RS_RFM__COUNT];               /* gauge: users per RFM segment */
    uint64_t segment_cluster[RS_SEGMENT_MAX_CLUSTERS]; /* gauge: users per cluster */
    uint32_t segment_clusters;                         /* gauge: clusters learnt so far */
    uint64_t catalog_records;      /* records consumed from the item catalog topic */
    uint64_t catalog_rejected;     /* of those, sent to the dead-letter topic */
    uint64_t users_cached;         /* gauge */
    uint64_t items;                /* gauge */
    uint64_t cooc_pairs;           /* gauge: stored (a,b) entries, both directions */
    uint64_t partitions_assigned;  /* gauge */
    uint64_t partitions_aligned;   /* gauge: paused by consume.align.ms */
    uint64_t align_pauses;         /* partitions paused by consume.align.ms so far */
    int64_t align_spread_ms;       /* gauge: event-time spread of the catching-up partitions */
    int64_t consumer_lag;          /* gauge, -1 unknown */
    uint64_t state_bytes;          /* gauge */
    uint64_t users_expired;        /* idle users dropped by state.user.ttl.ms */
    uint64_t kafka_ready;          /* gauge: 0 while the brokers are down or refuse us */
    uint64_t config_reloads;       /* SIGHUP reloads applied */
    uint64_t config_reload_errors; /* SIGHUP reloads refused (bad file or rule) */
    rs_hist_t batch_events;        /* events per batch */
    rs_hist_t commit_us;           /* WriteBatch write time */
    rs_hist_t batch_us;            /* whole batch: apply + commit + score + produce */
    rs_hist_t e2e_us;              /* event produce time -> rec delivered */
    rs_hist_t consume_us;          /* event produce time -> consumed by the pipeline */
    rs_hist_t pipeline_us;         /* record consumed -> its batch's lists handed to the producer */
} rs_stats_t;

/* Prometheus text exposition format (version 0.0.4) of all fields, metric
 * names prefixed "recstream_"; histograms as summaries with p50/p90/p99. */
void rs_metrics_render(const rs_stats_t *s, rs_buf_t *out);

#endif
