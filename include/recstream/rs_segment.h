/* rs_segment.h -- RFM segments and behavioural clusters on the same state
 * (SPEC F9).
 *
 * RFM: among users with at least one purchase, recency (time of the last
 * purchase), frequency (purchases) and monetary (purchase total) are scored
 * 1..5 by quintile (mid-rank percentile, so ties share a score) from
 * streaming histograms over all buyers. The histograms count every buyer
 * once with its current values (a user's old values are removed when they
 * change), in fine log-scale or time buckets, so quantiles are exact to a
 * bucket. The (R, F) scores name the segment (see rs_segment.c for the grid):
 * champions, loyal, potential, new, at_risk, hibernating, lost. Users
 * without a purchase have no RFM segment ("").
 *
 * Behavioural clusters: a user with >= segments.cluster.min.events events
 * has a feature vector built from the profile (funnel shares, session
 * length, price level relative to the category, category breadth, dwell,
 * device and time-of-day mix; see rs_segment_features()). Mini-batch k-means
 * (Sculley 2010) with k = segments.clusters learns the centroids from
 * mini-batches of segments.cluster.batch vectors; the first batch seeds them
 * with k-means++ and fixes the feature scaling. Nearest-centroid distances
 * are computed with sgemm (rs_blas.h). A centroid refresh runs through the
 * executor (the daemon's thread pool, so the loop never blocks); with no
 * executor it runs inline, which keeps replays deterministic. Clusters are
 * named "cluster-0".."cluster-<k-1>".
 *
 * Changes: rs_segment_eval() re-scores a user and reports each dimension
 * (rfm, cluster) whose name changed, with the reason and the scores. Users
 * are re-evaluated when they act and by a sweep over all loaded users every
 * segments.refresh.ms of event time (recency ages without the user acting).
 *
 * Persistence: the per-user part (rs_segment_user_t) is stored with the
 * profile; histograms, per-category price means, scaling, centroids and
 * segment sizes are stored as state blobs (rs_state_blob_set) with the
 * next commit, and loaded by rs_segmenter_new().
 *
 * Ownership: the segmenter borrows conf and the state. Strings in an
 * rs_segment_change_t point into the user or static tables and are valid
 * until the next call. Thread: loop thread, apart from the executor's work. */
#ifndef RS_SEGMENT_H
#define RS_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "rs_conf.h"
#include "rs_err.h"
#include "rs_event.h"

typedef enum rs_rfm {
    RS_RFM_NONE = 0,
    RS_RFM_CHAMPIONS,
    RS_RFM_LOYAL,
    RS_RFM_POTENTIAL,
    RS_RFM_NEW,
    RS_RFM_AT_RISK,
    RS_RFM_HIBERNATING,
    RS_RFM_LOST,
    RS_RFM__COUNT
} rs_rfm_t;

#define RS_SEGMENT_MAX_CLUSTERS 32

/* Per-user segment state (in rs_user_t, stored with the profile). */
typedef struct rs_segment_user {
    uint8_t rfm;     /* rs_rfm_t */
    uint8_t cluster; /* 0 = none, else 1 + cluster index */
    uint8_t r, f, m; /* quintile scores at the last evaluation (0 = none) */
    uint8_t counted; /* the h_* values below are in the RFM histograms */
    int64_t h_recency; /* values counted in the histograms */
    uint32_t h_freq;
    double h_monetary;
    double relp_sum; /* sum over priced events of ln(price / category mean price) */
    uint32_t relp_n;
    float dist; /* distance to the centroid at the last assignment */
} rs_segment_user_t;

#define RS_SEGMENT_STATE_MAX_BYTES 128
size_t rs_segment_user_encode(const rs_segment_user_t *s, unsigned char *out);
int rs_segment_user_decode(rs_segment_user_t *s, const unsigned char *p, size_t len); /* 0/-1 */

typedef enum rs_segment_kind { RS_SEG_RFM = 0, RS_SEG_CLUSTER, RS_SEG__KIND_COUNT } rs_segment_kind_t;

#define RS_SEGMENT_MAX_SCORES 8

typedef struct rs_segment_change {
    rs_segment_kind_t kind;
    const char *user_id;
    uint32_t user_len;
    const char *old_name; /* "" = none */
    const char *new_name; /* "" = none */
    char reason[160];     /* e.g. "recency 4 -> 2: last purchase 41 days ago" */
    int64_t ts_ms;        /* event time of the evaluation */
    uint32_t n_scores;    /* r, f, m, recency_days, frequency, monetary / distance ... */
    rs_named_num_t scores[RS_SEGMENT_MAX_SCORES];
} rs_segment_change_t;

/* Runs work(arg) on another thread, then done(arg) on the loop thread.
 * Returns 0, or < 0 if it could not (the caller then runs both inline). */
typedef struct rs_executor {
    void *opaque;
    int (*submit)(void *opaque, void (*work)(void *arg), void (*done)(void *arg), void *arg);
} rs_executor_t;

struct rs_state;
struct rs_user;
struct rs_item;
typedef struct rs_segmenter rs_segmenter_t;

/* Loads the persisted aggregates from st. exec may be NULL (inline). */
rs_err_t rs_segmenter_new(rs_segmenter_t **out, const rs_conf_t *conf, struct rs_state *st,
                          const rs_executor_t *exec, char *errstr, size_t errstr_size);
/* NULL-safe. A refresh on the executor must have finished first (the
 * daemon runs its loop until rs_segment_busy() == 0). */
void rs_segmenter_destroy(rs_segmenter_t *s);
int rs_segment_busy(const rs_segmenter_t *s); /* a refresh is running on the executor */

/* One applied event of u on item it (after rs_state_apply): feature
 * accumulators and, on a purchase, the user's place in the RFM histograms. */
void rs_segment_on_event(rs_segmenter_t *s, struct rs_user *u, const struct rs_item *it,
                         const rs_event_t *ev);
/* Re-scores u at event time now; writes a change per dimension whose name
 * changed to out (at most RS_SEG__KIND_COUNT) and returns their number. May
 * queue u's features for the next mini-batch. */
size_t rs_segment_eval(rs_segmenter_t *s, struct rs_user *u, int64_t now,
                       rs_segment_change_t *out);
/* Stages the aggregates into the state's next commit if they changed. */
void rs_segment_stage(rs_segmenter_t *s);

/* Sizes for /metrics and inspect. */
uint64_t rs_segment_rfm_size(const rs_segmenter_t *s, rs_rfm_t r);
uint64_t rs_segment_cluster_size(const rs_segmenter_t *s, int cluster); /* 0-based */
int rs_segment_cluster_count(const rs_segmenter_t *s); /* centroids learnt so far (0..k) */
const char *rs_rfm_name(rs_rfm_t r);                   /* "", "champions", ... "lost" */
const char *rs_segment_cluster_name(int cluster);      /* "cluster-3"; "" for -1 */

/* The feature vector of u (RS_SEGMENT_FEATURES floats, unscaled). */
#define RS_SEGMENT_FEATURES 12
void rs_segment_features(const rs_segmenter_t *s, const struct rs_user *u, float *out);

#endif
