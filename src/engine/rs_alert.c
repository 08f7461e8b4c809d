/* rs_alert.c -- fraud and anomaly detectors (rs_alert.h, SPEC F10).
 *
 * In: one applied event plus the user's and the item's detector state
 * (rs_alert_user_t / rs_alert_item_t, embedded in rs_user_t / rs_item_t and
 * stored with them). Out: the alerts that begin an episode. No allocation,
 * no wall clock, O(1) per event: everything is event time, so a replay gives
 * the same alerts with the same ids.
 *
 * Baselines. rate_burst and item_spike keep an EWMA mean and variance of the
 * events per bucket (aligned buckets: floor(ts / bucket) * bucket). Closing a
 * bucket with count x: d = x - m; m += a d; v = (1 - a)(v + a d^2). A run of
 * k empty buckets (count 0) has the closed form, b = 1 - a:
 *     m_k = b^k m,   v_k = b^k (v + m^2 (1 - b^k)),
 * so a user idle for days costs one exp(), not one step per bucket. A new
 * subject starts at m = v = 0 (its unseen past counts as quiet). The z-score
 * of the current, still-open bucket uses sd = sqrt(max(v, m, 1)): a Poisson
 * floor, so a near-empty baseline does not turn 3 events into z = 1000.
 *
 * item_spike also needs to tell "quiet item" from "we just started": the
 * alerter keeps its origin (first event time seen, or set by the caller).
 * An item seen since near the origin is judged on a bias-corrected baseline
 * (weights of the full buckets watched renormalised) once seen for the
 * warmup, so a stream's popular items do not look like spikes at start-up;
 * an item first seen a warmup or more after the origin had a quiet, zero
 * baseline and may fire at once (the generator plants spikes on such items).
 *
 * Counted events: every type except impressions (the recommender's own pages
 * emit many per page view; they say nothing about the user's pace). bot
 * counts views; a cart or purchase in its window vetoes it.
 *
 * Late events (ts older than the current bucket/window) are counted into the
 * current bucket or window, never reopening an old one, so they cannot
 * corrupt a baseline. item_spike is the exception: it counts across users,
 * hence across partitions, which a consumer reads up to consume.align.ms
 * apart in event time, so its previous bucket stays open for late events
 * and enters the baseline one bucket later; older events are not counted. card_testing ignores a
 * purchase at or before the window's last counted time (same time = the same checkout; older = out
 * of order, it cannot be told from one already counted). A late event never opens a second episode:
 * t - episode_last is then negative, so it belongs to the current one.
 *
 * Episodes: per rule and subject, episode_start/episode_last; the condition
 * holding at t continues the episode iff t - episode_last < alert.episode.gap.ms,
 * otherwise a new one starts at t and the alert fires. Alert id: 16 hex of
 * rs_hash64(rule name, '\0', le64(rs_hash64(subject id)), le64(episode start)). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "recstream/rs_alert.h"
#include "recstream/rs_buf.h"

static const char *const rule_names[RS_ALERT__RULE_COUNT] = {"rate_burst", "bot", "big_purchase",
                                                             "card_testing", "item_spike"};

/* ln(1 - alpha), cached per alpha: exp() of it is cheaper than pow(). */
typedef struct lncache {
    double alpha, lb;
} lncache_t;

struct rs_alerter {
    const rs_conf_t *conf;
    lncache_t rate_lb, item_lb;
    int64_t origin; /* event time the detector started watching (0 = not yet) */
};

rs_alerter_t *rs_alerter_new(const rs_conf_t *conf) {
    rs_alerter_t *a = rs_xcalloc(1, sizeof(*a));
    a->conf = conf;
    return a;
}

void rs_alerter_set_origin(rs_alerter_t *a, int64_t ts_ms) {
    a->origin = ts_ms;
}

int64_t rs_alerter_origin(const rs_alerter_t *a) {
    return a->origin;
}

void rs_alerter_destroy(rs_alerter_t *a) {
    free(a);
}

const char *rs_alert_rule_name(rs_alert_rule_t r) {
    return (unsigned)r < RS_ALERT__RULE_COUNT ? rule_names[r] : "unknown";
}

