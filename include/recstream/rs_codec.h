/* rs_codec.h -- wire formats: behaviour events in, recommendations out.
 * recstream's only door to Apache Avro C (src/wrap/rs_avro.c) and jansson.
 *
 * Event encodings accepted (schemas/event.avsc; catalog records,
 * schemas/item.avsc, the same way):
 *   RS_FMT_CONFLUENT  0x00, 4-byte big-endian schema id, Avro binary
 *   RS_FMT_AVRO       plain Avro binary of the event schema
 *   RS_FMT_JSON       one JSON object with the schema's field names
 *   RS_FMT_AUTO       '{' (after optional whitespace) -> JSON; 0x00 and len >= 5
 *                     -> Confluent; anything else -> plain Avro.
 * The schemas are compiled into the binary (build step embeds schemas/NAME.avsc).
 *
 * Decoding does not validate ranges: it fills rs_event_t with what it found
 * (presence bits, RS_EV_UNKNOWN for an unknown type symbol) and leaves the
 * judgement to rs_validate. It fails only when the bytes cannot be parsed.
 *
 * Errors: RS_EDECODE with a one-line reason prefixed by the layer that
 * failed: "confluent: ..." (framing: bad magic, short header -- the DLQ
 * "schema" reason), "avro: ..." / "json: ..." (the bytes: "malformed").
 * Trailing bytes after a complete record are an error in every format.
 *
 * Ownership: strings in a decoded rs_event_t / rs_rec_t point into the
 * codec's scratch memory and stay valid until the next decode call on the
 * same codec (they are also NUL-terminated there; len excludes the NUL).
 * Absent optional strings are RS_STR_NULL. Encoders append to a
 * caller-owned rs_buf_t and leave it unchanged on error.
 * Thread: a codec is single-threaded; make one per thread. */
#ifndef RS_CODEC_H
#define RS_CODEC_H

#include "rs_buf.h"
#include "rs_conf.h"
#include "rs_err.h"
#include "rs_event.h"
#include "rs_state.h"

typedef struct rs_codec rs_codec_t;

/* One recommended item. */
typedef struct rs_rec_item {
    rs_str_t item_id;
    float score;
    rs_str_t reason; /* e.g. "because you viewed 123", "popular" */
} rs_rec_item_t;

/* A recommendation list for one user (schemas/recommendation.avsc). */
typedef struct rs_rec {
    rs_str_t user_id;
    int64_t version;    /* per-user, increments on every emitted change */
    int64_t ts_ms;      /* event time of the newest event that caused it */
    int64_t created_ms; /* wall clock when computed */
    rs_str_t strategy;  /* "item-knn", "popular", ... */
    const rs_rec_item_t *items;
    uint32_t n_items;
} rs_rec_t;

rs_err_t rs_codec_new(rs_codec_t **out, char *errstr, size_t errstr_size);
void rs_codec_destroy(rs_codec_t *c); /* NULL-safe */

/* Decode one event. On RS_EDECODE errstr says why (shown in the DLQ header).
 * *schema_id_out (may be NULL) gets the Confluent schema id, or -1. */
rs_err_t rs_codec_decode_event(rs_codec_t *c, const void *buf, size_t len, rs_format_t fmt,
                               rs_event_t *ev, int32_t *schema_id_out, char *errstr,
                               size_t errstr_size);

/* Encode an event (generator, bench, tests). fmt must not be AUTO.
 * Confluent framing uses schema_id. Absent optional fields become null.
 * Avro/Confluent: RS_EARG if a required field is absent or the type is not
 * a known symbol (the schema cannot carry it). JSON: one compact line;
 * absent required fields are omitted, RS_EV_UNKNOWN is written "unknown",
 * a non-finite price null. */
rs_err_t rs_codec_encode_event(rs_codec_t *c, const rs_event_t *ev, rs_format_t fmt,
                               int32_t schema_id, rs_buf_t *out);

/* Encode / decode a recommendation list. Every field is required when
 * decoding; rec->items points into the codec (valid until the next decode). */
rs_err_t rs_codec_encode_rec(rs_codec_t *c, const rs_rec_t *rec, rs_format_t fmt, int32_t schema_id,
                             rs_buf_t *out);
rs_err_t rs_codec_decode_rec(rs_codec_t *c, const void *buf, size_t len, rs_format_t fmt,
                             rs_rec_t *rec, char *errstr, size_t errstr_size);

/* Decode one catalog record (schemas/item.avsc; same formats and AUTO
 * detection as events). A tombstone is not a record: the caller handles an
 * empty value before calling. Never sets out->deleted.
 *   - item_id: required in Avro; in JSON it may be absent (RS_STR_NULL), the
 *     caller then takes the record key.
 *   - price null -> -INFINITY, stock null -> INT64_MIN: both "unknown" under
 *     rs_item_meta_t's "< 0" rule, and distinguishable from a negative value
 *     on the wire, which is returned as is (range checks are rs_catalog's).
 *   - attributes are flattened to "k=v;k=v" in the writer's order; a '=',
 *     ';' or '\' inside a key or value is escaped with '\'. No attributes:
 *     RS_STR_NULL. JSON values may be strings, numbers or booleans (written
 *     as their text); JSON null values are skipped.
 *   - updated_ms is checked for its type and dropped (no field for it).
 * Strings point into the codec's scratch memory (see above). */
rs_err_t rs_codec_decode_item(rs_codec_t *c, const void *buf, size_t len, rs_format_t fmt,
                              rs_item_meta_t *out, char *errstr, size_t errstr_size);
/* Encode a catalog record (generator, demo, tests). fmt must not be AUTO.
 * price < 0 and stock < 0 are written as null, updated_ms as updated_ms
 * (< 0 = null); attrs is parsed with the escaping above. RS_EARG if
 * m->deleted (a tombstone is a null value, not a record) or attrs has a
 * pair without '='. */
rs_err_t rs_codec_encode_item(rs_codec_t *c, const rs_item_meta_t *m, int64_t updated_ms,
                              rs_format_t fmt, int32_t schema_id, rs_buf_t *out);

/* The embedded schema texts (JSON), NUL-terminated, static. */
const char *rs_schema_event_json(void);
const char *rs_schema_recommendation_json(void);
const char *rs_schema_item_json(void);

#endif
