/* test_codec_out.c -- wire formats of the detectors' outputs: alerts
 * (schemas/alert.avsc) and segment changes (schemas/segment_change.avsc).
 * Exact JSON lines, round trips in every format, absent user/item, Avro C
 * reading our hand-written Avro with the embedded schemas (and writing the
 * same bytes), the schema files against the embedded copies and through
 * schema resolution, encoder argument checks, decode errors, and mutation
 * fuzzing under the sanitizers. */
#include <avro.h>

#include "recstream/rs_codec.h"
#include "rs_test.h"

static const rs_named_num_t bot_evidence[] = {{"views", 320}, {"window_ms", 10000}};

static rs_alert_t bot_alert(void) {
    rs_alert_t a;
    memset(&a, 0, sizeof(a));
    a.rule = RS_ALERT_BOT;
    memcpy(a.id, "00c0ffee12345678", 17);
    a.user_id = "u5";
    a.user_len = 2;
    a.item_id = "i3";
    a.item_len = 2;
    a.score = 12.5;
    a.ts_ms = 1700000123000;
    a.episode_start = 1700000100000;
    a.n_evidence = 2;
    memcpy(a.evidence, bot_evidence, sizeof(bot_evidence));
    return a;
}

static rs_alert_t spike_alert(void) {
    rs_alert_t a = bot_alert();
    a.rule = RS_ALERT_ITEM_SPIKE;
    memcpy(a.id, "ffffffff00000001", 17);
    a.user_id = NULL;
    a.user_len = 0;
    a.score = 7.25;
    a.n_evidence = 3;
    a.evidence[0] = (rs_named_num_t){"z", 9.0206};
    a.evidence[1] = (rs_named_num_t){"count", 480};
    a.evidence[2] = (rs_named_num_t){"mean", 1.0 / 3};
    return a;
}

static rs_segment_change_t rfm_change(void) {
    rs_segment_change_t s;
    memset(&s, 0, sizeof(s));
    s.kind = RS_SEG_RFM;
    s.user_id = "u5";
    s.user_len = 2;
    s.old_name = "potential";
    s.new_name = "champions";
    snprintf(s.reason, sizeof(s.reason), "recency 4 -> 5");
    s.ts_ms = 1700000123000;
    s.n_scores = 3;
    s.scores[0] = (rs_named_num_t){"r", 5};
    s.scores[1] = (rs_named_num_t){"f", 4};
    s.scores[2] = (rs_named_num_t){"m", 3};
    return s;
}

static int same_str(rs_str_t s, const char *want, size_t want_len) {
    if (!want) return s.p == NULL;
    return s.p && s.len == want_len && memcmp(s.p, want, want_len) == 0 && s.p[s.len] == '\0';
}

/* Doubles compare bit for bit (NaN included). */
static int same_double(double a, double b) {
    return memcmp(&a, &b, sizeof(a)) == 0 || (isnan(a) && isnan(b));
}

static int same_nums(const rs_named_num_t *got, uint32_t n_got, const rs_named_num_t *want,
                     uint32_t n_want) {
    if (n_got != n_want) return 0;
    for (uint32_t i = 0; i < n_got; i++)
        if (strcmp(got[i].name, want[i].name) || !same_double(got[i].value, want[i].value))
            return 0;
    return 1;
}

static int alert_equal(const rs_alert_msg_t *m, const rs_alert_t *a, int64_t created) {
    static const char *const names[] = {"rate_burst", "bot", "big_purchase", "card_testing",
                                        "item_spike"};
    const char *rule = names[a->rule];
    return same_str(m->id, a->id, 16) && same_str(m->rule, rule, strlen(rule)) &&
           m->rule_id == (int)a->rule && same_str(m->user_id, a->user_id, a->user_len) &&
           same_str(m->item_id, a->item_id, a->item_len) && same_double(m->score, a->score) &&
           m->ts_ms == a->ts_ms && m->episode_start_ms == a->episode_start &&
           m->created_ms == created &&
           same_nums(m->evidence, m->n_evidence, a->evidence, a->n_evidence);
}

static int seg_equal(const rs_segment_msg_t *m, const rs_segment_change_t *s, int64_t created) {
    const char *o = s->old_name ? s->old_name : "", *n = s->new_name ? s->new_name : "";
    return same_str(m->user_id, s->user_id, s->user_len) && m->kind == (int)s->kind &&
           same_str(m->old_name, o, strlen(o)) && same_str(m->new_name, n, strlen(n)) &&
           same_str(m->reason, s->reason, strlen(s->reason)) && m->ts_ms == s->ts_ms &&
           m->created_ms == created && same_nums(m->scores, m->n_scores, s->scores, s->n_scores);
}

static char errstr[256];

