/* rs_inspect.c -- one user's or one item's view, as JSON or text (rs_inspect.h).
 *
 * Everything is read from the in-memory state through its public accessors,
 * so the HTTP handler of a running daemon and `recstream inspect --state` on
 * a read-only copy produce the same document for the same state. The user's
 * recommendations are computed now with the same scorer and reason text the
 * pipeline emits (rs_score_user, rs_pipeline_reason); rec_version is the
 * version last emitted. Work is bounded per request: one profile, rec.k
 * scored items, one pass over the item's row for neighbour counts and one
 * for rules (rs_rules_for_item). Nothing here writes to the state. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "recstream/rs_inspect.h"
#include "recstream/rs_pipeline.h"

void rs_inspect_opts_default(rs_inspect_opts_t *o) {
    memset(o, 0, sizeof(*o));
    o->fmt = RS_INSPECT_JSON;
    o->max_neighbors = 20;
    o->max_rules = 10;
    rs_rules_opts_default(&o->rules);
}

/* ------------------------------------------------------------ helpers */

static void put(rs_buf_t *b, const char *s) {
    rs_buf_append(b, s, strlen(s));
}

static void json_num(rs_buf_t *b, double x) {
    if (!isfinite(x))
        put(b, "null");
    else
        rs_buf_printf(b, "%.9g", x);
}

static void json_key(rs_buf_t *b, int *first, const char *key) {
    if (!*first) rs_buf_putc(b, ',');
    *first = 0;
    rs_buf_printf(b, "\"%s\":", key);
}

static void json_counts(rs_buf_t *b, const uint32_t *c) {
    rs_buf_putc(b, '{');
    for (int t = 0; t < RS_EV__COUNT; t++)
        rs_buf_printf(b, "%s\"%s\":%" PRIu32, t ? "," : "", rs_evtype_name((rs_evtype_t)t), c[t]);
    rs_buf_putc(b, '}');
}

static uint64_t total_events(const uint32_t *c) {
    uint64_t n = 0;
    for (int t = 0; t < RS_EV__COUNT; t++) n += c[t];
    return n;
}

/* "view 3, purchase 1" (nonzero types only) */
static void text_counts(rs_buf_t *b, const uint32_t *c) {
    int any = 0;
    for (int t = 0; t < RS_EV__COUNT; t++) {
        if (!c[t]) continue;
        rs_buf_printf(b, "%s%s %" PRIu32, any ? ", " : "", rs_evtype_name((rs_evtype_t)t), c[t]);
        any = 1;
    }
    if (!any) put(b, "none");
}

/* ISO-8601 UTC with milliseconds, "-" for 0 (never seen). */
static const char *fmt_ts(int64_t ms, char *buf, size_t size) {
    if (!ms) return "-";
    time_t s = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    struct tm tm;
    if (!gmtime_r(&s, &tm)) {
        snprintf(buf, size, "%" PRId64, ms);
        return buf;
    }
    size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, size - n, ".%03dZ", (int)(ms - (int64_t)s * 1000));
    return buf;
}

static void item_id_json(rs_state_t *st, rs_buf_t *b, uint32_t idx) {
    const rs_item_t *it = rs_state_item_by_idx(st, idx);
    if (it)
        rs_buf_json_str(b, it->id, it->id_len);
    else
        put(b, "null");
}

static void item_id_text(rs_state_t *st, rs_buf_t *b, uint32_t idx) {
    const rs_item_t *it = rs_state_item_by_idx(st, idx);
    if (it)
        rs_buf_printf(b, "%.*s", (int)(it->id_len > 100 ? 100 : it->id_len), it->id);
    else
        rs_buf_printf(b, "#%" PRIu32, idx);
}

/* Interned category/brand name as a JSON string, null if unknown. */
static void json_name(rs_state_t *st, rs_buf_t *b, uint32_t ix) {
    uint32_t len = 0;
    const char *n = ix ? rs_state_name(st, ix, &len) : NULL;
    if (n && len)
        rs_buf_json_str(b, n, len);
    else
        put(b, "null");
}

