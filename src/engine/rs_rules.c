/* rs_rules.c -- association rules from the co-occurrence rows (rs_rules.h).
 *
 * Nothing is stored: a rule set is derived on demand from A's row, the item
 * weights and the total weight, so it is always consistent with the counts
 * the scorer uses and costs no memory or commit work. The work is one pass
 * over A's open-addressing row (rs_item_t.nb) with a bounded min-heap of the
 * best `max` rules (root = the worst rule kept), then a heapsort in place:
 * O(row * log max) and no allocation, so it is safe to call from an HTTP
 * handler on the loop thread. */
#include <math.h>

#include "recstream/rs_rules.h"

void rs_rules_opts_default(rs_rules_opts_t *o) {
    o->min_count = 2.0;
    o->min_support = 0.0;
    o->min_confidence = 0.0;
    o->min_lift = 0.0;
}

void rs_rules_opts_from_conf(rs_rules_opts_t *o, const rs_conf_t *conf) {
    o->min_count = conf->rules_min_count;
    o->min_support = conf->rules_min_support;
    o->min_confidence = conf->rules_min_confidence;
    o->min_lift = conf->rules_min_lift;
}

/* Rule order: higher confidence, then higher lift, then lower item idx. */
static inline int rule_better(const rs_rule_t *x, const rs_rule_t *y) {
    if (x->confidence != y->confidence) return x->confidence > y->confidence;
    if (x->lift != y->lift) return x->lift > y->lift;
    return x->item < y->item;
}

/* Sifts e down from slot j of the min-heap h[0..n) (root = worst). */
static void sift_down(rs_rule_t *h, size_t n, size_t j, rs_rule_t e) {
    for (;;) {
        size_t l = 2 * j + 1, r = l + 1, m = j;
        const rs_rule_t *mv = &e;
        if (l < n && rule_better(mv, &h[l])) m = l, mv = &h[l];
        if (r < n && rule_better(mv, &h[r])) m = r;
        if (m == j) break;
        h[j] = h[m];
        j = m;
    }
    h[j] = e;
}

size_t rs_rules_for_item(rs_state_t *st, const rs_item_t *a, const rs_rules_opts_t *o,
                         rs_rule_t *out, size_t max) {
    rs_rules_opts_t def;
    if (!o) rs_rules_opts_default(&def), o = &def;
    if (!a || !max) return 0;
    rs_state_sync(st); /* buffered pair increments -> rows */
    double N = (double)rs_state_total_weight(st), na = (double)a->weight;
    double scale = (double)rs_state_pair_scale(st);
    if (N <= 0 || na <= 0 || scale <= 0) return 0;
    size_t hn = 0;
    for (uint32_t i = 0; i < a->nb_cap; i++) {
        const rs_nbent_t *e = &a->nb[i];
        if (e->key == UINT32_MAX || e->key == a->idx || e->cnt == 0) continue;
        double c = (double)e->cnt / scale;
        if (c < o->min_count) continue;
        const rs_item_t *b = rs_state_item_by_idx(st, e->key);
        if (!b) continue;
        rs_rule_t r = {.item = e->key, .count = c};
        r.support = c / N > 1.0 ? 1.0 : c / N;
        r.confidence = c / na > 1.0 ? 1.0 : c / na;
        r.lift = b->weight ? r.confidence / ((double)b->weight / N) : 0.0;
        if (r.support < o->min_support || r.confidence < o->min_confidence || r.lift < o->min_lift)
            continue;
        if (hn < max) {
            size_t j = hn++;
            while (j && rule_better(&out[(j - 1) / 2], &r))
                out[j] = out[(j - 1) / 2], j = (j - 1) / 2;
            out[j] = r;
        } else if (rule_better(&r, &out[0])) {
            sift_down(out, hn, 0, r);
        }
    }
    /* heap -> best-first: repeatedly move the worst (root) to the end */
    for (size_t end = hn; end > 1; end--) {
        rs_rule_t worst = out[0];
        sift_down(out, end - 1, 0, out[end - 1]);
        out[end - 1] = worst;
    }
    return hn;
}

void rs_rule_format(rs_state_t *st, const rs_item_t *a, const rs_rule_t *r, rs_buf_t *out) {
    const rs_item_t *b = rs_state_item_by_idx(st, r->item);
    int la = (int)(a->id_len > 100 ? 100 : a->id_len);
    int lb = b ? (int)(b->id_len > 100 ? 100 : b->id_len) : 1;
    double pct = r->confidence * 100.0; /* "80%", but "7.5%" below 10 */
    double whole = floor(r->count + 0.5);
    rs_buf_printf(out,
                  "customers who interacted with %.*s also interacted with %.*s: %.*f%% "
                  "(lift %.1f, support %.*f)",
                  la, a->id, lb, b ? b->id : "?", pct < 9.95 ? 1 : 0, pct, r->lift,
                  fabs(r->count - whole) < 0.05 ? 0 : 1, r->count);
}