TEST(alert_json_exact) {
    rs_codec_t *c = NULL;
    rs_buf_t b = {0};
    rs_alert_t a = bot_alert();
    ASSERT_OK(rs_codec_new(&c, errstr, sizeof(errstr)));
    ASSERT_OK(rs_codec_encode_alert(c, &a, 0, RS_FMT_JSON, 0, &b));
    ASSERT_STREQ(rs_buf_cstr(&b),
                 "{\"kind\":\"alert\",\"id\":\"00c0ffee12345678\",\"rule\":\"bot\",\"user_id\":"
                 "\"u5\",\"item_id\":\"i3\",\"score\":12.5,\"ts_ms\":1700000123000,"
                 "\"episode_start\":1700000100000,\"evidence\":{\"views\":320,\"window_ms\":"
                 "10000}}");
    rs_buf_reset(&b);
    ASSERT_OK(rs_codec_encode_alert(c, &a, 1700000200000, RS_FMT_JSON, 0, &b));
    ASSERT_STREQ(rs_buf_cstr(&b),
                 "{\"kind\":\"alert\",\"id\":\"00c0ffee12345678\",\"rule\":\"bot\",\"user_id\":"
                 "\"u5\",\"item_id\":\"i3\",\"score\":12.5,\"ts_ms\":1700000123000,"
                 "\"episode_start\":1700000100000,\"created_ms\":1700000200000,\"evidence\":{"
                 "\"views\":320,\"window_ms\":10000}}");
    /* item rule: no user_id; doubles in the shortest exact form */
    rs_alert_t s = spike_alert();
    rs_buf_reset(&b);
    ASSERT_OK(rs_codec_encode_alert(c, &s, 0, RS_FMT_JSON, 0, &b));
    ASSERT_STREQ(rs_buf_cstr(&b),
                 "{\"kind\":\"alert\",\"id\":\"ffffffff00000001\",\"rule\":\"item_spike\","
                 "\"item_id\":\"i3\",\"score\":7.25,\"ts_ms\":1700000123000,\"episode_start\":"
                 "1700000100000,\"evidence\":{\"z\":9.0206,\"count\":480,\"mean\":"
                 "0.3333333333333333}}");
    /* no item either, no evidence, a non-finite score */
    s.item_id = NULL;
    s.n_evidence = 0;
    s.score = INFINITY;
    rs_buf_reset(&b);
    ASSERT_OK(rs_codec_encode_alert(c, &s, 0, RS_FMT_JSON, 0, &b));
    ASSERT_STREQ(rs_buf_cstr(&b),
                 "{\"kind\":\"alert\",\"id\":\"ffffffff00000001\",\"rule\":\"item_spike\","
                 "\"score\":null,\"ts_ms\":1700000123000,\"episode_start\":1700000100000,"
                 "\"evidence\":{}}");
    rs_buf_free(&b);
    rs_codec_destroy(c);
}

TEST(segment_json_exact) {
    rs_codec_t *c = NULL;
    rs_buf_t b = {0};
    rs_segment_change_t s = rfm_change();
    ASSERT_OK(rs_codec_new(&c, errstr, sizeof(errstr)));
    ASSERT_OK(rs_codec_encode_segment(c, &s, 0, RS_FMT_JSON, 0, &b));
    ASSERT_STREQ(rs_buf_cstr(&b),
                 "{\"kind\":\"segment\",\"user_id\":\"u5\",\"dimension\":\"rfm\",\"old\":"
                 "\"potential\",\"new\":\"champions\",\"reason\":\"recency 4 -> 5\",\"ts_ms\":"
                 "1700000123000,\"scores\":{\"r\":5,\"f\":4,\"m\":3}}");
    /* a first cluster assignment: old none, escapes in the reason */
    s.kind = RS_SEG_CLUSTER;
    s.old_name = NULL;
    s.new_name = "cluster-3";
    snprintf(s.reason, sizeof(s.reason), "nearest \"3\"\n\x01 caf\xc3\xa9");
    s.n_scores = 1;
    s.scores[0] = (rs_named_num_t){"distance", 0.1};
    rs_buf_reset(&b);
    ASSERT_OK(rs_codec_encode_segment(c, &s, 1700000200000, RS_FMT_JSON, 0, &b));
    ASSERT_STREQ(rs_buf_cstr(&b),
                 "{\"kind\":\"segment\",\"user_id\":\"u5\",\"dimension\":\"cluster\",\"old\":\"\","
                 "\"new\":\"cluster-3\",\"reason\":\"nearest \\\"3\\\"\\n\\u0001 caf\xc3\xa9\","
                 "\"ts_ms\":1700000123000,\"created_ms\":1700000200000,\"scores\":{\"distance\":"
                 "0.1}}");
    rs_buf_free(&b);
    rs_codec_destroy(c);
}

/* Every format, AUTO included, gives back exactly what was encoded. */
TEST(round_trip_all_formats) {
    rs_codec_t *c = NULL;
    rs_buf_t b = {0};
    rs_alert_msg_t am;
    rs_segment_msg_t sm;
    ASSERT_OK(rs_codec_new(&c, errstr, sizeof(errstr)));
    rs_alert_t alerts[4] = {bot_alert(), spike_alert(), bot_alert(), bot_alert()};
    alerts[2].rule = RS_ALERT_CARD_TESTING; /* no item */
    alerts[2].item_id = NULL;
    alerts[2].n_evidence = 0;
    alerts[3].rule = RS_ALERT_BIG_PURCHASE; /* awkward doubles and a long id */
    alerts[3].score = 5e-324;
    alerts[3].evidence[0] = (rs_named_num_t){"price", 123456789.125};
    alerts[3].evidence[1] = (rs_named_num_t){"mean_price", -2.5e300};
    alerts[3].user_id = "\"user\"\\\n\x7f-\xe2\x82\xac";
    alerts[3].user_len = (uint32_t)strlen(alerts[3].user_id);
    alerts[3].ts_ms = -1;
    alerts[3].episode_start = INT64_MIN;
    rs_segment_change_t segs[2] = {rfm_change(), rfm_change()};
    segs[1].kind = RS_SEG_CLUSTER;
    segs[1].old_name = "cluster-0";
    segs[1].new_name = "";
    segs[1].n_scores = 0;
    segs[1].ts_ms = INT64_MAX;
    const rs_format_t fmts[] = {RS_FMT_AVRO, RS_FMT_CONFLUENT, RS_FMT_JSON};
    const int64_t created[] = {0, 1700000200000};
    for (int f = 0; f < 3; f++) {
        for (int cr = 0; cr < 2; cr++) {
            for (int i = 0; i < 4; i++) {
                rs_buf_reset(&b);
                ASSERT_OK(rs_codec_encode_alert(c, &alerts[i], created[cr], fmts[f], 77, &b));
                ASSERT_OK(
                    rs_codec_decode_alert(c, b.p, b.len, fmts[f], &am, errstr, sizeof(errstr)));
                ASSERT(alert_equal(&am, &alerts[i], created[cr]));
                ASSERT_OK(
                    rs_codec_decode_alert(c, b.p, b.len, RS_FMT_AUTO, &am, errstr, sizeof(errstr)));
                ASSERT(alert_equal(&am, &alerts[i], created[cr]));
            }
            for (int i = 0; i < 2; i++) {
                rs_buf_reset(&b);
                ASSERT_OK(rs_codec_encode_segment(c, &segs[i], created[cr], fmts[f], 78, &b));
                ASSERT_OK(
                    rs_codec_decode_segment(c, b.p, b.len, fmts[f], &sm, errstr, sizeof(errstr)));
                ASSERT(seg_equal(&sm, &segs[i], created[cr]));
                ASSERT_OK(rs_codec_decode_segment(c, b.p, b.len, RS_FMT_AUTO, &sm, errstr,
                                                  sizeof(errstr)));
                ASSERT(seg_equal(&sm, &segs[i], created[cr]));
            }
        }
    }
    /* Confluent: magic 0, big-endian schema id, then the plain Avro bytes */
    rs_alert_t a = bot_alert();
    rs_buf_t plain = {0};
    rs_buf_reset(&b);
    ASSERT_OK(rs_codec_encode_alert(c, &a, 0, RS_FMT_CONFLUENT, 300, &b));
    ASSERT_OK(rs_codec_encode_alert(c, &a, 0, RS_FMT_AVRO, 0, &plain));
    ASSERT_EQ(b.len, plain.len + 5);
    ASSERT(memcmp(b.p, "\x00\x00\x00\x01\x2c", 5) == 0);
    ASSERT(memcmp(b.p + 5, plain.p, plain.len) == 0);
    /* the exact Avro bytes of the bot alert: id, rule, 2 unions, score,
     * three longs, a map block of 2, the end block */
    ASSERT_EQ(plain.len, 17 + 4 + 4 + 4 + 8 + 6 + 6 + 1 + 1 + 6 + 8 + 10 + 8 + 1);
    ASSERT(memcmp(plain.p,
                  "\x20"
                  "00c0ffee12345678"
                  "\x06"
                  "bot"
                  "\x02\x04"
                  "u5",
                  24) == 0);
    ASSERT_EQ((unsigned char)plain.p[plain.len - 1], 0);
    rs_buf_free(&plain);
    rs_buf_free(&b);
    rs_codec_destroy(c);
}

