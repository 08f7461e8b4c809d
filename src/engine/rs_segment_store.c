/* rs_segment_store.c -- encodings of the segment state (rs_segment.h).
 *
 * Per-user bytes (stored with the profile by rs_state.c): u8 version 1,
 * then the rs_segment_user_t fields in declaration order, little-endian
 * (USER_V1_BYTES). 0 bytes (a profile stored before segments) decode to a
 * fresh state; anything else that is not version 1 of the right length is
 * refused.
 *
 * Aggregates: three state blobs, little-endian, each starting u8 version 1:
 *   segment.rfm      u64 size[RS_RFM__COUNT], u8 wl, i64 base, lo, hi, then
 *                    recency, frequency, monetary histograms, each u32 nb,
 *                    u32 nnz, nnz x (u32 bucket, u32 count), buckets rising
 *   segment.clusters u8 k, u8 d, u8 learnt, u64 refreshes, u64 prng,
 *                    f32 mu[d], f32 sc[d], f32 centroids[learnt x d],
 *                    f64 counts[learnt], u64 sizes[k]
 *   segment.prices   u32 n, n x (u16 len, name, f64 sum ln(price), u64 count)
 * Staged only when changed since the last rs_segment_stage(). A blob that
 * does not decode fails rs_segmenter_new() with RS_EDECODE and names the
 * blob and the problem; clusters of another k or feature count are dropped
 * with a warning (relearnt; users reassigned on their next assessment). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "recstream/rs_buf.h"
#include "recstream/rs_log.h"
#include "rs_segment_int.h"

static void put8(rs_buf_t *b, uint8_t v) {
    rs_buf_append(b, &v, 1);
}
static void put32(rs_buf_t *b, uint32_t v) {
    unsigned char p[4];
    rs_put_u32(p, v);
    rs_buf_append(b, p, 4);
}
static void put64(rs_buf_t *b, uint64_t v) {
    unsigned char p[8];
    rs_put_u64(p, v);
    rs_buf_append(b, p, 8);
}
static void putf32(rs_buf_t *b, float f) {
    uint32_t v;
    memcpy(&v, &f, 4);
    put32(b, v);
}
static void putf64(rs_buf_t *b, double f) {
    uint64_t v;
    memcpy(&v, &f, 8);
    put64(b, v);
}

typedef struct rd {
    const unsigned char *p, *end;
    int bad;
} rd_t;

static uint64_t get(rd_t *r, int n) {
    if (r->bad || r->end - r->p < n) {
        r->bad = 1;
        return 0;
    }
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | r->p[i];
    r->p += n;
    return v;
}
static float getf32(rd_t *r) {
    uint32_t v = (uint32_t)get(r, 4);
    float f;
    memcpy(&f, &v, 4);
    return f;
}
static double getf64(rd_t *r) {
    uint64_t v = get(r, 8);
    double f;
    memcpy(&f, &v, 8);
    return f;
}

#define USER_V1_BYTES 79

size_t rs_segment_user_encode(const rs_segment_user_t *g, unsigned char *out) {
    unsigned char *p = out;
    uint64_t v;
    *p++ = 1; /* version */
    *p++ = g->rfm, *p++ = g->cluster, *p++ = g->r, *p++ = g->f, *p++ = g->m, *p++ = g->counted;
    rs_put_u64(p, (uint64_t)g->h_recency), p += 8;
    rs_put_u32(p, g->h_freq), p += 4;
    memcpy(&v, &g->h_monetary, 8), rs_put_u64(p, v), p += 8;
    memcpy(&v, &g->relp_sum, 8), rs_put_u64(p, v), p += 8;
    rs_put_u32(p, g->relp_n), p += 4;
    uint32_t f;
    memcpy(&f, &g->dist, 4), rs_put_u32(p, f), p += 4;
    rs_put_u32(p, g->q_events), p += 4;
    rs_put_u32(p, g->last_cat), p += 4;
    rs_put_u32(p, g->last_sess), p += 4;
    rs_put_u32(p, g->cat_steps), p += 4;
    rs_put_u32(p, g->cat_switch), p += 4;
    rs_put_u32(p, g->a_events), p += 4;
    rs_put_u32(p, g->a_gen), p += 4;
    rs_put_u64(p, (uint64_t)g->a_ts), p += 8;
    return (size_t)(p - out);
}

