/* rs_state.c -- in-memory working set + batched RocksDB persistence.
 *
 * DESIGN
 * Every event mutates memory only: the user's profile, the item's counts and
 * popularity, and the co-occurrence rows of the item and of the user's recent
 * items. Mutations mark objects dirty; rs_state_commit() turns all dirty
 * objects, the co-occurrence deltas, the new dedup ids and the consumed
 * offsets into ONE WriteBatch. A crash before the write loses the batch and
 * its offsets together, so the consumer re-reads exactly those events; a
 * crash after it loses nothing (SPEC F7).
 *
 * Items get a dense uint32 index at first sight (persisted with the item, in
 * the same batch as anything that refers to it), so co-occurrence rows and
 * recent-item rings hold 4-byte ids instead of strings.
 *
 * KEY ENCODING (all integers little-endian unless noted)
 *   cf      key                          value
 *   users   user id bytes                u8 ver=2, u32 counts[8], i64 first_ts, i64 last_ts,
 *                                        u32 sessions, u64 session_hash, u32 purchases,
 *                                        f64 monetary, u16 n, n x (u32 item, u8 type, i64 ts),
 *                                        u16 m, m x (u32 item, i64 ts) (ver=1: no ts),
 *                                        i64 rec_version, u64 rec_hash, i64 rec_emit_ms
 *   items   item id bytes                u8 ver=2, u32 idx, u32 counts[8], u64 weight,
 *                                        f64 pop_log, i64 first_ts, i64 last_ts,
 *                                        u8 flags, f64 price, u64 pop_seq, f64 trend_log,
 *                                        3 x (u16 len, bytes):
 *                                        category, brand, attributes (ver=1: none)
 *   cooc    u32 BE item idx              sparse row: (u32 nbr idx, u32 count)* sorted by idx;
 *                                        merge operator sums rows (one operand per item per batch)
 *   meta    'o' u32 BE partition topic   i64 next offset to consume
 *   dedup   u64 BE chunk seq             u64 event-id hashes of one committed batch
 *
 * Popularity is kept in the log domain: pop_log = log2(sum w_i * 2^(t_i/h))
 * for events of weight w_i at event time t_i (h = half-life). The decayed
 * popularity at time T is 2^(pop_log - T/h); ranking by pop_log is the same
 * at every T, so the popular list only changes when an item is touched, and
 * late events need no special case.
 *
 * Deleting a user (F19) drops the profile from memory and puts a delete
 * into the open WriteBatch; the id stays on a small "deleted" list until
 * that batch is written, so a load in between cannot resurrect the last
 * committed profile. Co-occurrence and item counts are aggregates and stay.
 * Idle users expire the same way (state.user.ttl.ms; rs_state_ttl.c has
 * the rule, the event-time watermark and the RocksDB compaction filter).
 * With privacy.user.id.hash every user id is replaced by its keyed hash
 * (user_key) before it is looked up or stored, so no raw id reaches memory,
 * RocksDB or an output.
 *
 * The dump (rs_state_dump) prints exact fields only: counts, rows, profiles
 * and offsets are the same whatever the batching; pop_log (float sums in
 * arrival order across users) and emit bookkeeping (versions depend on when
 * lists were scored) are left out.
 *
 * FILES. This file has items, co-occurrence rows, names, popularity lists,
 * apply and open/close; rs_state_user.c the user profiles in memory (load,
 * delete, expiry hooks, id hashing); rs_state_codec.c the stored records;
 * rs_state_commit.c offsets, dedup and the WriteBatch; rs_state_read.c the
 * read side and the dump; rs_state_ttl.c retention. struct rs_state and the
 * shared helpers are in rs_state_int.h. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "recstream/rs_crypto.h"
#include "recstream/rs_log.h"
#include "recstream/rs_rocks.h"
#include "recstream/rs_state.h"
#include "rs_state_int.h"
#include "rs_state_map.h"

/* ------------------------------------------------------------------ items */

static void row_grow(rs_item_t *it) {
    uint32_t ncap = it->nb_cap ? it->nb_cap * 2 : 8;
    rs_nbent_t *ne = rs_xmalloc(ncap * sizeof(rs_nbent_t));
    for (uint32_t i = 0; i < ncap; i++) ne[i].key = NB_EMPTY;
    for (uint32_t i = 0; i < it->nb_cap; i++) {
        if (it->nb[i].key == NB_EMPTY) continue;
        uint32_t j = nb_slot(it->nb[i].key, ncap);
        while (ne[j].key != NB_EMPTY) j = (j + 1) & (ncap - 1);
        ne[j] = it->nb[i];
    }
    free(it->nb);
    it->nb = ne;
    it->nb_cap = ncap;
}

static void set_weight(rs_state_t *st, rs_item_t *it) {
    if (it->idx >= st->cap_w) {
        uint32_t ncap = st->cap_w ? st->cap_w : 1024;
        while (ncap <= it->idx) ncap *= 2;
        st->w = rs_xrealloc(st->w, ncap * sizeof(double));
        st->wp = rs_xrealloc(st->wp, ncap * sizeof(double));
        memset(st->w + st->cap_w, 0, (ncap - st->cap_w) * sizeof(double));
        memset(st->wp + st->cap_w, 0, (ncap - st->cap_w) * sizeof(double));
        st->hid = rs_xrealloc(st->hid, ncap);
        memset(st->hid + st->cap_w, 0, ncap - st->cap_w);
        st->cap_w = ncap;
    }
    st->hid[it->idx] = (it->flags & RS_ITEM_HIDDEN) != 0;
    double w = (double)it->weight, al = st->conf->rec_alpha;
    st->w[it->idx] = w;
    /* the pair scale folded in: similarities read in pair units (<= 1 when
     * every user of the item had the other one right next to it) */
    it->wpow =
        w > 0 ? pow(w, al) * (st->conf->cooc_pair_weight == RS_PAIRW_POSITION ? POS_SCALE : 1) : 0;
    st->wp[it->idx] = w > 0 ? pow(w, 1.0 - al) : 0;
}

