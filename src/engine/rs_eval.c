/* rs_eval.c -- prequential evaluation driver (see rs_eval.h).
 *
 * DESIGN
 * The engine side is the daemon's code path: events go through
 * rs_pipeline_process_event (validate, dedup, apply to rs_state) and lists
 * come from rs_score_user. What eval adds is bookkeeping the daemon does
 * not need: the exact set of (user, item) pairs ever seen (the daemon keeps
 * only a bounded ring), and the popularity baseline.
 *
 * The baseline keeps items sorted by all-time event count in one array with
 * the classic O(1) increment: counts grow by one, so an item moves by one
 * swap to the front of its count block. Its top-K walks that array from the
 * front, skipping the user's items; the same array gives every item's
 * popularity rank for the bias metric. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "recstream/rs_buf.h"
#include "recstream/rs_eval.h"
#include "recstream/rs_metrics.h"
#include "recstream/rs_pipeline.h"
#include "recstream/rs_score.h"
#include "recstream/rs_validate.h"
#include "rs_state_map.h"

/* user hash -> dense ordinal, open addressing (ids are hashed, 64-bit
 * collisions are negligible at the sizes eval runs) */
typedef struct ordmap {
    uint64_t *k; /* 0 = empty */
    uint32_t *v;
    uint64_t cap, n;
} ordmap_t;

static uint32_t *ordmap_slot(ordmap_t *m, uint64_t h) {
    if ((m->n + 1) * 2 > m->cap) {
        uint64_t ncap = m->cap ? m->cap * 2 : 1024;
        uint64_t *nk = rs_xcalloc(ncap, sizeof(uint64_t));
        uint32_t *nv = rs_xmalloc(ncap * sizeof(uint32_t));
        for (uint64_t i = 0; i < m->cap; i++) {
            if (!m->k[i]) continue;
            uint64_t j = m->k[i] & (ncap - 1);
            while (nk[j]) j = (j + 1) & (ncap - 1);
            nk[j] = m->k[i], nv[j] = m->v[i];
        }
        free(m->k), free(m->v);
        m->k = nk, m->v = nv, m->cap = ncap;
    }
    uint64_t j = h & (m->cap - 1);
    while (m->k[j] && m->k[j] != h) j = (j + 1) & (m->cap - 1);
    if (!m->k[j]) {
        m->k[j] = h;
        m->v[j] = UINT32_MAX;
        m->n++;
    }
    return &m->v[j];
}

static uint32_t ordmap_get(const ordmap_t *m, uint64_t h) {
    if (!m->cap) return UINT32_MAX;
    for (uint64_t j = h & (m->cap - 1);; j = (j + 1) & (m->cap - 1)) {
        if (m->k[j] == h) return m->v[j];
        if (!m->k[j]) return UINT32_MAX;
    }
}

struct rs_eval {
    const rs_conf_t *conf;
    rs_eval_opts_t o;
    rs_stats_t stats;
    rs_pipeline_t *p;
    rs_state_t *st;
    rs_scorer_t *sc;
    rs_scored_t *list;
    uint32_t *blist;

    ordmap_t users;
    uint32_t n_users;
    rs_u64set_t seen; /* (user ordinal << 32 | item idx) */
    uint32_t cur_user;
    /* The same pairs as a list per user, to stamp the current user's items
     * into a dense array by item before scoring: the scorer asks about every
     * candidate, and a probe of `seen` was a cache miss each time (7% of an
     * eval run). Users past STAMP_MAX items fall back to `seen`. */
    struct useen {
        uint32_t *v;
        uint32_t n, cap;
    } * useen;
    uint32_t cap_useen;
    uint32_t *stamp; /* by item idx: the stamp generation that lists it */
    uint32_t cap_stamp, gen;
    int stamped; /* the current user's items are stamped with gen */

    /* popularity baseline */
    uint32_t *order, *pos, *cnt; /* order: items by count desc; pos/cnt by item idx */
    uint32_t *bstart, *ncnt;     /* by count: first position of its block, items with it */
    uint32_t n_items, cap_items, cap_counts;

    /* per model: exposure counts by item, sums */
    uint32_t *expo[2];
    double sum_rr[2], sum_ndcg[2], sum_pct[2];
    uint64_t n_rec[2], hits[2];
    uint8_t *trace; /* per target: bit0 engine hit, bit1 baseline hit */
    uint64_t n_trace, cap_trace;

    uint64_t events, rejected, targets, skipped, since_commit;
};

#define STAMP_MAX 256

static int excluded(void *opaque, uint32_t item) {
    rs_eval_t *ev = opaque;
    if (ev->stamped) return item < ev->cap_stamp && ev->stamp[item] == ev->gen;
    return rs_u64set_has(&ev->seen, (uint64_t)ev->cur_user << 32 | item);
}

