/* test_catalog.c -- item catalog records: the codec (Avro, Confluent, JSON,
 * AUTO; attributes and escaping; errors) and rs_catalog_process applying
 * them to a state (fields, flags, tombstones, offsets, dead letters). */
#include <math.h>
#include <stdlib.h>

#include "recstream/rs_catalog.h"
#include "recstream/rs_codec.h"
#include "recstream/rs_pipeline.h"
#include "rs_test.h"

#define STREQN(s, lit) ((s).p && (s).len == strlen(lit) && !memcmp((s).p, lit, (s).len))

static rs_str_t S(const char *s) {
    return rs_str(s, (uint32_t)strlen(s));
}

/* The Avro binary of {item_id "i1", category "Shoes", brand null, price
 * 19.5, stock 3, attributes {color: red}, updated_ms null}, by hand. */
static size_t avro_i1(unsigned char *b) {
    size_t n = 0;
    b[n++] = 4, memcpy(b + n, "i1", 2), n += 2;
    b[n++] = 2, b[n++] = 10, memcpy(b + n, "Shoes", 5), n += 5;
    b[n++] = 0;
    b[n++] = 2;
    double price = 19.5;
    memcpy(b + n, &price, 8), n += 8;
    b[n++] = 2, b[n++] = 6;
    b[n++] = 2, b[n++] = 10, memcpy(b + n, "color", 5), n += 5;
    b[n++] = 6, memcpy(b + n, "red", 3), n += 3;
    b[n++] = 0;
    b[n++] = 0;
    return n;
}

TEST(schema_embedded) {
    const char *s = rs_schema_item_json();
    ASSERT(s && strstr(s, "\"name\": \"Item\""));
    ASSERT(strstr(s, "io.recstream"));
}

TEST(avro_exact_bytes_and_decode) {
    char err[256];
    rs_codec_t *c = NULL;
    ASSERT_OK(rs_codec_new(&c, err, sizeof(err)));
    unsigned char want[64];
    size_t wn = avro_i1(want);
    rs_item_meta_t m = {.item_id = S("i1"),
                        .category = S("Shoes"),
                        .attrs = S("color=red"),
                        .price = 19.5,
                        .stock = 3};
    rs_buf_t b = {0};
    ASSERT_OK(rs_codec_encode_item(c, &m, -1, RS_FMT_AVRO, 0, &b));
    ASSERT_EQ(b.len, wn);
    ASSERT(!memcmp(b.p, want, wn));

    rs_item_meta_t d;
    ASSERT_OK(rs_codec_decode_item(c, want, wn, RS_FMT_AVRO, &d, err, sizeof(err)));
    ASSERT(STREQN(d.item_id, "i1"));
    ASSERT(STREQN(d.category, "Shoes"));
    ASSERT(d.brand.p == NULL);
    ASSERT(d.price == 19.5);
    ASSERT_EQ(d.stock, 3);
    ASSERT(STREQN(d.attrs, "color=red"));
    ASSERT_EQ(d.attrs.p[d.attrs.len], '\0');
    ASSERT_EQ(d.deleted, 0);
    /* AUTO takes plain Avro for a record starting with a non-zero length */
    ASSERT_OK(rs_codec_decode_item(c, want, wn, RS_FMT_AUTO, &d, err, sizeof(err)));
    ASSERT(STREQN(d.item_id, "i1"));
    ASSERT_EQ(d.stock, 3);
    rs_buf_free(&b);
    rs_codec_destroy(c);
}

TEST(avro_nulls_are_sentinels) {
    char err[256];
    rs_codec_t *c = NULL;
    ASSERT_OK(rs_codec_new(&c, err, sizeof(err)));
    /* item_id "x", everything else null / empty map, updated_ms 5 */
    const unsigned char rec[] = {2, 'x', 0, 0, 0, 0, 0, 2, 10};
    rs_item_meta_t d;
    ASSERT_OK(rs_codec_decode_item(c, rec, sizeof(rec), RS_FMT_AVRO, &d, err, sizeof(err)));
    ASSERT(STREQN(d.item_id, "x"));
    ASSERT(!d.category.p && !d.brand.p && !d.attrs.p);
    ASSERT(d.price == -INFINITY);
    ASSERT(d.stock == INT64_MIN);
    /* a real negative stock comes back as is */
    const unsigned char neg[] = {2, 'x', 0, 0, 0, 2, 3 /* -2 */, 0, 0};
    ASSERT_OK(rs_codec_decode_item(c, neg, sizeof(neg), RS_FMT_AVRO, &d, err, sizeof(err)));
    ASSERT_EQ(d.stock, -2);
    rs_codec_destroy(c);
}