float rs_state_sim(const rs_state_t *st, const rs_item_t *a, uint32_t b, uint32_t cnt) {
    return pair_sim(st, a, b, cnt);
}

const uint8_t *rs_state_hidden_map(const rs_state_t *st) {
    return st->hid;
}

const double *rs_state_wpow(const rs_state_t *st) {
    return st->conf->rec_similarity == RS_SIM_LLR ? NULL : st->wp;
}

uint32_t rs_state_pair_scale(const rs_state_t *st) {
    return st->conf->cooc_pair_weight == RS_PAIRW_POSITION ? POS_SCALE : 1;
}

/* Keeps an item's top-N list current as one pair count grows, without
 * rescanning the row: the pair's new similarity either enters the list,
 * moves within it, or cannot matter. Other entries drift as the item's own
 * weight grows; row_add() rebuilds the list from the row once that weight
 * has grown by a quarter, so the drift stays bounded. */
static void top_update(rs_state_t *st, rs_item_t *it, rs_nbent_t *ent) {
    uint32_t n = it->top_n, cap = (uint32_t)st->conf->rec_neighbors;
    rs_nbr_t *t = it->top, e = {ent->key, pair_sim(st, it, ent->key, ent->cnt), ent->cnt};
    if (!cap) return;
    uint32_t j = n;
    if (ent->delta & NB_IN_TOP) /* listed: find it (the flag spares most searches) */
        for (j = 0; j < n && t[j].item != e.item; j++) {
        }
    if (j == n) { /* not listed: enters if it beats the last, which then leaves */
        if (n == cap && !nbr_better(&e, &t[n - 1])) return;
        if (n < cap)
            it->top_n = ++n;
        else
            row_find(it, t[n - 1].item)->delta &= ~NB_IN_TOP;
        j = n - 1;
        ent->delta |= NB_IN_TOP;
    }
    t[j] = e;
    while (j > 0 && nbr_better(&t[j], &t[j - 1])) {
        rs_nbr_t x = t[j - 1];
        t[j - 1] = t[j], t[j] = x, j--;
    }
    while (j + 1 < n && nbr_better(&t[j + 1], &t[j])) {
        rs_nbr_t x = t[j + 1];
        t[j + 1] = t[j], t[j] = x, j++;
    }
}

/* Rebuilding happens in the update path (the first pair, then whenever the
 * item's weight has grown by a quarter), never at read time: the lists are
 * then a function of the events and of where rows were synced, not of who
 * read what when, so eval and the daemon agree for the same events. */
static inline int top_stale(const rs_item_t *it) {
    return !it->top || (double)it->weight > it->top_weight * 1.25;
}

static void mark_item_dirty(rs_state_t *st, rs_item_t *it) {
    if (it->in_dirty_list) return;
    it->in_dirty_list = 1;
    GROW(st->dirty_items, st->n_dirty_items, st->cap_dirty_items);
    st->dirty_items[st->n_dirty_items++] = it->idx;
}

/* Adds cnt to the (it, nbr) entry; delta != 0 records it for the next commit. */
static void row_add(rs_state_t *st, rs_item_t *it, uint32_t nbr, uint32_t cnt, int delta) {
    if ((it->nb_n + 1) * 4 > it->nb_cap * 3) row_grow(it);
    uint32_t j = nb_slot(nbr, it->nb_cap);
    rs_nbent_t *e;
    while ((e = &it->nb[j])->key != NB_EMPTY && e->key != nbr) j = (j + 1) & (it->nb_cap - 1);
    if (e->key == NB_EMPTY) {
        e->key = nbr;
        e->cnt = 0;
        e->delta = 0;
        it->nb_n++;
        st->cooc_entries++;
    }
    e->cnt = e->cnt > UINT32_MAX - cnt ? UINT32_MAX : e->cnt + cnt;
    if (!delta) return;
    uint32_t d = e->delta & NB_DELTA_MAX;
    if (d == 0) {
        GROW(it->dirty_nb, it->dirty_n, it->dirty_cap);
        it->dirty_nb[it->dirty_n++] = nbr;
    }
    d = d > NB_DELTA_MAX - cnt ? NB_DELTA_MAX : d + cnt;
    e->delta = (e->delta & NB_IN_TOP) | d;
    mark_item_dirty(st, it);
    if (top_stale(it))
        rs_state__top_rebuild(st, it);
    else
        top_update(st, it, e);
}

/* An interned name: starts like rs_idobj_t so the strmap can hold it. */
typedef struct rs_name {
    char *id;
    uint32_t id_len;
    uint32_t ix;
} rs_name_t;

