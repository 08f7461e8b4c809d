/* fuzz_codec_rec.c -- rs_codec_decode_rec (recommendation lists read back
 * from the recommendations topic: replay --topic ranges, tests, diff) and
 * rs_json_rec_line (the replay's --emit-jsonl lines that `recstream diff`
 * reads).
 *
 * Input: byte 0 % 5 picks AUTO, JSON, AVRO, CONFLUENT or (4) one output
 * line for rs_json_rec_line; seeds use '0'..'4'. Checked:
 *   - failures are RS_EDECODE with the layer prefix;
 *   - every decoded string is readable and NUL-terminated, items point at
 *     n_items readable entries;
 *   - a decoded list re-encoded in its format decodes back equal (JSON:
 *     when every score is finite or null, which is all JSON can carry);
 *   - rs_json_rec_line: 1/0/RS_EDECODE only, and *n_items equals the
 *     NUL-separated ids in the items buffer. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "recstream/rs_codec.h"
#include "recstream/rs_fileio.h"

static rs_codec_t *codec, *codec2;
static rs_buf_t enc, user, items;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Frees the long-lived state at exit, so LeakSanitizer only reports
 * what a decode itself leaks. */
static void cleanup(void) {
    rs_codec_destroy(codec);
    rs_codec_destroy(codec2);
    rs_buf_free(&enc);
    rs_buf_free(&user);
    rs_buf_free(&items);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    char err[256];
    FZ_CHECK(!rs_codec_new(&codec, err, sizeof(err)), "%s", err);
    FZ_CHECK(!rs_codec_new(&codec2, err, sizeof(err)), "%s", err);
    atexit(cleanup);
    return 0;
}

static int str_eq(rs_str_t a, rs_str_t b) {
    return a.len == b.len && (!a.len || !memcmp(a.p, b.p, a.len));
}

static void check_str(rs_str_t s, const char *name) {
    FZ_CHECK(s.p != NULL, "%s is NULL", name);
    fz_touch(s.p, s.len);
    FZ_CHECK(s.p[s.len] == '\0', "%s not NUL-terminated", name);
}

static int score_eq(float a, float b) {
    return a == b || (isnan(a) && isnan(b));
}

static int rec_eq(const rs_rec_t *a, const rs_rec_t *b) {
    if (!str_eq(a->user_id, b->user_id) || !str_eq(a->strategy, b->strategy) ||
        a->version != b->version || a->ts_ms != b->ts_ms || a->created_ms != b->created_ms ||
        a->n_items != b->n_items)
        return 0;
    for (uint32_t i = 0; i < a->n_items; i++)
        if (!str_eq(a->items[i].item_id, b->items[i].item_id) ||
            !str_eq(a->items[i].reason, b->items[i].reason) ||
            !score_eq(a->items[i].score, b->items[i].score))
            return 0;
    return 1;
}

static void rec_line(const uint8_t *data, size_t size) {
    char err[256] = "";
    uint32_t n = 12345;
    int rc = rs_json_rec_line((const char *)data, size, &user, &items, &n, err, sizeof(err));
    FZ_CHECK(rc == 1 || rc == 0 || rc == RS_EDECODE, "rc %d", rc);
    if (rc == RS_EDECODE) {
        FZ_CHECK(!strncmp(err, "json: ", 6), "reason \"%s\"", err);
        return;
    }
    if (rc == 0) return;
    fz_touch(user.p, user.len);
    uint32_t nul = 0;
    for (size_t i = 0; i < items.len; i++) nul += items.p[i] == '\0';
    FZ_CHECK(nul == n && (!n || items.p[items.len - 1] == '\0'), "%u ids, %u NULs", n, nul);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t sel;
    if (!fz_take_byte(&data, &size, &sel)) return 0;
    if (sel % 5 == 4) {
        rec_line(data, size);
        return 0;
    }
    rs_format_t fmt = (rs_format_t)(sel % 5);
    rs_rec_t rec, back;
    char err[256] = "";
    rs_err_t rc = rs_codec_decode_rec(codec, data, size, fmt, &rec, err, sizeof(err));
    if (rc) {
        FZ_CHECK(rc == RS_EDECODE, "rc %d", rc);
        FZ_CHECK(!strncmp(err, "json: ", 6) || !strncmp(err, "avro: ", 6) ||
                     !strncmp(err, "confluent: ", 11),
                 "reason \"%s\" lacks its layer prefix", err);
        return 0;
    }
    check_str(rec.user_id, "user_id");
    check_str(rec.strategy, "strategy");
    FZ_CHECK(!rec.n_items == !rec.items, "n_items %u, items %p", rec.n_items, (void *)rec.items);
    int json_ok = 1;
    for (uint32_t i = 0; i < rec.n_items; i++) {
        check_str(rec.items[i].item_id, "items.item_id");
        check_str(rec.items[i].reason, "items.reason");
        if (isinf(rec.items[i].score)) json_ok = 0;
    }
    /* Which format did AUTO take? The same as the encoder must use. */
    size_t i = 0;
    while (i < size && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r'))
        i++;
    int is_json = fmt == RS_FMT_JSON || (fmt == RS_FMT_AUTO && i < size && data[i] == '{');
    if (is_json && !json_ok) return 0;
    rs_format_t out = is_json ? RS_FMT_JSON : RS_FMT_AVRO;
    rs_buf_reset(&enc);
    FZ_CHECK(!rs_codec_encode_rec(codec2, &rec, out, 1, &enc), "encode %d failed", (int)out);
    rc = rs_codec_decode_rec(codec2, enc.p, enc.len, out, &back, err, sizeof(err));
    FZ_CHECK(!rc, "re-decode %d failed: %s (%.*s)", (int)out, err, (int)enc.len, enc.p);
    FZ_CHECK(rec_eq(&rec, &back), "format %d round trip changed the list", (int)out);
    return 0;
}