int rs_alert_rule_parse(const char *s, size_t len) {
    if (!s) return -1;
    for (int r = 0; r < RS_ALERT__RULE_COUNT; r++)
        if (strlen(rule_names[r]) == len && !memcmp(rule_names[r], s, len)) return r;
    return -1;
}

/* ---- baselines ---- */

static int64_t bucket_of(int64_t ts, int64_t len) {
    int64_t q = ts / len;
    if (ts % len < 0) q--; /* floor, for the odd negative time */
    return q * len;
}

/* Moves an EWMA baseline from the bucket `cur` (count n) to the bucket
 * `next` > cur: closes cur, then the empty ones between in closed form. */
static double ln_b(lncache_t *lc, double alpha) {
    if (lc->alpha != alpha) {
        lc->alpha = alpha;
        lc->lb = log1p(-alpha);
    }
    return lc->lb;
}

static void ewma_advance(float *mean, float *var, double x, int64_t cur, int64_t next, int64_t len,
                         double alpha, lncache_t *lc) {
    double m = *mean, v = *var, b = 1.0 - alpha;
    double d = x - m;
    m += alpha * d;
    v = b * (v + alpha * d * d);
    double k = (double)((next - cur) / len - 1);
    if (k > 0) {
        double bk = k == 1 ? b : exp(k * ln_b(lc, alpha));
        v = bk * (v + m * m * (1.0 - bk));
        m = bk * m;
    }
    *mean = (float)m;
    *var = (float)v;
}

static double floor_sd(double mean, double var) {
    double f = var;
    if (mean > f) f = mean;
    if (f < 1.0) f = 1.0;
    return sqrt(f);
}

/* ---- episodes and alert records ---- */

/* 1 if the condition holding at ts starts a new episode (then recorded). */
/* 1 while an episode is on at ts: begun, and ts within gap of its last time. */
static int episode_open(int64_t start, int64_t last, int64_t ts, int64_t gap) {
    return start && ts - last < gap;
}

static int episode_begin(int64_t *start, int64_t *last, int64_t ts, int64_t gap) {
    if (episode_open(*start, *last, ts, gap)) {
        if (ts > *last) *last = ts;
        return 0;
    }
    *start = ts;
    *last = ts;
    return 1;
}

static void make_id(char out[17], rs_alert_rule_t r, const char *subj, uint32_t len,
                    int64_t start) {
    unsigned char buf[32];
    size_t nl = strlen(rule_names[r]);
    memcpy(buf, rule_names[r], nl);
    buf[nl] = 0;
    rs_put_u64(buf + nl + 1, rs_hash64(subj ? subj : "", subj ? len : 0));
    rs_put_u64(buf + nl + 9, (uint64_t)start);
    uint64_t h = rs_hash64(buf, nl + 17);
    static const char hex[] = "0123456789abcdef";
    for (int i = 15; i >= 0; i--, h >>= 4) out[i] = hex[h & 15];
    out[16] = 0;
}

static rs_alert_t *alert_init(rs_alert_t *o, rs_alert_rule_t r, const char *uid, uint32_t ulen,
                              const char *iid, uint32_t ilen, int64_t ts, int64_t start) {
    memset(o, 0, sizeof(*o));
    o->rule = r;
    o->user_id = uid;
    o->user_len = uid ? ulen : 0;
    o->item_id = iid;
    o->item_len = iid ? ilen : 0;
    o->ts_ms = ts;
    o->episode_start = start;
    if (uid)
        make_id(o->id, r, uid, ulen, start);
    else
        make_id(o->id, r, iid, ilen, start);
    return o;
}

static void ev_add(rs_alert_t *o, const char *name, double v) {
    if (o->n_evidence < RS_ALERT_MAX_EVIDENCE)
        o->evidence[o->n_evidence++] = (rs_named_num_t){name, v};
}

/* "How many times faster than the slowest pattern that fires": (n-1) gaps
 * over span against (min-1) gaps over the window. */
static double pace_score(uint32_t n, int64_t span, int min, int64_t window) {
    double s = span > 0 ? (double)span : 1.0;
    double thr = (double)(min > 1 ? min - 1 : 1) / (double)window;
    return ((double)(n > 1 ? n - 1 : 1) / s) / thr;
}