TEST(avro_map_blocks_and_escaping) {
    char err[256];
    rs_codec_t *c = NULL;
    ASSERT_OK(rs_codec_new(&c, err, sizeof(err)));
    /* two map blocks: a negative count with its byte size, then a positive one */
    unsigned char b[64];
    size_t n = 0;
    b[n++] = 2, b[n++] = 'y';
    b[n++] = 0, b[n++] = 0, b[n++] = 0, b[n++] = 0;
    b[n++] = 1;     /* count -1 */
    b[n++] = 2 * 6; /* byte size 6 */
    b[n++] = 2 * 2, memcpy(b + n, "a=", 2), n += 2;
    b[n++] = 2 * 2, memcpy(b + n, "b;", 2), n += 2;
    b[n++] = 2; /* count 1 */
    b[n++] = 2 * 1, b[n++] = 'k';
    b[n++] = 2 * 1, b[n++] = '\\';
    b[n++] = 0; /* end of map */
    b[n++] = 0; /* updated_ms null */
    rs_item_meta_t d;
    ASSERT_OK(rs_codec_decode_item(c, b, n, RS_FMT_AVRO, &d, err, sizeof(err)));
    ASSERT(STREQN(d.attrs, "a\\==b\\;;k=\\\\"));
    /* the encoder reads the escapes back: same bytes as the input's pairs */
    rs_buf_t out = {0};
    d.price = -1, d.stock = -1;
    char attrs[64];
    memcpy(attrs, d.attrs.p, d.attrs.len);
    rs_item_meta_t e = {
        .item_id = S("y"), .attrs = rs_str(attrs, d.attrs.len), .price = -1, .stock = -1};
    ASSERT_OK(rs_codec_encode_item(c, &e, -1, RS_FMT_JSON, 0, &out));
    ASSERT_STREQ(rs_buf_cstr(&out), "{\"item_id\":\"y\",\"category\":null,\"brand\":null,"
                                    "\"price\":null,\"stock\":null,\"attributes\":{\"a=\":\"b;\","
                                    "\"k\":\"\\\\\"},\"updated_ms\":null}");
    rs_item_meta_t d2;
    ASSERT_OK(rs_codec_decode_item(c, out.p, out.len, RS_FMT_AUTO, &d2, err, sizeof(err)));
    ASSERT(STREQN(d2.attrs, "a\\==b\\;;k=\\\\"));
    /* Avro round trip through Avro C's writer */
    rs_buf_reset(&out);
    ASSERT_OK(rs_codec_encode_item(c, &e, 7, RS_FMT_AVRO, 0, &out));
    ASSERT_OK(rs_codec_decode_item(c, out.p, out.len, RS_FMT_AVRO, &d2, err, sizeof(err)));
    ASSERT(STREQN(d2.attrs, "a\\==b\\;;k=\\\\"));
    /* a pair without '=' cannot be encoded */
    e.attrs = S("novalue");
    size_t mark = out.len;
    ASSERT_EQ(rs_codec_encode_item(c, &e, -1, RS_FMT_AVRO, 0, &out), RS_EARG);
    ASSERT_EQ(out.len, mark);
    ASSERT_EQ(rs_codec_encode_item(c, &e, -1, RS_FMT_JSON, 0, &out), RS_EARG);
    ASSERT_EQ(out.len, mark);
    e.attrs = RS_STR_NULL;
    e.deleted = 1;
    ASSERT_EQ(rs_codec_encode_item(c, &e, -1, RS_FMT_AVRO, 0, &out), RS_EARG);
    rs_buf_free(&out);
    rs_codec_destroy(c);
}

