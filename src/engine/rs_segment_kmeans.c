/* rs_segment_kmeans.c -- behavioural clusters: mini-batch k-means (Sculley
 * 2010) run as a job on the executor (rs_segment.h).
 *
 * Feature j is scaled as (x_j - mu_j) * sc_j, with mu and sc = weight_j /
 * sd_j frozen from the first mini-batch. The weights favour shopping
 * behaviour (price level, funnel, session depth, category focus and
 * switching) over habits (device, time of day, dwell), which would
 * otherwise split the clusters by device. The first batch is seeded with
 * k-means++ (SEED_TRIES seeds from a splitmix64 PRNG with a fixed seed, each
 * refined by Lloyd on the batch, lowest inertia kept), so a replay learns
 * the same centroids. Later batches take one Sculley step: assign the batch
 * through one sgemm (|x|^2 - 2 x.c + |c|^2), then move each assigned
 * centroid towards the point with rate 1 / its count. Centroids are only
 * moved, never re-ordered, so cluster identities are stable.
 *
 * Threads: a refresh is a job holding copies of the batch, centroids,
 * counts, scaling and PRNG; job_work() (executor thread) touches only the
 * job; job_done() (loop thread) installs the result, or only frees the job
 * when the segmenter was destroyed meanwhile. At most one job is in flight;
 * while it runs, the next batch fills and vectors beyond it are dropped. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "recstream/rs_blas.h"
#include "recstream/rs_buf.h"
#include "rs_segment_int.h"

/* Scaling weights: shopping behaviour at full weight; dwell, device and
 * time-of-day mixes damped so that habits do not split the clusters. */
static const float feat_w[NF] = {0.3f, 1, 0.3f, 1, 2, 1, 0.3f, 0.2f, 0.2f, 0.2f, 0.2f, 0.2f, 0.7f};
/* Smallest sd used for scaling, per feature: a feature that happens to be
 * constant in the first batch (no night traffic, no device field yet) must
 * not get a huge scale that lets it dominate every later distance. */
static const float feat_sd_min[NF] = {0.05f, 0.01f, 0.005f, 0.1f,  0.05f, 0.05f, 0.1f,
                                      0.1f,  0.05f, 0.05f,  0.05f, 0.05f, 0.05f};

