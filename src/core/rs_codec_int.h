/* rs_codec_int.h -- private parts of the codec, shared by rs_codec.c (framing,
 * dispatch), src/wrap/rs_avro.c (Avro) and src/wrap/rs_json.c (JSON).
 *
 * Scratch arena: every decode starts with rs_codec_scratch_reset(c, len),
 * which empties the arena and reserves len + RS_SCRATCH_SLACK bytes. Decoders
 * copy each string there (NUL-terminated; len excludes the NUL) and never
 * grow the arena afterwards, so pointers handed out earlier in the same
 * decode stay valid. The reservation is always enough: an Avro string costs
 * at least one length byte on the wire and a JSON string two quotes, which
 * pays for the NUL, and unescaping never makes a string longer. Decoders
 * still check the room and fail with RS_EDECODE rather than overflow. */
#ifndef RS_CODEC_INT_H
#define RS_CODEC_INT_H

#include <stdint.h>

#include "recstream/rs_codec.h"

#define RS_SCRATCH_SLACK 64

typedef struct rs_avro rs_avro_t; /* Avro C schemas and reusable values */

struct rs_codec {
    rs_buf_t scratch;     /* decoded strings, see above */
    rs_rec_item_t *items; /* decoded rec items (grown before use) */
    size_t items_cap;
    rs_avro_t *avro;
};

void rs_codec_scratch_reset(rs_codec_t *c, size_t len);
/* Copies s[0..n) + NUL into the arena; NULL if it does not fit. */
const char *rs_codec_keep(rs_codec_t *c, const char *s, size_t n);
/* Reserves n bytes (+NUL) in the arena for the caller to fill; NULL if no room. */
char *rs_codec_room(rs_codec_t *c, size_t n);
/* Makes room for at least n decoded rec items. */
void rs_codec_items_reserve(rs_codec_t *c, size_t n);

/* Catalog attributes "k=v;k=v" (rs_codec.h): writes s[0..n) to dst with
 * '=', ';' and '\' escaped by '\' and returns the bytes written (at most
 * 2n). */
size_t rs_codec_attr_escape(char *dst, const char *s, size_t n);
/* Reads the next pair of a flattened attribute string at *p (< end) into
 * key and val (reset first, unescaped, NUL-terminated), advancing *p past
 * the ';'. Returns 1 for a pair, 0 at the end, -1 if a pair has no '='. */
int rs_codec_attr_next(const char **p, const char *end, rs_buf_t *key, rs_buf_t *val);

/* src/wrap/rs_avro.c */
rs_err_t rs_avro_new(rs_avro_t **out, char *errstr, size_t errstr_size);
void rs_avro_destroy(rs_avro_t *a);
rs_err_t rs_avro_encode_event(rs_avro_t *a, const rs_event_t *ev, rs_buf_t *out);
rs_err_t rs_avro_encode_item(rs_avro_t *a, const rs_item_meta_t *m, int64_t updated_ms,
                             rs_buf_t *out);
/* Hand-written decoders for exactly the embedded schemas (checked against
 * Avro C's parse of them in rs_avro_new). The whole input must be one record. */
rs_err_t rs_avro_decode_event(rs_codec_t *c, const uint8_t *p, size_t n, rs_event_t *ev,
                              char *errstr, size_t errstr_size);
rs_err_t rs_avro_decode_rec(rs_codec_t *c, const uint8_t *p, size_t n, rs_rec_t *rec, char *errstr,
                            size_t errstr_size);
/* Needs 3n + RS_SCRATCH_SLACK of arena (escaped attributes take up to 2x). */
rs_err_t rs_avro_decode_item(rs_codec_t *c, const uint8_t *p, size_t n, rs_item_meta_t *m,
                             char *errstr, size_t errstr_size);

/* src/wrap/rs_json.c */
rs_err_t rs_json_decode_event(rs_codec_t *c, const char *p, size_t n, rs_event_t *ev, char *errstr,
                              size_t errstr_size);
/* The same contract implemented on jansson: slower, kept as the reference
 * the tests compare the hand-written scanner against. */
rs_err_t rs_json_decode_event_ref(rs_codec_t *c, const char *p, size_t n, rs_event_t *ev,
                                  char *errstr, size_t errstr_size);
rs_err_t rs_json_decode_rec(rs_codec_t *c, const char *p, size_t n, rs_rec_t *rec, char *errstr,
                            size_t errstr_size);
/* Sizes the arena itself (rs_codec_scratch_reset) once it knows how long the
 * flattened attributes are: numbers rendered as text can outgrow the input. */
rs_err_t rs_json_decode_item(rs_codec_t *c, const char *p, size_t n, rs_item_meta_t *m,
                             char *errstr, size_t errstr_size);
void rs_json_encode_event(const rs_event_t *ev, rs_buf_t *out);
void rs_json_encode_rec(const rs_rec_t *rec, rs_buf_t *out);
rs_err_t rs_json_encode_item(const rs_item_meta_t *m, int64_t updated_ms, rs_buf_t *out);

#endif