static void text_name(rs_state_t *st, rs_buf_t *b, const char *label, uint32_t ix) {
    uint32_t len = 0;
    const char *n = ix ? rs_state_name(st, ix, &len) : NULL;
    if (n && len) rs_buf_printf(b, "%s %.*s, ", label, (int)(len > 100 ? 100 : len), n);
}

/* ------------------------------------------------------------ user */

/* The behaviour profile (F4): dwell, pages per session, RFM, purchase cycle,
 * affinities, tags and the time-of-day and device mixes. */
static void json_affinity(rs_buf_t *out, rs_state_t *st, const rs_affinity_t *a, size_t n) {
    rs_buf_putc(out, '[');
    int first = 1;
    for (size_t i = 0; i < n; i++) {
        if (!a[i].ix) continue;
        uint32_t nl;
        const char *nm = rs_state_name(st, a[i].ix, &nl);
        put(out, first ? "{\"name\":" : ",{\"name\":");
        rs_buf_json_str(out, nm, nl);
        put(out, ",\"share\":");
        json_num(out, rs_state_affinity_share(a, n, i));
        rs_buf_putc(out, '}');
        first = 0;
    }
    rs_buf_putc(out, ']');
}

static void json_profile(rs_buf_t *out, rs_state_t *st, const rs_user_t *u) {
    static const char *tod[] = {"night", "morning", "afternoon", "evening"};
    static const char *dev[] = {"mobile", "desktop", "app", "other"};
    int64_t now = rs_state_event_now(st);
    char tags[512];
    rs_state_user_tags(st, u, tags, sizeof(tags));
    put(out, "{\"dwell_ms_mean\":");
    if (u->dwell_n)
        json_num(out, (double)u->dwell_ms / u->dwell_n);
    else
        put(out, "null");
    put(out, ",\"pages_per_session\":");
    json_num(out, u->sessions ? (double)u->counts[RS_EV_VIEW] / u->sessions : 0);
    rs_buf_printf(out, ",\"rfm\":{\"recency_ms\":");
    if (u->last_purchase_ts)
        rs_buf_printf(out, "%" PRId64, now - u->last_purchase_ts);
    else
        put(out, "null");
    rs_buf_printf(out, ",\"frequency\":%" PRIu32 ",\"monetary\":", u->purchases);
    json_num(out, u->monetary);
    put(out, "},\"purchase_cycle_ms\":");
    if (u->purchases >= 2 && u->last_purchase_ts > u->first_purchase_ts)
        json_num(out, (double)(u->last_purchase_ts - u->first_purchase_ts) / (u->purchases - 1));
    else
        put(out, "null");
    put(out, ",\"mean_price\":");
    if (u->price_n)
        json_num(out, u->price_sum / u->price_n);
    else
        put(out, "null");
    put(out, ",\"tags\":[");
    for (char *t = tags, *e; *t; t = *e ? e + 1 : e) {
        e = strchr(t, ',');
        if (!e) e = t + strlen(t);
        if (t != tags) rs_buf_putc(out, ',');
        rs_buf_json_str(out, t, (size_t)(e - t));
    }
    put(out, "],\"categories\":");
    json_affinity(out, st, u->cat_aff, RS_PROFILE_CATS);
    put(out, ",\"brands\":");
    json_affinity(out, st, u->brand_aff, RS_PROFILE_BRANDS);
    put(out, ",\"time_of_day\":{");
    for (int i = 0; i < RS_TOD__COUNT; i++)
        rs_buf_printf(out, "%s\"%s\":%" PRIu32, i ? "," : "", tod[i], u->tod[i]);
    put(out, "},\"devices\":{");
    for (int i = 0; i < RS_DEV__COUNT; i++)
        rs_buf_printf(out, "%s\"%s\":%" PRIu32, i ? "," : "", dev[i], u->device[i]);
    put(out, "}}");
}

/* Rules whose episode is still open for the user at event time now. */
static size_t open_episodes(const rs_conf_t *conf, const rs_user_t *u, int64_t now,
                            const char **names) {
    size_t n = 0;
    for (int r = 0; r < RS_ALERT_USER__COUNT; r++)
        if (u->alert.episode_start[r] &&
            now - u->alert.episode_last[r] < conf->alert_episode_gap_ms)
            names[n++] = rs_alert_rule_name((rs_alert_rule_t)r);
    return n;
}

