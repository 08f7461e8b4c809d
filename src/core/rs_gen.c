/* rs_gen.c -- synthetic e-commerce traffic (SPEC F13), reproducible from a seed.
 *
 * Design:
 *  - Four xoshiro256** streams seeded from the one seed through splitmix64:
 *    `setup` (tables), `sess` (sessions, items, time), `inj` (dup/late/bad
 *    decisions and their content) and `garb` (garbage bytes). Keeping them
 *    apart means the fresh events are the same whatever the injection rates,
 *    and calling rs_gen_garbage() never shifts the event stream.
 *  - libm (pow/log/exp/cos) is used only while building tables. The per-event
 *    path is integer and plain IEEE double arithmetic, so the sequence is the
 *    same on any machine with IEEE doubles.
 *  - Sampling is O(1) with Walker/Vose alias tables with 32-bit integer
 *    thresholds: items by Zipf weight (global, and per category over that
 *    category's items), users by activity, categories by Zipf(0.8).
 *  - A pool of K open sessions (K ~ events_per_sec * 10 s, at most users/2)
 *    is kept; each event picks a pool slot uniformly, so one session's events
 *    are ~K/events_per_sec seconds apart and sessions interleave. The global
 *    clock advances by a uniform step of mean 1/events_per_sec per fresh
 *    event, so the stream is time-ordered by construction.
 *  - A session has a geometric number of "browse" views plus a small FIFO of
 *    follow-ups: cart after view (cart_rate), purchase after cart
 *    (purchase_rate), and the planted partner (pair_rate), which is pushed at
 *    the front so it is the session's very next event.
 *  - Only RS_GEN_OK events enter the dup ring, so a dup is always a valid
 *    record sent twice.
 *  - Behaviour mode (group_mix) only adds branches to the background path
 *    and draws its per-user tables from a fifth stream (`bsetup`), so with
 *    it off every draw of the original model happens in the same order.
 *  - Anomaly episodes draw from a sixth stream (`anom`) and are merged with
 *    the background by time: the next background event waits in `bg` while
 *    episode events due strictly before it are emitted. Episode sessions are
 *    numbered from EP_SESSION_BASE so background session ids do not move.
 * Invariants: every fresh event (OK, LATE, BAD_*) gets id "e<seq>" with seq
 * strictly increasing; DUPs repeat an earlier OK event byte for byte. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recstream/rs_buf.h"
#include "recstream/rs_err.h"
#include "recstream/rs_gen.h"
#include "rs_gen_int.h"

/* Vose's construction. `work` holds 2n uint32 of scratch. */
static void alias_build(alias_t *a, const double *w, uint32_t n, uint32_t *work) {
    double sum = 0, *p = rs_xmalloc(n * sizeof(*p));
    uint32_t *small = work, *large = work + n, ns = 0, nl = 0;
    a->n = n;
    for (uint32_t i = 0; i < n; i++) sum += w[i];
    for (uint32_t i = 0; i < n; i++) {
        p[i] = w[i] * n / sum;
        a->alt[i] = i;
        if (p[i] < 1.0)
            small[ns++] = i;
        else
            large[nl++] = i;
    }
    while (ns && nl) {
        uint32_t s = small[--ns], l = large[nl - 1];
        a->thr[s] = p[s] > 0.0 ? (uint32_t)(p[s] * 4294967296.0) : 0; /* p may round < 0 */
        a->alt[s] = l;
        p[l] -= 1.0 - p[s];
        if (p[l] < 1.0) {
            nl--;
            small[ns++] = l;
        }
    }
    /* Leftovers are 1.0 up to rounding: always keep (alt is the column itself). */
    while (nl) a->thr[large[--nl]] = UINT32_MAX;
    while (ns) a->thr[small[--ns]] = UINT32_MAX;
    free(p);
}

static const grp_t groups[RS_GEN__GROUP_COUNT] = {
    {1.0, BROWSE_CONT_P, FOCUS_P, 1.0, 1.0, 0, {0.55, 0.30, 0.15}}, /* regular */
    {1.0, 0.90, FOCUS_P, 0.5, 0.4, -1, {0.70, 0.20, 0.10}},         /* bargain */
    {3.0, 0.70, 0.97, 3.0, 1.8, 1, {0.25, 0.25, 0.50}},             /* big spender */
    {1.5, 0.93, 0.50, 0.2, 0.5, 0, {0.30, 0.60, 0.10}},             /* browser */
};

