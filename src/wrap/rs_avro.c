/* rs_avro.c -- Avro binary for events, recommendations and catalog items;
 * the only file that includes <avro.h>.
 *
 * Events and items are encoded through Avro C's generic value API: one
 * reusable value per schema, parsed once in rs_avro_new, so what we write is
 * what the reference implementation writes. Recommendation lists, sent once
 * per changed list, are written by hand in rs_codec_out.c (test_codec_out
 * checks Avro C writes the same bytes); their schema is still checked here. Decode is hand-written
 * for exactly the two embedded schemas, because the generic reader costs several allocations and
 * copies per record and the ingest path decodes every event. To keep the two from drifting,
 * rs_avro_new renders Avro C's parse of each embedded schema as a type signature and refuses to
 * start if it differs from the layout the decoders below assume.
 *
 * Decoder invariants: every read checks the remaining length first (no read
 * past p + n, whatever the bytes say); varints longer than 10 bytes or
 * overflowing 64 bits, negative or oversized string lengths, enum indexes
 * out of range, union indexes other than 0/1 and bytes left after the record
 * are all RS_EDECODE with the field name. Array block counts are bounded by
 * the remaining bytes before anything is allocated.
 *
 * Object container files of events (rs_fileio.h: replay/eval input) are
 * written here through Avro C's file writer; reading them is in
 * rs_avro_file.c, which checks the container before Avro C decodes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <avro.h>

#include "core/rs_avro_rd.h"
#include "core/rs_codec_int.h"
#include "recstream/rs_fileio.h"

/* Avro's double/float are little-endian IEEE; rs_avro_rd_fixed copies them as is. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "rs_avro.c assumes little-endian");

struct rs_avro {
    avro_schema_t ev_schema, rec_schema, item_schema; /* rec: checked only (rs_codec_out.c) */
    avro_value_iface_t *ev_iface, *item_iface;
    avro_value_t ev_val, item_val;
    int ev_val_ok, item_val_ok;
    avro_writer_t writer;
    rs_buf_t tmp;        /* NUL-terminated copies: Avro C wants C strings */
    rs_buf_t akey, aval; /* one unescaped attribute pair */
};

/* ---- schema check ------------------------------------------------------ */

static void sig(avro_schema_t s, rs_buf_t *b) {
    switch (avro_typeof(s)) {
    case AVRO_STRING:
        rs_buf_printf(b, "string");
        break;
    case AVRO_INT64:
        rs_buf_printf(b, "long");
        break;
    case AVRO_INT32:
        rs_buf_printf(b, "int");
        break;
    case AVRO_DOUBLE:
        rs_buf_printf(b, "double");
        break;
    case AVRO_FLOAT:
        rs_buf_printf(b, "float");
        break;
    case AVRO_NULL:
        rs_buf_printf(b, "null");
        break;
    case AVRO_ENUM:
        rs_buf_printf(b, "enum[");
        for (int i = 0; i < avro_schema_enum_number_of_symbols(s); i++)
            rs_buf_printf(b, "%s%s", i ? "," : "", avro_schema_enum_get(s, i));
        rs_buf_printf(b, "]");
        break;
    case AVRO_UNION:
        rs_buf_printf(b, "union[");
        for (size_t i = 0; i < avro_schema_union_size(s); i++) {
            if (i) rs_buf_putc(b, ',');
            sig(avro_schema_union_branch(s, (int)i), b);
        }
        rs_buf_printf(b, "]");
        break;
    case AVRO_ARRAY:
        rs_buf_printf(b, "array<");
        sig(avro_schema_array_items(s), b);
        rs_buf_printf(b, ">");
        break;
    case AVRO_MAP:
        rs_buf_printf(b, "map<");
        sig(avro_schema_map_values(s), b);
        rs_buf_printf(b, ">");
        break;
    case AVRO_RECORD:
        rs_buf_printf(b, "{");
        for (size_t i = 0; i < avro_schema_record_size(s); i++) {
            rs_buf_printf(b, "%s%s:", i ? "," : "", avro_schema_record_field_name(s, (int)i));
            sig(avro_schema_record_field_get_by_index(s, (int)i), b);
        }
        rs_buf_printf(b, "}");
        break;
    default:
        rs_buf_printf(b, "?%d", (int)avro_typeof(s));
        break;
    }
}

