/* rs_json.c -- JSON for events, recommendations and catalog items; the only
 * file that includes <jansson.h>.
 *
 * Events are decoded by a hand-written single-pass scanner: jansson builds a
 * tree with a hash table per object and measured ~330k events/s here, below
 * the ingest budget; the scanner copies only the known fields' strings into
 * the codec arena. It accepts exactly RFC 8259 as jansson does (UTF-8
 * checked, no raw control characters, no \u0000, no lone surrogates, no
 * leading zeros, integers must fit int64, reals must not overflow, nesting
 * up to 2048, whitespace-only trailer) so that rs_json_decode_event_ref, the
 * same contract on jansson, can serve the tests as an oracle. Deliberate
 * differences: numbers longer than 511 characters are refused, and a
 * duplicated unknown key is ignored (a duplicated known field is an error in
 * both: two values for one field is ambiguous).
 *
 * Field rules (both decoders): unknown keys ignored; null = absent; strings
 * for ids/type/session_id/category/device; ts_ms and rec_version integers
 * (an integral real such as 1.7e12 is accepted); price any number. A wrong
 * JSON type is RS_EDECODE naming the field. An unknown type symbol is not an
 * error: RS_F_TYPE with RS_EV_UNKNOWN, for rs_validate to reject.
 *
 * Recommendation lists, catalog items and the replay's output lines
 * (rs_json_rec_line, for `recstream diff`) are decoded with jansson (not on
 * a hot path) and every kind is encoded by hand as one compact line, doubles
 * in the shortest form that reads back to the same value. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/rs_codec_int.h"
#include "core/rs_jscan.h"
#include "recstream/rs_fileio.h"

#define JS_MAX_DEPTH 2048

/* Known event fields, in schema order; index = bit position in `seen`. */
enum {
    K_EVENT_ID,
    K_TS,
    K_USER,
    K_ITEM,
    K_TYPE,
    K_SESSION,
    K_PRICE,
    K_CATEGORY,
    K_DEVICE,
    K_RECV,
    K__N
};
static const char *const knames[K__N] = {"event_id", "ts_ms",      "user_id", "item_id",
                                         "type",     "session_id", "price",   "category",
                                         "device",   "rec_version"};
static const uint32_t kbits[K__N] = {RS_F_EVENT_ID, RS_F_TS,         RS_F_USER,  RS_F_ITEM,
                                     RS_F_TYPE,     RS_F_SESSION,    RS_F_PRICE, RS_F_CATEGORY,
                                     RS_F_DEVICE,   RS_F_REC_VERSION};

static int key_index(const char *k, size_t n) {
    for (int i = 0; i < K__N; i++)
        if (strlen(knames[i]) == n && memcmp(knames[i], k, n) == 0) return i;
    return -1;
}

static rs_str_t *str_slot(rs_event_t *ev, int k) {
    switch (k) {
    case K_EVENT_ID:
        return &ev->event_id;
    case K_USER:
        return &ev->user_id;
    case K_ITEM:
        return &ev->item_id;
    case K_SESSION:
        return &ev->session_id;
    case K_CATEGORY:
        return &ev->category;
    case K_DEVICE:
        return &ev->device;
    default:
        return NULL;
    }
}

static void put_str(rs_buf_t *b, rs_str_t s);
static void put_double(rs_buf_t *b, double d);

/* ---- the scanner (primitives in src/core/rs_jscan.c) ------------------- */

typedef rs_jscan_t js_t;
#define jfail rs_jscan_fail
#define ws    rs_jscan_ws

static int is_null(js_t *j) {
    return j->end - j->p >= 4 && memcmp(j->p, "null", 4) == 0 && (j->p += 4, 1);
}