static void json_watch(rs_buf_t *out, const rs_conf_t *conf, rs_state_t *st, const rs_user_t *u) {
    const rs_segment_user_t *s = &u->seg;
    put(out, "{\"rfm\":");
    const char *rfm = rs_rfm_name((rs_rfm_t)s->rfm);
    rs_buf_json_str(out, rfm, strlen(rfm));
    rs_buf_printf(out, ",\"r\":%u,\"f\":%u,\"m\":%u,\"cluster\":", s->r, s->f, s->m);
    const char *cl = rs_segment_cluster_name((int)s->cluster - 1);
    rs_buf_json_str(out, cl, strlen(cl));
    rs_buf_printf(out, "},\"alerts\":{\"fired\":%" PRIu32 ",\"open\":[", u->alert.fired);
    const char *names[RS_ALERT_USER__COUNT];
    size_t n = open_episodes(conf, u, rs_state_event_now(st), names);
    for (size_t i = 0; i < n; i++) rs_buf_printf(out, "%s\"%s\"", i ? "," : "", names[i]);
    put(out, "]}");
}

rs_err_t rs_inspect_user(rs_state_t *st, const rs_conf_t *conf, rs_scorer_t *sc, const char *id,
                         size_t len, const rs_inspect_opts_t *o, rs_buf_t *out) {
    rs_inspect_opts_t def;
    if (!o) rs_inspect_opts_default(&def), o = &def;
    rs_user_t *u = rs_state_user_get(st, id, len);
    if (!u) return RS_ENOTFOUND;

    size_t k = conf->rec_k > 0 ? (size_t)conf->rec_k : 1;
    rs_scored_t *recs = rs_xmalloc(k * sizeof(*recs));
    int score = o->fmt == RS_INSPECT_TEXT || o->view != RS_INSPECT_VIEW_PROFILE;
    rs_scorer_t *own = sc || !score ? NULL : rs_scorer_new(conf);
    const char *strategy = "";
    size_t n = score ? rs_score_user(sc ? sc : own, st, u, recs, k, &strategy) : 0;
    if (!strategy) strategy = "";
    char reason[256], t1[40], t2[40];

    if (o->fmt == RS_INSPECT_TEXT) {
        rs_buf_printf(out, "user %.*s\n  events     %" PRIu64 " (", (int)u->id_len, u->id,
                      total_events(u->counts));
        text_counts(out, u->counts);
        rs_buf_printf(out, ")\n  seen       %s .. %s\n", fmt_ts(u->first_ts, t1, sizeof(t1)),
                      fmt_ts(u->last_ts, t2, sizeof(t2)));
        rs_buf_printf(out, "  sessions   %" PRIu32 "\n  purchases  %" PRIu32 " (monetary %.2f)\n",
                      u->sessions, u->purchases, u->monetary);
        {
            char tags[512], t3[40];
            rs_state_user_tags(st, u, tags, sizeof(tags));
            rs_buf_printf(
                out, "  profile    tags [%s], dwell %.1f s (%u views), %.1f views/session", tags,
                u->dwell_n ? (double)u->dwell_ms / u->dwell_n / 1000.0 : 0.0, u->dwell_n,
                u->sessions ? (double)u->counts[RS_EV_VIEW] / u->sessions : 0);
            if (u->last_purchase_ts)
                rs_buf_printf(out, ", last purchase %s",
                              fmt_ts(u->last_purchase_ts, t3, sizeof(t3)));
            rs_buf_printf(out, "\n  segments   rfm %s",
                          u->seg.rfm ? rs_rfm_name((rs_rfm_t)u->seg.rfm) : "-");
            if (u->seg.rfm) rs_buf_printf(out, " (r%u f%u m%u)", u->seg.r, u->seg.f, u->seg.m);
            rs_buf_printf(out, ", behaviour %s\n  alerts     %" PRIu32 " fired",
                          u->seg.cluster ? rs_segment_cluster_name((int)u->seg.cluster - 1) : "-",
                          u->alert.fired);
            const char *names[RS_ALERT_USER__COUNT];
            size_t no = open_episodes(conf, u, rs_state_event_now(st), names);
            for (size_t i = 0; i < no; i++)
                rs_buf_printf(out, "%s%s", i ? ", " : "; open: ", names[i]);
            put(out, "\n  recent    ");
        }
        for (uint16_t i = 0; i < u->n_recent; i++) {
            put(out, i ? ", " : " ");
            item_id_text(st, out, u->recent[i].item);
            rs_buf_printf(out, " (%s)", rs_evtype_name((rs_evtype_t)u->recent[i].type));
        }
        put(out, u->n_recent ? "\n" : " -\n");
        put(out, "  purchased ");
        for (uint16_t i = 0; i < u->n_purchased; i++) {
            put(out, i ? ", " : " ");
            item_id_text(st, out, u->purchased[i]);
        }
        put(out, u->n_purchased ? "\n" : " -\n");
        rs_buf_printf(out, "recommendations (%s, top %zu; last emitted version %" PRId64 ")\n",
                      strategy, k, u->rec_version);
        for (size_t i = 0; i < n; i++) {
            rs_pipeline_reason(st, recs[i].because, recs[i].because_type, reason, sizeof(reason));
            rs_buf_printf(out, "  %2zu. ", i + 1);
            item_id_text(st, out, recs[i].item);
            rs_buf_printf(out, "  %.4f  %s\n", (double)recs[i].score, reason);
        }
        if (!n) put(out, "  (none)\n");
    } else {
        int f = 1;
        rs_buf_putc(out, '{');
        json_key(out, &f, "user_id");
        rs_buf_json_str(out, u->id, u->id_len);
        if (o->view == RS_INSPECT_VIEW_RECS) goto recs;
        json_key(out, &f, "counts");
        json_counts(out, u->counts);
        json_key(out, &f, "events");
        rs_buf_printf(out, "%" PRIu64, total_events(u->counts));
        json_key(out, &f, "first_ts");
        rs_buf_printf(out, "%" PRId64, u->first_ts);
        json_key(out, &f, "last_ts");
        rs_buf_printf(out, "%" PRId64, u->last_ts);
        json_key(out, &f, "sessions");
        rs_buf_printf(out, "%" PRIu32, u->sessions);
        json_key(out, &f, "purchases");
        rs_buf_printf(out, "%" PRIu32, u->purchases);
        json_key(out, &f, "monetary");
        json_num(out, u->monetary);
        json_key(out, &f, "profile");
        json_profile(out, st, u);
        json_key(out, &f, "segments");
        json_watch(out, conf, st, u);
        json_key(out, &f, "recent");
        rs_buf_putc(out, '[');
        for (uint16_t i = 0; i < u->n_recent; i++) {
            put(out, i ? ",{\"item_id\":" : "{\"item_id\":");
            item_id_json(st, out, u->recent[i].item);
            rs_buf_printf(out, ",\"type\":\"%s\",\"ts\":%" PRId64 "}",
                          rs_evtype_name((rs_evtype_t)u->recent[i].type), u->recent[i].ts);
        }
        rs_buf_putc(out, ']');
        json_key(out, &f, "purchased");
        rs_buf_putc(out, '[');
        for (uint16_t i = 0; i < u->n_purchased; i++) {
            if (i) rs_buf_putc(out, ',');
            item_id_json(st, out, u->purchased[i]);
        }
        rs_buf_putc(out, ']');
    recs:
        json_key(out, &f, "rec_version");
        rs_buf_printf(out, "%" PRId64, u->rec_version);
        if (o->view == RS_INSPECT_VIEW_PROFILE) {
            rs_buf_putc(out, '}');
            goto done;
        }
        json_key(out, &f, "k");
        rs_buf_printf(out, "%zu", k);
        json_key(out, &f, "strategy");
        rs_buf_json_str(out, strategy, strlen(strategy));
        json_key(out, &f, "recommendations");
        rs_buf_putc(out, '[');
        for (size_t i = 0; i < n; i++) {
            rs_pipeline_reason(st, recs[i].because, recs[i].because_type, reason, sizeof(reason));
            put(out, i ? ",{\"item_id\":" : "{\"item_id\":");
            item_id_json(st, out, recs[i].item);
            put(out, ",\"score\":");
            json_num(out, (double)recs[i].score);
            put(out, ",\"reason\":");
            rs_buf_json_str(out, reason, strlen(reason));
            rs_buf_putc(out, '}');
        }
        put(out, "]}");
    }
done:
    rs_scorer_destroy(own);
    free(recs);
    return RS_OK;
}

