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
 * lists were scored) are left out. */
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

#define NB_EMPTY UINT32_MAX

typedef struct rs_offset {
    char *topic;
    int32_t partition;
    int64_t next;
    int dirty;
} rs_offset_t;

typedef struct rs_chunk {
    uint64_t seq;
    uint64_t *h;
    uint32_t n;
} rs_chunk_t;

struct rs_state {
    const rs_conf_t *conf;
    rs_rocks_t *db;
    int read_only;
    rs_buf_t kbuf, vbuf;

    rs_strmap_t users_by_id;
    rs_user_t **dirty_users; /* [du_pos, n) not yet serialised into `open` */
    size_t n_dirty_users, cap_dirty_users, du_pos;
    rs_user_t **touched;
    size_t n_touched, cap_touched;
    uint64_t n_users;

    rs_strmap_t items_by_id;
    rs_item_t **items; /* by idx */
    uint32_t n_items, cap_items;
    uint32_t *dirty_items; /* [0, di_keep) hot, left to the commit; [di_pos, n) not
                            * yet looked at; all not yet serialised into `open` */
    size_t n_dirty_items, cap_dirty_items, di_pos, di_keep;
    rs_rocks_batch_t *open; /* the WriteBatch being filled for the next commit */
    uint64_t total_weight;
    uint64_t cooc_entries;
    double *w;    /* item weight by idx, dense: similarity needs W(b) for every neighbour */
    double *wp;   /* weight^(1-rec.alpha) by idx */
    uint8_t *hid; /* 1 if the item is hidden (RS_ITEM_HIDDEN), by idx: the scorer
                   * tests every neighbour and the item structs are cache misses */
    uint32_t cap_w;

    /* popularity top list, refreshed lazily from items touched since */
    uint32_t *popular;
    uint32_t n_popular;
    uint32_t *pop_stale;
    uint32_t n_pop_stale, cap_pop_stale;
    uint8_t *pop_stale_flag;
    uint32_t cap_pop_flag;

    rs_offset_t *offsets;
    size_t n_offsets, last_off;

    rs_u64set_t dedup;
    rs_chunk_t *chunks; /* committed chunks, oldest first */
    size_t n_chunks, cap_chunks;
    uint64_t chunk_total, next_chunk_seq;
    uint64_t *pend_h; /* ids of the current batch */
    size_t n_pend_h, cap_pend_h;

    /* co-occurrence increments of the current batch, applied grouped by item
     * (rows_sync) before anything reads the rows: consecutive updates then hit
     * the same row in cache instead of a random one per pair */
    struct pair_inc {
        uint32_t a, b, w;
    } * pb, *pb_tmp;
    size_t n_pb, cap_pb;
    uint32_t *pb_count;
    uint32_t cap_pb_count;
    size_t uncommitted;
    struct unwritten {
        rs_rocks_batch_t *b; /* prepared, not yet durable, oldest first */
        int64_t watermark;   /* event_now when it was prepared (rs_ttl_publish) */
    } * unwritten;
    size_t n_unwritten, cap_unwritten;
    int inflight; /* unwritten[0].b is being written by another thread */
    int64_t event_now;
    double halflife;       /* ms, 0 = no decay */
    double trend_halflife; /* ms, the short window of the trending score */

    /* interned category/brand names; [0] is "" */
    rs_strmap_t names_by_id;
    struct rs_name **names;
    uint32_t n_names, cap_names;
    rs_u64set_t blocked; /* hashes of rec.blocklist item ids */
    struct catpop {
        uint32_t *v;
        uint32_t n;
    } * catpop; /* by category: its most popular items, best first */
    uint32_t cap_catpop;
    uint64_t pop_seq;

    /* users deleted into a batch that is not written yet: until it is, a
     * load must not bring their last committed profile back */
    struct deleted_user {
        char *id;
        uint32_t len;
        uint64_t seq; /* the batch holding the delete: written once batches_written > seq */
    } * deleted;
    size_t n_deleted, cap_deleted;
    rs_u64set_t deleted_set; /* hash|1 of each listed id: most loads skip the list scan */
    uint64_t batches_queued, batches_written;
    double item_price_sum; /* over items with a known price: the "premium" reference */
    uint64_t item_price_n;
    rs_item_t *applied_item; /* the item of the last apply */
    /* blobs staged for the next commit (rs_state_blob_set) */
    struct blob {
        char *name;
        rs_buf_t v;
    } * blobs;
    size_t n_blobs, cap_blobs;
    /* retention (rs_state_ttl.c) and id hashing */
    rs_ttl_t *ttl; /* NULL: users never expire */
    int64_t ttl_ms;
    rs_state_expire_fn_t *expire_fn;
    void *expire_opaque;
    uint64_t users_expired;
    rs_hmac_t *idh; /* NULL: ids are used as they are */
    char idkey[RS_USER_ID_HASH_LEN + 1];
};

/* Pair weights are integers: position weight 1/(1+p) is stored x60 (exact
 * for p < 6, within 5% after), type weights x1. */
#define POS_SCALE 60

#define GROW(arr, n, cap)                                                                          \
    do {                                                                                           \
        if ((n) >= (cap)) {                                                                        \
            (cap) = (cap) ? (cap)*2 : 64;                                                          \
            (arr) = rs_xrealloc((arr), (size_t)(cap) * sizeof(*(arr)));                            \
        }                                                                                          \
    } while (0)

/* ------------------------------------------------------------------ items */

static inline uint32_t nb_slot(uint32_t k, uint32_t cap) {
    return (uint32_t)((k * 0x9E3779B1u) & (cap - 1));
}

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

/* Dunning's log-likelihood ratio of a 2x2 contingency table, in Mahout's
 * form: 2 * (rowEntropy + colEntropy - matrixEntropy), unnormalised. */
static double xlogx(double x) {
    return x > 0 ? x * log(x) : 0.0;
}
static double llr(double k11, double k12, double k21, double k22) {
    double n = k11 + k12 + k21 + k22;
    double me = xlogx(n) - xlogx(k11) - xlogx(k12) - xlogx(k21) - xlogx(k22);
    double re = xlogx(n) - xlogx(k11 + k12) - xlogx(k21 + k22);
    double ce = xlogx(n) - xlogx(k11 + k21) - xlogx(k12 + k22);
    double v = 2.0 * (re + ce - me);
    return v < 0 ? 0 : v;
}

