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
 * (impressions aside) has a feature vector built from the profile and a few
 * accumulators of its own (funnel rates, views per session, price level
 * relative to the category, category focus, breadth and switching within
 * sessions, dwell, device and time-of-day mix; see rs_segment_features()
 * and rs_segment.c). Mini-batch k-means
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
 * RFM is re-scored at every evaluation; the cluster is re-assessed when
 * the user's event count grew by a quarter since the last assessment, or
 * when the centroids changed and the last assessment is at least
 * segments.refresh.ms old (so a sweep re-assesses idle users). u->seg
 * changes at every call that did work: rs_segment_on_event() callers have
 * the user dirty anyway; after a sweep, mark users with a reported change
 * dirty so they are stored with the same commit as the sizes
 * (rs_segment_stage). A user's vector joins a mini-batch when its event
 * count first reaches segments.cluster.min.events and again each time it
 * doubles, so heavy users do not dominate the centroids.
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
    uint8_t rfm;       /* rs_rfm_t */
    uint8_t cluster;   /* 0 = none, else 1 + cluster index */
    uint8_t r, f, m;   /* quintile scores at the last evaluation (0 = none) */
    uint8_t counted;   /* the h_* values below are in the RFM histograms */
    int64_t h_recency; /* values counted in the histograms */
    uint32_t h_freq;
    double h_monetary;
    double relp_sum; /* sum over priced events of ln(price / category mean price) */
    uint32_t relp_n;
    float dist;          /* distance to the centroid at the last assignment */
    uint32_t q_events;   /* events when its vector last joined a mini-batch (0 = never) */
    uint32_t last_cat;   /* hash of the category of the last event (0 = none) */
    uint32_t last_sess;  /* u->sessions at that event: same value = same session */
    uint32_t cat_steps;  /* consecutive pairs of categorised events in one session */
    uint32_t cat_switch; /* ... of which changed category */
    uint32_t a_events;   /* events at the last cluster assessment */
    uint32_t a_gen;      /* centroid generation (refresh count) then */
    int64_t a_ts;        /* event time then */
} rs_segment_user_t;

#define RS_SEGMENT_STATE_MAX_BYTES 128
size_t rs_segment_user_encode(const rs_segment_user_t *s, unsigned char *out);
int rs_segment_user_decode(rs_segment_user_t *s, const unsigned char *p, size_t len); /* 0/-1 */

typedef enum rs_segment_kind {
    RS_SEG_RFM = 0,
    RS_SEG_CLUSTER,
    RS_SEG__KIND_COUNT
} rs_segment_kind_t;

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
/* NULL-safe. A refresh still on the executor is orphaned: its done() then
 * only frees the job, so the executor must still run it (the daemon runs
 * its loop until the pool is idle). */
void rs_segmenter_destroy(rs_segmenter_t *s);
int rs_segment_busy(const rs_segmenter_t *s); /* a refresh is running on the executor */

/* One applied event of u on item it (after rs_state_apply): feature
 * accumulators and, on a purchase, the user's place in the RFM histograms. */
void rs_segment_on_event(rs_segmenter_t *s, struct rs_user *u, const struct rs_item *it,
                         const rs_event_t *ev);
/* Re-scores u at event time now; writes a change per dimension whose name
 * changed to out (room for RS_SEG__KIND_COUNT) and returns their number,
 * each name change reported exactly once. May queue u's features for the
 * next mini-batch (and, with no executor, run the refresh inline). Cost:
 * RFM ~30 ns for a buyer; a cluster assessment ~100 ns more. */
size_t rs_segment_eval(rs_segmenter_t *s, struct rs_user *u, int64_t now, rs_segment_change_t *out);
/* Stages the aggregates into the state's next commit if they changed. */
void rs_segment_stage(rs_segmenter_t *s);

/* Sizes for /metrics and inspect. */
uint64_t rs_segment_rfm_size(const rs_segmenter_t *s, rs_rfm_t r);
uint64_t rs_segment_cluster_size(const rs_segmenter_t *s, int cluster); /* 0-based */
int rs_segment_cluster_count(const rs_segmenter_t *s); /* centroids learnt so far (0..k) */
const char *rs_rfm_name(rs_rfm_t r);                   /* "", "champions", ... "lost" */
const char *rs_segment_cluster_name(int cluster);      /* "cluster-3"; "" for -1 */

/* The feature vector of u (RS_SEGMENT_FEATURES floats, unscaled). s may be
 * NULL. Names (for reasons and docs): rs_segment_feature_name(). */
#define RS_SEGMENT_FEATURES 13
void rs_segment_features(const rs_segmenter_t *s, const struct rs_user *u, float *out);
const char *rs_segment_feature_name(int j); /* "view_share", ...; "" out of range */

/* Removes u from the histograms and sizes (call before deleting the user;
 * u->seg is reset). */
void rs_segment_forget(rs_segmenter_t *s, struct rs_user *u);

/* Lower level, for tools and tests. Queues one unscaled feature vector into
 * the pending mini-batch (a refresh starts when it is full; while one is
 * running, vectors beyond a full batch are dropped). */
void rs_segment_add_vector(rs_segmenter_t *s, const float *x);
/* Nearest centroid (0-based) of an unscaled vector and its distance in the
 * scaled space; -1 before the first refresh. */
int rs_segment_nearest(const rs_segmenter_t *s, const float *x, float *dist);
/* Refreshes installed so far (the seeding one included), persisted. */
uint64_t rs_segment_refreshes(const rs_segmenter_t *s);
/* The (R, F) grid: the segment of scores r, f in 1..5 (RS_RFM_NONE otherwise). */
rs_rfm_t rs_segment_rfm_of(int r, int f);

#endif