/* ------------------------------------------------------------ item */

typedef struct nb_view {
    uint32_t item;
    float sim;
    double count; /* co-occurrence in pair units */
    uint32_t pos; /* rank in the top list */
} nb_view_t;

static int cmp_nb_item(const void *a, const void *b) {
    uint32_t x = ((const nb_view_t *)a)->item, y = ((const nb_view_t *)b)->item;
    return x < y ? -1 : x > y;
}
static int cmp_nb_pos(const void *a, const void *b) {
    uint32_t x = ((const nb_view_t *)a)->pos, y = ((const nb_view_t *)b)->pos;
    return x < y ? -1 : x > y;
}

/* The item's top neighbours with their co-occurrence counts: the top list
 * holds similarities only, so one pass over the row fills the counts
 * (binary search in the list sorted by idx). Returns a malloc'ed array. */
static nb_view_t *neighbours(rs_state_t *st, rs_item_t *it, uint32_t max, uint32_t *count) {
    uint32_t n = 0;
    const rs_nbr_t *top = rs_state_item_top(st, it, &n);
    if (n > max) n = max;
    nb_view_t *v = rs_xmalloc((n ? n : 1) * sizeof(*v));
    double scale = (double)rs_state_pair_scale(st);
    for (uint32_t i = 0; i < n; i++) v[i] = (nb_view_t){top[i].item, top[i].sim, 0, i};
    if (n) {
        qsort(v, n, sizeof(*v), cmp_nb_item);
        for (uint32_t i = 0; i < it->nb_cap; i++) {
            if (it->nb[i].key == UINT32_MAX) continue;
            nb_view_t key = {.item = it->nb[i].key};
            nb_view_t *hit = bsearch(&key, v, n, sizeof(*v), cmp_nb_item);
            if (hit) hit->count = (double)it->nb[i].cnt / scale;
        }
        qsort(v, n, sizeof(*v), cmp_nb_pos);
    }
    *count = n;
    return v;
}

