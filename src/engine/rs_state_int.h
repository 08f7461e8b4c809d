/* rs_state_int.h -- private to the rs_state*.c files (the state module):
 * struct rs_state, the hot-path helpers they share, and the rs_state__
 * functions one of them defines for the others. Not for other modules;
 * they use include/recstream/rs_state.h.
 *
 * Files: rs_state.c (items, rows, apply, open/close), rs_state_user.c
 * (profiles in memory, load, delete, expiry hooks, id hashing),
 * rs_state_codec.c (stored item and user records), rs_state_commit.c
 * (offsets, dedup, the WriteBatch, blobs), rs_state_read.c (lookups,
 * top lists, popularity, tags, dump), rs_state_ttl.c (retention, the
 * compaction filter). The DESIGN note and key encoding are in rs_state.c.
 *
 * The helpers below are static inline, not rs_state__ calls, because they
 * run per event or per neighbour (similarity, row probing, ranking). */
#ifndef RS_STATE_INT_H
#define RS_STATE_INT_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h> /* rs_state_map.h and GROW need free/realloc */

#include "recstream/rs_crypto.h"
#include "recstream/rs_rocks.h"
#include "recstream/rs_state.h"
#include "rs_state_map.h"

/* The retention rule, shared by the loop and the compaction filter: a user
 * whose newest event is older than the watermark minus the TTL is gone. */
static inline int rs_ttl_rule(int64_t ttl_ms, int64_t last_ts, int64_t watermark) {
    return ttl_ms > 0 && watermark > 0 && last_ts < watermark - ttl_ms;
}

typedef struct rs_ttl rs_ttl_t;

/* ---- rs_state_ttl.c ---- */
rs_ttl_t *rs_ttl_new(const rs_conf_t *conf); /* NULL when state.user.ttl.ms is 0 */
void rs_ttl_destroy(rs_ttl_t *t);            /* NULL-safe; after the db is closed */
/* Installs the compaction filter on the users family (before rs_rocks_open). */
void rs_ttl_rocks_opts(rs_ttl_t *t, rs_rocks_opts_t *o);
/* After the open: periodic compaction of the users family. */
void rs_ttl_rocks_opened(rs_ttl_t *t, rs_rocks_t *db);
/* The event-time watermark of the durable state, for the filter threads. */
void rs_ttl_publish(rs_ttl_t *t, int64_t watermark);
/* Users the filter dropped (no loop work needed). */
uint64_t rs_ttl_dropped(const rs_ttl_t *t);
/* Reads a stored user value without the state (any thread): its last event
 * time and whether it is counted in segment aggregates. 0, or -1 if the
 * value cannot be parsed. */
int rs_state__user_scan(const void *v, size_t len, int64_t *last_ts, int *aggregated);

/* ---- struct rs_state and its helpers ---- */

#define NB_EMPTY UINT32_MAX
/* rs_nbent_t.delta's top bit: the entry is in its item's top-N list, so a
 * count update needs the list searched only then; the low 31 bits are the
 * uncommitted delta (commit.max.events bounds it far below 2^31). */
#define NB_IN_TOP    0x80000000u
#define NB_DELTA_MAX 0x7fffffffu

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
    rs_user_t **dirty_users; /* [0, du_pos) hot, left to the commit; [du_pos, n) not yet
                              * visited; all dirty unless dropped since */
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
    rs_rocks_batch_t *open;  /* the WriteBatch being filled for the next commit */
    rs_rocks_batch_t *spare; /* a written batch, cleared, kept to be the next open one */
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
     * (rs_state__rows_sync) before anything reads the rows: consecutive updates then hit
     * the same row in cache instead of a random one per pair. One entry per
     * pair; the sort expands it into both directions (pb_tmp, grouped by item,
     * the item implied by the run), which needs 28 bytes a pair instead of 48 */
    struct pair_inc {
        uint32_t a, b, w;
    } * pb;
    struct nb_inc {
        uint32_t b, w;
    } * pb_tmp;
    size_t n_pb, cap_pb, cap_pb_tmp;
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

/* ---- hot-path helpers (static inline: per event / per neighbour) ---- */

static inline uint32_t nb_slot(uint32_t k, uint32_t cap) {
    return (uint32_t)((k * 0x9E3779B1u) & (cap - 1));
}

