/* cmd_diff.c -- `recstream diff A B [--k K] [--json]` (issue 6, SPEC F12
 * shadow mode): compares two replay outputs or two state directories, so a
 * new configuration can be judged against the live one before cut-over.
 *
 * Two files: both are `recstream replay --emit-jsonl` outputs. Per user the
 * LAST recommendation list of each file counts (what a consumer of the
 * compacted topic would hold at the end). Reported: recommendation lines per
 * file, users only in A / only in B / in both, how many of those have
 * identical lists (same items, same order), and the mean overlap@K =
 * |topK(A) n topK(B)| / K over users in both. Lines of other kinds (segment,
 * alert) are counted and otherwise skipped. The files are the same when the
 * users, their last lists and the number of recommendation lines agree.
 *
 * Two directories: both are state directories, opened read-only, compared
 * on the content `recstream state dump` prints (exact fields only: offsets,
 * item counts/weight/first/last, co-occurrence counts, user profiles without
 * emit bookkeeping; no floats that depend on summation order besides the
 * user's monetary sum, no catalog metadata). Entries are keyed
 * (offset: topic+partition, item: id, cooc: id pair, user: id); per kind
 * the counts of entries only in A, only in B, in both with different values
 * and the same; then the first --show differences.
 *
 * Memory: JSON lines keep one list per user (a hash table replaces a user's
 * previous list); states are held as sorted (key, value) text entries.
 * Exit: 0 same, 1 different, 2 usage or trouble (as diff(1)). */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "recstream/rs_buf.h"
#include "recstream/rs_fileio.h"
#include "recstream/rs_log.h"
#include "recstream/rs_state.h"
#include "rs_cli.h"

#define EXIT_DIFF 1

static void usage(FILE *out) {
    fprintf(out, "usage: recstream diff A B [--k K] [--json] [--show N]\n"
                 "\n"
                 "A and B are either two `recstream replay --emit-jsonl` outputs or two state\n"
                 "directories.\n"
                 "  files: per user the last recommendation list of each file; users only in A,\n"
                 "         only in B, identical lists, mean overlap@K = |A n B| / K over users\n"
                 "         in both.\n"
                 "  dirs:  the `recstream state dump` content (offsets, items, co-occurrence,\n"
                 "         users): entries only in A, only in B, with different values.\n"
                 "\n"
                 "      --k K          list depth for overlap@K (default 10)\n"
                 "      --show N       print the first N differences (default 5)\n"
                 "  -j, --json         one JSON object instead of text\n"
                 "  -c, --config FILE  properties file (directories: ring sizes)\n"
                 "  -X key=value       override a configuration key\n"
                 "  -h, --help\n"
                 "\n"
                 "Exit status: 0 same, 1 different, 2 usage or trouble.\n");
}

typedef struct opts {
    int k, show, json;
} opts_t;

static void put_printable(rs_buf_t *b, const char *p, size_t n) {
    for (size_t i = 0; i < n; i++) rs_buf_putc(b, p[i] ? p[i] : ' ');
}

/* ================================================================ JSON lines */

typedef struct ulist {
    char *user; /* NULL = empty slot */
    uint32_t ulen, n_items;
    char *items; /* item ids, each followed by NUL */
    size_t ilen;
    uint64_t h;
} ulist_t;

typedef struct lists {
    ulist_t *t;
    size_t cap, n;
    uint64_t records, other;
} lists_t;

static ulist_t *lists_slot(lists_t *l, const char *u, size_t n, uint64_t h) {
    for (size_t i = h & (l->cap - 1);; i = (i + 1) & (l->cap - 1)) {
        ulist_t *e = &l->t[i];
        if (!e->user || (e->h == h && e->ulen == n && !memcmp(e->user, u, n))) return e;
    }
}

