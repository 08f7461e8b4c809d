/* test_validate.c -- the data-quality gate (SPEC F2): every reject reason,
 * the fixed check order, exact detail texts, limits at their boundaries. */
#include "recstream/rs_validate.h"
#include "rs_test.h"

#define NOW 1700000000000LL

static rs_str_t S(const char *s) {
    return rs_str(s, (uint32_t)strlen(s));
}

static rs_conf_t conf(void) {
    rs_conf_t c;
    memset(&c, 0, sizeof(c));
    c.validate_max_future_ms = 300000;
    c.validate_max_price = 10000000;
    c.validate_max_bytes = 65536;
    c.validate_max_id_len = 256;
    return c;
}

static rs_event_t good(void) {
    rs_event_t ev = {0};
    ev.fields = RS_F_REQUIRED | RS_F_PRICE | RS_F_SESSION;
    ev.type = RS_EV_PURCHASE;
    ev.ts_ms = NOW - 1000;
    ev.event_id = S("e1");
    ev.user_id = S("u1");
    ev.item_id = S("i1");
    ev.session_id = S("s1");
    ev.price = 19.99;
    return ev;
}

static char detail[256];

static rs_reject_t check(const rs_event_t *ev, const rs_conf_t *c, size_t raw_len) {
    memset(detail, 'Z', sizeof(detail) - 1);
    detail[sizeof(detail) - 1] = '\0';
    return rs_validate_event(ev, c, NOW, raw_len, detail, sizeof(detail));
}

TEST(names) {
    static const char *const want[] = {"none",          "malformed",    "schema", "oversize",
                                       "missing_field", "unknown_type", "bad_id", "negative_price",
                                       "bad_price",     "future_ts",    "bad_ts"};
    ASSERT_EQ(RS_REJ__COUNT, 11);
    for (int r = 0; r < RS_REJ__COUNT; r++) ASSERT_STREQ(rs_reject_name((rs_reject_t)r), want[r]);
    ASSERT_STREQ(rs_reject_name((rs_reject_t)99), "none");
    ASSERT_STREQ(rs_reject_text(RS_REJ_NEGATIVE_PRICE), "price is negative");
    ASSERT_STREQ(rs_reject_text(RS_REJ_OVERSIZE), "record larger than validate.max.bytes");
}

TEST(good_event) {
    rs_conf_t c = conf();
    rs_event_t ev = good();
    ASSERT_EQ(check(&ev, &c, 100), RS_REJ_NONE);
    ASSERT_STREQ(detail, "");
    /* Boundaries are inclusive. */
    ev.ts_ms = NOW + 300000;
    ev.price = 10000000;
    char id[257];
    memset(id, 'x', 256);
    id[256] = '\0';
    ev.user_id = S(id);
    ev.session_id = S(""); /* optional strings may be empty */
    ASSERT_EQ(check(&ev, &c, 65536), RS_REJ_NONE);
    /* Late events are fine; price 0 and -0.0 are fine; price absent skips checks. */
    ev.ts_ms = 1;
    ev.price = -0.0;
    ASSERT_EQ(check(&ev, &c, 1), RS_REJ_NONE);
    ev.fields &= ~(uint32_t)RS_F_PRICE;
    ev.price = -5;
    ASSERT_EQ(check(&ev, &c, 1), RS_REJ_NONE);
    /* NULL detail is allowed. */
    ASSERT_EQ(rs_validate_event(&ev, &c, NOW, 1, NULL, 0), RS_REJ_NONE);
}

TEST(oversize) {
    rs_conf_t c = conf();
    rs_event_t ev = {0}; /* oversize is checked before anything else */
    ASSERT_EQ(check(&ev, &c, 65537), RS_REJ_OVERSIZE);
    ASSERT_STREQ(detail, "record 65537 bytes > max 65536");
    c.validate_max_bytes = 0; /* no limit */
    ev = good();
    ASSERT_EQ(check(&ev, &c, 1u << 30), RS_REJ_NONE);
}

TEST(missing_field) {
    rs_conf_t c = conf();
    static const struct {
        uint32_t bit;
        const char *detail;
    } req[] = {{RS_F_EVENT_ID, "missing event_id"},
               {RS_F_TS, "missing ts_ms"},
               {RS_F_USER, "missing user_id"},
               {RS_F_ITEM, "missing item_id"},
               {RS_F_TYPE, "missing type"}};
    for (size_t i = 0; i < 5; i++) {
        rs_event_t ev = good();
        ev.fields &= ~req[i].bit;
        ASSERT_EQ(check(&ev, &c, 10), RS_REJ_MISSING_FIELD);
        ASSERT_STREQ(detail, req[i].detail);
    }
    rs_event_t ev = good();
    ev.fields &= ~(uint32_t)(RS_F_ITEM | RS_F_USER); /* first in schema order */
    ev.price = -1;
    ASSERT_EQ(check(&ev, &c, 10), RS_REJ_MISSING_FIELD);
    ASSERT_STREQ(detail, "missing user_id");
}

TEST(unknown_type) {
    rs_conf_t c = conf();
    rs_event_t ev = good();
    ev.type = RS_EV_UNKNOWN;
    ev.event_id = S(""); /* unknown_type comes before bad_id */
    ASSERT_EQ(check(&ev, &c, 10), RS_REJ_UNKNOWN_TYPE);
    ASSERT_STREQ(detail, "type 255 is not a known symbol");
    ev.type = RS_EV__COUNT;
    ASSERT_EQ(check(&ev, &c, 10), RS_REJ_UNKNOWN_TYPE);
}

