/* test_codec.c -- event/recommendation wire formats (SPEC F1): exact values
 * per format, presence bits, Confluent framing, AUTO detection, decode
 * errors, fuzzing under the sanitizers, the JSON scanner against its jansson
 * reference, round trips, and a throughput printout (no speed assertion). */
#include <time.h>

#include "core/rs_codec_int.h"
#include "rs_test.h"

#define ALL_FIELDS                                                                                 \
    (RS_F_REQUIRED | RS_F_SESSION | RS_F_PRICE | RS_F_CATEGORY | RS_F_DEVICE | RS_F_REC_VERSION)

static rs_str_t S(const char *s) {
    return rs_str(s, (uint32_t)strlen(s));
}

static rs_event_t full_event(void) {
    rs_event_t ev = {0};
    ev.fields = ALL_FIELDS;
    ev.type = RS_EV_PURCHASE;
    ev.ts_ms = 1700000000123;
    ev.event_id = S("e-000123456");
    ev.user_id = S("u-48213");
    ev.item_id = S("i-99321");
    ev.session_id = S("s-3321");
    ev.category = S("sports");
    ev.device = S("mobile");
    ev.price = 19.99;
    ev.rec_version = 42;
    return ev;
}

static rs_event_t min_event(void) {
    rs_event_t ev = {0};
    ev.fields = RS_F_REQUIRED;
    ev.type = RS_EV_CART;
    ev.ts_ms = 1;
    ev.event_id = S("e");
    ev.user_id = S("u");
    ev.item_id = S("i");
    return ev;
}

static int str_eq(rs_str_t a, rs_str_t b) {
    if (!a.p || !b.p) return !a.p && !b.p;
    return a.len == b.len && memcmp(a.p, b.p, a.len) == 0;
}

static int str_is(rs_str_t a, const char *s) {
    return a.p && str_eq(a, S(s));
}

/* Same presence bits and equal values in every present field; b (the
 * decoded side) must have NULL strings for absent fields. */
static int fstr_eq(uint32_t f, uint32_t bit, rs_str_t a, rs_str_t b) {
    return (f & bit) ? str_eq(a, b) && b.p != NULL : b.p == NULL;
}

static int ev_eq(const rs_event_t *a, const rs_event_t *b) {
    if (a->fields != b->fields) return 0;
    uint32_t f = a->fields;
    return (!(f & RS_F_TYPE) || a->type == b->type) && (!(f & RS_F_TS) || a->ts_ms == b->ts_ms) &&
           fstr_eq(f, RS_F_EVENT_ID, a->event_id, b->event_id) &&
           fstr_eq(f, RS_F_USER, a->user_id, b->user_id) &&
           fstr_eq(f, RS_F_ITEM, a->item_id, b->item_id) &&
           fstr_eq(f, RS_F_SESSION, a->session_id, b->session_id) &&
           fstr_eq(f, RS_F_CATEGORY, a->category, b->category) &&
           fstr_eq(f, RS_F_DEVICE, a->device, b->device) &&
           (!(f & RS_F_PRICE) || a->price == b->price || (isnan(a->price) && isnan(b->price))) &&
           (!(f & RS_F_REC_VERSION) || a->rec_version == b->rec_version);
}

/* Decode from an exactly-sized heap copy, so ASan sees any over-read. */
static rs_err_t dec(rs_codec_t *c, const void *p, size_t n, rs_format_t fmt, rs_event_t *ev,
                    int32_t *sid, char *err, size_t errsz) {
    void *copy = malloc(n ? n : 1);
    if (n) memcpy(copy, p, n);
    rs_err_t e = rs_codec_decode_event(c, copy, n, fmt, ev, sid, err, errsz);
    free(copy);
    return e;
}

static rs_err_t dec_s(rs_codec_t *c, const char *json, rs_event_t *ev, char *err, size_t errsz) {
    return dec(c, json, strlen(json), RS_FMT_JSON, ev, NULL, err, errsz);
}