static void lists_put(lists_t *l, const rs_buf_t *user, const rs_buf_t *items, uint32_t n_items) {
    if ((l->n + 1) * 10 > l->cap * 7) {
        size_t ncap = l->cap ? l->cap * 2 : 1024;
        lists_t nl = {rs_xcalloc(ncap, sizeof(ulist_t)), ncap, 0, 0, 0};
        for (size_t i = 0; i < l->cap; i++)
            if (l->t[i].user) *lists_slot(&nl, l->t[i].user, l->t[i].ulen, l->t[i].h) = l->t[i];
        free(l->t);
        l->t = nl.t;
        l->cap = ncap;
    }
    uint64_t h = rs_hash64(user->p, user->len);
    ulist_t *e = lists_slot(l, user->p, user->len, h);
    if (!e->user) {
        e->user = rs_xstrndup(user->p, user->len);
        e->ulen = (uint32_t)user->len;
        e->h = h;
        l->n++;
    }
    free(e->items);
    e->items = rs_xmalloc(items->len ? items->len : 1);
    if (items->len) memcpy(e->items, items->p, items->len);
    e->ilen = items->len;
    e->n_items = n_items;
}

static void lists_free(lists_t *l) {
    for (size_t i = 0; i < l->cap; i++) {
        free(l->t[i].user);
        free(l->t[i].items);
    }
    free(l->t);
}

static int load_lines(const char *path, lists_t *l) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "recstream diff: cannot read %s\n", path);
        return -1;
    }
    char *line = NULL, err[256];
    size_t cap = 0;
    ssize_t n;
    uint64_t lineno = 0;
    rs_buf_t user = {0}, items = {0};
    uint32_t n_items;
    int rc = 0;
    while ((n = getline(&line, &cap, f)) > 0) {
        lineno++;
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) n--;
        if (!n) continue;
        int got = rs_json_rec_line(line, (size_t)n, &user, &items, &n_items, err, sizeof(err));
        if (got < 0) {
            fprintf(stderr, "recstream diff: %s:%" PRIu64 ": %s\n", path, lineno, err);
            rc = -1;
            break;
        }
        if (!got) {
            l->other++;
            continue;
        }
        l->records++;
        lists_put(l, &user, &items, n_items);
    }
    if (!rc && ferror(f)) {
        fprintf(stderr, "recstream diff: read error on %s\n", path);
        rc = -1;
    }
    free(line);
    rs_buf_free(&user);
    rs_buf_free(&items);
    fclose(f);
    return rc;
}

static int cmp_ulist(const void *a, const void *b) {
    const ulist_t *x = *(ulist_t *const *)a, *y = *(ulist_t *const *)b;
    size_t n = x->ulen < y->ulen ? x->ulen : y->ulen;
    int c = memcmp(x->user, y->user, n);
    return c ? c : (x->ulen > y->ulen) - (x->ulen < y->ulen);
}

static ulist_t **lists_sorted(const lists_t *l) {
    ulist_t **v = rs_xmalloc((l->n ? l->n : 1) * sizeof(*v));
    size_t o = 0;
    for (size_t i = 0; i < l->cap; i++)
        if (l->t[i].user) v[o++] = &l->t[i];
    qsort(v, o, sizeof(*v), cmp_ulist);
    return v;
}

/* |topK(a) n topK(b)|: lists are short, so a quadratic scan is cheapest. */
static uint32_t overlap(const ulist_t *a, const ulist_t *b, uint32_t k) {
    uint32_t hits = 0, i = 0;
    for (const char *p = a->items; i < a->n_items && i < k; i++, p += strlen(p) + 1) {
        uint32_t j = 0;
        for (const char *q = b->items; j < b->n_items && j < k; j++, q += strlen(q) + 1)
            if (!strcmp(p, q)) {
                hits++;
                break;
            }
    }
    return hits;
}

static void put_list(rs_buf_t *b, const ulist_t *u, int json) {
    rs_buf_putc(b, '[');
    const char *p = u->items;
    for (uint32_t i = 0; i < u->n_items; i++, p += strlen(p) + 1) {
        if (i) rs_buf_putc(b, ',');
        if (json)
            rs_buf_json_str(b, p, strlen(p));
        else
            rs_buf_printf(b, "%s", p);
    }
    rs_buf_putc(b, ']');
}

