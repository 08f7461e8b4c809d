/* rs_codec_out.c -- Avro binary and JSON for the two outputs of the
 * detectors: alerts (schemas/alert.avsc) and segment changes
 * (schemas/segment_change.avsc), and Avro binary for recommendation lists
 * (schemas/recommendation.avsc: written per changed list, the hot one).
 * rs_codec.c dispatches here after framing.
 *
 * Both formats are written and read by hand, without Avro C or jansson:
 * those are reached only through src/wrap (one file per library), the
 * records are flat (strings, longs, doubles, [null, string] unions and one
 * map<double>), and Avro binary for that is a few lines. The unit test
 * (test_codec_out.c) keeps the hand-written Avro honest: Avro C must read
 * our bytes with the embedded schemas and write byte-identical ones.
 *
 * Encoding is deterministic: fields in schema order, map entries in the
 * caller's order, doubles in JSON in the shortest form that reads back
 * exactly. JSON leaves out an absent user_id / item_id, and created_ms when
 * it is 0, so a replay (created_ms = 0) writes the same bytes every run.
 *
 * Decoding follows rs_avro.c's rules: every read checks the remaining
 * length first; varints longer than 10 bytes, negative or oversized
 * lengths, union indexes other than 0/1, map blocks that cannot fit in the
 * remaining bytes and bytes after the record are RS_EDECODE with the field
 * name. The JSON reader is a strict RFC 8259 scanner for one object (no
 * raw control characters in strings, valid escapes and surrogate pairs,
 * number grammar, int64 range, nesting <= 64 in skipped values, nothing but
 * whitespace after it); it passes bytes >= 0x80 through without checking
 * UTF-8. Strings and the number array live in the codec's scratch arena,
 * sized by rs_codec_out_scratch() so that it never grows during a decode
 * (rs_codec_int.h): an Avro map entry takes >= 9 bytes on the wire and a
 * JSON one >= 4, against 16 bytes of rs_named_num_t. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rs_avro_rd.h"
#include "core/rs_codec_out.h"
#include "core/rs_jscan.h"

/* Decoded maps are bounded: the writers emit at most 8 entries. */
#define MAX_NUMS  256
#define MAX_DEPTH 64 /* of an unknown field's value */

/* Same names and order as rs_alert_rule_name() (rs_alert.h): the codec does
 * not link the detectors. */
static const char *const rule_names[] = {"rate_burst", "bot", "big_purchase", "card_testing",
                                         "item_spike"};
_Static_assert(sizeof(rule_names) / sizeof(rule_names[0]) == RS_ALERT__RULE_COUNT,
               "a rule was added to rs_alert.h: name it here");
static const char *const dim_names[] = {"rfm", "cluster"};
_Static_assert(sizeof(dim_names) / sizeof(dim_names[0]) == RS_SEG__KIND_COUNT,
               "a segment dimension was added to rs_segment.h: name it here");

static int name_index(const char *const *names, int n, rs_str_t s) {
    for (int i = 0; i < n; i++)
        if (strlen(names[i]) == s.len && memcmp(names[i], s.p, s.len) == 0) return i;
    return -1;
}

/* ---- checks ------------------------------------------------------------ */

static rs_err_t check_nums(const rs_named_num_t *v, uint32_t n, uint32_t max) {
    if (n > max) return RS_EARG;
    for (uint32_t i = 0; i < n; i++) {
        if (!v[i].name) return RS_EARG;
        for (uint32_t k = 0; k < i; k++)
            if (strcmp(v[i].name, v[k].name) == 0) return RS_EARG;
    }
    return RS_OK;
}

rs_err_t rs_codec_out_check_alert(const rs_alert_t *a) {
    if ((unsigned)a->rule >= RS_ALERT__RULE_COUNT) return RS_EARG;
    return check_nums(a->evidence, a->n_evidence, RS_ALERT_MAX_EVIDENCE);
}

rs_err_t rs_codec_out_check_segment(const rs_segment_change_t *s) {
    if ((unsigned)s->kind >= RS_SEG__KIND_COUNT || !s->user_id) return RS_EARG;
    return check_nums(s->scores, s->n_scores, RS_SEGMENT_MAX_SCORES);
}

static const char *or_empty(const char *s) {
    return s ? s : "";
}

/* ---- Avro: write ------------------------------------------------------- */