int rs_segment_user_decode(rs_segment_user_t *g, const unsigned char *p, size_t len) {
    memset(g, 0, sizeof(*g));
    if (!len) return 0; /* stored before segments existed: a fresh state */
    if (len != USER_V1_BYTES || p[0] != 1) return -1;
    rd_t r = {p + 1, p + len, 0};
    g->rfm = (uint8_t)get(&r, 1), g->cluster = (uint8_t)get(&r, 1);
    g->r = (uint8_t)get(&r, 1), g->f = (uint8_t)get(&r, 1), g->m = (uint8_t)get(&r, 1);
    g->counted = (uint8_t)get(&r, 1);
    g->h_recency = (int64_t)get(&r, 8);
    g->h_freq = (uint32_t)get(&r, 4);
    g->h_monetary = getf64(&r);
    g->relp_sum = getf64(&r);
    g->relp_n = (uint32_t)get(&r, 4);
    g->dist = getf32(&r);
    g->q_events = (uint32_t)get(&r, 4);
    g->last_cat = (uint32_t)get(&r, 4);
    g->last_sess = (uint32_t)get(&r, 4);
    g->cat_steps = (uint32_t)get(&r, 4);
    g->cat_switch = (uint32_t)get(&r, 4);
    g->a_events = (uint32_t)get(&r, 4);
    g->a_gen = (uint32_t)get(&r, 4);
    g->a_ts = (int64_t)get(&r, 8);
    if (r.bad || g->rfm >= RS_RFM__COUNT || g->cluster > KMAX || g->r > 5 || g->f > 5 || g->m > 5 ||
        g->counted > 1) {
        memset(g, 0, sizeof(*g));
        return -1;
    }
    return 0;
}

static void hist_encode(const hist_t *h, rs_buf_t *b) {
    uint32_t nnz = 0;
    for (uint32_t i = 0; i < h->nb; i++) nnz += h->cnt[i] != 0;
    put32(b, h->nb);
    put32(b, nnz);
    for (uint32_t i = 0; i < h->nb; i++)
        if (h->cnt[i]) put32(b, i), put32(b, h->cnt[i]);
}

static const char *hist_decode(hist_t *h, rd_t *r) {
    if (get(r, 4) != h->nb) return r->bad ? "truncated" : "histogram size differs";
    uint32_t nnz = (uint32_t)get(r, 4);
    int64_t prev = -1;
    memset(h->cnt, 0, h->nb * sizeof(*h->cnt));
    for (uint32_t k = 0; k < nnz && !r->bad; k++) {
        uint32_t i = (uint32_t)get(r, 4), c = (uint32_t)get(r, 4);
        if (r->bad) break;
        if ((int64_t)i <= prev || i >= h->nb || !c) return "histogram bucket out of order";
        h->cnt[i] = c;
        prev = i;
    }
    if (r->bad) return "truncated";
    rs_segment__hist_rebuild(h);
    return NULL;
}

static void rfm_encode(const rs_segmenter_t *s, rs_buf_t *b) {
    put8(b, 1);
    for (int i = 0; i < RS_RFM__COUNT; i++) put64(b, s->rfm_size[i]);
    put8(b, (uint8_t)s->wl);
    put64(b, (uint64_t)s->base);
    put64(b, (uint64_t)s->lo);
    put64(b, (uint64_t)s->hi);
    hist_encode(&s->rec, b);
    hist_encode(&s->freq, b);
    hist_encode(&s->mon, b);
}

static const char *rfm_decode(rs_segmenter_t *s, rd_t *r) {
    if (get(r, 1) != 1) return r->bad ? "truncated" : "unknown version";
    for (int i = 0; i < RS_RFM__COUNT; i++) s->rfm_size[i] = get(r, 8);
    s->wl = (int)get(r, 1);
    s->base = (int64_t)get(r, 8);
    s->lo = (int64_t)get(r, 8);
    s->hi = (int64_t)get(r, 8);
    if (r->bad) return "truncated";
    if (s->wl > 62 || s->base < 0) return "recency width out of range";
    const char *e;
    if ((e = hist_decode(&s->rec, r)) || (e = hist_decode(&s->freq, r)) ||
        (e = hist_decode(&s->mon, r)))
        return e;
    if (s->rec.total != s->freq.total || s->rec.total != s->mon.total)
        return "histogram totals differ";
    if (s->rec.total && (s->lo > s->hi || s->lo < s->base || s->hi >= s->base + (int64_t)REC_NB))
        return "recency span out of range";
    return NULL;
}

static void cl_encode(const rs_segmenter_t *s, rs_buf_t *b) {
    put8(b, 1);
    put8(b, (uint8_t)s->k);
    put8(b, NF);
    put8(b, (uint8_t)s->nc);
    put64(b, s->refreshes);
    put64(b, s->rng);
    for (int j = 0; j < NF; j++) putf32(b, s->mu[j]);
    for (int j = 0; j < NF; j++) putf32(b, s->sc[j]);
    for (int i = 0; i < s->nc * NF; i++) putf32(b, s->cent[i]);
    for (int c = 0; c < s->nc; c++) putf64(b, s->cnt[c]);
    for (int c = 0; c < s->k; c++) put64(b, s->cl_size[c]);
}

