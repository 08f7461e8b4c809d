/* rs_truth.c -- scoring of emitted alerts and segments against the
 * generator's truth (see rs_truth.h for the rules).
 *
 * Data: every id is interned once (users, items, and the small name sets:
 * rules, groups, clusters, rfm segments) in an open-addressing table whose
 * keys live in one arena. A user holds its truth group, the head of its
 * planted user episodes, its last cluster and rfm names and two flags;
 * an item holds the head of its item_spike episodes. Episodes are one array
 * with a `next` link per subject, so matching an alert walks only that
 * subject's episodes. Nothing per alert or per recommendation is kept
 * besides counters and the few example lines.
 *
 * Parsing: truth, alert and segment lines go through rs_json_doc (the
 * jansson door, src/wrap). Recommendation lines, by far the most, are
 * recognised by their prefix and only their user id is read, by hand.
 *
 * ARI: pair counts C(n,2) are exact in 64 bits (n < 2^32); the products of
 * the formula reach 2^126 and are done in unsigned 128-bit integers, so the
 * only rounding is the final division.
 *
 * The report (text and JSON) is in rs_truth_report.c; the data structures
 * both files share are in rs_truth_int.h. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/rs_truth_int.h"
#include "wrap/rs_json_doc.h"

/* ---- interned strings ---------------------------------------------------- */

static uint32_t *st_probe(const strtab_t *s, const char *k, size_t n, uint64_t h) {
    for (size_t i = h & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        uint32_t e = s->slot[i];
        if (!e) return &s->slot[i];
        const skey_t *x = &s->keys[e - 1];
        if (x->h == h && x->len == n && !memcmp(s->arena.p + x->off, k, n)) return &s->slot[i];
    }
}

static uint32_t st_find(const strtab_t *s, const char *k, size_t n) {
    return s->cap ? *st_probe(s, k, n, rs_hash64(k, n)) - 1 : TR_NONE; /* 0 - 1 = TR_NONE */
}

/* Index of k; TR_NONE if absent and !add. *added (may be NULL) says it is new. */
static uint32_t st_get(strtab_t *s, const char *k, size_t n, int add, int *added) {
    uint32_t i = st_find(s, k, n);
    if (added) *added = 0;
    if (i != TR_NONE || !add) return i;
    uint64_t h = rs_hash64(k, n);
    if ((size_t)(s->n + 1) * 10 > s->cap * 7) {
        size_t ncap = s->cap ? s->cap * 2 : 64;
        free(s->slot);
        s->slot = rs_xcalloc(ncap, sizeof(uint32_t));
        s->cap = ncap;
        for (uint32_t j = 0; j < s->n; j++)
            *st_probe(s, st_key(s, j), s->keys[j].len, s->keys[j].h) = j + 1;
    }
    if (s->n == s->kcap) {
        s->kcap = s->kcap ? s->kcap * 2 : 64;
        s->keys = rs_xrealloc(s->keys, s->kcap * sizeof(skey_t));
    }
    s->keys[s->n] = (skey_t){(uint32_t)s->arena.len, (uint32_t)n, h};
    rs_buf_append(&s->arena, k, n);
    rs_buf_putc(&s->arena, '\0');
    *st_probe(s, k, n, h) = s->n + 1;
    if (added) *added = 1;
    return s->n++;
}

static uint32_t st_add(strtab_t *s, const char *k) {
    return st_get(s, k, strlen(k), 1, NULL);
}

static void st_free(strtab_t *s) {
    free(s->slot);
    free(s->keys);
    rs_buf_free(&s->arena);
}

/* ---- the scorer ------------------------------------------------------------ */

/* Planted kinds; each is scored by the rule of the same name. */
enum { K_BOT, K_CARD, K_BIG, K_SPIKE, K__N };
static const char *const kind_names[K__N] = {"bot", "card_testing", "big_purchase", "item_spike"};
/* Known rules, pre-interned in report order (rs_alert_rule_name). */
enum { R_RATE, R_BOT, R_BIG, R_CARD, R_SPIKE, R__KNOWN };
static const char *const rule_names[R__KNOWN] = {"rate_burst", "bot", "big_purchase",
                                                 "card_testing", "item_spike"};
