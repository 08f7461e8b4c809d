/* rs_gen_anom.c -- anomaly episodes of the generator (see rs_gen.h), its
 * ground truth as JSON lines, and the canonical CSV line of an event.
 *
 * Episodes draw only from the `anom` stream and read the background's state
 * (users' purchase history for big purchases) without changing it, so the
 * background is the same with or without them. Each episode's next event
 * time is precomputed; rs_gen__merged_event() emits the earliest one due
 * strictly before the waiting background event (ties: lowest slot), so the
 * merged stream stays in time order. A truth record is made when an
 * episode's first event goes out and tracks its last one, so a stream cut
 * short leaves truthful windows. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recstream/rs_buf.h"
#include "recstream/rs_gen.h"
#include "rs_gen_int.h"

static const char *const group_names[] = {"regular", "bargain", "big_spender", "browser", "bot"};
static const char *const anomaly_names[] = {"bot", "card_testing", "big_purchase", "item_spike"};

typedef struct priced {
    double price;
    uint32_t item;
} priced_t;

static int priced_cmp(const void *a, const void *b) {
    const priced_t *x = a, *y = b;
    if (x->price != y->price) return x->price < y->price ? -1 : 1;
    return x->item < y->item ? -1 : x->item > y->item;
}

/* Items by price, ties by id, so the cheap and dear lists are deterministic. */
void rs_gen__build_price_order(rs_gen_t *g) {
    uint32_t n = g->o.items;
    priced_t *t = rs_xmalloc(n * sizeof(*t));
    for (uint32_t i = 0; i < n; i++) t[i] = (priced_t){g->item_price[i], i};
    qsort(t, n, sizeof(*t), priced_cmp);
    g->by_price = rs_xmalloc(n * sizeof(*g->by_price));
    for (uint32_t i = 0; i < n; i++) g->by_price[i] = t[i].item;
    free(t);
    g->ncheap = n / 10 ? n / 10 : 1;
    g->nexp = n / 100 ? n / 100 : 1;
}

/* ---- anomaly episodes ---- */

/* Sets up an episode of type t starting at t0; 0 if it cannot (no room, or
 * no user qualifies for a big purchase). */
static int ep_setup(rs_gen_t *g, episode_t *e, int t, int64_t t0) {
    rng_t *r = &g->anom;
    uint32_t nu = g->o.users, ni = g->o.items;
    memset(e, 0, sizeof(*e));
    e->type = (uint8_t)t;
    e->an = UINT32_MAX;
    e->next_ts = t0;
    e->sess = EP_SESSION_BASE + g->ep_sessions++;
    switch (t) {
    case RS_GEN_AN_BOT: {
        e->user = nu + g->nbots++;
        e->step_ms = 20 + rng_below(r, 81);          /* 10-50 views/s */
        uint32_t dur = 20000 + rng_below(r, 100001); /* 20-120 s */
        e->left = dur / e->step_ms + 1;
        return 1;
    }
    case RS_GEN_AN_CARD_TESTING:
        e->user = rng_below(r, nu);
        e->left = 10 + rng_below(r, 21);
        return 1;
    case RS_GEN_AN_BIG_PURCHASE:
        for (int k = 0; k < 32; k++) { /* active users: likelier to have a history */
            uint32_t u = alias_draw(&g->user_pick, r);
            uint32_t it = g->by_price[ni - 1 - rng_below(r, g->nexp)];
            if (g->buy_n[u] < 2 || g->item_price[it] < BIG_FACTOR * g->buy_sum[u] / g->buy_n[u])
                continue;
            e->user = u;
            e->item = it;
            e->left = 3;
            return 1;
        }
        return 0;
    default: { /* item spike */
        double per_s = fmax(5.0, 0.05 * g->o.events_per_sec);
        e->item = ni > 200 ? 100 + rng_below(r, ni - 100) : rng_below(r, ni);
        e->mean_ms = 1000.0 / per_s;
        e->left = (uint32_t)((60.0 + rng_below(r, 241)) * per_s);
        return 1;
    }
    }
}

/* After each background event: maybe start episodes just after it. */
static void ep_schedule(rs_gen_t *g, int64_t ts) {
    for (int t = 0; t < RS_GEN__AN_COUNT; t++) {
        double p = g->o.anomaly_rate[t] / 1e5;
        if (p <= 0 || rng_u01(&g->anom) >= p) continue;
        if (g->nep == MAX_EPISODES) continue;
        /* a spike stands out against an item's usual traffic: there is none
         * to judge by at the start of the stream */
        if (t == RS_GEN_AN_ITEM_SPIKE && ts - g->o.start_ms < g->o.spike_calm_ms) continue;
        int64_t t0 = ts + 1 + rng_below(&g->anom, 1000);
        if (ep_setup(g, &g->ep[g->nep], t, t0)) g->nep++;
    }
}

