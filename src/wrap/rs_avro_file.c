/* rs_avro_file.c -- reading Avro object container files of events
 * (rs_fileio.h: replay/eval input). Writing them stays in rs_avro.c.
 *
 * The container (header, blocks, sync markers, deflate) is parsed here and
 * Avro C only decodes records from memory that has been checked. Avro C
 * 1.11's own file reader trusts every length in the file: a string length
 * of -1 makes it write one byte before a malloc(0) block, other negative
 * lengths and block sizes ask for up to 2^64 bytes before reading anything,
 * a deflate block inflates without limit, and its header error paths leak.
 * So, before anything is allocated from a length:
 *   - header: magic, metadata map (counts and lengths >= 0 and within the
 *     bytes left, keys <= 1 KiB, values <= 1 MiB), avro.codec "null" or
 *     "deflate", avro.schema parses and resolves to schemas/event.avsc, and
 *     the 16-byte sync marker;
 *   - each block: object count >= 1 and <= its decoded bytes, byte size >= 0,
 *     <= the bytes left before the sync marker and <= 64 MiB, the marker equal
 *     to the header's; deflate inflated here, capped at 64 MiB;
 *   - each block's records walked with the writer schema: string/bytes
 *     lengths, union and enum indexes, array/map counts (at most one item per
 *     byte of the block in all), nesting <= 64, records filling the block
 *     exactly. Avro C then decodes (through the schema resolver when the
 *     writer schema is not ours) what the walk accepted.
 * Errors are RS_EDECODE "path: offset N: what" (N = byte offset in the file
 * of the header field or block) and leave nothing allocated.
 *
 * zlib: libavro uses it but our link line does not name it (-lz), so
 * inflateInit2_/inflate/inflateEnd are found with dlsym in the libz that
 * libavro loaded; without them a deflate file is a clear error. */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <avro.h>
#include <zlib.h>

#include "wrap/rs_json_doc.h"
#include "recstream/rs_buf.h"
#include "recstream/rs_codec.h"
#include "recstream/rs_fileio.h"

#define MAX_KEY   (1u << 10)  /* metadata key */
#define MAX_META  (1u << 20)  /* metadata value (the schema) */
#define MAX_BLOCK (64u << 20) /* a block, compressed or inflated */
#define MAX_DEPTH 64          /* schema nesting the record walk follows */
#define SYNC      16

enum { CODEC_NULL, CODEC_DEFLATE };

struct rs_avro_file {
    char *path;
    FILE *fp;
    uint64_t off, size; /* size: UINT64_MAX when unknown (not a regular file) */
    uint64_t n;         /* records returned */
    int codec;
    unsigned char sync[SYNC];
    avro_schema_t ev_schema, ws;
    avro_value_iface_t *ev_iface, *resolver;
    avro_value_t ev_val, rval;
    int ev_val_ok, rval_ok;
    avro_reader_t mem; /* over the current block's records */
    rs_buf_t raw, dec; /* block as read, inflated block */
    int64_t left;      /* records left in the current block */
    uint64_t blk_off;  /* offset of the current block */
    char why[512];     /* the last error, "path: offset N: ..." */
};