/* An unknown rule or dimension name (a newer writer) still decodes. */
TEST(unknown_names_decode) {
    rs_codec_t *c = NULL;
    rs_alert_msg_t am;
    rs_segment_msg_t sm;
    ASSERT_OK(rs_codec_new(&c, errstr, sizeof(errstr)));
    const char *aj = "{\"kind\":\"alert\",\"id\":\"1\",\"rule\":\"new_rule\",\"score\":1,"
                     "\"ts_ms\":5,\"episode_start\":4,\"future\":{\"a\":[1,{\"b\":null}]}}";
    ASSERT_OK(rs_codec_decode_alert(c, aj, strlen(aj), RS_FMT_JSON, &am, errstr, sizeof(errstr)));
    ASSERT_EQ(am.rule_id, -1);
    ASSERT(same_str(am.rule, "new_rule", 8));
    ASSERT(am.user_id.p == NULL && am.item_id.p == NULL);
    ASSERT_EQ(am.n_evidence, 0);
    ASSERT(am.evidence == NULL);
    ASSERT_EQ(am.created_ms, 0);
    const char *sj = "{\"user_id\":\"u\",\"dimension\":\"ltv\",\"old\":\"\",\"new\":\"high\","
                     "\"reason\":\"\",\"ts_ms\":1.7e12,\"user_id_x\":true}";
    ASSERT_OK(rs_codec_decode_segment(c, sj, strlen(sj), RS_FMT_AUTO, &sm, errstr, sizeof(errstr)));
    ASSERT_EQ(sm.kind, -1);
    ASSERT(same_str(sm.dimension, "ltv", 3));
    ASSERT_EQ(sm.ts_ms, 1700000000000);
    ASSERT(sm.old_name.p != NULL && sm.old_name.len == 0);
    /* null user/item and a null evidence value (a non-finite double) */
    const char *nj = "{\"id\":\"x\",\"rule\":\"bot\",\"user_id\":null,\"item_id\":null,"
                     "\"score\":null,\"ts_ms\":1,\"episode_start\":1,\"evidence\":{\"z\":null,"
                     "\"k\":-0.0,\"e\":1E+2}}";
    ASSERT_OK(rs_codec_decode_alert(c, nj, strlen(nj), RS_FMT_JSON, &am, errstr, sizeof(errstr)));
    ASSERT_EQ(am.rule_id, RS_ALERT_BOT);
    ASSERT(am.user_id.p == NULL && am.item_id.p == NULL);
    ASSERT(isnan(am.score));
    ASSERT_EQ(am.n_evidence, 3);
    ASSERT(isnan(am.evidence[0].value));
    ASSERT(same_double(am.evidence[1].value, -0.0));
    ASSERT(same_double(am.evidence[2].value, 100));
    ASSERT_STREQ(am.evidence[2].name, "e");
    rs_codec_destroy(c);
}

