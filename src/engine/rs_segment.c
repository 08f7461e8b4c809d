/* rs_segment.c -- RFM segments and behavioural clusters (rs_segment.h, SPEC F9).
 *
 * RFM. Three histograms count every buyer once with its current values:
 * recency = time of the last purchase, in time buckets of 2^wl ms (wl grows,
 * merging bucket pairs, when the used span exceeds REC_NB buckets, so the
 * resolution is span / 4096 at worst); frequency = purchases, exact below
 * 256 then 32 buckets per doubling; monetary = purchase total, 32 buckets
 * per e-fold from 0.01. A Fenwick tree over each gives the count below a
 * bucket in O(log n), so a score is the mid-rank percentile
 * (below + equal / 2) / buyers cut into fifths, exact in integers. Ranking
 * by last-purchase time is ranking by recency, so the histogram needs no
 * "now"; now only turns the last purchase into days for the reason. The
 * values a user is counted with are kept in u->seg.h_*, so a change removes
 * exactly what was added (invariant: every buyer with counted = 1 is in all
 * three histograms once; the three totals are equal).
 *
 * The (R, F) grid, the widely used RFM segment map folded onto our names:
 *            F=1          F=2          F=3        F=4        F=5
 *     R=5    new          potential    potential  champions  champions
 *     R=4    new          potential    potential  loyal      loyal
 *     R=3    hibernating  hibernating  potential  loyal      loyal
 *     R=2    hibernating  hibernating  at_risk    at_risk    at_risk
 *     R=1    lost         lost         at_risk    at_risk    at_risk
 * Monetary is scored and reported but does not pick the name.
 *
 * Clusters (features here, learning in rs_segment_kmeans.c). The vector
 * of a user (rs_segment_features): view share, cart rate per view and
 * purchase rate per event (both smoothed with a few pseudo-events towards a
 * typical rate, so a user with 10 events and no cart yet is not an
 * outlier), ln(1 + views per session), mean relp, share of the top three
 * category affinities, their entropy, ln(1 + mean dwell s), device shares,
 * night share, and the share of within-session steps that change category
 * (smoothed). relp: ln(price) minus the category's running mean ln(price)
 * before the event (a geometric-mean price ratio). Categories are keyed by
 * name (interned indexes are not stable across processes), with a cache
 * from the interned index so the hot path does not hash. A user's vector
 * joins the pending mini-batch at min.events and at each doubling; its
 * cluster is re-assessed on growth by a quarter or at a sweep (see
 * ASSESS_GROWTH). Sizes move with each reported change.
 *
 * Persistence: rs_segment_store.c (per-user bytes, state blobs). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "recstream/rs_buf.h"
#include "recstream/rs_log.h"
#include "recstream/rs_segment.h"
#include "recstream/rs_state.h"
#include "rs_segment_int.h"

static const char *const rfm_names[RS_RFM__COUNT] = {"",    "champions", "loyal",       "potential",
                                                     "new", "at_risk",   "hibernating", "lost"};

static const uint8_t grid[5][5] = {
    /* R=1 */ {RS_RFM_LOST, RS_RFM_LOST, RS_RFM_AT_RISK, RS_RFM_AT_RISK, RS_RFM_AT_RISK},
    /* R=2 */
    {RS_RFM_HIBERNATING, RS_RFM_HIBERNATING, RS_RFM_AT_RISK, RS_RFM_AT_RISK, RS_RFM_AT_RISK},
    /* R=3 */
    {RS_RFM_HIBERNATING, RS_RFM_HIBERNATING, RS_RFM_POTENTIAL, RS_RFM_LOYAL, RS_RFM_LOYAL},
    /* R=4 */ {RS_RFM_NEW, RS_RFM_POTENTIAL, RS_RFM_POTENTIAL, RS_RFM_LOYAL, RS_RFM_LOYAL},
    /* R=5 */ {RS_RFM_NEW, RS_RFM_POTENTIAL, RS_RFM_POTENTIAL, RS_RFM_CHAMPIONS, RS_RFM_CHAMPIONS},
};

static const char *const feat_names[NF] = {
    "view_share",     "cart_rate",        "purchase_rate",  "session_len",  "relative_price",
    "category_focus", "category_entropy", "dwell",          "mobile_share", "desktop_share",
    "app_share",      "night_share",      "category_switch"};

