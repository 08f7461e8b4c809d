/* rs_jscan.c -- JSON scanner primitives (see rs_jscan.h).
 *
 * Written for speed on the event path: strings are copied in runs between
 * escapes, numbers are parsed by hand when integral (strtod only for reals),
 * and nothing allocates except the arena room a string asks for. The
 * contract matches jansson's (tests/fuzz/fuzz_codec_event checks it
 * differentially), with one deliberate difference: numbers longer than
 * RS_JSCAN_MAX_NUM characters are refused. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rs_codec_int.h"
#include "core/rs_jscan.h"

rs_err_t rs_jscan_fail(rs_jscan_t *j, const char *fmt, ...) {
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return rs_seterr(j->errstr, j->errstr_size, RS_EDECODE, "json: %s at byte %zu", msg,
                     (size_t)(j->p - j->start));
}

int rs_jscan_lit(rs_jscan_t *j, const char *lit) {
    size_t n = strlen(lit);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0) return 0;
    j->p += n;
    return 1;
}

static int hex4(const unsigned char *p, uint32_t *out) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned ch = p[i], d;
        if (ch >= '0' && ch <= '9')
            d = ch - '0';
        else if ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'f')
            d = (ch | 0x20) - 'a' + 10;
        else
            return -1;
        v = v << 4 | d;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *d, uint32_t cp) {
    if (cp < 0x80) return d[0] = (char)cp, 1;
    if (cp < 0x800) return d[0] = (char)(0xc0 | cp >> 6), d[1] = (char)(0x80 | (cp & 0x3f)), 2;
    if (cp < 0x10000) {
        d[0] = (char)(0xe0 | cp >> 12), d[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        d[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    d[0] = (char)(0xf0 | cp >> 18), d[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    d[2] = (char)(0x80 | (cp >> 6 & 0x3f)), d[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Length of the valid UTF-8 sequence at p (lead byte >= 0x80), 0 if invalid
 * (RFC 3629: no overlongs, no surrogates, max U+10FFFF). */
static size_t utf8_len(const unsigned char *p, const unsigned char *end) {
    unsigned b = p[0];
    size_t n;
    uint32_t cp;
    if (b >= 0xc2 && b <= 0xdf)
        n = 2, cp = b & 0x1f;
    else if (b >= 0xe0 && b <= 0xef)
        n = 3, cp = b & 0x0f;
    else if (b >= 0xf0 && b <= 0xf4)
        n = 4, cp = b & 0x07;
    else
        return 0;
    if ((size_t)(end - p) < n) return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return n;
}

/* Appends n bytes at d[*o] if they fit in cap; *o counts on regardless, so
 * the caller sees the full length and can tell the buffer was too small. */
static void emit(char *d, size_t cap, size_t *o, const void *s, size_t n) {
    if (d && *o + n <= cap) memcpy(d + *o, s, n);
    *o += n;
}

rs_err_t rs_jscan_str(rs_jscan_t *j, char *dst, size_t cap, size_t *dlen) {
    static const char esc_in[] = "\"\\/bfnrt", esc_out[] = "\"\\/\b\f\n\r\t";
    size_t o = 0;
    j->p++;
    for (;;) {
        const unsigned char *s = j->p;
        while (j->p < j->end && *j->p >= 0x20 && *j->p < 0x80 && *j->p != '"' && *j->p != '\\')
            j->p++;
        emit(dst, cap, &o, s, (size_t)(j->p - s));
        if (j->p >= j->end) return rs_jscan_fail(j, "unterminated string");
        unsigned ch = *j->p;
        if (ch == '"') {
            j->p++;
            if (dlen) *dlen = o;
            return RS_OK;
        }
        if (ch < 0x20) return rs_jscan_fail(j, "control character in string");
        if (ch >= 0x80) {
            size_t n = utf8_len(j->p, j->end);
            if (!n) return rs_jscan_fail(j, "invalid UTF-8");
            emit(dst, cap, &o, j->p, n);
            j->p += n;
            continue;
        }
        /* backslash */
        if (j->end - j->p < 2) return rs_jscan_fail(j, "unterminated string");
        const char *e = j->p[1] ? strchr(esc_in, j->p[1]) : NULL;
        if (e) {
            emit(dst, cap, &o, &esc_out[e - esc_in], 1);
            j->p += 2;
            continue;
        }
        if (j->p[1] != 'u') return rs_jscan_fail(j, "invalid escape");
        uint32_t cp, lo;
        if (j->end - j->p < 6 || hex4(j->p + 2, &cp)) return rs_jscan_fail(j, "invalid \\u escape");
        j->p += 6;
        if (cp >= 0xdc00 && cp <= 0xdfff) return rs_jscan_fail(j, "lone low surrogate");
        if (cp >= 0xd800 && cp <= 0xdbff) {
            if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u' || hex4(j->p + 2, &lo) ||
                lo < 0xdc00 || lo > 0xdfff)
                return rs_jscan_fail(j, "unpaired high surrogate");
            j->p += 6;
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        }
        if (cp == 0) return rs_jscan_fail(j, "\\u0000 is not allowed");
        char u[4];
        emit(dst, cap, &o, u, put_utf8(u, cp));
    }
}