static rs_err_t load_schema(const char *name, const char *json, const char *want,
                            avro_schema_t *schema, avro_value_iface_t **iface, avro_value_t *val,
                            int *val_ok, char *errstr, size_t errstr_size) {
    rs_buf_t b = {0};
    rs_err_t err = RS_OK;
    if (avro_schema_from_json_length(json, strlen(json), schema)) {
        *schema = NULL;
        err =
            rs_seterr(errstr, errstr_size, RS_ECONF, "avro: schema %s: %s", name, avro_strerror());
        goto out;
    }
    sig(*schema, &b);
    if (strcmp(rs_buf_cstr(&b), want) != 0) {
        err = rs_seterr(errstr, errstr_size, RS_ECONF,
                        "avro: schema %s does not match the decoder: %s", name, b.p);
        goto out;
    }
    if (!iface) goto out; /* checked only: no writer value needed */
    if (!(*iface = avro_generic_class_from_schema(*schema)) ||
        avro_generic_value_new(*iface, val)) {
        err =
            rs_seterr(errstr, errstr_size, RS_ECONF, "avro: schema %s: %s", name, avro_strerror());
        goto out;
    }
    *val_ok = 1;
out:
    rs_buf_free(&b);
    return err;
}

rs_err_t rs_avro_new(rs_avro_t **out, char *errstr, size_t errstr_size) {
    rs_avro_t *a = rs_xcalloc(1, sizeof(*a));
    rs_buf_t want = {0};
    rs_err_t err;
    *out = NULL;

    rs_buf_printf(&want, "{event_id:string,ts_ms:long,user_id:string,item_id:string,type:enum[");
    for (int i = 0; i < RS_EV__COUNT; i++)
        rs_buf_printf(&want, "%s%s", i ? "," : "", rs_evtype_name((rs_evtype_t)i));
    rs_buf_printf(&want, "],session_id:union[null,string],price:union[null,double],"
                         "category:union[null,string],device:union[null,string],"
                         "rec_version:union[null,long]}");
    err = load_schema("event", rs_schema_event_json(), rs_buf_cstr(&want), &a->ev_schema,
                      &a->ev_iface, &a->ev_val, &a->ev_val_ok, errstr, errstr_size);
    if (err) goto fail;
    err = load_schema("recommendation", rs_schema_recommendation_json(),
                      "{user_id:string,version:long,ts_ms:long,created_ms:long,strategy:string,"
                      "items:array<{item_id:string,score:float,reason:string}>}",
                      &a->rec_schema, NULL, NULL, NULL, errstr, errstr_size);
    if (err) goto fail;
    err = load_schema("item", rs_schema_item_json(),
                      "{item_id:string,category:union[null,string],brand:union[null,string],"
                      "price:union[null,double],stock:union[null,long],attributes:map<string>,"
                      "updated_ms:union[null,long]}",
                      &a->item_schema, &a->item_iface, &a->item_val, &a->item_val_ok, errstr,
                      errstr_size);
    if (err) goto fail;
    if (!(a->writer = avro_writer_memory("", 0))) {
        err = rs_seterr(errstr, errstr_size, RS_ENOMEM, "avro: writer: %s", avro_strerror());
        goto fail;
    }
    rs_buf_free(&want);
    *out = a;
    return RS_OK;
fail:
    rs_buf_free(&want);
    rs_avro_destroy(a);
    return err;
}

void rs_avro_destroy(rs_avro_t *a) {
    if (!a) return;
    if (a->writer) avro_writer_free(a->writer);
    if (a->ev_val_ok) avro_value_decref(&a->ev_val);
    if (a->item_val_ok) avro_value_decref(&a->item_val);
    if (a->ev_iface) avro_value_iface_decref(a->ev_iface);
    if (a->item_iface) avro_value_iface_decref(a->item_iface);
    if (a->ev_schema) avro_schema_decref(a->ev_schema);
    if (a->rec_schema) avro_schema_decref(a->rec_schema);
    if (a->item_schema) avro_schema_decref(a->item_schema);
    rs_buf_free(&a->tmp);
    rs_buf_free(&a->akey);
    rs_buf_free(&a->aval);
    free(a);
}

/* ---- encode (Avro C) --------------------------------------------------- */