void rs_gen_opts_default(rs_gen_opts_t *o) {
    memset(o, 0, sizeof(*o));
    o->seed = 42;
    o->users = 100000;
    o->items = 20000;
    o->categories = 50;
    o->zipf_s = 1.05;
    o->pairs = 50;
    o->pair_rate = 0.6;
    o->cart_rate = 0.08;
    o->purchase_rate = 0.4;
    o->start_ms = INT64_C(1700000000000);
    o->events_per_sec = 1000;
    o->spike_calm_ms = 600000;
}

void rs_gen_opts_behaviour(rs_gen_opts_t *o) {
    o->group_mix[RS_GEN_REGULAR] = 0.55;
    o->group_mix[RS_GEN_BARGAIN] = 0.2;
    o->group_mix[RS_GEN_BIG_SPENDER] = 0.1;
    o->group_mix[RS_GEN_BROWSER] = 0.15;
    o->night_owl_share = 0.15;
}

static double mix_sum(const rs_gen_opts_t *o) {
    double t = 0;
    for (int k = 0; k < RS_GEN__GROUP_COUNT; k++) t += o->group_mix[k];
    return t;
}

/* Planted pairs come from item ranks [lo, lo + window): popular enough to be
 * seen often, not the head items every session touches anyway. */
static void pair_window(const rs_gen_opts_t *o, uint32_t *lo, uint32_t *n) {
    uint32_t l = o->items >= 100 ? 10 : 0;
    uint64_t w = (uint64_t)o->pairs * 8;
    if (w < 64) w = 64;
    if (w > o->items - l) w = o->items - l;
    *lo = l;
    *n = (uint32_t)w;
}

static int bad_rate(double r) {
    return !(r >= 0.0 && r <= 1.0);
}

rs_err_t rs_gen_opts_check(const rs_gen_opts_t *o, char *errstr, size_t errstr_size) {
    uint32_t lo, n;
    if (!o) return rs_seterr(errstr, errstr_size, RS_ECONF, "no options");
    if (o->users < 1 || o->users > (1u << 30))
        return rs_seterr(errstr, errstr_size, RS_ECONF, "users %u not in 1..2^30", o->users);
    if (o->items < 2 || o->items > (1u << 30))
        return rs_seterr(errstr, errstr_size, RS_ECONF, "items %u not in 2..2^30", o->items);
    if (o->categories < 1 || o->categories > 65535)
        return rs_seterr(errstr, errstr_size, RS_ECONF, "categories %u not in 1..65535",
                         o->categories);
    if (!(o->zipf_s >= 0.0 && o->zipf_s <= 10.0))
        return rs_seterr(errstr, errstr_size, RS_ECONF, "zipf_s %g not in [0, 10]", o->zipf_s);
    const struct {
        const char *name;
        double v;
    } rates[] = {{"pair_rate", o->pair_rate},         {"cart_rate", o->cart_rate},
                 {"purchase_rate", o->purchase_rate}, {"dup_rate", o->dup_rate},
                 {"late_rate", o->late_rate},         {"bad_rate", o->bad_rate}};
    for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++)
        if (bad_rate(rates[i].v))
            return rs_seterr(errstr, errstr_size, RS_ECONF, "%s %g not in [0, 1]", rates[i].name,
                             rates[i].v);
    if (o->dup_rate + o->late_rate + o->bad_rate > 1.0)
        return rs_seterr(errstr, errstr_size, RS_ECONF, "dup_rate + late_rate + bad_rate > 1");
    if (!(o->events_per_sec > 0.0 && o->events_per_sec <= 1e9))
        return rs_seterr(errstr, errstr_size, RS_ECONF, "events_per_sec %g not in (0, 1e9]",
                         o->events_per_sec);
    if (o->spike_calm_ms < 0 || o->spike_calm_ms > INT64_C(31536000000))
        return rs_seterr(errstr, errstr_size, RS_ECONF, "spike_calm_ms %lld not in [0, 1 year]",
                         (long long)o->spike_calm_ms);
    if (o->start_ms <= LATE_MAX_MS || o->start_ms > RS_GEN_FUTURE_MS / 2)
        return rs_seterr(errstr, errstr_size, RS_ECONF, "start_ms %lld out of range",
                         (long long)o->start_ms);
    for (int k = 0; k < RS_GEN__GROUP_COUNT; k++)
        if (!(o->group_mix[k] >= 0.0 && o->group_mix[k] <= 1e6))
            return rs_seterr(errstr, errstr_size, RS_ECONF, "group_mix %s %g not in [0, 1e6]",
                             rs_gen_group_name((rs_gen_group_t)k), o->group_mix[k]);
    for (int k = 0; k < RS_GEN__AN_COUNT; k++)
        if (!(o->anomaly_rate[k] >= 0.0 && o->anomaly_rate[k] <= 1e5))
            return rs_seterr(errstr, errstr_size, RS_ECONF, "%s rate %g not in [0, 1e5]",
                             rs_gen_anomaly_name((rs_gen_anomaly_type_t)k), o->anomaly_rate[k]);
    if (bad_rate(o->night_owl_share))
        return rs_seterr(errstr, errstr_size, RS_ECONF, "night_owl_share %g not in [0, 1]",
                         o->night_owl_share);
    if (o->night_owl_share > 0 && mix_sum(o) <= 0)
        return rs_seterr(errstr, errstr_size, RS_ECONF, "night owls need a group mix");
    pair_window(o, &lo, &n);
    if ((uint64_t)o->pairs * 2 > n)
        return rs_seterr(errstr, errstr_size, RS_ECONF, "pairs %u too many for %u items", o->pairs,
                         o->items);
    return RS_OK;
}