static const int rule_kind[R__KNOWN] = {-1, K_BOT, K_BIG, K_CARD, K_SPIKE};
static const char *const rfm_names[] = {"",    "champions", "loyal",       "potential",
                                        "new", "at_risk",   "hibernating", "lost"};

void rs_truth_opts_default(rs_truth_opts_t *o) {
    o->gap_ms = 600000;
    o->examples = 3;
}

static uint32_t user_get(rs_truth_t *t, const char *k, size_t n) {
    int added;
    uint32_t i = st_get(&t->users, k, n, 1, &added);
    if (added) {
        if (i == t->ucap) {
            t->ucap = t->ucap ? t->ucap * 2 : 1024;
            t->u = rs_xrealloc(t->u, t->ucap * sizeof(user_t));
        }
        t->u[i] = (user_t){-1, -1, -1, TR_NONE, 0, 0, 0, 0};
    }
    return i;
}

static uint32_t item_get(rs_truth_t *t, const char *k, size_t n) {
    int added;
    uint32_t i = st_get(&t->items, k, n, 1, &added);
    if (added) {
        if (i == t->icap) {
            t->icap = t->icap ? t->icap * 2 : 256;
            t->item_ep = rs_xrealloc(t->item_ep, t->icap * sizeof(uint32_t));
        }
        t->item_ep[i] = TR_NONE;
    }
    return i;
}

static uint32_t rule_get(rs_truth_t *t, const char *k, size_t n) {
    int added;
    uint32_t i = st_get(&t->rules, k, n, 1, &added);
    if (added) {
        if (i == t->rcap) {
            t->rcap = t->rcap ? t->rcap * 2 : 8;
            t->r = rs_xrealloc(t->r, t->rcap * sizeof(rule_t));
        }
        memset(&t->r[i], 0, sizeof(rule_t));
    }
    return i;
}

rs_err_t rs_truth_new(rs_truth_t **out, const rs_truth_opts_t *o, char *errstr,
                      size_t errstr_size) {
    *out = NULL;
    if (o->gap_ms < 0) return rs_seterr(errstr, errstr_size, RS_EARG, "negative episode gap");
    rs_truth_t *t = rs_xcalloc(1, sizeof(*t));
    t->o = *o;
    for (int i = 0; i < R__KNOWN; i++) rule_get(t, rule_names[i], strlen(rule_names[i]));
    st_add(&t->clusters, "");
    for (size_t i = 0; i < sizeof(rfm_names) / sizeof(rfm_names[0]); i++)
        st_add(&t->rfms, rfm_names[i]);
    *out = t;
    return RS_OK;
}

void rs_truth_destroy(rs_truth_t *t) {
    if (!t) return;
    strtab_t *tabs[] = {&t->users, &t->items, &t->rules, &t->groups, &t->clusters, &t->rfms};
    for (size_t i = 0; i < sizeof(tabs) / sizeof(tabs[0]); i++) st_free(tabs[i]);
    for (uint32_t i = 0; i < t->rules.n; i++) rs_buf_free(&t->r[i].ex);
    free(t->u);
    free(t->item_ep);
    free(t->ep);
    free(t->r);
    free(t);
}

/* ---- truth lines ------------------------------------------------------------ */

/* Required string / integer field: RS_EDECODE naming it when absent. */
static int need_str(rs_json_doc_t *d, const char *k, const char **s, size_t *n, char *err,
                    size_t sz) {
    int rc = rs_json_doc_str(d, k, s, n, err, sz);
    if (!rc) return rs_seterr(err, sz, RS_EDECODE, "missing field %s", k);
    return rc < 0 ? rc : RS_OK;
}

static int need_int(rs_json_doc_t *d, const char *k, int64_t *v, char *err, size_t sz) {
    int rc = rs_json_doc_int(d, k, v, err, sz);
    if (!rc) return rs_seterr(err, sz, RS_EDECODE, "missing field %s", k);
    return rc < 0 ? rc : RS_OK;
}

static int kind_parse(const char *s) {
    for (int k = 0; k < K__N; k++)
        if (!strcmp(s, kind_names[k])) return k;
    return -1;
}

