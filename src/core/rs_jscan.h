/* rs_jscan.h -- the hand-written JSON scanner's primitives, shared by the
 * event decoder (src/wrap/rs_json.c, the hot path) and the decoders of our
 * own output records (src/core/rs_codec_out.c). Internal to the library.
 *
 * A scanner walks [p, end) once; `start` is only for error offsets. Every
 * function leaves p after what it consumed on success and where the bad
 * token starts on error (the message names that byte). Strings are decoded
 * as RFC 8259 and jansson do: UTF-8 checked, no raw control characters, no
 * \u0000, no lone surrogates. */
#ifndef RS_JSCAN_H
#define RS_JSCAN_H

#include <stddef.h>
#include <stdint.h>

#include "recstream/rs_err.h"
#include "recstream/rs_event.h"

struct rs_codec;

#define RS_JSCAN_MAX_NUM 511 /* characters in one number */

typedef struct rs_jscan {
    const unsigned char *p, *end, *start;
    struct rs_codec *c; /* whose scratch arena receives decoded strings */
    char *errstr;
    size_t errstr_size;
} rs_jscan_t;

typedef struct rs_jnum {
    int is_int; /* no fraction or exponent: ival; else dval */
    int64_t ival;
    double dval;
} rs_jnum_t;

/* RS_EDECODE with "json: <msg> at byte N" in errstr. */
rs_err_t rs_jscan_fail(rs_jscan_t *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static inline void rs_jscan_ws(rs_jscan_t *j) {
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

/* 1 and consumed when the input continues with lit, else 0. */
int rs_jscan_lit(rs_jscan_t *j, const char *lit);

/* p at the opening quote. Writes the unescaped bytes to dst (may be NULL)
 * up to cap; *dlen (may be NULL) gets the full unescaped length, which never
 * exceeds the raw length, so cap = end - p always suffices. */
rs_err_t rs_jscan_str(rs_jscan_t *j, char *dst, size_t cap, size_t *dlen);

/* p at the opening quote: the string into the codec's arena, NUL-ended. */
rs_err_t rs_jscan_str_arena(rs_jscan_t *j, rs_str_t *out);

/* A number (RFC 8259 grammar); integers must fit int64, reals must not
 * overflow. fname (may be NULL) prefixes range errors with "field NAME: ". */
rs_err_t rs_jscan_num(rs_jscan_t *j, const char *fname, rs_jnum_t *n);

/* An integral real (1.7e12) as an int64: 0, or -1 when not integral or out
 * of range. */
int rs_jscan_real_to_i64(double d, int64_t *out);

/* Skips one value of any kind, nesting at most max_depth deep. */
rs_err_t rs_jscan_skip(rs_jscan_t *j, int max_depth);

#endif