TEST(encode_refuses) {
    rs_codec_t *c = NULL;
    rs_buf_t b = {0};
    ASSERT_OK(rs_codec_new(&c, errstr, sizeof(errstr)));
    rs_buf_append(&b, "keep", 4);
    const rs_format_t fmts[] = {RS_FMT_AVRO, RS_FMT_CONFLUENT, RS_FMT_JSON};
    for (int f = 0; f < 3; f++) {
        rs_alert_t a = bot_alert();
        a.rule = RS_ALERT__RULE_COUNT;
        ASSERT_EQ(rs_codec_encode_alert(c, &a, 0, fmts[f], 1, &b), RS_EARG);
        a = bot_alert();
        a.n_evidence = RS_ALERT_MAX_EVIDENCE + 1;
        ASSERT_EQ(rs_codec_encode_alert(c, &a, 0, fmts[f], 1, &b), RS_EARG);
        a = bot_alert();
        a.evidence[1].name = "views";
        ASSERT_EQ(rs_codec_encode_alert(c, &a, 0, fmts[f], 1, &b), RS_EARG);
        a.evidence[1].name = NULL;
        ASSERT_EQ(rs_codec_encode_alert(c, &a, 0, fmts[f], 1, &b), RS_EARG);
        rs_segment_change_t s = rfm_change();
        s.user_id = NULL;
        ASSERT_EQ(rs_codec_encode_segment(c, &s, 0, fmts[f], 1, &b), RS_EARG);
        s = rfm_change();
        s.kind = RS_SEG__KIND_COUNT;
        ASSERT_EQ(rs_codec_encode_segment(c, &s, 0, fmts[f], 1, &b), RS_EARG);
        s = rfm_change();
        s.n_scores = RS_SEGMENT_MAX_SCORES + 1;
        ASSERT_EQ(rs_codec_encode_segment(c, &s, 0, fmts[f], 1, &b), RS_EARG);
    }
    rs_alert_t a = bot_alert();
    rs_segment_change_t s = rfm_change();
    ASSERT_EQ(rs_codec_encode_alert(c, &a, 0, RS_FMT_AUTO, 1, &b), RS_EARG);
    ASSERT_EQ(rs_codec_encode_segment(c, &s, 0, RS_FMT_AUTO, 1, &b), RS_EARG);
    ASSERT_EQ(b.len, 4); /* untouched */
    /* appends: the caller's bytes stay in front */
    ASSERT_OK(rs_codec_encode_segment(c, &s, 0, RS_FMT_JSON, 1, &b));
    ASSERT(memcmp(b.p, "keep{\"kind\":\"segment\"", 21) == 0);
    rs_buf_free(&b);
    rs_codec_destroy(c);
}

static void expect_err(rs_codec_t *c, int seg, const char *in, size_t n, rs_format_t fmt,
                       const char *msg_prefix, int *bad) {
    rs_alert_msg_t am;
    rs_segment_msg_t sm;
    rs_err_t err = seg ? rs_codec_decode_segment(c, in, n, fmt, &sm, errstr, sizeof(errstr))
                       : rs_codec_decode_alert(c, in, n, fmt, &am, errstr, sizeof(errstr));
    if (err != RS_EDECODE || strncmp(errstr, msg_prefix, strlen(msg_prefix)) != 0) {
        fprintf(stderr, "  input [%.*s]: got %d \"%s\", want \"%s...\"\n", (int)n, in, (int)err,
                err ? errstr : "", msg_prefix);
        (*bad)++;
    }
}

TEST(decode_errors) {
    rs_codec_t *c = NULL;
    rs_buf_t b = {0};
    int bad = 0;
    ASSERT_OK(rs_codec_new(&c, errstr, sizeof(errstr)));
    /* every proper prefix of every encoding fails */
    const rs_format_t fmts[] = {RS_FMT_AVRO, RS_FMT_CONFLUENT, RS_FMT_JSON};
    rs_alert_t a = bot_alert();
    rs_segment_change_t s = rfm_change();
    for (int f = 0; f < 3; f++) {
        for (int seg = 0; seg < 2; seg++) {
            rs_buf_reset(&b);
            if (seg)
                ASSERT_OK(rs_codec_encode_segment(c, &s, 5, fmts[f], 9, &b));
            else
                ASSERT_OK(rs_codec_encode_alert(c, &a, 5, fmts[f], 9, &b));
            for (size_t n = 0; n < b.len; n++) {
                rs_alert_msg_t am;
                rs_segment_msg_t sm;
                rs_err_t err =
                    seg ? rs_codec_decode_segment(c, b.p, n, fmts[f], &sm, errstr, sizeof(errstr))
                        : rs_codec_decode_alert(c, b.p, n, fmts[f], &am, errstr, sizeof(errstr));
                if (err != RS_EDECODE) bad++;
            }
            rs_buf_putc(&b, fmts[f] == RS_FMT_JSON ? 'x' : 0); /* a trailing byte */
            expect_err(c, seg, b.p, b.len, fmts[f],
                       fmts[f] == RS_FMT_JSON ? "json: " : "avro: ", &bad);
        }
    }
    ASSERT_EQ(bad, 0);
    /* Avro: a union index 2 for user_id; a duplicated map key */
    rs_buf_reset(&b);
    ASSERT_OK(rs_codec_encode_alert(c, &a, 0, RS_FMT_AVRO, 0, &b));
    b.p[21] = 4; /* 0x20 + 16-char id, 0x06 "bot", then the user_id branch */
    expect_err(c, 0, b.p, b.len, RS_FMT_AVRO, "avro: union branch out of range in field user_id",
               &bad);
    a.evidence[0].name = "abc"; /* the encoder refuses "vie" twice: patch the bytes */
    a.evidence[1].name = "vie";
    rs_buf_reset(&b);
    ASSERT_OK(rs_codec_encode_alert(c, &a, 0, RS_FMT_AVRO, 0, &b));
    char *k = memmem(b.p, b.len, "abc", 3);
    ASSERT(k != NULL);
    memcpy(k, "vie", 3);
    expect_err(c, 0, b.p, b.len, RS_FMT_AVRO, "avro: duplicate map key in field evidence", &bad);
    expect_err(c, 0, "\x01\x00\x00\x00\x00\x20", 6, RS_FMT_CONFLUENT, "confluent: bad magic", &bad);
    /* JSON */
    static const struct {
        int seg;
        const char *in, *msg;
    } cases[] = {
        {0, "{\"rule\":\"bot\",\"score\":1,\"ts_ms\":1,\"episode_start\":1}",
         "json: missing field id"},
        {0, "{\"kind\":\"segment\",\"id\":\"1\"}", "json: field kind: not \"alert\""},
        {1, "{\"kind\":\"alert\"}", "json: field kind: not \"segment\""},
        {0, "{\"id\":\"1\",\"id\":\"2\"}", "json: duplicate field id"},
        {0, "{\"id\":1}", "json: field id: expected string"},
        {0, "{\"score\":\"1\"}", "json: field score: expected number"},
        {0, "{\"ts_ms\":1.5}", "json: field ts_ms: expected integer"},
        {0, "{\"ts_ms\":9223372036854775808}", "json: field ts_ms: integer out of range"},
        {0, "{\"ts_ms\":01}", "json: expected ',' or '}'"},
        {0, "{\"evidence\":[]}", "json: field evidence: expected object"},
        {0, "{\"evidence\":{\"a\":1,\"a\":2}}", "json: field evidence: duplicate key"},
        {0, "{\"evidence\":{\"a\":\"1\"}}", "json: field evidence: expected number"},
        {0, "{\"id\":\"a\x01\"}", "json: control character in string"},
        {0, "{\"id\":\"\\ud800\"}", "json: unpaired high surrogate"},
        {0, "{\"id\":\"\\x\"}", "json: invalid escape"},
        {0, "[]", "json: expected an object"},
        {0, "{} {}", "json: trailing characters"},
        {1, "{\"user_id\":\"u\",\"dimension\":\"rfm\",\"old\":null}", "json: field old: expected"},
        {1, "{\"user_id\":\"u\",\"dimension\":\"rfm\",\"old\":\"\",\"new\":\"\",\"ts_ms\":1}",
         "json: missing field reason"},
    };
    char deep[256] = "{\"x\":";
    for (int i = 0; i < 100; i++) strcat(deep, "[");
    for (int i = 0; i < 100; i++) strcat(deep, "]");
    strcat(deep, "}");
    expect_err(c, 0, deep, strlen(deep), RS_FMT_JSON, "json: nesting too deep", &bad);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        expect_err(c, cases[i].seg, cases[i].in, strlen(cases[i].in), RS_FMT_JSON, cases[i].msg,
                   &bad);
    ASSERT_EQ(bad, 0);
    rs_buf_free(&b);
    rs_codec_destroy(c);
}