/* One difference for the report: user only in A (b NULL), only in B, or both. */
static void show_user_diff(rs_buf_t *out, const ulist_t *a, const ulist_t *b, int json) {
    const ulist_t *u = a ? a : b;
    if (json) {
        rs_buf_printf(out, "{\"user_id\":");
        rs_buf_json_str(out, u->user, u->ulen);
        rs_buf_printf(out, ",\"a\":");
        if (a)
            put_list(out, a, 1);
        else
            rs_buf_printf(out, "null");
        rs_buf_printf(out, ",\"b\":");
        if (b)
            put_list(out, b, 1);
        else
            rs_buf_printf(out, "null");
        rs_buf_putc(out, '}');
        return;
    }
    rs_buf_printf(out, "  user %.*s: A ", (int)u->ulen, u->user);
    if (a)
        put_list(out, a, 0);
    else
        rs_buf_printf(out, "(absent)");
    rs_buf_printf(out, "  B ");
    if (b)
        put_list(out, b, 0);
    else
        rs_buf_printf(out, "(absent)");
    rs_buf_putc(out, '\n');
}

static int diff_jsonl(const char *pa, const char *pb, const opts_t *o) {
    lists_t la = {0}, lb = {0};
    if (load_lines(pa, &la) || load_lines(pb, &lb)) {
        lists_free(&la);
        lists_free(&lb);
        return RS_EXIT_FAIL;
    }
    ulist_t **va = lists_sorted(&la), **vb = lists_sorted(&lb);
    uint64_t only_a = 0, only_b = 0, both = 0, same = 0, shown = 0;
    double ov = 0;
    rs_buf_t ex = {0};
    size_t i = 0, j = 0;
    while (i < la.n || j < lb.n) {
        int c = i == la.n ? 1 : j == lb.n ? -1 : cmp_ulist(&va[i], &vb[j]);
        const ulist_t *a = c <= 0 ? va[i] : NULL, *b = c >= 0 ? vb[j] : NULL;
        int differs = 1;
        if (a && b) {
            both++;
            ov += (double)overlap(a, b, (uint32_t)o->k) / o->k;
            differs = a->n_items != b->n_items || a->ilen != b->ilen ||
                      memcmp(a->items, b->items, a->ilen);
            same += !differs;
        } else if (a) {
            only_a++;
        } else {
            only_b++;
        }
        if (differs && shown < (uint64_t)o->show) {
            if (o->json && shown) rs_buf_putc(&ex, ',');
            show_user_diff(&ex, a, b, o->json);
            shown++;
        }
        i += c <= 0;
        j += c >= 0;
    }
    double mean = both ? ov / (double)both : 0;
    int is_same = !only_a && !only_b && same == both && la.records == lb.records;
    if (o->json) {
        printf("{\"mode\":\"jsonl\",\"a\":{\"records\":%" PRIu64 ",\"other\":%" PRIu64
               ",\"users\":%zu},\"b\":{\"records\":%" PRIu64 ",\"other\":%" PRIu64
               ",\"users\":%zu},\"only_a\":%" PRIu64 ",\"only_b\":%" PRIu64 ",\"both\":%" PRIu64
               ",\"identical\":%" PRIu64 ",\"different\":%" PRIu64
               ",\"k\":%d,\"overlap_at_k\":%.6f,\"same\":%s,\"differences\":[%.*s]}\n",
               la.records, la.other, la.n, lb.records, lb.other, lb.n, only_a, only_b, both, same,
               both - same, o->k, mean, is_same ? "true" : "false", (int)ex.len, ex.p ? ex.p : "");
    } else {
        printf("A: %s: %" PRIu64 " recommendation lines, %zu users\n", pa, la.records, la.n);
        printf("B: %s: %" PRIu64 " recommendation lines, %zu users\n", pb, lb.records, lb.n);
        printf("users only in A: %" PRIu64 ", only in B: %" PRIu64 ", in both: %" PRIu64 "\n",
               only_a, only_b, both);
        printf("last lists identical: %" PRIu64 ", different: %" PRIu64 "\n", same, both - same);
        printf("mean overlap@%d over users in both: %.4f\n", o->k, mean);
        if (shown) printf("first differences:\n%.*s", (int)ex.len, ex.p);
        printf("%s\n", is_same ? "same" : "different");
    }
    rs_buf_free(&ex);
    free(va);
    free(vb);
    lists_free(&la);
    lists_free(&lb);
    return is_same ? 0 : EXIT_DIFF;
}

/* ================================================================ states */

enum { K_OFFSET, K_ITEM, K_COOC, K_USER, K__N };
static const char *const kind_names[K__N] = {"offsets", "items", "cooc", "users"};
static const char *const kind_one[K__N] = {"offset", "item", "cooc", "user"};