/* Emits episode e's next event into o and schedules the one after. */
static void ep_emit(rs_gen_t *g, episode_t *e, slot_t *o) {
    rng_t *r = &g->anom;
    uint8_t type = RS_EV_VIEW;
    uint32_t user = e->user, item = e->item;
    const char *dev;
    int64_t ts = e->next_ts;
    switch (e->type) {
    case RS_GEN_AN_BOT:
        item = rng_below(r, g->o.items);
        dev = "desktop";
        e->next_ts += e->step_ms;
        break;
    case RS_GEN_AN_CARD_TESTING:
        type = RS_EV_PURCHASE;
        item = g->by_price[rng_below(r, g->ncheap)];
        dev = user_device(g, g->users[user].device);
        e->next_ts += 1000 + rng_below(r, 4001);
        break;
    case RS_GEN_AN_BIG_PURCHASE:
        type = e->stage == 0 ? RS_EV_VIEW : e->stage == 1 ? RS_EV_CART : RS_EV_PURCHASE;
        e->stage++;
        dev = user_device(g, g->users[user].device);
        e->next_ts += 20000 + rng_below(r, 40001);
        break;
    default: /* spike: one-event sessions of activity-weighted users */
        user = alias_draw(&g->user_pick, r);
        dev = user_device(g, g->users[user].device);
        e->sess = EP_SESSION_BASE + g->ep_sessions++;
        e->next_ts += (int64_t)(rng_u01(r) * 2.0 * e->mean_ms + 0.5);
        break;
    }
    fill(g, o, type, ts, user, item, e->sess, dev);
    if (e->an == UINT32_MAX) {
        if (g->nan == g->an_cap) {
            g->an_cap = g->an_cap ? 2 * g->an_cap : 16;
            g->an = rs_xrealloc(g->an, g->an_cap * sizeof(*g->an));
        }
        e->an = g->nan++;
        rs_gen_anomaly_t *a = &g->an[e->an];
        memset(a, 0, sizeof(*a));
        a->type = (rs_gen_anomaly_type_t)e->type;
        a->user = e->user;
        a->item = e->item;
        a->start_ts = ts;
        if (e->type == RS_GEN_AN_BIG_PURCHASE) {
            a->price = g->item_price[e->item];
            a->usual = g->buy_sum[e->user] / g->buy_n[e->user];
        }
    }
    g->an[e->an].end_ts = ts;
    g->an[e->an].events++;
    if (--e->left == 0) {
        g->an[e->an].complete = 1;
        *e = g->ep[--g->nep];
    } /* order of ep[] does not matter: ties by index */
}

/* Background and episodes merged by time into g->out. */
void rs_gen__merged_event(rs_gen_t *g) {
    if (!g->bg_ready) {
        rs_gen__fresh_event(g, &g->bg);
        g->bg_ready = 1;
        ep_schedule(g, g->bg.ev.ts_ms);
    }
    episode_t *best = NULL;
    for (uint32_t i = 0; i < g->nep; i++)
        if (g->ep[i].next_ts < g->bg.ev.ts_ms && (!best || g->ep[i].next_ts < best->next_ts))
            best = &g->ep[i];
    if (best) {
        ep_emit(g, best, &g->out);
    } else {
        slot_copy(&g->out, &g->bg);
        g->bg_ready = 0;
    }
}

const char *rs_gen_group_name(rs_gen_group_t k) {
    return (unsigned)k <= RS_GEN_BOT ? group_names[k] : "unknown";
}

const char *rs_gen_anomaly_name(rs_gen_anomaly_type_t t) {
    return (unsigned)t < RS_GEN__AN_COUNT ? anomaly_names[t] : "unknown";
}

int rs_gen_group_parse(const char *s) {
    for (int k = 0; k <= RS_GEN_BOT; k++)
        if (!strcmp(s, group_names[k])) return k;
    return -1;
}

int rs_gen_anomaly_parse(const char *s) {
    for (int k = 0; k < RS_GEN__AN_COUNT; k++)
        if (!strcmp(s, anomaly_names[k])) return k;
    return -1;
}

rs_gen_group_t rs_gen_user_group(const rs_gen_t *g, uint32_t u) {
    if (u < g->o.users) return (rs_gen_group_t)g->users[u].group;
    return u - g->o.users < g->nbots ? RS_GEN_BOT : RS_GEN_REGULAR;
}

int rs_gen_user_night_owl(const rs_gen_t *g, uint32_t u) {
    return u < g->o.users && g->users[u].night;
}

uint32_t rs_gen_anomaly_count(const rs_gen_t *g) {
    return g->nan;
}

const rs_gen_anomaly_t *rs_gen_anomaly(const rs_gen_t *g, uint32_t i) {
    return i < g->nan ? &g->an[i] : NULL;
}

uint32_t rs_gen_organic_count(const rs_gen_t *g) {
    return g->norg;
}

const rs_gen_anomaly_t *rs_gen_organic(const rs_gen_t *g, uint32_t i) {
    return i < g->norg ? &g->org[i] : NULL;
}