/* Interns a category/brand name; "" is 0. */
uint32_t rs_state__name_ix(rs_state_t *st, const char *s, size_t len) {
    if (!st->n_names) { /* slot 0 = unknown */
        GROW(st->names, st->n_names, st->cap_names);
        st->names[st->n_names++] = NULL;
    }
    if (!len) return 0;
    uint64_t h = rs_hash64(s, len);
    rs_name_t *o = rs_strmap_get(&st->names_by_id, s, len, h);
    if (o) return o->ix;
    o = rs_xmalloc(sizeof(*o));
    o->id = rs_xstrndup(s, len);
    o->id_len = (uint32_t)len;
    o->ix = st->n_names;
    GROW(st->names, st->n_names, st->cap_names);
    st->names[st->n_names] = o;
    rs_strmap_put(&st->names_by_id, h, o);
    return st->n_names++;
}

const char *rs_state_name(const rs_state_t *st, uint32_t ix, uint32_t *len) {
    if (!ix || ix >= st->n_names) {
        if (len) *len = 0;
        return "";
    }
    if (len) *len = st->names[ix]->id_len;
    return st->names[ix]->id;
}

uint32_t rs_state_name_lookup(const rs_state_t *st, const char *s, size_t len) {
    if (!len) return 0;
    const rs_name_t *o = rs_strmap_get(&st->names_by_id, s, len, rs_hash64(s, len));
    return o ? o->ix : 0;
}

uint32_t rs_state_name_count(const rs_state_t *st) {
    return st->n_names;
}

static int is_blocked(const rs_state_t *st, const char *id, size_t len) {
    return st->blocked.n && rs_u64set_has(&st->blocked, rs_hash64(id, len) | 1);
}

static void item_set_price(rs_state_t *st, rs_item_t *it, double price) {
    if (it->price >= 0) st->item_price_sum -= it->price, st->item_price_n--;
    it->price = price;
    if (price >= 0) st->item_price_sum += price, st->item_price_n++;
}

double rs_state_mean_item_price(const rs_state_t *st) {
    return st->item_price_n ? st->item_price_sum / (double)st->item_price_n : 0;
}

static rs_item_t *item_new(rs_state_t *st, const char *id, size_t len, uint64_t h) {
    rs_item_t *it = rs_xcalloc(1, sizeof(*it));
    it->id = rs_xstrndup(id, len);
    it->id_len = (uint32_t)len;
    it->idx = st->n_items;
    it->pop_log = -INFINITY;
    it->trend_log = -INFINITY;
    it->price = -1;
    if (is_blocked(st, id, len)) it->flags |= RS_ITEM_BLOCKED;
    GROW(st->items, st->n_items, st->cap_items);
    st->items[st->n_items++] = it;
    rs_strmap_put(&st->items_by_id, h, it);
    set_weight(st, it);
    return it;
}

static void item_free(rs_item_t *it) {
    if (!it) return;
    free(it->id);
    free(it->nb);
    free(it->dirty_nb);
    free(it->top);
    free(it->attrs);
    free(it);
}

/* Moves item it up its category's list (or in, if it now qualifies). */
static void catpop_touch(rs_state_t *st, rs_item_t *it) {
    uint32_t cat = it->category, cap = (uint32_t)st->conf->rec_popular;
    if (!cat || !cap || !it->weight) return;
    st->catpop = rs_xgrow_zeroed(st->catpop, &st->cap_catpop, cat, sizeof(*st->catpop), 64);
    struct catpop *l = &st->catpop[cat];
    uint32_t j = l->n;
    if (it->in_catpop) /* most items are not listed: no scan for them */
        for (j = 0; j < l->n; j++)
            if (l->v[j] == it->idx) break;
    if (j == l->n) {
        if (l->n < cap) {
            if (!l->v) l->v = rs_xmalloc(cap * sizeof(uint32_t));
            j = l->n++;
        } else if (pop_rank_better(st, it->idx, l->v[l->n - 1])) {
            j = l->n - 1;
            st->items[l->v[j]]->in_catpop = 0;
        } else {
            return;
        }
        l->v[j] = it->idx;
        it->in_catpop = 1;
    }
    for (; j > 0 && pop_rank_better(st, l->v[j], l->v[j - 1]); j--) {
        uint32_t x = l->v[j - 1];
        l->v[j - 1] = l->v[j], l->v[j] = x;
    }
}

/* An item changes category: out of the old list, into the new one. */
static void catpop_move(rs_state_t *st, rs_item_t *it, uint32_t cat) {
    if (it->category && it->category < st->cap_catpop) {
        struct catpop *l = &st->catpop[it->category];
        for (uint32_t j = 0; it->in_catpop && j < l->n; j++)
            if (l->v[j] == it->idx) {
                memmove(&l->v[j], &l->v[j + 1], (l->n - j - 1) * sizeof(uint32_t));
                l->n--;
                break;
            }
        it->in_catpop = 0;
    }
    it->category = cat;
    catpop_touch(st, it);
}

static void pop_touch(rs_state_t *st, rs_item_t *it) {
    if (it->idx >= st->cap_pop_flag) {
        uint32_t ncap = st->cap_pop_flag ? st->cap_pop_flag : 1024;
        while (ncap <= it->idx) ncap *= 2;
        st->pop_stale_flag = rs_xrealloc(st->pop_stale_flag, ncap);
        memset(st->pop_stale_flag + st->cap_pop_flag, 0, ncap - st->cap_pop_flag);
        st->cap_pop_flag = ncap;
    }
    if (st->pop_stale_flag[it->idx]) return;
    st->pop_stale_flag[it->idx] = 1;
    GROW(st->pop_stale, st->n_pop_stale, st->cap_pop_stale);
    st->pop_stale[st->n_pop_stale++] = it->idx;
}

