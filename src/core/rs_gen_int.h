/* rs_gen_int.h -- the generator's internals, shared by rs_gen.c (world,
 * background sessions, injections) and rs_gen_anom.c (anomaly episodes,
 * ground truth, CSV lines). Private to src/core. */
#ifndef RS_GEN_INT_H
#define RS_GEN_INT_H

#include <stdint.h>
#include <string.h>

#include "recstream/rs_gen.h"

#define CAT_ZIPF_S      0.8   /* category sizes / favourite-category popularity */
#define FOCUS_P         0.85  /* a browse view stays in the session's focus categories */
#define SECOND_FOCUS_P  0.4   /* a session has a second focus category */
#define BROWSE_CONT_P   0.815 /* geometric browse views, mean 5.4: ~6 events with funnel */
#define ACTIVITY_ALPHA  1.2   /* Pareto tail of user activity weights */
#define ACTIVITY_CAP    5000.0
#define SESSION_SPACING 10.0 /* seconds between one session's events, target */
#define POOL_MAX        65536u
#define USER_TRIES      8
#define RING            256u
#define PENDING         8u
#define LATE_MAX_MS     3600000
#define USER_TRIES_TOD  16   /* behaviour mode: more tries, for time-of-day habits */
#define OFF_HOURS_P     0.15 /* P(a user starts a session outside its hours) */
#define PRIMARY_DEV_P   0.85 /* a session uses the user's primary device */
#define PRICE_BAND      3.0  /* behaviour mode: buys only within [budget / 3, budget * 3] */
/* A big purchase costs at least this many times the buyer's mean purchase:
 * the default alert.amount.factor, which planted ones must pass and
 * background ones are reported against (rs_gen__organic_check). */
#define BIG_FACTOR      10.0
#define MAX_EPISODES    64 /* concurrent anomaly episodes */
#define EP_SESSION_BASE UINT64_C(1000000000000)

typedef struct rng {
    uint64_t s[4];
} rng_t;

static inline uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline void rng_seed(rng_t *r, uint64_t seed, uint64_t stream) {
    uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03ull);
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t rng_next(rng_t *r) {
    uint64_t *s = r->s;
    uint64_t res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return res;
}

