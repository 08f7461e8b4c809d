/* rs_alert.h -- fraud and anomaly detectors on the event stream (SPEC F10).
 *
 * Rules (thresholds are the alert.* keys). Counted events are all types but
 * impressions (rs_alert_check ignores those entirely). Evidence names below.
 *  rate_burst    per user: events in the current bucket (alert.rate.bucket.ms)
 *                against an EWMA baseline of the user's earlier buckets,
 *                empty buckets included (a new user's baseline is 0): fires on
 *                z >= alert.rate.z with at least alert.rate.min.events in the
 *                bucket. sd = sqrt(max(var, mean, 1)). Score z. Evidence:
 *                events, bucket_ms, baseline_mean, baseline_sd, z;
 *  bot           per user: >= alert.bot.min.views views within
 *                alert.bot.window.ms, no cart or purchase in that window, and
 *                a mean gap between the views <= alert.bot.max.dwell.ms.
 *                Score: view pace / the slowest pace that fires. Evidence:
 *                views, window_ms (first to last view), mean_gap_ms, carts;
 *  big_purchase  per user: a purchase priced >= alert.amount.factor x the
 *                user's mean earlier purchase price, once the user has
 *                alert.amount.min.history earlier priced purchases (price >
 *                0). Score price / mean. Evidence: price, mean_price, factor,
 *                history. The alert names the item. Suspect purchases stay
 *                out of that history: a big one (it would raise the bar for
 *                the next), and a card test's, from its window's first
 *                purchase to the end of its episode (cheap test buys must
 *                not make the next ordinary purchase look big);
 *  card_testing  per user: >= alert.card.min.purchases purchases at distinct
 *                times (a checkout of several items at one timestamp counts
 *                once) within alert.card.window.ms. Score: purchase pace / the
 *                slowest pace that fires. Evidence: purchases, window_ms,
 *                total (priced sum);
 *  item_spike    per item: events in the current bucket (alert.item.bucket.ms)
 *                against the item's EWMA baseline: z >= alert.item.z, count >=
 *                alert.item.factor x baseline mean and >= alert.item.min.events,
 *                for items first seen >= alert.item.warmup.ms earlier, or
 *                first seen >= alert.item.warmup.ms after the detector's
 *                origin (rs_alerter_origin: such an item was quiet before; a
 *                zero baseline). The baseline is bias-corrected for the time
 *                watched, so items seen from the stream's start are judged on
 *                their own history; a closed bucket enters it capped at mean +
 *                alert.item.z x sd (a spike's first, partial bucket does not
 *                raise its own bar). Score z. Evidence: events, bucket_ms,
 *                baseline_mean, baseline_sd, z, factor (count / max(mean, 0.01)).
 * Windows (bot, card) hop: one starts at the first counted event after the
 * previous one ended, so the state is O(1).
 * Late events (older than the current bucket or window) are counted into the
 * current one; card_testing ignores a purchase at or before the last counted
 * time, and item_spike an event older than the item's current bucket (in a
 * catch-up, partitions read far apart in event time would pile into one
 * bucket). They never reopen an old bucket nor start a second episode.
 *
 * Episodes: a rule fires once per episode. An episode of a rule for one user
 * (or item) begins when its condition first holds and lasts while it keeps
 * holding with gaps shorter than alert.episode.gap.ms; the alert is emitted
 * at the beginning only. The alert id is a hash of (rule, subject id,
 * episode start time), so a replay or a re-run after a crash produces the
 * same ids and consumers can dedupe: 16 lowercase hex digits of
 * rs_hash64(rule name, '\0', le64(rs_hash64(subject id)), le64(episode start)).
 *
 * Every time is event time (ev->ts_ms), never the wall clock, so replays are
 * deterministic. Detector state lives in rs_user_t / rs_item_t (rs_state.h)
 * and is stored with them in the same WriteBatch. rs_alert_check is O(1),
 * allocates nothing (about 60-90 ns per event measured).
 *
 * Ownership: rs_alerter_t borrows conf (reads it on every call, so a changed
 * threshold applies at once). Strings in an rs_alert_t point into the user,
 * item or event passed in and are valid until the next call.
 * Thread: loop thread. */
#ifndef RS_ALERT_H
#define RS_ALERT_H

#include <stddef.h>
#include <stdint.h>

#include "rs_conf.h"
#include "rs_event.h"

typedef enum rs_alert_rule {
    RS_ALERT_RATE_BURST = 0,
    RS_ALERT_BOT,
    RS_ALERT_BIG_PURCHASE,
    RS_ALERT_CARD_TESTING,
    RS_ALERT_USER__COUNT, /* rules above are per user */
    RS_ALERT_ITEM_SPIKE = RS_ALERT_USER__COUNT,
    RS_ALERT__RULE_COUNT
} rs_alert_rule_t;

/* Per-user detector state (in rs_user_t, stored with the profile). A zeroed
 * struct is a fresh state. Windows (bot, card) are hopping: one starts at
 * the first counted event after the previous one ended, so O(1) state is
 * enough; a burst that straddles a window edge is seen in the next window. */