static void build_items(rs_gen_t *g, rng_t *r) {
    const rs_gen_opts_t *o = &g->o;
    uint32_t ni = o->items, nc = o->categories;
    uint32_t nmax = ni > nc ? ni : nc;
    uint32_t *work = rs_xmalloc(2 * (size_t)nmax * sizeof(*work));
    double *w = rs_xmalloc(nmax * sizeof(*w));

    /* Categories: Zipf(0.8) sizes; also used to draw users' favourites. */
    for (uint32_t c = 0; c < nc; c++) w[c] = pow((double)c + 1, -CAT_ZIPF_S);
    g->cat_pick.thr = rs_xmalloc(nc * sizeof(uint32_t));
    g->cat_pick.alt = rs_xmalloc(nc * sizeof(uint32_t));
    alias_build(&g->cat_pick, w, nc, work);

    /* Category median price: log-uniform in [5, 500]. */
    double *cat_mu = rs_xmalloc(nc * sizeof(*cat_mu));
    for (uint32_t c = 0; c < nc; c++) cat_mu[c] = log(5.0) + rng_u01(r) * log(100.0);

    g->item_cat = rs_xmalloc(ni * sizeof(*g->item_cat));
    g->item_price = rs_xmalloc(ni * sizeof(*g->item_price));
    g->cat_off = rs_xcalloc((size_t)nc + 1, sizeof(*g->cat_off));
    for (uint32_t i = 0; i < ni; i++) {
        uint32_t c = alias_draw(&g->cat_pick, r);
        g->item_cat[i] = (uint16_t)c;
        g->cat_off[c + 1]++;
        /* Box-Muller normal for a log-normal price, sigma 0.5, cents. */
        double u1 = 1.0 - rng_u01(r), u2 = rng_u01(r);
        double z = sqrt(-2.0 * log(u1)) * cos(2.0 * 3.141592653589793 * u2);
        double price = round(exp(cat_mu[c] + 0.5 * z) * 100.0) / 100.0;
        g->item_price[i] = price < 0.01 ? 0.01 : price;
    }
    free(cat_mu);

    /* Global Zipf popularity: item i has weight (i + 1)^-s. */
    for (uint32_t i = 0; i < ni; i++) w[i] = pow((double)i + 1, -o->zipf_s);
    g->item_all.thr = rs_xmalloc(ni * sizeof(uint32_t));
    g->item_all.alt = rs_xmalloc(ni * sizeof(uint32_t));
    alias_build(&g->item_all, w, ni, work);

    /* Per-category tables over the category's items, in popularity order. */
    for (uint32_t c = 0; c < nc; c++) g->cat_off[c + 1] += g->cat_off[c];
    uint32_t *fill = rs_xmalloc(nc * sizeof(*fill));
    memcpy(fill, g->cat_off, nc * sizeof(*fill));
    g->cat_items = rs_xmalloc(ni * sizeof(*g->cat_items));
    for (uint32_t i = 0; i < ni; i++) g->cat_items[fill[g->item_cat[i]]++] = i;
    free(fill);
    double *cw = rs_xmalloc(ni * sizeof(*cw));
    for (uint32_t k = 0; k < ni; k++) cw[k] = w[g->cat_items[k]];
    g->cat_thr = rs_xmalloc(ni * sizeof(uint32_t));
    g->cat_alt = rs_xmalloc(ni * sizeof(uint32_t));
    g->cat_alias = rs_xcalloc(nc, sizeof(*g->cat_alias));
    for (uint32_t c = 0; c < nc; c++) {
        uint32_t off = g->cat_off[c], n = g->cat_off[c + 1] - off;
        g->cat_alias[c].thr = g->cat_thr + off;
        g->cat_alias[c].alt = g->cat_alt + off;
        if (n) alias_build(&g->cat_alias[c], cw + off, n, work);
    }
    free(cw);
    free(w);
    free(work);
}