static uint64_t rng_next(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double rng_u01(uint64_t *x) {
    return (double)(rng_next(x) >> 11) * 0x1.0p-53;
}

static float dist2(const float *a, const float *b) {
    float d = 0;
    for (int j = 0; j < NF; j++) d += (a[j] - b[j]) * (a[j] - b[j]);
    return d;
}

void rs_segment__scale(const float *mu, const float *sc, const float *x, float *y) {
    for (int j = 0; j < NF; j++) y[j] = (x[j] - mu[j]) * sc[j];
}

/* Nearest of k centroids for n scaled points, through one sgemm. */
static void assign_all(const float *x, int n, const float *cent, int k, int *idx, float *d2) {
    float *dot = rs_xmalloc((size_t)n * k * sizeof(*dot)), cn[KMAX];
    for (int c = 0; c < k; c++) cn[c] = rs_blas_sdot(NF, cent + c * NF, 1, cent + c * NF, 1);
    int blas = rs_blas_sgemm((size_t)n, (size_t)k, NF, 1.0f, x, NF, cent, NF, 0.0f, dot, (size_t)k);
    for (int i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * NF;
        float xn = 0, best = INFINITY;
        int bc = 0;
        for (int j = 0; j < NF; j++) xn += xi[j] * xi[j];
        for (int c = 0; c < k; c++) {
            float d =
                blas == RS_OK ? xn - 2 * dot[(size_t)i * k + c] + cn[c] : dist2(xi, cent + c * NF);
            if (d < best) best = d, bc = c;
        }
        idx[i] = bc;
        if (d2) d2[i] = best > 0 ? best : 0;
    }
    free(dot);
}

/* k-means++ then Lloyd on the batch; returns the inertia. */
static double seed_once(job_t *j, float *cent, double *cnt, int *idx, float *d2) {
    int n = j->n, k = j->k;
    const float *x = j->x;
    memcpy(cent, x + (size_t)(rng_next(&j->rng) % (uint64_t)n) * NF, NF * sizeof(float));
    for (int i = 0; i < n; i++) d2[i] = dist2(x + (size_t)i * NF, cent);
    for (int c = 1; c < k; c++) {
        double tot = 0;
        for (int i = 0; i < n; i++) tot += d2[i];
        int pick = n - 1;
        if (tot > 0) {
            double r = rng_u01(&j->rng) * tot;
            for (int i = 0; i < n; i++)
                if ((r -= d2[i]) < 0) {
                    pick = i;
                    break;
                }
        } else {
            pick = (int)(rng_next(&j->rng) % (uint64_t)n);
        }
        memcpy(cent + c * NF, x + (size_t)pick * NF, NF * sizeof(float));
        for (int i = 0; i < n; i++) {
            float d = dist2(x + (size_t)i * NF, cent + c * NF);
            if (d < d2[i]) d2[i] = d;
        }
    }
    for (int i = 0; i < n; i++) idx[i] = -1;
    int *nidx = rs_xmalloc((size_t)n * sizeof(*nidx));
    for (int it = 0; it < LLOYD_MAX; it++) {
        assign_all(x, n, cent, k, nidx, d2);
        int moved = 0;
        for (int i = 0; i < n; i++) moved += nidx[i] != idx[i], idx[i] = nidx[i];
        if (!moved) break;
        double sum[KMAX * NF] = {0};
        for (int c = 0; c < k; c++) cnt[c] = 0;
        for (int i = 0; i < n; i++) {
            cnt[idx[i]]++;
            for (int f = 0; f < NF; f++) sum[idx[i] * NF + f] += x[(size_t)i * NF + f];
        }
        for (int c = 0; c < k; c++) /* an empty cluster keeps its centroid */
            for (int f = 0; cnt[c] > 0 && f < NF; f++)
                cent[c * NF + f] = (float)(sum[c * NF + f] / cnt[c]);
    }
    assign_all(x, n, cent, k, idx, d2);
    double inertia = 0;
    for (int c = 0; c < k; c++) cnt[c] = 0;
    for (int i = 0; i < n; i++) inertia += d2[i], cnt[idx[i]]++;
    free(nidx);
    return inertia;
}

static void job_work(void *arg) {
    job_t *j = arg;
    int n = j->n, k = j->k;
    if (j->seed) { /* freeze the scaling: mean and weight / sd of the first batch */
        for (int f = 0; f < NF; f++) {
            double m = 0, v = 0;
            for (int i = 0; i < n; i++) m += j->x[(size_t)i * NF + f];
            m /= n;
            for (int i = 0; i < n; i++) {
                double d = j->x[(size_t)i * NF + f] - m;
                v += d * d;
            }
            double sd = sqrt(v / n);
            j->mu[f] = (float)m;
            j->sc[f] = feat_w[f] / (float)(sd > feat_sd_min[f] ? sd : feat_sd_min[f]);
        }
    }
    for (int i = 0; i < n; i++)
        rs_segment__scale(j->mu, j->sc, j->x + (size_t)i * NF, j->x + (size_t)i * NF);
    int *idx = rs_xmalloc((size_t)n * sizeof(*idx));
    float *d2 = rs_xmalloc((size_t)n * sizeof(*d2));
    if (j->seed) {
        float cent[KMAX * NF];
        double cnt[KMAX], best = INFINITY;
        for (int t = 0; t < SEED_TRIES; t++) {
            double in = seed_once(j, cent, cnt, idx, d2);
            if (in < best) {
                best = in;
                memcpy(j->cent, cent, sizeof(cent));
                memcpy(j->cnt, cnt, sizeof(cnt));
            }
        }
    } else { /* Sculley: assign the batch, then per-centroid learning rate 1 / count */
        assign_all(j->x, n, j->cent, k, idx, NULL);
        for (int i = 0; i < n; i++) {
            float *c = j->cent + idx[i] * NF;
            const float *xi = j->x + (size_t)i * NF;
            double eta = 1.0 / ++j->cnt[idx[i]];
            for (int f = 0; f < NF; f++) c[f] += (float)(eta * (xi[f] - c[f]));
        }
    }
    free(idx);
    free(d2);
}

static void refresh_start(rs_segmenter_t *s);

static void job_done(void *arg) {
    job_t *j = arg;
    rs_segmenter_t *s = j->s;
    if (s) {
        if (j->seed) {
            memcpy(s->mu, j->mu, sizeof(s->mu));
            memcpy(s->sc, j->sc, sizeof(s->sc));
            s->rng = j->rng;
        }
        memcpy(s->cent, j->cent, sizeof(s->cent));
        memcpy(s->cnt, j->cnt, sizeof(s->cnt));
        s->nc = j->k;
        s->refreshes++;
        s->dirty_cl = 1;
        s->job = NULL;
    }
    free(j->x);
    free(j);
    if (s && s->pend_n >= s->batch) refresh_start(s);
}

static void refresh_start(rs_segmenter_t *s) {
    job_t *j = rs_xcalloc(1, sizeof(*j));
    j->s = s;
    j->seed = s->nc == 0;
    j->k = s->k;
    j->n = s->pend_n;
    j->x = s->pend; /* the job takes the batch; a fresh one starts filling */
    s->pend = rs_xmalloc((size_t)s->batch * NF * sizeof(float));
    s->pend_n = 0;
    memcpy(j->mu, s->mu, sizeof(j->mu));
    memcpy(j->sc, s->sc, sizeof(j->sc));
    memcpy(j->cent, s->cent, sizeof(j->cent));
    memcpy(j->cnt, s->cnt, sizeof(j->cnt));
    j->rng = s->rng;
    s->job = j;
    if (s->has_exec && s->exec.submit(s->exec.opaque, job_work, job_done, j) == 0) return;
    job_work(j);
    job_done(j);
}

void rs_segment_add_vector(rs_segmenter_t *s, const float *x) {
    int ok = 1;
    for (int j = 0; j < NF; j++) ok &= isfinite(x[j]) != 0; /* one NaN would poison a centroid */
    if (!ok || s->pend_n >= s->batch) { /* full while a refresh runs: keep memory bounded */
        s->dropped++;
        return;
    }
    memcpy(s->pend + (size_t)s->pend_n * NF, x, NF * sizeof(float));
    if (++s->pend_n >= s->batch && !s->job) refresh_start(s);
}

int rs_segment_nearest(const rs_segmenter_t *s, const float *x, float *dist) {
    if (!s || !s->nc) return -1;
    float y[NF], best = INFINITY;
    int bc = 0;
    rs_segment__scale(s->mu, s->sc, x, y);
    for (int c = 0; c < s->nc; c++) {
        float d = dist2(y, s->cent + c * NF);
        if (d < best) best = d, bc = c;
    }
    if (!(best < INFINITY)) return -1; /* not a finite vector */
    if (dist) *dist = sqrtf(best);
    return bc;
}
