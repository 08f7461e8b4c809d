/* rs_validate.h -- the data-quality gate between decoding and state.
 *
 * Every rejected record is sent to the dead-letter topic with the reason
 * name in a header and counted per reason. The reason list is fixed (it is a
 * metric label and a header value that consumers match on). */
#ifndef RS_VALIDATE_H
#define RS_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

#include "rs_conf.h"
#include "rs_event.h"

#define RS_REJECT_MAP(XX)                                                                          \
    XX(MALFORMED, "malformed", "bytes could not be decoded")                                       \
    XX(SCHEMA, "schema", "unknown schema id or framing")                                           \
    XX(OVERSIZE, "oversize", "record larger than validate.max.bytes")                              \
    XX(MISSING_FIELD, "missing_field", "a required field is missing")                              \
    XX(UNKNOWN_TYPE, "unknown_type", "event type is not a known symbol")                           \
    XX(BAD_ID, "bad_id", "empty or too long id")                                                   \
    XX(NEGATIVE_PRICE, "negative_price", "price is negative")                                      \
    XX(BAD_PRICE, "bad_price", "price is not finite or above max")                                 \
    XX(FUTURE_TS, "future_ts", "timestamp too far in the future")                                  \
    XX(BAD_TS, "bad_ts", "timestamp not positive")

typedef enum rs_reject {
    RS_REJ_NONE = 0,
#define RS__XX(code, name, text) RS_REJ_##code,
    RS_REJECT_MAP(RS__XX)
#undef RS__XX
        RS_REJ__COUNT
} rs_reject_t;

const char *rs_reject_name(rs_reject_t r); /* "malformed", ...; "none" */
const char *rs_reject_text(rs_reject_t r);

/* Check a decoded event. now_ms is the wall clock (future-timestamp check).
 * raw_len is the encoded size. Returns RS_REJ_NONE if the event is good;
 * otherwise writes a one-line detail (e.g. "price -3.5 < 0") to detail
 * (may be NULL). Order: oversize, missing_field, unknown_type, bad_id,
 * bad_ts, future_ts, negative_price, bad_price; the first that applies wins.
 * Oversize looks only at raw_len, so it can be checked before decoding by
 * passing a zeroed event. Limits <= 0 (max bytes, id length, price) mean no
 * limit; validate_max_future_ms < 0 disables the future check. */
rs_reject_t rs_validate_event(const rs_event_t *ev, const rs_conf_t *conf, int64_t now_ms,
                              size_t raw_len, char *detail, size_t detail_size);

#endif