TEST(confluent_framing) {
    char err[256];
    rs_codec_t *c = NULL;
    ASSERT_OK(rs_codec_new(&c, err, sizeof(err)));
    rs_item_meta_t m = {.item_id = S("i1"),
                        .category = S("Shoes"),
                        .attrs = S("color=red"),
                        .price = 19.5,
                        .stock = 3};
    rs_buf_t b = {0};
    ASSERT_OK(rs_codec_encode_item(c, &m, -1, RS_FMT_CONFLUENT, 0x01020304, &b));
    unsigned char want[64];
    size_t wn = avro_i1(want);
    ASSERT_EQ(b.len, wn + 5);
    ASSERT(!memcmp(b.p, "\x00\x01\x02\x03\x04", 5));
    ASSERT(!memcmp(b.p + 5, want, wn));
    rs_item_meta_t d;
    ASSERT_OK(rs_codec_decode_item(c, b.p, b.len, RS_FMT_AUTO, &d, err, sizeof(err)));
    ASSERT(STREQN(d.item_id, "i1"));
    ASSERT(STREQN(d.attrs, "color=red"));
    ASSERT_OK(rs_codec_decode_item(c, b.p, b.len, RS_FMT_CONFLUENT, &d, err, sizeof(err)));
    ASSERT(d.price == 19.5);
    /* short header */
    ASSERT_EQ(rs_codec_decode_item(c, "\x00\x01", 2, RS_FMT_CONFLUENT, &d, err, sizeof(err)),
              RS_EDECODE);
    ASSERT(!strncmp(err, "confluent: ", 11));
    rs_buf_free(&b);
    rs_codec_destroy(c);
}

TEST(json_decode_exact) {
    char err[256];
    rs_codec_t *c = NULL;
    ASSERT_OK(rs_codec_new(&c, err, sizeof(err)));
    const char *j = " {\"item_id\":\"sku-9\",\"category\":\"Sports\",\"brand\":\"Acme\","
                    "\"price\":12,\"stock\":0,\"attributes\":{\"size\":42,\"new\":true,"
                    "\"gone\":null,\"w\":1.5,\"note\":\"a;b\"},\"updated_ms\":1.7e12,"
                    "\"extra\":[1,2]}";
    rs_item_meta_t d;
    ASSERT_OK(rs_codec_decode_item(c, j, strlen(j), RS_FMT_AUTO, &d, err, sizeof(err)));
    ASSERT(STREQN(d.item_id, "sku-9"));
    ASSERT(STREQN(d.category, "Sports"));
    ASSERT(STREQN(d.brand, "Acme"));
    ASSERT(d.price == 12.0);
    ASSERT_EQ(d.stock, 0);
    ASSERT(STREQN(d.attrs, "size=42;new=true;w=1.5;note=a\\;b"));
    /* absent / null fields; no item_id (the key supplies it) */
    const char *j2 = "{\"category\":null,\"attributes\":{}}";
    ASSERT_OK(rs_codec_decode_item(c, j2, strlen(j2), RS_FMT_JSON, &d, err, sizeof(err)));
    ASSERT(!d.item_id.p && !d.category.p && !d.brand.p && !d.attrs.p);
    ASSERT(d.price == -INFINITY);
    ASSERT(d.stock == INT64_MIN);
    /* long reals as attribute values still fit the arena */
    const char *j3 = "{\"item_id\":\"z\",\"attributes\":{\"a\":5e-324,\"b\":-1e-300,"
                     "\"c\":5e-324,\"d\":5e-324}}";
    ASSERT_OK(rs_codec_decode_item(c, j3, strlen(j3), RS_FMT_JSON, &d, err, sizeof(err)));
    ASSERT(STREQN(d.attrs, "a=4.94065645841247e-324;b=-1e-300;c=4.94065645841247e-324;"
                           "d=4.94065645841247e-324"));
    rs_codec_destroy(c);
}

