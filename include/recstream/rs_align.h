/* rs_align.h -- event-time alignment of the consumed partitions.
 *
 * librdkafka hands records out in fetch order, not event-time order: in a
 * catch-up one partition can be read hundreds of seconds of event time
 * ahead of another (the demo: 8 partitions, a 100k-record backlog, up to
 * ~1,000 s apart). Per-user rules do not mind (a user's events share one
 * partition), but rules that count across users do: item_spike saw the
 * lagging partitions' traffic arrive late and in a heap. As Flink's
 * watermark alignment does, a partition whose newest event time runs more
 * than skew_ms ahead of the slowest partition is paused until that one
 * is within skew_ms / 2.
 *
 * The slowest partition is taken among those that can still catch up: with
 * records left to hand out (lag > 0, or unknown) and whose event time moved
 * within the last idle_ms. A partition at the end of its log, or a stuck
 * one, therefore holds nobody back for longer than idle_ms. One with records
 * left that has delivered none yet holds everyone back, for at most idle_ms
 * after its assignment.
 *
 * Bookkeeping only: the owner reports event times, lags and the clock, and
 * carries out the pauses and resumes rs_align_step() returns. Loop thread. */
#ifndef RS_ALIGN_H
#define RS_ALIGN_H

#include <stddef.h>
#include <stdint.h>

typedef struct rs_align rs_align_t;

/* skew_ms > 0. The caller owns the result (rs_align_destroy). */
rs_align_t *rs_align_new(int64_t skew_ms, int64_t idle_ms);
void rs_align_destroy(rs_align_t *a); /* NULL-safe */

/* A newly assigned partition starts unpaused, with no event time. */
void rs_align_assign(rs_align_t *a, int32_t partition, int64_t now_ms);
void rs_align_revoke(rs_align_t *a, int32_t partition);
/* A valid event of `partition` with event time ts, at wall time now_ms. An
 * event time beyond now_ms counts as now_ms: a live stream's partitions
 * then stay together even when one client's clock runs ahead. */
void rs_align_event(rs_align_t *a, int32_t partition, int64_t ts, int64_t now_ms);
/* Records left to hand out (high watermark - position); -1 = unknown. */
void rs_align_set_lag(rs_align_t *a, int32_t partition, int64_t lag);
/* The owner resumed every partition itself (resume-all after a pause). */
void rs_align_reset(rs_align_t *a);

/* Assigned partitions, in ascending order, into out[0..max); returns how many
 * there are (the lag query walks them). */
size_t rs_align_partitions(const rs_align_t *a, int32_t *out, size_t max);
/* Decides. Partitions to pause go to pause[], to resume to resume[] (each
 * array needs room for every assigned partition); both are then recorded as
 * done. */
void rs_align_step(rs_align_t *a, int64_t now_ms, int32_t *pause, size_t *n_pause, int32_t *resume,
                   size_t *n_resume);
int rs_align_paused(const rs_align_t *a, int32_t partition);
size_t rs_align_paused_count(const rs_align_t *a);
/* Event-time spread among the partitions that can catch up (max - min of
 * their newest event times), ms; 0 with fewer than two. */
int64_t rs_align_spread(const rs_align_t *a, int64_t now_ms);

#endif