rs_err_t rs_jscan_str_arena(rs_jscan_t *j, rs_str_t *out) {
    rs_err_t err;
    size_t cap = (size_t)(j->end - j->p), len = 0; /* the raw length bounds the unescaped one */
    char *dst = rs_codec_room(j->c, cap);
    if (!dst) return rs_jscan_fail(j, "scratch arena exhausted");
    if ((err = rs_jscan_str(j, dst, cap, &len))) return err;
    if (len > UINT32_MAX) return rs_jscan_fail(j, "string too long");
    dst[len] = '\0';
    j->c->scratch.len = (size_t)(dst - j->c->scratch.p) + len + 1; /* give back the rest */
    *out = rs_str(dst, (uint32_t)len);
    return RS_OK;
}

rs_err_t rs_jscan_num(rs_jscan_t *j, const char *fname, rs_jnum_t *n) {
    const unsigned char *s = j->p, *q = j->p;
    const char *pre = fname ? "field " : "", *name = fname ? fname : "", *sep = fname ? ": " : "";
    if (q < j->end && *q == '-') q++;
    if (q >= j->end || *q < '0' || *q > '9') return rs_jscan_fail(j, "invalid value");
    if (*q == '0')
        q++;
    else
        while (q < j->end && *q >= '0' && *q <= '9') q++;
    n->is_int = 1;
    if (q < j->end && *q == '.') {
        n->is_int = 0;
        if (++q >= j->end || *q < '0' || *q > '9') return rs_jscan_fail(j, "invalid number");
        while (q < j->end && *q >= '0' && *q <= '9') q++;
    }
    if (q < j->end && (*q == 'e' || *q == 'E')) {
        n->is_int = 0;
        if (++q < j->end && (*q == '+' || *q == '-')) q++;
        if (q >= j->end || *q < '0' || *q > '9') return rs_jscan_fail(j, "invalid number");
        while (q < j->end && *q >= '0' && *q <= '9') q++;
    }
    size_t len = (size_t)(q - s);
    if (len > RS_JSCAN_MAX_NUM) return rs_jscan_fail(j, "%s%s%snumber too long", pre, name, sep);
    if (n->is_int) {
        int neg = *s == '-';
        uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
        for (const unsigned char *d = s + neg; d < q; d++) {
            unsigned dig = *d - '0';
            if (v > (lim - dig) / 10)
                return rs_jscan_fail(j, "%s%s%sinteger out of range", pre, name, sep);
            v = v * 10 + dig;
        }
        n->ival = neg ? (int64_t)(0 - v) : (int64_t)v;
    } else {
        char buf[RS_JSCAN_MAX_NUM + 1];
        memcpy(buf, s, len);
        buf[len] = '\0';
        errno = 0;
        n->dval = strtod(buf, NULL);
        if (errno == ERANGE && (n->dval == HUGE_VAL || n->dval == -HUGE_VAL))
            return rs_jscan_fail(j, "%s%s%sreal number overflow", pre, name, sep);
    }
    j->p = q;
    return RS_OK;
}

int rs_jscan_real_to_i64(double d, int64_t *out) {
    if (!isfinite(d) || d != floor(d) || d < -9223372036854775808.0 || d >= 9223372036854775808.0)
        return -1;
    *out = (int64_t)d;
    return 0;
}

static rs_err_t skip_value(rs_jscan_t *j, int depth, int max_depth);

/* Walks an object or array body after the opening bracket. */
static rs_err_t skip_container(rs_jscan_t *j, int depth, int max_depth, unsigned char close) {
    rs_err_t err;
    if (depth > max_depth) return rs_jscan_fail(j, "nesting too deep");
    rs_jscan_ws(j);
    if (j->p < j->end && *j->p == close) return j->p++, RS_OK;
    for (;;) {
        if (close == '}') {
            if (j->p >= j->end || *j->p != '"') return rs_jscan_fail(j, "expected a key");
            if ((err = rs_jscan_str(j, NULL, 0, NULL))) return err;
            rs_jscan_ws(j);
            if (j->p >= j->end || *j->p != ':') return rs_jscan_fail(j, "expected ':'");
            j->p++;
            rs_jscan_ws(j);
        }
        if ((err = skip_value(j, depth, max_depth))) return err;
        rs_jscan_ws(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            rs_jscan_ws(j);
            continue;
        }
        if (j->p < j->end && *j->p == close) return j->p++, RS_OK;
        return rs_jscan_fail(j, "expected ',' or '%c'", close);
    }
}

static rs_err_t skip_value(rs_jscan_t *j, int depth, int max_depth) {
    rs_jnum_t n;
    if (j->p >= j->end) return rs_jscan_fail(j, "truncated");
    switch (*j->p) {
    case '"':
        return rs_jscan_str(j, NULL, 0, NULL);
    case '{':
        j->p++;
        return skip_container(j, depth + 1, max_depth, '}');
    case '[':
        j->p++;
        return skip_container(j, depth + 1, max_depth, ']');
    case 't':
    case 'f':
    case 'n':
        if (rs_jscan_lit(j, "true") || rs_jscan_lit(j, "false") || rs_jscan_lit(j, "null"))
            return RS_OK;
        return rs_jscan_fail(j, "invalid value");
    default:
        return rs_jscan_num(j, NULL, &n);
    }
}

rs_err_t rs_jscan_skip(rs_jscan_t *j, int max_depth) {
    return skip_value(j, 0, max_depth);
}
