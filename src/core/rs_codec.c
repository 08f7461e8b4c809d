/* rs_codec.c -- wire-format detection, Confluent framing and dispatch.
 *
 * In: raw Kafka message values (or file records). Out: rs_event_t / rs_rec_t
 * / rs_item_meta_t whose strings live in the codec's scratch arena
 * (rs_codec_int.h) until the next decode on the same codec. Catalog
 * attributes (an Avro map) are flattened to "k=v;k=v" with '\' escapes; the
 * helpers for that format live here, shared by both wire formats. Bad bytes
 * give RS_EDECODE with a one-line reason prefixed by the layer that failed
 * ("confluent: ", "avro: ", "json: ") so the caller can map framing errors
 * to the "schema" dead-letter reason and the rest to "malformed". Nothing
 * here allocates per record once the arena has grown to the largest record
 * seen (item JSON, decoded with jansson, is the exception). Alerts and
 * segment changes (the detectors' outputs) share the framing and detection
 * here; their Avro and JSON bodies are in rs_codec_out.c.
 *
 * AUTO detection (rs_codec.h): '{' after optional JSON whitespace -> JSON;
 * first byte 0x00 and at least 5 bytes -> Confluent; otherwise plain Avro.
 * It is a heuristic: a plain Avro event whose event_id is empty starts with
 * 0x00 too, and one whose event_id is 61 bytes long starts with '{'. Topics
 * with a known encoding should set input.format explicitly. */
#include <stdlib.h>
#include <string.h>

#include "core/rs_codec_int.h"
#include "core/rs_codec_out.h"

extern const char rs_schema_event[];
extern const char rs_schema_recommendation[];
extern const char rs_schema_item[];
extern const char rs_schema_alert[];
extern const char rs_schema_segment_change[];

const char *rs_schema_event_json(void) {
    return rs_schema_event;
}
const char *rs_schema_recommendation_json(void) {
    return rs_schema_recommendation;
}
const char *rs_schema_item_json(void) {
    return rs_schema_item;
}
const char *rs_schema_alert_json(void) {
    return rs_schema_alert;
}
const char *rs_schema_segment_json(void) {
    return rs_schema_segment_change;
}

rs_err_t rs_codec_new(rs_codec_t **out, char *errstr, size_t errstr_size) {
    *out = NULL;
    rs_codec_t *c = rs_xcalloc(1, sizeof(*c));
    rs_err_t err = rs_avro_new(&c->avro, errstr, errstr_size);
    if (err) goto fail;
    rs_buf_reserve(&c->scratch, 4096);
    *out = c;
    return RS_OK;
fail:
    rs_codec_destroy(c);
    return err;
}

void rs_codec_destroy(rs_codec_t *c) {
    if (!c) return;
    rs_avro_destroy(c->avro);
    rs_buf_free(&c->scratch);
    free(c->items);
    free(c);
}

void rs_codec_scratch_reset(rs_codec_t *c, size_t len) {
    c->scratch.len = 0;
    rs_buf_reserve(&c->scratch, len + RS_SCRATCH_SLACK);
}

char *rs_codec_room(rs_codec_t *c, size_t n) {
    /* rs_buf_reserve keeps one byte spare; never grow here (see header). */
    if (c->scratch.cap - c->scratch.len < n + 2) return NULL;
    char *p = c->scratch.p + c->scratch.len;
    c->scratch.len += n + 1;
    return p;
}

const char *rs_codec_keep(rs_codec_t *c, const char *s, size_t n) {
    char *p = rs_codec_room(c, n);
    if (!p) return NULL;
    if (n) memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void rs_codec_items_reserve(rs_codec_t *c, size_t n) {
    if (n <= c->items_cap) return;
    size_t cap = c->items_cap ? c->items_cap : 16;
    while (cap < n) cap *= 2;
    c->items = rs_xrealloc(c->items, cap * sizeof(*c->items));
    c->items_cap = cap;
}

size_t rs_codec_attr_escape(char *dst, const char *s, size_t n) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '=' || s[i] == ';' || s[i] == '\\') dst[o++] = '\\';
        dst[o++] = s[i];
    }
    return o;
}