static rs_err_t read_field(js_t *j, rs_event_t *ev, int k) {
    rs_err_t err;
    rs_jnum_t n;
    if (j->p >= j->end) return jfail(j, "truncated");
    if (is_null(j)) return RS_OK;
    unsigned ch = *j->p;
    rs_str_t *slot = str_slot(ev, k);
    if (slot || k == K_TYPE) {
        if (ch != '"') return jfail(j, "field %s: expected string", knames[k]);
        rs_str_t v;
        if ((err = rs_jscan_str_arena(j, &v))) return err;
        if (slot)
            *slot = v;
        else
            ev->type = rs_evtype_parse(v.p, v.len);
    } else {
        if (ch != '-' && (ch < '0' || ch > '9'))
            return jfail(j, "field %s: expected %s", knames[k],
                         k == K_PRICE ? "number" : "integer");
        if ((err = rs_jscan_num(j, NULL, &n))) return err;
        if (k == K_PRICE) {
            ev->price = n.is_int ? (double)n.ival : n.dval;
        } else {
            int64_t v = n.ival;
            if (!n.is_int && rs_jscan_real_to_i64(n.dval, &v))
                return jfail(j, "field %s: expected integer", knames[k]);
            if (k == K_TS)
                ev->ts_ms = v;
            else
                ev->rec_version = v;
        }
    }
    ev->fields |= kbits[k];
    return RS_OK;
}

rs_err_t rs_json_decode_event(rs_codec_t *c, const char *p, size_t n, rs_event_t *ev, char *errstr,
                              size_t errstr_size) {
    js_t j = {(const unsigned char *)p,
              (const unsigned char *)p + n,
              (const unsigned char *)p,
              c,
              errstr,
              errstr_size};
    rs_err_t err;
    uint32_t seen = 0;
    ws(&j);
    if (j.p >= j.end || *j.p != '{') return jfail(&j, "expected an object");
    j.p++;
    ws(&j);
    if (j.p < j.end && *j.p == '}') {
        j.p++;
        goto done;
    }
    for (;;) {
        char key[16]; /* longer than any known field name */
        size_t klen = 0;
        if (j.p >= j.end || *j.p != '"') return jfail(&j, "expected a key");
        if ((err = rs_jscan_str(&j, key, sizeof(key), &klen))) return err;
        int k = klen <= sizeof(key) ? key_index(key, klen) : -1;
        ws(&j);
        if (j.p >= j.end || *j.p != ':') return jfail(&j, "expected ':'");
        j.p++;
        ws(&j);
        if (k < 0) {
            if ((err = rs_jscan_skip(&j, JS_MAX_DEPTH - 1))) return err;
        } else {
            if (seen & (1u << k)) return jfail(&j, "duplicate field %s", knames[k]);
            seen |= 1u << k;
            if ((err = read_field(&j, ev, k))) return err;
        }
        ws(&j);
        if (j.p < j.end && *j.p == ',') {
            j.p++;
            ws(&j);
            continue;
        }
        if (j.p < j.end && *j.p == '}') {
            j.p++;
            break;
        }
        return jfail(&j, "expected ',' or '}'");
    }
done:
    ws(&j);
    if (j.p != j.end) return jfail(&j, "trailing data after the object");
    return RS_OK;
}

/* ---- jansson: reference event decoder, recommendation decoder ---------- */

static rs_err_t jload(const char *p, size_t n, json_t **root, char *errstr, size_t errstr_size) {
    json_error_t jerr;
    *root = json_loadb(p, n, JSON_REJECT_DUPLICATES, &jerr);
    if (!*root)
        return rs_seterr(errstr, errstr_size, RS_EDECODE, "json: %s at byte %d", jerr.text,
                         jerr.position);
    if (!json_is_object(*root)) {
        json_decref(*root);
        *root = NULL;
        return rs_seterr(errstr, errstr_size, RS_EDECODE, "json: expected an object");
    }
    return RS_OK;
}

static int keep_json_str(rs_codec_t *c, json_t *v, rs_str_t *out) {
    size_t n = json_string_length(v);
    const char *s = n <= UINT32_MAX ? rs_codec_keep(c, json_string_value(v), n) : NULL;
    if (!s) return -1;
    *out = rs_str(s, (uint32_t)n);
    return 0;
}