TEST(decode_errors) {
    char err[256];
    rs_codec_t *c = NULL;
    ASSERT_OK(rs_codec_new(&c, err, sizeof(err)));
    rs_item_meta_t d;
    static const struct {
        const char *json, *want;
    } bad[] = {
        {"{\"item_id\":5}", "json: field item_id: expected string"},
        {"{\"item_id\":\"a\",\"price\":\"3\"}", "json: field price: expected number"},
        {"{\"item_id\":\"a\",\"stock\":1.5}", "json: field stock: expected integer"},
        {"{\"item_id\":\"a\",\"attributes\":[]}", "json: field attributes: expected object"},
        {"{\"item_id\":\"a\",\"attributes\":{\"k\":{}}}",
         "json: attributes.k: expected a string, number or boolean"},
        {"{\"item_id\":\"a\",\"updated_ms\":\"now\"}", "json: field updated_ms: expected integer"},
        {"{\"item_id\":\"a\",\"item_id\":\"b\"}", NULL},
        {"{\"item_id\":\"a\"", NULL},
        {"[1]", "json: expected an object"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        ASSERT_EQ(rs_codec_decode_item(c, bad[i].json, strlen(bad[i].json), RS_FMT_JSON, &d, err,
                                       sizeof(err)),
                  RS_EDECODE);
        if (bad[i].want) ASSERT_STREQ(err, bad[i].want);
        ASSERT(!strncmp(err, "json: ", 6));
    }
    unsigned char good[64];
    size_t n = avro_i1(good);
    /* every truncation fails cleanly */
    for (size_t k = 0; k < n; k++)
        ASSERT_EQ(rs_codec_decode_item(c, good, k, RS_FMT_AVRO, &d, err, sizeof(err)), RS_EDECODE);
    /* trailing byte */
    good[n] = 0;
    ASSERT_EQ(rs_codec_decode_item(c, good, n + 1, RS_FMT_AVRO, &d, err, sizeof(err)), RS_EDECODE);
    ASSERT_STREQ(err, "avro: 1 trailing bytes after the record");
    /* union branch 2 for brand */
    unsigned char ub[] = {2, 'x', 0, 4};
    ASSERT_EQ(rs_codec_decode_item(c, ub, sizeof(ub), RS_FMT_AVRO, &d, err, sizeof(err)),
              RS_EDECODE);
    ASSERT(strstr(err, "union branch out of range in field brand"));
    /* a map count larger than the bytes left */
    unsigned char mc[] = {2, 'x', 0, 0, 0, 0, 0x7e, 2, 'k'};
    ASSERT_EQ(rs_codec_decode_item(c, mc, sizeof(mc), RS_FMT_AVRO, &d, err, sizeof(err)),
              RS_EDECODE);
    ASSERT(strstr(err, "map count exceeds the remaining bytes in field attributes"));
    rs_codec_destroy(c);
}

/* ---- rs_catalog_process on a pipeline's state ---- */

typedef struct capture {
    int dlq;
    int dlq_by[RS_REJ__COUNT];
    int64_t last_off;
    char last_detail[256];
} capture_t;

static void cap_dlq(void *opaque, const rs_msg_t *m, rs_reject_t r, const char *detail) {
    capture_t *c = opaque;
    c->dlq++;
    c->dlq_by[r]++;
    c->last_off = m->offset;
    snprintf(c->last_detail, sizeof(c->last_detail), "%s", detail);
}

static char g_dir[256];

static rs_conf_t *mkconf(void) {
    char err[256];
    rs_conf_t *c = rs_conf_new();
    snprintf(g_dir, sizeof(g_dir), "/tmp/rs-test-catalog-XXXXXX");
    if (!mkdtemp(g_dir)) abort();
    rs_conf_set(c, "state.dir", g_dir, "test", err, sizeof(err));
    rs_conf_set(c, "topic.items", "items", "test", err, sizeof(err));
    return c;
}

static void rmdir_r(const char *dir) {
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd)) fprintf(stderr, "  could not remove %s\n", dir);
}

static rs_reject_t put(rs_catalog_t *cat, int32_t part, int64_t off, const char *key,
                       const void *val, size_t vlen) {
    rs_msg_t m = {0};
    m.payload = val;
    m.len = vlen;
    m.key = key;
    m.key_len = key ? strlen(key) : 0;
    m.topic = "items";
    m.partition = part;
    m.offset = off;
    return rs_catalog_process(cat, &m);
}

static rs_reject_t put_json(rs_catalog_t *cat, int32_t part, int64_t off, const char *key,
                            const char *json) {
    return put(cat, part, off, key, json, json ? strlen(json) : 0);
}

static const char *name_of(rs_state_t *st, uint32_t ix) {
    static char buf[128];
    uint32_t len = 0;
    const char *s = rs_state_name(st, ix, &len);
    snprintf(buf, sizeof(buf), "%.*s", (int)len, s ? s : "");
    return buf;
}

static rs_item_t *item(rs_state_t *st, const char *id) {
    return rs_state_item_get(st, id, strlen(id));
}