/* Appends the unescaped text up to an unescaped stop character (or end). */
static const char *attr_part(const char *p, const char *end, char stop, rs_buf_t *b) {
    rs_buf_reset(b);
    while (p < end && *p != stop && !(stop == '=' && *p == ';')) {
        if (*p == '\\' && p + 1 < end) p++;
        rs_buf_putc(b, *p++);
    }
    rs_buf_cstr(b);
    return p;
}

int rs_codec_attr_next(const char **pp, const char *end, rs_buf_t *key, rs_buf_t *val) {
    const char *p = *pp;
    if (p >= end) return 0;
    p = attr_part(p, end, '=', key);
    if (p >= end || *p != '=') return -1;
    p = attr_part(p + 1, end, ';', val);
    if (p < end) p++; /* the ';' */
    *pp = p;
    return 1;
}

static int is_json_ws(unsigned char ch) {
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

static rs_format_t detect(const unsigned char *p, size_t len) {
    size_t i = 0;
    while (i < len && is_json_ws(p[i])) i++;
    if (i < len && p[i] == '{') return RS_FMT_JSON;
    if (len >= 5 && p[0] == 0x00) return RS_FMT_CONFLUENT;
    return RS_FMT_AVRO;
}

/* Strips the Confluent header; then *p and *len cover the Avro body. */
static rs_err_t unframe(const unsigned char **p, size_t *len, int32_t *schema_id, char *errstr,
                        size_t errstr_size) {
    if (*len < 5)
        return rs_seterr(errstr, errstr_size, RS_EDECODE,
                         "confluent: %zu bytes is shorter than the 5-byte header", *len);
    if ((*p)[0] != 0x00)
        return rs_seterr(errstr, errstr_size, RS_EDECODE, "confluent: bad magic byte 0x%02x",
                         (*p)[0]);
    const unsigned char *h = *p;
    *schema_id = (int32_t)((uint32_t)h[1] << 24 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 8 |
                           (uint32_t)h[4]);
    *p += 5;
    *len -= 5;
    return RS_OK;
}

static void frame(rs_buf_t *out, int32_t schema_id) {
    unsigned char h[5] = {0x00, (unsigned char)((uint32_t)schema_id >> 24),
                          (unsigned char)((uint32_t)schema_id >> 16),
                          (unsigned char)((uint32_t)schema_id >> 8), (unsigned char)schema_id};
    rs_buf_append(out, h, sizeof(h));
}

rs_err_t rs_codec_decode_event(rs_codec_t *c, const void *buf, size_t len, rs_format_t fmt,
                               rs_event_t *ev, int32_t *schema_id_out, char *errstr,
                               size_t errstr_size) {
    const unsigned char *p = buf ? buf : (const unsigned char *)"";
    int32_t sid = -1;
    rs_err_t err;
    memset(ev, 0, sizeof(*ev));
    if (schema_id_out) *schema_id_out = -1;
    if (fmt == RS_FMT_AUTO) fmt = detect(p, len);
    rs_codec_scratch_reset(c, len);
    switch (fmt) {
    case RS_FMT_JSON:
        return rs_json_decode_event(c, (const char *)p, len, ev, errstr, errstr_size);
    case RS_FMT_CONFLUENT:
        if ((err = unframe(&p, &len, &sid, errstr, errstr_size))) return err;
        if (schema_id_out) *schema_id_out = sid;
        /* fall through */
    case RS_FMT_AVRO:
        return rs_avro_decode_event(c, p, len, ev, errstr, errstr_size);
    default:
        return rs_seterr(errstr, errstr_size, RS_EARG, "unknown format %d", (int)fmt);
    }
}

rs_err_t rs_codec_encode_event(rs_codec_t *c, const rs_event_t *ev, rs_format_t fmt,
                               int32_t schema_id, rs_buf_t *out) {
    switch (fmt) {
    case RS_FMT_JSON:
        rs_json_encode_event(ev, out);
        return RS_OK;
    case RS_FMT_CONFLUENT: {
        size_t mark = out->len;
        frame(out, schema_id);
        rs_err_t err = rs_avro_encode_event(c->avro, ev, out);
        if (err) out->len = mark;
        return err;
    }
    case RS_FMT_AVRO:
        return rs_avro_encode_event(c->avro, ev, out);
    default:
        return RS_EARG;
    }
}

rs_err_t rs_codec_encode_rec(rs_codec_t *c, const rs_rec_t *rec, rs_format_t fmt, int32_t schema_id,
                             rs_buf_t *out) {
    switch (fmt) {
    case RS_FMT_JSON:
        rs_json_encode_rec(rec, out);
        return RS_OK;
    case RS_FMT_CONFLUENT: {
        frame(out, schema_id);
        rs_codec_out_avro_rec(rec, out);
        return RS_OK;
    }
    case RS_FMT_AVRO:
        rs_codec_out_avro_rec(rec, out);
        return RS_OK;
    default:
        return RS_EARG;
    }
}

rs_err_t rs_codec_decode_rec(rs_codec_t *c, const void *buf, size_t len, rs_format_t fmt,
                             rs_rec_t *rec, char *errstr, size_t errstr_size) {
    const unsigned char *p = buf ? buf : (const unsigned char *)"";
    int32_t sid;
    rs_err_t err;
    memset(rec, 0, sizeof(*rec));
    if (fmt == RS_FMT_AUTO) fmt = detect(p, len);
    rs_codec_scratch_reset(c, len);
    switch (fmt) {
    case RS_FMT_JSON:
        return rs_json_decode_rec(c, (const char *)p, len, rec, errstr, errstr_size);
    case RS_FMT_CONFLUENT:
        if ((err = unframe(&p, &len, &sid, errstr, errstr_size))) return err;
        /* fall through */
    case RS_FMT_AVRO:
        return rs_avro_decode_rec(c, p, len, rec, errstr, errstr_size);
    default:
        return rs_seterr(errstr, errstr_size, RS_EARG, "unknown format %d", (int)fmt);
    }
}

rs_err_t rs_codec_decode_item(rs_codec_t *c, const void *buf, size_t len, rs_format_t fmt,
                              rs_item_meta_t *m, char *errstr, size_t errstr_size) {
    const unsigned char *p = buf ? buf : (const unsigned char *)"";
    int32_t sid;
    rs_err_t err;
    memset(m, 0, sizeof(*m));
    if (fmt == RS_FMT_AUTO) fmt = detect(p, len);
    switch (fmt) {
    case RS_FMT_JSON: /* sizes the arena itself */
        return rs_json_decode_item(c, (const char *)p, len, m, errstr, errstr_size);
    case RS_FMT_CONFLUENT:
        if ((err = unframe(&p, &len, &sid, errstr, errstr_size))) return err;
        /* fall through */
    case RS_FMT_AVRO:
        rs_codec_scratch_reset(c, 3 * len); /* attributes may double when escaped */
        return rs_avro_decode_item(c, p, len, m, errstr, errstr_size);
    default:
        return rs_seterr(errstr, errstr_size, RS_EARG, "unknown format %d", (int)fmt);
    }
}

rs_err_t rs_codec_encode_item(rs_codec_t *c, const rs_item_meta_t *m, int64_t updated_ms,
                              rs_format_t fmt, int32_t schema_id, rs_buf_t *out) {
    size_t mark = out->len;
    rs_err_t err;
    if (m->deleted) return RS_EARG;
    switch (fmt) {
    case RS_FMT_JSON:
        err = rs_json_encode_item(m, updated_ms, out);
        break;
    case RS_FMT_CONFLUENT:
        frame(out, schema_id);
        err = rs_avro_encode_item(c->avro, m, updated_ms, out);
        break;
    case RS_FMT_AVRO:
        err = rs_avro_encode_item(c->avro, m, updated_ms, out);
        break;
    default:
        return RS_EARG;
    }
    if (err) out->len = mark;
    return err;
}

/* ---- alerts and segment changes: bodies in rs_codec_out.c --------------- */

rs_err_t rs_codec_encode_alert(rs_codec_t *c, const rs_alert_t *a, int64_t created_ms,
                               rs_format_t fmt, int32_t schema_id, rs_buf_t *out) {
    if (fmt != RS_FMT_JSON && fmt != RS_FMT_AVRO && fmt != RS_FMT_CONFLUENT) return RS_EARG;
    rs_err_t err = rs_codec_out_check_alert(a);
    if (err) return err;
    if (fmt == RS_FMT_JSON) {
        rs_codec_out_json_alert(a, created_ms, out);
        return RS_OK;
    }
    if (fmt == RS_FMT_CONFLUENT) frame(out, schema_id);
    rs_codec_out_avro_alert(a, created_ms, out);
    return RS_OK;
}

rs_err_t rs_codec_encode_segment(rs_codec_t *c, const rs_segment_change_t *s, int64_t created_ms,
                                 rs_format_t fmt, int32_t schema_id, rs_buf_t *out) {
    if (fmt != RS_FMT_JSON && fmt != RS_FMT_AVRO && fmt != RS_FMT_CONFLUENT) return RS_EARG;
    rs_err_t err = rs_codec_out_check_segment(s);
    if (err) return err;
    if (fmt == RS_FMT_JSON) {
        rs_codec_out_json_segment(s, created_ms, out);
        return RS_OK;
    }
    if (fmt == RS_FMT_CONFLUENT) frame(out, schema_id);
    rs_codec_out_avro_segment(s, created_ms, out);
    return RS_OK;
}

rs_err_t rs_codec_decode_alert(rs_codec_t *c, const void *buf, size_t len, rs_format_t fmt,
                               rs_alert_msg_t *m, char *errstr, size_t errstr_size) {
    const unsigned char *p = buf ? buf : (const unsigned char *)"";
    int32_t sid;
    rs_err_t err;
    memset(m, 0, sizeof(*m));
    m->rule_id = -1;
    if (fmt == RS_FMT_AUTO) fmt = detect(p, len);
    rs_codec_scratch_reset(c, rs_codec_out_scratch(len));
    switch (fmt) {
    case RS_FMT_JSON:
        return rs_codec_out_json_decode_alert(c, (const char *)p, len, m, errstr, errstr_size);
    case RS_FMT_CONFLUENT:
        if ((err = unframe(&p, &len, &sid, errstr, errstr_size))) return err;
        /* fall through */
    case RS_FMT_AVRO:
        return rs_codec_out_avro_decode_alert(c, p, len, m, errstr, errstr_size);
    default:
        return rs_seterr(errstr, errstr_size, RS_EARG, "unknown format %d", (int)fmt);
    }
}

rs_err_t rs_codec_decode_segment(rs_codec_t *c, const void *buf, size_t len, rs_format_t fmt,
                                 rs_segment_msg_t *m, char *errstr, size_t errstr_size) {
    const unsigned char *p = buf ? buf : (const unsigned char *)"";
    int32_t sid;
    rs_err_t err;
    memset(m, 0, sizeof(*m));
    m->kind = -1;
    if (fmt == RS_FMT_AUTO) fmt = detect(p, len);
    rs_codec_scratch_reset(c, rs_codec_out_scratch(len));
    switch (fmt) {
    case RS_FMT_JSON:
        return rs_codec_out_json_decode_segment(c, (const char *)p, len, m, errstr, errstr_size);
    case RS_FMT_CONFLUENT:
        if ((err = unframe(&p, &len, &sid, errstr, errstr_size))) return err;
        /* fall through */
    case RS_FMT_AVRO:
        return rs_codec_out_avro_decode_segment(c, p, len, m, errstr, errstr_size);
    default:
        return rs_seterr(errstr, errstr_size, RS_EARG, "unknown format %d", (int)fmt);
    }
}