static const char *const cl_names[KMAX] = {
    "cluster-0",  "cluster-1",  "cluster-2",  "cluster-3",  "cluster-4",  "cluster-5",
    "cluster-6",  "cluster-7",  "cluster-8",  "cluster-9",  "cluster-10", "cluster-11",
    "cluster-12", "cluster-13", "cluster-14", "cluster-15", "cluster-16", "cluster-17",
    "cluster-18", "cluster-19", "cluster-20", "cluster-21", "cluster-22", "cluster-23",
    "cluster-24", "cluster-25", "cluster-26", "cluster-27", "cluster-28", "cluster-29",
    "cluster-30", "cluster-31"};

const char *rs_rfm_name(rs_rfm_t r) {
    return (unsigned)r < RS_RFM__COUNT ? rfm_names[r] : "";
}

const char *rs_segment_cluster_name(int c) {
    return c >= 0 && c < KMAX ? cl_names[c] : "";
}

const char *rs_segment_feature_name(int j) {
    return j >= 0 && j < NF ? feat_names[j] : "";
}

rs_rfm_t rs_segment_rfm_of(int r, int f) {
    if (r < 1 || r > 5 || f < 1 || f > 5) return RS_RFM_NONE;
    return (rs_rfm_t)grid[r - 1][f - 1];
}

/* ------------------------------------------------------------ histograms */

static void hist_init(hist_t *h, uint32_t nb) {
    h->nb = nb;
    h->cnt = rs_xcalloc(nb, sizeof(*h->cnt));
    h->bit = rs_xcalloc((size_t)nb + 1, sizeof(*h->bit));
    h->total = 0;
}

static void hist_free(hist_t *h) {
    free(h->cnt);
    free(h->bit);
}

void rs_segment__hist_rebuild(hist_t *h) {
    h->total = 0;
    memset(h->bit, 0, ((size_t)h->nb + 1) * sizeof(*h->bit));
    for (uint32_t i = 1; i <= h->nb; i++) {
        h->bit[i] += h->cnt[i - 1];
        h->total += h->cnt[i - 1];
        uint32_t j = i + (i & -i);
        if (j <= h->nb) h->bit[j] += h->bit[i];
    }
}

static void hist_add(hist_t *h, uint32_t b, int d) {
    if (d < 0 && !h->cnt[b]) return; /* never below zero, whatever happened */
    h->cnt[b] = (uint32_t)((int64_t)h->cnt[b] + d);
    h->total = (uint64_t)((int64_t)h->total + d);
    for (uint32_t i = b + 1; i <= h->nb; i += i & -i)
        h->bit[i] = (uint64_t)((int64_t)h->bit[i] + d);
}

static uint64_t hist_below(const hist_t *h, uint32_t b) {
    uint64_t s = 0;
    for (uint32_t i = b; i > 0; i -= i & -i) s += h->bit[i];
    return s;
}

/* Quintile of bucket b by mid-rank percentile: 1..5, 0 if empty. */
static int hist_score(const hist_t *h, uint32_t b) {
    if (!h->total) return 0;
    uint64_t q = (2 * hist_below(h, b) + h->cnt[b]) * 5 / (2 * h->total);
    return 1 + (q > 4 ? 4 : (int)q);
}

static uint32_t freq_bucket(uint32_t f) {
    if (f < 256) return f;
    double x = log2((double)f / 256.0) * 32.0;
    return x < (double)(FREQ_NB - 256 - 1) ? 256 + (uint32_t)x : FREQ_NB - 1;
}

static uint32_t mon_bucket(double v) {
    if (!(v >= 0.01)) return 0;
    double x = log(v / 0.01) * 32.0;
    return x < (double)(MON_NB - 2) ? 1 + (uint32_t)x : MON_NB - 1;
}

static int64_t rec_abs(const rs_segmenter_t *s, int64_t ts) {
    return (ts < 0 ? 0 : ts) >> s->wl;
}

/* Makes room for absolute bucket a (at the current width) in the recency
 * histogram: shift and/or merge bucket pairs until [lo, hi] fits. */
