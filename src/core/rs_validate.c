/* rs_validate.c -- the data-quality gate (SPEC F2) between decode and state.
 *
 * In: a decoded event, its encoded size, the wall clock. Out: RS_REJ_NONE or
 * the first reason that applies, checked in this fixed order (a record with
 * several faults always gets the same reason, so DLQ counts are stable):
 * oversize, missing_field, unknown_type, bad_id, bad_ts, future_ts,
 * negative_price, bad_price. malformed and schema are assigned by the caller
 * when decoding fails. The detail is one line for the DLQ header and logs.
 * Pure function: no state, any thread.
 *
 * Limits come from rs_conf_t. validate_max_bytes, validate_max_id_len and
 * validate_max_price <= 0 mean "no limit"; validate_max_future_ms < 0 means
 * no future check (0 allows no clock skew at all). */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

#include "recstream/rs_validate.h"

static const struct {
    const char *name, *text;
} rs_reject_descs[RS_REJ__COUNT] = {{"none", "accepted"},
#define RS__XX(code, name, text) {name, text},
                                    RS_REJECT_MAP(RS__XX)
#undef RS__XX
};

const char *rs_reject_name(rs_reject_t r) {
    return (unsigned)r < RS_REJ__COUNT ? rs_reject_descs[r].name : "none";
}

const char *rs_reject_text(rs_reject_t r) {
    return (unsigned)r < RS_REJ__COUNT ? rs_reject_descs[r].text : "accepted";
}

__attribute__((format(printf, 4, 5))) static rs_reject_t
reject(rs_reject_t r, char *detail, size_t detail_size, const char *fmt, ...);

static rs_reject_t reject(rs_reject_t r, char *detail, size_t detail_size, const char *fmt, ...) {
    if (detail && detail_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(detail, detail_size, fmt, ap);
        va_end(ap);
    }
    return r;
}

rs_reject_t rs_validate_event(const rs_event_t *ev, const rs_conf_t *conf, int64_t now_ms,
                              size_t raw_len, char *detail, size_t detail_size) {
    static const struct {
        uint32_t bit;
        const char *name;
    } required[] = {{RS_F_EVENT_ID, "event_id"},
                    {RS_F_TS, "ts_ms"},
                    {RS_F_USER, "user_id"},
                    {RS_F_ITEM, "item_id"},
                    {RS_F_TYPE, "type"}};
    const struct {
        uint32_t bit;
        const char *name;
        rs_str_t s;
        int may_be_empty;
    } ids[] = {{RS_F_EVENT_ID, "event_id", ev->event_id, 0},
               {RS_F_USER, "user_id", ev->user_id, 0},
               {RS_F_ITEM, "item_id", ev->item_id, 0},
               {RS_F_SESSION, "session_id", ev->session_id, 1},
               {RS_F_CATEGORY, "category", ev->category, 1},
               {RS_F_DEVICE, "device", ev->device, 1}};

    if (detail && detail_size) detail[0] = '\0';
    if (conf->validate_max_bytes > 0 && raw_len > (size_t)conf->validate_max_bytes)
        return reject(RS_REJ_OVERSIZE, detail, detail_size, "record %zu bytes > max %d", raw_len,
                      conf->validate_max_bytes);

    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
        if (!(ev->fields & required[i].bit))
            return reject(RS_REJ_MISSING_FIELD, detail, detail_size, "missing %s",
                          required[i].name);

    if ((unsigned)ev->type >= RS_EV__COUNT)
        return reject(RS_REJ_UNKNOWN_TYPE, detail, detail_size, "type %d is not a known symbol",
                      (int)ev->type);

    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        if (!(ev->fields & ids[i].bit)) continue;
        if (ids[i].s.len == 0 && !ids[i].may_be_empty)
            return reject(RS_REJ_BAD_ID, detail, detail_size, "%s is empty", ids[i].name);
        if (conf->validate_max_id_len > 0 && ids[i].s.len > (uint32_t)conf->validate_max_id_len)
            return reject(RS_REJ_BAD_ID, detail, detail_size, "%s length %" PRIu32 " > max %d",
                          ids[i].name, ids[i].s.len, conf->validate_max_id_len);
    }

    if (ev->ts_ms <= 0)
        return reject(RS_REJ_BAD_TS, detail, detail_size, "ts_ms %" PRId64 " <= 0", ev->ts_ms);
    /* Subtract rather than add (now_ms + a huge max must not overflow);
     * ts_ms > now_ms makes the unsigned difference exact. */
    uint64_t ahead = ev->ts_ms > now_ms ? (uint64_t)ev->ts_ms - (uint64_t)now_ms : 0;
    if (conf->validate_max_future_ms >= 0 && ahead > (uint64_t)conf->validate_max_future_ms)
        return reject(RS_REJ_FUTURE_TS, detail, detail_size,
                      "ts_ms %" PRId64 " is %" PRIu64 " ms ahead of now (max %" PRId64 ")",
                      ev->ts_ms, ahead, conf->validate_max_future_ms);

    if (ev->fields & RS_F_PRICE) {
        if (ev->price < 0)
            return reject(RS_REJ_NEGATIVE_PRICE, detail, detail_size, "price %.15g < 0", ev->price);
        if (!isfinite(ev->price))
            return reject(RS_REJ_BAD_PRICE, detail, detail_size, "price %.15g is not finite",
                          ev->price);
        if (conf->validate_max_price > 0 && ev->price > conf->validate_max_price)
            return reject(RS_REJ_BAD_PRICE, detail, detail_size, "price %.15g > max %.15g",
                          ev->price, conf->validate_max_price);
    }
    return RS_REJ_NONE;
}