static uint64_t rng_state;
static uint64_t rnd(void) { /* splitmix64 */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

TEST(evtype_names) {
    ASSERT_STREQ(rs_evtype_name(RS_EV_VIEW), "view");
    ASSERT_STREQ(rs_evtype_name(RS_EV_IMPRESSION), "impression");
    ASSERT_STREQ(rs_evtype_name(RS_EV_UNKNOWN), "unknown");
    ASSERT_STREQ(rs_evtype_name((rs_evtype_t)8), "unknown");
    for (int i = 0; i < RS_EV__COUNT; i++) {
        const char *n = rs_evtype_name((rs_evtype_t)i);
        ASSERT_EQ(rs_evtype_parse(n, strlen(n)), i);
    }
    ASSERT_EQ(rs_evtype_parse("vie", 3), RS_EV_UNKNOWN);
    ASSERT_EQ(rs_evtype_parse("views", 5), RS_EV_UNKNOWN);
    ASSERT_EQ(rs_evtype_parse("View", 4), RS_EV_UNKNOWN);
    ASSERT_EQ(rs_evtype_parse("cart!", 4), RS_EV_CART);
    ASSERT_EQ(rs_evtype_parse(NULL, 0), RS_EV_UNKNOWN);
}

TEST(schemas_embedded) {
    ASSERT(strstr(rs_schema_event_json(), "\"name\": \"Event\"") != NULL);
    ASSERT(strstr(rs_schema_recommendation_json(), "\"name\": \"Recommendation\"") != NULL);
}

TEST(avro_golden_bytes) {
    rs_codec_t *c;
    char err[256];
    ASSERT_OK(rs_codec_new(&c, err, sizeof(err)));
    rs_event_t ev = min_event(), out;
    rs_buf_t b = {0};
    ASSERT_OK(rs_codec_encode_event(c, &ev, RS_FMT_AVRO, 0, &b));
    /* "e", ts 1 (zigzag 2), "u", "i", enum 2 (zigzag 4), five null branches */
    static const unsigned char want[] = {2, 'e', 2, 2, 'u', 2, 'i', 4, 0, 0, 0, 0, 0};
    ASSERT_EQ(b.len, sizeof(want));
    ASSERT(memcmp(b.p, want, sizeof(want)) == 0);
    int32_t sid = 7;
    ASSERT_OK(dec(c, want, sizeof(want), RS_FMT_AVRO, &out, &sid, err, sizeof(err)));
    ASSERT_EQ(sid, -1);
    ASSERT_EQ(out.fields, RS_F_REQUIRED);
    ASSERT_EQ(out.type, RS_EV_CART);
    ASSERT_EQ(out.ts_ms, 1);
    ASSERT(str_is(out.event_id, "e") && str_is(out.user_id, "u") && str_is(out.item_id, "i"));
    ASSERT(out.session_id.p == NULL && out.category.p == NULL && out.device.p == NULL);
    ASSERT_EQ(out.event_id.p[1], '\0'); /* arena strings are NUL-terminated */
    rs_buf_free(&b);
    rs_codec_destroy(c);
}

TEST(avro_and_confluent_roundtrip) {
    rs_codec_t *c;
    char err[256];
    ASSERT_OK(rs_codec_new(&c, err, sizeof(err)));
    rs_event_t ev = full_event(), out;
    rs_buf_t a = {0}, cf = {0};
    int32_t sid;
    ASSERT_OK(rs_codec_encode_event(c, &ev, RS_FMT_AVRO, 0, &a));
    ASSERT_OK(rs_codec_encode_event(c, &ev, RS_FMT_CONFLUENT, 0x01020304, &cf));
    ASSERT_EQ(cf.len, a.len + 5);
    static const unsigned char hdr[] = {0, 1, 2, 3, 4};
    ASSERT(memcmp(cf.p, hdr, 5) == 0 && memcmp(cf.p + 5, a.p, a.len) == 0);
    for (int fmt = RS_FMT_AUTO; fmt <= RS_FMT_AVRO; fmt += RS_FMT_AVRO) {
        ASSERT_OK(dec(c, a.p, a.len, (rs_format_t)fmt, &out, &sid, err, sizeof(err)));
        ASSERT(ev_eq(&ev, &out));
        ASSERT_EQ(sid, -1);
    }
    for (int fmt = RS_FMT_AUTO; fmt <= RS_FMT_CONFLUENT; fmt += RS_FMT_CONFLUENT) {
        ASSERT_OK(dec(c, cf.p, cf.len, (rs_format_t)fmt, &out, &sid, err, sizeof(err)));
        ASSERT(ev_eq(&ev, &out));
        ASSERT_EQ(sid, 16909060);
    }
    ASSERT_EQ(out.fields, ALL_FIELDS);
    ASSERT_EQ(out.type, RS_EV_PURCHASE);
    ASSERT_EQ(out.ts_ms, 1700000000123);
    ASSERT(out.price == 19.99);
    ASSERT_EQ(out.rec_version, 42);
    ASSERT(str_is(out.device, "mobile"));
    /* Empty optional strings are present, not null; extreme numbers survive. */
    ev.session_id = S("");
    ev.ts_ms = INT64_MAX;
    ev.rec_version = INT64_MIN;
    ev.price = -0.0;
    rs_buf_reset(&a);
    ASSERT_OK(rs_codec_encode_event(c, &ev, RS_FMT_AVRO, 0, &a));
    ASSERT_OK(dec(c, a.p, a.len, RS_FMT_AVRO, &out, NULL, err, sizeof(err)));
    ASSERT(ev_eq(&ev, &out));
    ASSERT(out.session_id.p != NULL && out.session_id.len == 0);
    /* Avro cannot carry a missing required field or an unknown type. */
    ev.fields &= ~(uint32_t)RS_F_USER;
    ASSERT_EQ(rs_codec_encode_event(c, &ev, RS_FMT_AVRO, 0, &a), RS_EARG);
    ev = full_event();
    ev.type = RS_EV_UNKNOWN;
    size_t before = cf.len;
    ASSERT_EQ(rs_codec_encode_event(c, &ev, RS_FMT_CONFLUENT, 1, &cf), RS_EARG);
    ASSERT_EQ(cf.len, before);
    ASSERT_EQ(rs_codec_encode_event(c, &ev, RS_FMT_AUTO, 1, &cf), RS_EARG);
    rs_buf_free(&a);
    rs_buf_free(&cf);
    rs_codec_destroy(c);
}

TEST(avro_errors) {
    rs_codec_t *c;
    char err[256];
    ASSERT_OK(rs_codec_new(&c, err, sizeof(err)));
    rs_event_t ev = full_event(), out;
    rs_buf_t a = {0};
    ASSERT_OK(rs_codec_encode_event(c, &ev, RS_FMT_AVRO, 0, &a));
    /* Every truncation fails cleanly. */
    for (size_t n = 0; n < a.len; n++)
        ASSERT_EQ(dec(c, a.p, n, RS_FMT_AVRO, &out, NULL, err, sizeof(err)), RS_EDECODE);
    ASSERT_EQ(dec(c, NULL, 0, RS_FMT_AVRO, &out, NULL, err, sizeof(err)), RS_EDECODE);
    ASSERT_STREQ(err, "avro: truncated varint in field event_id at byte 0");
    ASSERT_EQ(dec(c, a.p, a.len - 1, RS_FMT_AVRO, &out, NULL, err, sizeof(err)), RS_EDECODE);
    ASSERT(strstr(err, "rec_version") != NULL);
    /* Trailing bytes. */
    rs_buf_putc(&a, 0);
    ASSERT_EQ(dec(c, a.p, a.len, RS_FMT_AVRO, &out, NULL, err, sizeof(err)), RS_EDECODE);
    ASSERT_STREQ(err, "avro: 1 trailing bytes after the record");
    /* Enum index out of range (8 = zigzag 16), and negative (-1 = 1). */
    unsigned char m[] = {2, 'e', 2, 2, 'u', 2, 'i', 16, 0, 0, 0, 0, 0};
    ASSERT_EQ(dec(c, m, sizeof(m), RS_FMT_AVRO, &out, NULL, err, sizeof(err)), RS_EDECODE);
    ASSERT_STREQ(err, "avro: enum index out of range in field type at byte 8");
    m[7] = 1;
    ASSERT_EQ(dec(c, m, sizeof(m), RS_FMT_AVRO, &out, NULL, err, sizeof(err)), RS_EDECODE);
    /* Union branch 2 in session_id. */
    m[7] = 4;
    m[8] = 4;
    ASSERT_EQ(dec(c, m, sizeof(m), RS_FMT_AVRO, &out, NULL, err, sizeof(err)), RS_EDECODE);
    ASSERT(strstr(err, "union branch out of range in field session_id") != NULL);
    m[8] = 0;
    ASSERT_OK(dec(c, m, sizeof(m), RS_FMT_AVRO, &out, NULL, err, sizeof(err)));
    /* Negative and oversized string lengths, overlong varint. */
    unsigned char neg[] = {1, 'e'};
    ASSERT_EQ(dec(c, neg, sizeof(neg), RS_FMT_AVRO, &out, NULL, err, sizeof(err)), RS_EDECODE);
    ASSERT(strstr(err, "negative string length in field event_id") != NULL);
    unsigned char big[] = {0xfe, 0xff, 0xff, 0xff, 0x0f, 'e'};
    ASSERT_EQ(dec(c, big, sizeof(big), RS_FMT_AVRO, &out, NULL, err, sizeof(err)), RS_EDECODE);
    ASSERT(strstr(err, "truncated string in field event_id") != NULL);
    unsigned char ovl[12];
    memset(ovl, 0xff, sizeof(ovl));
    ASSERT_EQ(dec(c, ovl, sizeof(ovl), RS_FMT_AVRO, &out, NULL, err, sizeof(err)), RS_EDECODE);
    ASSERT(strstr(err, "varint overflows 64 bits") != NULL);
    /* Confluent framing. */
    unsigned char bad_magic[] = {1, 0, 0, 0, 1, 2, 'e'};
    int32_t sid = 0;
    ASSERT_EQ(dec(c, bad_magic, sizeof(bad_magic), RS_FMT_CONFLUENT, &out, &sid, err, sizeof(err)),
              RS_EDECODE);
    ASSERT_STREQ(err, "confluent: bad magic byte 0x01");
    ASSERT_EQ(sid, -1);
    ASSERT_EQ(dec(c, bad_magic, 4, RS_FMT_CONFLUENT, &out, &sid, err, sizeof(err)), RS_EDECODE);
    ASSERT_STREQ(err, "confluent: 4 bytes is shorter than the 5-byte header");
    /* Framing fine, body bad: the schema id is still reported. */
    unsigned char hdr_only[] = {0, 0, 0, 0, 9};
    ASSERT_EQ(dec(c, hdr_only, 5, RS_FMT_AUTO, &out, &sid, err, sizeof(err)), RS_EDECODE);
    ASSERT_EQ(sid, 9);
    ASSERT_EQ(dec(c, hdr_only, 5, 99, &out, &sid, err, sizeof(err)), RS_EARG);
    rs_buf_free(&a);
    rs_codec_destroy(c);
}

TEST(detection) {
    rs_codec_t *c;
    char err[256];
    ASSERT_OK(rs_codec_new(&c, err, sizeof(err)));
    rs_event_t out;
    const char *j = " \r\n\t{\"event_id\":\"x\"}\n";
    ASSERT_OK(dec(c, j, strlen(j), RS_FMT_AUTO, &out, NULL, err, sizeof(err)));
    ASSERT_EQ(out.fields, RS_F_EVENT_ID);
    ASSERT(str_is(out.event_id, "x"));
    /* Not JSON: plain Avro gets the bytes and says why they are bad. */
    ASSERT_EQ(dec(c, "  [1]", 5, RS_FMT_AUTO, &out, NULL, err, sizeof(err)), RS_EDECODE);
    ASSERT(strncmp(err, "avro: ", 6) == 0);
    /* JSON forced on Avro bytes. */
    unsigned char m[] = {2, 'e', 2, 2, 'u', 2, 'i', 4, 0, 0, 0, 0, 0};
    ASSERT_EQ(dec(c, m, sizeof(m), RS_FMT_JSON, &out, NULL, err, sizeof(err)), RS_EDECODE);
    ASSERT_STREQ(err, "json: expected an object at byte 0");
    rs_codec_destroy(c);
}

TEST(json_decode_exact) {
    rs_codec_t *c;
    char err[256];
    ASSERT_OK(rs_codec_new(&c, err, sizeof(err)));
    rs_event_t ev;
    const char *j =
        "{ \"extra\" : {\"a\":[1,2.5e3,{\"b\":null}],\"c\":\"\\\"}\"}, \"type\":\"view\","
        "\"event_id\":\"e1\",\"ts_ms\":1700000000000,\"user_id\":\"u1\","
        "\"item_id\":\"i1\",\"session_id\":\"s1\",\"price\":-3.5,"
        "\"category\":\"books\",\"device\":\"web\",\"rec_version\":7,"
        "\"more\":[true,false,null,-0,\"x\"] }";
    ASSERT_OK(dec_s(c, j, &ev, err, sizeof(err)));
    ASSERT_EQ(ev.fields, ALL_FIELDS);
    ASSERT_EQ(ev.type, RS_EV_VIEW);
    ASSERT_EQ(ev.ts_ms, 1700000000000);
    ASSERT(str_is(ev.event_id, "e1") && str_is(ev.user_id, "u1") && str_is(ev.item_id, "i1"));
    ASSERT(str_is(ev.session_id, "s1") && str_is(ev.category, "books") && str_is(ev.device, "web"));
    ASSERT(ev.price == -3.5);
    ASSERT_EQ(ev.rec_version, 7);

    /* Nulls are absent; missing fields leave bits clear; empty object. */
    ASSERT_OK(
        dec_s(c, "{\"event_id\":null,\"price\":null,\"user_id\":\"u\"}", &ev, err, sizeof(err)));
    ASSERT_EQ(ev.fields, RS_F_USER);
    ASSERT(ev.event_id.p == NULL);
    ASSERT_OK(dec_s(c, "{}", &ev, err, sizeof(err)));
    ASSERT_EQ(ev.fields, 0);
    /* Unknown type symbol: present, RS_EV_UNKNOWN, not an error. */
    ASSERT_OK(dec_s(c, "{\"type\":\"teleport\"}", &ev, err, sizeof(err)));
    ASSERT_EQ(ev.fields, RS_F_TYPE);
    ASSERT_EQ(ev.type, RS_EV_UNKNOWN);
    /* Integer price, integral real ts_ms, escaped key. */
    ASSERT_OK(
        dec_s(c, "{\"price\":5,\"ts_ms\":1.7e12,\"\\u0075ser_id\":\"u\"}", &ev, err, sizeof(err)));
    ASSERT_EQ(ev.fields, RS_F_PRICE | RS_F_TS | RS_F_USER);
    ASSERT(ev.price == 5.0);
    ASSERT_EQ(ev.ts_ms, 1700000000000);
    ASSERT_OK(dec_s(c, "{\"ts_ms\":-9223372036854775808}", &ev, err, sizeof(err)));
    ASSERT_EQ(ev.ts_ms, INT64_MIN);
    rs_codec_destroy(c);
}

TEST(json_decode_errors) {
    rs_codec_t *c;
    char err[256];
    ASSERT_OK(rs_codec_new(&c, err, sizeof(err)));
    rs_event_t ev;
    static const struct {
        const char *in, *err;
    } cases[] = {
        {"{\"price\":\"abc\"}", "json: field price: expected number at byte 9"},
        {"{\"ts_ms\":\"1700000000000\"}", "json: field ts_ms: expected integer at byte 9"},
        {"{\"ts_ms\":1.5}", "json: field ts_ms: expected integer at byte 12"},
        {"{\"rec_version\":true}", "json: field rec_version: expected integer at byte 15"},
        {"{\"event_id\":5}", "json: field event_id: expected string at byte 12"},
        {"{\"type\":3}", "json: field type: expected string at byte 8"},
        {"{\"user_id\":\"a\",\"user_id\":\"b\"}", "json: duplicate field user_id at byte 25"},
        {"{\"a\":1} x", "json: trailing data after the object at byte 8"},
        {"{\"a\":1}{}", "json: trailing data after the object at byte 7"},
        {"[1]", "json: expected an object at byte 0"},
        {"", "json: expected an object at byte 0"},
        {"{\"a\":1,}", "json: expected a key at byte 7"},
        {"{\"a\" 1}", "json: expected ':' at byte 5"},
        {"{\"a\":01}", "json: expected ',' or '}' at byte 6"},
        {"{\"a\":1.}", "json: invalid number at byte 5"},
        {"{\"a\":99999999999999999999}", "json: integer out of range at byte 5"},
        {"{\"a\":1e999}", "json: real number overflow at byte 5"},
        {"{\"a\":nul}", "json: invalid value at byte 5"},
        {"{\"a\":\"\\u0000\"}", "json: \\u0000 is not allowed at byte 12"},
        {"{\"a\":\"\\udc00\"}", "json: lone low surrogate at byte 12"},
        {"{\"a\":\"\\ud800x\"}", "json: unpaired high surrogate at byte 12"},
        {"{\"a\":\"\\x\"}", "json: invalid escape at byte 6"},
        {"{\"a\":\"\x01\"}", "json: control character in string at byte 6"},
        {"{\"a\":\"\xc3\x28\"}", "json: invalid UTF-8 at byte 6"},
        {"{\"a\":\"\xed\xa0\x80\"}", "json: invalid UTF-8 at byte 6"}, /* surrogate */
        {"{\"a\":\"\xc0\xaf\"}", "json: invalid UTF-8 at byte 6"},     /* overlong */
        {"{\"a\":\"abc", "json: unterminated string at byte 9"},
        {"{\"a\":[1,2", "json: expected ',' or ']' at byte 9"},
        {"{\"user_id\":\"u\"", "json: expected ',' or '}' at byte 14"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        err[0] = '\0';
        ASSERT_EQ(dec_s(c, cases[i].in, &ev, err, sizeof(err)), RS_EDECODE);
        ASSERT_STREQ(err, cases[i].err);
        /* The jansson reference rejects the same inputs. */
        ASSERT_EQ(
            rs_json_decode_event_ref(c, cases[i].in, strlen(cases[i].in), &ev, err, sizeof(err)),
            RS_EDECODE);
    }
    /* Nesting: 2048 levels fine, 2049 refused. */
    rs_buf_t b = {0};
    for (int depth = 2048; depth <= 2049; depth++) {
        rs_buf_reset(&b);
        rs_buf_printf(&b, "{\"x\":");
        for (int i = 1; i < depth; i++) rs_buf_putc(&b, '[');
        for (int i = 1; i < depth; i++) rs_buf_putc(&b, ']');
        rs_buf_putc(&b, '}');
        rs_err_t e = dec(c, b.p, b.len, RS_FMT_JSON, &ev, NULL, err, sizeof(err));
        ASSERT_EQ(e, depth == 2048 ? RS_OK : RS_EDECODE);
        rs_codec_scratch_reset(c, b.len);
        e = rs_json_decode_event_ref(c, b.p, b.len, &ev, err, sizeof(err));
        ASSERT_EQ(e, depth == 2048 ? RS_OK : RS_EDECODE);
    }
    rs_buf_free(&b);
    rs_codec_destroy(c);
}

TEST(json_unicode_and_roundtrip) {
    rs_codec_t *c;
    char err[256];
    ASSERT_OK(rs_codec_new(&c, err, sizeof(err)));
    rs_event_t ev;
    /* Escapes and raw UTF-8 decode to the same bytes. */
    const char *j = "{\"user_id\":\"caf\\u00e9 \\ud83d\\ude00 \\\"q\\\" \\\\ \\/ \\t\","
                    "\"item_id\":\"caf\xc3\xa9 \xf0\x9f\x98\x80 \\\"q\\\" \\\\ / \\t\"}";
    ASSERT_OK(dec_s(c, j, &ev, err, sizeof(err)));
    const char *want = "caf\xc3\xa9 \xf0\x9f\x98\x80 \"q\" \\ / \t";
    ASSERT(str_is(ev.user_id, want));
    ASSERT(str_is(ev.item_id, want));

    /* Encode: compact, one line, nulls for absent optionals; exact text. */
    rs_event_t e = full_event();
    e.user_id = S("\xe6\x9d\xb1\xe4\xba\xac \"x\"\n");
    e.fields &= ~(uint32_t)(RS_F_CATEGORY | RS_F_REC_VERSION);
    rs_buf_t b = {0};
    ASSERT_OK(rs_codec_encode_event(c, &e, RS_FMT_JSON, 0, &b));
    ASSERT_STREQ(rs_buf_cstr(&b),
                 "{\"event_id\":\"e-000123456\",\"ts_ms\":1700000000123,\"user_id\":\"\xe6\x9d\xb1"
                 "\xe4\xba\xac \\\"x\\\"\\n\",\"item_id\":\"i-99321\",\"type\":\"purchase\","
                 "\"session_id\":\"s-3321\",\"price\":19.99,\"category\":null,\"device\":"
                 "\"mobile\",\"rec_version\":null}");
    ASSERT_OK(dec(c, b.p, b.len, RS_FMT_AUTO, &ev, NULL, err, sizeof(err)));
    ASSERT(ev_eq(&e, &ev));
    /* Unknown type is written as "unknown"; missing required fields are omitted;
     * awkward doubles come back bit-exact. */
    static const double prices[] = {0.1, 1e-300, 123456789.123456789, 5e15, 1.0 / 3, 0};
    for (size_t i = 0; i < sizeof(prices) / sizeof(prices[0]); i++) {
        e = min_event();
        e.type = RS_EV_UNKNOWN;
        e.fields &= ~(uint32_t)RS_F_ITEM;
        e.fields |= RS_F_PRICE;
        e.price = prices[i];
        rs_buf_reset(&b);
        ASSERT_OK(rs_codec_encode_event(c, &e, RS_FMT_JSON, 0, &b));
        ASSERT(strstr(rs_buf_cstr(&b), "\"type\":\"unknown\"") != NULL);
        ASSERT(strstr(b.p, "item_id") == NULL && strchr(b.p, '\n') == NULL);
        ASSERT_OK(dec(c, b.p, b.len, RS_FMT_JSON, &ev, NULL, err, sizeof(err)));
        ASSERT(ev_eq(&e, &ev));
    }
    rs_buf_free(&b);
    rs_codec_destroy(c);
}

TEST(strings_outlive_input) {
    rs_codec_t *c;
    char err[256];
    ASSERT_OK(rs_codec_new(&c, err, sizeof(err)));
    rs_event_t ev = full_event(), a, j;
    rs_buf_t b = {0};
    ASSERT_OK(rs_codec_encode_event(c, &ev, RS_FMT_AVRO, 0, &b));
    char *copy = rs_xstrndup(b.p, b.len);
    ASSERT_OK(rs_codec_decode_event(c, copy, b.len, RS_FMT_AVRO, &a, NULL, err, sizeof(err)));
    memset(copy, 'X', b.len);
    free(copy);
    ASSERT(ev_eq(&ev, &a)); /* input gone, strings intact */
    rs_buf_reset(&b);
    ASSERT_OK(rs_codec_encode_event(c, &ev, RS_FMT_JSON, 0, &b));
    copy = rs_xstrndup(b.p, b.len);
    ASSERT_OK(rs_codec_decode_event(c, copy, b.len, RS_FMT_JSON, &j, NULL, err, sizeof(err)));
    memset(copy, 'X', b.len);
    free(copy);
    ASSERT(ev_eq(&ev, &j));
    rs_buf_free(&b);
    rs_codec_destroy(c);
}

static rs_rec_t make_rec(rs_rec_item_t *items, uint32_t n, char names[][32]) {
    rs_rec_t r = {S("user-\xc3\xa9"), 17, 1700000000123, 1700000000456, S("item-knn"), items, n};
    for (uint32_t i = 0; i < n; i++) {
        snprintf(names[i], 32, "item-%u", i);
        items[i].item_id = S(names[i]);
        items[i].score = 1.0f / (float)(i + 1) + (float)i * 0.1f;
        items[i].reason = i % 2 ? S("popular") : S("because you viewed \"x\"");
    }
    return r;
}

TEST(rec_roundtrip) {
    rs_codec_t *c;
    char err[256];
    ASSERT_OK(rs_codec_new(&c, err, sizeof(err)));
    rs_rec_item_t items[20];
    char names[20][32];
    rs_buf_t b = {0};
    static const rs_format_t fmts[] = {RS_FMT_AVRO, RS_FMT_CONFLUENT, RS_FMT_JSON};
    static const uint32_t counts[] = {0, 20, 1}; /* the reused Avro value must empty */
    for (size_t ci = 0; ci < 3; ci++) {
        uint32_t n = counts[ci];
        rs_rec_t r = make_rec(items, n, names), out;
        for (size_t f = 0; f < 3; f++) {
            rs_buf_reset(&b);
            ASSERT_OK(rs_codec_encode_rec(c, &r, fmts[f], 5, &b));
            for (int pass = 0; pass < 2; pass++) { /* explicit format, then AUTO */
                rs_format_t df = pass ? RS_FMT_AUTO : fmts[f];
                ASSERT_OK(rs_codec_decode_rec(c, b.p, b.len, df, &out, err, sizeof(err)));
                ASSERT(str_eq(out.user_id, r.user_id) && str_eq(out.strategy, r.strategy));
                ASSERT_EQ(out.version, 17);
                ASSERT_EQ(out.ts_ms, 1700000000123);
                ASSERT_EQ(out.created_ms, 1700000000456);
                ASSERT_EQ(out.n_items, n);
                ASSERT(n || out.items == NULL);
                for (uint32_t i = 0; i < n; i++) {
                    ASSERT(str_eq(out.items[i].item_id, items[i].item_id));
                    ASSERT(str_eq(out.items[i].reason, items[i].reason));
                    ASSERT(out.items[i].score == items[i].score); /* exact float */
                }
            }
            /* Truncations fail cleanly. */
            for (size_t k = 0; k < b.len; k += (b.len / 40) + 1)
                ASSERT_EQ(rs_codec_decode_rec(c, b.p, k, fmts[f], &out, err, sizeof(err)),
                          RS_EDECODE);
        }
    }
    rs_rec_t r = make_rec(items, 2, names), out;
    items[0].score = 0.5f;
    items[1].score = 0.1f;
    rs_buf_reset(&b);
    ASSERT_OK(rs_codec_encode_rec(c, &r, RS_FMT_JSON, 0, &b));
    ASSERT_STREQ(rs_buf_cstr(&b),
                 "{\"user_id\":\"user-\xc3\xa9\",\"version\":17,\"ts_ms\":1700000000123,"
                 "\"created_ms\":1700000000456,\"strategy\":\"item-knn\",\"items\":["
                 "{\"item_id\":\"item-0\",\"score\":0.5,\"reason\":\"because you viewed "
                 "\\\"x\\\"\"},{\"item_id\":\"item-1\",\"score\":0.1,\"reason\":\"popular\"}]}");
    /* Avro array with an absurd block count is refused before allocating. */
    unsigned char huge[] = {2, 'u', 2, 2, 2, 2, 'k', 0xfe, 0xff, 0xff, 0xff, 0x0f, 0};
    ASSERT_EQ(rs_codec_decode_rec(c, huge, sizeof(huge), RS_FMT_AVRO, &out, err, sizeof(err)),
              RS_EDECODE);
    ASSERT(strstr(err, "array count exceeds the remaining bytes") != NULL);
    /* Negative block count with a byte size is valid Avro. */
    unsigned char blk[] = {2, 'u', 2, 2, 2, 2, 'k', 1, 14, 2, 'a', 0, 0, 0x80, 0x3f, 2, 'r', 0};
    ASSERT_OK(rs_codec_decode_rec(c, blk, sizeof(blk), RS_FMT_AVRO, &out, err, sizeof(err)));
    ASSERT_EQ(out.n_items, 1);
    ASSERT(out.items[0].score == 1.0f && str_is(out.items[0].reason, "r"));
    ASSERT_EQ(
        rs_codec_decode_rec(c, "{\"user_id\":\"u\"}", 15, RS_FMT_JSON, &out, err, sizeof(err)),
        RS_EDECODE);
    ASSERT_STREQ(err, "json: missing field version");
    rs_buf_free(&b);
    rs_codec_destroy(c);
}

/* Random bytes and mutated valid records, every format: no crash, no
 * over-read (ASan), and only RS_OK or RS_EDECODE. */
TEST(fuzz) {
    rs_codec_t *c;
    char err[256];
    ASSERT_OK(rs_codec_new(&c, err, sizeof(err)));
    rng_state = rs_test_seed();
    rs_buf_t seeds[5] = {{0}};
    rs_event_t ev = full_event(), out;
    rs_rec_item_t items[3];
    char names[3][32];
    rs_rec_t rec = make_rec(items, 3, names), rout;
    ASSERT_OK(rs_codec_encode_event(c, &ev, RS_FMT_AVRO, 0, &seeds[0]));
    ASSERT_OK(rs_codec_encode_event(c, &ev, RS_FMT_CONFLUENT, 3, &seeds[1]));
    ASSERT_OK(rs_codec_encode_event(c, &ev, RS_FMT_JSON, 0, &seeds[2]));
    ASSERT_OK(rs_codec_encode_rec(c, &rec, RS_FMT_AVRO, 0, &seeds[3]));
    ASSERT_OK(rs_codec_encode_rec(c, &rec, RS_FMT_JSON, 0, &seeds[4]));
    unsigned char buf[512];
    int ok = 0, bad = 0;
    for (int iter = 0; iter < 60000; iter++) {
        size_t n;
        int which = (int)(rnd() % 6);
        if (which == 5) { /* pure noise */
            n = rnd() % 64;
            for (size_t i = 0; i < n; i++) buf[i] = (unsigned char)rnd();
        } else {
            n = seeds[which].len;
            memcpy(buf, seeds[which].p, n);
            int muts = 1 + (int)(rnd() % 4);
            for (int m = 0; m < muts; m++) {
                size_t at = n ? rnd() % n : 0;
                switch (rnd() % 4) {
                case 0:
                    buf[at] = (unsigned char)rnd();
                    break;
                case 1:
                    buf[at] ^= (unsigned char)(1u << (rnd() % 8));
                    break;
                case 2:
                    n = at;
                    break; /* truncate */
                default:
                    if (n < sizeof(buf)) { /* insert */
                        memmove(buf + at + 1, buf + at, n - at);
                        buf[at] = (unsigned char)rnd();
                        n++;
                    }
                }
            }
        }
        rs_format_t fmt = (rs_format_t)(rnd() % 4);
        rs_err_t e;
        if (which >= 3 && which < 5) {
            void *copy = malloc(n ? n : 1);
            memcpy(copy, buf, n);
            e = rs_codec_decode_rec(c, copy, n, fmt, &rout, err, sizeof(err));
            free(copy);
        } else {
            e = dec(c, buf, n, fmt, &out, NULL, err, sizeof(err));
        }
        ASSERT(e == RS_OK || e == RS_EDECODE);
        if (e) {
            bad++;
            ASSERT(err[0] != '\0');
        } else {
            ok++;
        }
    }
    fprintf(stderr, "  fuzz: %d decoded, %d rejected\n", ok, bad);
    ASSERT(bad > 0 && ok > 0);
    for (int i = 0; i < 5; i++) rs_buf_free(&seeds[i]);
    rs_codec_destroy(c);
}

/* The hand-written JSON scanner must agree with its jansson reference on
 * mutated events: same accept/reject, same decoded values. */
TEST(json_scanner_matches_jansson) {
    rs_codec_t *c;
    char err[256];
    ASSERT_OK(rs_codec_new(&c, err, sizeof(err)));
    rng_state = rs_test_seed() + 1;
    static const char *seeds[] = {
        "{\"event_id\":\"e-1\",\"ts_ms\":1700000000123,\"user_id\":\"u\\u00e9\\n\","
        "\"item_id\":\"i-9\",\"type\":\"cart\",\"session_id\":null,\"price\":12.5e-1,"
        "\"category\":\"caf\xc3\xa9\",\"device\":\"\xf0\x9f\x98\x80\",\"rec_version\":-3}",
        " { \"x\" : [ 1 , { \"y\" : \"z\" } , true , false , null ] , \"type\" : \"click\" ,"
        " \"price\" : 0 , \"ts_ms\" : 2E3 } \n",
        "{\"q\":\"\\ud83d\\ude00\\\"\\\\\\/\\b\\f\\r\\t\",\"item_id\":\"\",\"price\":-0.0}",
    };
    static const char pool[] = "\"\\{}[],:0-+.eE un\xc3\xa9\x01x9a";
    rs_event_t a, b;
    char buf[512], err2[256];
    int agree_ok = 0, agree_bad = 0;
    for (int iter = 0; iter < 40000; iter++) {
        const char *s = seeds[rnd() % 3];
        size_t n = strlen(s);
        memcpy(buf, s, n);
        int muts = 1 + (int)(rnd() % 3);
        for (int m = 0; m < muts; m++) {
            size_t at = n ? rnd() % n : 0;
            char ch = pool[rnd() % (sizeof(pool) - 1)];
            switch (rnd() % 4) {
            case 0:
                buf[at] = ch;
                break;
            case 1:
                if (n) memmove(buf + at, buf + at + 1, n - at - 1), n--;
                break;
            case 2:
                n = at;
                break;
            default:
                memmove(buf + at + 1, buf + at, n - at);
                buf[at] = ch;
                n++;
            }
        }
        memset(&a, 0, sizeof(a));
        memset(&b, 0, sizeof(b));
        rs_codec_scratch_reset(c, 2 * n);
        void *copy = malloc(n ? n : 1);
        memcpy(copy, buf, n);
        rs_err_t ea = rs_json_decode_event(c, copy, n, &a, err, sizeof(err));
        rs_err_t eb = rs_json_decode_event_ref(c, copy, n, &b, err2, sizeof(err2));
        free(copy);
        if (ea != eb || (ea == RS_OK && !ev_eq(&a, &b)))
            RS_T_FAIL_("disagree on [%.*s]: scanner %d (%s), jansson %d (%s)", (int)n, buf, (int)ea,
                       ea ? err : "ok", (int)eb, eb ? err2 : "ok");
        if (ea)
            agree_bad++;
        else
            agree_ok++;
    }
    fprintf(stderr, "  differential: %d both accepted, %d both rejected\n", agree_ok, agree_bad);
    rs_codec_destroy(c);
}

static double secs(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Decodes buf for ~0.15 s; returns records/s. */
static double rate(rs_codec_t *c, const rs_buf_t *b, rs_format_t fmt, int ref) {
    rs_event_t ev;
    char err[128];
    long n = 0;
    double t0 = secs(), t;
    do {
        for (int i = 0; i < 1000; i++, n++) {
            rs_err_t e =
                ref ? (rs_codec_scratch_reset(c, b->len),
                       rs_json_decode_event_ref(c, b->p, b->len, &ev, err, sizeof(err)))
                    : rs_codec_decode_event(c, b->p, b->len, fmt, &ev, NULL, err, sizeof(err));
            if (e) return -1;
        }
    } while ((t = secs() - t0) < 0.15);
    return (double)n / t;
}

TEST(throughput) {
    rs_codec_t *c;
    char err[256];
    ASSERT_OK(rs_codec_new(&c, err, sizeof(err)));
    rs_event_t ev = full_event();
    rs_buf_t a = {0}, cf = {0}, j = {0};
    ASSERT_OK(rs_codec_encode_event(c, &ev, RS_FMT_AVRO, 0, &a));
    ASSERT_OK(rs_codec_encode_event(c, &ev, RS_FMT_CONFLUENT, 1, &cf));
    ASSERT_OK(rs_codec_encode_event(c, &ev, RS_FMT_JSON, 0, &j));
    double ra = rate(c, &a, RS_FMT_AVRO, 0), rc = rate(c, &cf, RS_FMT_AUTO, 0);
    double rj = rate(c, &j, RS_FMT_JSON, 0), rr = rate(c, &j, RS_FMT_JSON, 1);
    ASSERT(ra > 0 && rc > 0 && rj > 0 && rr > 0);
    /* Encode rate (Avro C generic values), for the record. */
    long n = 0;
    double t0 = secs(), t;
    do {
        for (int i = 0; i < 1000; i++, n++) {
            rs_buf_reset(&a);
            ASSERT_OK(rs_codec_encode_event(c, &ev, RS_FMT_AVRO, 0, &a));
        }
    } while ((t = secs() - t0) < 0.15);
    fprintf(stderr,
            "  decode/s: avro %.0f (%zu B), confluent+auto %.0f, json %.0f (%zu B), "
            "json via jansson %.0f; avro encode/s %.0f\n",
            ra, a.len, rc, rj, j.len, rr, (double)n / t);
    rs_buf_free(&a);
    rs_buf_free(&cf);
    rs_buf_free(&j);
    rs_codec_destroy(c);
}

int main(void) {
    return RUN_TESTS(t_evtype_names, t_schemas_embedded, t_avro_golden_bytes,
                     t_avro_and_confluent_roundtrip, t_avro_errors, t_detection,
                     t_json_decode_exact, t_json_decode_errors, t_json_unicode_and_roundtrip,
                     t_strings_outlive_input, t_rec_roundtrip, t_fuzz,
                     t_json_scanner_matches_jansson, t_throughput);
}
