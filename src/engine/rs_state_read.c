/* rs_state_read.c -- the read side of the state: lookups and counters,
 * popularity and trending scores, neighbour top-N lists, popular lists,
 * profile tags, the loaded-user cursor, and the exact-state dump.
 *
 * Reads that depend on co-occurrence rows sync the buffered pair increments
 * first (rs_state__rows_sync), so a reader never sees a half-applied batch.
 * Top-N lists are rebuilt in the update path (rs_state.c, top_stale), never
 * because someone read them, except for a row loaded at open that has no
 * list yet: the lists then depend on the events only, and eval and the
 * daemon agree. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rs_state_int.h"

/* ------------------------------------------------------------------ read */

rs_item_t *rs_state_item_by_idx(rs_state_t *st, uint32_t idx) {
    return idx < st->n_items ? st->items[idx] : NULL;
}

rs_item_t *rs_state_item_get(rs_state_t *st, const char *id, size_t len) {
    return rs_strmap_get(&st->items_by_id, id, len, rs_hash64(id, len));
}

uint32_t rs_state_item_count(const rs_state_t *st) {
    return st->n_items;
}
uint64_t rs_state_user_cached(const rs_state_t *st) {
    return st->n_users;
}
uint64_t rs_state_cooc_entries(const rs_state_t *st) {
    return st->cooc_entries;
}
void rs_state_sync(rs_state_t *st) {
    rs_state__rows_sync(st);
}
uint64_t rs_state_total_weight(const rs_state_t *st) {
    return st->total_weight;
}
int64_t rs_state_event_now(const rs_state_t *st) {
    return st->event_now;
}
uint64_t rs_state_bytes(rs_state_t *st) {
    return rs_rocks_state_bytes(st->db);
}

double rs_state_item_popularity(const rs_state_t *st, const rs_item_t *it, int64_t now) {
    if (it->pop_log == -INFINITY) return 0.0;
    return exp2(it->pop_log - (st->halflife > 0 ? (double)now / st->halflife : 0.0));
}

double rs_state_item_trending(const rs_state_t *st, const rs_item_t *it, int64_t now) {
    if (it->trend_log == -INFINITY || it->pop_log == -INFINITY) return 0.0;
    /* an item younger than the long window has no usual rate to compare with */
    if (st->halflife > 0 && (double)(now - it->first_ts) < st->halflife) return 0.0;
    /* rates: decayed sum / half-life, over the short and the long window */
    double hs = st->trend_halflife, hl = st->halflife > 0 ? st->halflife : 0;
    double ls = it->trend_log - (double)now / hs - log2(hs);
    double ll = hl > 0 ? it->pop_log - (double)now / hl - log2(hl)
                       : it->pop_log - log2((double)(now - it->first_ts) + hs);
    return exp2(ls - ll);
}

