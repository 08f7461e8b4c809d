/* rs_gen.h -- synthetic but realistic traffic (SPEC F13), reproducible from a seed.
 *
 * Model: items have Zipf(s) popularity, a category (Zipf over categories) and a
 * log-normal price. Users act in sessions (gap > 30 min between sessions);
 * a session browses items mostly from one or two categories, and follows a
 * funnel view -> cart -> purchase with configurable rates. Planted
 * "bought together" pairs: after purchasing/viewing item A the user views
 * (and often buys) its partner B with probability `pair_rate`. A fraction of
 * records are duplicates (same event_id re-sent), late (timestamp moved back
 * by up to an hour), or malformed (when encoded: garbage bytes, missing
 * field, negative price, unknown type, far-future timestamp, oversize).
 *
 * Events come out in non-decreasing time order apart from the late ones.
 * Ownership: strings in an rs_event_t returned by rs_gen_next() point into the
 * generator and are valid until the next call. Thread: single-threaded. */
#ifndef RS_GEN_H
#define RS_GEN_H

#include <stdint.h>

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
    int64_t start_ms;      /* default 1700000000000 */
    double events_per_sec; /* event-time rate across all users, default 1000 */
} rs_gen_opts_t;

typedef enum rs_gen_bad {
    RS_GEN_OK = 0,
    RS_GEN_DUP,          /* a good event whose event_id was already emitted */
    RS_GEN_LATE,         /* a good event with an old timestamp */
    RS_GEN_BAD_GARBAGE,  /* the caller should send random bytes instead */
    RS_GEN_BAD_MISSING,  /* item_id missing (fields bit cleared) */
    RS_GEN_BAD_NEGPRICE, /* price < 0 */
    RS_GEN_BAD_TYPE,     /* type RS_EV_UNKNOWN: encode as JSON with "type":"teleport" */
    RS_GEN_BAD_FUTURE,   /* ts one day in the future of the wall clock */
    RS_GEN_BAD_OVERSIZE, /* category of 100 KiB */
} rs_gen_kind_t;

typedef struct rs_gen rs_gen_t;

void rs_gen_opts_default(rs_gen_opts_t *o);
rs_gen_t *rs_gen_new(const rs_gen_opts_t *o);
void rs_gen_destroy(rs_gen_t *g); /* NULL-safe */
/* Next event; *kind tells whether it is a dup/late/bad record (may be NULL). */
const rs_event_t *rs_gen_next(rs_gen_t *g, rs_gen_kind_t *kind);
/* The planted pairs: (a, b) item ids as strings, valid for the generator's life. */
uint32_t rs_gen_pair_count(const rs_gen_t *g);
void rs_gen_pair(const rs_gen_t *g, uint32_t i, const char **a, const char **b);
/* Item/user id formatting used by the generator: "i<N>", "u<N>". */

#endif