static int set_str(rs_avro_t *a, avro_value_t *v, rs_str_t s) {
    a->tmp.len = 0;
    rs_buf_append(&a->tmp, s.p ? s.p : "", s.len);
    rs_buf_putc(&a->tmp, '\0');
    return avro_value_set_string_len(v, a->tmp.p, (size_t)s.len + 1);
}

static int field(avro_value_t *rec, size_t i, avro_value_t *f) {
    return avro_value_get_by_index(rec, i, f, NULL);
}

/* Optional field: union [null, T]; returns the T branch in *br, or sets null. */
static int opt(avro_value_t *rec, size_t i, int present, avro_value_t *br) {
    avro_value_t f;
    int rc = field(rec, i, &f);
    if (rc) return rc;
    if (!present) {
        if ((rc = avro_value_set_branch(&f, 0, br))) return rc;
        return avro_value_set_null(br);
    }
    return avro_value_set_branch(&f, 1, br);
}

static rs_err_t write_value(rs_avro_t *a, avro_value_t *v, rs_buf_t *out) {
    size_t sz = 0;
    if (avro_value_sizeof(v, &sz)) return RS_EARG;
    rs_buf_reserve(out, sz);
    avro_writer_memory_set_dest(a->writer, out->p + out->len, (int64_t)sz);
    if (avro_value_write(a->writer, v)) return RS_EARG;
    out->len += sz;
    return RS_OK;
}

/* Fills a->ev_val from ev (shared by the binary encoder and the container
 * file writer); nonzero if the schema cannot carry the event. */
static int fill_event(rs_avro_t *a, const rs_event_t *ev) {
    avro_value_t *v = &a->ev_val, f;
    /* The schema has no null for these: refuse rather than invent values. */
    if ((ev->fields & RS_F_REQUIRED) != RS_F_REQUIRED || (unsigned)ev->type >= RS_EV__COUNT)
        return -1;
    int rc = 0;
    rc = rc || field(v, 0, &f) || set_str(a, &f, ev->event_id);
    rc = rc || field(v, 1, &f) || avro_value_set_long(&f, ev->ts_ms);
    rc = rc || field(v, 2, &f) || set_str(a, &f, ev->user_id);
    rc = rc || field(v, 3, &f) || set_str(a, &f, ev->item_id);
    rc = rc || field(v, 4, &f) || avro_value_set_enum(&f, (int)ev->type);
    int has = (ev->fields & RS_F_SESSION) != 0;
    rc = rc || opt(v, 5, has, &f) || (has && set_str(a, &f, ev->session_id));
    has = (ev->fields & RS_F_PRICE) != 0;
    rc = rc || opt(v, 6, has, &f) || (has && avro_value_set_double(&f, ev->price));
    has = (ev->fields & RS_F_CATEGORY) != 0;
    rc = rc || opt(v, 7, has, &f) || (has && set_str(a, &f, ev->category));
    has = (ev->fields & RS_F_DEVICE) != 0;
    rc = rc || opt(v, 8, has, &f) || (has && set_str(a, &f, ev->device));
    has = (ev->fields & RS_F_REC_VERSION) != 0;
    rc = rc || opt(v, 9, has, &f) || (has && avro_value_set_long(&f, ev->rec_version));
    return rc;
}

rs_err_t rs_avro_encode_event(rs_avro_t *a, const rs_event_t *ev, rs_buf_t *out) {
    if (fill_event(a, ev)) return RS_EARG;
    return write_value(a, &a->ev_val, out);
}

rs_err_t rs_avro_encode_item(rs_avro_t *a, const rs_item_meta_t *m, int64_t updated_ms,
                             rs_buf_t *out) {
    avro_value_t *v = &a->item_val, f, map, el;
    int rc = avro_value_reset(v); /* empties the attributes map */
    rc = rc || field(v, 0, &f) || set_str(a, &f, m->item_id);
    int has = m->category.p != NULL;
    rc = rc || opt(v, 1, has, &f) || (has && set_str(a, &f, m->category));
    has = m->brand.p != NULL;
    rc = rc || opt(v, 2, has, &f) || (has && set_str(a, &f, m->brand));
    has = m->price >= 0;
    rc = rc || opt(v, 3, has, &f) || (has && avro_value_set_double(&f, m->price));
    has = m->stock >= 0;
    rc = rc || opt(v, 4, has, &f) || (has && avro_value_set_long(&f, m->stock));
    rc = rc || field(v, 5, &map);
    const char *ap = m->attrs.p, *aend = ap ? ap + m->attrs.len : NULL;
    int more;
    while (!rc && (more = rs_codec_attr_next(&ap, aend, &a->akey, &a->aval)) != 0) {
        if (more < 0) return RS_EARG;
        rc = avro_value_add(&map, a->akey.p, &el, NULL, NULL) ||
             avro_value_set_string_len(&el, a->aval.p, a->aval.len + 1);
    }
    has = updated_ms >= 0;
    rc = rc || opt(v, 6, has, &f) || (has && avro_value_set_long(&f, updated_ms));
    if (rc) return RS_EARG;
    return write_value(a, v, out);
}

