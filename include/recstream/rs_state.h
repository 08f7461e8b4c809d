/* rs_state.h -- the engine's state: user profiles, item stats, item-item
 * co-occurrence, the event-id dedup window and the consumed offsets.
 *
 * RocksDB (rs_rocks) is the durable copy; this module keeps the working set
 * in memory and writes every change of one batch in ONE WriteBatch together
 * with the offsets that produced it (SPEC F7). Items, co-occurrence rows, the
 * dedup window and offsets are loaded whole at open; users are loaded on
 * first touch. See src/engine/rs_state.c for the key encoding.
 *
 * Ownership: rs_state_t owns everything reachable from it; pointers it
 * returns (users, items, strings) stay valid until rs_state_close().
 * Thread: loop thread only. */
#ifndef RS_STATE_H
#define RS_STATE_H

#include <stdint.h>
#include <stdio.h>

#include "rs_alert.h"
#include "rs_buf.h"
#include "rs_conf.h"
#include "rs_err.h"
#include "rs_event.h"
#include "rs_segment.h"

typedef struct rs_state rs_state_t;

/* One neighbour in an item's top-N list. sim is as of the entry's last
 * update (it orders the list); rs_state_sim() gives the current value. */
typedef struct rs_nbr {
    uint32_t item;
    float sim;
    uint32_t cnt; /* co-occurrence count (x rs_state_pair_scale) */
} rs_nbr_t;

/* One co-occurrence entry: neighbour, count, and the part of the count not
 * yet committed (interleaved so a probe touches one cache line). */
typedef struct rs_nbent {
    uint32_t key; /* neighbour item idx, UINT32_MAX = empty slot */
    uint32_t cnt;
    uint32_t delta; /* top bit: listed in the item's top-N (rs_state.c) */
} rs_nbent_t;

/* Item flags (catalog and business rules). */
enum {
    RS_ITEM_OUT_OF_STOCK = 1u << 0, /* catalog stock <= 0 */
    RS_ITEM_BLOCKED = 1u << 1,      /* on rec.blocklist */
    RS_ITEM_DELETED = 1u << 2,      /* catalog tombstone */
};
#define RS_ITEM_HIDDEN (RS_ITEM_OUT_OF_STOCK | RS_ITEM_BLOCKED | RS_ITEM_DELETED)

/* Per-item state. Fields are read-only outside rs_state.c. */
typedef struct rs_item {
    char *id;
    uint32_t id_len;
    uint32_t idx;
    uint32_t counts[RS_EV__COUNT];
    uint64_t
        weight; /* n(a): users it is new to (not in their recent ring); similarity, popularity */
    uint64_t pop_seq; /* state-wide sequence number of its last weight increase (ties) */
    double wpow;      /* weight^rec.alpha, cached for similarity */
    double pop_log;   /* log2 of the event-time-decayed popularity * 2^(t/h); see rs_state.c */
    double trend_log; /* the same with trending.halflife.ms */
    int64_t first_ts, last_ts;
    /* co-occurrence row: open addressing */
    rs_nbent_t *nb;
    uint32_t nb_cap, nb_n;
    uint32_t *dirty_nb; /* neighbours with a nonzero delta in this batch */
    uint32_t dirty_n, dirty_cap;
    rs_nbr_t *top; /* top-N neighbours by similarity, maintained incrementally */
    uint32_t top_n;
    double top_weight;  /* item weight when the list was last rebuilt from the row */
    uint8_t meta_dirty; /* counts changed in this batch */
    uint8_t in_dirty_list;
    uint8_t in_catpop;     /* listed in its category's popular list */
    uint8_t flags;         /* RS_ITEM_* */
    uint32_t category;     /* interned name (rs_state_name), 0 = unknown */
    uint32_t brand;        /* interned name, 0 = unknown */
    double price;          /* last known price, < 0 = unknown */
    char *attrs;           /* catalog attributes "k=v;k=v" (NULL = none) */
    rs_alert_item_t alert; /* detector state (rs_alert.c) */
} rs_item_t;

