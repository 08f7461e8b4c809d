/* fuzz_codec_event.c -- rs_codec_decode_event in every format, then
 * rs_validate_event: the path every Kafka record on the events topic takes.
 *
 * Input: byte 0 picks the format (% 4: AUTO, JSON, AVRO, CONFLUENT; the
 * seeds use '0'..'3' so they stay readable), the rest is the record.
 * Checked beyond "no crash / no sanitizer report":
 *   - a failure is RS_EDECODE with a reason prefixed by its layer
 *     ("confluent: ", "avro: ", "json: "), as the DLQ mapping expects;
 *   - every decoded string is readable for its whole length and NUL-
 *     terminated in the arena (rs_codec.h), type is a symbol or UNKNOWN;
 *   - validation gives a reason with a name, and an accepted event has the
 *     required fields and a known type;
 *   - JSON: the hand-written scanner agrees with the jansson reference
 *     decoder (rs_json_decode_event_ref) on accept/reject and on every
 *     field, except for the differences rs_json.c documents;
 *   - round trips: a decoded event re-encoded as JSON (when its strings are
 *     JSON-safe) and as Avro (when the schema can carry it) decodes back to
 *     the same event. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rs_codec_int.h"
#include "fuzz_util.h"
#include "recstream/rs_codec.h"
#include "recstream/rs_validate.h"

#define NOW_MS 1700000000000LL /* fixed "now": the future check must not depend on the clock */

static rs_codec_t *codec, *codec2;
static rs_conf_t *conf;
static rs_buf_t enc;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Frees the long-lived state at exit, so LeakSanitizer only reports
 * what a decode itself leaks. */
static void cleanup(void) {
    rs_codec_destroy(codec);
    rs_codec_destroy(codec2);
    rs_conf_destroy(conf);
    rs_buf_free(&enc);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    char err[256];
    FZ_CHECK(!rs_codec_new(&codec, err, sizeof(err)), "%s", err);
    FZ_CHECK(!rs_codec_new(&codec2, err, sizeof(err)), "%s", err);
    conf = rs_conf_new();
    atexit(cleanup);
    return 0;
}

static int str_eq(rs_str_t a, rs_str_t b) {
    if (!a.p || !b.p) return !a.p && !b.p && !a.len && !b.len;
    return a.len == b.len && !memcmp(a.p, b.p, a.len);
}

static int dbl_eq(double a, double b) {
    return a == b || (isnan(a) && isnan(b));
}

/* Same presence bits and the same value in every present field. */
static int ev_eq(const rs_event_t *a, const rs_event_t *b) {
    uint32_t f = a->fields;
    if (f != b->fields) return 0;
    if ((f & RS_F_TYPE) && a->type != b->type) return 0;
    if ((f & RS_F_TS) && a->ts_ms != b->ts_ms) return 0;
    if ((f & RS_F_PRICE) && !dbl_eq(a->price, b->price)) return 0;
    if ((f & RS_F_REC_VERSION) && a->rec_version != b->rec_version) return 0;
    const struct {
        uint32_t bit;
        rs_str_t x, y;
    } s[] = {
        {RS_F_EVENT_ID, a->event_id, b->event_id}, {RS_F_USER, a->user_id, b->user_id},
        {RS_F_ITEM, a->item_id, b->item_id},       {RS_F_SESSION, a->session_id, b->session_id},
        {RS_F_CATEGORY, a->category, b->category}, {RS_F_DEVICE, a->device, b->device}};
    for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
        if ((f & s[i].bit) && !str_eq(s[i].x, s[i].y)) return 0;
    return 1;
}

/* A present string must be readable and NUL-terminated in the arena. */
static void check_str(rs_str_t s, const char *name) {
    FZ_CHECK(s.p != NULL, "%s present but NULL", name);
    fz_touch(s.p, s.len);
    FZ_CHECK(s.p[s.len] == '\0', "%s not NUL-terminated", name);
}

static void check_event(const rs_event_t *ev) {
    if (ev->fields & RS_F_EVENT_ID) check_str(ev->event_id, "event_id");
    if (ev->fields & RS_F_USER) check_str(ev->user_id, "user_id");
    if (ev->fields & RS_F_ITEM) check_str(ev->item_id, "item_id");
    if (ev->fields & RS_F_SESSION) check_str(ev->session_id, "session_id");
    if (ev->fields & RS_F_CATEGORY) check_str(ev->category, "category");
    if (ev->fields & RS_F_DEVICE) check_str(ev->device, "device");
    if (ev->fields & RS_F_TYPE)
        FZ_CHECK(ev->type < RS_EV__COUNT || ev->type == RS_EV_UNKNOWN, "type %d", (int)ev->type);
}

/* Valid UTF-8 without NUL: what rs_buf_json_str writes as valid JSON that
 * decodes to the same bytes. */
static int json_safe(rs_str_t s) {
    const unsigned char *p = (const unsigned char *)s.p, *e = p + s.len;
    while (p < e) {
        unsigned b = *p;
        size_t n = b < 0x80                 ? 1
                   : b >= 0xc2 && b <= 0xdf ? 2
                   : b >= 0xe0 && b <= 0xef ? 3
                   : b >= 0xf0 && b <= 0xf4 ? 4
                                            : 0;
        if (!b || !n || (size_t)(e - p) < n) return 0;
        uint32_t cp = n == 1 ? b : n == 2 ? b & 0x1f : n == 3 ? b & 0x0f : b & 0x07;
        for (size_t i = 1; i < n; i++) {
            if ((p[i] & 0xc0) != 0x80) return 0;
            cp = cp << 6 | (p[i] & 0x3f);
        }
        if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
            return 0;
        p += n;
    }
    return 1;
}

