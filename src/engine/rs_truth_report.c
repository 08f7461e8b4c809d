/* rs_truth_report.c -- the report of `recstream score` (rs_truth_report):
 * a readable table or one JSON object, from the scorer's data
 * (rs_truth_int.h). Clusters are listed in natural name order (cluster-2
 * before cluster-10), groups in truth order, rfm segments in rs_segment.h
 * order with "none" last. Unmatched alert lines are embedded as they were
 * read: they parsed as JSON objects. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strverscmp */
#endif
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/rs_truth_int.h"

static void put_num(rs_buf_t *b, double d) {
    char tmp[40];
    if (!isfinite(d)) {
        rs_buf_append(b, "null", 4);
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
        if (strtod(tmp, NULL) == d) break;
    }
    rs_buf_append(b, tmp, strlen(tmp));
}

static void put_key(rs_buf_t *b, const char *k) {
    rs_buf_json_str(b, k, strlen(k));
    rs_buf_putc(b, ':');
}

static const rs_truth_t *g_sort_t; /* qsort has no context argument in C11 */

static int cmp_cluster(const void *a, const void *b) {
    return strverscmp(st_key(&g_sort_t->clusters, *(const uint32_t *)a),
                      st_key(&g_sort_t->clusters, *(const uint32_t *)b));
}

/* Cluster indices (not "") in natural name order; *n gets their number. */
static uint32_t *sorted_clusters(const rs_truth_t *t, size_t *n) {
    uint32_t *v = rs_xmalloc(t->clusters.n * sizeof(uint32_t));
    *n = 0;
    for (uint32_t i = 1; i < t->clusters.n; i++) v[(*n)++] = i;
    g_sort_t = t;
    qsort(v, *n, sizeof(*v), cmp_cluster);
    return v;
}

static uint64_t *cluster_sizes(const rs_truth_t *t) {
    uint64_t *sz = rs_xcalloc(t->clusters.n, sizeof(uint64_t));
    for (uint32_t i = 0; i < t->users.n; i++)
        if (t->u[i].cluster > 0) sz[t->u[i].cluster]++;
    return sz;
}

static uint64_t *rfm_sizes(const rs_truth_t *t) {
    uint64_t *sz = rs_xcalloc(t->rfms.n, sizeof(uint64_t));
    for (uint32_t i = 0; i < t->users.n; i++)
        if (t->u[i].rfm >= 0) sz[t->u[i].rfm]++;
    return sz;
}

static const char *rfm_label(const rs_truth_t *t, uint32_t i) {
    return i ? st_key(&t->rfms, i) : "none";
}