rs_err_t rs_inspect_item(rs_state_t *st, const rs_conf_t *conf, const char *id, size_t len,
                         const rs_inspect_opts_t *o, rs_buf_t *out) {
    rs_inspect_opts_t def;
    if (!o) rs_inspect_opts_default(&def), o = &def;
    rs_item_t *it = rs_state_item_get(st, id, len);
    if (!it) return RS_ENOTFOUND;
    rs_state_sync(st); /* rows, weights and the top list include every applied event */

    uint32_t nn = 0;
    nb_view_t *nb = neighbours(st, it, o->max_neighbors, &nn);
    size_t maxr = o->max_rules > RS_INSPECT_MAX_RULES ? RS_INSPECT_MAX_RULES : o->max_rules;
    rs_rule_t *rules = rs_xmalloc((maxr ? maxr : 1) * sizeof(*rules));
    size_t nr = rs_rules_for_item(st, it, &o->rules, rules, maxr);
    int64_t now = rs_state_event_now(st);
    double pop = rs_state_item_popularity(st, it, now);
    uint32_t views = it->counts[RS_EV_VIEW], buys = it->counts[RS_EV_PURCHASE];
    double conv = views ? (double)buys / (double)views : NAN;
    const char *simname = conf->rec_similarity == RS_SIM_LLR ? "llr" : "cosine";
    rs_buf_t txt = {0};
    char t0[40], t1[40], t2[40];

    if (o->fmt == RS_INSPECT_TEXT) {
        rs_buf_printf(out, "item %.*s (idx %" PRIu32 ")\n  events      %" PRIu64 " (",
                      (int)it->id_len, it->id, it->idx, total_events(it->counts));
        text_counts(out, it->counts);
        put(out, ")\n  conversion  ");
        if (views)
            rs_buf_printf(out, "%.2f%% (%" PRIu32 " purchases / %" PRIu32 " views)\n", conv * 100,
                          buys, views);
        else
            put(out, "- (no views)\n");
        rs_buf_printf(out,
                      "  weight      %" PRIu64 " of %" PRIu64 "\n  popularity  %.4g at %s\n"
                      "  seen        %s .. %s\n",
                      it->weight, rs_state_total_weight(st), pop, fmt_ts(now, t0, sizeof(t0)),
                      fmt_ts(it->first_ts, t1, sizeof(t1)), fmt_ts(it->last_ts, t2, sizeof(t2)));
        put(out, "  catalog     ");
        text_name(st, out, "category", it->category);
        text_name(st, out, "brand", it->brand);
        if (it->price >= 0) rs_buf_printf(out, "price %.2f, ", it->price);
        if (it->flags & RS_ITEM_OUT_OF_STOCK) put(out, "out of stock, ");
        if (it->flags & RS_ITEM_BLOCKED) put(out, "blocklisted, ");
        if (it->flags & RS_ITEM_DELETED) put(out, "deleted, ");
        if (out->len >= 2 && out->p[out->len - 2] == ',')
            out->len -= 2;
        else
            put(out, "-");
        rs_buf_putc(out, '\n');
        rs_buf_printf(out, "neighbours (%s; %" PRIu32 " co-occurring items)\n", simname, it->nb_n);
        for (uint32_t i = 0; i < nn; i++) {
            rs_buf_printf(out, "  %2" PRIu32 ". ", i + 1);
            item_id_text(st, out, nb[i].item);
            rs_buf_printf(out, "  sim %.4f  count %.4g\n", (double)nb[i].sim, nb[i].count);
        }
        if (!nn) put(out, "  (none)\n");
        rs_buf_printf(out, "rules (min count %g)\n", o->rules.min_count);
        for (size_t i = 0; i < nr; i++) {
            put(out, "  ");
            rs_rule_format(st, it, &rules[i], out);
            rs_buf_putc(out, '\n');
        }
        if (!nr) put(out, "  (none)\n");
    } else {
        int f = 1;
        rs_buf_putc(out, '{');
        json_key(out, &f, "item_id");
        rs_buf_json_str(out, it->id, it->id_len);
        if (o->view == RS_INSPECT_VIEW_SIMILAR) goto similar;
        json_key(out, &f, "idx");
        rs_buf_printf(out, "%" PRIu32, it->idx);
        json_key(out, &f, "category");
        json_name(st, out, it->category);
        json_key(out, &f, "brand");
        json_name(st, out, it->brand);
        json_key(out, &f, "price");
        json_num(out, it->price >= 0 ? it->price : NAN);
        json_key(out, &f, "attributes");
        if (it->attrs)
            rs_buf_json_str(out, it->attrs, strlen(it->attrs));
        else
            put(out, "null");
        json_key(out, &f, "out_of_stock");
        put(out, it->flags & RS_ITEM_OUT_OF_STOCK ? "true" : "false");
        json_key(out, &f, "blocked");
        put(out, it->flags & RS_ITEM_BLOCKED ? "true" : "false");
        json_key(out, &f, "deleted");
        put(out, it->flags & RS_ITEM_DELETED ? "true" : "false");
        json_key(out, &f, "counts");
        json_counts(out, it->counts);
        json_key(out, &f, "events");
        rs_buf_printf(out, "%" PRIu64, total_events(it->counts));
        json_key(out, &f, "conversion_rate");
        json_num(out, conv);
        json_key(out, &f, "weight");
        rs_buf_printf(out, "%" PRIu64, it->weight);
        json_key(out, &f, "total_weight");
        rs_buf_printf(out, "%" PRIu64, rs_state_total_weight(st));
        json_key(out, &f, "popularity");
        json_num(out, pop);
        json_key(out, &f, "popularity_at");
        rs_buf_printf(out, "%" PRId64, now);
        json_key(out, &f, "first_ts");
        rs_buf_printf(out, "%" PRId64, it->first_ts);
        json_key(out, &f, "last_ts");
        rs_buf_printf(out, "%" PRId64, it->last_ts);
        json_key(out, &f, "cooc_entries");
        rs_buf_printf(out, "%" PRIu32, it->nb_n);
    similar:
        json_key(out, &f, "similarity");
        rs_buf_printf(out, "\"%s\"", simname);
        json_key(out, &f, "neighbors");
        rs_buf_putc(out, '[');
        for (uint32_t i = 0; i < nn; i++) {
            put(out, i ? ",{\"item_id\":" : "{\"item_id\":");
            item_id_json(st, out, nb[i].item);
            put(out, ",\"similarity\":");
            json_num(out, (double)nb[i].sim);
            put(out, ",\"count\":");
            json_num(out, nb[i].count);
            rs_buf_putc(out, '}');
        }
        rs_buf_putc(out, ']');
        if (o->view == RS_INSPECT_VIEW_SIMILAR) {
            rs_buf_putc(out, '}');
            goto item_done;
        }
        json_key(out, &f, "rules");
        rs_buf_putc(out, '[');
        for (size_t i = 0; i < nr; i++) {
            put(out, i ? ",{\"item_id\":" : "{\"item_id\":");
            item_id_json(st, out, rules[i].item);
            put(out, ",\"count\":");
            json_num(out, rules[i].count);
            put(out, ",\"support\":");
            json_num(out, rules[i].support);
            put(out, ",\"confidence\":");
            json_num(out, rules[i].confidence);
            put(out, ",\"lift\":");
            json_num(out, rules[i].lift);
            put(out, ",\"text\":");
            rs_buf_reset(&txt);
            rs_rule_format(st, it, &rules[i], &txt);
            rs_buf_json_str(out, txt.p, txt.len);
            rs_buf_putc(out, '}');
        }
        put(out, "]}");
    }
item_done:
    rs_buf_free(&txt);
    free(rules);
    free(nb);
    return RS_OK;
}

