/* rs_gen.h -- synthetic but realistic traffic (SPEC F13), reproducible from a seed.
 *
 * Model: items have Zipf(s) popularity ("i0" is the most popular), a category
 * (Zipf over categories) and a log-normal price per category. Users have 1-3
 * favourite categories, a device and a heavy-tailed activity weight. Users
 * act in sessions ("s<N>", ~6 events; at most one open per user, best effort
 * when the population is small). A session browses items mostly from one or
 * two favourite categories and follows a funnel view -> cart -> purchase with
 * configurable rates. Many sessions are open at once (about
 * events_per_sec * 10, at most users / 2) and interleave, so at the defaults
 * one session's events are ~10 s apart in event time. Planted "bought
 * together" pairs: when a session views/carts/purchases item A, with
 * probability `pair_rate` its next event is the same action on A's partner
 * B. A fraction of records are duplicates (same event_id and content
 * re-sent), late (timestamp moved back by 1..3600 s), or malformed (garbage
 * bytes, missing field, negative price, unknown type, far-future timestamp,
 * oversize) in equal shares of bad_rate.
 *
 * Determinism: the same options give the same sequence on any machine. The
 * session stream uses its own PRNG, so dup/late/bad injection does not change
 * which fresh events are produced (ids "e<seq>" count fresh events only).
 * Events come out in non-decreasing time order apart from LATE, DUP and
 * BAD_FUTURE records. Every event carries session, price, category, device.
 * Ownership: strings in an rs_event_t returned by rs_gen_next() point into the
 * generator and are valid until the next call. Thread: single-threaded. */
#ifndef RS_GEN_H
#define RS_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "rs_err.h"
#include "rs_event.h"

typedef struct rs_gen_opts {
    uint64_t seed;         /* default 42 */
    uint32_t users;        /* default 100000 */
    uint32_t items;        /* default 20000 */
    uint32_t categories;   /* default 50 */
    double zipf_s;         /* item popularity exponent, default 1.05 */
    uint32_t pairs;        /* planted bought-together pairs, default 50 */
    double pair_rate;      /* P(partner follows), default 0.6 */
    double cart_rate;      /* P(view -> cart), default 0.08 */
    double purchase_rate;  /* P(cart -> purchase), default 0.4 */
    double dup_rate;       /* default 0.0 */
    double late_rate;      /* default 0.0 */
    double bad_rate;       /* default 0.0: fraction of malformed records */
    int64_t start_ms;      /* default 1700000000000; must be > 3600000 */
    double events_per_sec; /* event-time rate across all users, default 1000 */
} rs_gen_opts_t;

typedef enum rs_gen_bad {
    RS_GEN_OK = 0,
    RS_GEN_DUP,          /* a good event whose event_id was already emitted */
    RS_GEN_LATE,         /* a good event with an old timestamp */
    RS_GEN_BAD_GARBAGE,  /* fields filled, but send rs_gen_garbage() bytes instead */
    RS_GEN_BAD_MISSING,  /* item_id missing (fields bit cleared) */
    RS_GEN_BAD_NEGPRICE, /* price < 0 */
    RS_GEN_BAD_TYPE,     /* type RS_EV_UNKNOWN: encode as JSON with "type":"teleport" */
    RS_GEN_BAD_FUTURE,   /* ts = RS_GEN_FUTURE_MS (year 2100), deterministic */
    RS_GEN_BAD_OVERSIZE, /* category of RS_GEN_OVERSIZE_LEN bytes */
    RS_GEN__KIND_COUNT
} rs_gen_kind_t;

#define RS_GEN_FUTURE_MS    INT64_C(4102444800000) /* 2100-01-01T00:00:00Z */
#define RS_GEN_OVERSIZE_LEN (100u * 1024u)

typedef struct rs_gen rs_gen_t;

void rs_gen_opts_default(rs_gen_opts_t *o);
/* RS_OK, or RS_ECONF with the first problem in errstr (a rate outside [0,1],
 * dup+late+bad > 1, zero users/items/categories, too many pairs...). */
rs_err_t rs_gen_opts_check(const rs_gen_opts_t *o, char *errstr, size_t errstr_size);
/* NULL iff rs_gen_opts_check() fails. Builds the tables: O(users + items). */
rs_gen_t *rs_gen_new(const rs_gen_opts_t *o);
void rs_gen_destroy(rs_gen_t *g); /* NULL-safe */
/* Next event; *kind tells whether it is a dup/late/bad record (may be NULL). */
const rs_event_t *rs_gen_next(rs_gen_t *g, rs_gen_kind_t *kind);
/* The planted pairs: (a, b) item ids as strings, valid for the generator's life. */
uint32_t rs_gen_pair_count(const rs_gen_t *g);
void rs_gen_pair(const rs_gen_t *g, uint32_t i, const char **a, const char **b);
/* Deterministic random bytes (own PRNG: calling it or not does not change the
 * event stream) for a RS_GEN_BAD_GARBAGE record: 9..200 bytes, at most cap.
 * The first byte is 0x01, so no decoder can take it for JSON ('{'), Confluent
 * framing (magic 0) or plain Avro (a negative string length). Returns length. */
size_t rs_gen_garbage(rs_gen_t *g, unsigned char *buf, size_t cap);
const char *rs_gen_kind_name(rs_gen_kind_t k); /* "ok", "dup", "late", "garbage"... */
/* Ids: items "i<N>", users "u<N>", sessions "s<N>", categories "c<N>", events "e<N>". */

#endif