static void build_pairs(rs_gen_t *g, rng_t *r) {
    uint32_t lo, n;
    pair_window(&g->o, &lo, &n);
    g->partner = rs_xmalloc(g->o.items * sizeof(*g->partner));
    for (uint32_t i = 0; i < g->o.items; i++) g->partner[i] = -1;
    g->npairs = g->o.pairs;
    g->pair_a = rs_xcalloc(g->npairs ? g->npairs : 1, sizeof(char *));
    g->pair_b = rs_xcalloc(g->npairs ? g->npairs : 1, sizeof(char *));
    uint32_t *perm = rs_xmalloc(n * sizeof(*perm));
    for (uint32_t k = 0; k < n; k++) perm[k] = lo + k;
    /* Partial Fisher-Yates: the first 2 * pairs entries are distinct items. */
    for (uint32_t k = 0; k < 2 * g->npairs; k++) {
        uint32_t j = k + rng_below(r, n - k), t = perm[k];
        perm[k] = perm[j];
        perm[j] = t;
    }
    for (uint32_t p = 0; p < g->npairs; p++) {
        uint32_t a = perm[2 * p], b = perm[2 * p + 1];
        char buf[24];
        g->partner[a] = (int32_t)b;
        fmt_id(buf, 'i', a);
        g->pair_a[p] = rs_xstrdup(buf);
        fmt_id(buf, 'i', b);
        g->pair_b[p] = rs_xstrdup(buf);
    }
    free(perm);
}

/* Index of a draw from weights w[0..n) summing to total. */
static int draw_w(rng_t *r, const double *w, int n, double total) {
    double x = rng_u01(r) * total;
    for (int k = 0; k < n - 1; k++) {
        if (x < w[k]) return k;
        x -= w[k];
    }
    return n - 1;
}

/* Behaviour mode: group, habit and primary device of a user, from `rb` so
 * the original per-user draws keep their order. Returns the activity factor. */
static double behave_user(rs_gen_t *g, user_t *us, rng_t *rb, const double *cat_avg) {
    double total = mix_sum(&g->o);
    us->group = (uint8_t)draw_w(rb, g->o.group_mix, RS_GEN__GROUP_COUNT, total);
    us->night = rng_u01(rb) < g->o.night_owl_share;
    const grp_t *gp = &groups[us->group];
    us->device = (uint8_t)draw_w(rb, gp->dev, 3, 1.0);
    if (us->group == RS_GEN_BIG_SPENDER) { /* loyal to one: the dearest favourite */
        for (uint32_t j = 1; j < us->nfav; j++)
            if (cat_avg[us->fav[j]] > cat_avg[us->fav[0]]) us->fav[0] = us->fav[j];
        us->nfav = us->nfav ? 1 : 0;
    }
    us->budget = (float)(us->nfav ? cat_avg[us->fav[0]] : 0.0);
    return gp->activity;
}