static void seen_add(rs_eval_t *ev, uint32_t user, uint32_t item) {
    if (!rs_u64set_add(&ev->seen, (uint64_t)user << 32 | item)) return;
    ev->useen = rs_xgrow_zeroed(ev->useen, &ev->cap_useen, user, sizeof(*ev->useen), 1024);
    struct useen *l = &ev->useen[user];
    if (l->n > STAMP_MAX) return; /* the fallback needs no list */
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4;
        l->v = rs_xrealloc(l->v, l->cap * sizeof(uint32_t));
    }
    l->v[l->n++] = item;
}

/* Stamps the current user's items (see struct useen), or leaves `seen` to
 * answer for a user with many. Called before scoring; `stamped` is cleared
 * after it, since the user's items change with the event. */
static void stamp_user(rs_eval_t *ev) {
    ev->stamped = 0;
    const struct useen *l = ev->cur_user < ev->cap_useen ? &ev->useen[ev->cur_user] : NULL;
    if (l && l->n > STAMP_MAX) return;
    if (ev->n_items)
        ev->stamp =
            rs_xgrow_zeroed(ev->stamp, &ev->cap_stamp, ev->n_items - 1, sizeof(uint32_t), 1024);
    if (++ev->gen == 0) { /* wrapped: old stamps could match again */
        memset(ev->stamp, 0, ev->cap_stamp * sizeof(uint32_t));
        ev->gen = 1;
    }
    for (uint32_t i = 0; l && i < l->n; i++) ev->stamp[l->v[i]] = ev->gen;
    ev->stamped = 1;
}

rs_err_t rs_eval_new(rs_eval_t **out, const rs_conf_t *conf, const rs_eval_opts_t *opts,
                     char *errstr, size_t errstr_size) {
    *out = NULL;
    if (opts->k < 1 || opts->k > 256)
        return rs_seterr(errstr, errstr_size, RS_EARG, "k must be in 1..256");
    rs_eval_t *ev = rs_xcalloc(1, sizeof(*ev));
    ev->conf = conf;
    ev->o = *opts;
    if (!ev->o.commit_every) ev->o.commit_every = 65536;
    rs_sink_t sink = {0};
    int rc = rs_pipeline_new(&ev->p, conf, &sink, &ev->stats, errstr, errstr_size);
    if (rc) {
        free(ev);
        return rc;
    }
    ev->st = rs_pipeline_state(ev->p);
    ev->sc = rs_scorer_new(conf);
    rs_scorer_set_exclude(ev->sc, excluded, ev);
    ev->list = rs_xcalloc((size_t)opts->k, sizeof(*ev->list));
    ev->blist = rs_xcalloc((size_t)opts->k, sizeof(*ev->blist));
    *out = ev;
    return RS_OK;
}

void rs_eval_destroy(rs_eval_t *ev) {
    if (!ev) return;
    rs_scorer_destroy(ev->sc);
    rs_pipeline_destroy(ev->p);
    free(ev->users.k), free(ev->users.v);
    rs_u64set_free(&ev->seen);
    for (uint32_t i = 0; i < ev->cap_useen; i++) free(ev->useen[i].v);
    free(ev->useen), free(ev->stamp);
    free(ev->order), free(ev->pos), free(ev->cnt), free(ev->bstart), free(ev->ncnt);
    free(ev->expo[0]), free(ev->expo[1]);
    free(ev->trace);
    free(ev->list), free(ev->blist);
    free(ev);
}

/* ---- popularity baseline ---- */

static void grow_items(rs_eval_t *ev, uint32_t n) {
    if (n <= ev->cap_items) return;
    uint32_t cap = ev->cap_items ? ev->cap_items : 1024;
    while (cap < n) cap *= 2;
    ev->order = rs_xrealloc(ev->order, cap * sizeof(uint32_t));
    ev->pos = rs_xrealloc(ev->pos, cap * sizeof(uint32_t));
    ev->cnt = rs_xrealloc(ev->cnt, cap * sizeof(uint32_t));
    for (int m = 0; m < 2; m++) {
        ev->expo[m] = rs_xrealloc(ev->expo[m], cap * sizeof(uint32_t));
        memset(ev->expo[m] + ev->cap_items, 0, (cap - ev->cap_items) * sizeof(uint32_t));
    }
    ev->cap_items = cap;
}