/* ---- rules ---- */

/* rate_burst: 1 if the condition holds (fills *z etc.). */
static int rate_step(rs_alerter_t *a, rs_alert_user_t *u, int64_t ts, double *z, double *sd) {
    const rs_conf_t *c = a->conf;
    int64_t len = c->alert_rate_bucket_ms, b = bucket_of(ts, len);
    if (!u->rate_bucket) {
        u->rate_bucket = b;
        u->rate_n = 0;
    } else if (b > u->rate_bucket) {
        ewma_advance(&u->rate_mean, &u->rate_var, (double)u->rate_n, u->rate_bucket, b, len,
                     c->alert_rate_alpha, &a->rate_lb);
        u->rate_bucket = b;
        u->rate_n = 0;
    } /* else: this bucket, or late: counted into the current one */
    if (u->rate_n < UINT32_MAX) u->rate_n++;
    *sd = floor_sd(u->rate_mean, u->rate_var);
    *z = ((double)u->rate_n - u->rate_mean) / *sd;
    return u->rate_n >= (uint32_t)c->alert_rate_min_events && *z >= c->alert_rate_z;
}

/* bot: 1 if the condition holds at this view. */
static int bot_step(const rs_conf_t *c, rs_alert_user_t *u, int64_t ts, int is_view) {
    if (!u->bot_start || ts - u->bot_start >= c->alert_bot_window_ms) {
        u->bot_start = ts; /* a new window at the first event after the last one */
        u->bot_last_view = ts;
        u->bot_views = 0;
        u->bot_other = 0;
    }
    if (!is_view) {
        if (u->bot_other < UINT32_MAX) u->bot_other++;
        return 0;
    }
    if (u->bot_views < UINT32_MAX) u->bot_views++;
    if (ts > u->bot_last_view) u->bot_last_view = ts;
    if (u->bot_other || u->bot_views < (uint32_t)c->alert_bot_min_views) return 0;
    double gap = (double)(u->bot_last_view - u->bot_start) / (double)(u->bot_views - 1);
    return gap <= (double)c->alert_bot_max_dwell_ms;
}

/* card_testing: 1 if the condition holds after this purchase (also for
 * another item of the checkout that made it hold). */
static int card_step(const rs_conf_t *c, rs_alert_user_t *u, const rs_event_t *ev) {
    int64_t ts = ev->ts_ms;
    double p = (ev->fields & RS_F_PRICE) && ev->price > 0 ? ev->price : 0.0;
    if (u->card_start && ts <= u->card_last) {
        if (ts < u->card_last) return 0;
        u->card_sum += p; /* same checkout: its total, not a count */
        return u->card_n >= (uint32_t)c->alert_card_min_purchases;
    }
    if (!u->card_start || ts - u->card_start >= c->alert_card_window_ms) {
        u->card_start = ts;
        u->card_n = 0;
        u->card_sum = 0;
        u->card_pn = 0;
        u->card_ps = 0;
    }
    u->card_last = ts;
    if (u->card_n < UINT32_MAX) u->card_n++;
    u->card_sum += p;
    return u->card_n >= (uint32_t)c->alert_card_min_purchases;
}

/* The big_purchase history after a priced purchase: counted, unless it is
 * part of a card test, which then also takes back what its window added. */
static void spend_step(rs_alert_user_t *u, double price, int card) {
    if (card) {
        u->spend_n -= u->card_pn < u->spend_n ? u->card_pn : u->spend_n;
        u->spend_sum = u->spend_n && u->spend_sum > u->card_ps ? u->spend_sum - u->card_ps : 0.0;
        u->card_pn = 0;
        u->card_ps = 0;
        return;
    }
    if (u->spend_n == UINT32_MAX) return;
    u->spend_n++;
    u->spend_sum += price;
    u->card_pn++;
    u->card_ps += price;
}