/* Uniform in [0, 1) with 53 bits. */
static inline double rng_u01(rng_t *r) {
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform in [0, n) by multiply-shift (bias < n / 2^32, irrelevant here). */
static inline uint32_t rng_below(rng_t *r, uint32_t n) {
    return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* Alias table over n outcomes; arrays may be slices of a bigger allocation. */
typedef struct alias {
    uint32_t n;
    uint32_t *thr; /* keep column i if the 32-bit coin < thr[i] */
    uint32_t *alt;
} alias_t;

static inline uint32_t alias_draw(const alias_t *a, rng_t *r) {
    uint64_t x = rng_next(r);
    uint32_t i = (uint32_t)(((x >> 32) * (uint64_t)a->n) >> 32);
    return (uint32_t)x < a->thr[i] ? i : a->alt[i];
}

typedef struct user {
    uint16_t fav[3];
    uint8_t nfav;
    uint8_t device;
    uint16_t open; /* sessions of this user in the pool (normally 0 or 1) */
    uint8_t group; /* rs_gen_group_t; RS_GEN_REGULAR unless behaviour mode */
    uint8_t night; /* night owl */
    float budget;  /* behaviour mode: price level (mean price of the first favourite); else 0 */
} user_t;

/* Behaviour group parameters (behaviour mode). */
typedef struct grp {
    double activity, browse_cont, focus, cart_x, buy_x;
    int pick;      /* -1 cheapest of 5 candidates, 1 dearest, 0 as drawn */
    double dev[3]; /* primary device mix: mobile, desktop, app */
} grp_t;

/* An anomaly episode in progress. */
typedef struct episode {
    uint8_t type, stage;
    uint32_t an; /* index in g->an once its first event is out, else UINT32_MAX */
    uint32_t left, user, item;
    uint32_t step_ms; /* bots: fixed spacing */
    double mean_ms;   /* spikes: mean spacing */
    int64_t next_ts;
    uint64_t sess;
} episode_t;

typedef struct step {
    uint8_t type;
    uint32_t item;
} step_t;

typedef struct sess {
    uint8_t live;
    uint8_t nfocus;
    uint8_t device; /* behaviour mode: this session's device */
    uint8_t pq_head, pq_len;
    uint16_t focus[2];
    uint32_t user;
    uint32_t browse_left;
    uint64_t id;
    step_t pq[PENDING];
} sess_t;

/* An emitted event with its own string storage. */
typedef struct slot {
    rs_event_t ev;
    char eid[24], uid[16], iid[16], sid[24], cat[16];
} slot_t;

struct rs_gen {
    rs_gen_opts_t o;
    rng_t sess_rng, inj, garb, anom;
    int behav, episodes;
    /* items */
    alias_t item_all;
    uint16_t *item_cat;
    double *item_price;
    int32_t *partner;              /* planted partner of an item, or -1 */
    uint32_t *cat_off, *cat_items; /* items of category c: cat_items[cat_off[c]..[c+1]] */
    alias_t *cat_alias;
    uint32_t *cat_thr, *cat_alt; /* storage of the per-category alias tables */
    /* users */
    alias_t user_pick, cat_pick;
    user_t *users;
    /* sessions */
    sess_t *pool;
    uint32_t npool;
    uint64_t next_session;
    /* clock and ids */
    int64_t now_ns;
    double mean_step_ns;
    uint64_t seq;
    /* pairs */
    uint32_t npairs;
    char **pair_a, **pair_b;
    /* output */
    slot_t out;
    /* anomaly episodes */
    slot_t bg; /* the next background event, when bg_ready */
    int bg_ready;
    episode_t ep[MAX_EPISODES];
    uint32_t nep, nbots;
    uint64_t ep_sessions;
    rs_gen_anomaly_t *an;
    uint32_t nan, an_cap;
    /* big purchases the background made by itself (see rs_gen_organic) */
    rs_gen_anomaly_t *org;
    uint32_t norg, org_cap;
    uint32_t *buy_n; /* per user: background purchases and their sum (big_purchase) */
    double *buy_sum;
    uint32_t *by_price, ncheap, nexp; /* items by price: cheap 10% first, dear 1% last */
    slot_t ring[RING];
    uint32_t ring_len, ring_pos;
    char *oversize;
};

static const char *const device_names[] = {"mobile", "desktop", "tablet"};
static const char *const behav_devices[] = {"mobile", "desktop", "app"};

/* Writes prefix + decimal v (NUL-terminated) and returns the length. */
static inline uint32_t fmt_id(char *dst, char prefix, uint64_t v) {
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    dst[0] = prefix;
    for (int i = 0; i < n; i++) dst[1 + i] = tmp[n - 1 - i];
    dst[n + 1] = '\0';
    return (uint32_t)n + 1;
}

/* Copies a slot and points its strings at its own storage. */
static inline void slot_copy(slot_t *dst, const slot_t *src) {
    *dst = *src;
    dst->ev.event_id.p = dst->eid;
    dst->ev.user_id.p = dst->uid;
    dst->ev.item_id.p = dst->iid;
    dst->ev.session_id.p = dst->sid;
    dst->ev.category.p = dst->cat;
}

static inline const char *user_device(const rs_gen_t *g, uint32_t dev) {
    return g->behav ? behav_devices[dev] : device_names[dev];
}

/* Fills every field of an event in slot o but the event id. */
static inline void fill(rs_gen_t *g, slot_t *o, uint8_t type, int64_t ts, uint32_t user,
                        uint32_t item, uint64_t sess, const char *dev) {
    rs_event_t *ev = &o->ev;
    ev->fields = RS_F_EVENT_ID | RS_F_TS | RS_F_USER | RS_F_ITEM | RS_F_TYPE | RS_F_SESSION |
                 RS_F_PRICE | RS_F_CATEGORY | RS_F_DEVICE;
    ev->type = (rs_evtype_t)type;
    ev->ts_ms = ts;
    ev->event_id = RS_STR_NULL;
    ev->user_id = rs_str(o->uid, fmt_id(o->uid, 'u', user));
    ev->item_id = rs_str(o->iid, fmt_id(o->iid, 'i', item));
    ev->session_id = rs_str(o->sid, fmt_id(o->sid, 's', sess));
    ev->category = rs_str(o->cat, fmt_id(o->cat, 'c', g->item_cat[item]));
    ev->device = rs_str(dev, (uint32_t)strlen(dev));
    ev->price = g->item_price[item];
    ev->rec_version = 0;
}

/* rs_gen.c: the next background event into o (event id left to the caller). */
void rs_gen__fresh_event(rs_gen_t *g, slot_t *o);
/* rs_gen_anom.c */
void rs_gen__build_price_order(rs_gen_t *g);
/* Records a background purchase that is a big purchase by itself (rs_gen_anom.c). */
void rs_gen__organic_check(rs_gen_t *g, uint32_t user, uint32_t item, int64_t ts);
/* Background and episodes merged by time into g->out. */
void rs_gen__merged_event(rs_gen_t *g);

#endif