static void w_long(rs_buf_t *b, int64_t v) {
    uint64_t z = (uint64_t)v << 1 ^ (0 - ((uint64_t)v >> 63)); /* zigzag */
    unsigned char t[10];
    size_t n = 0;
    while (z >= 0x80) {
        t[n++] = (unsigned char)(z | 0x80);
        z >>= 7;
    }
    t[n++] = (unsigned char)z;
    rs_buf_append(b, t, n);
}

static void w_str(rs_buf_t *b, const char *s, size_t n) {
    w_long(b, (int64_t)n);
    rs_buf_append(b, s, n);
}

static void w_double(rs_buf_t *b, double d) {
    uint64_t u;
    unsigned char t[8];
    memcpy(&u, &d, 8);
    rs_put_u64(t, u); /* Avro: little-endian IEEE 754 */
    rs_buf_append(b, t, 8);
}

/* Union [null, string]. */
static void w_opt_str(rs_buf_t *b, const char *s, size_t n) {
    if (!s) {
        rs_buf_putc(b, 0);
        return;
    }
    rs_buf_putc(b, 2);
    w_str(b, s, n);
}

/* map<double>: one block with every entry, then the empty block. */
static void w_map(rs_buf_t *b, const rs_named_num_t *v, uint32_t n) {
    if (n) {
        w_long(b, n);
        for (uint32_t i = 0; i < n; i++) {
            w_str(b, v[i].name, strlen(v[i].name));
            w_double(b, v[i].value);
        }
    }
    w_long(b, 0);
}

void rs_codec_out_avro_alert(const rs_alert_t *a, int64_t created_ms, rs_buf_t *b) {
    const char *rule = rule_names[a->rule];
    w_str(b, a->id, strnlen(a->id, sizeof(a->id)));
    w_str(b, rule, strlen(rule));
    w_opt_str(b, a->user_id, a->user_len);
    w_opt_str(b, a->item_id, a->item_len);
    w_double(b, a->score);
    w_long(b, a->ts_ms);
    w_long(b, a->episode_start);
    w_long(b, created_ms);
    w_map(b, a->evidence, a->n_evidence);
}

/* float: little-endian IEEE 754 single. */
static void w_float(rs_buf_t *b, float f) {
    uint32_t u;
    unsigned char t[4];
    memcpy(&u, &f, 4);
    t[0] = (unsigned char)u, t[1] = (unsigned char)(u >> 8);
    t[2] = (unsigned char)(u >> 16), t[3] = (unsigned char)(u >> 24);
    rs_buf_append(b, t, 4);
}

void rs_codec_out_avro_rec(const rs_rec_t *r, rs_buf_t *b) {
    w_str(b, r->user_id.p, r->user_id.len);
    w_long(b, r->version);
    w_long(b, r->ts_ms);
    w_long(b, r->created_ms);
    w_str(b, r->strategy.p, r->strategy.len);
    if (r->n_items) { /* one block with every item, then the empty block */
        w_long(b, r->n_items);
        for (uint32_t i = 0; i < r->n_items; i++) {
            const rs_rec_item_t *it = &r->items[i];
            w_str(b, it->item_id.p, it->item_id.len);
            w_float(b, it->score);
            w_str(b, it->reason.p, it->reason.len);
        }
    }
    w_long(b, 0);
}

void rs_codec_out_avro_segment(const rs_segment_change_t *s, int64_t created_ms, rs_buf_t *b) {
    const char *dim = dim_names[s->kind], *o = or_empty(s->old_name), *nw = or_empty(s->new_name);
    w_str(b, s->user_id, s->user_len);
    w_str(b, dim, strlen(dim));
    w_str(b, o, strlen(o));
    w_str(b, nw, strlen(nw));
    w_str(b, s->reason, strnlen(s->reason, sizeof(s->reason)));
    w_long(b, s->ts_ms);
    w_long(b, created_ms);
    w_map(b, s->scores, s->n_scores);
}

/* ---- JSON: write ------------------------------------------------------- */

/* Shortest %.Ng that reads back exactly (so 320.0 prints "320"); JSON has
 * no NaN or infinity: null. */