static size_t check_user(rs_alerter_t *al, rs_alert_user_t *u, const char *uid, uint32_t ulen,
                         const char *iid, uint32_t ilen, const rs_event_t *ev, rs_alert_t *out) {
    const rs_conf_t *c = al->conf;
    size_t n = 0;
    int64_t ts = ev->ts_ms, gap = c->alert_episode_gap_ms;
    int view = ev->type == RS_EV_VIEW;
    int buy = ev->type == RS_EV_PURCHASE;

    double z, sd;
    if (rate_step(al, u, ts, &z, &sd) &&
        episode_begin(&u->episode_start[RS_ALERT_RATE_BURST], &u->episode_last[RS_ALERT_RATE_BURST],
                      ts, gap)) {
        rs_alert_t *o = alert_init(&out[n++], RS_ALERT_RATE_BURST, uid, ulen, NULL, 0, ts,
                                   u->episode_start[RS_ALERT_RATE_BURST]);
        o->score = z;
        ev_add(o, "events", u->rate_n);
        ev_add(o, "bucket_ms", (double)c->alert_rate_bucket_ms);
        ev_add(o, "baseline_mean", u->rate_mean);
        ev_add(o, "baseline_sd", sd);
        ev_add(o, "z", z);
    }

    if ((view || buy || ev->type == RS_EV_CART) && bot_step(c, u, ts, view) &&
        episode_begin(&u->episode_start[RS_ALERT_BOT], &u->episode_last[RS_ALERT_BOT], ts, gap)) {
        rs_alert_t *o = alert_init(&out[n++], RS_ALERT_BOT, uid, ulen, NULL, 0, ts,
                                   u->episode_start[RS_ALERT_BOT]);
        int64_t span = u->bot_last_view - u->bot_start;
        o->score = pace_score(u->bot_views, span, c->alert_bot_min_views, c->alert_bot_window_ms);
        ev_add(o, "views", u->bot_views);
        ev_add(o, "window_ms", (double)span);
        ev_add(o, "mean_gap_ms", (double)span / (double)(u->bot_views - 1));
        ev_add(o, "carts", u->bot_other);
    }

    if (!buy) return n;
    int card = card_step(c, u, ev), big = 0;
    double price = (ev->fields & RS_F_PRICE) ? ev->price : 0.0;
    if (price > 0 && u->spend_n >= (uint32_t)c->alert_amount_min_history && u->spend_sum > 0) {
        double mean = u->spend_sum / u->spend_n;
        big = price >= c->alert_amount_factor * mean;
        if (big && episode_begin(&u->episode_start[RS_ALERT_BIG_PURCHASE],
                                 &u->episode_last[RS_ALERT_BIG_PURCHASE], ts, gap)) {
            rs_alert_t *o = alert_init(&out[n++], RS_ALERT_BIG_PURCHASE, uid, ulen, iid, ilen, ts,
                                       u->episode_start[RS_ALERT_BIG_PURCHASE]);
            o->score = price / mean;
            ev_add(o, "price", price);
            ev_add(o, "mean_price", mean);
            ev_add(o, "factor", price / mean);
            ev_add(o, "history", u->spend_n);
        }
    }
    /* Suspect purchases stay out of the history they are judged against:
     * a big one would raise the bar for the next, and a card test's cheap
     * ones (from the window that fires to the end of its episode) lower it. */
    int64_t cs = u->episode_start[RS_ALERT_CARD_TESTING];
    int testing =
        card || (ts >= cs && episode_open(cs, u->episode_last[RS_ALERT_CARD_TESTING], ts, gap));
    if (price > 0 && isfinite(price) && !big) spend_step(u, price, testing);

    if (card && episode_begin(&u->episode_start[RS_ALERT_CARD_TESTING],
                              &u->episode_last[RS_ALERT_CARD_TESTING], ts, gap)) {
        rs_alert_t *o = alert_init(&out[n++], RS_ALERT_CARD_TESTING, uid, ulen, NULL, 0, ts,
                                   u->episode_start[RS_ALERT_CARD_TESTING]);
        int64_t span = u->card_last - u->card_start;
        o->score =
            pace_score(u->card_n, span, c->alert_card_min_purchases, c->alert_card_window_ms);
        ev_add(o, "purchases", u->card_n);
        ev_add(o, "window_ms", (double)span);
        ev_add(o, "total", u->card_sum);
    }
    return n;
}