/* Random byte edits of valid records: decoders must fail cleanly or
 * succeed, never read out of bounds (ASan) or hit UB (UBSan). */
TEST(fuzz_mutations) {
    rs_codec_t *c = NULL;
    rs_buf_t b = {0}, m = {0};
    uint64_t x = rs_test_seed() * 2654435761u + 1;
    int bad = 0;
    ASSERT_OK(rs_codec_new(&c, errstr, sizeof(errstr)));
    rs_alert_t a = spike_alert();
    rs_segment_change_t s = rfm_change();
    const rs_format_t fmts[] = {RS_FMT_AVRO, RS_FMT_CONFLUENT, RS_FMT_JSON};
    for (int f = 0; f < 3; f++) {
        for (int seg = 0; seg < 2; seg++) {
            rs_buf_reset(&b);
            if (seg)
                ASSERT_OK(rs_codec_encode_segment(c, &s, 1, fmts[f], 2, &b));
            else
                ASSERT_OK(rs_codec_encode_alert(c, &a, 1, fmts[f], 2, &b));
            for (int round = 0; round < 4000; round++) {
                rs_buf_reset(&m);
                rs_buf_append(&m, b.p, b.len);
                int edits = 1 + round % 4;
                for (int e = 0; e < edits; e++) {
                    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                    size_t at = (size_t)(x % m.len);
                    unsigned char v = (unsigned char)(x >> 32);
                    if ((x >> 40) % 8 == 0 && m.len > 1)
                        m.len = at ? at : 1; /* truncate */
                    else
                        m.p[at] = (char)v;
                }
                rs_alert_msg_t am;
                rs_segment_msg_t sm;
                rs_format_t df = round % 2 ? RS_FMT_AUTO : fmts[f];
                rs_err_t err =
                    seg ? rs_codec_decode_segment(c, m.p, m.len, df, &sm, errstr, sizeof(errstr))
                        : rs_codec_decode_alert(c, m.p, m.len, df, &am, errstr, sizeof(errstr));
                if (err != RS_OK && err != RS_EDECODE) bad++;
            }
        }
    }
    ASSERT_EQ(bad, 0);
    rs_buf_free(&m);
    rs_buf_free(&b);
    rs_codec_destroy(c);
}

/* ---- Avro C against the embedded schemas --------------------------------- */

