/* rs_score.c -- item-kNN scoring with popularity fallback (see rs_score.h).
 *
 * Work per user is bounded: rec.recent seeds x rec.neighbors neighbours,
 * accumulated in a dense array indexed by item (reset through a touched list,
 * so the cost does not grow with the catalogue). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "recstream/rs_buf.h"
#include "recstream/rs_score.h"

/* Per-item scratch, interleaved: one cache line per candidate touch. */
typedef struct slot {
    float acc;     /* score */
    float best;    /* largest single contribution */
    uint32_t seed; /* seed of that contribution */
    uint32_t mark; /* 0 = untouched, 1 = candidate, 2 = excluded, 3 = chosen */
} slot_t;

struct rs_scorer {
    const rs_conf_t *conf;
    slot_t *sl;
    uint32_t cap;
    uint32_t *cand;
    uint32_t n_cand, cap_cand;
    rs_exclude_fn_t *exclude;
    void *exclude_opaque;
};

rs_scorer_t *rs_scorer_new(const rs_conf_t *conf) {
    rs_scorer_t *sc = rs_xcalloc(1, sizeof(*sc));
    sc->conf = conf;
    return sc;
}

void rs_scorer_destroy(rs_scorer_t *sc) {
    if (!sc) return;
    free(sc->sl);
    free(sc->cand);
    free(sc);
}

void rs_scorer_set_exclude(rs_scorer_t *sc, rs_exclude_fn_t *fn, void *opaque) {
    sc->exclude = fn;
    sc->exclude_opaque = opaque;
}

static void ensure(rs_scorer_t *sc, uint32_t n) {
    if (n <= sc->cap) return;
    uint32_t cap = sc->cap ? sc->cap : 1024;
    while (cap < n) cap *= 2;
    sc->sl = rs_xrealloc(sc->sl, cap * sizeof(slot_t));
    memset(sc->sl + sc->cap, 0, (cap - sc->cap) * sizeof(slot_t));
    sc->cap = cap;
}

static void add_cand(rs_scorer_t *sc, uint32_t item) {
    if (sc->n_cand == sc->cap_cand) {
        sc->cap_cand = sc->cap_cand ? sc->cap_cand * 2 : 256;
        sc->cand = rs_xrealloc(sc->cand, sc->cap_cand * sizeof(uint32_t));
    }
    sc->cand[sc->n_cand++] = item;
}

/* Candidate order: higher score first, then lower item index. */
static inline int better(const slot_t *sl, uint32_t x, uint32_t y) {
    return sl[x].acc > sl[y].acc || (sl[x].acc == sl[y].acc && x < y);
}

/* Selects the best k of cand[0..n) into sel (best first) with a bounded
 * min-heap: O(n log k) instead of sorting every candidate. Returns count. */
static uint32_t select_top(const slot_t *acc, const uint32_t *cand, uint32_t n, uint32_t *sel,
                           uint32_t k) {
    uint32_t hn = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t x = cand[i];
        if (hn < k) {
            uint32_t j = hn++;
            while (j && better(acc, sel[(j - 1) / 2], x))
                sel[j] = sel[(j - 1) / 2], j = (j - 1) / 2;
            sel[j] = x;
        } else if (better(acc, x, sel[0])) {
            uint32_t j = 0;
            for (;;) {
                uint32_t l = 2 * j + 1, r = l + 1, m = j, mv = x;
                if (l < hn && better(acc, mv, sel[l])) m = l, mv = sel[l];
                if (r < hn && better(acc, mv, sel[r])) m = r;
                if (m == j) break;
                sel[j] = sel[m];
                j = m;
            }
            sel[j] = x;
        }
    }
    /* heap -> best-first order */
    for (uint32_t end = hn; end > 1; end--) {
        uint32_t top = sel[0];
        uint32_t x = sel[end - 1], j = 0;
        for (;;) {
            uint32_t l = 2 * j + 1, r = l + 1, m = j, mv = x;
            if (l < end - 1 && better(acc, mv, sel[l])) m = l, mv = sel[l];
            if (r < end - 1 && better(acc, mv, sel[r])) m = r;
            if (m == j) break;
            sel[j] = sel[m];
            j = m;
        }
        sel[j] = x;
        sel[end - 1] = top;
    }
    return hn;
}

