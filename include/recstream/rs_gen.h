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
 *
 * Behaviour mode (off by default, so the stream above is unchanged): when any
 * group_mix weight is > 0, every user belongs to a behaviour group -- regular
 * (the model above), bargain hunter (the cheapest of 5 drawn items, long
 * sessions, few carts and purchases), big spender (only the dearest of its
 * favourite categories, the dearest of 5 drawn items, short sessions, many
 * carts and purchases, 3x as many sessions) or browser (long sessions of
 * views across categories, rare carts) -- has a primary device from
 * {mobile, desktop, app} with a group-specific mix (85% of sessions use it),
 * a time-of-day habit: day users (07-23 UTC) or night owls (22-05 UTC);
 * outside its hours a user starts a session with probability 0.15 -- and a
 * budget, the mean price of its first favourite category: it views and
 * carts anything, but buys only items priced within [budget / 3, budget x
 * 3] (a partner it would buy is carted instead). So no user's purchases
 * are 10x apart, and the background never does what a planted
 * big_purchase does.
 * Anomaly episodes (either mode; all rates 0 by default; at most 64 at once)
 * are mixed into the stream in time order; each kind has an expected number
 * of episodes per 100k background events:
 *  - bot: a new user "u<users+k>" views random items 10-50 times a second,
 *    evenly spaced, for 20-120 s, from a desktop, one session, no carts;
 *  - card_testing: an existing user buys 10-30 of the cheapest 10% of items
 *    1-5 s apart, with no views or carts;
 *  - big_purchase: a user with >= 2 earlier purchases (drawn by activity)
 *    views, carts and buys one of the most expensive 1% of items, priced
 *    >= 10x their mean background purchase;
 *  - item_spike: an item outside the top 100 gets views from many users
 *    (one-event sessions) at max(5/s, 5% of events_per_sec) for 60-300 s;
 *    none starts in the first spike_calm_ms of event time (10 min; no usual
 *    traffic yet).
 * Episode sessions are "s<N>" with N >= 10^12. Episodes use their own PRNG:
 * turning them on or off leaves the background events (users, items,
 * sessions, times) unchanged; only event ids shift. Big purchases are tried
 * at the rate given and dropped when no qualifying user is drawn.
 * What was planted is available through rs_gen_user_group(), rs_gen_anomaly()
 * and rs_gen_write_truth().
 *
 * Ownership: strings in an rs_event_t returned by rs_gen_next() point into the
 * generator and are valid until the next call. Thread: single-threaded. */
#ifndef RS_GEN_H
#define RS_GEN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rs_buf.h"
#include "rs_err.h"
#include "rs_event.h"

typedef enum rs_gen_group {
    RS_GEN_REGULAR = 0,
    RS_GEN_BARGAIN,
    RS_GEN_BIG_SPENDER,
    RS_GEN_BROWSER,
    RS_GEN__GROUP_COUNT,
    RS_GEN_BOT = RS_GEN__GROUP_COUNT /* only the injected bot users */
} rs_gen_group_t;

typedef enum rs_gen_anomaly_type {
    RS_GEN_AN_BOT = 0,
    RS_GEN_AN_CARD_TESTING,
    RS_GEN_AN_BIG_PURCHASE,
    RS_GEN_AN_ITEM_SPIKE,
    RS_GEN__AN_COUNT
} rs_gen_anomaly_type_t;

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
    /* Behaviour mode: relative weights of the groups (index rs_gen_group_t);
     * all 0 (the default) = off. rs_gen_opts_behaviour() sets a typical mix. */
    double group_mix[RS_GEN__GROUP_COUNT];
    double night_owl_share; /* share of night-owl users, default 0 */
    /* Anomaly episodes, expected per 100k background events, default 0,
     * index rs_gen_anomaly_type_t. */
    double anomaly_rate[RS_GEN__AN_COUNT];
    /* No item spike starts before start_ms + this (default 600000: an
     * item's usual traffic, to stand out against, needs time). */
    int64_t spike_calm_ms;
} rs_gen_opts_t;