static void sig(avro_schema_t s, rs_buf_t *b) {
    switch (avro_typeof(s)) {
    case AVRO_STRING:
        rs_buf_printf(b, "string");
        break;
    case AVRO_INT64:
        rs_buf_printf(b, "long");
        break;
    case AVRO_DOUBLE:
        rs_buf_printf(b, "double");
        break;
    case AVRO_NULL:
        rs_buf_printf(b, "null");
        break;
    case AVRO_UNION:
        rs_buf_printf(b, "union[");
        for (size_t i = 0; i < avro_schema_union_size(s); i++) {
            if (i) rs_buf_putc(b, ',');
            sig(avro_schema_union_branch(s, (int)i), b);
        }
        rs_buf_printf(b, "]");
        break;
    case AVRO_MAP:
        rs_buf_printf(b, "map<");
        sig(avro_schema_map_values(s), b);
        rs_buf_printf(b, ">");
        break;
    case AVRO_RECORD:
        rs_buf_printf(b, "%s{", avro_schema_name(s));
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

static const char alert_sig[] =
    "Alert{id:string,rule:string,user_id:union[null,string],item_id:union[null,string],"
    "score:double,ts_ms:long,episode_start_ms:long,created_ms:long,evidence:map<double>}";
static const char seg_sig[] = "SegmentChange{user_id:string,dimension:string,old:string,"
                              "new:string,reason:string,ts_ms:long,created_ms:long,"
                              "scores:map<double>}";

static int parse(const char *json, avro_schema_t *out) {
    return avro_schema_from_json_length(json, strlen(json), out);
}

static int set_s(avro_value_t *rec, const char *f, const char *s, size_t n) {
    avro_value_t v;
    return avro_value_get_by_name(rec, f, &v, NULL) || avro_value_set_string_len(&v, s, n + 1);
}
static int set_l(avro_value_t *rec, const char *f, int64_t x) {
    avro_value_t v;
    return avro_value_get_by_name(rec, f, &v, NULL) || avro_value_set_long(&v, x);
}
static int set_opt(avro_value_t *rec, const char *f, const char *s, size_t n) {
    avro_value_t v, br;
    if (avro_value_get_by_name(rec, f, &v, NULL)) return -1;
    if (!s) return avro_value_set_branch(&v, 0, &br) || avro_value_set_null(&br);
    return avro_value_set_branch(&v, 1, &br) || avro_value_set_string_len(&br, s, n + 1);
}
static int set_map(avro_value_t *rec, const char *f, const rs_named_num_t *v, uint32_t n) {
    avro_value_t m, el;
    if (avro_value_get_by_name(rec, f, &m, NULL)) return -1;
    for (uint32_t i = 0; i < n; i++)
        if (avro_value_add(&m, v[i].name, &el, NULL, NULL) ||
            avro_value_set_double(&el, v[i].value))
            return -1;
    return 0;
}

/* Avro C's own binary for a value, into b. */
static int avro_c_bytes(avro_value_t *v, rs_buf_t *b) {
    size_t sz = 0;
    if (avro_value_sizeof(v, &sz)) return -1;
    rs_buf_reset(b);
    rs_buf_reserve(b, sz + 1);
    avro_writer_t w = avro_writer_memory(b->p, (int64_t)sz);
    int rc = avro_value_write(w, v);
    avro_writer_free(w);
    b->len = sz;
    return rc;
}

/* Reads our bytes with Avro C into v (the whole buffer must be consumed). */
static int avro_c_read(const rs_buf_t *b, avro_value_t *v) {
    avro_reader_t r = avro_reader_memory(b->p, (int64_t)b->len);
    char extra;
    int rc = avro_value_read(r, v);
    int left = !rc && avro_read(r, &extra, 1) == 0; /* avro_reader_is_eof only knows files */
    avro_reader_free(r);
    return rc || left;
}

TEST(avro_c_agrees) {
    rs_codec_t *c = NULL;
    rs_buf_t b = {0}, ref = {0}, sb = {0};
    avro_schema_t as = NULL, ss = NULL;
    avro_value_iface_t *ai = NULL, *si = NULL;
    avro_value_t av, sv, f, br;
    ASSERT_OK(rs_codec_new(&c, errstr, sizeof(errstr)));
    ASSERT_OK(parse(rs_schema_alert_json(), &as));
    ASSERT_OK(parse(rs_schema_segment_json(), &ss));
    sig(as, &sb);
    ASSERT_STREQ(rs_buf_cstr(&sb), alert_sig);
    rs_buf_reset(&sb);
    sig(ss, &sb);
    ASSERT_STREQ(rs_buf_cstr(&sb), seg_sig);
    ASSERT(strcmp(avro_schema_namespace(as), "io.recstream") == 0);
    ai = avro_generic_class_from_schema(as);
    si = avro_generic_class_from_schema(ss);
    ASSERT(ai && si);
    ASSERT_OK(avro_generic_value_new(ai, &av));
    ASSERT_OK(avro_generic_value_new(si, &sv));

    rs_alert_t alerts[3] = {bot_alert(), spike_alert(), bot_alert()};
    alerts[2].item_id = NULL;
    alerts[2].n_evidence = 0;
    for (int i = 0; i < 3; i++) {
        const rs_alert_t *a = &alerts[i];
        rs_buf_reset(&b);
        ASSERT_OK(rs_codec_encode_alert(c, a, 1700000200000, RS_FMT_AVRO, 0, &b));
        /* Avro C reads ours */
        ASSERT_OK(avro_c_read(&b, &av));
        const char *s;
        size_t sz;
        int d;
        double x;
        int64_t l;
        ASSERT_OK(avro_value_get_by_name(&av, "id", &f, NULL));
        ASSERT_OK(avro_value_get_string(&f, &s, &sz));
        ASSERT_STREQ(s, a->id);
        ASSERT_OK(avro_value_get_by_name(&av, "user_id", &f, NULL));
        ASSERT_OK(avro_value_get_discriminant(&f, &d));
        ASSERT_EQ(d, a->user_id ? 1 : 0);
        ASSERT_OK(avro_value_get_by_name(&av, "item_id", &f, NULL));
        ASSERT_OK(avro_value_get_discriminant(&f, &d));
        ASSERT_EQ(d, a->item_id ? 1 : 0);
        if (a->item_id) {
            ASSERT_OK(avro_value_get_current_branch(&f, &br));
            ASSERT_OK(avro_value_get_string(&br, &s, &sz));
            ASSERT_STREQ(s, "i3");
        }
        ASSERT_OK(avro_value_get_by_name(&av, "score", &f, NULL));
        ASSERT_OK(avro_value_get_double(&f, &x));
        ASSERT(same_double(x, a->score));
        ASSERT_OK(avro_value_get_by_name(&av, "episode_start_ms", &f, NULL));
        ASSERT_OK(avro_value_get_long(&f, &l));
        ASSERT_EQ(l, a->episode_start);
        ASSERT_OK(avro_value_get_by_name(&av, "created_ms", &f, NULL));
        ASSERT_OK(avro_value_get_long(&f, &l));
        ASSERT_EQ(l, 1700000200000);
        ASSERT_OK(avro_value_get_by_name(&av, "evidence", &f, NULL));
        ASSERT_OK(avro_value_get_size(&f, &sz));
        ASSERT_EQ(sz, a->n_evidence);
        for (uint32_t e = 0; e < a->n_evidence; e++) {
            avro_value_t el;
            ASSERT_OK(avro_value_get_by_name(&f, a->evidence[e].name, &el, NULL));
            ASSERT_OK(avro_value_get_double(&el, &x));
            ASSERT(same_double(x, a->evidence[e].value));
        }
        /* and writes the same bytes from the same values */
        ASSERT_OK(avro_value_reset(&av));
        const char *rule = i == 1 ? "item_spike" : "bot";
        ASSERT_OK(set_s(&av, "id", a->id, 16) || set_s(&av, "rule", rule, strlen(rule)) ||
                  set_opt(&av, "user_id", a->user_id, a->user_len) ||
                  set_opt(&av, "item_id", a->item_id, a->item_len) ||
                  set_l(&av, "ts_ms", a->ts_ms) ||
                  set_l(&av, "episode_start_ms", a->episode_start) ||
                  set_l(&av, "created_ms", 1700000200000) ||
                  set_map(&av, "evidence", a->evidence, a->n_evidence));
        ASSERT_OK(avro_value_get_by_name(&av, "score", &f, NULL));
        ASSERT_OK(avro_value_set_double(&f, a->score));
        ASSERT_OK(avro_c_bytes(&av, &ref));
        ASSERT_EQ(ref.len, b.len);
        ASSERT(memcmp(ref.p, b.p, b.len) == 0);
    }

    rs_segment_change_t segs[2] = {rfm_change(), rfm_change()};
    segs[1].kind = RS_SEG_CLUSTER;
    segs[1].old_name = "";
    segs[1].new_name = "cluster-1";
    segs[1].n_scores = 0;
    for (int i = 0; i < 2; i++) {
        const rs_segment_change_t *s = &segs[i];
        rs_buf_reset(&b);
        ASSERT_OK(rs_codec_encode_segment(c, s, 0, RS_FMT_AVRO, 0, &b));
        ASSERT_OK(avro_c_read(&b, &sv));
        const char *str;
        size_t sz;
        ASSERT_OK(avro_value_get_by_name(&sv, "new", &f, NULL));
        ASSERT_OK(avro_value_get_string(&f, &str, &sz));
        ASSERT_STREQ(str, s->new_name);
        ASSERT_OK(avro_value_get_by_name(&sv, "scores", &f, NULL));
        ASSERT_OK(avro_value_get_size(&f, &sz));
        ASSERT_EQ(sz, s->n_scores);
        ASSERT_OK(avro_value_reset(&sv));
        const char *dim = i ? "cluster" : "rfm";
        ASSERT_OK(set_s(&sv, "user_id", s->user_id, s->user_len) ||
                  set_s(&sv, "dimension", dim, strlen(dim)) ||
                  set_s(&sv, "old", s->old_name, strlen(s->old_name)) ||
                  set_s(&sv, "new", s->new_name, strlen(s->new_name)) ||
                  set_s(&sv, "reason", s->reason, strlen(s->reason)) ||
                  set_l(&sv, "ts_ms", s->ts_ms) || set_l(&sv, "created_ms", 0) ||
                  set_map(&sv, "scores", s->scores, s->n_scores));
        ASSERT_OK(avro_c_bytes(&sv, &ref));
        ASSERT_EQ(ref.len, b.len);
        ASSERT(memcmp(ref.p, b.p, b.len) == 0);
    }
    avro_value_decref(&av);
    avro_value_decref(&sv);
    avro_value_iface_decref(ai);
    avro_value_iface_decref(si);
    avro_schema_decref(as);
    avro_schema_decref(ss);
    rs_buf_free(&b);
    rs_buf_free(&ref);
    rs_buf_free(&sb);
    rs_codec_destroy(c);
}

/* Recommendation lists are written by hand too: Avro C must write the same
 * bytes for the same values (empty list, one item, several, long strings,
 * negative and large longs, float edge values) and read ours back. */
TEST(avro_c_agrees_rec) {
    rs_codec_t *c = NULL;
    rs_buf_t b = {0}, ref = {0}, big = {0};
    avro_schema_t rs = NULL;
    avro_value_iface_t *ri = NULL;
    avro_value_t rv, f, items, el, x;
    ASSERT_OK(rs_codec_new(&c, errstr, sizeof(errstr)));
    ASSERT_OK(parse(rs_schema_recommendation_json(), &rs));
    ri = avro_generic_class_from_schema(rs);
    ASSERT(ri);
    ASSERT_OK(avro_generic_value_new(ri, &rv));
    for (int i = 0; i < 300; i++) rs_buf_putc(&big, (char)('a' + i % 26));
    rs_rec_item_t its[4] = {
        {rs_str("i1", 2), 0.5f, rs_str("because you viewed i9", 21)},
        {rs_str("", 0), -1.25e-7f, rs_str("popular", 7)},
        {rs_str(big.p, (uint32_t)big.len), 3.4e38f, rs_str("", 0)},
        {rs_str("item-\xc3\xa9", 7), 0.0f, rs_str(big.p, 200)},
    };
    const struct {
        int64_t version, ts;
        uint32_t n;
    } cases[] = {{1, 1700000000000, 0}, {2, -1, 1}, {INT64_MAX, INT64_MIN, 4}, {64, 63, 3}};
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        rs_rec_t r = {rs_str("user-1", 6),
                      cases[k].version,
                      cases[k].ts,
                      1700000200000 + (int64_t)k,
                      rs_str("item-knn", 8),
                      its,
                      cases[k].n};
        rs_buf_reset(&b);
        ASSERT_OK(rs_codec_encode_rec(c, &r, RS_FMT_AVRO, 0, &b));
        ASSERT_OK(avro_c_read(&b, &rv));
        size_t n;
        ASSERT_OK(avro_value_get_by_name(&rv, "items", &items, NULL));
        ASSERT_OK(avro_value_get_size(&items, &n));
        ASSERT_EQ(n, cases[k].n);
        ASSERT_OK(avro_value_reset(&rv));
        ASSERT_OK(set_s(&rv, "user_id", "user-1", 6) || set_l(&rv, "version", r.version) ||
                  set_l(&rv, "ts_ms", r.ts_ms) || set_l(&rv, "created_ms", r.created_ms) ||
                  set_s(&rv, "strategy", "item-knn", 8));
        ASSERT_OK(avro_value_get_by_name(&rv, "items", &items, NULL));
        for (uint32_t i = 0; i < r.n_items; i++) {
            ASSERT_OK(avro_value_append(&items, &el, NULL));
            ASSERT_OK(set_s(&el, "item_id", its[i].item_id.p, its[i].item_id.len) ||
                      set_s(&el, "reason", its[i].reason.p, its[i].reason.len));
            ASSERT_OK(avro_value_get_by_name(&el, "score", &x, NULL));
            ASSERT_OK(avro_value_set_float(&x, its[i].score));
        }
        ASSERT_OK(avro_c_bytes(&rv, &ref));
        ASSERT_EQ(ref.len, b.len);
        ASSERT(memcmp(ref.p, b.p, b.len) == 0);
        /* Confluent framing: magic 0, schema id 5 big-endian, then the same body */
        rs_buf_reset(&ref);
        ASSERT_OK(rs_codec_encode_rec(c, &r, RS_FMT_CONFLUENT, 5, &ref));
        ASSERT_EQ(ref.len, b.len + 5);
        ASSERT(memcmp(ref.p, "\0\0\0\0\5", 5) == 0 && memcmp(ref.p + 5, b.p, b.len) == 0);
    }
    (void)f;
    avro_value_decref(&rv);
    avro_value_iface_decref(ri);
    avro_schema_decref(rs);
    rs_buf_free(&b);
    rs_buf_free(&ref);
    rs_buf_free(&big);
    rs_codec_destroy(c);
}

static char *slurp(const char *path, size_t *len) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    rs_buf_t b = {0};
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof(tmp), fp)) > 0) rs_buf_append(&b, tmp, n);
    fclose(fp);
    rs_buf_cstr(&b);
    *len = b.len;
    return b.p;
}

