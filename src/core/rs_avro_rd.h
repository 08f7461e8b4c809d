/* rs_avro_rd.h -- the primitives of our hand-written Avro binary readers:
 * events and catalog items (src/wrap/rs_avro.c), recommendations, alerts
 * and segment changes (rs_codec_out.c). One varint decoder, one set of
 * bounds checks and one error format ("avro: <what> in field <f> at byte
 * N") for all of them. Static inline: event decoding is a hot path.
 *
 * Strings are copied into the codec's scratch arena (rs_codec_int.h), so
 * they outlive the input buffer until the next decode. Private to src/. */
#ifndef RS_AVRO_RD_H
#define RS_AVRO_RD_H

#include <stdint.h>
#include <string.h>

#include "core/rs_codec_int.h"
#include "recstream/rs_buf.h"
#include "recstream/rs_err.h"

typedef struct rs_avro_rd {
    const uint8_t *p, *end, *start; /* cursor, end, and the start for offsets */
    rs_codec_t *c;                  /* its scratch arena keeps the strings */
    char *errstr;
    size_t errstr_size;
} rs_avro_rd_t;

static inline rs_err_t rs_avro_rd_fail(rs_avro_rd_t *r, const char *what, const char *fname) {
    return rs_seterr(r->errstr, r->errstr_size, RS_EDECODE, "avro: %s in field %s at byte %zu",
                     what, fname, (size_t)(r->p - r->start));
}

/* Zig-zag varint, at most 10 bytes; the 10th may only carry the 64th bit. */
static inline rs_err_t rs_avro_rd_long(rs_avro_rd_t *r, const char *fname, int64_t *out) {
    uint64_t v = 0;
    for (int shift = 0;; shift += 7) {
        if (r->p >= r->end) return rs_avro_rd_fail(r, "truncated varint", fname);
        uint8_t b = *r->p++;
        if (shift == 63 && b > 1) return rs_avro_rd_fail(r, "varint overflows 64 bits", fname);
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) break;
    }
    *out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
    return RS_OK;
}

static inline rs_err_t rs_avro_rd_str(rs_avro_rd_t *r, const char *fname, rs_str_t *out) {
    int64_t n = 0;
    rs_err_t err = rs_avro_rd_long(r, fname, &n);
    if (err) return err;
    if (n < 0) return rs_avro_rd_fail(r, "negative string length", fname);
    if ((uint64_t)n > (uint64_t)(r->end - r->p))
        return rs_avro_rd_fail(r, "truncated string", fname);
    if (n > (int64_t)UINT32_MAX) return rs_avro_rd_fail(r, "string too long", fname);
    const char *s = rs_codec_keep(r->c, (const char *)r->p, (size_t)n);
    if (!s) return rs_avro_rd_fail(r, "scratch arena exhausted", fname);
    r->p += n;
    *out = rs_str(s, (uint32_t)n);
    return RS_OK;
}

/* n raw bytes (Avro float/double: little-endian IEEE, copied as is on our
 * little-endian targets). */
static inline rs_err_t rs_avro_rd_fixed(rs_avro_rd_t *r, const char *fname, void *out, size_t n) {
    if ((size_t)(r->end - r->p) < n) return rs_avro_rd_fail(r, "truncated", fname);
    memcpy(out, r->p, n);
    r->p += n;
    return RS_OK;
}

static inline rs_err_t rs_avro_rd_double(rs_avro_rd_t *r, const char *fname, double *out) {
    if (r->end - r->p < 8) return rs_avro_rd_fail(r, "truncated", fname);
    uint64_t u = rs_get_u64(r->p);
    memcpy(out, &u, 8);
    r->p += 8;
    return RS_OK;
}

/* Union [null, T]: *present = the branch index (0 or 1). */
static inline rs_err_t rs_avro_rd_branch(rs_avro_rd_t *r, const char *fname, int *present) {
    int64_t b = 0;
    rs_err_t err = rs_avro_rd_long(r, fname, &b);
    if (err) return err;
    if (b != 0 && b != 1) return rs_avro_rd_fail(r, "union branch out of range", fname);
    *present = (int)b;
    return RS_OK;
}

/* Union [null, string]: *out = RS_STR_NULL when null. */
static inline rs_err_t rs_avro_rd_opt_str(rs_avro_rd_t *r, const char *fname, rs_str_t *out,
                                          int *present) {
    int has = 0;
    rs_err_t err = rs_avro_rd_branch(r, fname, &has);
    if (present) *present = has;
    *out = RS_STR_NULL;
    return err || !has ? err : rs_avro_rd_str(r, fname, out);
}

/* The record must end exactly at the end of the input. */
static inline rs_err_t rs_avro_rd_finish(rs_avro_rd_t *r) {
    if (r->p != r->end)
        return rs_seterr(r->errstr, r->errstr_size, RS_EDECODE,
                         "avro: %zu trailing bytes after the record", (size_t)(r->end - r->p));
    return RS_OK;
}

#endif