static void rec_fit(rs_segmenter_t *s, int64_t ts) {
    int64_t a = rec_abs(s, ts);
    if (s->lo > s->hi) { /* empty: leave room for somewhat older (late) purchases */
        s->base = a - REC_NB / 4 < 0 ? 0 : a - REC_NB / 4;
        s->lo = s->hi = a;
        return;
    }
    if (a >= s->base && a < s->base + (int64_t)REC_NB) {
        if (a < s->lo) s->lo = a;
        if (a > s->hi) s->hi = a;
        return;
    }
    int64_t lo = a < s->lo ? a : s->lo, hi = a > s->hi ? a : s->hi;
    int shift = 0;
    while (hi - lo + 1 > (int64_t)REC_NB) lo >>= 1, hi >>= 1, shift++;
    uint32_t *old = rs_xmalloc(REC_NB * sizeof(*old));
    memcpy(old, s->rec.cnt, REC_NB * sizeof(*old));
    memset(s->rec.cnt, 0, REC_NB * sizeof(*old));
    for (uint32_t i = 0; i < REC_NB; i++)
        if (old[i]) s->rec.cnt[((s->base + i) >> shift) - lo] += old[i];
    free(old);
    s->wl += shift;
    s->base = lo;
    s->lo = lo;
    s->hi = hi;
    rs_segment__hist_rebuild(&s->rec);
}

static uint32_t rec_bucket(const rs_segmenter_t *s, int64_t ts) {
    int64_t i = rec_abs(s, ts) - s->base;
    return i < 0 ? 0 : i >= (int64_t)REC_NB ? REC_NB - 1 : (uint32_t)i;
}

static void rfm_count(rs_segmenter_t *s, const rs_segment_user_t *g, int d) {
    hist_add(&s->rec, rec_bucket(s, g->h_recency), d);
    hist_add(&s->freq, freq_bucket(g->h_freq), d);
    hist_add(&s->mon, mon_bucket(g->h_monetary), d);
    s->dirty_rfm = 1;
}

/* Brings u's place in the histograms up to date with its profile. A
 * profile without a last-purchase time (stored before it existed) counts
 * its last event instead, rather than stretching the range to 1970. */
static void rfm_sync(rs_segmenter_t *s, rs_user_t *u) {
    rs_segment_user_t *g = &u->seg;
    int has = u->purchases > 0;
    int64_t last = u->last_purchase_ts > 0 ? u->last_purchase_ts : u->last_ts;
    if (g->counted && has && g->h_recency == last && g->h_freq == u->purchases &&
        g->h_monetary == u->monetary)
        return;
    if (g->counted) rfm_count(s, g, -1), g->counted = 0;
    if (!has) return;
    rec_fit(s, last);
    g->h_recency = last;
    g->h_freq = u->purchases;
    g->h_monetary = u->monetary;
    g->counted = 1;
    rfm_count(s, g, 1);
}

/* ------------------------------------------------------------ price map */

static void slot_put(rs_segmenter_t *s, uint32_t idx) {
    uint32_t m = s->slot_cap - 1, i = (uint32_t)s->pe[idx].h & m;
    while (s->slot[i]) i = (i + 1) & m;
    s->slot[i] = idx + 1;
}

/* The entry of a category name, created if new. */
pent_t *rs_segment__price_get(rs_segmenter_t *s, const char *name, uint32_t len, uint64_t h) {
    if (s->slot_cap) {
        uint32_t m = s->slot_cap - 1;
        for (uint32_t i = (uint32_t)h & m; s->slot[i]; i = (i + 1) & m) {
            pent_t *e = &s->pe[s->slot[i] - 1];
            if (e->h == h && e->len == len && !memcmp(e->name, name, len)) return e;
        }
    }
    if ((s->pe_n + 1) * 2 > s->slot_cap) { /* grow at half load */
        free(s->slot);
        s->slot_cap = s->slot_cap ? s->slot_cap * 2 : 64;
        s->slot = rs_xcalloc(s->slot_cap, sizeof(*s->slot));
        for (uint32_t j = 0; j < s->pe_n; j++) slot_put(s, j);
    }
    if (s->pe_n == s->pe_cap) {
        s->pe_cap = s->pe_cap ? s->pe_cap * 2 : 32;
        s->pe = rs_xrealloc(s->pe, s->pe_cap * sizeof(*s->pe));
    }
    pent_t *e = &s->pe[s->pe_n];
    memset(e, 0, sizeof(*e));
    e->name = rs_xstrndup(name, len);
    e->len = len;
    e->h = h;
    e->h32 = (uint32_t)(h >> 32) | 1;
    slot_put(s, s->pe_n++);
    return e;
}