typedef struct rs_alert_user {
    int64_t rate_bucket;                         /* start of the current rate bucket (0 = none) */
    uint32_t rate_n;                             /* events in it */
    float rate_mean, rate_var;                   /* EWMA baseline of events per bucket */
    int64_t bot_start;                           /* start of the current bot window (0 = none) */
    int64_t bot_last_view;                       /* time of the window's last view */
    uint32_t bot_views;                          /* views in the window */
    uint32_t bot_other;                          /* carts and purchases in the window */
    int64_t card_start;                          /* start of the current card window (0 = none) */
    int64_t card_last;                           /* time of the window's last counted purchase */
    uint32_t card_n;                             /* purchases at distinct times in the window */
    double card_sum;                             /* their priced total (evidence) */
    uint32_t spend_n;                            /* priced purchases so far, but card tests */
    double spend_sum;                            /* their total */
    uint32_t card_pn;                            /* the window's purchases in spend_n */
    double card_ps;                              /* and their part of spend_sum */
    int64_t episode_start[RS_ALERT_USER__COUNT]; /* current episode (0 = none) */
    int64_t episode_last[RS_ALERT_USER__COUNT];  /* last time its condition held */
    uint32_t fired;                              /* alerts fired for this user, all rules */
} rs_alert_user_t;

/* Per-item detector state (in rs_item_t, stored with the item). */
typedef struct rs_alert_item {
    int64_t first_ts; /* first event seen for the item (0 = none): the warmup */
    int64_t bucket;   /* start of the current bucket (0 = none) */
    uint32_t n;       /* events in it */
    uint32_t pn;      /* events in the one before, still open for late events */
    float mean, var;  /* EWMA baseline of events per bucket */
    int64_t episode_start, episode_last;
    uint32_t fired;
} rs_alert_item_t;

/* Encoded sizes are at most this; decode accepts any shorter, older layout
 * it knows (0 bytes = fresh state). */
#define RS_ALERT_STATE_MAX_BYTES 256

/* Little-endian, versioned. Returns the bytes written to out. */
size_t rs_alert_user_encode(const rs_alert_user_t *a, unsigned char *out);
int rs_alert_user_decode(rs_alert_user_t *a, const unsigned char *p, size_t len); /* 0 / -1 */
size_t rs_alert_item_encode(const rs_alert_item_t *a, unsigned char *out);
int rs_alert_item_decode(rs_alert_item_t *a, const unsigned char *p, size_t len);

#define RS_ALERT_MAX_EVIDENCE 8

typedef struct rs_alert {
    rs_alert_rule_t rule;
    char id[17];         /* deterministic, 16 lowercase hex digits */
    const char *user_id; /* user rules; NULL for item rules */
    uint32_t user_len;
    const char *item_id; /* item_spike and big_purchase: the item; else NULL */
    uint32_t item_len;
    double score;          /* severity: z-score, price factor, count / threshold */
    int64_t ts_ms;         /* event time of the event that fired it */
    int64_t episode_start; /* event time the episode began (part of the id) */
    uint32_t n_evidence;   /* named numbers: "views", "window_ms", ... */
    rs_named_num_t evidence[RS_ALERT_MAX_EVIDENCE];
} rs_alert_t;

typedef struct rs_alerter rs_alerter_t;

rs_alerter_t *rs_alerter_new(const rs_conf_t *conf); /* never NULL */
void rs_alerter_destroy(rs_alerter_t *a);            /* NULL-safe */

/* Event time from which the detector has been watching the stream: the
 * first event rs_alert_check() sees, unless set before. item_spike uses it
 * to know that an item unseen since then was quiet (see the rule). A replay
 * from scratch needs nothing; to keep alerts identical across a restart,
 * persist rs_alerter_origin() and set it again before the first check
 * (without it, items first seen in the warmup after the restart are skipped
 * and baselines read high for a while: item_spike alerts may be missed or come
 * later, with another episode start and id). */
void rs_alerter_set_origin(rs_alerter_t *a, int64_t ts_ms);
int64_t rs_alerter_origin(const rs_alerter_t *a);

/* Runs every rule on one applied event (call right after rs_state_apply()
 * applied ev: the profile already counts it). ua/ia are the user's and the
 * item's detector state; user_id/item_id name them in alerts. Either state
 * may be NULL: its rules are skipped. Writes the alerts that fire (at most
 * RS_ALERT__RULE_COUNT) to out and returns their number; 0 (state
 * untouched) when alert.enable is false or for an impression or ts_ms <= 0. */
size_t rs_alert_check(rs_alerter_t *a, rs_alert_user_t *ua, const char *user_id, uint32_t user_len,
                      rs_alert_item_t *ia, const char *item_id, uint32_t item_len,
                      const rs_event_t *ev, rs_alert_t *out);

const char *rs_alert_rule_name(rs_alert_rule_t r);  /* "rate_burst", "bot", "big_purchase",
                                                       "card_testing", "item_spike" */
int rs_alert_rule_parse(const char *s, size_t len); /* the rule, or -1 */

#endif