typedef struct ent {
    uint8_t kind;
    uint32_t klen, vlen;
    size_t koff, voff; /* into the side's arena */
} ent_t;

typedef struct side {
    rs_state_t *st;
    rs_buf_t arena, k, v;
    ent_t *e;
    size_t n, cap;
} side_t;

static void ent_add(side_t *s, int kind) {
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 1024;
        s->e = rs_xrealloc(s->e, s->cap * sizeof(ent_t));
    }
    ent_t *e = &s->e[s->n++];
    e->kind = (uint8_t)kind;
    e->koff = s->arena.len;
    e->klen = (uint32_t)s->k.len;
    rs_buf_append(&s->arena, s->k.p, s->k.len);
    e->voff = s->arena.len;
    e->vlen = (uint32_t)s->v.len;
    rs_buf_append(&s->arena, s->v.p, s->v.len);
    rs_buf_reset(&s->k);
    rs_buf_reset(&s->v);
}

static void put_counts(rs_buf_t *b, const uint32_t *c) {
    rs_buf_printf(b, "counts=");
    for (int i = 0; i < RS_EV__COUNT; i++) rs_buf_printf(b, "%s%u", i ? "," : "", c[i]);
}

static void put_item_id(side_t *s, rs_buf_t *b, uint32_t idx) {
    const rs_item_t *it = rs_state_item_by_idx(s->st, idx);
    if (it)
        rs_buf_append(b, it->id, it->id_len);
    else
        rs_buf_putc(b, '?');
}

static int add_user(void *opaque, const rs_user_t *u) {
    side_t *s = opaque;
    rs_buf_append(&s->k, u->id, u->id_len);
    rs_buf_t *v = &s->v;
    put_counts(v, u->counts);
    rs_buf_printf(v, " first=%" PRId64 " last=%" PRId64 " sessions=%u purchases=%u monetary=",
                  u->first_ts, u->last_ts, u->sessions, u->purchases);
    char tmp[40];
    for (int prec = 15; prec <= 17; prec++) { /* shortest exact form */
        snprintf(tmp, sizeof(tmp), "%.*g", prec, u->monetary);
        if (strtod(tmp, NULL) == u->monetary) break;
    }
    rs_buf_printf(v, "%s recent=", tmp);
    for (uint16_t i = 0; i < u->n_recent; i++) {
        if (i) rs_buf_putc(v, ',');
        put_item_id(s, v, u->recent[i].item);
        rs_buf_printf(v, ":%s:%" PRId64, rs_evtype_name((rs_evtype_t)u->recent[i].type),
                      u->recent[i].ts);
    }
    rs_buf_printf(v, " purchased=");
    for (uint16_t i = 0; i < u->n_purchased; i++) {
        if (i) rs_buf_putc(v, ',');
        put_item_id(s, v, u->purchased[i]);
        rs_buf_printf(v, ":%" PRId64, u->purchased_ts[i]);
    }
    ent_add(s, K_USER);
    return 0;
}

static int side_load(side_t *s, char *err, size_t errsz) {
    rs_state_t *st = s->st;
    for (size_t i = 0; i < rs_state_offset_count(st); i++) {
        const char *topic;
        int32_t part;
        int64_t next;
        rs_state_offset_at(st, i, &topic, &part, &next);
        rs_buf_append(&s->k, topic, strlen(topic) + 1); /* NUL: topic names have no NUL */
        rs_buf_printf(&s->k, "%" PRId32, part);
        rs_buf_printf(&s->v, "%" PRId64, next);
        ent_add(s, K_OFFSET);
    }
    rs_state_sync(st);
    for (uint32_t i = 0; i < rs_state_item_count(st); i++) {
        const rs_item_t *it = rs_state_item_by_idx(st, i);
        rs_buf_append(&s->k, it->id, it->id_len);
        put_counts(&s->v, it->counts);
        rs_buf_printf(&s->v, " weight=%" PRIu64 " first=%" PRId64 " last=%" PRId64, it->weight,
                      it->first_ts, it->last_ts);
        ent_add(s, K_ITEM);
        for (uint32_t j = 0; j < it->nb_cap; j++) {
            if (it->nb[j].key == UINT32_MAX) continue; /* empty slot */
            rs_buf_append(&s->k, it->id, it->id_len);
            rs_buf_putc(&s->k, '\0');
            put_item_id(s, &s->k, it->nb[j].key);
            rs_buf_printf(&s->v, "%u", it->nb[j].cnt);
            ent_add(s, K_COOC);
        }
    }
    return rs_state_users_foreach(st, add_user, s, err, errsz);
}