/* Bias-corrected baseline of an item. Its EWMA started at zero when the
 * detector began watching; counting N full buckets closed since then (the
 * partial bucket the origin falls in is not one), the weights of those sum
 * to W = 1 - b^N, so mean = m / W and var = (v + m^2) / W - mean^2 (v + m^2
 * is exactly the EWMA of x^2). 0 if no full bucket closed yet. */
static int item_baseline(const rs_conf_t *c, const rs_alert_item_t *it, int64_t origin, double lb,
                         double *mean, double *var) {
    int64_t len = c->alert_item_bucket_ms, o = bucket_of(origin, len);
    if (o != origin) o += len;
    int64_t closed = it->bucket - len; /* the buckets before this one are in the EWMA */
    if (closed - o < len) return 0;
    double W = 1.0 - exp((double)((closed - o) / len) * lb);
    if (W < 1e-9) return 0;
    double m = it->mean / W, s2 = ((double)it->var + (double)it->mean * it->mean) / W;
    *mean = m;
    *var = s2 > m * m ? s2 - m * m : 0.0;
    return 1;
}

/* Closes the bucket at `from` with count x into the EWMA, with idle buckets
 * up to `to`. The count enters capped at mean + z sd: a spike that began
 * late in a bucket (too few events there to fire) must not raise its own
 * bar for the next one. */
static void item_close(rs_alerter_t *al, rs_alert_item_t *it, int64_t origin, double lb, double x,
                       int64_t from, int64_t to) {
    const rs_conf_t *c = al->conf;
    double mean, var;
    if (x > c->alert_item_z && item_baseline(c, it, origin, lb, &mean, &var)) { /* cap >= z */
        double cap = mean + c->alert_item_z * floor_sd(mean, var);
        if (x > cap) x = cap;
    }
    ewma_advance(&it->mean, &it->var, x, from, to, c->alert_item_bucket_ms, c->alert_item_alpha,
                 &al->item_lb);
}

static size_t check_item(rs_alerter_t *al, rs_alert_item_t *it, const char *iid, uint32_t ilen,
                         const rs_event_t *ev, rs_alert_t *out) {
    const rs_conf_t *c = al->conf;
    int64_t ts = ev->ts_ms, len = c->alert_item_bucket_ms, b = bucket_of(ts, len);
    int64_t warm = c->alert_item_warmup_ms, origin = al->origin;
    double mean, var, lb = ln_b(&al->item_lb, c->alert_item_alpha);
    if (!it->first_ts) it->first_ts = ts;
    if (origin > it->first_ts) origin = it->first_ts;
    if (!it->bucket) {
        it->bucket = b;
        it->n = it->pn = 0;
    } else if (b > it->bucket) {
        /* The previous bucket closes into the baseline, then the current one
         * if b skips past it (with the idle buckets in between) */
        item_close(al, it, origin, lb, it->pn, it->bucket - len, it->bucket);
        if (b == it->bucket + len) {
            it->pn = it->n;
        } else {
            item_close(al, it, origin, lb, it->n, it->bucket, b - len);
            it->pn = 0;
        }
        it->bucket = b;
        it->n = 0;
    } else if (b < it->bucket) {
        /* Late: the previous bucket still counts it; an older one does not
         * reopen. Counting every late event into the current bucket made
         * spikes out of a catch-up (the demo: 22-36 alerts, 1 planted). */
        if (b == it->bucket - len && it->pn < UINT32_MAX) it->pn++;
        return 0;
    }
    if (it->n < UINT32_MAX) it->n++;
    if (it->n < (uint32_t)c->alert_item_min_events) return 0;
    /* Warm: watched for the warmup (seen that long, or first seen that long
     * after the detector's origin, so its quiet past is known). */
    if (ts - it->first_ts < warm && it->first_ts - origin < warm) return 0;
    if (!item_baseline(c, it, origin, lb, &mean, &var)) return 0;
    double sd = floor_sd(mean, var), z = ((double)it->n - mean) / sd;
    if (z < c->alert_item_z || (double)it->n < c->alert_item_factor * mean) return 0;
    if (!episode_begin(&it->episode_start, &it->episode_last, ts, c->alert_episode_gap_ms))
        return 0;
    rs_alert_t *o = alert_init(out, RS_ALERT_ITEM_SPIKE, NULL, 0, iid, ilen, ts, it->episode_start);
    o->score = z;
    ev_add(o, "events", it->n);
    ev_add(o, "bucket_ms", (double)len);
    ev_add(o, "baseline_mean", mean);
    ev_add(o, "baseline_sd", sd);
    ev_add(o, "z", z);
    ev_add(o, "factor", (double)it->n / (mean > 0.01 ? mean : 0.01));
    return 1;
}