static const char *cl_decode(rs_segmenter_t *s, rd_t *r) {
    if (get(r, 1) != 1) return r->bad ? "truncated" : "unknown version";
    int k = (int)get(r, 1), nf = (int)get(r, 1), nc = (int)get(r, 1);
    if (r->bad) return "truncated";
    if (k < 2 || k > KMAX || (nc != 0 && nc != k)) return "cluster count out of range";
    if (k != s->k || nf != NF) {
        rs_warn(SUBSYS, "stored clusters have k=%d over %d features, now k=%d over %d: relearning",
                k, nf, s->k, NF);
        r->p = r->end; /* dropped on purpose */
        return NULL;
    }
    s->refreshes = get(r, 8);
    s->rng = get(r, 8);
    for (int j = 0; j < NF; j++) s->mu[j] = getf32(r);
    for (int j = 0; j < NF; j++) s->sc[j] = getf32(r);
    for (int i = 0; i < nc * NF; i++) s->cent[i] = getf32(r);
    for (int c = 0; c < nc; c++) s->cnt[c] = getf64(r);
    for (int c = 0; c < k; c++) s->cl_size[c] = get(r, 8);
    if (r->bad) return "truncated";
    for (int i = 0; i < nc * NF; i++)
        if (!isfinite(s->cent[i])) return "centroid not finite";
    s->nc = nc;
    return NULL;
}

static void pm_encode(const rs_segmenter_t *s, rs_buf_t *b) {
    put8(b, 1);
    put32(b, s->pe_n);
    for (uint32_t i = 0; i < s->pe_n; i++) {
        const pent_t *e = &s->pe[i];
        unsigned char l[2] = {(unsigned char)e->len, (unsigned char)(e->len >> 8)};
        rs_buf_append(b, l, 2);
        rs_buf_append(b, e->name, e->len);
        putf64(b, e->sum);
        put64(b, e->n);
    }
}

static const char *pm_decode(rs_segmenter_t *s, rd_t *r) {
    if (get(r, 1) != 1) return r->bad ? "truncated" : "unknown version";
    uint32_t n = (uint32_t)get(r, 4);
    for (uint32_t i = 0; i < n && !r->bad; i++) {
        uint32_t len = (uint32_t)get(r, 2);
        if (r->bad || r->end - r->p < (ptrdiff_t)len) return "truncated";
        const char *name = (const char *)r->p;
        r->p += len;
        double sum = getf64(r);
        uint64_t cnt = get(r, 8);
        if (r->bad) break;
        if (!len || len > NAME_MAX_ || !isfinite(sum)) return "bad category entry";
        pent_t *e = rs_segment__price_get(s, name, len, rs_hash64(name, len));
        if (e->n) return "duplicate category";
        e->sum = sum;
        e->n = cnt;
    }
    return r->bad ? "truncated" : NULL;
}

static const struct blob {
    const char *name;
    const char *(*decode)(rs_segmenter_t *s, rd_t *r);
    void (*encode)(const rs_segmenter_t *s, rs_buf_t *b);
} blobs[] = {
    {"segment.rfm", rfm_decode, rfm_encode},
    {"segment.clusters", cl_decode, cl_encode},
    {"segment.prices", pm_decode, pm_encode},
};

rs_err_t rs_segment__load(rs_segmenter_t *s, char *errstr, size_t errstr_size) {
    for (size_t i = 0; i < sizeof(blobs) / sizeof(blobs[0]); i++) {
        int got = rs_state_blob_get(s->st, blobs[i].name, &s->scratch);
        if (got < 0)
            return rs_seterr(errstr, errstr_size, RS_ESTATE_IO, "segments: reading state blob %s",
                             blobs[i].name);
        if (!got) continue;
        rd_t r = {(const unsigned char *)s->scratch.p,
                  (const unsigned char *)s->scratch.p + s->scratch.len, 0};
        const char *why = blobs[i].decode(s, &r);
        if (!why && r.p != r.end) why = "trailing bytes";
        if (why)
            return rs_seterr(errstr, errstr_size, RS_EDECODE,
                             "segments: state blob %s (%zu bytes) is corrupt: %s", blobs[i].name,
                             s->scratch.len, why);
    }
    return RS_OK;
}

void rs_segment_stage(rs_segmenter_t *s) {
    if (!s || !s->st) return;
    int *dirty[] = {&s->dirty_rfm, &s->dirty_cl, &s->dirty_pm};
    for (size_t i = 0; i < sizeof(blobs) / sizeof(blobs[0]); i++) {
        if (!*dirty[i]) continue;
        rs_buf_reset(&s->scratch);
        blobs[i].encode(s, &s->scratch);
        rs_state_blob_set(s->st, blobs[i].name, s->scratch.p, s->scratch.len);
        *dirty[i] = 0;
    }
}