rs_err_t rs_json_decode_event_ref(rs_codec_t *c, const char *p, size_t n, rs_event_t *ev,
                                  char *errstr, size_t errstr_size) {
    json_t *root;
    rs_err_t err = jload(p, n, &root, errstr, errstr_size);
    if (err) return err;
    for (int k = 0; k < K__N; k++) {
        json_t *v = json_object_get(root, knames[k]);
        rs_str_t *slot = str_slot(ev, k);
        rs_str_t tmp;
        int64_t iv;
        if (!v || json_is_null(v)) continue;
        if (slot || k == K_TYPE) {
            if (!json_is_string(v) || keep_json_str(c, v, slot ? slot : &tmp)) goto bad;
            if (!slot) ev->type = rs_evtype_parse(tmp.p, tmp.len);
        } else if (k == K_PRICE) {
            if (!json_is_number(v)) goto bad;
            ev->price = json_number_value(v);
        } else {
            if (json_is_integer(v))
                iv = json_integer_value(v);
            else if (!json_is_real(v) || rs_jscan_real_to_i64(json_real_value(v), &iv))
                goto bad;
            if (k == K_TS)
                ev->ts_ms = iv;
            else
                ev->rec_version = iv;
        }
        ev->fields |= kbits[k];
        continue;
    bad:
        json_decref(root);
        return rs_seterr(errstr, errstr_size, RS_EDECODE, "json: field %s: expected %s", knames[k],
                         (slot || k == K_TYPE) ? "string"
                         : k == K_PRICE        ? "number"
                                               : "integer");
    }
    json_decref(root);
    return RS_OK;
}

/* Required field of a recommendation; every field of that schema is. */
static json_t *need(json_t *obj, const char *name, int (*is)(const json_t *), const char *what,
                    const char *ctx, char *errstr, size_t errstr_size) {
    json_t *v = json_object_get(obj, name);
    if (!v)
        rs_seterr(errstr, errstr_size, RS_EDECODE, "json: missing field %s%s", ctx, name);
    else if (!is(v))
        rs_seterr(errstr, errstr_size, RS_EDECODE, "json: field %s%s: expected %s", ctx, name,
                  what);
    else
        return v;
    return NULL;
}

static int is_str(const json_t *v) {
    return json_is_string(v);
}
static int is_int(const json_t *v) {
    return json_is_integer(v);
}
static int is_num_or_null(const json_t *v) {
    return json_is_number(v) || json_is_null(v);
}
static int is_arr(const json_t *v) {
    return json_is_array(v);
}

rs_err_t rs_json_decode_rec(rs_codec_t *c, const char *p, size_t n, rs_rec_t *rec, char *errstr,
                            size_t errstr_size) {
    json_t *root, *v, *items;
    rs_err_t err = jload(p, n, &root, errstr, errstr_size);
    if (err) return err;
    err = RS_EDECODE;
#define NEED(obj, name, is, what, ctx)                                                             \
    if (!(v = need(obj, name, is, what, ctx, errstr, errstr_size))) goto out
    NEED(root, "user_id", is_str, "string", "");
    if (keep_json_str(c, v, &rec->user_id)) goto nomem;
    NEED(root, "version", is_int, "integer", "");
    rec->version = json_integer_value(v);
    NEED(root, "ts_ms", is_int, "integer", "");
    rec->ts_ms = json_integer_value(v);
    NEED(root, "created_ms", is_int, "integer", "");
    rec->created_ms = json_integer_value(v);
    NEED(root, "strategy", is_str, "string", "");
    if (keep_json_str(c, v, &rec->strategy)) goto nomem;
    NEED(root, "items", is_arr, "array", "");
    items = v;
    size_t cnt = json_array_size(items);
    if (cnt > UINT32_MAX) goto nomem;
    rs_codec_items_reserve(c, cnt);
    for (size_t i = 0; i < cnt; i++) {
        json_t *it = json_array_get(items, i);
        rs_rec_item_t *o = &c->items[i];
        if (!json_is_object(it)) {
            rs_seterr(errstr, errstr_size, RS_EDECODE, "json: items[%zu]: expected an object", i);
            goto out;
        }
        NEED(it, "item_id", is_str, "string", "items.");
        if (keep_json_str(c, v, &o->item_id)) goto nomem;
        NEED(it, "score", is_num_or_null, "number", "items.");
        o->score = json_is_null(v) ? NAN : (float)json_number_value(v);
        NEED(it, "reason", is_str, "string", "items.");
        if (keep_json_str(c, v, &o->reason)) goto nomem;
    }
#undef NEED
    rec->items = cnt ? c->items : NULL;
    rec->n_items = (uint32_t)cnt;
    err = RS_OK;
    goto out;
nomem:
    rs_seterr(errstr, errstr_size, RS_EDECODE, "json: record too large for the scratch arena");
out:
    json_decref(root);
    return err;
}

/* ---- catalog items ----------------------------------------------------- */

