/* rs_pipeline.h -- the processing pipeline without any transport:
 *   raw record -> decode -> validate -> dedup -> apply to state
 *   score:  re-score the users touched since the last call, emit the lists
 *           that changed (per poll batch: low latency)
 *   commit: ONE WriteBatch with every state change and the consumed
 *           offsets since the last commit (per commit interval).
 * The daemon feeds it from Kafka; replay/eval/tests feed it directly.
 *
 * Output delivery is the sink's business (Kafka producer, JSONL file, test
 * capture). Outputs are at-least-once: a crash before a commit re-reads the
 * uncommitted records, re-rejects bad ones and re-emits lists. The state is
 * exactly-once.
 *
 * Ownership: the pipeline owns its state, codec and scorer; it borrows conf
 * and stats (both must outlive it). Thread: loop thread. */
#ifndef RS_PIPELINE_H
#define RS_PIPELINE_H

#include "rs_alert.h"
#include "rs_codec.h"
#include "rs_conf.h"
#include "rs_kafka.h"
#include "rs_metrics.h"
#include "rs_segment.h"
#include "rs_state.h"
#include "rs_validate.h"

typedef struct rs_pipeline rs_pipeline_t;

typedef struct rs_sink {
    void *opaque;
    /* Encoded list (output.format), key = user id. origin_us: produce time of
     * the oldest event that caused it (0 if unknown), for latency. */
    void (*rec)(void *opaque, const rs_rec_t *rec, const void *key, size_t klen, const void *val,
                size_t vlen, int64_t origin_us);
    /* A rejected record: original bytes and where they came from. */
    void (*dlq)(void *opaque, const rs_msg_t *m, rs_reject_t reason, const char *detail);
    /* An alert / a segment change, encoded in output.format (key = user id,
     * or item id for item rules). Optional (NULL = dropped, still counted). */
    void (*alert)(void *opaque, const rs_alert_t *a, const void *key, size_t klen, const void *val,
                  size_t vlen);
    void (*segment)(void *opaque, const rs_segment_change_t *c, const void *key, size_t klen,
                    const void *val, size_t vlen);
} rs_sink_t;

rs_err_t rs_pipeline_new(rs_pipeline_t **out, const rs_conf_t *conf, const rs_sink_t *sink,
                         rs_stats_t *stats, char *errstr, size_t errstr_size);
/* Where the segment centroid refresh runs (the daemon's thread pool); not
 * set = inline, deterministic (replay, eval, tests). Call before any event. */
void rs_pipeline_set_executor(rs_pipeline_t *p, const rs_executor_t *exec);
/* 1 while background work (a centroid refresh) is running: the owner must
 * keep its loop running until 0 before rs_pipeline_destroy(). */
int rs_pipeline_busy(const rs_pipeline_t *p);
rs_segmenter_t *rs_pipeline_segmenter(rs_pipeline_t *p); /* NULL if segments are off */
void rs_pipeline_destroy(rs_pipeline_t *p);              /* NULL-safe; does not commit */
rs_state_t *rs_pipeline_state(rs_pipeline_t *p);

/* One consumed record. Always advances the stored offset for its partition. */
void rs_pipeline_process(rs_pipeline_t *p, const rs_msg_t *m);
/* One already-decoded event (files); validated and deduplicated like the rest. */
void rs_pipeline_process_event(rs_pipeline_t *p, const rs_event_t *ev, int64_t origin_us);
/* Sends a record to the dead-letter sink and counts it under its reason
 * (for other inputs than events, e.g. the item catalog). */
void rs_pipeline_reject(rs_pipeline_t *p, const rs_msg_t *m, rs_reject_t r, const char *detail);

/* Re-score touched users and emit the lists that changed. */
void rs_pipeline_score(rs_pipeline_t *p);
/* Scores, then runs a sweep under way over the loaded users to its end
 * (a finite run ends with its segments settled; see sweep_step). */
void rs_pipeline_settle(rs_pipeline_t *p);
/* Stages the pipeline's own aggregates (segment histograms, centroids)
 * into the state's next batch; for owners that commit through
 * rs_state_commit_begin() themselves. rs_pipeline_commit() calls it. */
void rs_pipeline_prepare_commit(rs_pipeline_t *p);
/* One WriteBatch: state + offsets. On failure every delta stays in memory
 * and the next commit retries it. */
rs_err_t rs_pipeline_commit(rs_pipeline_t *p, char *errstr, size_t errstr_size);
/* score + commit (replay, tests). */
rs_err_t rs_pipeline_flush(rs_pipeline_t *p, char *errstr, size_t errstr_size);
/* Events/offsets applied but not yet committed. */
size_t rs_pipeline_pending(const rs_pipeline_t *p);
/* Event time of the record rs_pipeline_process() just handled if it was a
 * valid event (applied or a duplicate), else 0: for partition alignment. */
int64_t rs_pipeline_last_ts(const rs_pipeline_t *p);

/* Builds the human-readable reason for a scored item into buf (NUL-terminated). */
void rs_pipeline_reason(rs_state_t *st, uint32_t because, int because_type, char *buf, size_t size);

#endif