static inline float pair_sim(const rs_state_t *st, const rs_item_t *a, uint32_t b, uint32_t cnt) {
    double c = cnt, wa = (double)a->weight, wb = st->w[b];
    if (st->conf->rec_similarity == RS_SIM_LLR) {
        if (st->conf->cooc_pair_weight == RS_PAIRW_POSITION) c /= POS_SCALE;
        double k12 = wa > c ? wa - c : 0, k21 = wb > c ? wb - c : 0;
        double k22 = (double)st->total_weight - c - k12 - k21;
        return (float)llr(c, k12, k21, k22 > 0 ? k22 : 0);
    }
    if (wa <= 0 || wb <= 0) return 0.0f;
    return (float)(c / (a->wpow * st->wp[b]));
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

static inline int nbr_better(const rs_nbr_t *a, const rs_nbr_t *b) {
    return a->sim > b->sim || (a->sim == b->sim && a->item < b->item);
}

/* Keeps an item's top-N list current as one pair count grows, without
 * rescanning the row: the pair's new similarity either enters the list,
 * moves within it, or cannot matter. Other entries drift as the item's own
 * weight grows; row_add() rebuilds the list from the row once that weight
 * has grown by a quarter, so the drift stays bounded. */
static void top_update(rs_state_t *st, rs_item_t *it, uint32_t b, uint32_t cnt) {
    uint32_t n = it->top_n, cap = (uint32_t)st->conf->rec_neighbors;
    rs_nbr_t *t = it->top, e = {b, pair_sim(st, it, b, cnt), cnt};
    if (!cap) return;
    uint32_t j;
    for (j = 0; j < n; j++)
        if (t[j].item == b) break;
    if (j == n) { /* not listed: enters if it beats the last */
        if (n == cap && !nbr_better(&e, &t[n - 1])) return;
        if (n < cap) it->top_n = ++n;
        j = n - 1;
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

static void top_rebuild(rs_state_t *st, rs_item_t *it);

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
    if (e->delta == 0) {
        GROW(it->dirty_nb, it->dirty_n, it->dirty_cap);
        it->dirty_nb[it->dirty_n++] = nbr;
    }
    e->delta += cnt;
    mark_item_dirty(st, it);
    if (top_stale(it))
        top_rebuild(st, it);
    else
        top_update(st, it, nbr, e->cnt);
}

static rs_nbent_t *row_find(const rs_item_t *it, uint32_t nbr) {
    if (!it->nb_cap) return NULL;
    for (uint32_t j = nb_slot(nbr, it->nb_cap);; j = (j + 1) & (it->nb_cap - 1)) {
        if (it->nb[j].key == nbr) return &it->nb[j];
        if (it->nb[j].key == NB_EMPTY) return NULL;
    }
}

/* An interned name: starts like rs_idobj_t so the strmap can hold it. */
typedef struct rs_name {
    char *id;
    uint32_t id_len;
    uint32_t ix;
} rs_name_t;

/* Interns a category/brand name; "" is 0. */
static uint32_t name_ix(rs_state_t *st, const char *s, size_t len) {
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

/* Popularity order (rec.popular.order): distinct users, the most recently
 * gained first on ties; or the decayed weight. Either key only grows when
 * the item is touched, so lists are kept by moving items up. */
static inline int pop_rank_better(const rs_state_t *st, uint32_t a, uint32_t b) {
    const rs_item_t *x = st->items[a], *y = st->items[b];
    if (st->conf->rec_popular_order == RS_POPORDER_DECAYED)
        return x->pop_log > y->pop_log || (x->pop_log == y->pop_log && a < b);
    return x->weight > y->weight ||
           (x->weight == y->weight &&
            (x->pop_seq > y->pop_seq || (x->pop_seq == y->pop_seq && a < b)));
}

/* Moves item it up its category's list (or in, if it now qualifies). */
static void catpop_touch(rs_state_t *st, rs_item_t *it) {
    uint32_t cat = it->category, cap = (uint32_t)st->conf->rec_popular;
    if (!cat || !cap || !it->weight) return;
    if (cat >= st->cap_catpop) {
        uint32_t ncap = st->cap_catpop ? st->cap_catpop : 64;
        while (ncap <= cat) ncap *= 2;
        st->catpop = rs_xrealloc(st->catpop, ncap * sizeof(*st->catpop));
        memset(st->catpop + st->cap_catpop, 0, (ncap - st->cap_catpop) * sizeof(*st->catpop));
        st->cap_catpop = ncap;
    }
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

static void put_str16(rs_buf_t *v, const char *p, uint32_t len) {
    if (len > 65535) len = 65535;
    unsigned char l[2] = {(unsigned char)len, (unsigned char)(len >> 8)};
    rs_buf_append(v, l, 2);
    rs_buf_append(v, p, len);
}

static void item_encode(const rs_state_t *st, const rs_item_t *it, rs_buf_t *v) {
    unsigned char b[1 + 4 + 4 * RS_EV__COUNT + 8 + 8 + 8 + 8 + 1 + 8 + 8 + 8], *p = b;
    *p++ = 2;
    rs_put_u32(p, it->idx), p += 4;
    for (int i = 0; i < RS_EV__COUNT; i++) rs_put_u32(p, it->counts[i]), p += 4;
    rs_put_u64(p, it->weight), p += 8;
    uint64_t f;
    memcpy(&f, &it->pop_log, 8);
    rs_put_u64(p, f), p += 8;
    rs_put_u64(p, (uint64_t)it->first_ts), p += 8;
    rs_put_u64(p, (uint64_t)it->last_ts), p += 8;
    *p++ = it->flags & (uint8_t)~RS_ITEM_BLOCKED; /* the blocklist is config, not state */
    memcpy(&f, &it->price, 8);
    rs_put_u64(p, f), p += 8;
    rs_put_u64(p, it->pop_seq), p += 8;
    memcpy(&f, &it->trend_log, 8);
    rs_put_u64(p, f), p += 8;
    rs_buf_reset(v);
    rs_buf_append(v, b, (size_t)(p - b));
    uint32_t n;
    const char *s = rs_state_name(st, it->category, &n);
    put_str16(v, s, n);
    s = rs_state_name(st, it->brand, &n);
    put_str16(v, s, n);
    put_str16(v, it->attrs ? it->attrs : "", it->attrs ? (uint32_t)strlen(it->attrs) : 0);
    unsigned char a[RS_ALERT_STATE_MAX_BYTES];
    size_t an = rs_alert_item_encode(&it->alert, a);
    put_str16(v, (const char *)a, (uint32_t)an);
}

static int get_str16(const unsigned char **p, const unsigned char *end, const char **s,
                     uint32_t *len) {
    if (end - *p < 2) return -1;
    *len = (uint32_t)(*p)[0] | (uint32_t)(*p)[1] << 8;
    if ((size_t)(end - *p - 2) < *len) return -1;
    *s = (const char *)*p + 2;
    *p += 2 + *len;
    return 0;
}

static int item_decode(rs_state_t *st, rs_item_t *it, const unsigned char *p, size_t len) {
    const size_t v1 = 1 + 4 + 4 * RS_EV__COUNT + 32;
    const unsigned char *end = p + len;
    if (len < v1 || (p[0] != 1 && p[0] != 2) || (p[0] == 1 && len != v1)) return -1;
    int ver = *p++;
    it->idx = rs_get_u32(p), p += 4;
    for (int i = 0; i < RS_EV__COUNT; i++) it->counts[i] = rs_get_u32(p), p += 4;
    it->weight = rs_get_u64(p), p += 8;
    uint64_t f = rs_get_u64(p);
    memcpy(&it->pop_log, &f, 8), p += 8;
    it->first_ts = (int64_t)rs_get_u64(p), p += 8;
    it->last_ts = (int64_t)rs_get_u64(p), p += 8;
    it->price = -1;
    it->trend_log = -INFINITY;
    if (ver == 1) return 0;
    if (end - p < 25) return -1;
    it->flags = *p++;
    f = rs_get_u64(p), p += 8;
    memcpy(&it->price, &f, 8);
    it->pop_seq = rs_get_u64(p), p += 8;
    f = rs_get_u64(p), p += 8;
    memcpy(&it->trend_log, &f, 8);
    const char *s;
    uint32_t n;
    if (get_str16(&p, end, &s, &n)) return -1;
    it->category = name_ix(st, s, n);
    if (get_str16(&p, end, &s, &n)) return -1;
    it->brand = name_ix(st, s, n);
    if (get_str16(&p, end, &s, &n)) return -1;
    it->attrs = n ? rs_xstrndup(s, n) : NULL;
    if (p == end) return 0; /* written before the detectors existed */
    if (get_str16(&p, end, &s, &n) || p != end) return -1;
    return rs_alert_item_decode(&it->alert, (const unsigned char *)s, n);
}

/* ------------------------------------------------------------------ users */

/* Profiles start small and grow to the configured ring sizes: most users
 * have a handful of events, and 100k users x full rings would dominate RSS. */
static rs_user_t *user_alloc(const rs_conf_t *conf, const char *id, size_t len) {
    rs_user_t *u = rs_xcalloc(1, sizeof(*u));
    u->id = rs_xstrndup(id, len);
    u->id_len = (uint32_t)len;
    return u;
}

static void user_reserve(rs_user_t *u, uint16_t recent, uint16_t purchased) {
    if (recent > u->cap_recent) {
        uint16_t c = u->cap_recent ? u->cap_recent : 4;
        while (c < recent) c *= 2;
        u->recent = rs_xrealloc(u->recent, c * sizeof(rs_recent_t));
        u->cap_recent = c;
    }
    if (purchased > u->cap_purchased) {
        uint16_t c = u->cap_purchased ? u->cap_purchased : 2;
        while (c < purchased) c *= 2;
        u->purchased = rs_xrealloc(u->purchased, c * sizeof(uint32_t));
        u->purchased_ts = rs_xrealloc(u->purchased_ts, c * sizeof(int64_t));
        u->cap_purchased = c;
    }
}

static void user_free(rs_user_t *u) {
    if (!u) return;
    free(u->id);
    free(u->recent);
    free(u->purchased);
    free(u->purchased_ts);
    free(u);
}

/* The behaviour block after the recommendation fields (absent in profiles
 * written before it existed): u8 ver=1, i64 dwell_ms, u32 dwell_n,
 * u8 last_type, i64 first/last purchase ts, u32 tod[4], u32 device[4],
 * f64 price_sum, u32 price_n, then u8 n + n x (u16 len, name, f64 log_w)
 * for categories and for brands. Names, not interned indexes: those are
 * only stable within one process. */
static void behaviour_encode(const rs_state_t *st, const rs_user_t *u, rs_buf_t *v) {
    unsigned char b[1 + 8 + 4 + 1 + 16 + 16 + 16 + 12], *p = b;
    *p++ = 1;
    rs_put_u64(p, (uint64_t)u->dwell_ms), p += 8;
    rs_put_u32(p, u->dwell_n), p += 4;
    *p++ = u->last_type;
    rs_put_u64(p, (uint64_t)u->first_purchase_ts), p += 8;
    rs_put_u64(p, (uint64_t)u->last_purchase_ts), p += 8;
    for (int i = 0; i < RS_TOD__COUNT; i++) rs_put_u32(p, u->tod[i]), p += 4;
    for (int i = 0; i < RS_DEV__COUNT; i++) rs_put_u32(p, u->device[i]), p += 4;
    uint64_t f;
    memcpy(&f, &u->price_sum, 8);
    rs_put_u64(p, f), p += 8;
    rs_put_u32(p, u->price_n), p += 4;
    rs_buf_append(v, b, (size_t)(p - b));
    const rs_affinity_t *tab[2] = {u->cat_aff, u->brand_aff};
    const int cnt[2] = {RS_PROFILE_CATS, RS_PROFILE_BRANDS};
    for (int k = 0; k < 2; k++) {
        unsigned char n = 0;
        for (int i = 0; i < cnt[k]; i++) n += tab[k][i].ix != 0;
        rs_buf_append(v, &n, 1);
        for (int i = 0; i < cnt[k]; i++) {
            if (!tab[k][i].ix) continue;
            uint32_t nl;
            const char *nm = rs_state_name(st, tab[k][i].ix, &nl);
            put_str16(v, nm, nl);
            unsigned char w[8];
            memcpy(&f, &tab[k][i].log_w, 8);
            rs_put_u64(w, f);
            rs_buf_append(v, w, 8);
        }
    }
}

/* The watch block after the behaviour block (absent in older profiles):
 * u16 len + detector state (rs_alert.c), u16 len + segment state
 * (rs_segment.c); each module versions its own bytes. */
static void watch_encode(const rs_user_t *u, rs_buf_t *v) {
    unsigned char b[RS_ALERT_STATE_MAX_BYTES + RS_SEGMENT_STATE_MAX_BYTES];
    size_t n = rs_alert_user_encode(&u->alert, b);
    put_str16(v, (const char *)b, (uint32_t)n);
    n = rs_segment_user_encode(&u->seg, b);
    put_str16(v, (const char *)b, (uint32_t)n);
}

static int watch_decode(rs_user_t *u, const unsigned char *p, const unsigned char *end) {
    const char *s;
    uint32_t n;
    if (get_str16(&p, end, &s, &n) || rs_alert_user_decode(&u->alert, (const unsigned char *)s, n))
        return -1;
    if (get_str16(&p, end, &s, &n) || rs_segment_user_decode(&u->seg, (const unsigned char *)s, n))
        return -1;
    return p == end ? 0 : -1;
}

static int behaviour_decode(rs_state_t *st, rs_user_t *u, const unsigned char *p,
                            const unsigned char *end) {
    if (end - p < 1 + 8 + 4 + 1 + 16 + 16 + 16 + 12 || p[0] != 1) return -1;
    p++;
    u->dwell_ms = (int64_t)rs_get_u64(p), p += 8;
    u->dwell_n = rs_get_u32(p), p += 4;
    u->last_type = *p++;
    u->first_purchase_ts = (int64_t)rs_get_u64(p), p += 8;
    u->last_purchase_ts = (int64_t)rs_get_u64(p), p += 8;
    for (int i = 0; i < RS_TOD__COUNT; i++) u->tod[i] = rs_get_u32(p), p += 4;
    for (int i = 0; i < RS_DEV__COUNT; i++) u->device[i] = rs_get_u32(p), p += 4;
    uint64_t f = rs_get_u64(p);
    memcpy(&u->price_sum, &f, 8), p += 8;
    u->price_n = rs_get_u32(p), p += 4;
    rs_affinity_t *tab[2] = {u->cat_aff, u->brand_aff};
    const int cnt[2] = {RS_PROFILE_CATS, RS_PROFILE_BRANDS};
    for (int k = 0; k < 2; k++) {
        if (p >= end) return -1;
        int n = *p++;
        if (n > cnt[k]) return -1;
        for (int i = 0; i < n; i++) {
            const char *nm;
            uint32_t nl;
            if (get_str16(&p, end, &nm, &nl) || end - p < 8) return -1;
            tab[k][i].ix = name_ix(st, nm, nl);
            f = rs_get_u64(p), p += 8;
            memcpy(&tab[k][i].log_w, &f, 8);
        }
    }
    return p == end ? 0 : watch_decode(u, p, end);
}

static void user_encode(const rs_state_t *st, const rs_user_t *u, rs_buf_t *v) {
    rs_buf_reset(v);
    unsigned char b[64 + 4 * RS_EV__COUNT], *p = b;
    *p++ = 2;
    for (int i = 0; i < RS_EV__COUNT; i++) rs_put_u32(p, u->counts[i]), p += 4;
    rs_put_u64(p, (uint64_t)u->first_ts), p += 8;
    rs_put_u64(p, (uint64_t)u->last_ts), p += 8;
    rs_put_u32(p, u->sessions), p += 4;
    rs_put_u64(p, u->session_hash), p += 8;
    rs_put_u32(p, u->purchases), p += 4;
    uint64_t f;
    memcpy(&f, &u->monetary, 8);
    rs_put_u64(p, f), p += 8;
    p[0] = (unsigned char)u->n_recent, p[1] = (unsigned char)(u->n_recent >> 8), p += 2;
    rs_buf_append(v, b, (size_t)(p - b));
    for (uint16_t i = 0; i < u->n_recent; i++) {
        unsigned char r[13];
        rs_put_u32(r, u->recent[i].item);
        r[4] = u->recent[i].type;
        rs_put_u64(r + 5, (uint64_t)u->recent[i].ts);
        rs_buf_append(v, r, sizeof(r));
    }
    unsigned char m[2] = {(unsigned char)u->n_purchased, (unsigned char)(u->n_purchased >> 8)};
    rs_buf_append(v, m, 2);
    for (uint16_t i = 0; i < u->n_purchased; i++) {
        unsigned char r[12];
        rs_put_u32(r, u->purchased[i]);
        rs_put_u64(r + 4, (uint64_t)u->purchased_ts[i]);
        rs_buf_append(v, r, 12);
    }
    unsigned char rb[24];
    rs_put_u64(rb, (uint64_t)u->rec_version);
    rs_put_u64(rb + 8, u->rec_hash);
    rs_put_u64(rb + 16, (uint64_t)u->rec_emit_ms);
    rs_buf_append(v, rb, 24);
    behaviour_encode(st, u, v);
    watch_encode(u, v);
}

static int user_decode(rs_state_t *st, rs_user_t *u, const unsigned char *p, size_t len) {
    const rs_conf_t *conf = st->conf;
    const unsigned char *end = p + len;
    size_t fixed = 1 + 4 * RS_EV__COUNT + 8 + 8 + 4 + 8 + 4 + 8 + 2;
    if (len < fixed || (p[0] != 1 && p[0] != 2)) return -1;
    size_t pe = *p++ == 1 ? 4 : 12; /* v1 purchases have no time */
    for (int i = 0; i < RS_EV__COUNT; i++) u->counts[i] = rs_get_u32(p), p += 4;
    u->first_ts = (int64_t)rs_get_u64(p), p += 8;
    u->last_ts = (int64_t)rs_get_u64(p), p += 8;
    u->sessions = rs_get_u32(p), p += 4;
    u->session_hash = rs_get_u64(p), p += 8;
    u->purchases = rs_get_u32(p), p += 4;
    uint64_t f = rs_get_u64(p);
    memcpy(&u->monetary, &f, 8), p += 8;
    unsigned n = (unsigned)p[0] | (unsigned)p[1] << 8;
    p += 2;
    if ((size_t)(end - p) < (size_t)n * 13 + 2) return -1;
    u->n_recent = 0;
    user_reserve(u, (uint16_t)(n < (unsigned)conf->recent_items ? n : (unsigned)conf->recent_items),
                 0);
    for (unsigned i = 0; i < n; i++, p += 13) {
        if (u->n_recent >= conf->recent_items) continue; /* ring shrunk by config */
        rs_recent_t *r = &u->recent[u->n_recent++];
        r->item = rs_get_u32(p);
        r->type = p[4];
        r->ts = (int64_t)rs_get_u64(p + 5);
    }
    unsigned m = (unsigned)p[0] | (unsigned)p[1] << 8;
    p += 2;
    if ((size_t)(end - p) < (size_t)m * pe + 24) return -1;
    u->n_purchased = 0;
    user_reserve(u, 0,
                 (uint16_t)(m < (unsigned)conf->purchased_max ? m : (unsigned)conf->purchased_max));
    for (unsigned i = 0; i < m; i++, p += pe) {
        if (u->n_purchased >= conf->purchased_max) continue;
        u->purchased_ts[u->n_purchased] = pe == 12 ? (int64_t)rs_get_u64(p + 4) : 0;
        u->purchased[u->n_purchased++] = rs_get_u32(p);
    }
    u->rec_version = (int64_t)rs_get_u64(p);
    u->rec_hash = rs_get_u64(p + 8);
    u->rec_emit_ms = (int64_t)rs_get_u64(p + 16);
    p += 24;
    return p == end ? 0 : behaviour_decode(st, u, p, end);
}

static void mark_user_dirty(rs_state_t *st, rs_user_t *u) {
    if (u->dirty) return;
    u->dirty = 1;
    GROW(st->dirty_users, st->n_dirty_users, st->cap_dirty_users);
    st->dirty_users[st->n_dirty_users++] = u;
}

void rs_state_user_recs_dirty(rs_state_t *st, rs_user_t *u) {
    mark_user_dirty(st, u);
}

static int user_deleted(const rs_state_t *st, const char *id, size_t len) {
    if (!rs_u64set_has(&st->deleted_set, rs_hash64(id, len) | 1)) return 0;
    for (size_t i = 0; i < st->n_deleted; i++)
        if (st->deleted[i].len == len && !memcmp(st->deleted[i].id, id, len)) return 1;
    return 0;
}

/* ---- retention and id hashing (see rs_state_ttl.c) ---- */

static int expired_at(const rs_state_t *st, const rs_user_t *u, int64_t now) {
    return rs_ttl_rule(st->ttl_ms, u->last_ts, now) && !u->pending;
}

int rs_state_user_expired(const rs_state_t *st, const rs_user_t *u) {
    return expired_at(st, u, st->event_now);
}

/* The delete of key goes into the open batch (after any put of it already
 * there: the delete wins); loads answer "absent" until it is written. */
static void queue_delete(rs_state_t *st, const char *id, size_t len) {
    if (!st->open) st->open = rs_rocks_batch_new();
    rs_rocks_batch_delete(st->open, st->db, RS_CF_USERS, id, len);
    GROW(st->deleted, st->n_deleted, st->cap_deleted);
    st->deleted[st->n_deleted++] =
        (struct deleted_user){rs_xstrndup(id, len), (uint32_t)len, st->batches_queued};
    rs_u64set_add(&st->deleted_set, rs_hash64(id, len) | 1);
    st->uncommitted++;
}

static void expire_hook(rs_state_t *st, rs_user_t *u) {
    if (st->expire_fn) st->expire_fn(st->expire_opaque, u);
    st->users_expired++;
}

const char *rs_state_user_key(rs_state_t *st, const char *id, size_t len, size_t *klen) {
    if (!st->idh ||
        rs_hmac_hex(st->idh, id, len, st->idkey, RS_USER_ID_HASH_LEN)) { /* cannot fail keyed */
        *klen = len;
        return id;
    }
    *klen = RS_USER_ID_HASH_LEN;
    return st->idkey;
}

/* Hashing on and the argument looks like a hash (32 lowercase hex). */
static int looks_hashed(const rs_state_t *st, const char *id, size_t len) {
    if (!st->idh || len != RS_USER_ID_HASH_LEN) return 0;
    for (size_t i = 0; i < len; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f'))) return 0;
    return 1;
}

enum { LOAD_READ, LOAD_WRITE };

/* Loads a user from RocksDB; NULL if absent (or on error, logged). An
 * expired profile is absent; LOAD_WRITE (an event or the expiry queue is
 * about to act on it) also expires it: hook and delete. */
static rs_user_t *user_load(rs_state_t *st, const char *id, size_t len, uint64_t h, int mode,
                            int64_t now) {
    char err[256];
    if (st->n_deleted && user_deleted(st, id, len)) return NULL;
    int rc = rs_rocks_get(st->db, RS_CF_USERS, id, len, &st->vbuf, err, sizeof(err));
    if (rc == RS_ENOTFOUND) return NULL;
    if (rc) {
        rs_error("state", "loading user: %s", err);
        return NULL;
    }
    rs_user_t *u = user_alloc(st->conf, id, len);
    if (user_decode(st, u, (const unsigned char *)st->vbuf.p, st->vbuf.len)) {
        rs_error("state", "corrupt profile for user %.*s: ignored", (int)len, id);
        user_free(u);
        return NULL;
    }
    if (expired_at(st, u, now)) {
        if (mode == LOAD_WRITE && !st->read_only) {
            expire_hook(st, u);
            queue_delete(st, id, len);
        }
        user_free(u);
        return NULL;
    }
    rs_strmap_put(&st->users_by_id, h, u);
    st->n_users++;
    return u;
}

static rs_user_t *user_get_key(rs_state_t *st, const char *key, size_t len) {
    uint64_t h = rs_hash64(key, len);
    rs_user_t *u = rs_strmap_get(&st->users_by_id, key, len, h);
    if (u) return expired_at(st, u, st->event_now) ? NULL : u; /* the sweep removes it */
    return user_load(st, key, len, h, LOAD_READ, st->event_now);
}

rs_user_t *rs_state_user_get(rs_state_t *st, const char *id, size_t len) {
    size_t kl;
    const char *k = rs_state_user_key(st, id, len, &kl);
    rs_user_t *u = user_get_key(st, k, kl);
    return u || !looks_hashed(st, id, len) ? u : user_get_key(st, id, len);
}

/* Removes a map entry by backward shift (linear probing, no tombstones): the
 * entries after it move up unless their home slot lies between the hole and
 * themselves. */
static void strmap_del(rs_strmap_t *m, const void *v, uint64_t h) {
    uint64_t mask = m->cap - 1, i = h & mask;
    while (m->e[i].v != v) {
        if (!m->e[i].v) return;
        i = (i + 1) & mask;
    }
    for (uint64_t j = (i + 1) & mask; m->e[j].v; j = (j + 1) & mask) {
        uint64_t k = m->e[j].h & mask;
        if (i <= j ? (k <= i || k > j) : (k <= i && k > j)) {
            m->e[i] = m->e[j];
            i = j;
        }
    }
    m->e[i].v = NULL;
    m->e[i].h = 0;
    m->n--;
}

/* Drops u from a user pointer list, keeping the order; *pos (may be NULL)
 * is the list's read position and moves back if u sat before it. */
static size_t ulist_drop(rs_user_t **l, size_t n, const rs_user_t *u, size_t *pos) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (l[i] != u)
            l[o++] = l[i];
        else if (pos && i < *pos)
            (*pos)--;
    }
    return o;
}

/* Takes a loaded user out of memory and queues its delete. */
static void user_drop(rs_state_t *st, rs_user_t *u, uint64_t h) {
    strmap_del(&st->users_by_id, u, h);
    if (u->dirty)
        st->n_dirty_users = ulist_drop(st->dirty_users, st->n_dirty_users, u, &st->du_pos);
    if (u->touched) st->n_touched = ulist_drop(st->touched, st->n_touched, u, NULL);
    queue_delete(st, u->id, u->id_len);
    user_free(u);
    st->n_users--;
}

static rs_err_t user_delete_key(rs_state_t *st, const char *id, size_t len, char *errstr,
                                size_t errstr_size);

rs_err_t rs_state_user_delete(rs_state_t *st, const char *id, size_t len, char *errstr,
                              size_t errstr_size) {
    if (st->read_only) return rs_seterr(errstr, errstr_size, RS_ESTATE, "state is read-only");
    size_t kl;
    const char *k = rs_state_user_key(st, id, len, &kl);
    char key[RS_USER_ID_HASH_LEN];
    if (k == st->idkey) memcpy(key, k, kl), k = key; /* the next call overwrites idkey */
    rs_err_t rc = user_delete_key(st, k, kl, errstr, errstr_size);
    if (rc == RS_ENOTFOUND && looks_hashed(st, id, len))
        rc = user_delete_key(st, id, len, errstr, errstr_size);
    return rc;
}

static rs_err_t user_delete_key(rs_state_t *st, const char *id, size_t len, char *errstr,
                                size_t errstr_size) {
    uint64_t h = rs_hash64(id, len);
    rs_user_t *u = rs_strmap_get(&st->users_by_id, id, len, h);
    if (!u) { /* a raw lookup: a corrupt profile must be deletable too */
        if (user_deleted(st, id, len))
            return rs_seterr(errstr, errstr_size, RS_ENOTFOUND, "unknown user");
        int rc = rs_rocks_get(st->db, RS_CF_USERS, id, len, &st->vbuf, errstr, errstr_size);
        if (rc == RS_ENOTFOUND) return rs_seterr(errstr, errstr_size, rc, "unknown user");
        if (rc) return rc;
        /* expired but not yet compacted (reads did not show it, so the caller
         * had nothing to forget): it leaves through the expiry hook */
        rs_user_t *tmp = user_alloc(st->conf, id, len);
        if (!user_decode(st, tmp, (const unsigned char *)st->vbuf.p, st->vbuf.len) &&
            expired_at(st, tmp, st->event_now))
            expire_hook(st, tmp);
        user_free(tmp);
    } else {
        if (u->pending)
            return rs_seterr(errstr, errstr_size, RS_ESTATE,
                             "user has a rate-limited emit pending in the pipeline");
        if (expired_at(st, u, st->event_now)) expire_hook(st, u);
        user_drop(st, u, h);
        return RS_OK;
    }
    queue_delete(st, id, len);
    return RS_OK;
}

void rs_state_on_expire(rs_state_t *st, rs_state_expire_fn_t *fn, void *opaque) {
    st->expire_fn = fn;
    st->expire_opaque = opaque;
}

uint64_t rs_state_users_expired(const rs_state_t *st) {
    return st->users_expired + rs_ttl_dropped(st->ttl);
}

int64_t rs_state__ttl_ms(const rs_state_t *st) {
    return st->ttl_ms;
}
rs_ttl_t *rs_state__ttl(rs_state_t *st) {
    return st->read_only ? NULL : st->ttl;
}
rs_rocks_t *rs_state__db(rs_state_t *st) {
    return st->db;
}

int rs_state__expire_user(rs_state_t *st, rs_user_t *u) {
    if (st->read_only || u->pending) return -1;
    expire_hook(st, u);
    user_drop(st, u, rs_hash64(u->id, u->id_len));
    return 0;
}

int rs_state__expire_key(rs_state_t *st, const char *key, size_t len) {
    uint64_t h = rs_hash64(key, len);
    rs_user_t *u = rs_strmap_get(&st->users_by_id, key, len, h);
    if (u) return expired_at(st, u, st->event_now) && !rs_state__expire_user(st, u);
    uint64_t before = st->users_expired;
    u = user_load(st, key, len, h, LOAD_WRITE, st->event_now);
    return st->users_expired > before;
}

int rs_state_users_foreach(rs_state_t *st, rs_state_user_fn_t *fn, void *opaque, char *errstr,
                           size_t errstr_size) {
    rs_user_t *tmp = user_alloc(st->conf, "", 0);
    rs_rocks_iter_t *it = rs_rocks_iter_new(st->db, RS_CF_USERS, NULL, 0);
    int rc = 0;
    for (; !rc && rs_rocks_iter_valid(it); rs_rocks_iter_next(it)) {
        size_t kl, vl;
        const char *k = rs_rocks_iter_key(it, &kl);
        const unsigned char *v = rs_rocks_iter_value(it, &vl);
        rs_user_t *u = rs_strmap_get(&st->users_by_id, k, kl, rs_hash64(k, kl));
        if (!u) {
            if (st->n_deleted && user_deleted(st, k, kl)) continue;
            if (user_decode(st, tmp, v, vl)) {
                rs_error("state", "corrupt profile for user %.*s: skipped", (int)kl, k);
                continue;
            }
            free(tmp->id); /* the temporary takes the key as its id */
            tmp->id = rs_xstrndup(k, kl);
            tmp->id_len = (uint32_t)kl;
            u = tmp;
        }
        if (expired_at(st, u, st->event_now)) continue;
        rc = fn(opaque, u);
    }
    if (!rc) rc = rs_rocks_iter_status(it, errstr, errstr_size);
    rs_rocks_iter_destroy(it);
    user_free(tmp);
    return rc;
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
        int bad = item_decode(st, &tmp, v, vl) != 0;
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
    name_ix(st, "", 0);
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
        if (st->users_by_id.e[i].v) user_free(st->users_by_id.e[i].v);
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

/* ------------------------------------------------------------------ offsets */

static rs_offset_t *offset_find(rs_state_t *st, const char *topic, int32_t partition) {
    /* records arrive in runs per partition: try the last hit first */
    if (st->last_off < st->n_offsets && st->offsets[st->last_off].partition == partition &&
        !strcmp(st->offsets[st->last_off].topic, topic))
        return &st->offsets[st->last_off];
    for (size_t i = 0; i < st->n_offsets; i++)
        if (st->offsets[i].partition == partition && !strcmp(st->offsets[i].topic, topic)) {
            st->last_off = i;
            return &st->offsets[i];
        }
    return NULL;
}

size_t rs_state_offset_count(const rs_state_t *st) {
    return st->n_offsets;
}

void rs_state_offset_at(const rs_state_t *st, size_t i, const char **topic, int32_t *partition,
                        int64_t *next) {
    *topic = st->offsets[i].topic;
    *partition = st->offsets[i].partition;
    *next = st->offsets[i].next;
}

int64_t rs_state_offset(rs_state_t *st, const char *topic, int32_t partition) {
    rs_offset_t *o = offset_find(st, topic, partition);
    return o ? o->next : -1;
}

void rs_state_offset_consumed(rs_state_t *st, const char *topic, int32_t partition,
                              int64_t offset) {
    rs_offset_t *o = offset_find(st, topic, partition);
    if (!o) {
        st->offsets = rs_xrealloc(st->offsets, (st->n_offsets + 1) * sizeof(*st->offsets));
        o = &st->offsets[st->n_offsets++];
        o->topic = rs_xstrdup(topic);
        o->partition = partition;
        o->next = -1;
    }
    if (offset + 1 > o->next) o->next = offset + 1;
    o->dirty = 1;
    st->uncommitted++;
}

/* ------------------------------------------------------------------ dedup */

int rs_state_dedup(rs_state_t *st, const char *event_id, size_t len) {
    if (st->conf->dedup_window <= 0 || !len) return 0;
    uint64_t h = rs_hash64(event_id, len);
    if (!h) h = 1;
    if (!rs_u64set_add(&st->dedup, h)) return 1;
    GROW(st->pend_h, st->n_pend_h, st->cap_pend_h);
    st->pend_h[st->n_pend_h++] = h;
    st->uncommitted++;
    return 0;
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
        user_reserve(u, (uint16_t)(u->n_recent + 1), 0);
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
    if (!u) u = user_load(st, uid, ulen, uh, LOAD_WRITE, now);
    if (!u) {
        u = user_alloc(conf, uid, ulen);
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
                user_reserve(u, 0, (uint16_t)(u->n_purchased + 1));
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
        uint32_t c = name_ix(st, ev->category.p, ev->category.len);
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
            if (st->n_pb + 2 > st->cap_pb) {
                st->cap_pb = st->cap_pb ? st->cap_pb * 2 : 4096;
                st->pb = rs_xrealloc(st->pb, st->cap_pb * sizeof(*st->pb));
            }
            st->pb[st->n_pb++] = (struct pair_inc){it->idx, r->item, (uint32_t)pw};
            st->pb[st->n_pb++] = (struct pair_inc){r->item, it->idx, (uint32_t)pw};
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
        catpop_move(st, it, name_ix(st, m->category.p, m->category.len));
        it->brand = name_ix(st, m->brand.p, m->brand.len);
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

/* Applies the buffered pair increments; small buffers in arrival order,
 * large ones grouped by item with a counting sort (O(pairs + items)). */
static void rows_sync(rs_state_t *st) {
    size_t n = st->n_pb;
    if (!n) return;
    struct pair_inc *v = st->pb;
    if (n >= 4096 && n >= st->n_items / 4) {
        if (st->cap_pb_count < st->n_items + 1) {
            st->cap_pb_count = st->n_items + 1;
            st->pb_count = rs_xrealloc(st->pb_count, st->cap_pb_count * sizeof(uint32_t));
        }
        uint32_t *cnt = st->pb_count;
        memset(cnt, 0, (st->n_items + 1) * sizeof(uint32_t));
        for (size_t i = 0; i < n; i++) cnt[v[i].a + 1]++;
        for (uint32_t i = 0; i < st->n_items; i++) cnt[i + 1] += cnt[i];
        st->pb_tmp = rs_xrealloc(st->pb_tmp, st->cap_pb * sizeof(*st->pb_tmp));
        for (size_t i = 0; i < n; i++) st->pb_tmp[cnt[v[i].a]++] = v[i];
        v = st->pb_tmp;
    }
    for (size_t i = 0; i < n; i++) row_add(st, st->items[v[i].a], v[i].b, v[i].w, 1);
    st->n_pb = 0;
}

rs_user_t **rs_state_touched(rs_state_t *st, size_t *n) {
    rows_sync(st);
    *n = st->n_touched;
    return st->touched;
}

void rs_state_touched_reset(rs_state_t *st) {
    for (size_t i = 0; i < st->n_touched; i++) st->touched[i]->touched = 0;
    st->n_touched = 0;
}

/* ------------------------------------------------------------------ commit */

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Serialises every change since the last call into a new WriteBatch and
 * appends it to the queue of unwritten batches; the in-memory deltas are
 * clean afterwards (the batch is the only copy of them). */
static void serialize_user(rs_state_t *st, rs_rocks_batch_t *b, rs_user_t *u) {
    user_encode(st, u, &st->vbuf);
    rs_rocks_batch_put(b, st->db, RS_CF_USERS, u->id, u->id_len, st->vbuf.p, st->vbuf.len);
    u->dirty = 0;
}

/* Item counts as a put; the row's uncommitted deltas as one merge operand
 * (a second operand for the same row in the same batch just adds up). */
static void serialize_item(rs_state_t *st, rs_rocks_batch_t *b, rs_item_t *it) {
    if (it->meta_dirty) {
        item_encode(st, it, &st->vbuf);
        rs_rocks_batch_put(b, st->db, RS_CF_ITEMS, it->id, it->id_len, st->vbuf.p, st->vbuf.len);
    }
    if (it->dirty_n) {
        qsort(it->dirty_nb, it->dirty_n, sizeof(uint32_t), cmp_u32);
        rs_buf_reset(&st->vbuf);
        rs_buf_reserve(&st->vbuf, (size_t)it->dirty_n * 8);
        for (uint32_t j = 0; j < it->dirty_n; j++) {
            rs_nbent_t *ne = row_find(it, it->dirty_nb[j]);
            unsigned char e[8];
            rs_put_u32(e, it->dirty_nb[j]);
            rs_put_u32(e + 4, ne ? ne->delta : 0);
            rs_buf_append(&st->vbuf, e, 8);
            if (ne) ne->delta = 0;
        }
        unsigned char k[4] = {(unsigned char)(it->idx >> 24), (unsigned char)(it->idx >> 16),
                              (unsigned char)(it->idx >> 8), (unsigned char)it->idx};
        rs_rocks_batch_merge(b, st->db, RS_CF_COOC, k, 4, st->vbuf.p, st->vbuf.len);
    }
    it->dirty_n = 0;
    it->meta_dirty = 0;
    it->in_dirty_list = 0;
}

/* Items with at most this many changed neighbours are serialised during the
 * interval (rs_state_commit_step); the others wait for the commit. A hot
 * item changes in nearly every drain, and re-serialising it each time would
 * multiply the work; the long tail of cold items was most of the commit's
 * loop stall (~10k items, ~100k neighbour deltas, 15-20 ms at 20k events/s). */
#define ITEM_EARLY_MAX_NB 16

/* Serialises up to `budget` dirty users, and cold items, into the open
 * batch; with `all`, every dirty user and item (the commit). Returns how
 * many it did. Objects dirtied again later are simply serialised again
 * (the last put wins, merge operands add), so the batch stays exact while
 * the work is spread over the interval instead of stalling the loop. */
static size_t serialize_some(rs_state_t *st, size_t budget, int all) {
    if (!st->open) st->open = rs_rocks_batch_new();
    size_t done = 0;
    while (done < budget && st->du_pos < st->n_dirty_users) {
        rs_user_t *u = st->dirty_users[st->du_pos++];
        if (u->dirty) serialize_user(st, st->open, u), done++;
    }
    if (st->du_pos == st->n_dirty_users) st->du_pos = st->n_dirty_users = 0;
    if (all) {
        for (size_t i = 0; i < st->n_dirty_items; i++) {
            rs_item_t *it = st->items[st->dirty_items[i]];
            if (it->in_dirty_list) serialize_item(st, st->open, it), done++;
        }
        st->n_dirty_items = st->di_pos = st->di_keep = 0;
        return done;
    }
    /* cold items now; hot ones are compacted into [0, di_keep) */
    size_t keep = st->di_keep, p = st->di_pos, n = st->n_dirty_items;
    while (done < budget && p < n) {
        uint32_t idx = st->dirty_items[p++];
        rs_item_t *it = st->items[idx];
        if (!it->in_dirty_list) continue;
        if (it->dirty_n > ITEM_EARLY_MAX_NB)
            st->dirty_items[keep++] = idx;
        else
            serialize_item(st, st->open, it), done++;
    }
    if (p > keep) memmove(st->dirty_items + keep, st->dirty_items + p, (n - p) * sizeof(uint32_t));
    st->n_dirty_items = keep + (n - p);
    st->di_keep = st->di_pos = keep;
    return done;
}

void rs_state_commit_step(rs_state_t *st, size_t budget) {
    if (st->read_only) return;
    if (st->ttl) rs_state_expire_step(st, budget);
    rows_sync(st);
    serialize_some(st, budget, 0);
}

/* Serialises every change since the last call into the open WriteBatch and
 * appends it to the queue of unwritten batches; the in-memory deltas are
 * clean afterwards (the batch is the only copy of them). */
/* ------------------------------------------------------------------ blobs */

/* meta key "b" + name (offsets are "o" + partition + topic) */
static void blob_key(rs_buf_t *k, const char *name) {
    rs_buf_reset(k);
    rs_buf_append(k, "b", 1);
    rs_buf_append(k, name, strlen(name));
}

void rs_state_blob_set(rs_state_t *st, const char *name, const void *p, size_t len) {
    size_t i;
    for (i = 0; i < st->n_blobs; i++)
        if (!strcmp(st->blobs[i].name, name)) break;
    if (i == st->n_blobs) {
        GROW(st->blobs, st->n_blobs, st->cap_blobs);
        memset(&st->blobs[i], 0, sizeof(st->blobs[i]));
        st->blobs[i].name = rs_xstrdup(name);
        st->n_blobs++;
    }
    rs_buf_reset(&st->blobs[i].v);
    rs_buf_append(&st->blobs[i].v, p, len);
}

int rs_state_blob_get(rs_state_t *st, const char *name, rs_buf_t *out) {
    rs_buf_reset(out);
    for (size_t i = 0; i < st->n_blobs; i++)
        if (!strcmp(st->blobs[i].name, name)) {
            rs_buf_append(out, st->blobs[i].v.p, st->blobs[i].v.len);
            return 1;
        }
    char err[256];
    blob_key(&st->kbuf, name);
    int rc = rs_rocks_get(st->db, RS_CF_META, st->kbuf.p, st->kbuf.len, out, err, sizeof(err));
    if (rc == RS_ENOTFOUND) return 0;
    if (rc) {
        rs_error("state", "reading %s: %s", name, err);
        return rc;
    }
    return 1;
}

rs_user_t *rs_state_user_next(rs_state_t *st, size_t *cursor) {
    while (*cursor < st->users_by_id.cap) {
        rs_user_t *u = st->users_by_id.e[(*cursor)++].v;
        if (u) return u;
    }
    return NULL;
}

static void commit_prepare(rs_state_t *st) {
    rows_sync(st);
    if (!st->uncommitted && !st->n_dirty_users && !st->n_dirty_items && !st->n_blobs &&
        !(st->open && rs_rocks_batch_count(st->open)))
        return;
    serialize_some(st, SIZE_MAX, 1);
    rs_rocks_batch_t *b = st->open;
    st->open = NULL;
    unsigned char k[8];

    for (size_t i = 0; i < st->n_offsets; i++) {
        rs_offset_t *o = &st->offsets[i];
        if (!o->dirty) continue;
        rs_buf_reset(&st->kbuf);
        unsigned char hdr[5] = {'o', (unsigned char)((uint32_t)o->partition >> 24),
                                (unsigned char)((uint32_t)o->partition >> 16),
                                (unsigned char)((uint32_t)o->partition >> 8),
                                (unsigned char)o->partition};
        rs_buf_append(&st->kbuf, hdr, 5);
        rs_buf_append(&st->kbuf, o->topic, strlen(o->topic));
        unsigned char v[8];
        rs_put_u64(v, (uint64_t)o->next);
        rs_rocks_batch_put(b, st->db, RS_CF_META, st->kbuf.p, st->kbuf.len, v, 8);
        o->dirty = 0;
    }
    for (size_t i = 0; i < st->n_blobs; i++) {
        blob_key(&st->kbuf, st->blobs[i].name);
        rs_rocks_batch_put(b, st->db, RS_CF_META, st->kbuf.p, st->kbuf.len, st->blobs[i].v.p,
                           st->blobs[i].v.len);
        free(st->blobs[i].name);
        rs_buf_free(&st->blobs[i].v);
    }
    st->n_blobs = 0;
    /* dedup: the batch's ids as one chunk; the oldest chunks leave the window */
    if (st->n_pend_h) {
        rs_put_be64(k, st->next_chunk_seq);
        rs_buf_reset(&st->vbuf);
        for (size_t i = 0; i < st->n_pend_h; i++) {
            unsigned char e[8];
            rs_put_u64(e, st->pend_h[i]);
            rs_buf_append(&st->vbuf, e, 8);
        }
        rs_rocks_batch_put(b, st->db, RS_CF_DEDUP, k, 8, st->vbuf.p, st->vbuf.len);
        uint64_t total = st->chunk_total + st->n_pend_h;
        size_t n_evict = 0;
        while (n_evict < st->n_chunks &&
               total - st->chunks[n_evict].n >= (uint64_t)st->conf->dedup_window) {
            total -= st->chunks[n_evict].n;
            rs_put_be64(k, st->chunks[n_evict].seq);
            rs_rocks_batch_delete(b, st->db, RS_CF_DEDUP, k, 8);
            for (uint32_t j = 0; j < st->chunks[n_evict].n; j++)
                rs_u64set_del(&st->dedup, st->chunks[n_evict].h[j]);
            st->chunk_total -= st->chunks[n_evict].n;
            free(st->chunks[n_evict].h);
            n_evict++;
        }
        if (n_evict)
            memmove(st->chunks, st->chunks + n_evict,
                    (st->n_chunks - n_evict) * sizeof(rs_chunk_t));
        st->n_chunks -= n_evict;
        GROW(st->chunks, st->n_chunks, st->cap_chunks);
        rs_chunk_t *c = &st->chunks[st->n_chunks++];
        c->seq = st->next_chunk_seq++;
        c->n = (uint32_t)st->n_pend_h;
        c->h = rs_xmalloc(st->n_pend_h * sizeof(uint64_t));
        memcpy(c->h, st->pend_h, st->n_pend_h * sizeof(uint64_t));
        st->chunk_total += c->n;
        st->n_pend_h = 0;
    }
    st->uncommitted = 0;
    if (rs_rocks_batch_count(b) == 0) {
        rs_rocks_batch_destroy(b);
        return;
    }
    GROW(st->unwritten, st->n_unwritten, st->cap_unwritten);
    st->unwritten[st->n_unwritten++] = (struct unwritten){b, st->event_now};
    st->batches_queued++;
}

static void unwritten_pop(rs_state_t *st) {
    rs_rocks_batch_destroy(st->unwritten[0].b);
    rs_ttl_publish(st->ttl, st->unwritten[0].watermark); /* the filter judges durable state */
    memmove(st->unwritten, st->unwritten + 1, (st->n_unwritten - 1) * sizeof(*st->unwritten));
    st->n_unwritten--;
    st->batches_written++;
    /* deletes now durable: RocksDB itself answers "absent" for those users */
    size_t o = 0;
    for (size_t i = 0; i < st->n_deleted; i++) {
        if (st->deleted[i].seq < st->batches_written)
            free(st->deleted[i].id);
        else
            st->deleted[o++] = st->deleted[i];
    }
    if (o != st->n_deleted) { /* ids may share a hash: rebuild rather than remove */
        rs_u64set_free(&st->deleted_set);
        for (size_t i = 0; i < o; i++)
            rs_u64set_add(&st->deleted_set, rs_hash64(st->deleted[i].id, st->deleted[i].len) | 1);
    }
    st->n_deleted = o;
}

rs_err_t rs_state_commit(rs_state_t *st, char *errstr, size_t errstr_size) {
    if (st->read_only) return rs_seterr(errstr, errstr_size, RS_ESTATE, "state is read-only");
    if (st->inflight) return rs_seterr(errstr, errstr_size, RS_ESTATE, "a commit is in flight");
    commit_prepare(st);
    while (st->n_unwritten) {
        int rc = rs_rocks_write(st->db, st->unwritten[0].b, errstr, errstr_size);
        if (rc) return rc; /* kept: the next commit writes it first */
        unwritten_pop(st);
    }
    return RS_OK;
}

rs_state_commit_t *rs_state_commit_begin(rs_state_t *st) {
    if (st->read_only || st->inflight) return NULL;
    commit_prepare(st);
    if (!st->n_unwritten) return NULL;
    st->inflight = 1;
    return (rs_state_commit_t *)st->unwritten[0].b;
}

rs_err_t rs_state_commit_write(rs_state_t *st, rs_state_commit_t *c, char *errstr,
                               size_t errstr_size) {
    return rs_rocks_write(st->db, (rs_rocks_batch_t *)c, errstr, errstr_size);
}

int rs_state_commit_end(rs_state_t *st, rs_state_commit_t *c, rs_err_t rc) {
    st->inflight = 0;
    if (rc == RS_OK && st->n_unwritten && (rs_state_commit_t *)st->unwritten[0].b == c)
        unwritten_pop(st);
    return (int)st->n_unwritten;
}

size_t rs_state_uncommitted(const rs_state_t *st) {
    return st->uncommitted + st->n_unwritten;
}

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
    rows_sync(st);
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
static void top_rebuild(rs_state_t *st, rs_item_t *it) {
    uint32_t cap = (uint32_t)st->conf->rec_neighbors;
    if (!it->top) it->top = rs_xmalloc((cap ? cap : 1) * sizeof(rs_nbr_t));
    /* min-heap of the best `cap` (root = worst kept) */
    rs_nbr_t *h = it->top;
    uint32_t hn = 0;
    for (uint32_t i = 0; i < it->nb_cap && cap; i++) {
        if (it->nb[i].key == NB_EMPTY) continue;
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
    it->top_n = hn;
    it->top_weight = (double)it->weight;
}

const rs_nbr_t *rs_state_item_top(rs_state_t *st, rs_item_t *it, uint32_t *n) {
    rows_sync(st);
    if (!it->top && it->nb_n) top_rebuild(st, it); /* a row loaded at open */
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
    rows_sync(st);
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
        qsort(nb, n, sizeof(uint32_t), cmp_u32);
        for (size_t j = 0; j < n; j++) {
            const rs_item_t *b = sorted[nb[j]];
            fprintf(out, "cooc %.*s %.*s %u\n", (int)it->id_len, it->id, (int)b->id_len, b->id,
                    row_find(it, b->idx)->cnt);
        }
    }
    free(nb);
    free(rank);
    free(sorted);

    rs_user_t *u = user_alloc(st->conf, "", 0);
    rs_rocks_iter_t *iter = rs_rocks_iter_new(st->db, RS_CF_USERS, NULL, 0);
    for (; rs_rocks_iter_valid(iter); rs_rocks_iter_next(iter)) {
        size_t kl, vl;
        const char *k = rs_rocks_iter_key(iter, &kl);
        const unsigned char *v = rs_rocks_iter_value(iter, &vl);
        if (user_decode(st, u, v, vl)) {
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
    user_free(u);
    int rc = rs_rocks_iter_status(iter, errstr, errstr_size);
    rs_rocks_iter_destroy(iter);
    return rc;
}