/* ------------------------------------------------------------ options */

static int parse_u32(const char *s, size_t n, uint32_t *out) {
    if (!n || n > 10) return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > UINT32_MAX) return -1;
    *out = (uint32_t)v;
    return 0;
}

static int parse_frac(const char *s, size_t n, double *out) {
    char buf[32], *end;
    if (!n || n >= sizeof(buf)) return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    double v = strtod(buf, &end);
    if (*end || !isfinite(v) || v < 0) return -1;
    *out = v;
    return 0;
}

rs_err_t rs_inspect_opts_query(rs_inspect_opts_t *o, const char *query) {
    const char *p = query ? query : "";
    while (*p) {
        const char *amp = strchr(p, '&');
        size_t n = amp ? (size_t)(amp - p) : strlen(p);
        const char *eq = memchr(p, '=', n);
        if (eq) {
            size_t kl = (size_t)(eq - p), vl = n - kl - 1;
            const char *v = eq + 1;
#define KEY(s) (kl == sizeof(s) - 1 && !memcmp(p, s, kl))
            int bad = 0;
            if (KEY("neighbors"))
                bad = parse_u32(v, vl, &o->max_neighbors);
            else if (KEY("rules"))
                bad = parse_u32(v, vl, &o->max_rules);
            else if (KEY("min_count"))
                bad = parse_frac(v, vl, &o->rules.min_count);
            else if (KEY("min_support"))
                bad = parse_frac(v, vl, &o->rules.min_support);
            else if (KEY("min_confidence"))
                bad = parse_frac(v, vl, &o->rules.min_confidence);
            else if (KEY("min_lift"))
                bad = parse_frac(v, vl, &o->rules.min_lift);
#undef KEY
            if (bad) return RS_EARG;
        }
        p += n + (amp ? 1 : 0);
    }
    return RS_OK;
}