static rs_err_t truth_anomaly(rs_truth_t *t, rs_json_doc_t *d, char *err, size_t sz) {
    const char *type, *id;
    size_t n;
    int64_t start, end;
    rs_err_t rc;
    if ((rc = need_str(d, "type", &type, NULL, err, sz))) return rc;
    int k = kind_parse(type);
    if (k < 0) return rs_seterr(err, sz, RS_EDECODE, "unknown anomaly type \"%.40s\"", type);
    if ((rc = need_int(d, "start_ts", &start, err, sz)) ||
        (rc = need_int(d, "end_ts", &end, err, sz)))
        return rc;
    if (end < start) return rs_seterr(err, sz, RS_EDECODE, "end_ts before start_ts");
    if ((rc = need_str(d, k == K_SPIKE ? "item_id" : "user_id", &id, &n, err, sz))) return rc;
    int complete = 1;
    if ((rc = rs_json_doc_bool(d, "complete", &complete, err, sz)) < 0) return rc;
    if (t->n_ep == t->ep_cap) {
        t->ep_cap = t->ep_cap ? t->ep_cap * 2 : 256;
        t->ep = rs_xrealloc(t->ep, t->ep_cap * sizeof(episode_t));
    }
    episode_t *e = &t->ep[t->n_ep];
    *e = (episode_t){start, end, 0, TR_NONE, (uint8_t)k, 0, (uint8_t)!complete};
    uint32_t *head;
    if (k == K_SPIKE) {
        e->subject = item_get(t, id, n);
        head = &t->item_ep[e->subject];
    } else {
        e->subject = user_get(t, id, n);
        head = &t->u[e->subject].ep;
    }
    e->next = *head;
    *head = t->n_ep++;
    return RS_OK;
}

static rs_err_t truth_line(rs_truth_t *t, const char *p, size_t n, char *err, size_t sz) {
    rs_json_doc_t *d;
    const char *kind, *s;
    size_t len;
    rs_err_t rc = rs_json_doc_parse(&d, p, n, err, sz);
    if (rc) return rc;
    t->has_truth = 1;
    if ((rc = need_str(d, "kind", &kind, NULL, err, sz))) goto out;
    if (!strcmp(kind, "user")) {
        if ((rc = need_str(d, "user_id", &s, &len, err, sz))) goto out;
        uint32_t u = user_get(t, s, len);
        if (t->u[u].in_truth) {
            rc = rs_seterr(err, sz, RS_EDECODE, "user %.64s listed twice", s);
            goto out;
        }
        if ((rc = need_str(d, "group", &s, &len, err, sz))) goto out;
        t->u[u].group = (int32_t)st_get(&t->groups, s, len, 1, NULL);
        t->u[u].in_truth = 1;
        t->truth_users++;
    } else if (!strcmp(kind, "anomaly")) {
        rc = truth_anomaly(t, d, err, sz);
    } else if (!strcmp(kind, "pair")) {
        t->pairs++;
    } /* other kinds: later additions to the truth, not scored */
out:
    rs_json_doc_free(d);
    return rc;
}

/* ---- emitted lines ---------------------------------------------------------- */

static uint32_t seen_user(rs_truth_t *t, const char *s, size_t n) {
    uint32_t u = user_get(t, s, n);
    if (!t->u[u].seen_out) t->u[u].seen_out = 1, t->output_users++;
    return u;
}

/* start <= ts <= end + gap, without overflow for any int64 times. */
static int in_window(const rs_truth_t *t, const episode_t *e, int64_t ts) {
    return ts >= e->start &&
           (ts <= e->end || (uint64_t)ts - (uint64_t)e->end <= (uint64_t)t->o.gap_ms);
}