size_t rs_alert_check(rs_alerter_t *a, rs_alert_user_t *ua, const char *user_id, uint32_t user_len,
                      rs_alert_item_t *ia, const char *item_id, uint32_t item_len,
                      const rs_event_t *ev, rs_alert_t *out) {
    const rs_conf_t *c = a->conf;
    /* ts <= 0 never passes validation; refusing it keeps 0 = "none" and the
     * time differences below free of overflow */
    if (!c->alert_enable || !ev || ev->ts_ms <= 0 || ev->type == RS_EV_IMPRESSION ||
        ev->type >= RS_EV__COUNT)
        return 0;
    if (!a->origin) a->origin = ev->ts_ms;
    size_t n = 0;
    if (ua) {
        n = check_user(a, ua, user_id, user_len, item_id, item_len, ev, out);
        for (size_t i = 0; i < n; i++) ua->fired++;
    }
    if (ia && check_item(a, ia, item_id, item_len, ev, out + n)) {
        ia->fired++;
        n++;
    }
    return n;
}

/* ---- encoding ----
 * user v1 (153 bytes): u8 version=1, i64 rate_bucket, u32 rate_n, f32 rate_mean,
 * f32 rate_var, i64 bot_start, i64 bot_last_view, u32 bot_views, u32 bot_other,
 * i64 card_start, i64 card_last, u32 card_n, f64 card_sum, u32 spend_n,
 * f64 spend_sum, i64 episode_start[4], i64 episode_last[4], u32 fired.
 * user v2 (165 bytes): v1 with version=2, then u32 card_pn, f64 card_ps (v1
 * decodes with 0: its window's purchases stay in the history).
 * item v1 (49 bytes): u8 version=1, i64 first_ts, i64 bucket, u32 n, f32 mean,
 * f32 var, i64 episode_start, i64 episode_last, u32 fired. All little-endian. */

#define USER_V1_BYTES 153
#define USER_V2_BYTES 165
#define ITEM_V1_BYTES 49
#define ITEM_V2_BYTES (ITEM_V1_BYTES + 4) /* + pn */

typedef struct wr {
    unsigned char *p;
} wr_t;
typedef struct rd {
    const unsigned char *p;
} rd_t;

static void w64(wr_t *w, uint64_t v) {
    rs_put_u64(w->p, v);
    w->p += 8;
}
static void w32(wr_t *w, uint32_t v) {
    rs_put_u32(w->p, v);
    w->p += 4;
}
static void wf32(wr_t *w, float f) {
    uint32_t v;
    memcpy(&v, &f, 4);
    w32(w, v);
}
static void wf64(wr_t *w, double d) {
    uint64_t v;
    memcpy(&v, &d, 8);
    w64(w, v);
}
static int64_t r64(rd_t *r) {
    uint64_t v = rs_get_u64(r->p);
    r->p += 8;
    return (int64_t)v;
}
static uint32_t r32(rd_t *r) {
    uint32_t v = rs_get_u32(r->p);
    r->p += 4;
    return v;
}
static float rf32(rd_t *r) {
    uint32_t v = r32(r);
    float f;
    memcpy(&f, &v, 4);
    return f;
}
static double rf64(rd_t *r) {
    uint64_t v = (uint64_t)r64(r);
    double d;
    memcpy(&d, &v, 8);
    return d;
}

/* A baseline or sum that is NaN, infinite or negative is corruption. */
static int bad_num(double v) {
    return !isfinite(v) || v < 0;
}