/* ------------------------------------------------------------ HTTP */

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

rs_err_t rs_inspect_pct_decode(const char *in, size_t n, rs_buf_t *out) {
    for (size_t i = 0; i < n; i++) {
        if (in[i] != '%') {
            rs_buf_putc(out, in[i]);
            continue;
        }
        int h = i + 2 < n ? hexval(in[i + 1]) : -1, l = i + 2 < n ? hexval(in[i + 2]) : -1;
        if (h < 0 || l < 0) return RS_EARG;
        rs_buf_putc(out, (char)(h << 4 | l));
        i += 2;
    }
    return RS_OK;
}

void rs_inspect_pct_encode(const char *in, size_t n, rs_buf_t *out) {
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            rs_buf_putc(out, (char)c);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            rs_buf_append(out, e, 3);
        }
    }
}

static void http_error(rs_http_resp_t *r, int status, const char *msg, const char *key,
                       const rs_buf_t *id) {
    r->status = status;
    rs_buf_reset(&r->body);
    rs_buf_printf(&r->body, "{\"error\":\"%s\"", msg);
    if (key && id) {
        rs_buf_printf(&r->body, ",\"%s\":", key);
        rs_buf_json_str(&r->body, id->p ? id->p : "", id->len);
    }
    rs_buf_append(&r->body, "}\n", 2);
}