/* Shortest %.Ng of a finite double that reads back exactly. */
static int fmt_double(char *tmp, size_t size, double d) {
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(tmp, size, "%.*g", prec, d);
        if (strtod(tmp, NULL) == d) break;
    }
    return n;
}

/* Text of an attribute value into tmp (size >= 40), or NULL if it has no
 * text form (object, array); *skip for null. */
static const char *attr_text(json_t *v, char *tmp, size_t size, size_t *len, int *skip) {
    *skip = 0;
    if (json_is_string(v)) {
        *len = json_string_length(v);
        return json_string_value(v);
    }
    if (json_is_integer(v)) {
        *len = (size_t)snprintf(tmp, size, "%" PRId64, (int64_t)json_integer_value(v));
        return tmp;
    }
    if (json_is_real(v)) {
        *len = (size_t)fmt_double(tmp, size, json_real_value(v));
        return tmp;
    }
    if (json_is_boolean(v)) {
        *len = json_is_true(v) ? 4 : 5;
        return json_is_true(v) ? "true" : "false";
    }
    if (json_is_null(v)) *skip = 1;
    return NULL;
}

static rs_err_t item_type_err(char *errstr, size_t errstr_size, const char *f, const char *what) {
    return rs_seterr(errstr, errstr_size, RS_EDECODE, "json: field %s: expected %s", f, what);
}

/* Optional string field: absent/null leaves *out RS_STR_NULL. */
static rs_err_t item_str(rs_codec_t *c, json_t *root, const char *f, rs_str_t *out, char *errstr,
                         size_t errstr_size) {
    json_t *v = json_object_get(root, f);
    if (!v || json_is_null(v)) return RS_OK;
    if (!json_is_string(v)) return item_type_err(errstr, errstr_size, f, "string");
    if (keep_json_str(c, v, out))
        return rs_seterr(errstr, errstr_size, RS_EDECODE, "json: scratch arena exhausted");
    return RS_OK;
}

/* Optional integer field (integral reals accepted): 1 if present. */
static int item_int(json_t *root, const char *f, int64_t *out, rs_err_t *err, char *errstr,
                    size_t errstr_size) {
    json_t *v = json_object_get(root, f);
    *err = RS_OK;
    if (!v || json_is_null(v)) return 0;
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 1;
    }
    if (!json_is_real(v) || rs_jscan_real_to_i64(json_real_value(v), out))
        *err = item_type_err(errstr, errstr_size, f, "integer");
    return 1;
}

rs_err_t rs_json_decode_item(rs_codec_t *c, const char *p, size_t n, rs_item_meta_t *m,
                             char *errstr, size_t errstr_size) {
    json_t *root, *attrs, *v;
    const char *k;
    char tmp[48];
    size_t need = 0, len;
    int skip;
    int64_t iv;
    rs_codec_scratch_reset(c, 0);
    rs_err_t err = jload(p, n, &root, errstr, errstr_size);
    if (err) return err;
    m->price = -INFINITY;
    m->stock = INT64_MIN;

    /* Types first, and the arena size: strings as they are, attributes
     * escaped (at most twice as long) with '=' and ';'. */
    static const char *const strs[] = {"item_id", "category", "brand"};
    for (size_t i = 0; i < 3; i++) {
        v = json_object_get(root, strs[i]);
        if (!v || json_is_null(v)) continue;
        if (!json_is_string(v)) {
            err = item_type_err(errstr, errstr_size, strs[i], "string");
            goto out;
        }
        need += json_string_length(v) + 1;
    }
    attrs = json_object_get(root, "attributes");
    if (attrs && !json_is_null(attrs)) {
        if (!json_is_object(attrs)) {
            err = item_type_err(errstr, errstr_size, "attributes", "object");
            goto out;
        }
        json_object_foreach(attrs, k, v) {
            if (!attr_text(v, tmp, sizeof(tmp), &len, &skip) && !skip) {
                err = rs_seterr(errstr, errstr_size, RS_EDECODE,
                                "json: attributes.%.64s: expected a string, number or boolean", k);
                goto out;
            }
            if (!skip) need += 2 * (strlen(k) + len) + 2;
        }
    }
    v = json_object_get(root, "price");
    if (v && !json_is_null(v)) {
        if (!json_is_number(v)) {
            err = item_type_err(errstr, errstr_size, "price", "number");
            goto out;
        }
        m->price = json_number_value(v);
    }
    if (item_int(root, "stock", &iv, &err, errstr, errstr_size)) {
        if (err) goto out;
        m->stock = iv;
    }
    if (item_int(root, "updated_ms", &iv, &err, errstr, errstr_size) && err) goto out;

    rs_codec_scratch_reset(c, need);
    if ((err = item_str(c, root, "item_id", &m->item_id, errstr, errstr_size)) ||
        (err = item_str(c, root, "category", &m->category, errstr, errstr_size)) ||
        (err = item_str(c, root, "brand", &m->brand, errstr, errstr_size)))
        goto out;
    if (attrs && json_is_object(attrs) && json_object_size(attrs)) {
        char *dst = c->scratch.p + c->scratch.len;
        size_t o = 0;
        json_object_foreach(attrs, k, v) {
            const char *t = attr_text(v, tmp, sizeof(tmp), &len, &skip);
            if (skip) continue;
            size_t kl = strlen(k);
            if (c->scratch.len + o + 2 * (kl + len) + 3 > c->scratch.cap) {
                err = rs_seterr(errstr, errstr_size, RS_EDECODE, "json: scratch arena exhausted");
                goto out;
            }
            if (o) dst[o++] = ';';
            o += rs_codec_attr_escape(dst + o, k, kl);
            dst[o++] = '=';
            o += rs_codec_attr_escape(dst + o, t, len);
        }
        if (o > UINT32_MAX) {
            err = rs_seterr(errstr, errstr_size, RS_EDECODE, "json: attributes too long");
            goto out;
        }
        dst[o] = '\0';
        c->scratch.len += o + 1;
        if (o) m->attrs = rs_str(dst, (uint32_t)o);
    }
out:
    json_decref(root);
    return err;
}