/* Dunning's log-likelihood ratio of a 2x2 contingency table, in Mahout's
 * form: 2 * (rowEntropy + colEntropy - matrixEntropy), unnormalised. */
static inline double xlogx(double x) {
    return x > 0 ? x * log(x) : 0.0;
}
static inline double llr(double k11, double k12, double k21, double k22) {
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

static inline int nbr_better(const rs_nbr_t *a, const rs_nbr_t *b) {
    return a->sim > b->sim || (a->sim == b->sim && a->item < b->item);
}

static inline rs_nbent_t *row_find(const rs_item_t *it, uint32_t nbr) {
    if (!it->nb_cap) return NULL;
    for (uint32_t j = nb_slot(nbr, it->nb_cap);; j = (j + 1) & (it->nb_cap - 1)) {
        if (it->nb[j].key == nbr) return &it->nb[j];
        if (it->nb[j].key == NB_EMPTY) return NULL;
    }
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

static inline int expired_at(const rs_state_t *st, const rs_user_t *u, int64_t now) {
    return rs_ttl_rule(st->ttl_ms, u->last_ts, now) && !u->pending;
}

static inline void mark_user_dirty(rs_state_t *st, rs_user_t *u) {
    if (u->dirty) return;
    u->dirty = 1;
    GROW(st->dirty_users, st->n_dirty_users, st->cap_dirty_users);
    st->dirty_users[st->n_dirty_users++] = u;
}

enum { LOAD_READ, LOAD_WRITE }; /* rs_state__user_load modes */

/* ---- rs_state_user.c ---- */
int64_t rs_state__ttl_ms(const rs_state_t *st);
rs_ttl_t *rs_state__ttl(rs_state_t *st);
rs_rocks_t *rs_state__db(rs_state_t *st);
/* Expires a loaded user: the hook, out of memory, a delete in the open
 * batch. 0 done, -1 skipped (a rate-limited emit holds a pointer to it). */
int rs_state__expire_user(rs_state_t *st, rs_user_t *u);
/* Expires the user stored (or loaded) under key if the rule says so;
 * 1 expired, 0 not. */
int rs_state__expire_key(rs_state_t *st, const char *key, size_t len);

/* Profile allocation (small rings, grown by rs_state__user_reserve). */
rs_user_t *rs_state__user_alloc(const rs_conf_t *conf, const char *id, size_t len);
/* Grows u's recent/purchased arrays to hold at least the given counts. */
void rs_state__user_reserve(rs_user_t *u, uint16_t recent, uint16_t purchased);
void rs_state__user_free(rs_user_t *u); /* NULL-safe */
/* Loads a user from RocksDB into memory; NULL if absent, expired or corrupt.
 * LOAD_WRITE also expires an expired profile (hook + delete). */
rs_user_t *rs_state__user_load(rs_state_t *st, const char *id, size_t len, uint64_t h, int mode,
                               int64_t now);

/* ---- rs_state.c ---- */
/* Interns a category/brand name; "" is 0. */
uint32_t rs_state__name_ix(rs_state_t *st, const char *s, size_t len);
/* Applies the buffered co-occurrence increments; before anything reads rows. */
void rs_state__rows_sync(rs_state_t *st);

/* ---- rs_state_codec.c (layouts: KEY ENCODING in rs_state.c) ---- */
/* Item record into v (reset first). */
void rs_state__item_encode(const rs_state_t *st, const rs_item_t *it, rs_buf_t *v);
/* Item record into it (idx, counts, names interned); 0, or -1 if corrupt. */
int rs_state__item_decode(rs_state_t *st, rs_item_t *it, const unsigned char *p, size_t len);
/* User record into v (reset first), with its behaviour and watch blocks. */
void rs_state__user_encode(const rs_state_t *st, const rs_user_t *u, rs_buf_t *v);
/* User record into u (rings clipped to the config); 0, or -1 if corrupt. */
int rs_state__user_decode(rs_state_t *st, rs_user_t *u, const unsigned char *p, size_t len);

/* ---- rs_state_commit.c ---- */
/* st->open, created (or taken from st->spare) if there is none. */
rs_rocks_batch_t *rs_state__open_batch(rs_state_t *st);

/* ---- rs_state_read.c ---- */
/* Rebuilds an item's top-N neighbour list from its whole row. */
void rs_state__top_rebuild(rs_state_t *st, rs_item_t *it);

#endif