static void inspect_http(rs_state_t *st, const rs_conf_t *conf, rs_scorer_t *sc,
                         rs_inspect_kind_t kind, rs_inspect_view_t view, const char *rest, size_t n,
                         const char *query, rs_http_resp_t *resp) {
    const char *key = kind == RS_INSPECT_USER ? "user_id" : "item_id";
    rs_buf_t id = {0};
    rs_inspect_opts_t o;
    rs_inspect_opts_default(&o);
    rs_rules_opts_from_conf(&o.rules, conf); /* the query may override */
    o.view = view;
    resp->content_type = "application/json";
    if (!n) {
        http_error(resp, 400, kind == RS_INSPECT_USER ? "missing user id" : "missing item id", NULL,
                   NULL);
        return;
    }
    if (rs_inspect_pct_decode(rest, n, &id)) {
        http_error(resp, 400, "badly percent-encoded id", NULL, NULL);
        goto done;
    }
    if (rs_inspect_opts_query(&o, query)) {
        http_error(resp, 400, "bad query option", key, &id);
        goto done;
    }
    int rc = kind == RS_INSPECT_USER ? rs_inspect_user(st, conf, sc, id.p, id.len, &o, &resp->body)
                                     : rs_inspect_item(st, conf, id.p, id.len, &o, &resp->body);
    if (rc == RS_ENOTFOUND) {
        http_error(resp, 404, kind == RS_INSPECT_USER ? "unknown user" : "unknown item", key, &id);
    } else if (rc) {
        http_error(resp, 500, rs_strerror(rc), key, &id);
    } else {
        resp->status = 200;
        rs_buf_putc(&resp->body, '\n');
    }
done:
    rs_buf_free(&id);
}

void rs_inspect_http(rs_state_t *st, const rs_conf_t *conf, rs_scorer_t *sc, rs_inspect_kind_t kind,
                     const char *rest, const char *query, rs_http_resp_t *resp) {
    inspect_http(st, conf, sc, kind, RS_INSPECT_VIEW_FULL, rest, rest ? strlen(rest) : 0, query,
                 resp);
}

void rs_inspect_http_v1(rs_state_t *st, const rs_conf_t *conf, rs_scorer_t *sc, const char *rest,
                        const char *query, rs_http_resp_t *resp) {
    static const struct {
        const char *prefix, *suffix;
        rs_inspect_kind_t kind;
        rs_inspect_view_t view;
    } routes[] = {{"users/", "/recommendations", RS_INSPECT_USER, RS_INSPECT_VIEW_RECS},
                  {"users/", "/profile", RS_INSPECT_USER, RS_INSPECT_VIEW_PROFILE},
                  {"items/", "/similar", RS_INSPECT_ITEM, RS_INSPECT_VIEW_SIMILAR}};
    size_t n = rest ? strlen(rest) : 0;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        size_t pl = strlen(routes[i].prefix), sl = strlen(routes[i].suffix);
        if (n < pl + sl || memcmp(rest, routes[i].prefix, pl) ||
            memcmp(rest + n - sl, routes[i].suffix, sl))
            continue;
        const char *id = rest + pl;
        size_t idn = n - pl - sl;
        if (memchr(id, '/', idn)) break; /* a raw '/' in an id: not a route */
        inspect_http(st, conf, sc, routes[i].kind, routes[i].view, id, idn, query, resp);
        return;
    }
    resp->content_type = "application/json";
    http_error(resp, 404, "no such route", NULL, NULL);
}