/* A catalog record for one item (F3 `items` topic, schemas/item.avsc), or a
 * tombstone. Absent strings are RS_STR_NULL. */
typedef struct rs_item_meta {
    rs_str_t item_id;
    rs_str_t category, brand;
    rs_str_t attrs; /* "k=v;k=v" */
    double price;   /* < 0 = unknown */
    int64_t stock;  /* < 0 = unknown; 0 = out of stock */
    int deleted;    /* tombstone: hide the item, forget its attributes */
} rs_item_meta_t;

typedef struct rs_recent {
    uint32_t item;
    uint8_t type;
    int64_t ts;
} rs_recent_t;

/* A decayed affinity to a category or brand: log2 of the event-time-decayed
 * weight x 2^(t/h) (profile.affinity.halflife.ms), comparable across entries. */
typedef struct rs_affinity {
    uint32_t ix; /* interned name, 0 = empty slot */
    double log_w;
} rs_affinity_t;

#define RS_PROFILE_CATS   8
#define RS_PROFILE_BRANDS 4

/* Time-of-day buckets (UTC hours) and device classes of the profile mixes. */
enum { RS_TOD_NIGHT = 0, RS_TOD_MORNING, RS_TOD_AFTERNOON, RS_TOD_EVENING, RS_TOD__COUNT };
enum { RS_DEV_MOBILE = 0, RS_DEV_DESKTOP, RS_DEV_APP, RS_DEV_OTHER, RS_DEV__COUNT };

/* Per-user profile. */
typedef struct rs_user {
    char *id;
    uint32_t id_len;
    uint32_t counts[RS_EV__COUNT];
    int64_t first_ts, last_ts;
    uint32_t sessions;
    uint64_t session_hash; /* hash of the current session id (0 = gap-based) */
    uint32_t purchases;
    double monetary;   /* sum of purchase prices */
    uint16_t n_recent; /* recent[0] is the most recent; distinct items */
    uint16_t n_purchased;
    uint16_t cap_recent, cap_purchased; /* grow up to conf ring sizes */
    rs_recent_t *recent;                /* at most conf->recent_items */
    uint32_t *purchased;                /* FIFO, at most conf->purchased_max */
    int64_t *purchased_ts;              /* event time of the last purchase of each */
    /* behaviour (F4) */
    int64_t dwell_ms;  /* sum of view dwell times: gap to the next event of the session */
    uint32_t dwell_n;  /* views with a measured dwell */
    uint8_t last_type; /* type of the newest event (a view's dwell ends at the next one) */
    int64_t first_purchase_ts, last_purchase_ts;
    uint32_t tod[RS_TOD__COUNT];    /* events by UTC time of day: 0-6, 6-12, 12-18, 18-24 */
    uint32_t device[RS_DEV__COUNT]; /* events by device class (events that carry one) */
    double price_sum;               /* prices on the user's events */
    uint32_t price_n;
    rs_affinity_t cat_aff[RS_PROFILE_CATS];
    rs_affinity_t brand_aff[RS_PROFILE_BRANDS];
    rs_alert_user_t alert; /* detector state (rs_alert.c) */
    rs_segment_user_t seg; /* segment state (rs_segment.c) */
    /* recommendation bookkeeping (stored with the profile) */
    int64_t rec_version;
    uint64_t rec_hash;
    int64_t rec_emit_ms;
    int64_t rec_ts;    /* newest event time since the last scoring */
    int64_t origin_us; /* oldest produce time among events since the last scoring */
    uint8_t dirty, touched, pending;
    /* the commit interval (1-255, cycling; 0 = none) in which the user was
     * last serialised before its commit (rs_state_commit_step): a user
     * dirtied again in that interval waits for the commit instead */
    uint8_t early_gen;
} rs_user_t;

rs_err_t rs_state_open(rs_state_t **out, const rs_conf_t *conf, char *errstr, size_t errstr_size);
/* Opens a state dir read-only (inspect); no writes allowed. */
rs_err_t rs_state_open_ro(rs_state_t **out, const rs_conf_t *conf, char *errstr,
                          size_t errstr_size);