static void grow_counts(rs_eval_t *ev, uint32_t c) {
    if (c < ev->cap_counts) return;
    uint32_t cap = ev->cap_counts ? ev->cap_counts : 64;
    while (cap <= c) cap *= 2;
    ev->bstart = rs_xrealloc(ev->bstart, cap * sizeof(uint32_t));
    ev->ncnt = rs_xrealloc(ev->ncnt, cap * sizeof(uint32_t));
    memset(ev->ncnt + ev->cap_counts, 0, (cap - ev->cap_counts) * sizeof(uint32_t));
    ev->cap_counts = cap;
}

/* One more event for item x (a new item enters with count 0 at the end). */
static void pop_inc(rs_eval_t *ev, uint32_t x) {
    grow_counts(ev, 1);
    while (ev->n_items <= x) { /* the state hands out dense indexes in order */
        uint32_t y = ev->n_items++;
        grow_items(ev, ev->n_items);
        ev->order[y] = y, ev->pos[y] = y, ev->cnt[y] = 0;
        if (!ev->ncnt[0]++) ev->bstart[0] = y;
    }
    uint32_t c = ev->cnt[x];
    grow_counts(ev, c + 1);
    uint32_t p = ev->pos[x], q = ev->bstart[c], y = ev->order[q];
    ev->order[q] = x, ev->pos[x] = q; /* swap x to the front of its block */
    ev->order[p] = y, ev->pos[y] = p;
    ev->bstart[c]++;
    ev->ncnt[c]--;
    if (!ev->ncnt[c + 1]++) ev->bstart[c + 1] = q;
    ev->cnt[x] = c + 1;
}

static uint32_t pop_top(rs_eval_t *ev, uint32_t *out, uint32_t k) {
    uint32_t n = 0;
    for (uint32_t i = 0; i < ev->n_items && n < k; i++)
        if (!excluded(ev, ev->order[i])) out[n++] = ev->order[i];
    return n;
}

/* Popularity percentile of item x now: 100 for the most popular. */
static double pop_pct(const rs_eval_t *ev, uint32_t x) {
    if (x >= ev->n_items || ev->n_items < 2) return 100.0;
    return 100.0 * (1.0 - (double)ev->pos[x] / (double)(ev->n_items - 1));
}

/* ---- scoring ---- */

static void account(rs_eval_t *ev, int m, const uint32_t *items, size_t n, uint32_t target) {
    for (size_t i = 0; i < n; i++) {
        ev->expo[m][items[i]]++;
        ev->sum_pct[m] += pop_pct(ev, items[i]);
        if (items[i] == target) {
            ev->hits[m]++;
            ev->sum_rr[m] += 1.0 / (double)(i + 1);
            ev->sum_ndcg[m] += 1.0 / log2((double)i + 2.0);
            ev->trace[ev->n_trace - 1] |= (uint8_t)(1u << m);
        }
    }
    ev->n_rec[m] += n;
}

static void score_target(rs_eval_t *ev, const rs_event_t *e) {
    uint32_t k = (uint32_t)ev->o.k;
    const rs_item_t *ti = rs_state_item_get(ev->st, e->item_id.p, e->item_id.len);
    uint32_t target = ti ? ti->idx : UINT32_MAX; /* a new item cannot be hit */
    if (ev->n_trace == ev->cap_trace) {
        ev->cap_trace = ev->cap_trace ? ev->cap_trace * 2 : 4096;
        ev->trace = rs_xrealloc(ev->trace, ev->cap_trace);
    }
    ev->trace[ev->n_trace++] = 0;
    ev->targets++;

    rs_user_t *u = rs_state_user_get(ev->st, e->user_id.p, e->user_id.len);
    size_t n = 0;
    stamp_user(ev);
    if (u) {
        const char *strategy;
        n = rs_score_user(ev->sc, ev->st, u, ev->list, k, &strategy);
        for (size_t i = 0; i < n; i++) ev->blist[i] = ev->list[i].item;
    }
    account(ev, 0, ev->blist, n, target);
    n = pop_top(ev, ev->blist, k);
    account(ev, 1, ev->blist, n, target);
    ev->stamped = 0;
}