/* ------------------------------------------------------------------ open */

static rs_err_t load_all(rs_state_t *st, char *errstr, size_t errstr_size) {
    int rc;
    /* items */
    rs_rocks_iter_t *it = rs_rocks_iter_new(st->db, RS_CF_ITEMS, NULL, 0);
    for (; rs_rocks_iter_valid(it); rs_rocks_iter_next(it)) {
        size_t kl, vl;
        const char *k = rs_rocks_iter_key(it, &kl);
        const unsigned char *v = rs_rocks_iter_value(it, &vl);
        rs_item_t tmp = {0};
        int bad = rs_state__item_decode(st, &tmp, v, vl) != 0;
        if (!bad && tmp.idx >= st->cap_items) {
            uint32_t ncap = st->cap_items ? st->cap_items : 64;
            while (ncap <= tmp.idx) ncap *= 2;
            st->items = rs_xrealloc(st->items, ncap * sizeof(*st->items));
            memset(st->items + st->cap_items, 0, (ncap - st->cap_items) * sizeof(*st->items));
            st->cap_items = ncap;
        }
        if (bad || st->items[tmp.idx]) {
            free(tmp.attrs);
            rs_seterr(errstr, errstr_size, RS_ESTATE_IO, "corrupt item record %.*s", (int)kl, k);
            rs_rocks_iter_destroy(it);
            return RS_ESTATE_IO;
        }
        rs_item_t *x = rs_xcalloc(1, sizeof(*x));
        *x = tmp;
        x->id = rs_xstrndup(k, kl);
        x->id_len = (uint32_t)kl;
        if (is_blocked(st, k, kl)) x->flags |= RS_ITEM_BLOCKED;
        if (x->price >= 0) st->item_price_sum += x->price, st->item_price_n++;
        st->items[x->idx] = x;
        if (x->idx >= st->n_items) st->n_items = x->idx + 1;
        rs_strmap_put(&st->items_by_id, rs_hash64(k, kl), x);
        st->total_weight += x->weight;
        set_weight(st, x);
        if (x->last_ts > st->event_now) st->event_now = x->last_ts;
    }
    rc = rs_rocks_iter_status(it, errstr, errstr_size);
    rs_rocks_iter_destroy(it);
    if (rc) return rc;
    for (uint32_t i = 0; i < st->n_items; i++)
        if (!st->items[i])
            return rs_seterr(errstr, errstr_size, RS_ESTATE_IO, "item index %u missing", i);

    /* co-occurrence rows */
    it = rs_rocks_iter_new(st->db, RS_CF_COOC, NULL, 0);
    for (; rs_rocks_iter_valid(it); rs_rocks_iter_next(it)) {
        size_t kl, vl;
        const unsigned char *k = rs_rocks_iter_key(it, &kl);
        const unsigned char *v = rs_rocks_iter_value(it, &vl);
        uint32_t a = kl == 4
                         ? (uint32_t)k[0] << 24 | (uint32_t)k[1] << 16 | (uint32_t)k[2] << 8 | k[3]
                         : NB_EMPTY;
        if (a >= st->n_items || vl % 8) {
            rs_rocks_iter_destroy(it);
            return rs_seterr(errstr, errstr_size, RS_ESTATE_IO, "corrupt co-occurrence row");
        }
        for (size_t o = 0; o < vl; o += 8) {
            uint32_t b = rs_get_u32(v + o);
            if (b >= st->n_items) continue;
            row_add(st, st->items[a], b, rs_get_u32(v + o + 4), 0);
        }
    }
    rc = rs_rocks_iter_status(it, errstr, errstr_size);
    rs_rocks_iter_destroy(it);
    if (rc) return rc;

    /* offsets */
    it = rs_rocks_iter_new(st->db, RS_CF_META, "o", 1);
    for (; rs_rocks_iter_valid(it); rs_rocks_iter_next(it)) {
        size_t kl, vl;
        const unsigned char *k = rs_rocks_iter_key(it, &kl);
        const unsigned char *v = rs_rocks_iter_value(it, &vl);
        if (kl < 5 || vl != 8) continue;
        st->offsets = rs_xrealloc(st->offsets, (st->n_offsets + 1) * sizeof(*st->offsets));
        rs_offset_t *o = &st->offsets[st->n_offsets++];
        o->partition =
            (int32_t)((uint32_t)k[1] << 24 | (uint32_t)k[2] << 16 | (uint32_t)k[3] << 8 | k[4]);
        o->topic = rs_xstrndup((const char *)k + 5, kl - 5);
        o->next = (int64_t)rs_get_u64(v);
        o->dirty = 0;
    }
    rc = rs_rocks_iter_status(it, errstr, errstr_size);
    rs_rocks_iter_destroy(it);
    if (rc) return rc;

    /* dedup window, oldest chunk first */
    it = rs_rocks_iter_new(st->db, RS_CF_DEDUP, NULL, 0);
    for (; rs_rocks_iter_valid(it); rs_rocks_iter_next(it)) {
        size_t kl, vl;
        const unsigned char *k = rs_rocks_iter_key(it, &kl);
        const unsigned char *v = rs_rocks_iter_value(it, &vl);
        if (kl != 8 || vl % 8) continue;
        GROW(st->chunks, st->n_chunks, st->cap_chunks);
        rs_chunk_t *c = &st->chunks[st->n_chunks++];
        c->seq = rs_get_be64(k);
        c->n = (uint32_t)(vl / 8);
        c->h = rs_xmalloc(vl);
        for (uint32_t i = 0; i < c->n; i++) {
            c->h[i] = rs_get_u64(v + 8 * i);
            rs_u64set_add(&st->dedup, c->h[i]);
        }
        st->chunk_total += c->n;
        st->next_chunk_seq = c->seq + 1;
    }
    rc = rs_rocks_iter_status(it, errstr, errstr_size);
    rs_rocks_iter_destroy(it);
    if (rc) return rc;

    for (uint32_t i = 0; i < st->n_items; i++) {
        pop_touch(st, st->items[i]);
        catpop_touch(st, st->items[i]);
        if (st->items[i]->pop_seq > st->pop_seq) st->pop_seq = st->items[i]->pop_seq;
    }
    return RS_OK;
}