/* Called for each background purchase before it joins the buyer's history. */
void rs_gen__organic_check(rs_gen_t *g, uint32_t user, uint32_t item, int64_t ts) {
    if (!(g->o.anomaly_rate[RS_GEN_AN_BIG_PURCHASE] > 0) || g->buy_n[user] < 2) return;
    double usual = g->buy_sum[user] / g->buy_n[user], price = g->item_price[item];
    if (price < BIG_FACTOR * usual) return;
    if (g->norg == g->org_cap) {
        g->org_cap = g->org_cap ? 2 * g->org_cap : 16;
        g->org = rs_xrealloc(g->org, g->org_cap * sizeof(*g->org));
    }
    g->org[g->norg++] = (rs_gen_anomaly_t){.type = RS_GEN_AN_BIG_PURCHASE,
                                           .user = user,
                                           .item = item,
                                           .price = price,
                                           .usual = usual,
                                           .start_ts = ts,
                                           .end_ts = ts,
                                           .events = 1,
                                           .complete = 1};
}

static void write_anomaly(FILE *f, const rs_gen_anomaly_t *a, int planted) {
    char id[24];
    fprintf(f, "{\"kind\":\"anomaly\",\"type\":\"%s\"", anomaly_names[a->type]);
    if (a->type != RS_GEN_AN_ITEM_SPIKE) {
        fmt_id(id, 'u', a->user);
        fprintf(f, ",\"user_id\":\"%s\"", id);
    }
    if (a->type == RS_GEN_AN_ITEM_SPIKE || a->type == RS_GEN_AN_BIG_PURCHASE) {
        fmt_id(id, 'i', a->item);
        fprintf(f, ",\"item_id\":\"%s\"", id);
    }
    if (a->type == RS_GEN_AN_BIG_PURCHASE)
        fprintf(f, ",\"price\":%.2f,\"usual_price\":%.2f", a->price, a->usual);
    fprintf(f, ",\"start_ts\":%lld,\"end_ts\":%lld,\"events\":%u%s}\n", (long long)a->start_ts,
            (long long)a->end_ts, a->events,
            !planted      ? ",\"planted\":false"
            : a->complete ? ""
                          : ",\"complete\":false");
}

rs_err_t rs_gen_write_truth(const rs_gen_t *g, FILE *f) {
    char id[24];
    for (uint32_t u = 0; u < g->o.users; u++) {
        const user_t *us = &g->users[u];
        fmt_id(id, 'u', u);
        fprintf(f,
                "{\"kind\":\"user\",\"user_id\":\"%s\",\"group\":\"%s\",\"night_owl\":%s,"
                "\"device\":\"%s\"}\n",
                id, group_names[us->group], us->night ? "true" : "false",
                user_device(g, us->device));
    }
    for (uint32_t a = 0; a < g->nan; a++) /* bot users, in episode order */
        if (g->an[a].type == RS_GEN_AN_BOT) {
            fmt_id(id, 'u', g->an[a].user);
            fprintf(f,
                    "{\"kind\":\"user\",\"user_id\":\"%s\",\"group\":\"bot\",\"night_owl\":false,"
                    "\"device\":\"desktop\"}\n",
                    id);
        }
    for (uint32_t p = 0; p < g->npairs; p++)
        fprintf(f, "{\"kind\":\"pair\",\"item_a\":\"%s\",\"item_b\":\"%s\"}\n", g->pair_a[p],
                g->pair_b[p]);
    for (uint32_t k = 0; k < g->nan; k++) write_anomaly(f, &g->an[k], 1);
    for (uint32_t k = 0; k < g->norg; k++) write_anomaly(f, &g->org[k], 0);
    return ferror(f) ? RS_EIO : RS_OK;
}

/* Decimal by hand: the CSV writer is the hot path of `recstream gen`. */
static char *put_u64(char *p, uint64_t v) {
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n) *p++ = tmp[--n];
    return p;
}

static char *put_s(char *p, rs_str_t s) {
    if (s.len) memcpy(p, s.p, s.len);
    return p + s.len;
}

void rs_gen_csv_line(const rs_event_t *ev, rs_gen_kind_t k, rs_buf_t *b) {
    rs_buf_reserve(b,
                   128 + ev->user_id.len + ev->item_id.len + ev->session_id.len + ev->category.len);
    char *p0 = b->p + b->len, *p = p0;
    if (ev->ts_ms < 0) *p++ = '-';
    p = put_u64(p, ev->ts_ms < 0 ? (uint64_t)-ev->ts_ms : (uint64_t)ev->ts_ms);
    *p++ = ',';
    p = put_s(p, ev->user_id);
    *p++ = ',';
    p = put_s(p, ev->item_id);
    *p++ = ',';
    const char *t = k == RS_GEN_BAD_TYPE ? "teleport" : rs_evtype_name(ev->type);
    p = put_s(p, rs_str(t, (uint32_t)strlen(t)));
    *p++ = ',';
    p = put_s(p, ev->session_id);
    *p++ = ',';
    if (ev->fields & RS_F_PRICE) {
        if (ev->price < 0) *p++ = '-';
        uint64_t c = (uint64_t)llround(fabs(ev->price) * 100.0);
        p = put_u64(p, c / 100);
        *p++ = '.';
        *p++ = (char)('0' + c / 10 % 10);
        *p++ = (char)('0' + c % 10);
    }
    *p++ = ',';
    p = put_s(p, ev->category);
    *p++ = '\n';
    b->len += (size_t)(p - p0);
}