/* The entry of the event's category: the item's interned one through a
 * per-process cache (no hashing on the hot path), else the event's. */
static pent_t *price_entry(rs_segmenter_t *s, const rs_item_t *it, const rs_event_t *ev) {
    uint32_t len = 0, ix = it && s->st ? it->category : 0;
    if (ix && ix < s->ixc_cap && s->ixc[ix]) return &s->pe[s->ixc[ix] - 1];
    const char *name = ix ? rs_state_name(s->st, ix, &len) : NULL;
    if (name && len && len <= NAME_MAX_) {
        pent_t *e = rs_segment__price_get(s, name, len, rs_hash64(name, len));
        s->ixc = rs_xgrow_zeroed(s->ixc, &s->ixc_cap, ix, sizeof(*s->ixc), 64);
        s->ixc[ix] = (uint32_t)(e - s->pe) + 1;
        return e;
    }
    if (!(ev->fields & RS_F_CATEGORY) || !ev->category.len || ev->category.len > NAME_MAX_)
        return NULL;
    return rs_segment__price_get(s, ev->category.p, ev->category.len,
                                 rs_hash64(ev->category.p, ev->category.len));
}

/* ------------------------------------------------------------ features */

static uint32_t user_events(const rs_user_t *u) {
    uint32_t n = 0;
    for (int t = 0; t < RS_EV__COUNT; t++)
        if (t != RS_EV_IMPRESSION) n += u->counts[t];
    return n;
}

/* Rates are smoothed towards a typical value with a few pseudo-events
 * (empirical-Bayes style), so that a user with 10 events is not an outlier
 * for having no cart yet: ambiguous users land near the middle. */
#define CART_PRIOR_RATE   0.05f
#define CART_PRIOR_N      10.0f
#define BUY_PRIOR_RATE    0.02f
#define BUY_PRIOR_N       10.0f
#define SWITCH_PRIOR_RATE 0.4f
#define SWITCH_PRIOR_N    5.0f

void rs_segment_features(const rs_segmenter_t *s, const rs_user_t *u, float *out) {
    (void)s;
    float ev = (float)user_events(u), views = (float)u->counts[RS_EV_VIEW] + u->counts[RS_EV_CLICK];
    float n = ev > 0 ? ev : 1, sess = u->sessions ? (float)u->sessions : 1;
    out[0] = views / n;
    out[1] = (u->counts[RS_EV_CART] + CART_PRIOR_RATE * CART_PRIOR_N) / (views + CART_PRIOR_N);
    out[2] = (u->counts[RS_EV_PURCHASE] + BUY_PRIOR_RATE * BUY_PRIOR_N) / (ev + BUY_PRIOR_N);
    out[3] = log1pf(views / sess); /* browsing depth of a session */
    out[4] = u->seg.relp_n ? (float)(u->seg.relp_sum / u->seg.relp_n) : 0.0f;
    /* category affinities as shares of w = 2^(log_w - max): focus = share of
     * the top three, entropy = ln(tot) - sum(w ln w) / tot (ln w is known,
     * so one exp2 per category and one log in all) */
    double mx = -INFINITY;
    float tot = 0, wlw = 0, top[3] = {0, 0, 0};
    for (int i = 0; i < RS_PROFILE_CATS; i++)
        if (u->cat_aff[i].ix && u->cat_aff[i].log_w > mx) mx = u->cat_aff[i].log_w;
    for (int i = 0; i < RS_PROFILE_CATS; i++) {
        if (!u->cat_aff[i].ix) continue;
        float d = (float)(u->cat_aff[i].log_w - mx), w = exp2f(d);
        tot += w;
        wlw += w * d;
        int k = 3;
        for (; k > 0 && w > top[k - 1]; k--)
            if (k < 3) top[k] = top[k - 1];
        if (k < 3) top[k] = w;
    }
    out[5] = tot > 0 ? (top[0] + top[1] + top[2]) / tot : 0.0f;
    out[6] = tot > 0 ? logf(tot) - wlw * (float)M_LN2 / tot : 0.0f;
    out[7] = u->dwell_n ? log1pf((float)u->dwell_ms / (float)u->dwell_n / 1000.0f) : 0.0f;
    float dev = 0, tod = 0;
    for (int i = 0; i < RS_DEV__COUNT; i++) dev += (float)u->device[i];
    for (int i = 0; i < RS_TOD__COUNT; i++) tod += (float)u->tod[i];
    out[8] = dev > 0 ? u->device[RS_DEV_MOBILE] / dev : 0.0f;
    out[9] = dev > 0 ? u->device[RS_DEV_DESKTOP] / dev : 0.0f;
    out[10] = dev > 0 ? u->device[RS_DEV_APP] / dev : 0.0f;
    out[11] = tod > 0 ? u->tod[RS_TOD_NIGHT] / tod : 0.0f;
    out[12] = (u->seg.cat_switch + SWITCH_PRIOR_RATE * SWITCH_PRIOR_N) /
              (u->seg.cat_steps + SWITCH_PRIOR_N);
}