TEST(bad_id) {
    rs_conf_t c = conf();
    char id[258];
    memset(id, 'y', 257);
    id[257] = '\0';
    rs_event_t ev = good();
    ev.event_id = S("");
    ASSERT_EQ(check(&ev, &c, 10), RS_REJ_BAD_ID);
    ASSERT_STREQ(detail, "event_id is empty");
    ev = good();
    ev.item_id = S("");
    ASSERT_EQ(check(&ev, &c, 10), RS_REJ_BAD_ID);
    ASSERT_STREQ(detail, "item_id is empty");
    ev = good();
    ev.user_id = S(id);
    ev.ts_ms = -1; /* bad_id comes before bad_ts */
    ASSERT_EQ(check(&ev, &c, 10), RS_REJ_BAD_ID);
    ASSERT_STREQ(detail, "user_id length 257 > max 256");
    ev = good();
    ev.session_id = S(id);
    ASSERT_EQ(check(&ev, &c, 10), RS_REJ_BAD_ID);
    ASSERT_STREQ(detail, "session_id length 257 > max 256");
    ev = good();
    ev.fields |= RS_F_CATEGORY | RS_F_DEVICE;
    ev.category = S("c");
    ev.device = S(id);
    ASSERT_EQ(check(&ev, &c, 10), RS_REJ_BAD_ID);
    ASSERT_STREQ(detail, "device length 257 > max 256");
    ev.fields &= ~(uint32_t)RS_F_DEVICE; /* absent: not checked */
    ASSERT_EQ(check(&ev, &c, 10), RS_REJ_NONE);
    c.validate_max_id_len = 0; /* no limit, but empty is still bad */
    ev.user_id = S(id);
    ASSERT_EQ(check(&ev, &c, 10), RS_REJ_NONE);
    ev.user_id = S("");
    ASSERT_EQ(check(&ev, &c, 10), RS_REJ_BAD_ID);
}

TEST(timestamps) {
    rs_conf_t c = conf();
    rs_event_t ev = good();
    ev.ts_ms = 0;
    ev.price = -1; /* bad_ts comes before negative_price */
    ASSERT_EQ(check(&ev, &c, 10), RS_REJ_BAD_TS);
    ASSERT_STREQ(detail, "ts_ms 0 <= 0");
    ev.ts_ms = -5;
    ASSERT_EQ(check(&ev, &c, 10), RS_REJ_BAD_TS);
    ASSERT_STREQ(detail, "ts_ms -5 <= 0");
    ev.ts_ms = NOW + 300001;
    ASSERT_EQ(check(&ev, &c, 10), RS_REJ_FUTURE_TS);
    ASSERT_STREQ(detail, "ts_ms 1700000300001 is 300001 ms ahead of now (max 300000)");
    ev.ts_ms = INT64_MAX; /* no overflow in the comparison */
    ASSERT_EQ(check(&ev, &c, 10), RS_REJ_FUTURE_TS);
    c.validate_max_future_ms = INT64_MAX;
    ASSERT_EQ(check(&ev, &c, 10), RS_REJ_NEGATIVE_PRICE);
    c.validate_max_future_ms = -1; /* check disabled */
    ev.price = 1;
    ASSERT_EQ(check(&ev, &c, 10), RS_REJ_NONE);
    c.validate_max_future_ms = 0; /* no skew allowed */
    ev.ts_ms = NOW + 1;
    ASSERT_EQ(check(&ev, &c, 10), RS_REJ_FUTURE_TS);
    ev.ts_ms = NOW;
    ASSERT_EQ(check(&ev, &c, 10), RS_REJ_NONE);
}

TEST(prices) {
    rs_conf_t c = conf();
    rs_event_t ev = good();
    ev.price = -3.5;
    ASSERT_EQ(check(&ev, &c, 10), RS_REJ_NEGATIVE_PRICE);
    ASSERT_STREQ(detail, "price -3.5 < 0");
    ev.price = -INFINITY;
    ASSERT_EQ(check(&ev, &c, 10), RS_REJ_NEGATIVE_PRICE);
    ev.price = NAN;
    ASSERT_EQ(check(&ev, &c, 10), RS_REJ_BAD_PRICE);
    ASSERT_STREQ(detail, "price nan is not finite");
    ev.price = INFINITY;
    ASSERT_EQ(check(&ev, &c, 10), RS_REJ_BAD_PRICE);
    ASSERT_STREQ(detail, "price inf is not finite");
    ev.price = 10000000.5;
    ASSERT_EQ(check(&ev, &c, 10), RS_REJ_BAD_PRICE);
    ASSERT_STREQ(detail, "price 10000000.5 > max 10000000");
    c.validate_max_price = 0; /* no limit, but still finite */
    ASSERT_EQ(check(&ev, &c, 10), RS_REJ_NONE);
    ev.price = INFINITY;
    ASSERT_EQ(check(&ev, &c, 10), RS_REJ_BAD_PRICE);
}

TEST(detail_truncated_safely) {
    rs_conf_t c = conf();
    rs_event_t ev = good();
    ev.price = -3.5;
    char small[6];
    ASSERT_EQ(rs_validate_event(&ev, &c, NOW, 10, small, sizeof(small)), RS_REJ_NEGATIVE_PRICE);
    ASSERT_STREQ(small, "price");
}

int main(void) {
    return RUN_TESTS(t_names, t_good_event, t_oversize, t_missing_field, t_unknown_type, t_bad_id,
                     t_timestamps, t_prices, t_detail_truncated_safely);
}