static rs_err_t state_open(rs_state_t **out, const rs_conf_t *conf, int ro, char *errstr,
                           size_t errstr_size) {
    rs_state_t *st = rs_xcalloc(1, sizeof(*st));
    st->conf = conf;
    st->read_only = ro;
    st->halflife = (double)conf->popularity_halflife_ms;
    st->trend_halflife = (double)conf->trending_halflife_ms;
    rs_rocks_opts_t o = {.sync = conf->state_sync,
                         .cache_mb = conf->state_cache_mb,
                         .write_buffer_mb = conf->state_write_buffer_mb,
                         .read_only = ro};
    int rc = RS_OK;
    if (conf->privacy_user_id_hash) { /* refuse rather than store raw or weakly keyed ids */
        const char *salt = conf->privacy_user_id_salt ? conf->privacy_user_id_salt : "";
        if (strlen(salt) < 16) {
            rc = rs_seterr(errstr, errstr_size, RS_ECONF,
                           "privacy.user.id.hash is on but privacy.user.id.salt is %s: set a "
                           "secret of at least 16 bytes",
                           *salt ? "shorter than 16 bytes" : "empty");
            goto fail;
        }
        rc = rs_hmac_new(&st->idh, salt, strlen(salt), errstr, errstr_size);
        if (rc) goto fail;
    }
    st->ttl_ms = conf->state_user_ttl_ms > 0 ? conf->state_user_ttl_ms : 0;
    st->ttl = rs_ttl_new(conf);
    rs_ttl_rocks_opts(st->ttl, &o);
    rs_state__name_ix(st, "", 0);
    /* rec.blocklist: comma-separated item ids */
    for (const char *b = conf->rec_blocklist ? conf->rec_blocklist : ""; *b;) {
        const char *e = strchr(b, ',');
        size_t n = e ? (size_t)(e - b) : strlen(b);
        while (n && (b[0] == ' ')) b++, n--;
        while (n && b[n - 1] == ' ') n--;
        if (n) rs_u64set_add(&st->blocked, rs_hash64(b, n) | 1);
        b = e ? e + 1 : b + strlen(b);
    }
    rc = rs_rocks_open(&st->db, conf->state_dir, &o, errstr, errstr_size);
    if (rc) goto fail;
    rc = load_all(st, errstr, errstr_size);
    if (rc) goto fail;
    if (st->ttl && !ro) {
        rs_ttl_rocks_opened(st->ttl, st->db);
        rs_ttl_publish(st->ttl, st->event_now); /* loaded = durable */
    }
    rs_info("state",
            "opened %s: %u items, %" PRIu64 " co-occurrence entries, %zu offsets, "
            "%" PRIu64 " dedup ids",
            conf->state_dir, st->n_items, st->cooc_entries, st->n_offsets, st->dedup.n);
    *out = st;
    return RS_OK;
fail:
    rs_state_close(st);
    return rc;
}

rs_err_t rs_state_open(rs_state_t **out, const rs_conf_t *conf, char *errstr, size_t errstr_size) {
    return state_open(out, conf, 0, errstr, errstr_size);
}

rs_err_t rs_state_open_ro(rs_state_t **out, const rs_conf_t *conf, char *errstr,
                          size_t errstr_size) {
    return state_open(out, conf, 1, errstr, errstr_size);
}

void rs_state_close(rs_state_t *st) {
    if (!st) return;
    for (uint64_t i = 0; i < st->users_by_id.cap; i++)
        if (st->users_by_id.e[i].v) rs_state__user_free(st->users_by_id.e[i].v);
    rs_strmap_free(&st->users_by_id);
    for (uint32_t i = 0; i < st->n_items; i++) item_free(st->items[i]);
    free(st->items);
    rs_strmap_free(&st->items_by_id);
    free(st->dirty_users);
    free(st->touched);
    free(st->dirty_items);
    free(st->popular);
    free(st->w);
    free(st->wp);
    free(st->hid);
    free(st->pb);
    free(st->pb_tmp);
    free(st->pb_count);
    free(st->pop_stale);
    free(st->pop_stale_flag);
    for (size_t i = 0; i < st->n_offsets; i++) free(st->offsets[i].topic);
    free(st->offsets);
    for (size_t i = 0; i < st->n_chunks; i++) free(st->chunks[i].h);
    free(st->chunks);
    free(st->pend_h);
    rs_u64set_free(&st->dedup);
    rs_u64set_free(&st->blocked);
    for (uint32_t i = 0; i < st->cap_catpop; i++) free(st->catpop[i].v);
    free(st->catpop);
    for (uint32_t i = 1; i < st->n_names; i++) {
        free(st->names[i]->id);
        free(st->names[i]);
    }
    free(st->names);
    rs_strmap_free(&st->names_by_id);
    for (size_t i = 0; i < st->n_unwritten; i++) rs_rocks_batch_destroy(st->unwritten[i].b);
    rs_rocks_batch_destroy(st->open);
    rs_rocks_batch_destroy(st->spare);
    free(st->unwritten);
    for (size_t i = 0; i < st->n_deleted; i++) free(st->deleted[i].id);
    free(st->deleted);
    rs_u64set_free(&st->deleted_set);
    for (size_t i = 0; i < st->n_blobs; i++) {
        free(st->blobs[i].name);
        rs_buf_free(&st->blobs[i].v);
    }
    free(st->blobs);
    rs_rocks_close(st->db);
    rs_ttl_destroy(st->ttl); /* after the db: its compaction threads use it */
    rs_hmac_destroy(st->idh);
    rs_buf_free(&st->kbuf);
    rs_buf_free(&st->vbuf);
    free(st);
}