static void report_json(const rs_truth_t *t, const rs_truth_summary_t *s, rs_buf_t *b) {
    rs_truth_rule_stats_t r;
    rs_buf_printf(b,
                  "{\"gap_ms\":%" PRId64 ",\"lines\":{\"recommendation\":%" PRIu64
                  ",\"alert\":%" PRIu64 ",\"segment\":%" PRIu64 ",\"other\":%" PRIu64 "},",
                  t->o.gap_ms, s->lines_rec, s->lines_alert, s->lines_segment, s->lines_other);
    if (s->has_truth)
        rs_buf_printf(
            b, "\"truth\":{\"users\":%" PRIu64 ",\"episodes\":%" PRIu64 ",\"pairs\":%" PRIu64 "},",
            s->truth_users, s->truth_episodes, s->truth_pairs);
    else
        rs_buf_printf(b, "\"truth\":null,");
    rs_buf_printf(b, "\"alerts\":{");
    for (size_t i = 0; i < rs_truth_rule_count(t); i++) {
        rs_truth_rule_get(t, i, &r);
        if (i) rs_buf_putc(b, ',');
        put_key(b, r.rule);
        rs_buf_printf(b, "{\"alerts\":%" PRIu64, r.alerts);
        if (s->has_truth) {
            rs_buf_printf(b, ",\"matched\":%" PRIu64 ",\"precision\":", r.matched);
            put_num(b, r.precision);
            if (r.has_kind) {
                rs_buf_printf(b,
                              ",\"episodes\":%" PRIu64 ",\"detected\":%" PRIu64
                              ",\"merged\":%" PRIu64 ",\"cut\":%" PRIu64 ",\"recall\":",
                              r.episodes, r.detected, r.merged, r.cut);
                put_num(b, r.recall);
            }
        }
        /* Kept lines are whole JSON objects already (they parsed). */
        rs_buf_printf(b, ",\"%s\":[", s->has_truth ? "unmatched_examples" : "examples");
        for (uint32_t j = 0; j < r.n_examples; j++) {
            const char *ex = rs_truth_example(t, i, j);
            if (j) rs_buf_putc(b, ',');
            rs_buf_append(b, ex, strlen(ex));
        }
        rs_buf_append(b, "]}", 2);
    }
    rs_buf_printf(b, "},\"alerted_users\":%" PRIu64 ",\"users\":%" PRIu64 ",\"alerted_share\":",
                  s->alerted_users, s->users);
    put_num(b, s->alerted_share);
    rs_buf_printf(b,
                  ",\"no_episode\":{\"alerts\":%" PRIu64 ",\"users\":%" PRIu64
                  "},\"clusters\":{\"users\":%" PRIu64 ",\"not_in_truth\":%" PRIu64
                  ",\"unclustered\":%" PRIu64 ",\"ari\":",
                  s->fp_alerts, s->fp_users, s->clustered, s->clustered_unknown, s->unclustered);
    put_num(b, s->ari);
    size_t nc;
    uint32_t *order = sorted_clusters(t, &nc);
    uint64_t *sizes = cluster_sizes(t), *tab = rs_truth_int_cluster_table(t);
    size_t cols = t->groups.n ? t->groups.n : 1;
    rs_buf_printf(b, ",\"sizes\":{");
    for (size_t i = 0; i < nc; i++) {
        if (i) rs_buf_putc(b, ',');
        put_key(b, st_key(&t->clusters, order[i]));
        rs_buf_printf(b, "%" PRIu64, sizes[order[i]]);
    }
    rs_buf_printf(b, "},\"table\":{");
    for (size_t i = 0; i < nc; i++) {
        if (i) rs_buf_putc(b, ',');
        put_key(b, st_key(&t->clusters, order[i]));
        rs_buf_putc(b, '{');
        for (uint32_t g = 0; g < t->groups.n; g++) {
            if (g) rs_buf_putc(b, ',');
            put_key(b, st_key(&t->groups, g));
            rs_buf_printf(b, "%" PRIu64, tab[(size_t)order[i] * cols + g]);
        }
        rs_buf_putc(b, '}');
    }
    rs_buf_printf(b, "}},\"rfm\":{");
    free(sizes);
    sizes = rfm_sizes(t);
    for (uint32_t i = 1; i <= t->rfms.n; i++) { /* "none" last */
        uint32_t k = i % t->rfms.n;
        if (i > 1) rs_buf_putc(b, ',');
        put_key(b, rfm_label(t, k));
        rs_buf_printf(b, "%" PRIu64, sizes[k]);
    }
    rs_buf_append(b, "}}\n", 3);
    free(order);
    free(sizes);
    free(tab);
}

static void put_ratio(rs_buf_t *b, double x) {
    if (isnan(x))
        rs_buf_printf(b, " %9s", "-");
    else
        rs_buf_printf(b, " %9.4f", x);
}