/* ------------------------------------------------------------ events, eval */

void rs_segment_on_event(rs_segmenter_t *s, rs_user_t *u, const rs_item_t *it,
                         const rs_event_t *ev) {
    if (!s || !u || !ev) return;
    if (ev->type == RS_EV_PURCHASE) rfm_sync(s, u);
    if (ev->type == RS_EV_IMPRESSION) return; /* shown, not chosen: says nothing of taste */
    pent_t *e = price_entry(s, it, ev);
    if (!e) return;
    rs_segment_user_t *g = &u->seg;
    if (g->last_cat && g->last_sess == u->sessions) { /* a step within one session */
        g->cat_steps++;
        g->cat_switch += e->h32 != g->last_cat;
    }
    g->last_cat = e->h32;
    g->last_sess = u->sessions;
    double p = (ev->fields & RS_F_PRICE) && ev->price > 0 ? ev->price : it ? it->price : -1;
    if (!(p > 0) || !isfinite(p)) return;
    double lp = log(p);
    if (e->n) { /* relative to the mean before this event: the first price has no reference */
        g->relp_sum += lp - e->sum / (double)e->n;
        g->relp_n++;
    }
    e->sum += lp;
    e->n++;
    s->dirty_pm = 1;
}

static void fmt_age(char *b, size_t n, int64_t ms) {
    if (ms < 0) ms = 0;
    if (ms < 3600000)
        snprintf(b, n, "%lld min", (long long)(ms / 60000));
    else if (ms < 2 * 86400000LL)
        snprintf(b, n, "%lld hours", (long long)(ms / 3600000));
    else
        snprintf(b, n, "%lld days", (long long)(ms / 86400000));
}

static void rfm_reason(char *b, size_t n, const rs_segment_user_t *g, int r, int f, int m,
                       const rs_user_t *u, int64_t now) {
    char age[48];
    fmt_age(age, sizeof(age), now - g->h_recency);
    if (!g->r) {
        snprintf(b, n,
                 "first purchase: recency %d, frequency %d, monetary %d (%u purchase%s, %.2f "
                 "spent, last %s ago)",
                 r, f, m, u->purchases, u->purchases == 1 ? "" : "s", u->monetary, age);
        return;
    }
    size_t o = 0;
    b[0] = 0;
#define ADD(...) (o += (size_t)snprintf(b + o, o < n ? n - o : 0, __VA_ARGS__), o = o < n ? o : n)
    if (r != g->r) ADD("recency %d -> %d: last purchase %s ago", g->r, r, age);
    if (f != g->f)
        ADD("%sfrequency %d -> %d: %u purchase%s", o ? "; " : "", g->f, f, u->purchases,
            u->purchases == 1 ? "" : "s");
    if (m != g->m) ADD("%smonetary %d -> %d: %.2f spent", o ? "; " : "", g->m, m, u->monetary);
    if (!o) ADD("rescored: recency %d, frequency %d", r, f);
#undef ADD
}

static void score(rs_segment_change_t *c, const char *name, double v) {
    if (c->n_scores < RS_SEGMENT_MAX_SCORES) {
        c->scores[c->n_scores].name = name;
        c->scores[c->n_scores++].value = v;
    }
}

static void change_init(rs_segment_change_t *c, rs_segment_kind_t kind, const rs_user_t *u,
                        int64_t now) {
    memset(c, 0, sizeof(*c));
    c->kind = kind;
    c->user_id = u->id;
    c->user_len = u->id_len;
    c->ts_ms = now;
}

static void size_move(uint64_t *sz, int from, int to) {
    if (from >= 0 && sz[from]) sz[from]--; /* guarded: sizes reset after a k change */
    if (to >= 0) sz[to]++;
}