void rs_state_close(rs_state_t *st); /* NULL-safe; discards an uncommitted batch */

/* ---- offsets (F7) ---- */
/* Next offset to consume for topic/partition, or -1 if none stored. */
int64_t rs_state_offset(rs_state_t *st, const char *topic, int32_t partition);
/* Stored offsets, for handing them to Kafka after a commit. The topic
 * string is owned by the state and lives until rs_state_close(). */
size_t rs_state_offset_count(const rs_state_t *st);
void rs_state_offset_at(const rs_state_t *st, size_t i, const char **topic, int32_t *partition,
                        int64_t *next);
/* Record that `offset` was consumed (next = offset+1), committed with the
 * batch. 0 if it was consumed already (offset < next: the client handed the
 * record out again; nothing changes), else 1. */
int rs_state_offset_consumed(rs_state_t *st, const char *topic, int32_t partition, int64_t offset);

/* ---- dedup ---- */
/* 1 if this event id was seen in the window (then nothing is recorded),
 * else records it and returns 0. */
int rs_state_dedup(rs_state_t *st, const char *event_id, size_t len);

/* ---- apply ---- */
/* Applies one valid event to profile, item stats and co-occurrence. Marks
 * the user touched (for scoring) and returns it. *late set if the event is
 * older than the user's last event. */
rs_user_t *rs_state_apply(rs_state_t *st, const rs_event_t *ev, int64_t origin_us, int *late);
/* The item of the last rs_state_apply() (valid like any item pointer). */
rs_item_t *rs_state_applied_item(const rs_state_t *st);

/* Users touched since rs_state_touched_reset(), in first-touch order. */
rs_user_t **rs_state_touched(rs_state_t *st, size_t *n);
void rs_state_touched_reset(rs_state_t *st);
/* Mark a user's rec bookkeeping dirty (after scoring changed it). */
void rs_state_user_recs_dirty(rs_state_t *st, rs_user_t *u);

/* ---- commit ----
 * Every change since the last commit + the consumed offsets are serialised
 * into ONE WriteBatch. A batch that fails to write stays queued and is
 * written again (atomic, so retrying is exact) before any later batch. */
rs_err_t rs_state_commit(rs_state_t *st, char *errstr, size_t errstr_size);
/* The same in three steps so the write can run on a pool thread while the
 * loop goes on: begin (loop thread) serialises and returns the oldest
 * unwritten batch, or NULL if there is none or one is already in flight;
 * write (any thread; touches only RocksDB) writes it; end (loop thread)
 * retires it on success and returns how many batches remain unwritten. */
typedef struct rs_state_commit rs_state_commit_t;
/* Serialises up to `budget` dirty users into the next batch now, so the
 * commit itself has little left to do (bounds the loop stall per commit). */
void rs_state_commit_step(rs_state_t *st, size_t budget);
rs_state_commit_t *rs_state_commit_begin(rs_state_t *st);
rs_err_t rs_state_commit_write(rs_state_t *st, rs_state_commit_t *c, char *errstr,
                               size_t errstr_size);
int rs_state_commit_end(rs_state_t *st, rs_state_commit_t *c, rs_err_t rc);
/* Records/changes applied but not yet durable (0 = everything committed). */
size_t rs_state_uncommitted(const rs_state_t *st);

/* ---- profile views (F4) ---- */
/* Readable tags of a user, comma-separated into buf: "likes:<category>",
 * "price:premium" / "price:budget", "night-owl", "mobile-first",
 * "app-user", "big-spender", "browser". Returns the count. */
size_t rs_state_user_tags(const rs_state_t *st, const rs_user_t *u, char *buf, size_t size);
/* Share (0..1) of an affinity entry among the user's entries of that kind. */
double rs_state_affinity_share(const rs_affinity_t *a, size_t n, size_t i);
/* Mean price of the items whose price is known (0 if none). */
double rs_state_mean_item_price(const rs_state_t *st);

/* ---- catalog ---- */
/* Applies a catalog record: category, brand, price, stock and attributes
 * replace the item's (creating the item if it has no events yet, so new
 * items can be recommended by content). Committed with the next batch. */