static void report_text(const rs_truth_t *t, const rs_truth_summary_t *s, rs_buf_t *b) {
    rs_truth_rule_stats_t r;
    rs_buf_printf(b,
                  "lines: %" PRIu64 " recommendation, %" PRIu64 " alert, %" PRIu64
                  " segment, %" PRIu64 " other\n",
                  s->lines_rec, s->lines_alert, s->lines_segment, s->lines_other);
    if (s->has_truth)
        rs_buf_printf(b, "truth: %" PRIu64 " users, %" PRIu64 " episodes, %" PRIu64 " pairs\n",
                      s->truth_users, s->truth_episodes, s->truth_pairs);
    else
        rs_buf_printf(b, "truth: none (alerts are counted, not matched)\n");
    rs_buf_printf(b, "\nalerts (episode gap %" PRId64 " ms)\n", t->o.gap_ms);
    rs_buf_printf(b, "%-14s %8s %8s %9s %8s %8s %9s\n", "rule", "alerts", "matched", "precision",
                  "episodes", "detected", "recall");
    for (size_t i = 0; i < rs_truth_rule_count(t); i++) {
        rs_truth_rule_get(t, i, &r);
        rs_buf_printf(b, "%-14.14s %8" PRIu64, r.rule, r.alerts);
        if (s->has_truth)
            rs_buf_printf(b, " %8" PRIu64, r.matched);
        else
            rs_buf_printf(b, " %8s", "-");
        put_ratio(b, r.precision);
        if (r.has_kind && s->has_truth)
            rs_buf_printf(b, " %8" PRIu64 " %8" PRIu64, r.episodes, r.detected);
        else
            rs_buf_printf(b, " %8s %8s", "-", "-");
        put_ratio(b, r.recall);
        if (r.merged) rs_buf_printf(b, "  (%" PRIu64 " merged)", r.merged);
        if (r.cut) rs_buf_printf(b, "  (%" PRIu64 " cut by the end, not counted)", r.cut);
        rs_buf_putc(b, '\n');
    }
    rs_buf_printf(b, "\nalerted users: %" PRIu64 " of %" PRIu64 " %s", s->alerted_users, s->users,
                  s->has_truth ? "truth users" : "users in the output");
    if (!isnan(s->alerted_share)) rs_buf_printf(b, " (%.3f%%)", 100 * s->alerted_share);
    rs_buf_putc(b, '\n');
    if (s->has_truth)
        rs_buf_printf(b,
                      "alerts on users in no planted episode: %" PRIu64 " on %" PRIu64 " users\n",
                      s->fp_alerts, s->fp_users);
    for (size_t i = 0, head = 0; i < rs_truth_rule_count(t); i++) {
        rs_truth_rule_get(t, i, &r);
        if (r.n_examples && !head++)
            rs_buf_printf(b, "%s alerts (first %u per rule):\n",
                          s->has_truth ? "unmatched" : "example", t->o.examples);
        for (uint32_t j = 0; j < r.n_examples; j++)
            rs_buf_printf(b, "  %-13s %s\n", r.rule, rs_truth_example(t, i, j));
    }
    rs_buf_printf(b,
                  "\nclusters: %" PRIu64 " clustered users in the truth, %" PRIu64
                  " not in the truth, %" PRIu64 " unclustered; ARI ",
                  s->clustered, s->clustered_unknown, s->unclustered);
    if (isnan(s->ari))
        rs_buf_printf(b, "-\n");
    else
        rs_buf_printf(b, "%.4f\n", s->ari);
    size_t nc;
    uint32_t *order = sorted_clusters(t, &nc);
    uint64_t *sizes = cluster_sizes(t), *tab = rs_truth_int_cluster_table(t);
    size_t cols = t->groups.n ? t->groups.n : 1;
    if (nc) {
        rs_buf_printf(b, "%-14s %8s", "cluster", "users");
        for (uint32_t g = 0; g < t->groups.n; g++)
            rs_buf_printf(b, " %11.11s", st_key(&t->groups, g));
        rs_buf_putc(b, '\n');
    }
    for (size_t i = 0; i < nc; i++) {
        rs_buf_printf(b, "%-14.14s %8" PRIu64, st_key(&t->clusters, order[i]), sizes[order[i]]);
        for (uint32_t g = 0; g < t->groups.n; g++)
            rs_buf_printf(b, " %11" PRIu64, tab[(size_t)order[i] * cols + g]);
        rs_buf_putc(b, '\n');
    }
    free(sizes);
    sizes = rfm_sizes(t);
    rs_buf_printf(b, "\nrfm segments (last change per user, %" PRIu64 " users):", s->rfm_users);
    for (uint32_t i = 1; i <= t->rfms.n; i++) {
        uint32_t k = i % t->rfms.n;
        rs_buf_printf(b, " %s %" PRIu64, rfm_label(t, k), sizes[k]);
    }
    rs_buf_putc(b, '\n');
    free(order);
    free(sizes);
    free(tab);
}

void rs_truth_report(const rs_truth_t *t, int json, rs_buf_t *out) {
    rs_truth_summary_t s;
    rs_truth_summary(t, &s);
    if (json)
        report_json(t, &s, out);
    else
        report_text(t, &s, out);
}