static const char *g_arena; /* qsort has no context argument in C11 */

static int ent_cmp(const ent_t *x, const char *ax, const ent_t *y, const char *ay) {
    if (x->kind != y->kind) return x->kind < y->kind ? -1 : 1;
    size_t n = x->klen < y->klen ? x->klen : y->klen;
    int c = memcmp(ax + x->koff, ay + y->koff, n);
    return c ? c : (x->klen > y->klen) - (x->klen < y->klen);
}

static int cmp_ent(const void *a, const void *b) {
    return ent_cmp(a, g_arena, b, g_arena);
}

static void show_ent_diff(rs_buf_t *out, const side_t *sa, const ent_t *a, const side_t *sb,
                          const ent_t *b, int json) {
    const ent_t *e = a ? a : b;
    const char *key = (a ? sa : sb)->arena.p + e->koff;
    if (json) {
        rs_buf_printf(out, "{\"kind\":\"%s\",\"key\":", kind_one[e->kind]);
        rs_buf_t k = {0};
        put_printable(&k, key, e->klen);
        rs_buf_json_str(out, k.p ? k.p : "", k.len);
        rs_buf_free(&k);
        rs_buf_printf(out, ",\"a\":");
        if (a)
            rs_buf_json_str(out, sa->arena.p + a->voff, a->vlen);
        else
            rs_buf_printf(out, "null");
        rs_buf_printf(out, ",\"b\":");
        if (b)
            rs_buf_json_str(out, sb->arena.p + b->voff, b->vlen);
        else
            rs_buf_printf(out, "null");
        rs_buf_putc(out, '}');
        return;
    }
    rs_buf_printf(out, "  %s ", kind_one[e->kind]);
    put_printable(out, key, e->klen);
    rs_buf_printf(out, ":\n    A: ");
    if (a)
        rs_buf_append(out, sa->arena.p + a->voff, a->vlen);
    else
        rs_buf_printf(out, "(absent)");
    rs_buf_printf(out, "\n    B: ");
    if (b)
        rs_buf_append(out, sb->arena.p + b->voff, b->vlen);
    else
        rs_buf_printf(out, "(absent)");
    rs_buf_putc(out, '\n');
}