/* One planted anomaly episode. Times are of its first and last event so far. */
typedef struct rs_gen_anomaly {
    rs_gen_anomaly_type_t type;
    uint32_t user; /* bot, card_testing, big_purchase: user number ("u<N>") */
    uint32_t item; /* item_spike, big_purchase: item number ("i<N>") */
    double price;  /* big_purchase: the item's price */
    double usual;  /* big_purchase: the user's mean purchase price before */
    int64_t start_ts, end_ts;
    uint32_t events; /* fresh events emitted so far (injection kinds aside) */
    int complete;    /* 1 once its last event is out; 0 while running (the
                      * truth then says "complete":false: cut by the end) */
} rs_gen_anomaly_t;

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
/* Turns behaviour mode on with a typical mix: regular 0.55, bargain 0.2,
 * big spender 0.1, browser 0.15; night owls 0.15. Anomalies stay at 0. */
void rs_gen_opts_behaviour(rs_gen_opts_t *o);
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
const char *rs_gen_kind_name(rs_gen_kind_t k);            /* "ok", "dup", "late", "garbage"... */
const char *rs_gen_group_name(rs_gen_group_t g);          /* "regular", "bargain", "big_spender",
                                                             "browser", "bot" */
const char *rs_gen_anomaly_name(rs_gen_anomaly_type_t t); /* "bot", "card_testing",
                                                             "big_purchase", "item_spike" */
/* Parses a name as printed above: the value, or -1. */
int rs_gen_group_parse(const char *s);
int rs_gen_anomaly_parse(const char *s);
/* Group of user u (u < users: RS_GEN_REGULAR when behaviour mode is off;
 * users >= opts.users that a bot episode created: RS_GEN_BOT). */
rs_gen_group_t rs_gen_user_group(const rs_gen_t *g, uint32_t u);
int rs_gen_user_night_owl(const rs_gen_t *g, uint32_t u);
/* Episodes that emitted at least one event, in start order; pointers are
 * valid until the next rs_gen_next(). */
uint32_t rs_gen_anomaly_count(const rs_gen_t *g);
const rs_gen_anomaly_t *rs_gen_anomaly(const rs_gen_t *g, uint32_t i);
/* Organic big purchases: background purchases that meet the big_purchase
 * definition by themselves (price >= 10x the buyer's mean background purchase
 * price, >= 2 purchases before). Recorded only when big purchases are
 * planted, so that the truth lists every event of that kind, not just the
 * planted ones. Outside behaviour mode shoppers have no budget and category
 * prices span 5..500, so they do this; in behaviour mode, never.
 * Each is one purchase: start_ts == end_ts, events 1. */
uint32_t rs_gen_organic_count(const rs_gen_t *g);
const rs_gen_anomaly_t *rs_gen_organic(const rs_gen_t *g, uint32_t i);
/* Ground truth as JSON lines: one {"kind":"user",...} per user (population,
 * then bot users), one {"kind":"pair","item_a","item_b"} per planted pair,
 * one {"kind":"anomaly","type",...,"start_ts","end_ts","events"} per episode
 * (see rs_gen_anomaly_t; an episode the end of the stream cut short has
 * "complete":false), then one per organic big purchase with
 * "planted":false. Deterministic. RS_EIO on a write error. */
rs_err_t rs_gen_write_truth(const rs_gen_t *g, FILE *f);
/* Appends the canonical CSV line of an event (rs_csv.h columns, '\n'
 * ended; prices with 2 decimals; device and event id are not columns).
 * kind RS_GEN_BAD_TYPE writes the type "teleport"; a missing item is an
 * empty field. Not for RS_GEN_BAD_GARBAGE (see rs_gen_garbage()). */
void rs_gen_csv_line(const rs_event_t *ev, rs_gen_kind_t kind, rs_buf_t *out);
/* Ids: items "i<N>", users "u<N>", sessions "s<N>", categories "c<N>", events "e<N>". */

#endif