/* The state after the records of t_process (also checked after a reopen). */
static void check_state(rs_state_t *st) {
    rs_item_t *it = item(st, "i1");
    ASSERT(it);
    ASSERT_STREQ(name_of(st, it->category), "Shoes");
    ASSERT_STREQ(name_of(st, it->brand), "Acme");
    ASSERT(it->price == 25.0); /* the update's null price kept 25 */
    ASSERT_EQ(it->flags, 0);
    ASSERT_STREQ(it->attrs, "color=red;size=42");
    it = item(st, "i2");
    ASSERT(it);
    ASSERT_STREQ(name_of(st, it->category), "Bags");
    ASSERT_EQ(it->brand, 0);
    ASSERT_EQ(it->flags, RS_ITEM_OUT_OF_STOCK);
    ASSERT(it->price == 80.0);
    it = item(st, "i3");
    ASSERT(it);
    ASSERT_EQ(it->flags, RS_ITEM_DELETED);
    ASSERT_EQ(it->category, 0);
    ASSERT(it->attrs == NULL);
    it = item(st, "i4"); /* negative stock: out of stock */
    ASSERT(it);
    ASSERT_EQ(it->flags, RS_ITEM_OUT_OF_STOCK);
    it = item(st, "i5"); /* Avro, stock unknown */
    ASSERT(it);
    ASSERT_STREQ(name_of(st, it->category), "Toys");
    ASSERT_STREQ(name_of(st, it->brand), "Lego");
    ASSERT_EQ(it->flags, 0);
    ASSERT(it->price < 0);
    ASSERT(item(st, "ghost") == NULL); /* tombstone of an unknown item creates nothing */
    ASSERT(item(st, "bad1") == NULL);
    ASSERT(item(st, "bad2") == NULL);
    ASSERT(item(st, "other") == NULL);
    ASSERT_EQ(rs_state_item_count(st), 5);
    ASSERT_EQ(rs_state_offset(st, "items", 0), 10);
    ASSERT_EQ(rs_state_offset(st, "items", 1), 8);
}