/* Rebuilds an item's top-N list from its whole row. */
void rs_state__top_rebuild(rs_state_t *st, rs_item_t *it) {
    uint32_t cap = (uint32_t)st->conf->rec_neighbors;
    if (!it->top) it->top = rs_xmalloc((cap ? cap : 1) * sizeof(rs_nbr_t));
    /* min-heap of the best `cap` (root = worst kept) */
    rs_nbr_t *h = it->top;
    uint32_t hn = 0;
    for (uint32_t i = 0; i < it->nb_cap && cap; i++) {
        if (it->nb[i].key == NB_EMPTY) continue;
        it->nb[i].delta &= ~NB_IN_TOP; /* set again below for those kept */
        rs_nbr_t e = {it->nb[i].key, pair_sim(st, it, it->nb[i].key, it->nb[i].cnt), it->nb[i].cnt};
        if (hn < cap) {
            uint32_t j = hn++;
            while (j && nbr_better(&h[(j - 1) / 2], &e)) h[j] = h[(j - 1) / 2], j = (j - 1) / 2;
            h[j] = e;
        } else if (nbr_better(&e, &h[0])) {
            uint32_t j = 0;
            for (;;) {
                uint32_t l = 2 * j + 1, r = l + 1, m = j;
                const rs_nbr_t *mv = &e;
                if (l < hn && nbr_better(mv, &h[l])) m = l, mv = &h[l];
                if (r < hn && nbr_better(mv, &h[r])) m = r;
                if (m == j) break;
                h[j] = h[m];
                j = m;
            }
            h[j] = e;
        }
    }
    /* heap -> best-first order in place (heapsort; the root is the worst) */
    for (uint32_t end = hn; end > 1; end--) {
        rs_nbr_t worst = h[0], x = h[end - 1];
        uint32_t j = 0, m;
        for (;;) {
            uint32_t l = 2 * j + 1, r = l + 1;
            const rs_nbr_t *mv = &x;
            m = j;
            if (l < end - 1 && nbr_better(mv, &h[l])) m = l, mv = &h[l];
            if (r < end - 1 && nbr_better(mv, &h[r])) m = r;
            if (m == j) break;
            h[j] = h[m];
            j = m;
        }
        h[j] = x;
        h[end - 1] = worst;
    }
    for (uint32_t i = 0; i < hn; i++) row_find(it, h[i].item)->delta |= NB_IN_TOP;
    it->top_n = hn;
    it->top_weight = (double)it->weight;
}

const rs_nbr_t *rs_state_item_top(rs_state_t *st, rs_item_t *it, uint32_t *n) {
    rs_state__rows_sync(st);
    if (!it->top && it->nb_n) rs_state__top_rebuild(st, it); /* a row loaded at open */
    *n = it->top_n;
    return it->top;
}

static int pop_better(const rs_state_t *st, uint32_t a, uint32_t b) {
    return pop_rank_better(st, a, b);
}

const uint32_t *rs_state_category_popular(rs_state_t *st, uint32_t category, uint32_t *n) {
    if (category >= st->cap_catpop) {
        *n = 0;
        return NULL;
    }
    *n = st->catpop[category].n;
    return st->catpop[category].v;
}

static const rs_state_t *g_sort_st; /* qsort has no context argument in C11 */
static int cmp_pop(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return pop_better(g_sort_st, x, y) ? -1 : pop_better(g_sort_st, y, x) ? 1 : 0;
}

const uint32_t *rs_state_popular(rs_state_t *st, uint32_t *n) {
    if (st->n_pop_stale) {
        /* untouched items keep their rank (see DESIGN), so the new list is the
         * best of (old list + touched items) */
        uint32_t cap = (uint32_t)st->conf->rec_popular;
        uint32_t *cand = rs_xmalloc((st->n_popular + st->n_pop_stale) * sizeof(uint32_t));
        uint32_t nc = 0;
        for (uint32_t i = 0; i < st->n_popular; i++)
            if (!st->pop_stale_flag[st->popular[i]]) cand[nc++] = st->popular[i];
        for (uint32_t i = 0; i < st->n_pop_stale; i++) {
            if (st->items[st->pop_stale[i]]->pop_log != -INFINITY) cand[nc++] = st->pop_stale[i];
            st->pop_stale_flag[st->pop_stale[i]] = 0;
        }
        st->n_pop_stale = 0;
        g_sort_st = st;
        qsort(cand, nc, sizeof(uint32_t), cmp_pop);
        if (nc > cap) nc = cap;
        free(st->popular);
        st->popular = cand;
        st->n_popular = nc;
    }
    *n = st->n_popular;
    return st->popular;
}

/* ------------------------------------------------------------------ dump */

static int cmp_item_id(const void *a, const void *b) {
    const rs_item_t *x = *(rs_item_t *const *)a, *y = *(rs_item_t *const *)b;
    size_t n = x->id_len < y->id_len ? x->id_len : y->id_len;
    int c = memcmp(x->id, y->id, n);
    return c ? c : (x->id_len > y->id_len) - (x->id_len < y->id_len);
}

