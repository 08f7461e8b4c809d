/* rs_segment_int.h -- internals shared by rs_segment.c (RFM, features,
 * evaluation, lifecycle), rs_segment_kmeans.c (mini-batch k-means and the
 * executor job) and rs_segment_store.c (encodings, state blobs). Private to
 * src/engine. Thread: loop thread, apart from a job on the executor. */
#ifndef RS_SEGMENT_INT_H
#define RS_SEGMENT_INT_H

#include <stdint.h>

#include "recstream/rs_buf.h"
#include "recstream/rs_segment.h"
#include "recstream/rs_state.h"

#define SUBSYS     "segment"
#define NF         RS_SEGMENT_FEATURES
#define KMAX       RS_SEGMENT_MAX_CLUSTERS
#define REC_NB     4096u
#define REC_WL0    10 /* initial recency bucket: 1.024 s */
#define FREQ_NB    512u
#define MON_NB     1024u
#define SEED_TRIES 8
#define LLOYD_MAX  50
#define NAME_MAX_  1024u /* longest category name kept in the price map */
/* A user's cluster is re-assessed when its event count has grown by a
 * quarter since the last assessment, or when the centroids changed and the
 * last assessment is segments.refresh.ms old (the sweep): features move
 * slowly, and this keeps the per-event cost to the RFM scores. */
#define ASSESS_GROWTH 4u

typedef struct hist {
    uint32_t nb;
    uint32_t *cnt;
    uint64_t *bit; /* Fenwick tree over cnt, 1-based */
    uint64_t total;
} hist_t;

typedef struct pent {
    char *name;
    uint32_t len;
    uint32_t h32; /* from the name: stable across processes (u->seg.last_cat) */
    uint64_t h;
    double sum; /* sum of ln(price) */
    uint64_t n;
} pent_t;

typedef struct job job_t;

struct rs_segmenter {
    const rs_conf_t *conf;
    rs_state_t *st;
    rs_executor_t exec;
    int has_exec;
    int k, batch;
    uint32_t min_events;
    /* RFM */
    hist_t rec, freq, mon;
    int wl;
    int64_t base, lo, hi; /* absolute recency buckets: slot 0, used span (lo > hi: none) */
    uint64_t rfm_size[RS_RFM__COUNT];
    /* clusters */
    int nc; /* centroids learnt: 0 or k */
    float mu[NF], sc[NF];
    float cent[KMAX * NF];
    double cnt[KMAX];
    uint64_t cl_size[KMAX];
    uint64_t refreshes;
    uint64_t rng;
    float *pend; /* batch x NF raw vectors */
    int pend_n;
    job_t *job; /* in flight on the executor, or NULL */
    uint64_t dropped;
    /* category price means */
    pent_t *pe; /* append-only: indexes stay valid */
    uint32_t pe_n, pe_cap;
    uint32_t *slot; /* open addressing by name hash: entry index + 1 */
    uint32_t slot_cap;
    uint32_t *ixc; /* interned category index -> entry index + 1 (this process only) */
    uint32_t ixc_cap;
    int dirty_rfm, dirty_cl, dirty_pm;
    rs_buf_t scratch;
};

struct job {
    rs_segmenter_t *s; /* NULL once the segmenter is gone: done() only frees */
    int seed, k, n;
    float *x; /* n x NF; scaled in place by work() */
    float mu[NF], sc[NF];
    float cent[KMAX * NF];
    double cnt[KMAX];
    uint64_t rng;
};

void rs_segment__hist_rebuild(hist_t *h);
/* The price-map entry of a category name (hash h = rs_hash64(name)), created if new. */
pent_t *rs_segment__price_get(rs_segmenter_t *s, const char *name, uint32_t len, uint64_t h);
/* y = (x - mu) * sc, feature by feature. */
void rs_segment__scale(const float *mu, const float *sc, const float *x, float *y);
/* Loads the state blobs into a fresh segmenter: RS_OK or an error in errstr. */
rs_err_t rs_segment__load(rs_segmenter_t *s, char *errstr, size_t errstr_size);

#endif