/* ---- decode (hand-written) --------------------------------------------- */

static rs_err_t rd_opt_str(rs_avro_rd_t *r, const char *fname, rs_event_t *ev, uint32_t bit,
                           rs_str_t *out) {
    int present = 0;
    rs_err_t err = rs_avro_rd_opt_str(r, fname, out, &present);
    if (present) ev->fields |= bit;
    return err;
}

#define TRY(e)                                                                                     \
    do {                                                                                           \
        if ((err = (e))) return err;                                                               \
    } while (0)

rs_err_t rs_avro_decode_event(rs_codec_t *c, const uint8_t *p, size_t n, rs_event_t *ev,
                              char *errstr, size_t errstr_size) {
    rs_avro_rd_t r = {p, p + n, p, c, errstr, errstr_size};
    rs_err_t err;
    int64_t t = 0;
    int present = 0;
    TRY(rs_avro_rd_str(&r, "event_id", &ev->event_id));
    TRY(rs_avro_rd_long(&r, "ts_ms", &ev->ts_ms));
    TRY(rs_avro_rd_str(&r, "user_id", &ev->user_id));
    TRY(rs_avro_rd_str(&r, "item_id", &ev->item_id));
    TRY(rs_avro_rd_long(&r, "type", &t));
    if (t < 0 || t >= RS_EV__COUNT) return rs_avro_rd_fail(&r, "enum index out of range", "type");
    ev->type = (rs_evtype_t)t;
    ev->fields |= RS_F_REQUIRED;
    TRY(rd_opt_str(&r, "session_id", ev, RS_F_SESSION, &ev->session_id));
    TRY(rs_avro_rd_branch(&r, "price", &present));
    if (present) {
        TRY(rs_avro_rd_fixed(&r, "price", &ev->price, 8));
        ev->fields |= RS_F_PRICE;
    }
    TRY(rd_opt_str(&r, "category", ev, RS_F_CATEGORY, &ev->category));
    TRY(rd_opt_str(&r, "device", ev, RS_F_DEVICE, &ev->device));
    TRY(rs_avro_rd_branch(&r, "rec_version", &present));
    if (present) {
        TRY(rs_avro_rd_long(&r, "rec_version", &ev->rec_version));
        ev->fields |= RS_F_REC_VERSION;
    }
    return rs_avro_rd_finish(&r);
}

rs_err_t rs_avro_decode_rec(rs_codec_t *c, const uint8_t *p, size_t n, rs_rec_t *rec, char *errstr,
                            size_t errstr_size) {
    rs_avro_rd_t r = {p, p + n, p, c, errstr, errstr_size};
    rs_err_t err;
    size_t cnt = 0;
    TRY(rs_avro_rd_str(&r, "user_id", &rec->user_id));
    TRY(rs_avro_rd_long(&r, "version", &rec->version));
    TRY(rs_avro_rd_long(&r, "ts_ms", &rec->ts_ms));
    TRY(rs_avro_rd_long(&r, "created_ms", &rec->created_ms));
    TRY(rs_avro_rd_str(&r, "strategy", &rec->strategy));
    for (;;) {
        int64_t blk = 0;
        TRY(rs_avro_rd_long(&r, "items", &blk));
        if (blk == 0) break;
        if (blk < 0) { /* negative count: a byte size follows (skippable block) */
            int64_t bytes = 0;
            TRY(rs_avro_rd_long(&r, "items", &bytes));
            if (blk == INT64_MIN || bytes < 0)
                return rs_avro_rd_fail(&r, "bad array block", "items");
            blk = -blk;
        }
        /* An item takes at least 6 bytes (two 1-byte lengths + a float). */
        if ((uint64_t)blk > (uint64_t)(r.end - r.p) / 6 || cnt + (size_t)blk > UINT32_MAX)
            return rs_avro_rd_fail(&r, "array count exceeds the remaining bytes", "items");
        rs_codec_items_reserve(c, cnt + (size_t)blk);
        for (int64_t i = 0; i < blk; i++, cnt++) {
            rs_rec_item_t *it = &c->items[cnt];
            TRY(rs_avro_rd_str(&r, "items.item_id", &it->item_id));
            TRY(rs_avro_rd_fixed(&r, "items.score", &it->score, 4));
            TRY(rs_avro_rd_str(&r, "items.reason", &it->reason));
        }
    }
    rec->items = cnt ? c->items : NULL;
    rec->n_items = (uint32_t)cnt;
    return rs_avro_rd_finish(&r);
}