rs_err_t rs_json_encode_item(const rs_item_meta_t *m, int64_t updated_ms, rs_buf_t *b) {
    rs_buf_t key = {0}, val = {0};
    rs_err_t err = RS_OK;
    rs_buf_append(b, "{\"item_id\":", 11);
    put_str(b, m->item_id);
    rs_buf_append(b, ",\"category\":", 12);
    if (m->category.p)
        put_str(b, m->category);
    else
        rs_buf_append(b, "null", 4);
    rs_buf_append(b, ",\"brand\":", 9);
    if (m->brand.p)
        put_str(b, m->brand);
    else
        rs_buf_append(b, "null", 4);
    rs_buf_append(b, ",\"price\":", 9);
    if (m->price >= 0)
        put_double(b, m->price);
    else
        rs_buf_append(b, "null", 4);
    rs_buf_append(b, ",\"stock\":", 9);
    if (m->stock >= 0)
        rs_buf_printf(b, "%" PRId64, m->stock);
    else
        rs_buf_append(b, "null", 4);
    rs_buf_append(b, ",\"attributes\":{", 15);
    const char *ap = m->attrs.p, *aend = ap ? ap + m->attrs.len : NULL;
    int more, first = 1;
    while ((more = rs_codec_attr_next(&ap, aend, &key, &val)) != 0) {
        if (more < 0) {
            err = RS_EARG;
            break;
        }
        if (!first) rs_buf_putc(b, ',');
        first = 0;
        rs_buf_json_str(b, key.p, key.len);
        rs_buf_putc(b, ':');
        rs_buf_json_str(b, val.p, val.len);
    }
    rs_buf_append(b, "},\"updated_ms\":", 15);
    if (updated_ms >= 0)
        rs_buf_printf(b, "%" PRId64, updated_ms);
    else
        rs_buf_append(b, "null", 4);
    rs_buf_putc(b, '}');
    rs_buf_free(&key);
    rs_buf_free(&val);
    return err;
}

/* ---- encoders ---------------------------------------------------------- */

static void put_key(rs_buf_t *b, const char *k, int first) {
    if (!first) rs_buf_putc(b, ',');
    rs_buf_putc(b, '"');
    rs_buf_append(b, k, strlen(k));
    rs_buf_append(b, "\":", 2);
}

static void put_str(rs_buf_t *b, rs_str_t s) {
    rs_buf_json_str(b, s.p ? s.p : "", s.len);
}