static void dump_counts(FILE *out, const uint32_t *c) {
    for (int i = 0; i < RS_EV__COUNT; i++) fprintf(out, "%s%u", i ? "," : "", c[i]);
}

rs_err_t rs_state_dump(rs_state_t *st, FILE *out, char *errstr, size_t errstr_size) {
    rs_state__rows_sync(st);
    fprintf(out, "# recstream state dump v1\n");
    for (size_t i = 0; i < st->n_offsets; i++)
        fprintf(out, "offset %s %d %" PRId64 "\n", st->offsets[i].topic, st->offsets[i].partition,
                st->offsets[i].next);
    rs_item_t **sorted = rs_xmalloc((st->n_items ? st->n_items : 1) * sizeof(*sorted));
    if (st->n_items) memcpy(sorted, st->items, st->n_items * sizeof(*sorted));
    qsort(sorted, st->n_items, sizeof(*sorted), cmp_item_id);
    uint32_t *rank = rs_xmalloc((st->n_items ? st->n_items : 1) * sizeof(uint32_t));
    for (uint32_t i = 0; i < st->n_items; i++) rank[sorted[i]->idx] = i;
    uint32_t *nb = NULL;
    size_t nb_cap = 0;
    for (uint32_t i = 0; i < st->n_items; i++) {
        const rs_item_t *it = sorted[i];
        fprintf(out, "item %.*s counts=", (int)it->id_len, it->id);
        dump_counts(out, it->counts);
        fprintf(out, " weight=%" PRIu64 " first=%" PRId64 " last=%" PRId64 "\n", it->weight,
                it->first_ts, it->last_ts);
        if (it->nb_n > nb_cap) nb_cap = it->nb_n, nb = rs_xrealloc(nb, nb_cap * sizeof(uint32_t));
        size_t n = 0;
        for (uint32_t j = 0; j < it->nb_cap; j++)
            if (it->nb[j].key != NB_EMPTY) nb[n++] = rank[it->nb[j].key];
        rs_sort_u32(nb, n);
        for (size_t j = 0; j < n; j++) {
            const rs_item_t *b = sorted[nb[j]];
            fprintf(out, "cooc %.*s %.*s %u\n", (int)it->id_len, it->id, (int)b->id_len, b->id,
                    row_find(it, b->idx)->cnt);
        }
    }
    free(nb);
    free(rank);
    free(sorted);

    rs_user_t *u = rs_state__user_alloc(st->conf, "", 0);
    rs_rocks_iter_t *iter = rs_rocks_iter_new(st->db, RS_CF_USERS, NULL, 0);
    for (; rs_rocks_iter_valid(iter); rs_rocks_iter_next(iter)) {
        size_t kl, vl;
        const char *k = rs_rocks_iter_key(iter, &kl);
        const unsigned char *v = rs_rocks_iter_value(iter, &vl);
        if (rs_state__user_decode(st, u, v, vl)) {
            fprintf(out, "user %.*s CORRUPT\n", (int)kl, k);
            continue;
        }
        if (expired_at(st, u, st->event_now)) continue; /* gone, record not yet compacted */
        fprintf(out, "user %.*s counts=", (int)kl, k);
        dump_counts(out, u->counts);
        fprintf(out,
                " first=%" PRId64 " last=%" PRId64
                " sessions=%u purchases=%u monetary=%.2f recent=",
                u->first_ts, u->last_ts, u->sessions, u->purchases, u->monetary);
        for (int j = 0; j < u->n_recent; j++) {
            const rs_item_t *ri = rs_state_item_by_idx(st, u->recent[j].item);
            fprintf(out, "%s%.*s:%s:%" PRId64, j ? "," : "", ri ? (int)ri->id_len : 1,
                    ri ? ri->id : "?", rs_evtype_name((rs_evtype_t)u->recent[j].type),
                    u->recent[j].ts);
        }
        fprintf(out, " purchased=");
        for (int j = 0; j < u->n_purchased; j++) {
            const rs_item_t *ri = rs_state_item_by_idx(st, u->purchased[j]);
            fprintf(out, "%s%.*s", j ? "," : "", ri ? (int)ri->id_len : 1, ri ? ri->id : "?");
        }
        fputc('\n', out);
    }
    rs_state__user_free(u);
    int rc = rs_rocks_iter_status(iter, errstr, errstr_size);
    rs_rocks_iter_destroy(iter);
    return rc;
}