rs_item_t *rs_state_item_meta(rs_state_t *st, const rs_item_meta_t *m);
/* Interned category/brand names: 0 is "" (unknown). */
const char *rs_state_name(const rs_state_t *st, uint32_t ix, uint32_t *len);
uint32_t rs_state_name_count(const rs_state_t *st);
/* Index of an interned name, 0 if unknown. */
uint32_t rs_state_name_lookup(const rs_state_t *st, const char *s, size_t len);

/* ---- read access ---- */
rs_user_t *rs_state_user_get(rs_state_t *st, const char *id,
                             size_t len); /* loads; NULL if unknown */
rs_item_t *rs_state_item_by_idx(rs_state_t *st, uint32_t idx);
rs_item_t *rs_state_item_get(rs_state_t *st, const char *id, size_t len); /* NULL if unknown */
uint32_t rs_state_item_count(const rs_state_t *st);
uint64_t rs_state_user_cached(const rs_state_t *st);
uint64_t rs_state_cooc_entries(const rs_state_t *st);
/* Applies buffered co-occurrence increments to the rows (done implicitly by
 * scoring, commits and dumps; call before reading rows directly). */
void rs_state_sync(rs_state_t *st);
uint64_t rs_state_total_weight(const rs_state_t *st);
/* Max event time applied so far ("now" in event time). */
int64_t rs_state_event_now(const rs_state_t *st);
/* Similarity of a and its neighbour b with co-occurrence count cnt, from
 * the current item weights (rec.similarity, rec.alpha). */
float rs_state_sim(const rs_state_t *st, const rs_item_t *a, uint32_t b, uint32_t cnt);
/* Top-N neighbours of an item, best first as of their last update: kept
 * current as pairs grow and rebuilt from the row when the item's weight
 * has grown by a quarter (see rs_state.c). */
const rs_nbr_t *rs_state_item_top(rs_state_t *st, rs_item_t *it, uint32_t *n);
/* Trending score at event time `now`: the item's event rate over the short
 * window (trending.halflife.ms) / its rate over the long one
 * (popularity.halflife.ms). > 1 = gaining, e.g. 3 = three times its usual. */
double rs_state_item_trending(const rs_state_t *st, const rs_item_t *it, int64_t now);
/* Items by popularity (rec.popular.order), best first (at most conf->rec_popular). */
const uint32_t *rs_state_popular(rs_state_t *st, uint32_t *n);
/* The same within one category (interned name index), maintained incrementally. */
const uint32_t *rs_state_category_popular(rs_state_t *st, uint32_t category, uint32_t *n);
/* Scale of co-occurrence counts: a pair weight of 1 is stored as this. */
uint32_t rs_state_pair_scale(const rs_state_t *st);
/* For the cosine family: n(b)^(1-alpha) by item index, so that
 * sim(a,b) = cnt / (a->wpow * wpow[b]) inline (NULL for LLR: call rs_state_sim).
 * Valid until the next apply. */
const double *rs_state_wpow(const rs_state_t *st);
/* 1 where the item is hidden (RS_ITEM_HIDDEN), by item index: the scorer's
 * per-neighbour test without touching the item. Valid until the next apply. */
const uint8_t *rs_state_hidden_map(const rs_state_t *st);
/* Popularity of an item at event time `now` (decayed weight). */
double rs_state_item_popularity(const rs_state_t *st, const rs_item_t *it, int64_t now);
uint64_t rs_state_bytes(rs_state_t *st);

/* ---- blobs: other modules' aggregates (segments) ---- */
/* Stages a named value into the next commit's WriteBatch (meta column
 * family); a later set before the commit replaces it. */
void rs_state_blob_set(rs_state_t *st, const char *name, const void *p, size_t len);
/* The staged or stored value into out: 1 found, 0 absent, < 0 error. */
int rs_state_blob_get(rs_state_t *st, const char *name, rs_buf_t *out);

/* Loaded users, one at a time: start with *cursor = 0; NULL at the end.
 * Order is the in-memory table's (stable while no user is added). */
