/* rs_codec.h -- wire formats: behaviour events in; recommendations, alerts
 * and segment changes out.
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

#include "rs_alert.h"
#include "rs_buf.h"
#include "rs_conf.h"
#include "rs_err.h"
#include "rs_event.h"
#include "rs_segment.h"
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

/* ---- alerts and segment changes (outputs) -----------------------------
 * schemas/alert.avsc and schemas/segment_change.avsc; Avro, Confluent
 * (schema_id in the header) or JSON; decoders also take AUTO.
 *
 * JSON is one compact object without a newline, "kind" first, fields in
 * schema order (the replay's --emit-jsonl lines and output.format json):
 *   {"kind":"alert","id":"<16 hex>","rule":"bot","user_id":"u5","item_id":"i3",
 *    "score":12.5,"ts_ms":..,"episode_start":..,"created_ms":..,"evidence":{..}}
 *   {"kind":"segment","user_id":"u5","dimension":"rfm","old":"potential",
 *    "new":"champions","reason":"..","ts_ms":..,"created_ms":..,"scores":{..}}
 * An absent user_id / item_id is left out of the JSON (null in Avro).
 * created_ms (wall clock) is written to JSON only when > 0, so output with
 * created_ms = 0 (replays) is the same bytes on every run; Avro always
 * carries it (0 = not recorded). Doubles print in the shortest form that
 * reads back to the same value, integral ones without a fraction (320, not
 * 320.0); a non-finite double is null in JSON (decoded as NAN).
 *
 * Encoders: RS_EARG, out unchanged, for fmt AUTO or unknown, a rule or kind
 * out of range, more than RS_ALERT_MAX_EVIDENCE / RS_SEGMENT_MAX_SCORES
 * numbers, a number without a name or two with the same name, or a segment
 * change without user_id. A NULL old/new segment name is written "". The
 * rule and dimension names ("bot", "rfm", ...) are the codec's own table,
 * equal to rs_alert_rule_name(). */
rs_err_t rs_codec_encode_alert(rs_codec_t *c, const rs_alert_t *a, int64_t created_ms,
                               rs_format_t fmt, int32_t schema_id, rs_buf_t *out);
rs_err_t rs_codec_encode_segment(rs_codec_t *c, const rs_segment_change_t *s, int64_t created_ms,
                                 rs_format_t fmt, int32_t schema_id, rs_buf_t *out);

/* A decoded alert. Strings and evidence point into the codec (valid until
 * the next decode on it; strings NUL-terminated, evidence names too). */
typedef struct rs_alert_msg {
    rs_str_t id;
    rs_str_t rule;             /* as written */
    int rule_id;               /* rs_alert_rule_t, or -1 for a name this build does not know */
    rs_str_t user_id, item_id; /* RS_STR_NULL when null or absent */
    double score;
    int64_t ts_ms;
    int64_t episode_start_ms;
    int64_t created_ms;             /* 0 when absent (JSON) */
    const rs_named_num_t *evidence; /* in the writer's order */
    uint32_t n_evidence;
} rs_alert_msg_t;

/* A decoded segment change (ownership as rs_alert_msg_t). */
typedef struct rs_segment_msg {
    rs_str_t user_id;
    rs_str_t dimension;          /* as written */
    int kind;                    /* rs_segment_kind_t, or -1 for an unknown dimension */
    rs_str_t old_name, new_name; /* length 0 = none (never RS_STR_NULL) */
    rs_str_t reason;
    int64_t ts_ms;
    int64_t created_ms; /* 0 when absent (JSON) */
    const rs_named_num_t *scores;
    uint32_t n_scores;
} rs_segment_msg_t;

/* Every schema field is required, except in JSON: kind (if present it must
 * be "alert" / "segment"), user_id and item_id (absent or null = none),
 * created_ms and evidence / scores (absent = 0 / empty). Unknown JSON keys
 * are ignored; a field given twice, or a map key, is an error, as are more
 * than 256 map entries. JSON strings are not checked for valid UTF-8.
 * Errors as for events ("confluent: ", "avro: ", "json: "). */
rs_err_t rs_codec_decode_alert(rs_codec_t *c, const void *buf, size_t len, rs_format_t fmt,
                               rs_alert_msg_t *out, char *errstr, size_t errstr_size);
rs_err_t rs_codec_decode_segment(rs_codec_t *c, const void *buf, size_t len, rs_format_t fmt,
                                 rs_segment_msg_t *out, char *errstr, size_t errstr_size);

/* The embedded schema texts (JSON), NUL-terminated, static. */
const char *rs_schema_event_json(void);
const char *rs_schema_recommendation_json(void);
const char *rs_schema_item_json(void);
const char *rs_schema_alert_json(void);
const char *rs_schema_segment_json(void); /* schemas/segment_change.avsc */

#endif