static void j_double(rs_buf_t *b, double d) {
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

static void j_key(rs_buf_t *b, const char *k) {
    rs_buf_printf(b, ",\"%s\":", k);
}

static void j_cstr(rs_buf_t *b, const char *s) {
    rs_buf_json_str(b, s, strlen(s));
}

static void j_map(rs_buf_t *b, const rs_named_num_t *v, uint32_t n) {
    rs_buf_putc(b, '{');
    for (uint32_t i = 0; i < n; i++) {
        if (i) rs_buf_putc(b, ',');
        j_cstr(b, v[i].name);
        rs_buf_putc(b, ':');
        j_double(b, v[i].value);
    }
    rs_buf_putc(b, '}');
}

void rs_codec_out_json_alert(const rs_alert_t *a, int64_t created_ms, rs_buf_t *b) {
    rs_buf_append(b, "{\"kind\":\"alert\",\"id\":", 21);
    rs_buf_json_str(b, a->id, strnlen(a->id, sizeof(a->id)));
    j_key(b, "rule");
    j_cstr(b, rule_names[a->rule]);
    if (a->user_id) {
        j_key(b, "user_id");
        rs_buf_json_str(b, a->user_id, a->user_len);
    }
    if (a->item_id) {
        j_key(b, "item_id");
        rs_buf_json_str(b, a->item_id, a->item_len);
    }
    j_key(b, "score");
    j_double(b, a->score);
    rs_buf_printf(b, ",\"ts_ms\":%" PRId64 ",\"episode_start\":%" PRId64, a->ts_ms,
                  a->episode_start);
    if (created_ms > 0) rs_buf_printf(b, ",\"created_ms\":%" PRId64, created_ms);
    j_key(b, "evidence");
    j_map(b, a->evidence, a->n_evidence);
    rs_buf_putc(b, '}');
}

void rs_codec_out_json_segment(const rs_segment_change_t *s, int64_t created_ms, rs_buf_t *b) {
    rs_buf_append(b, "{\"kind\":\"segment\",\"user_id\":", 28);
    rs_buf_json_str(b, s->user_id, s->user_len);
    j_key(b, "dimension");
    j_cstr(b, dim_names[s->kind]);
    j_key(b, "old");
    j_cstr(b, or_empty(s->old_name));
    j_key(b, "new");
    j_cstr(b, or_empty(s->new_name));
    j_key(b, "reason");
    rs_buf_json_str(b, s->reason, strnlen(s->reason, sizeof(s->reason)));
    rs_buf_printf(b, ",\"ts_ms\":%" PRId64, s->ts_ms);
    if (created_ms > 0) rs_buf_printf(b, ",\"created_ms\":%" PRId64, created_ms);
    j_key(b, "scores");
    j_map(b, s->scores, s->n_scores);
    rs_buf_putc(b, '}');
}

/* ---- shared by both readers -------------------------------------------- */

size_t rs_codec_out_scratch(size_t n) {
    /* strings <= n, numbers <= 16 * (n / 4 + 1), alignment < 8 */
    return 6 * n + 64;
}

/* An array of n named numbers in the arena, 8-byte aligned; NULL if no room. */
static rs_named_num_t *arena_nums(rs_codec_t *c, size_t n) {
    size_t pad = (size_t)(0 - (uintptr_t)(c->scratch.p + c->scratch.len)) & 7;
    char *p = rs_codec_room(c, pad + n * sizeof(rs_named_num_t));
    return p ? (rs_named_num_t *)(void *)(p + pad) : NULL;
}

static int dup_name(const rs_named_num_t *v, uint32_t n, const char *name) {
    for (uint32_t i = 0; i < n; i++)
        if (strcmp(v[i].name, name) == 0) return 1;
    return 0;
}

/* ---- Avro: read -------------------------------------------------------- */

static rs_err_t r_map(rs_avro_rd_t *r, const char *fname, const rs_named_num_t **out,
                      uint32_t *n_out) {
    rs_err_t err;
    size_t cap = (size_t)(r->end - r->p) / 9 + 1; /* an entry is >= 9 bytes */
    if (cap > MAX_NUMS) cap = MAX_NUMS;
    rs_named_num_t *v = arena_nums(r->c, cap);
    uint32_t n = 0;
    if (!v) return rs_avro_rd_fail(r, "scratch arena exhausted", fname);
    for (;;) {
        int64_t blk = 0;
        if ((err = rs_avro_rd_long(r, fname, &blk))) return err;
        if (blk == 0) break;
        if (blk < 0) { /* negative count: a byte size follows (skippable block) */
            int64_t bytes = 0;
            if ((err = rs_avro_rd_long(r, fname, &bytes))) return err;
            if (blk == INT64_MIN || bytes < 0) return rs_avro_rd_fail(r, "bad map block", fname);
            blk = -blk;
        }
        if ((uint64_t)blk > (uint64_t)(r->end - r->p) / 9)
            return rs_avro_rd_fail(r, "map count exceeds the remaining bytes", fname);
        if ((uint64_t)blk > cap - n) return rs_avro_rd_fail(r, "too many map entries", fname);
        for (int64_t i = 0; i < blk; i++, n++) {
            rs_str_t k;
            if ((err = rs_avro_rd_str(r, fname, &k))) return err;
            if (dup_name(v, n, k.p)) return rs_avro_rd_fail(r, "duplicate map key", fname);
            v[n].name = k.p;
            if ((err = rs_avro_rd_double(r, fname, &v[n].value))) return err;
        }
    }
    *out = n ? v : NULL;
    *n_out = n;
    return RS_OK;
}

#define TRY(e)                                                                                     \
    do {                                                                                           \
        if ((err = (e))) return err;                                                               \
    } while (0)

rs_err_t rs_codec_out_avro_decode_alert(rs_codec_t *c, const uint8_t *p, size_t n,
                                        rs_alert_msg_t *m, char *errstr, size_t errstr_size) {
    rs_avro_rd_t r = {p, p + n, p, c, errstr, errstr_size};
    rs_err_t err;
    TRY(rs_avro_rd_str(&r, "id", &m->id));
    TRY(rs_avro_rd_str(&r, "rule", &m->rule));
    m->rule_id = name_index(rule_names, RS_ALERT__RULE_COUNT, m->rule);
    TRY(rs_avro_rd_opt_str(&r, "user_id", &m->user_id, NULL));
    TRY(rs_avro_rd_opt_str(&r, "item_id", &m->item_id, NULL));
    TRY(rs_avro_rd_double(&r, "score", &m->score));
    TRY(rs_avro_rd_long(&r, "ts_ms", &m->ts_ms));
    TRY(rs_avro_rd_long(&r, "episode_start_ms", &m->episode_start_ms));
    TRY(rs_avro_rd_long(&r, "created_ms", &m->created_ms));
    TRY(r_map(&r, "evidence", &m->evidence, &m->n_evidence));
    return rs_avro_rd_finish(&r);
}

rs_err_t rs_codec_out_avro_decode_segment(rs_codec_t *c, const uint8_t *p, size_t n,
                                          rs_segment_msg_t *m, char *errstr, size_t errstr_size) {
    rs_avro_rd_t r = {p, p + n, p, c, errstr, errstr_size};
    rs_err_t err;
    TRY(rs_avro_rd_str(&r, "user_id", &m->user_id));
    TRY(rs_avro_rd_str(&r, "dimension", &m->dimension));
    m->kind = name_index(dim_names, RS_SEG__KIND_COUNT, m->dimension);
    TRY(rs_avro_rd_str(&r, "old", &m->old_name));
    TRY(rs_avro_rd_str(&r, "new", &m->new_name));
    TRY(rs_avro_rd_str(&r, "reason", &m->reason));
    TRY(rs_avro_rd_long(&r, "ts_ms", &m->ts_ms));
    TRY(rs_avro_rd_long(&r, "created_ms", &m->created_ms));
    TRY(r_map(&r, "scores", &m->scores, &m->n_scores));
    return rs_avro_rd_finish(&r);
}

/* ---- JSON: read -------------------------------------------------------- */

typedef rs_jscan_t jr_t;
#define jfail     rs_jscan_fail
#define jws       rs_jscan_ws
#define jlit      rs_jscan_lit
#define jscan_str rs_jscan_str

/* A string value into the arena (NUL-terminated). */
static rs_err_t jstr(jr_t *j, const char *fname, rs_str_t *out) {
    if (j->p >= j->end || *j->p != '"') return jfail(j, "field %s: expected string", fname);
    return rs_jscan_str_arena(j, out);
}

/* A number. want_int: an integer in int64 range (an integral real such as
 * 1.7e12 is accepted, as for events) into *i; else any number into *d. */
static rs_err_t jnum(jr_t *j, const char *fname, int want_int, int64_t *i, double *d) {
    rs_jnum_t n;
    rs_err_t err;
    if (j->p >= j->end || (*j->p != '-' && (*j->p < '0' || *j->p > '9')))
        return jfail(j, "field %s: expected %s", fname, want_int ? "integer" : "number");
    const unsigned char *at = j->p;
    if ((err = rs_jscan_num(j, fname, &n))) return err;
    if (!want_int) {
        *d = n.is_int ? (double)n.ival : n.dval;
    } else if (n.is_int) {
        *i = n.ival;
    } else if (rs_jscan_real_to_i64(n.dval, i)) {
        j->p = at;
        return jfail(j, "field %s: expected integer", fname);
    }
    return RS_OK;
}

/* A double that may be null (NAN): JSON cannot carry non-finite values. */
static rs_err_t jdouble(jr_t *j, const char *fname, double *d) {
    if (jlit(j, "null")) {
        *d = NAN;
        return RS_OK;
    }
    return jnum(j, fname, 0, NULL, d);
}

/* An object of numbers (or nulls, read as NAN) into the arena. */
static rs_err_t jmap(jr_t *j, const char *fname, const rs_named_num_t **out, uint32_t *n_out) {
    rs_err_t err;
    if (j->p >= j->end || *j->p != '{') return jfail(j, "field %s: expected object", fname);
    size_t cap = (size_t)(j->end - j->p) / 4 + 1; /* "k":0 is >= 4 bytes */
    if (cap > MAX_NUMS) cap = MAX_NUMS;
    rs_named_num_t *v = arena_nums(j->c, cap);
    uint32_t n = 0;
    if (!v) return jfail(j, "scratch arena exhausted");
    j->p++;
    jws(j);
    if (j->p < j->end && *j->p == '}') {
        j->p++;
        goto done;
    }
    for (;;) {
        rs_str_t k;
        if (n == cap) return jfail(j, "field %s: too many entries", fname);
        if ((err = jstr(j, fname, &k))) return err;
        if (dup_name(v, n, k.p)) return jfail(j, "field %s: duplicate key", fname);
        jws(j);
        if (j->p >= j->end || *j->p != ':') return jfail(j, "expected ':'");
        j->p++;
        jws(j);
        v[n].name = k.p;
        if ((err = jdouble(j, fname, &v[n].value))) return err;
        n++;
        jws(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            jws(j);
            continue;
        }
        if (j->p < j->end && *j->p == '}') {
            j->p++;
            break;
        }
        return jfail(j, "expected ',' or '}'");
    }
done:
    *out = n ? v : NULL;
    *n_out = n;
    return RS_OK;
}

/* "kind", if present, must name the record. */
static rs_err_t jkind(jr_t *j, const char *want) {
    char v[16];
    size_t len = 0;
    rs_err_t err;
    if (j->p >= j->end || *j->p != '"') return jfail(j, "field kind: expected string");
    if ((err = jscan_str(j, v, sizeof(v), &len))) return err;
    if (len != strlen(want) || memcmp(v, want, len) != 0)
        return jfail(j, "field kind: not \"%s\"", want);
    return RS_OK;
}

/* The known fields of a record: where each goes in the decoded struct. */
typedef enum { F_KIND, F_STR, F_OPT_STR, F_DOUBLE, F_INT, F_MAP } ftype_t;
typedef struct jfield {
    const char *name;
    ftype_t type;
    int required;
    size_t off, off_n; /* F_MAP: the array pointer and its count */
} jfield_t;

#define AF(name, type, req, field)                                                                 \
    { name, type, req, offsetof(rs_alert_msg_t, field), 0 }
static const jfield_t alert_fields[] = {
    {"kind", F_KIND, 0, 0, 0},
    AF("id", F_STR, 1, id),
    AF("rule", F_STR, 1, rule),
    AF("user_id", F_OPT_STR, 0, user_id),
    AF("item_id", F_OPT_STR, 0, item_id),
    AF("score", F_DOUBLE, 1, score),
    AF("ts_ms", F_INT, 1, ts_ms),
    AF("episode_start", F_INT, 1, episode_start_ms),
    AF("created_ms", F_INT, 0, created_ms),
    {"evidence", F_MAP, 0, offsetof(rs_alert_msg_t, evidence),
     offsetof(rs_alert_msg_t, n_evidence)},
};
#define SF(name, type, req, field)                                                                 \
    { name, type, req, offsetof(rs_segment_msg_t, field), 0 }
static const jfield_t seg_fields[] = {
    {"kind", F_KIND, 0, 0, 0},
    SF("user_id", F_STR, 1, user_id),
    SF("dimension", F_STR, 1, dimension),
    SF("old", F_STR, 1, old_name),
    SF("new", F_STR, 1, new_name),
    SF("reason", F_STR, 1, reason),
    SF("ts_ms", F_INT, 1, ts_ms),
    SF("created_ms", F_INT, 0, created_ms),
    {"scores", F_MAP, 0, offsetof(rs_segment_msg_t, scores), offsetof(rs_segment_msg_t, n_scores)},
};
#define NFIELDS(a) (int)(sizeof(a) / sizeof((a)[0]))

static rs_err_t jfield(jr_t *j, const jfield_t *f, char *rec, const char *kind) {
    void *dst = rec + f->off;
    switch (f->type) {
    case F_KIND:
        return jkind(j, kind);
    case F_STR:
        return jstr(j, f->name, dst);
    case F_OPT_STR: /* null = absent */
        *(rs_str_t *)dst = RS_STR_NULL;
        return jlit(j, "null") ? RS_OK : jstr(j, f->name, dst);
    case F_DOUBLE:
        return jdouble(j, f->name, dst);
    case F_INT:
        return jnum(j, f->name, 1, dst, NULL);
    default:
        return jmap(j, f->name, dst, (uint32_t *)(void *)(rec + f->off_n));
    }
}

/* One top-level object of a record: known keys once each, unknown keys
 * skipped, required ones present, nothing but whitespace after it. */
static rs_err_t jobject(jr_t *j, const jfield_t *fields, int nf, const char *kind, void *rec) {
    rs_err_t err;
    uint32_t seen = 0;
    jws(j);
    if (j->p >= j->end || *j->p != '{') return jfail(j, "expected an object");
    j->p++;
    jws(j);
    if (j->p < j->end && *j->p == '}') {
        j->p++;
        goto tail;
    }
    for (;;) {
        char key[24]; /* longer than any known field name */
        size_t klen = 0;
        int k = -1;
        if (j->p >= j->end || *j->p != '"') return jfail(j, "expected a key");
        if ((err = jscan_str(j, key, sizeof(key), &klen))) return err;
        for (int i = 0; klen < sizeof(key) && i < nf; i++)
            if (strlen(fields[i].name) == klen && memcmp(fields[i].name, key, klen) == 0) k = i;
        jws(j);
        if (j->p >= j->end || *j->p != ':') return jfail(j, "expected ':'");
        j->p++;
        jws(j);
        if (k < 0) {
            if ((err = rs_jscan_skip(j, MAX_DEPTH))) return err;
        } else {
            if (seen & 1u << k) return jfail(j, "duplicate field %s", fields[k].name);
            seen |= 1u << k;
            if (j->p >= j->end) return jfail(j, "truncated");
            if ((err = jfield(j, &fields[k], rec, kind))) return err;
        }
        jws(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            jws(j);
            continue;
        }
        if (j->p < j->end && *j->p == '}') {
            j->p++;
            break;
        }
        return jfail(j, "expected ',' or '}'");
    }
tail:
    jws(j);
    if (j->p != j->end) return jfail(j, "trailing characters after the object");
    for (int k = 0; k < nf; k++)
        if (fields[k].required && !(seen & 1u << k))
            return rs_seterr(j->errstr, j->errstr_size, RS_EDECODE, "json: missing field %s",
                             fields[k].name);
    return RS_OK;
}

rs_err_t rs_codec_out_json_decode_alert(rs_codec_t *c, const char *p, size_t n, rs_alert_msg_t *m,
                                        char *errstr, size_t errstr_size) {
    jr_t j = {(const unsigned char *)p,
              (const unsigned char *)p + n,
              (const unsigned char *)p,
              c,
              errstr,
              errstr_size};
    rs_err_t err = jobject(&j, alert_fields, NFIELDS(alert_fields), "alert", m);
    if (!err) m->rule_id = name_index(rule_names, RS_ALERT__RULE_COUNT, m->rule);
    return err;
}

rs_err_t rs_codec_out_json_decode_segment(rs_codec_t *c, const char *p, size_t n,
                                          rs_segment_msg_t *m, char *errstr, size_t errstr_size) {
    jr_t j = {(const unsigned char *)p,
              (const unsigned char *)p + n,
              (const unsigned char *)p,
              c,
              errstr,
              errstr_size};
    rs_err_t err = jobject(&j, seg_fields, NFIELDS(seg_fields), "segment", m);
    if (!err) m->kind = name_index(dim_names, RS_SEG__KIND_COUNT, m->dimension);
    return err;
}