size_t rs_score_user(rs_scorer_t *sc, rs_state_t *st, const rs_user_t *u, rs_scored_t *out,
                     size_t k, const char **strategy) {
    const rs_conf_t *conf = sc->conf;
    ensure(sc, rs_state_item_count(st));
    sc->n_cand = 0;

    /* exclusions first, so an excluded item never becomes a candidate */
    if (conf->rec_exclude_seen)
        for (int i = 0; i < u->n_recent; i++)
            if (!sc->sl[u->recent[i].item].mark)
                sc->sl[u->recent[i].item].mark = 2, add_cand(sc, u->recent[i].item);
    if (conf->rec_exclude_purchased)
        for (int i = 0; i < u->n_purchased; i++)
            if (!sc->sl[u->purchased[i]].mark)
                sc->sl[u->purchased[i]].mark = 2, add_cand(sc, u->purchased[i]);
    uint32_t n_excl = sc->n_cand;

    int nseeds = u->n_recent < conf->rec_recent ? u->n_recent : conf->rec_recent;
    double decay = 1.0;
    double wview = conf->weight[RS_EV_VIEW] > 0 ? conf->weight[RS_EV_VIEW] : 1;
    for (int i = 0; i < nseeds; i++, decay *= conf->rec_recency_decay) {
        const rs_recent_t *r = &u->recent[i];
        rs_item_t *seed = rs_state_item_by_idx(st, r->item);
        if (!seed) continue;
        float ws = (float)(decay * sqrt(conf->weight[r->type] / wview));
        uint32_t nn;
        const rs_nbr_t *nb = rs_state_item_top(st, seed, &nn);
        for (uint32_t j = 0; j < nn; j++) {
            uint32_t b = nb[j].item;
            slot_t *x = &sc->sl[b];
            if (x->mark == 2) continue;
            if (!x->mark) {
                if (sc->exclude && sc->exclude(sc->exclude_opaque, b)) {
                    x->mark = 2;
                    add_cand(sc, b);
                    continue;
                }
                x->mark = 1;
                x->acc = 0;
                x->best = -1;
                add_cand(sc, b);
            }
            float c = ws * nb[j].sim;
            x->acc += c;
            if (c > x->best) x->best = c, x->seed = r->item;
        }
    }

    /* rank the kNN candidates (those after the exclusions, still marked 1) */
    uint32_t *knn = sc->cand + n_excl, n_knn = 0;
    for (uint32_t i = n_excl; i < sc->n_cand; i++)
        if (sc->sl[sc->cand[i]].mark == 1 && sc->sl[sc->cand[i]].acc > 0)
            knn[n_knn++] = sc->cand[i];
    uint32_t sel[256];
    uint32_t n_sel = select_top(sc->sl, knn, n_knn, sel, (uint32_t)(k < 256 ? k : 256));
    size_t n = 0;
    for (uint32_t i = 0; i < n_sel; i++) {
        uint32_t b = sel[i];
        uint8_t bt = RS_EV_VIEW;
        for (int s = 0; s < nseeds; s++)
            if (u->recent[s].item == sc->sl[b].seed) {
                bt = u->recent[s].type;
                break;
            }
        out[n++] = (rs_scored_t){b, sc->sl[b].acc, sc->sl[b].seed, bt};
    }
    size_t n_from_knn = n;
    /* mark the chosen so the fill skips them; clear the rest later */
    for (size_t i = 0; i < n; i++) sc->sl[out[i].item].mark = 3;

    if (n < k) {
        uint32_t np;
        const uint32_t *pop = rs_state_popular(st, &np);
        int64_t now = rs_state_event_now(st);
        for (uint32_t i = 0; i < np && n < k; i++) {
            uint32_t b = pop[i];
            if (b < sc->cap && sc->sl[b].mark >= 2) continue;
            if (sc->exclude && sc->exclude(sc->exclude_opaque, b)) continue;
            rs_item_t *it = rs_state_item_by_idx(st, b);
            /* popular items score below any kNN match, ordered by popularity */
            float s = (float)(1e-6 * log1p(rs_state_item_popularity(st, it, now)));
            out[n++] = (rs_scored_t){b, s, UINT32_MAX, 0};
        }
    }
    for (uint32_t i = 0; i < sc->n_cand; i++) sc->sl[sc->cand[i]].mark = 0;
    *strategy = n_from_knn == 0 ? "popular" : n_from_knn < n ? "item-knn+popular" : "item-knn";
    return n;
}

uint64_t rs_score_list_hash(const rs_scored_t *l, size_t n) {
    uint32_t ids[256];
    if (n > 256) n = 256;
    for (size_t i = 0; i < n; i++) ids[i] = l[i].item;
    return rs_hash64(ids, n * sizeof(uint32_t)) ^ n;
}