/* ------------------------------------------------------------------ apply */

/* log2(2^acc + 2^x) without overflow */
static inline double log2_add(double acc, double x) {
    if (acc == -INFINITY) return x;
    double hi = acc > x ? acc : x, lo = acc > x ? x : acc;
    return hi + log2(1.0 + exp2(lo - hi));
}

static void pop_add(rs_state_t *st, rs_item_t *it, int w, int64_t ts) {
    double lw = log2((double)w);
    it->pop_log = log2_add(it->pop_log, lw + (st->halflife > 0 ? (double)ts / st->halflife : 0.0));
    it->trend_log = log2_add(it->trend_log, lw + (double)ts / st->trend_halflife);
    pop_touch(st, it);
    catpop_touch(st, it);
}

static void ring_push(const rs_conf_t *conf, rs_user_t *u, uint32_t item, uint8_t type,
                      int64_t ts) {
    int j;
    for (j = 0; j < u->n_recent; j++)
        if (u->recent[j].item == item) break;
    rs_recent_t e = {item, type, ts};
    if (j < u->n_recent) { /* seen: keep the stronger type, the newer time */
        rs_recent_t old = u->recent[j];
        if (conf->weight[old.type] > conf->weight[type]) e.type = old.type;
        if (old.ts > ts) e.ts = old.ts;
    } else if (u->n_recent < conf->recent_items) {
        rs_state__user_reserve(u, (uint16_t)(u->n_recent + 1), 0);
        j = u->n_recent++;
    } else {
        j = u->n_recent - 1;
    }
    memmove(&u->recent[1], &u->recent[0], (size_t)j * sizeof(rs_recent_t));
    u->recent[0] = e;
}

static void touch_user(rs_state_t *st, rs_user_t *u) {
    if (u->touched) return;
    u->touched = 1;
    GROW(st->touched, st->n_touched, st->cap_touched);
    st->touched[st->n_touched++] = u;
}

static int device_class(const rs_str_t *d) {
    char b[32];
    size_t n = d->len < sizeof(b) - 1 ? d->len : sizeof(b) - 1;
    for (size_t i = 0; i < n; i++) b[i] = (char)(d->p[i] | 0x20); /* ASCII lower case */
    b[n] = 0;
    if (strstr(b, "app")) return RS_DEV_APP;
    if (strstr(b, "mobile") || strstr(b, "phone") || strstr(b, "android") || strstr(b, "ios") ||
        strstr(b, "tablet"))
        return RS_DEV_MOBILE;
    if (strstr(b, "desktop") || strstr(b, "web") || strstr(b, "pc") || strstr(b, "mac"))
        return RS_DEV_DESKTOP;
    return RS_DEV_OTHER;
}

/* Adds weight 2^lw to the affinity for ix; a full table drops its weakest
 * entry when the new one is stronger (recent beats old: lw grows with time). */
static void affinity_add(rs_affinity_t *a, int n, uint32_t ix, double lw) {
    int weakest = 0;
    for (int i = 0; i < n; i++) {
        if (a[i].ix == ix) {
            a[i].log_w = log2_add(a[i].log_w, lw);
            return;
        }
        if (!a[i].ix) {
            a[i].ix = ix, a[i].log_w = lw;
            return;
        }
        if (a[i].log_w < a[weakest].log_w) weakest = i;
    }
    if (lw > a[weakest].log_w) a[weakest].ix = ix, a[weakest].log_w = lw;
}

/* Time of day, device, prices and decayed category/brand affinity. */
static void profile_update(rs_state_t *st, rs_user_t *u, const rs_item_t *it, const rs_event_t *ev,
                           int t) {
    const rs_conf_t *conf = st->conf;
    int64_t hour = (ev->ts_ms / 3600000) % 24;
    u->tod[hour < 0 ? 0 : hour / 6]++;
    if (ev->fields & RS_F_DEVICE) u->device[device_class(&ev->device)]++;
    if ((ev->fields & RS_F_PRICE) && ev->price >= 0) u->price_sum += ev->price, u->price_n++;
    int w = conf->weight[t];
    if (w <= 0) return;
    double lw = log2((double)w) + (double)ev->ts_ms / (double)conf->profile_affinity_halflife_ms;
    if (it->category) affinity_add(u->cat_aff, RS_PROFILE_CATS, it->category, lw);
    if (it->brand) affinity_add(u->brand_aff, RS_PROFILE_BRANDS, it->brand, lw);
}