static rs_err_t bad(rs_avro_file_t *f, uint64_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static rs_err_t bad(rs_avro_file_t *f, uint64_t off, const char *fmt, ...) {
    char why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    snprintf(f->why, sizeof(f->why), "%s: offset %llu: %s", f->path, (unsigned long long)off, why);
    return RS_EDECODE;
}

static uint64_t left(const rs_avro_file_t *f) {
    return f->size == UINT64_MAX ? UINT64_MAX : f->size - f->off;
}

/* ---- reading the file ---------------------------------------------------- */

static int rd(rs_avro_file_t *f, void *p, size_t n) {
    if (n && fread(p, 1, n, f->fp) != n) return -1;
    f->off += n;
    return 0;
}

/* Avro's zig-zag varint as Avro C reads it (at most 10 bytes). 0 or -1. */
static int rd_long(rs_avro_file_t *f, int64_t *out) {
    uint64_t v = 0;
    for (int i = 0; i < 10; i++) {
        int c = getc(f->fp);
        if (c == EOF) return -1;
        f->off++;
        v |= (uint64_t)(c & 0x7f) << (7 * i);
        if (!(c & 0x80)) {
            *out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
            return 0;
        }
    }
    return -1;
}

/* A length-prefixed string or bytes of at most max bytes into b. */
static rs_err_t rd_bytes(rs_avro_file_t *f, rs_buf_t *b, uint64_t max, const char *what) {
    uint64_t at = f->off;
    int64_t len;
    if (rd_long(f, &len)) return bad(f, at, "%s: truncated or bad length", what);
    if (len < 0) return bad(f, at, "%s: negative length %lld", what, (long long)len);
    if ((uint64_t)len > left(f))
        return bad(f, at, "%s: length %lld, but %llu bytes left in the file", what, (long long)len,
                   (unsigned long long)left(f));
    if ((uint64_t)len > max)
        return bad(f, at, "%s: length %lld, more than the %llu allowed", what, (long long)len,
                   (unsigned long long)max);
    rs_buf_reset(b);
    rs_buf_reserve(b, (size_t)len + 1);
    if (rd(f, b->p, (size_t)len)) return bad(f, at, "%s: truncated", what);
    b->len = (size_t)len;
    b->p[len] = '\0';
    return RS_OK;
}

/* Header: magic, metadata map, sync marker. Leaves the codec and the
 * writer schema (parsed) in f. */
static rs_err_t rd_header(rs_avro_file_t *f) {
    unsigned char magic[4];
    rs_buf_t key = {0}, val = {0}, schema = {0}, codec = {0};
    int have_schema = 0, have_codec = 0;
    rs_err_t err = RS_OK;
    if (rd(f, magic, 4) || memcmp(magic, "Obj\x01", 4)) {
        err = bad(f, 0, "not an Avro container file (no Obj\\x01 magic)");
        goto out;
    }
    for (;;) {
        uint64_t at = f->off;
        int64_t count, bytes;
        if (rd_long(f, &count)) {
            err = bad(f, at, "header: truncated or bad metadata count");
            goto out;
        }
        if (!count) break;
        if (count < 0) { /* a negative count is followed by the block's byte size */
            if (count == INT64_MIN || rd_long(f, &bytes) || bytes < 0 ||
                (uint64_t)bytes > left(f)) {
                err = bad(f, at, "header: bad metadata block (count %lld)", (long long)count);
                goto out;
            }
            count = -count;
        }
        if ((uint64_t)count > left(f) / 2) { /* an entry takes two bytes at least */
            err = bad(f, at, "header: metadata count %lld, but %llu bytes left in the file",
                      (long long)count, (unsigned long long)left(f));
            goto out;
        }
        for (int64_t i = 0; i < count; i++) {
            if ((err = rd_bytes(f, &key, MAX_KEY, "header: metadata key")) ||
                (err = rd_bytes(f, &val, MAX_META, "header: metadata value")))
                goto out;
            rs_buf_t *dst = !strcmp(key.p, "avro.schema")  ? &schema
                            : !strcmp(key.p, "avro.codec") ? &codec
                                                           : NULL;
            if (!dst) continue;
            rs_buf_reset(dst); /* a repeated key: the last one counts, as in Avro C */
            rs_buf_append(dst, val.p, val.len);
            *(dst == &schema ? &have_schema : &have_codec) = 1;
        }
    }
    uint64_t at = f->off;
    if (!have_codec || (codec.len == 4 && !memcmp(codec.p, "null", 4)))
        f->codec = CODEC_NULL; /* the spec's default */
    else if (codec.len == 7 && !memcmp(codec.p, "deflate", 7))
        f->codec = CODEC_DEFLATE;
    else {
        err = bad(f, at, "header: codec \"%.*s\" is not supported (null or deflate)",
                  (int)(codec.len > 32 ? 32 : codec.len), codec.len ? codec.p : "");
        goto out;
    }
    if (!have_schema) {
        err = bad(f, at, "header: no avro.schema");
        goto out;
    }
    char dup[128];
    if (rs_json_avro_dup_name(schema.p, schema.len, dup, sizeof(dup))) {
        err = bad(f, at, "header: writer schema defines %s twice", dup);
        goto out;
    }
    if (avro_schema_from_json_length(schema.p, schema.len, &f->ws)) {
        f->ws = NULL;
        err = bad(f, at, "header: writer schema: %s", avro_strerror());
        goto out;
    }
    if (rd(f, f->sync, SYNC)) err = bad(f, at, "header: truncated before the sync marker");
out:
    rs_buf_free(&key);
    rs_buf_free(&val);
    rs_buf_free(&schema);
    rs_buf_free(&codec);
    return err;
}

/* ---- deflate (zlib from libavro's dependency, see the note on top) ------- */

static struct {
    int (*init)(z_streamp, int, const char *, int);
    int (*inflate)(z_streamp, int);
    int (*end)(z_streamp);
} zl;
static pthread_once_t zl_once = PTHREAD_ONCE_INIT;

static void zl_load(void) {
    *(void **)&zl.init = dlsym(RTLD_DEFAULT, "inflateInit2_");
    *(void **)&zl.inflate = dlsym(RTLD_DEFAULT, "inflate");
    *(void **)&zl.end = dlsym(RTLD_DEFAULT, "inflateEnd");
}

/* Raw deflate (Avro: RFC 1951, no zlib header) of in into out, at most
 * MAX_BLOCK bytes. NULL or the reason. */
static const char *inflate_block(const rs_buf_t *in, rs_buf_t *out) {
    pthread_once(&zl_once, zl_load);
    if (!zl.init || !zl.inflate || !zl.end) return "deflate: zlib is not available";
    z_stream s;
    memset(&s, 0, sizeof(s));
    if (zl.init(&s, -15, ZLIB_VERSION, (int)sizeof(s)) != Z_OK) return "deflate: zlib init failed";
    const char *why = NULL;
    rs_buf_reset(out);
    s.next_in = (Bytef *)in->p;
    s.avail_in = (uInt)in->len;
    for (;;) {
        if (out->len == MAX_BLOCK) {
            why = "deflate: the block inflates to more than 64 MiB";
            break;
        }
        size_t room = out->len + 65536 > MAX_BLOCK ? MAX_BLOCK - out->len : 65536;
        rs_buf_reserve(out, room);
        s.next_out = (Bytef *)out->p + out->len;
        s.avail_out = (uInt)room;
        int rc = zl.inflate(&s, Z_NO_FLUSH);
        out->len += room - s.avail_out;
        if (rc == Z_STREAM_END) break;
        if (rc != Z_OK || (!s.avail_in && s.avail_out)) {
            why =
                rc == Z_OK || rc == Z_BUF_ERROR ? "deflate: truncated stream" : "deflate: bad data";
            break;
        }
    }
    zl.end(&s);
    return why;
}

/* ---- the record walk ------------------------------------------------------ */

typedef struct {
    const unsigned char *p, *end;
    uint64_t items; /* array/map items still allowed in this block */
} walk_t;

static int w_long(walk_t *w, int64_t *out) {
    uint64_t v = 0;
    for (int i = 0; i < 10 && w->p < w->end; i++) {
        unsigned char c = *w->p++;
        v |= (uint64_t)(c & 0x7f) << (7 * i);
        if (!(c & 0x80)) {
            *out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
            return 0;
        }
    }
    return -1;
}

static const char *w_skip(walk_t *w, uint64_t n) {
    if (n > (uint64_t)(w->end - w->p)) return "a length runs past the end of the block";
    w->p += n;
    return NULL;
}

static const char *w_str(walk_t *w) {
    int64_t n;
    if (w_long(w, &n)) return "bad length";
    if (n < 0) return "negative string or bytes length";
    return w_skip(w, (uint64_t)n);
}

/* Skips one value of schema s; NULL or the reason it cannot be decoded. */
static const char *walk(walk_t *w, avro_schema_t s, int depth) {
    int64_t v;
    const char *why;
    if (depth > MAX_DEPTH) return "values nested deeper than 64 levels";
    switch (avro_typeof(s)) {
    case AVRO_NULL:
        return NULL;
    case AVRO_BOOLEAN:
        return w_skip(w, 1);
    case AVRO_FLOAT:
        return w_skip(w, 4);
    case AVRO_DOUBLE:
        return w_skip(w, 8);
    case AVRO_INT32:
    case AVRO_INT64:
        return w_long(w, &v) ? "bad varint" : NULL;
    case AVRO_STRING:
    case AVRO_BYTES:
        return w_str(w);
    case AVRO_FIXED:
        return w_skip(w, (uint64_t)avro_schema_fixed_size(s));
    case AVRO_ENUM:
        if (w_long(w, &v)) return "bad enum index";
        return v < 0 || v >= avro_schema_enum_number_of_symbols(s) ? "enum index out of range"
                                                                   : NULL;
    case AVRO_UNION:
        if (w_long(w, &v)) return "bad union index";
        if (v < 0 || (uint64_t)v >= avro_schema_union_size(s)) return "union index out of range";
        return walk(w, avro_schema_union_branch(s, (int)v), depth + 1);
    case AVRO_RECORD:
        for (size_t i = 0; i < avro_schema_record_size(s); i++)
            if ((why = walk(w, avro_schema_record_field_get_by_index(s, (int)i), depth + 1)))
                return why;
        return NULL;
    case AVRO_LINK:
        return walk(w, avro_schema_link_target(s), depth + 1);
    case AVRO_ARRAY:
    case AVRO_MAP: {
        int is_map = avro_typeof(s) == AVRO_MAP;
        avro_schema_t item = is_map ? avro_schema_map_values(s) : avro_schema_array_items(s);
        for (;;) {
            int64_t count, bytes;
            if (w_long(w, &count)) return "bad array or map count";
            if (!count) return NULL;
            if (count < 0) {
                if (count == INT64_MIN || w_long(w, &bytes) || bytes < 0 || bytes > w->end - w->p)
                    return "bad array or map block size";
                count = -count;
            }
            /* items may take no bytes (null): bound them by the block's size */
            if ((uint64_t)count > w->items) return "more array or map items than the block holds";
            w->items -= (uint64_t)count;
            for (int64_t i = 0; i < count; i++) {
                if (is_map && (why = w_str(w))) return why;
                if ((why = walk(w, item, depth + 1))) return why;
            }
        }
    }
    default:
        return "unsupported type in the writer schema";
    }
}

/* ---- blocks ---------------------------------------------------------------- */

/* Reads, checks and decodes the next block. 1 = records ready, 0 = end of
 * file, RS_EDECODE (f->why). */
static int next_block(rs_avro_file_t *f) {
    uint64_t at = f->off;
    int64_t count, size;
    if (f->size == UINT64_MAX) {
        int c = getc(f->fp);
        if (c == EOF) return 0;
        ungetc(c, f->fp);
    } else if (!left(f)) {
        return 0;
    }
    if (rd_long(f, &count)) return bad(f, at, "block: truncated or bad object count");
    if (rd_long(f, &size)) return bad(f, at, "block: truncated or bad byte size");
    if (count < 1) return bad(f, at, "block: object count %lld", (long long)count);
    if (size < 0) return bad(f, at, "block: negative byte size %lld", (long long)size);
    if ((uint64_t)size > left(f) || left(f) - (uint64_t)size < SYNC)
        return bad(f, at,
                   "block: byte size %lld, but %llu bytes left in the file for it and "
                   "its sync marker",
                   (long long)size, (unsigned long long)left(f));
    if ((uint64_t)size > MAX_BLOCK)
        return bad(f, at, "block: byte size %lld, more than the 64 MiB allowed", (long long)size);
    rs_buf_reset(&f->raw);
    rs_buf_reserve(&f->raw, (size_t)size + SYNC);
    unsigned char *sync = (unsigned char *)f->raw.p + size;
    if (rd(f, f->raw.p, (size_t)size + SYNC)) return bad(f, at, "block: truncated");
    f->raw.len = (size_t)size;
    if (memcmp(sync, f->sync, SYNC))
        return bad(f, f->off - SYNC, "sync marker differs from the header's");
    const rs_buf_t *data = &f->raw;
    if (f->codec == CODEC_DEFLATE) {
        const char *why = inflate_block(&f->raw, &f->dec);
        if (why) return bad(f, at, "block: %s", why);
        data = &f->dec;
    }
    if ((uint64_t)count > data->len)
        return bad(f, at, "block: object count %lld, more than its %zu bytes", (long long)count,
                   data->len);
    walk_t w = {(const unsigned char *)data->p, (const unsigned char *)data->p + data->len,
                data->len};
    for (int64_t i = 0; i < count; i++) {
        const char *why = walk(&w, f->ws, 0);
        if (why)
            return bad(f, at, "block: record %lld of %lld: %s", (long long)i + 1, (long long)count,
                       why);
    }
    if (w.p != w.end)
        return bad(f, at, "block: %zu bytes left after its %lld records", (size_t)(w.end - w.p),
                   (long long)count);
    avro_reader_memory_set_source(f->mem, data->p, (int64_t)data->len);
    f->left = count;
    f->blk_off = at;
    return 1;
}

/* ---- public ---------------------------------------------------------------- */

rs_err_t rs_avro_file_open(rs_avro_file_t **out, const char *path, char *errstr,
                           size_t errstr_size) {
    rs_avro_file_t *f = rs_xcalloc(1, sizeof(*f));
    rs_err_t err;
    *out = NULL;
    f->path = rs_xstrdup(path);
    if (!(f->fp = fopen(path, "rb"))) {
        err = rs_seterr(errstr, errstr_size, RS_EIO, "%s: %s", path, strerror(errno));
        goto fail;
    }
    struct stat sb;
    f->size = !fstat(fileno(f->fp), &sb) && S_ISREG(sb.st_mode) ? (uint64_t)sb.st_size : UINT64_MAX;
    const char *ev_json = rs_schema_event_json();
    if (avro_schema_from_json_length(ev_json, strlen(ev_json), &f->ev_schema) ||
        !(f->ev_iface = avro_generic_class_from_schema(f->ev_schema)) ||
        avro_generic_value_new(f->ev_iface, &f->ev_val) || !(f->mem = avro_reader_memory("", 0))) {
        err = rs_seterr(errstr, errstr_size, RS_ENOMEM, "avro: event schema: %s", avro_strerror());
        goto fail;
    }
    f->ev_val_ok = 1;
    if (rd_header(f)) {
        err = rs_seterr(errstr, errstr_size, RS_EDECODE, "%s", f->why);
        goto fail;
    }
    if (!avro_schema_equal(f->ws, f->ev_schema)) {
        if (!(f->resolver = avro_resolved_writer_new(f->ws, f->ev_schema)) ||
            avro_resolved_writer_new_value(f->resolver, &f->rval)) {
            err = rs_seterr(errstr, errstr_size, RS_EDECODE,
                            "%s: file schema does not resolve to the event schema: %s", path,
                            avro_strerror());
            goto fail;
        }
        f->rval_ok = 1;
        avro_resolved_writer_set_dest(&f->rval, &f->ev_val);
    }
    *out = f;
    return RS_OK;
fail:
    rs_avro_file_close(f);
    return err;
}

void rs_avro_file_close(rs_avro_file_t *f) {
    if (!f) return;
    if (f->rval_ok) avro_value_decref(&f->rval);
    if (f->resolver) avro_value_iface_decref(f->resolver);
    if (f->ev_val_ok) avro_value_decref(&f->ev_val);
    if (f->ev_iface) avro_value_iface_decref(f->ev_iface);
    if (f->ev_schema) avro_schema_decref(f->ev_schema);
    if (f->ws) avro_schema_decref(f->ws);
    if (f->mem) avro_reader_free(f->mem);
    if (f->fp) fclose(f->fp);
    rs_buf_free(&f->raw);
    rs_buf_free(&f->dec);
    free(f->path);
    free(f);
}

static int field(avro_value_t *rec, size_t i, avro_value_t *out) {
    return avro_value_get_by_index(rec, i, out, NULL);
}

/* String view into the generic value (valid until the next read). */
static int get_str(avro_value_t *v, rs_str_t *out) {
    const char *s;
    size_t sz;
    if (avro_value_get_string(v, &s, &sz)) return -1;
    *out = rs_str(s, sz ? (uint32_t)(sz - 1) : 0); /* Avro C counts the NUL */
    return 0;
}

/* Union [null, T]: 1 with the T branch in *br, 0 for null, -1 on error. */
static int get_opt(avro_value_t *rec, size_t i, avro_value_t *br) {
    avro_value_t u;
    int d;
    if (field(rec, i, &u) || avro_value_get_discriminant(&u, &d) ||
        avro_value_get_current_branch(&u, br))
        return -1;
    return d == 1;
}

int rs_avro_file_next(rs_avro_file_t *f, rs_event_t *ev, char *errstr, size_t errstr_size) {
    avro_value_t *v = &f->ev_val, x;
    if (f->left < 0) return rs_seterr(errstr, errstr_size, RS_EDECODE, "%s", f->why);
    if (!f->left) {
        int rc = next_block(f);
        if (rc <= 0) {
            if (rc) f->left = -1; /* corrupt from here on: keep answering the same */
            return rc ? rs_seterr(errstr, errstr_size, RS_EDECODE, "%s", f->why) : 0;
        }
    }
    int rc = avro_value_read(f->mem, f->resolver ? &f->rval : v);
    memset(ev, 0, sizeof(*ev));
    int e, p;
    rc = rc || field(v, 0, &x) || get_str(&x, &ev->event_id);
    rc = rc || field(v, 1, &x) || avro_value_get_long(&x, &ev->ts_ms);
    rc = rc || field(v, 2, &x) || get_str(&x, &ev->user_id);
    rc = rc || field(v, 3, &x) || get_str(&x, &ev->item_id);
    rc = rc || field(v, 4, &x) || avro_value_get_enum(&x, &e);
    if (!rc) {
        ev->type = e >= 0 && e < RS_EV__COUNT ? (rs_evtype_t)e : RS_EV_UNKNOWN;
        ev->fields = RS_F_REQUIRED;
    }
    /* optional fields: p = 1 present (branch in x), 0 null, -1 error */
    if (!rc && (p = get_opt(v, 5, &x)) != 0) {
        rc = p < 0 || get_str(&x, &ev->session_id);
        ev->fields |= RS_F_SESSION;
    }
    if (!rc && (p = get_opt(v, 6, &x)) != 0) {
        rc = p < 0 || avro_value_get_double(&x, &ev->price);
        ev->fields |= RS_F_PRICE;
    }
    if (!rc && (p = get_opt(v, 7, &x)) != 0) {
        rc = p < 0 || get_str(&x, &ev->category);
        ev->fields |= RS_F_CATEGORY;
    }
    if (!rc && (p = get_opt(v, 8, &x)) != 0) {
        rc = p < 0 || get_str(&x, &ev->device);
        ev->fields |= RS_F_DEVICE;
    }
    if (!rc && (p = get_opt(v, 9, &x)) != 0) {
        rc = p < 0 || avro_value_get_long(&x, &ev->rec_version);
        ev->fields |= RS_F_REC_VERSION;
    }
    if (rc) {
        bad(f, f->blk_off, "block: record %llu of the file: %s", (unsigned long long)f->n + 1,
            avro_strerror());
        f->left = -1;
        return rs_seterr(errstr, errstr_size, RS_EDECODE, "%s", f->why);
    }
    f->left--;
    f->n++;
    return 1;
}

uint64_t rs_avro_file_records(const rs_avro_file_t *f) {
    return f->n;
}
uint64_t rs_avro_file_offset(const rs_avro_file_t *f) {
    return f->off;
}
uint64_t rs_avro_file_size(const rs_avro_file_t *f) {
    return f->size == UINT64_MAX ? 0 : f->size;
}