TEST(process) {
    char err[256];
    rs_conf_t *conf = mkconf();
    rs_stats_t stats;
    memset(&stats, 0, sizeof(stats));
    capture_t cap;
    memset(&cap, 0, sizeof(cap));
    rs_sink_t sink = {.opaque = &cap, .dlq = cap_dlq};
    rs_pipeline_t *p = NULL;
    rs_catalog_t *cat = NULL;
    rs_codec_t *codec = NULL;
    ASSERT_OK(rs_pipeline_new(&p, conf, &sink, &stats, err, sizeof(err)));
    ASSERT_OK(rs_catalog_new(&cat, p, conf, &stats, err, sizeof(err)));
    ASSERT_OK(rs_codec_new(&codec, err, sizeof(err)));

    /* partition 0: offsets 0..9 */
    ASSERT_EQ(put_json(cat, 0, 0, "i1",
                       "{\"item_id\":\"i1\",\"category\":\"Sneakers\",\"brand\":\"Acme\","
                       "\"price\":25,\"stock\":5}"),
              RS_REJ_NONE);
    ASSERT_EQ(put_json(cat, 0, 1, "i2",
                       "{\"item_id\":\"i2\",\"category\":\"Bags\",\"price\":80,\"stock\":0}"),
              RS_REJ_NONE);
    ASSERT_EQ(put_json(cat, 0, 2, "i3",
                       "{\"item_id\":\"i3\",\"category\":\"Hats\",\"stock\":9,"
                       "\"attributes\":{\"k\":\"v\"}}"),
              RS_REJ_NONE);
    ASSERT_EQ(put_json(cat, 0, 3, "i3", NULL), RS_REJ_NONE);  /* tombstone */
    ASSERT_EQ(put_json(cat, 0, 4, "ghost", ""), RS_REJ_NONE); /* tombstone, unknown item */
    ASSERT_EQ(put_json(cat, 0, 5, "bad1", "garbage"), RS_REJ_MALFORMED);
    ASSERT_EQ(cap.last_off, 5);
    ASSERT(cap.last_detail[0]);
    ASSERT_EQ(put_json(cat, 0, 6, "other", "{\"item_id\":\"bad2\",\"category\":\"X\"}"),
              RS_REJ_BAD_ID);
    ASSERT_STREQ(cap.last_detail, "record key \"other\" differs from item_id \"bad2\"");
    ASSERT_EQ(put_json(cat, 0, 7, "bad2", "{\"item_id\":\"bad2\",\"price\":-3}"),
              RS_REJ_NEGATIVE_PRICE);
    ASSERT_EQ(put_json(cat, 0, 8, NULL, NULL), RS_REJ_MISSING_FIELD);
    /* an update: category changes, null price keeps the last one, no key: from the value */
    ASSERT_EQ(put_json(cat, 0, 9, NULL,
                       "{\"item_id\":\"i1\",\"category\":\"Shoes\",\"brand\":\"Acme\","
                       "\"stock\":2,\"attributes\":{\"color\":\"red\",\"size\":42}}"),
              RS_REJ_NONE);

    /* partition 1: offsets 0..5, Avro and Confluent mixed (input.format auto) */
    rs_buf_t b = {0};
    /* oversold (the encoders write stock < 0 as null, so JSON by hand) */
    ASSERT_EQ(put_json(cat, 1, 0, "i4", "{\"item_id\":\"i4\",\"stock\":-3}"), RS_REJ_NONE);
    rs_item_meta_t m =
        (rs_item_meta_t){.item_id = S("i5"), .category = S("Toys"), .price = -1, .stock = -1};
    ASSERT_OK(rs_codec_encode_item(codec, &m, 1700000000000, RS_FMT_CONFLUENT, 7, &b));
    ASSERT_EQ(put(cat, 1, 1, "i5", b.p, b.len), RS_REJ_NONE);
    rs_buf_reset(&b);
    m = (rs_item_meta_t){.item_id = S("i6"), .price = 1e12, .stock = -1};
    ASSERT_OK(rs_codec_encode_item(codec, &m, -1, RS_FMT_AVRO, 0, &b));
    ASSERT_EQ(put(cat, 1, 2, "i6", b.p, b.len), RS_REJ_BAD_PRICE); /* > validate.max.price */
    rs_buf_reset(&b);
    const char nan_json[] = "{\"item_id\":\"i6\",\"price\":1e999}"; /* jansson: overflow */
    ASSERT_EQ(put_json(cat, 1, 3, "i6", nan_json), RS_REJ_MALFORMED);
    char big[70000];
    memset(big, ' ', sizeof(big));
    memcpy(big, "{}", 2);
    ASSERT_EQ(put(cat, 1, 4, "i7", big, sizeof(big)), RS_REJ_OVERSIZE);
    ASSERT_EQ(put_json(cat, 1, 5, "", "{\"item_id\":\"\"}"), RS_REJ_BAD_ID);
    /* a NUL byte in an attribute (Avro strings may hold one; the state cannot) */
    const unsigned char nul[] = {2, 'i', 0, 0, 0, 0, 2, 2, 'k', 6, 'a', 0, 'b', 0, 0};
    ASSERT_EQ(put(cat, 1, 6, "i", nul, sizeof(nul)), RS_REJ_MALFORMED);
    ASSERT_STREQ(cap.last_detail, "NUL byte in attributes");
    /* no item_id in the value: the key names the item */
    ASSERT_EQ(put_json(cat, 1, 7, "i5", "{\"category\":\"Toys\",\"brand\":\"Lego\"}"), RS_REJ_NONE);
    rs_buf_free(&b);

    ASSERT_EQ(stats.catalog_records, 18);
    ASSERT_EQ(stats.catalog_rejected, 9);
    ASSERT_EQ(cap.dlq, 9);
    ASSERT_EQ(cap.dlq_by[RS_REJ_MALFORMED], 3);
    ASSERT_EQ(cap.dlq_by[RS_REJ_BAD_ID], 2);
    ASSERT_EQ(cap.dlq_by[RS_REJ_NEGATIVE_PRICE], 1);
    ASSERT_EQ(cap.dlq_by[RS_REJ_MISSING_FIELD], 1);
    ASSERT_EQ(cap.dlq_by[RS_REJ_BAD_PRICE], 1);
    ASSERT_EQ(cap.dlq_by[RS_REJ_OVERSIZE], 1);
    ASSERT_EQ(stats.dlq[RS_REJ_MALFORMED], 3);
    ASSERT_EQ(stats.events_in, 0);
    check_state(rs_pipeline_state(p));
    if (rs_test_failed_) goto out;

    /* committed with the state's WriteBatch: a reopened state has it all */
    ASSERT_OK(rs_pipeline_commit(p, err, sizeof(err)));
    ASSERT_EQ(rs_pipeline_pending(p), 0);
    rs_catalog_destroy(cat), cat = NULL;
    rs_pipeline_destroy(p), p = NULL;
    ASSERT_OK(rs_pipeline_new(&p, conf, &sink, &stats, err, sizeof(err)));
    check_state(rs_pipeline_state(p));
out:
    rs_codec_destroy(codec);
    rs_catalog_destroy(cat);
    rs_pipeline_destroy(p);
    rs_conf_destroy(conf);
    rmdir_r(g_dir);
}

int main(void) {
    return RUN_TESTS(t_schema_embedded, t_avro_exact_bytes_and_decode, t_avro_nulls_are_sentinels,
                     t_avro_map_blocks_and_escaping, t_confluent_framing, t_json_decode_exact,
                     t_decode_errors, t_process);
}
