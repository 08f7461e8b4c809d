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

#define RP_MAX   32
#define PF_AHEAD 8                            /* candidates prefetched ahead */
#define PF_LINE  (64 / (int)sizeof(rs_nbr_t)) /* neighbour entries per cache line */

typedef struct seed_list {
    rs_item_t *it;
    const rs_nbr_t *nb;
    uint32_t n;
} seed_list_t;

struct rs_scorer {
    const rs_conf_t *conf;
    slot_t *sl;
    uint32_t cap;
    uint32_t *cand; /* every slot touched in this call (marks are reset through it) */
    uint32_t n_cand, cap_cand;
    uint32_t *knn;
    uint32_t cap_knn;
    seed_list_t *seeds; /* this call's seeds and their neighbour lists */
    uint32_t cap_seeds;
    rs_exclude_fn_t *exclude;
    void *exclude_opaque;
    /* rec.repurchase.categories as last parsed: names point into rp_spec */
    char *rp_spec;
    const char *rp_name[RP_MAX];
    size_t rp_len[RP_MAX];
    int64_t rp_ms[RP_MAX];
    int rp_n;
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
    free(sc->knn);
    free(sc->seeds);
    free(sc->rp_spec);
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

/* rec.repurchase.categories, parsed once per value of the key (tests and
 * reloads change it under a live scorer); names are resolved to category
 * indexes per call, as categories appear while the state grows. */
static void repurchase_add(void *opaque, const char *name, size_t len, int64_t ms) {
    rs_scorer_t *sc = opaque;
    if (sc->rp_n == RP_MAX) return;
    sc->rp_name[sc->rp_n] = name, sc->rp_len[sc->rp_n] = len, sc->rp_ms[sc->rp_n++] = ms;
}

/* Resolves the windows for this call into cat[]/ms[]; returns how many. */
static int repurchase_windows(rs_scorer_t *sc, rs_state_t *st, uint32_t *cat, int64_t *ms) {
    const char *spec =
        sc->conf->rec_repurchase_categories ? sc->conf->rec_repurchase_categories : "";
    if (!sc->rp_spec || strcmp(sc->rp_spec, spec)) {
        char msg[128];
        free(sc->rp_spec);
        sc->rp_spec = rs_xstrdup(spec);
        sc->rp_n = 0;
        rs_conf_each_ms(sc->rp_spec, repurchase_add, sc, msg, sizeof(msg));
    }
    int n = 0;
    for (int i = 0; i < sc->rp_n; i++) {
        uint32_t c = rs_state_name_lookup(st, sc->rp_name[i], sc->rp_len[i]);
        if (c) cat[n] = c, ms[n++] = sc->rp_ms[i];
    }
    return n;
}

/* Per-category counts for the diversity cap (categories in one list are few). */
typedef struct catcap {
    uint32_t cat[256], n[256], k;
} catcap_t;

static int cap_full(catcap_t *c, uint32_t cat, int max) {
    if (!max || !cat) return 0;
    for (uint32_t i = 0; i < c->k; i++)
        if (c->cat[i] == cat) return c->n[i] >= (uint32_t)max;
    return 0;
}

static void cap_add(catcap_t *c, uint32_t cat) {
    if (!cat) return;
    for (uint32_t i = 0; i < c->k; i++)
        if (c->cat[i] == cat) {
            c->n[i]++;
            return;
        }
    if (c->k < 256) c->cat[c->k] = cat, c->n[c->k++] = 1;
}

/* Appends fill items from list[0..n) (best first) until out has k. */
static size_t fill(rs_scorer_t *sc, rs_state_t *st, const uint32_t *list, uint32_t n,
                   rs_scored_t *out, size_t have, size_t k, float base, uint32_t because,
                   uint8_t because_type, catcap_t *caps) {
    int max = sc->conf->rec_diversity_max;
    for (uint32_t i = 0; i < n && have < k; i++) {
        uint32_t b = list[i];
        if (b < sc->cap && (sc->sl[b].mark == 2 || sc->sl[b].mark == 3)) continue;
        rs_item_t *it = rs_state_item_by_idx(st, b);
        if (it->flags & RS_ITEM_HIDDEN) continue;
        if (sc->exclude && sc->exclude(sc->exclude_opaque, b)) continue;
        if (cap_full(caps, it->category, max)) continue;
        cap_add(caps, it->category);
        if (b < sc->cap) sc->sl[b].mark = 3;
        /* fill items score below any kNN match, in list order */
        uint8_t bt = because_type;
        if (bt == RS_BECAUSE_POPULAR &&
            rs_state_item_trending(st, it, rs_state_event_now(st)) >= sc->conf->rec_trending_min)
            bt = RS_BECAUSE_TRENDING;
        out[have++] = (rs_scored_t){b, base * (float)(n - i) / (float)n, because, bt};
    }
    return have;
}

size_t rs_score_user(rs_scorer_t *sc, rs_state_t *st, const rs_user_t *u, rs_scored_t *out,
                     size_t k, const char **strategy) {
    const rs_conf_t *conf = sc->conf;
    ensure(sc, rs_state_item_count(st));
    sc->n_cand = 0;

    /* exclusions first, so an excluded item never becomes a candidate;
     * purchases past their repurchase window are allowed back (mark 4) even
     * if they are among the recently seen */
    if (conf->rec_exclude_purchased && u->n_purchased) {
        uint32_t rp_cat[RP_MAX];
        int64_t rp_ms[RP_MAX];
        int rp_n = repurchase_windows(sc, st, rp_cat, rp_ms);
        int64_t now = rs_state_event_now(st);
        for (int i = 0; i < u->n_purchased; i++) {
            uint32_t b = u->purchased[i];
            if (sc->sl[b].mark) continue;
            int64_t win = conf->rec_repurchase_ms;
            uint32_t cat = rs_state_item_by_idx(st, b)->category;
            for (int j = 0; cat && j < rp_n; j++)
                if (rp_cat[j] == cat) win = rp_ms[j];
            sc->sl[b].mark = win > 0 && now - u->purchased_ts[i] >= win ? 4 : 2;
            add_cand(sc, b);
        }
    }
    if (conf->rec_exclude_seen)
        for (int i = 0; i < u->n_recent; i++)
            if (!sc->sl[u->recent[i].item].mark)
                sc->sl[u->recent[i].item].mark = 2, add_cand(sc, u->recent[i].item);
    uint32_t n_excl = sc->n_cand;

    int nseeds = u->n_recent < conf->rec_recent ? u->n_recent : conf->rec_recent;
    const double *wpow = rs_state_wpow(st);
    const uint8_t *hidden = rs_state_hidden_map(st);
    double decay = 1.0;
    double wview = conf->weight[RS_EV_VIEW] > 0 ? conf->weight[RS_EV_VIEW] : 1;
    /* Every seed's list first, each one's head prefetched, so that their
     * cache misses overlap instead of stalling the accumulation in turn; in
     * the loop, the slot and weight of the candidate PF_AHEAD entries on. */
    if ((uint32_t)nseeds > sc->cap_seeds) {
        sc->cap_seeds = (uint32_t)nseeds;
        sc->seeds = rs_xrealloc(sc->seeds, sc->cap_seeds * sizeof(*sc->seeds));
    }
    for (int i = 0; i < nseeds; i++) {
        rs_item_t *seed = rs_state_item_by_idx(st, u->recent[i].item);
        sc->seeds[i].it = seed;
        sc->seeds[i].nb = seed ? rs_state_item_top(st, seed, &sc->seeds[i].n) : NULL;
        if (!sc->seeds[i].nb) sc->seeds[i].n = 0;
        for (uint32_t j = 0; j < sc->seeds[i].n && j < 4 * PF_LINE; j += PF_LINE)
            __builtin_prefetch(&sc->seeds[i].nb[j]);
    }
    for (int i = 0; i < nseeds; i++, decay *= conf->rec_recency_decay) {
        const rs_recent_t *r = &u->recent[i];
        rs_item_t *seed = sc->seeds[i].it;
        if (!seed) continue;
        double ws = conf->rec_recency == RS_RECENCY_HARMONIC ? 1.0 / (1.0 + (double)i) : decay;
        if (conf->rec_type_boost) ws *= sqrt(conf->weight[r->type] / wview);
        uint32_t nn = sc->seeds[i].n;
        const rs_nbr_t *nb = sc->seeds[i].nb;
        for (uint32_t j = 0; j < nn; j++) {
            if (j + PF_AHEAD < nn) {
                __builtin_prefetch(&sc->sl[nb[j + PF_AHEAD].item]);
                if (wpow) __builtin_prefetch(&wpow[nb[j + PF_AHEAD].item]);
            }
            uint32_t b = nb[j].item;
            slot_t *x = &sc->sl[b];
            if (x->mark == 2) continue;
            if (!x->mark || x->mark == 4) { /* first touch (4: already listed) */
                int listed = x->mark == 4;
                if (hidden[b] || (sc->exclude && sc->exclude(sc->exclude_opaque, b))) {
                    x->mark = 2;
                    if (!listed) add_cand(sc, b);
                    continue;
                }
                x->mark = 1;
                x->acc = 0;
                x->best = -1;
                if (!listed) add_cand(sc, b);
            }
            float sim = wpow ? (float)((double)nb[j].cnt / (seed->wpow * wpow[b]))
                             : rs_state_sim(st, seed, b, nb[j].cnt);
            float c = (float)ws * sim;
            x->acc += c;
            if (c > x->best) x->best = c, x->seed = r->item;
        }
    }

    /* content: boost candidates by the user's affinity to their category and
     * brand (recency-weighted shares of the recent ring), score x (1 + w x aff) */
    if (conf->rec_content_weight > 0 && u->n_recent) {
        uint32_t kc[64], kb[64];
        float wc[64], wb[64], tot = 0;
        int nc = 0, nb = 0;
        for (int i = 0; i < u->n_recent && i < 64; i++) {
            const rs_item_t *it = rs_state_item_by_idx(st, u->recent[i].item);
            float w = 1.0f / (1.0f + (float)i);
            tot += w;
            int j;
            for (j = 0; j < nc && kc[j] != it->category; j++) {
            }
            if (it->category && j == nc) kc[nc] = it->category, wc[nc++] = 0;
            if (it->category) wc[j] += w;
            for (j = 0; j < nb && kb[j] != it->brand; j++) {
            }
            if (it->brand && j == nb) kb[nb] = it->brand, wb[nb++] = 0;
            if (it->brand) wb[j] += w;
        }
        float cw = (float)conf->rec_content_weight / tot;
        for (uint32_t i = n_excl; nc + nb && i < sc->n_cand; i++) {
            slot_t *x = &sc->sl[sc->cand[i]];
            if (x->mark != 1) continue;
            const rs_item_t *it = rs_state_item_by_idx(st, sc->cand[i]);
            float aff = 0;
            for (int j = 0; j < nc; j++)
                if (kc[j] == it->category) aff += wc[j];
            for (int j = 0; j < nb; j++)
                if (kb[j] == it->brand) aff += wb[j];
            x->acc *= 1.0f + cw * aff;
        }
    }

    /* rank the kNN candidates (those after the exclusions, still marked 1);
     * collected apart from cand, which must stay whole for the mark reset */
    if (sc->cap_knn < sc->cap_cand) {
        sc->cap_knn = sc->cap_cand;
        sc->knn = rs_xrealloc(sc->knn, sc->cap_knn * sizeof(uint32_t));
    }
    uint32_t *knn = sc->knn, n_knn = 0;
    for (uint32_t i = n_excl; i < sc->n_cand; i++)
        if (sc->sl[sc->cand[i]].mark == 1 && sc->sl[sc->cand[i]].acc > 0)
            knn[n_knn++] = sc->cand[i];
    if (k > 256) k = 256;
    catcap_t caps;
    caps.k = 0;
    int max = conf->rec_diversity_max;
    /* with a diversity cap some of the best may be skipped: select more */
    uint32_t want = (uint32_t)(max ? (k * 4 < 256 ? k * 4 : 256) : k);
    uint32_t sel[256];
    uint32_t n_sel = select_top(sc->sl, knn, n_knn, sel, want);
    size_t n = 0;
    for (uint32_t i = 0; i < n_sel && n < k; i++) {
        uint32_t b = sel[i];
        if (max) {
            uint32_t cat = rs_state_item_by_idx(st, b)->category;
            if (cap_full(&caps, cat, max)) continue;
            cap_add(&caps, cat);
        }
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
    if (!max) /* caps were skipped above; count them now for the fills */
        for (size_t i = 0; i < n; i++)
            cap_add(&caps, rs_state_item_by_idx(st, out[i].item)->category);

    float floor = n ? out[n - 1].score : 1.0f;
    size_t n_cat = n;
    if (n < k && conf->rec_category_fill && u->n_recent) {
        uint32_t cat = rs_state_item_by_idx(st, u->recent[0].item)->category, np;
        const uint32_t *pop = cat ? rs_state_category_popular(st, cat, &np) : NULL;
        if (pop)
            n = fill(sc, st, pop, np, out, n, k, floor * 1e-3f, cat, RS_BECAUSE_CATEGORY, &caps);
    }
    n_cat = n - n_cat;
    if (n < k) {
        uint32_t np;
        const uint32_t *pop = rs_state_popular(st, &np);
        n = fill(sc, st, pop, np, out, n, k, floor * 1e-6f, UINT32_MAX, RS_BECAUSE_POPULAR, &caps);
    }
    for (uint32_t i = 0; i < sc->n_cand; i++) sc->sl[sc->cand[i]].mark = 0;
    for (size_t i = n_from_knn; i < n; i++)
        if (out[i].item < sc->cap) sc->sl[out[i].item].mark = 0;
    *strategy = n == 0                     ? "none"
                : n_from_knn == n          ? "item-knn"
                : n_from_knn == 0 && n_cat ? "category-popular"
                : n_from_knn == 0          ? "popular"
                                           : "item-knn+popular";
    return n;
}

uint64_t rs_score_list_hash(const rs_scored_t *l, size_t n) {
    uint32_t ids[256];
    if (n > 256) n = 256;
    for (size_t i = 0; i < n; i++) ids[i] = l[i].item;
    return rs_hash64(ids, n * sizeof(uint32_t)) ^ n;
}