size_t rs_alert_user_encode(const rs_alert_user_t *a, unsigned char *out) {
    wr_t w = {out};
    *w.p++ = 2;
    w64(&w, (uint64_t)a->rate_bucket);
    w32(&w, a->rate_n);
    wf32(&w, a->rate_mean);
    wf32(&w, a->rate_var);
    w64(&w, (uint64_t)a->bot_start);
    w64(&w, (uint64_t)a->bot_last_view);
    w32(&w, a->bot_views);
    w32(&w, a->bot_other);
    w64(&w, (uint64_t)a->card_start);
    w64(&w, (uint64_t)a->card_last);
    w32(&w, a->card_n);
    wf64(&w, a->card_sum);
    w32(&w, a->spend_n);
    wf64(&w, a->spend_sum);
    for (int r = 0; r < RS_ALERT_USER__COUNT; r++) w64(&w, (uint64_t)a->episode_start[r]);
    for (int r = 0; r < RS_ALERT_USER__COUNT; r++) w64(&w, (uint64_t)a->episode_last[r]);
    w32(&w, a->fired);
    w32(&w, a->card_pn);
    wf64(&w, a->card_ps);
    return (size_t)(w.p - out);
}

int rs_alert_user_decode(rs_alert_user_t *a, const unsigned char *p, size_t len) {
    memset(a, 0, sizeof(*a));
    if (len == 0) return 0;
    if (!p || !((len == USER_V1_BYTES && p[0] == 1) || (len == USER_V2_BYTES && p[0] == 2)))
        return -1;
    rd_t r = {p + 1};
    a->rate_bucket = r64(&r);
    a->rate_n = r32(&r);
    a->rate_mean = rf32(&r);
    a->rate_var = rf32(&r);
    a->bot_start = r64(&r);
    a->bot_last_view = r64(&r);
    a->bot_views = r32(&r);
    a->bot_other = r32(&r);
    a->card_start = r64(&r);
    a->card_last = r64(&r);
    a->card_n = r32(&r);
    a->card_sum = rf64(&r);
    a->spend_n = r32(&r);
    a->spend_sum = rf64(&r);
    for (int k = 0; k < RS_ALERT_USER__COUNT; k++) a->episode_start[k] = r64(&r);
    for (int k = 0; k < RS_ALERT_USER__COUNT; k++) a->episode_last[k] = r64(&r);
    a->fired = r32(&r);
    if (p[0] == 2) {
        a->card_pn = r32(&r);
        a->card_ps = rf64(&r);
    }
    if (bad_num(a->rate_mean) || bad_num(a->rate_var) || bad_num(a->card_sum) ||
        bad_num(a->spend_sum) || bad_num(a->card_ps)) {
        memset(a, 0, sizeof(*a));
        return -1;
    }
    return 0;
}

size_t rs_alert_item_encode(const rs_alert_item_t *a, unsigned char *out) {
    wr_t w = {out};
    *w.p++ = 2;
    w64(&w, (uint64_t)a->first_ts);
    w64(&w, (uint64_t)a->bucket);
    w32(&w, a->n);
    wf32(&w, a->mean);
    wf32(&w, a->var);
    w64(&w, (uint64_t)a->episode_start);
    w64(&w, (uint64_t)a->episode_last);
    w32(&w, a->fired);
    w32(&w, a->pn);
    return (size_t)(w.p - out);
}

int rs_alert_item_decode(rs_alert_item_t *a, const unsigned char *p, size_t len) {
    memset(a, 0, sizeof(*a));
    if (len == 0) return 0;
    if (!p || !((len == ITEM_V1_BYTES && p[0] == 1) || (len == ITEM_V2_BYTES && p[0] == 2)))
        return -1;
    rd_t r = {p + 1};
    a->first_ts = r64(&r);
    a->bucket = r64(&r);
    a->n = r32(&r);
    a->mean = rf32(&r);
    a->var = rf32(&r);
    a->episode_start = r64(&r);
    a->episode_last = r64(&r);
    a->fired = r32(&r);
    if (p[0] == 2) a->pn = r32(&r); /* v1: no open previous bucket */
    if (bad_num(a->mean) || bad_num(a->var)) {
        memset(a, 0, sizeof(*a));
        return -1;
    }
    return 0;
}