int rs_eval_event(rs_eval_t *ev, const rs_event_t *e, char *errstr, size_t errstr_size) {
    uint64_t idx = ev->events++;
    if (rs_validate_event(e, ev->conf, rs_now_ms(), 0, NULL, 0) != RS_REJ_NONE) {
        ev->rejected++;
        return 0;
    }
    uint64_t uh = rs_hash64(e->user_id.p, e->user_id.len) | 1;
    uint32_t *ord = ordmap_slot(&ev->users, uh);
    int scored = 0;
    if (*ord != UINT32_MAX) {
        ev->cur_user = *ord;
        const rs_item_t *ti = rs_state_item_get(ev->st, e->item_id.p, e->item_id.len);
        if (!ti || !excluded(ev, ti->idx)) {
            if (idx >= ev->o.score_from)
                score_target(ev, e), scored = 1;
            else
                ev->skipped++;
        }
    } else {
        *ord = ev->n_users++;
        ev->cur_user = *ord;
    }

    uint64_t applied = ev->stats.events_applied;
    rs_pipeline_process_event(ev->p, e, 0);
    /* eval scores on demand, not per batch; rows are synced per event like
     * a daemon whose poll batches hold one record (see rs_state_item_top) */
    rs_state_touched_reset(ev->st);
    rs_state_sync(ev->st);
    if (ev->stats.events_applied != applied) {
        const rs_item_t *it = rs_state_item_get(ev->st, e->item_id.p, e->item_id.len);
        seen_add(ev, ev->cur_user, it->idx);
        pop_inc(ev, it->idx);
    }
    if (++ev->since_commit >= ev->o.commit_every) {
        ev->since_commit = 0;
        int rc = rs_pipeline_commit(ev->p, errstr, errstr_size);
        if (rc) return rc;
    }
    return scored;
}

rs_err_t rs_eval_finish(rs_eval_t *ev, char *errstr, size_t errstr_size) {
    ev->since_commit = 0;
    return rs_pipeline_commit(ev->p, errstr, errstr_size);
}

/* Gini of the exposure counts over the whole catalogue (zeros included). */
static double gini(const uint32_t *x, uint32_t n) {
    if (!n) return 0;
    uint32_t *s = rs_xmalloc(n * sizeof(uint32_t));
    memcpy(s, x, n * sizeof(uint32_t));
    rs_sort_u32(s, n);
    double num = 0, tot = 0;
    for (uint32_t i = 0; i < n; i++) {
        num += (2.0 * (i + 1) - n - 1) * s[i];
        tot += s[i];
    }
    free(s);
    return tot > 0 ? num / ((double)n * tot) : 0;
}

void rs_eval_result(rs_eval_t *ev, rs_eval_result_t *r) {
    memset(r, 0, sizeof(*r));
    r->events = ev->events;
    r->rejected = ev->rejected;
    r->targets = ev->targets;
    r->skipped = ev->skipped;
    r->users = ev->n_users;
    r->items = ev->n_items;
    r->k = ev->o.k;
    for (int m = 0; m < 2; m++) {
        rs_eval_model_t *x = m ? &r->popularity : &r->engine;
        double t = ev->targets ? (double)ev->targets : 1;
        x->hits = ev->hits[m];
        x->hr = (double)ev->hits[m] / t;
        x->mrr = ev->sum_rr[m] / t;
        x->ndcg = ev->sum_ndcg[m] / t;
        x->pop_pct = ev->n_rec[m] ? ev->sum_pct[m] / (double)ev->n_rec[m] : 0;
        for (uint32_t i = 0; i < ev->n_items; i++) x->distinct += ev->expo[m][i] > 0;
        x->coverage = ev->n_items ? (double)x->distinct / ev->n_items : 0;
        x->gini = gini(ev->expo[m], ev->n_items);
    }
}

size_t rs_eval_curve(const rs_eval_t *ev, size_t n_points, double *engine, double *popularity) {
    if (!ev->n_trace || !n_points) return 0;
    if (n_points > ev->n_trace) n_points = ev->n_trace;
    for (size_t i = 0; i < n_points; i++) {
        uint64_t a = ev->n_trace * i / n_points, b = ev->n_trace * (i + 1) / n_points, h0 = 0,
                 h1 = 0;
        for (uint64_t j = a; j < b; j++) h0 += ev->trace[j] & 1, h1 += ev->trace[j] >> 1 & 1;
        engine[i] = b > a ? (double)h0 / (double)(b - a) : 0;
        popularity[i] = b > a ? (double)h1 / (double)(b - a) : 0;
    }
    return n_points;
}

size_t rs_eval_recommend(rs_eval_t *ev, const char *user, size_t len, const char **out, size_t k) {
    rs_user_t *u = rs_state_user_get(ev->st, user, len);
    uint32_t ord = ordmap_get(&ev->users, rs_hash64(user, len) | 1);
    if (!u || ord == UINT32_MAX) return 0;
    ev->cur_user = ord;
    if (k > (size_t)ev->o.k) k = (size_t)ev->o.k;
    const char *strategy;
    stamp_user(ev);
    size_t n = rs_score_user(ev->sc, ev->st, u, ev->list, k, &strategy);
    ev->stamped = 0;
    for (size_t i = 0; i < n; i++) out[i] = rs_state_item_by_idx(ev->st, ev->list[i].item)->id;
    return n;
}