static int ev_json_safe(const rs_event_t *ev) {
    const struct {
        uint32_t bit;
        rs_str_t s;
    } s[] = {{RS_F_EVENT_ID, ev->event_id}, {RS_F_USER, ev->user_id},
             {RS_F_ITEM, ev->item_id},      {RS_F_SESSION, ev->session_id},
             {RS_F_CATEGORY, ev->category}, {RS_F_DEVICE, ev->device}};
    for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
        if ((ev->fields & s[i].bit) && !json_safe(s[i].s)) return 0;
    /* JSON has no NaN/inf: the encoder writes null, which reads back absent */
    return !(ev->fields & RS_F_PRICE) || isfinite(ev->price);
}

/* Re-encodes ev in fmt and decodes it with the second codec (ev's strings
 * live in the first one's arena). */
static void round_trip(const rs_event_t *ev, rs_format_t fmt) {
    rs_event_t back;
    char err[256];
    rs_buf_reset(&enc);
    rs_err_t rc = rs_codec_encode_event(codec2, ev, fmt, 7, &enc);
    FZ_CHECK(!rc, "encode %d failed: %d", (int)fmt, rc);
    rc = rs_codec_decode_event(codec2, enc.p, enc.len, fmt, &back, NULL, err, sizeof(err));
    FZ_CHECK(!rc, "re-decode %d failed: %s (%.*s)", (int)fmt, err, (int)enc.len, enc.p);
    FZ_CHECK(ev_eq(ev, &back), "format %d round trip changed the event", (int)fmt);
}

/* Is there a number token longer than the scanner's 511-character limit? */
static int has_long_number(const uint8_t *p, size_t n) {
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        int numch = (p[i] >= '0' && p[i] <= '9') || p[i] == '-' || p[i] == '+' || p[i] == '.' ||
                    p[i] == 'e' || p[i] == 'E';
        run = numch ? run + 1 : 0;
        if (run > 511) return 1;
    }
    return 0;
}

/* The scanner against jansson on the same bytes. */
static void json_differential(const uint8_t *p, size_t n, rs_err_t rc_fast, const char *err_fast,
                              const rs_event_t *fast) {
    rs_event_t ref;
    char err_ref[256] = "";
    memset(&ref, 0, sizeof(ref));
    rs_codec_scratch_reset(codec2, n);
    rs_err_t rc_ref =
        rs_json_decode_event_ref(codec2, (const char *)p, n, &ref, err_ref, sizeof(err_ref));
    if (!rc_fast == !rc_ref) {
        if (!rc_fast) FZ_CHECK(ev_eq(fast, &ref), "scanner and jansson decode differently");
        return;
    }
    /* Documented differences (rs_json.c): a duplicated unknown key (jansson
     * rejects duplicates at every level), numbers over 511 characters. And
     * one of jansson 2.14's: it skips a NUL byte that follows a number or a
     * literal ("{\"a\":1\0}" loads), which the scanner rightly rejects. */
    if (!rc_fast && strstr(err_ref, "duplicate object key")) return;
    if (rc_fast && !rc_ref && memchr(p, '\0', n)) return;
    if (rc_fast && strstr(err_fast, "number too long") && has_long_number(p, n)) return;
    FZ_CHECK(0, "scanner %s (%s), jansson %s (%s)", rc_fast ? "rejects" : "accepts", err_fast,
             rc_ref ? "rejects" : "accepts", err_ref);
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
    rs_event_t ev;
    int32_t sid = 12345;
    char err[256] = "";
    rs_err_t rc = rs_codec_decode_event(codec, data, size, fmt, &ev, &sid, err, sizeof(err));

    if (rc) {
        FZ_CHECK(rc == RS_EDECODE, "rc %d", rc);
        const char *want = eff == RS_FMT_JSON ? "json: " : eff == RS_FMT_AVRO ? "avro: " : NULL;
        int ok = want ? !strncmp(err, want, strlen(want))
                      : !strncmp(err, "confluent: ", 11) || !strncmp(err, "avro: ", 6);
        FZ_CHECK(ok, "format %d: reason \"%s\" lacks its layer prefix", (int)eff, err);
    } else {
        check_event(&ev);
        if (eff == RS_FMT_CONFLUENT)
            FZ_CHECK(sid == (int32_t)((uint32_t)data[1] << 24 | (uint32_t)data[2] << 16 |
                                      (uint32_t)data[3] << 8 | data[4]),
                     "schema id %d is not the header's", sid);
        else
            FZ_CHECK(sid == -1, "schema id %d without framing", sid);
        if (eff != RS_FMT_JSON)
            FZ_CHECK((ev.fields & RS_F_REQUIRED) == RS_F_REQUIRED && ev.type < RS_EV__COUNT,
                     "Avro event without its required fields");
        char detail[256];
        rs_reject_t r = rs_validate_event(&ev, conf, NOW_MS, size, detail, sizeof(detail));
        FZ_CHECK((unsigned)r < RS_REJ__COUNT && rs_reject_name(r), "reason %d", (int)r);
        if (r == RS_REJ_NONE)
            FZ_CHECK((ev.fields & RS_F_REQUIRED) == RS_F_REQUIRED && ev.type < RS_EV__COUNT,
                     "accepted an incomplete event");
        else
            FZ_CHECK(detail[0] != '\0', "reason %s without detail", rs_reject_name(r));
    }
    if (eff == RS_FMT_JSON) json_differential(data, size, rc, err, &ev);
    if (!rc) {
        if (ev_json_safe(&ev)) round_trip(&ev, RS_FMT_JSON);
        if ((ev.fields & RS_F_REQUIRED) == RS_F_REQUIRED && ev.type < RS_EV__COUNT)
            round_trip(&ev, RS_FMT_AVRO);
    }
    return 0;
}