/* The published files are what the binary embeds, and a consumer with an
 * older or narrower reader schema (fields dropped and reordered) resolves
 * our records through Avro C's schema resolution. */
TEST(schema_files_resolve) {
    const char *src = getenv("RS_SRC");
    char path[1024];
    static const struct {
        const char *file;
        const char *(*embedded)(void);
        const char *reader;
    } sch[] = {
        {"alert.avsc", rs_schema_alert_json,
         "{\"type\":\"record\",\"name\":\"Alert\",\"namespace\":\"io.recstream\",\"fields\":["
         "{\"name\":\"evidence\",\"type\":{\"type\":\"map\",\"values\":\"double\"}},"
         "{\"name\":\"user_id\",\"type\":[\"null\",\"string\"]},"
         "{\"name\":\"rule\",\"type\":\"string\"},{\"name\":\"id\",\"type\":\"string\"}]}"},
        {"segment_change.avsc", rs_schema_segment_json,
         "{\"type\":\"record\",\"name\":\"SegmentChange\",\"namespace\":\"io.recstream\","
         "\"fields\":[{\"name\":\"new\",\"type\":\"string\"},"
         "{\"name\":\"user_id\",\"type\":\"string\"},"
         "{\"name\":\"scores\",\"type\":{\"type\":\"map\",\"values\":\"double\"}}]}"},
    };
    rs_codec_t *c = NULL;
    rs_buf_t b = {0};
    ASSERT_OK(rs_codec_new(&c, errstr, sizeof(errstr)));
    rs_alert_t a = bot_alert();
    rs_segment_change_t s = rfm_change();
    for (int i = 0; i < 2; i++) {
        size_t len = 0;
        snprintf(path, sizeof(path), "%s/schemas/%s", src ? src : ".", sch[i].file);
        char *text = slurp(path, &len);
        ASSERT(text != NULL);
        ASSERT_STREQ(text, sch[i].embedded());
        avro_schema_t ws = NULL, rs = NULL, es = NULL;
        ASSERT_OK(avro_schema_from_json_length(text, len, &ws));
        free(text);
        ASSERT_OK(parse(sch[i].embedded(), &es));
        ASSERT(avro_schema_equal(ws, es));
        ASSERT_OK(parse(sch[i].reader, &rs));
        avro_value_iface_t *res = avro_resolved_writer_new(ws, rs);
        ASSERT(res != NULL);
        avro_value_iface_t *ri = avro_generic_class_from_schema(rs);
        avro_value_t rv, dest, f;
        ASSERT_OK(avro_generic_value_new(ri, &dest));
        ASSERT_OK(avro_resolved_writer_new_value(res, &rv));
        avro_resolved_writer_set_dest(&rv, &dest);
        rs_buf_reset(&b);
        if (i == 0)
            ASSERT_OK(rs_codec_encode_alert(c, &a, 0, RS_FMT_AVRO, 0, &b));
        else
            ASSERT_OK(rs_codec_encode_segment(c, &s, 0, RS_FMT_AVRO, 0, &b));
        ASSERT_OK(avro_c_read(&b, &rv));
        const char *str;
        size_t sz;
        double x;
        ASSERT_OK(avro_value_get_by_name(&dest, i == 0 ? "id" : "new", &f, NULL));
        ASSERT_OK(avro_value_get_string(&f, &str, &sz));
        ASSERT_STREQ(str, i == 0 ? "00c0ffee12345678" : "champions");
        ASSERT_OK(avro_value_get_by_name(&dest, i == 0 ? "evidence" : "scores", &f, NULL));
        ASSERT_OK(avro_value_get_size(&f, &sz));
        ASSERT_EQ(sz, i == 0 ? 2 : 3);
        avro_value_t el;
        ASSERT_OK(avro_value_get_by_name(&f, i == 0 ? "window_ms" : "m", &el, NULL));
        ASSERT_OK(avro_value_get_double(&el, &x));
        ASSERT(x == (i == 0 ? 10000 : 3));
        avro_value_decref(&rv);
        avro_value_decref(&dest);
        avro_value_iface_decref(ri);
        avro_value_iface_decref(res);
        avro_schema_decref(ws);
        avro_schema_decref(rs);
        avro_schema_decref(es);
    }
    rs_buf_free(&b);
    rs_codec_destroy(c);
}

int main(void) {
    return RUN_TESTS(t_avro_c_agrees_rec, t_alert_json_exact, t_segment_json_exact,
                     t_round_trip_all_formats, t_unknown_names_decode, t_encode_refuses,
                     t_decode_errors, t_fuzz_mutations, t_avro_c_agrees, t_schema_files_resolve);
}