static void build_users(rs_gen_t *g, rng_t *r, rng_t *rb) {
    uint32_t nu = g->o.users, nc = g->o.categories;
    double *w = rs_xmalloc(nu * sizeof(*w));
    uint32_t *work = rs_xmalloc(2 * (size_t)nu * sizeof(*work));
    g->users = rs_xcalloc(nu, sizeof(*g->users));
    double *cat_avg = rs_xcalloc(nc, sizeof(*cat_avg)), *cat_n = rs_xcalloc(nc, sizeof(*cat_n));
    for (uint32_t i = 0; i < g->o.items; i++) {
        cat_avg[g->item_cat[i]] += g->item_price[i];
        cat_n[g->item_cat[i]]++;
    }
    for (uint32_t c = 0; c < nc; c++) cat_avg[c] /= cat_n[c] ? cat_n[c] : 1;
    for (uint32_t u = 0; u < nu; u++) {
        user_t *us = &g->users[u];
        /* Pareto activity: most users light, a few very heavy. */
        double a = pow(1.0 - rng_u01(r), -1.0 / ACTIVITY_ALPHA);
        w[u] = a > ACTIVITY_CAP ? ACTIVITY_CAP : a;
        double d = rng_u01(r);
        us->device = d < 0.6 ? 0 : d < 0.9 ? 1 : 2;
        double k = rng_u01(r);
        uint32_t want = k < 0.4 ? 1 : k < 0.8 ? 2 : 3;
        if (want > nc) want = nc;
        for (int tries = 0; us->nfav < want && tries < 32; tries++) {
            uint16_t c = (uint16_t)alias_draw(&g->cat_pick, r);
            int dup = 0;
            for (uint32_t j = 0; j < us->nfav; j++) dup |= us->fav[j] == c;
            if (!dup) us->fav[us->nfav++] = c;
        }
        if (rb) w[u] *= behave_user(g, us, rb, cat_avg);
    }
    free(cat_avg);
    free(cat_n);
    g->user_pick.thr = rs_xmalloc(nu * sizeof(uint32_t));
    g->user_pick.alt = rs_xmalloc(nu * sizeof(uint32_t));
    alias_build(&g->user_pick, w, nu, work);
    free(work);
    free(w);
}

rs_gen_t *rs_gen_new(const rs_gen_opts_t *o) {
    if (rs_gen_opts_check(o, NULL, 0) != RS_OK) return NULL;
    rs_gen_t *g = rs_xcalloc(1, sizeof(*g));
    rng_t setup, bsetup;
    g->o = *o;
    g->behav = mix_sum(o) > 0;
    for (int k = 0; k < RS_GEN__AN_COUNT; k++) g->episodes |= o->anomaly_rate[k] > 0;
    rng_seed(&setup, o->seed, 1);
    rng_seed(&g->sess_rng, o->seed, 2);
    rng_seed(&g->inj, o->seed, 3);
    rng_seed(&g->garb, o->seed, 4);
    rng_seed(&bsetup, o->seed, 5);
    rng_seed(&g->anom, o->seed, 6);
    build_items(g, &setup);
    build_pairs(g, &setup);
    build_users(g, &setup, g->behav ? &bsetup : NULL);
    if (g->behav || g->episodes) rs_gen__build_price_order(g);
    if (g->episodes) {
        g->buy_n = rs_xcalloc(o->users, sizeof(*g->buy_n));
        g->buy_sum = rs_xcalloc(o->users, sizeof(*g->buy_sum));
    }

    double k = o->events_per_sec * SESSION_SPACING;
    uint32_t np = k >= POOL_MAX ? POOL_MAX : k < 16 ? 16 : (uint32_t)k;
    uint32_t ucap = o->users / 2 ? o->users / 2 : 1;
    g->npool = np < ucap ? np : ucap;
    g->pool = rs_xcalloc(g->npool, sizeof(*g->pool));
    g->mean_step_ns = 1e9 / o->events_per_sec;

    g->oversize = rs_xmalloc(RS_GEN_OVERSIZE_LEN);
    for (uint32_t i = 0; i < RS_GEN_OVERSIZE_LEN; i++) g->oversize[i] = (char)('a' + i % 26);
    return g;
}