double rs_state_affinity_share(const rs_affinity_t *a, size_t n, size_t i) {
    double mx = -INFINITY, tot = 0;
    if (i >= n || !a[i].ix) return 0;
    for (size_t j = 0; j < n; j++)
        if (a[j].ix && a[j].log_w > mx) mx = a[j].log_w;
    for (size_t j = 0; j < n; j++)
        if (a[j].ix) tot += exp2(a[j].log_w - mx);
    return exp2(a[i].log_w - mx) / tot;
}

static void add_tag(char *buf, size_t size, size_t *len, size_t *n, const char *t, size_t tl) {
    if (*len + tl + 2 > size) return;
    if (*n) buf[(*len)++] = ',';
    memcpy(buf + *len, t, tl);
    *len += tl;
    buf[*len] = 0;
    (*n)++;
}
#define TAG(lit) add_tag(buf, size, &len, &n, lit, sizeof(lit) - 1)

size_t rs_state_user_tags(const rs_state_t *st, const rs_user_t *u, char *buf, size_t size) {
    size_t len = 0, n = 0;
    if (!size) return 0;
    buf[0] = 0;
    /* likes: the strongest category if it holds at least 30% of the affinity */
    size_t best = 0;
    for (size_t i = 1; i < RS_PROFILE_CATS; i++)
        if (u->cat_aff[i].ix && u->cat_aff[i].log_w > u->cat_aff[best].log_w) best = i;
    if (u->cat_aff[best].ix && rs_state_affinity_share(u->cat_aff, RS_PROFILE_CATS, best) >= 0.3) {
        uint32_t cl;
        const char *cn = rs_state_name(st, u->cat_aff[best].ix, &cl);
        char t[128];
        int k = snprintf(t, sizeof(t), "likes:%.*s", (int)(cl > 100 ? 100 : cl), cn);
        add_tag(buf, size, &len, &n, t, (size_t)k);
    }
    double ref = rs_state_mean_item_price(st);
    if (u->price_n >= 3 && ref > 0) {
        double mean = u->price_sum / u->price_n;
        if (mean >= 1.5 * ref) TAG("price:premium");
        if (mean <= ref / 1.5) TAG("price:budget");
    }
    uint32_t all = 0, dev = 0;
    for (int i = 0; i < RS_TOD__COUNT; i++) all += u->tod[i];
    for (int i = 0; i < RS_DEV__COUNT; i++) dev += u->device[i];
    if (all >= 5 && u->tod[RS_TOD_NIGHT] * 10 >= all * 4) TAG("night-owl");
    if (dev >= 5 && u->device[RS_DEV_MOBILE] * 10 >= dev * 6) TAG("mobile-first");
    if (dev >= 5 && u->device[RS_DEV_APP] * 10 >= dev * 6) TAG("app-user");
    if (u->purchases >= 3 && ref > 0 && u->monetary >= 2 * ref * u->purchases) TAG("big-spender");
    if (u->counts[RS_EV_VIEW] >= 20 && !u->counts[RS_EV_CART] && !u->purchases) TAG("browser");
    return n;
}
#undef TAG

rs_user_t *rs_state_user_next(rs_state_t *st, size_t *cursor) {
    while (*cursor < st->users_by_id.cap) {
        rs_user_t *u = st->users_by_id.e[(*cursor)++].v;
        if (u) return u;
    }
    return NULL;
}
