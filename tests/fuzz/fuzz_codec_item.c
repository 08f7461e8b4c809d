/* fuzz_codec_item.c -- rs_codec_decode_item: catalog records from the
 * compacted items topic (schemas/item.avsc), in every format.
 *
 * Input: byte 0 picks the format (% 4: AUTO, JSON, AVRO, CONFLUENT; seeds
 * use '0'..'3'), the rest is the record value. Checked:
 *   - a failure is RS_EDECODE with the layer prefix ("json: ", "avro: ",
 *     "confluent: ");
 *   - decoded strings are readable and NUL-terminated, deleted is never set,
 *     an Avro record always has its item_id;
 *   - the flattened attributes split back into pairs (rs_codec_attr_next),
 *     which is what rs_state and the encoders do with them;
 *   - round trip in the same format when the encoder can carry the record
 *     (price/stock unknown or >= 0; Avro: map keys unique and without NUL). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rs_codec_int.h"
#include "fuzz_util.h"
#include "recstream/rs_codec.h"

#define MAX_PAIRS 64 /* round trip only small maps: the uniqueness check is quadratic */

static rs_codec_t *codec, *codec2;
static rs_buf_t enc, key, val;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Frees the long-lived state at exit, so LeakSanitizer only reports
 * what a decode itself leaks. */
static void cleanup(void) {
    rs_codec_destroy(codec);
    rs_codec_destroy(codec2);
    rs_buf_free(&enc);
    rs_buf_free(&key);
    rs_buf_free(&val);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    char err[256];
    FZ_CHECK(!rs_codec_new(&codec, err, sizeof(err)), "%s", err);
    FZ_CHECK(!rs_codec_new(&codec2, err, sizeof(err)), "%s", err);
    atexit(cleanup);
    return 0;
}

static int str_eq(rs_str_t a, rs_str_t b) {
    if (!a.p || !b.p) return !a.p && !b.p;
    return a.len == b.len && !memcmp(a.p, b.p, a.len);
}

static void check_str(rs_str_t s, const char *name) {
    if (!s.p) {
        FZ_CHECK(s.len == 0, "%s: NULL with length %u", name, s.len);
        return;
    }
    fz_touch(s.p, s.len);
    FZ_CHECK(s.p[s.len] == '\0', "%s not NUL-terminated", name);
}

/* Splits the attributes; returns the number of pairs, or -1 if the Avro
 * encoder could not carry them back unchanged (a key with a NUL byte or a
 * repeated key: Avro C's map cuts or merges them) or the map is too large
 * for the quadratic uniqueness check (or has keys over 31 bytes). */
static int walk_attrs(rs_str_t attrs) {
    const char *p = attrs.p, *end = p ? p + attrs.len : NULL;
    char keys[MAX_PAIRS][32];
    size_t klen[MAX_PAIRS];
    int n = 0, ok = 1, more;
    while ((more = rs_codec_attr_next(&p, end, &key, &val)) != 0) {
        FZ_CHECK(more == 1, "attributes \"%.*s\" do not split into pairs", (int)attrs.len, attrs.p);
        fz_touch(val.p, val.len);
        if (n >= MAX_PAIRS || key.len >= sizeof(keys[0]) || memchr(key.p, '\0', key.len)) ok = 0;
        for (int i = 0; ok && i < n; i++)
            if (klen[i] == key.len && !memcmp(keys[i], key.p, key.len)) ok = 0;
        if (ok) {
            memcpy(keys[n], key.p, key.len);
            klen[n] = key.len;
        }
        n++;
    }
    return ok ? n : -1;
}

static void round_trip(const rs_item_meta_t *m, rs_format_t fmt) {
    rs_item_meta_t back;
    char err[256];
    rs_buf_reset(&enc);
    rs_err_t rc = rs_codec_encode_item(codec2, m, -1, fmt, 3, &enc);
    FZ_CHECK(!rc, "encode %d failed: %d", (int)fmt, rc);
    rc = rs_codec_decode_item(codec2, enc.p, enc.len, fmt, &back, err, sizeof(err));
    FZ_CHECK(!rc, "re-decode %d failed: %s (%.*s)", (int)fmt, err, (int)enc.len, enc.p);
    FZ_CHECK(str_eq(m->item_id, back.item_id) && str_eq(m->category, back.category) &&
                 str_eq(m->brand, back.brand) && str_eq(m->attrs, back.attrs),
             "format %d round trip changed a string", (int)fmt);
    FZ_CHECK(m->price == back.price && m->stock == back.stock,
             "format %d round trip changed price/stock", (int)fmt);
}

static rs_format_t detect(const uint8_t *p, size_t n) {
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r')) i++;
    if (i < n && p[i] == '{') return RS_FMT_JSON;
    return n >= 5 && p[0] == 0 ? RS_FMT_CONFLUENT : RS_FMT_AVRO;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t sel;
    if (!fz_take_byte(&data, &size, &sel)) return 0;
    rs_format_t fmt = (rs_format_t)(sel % 4), eff = fmt == RS_FMT_AUTO ? detect(data, size) : fmt;
    rs_item_meta_t m;
    char err[256] = "";
    rs_err_t rc = rs_codec_decode_item(codec, data, size, fmt, &m, err, sizeof(err));
    if (rc) {
        FZ_CHECK(rc == RS_EDECODE, "rc %d", rc);
        int ok = eff == RS_FMT_JSON
                     ? !strncmp(err, "json: ", 6)
                     : !strncmp(err, "avro: ", 6) ||
                           (eff == RS_FMT_CONFLUENT && !strncmp(err, "confluent: ", 11));
        FZ_CHECK(ok, "format %d: reason \"%s\" lacks its layer prefix", (int)eff, err);
        return 0;
    }
    check_str(m.item_id, "item_id");
    check_str(m.category, "category");
    check_str(m.brand, "brand");
    check_str(m.attrs, "attributes");
    FZ_CHECK(!m.deleted, "decoded record marked deleted");
    if (eff != RS_FMT_JSON) FZ_CHECK(m.item_id.p != NULL, "Avro record without item_id");
    FZ_CHECK(!m.attrs.p || m.attrs.len > 0, "empty attributes must be RS_STR_NULL");
    int pairs = walk_attrs(m.attrs);

    int price_ok = m.price == -INFINITY || (m.price >= 0 && isfinite(m.price));
    int stock_ok = m.stock == INT64_MIN || m.stock >= 0;
    if (!m.item_id.p || !price_ok || !stock_ok) return 0;
    if (eff == RS_FMT_JSON)
        round_trip(&m, RS_FMT_JSON); /* jansson: unique keys, valid UTF-8, no NUL */
    else if (pairs >= 0)
        round_trip(&m, RS_FMT_AVRO);
    return 0;
}