/* Map<string> flattened into the arena as "k=v;k=v" (escaped, rs_codec.h).
 * Escaping at most doubles each string, and an entry costs its two strings
 * plus at least two length bytes on the wire, which pay for '=' and ';'. */
static rs_err_t rd_attrs(rs_avro_rd_t *r, rs_str_t *out) {
    rs_err_t err;
    size_t cap = 2 * (size_t)(r->end - r->p), o = 0;
    char *dst = rs_codec_room(r->c, cap);
    if (!dst) return rs_avro_rd_fail(r, "scratch arena exhausted", "attributes");
    for (;;) {
        int64_t blk = 0;
        TRY(rs_avro_rd_long(r, "attributes", &blk));
        if (blk == 0) break;
        if (blk < 0) { /* negative count: a byte size follows (skippable block) */
            int64_t bytes = 0;
            TRY(rs_avro_rd_long(r, "attributes", &bytes));
            if (blk == INT64_MIN || bytes < 0)
                return rs_avro_rd_fail(r, "bad map block", "attributes");
            blk = -blk;
        }
        if ((uint64_t)blk > (uint64_t)(r->end - r->p) / 2)
            return rs_avro_rd_fail(r, "map count exceeds the remaining bytes", "attributes");
        for (int64_t i = 0; i < blk; i++) {
            for (int part = 0; part < 2; part++) {
                int64_t n = 0;
                TRY(rs_avro_rd_long(r, "attributes", &n));
                if (n < 0) return rs_avro_rd_fail(r, "negative string length", "attributes");
                if ((uint64_t)n > (uint64_t)(r->end - r->p))
                    return rs_avro_rd_fail(r, "truncated string", "attributes");
                if (o + 2 * (size_t)n + 2 > cap)
                    return rs_avro_rd_fail(r, "scratch arena exhausted", "attributes");
                if (part == 0 && o) dst[o++] = ';';
                o += rs_codec_attr_escape(dst + o, (const char *)r->p, (size_t)n);
                if (part == 0) dst[o++] = '=';
                r->p += n;
            }
        }
    }
    if (o > UINT32_MAX) return rs_avro_rd_fail(r, "attributes too long", "attributes");
    dst[o] = '\0';
    /* give back what the attributes did not use */
    r->c->scratch.len = (size_t)(dst - r->c->scratch.p) + o + 1;
    *out = o ? rs_str(dst, (uint32_t)o) : RS_STR_NULL;
    return RS_OK;
}

static rs_err_t rd_opt_meta_str(rs_avro_rd_t *r, const char *fname, rs_str_t *out) {
    int present = 0;
    rs_err_t err = rs_avro_rd_branch(r, fname, &present);
    if (err || !present) return err;
    return rs_avro_rd_str(r, fname, out);
}