static rs_err_t emitted_alert(rs_truth_t *t, rs_json_doc_t *d, const char *p, size_t n, char *err,
                              size_t sz) {
    const char *rule, *uid = NULL, *iid = NULL;
    size_t rlen, ulen = 0, ilen = 0;
    int64_t ts;
    int rc;
    if ((rc = need_str(d, "rule", &rule, &rlen, err, sz)) ||
        (rc = need_int(d, "ts_ms", &ts, err, sz)))
        return rc;
    if ((rc = rs_json_doc_str(d, "user_id", &uid, &ulen, err, sz)) < 0 ||
        (rc = rs_json_doc_str(d, "item_id", &iid, &ilen, err, sz)) < 0)
        return rc;
    uint32_t ri = rule_get(t, rule, rlen);
    if (ri < R_SPIKE && !uid)
        return rs_seterr(err, sz, RS_EDECODE, "alert of rule %s without user_id", rule);
    if (ri == R_SPIKE && !iid)
        return rs_seterr(err, sz, RS_EDECODE, "alert of rule %s without item_id", rule);
    t->alerts++;
    t->r[ri].alerts++;
    int matched = 0;
    uint32_t u = uid ? seen_user(t, uid, ulen) : TR_NONE;
    if (ri == R_SPIKE) {
        uint32_t it = st_find(&t->items, iid, ilen);
        for (uint32_t e = it == TR_NONE ? TR_NONE : t->item_ep[it]; e != TR_NONE; e = t->ep[e].next)
            if (in_window(t, &t->ep[e], ts)) matched = t->ep[e].hit = 1;
    } else if (ri < R__KNOWN) {
        /* Mark every window holding ts: an overlapping one would be merged
         * by the engine anyway (see the recall rule in rs_truth.h). */
        for (uint32_t e = t->u[u].ep; e != TR_NONE; e = t->ep[e].next) {
            episode_t *x = &t->ep[e];
            if (!in_window(t, x, ts)) continue;
            if (ri == R_RATE)
                matched = 1;
            else if (x->kind == rule_kind[ri])
                matched = x->hit = 1;
        }
    }
    if (matched) {
        t->r[ri].matched++;
    } else if (t->r[ri].n_ex < t->o.examples) {
        rs_buf_append(&t->r[ri].ex, p, n);
        rs_buf_putc(&t->r[ri].ex, '\0');
        t->r[ri].n_ex++;
    }
    if (u != TR_NONE) {
        user_t *x = &t->u[u];
        if (!x->alerted) x->alerted = 1, t->alerted_users++;
        if (x->ep == TR_NONE) {
            t->fp_alerts++;
            if (!x->fp) x->fp = 1, t->fp_users++;
        }
    }
    return RS_OK;
}

static rs_err_t emitted_segment(rs_truth_t *t, rs_json_doc_t *d, char *err, size_t sz) {
    const char *uid, *dim, *nw;
    size_t ulen, nlen;
    int rc;
    if ((rc = need_str(d, "user_id", &uid, &ulen, err, sz)) ||
        (rc = need_str(d, "dimension", &dim, NULL, err, sz)))
        return rc;
    /* "new" null = no segment, as "" */
    if ((rc = rs_json_doc_str(d, "new", &nw, &nlen, err, sz)) < 0) return rc;
    if (!rc) nw = "", nlen = 0;
    uint32_t u = seen_user(t, uid, ulen);
    if (!strcmp(dim, "cluster"))
        t->u[u].cluster = (int32_t)st_get(&t->clusters, nw, nlen, 1, NULL);
    else if (!strcmp(dim, "rfm"))
        t->u[u].rfm = (int32_t)st_get(&t->rfms, nw, nlen, 1, NULL);
    return RS_OK; /* other dimensions: not scored */
}

#define REC_PREFIX "{\"kind\":\"recommendation\""
#define REC_USER   ",\"user_id\":\""

static rs_err_t emitted_line(rs_truth_t *t, const char *p, size_t n, char *err, size_t sz) {
    /* Recommendation lines as the replay writes them: prefix and user id
     * only, no parse (they outnumber every other kind by far). */
    size_t lp = sizeof(REC_PREFIX) - 1, lu = sizeof(REC_USER) - 1;
    if (n > lp + lu && !memcmp(p, REC_PREFIX, lp) && !memcmp(p + lp, REC_USER, lu)) {
        const char *s = p + lp + lu, *end = p + n, *q = s;
        while (q < end && *q != '"' && *q != '\\') q++;
        if (q < end && *q == '"') {
            t->lines[0]++;
            seen_user(t, s, (size_t)(q - s));
            return RS_OK;
        } /* escapes: the full parse below */
    }
    rs_json_doc_t *d;
    const char *kind, *uid;
    size_t ulen;
    rs_err_t rc = rs_json_doc_parse(&d, p, n, err, sz);
    if (rc) return rc;
    if ((rc = need_str(d, "kind", &kind, NULL, err, sz))) goto out;
    if (!strcmp(kind, "alert")) {
        t->lines[1]++;
        rc = emitted_alert(t, d, p, n, err, sz);
    } else if (!strcmp(kind, "segment")) {
        t->lines[2]++;
        rc = emitted_segment(t, d, err, sz);
    } else if (!strcmp(kind, "recommendation")) {
        t->lines[0]++;
        int got = rs_json_doc_str(d, "user_id", &uid, &ulen, err, sz);
        if (got < 0)
            rc = got;
        else if (got)
            seen_user(t, uid, ulen);
    } else {
        t->lines[3]++;
    }
out:
    rs_json_doc_free(d);
    return rc;
}