static int diff_states(const char *da, const char *db, rs_cli_conf_t *cc, const opts_t *o) {
    rs_conf_t *conf[2] = {rs_cli_conf_build(cc, "recstream diff"), NULL};
    if (conf[0]) conf[1] = rs_cli_conf_build(cc, "recstream diff");
    side_t s[2];
    memset(s, 0, sizeof(s));
    int rc = conf[0] && conf[1] ? 0 : RS_EXIT_FAIL;
    char err[512];
    const char *dirs[2] = {da, db};
    if (rs_log_level > RS_LOG_WARN) rs_log_level = RS_LOG_WARN;
    for (int i = 0; i < 2 && !rc; i++) {
        rs_conf_set(conf[i], "state.dir", dirs[i], "argument", err, sizeof(err));
        if (rs_state_open_ro(&s[i].st, conf[i], err, sizeof(err)) ||
            side_load(&s[i], err, sizeof(err))) {
            fprintf(stderr, "recstream diff: %s: %s\n", dirs[i], err);
            rc = RS_EXIT_FAIL;
        }
        g_arena = s[i].arena.p;
        if (!rc) qsort(s[i].e, s[i].n, sizeof(ent_t), cmp_ent);
    }
    uint64_t cnt[K__N][4] = {{0}}; /* only_a, only_b, different, same */
    uint64_t shown = 0, diffs = 0;
    rs_buf_t ex = {0};
    size_t i = 0, j = 0;
    while (!rc && (i < s[0].n || j < s[1].n)) {
        int c = i == s[0].n   ? 1
                : j == s[1].n ? -1
                              : ent_cmp(&s[0].e[i], s[0].arena.p, &s[1].e[j], s[1].arena.p);
        const ent_t *a = c <= 0 ? &s[0].e[i] : NULL, *b = c >= 0 ? &s[1].e[j] : NULL;
        int slot = !b ? 0 : !a ? 1 : 3;
        if (a && b &&
            (a->vlen != b->vlen || memcmp(s[0].arena.p + a->voff, s[1].arena.p + b->voff, a->vlen)))
            slot = 2;
        cnt[(a ? a : b)->kind][slot]++;
        if (slot != 3) {
            diffs++;
            if (shown < (uint64_t)o->show) {
                if (o->json && shown) rs_buf_putc(&ex, ',');
                show_ent_diff(&ex, &s[0], a, &s[1], b, o->json);
                shown++;
            }
        }
        i += c <= 0;
        j += c >= 0;
    }
    if (!rc) {
        if (o->json) {
            printf("{\"mode\":\"state\"");
            for (int k = 0; k < K__N; k++)
                printf(",\"%s\":{\"only_a\":%" PRIu64 ",\"only_b\":%" PRIu64
                       ",\"different\":%" PRIu64 ",\"same\":%" PRIu64 "}",
                       kind_names[k], cnt[k][0], cnt[k][1], cnt[k][2], cnt[k][3]);
            printf(",\"same\":%s,\"differences\":[%.*s]}\n", diffs ? "false" : "true", (int)ex.len,
                   ex.p ? ex.p : "");
        } else {
            printf("A: %s\nB: %s\n", da, db);
            printf("%-8s %10s %10s %10s %10s\n", "", "only A", "only B", "different", "same");
            for (int k = 0; k < K__N; k++)
                printf("%-8s %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64 "\n",
                       kind_names[k], cnt[k][0], cnt[k][1], cnt[k][2], cnt[k][3]);
            if (shown) printf("first differences:\n%.*s", (int)ex.len, ex.p);
            printf("%s\n", diffs ? "different" : "same");
        }
        rc = diffs ? EXIT_DIFF : 0;
    }
    rs_buf_free(&ex);
    for (int k = 0; k < 2; k++) {
        rs_state_close(s[k].st);
        rs_buf_free(&s[k].arena);
        rs_buf_free(&s[k].k);
        rs_buf_free(&s[k].v);
        free(s[k].e);
        rs_conf_destroy(conf[k]);
    }
    return rc;
}

int cmd_diff(int argc, char **argv) {
    static const struct option lo[] = {
        {"k", required_argument, 0, 'k'}, {"show", required_argument, 0, 1},
        {"json", no_argument, 0, 'j'},    {"config", required_argument, 0, 'c'},
        {"help", no_argument, 0, 'h'},    {0, 0, 0, 0}};
    rs_cli_conf_t cc = {0};
    opts_t o = {.k = 10, .show = 5};
    int c;
    while ((c = getopt_long(argc, argv, "k:jc:X:h", lo, NULL)) != -1) {
        switch (c) {
        case 'k':
            o.k = atoi(optarg);
            break;
        case 1:
            o.show = atoi(optarg);
            break;
        case 'j':
            o.json = 1;
            break;
        default: {
            int ex;
            if (rs_cli_common_opt(c, optarg, &cc, usage, &ex)) return ex;
            break;
        }
        }
    }
    int rc = RS_EXIT_FAIL;
    struct stat sa, sb;
    if (optind != argc - 2 || o.k <= 0 || o.show < 0) {
        fprintf(stderr, "recstream diff: %s\n",
                optind != argc - 2 ? "two inputs A and B are required"
                : o.k <= 0         ? "--k must be at least 1"
                                   : "--show must not be negative");
        usage(stderr);
    } else if (stat(argv[optind], &sa) || stat(argv[optind + 1], &sb)) {
        fprintf(stderr, "recstream diff: cannot access %s\n",
                stat(argv[optind], &sa) ? argv[optind] : argv[optind + 1]);
    } else if (S_ISDIR(sa.st_mode) != S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "recstream diff: compare two files or two state directories\n");
    } else if (S_ISDIR(sa.st_mode)) {
        rc = diff_states(argv[optind], argv[optind + 1], &cc, &o);
    } else {
        rc = diff_jsonl(argv[optind], argv[optind + 1], &o);
    }
    rs_cli_conf_free(&cc);
    return rc;
}