static void cluster_reason(const rs_segmenter_t *s, char *b, size_t n, int old, int c,
                           const float *x, uint32_t ev, float dist) {
    if (old < 0 || old >= s->nc) {
        snprintf(b, n, "first assignment at %u events (distance %.2f)", ev, dist);
        return;
    }
    /* the two features that pull most towards the new centroid */
    float y[NF], gain[NF];
    int top[2] = {-1, -1};
    rs_segment__scale(s->mu, s->sc, x, y);
    for (int j = 0; j < NF; j++) {
        float a = y[j] - s->cent[old * NF + j], d = y[j] - s->cent[c * NF + j];
        gain[j] = a * a - d * d;
        if (gain[j] > 0 && (top[0] < 0 || gain[j] > gain[top[0]]))
            top[1] = top[0], top[0] = j;
        else if (gain[j] > 0 && (top[1] < 0 || gain[j] > gain[top[1]]))
            top[1] = j;
    }
    int o = snprintf(b, n, "%s -> %s at %u events", cl_names[old], cl_names[c], ev);
    for (int t = 0; t < 2 && top[t] >= 0 && o > 0 && (size_t)o < n; t++)
        o += snprintf(b + o, n - (size_t)o, "%s%s %.3g", t ? ", " : ": closer on ",
                      feat_names[top[t]], x[top[t]]);
}

size_t rs_segment_eval(rs_segmenter_t *s, rs_user_t *u, int64_t now, rs_segment_change_t *out) {
    if (!s || !u) return 0;
    rs_segment_user_t *g = &u->seg;
    size_t nch = 0;
    rfm_sync(s, u);
    int r = 0, f = 0, m = 0;
    if (g->counted) {
        r = hist_score(&s->rec, rec_bucket(s, g->h_recency));
        f = hist_score(&s->freq, freq_bucket(g->h_freq));
        m = hist_score(&s->mon, mon_bucket(g->h_monetary));
    }
    rs_rfm_t nr = rs_segment_rfm_of(r, f);
    if (nr != g->rfm) {
        rs_segment_change_t *c = &out[nch++];
        change_init(c, RS_SEG_RFM, u, now);
        c->old_name = rs_rfm_name((rs_rfm_t)g->rfm);
        c->new_name = rs_rfm_name(nr);
        rfm_reason(c->reason, sizeof(c->reason), g, r, f, m, u, now);
        score(c, "r", r);
        score(c, "f", f);
        score(c, "m", m);
        int64_t age = now - g->h_recency;
        score(c, "recency_days", g->counted ? (double)(age > 0 ? age : 0) / 86400000.0 : 0);
        score(c, "frequency", u->purchases);
        score(c, "monetary", u->monetary);
        size_move(s->rfm_size, g->rfm ? g->rfm : -1, nr ? (int)nr : -1);
        g->rfm = (uint8_t)nr;
        s->dirty_rfm = 1;
    }
    g->r = (uint8_t)r, g->f = (uint8_t)f, g->m = (uint8_t)m;

    uint32_t ev = user_events(u);
    if (ev < s->min_events) return nch;
    int queue = !g->q_events || (uint64_t)ev >= 2 * (uint64_t)g->q_events;
    uint32_t step = g->a_events / ASSESS_GROWTH ? g->a_events / ASSESS_GROWTH : 1;
    int assess =
        s->nc &&
        (!g->cluster || (uint64_t)ev >= (uint64_t)g->a_events + step ||
         (g->a_gen != (uint32_t)s->refreshes && now - g->a_ts >= s->conf->segments_refresh_ms));
    if (!queue && !assess) return nch;
    float x[NF], d = 0;
    rs_segment_features(s, u, x);
    if (queue) {
        g->q_events = ev;
        rs_segment_add_vector(s, x);
    }
    int c = rs_segment_nearest(s, x, &d);
    if (c < 0) return nch;
    g->a_events = ev, g->a_gen = (uint32_t)s->refreshes, g->a_ts = now;
    int old = (int)g->cluster - 1;
    if (c != old) {
        rs_segment_change_t *ch = &out[nch++];
        change_init(ch, RS_SEG_CLUSTER, u, now);
        ch->old_name = rs_segment_cluster_name(old < s->nc ? old : -1);
        ch->new_name = cl_names[c];
        cluster_reason(s, ch->reason, sizeof(ch->reason), old, c, x, ev, d);
        score(ch, "distance", d);
        score(ch, "events", ev);
        score(ch, "relative_price", x[4]);
        score(ch, "session_len", x[3]);
        score(ch, "cart_rate", x[1]);
        score(ch, "category_focus", x[5]);
        size_move(s->cl_size, old < s->nc ? old : -1, c);
        g->cluster = (uint8_t)(c + 1);
        s->dirty_cl = 1;
    }
    g->dist = d;
    return nch;
}