rs_user_t *rs_state_user_next(rs_state_t *st, size_t *cursor);

/* ---- users: walk and delete (SPEC F19) ---- */
/* Calls fn for every stored user in id byte order (memcmp, shorter first),
 * with the in-memory version of users that are loaded. Users first seen
 * since the last commit are not visited: commit first for a complete walk.
 * fn returns 0 to go on; anything else stops the walk and is returned.
 * The user passed to fn is valid only during the call. */
typedef int(rs_state_user_fn_t)(void *opaque, const rs_user_t *u);
int rs_state_users_foreach(rs_state_t *st, rs_state_user_fn_t *fn, void *opaque, char *errstr,
                           size_t errstr_size);
/* Removes a user's profile: from memory now (the rs_user_t is freed; any
 * pointer to it is dead) and from RocksDB with the next commit (a delete in
 * the same WriteBatch as everything else). Until that batch is written,
 * loads treat the user as absent, so a new event starts a fresh profile.
 * Co-occurrence counts and item counts are aggregates over all users and
 * stay. RS_ENOTFOUND unknown user, RS_ESTATE read-only state or the user
 * has a rate-limited emit pending (the pipeline holds a pointer to it). */
rs_err_t rs_state_user_delete(rs_state_t *st, const char *id, size_t len, char *errstr,
                              size_t errstr_size);

/* ---- retention and privacy (SPEC F19) ---- */
/* Length of a hashed user id (privacy.user.id.hash): HMAC-SHA256 keyed with
 * privacy.user.id.salt, first 16 bytes as lowercase hex. */
#define RS_USER_ID_HASH_LEN 32
/* The key a user is stored, scored and published under: id itself, or with
 * privacy.user.id.hash its hash. rs_state_apply() hashes event ids itself;
 * rs_state_user_get() and rs_state_user_delete() take the raw id (and, when
 * hashing is on and nothing is stored under the hash of the argument, an
 * argument that is itself a 32-hex hash, so ids seen in outputs work too).
 * Returns id or a buffer in st that the next call overwrites. */
const char *rs_state_user_key(rs_state_t *st, const char *id, size_t len, size_t *klen);

/* Idle users (state.user.ttl.ms > 0): a user whose newest event is older
 * than rs_state_event_now() minus the TTL is expired. Reads answer "absent"
 * at once (rs_state_user_get, users_foreach, dump); an event for it starts
 * a fresh profile; its record leaves RocksDB through a compaction filter or
 * a delete in the next commit (see src/engine/rs_state_ttl.c).
 * The hook is called on the loop thread for each user the state expires
 * itself, just before it goes (the pipeline passes rs_segment_forget): u may
 * be a temporary decoded from RocksDB and is valid only during the call.
 * Users the compaction filter drops have no segment state to forget. */
typedef void(rs_state_expire_fn_t)(void *opaque, rs_user_t *u);
void rs_state_on_expire(rs_state_t *st, rs_state_expire_fn_t *fn, void *opaque);
int rs_state_user_expired(const rs_state_t *st, const rs_user_t *u);
/* Expires users the compaction filter handed back and up to `budget`
 * loaded idle users; returns how many it expired. Called by
 * rs_state_commit_step(); loop thread. */
size_t rs_state_expire_step(rs_state_t *st, size_t budget);
/* Forces a compaction of the users family (the filter sees every record);
 * blocks. Loop thread, or with the loop stopped. RS_ESTATE read-only. */
rs_err_t rs_state_compact_users(rs_state_t *st, char *errstr, size_t errstr_size);
/* Users expired since open: by the loop plus records the filter dropped
 * (a user can count twice if RocksDB compacts its old record between the
 * loop's delete and the commit of that delete). */
uint64_t rs_state_users_expired(const rs_state_t *st);

/* Canonical, sorted text dump of the exact state (counts, co-occurrence,
 * profiles, offsets; no floats, no emit bookkeeping): two runs that applied
 * the same events produce byte-identical dumps whatever the batching. */
rs_err_t rs_state_dump(rs_state_t *st, FILE *out, char *errstr, size_t errstr_size);

#endif