void rs_gen_destroy(rs_gen_t *g) {
    if (!g) return;
    free(g->item_all.thr);
    free(g->item_all.alt);
    free(g->cat_pick.thr);
    free(g->cat_pick.alt);
    free(g->user_pick.thr);
    free(g->user_pick.alt);
    free(g->item_cat);
    free(g->item_price);
    free(g->partner);
    free(g->cat_off);
    free(g->cat_items);
    free(g->cat_alias);
    free(g->cat_thr);
    free(g->cat_alt);
    free(g->users);
    free(g->pool);
    for (uint32_t p = 0; g->pair_a && p < g->npairs; p++) {
        free(g->pair_a[p]);
        free(g->pair_b[p]);
    }
    free(g->pair_a);
    free(g->pair_b);
    free(g->oversize);
    free(g->an);
    free(g->buy_n);
    free(g->buy_sum);
    free(g->org);
    free(g->by_price);
    free(g);
}

uint32_t rs_gen_pair_count(const rs_gen_t *g) {
    return g->npairs;
}

void rs_gen_pair(const rs_gen_t *g, uint32_t i, const char **a, const char **b) {
    int ok = i < g->npairs;
    if (a) *a = ok ? g->pair_a[i] : NULL;
    if (b) *b = ok ? g->pair_b[i] : NULL;
}

const char *rs_gen_kind_name(rs_gen_kind_t k) {
    static const char *const names[RS_GEN__KIND_COUNT] = {
        "ok", "dup", "late", "garbage", "missing", "negprice", "type", "future", "oversize"};
    return (unsigned)k < RS_GEN__KIND_COUNT ? names[k] : "unknown";
}

size_t rs_gen_garbage(rs_gen_t *g, unsigned char *buf, size_t cap) {
    if (!cap) return 0;
    size_t n = 9 + rng_below(&g->garb, 192);
    if (n > cap) n = cap;
    buf[0] = 0x01;
    for (size_t i = 1; i < n; i += 8) {
        uint64_t x = rng_next(&g->garb);
        for (size_t j = i; j < n && j < i + 8; j++, x >>= 8) buf[j] = (unsigned char)x;
    }
    return n;
}

/* A user for a new session, activity-weighted, skipping users who already
 * have one open (best effort: after USER_TRIES busy draws the last one is
 * taken, which only happens when the pool rivals the population). No gap
 * is imposed between a user's sessions: at the default rates (1000 events/s
 * over 100k users) a 30-min gap would cap heavy users and flatten activity. */

static int awake(const user_t *us, int64_t ts_ms) {
    int h = (int)((ts_ms / 3600000) % 24);
    return us->night ? (h >= 22 || h < 5) : (h >= 7 && h < 23);
}

static uint32_t pick_user(rs_gen_t *g) {
    uint32_t u = 0;
    if (g->behav) {
        /* Habits: outside its hours a drawn user mostly passes its turn. */
        int64_t ts = g->o.start_ms + g->now_ns / 1000000;
        for (int t = 0; t < USER_TRIES_TOD; t++) {
            u = alias_draw(&g->user_pick, &g->sess_rng);
            const user_t *us = &g->users[u];
            if (!us->open && (awake(us, ts) || rng_u01(&g->sess_rng) < OFF_HOURS_P)) break;
        }
        return u;
    }
    for (int t = 0; t < USER_TRIES; t++) {
        u = alias_draw(&g->user_pick, &g->sess_rng);
        if (!g->users[u].open) break;
    }
    return u;
}