rs_err_t rs_avro_decode_item(rs_codec_t *c, const uint8_t *p, size_t n, rs_item_meta_t *m,
                             char *errstr, size_t errstr_size) {
    rs_avro_rd_t r = {p, p + n, p, c, errstr, errstr_size};
    rs_err_t err;
    int present = 0;
    int64_t updated;
    m->price = -INFINITY;
    m->stock = INT64_MIN;
    TRY(rs_avro_rd_str(&r, "item_id", &m->item_id));
    TRY(rd_opt_meta_str(&r, "category", &m->category));
    TRY(rd_opt_meta_str(&r, "brand", &m->brand));
    TRY(rs_avro_rd_branch(&r, "price", &present));
    if (present) TRY(rs_avro_rd_fixed(&r, "price", &m->price, 8));
    TRY(rs_avro_rd_branch(&r, "stock", &present));
    if (present) TRY(rs_avro_rd_long(&r, "stock", &m->stock));
    TRY(rd_attrs(&r, &m->attrs));
    TRY(rs_avro_rd_branch(&r, "updated_ms", &present));
    if (present) TRY(rs_avro_rd_long(&r, "updated_ms", &updated));
    return rs_avro_rd_finish(&r);
}

/* ---- object container files (rs_fileio.h) ------------------------------
 * Writing goes through Avro C's file writer (below); reading is in
 * rs_avro_file.c, which checks every length before Avro C decodes. */

static int64_t file_long(const unsigned char **p, const unsigned char *end) {
    uint64_t v = 0;
    for (int shift = 0; *p < end && shift < 64; shift += 7) {
        unsigned char b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
    }
    *p = end;
    return 0;
}

/* Avro C draws the container's sync marker from srand(time(NULL)), so two
 * runs a second apart differ. Rewrite it (header and every block end) with
 * a fixed marker: the same events give the same bytes. */
static rs_err_t fix_sync(const char *path) {
    static const unsigned char mark[16] = "recstream-sync-1";
    FILE *f = fopen(path, "r+b");
    if (!f) return RS_EIO;
    rs_buf_t b = {0};
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) rs_buf_append(&b, chunk, got);
    const unsigned char *p = (const unsigned char *)b.p, *end = p + b.len;
    rs_err_t rc = RS_EIO;
    if (b.len < 4 + 1 + 16 || memcmp(p, "Obj\x01", 4)) goto out;
    p += 4;
    for (int64_t cnt; p < end && (cnt = file_long(&p, end)) != 0;) {
        if (cnt < 0) cnt = -cnt, file_long(&p, end); /* block byte size */
        for (int64_t i = 0; i < 2 * cnt && p < end; i++) {
            int64_t len = file_long(&p, end);
            if (len < 0 || len > end - p) goto out;
            p += len;
        }
    }
    if (end - p < 16) goto out;
    unsigned char sync[16];
    memcpy(sync, p, 16);
    for (unsigned char *q = (unsigned char *)b.p; q + 16 <= (unsigned char *)end; q++)
        if (!memcmp(q, sync, 16)) memcpy(q, mark, 16), q += 15;
    rc = fseek(f, 0, SEEK_SET) || fwrite(b.p, 1, b.len, f) != b.len ? RS_EIO : RS_OK;
out:
    if (fclose(f)) rc = RS_EIO;
    rs_buf_free(&b);
    return rc;
}

rs_err_t rs_avro_file_write_events(const char *path, const rs_event_t *evs, size_t n, int deflate,
                                   char *errstr, size_t errstr_size) {
    rs_avro_t *a = NULL;
    avro_file_writer_t w = NULL;
    rs_err_t err = rs_avro_new(&a, errstr, errstr_size);
    if (err) return err;
    remove(path); /* Avro C refuses to create over an existing file */
    if (avro_file_writer_create_with_codec(path, a->ev_schema, &w, deflate ? "deflate" : "null",
                                           64 * 1024)) {
        err = rs_seterr(errstr, errstr_size, RS_EIO, "%s: %s", path, avro_strerror());
        w = NULL;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (fill_event(a, &evs[i])) {
            err = rs_seterr(errstr, errstr_size, RS_EARG,
                            "event %zu: a required field is missing or the type is unknown", i);
            goto out;
        }
        if (avro_file_writer_append_value(w, &a->ev_val)) {
            err = rs_seterr(errstr, errstr_size, RS_EIO, "%s: %s", path, avro_strerror());
            goto out;
        }
    }
out:
    if (w && avro_file_writer_close(w) && !err)
        err = rs_seterr(errstr, errstr_size, RS_EIO, "%s: %s", path, avro_strerror());
    if (w && !err && fix_sync(path))
        err = rs_seterr(errstr, errstr_size, RS_EIO, "%s: rewriting the sync marker failed", path);
    if (err) remove(path);
    rs_avro_destroy(a);
    return err;
}