/* ---- line and file entry points ----------------------------------------- */

static int blank(const char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r') return 0;
    return 1;
}

typedef rs_err_t (*line_fn)(rs_truth_t *, const char *, size_t, char *, size_t);

static rs_err_t one_line(rs_truth_t *t, int emitted, const char *p, size_t n, const char *path,
                         char *errstr, size_t errstr_size) {
    char why[400];
    uint64_t *no = emitted ? &t->emit_line : &t->truth_line;
    (*no)++;
    if (!emitted && t->emitting)
        return rs_seterr(errstr, errstr_size, RS_ESTATE, "truth line after the emitted lines");
    t->emitting |= emitted;
    if (blank(p, n)) return RS_OK;
    line_fn fn = emitted ? emitted_line : truth_line;
    rs_err_t rc = fn(t, p, n, why, sizeof(why));
    if (rc && path)
        rs_seterr(errstr, errstr_size, rc, "%s:%" PRIu64 ": %s", path, *no, why);
    else if (rc)
        rs_seterr(errstr, errstr_size, rc, "line %" PRIu64 ": %s", *no, why);
    return rc;
}

rs_err_t rs_truth_add_truth_line(rs_truth_t *t, const char *p, size_t n, char *errstr,
                                 size_t errstr_size) {
    return one_line(t, 0, p, n, NULL, errstr, errstr_size);
}

rs_err_t rs_truth_add_emitted_line(rs_truth_t *t, const char *p, size_t n, char *errstr,
                                   size_t errstr_size) {
    return one_line(t, 1, p, n, NULL, errstr, errstr_size);
}

static rs_err_t read_file(rs_truth_t *t, int emitted, const char *path, char *errstr,
                          size_t errstr_size) {
    FILE *f = fopen(path, "r");
    if (!f) return rs_seterr(errstr, errstr_size, RS_EIO, "%s: cannot open", path);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    rs_err_t rc = RS_OK;
    while (!rc && (n = getline(&line, &cap, f)) >= 0) {
        if (n && line[n - 1] == '\n') n--;
        rc = one_line(t, emitted, line, (size_t)n, path, errstr, errstr_size);
    }
    if (!rc && ferror(f)) rc = rs_seterr(errstr, errstr_size, RS_EIO, "%s: read error", path);
    free(line);
    fclose(f);
    return rc;
}

rs_err_t rs_truth_read_truth(rs_truth_t *t, const char *path, char *errstr, size_t errstr_size) {
    return read_file(t, 0, path, errstr, errstr_size);
}

rs_err_t rs_truth_read_emitted(rs_truth_t *t, const char *path, char *errstr, size_t errstr_size) {
    return read_file(t, 1, path, errstr, errstr_size);
}

/* ---- results ------------------------------------------------------------------ */

typedef struct epkey {
    uint32_t subject;
    int64_t start, end;
    uint8_t hit, cut;
} epkey_t;

static int cmp_epkey(const void *a, const void *b) {
    const epkey_t *x = a, *y = b;
    if (x->subject != y->subject) return x->subject < y->subject ? -1 : 1;
    return (x->start > y->start) - (x->start < y->start);
}

/* Episodes of kind k, detected ones and those detected only through a
 * merge: per subject in start order, an episode starting within end + gap
 * of a detected one is detected too (the engine saw one episode). An
 * episode the stream cut short counts only when detected: its missing
 * events may be the ones a detector needs. */