static void sess_start(rs_gen_t *g, sess_t *s) {
    rng_t *r = &g->sess_rng;
    memset(s, 0, sizeof(*s));
    s->live = 1;
    s->id = g->next_session++;
    s->user = pick_user(g);
    user_t *us = &g->users[s->user];
    us->open++;
    if (us->nfav) {
        /* The first favourite dominates; a second focus widens some sessions. */
        uint32_t p = rng_u01(r) < 0.6 ? 0 : rng_below(r, us->nfav);
        s->focus[s->nfocus++] = us->fav[p];
        if (us->nfav > 1 && rng_u01(r) < SECOND_FOCUS_P)
            s->focus[s->nfocus++] = us->fav[(p + 1 + rng_below(r, us->nfav - 1)) % us->nfav];
    }
    double cont = BROWSE_CONT_P;
    if (g->behav) {
        cont = groups[us->group].browse_cont;
        s->device = us->device;
        if (rng_u01(r) >= PRIMARY_DEV_P)
            s->device = (uint8_t)((us->device + 1 + rng_below(r, 2)) % 3);
    }
    s->browse_left = 1;
    while (rng_u01(r) < cont) s->browse_left++;
}

static uint32_t draw_item(rs_gen_t *g, const alias_t *a, uint32_t c, int local) {
    uint32_t k = alias_draw(a, &g->sess_rng);
    return local ? g->cat_items[g->cat_off[c] + k] : k;
}

static uint32_t pick_item(rs_gen_t *g, const sess_t *s) {
    rng_t *r = &g->sess_rng;
    const grp_t *gp = g->behav ? &groups[g->users[s->user].group] : NULL;
    const alias_t *a = &g->item_all;
    uint32_t c = 0;
    int local = 0;
    if (s->nfocus && rng_u01(r) < (gp ? gp->focus : FOCUS_P)) {
        c = s->focus[s->nfocus == 2 && rng_u01(r) < 0.35 ? 1 : 0];
        if (g->cat_alias[c].n) {
            a = &g->cat_alias[c];
            local = 1;
        }
    }
    uint32_t it = draw_item(g, a, c, local);
    if (gp && gp->pick) /* price-minded groups keep the cheapest / dearest of 5 */
        for (int k = 0; k < 4; k++) {
            uint32_t alt = draw_item(g, a, c, local);
            double d = g->item_price[alt] - g->item_price[it];
            if (gp->pick < 0 ? d < 0 : d > 0) it = alt;
        }
    return it;
}

/* Behaviour mode: a shopper buys within a price band around its budget (it
 * may view and cart anything). The band's ends are PRICE_BAND^2 = 9x apart,
 * below BIG_FACTOR, so the background never makes a big purchase: that is
 * the planted anomaly and nothing else (test_gen checks the spread). */
static int affordable(const rs_gen_t *g, uint32_t user, uint32_t item) {
    double b = g->users[user].budget, p = g->item_price[item]; /* 0 outside behaviour mode */
    return !(b > 0) || (p * PRICE_BAND >= b && p <= b * PRICE_BAND);
}

static void pq_push(sess_t *s, int front, uint8_t type, uint32_t item) {
    if (s->pq_len == PENDING) return; /* cannot happen with <= 2 pushes per pop */
    uint8_t i;
    if (front) {
        s->pq_head = (uint8_t)((s->pq_head + PENDING - 1) % PENDING);
        i = s->pq_head;
    } else {
        i = (uint8_t)((s->pq_head + s->pq_len) % PENDING);
    }
    s->pq[i].type = type;
    s->pq[i].item = item;
    s->pq_len++;
}