/* Shortest %.Ng that reads back exactly; JSON has no NaN/inf: null. */
static void put_double(rs_buf_t *b, double d) {
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

static void put_float(rs_buf_t *b, float f) {
    char tmp[40];
    if (!isfinite(f)) {
        rs_buf_append(b, "null", 4);
        return;
    }
    for (int prec = 6; prec <= 9; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, (double)f);
        if (strtof(tmp, NULL) == f) break;
    }
    rs_buf_append(b, tmp, strlen(tmp));
}

void rs_json_encode_event(const rs_event_t *ev, rs_buf_t *b) {
    int first = 1;
    rs_buf_putc(b, '{');
    /* Absent required fields are omitted (decoding gives the same presence
     * bits back); absent optional ones are written as null. */
    for (int k = 0; k < K__N; k++) {
        int has = (ev->fields & kbits[k]) != 0;
        if (!has && (kbits[k] & RS_F_REQUIRED)) continue;
        put_key(b, knames[k], first);
        first = 0;
        rs_str_t *slot = str_slot((rs_event_t *)ev, k);
        if (!has)
            rs_buf_append(b, "null", 4);
        else if (slot)
            put_str(b, *slot);
        else if (k == K_TYPE)
            rs_buf_json_str(b, rs_evtype_name(ev->type), strlen(rs_evtype_name(ev->type)));
        else if (k == K_TS)
            rs_buf_printf(b, "%" PRId64, ev->ts_ms);
        else if (k == K_RECV)
            rs_buf_printf(b, "%" PRId64, ev->rec_version);
        else
            put_double(b, ev->price);
    }
    rs_buf_putc(b, '}');
}

void rs_json_encode_rec(const rs_rec_t *rec, rs_buf_t *b) {
    rs_buf_append(b, "{\"user_id\":", 11);
    put_str(b, rec->user_id);
    rs_buf_printf(b,
                  ",\"version\":%" PRId64 ",\"ts_ms\":%" PRId64 ",\"created_ms\":%" PRId64
                  ",\"strategy\":",
                  rec->version, rec->ts_ms, rec->created_ms);
    put_str(b, rec->strategy);
    rs_buf_append(b, ",\"items\":[", 10);
    for (uint32_t i = 0; i < rec->n_items; i++) {
        const rs_rec_item_t *it = &rec->items[i];
        rs_buf_append(b, i ? ",{\"item_id\":" : "{\"item_id\":", i ? 12 : 11);
        put_str(b, it->item_id);
        rs_buf_append(b, ",\"score\":", 9);
        put_float(b, it->score);
        rs_buf_append(b, ",\"reason\":", 10);
        put_str(b, it->reason);
        rs_buf_putc(b, '}');
    }
    rs_buf_append(b, "]}", 2);
}

/* ---- replay output lines (rs_fileio.h) --------------------------------- */

int rs_json_rec_line(const char *p, size_t n, rs_buf_t *user, rs_buf_t *items, uint32_t *n_items,
                     char *errstr, size_t errstr_size) {
    json_t *root, *v;
    rs_err_t err = jload(p, n, &root, errstr, errstr_size);
    if (err) return err;
    rs_buf_reset(user);
    rs_buf_reset(items);
    *n_items = 0;
    int rc = RS_EDECODE;
    v = json_object_get(root, "kind");
    if (!json_is_string(v)) {
        rs_seterr(errstr, errstr_size, RS_EDECODE, "json: field kind: expected string");
        goto out;
    }
    if (strcmp(json_string_value(v), "recommendation")) {
        rc = 0;
        goto out;
    }
    if (!(v = need(root, "user_id", is_str, "string", "", errstr, errstr_size))) goto out;
    rs_buf_append(user, json_string_value(v), json_string_length(v));
    if (!(v = need(root, "items", is_arr, "array", "", errstr, errstr_size))) goto out;
    for (size_t i = 0; i < json_array_size(v); i++) {
        json_t *it = json_array_get(v, i), *id;
        if (!json_is_object(it)) {
            rs_seterr(errstr, errstr_size, RS_EDECODE, "json: items[%zu]: expected an object", i);
            goto out;
        }
        if (!(id = need(it, "item_id", is_str, "string", "items.", errstr, errstr_size))) goto out;
        rs_buf_append(items, json_string_value(id), json_string_length(id));
        rs_buf_putc(items, '\0');
        (*n_items)++;
    }
    rc = 1;
out:
    json_decref(root);
    return rc;
}