void rs_segment_forget(rs_segmenter_t *s, rs_user_t *u) {
    if (!s || !u) return;
    rs_segment_user_t *g = &u->seg;
    if (g->counted) rfm_count(s, g, -1);
    if (g->rfm && g->rfm < RS_RFM__COUNT) size_move(s->rfm_size, g->rfm, -1), s->dirty_rfm = 1;
    if (g->cluster && g->cluster - 1 < s->nc) size_move(s->cl_size, g->cluster - 1, -1);
    s->dirty_cl = 1;
    memset(g, 0, sizeof(*g));
}

uint64_t rs_segment_rfm_size(const rs_segmenter_t *s, rs_rfm_t r) {
    return s && (unsigned)r < RS_RFM__COUNT ? s->rfm_size[r] : 0;
}

uint64_t rs_segment_cluster_size(const rs_segmenter_t *s, int c) {
    return s && c >= 0 && c < s->k ? s->cl_size[c] : 0;
}

int rs_segment_cluster_count(const rs_segmenter_t *s) {
    return s ? s->nc : 0;
}

uint64_t rs_segment_refreshes(const rs_segmenter_t *s) {
    return s ? s->refreshes : 0;
}

int rs_segment_busy(const rs_segmenter_t *s) {
    return s && s->job;
}

/* ------------------------------------------------------------ lifecycle */

rs_err_t rs_segmenter_new(rs_segmenter_t **out, const rs_conf_t *conf, rs_state_t *st,
                          const rs_executor_t *exec, char *errstr, size_t errstr_size) {
    rs_err_t rc = RS_OK;
    *out = NULL;
    if (!conf) return rs_seterr(errstr, errstr_size, RS_EARG, "segments: no configuration");
    if (conf->segments_clusters < 2 || conf->segments_clusters > KMAX)
        return rs_seterr(errstr, errstr_size, RS_ECONF, "segments.clusters %d not in 2..%d",
                         conf->segments_clusters, KMAX);
    if (conf->segments_cluster_batch < 1 || conf->segments_cluster_min_events < 1)
        return rs_seterr(errstr, errstr_size, RS_ECONF,
                         "segments.cluster.batch and segments.cluster.min.events must be >= 1");
    if (exec && !exec->submit)
        return rs_seterr(errstr, errstr_size, RS_EARG, "segments: executor without submit");
    rs_segmenter_t *s = rs_xcalloc(1, sizeof(*s));
    s->conf = conf;
    s->st = st;
    if (exec) s->exec = *exec, s->has_exec = 1;
    s->k = conf->segments_clusters;
    s->batch = conf->segments_cluster_batch;
    s->min_events = (uint32_t)conf->segments_cluster_min_events;
    hist_init(&s->rec, REC_NB);
    hist_init(&s->freq, FREQ_NB);
    hist_init(&s->mon, MON_NB);
    s->wl = REC_WL0;
    s->lo = 1, s->hi = 0;
    s->rng = 0x5e65e65e65e65e6dull; /* fixed: the same first batch seeds the same centroids */
    for (int j = 0; j < NF; j++) s->sc[j] = 1;
    s->pend = rs_xmalloc((size_t)s->batch * NF * sizeof(float));
    if (st && (rc = rs_segment__load(s, errstr, errstr_size)) != RS_OK) goto fail;
    *out = s;
    return RS_OK;
fail:
    rs_segmenter_destroy(s);
    return rc;
}

void rs_segmenter_destroy(rs_segmenter_t *s) {
    if (!s) return;
    if (s->job) s->job->s = NULL; /* still on the executor: its done() frees it */
    hist_free(&s->rec);
    hist_free(&s->freq);
    hist_free(&s->mon);
    for (uint32_t i = 0; i < s->pe_n; i++) free(s->pe[i].name);
    free(s->pe);
    free(s->slot);
    free(s->ixc);
    free(s->pend);
    rs_buf_free(&s->scratch);
    free(s);
}