/* Produces the next background event into o (event id left to the caller). */
void rs_gen__fresh_event(rs_gen_t *g, slot_t *o) {
    rng_t *r = &g->sess_rng;
    g->now_ns += (int64_t)(rng_u01(r) * 2.0 * g->mean_step_ns);
    int64_t ts = g->o.start_ms + g->now_ns / 1000000;
    sess_t *s = &g->pool[rng_below(r, g->npool)];
    if (!s->live) sess_start(g, s);

    uint8_t type;
    uint32_t item;
    if (s->pq_len) {
        type = s->pq[s->pq_head].type;
        item = s->pq[s->pq_head].item;
        s->pq_head = (uint8_t)((s->pq_head + 1) % PENDING);
        s->pq_len--;
    } else {
        type = RS_EV_VIEW;
        item = pick_item(g, s);
        s->browse_left--;
    }
    double cart = g->o.cart_rate, buy = g->o.purchase_rate;
    if (g->behav) {
        const grp_t *gp = &groups[g->users[s->user].group];
        cart = fmin(1.0, cart * gp->cart_x);
        buy = fmin(1.0, buy * gp->buy_x);
    }
    /* Follow-ups: the partner comes next; the funnel step after it. */
    if (g->partner[item] >= 0 && rng_u01(r) < g->o.pair_rate) {
        uint32_t b = (uint32_t)g->partner[item];
        int t = type == RS_EV_PURCHASE && !affordable(g, s->user, b) ? RS_EV_CART : type;
        pq_push(s, 1, (uint8_t)t, b);
    }
    if (type == RS_EV_VIEW && rng_u01(r) < cart)
        pq_push(s, 0, RS_EV_CART, item);
    else if (type == RS_EV_CART && rng_u01(r) < buy && affordable(g, s->user, item))
        pq_push(s, 0, RS_EV_PURCHASE, item);

    user_t *us = &g->users[s->user];
    fill(g, o, type, ts, s->user, item, s->id, user_device(g, g->behav ? s->device : us->device));
    if (type == RS_EV_PURCHASE && g->buy_n) {
        rs_gen__organic_check(g, s->user, item, ts);
        g->buy_n[s->user]++;
        g->buy_sum[s->user] += g->item_price[item];
    }
    if (!s->browse_left && !s->pq_len) {
        s->live = 0;
        us->open--;
    }
}

const rs_event_t *rs_gen_next(rs_gen_t *g, rs_gen_kind_t *kind) {
    const rs_gen_opts_t *o = &g->o;
    rs_gen_kind_t k = RS_GEN_OK;
    double u = rng_u01(&g->inj);
    if (u < o->dup_rate)
        k = RS_GEN_DUP;
    else if (u < o->dup_rate + o->late_rate)
        k = RS_GEN_LATE;
    else if (u < o->dup_rate + o->late_rate + o->bad_rate)
        k = (rs_gen_kind_t)(RS_GEN_BAD_GARBAGE + rng_below(&g->inj, 6));

    if (k == RS_GEN_DUP) {
        if (g->ring_len) {
            uint32_t back = rng_below(&g->inj, g->ring_len);
            slot_copy(&g->out, &g->ring[(g->ring_pos + RING - 1 - back) % RING]);
            if (kind) *kind = k;
            return &g->out.ev;
        }
        k = RS_GEN_OK; /* nothing sent yet to repeat */
    }

    if (g->episodes)
        rs_gen__merged_event(g);
    else
        rs_gen__fresh_event(g, &g->out);
    rs_event_t *ev = &g->out.ev;
    ev->event_id = rs_str(g->out.eid, fmt_id(g->out.eid, 'e', g->seq++));
    switch (k) {
    case RS_GEN_OK:
        slot_copy(&g->ring[g->ring_pos], &g->out);
        g->ring_pos = (g->ring_pos + 1) % RING;
        if (g->ring_len < RING) g->ring_len++;
        break;
    case RS_GEN_LATE:
        ev->ts_ms -= 1000 + (int64_t)rng_below(&g->inj, LATE_MAX_MS - 1000 + 1);
        break;
    case RS_GEN_BAD_MISSING:
        ev->fields &= ~(uint32_t)RS_F_ITEM;
        ev->item_id = RS_STR_NULL;
        break;
    case RS_GEN_BAD_NEGPRICE:
        ev->price = -ev->price;
        break;
    case RS_GEN_BAD_TYPE:
        ev->type = RS_EV_UNKNOWN;
        break;
    case RS_GEN_BAD_FUTURE:
        ev->ts_ms = RS_GEN_FUTURE_MS;
        break;
    case RS_GEN_BAD_OVERSIZE:
        ev->category = rs_str(g->oversize, RS_GEN_OVERSIZE_LEN);
        break;
    default:
        break; /* RS_GEN_BAD_GARBAGE: fields as they are */
    }
    if (kind) *kind = k;
    return ev;
}