static void count_kind(const rs_truth_t *t, int k, rs_truth_rule_stats_t *s) {
    epkey_t *v = rs_xmalloc((t->n_ep ? t->n_ep : 1) * sizeof(*v));
    size_t n = 0;
    for (uint32_t i = 0; i < t->n_ep; i++)
        if (t->ep[i].kind == k)
            v[n++] = (epkey_t){t->ep[i].subject, t->ep[i].start, t->ep[i].end, t->ep[i].hit,
                               t->ep[i].cut};
    qsort(v, n, sizeof(*v), cmp_epkey);
    s->episodes = n, s->detected = 0, s->merged = 0, s->cut = 0;
    int64_t reach = INT64_MIN;
    for (size_t i = 0; i < n; i++) {
        if (i && v[i].subject != v[i - 1].subject) reach = INT64_MIN;
        int covered = reach != INT64_MIN && v[i].start <= reach;
        if (!v[i].hit && !covered) {
            if (v[i].cut) s->episodes--, s->cut++;
            continue;
        }
        s->detected++;
        if (!v[i].hit) s->merged++;
        int64_t r = v[i].end > INT64_MAX - t->o.gap_ms ? INT64_MAX : v[i].end + t->o.gap_ms;
        if (r > reach) reach = r;
    }
    free(v);
}

size_t rs_truth_rule_count(const rs_truth_t *t) {
    return t->rules.n;
}

void rs_truth_rule_get(const rs_truth_t *t, size_t i, rs_truth_rule_stats_t *s) {
    const rule_t *r = &t->r[i];
    memset(s, 0, sizeof(*s));
    s->rule = st_key(&t->rules, (uint32_t)i);
    s->alerts = r->alerts;
    s->matched = r->matched;
    s->precision = r->alerts && t->has_truth ? (double)r->matched / (double)r->alerts : NAN;
    s->n_examples = r->n_ex;
    s->recall = NAN;
    if (i < R__KNOWN && rule_kind[i] >= 0) {
        s->has_kind = 1;
        count_kind(t, rule_kind[i], s);
        if (s->episodes) s->recall = (double)s->detected / (double)s->episodes;
    }
}

int rs_truth_rule_find(const rs_truth_t *t, const char *rule, rs_truth_rule_stats_t *out) {
    uint32_t i = st_find(&t->rules, rule, strlen(rule));
    if (i == TR_NONE) return 0;
    rs_truth_rule_get(t, i, out);
    return 1;
}

const char *rs_truth_example(const rs_truth_t *t, size_t i, uint32_t j) {
    if (i >= t->rules.n || j >= t->r[i].n_ex) return NULL;
    const char *p = t->r[i].ex.p;
    while (j--) p += strlen(p) + 1;
    return p;
}

/* C(x, 2) without overflowing before the halving. */
static uint64_t pairs(uint64_t x) {
    return x % 2 ? x * ((x - 1) / 2) : x / 2 * (x ? x - 1 : 0);
}

double rs_truth_ari(const uint64_t *table, size_t rows, size_t cols) {
    __extension__ typedef unsigned __int128 u128;
    uint64_t n = 0, index = 0, a = 0, b = 0;
    for (size_t i = 0; i < rows; i++) {
        uint64_t row = 0;
        for (size_t j = 0; j < cols; j++) {
            uint64_t c = table[i * cols + j];
            row += c;
            index += pairs(c);
        }
        n += row;
        a += pairs(row);
    }
    for (size_t j = 0; j < cols; j++) {
        uint64_t col = 0;
        for (size_t i = 0; i < rows; i++) col += table[i * cols + j];
        b += pairs(col);
    }
    uint64_t n2 = pairs(n);
    if (n < 2) return NAN;
    /* ARI = (index - a*b/n2) / ((a+b)/2 - a*b/n2); times 2*n2 above and below */
    u128 ab = (u128)a * b, in2 = (u128)index * n2;
    u128 den = ((u128)a + b) * n2 - 2 * ab;
    if (!den) return 1.0;
    long double num = in2 >= ab ? (long double)(2 * (in2 - ab)) : -(long double)(2 * (ab - in2));
    return (double)(num / (long double)den);
}