rs_user_t *rs_state_apply(rs_state_t *st, const rs_event_t *ev, int64_t origin_us, int *late) {
    const rs_conf_t *conf = st->conf;
    size_t ulen;
    const char *uid = rs_state_user_key(st, ev->user_id.p, ev->user_id.len, &ulen);
    uint64_t uh = rs_hash64(uid, ulen);
    /* retention: an expired user is gone before this event counts (the
     * watermark includes the event, as it would after applying it) */
    int64_t now = ev->ts_ms > st->event_now ? ev->ts_ms : st->event_now;
    rs_user_t *u = rs_strmap_get(&st->users_by_id, uid, ulen, uh);
    if (u && expired_at(st, u, now) && !rs_state__expire_user(st, u)) u = NULL;
    if (!u) u = rs_state__user_load(st, uid, ulen, uh, LOAD_WRITE, now);
    if (!u) {
        u = rs_state__user_alloc(conf, uid, ulen);
        rs_strmap_put(&st->users_by_id, uh, u);
        st->n_users++;
    }
    uint64_t ih = rs_hash64(ev->item_id.p, ev->item_id.len);
    rs_item_t *it = rs_strmap_get(&st->items_by_id, ev->item_id.p, ev->item_id.len, ih);
    if (!it) it = item_new(st, ev->item_id.p, ev->item_id.len, ih);

    int64_t ts = ev->ts_ms;
    int t = ev->type < RS_EV__COUNT ? (int)ev->type : RS_EV_VIEW;
    int w = conf->weight[t];
    *late = u->last_ts && ts < u->last_ts;
    if (ts > st->event_now) st->event_now = ts;

    /* profile */
    u->counts[t]++;
    if (!u->first_ts || ts < u->first_ts) u->first_ts = ts;
    int same_session;
    if (ev->fields & RS_F_SESSION) {
        uint64_t sh = rs_hash64(ev->session_id.p, ev->session_id.len) | 1;
        same_session = sh == u->session_hash;
        if (!same_session) u->sessions++, u->session_hash = sh;
    } else {
        same_session =
            u->last_ts && ts - u->last_ts <= conf->profile_session_gap_ms && !u->session_hash;
        if (!same_session) u->sessions++, u->session_hash = 0;
    }
    /* a view's dwell: time to the next event of the same session */
    if (same_session && u->last_type == RS_EV_VIEW && ts >= u->last_ts &&
        ts - u->last_ts <= conf->profile_session_gap_ms)
        u->dwell_ms += ts - u->last_ts, u->dwell_n++;
    if (ts >= u->last_ts) u->last_type = (uint8_t)t;
    if (ts > u->last_ts) u->last_ts = ts;
    if (t == RS_EV_PURCHASE) {
        u->purchases++;
        if (!u->first_purchase_ts || ts < u->first_purchase_ts) u->first_purchase_ts = ts;
        if (ts > u->last_purchase_ts) u->last_purchase_ts = ts;
        if (ev->fields & RS_F_PRICE) u->monetary += ev->price;
        int j;
        for (j = 0; j < u->n_purchased; j++)
            if (u->purchased[j] == it->idx) break;
        if (j == u->n_purchased) {
            if (u->n_purchased < conf->purchased_max) {
                rs_state__user_reserve(u, 0, (uint16_t)(u->n_purchased + 1));
                u->purchased_ts[u->n_purchased] = ts;
                u->purchased[u->n_purchased++] = it->idx;
            } else if (conf->purchased_max > 0) {
                memmove(&u->purchased[0], &u->purchased[1],
                        (size_t)(u->n_purchased - 1) * sizeof(uint32_t));
                memmove(&u->purchased_ts[0], &u->purchased_ts[1],
                        (size_t)(u->n_purchased - 1) * sizeof(int64_t));
                u->purchased[u->n_purchased - 1] = it->idx;
                u->purchased_ts[u->n_purchased - 1] = ts;
            }
        } else if (ts > u->purchased_ts[j]) {
            u->purchased_ts[j] = ts; /* the repurchase window runs from the last purchase */
        }
    }

    /* item: the newest event's category and price win (a catalog record
     * overrides them again on its next update) */
    it->counts[t]++;
    if (ev->fields & RS_F_CATEGORY) {
        uint32_t c = rs_state__name_ix(st, ev->category.p, ev->category.len);
        if (c != it->category) catpop_move(st, it, c);
    }
    if ((ev->fields & RS_F_PRICE) && ev->price >= 0 && ev->price != it->price)
        item_set_price(st, it, ev->price);
    if (!it->first_ts || ts < it->first_ts) it->first_ts = ts;
    if (ts > it->last_ts) it->last_ts = ts;
    it->meta_dirty = 1;
    mark_item_dirty(st, it);
    profile_update(st, u, it, ev, t);

    if (w > 0) {
        /* where the item sits in the user's ring of recent distinct items:
         * new to the ring -> one more user for n(item); among the last
         * cooc.window.count -> a repeat, which adds no pairs */
        int pos;
        for (pos = 0; pos < u->n_recent; pos++)
            if (u->recent[pos].item == it->idx) break;
        if (pos == u->n_recent) {
            it->weight++;
            it->pop_seq = ++st->pop_seq;
            set_weight(st, it);
            st->total_weight++;
        }
        pop_add(st, it, w, ts);
        int pairs = pos == u->n_recent || pos >= conf->cooc_window_count;
        int n = u->n_recent < conf->cooc_window_count ? u->n_recent : conf->cooc_window_count;
        for (int j = 0; pairs && j < n; j++) {
            const rs_recent_t *r = &u->recent[j];
            int64_t dt = ts > r->ts ? ts - r->ts : r->ts - ts;
            if (dt > conf->cooc_window_ms) continue;
            int wr = conf->weight[r->type];
            int pw = conf->cooc_pair_weight == RS_PAIRW_TYPE
                         ? (w < wr ? w : wr)
                         : (wr > 0 ? (2 * POS_SCALE + j + 1) / (2 * (j + 1)) : 0);
            if (pw <= 0) continue;
            GROW(st->pb, st->n_pb, st->cap_pb);
            st->pb[st->n_pb++] = (struct pair_inc){it->idx, r->item, (uint32_t)pw};
        }
        ring_push(conf, u, it->idx, (uint8_t)t, ts);
    }

    mark_user_dirty(st, u);
    if (!u->touched) {
        u->origin_us = origin_us;
        u->rec_ts = ts;
    } else {
        if (origin_us && (!u->origin_us || origin_us < u->origin_us)) u->origin_us = origin_us;
        if (ts > u->rec_ts) u->rec_ts = ts;
    }
    touch_user(st, u);
    st->uncommitted++;
    st->applied_item = it;
    return u;
}

rs_item_t *rs_state_applied_item(const rs_state_t *st) {
    return st->applied_item;
}

rs_item_t *rs_state_item_meta(rs_state_t *st, const rs_item_meta_t *m) {
    uint64_t ih = rs_hash64(m->item_id.p, m->item_id.len);
    rs_item_t *it = rs_strmap_get(&st->items_by_id, m->item_id.p, m->item_id.len, ih);
    if (!it) {
        if (m->deleted) return NULL; /* nothing to forget */
        it = item_new(st, m->item_id.p, m->item_id.len, ih);
    }
    free(it->attrs);
    it->attrs = NULL;
    it->flags &= (uint8_t) ~(RS_ITEM_OUT_OF_STOCK | RS_ITEM_DELETED);
    if (m->deleted) {
        it->flags |= RS_ITEM_DELETED;
        catpop_move(st, it, 0);
        it->brand = 0;
        item_set_price(st, it, -1);
    } else {
        catpop_move(st, it, rs_state__name_ix(st, m->category.p, m->category.len));
        it->brand = rs_state__name_ix(st, m->brand.p, m->brand.len);
        if (m->price >= 0) item_set_price(st, it, m->price);
        if (m->stock == 0) it->flags |= RS_ITEM_OUT_OF_STOCK;
        if (m->attrs.len) it->attrs = rs_xstrndup(m->attrs.p, m->attrs.len);
    }
    st->hid[it->idx] = (it->flags & RS_ITEM_HIDDEN) != 0; /* set_weight sized it */
    it->meta_dirty = 1;
    mark_item_dirty(st, it);
    pop_touch(st, it);
    st->uncommitted++;
    return it;
}

/* Applies the buffered pair increments, both directions of each pair: small
 * buffers in arrival order, large ones grouped by item with a counting sort
 * (O(pairs + items)). The order within an item's run is the arrival order
 * either way. */
void rs_state__rows_sync(rs_state_t *st) {
    size_t n = st->n_pb;
    if (!n) return;
    const struct pair_inc *v = st->pb;
    if (2 * n < 4096 || 2 * n < st->n_items / 4) {
        for (size_t i = 0; i < n; i++) {
            row_add(st, st->items[v[i].a], v[i].b, v[i].w, 1);
            row_add(st, st->items[v[i].b], v[i].a, v[i].w, 1);
        }
        st->n_pb = 0;
        return;
    }
    if (st->cap_pb_count < st->n_items + 1) {
        st->cap_pb_count = st->n_items + 1;
        st->pb_count = rs_xrealloc(st->pb_count, st->cap_pb_count * sizeof(uint32_t));
    }
    if (st->cap_pb_tmp < 2 * n) {
        st->cap_pb_tmp = 2 * st->cap_pb;
        st->pb_tmp = rs_xrealloc(st->pb_tmp, st->cap_pb_tmp * sizeof(*st->pb_tmp));
    }
    uint32_t *cnt = st->pb_count;
    memset(cnt, 0, (st->n_items + 1) * sizeof(uint32_t));
    for (size_t i = 0; i < n; i++) cnt[v[i].a + 1]++, cnt[v[i].b + 1]++;
    for (uint32_t i = 0; i < st->n_items; i++) cnt[i + 1] += cnt[i];
    struct nb_inc *t = st->pb_tmp;
    for (size_t i = 0; i < n; i++) {
        t[cnt[v[i].a]++] = (struct nb_inc){v[i].b, v[i].w};
        t[cnt[v[i].b]++] = (struct nb_inc){v[i].a, v[i].w};
    }
    /* cnt[i] is now the end of item i's run */
    size_t k = 0;
    for (uint32_t i = 0; i < st->n_items && k < 2 * n; i++)
        for (rs_item_t *it = st->items[i]; k < cnt[i]; k++) row_add(st, it, t[k].b, t[k].w, 1);
    st->n_pb = 0;
}

rs_user_t **rs_state_touched(rs_state_t *st, size_t *n) {
    rs_state__rows_sync(st);
    *n = st->n_touched;
    return st->touched;
}

void rs_state_touched_reset(rs_state_t *st) {
    for (size_t i = 0; i < st->n_touched; i++) st->touched[i]->touched = 0;
    st->n_touched = 0;
}