/* Clustered truth users by (cluster name, group): clusters.n x groups.n. */
uint64_t *rs_truth_int_cluster_table(const rs_truth_t *t) {
    size_t rows = t->clusters.n, cols = t->groups.n ? t->groups.n : 1;
    uint64_t *tab = rs_xcalloc(rows * cols, sizeof(uint64_t));
    for (uint32_t i = 0; i < t->users.n; i++) {
        const user_t *u = &t->u[i];
        if (u->cluster > 0 && u->in_truth) tab[(size_t)u->cluster * cols + (size_t)u->group]++;
    }
    return tab;
}

void rs_truth_summary(const rs_truth_t *t, rs_truth_summary_t *s) {
    memset(s, 0, sizeof(*s));
    s->has_truth = t->has_truth;
    s->truth_users = t->truth_users;
    s->truth_episodes = t->n_ep;
    s->truth_pairs = t->pairs;
    s->output_users = t->output_users;
    s->lines_rec = t->lines[0], s->lines_alert = t->lines[1];
    s->lines_segment = t->lines[2], s->lines_other = t->lines[3];
    s->alerts = t->alerts;
    s->alerted_users = t->alerted_users;
    s->users = t->has_truth ? t->truth_users : t->output_users;
    s->alerted_share = s->users ? (double)s->alerted_users / (double)s->users : NAN;
    s->fp_alerts = t->fp_alerts;
    s->fp_users = t->fp_users;
    for (uint32_t i = 0; i < t->users.n; i++) {
        const user_t *u = &t->u[i];
        if (u->cluster == 0) s->unclustered++;
        if (u->cluster > 0) *(u->in_truth ? &s->clustered : &s->clustered_unknown) += 1;
        if (u->rfm >= 0) s->rfm_users++;
    }
    uint64_t *tab = rs_truth_int_cluster_table(t);
    size_t cols = t->groups.n ? t->groups.n : 1;
    /* Row 0 (cluster "") is empty by construction. */
    s->ari = rs_truth_ari(tab + cols, t->clusters.n - 1, cols);
    free(tab);
}

uint64_t rs_truth_cell(const rs_truth_t *t, const char *cluster, const char *group) {
    uint32_t c = st_find(&t->clusters, cluster, strlen(cluster));
    uint32_t g = st_find(&t->groups, group, strlen(group));
    if (c == TR_NONE || g == TR_NONE) return 0;
    uint64_t *tab = rs_truth_int_cluster_table(t);
    uint64_t v = tab[(size_t)c * t->groups.n + g];
    free(tab);
    return v;
}

uint64_t rs_truth_rfm_size(const rs_truth_t *t, const char *segment) {
    uint32_t r = st_find(&t->rfms, segment, strlen(segment));
    uint64_t n = 0;
    if (r != TR_NONE)
        for (uint32_t i = 0; i < t->users.n; i++) n += t->u[i].rfm == (int32_t)r;
    return n;
}

void rs_truth_bounds_none(rs_truth_bounds_t *b) {
    b->min_precision = b->min_recall = b->min_ari = b->max_alerted_share = NAN;
}

int rs_truth_check(const rs_truth_t *t, const rs_truth_bounds_t *b, rs_buf_t *why) {
    int miss = 0;
    rs_truth_rule_stats_t r;
    rs_truth_summary_t s;
    rs_truth_summary(t, &s);
#define MISS(...) (miss++, why ? rs_buf_printf(why, __VA_ARGS__) : (void)0)
    for (size_t i = 0; i < rs_truth_rule_count(t); i++) {
        rs_truth_rule_get(t, i, &r);
        if (!isnan(b->min_precision) && r.alerts && !(r.precision >= b->min_precision))
            MISS("%s: precision %.4f < %g\n", r.rule, r.precision, b->min_precision);
        if (!isnan(b->min_recall) && r.episodes && !(r.recall >= b->min_recall))
            MISS("%s: recall %.4f < %g\n", r.rule, r.recall, b->min_recall);
    }
    if (!isnan(b->min_ari) && !(s.ari >= b->min_ari))
        MISS("clusters: ARI %.4f < %g\n", s.ari, b->min_ari);
    if (!isnan(b->max_alerted_share) && !(s.alerted_share <= b->max_alerted_share))
        MISS("alerted users: share %.6f > %g\n", s.alerted_share, b->max_alerted_share);
#undef MISS
    return miss;
}
