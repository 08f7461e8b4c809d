/* rs_event.h -- the behaviour event, as every stage after decoding sees it.
 *
 * Strings are views (pointer + length, not NUL-terminated) into memory owned
 * by whoever produced the event (a decoder's scratch arena, a CSV line, the
 * generator). They are valid only until that producer's next call; stages
 * that keep a string copy it. */
#ifndef RS_EVENT_H
#define RS_EVENT_H

#include <stdint.h>
#include <stddef.h>

typedef struct rs_str {
    const char *p;
    uint32_t len;
} rs_str_t;

#define RS_STR_NULL ((rs_str_t){NULL, 0})
static inline rs_str_t rs_str(const char *p, uint32_t len) {
    rs_str_t s = {p, len};
    return s;
}

/* Order is part of schemas/event.avsc (enum symbols) and of stored counts. */
typedef enum rs_evtype {
    RS_EV_VIEW = 0,
    RS_EV_CLICK,
    RS_EV_CART,
    RS_EV_PURCHASE,
    RS_EV_LIKE,
    RS_EV_SHARE,
    RS_EV_REVIEW,
    RS_EV_IMPRESSION,
    RS_EV__COUNT,
    RS_EV_UNKNOWN = 255 /* decoded, but not a known type: validation rejects */
} rs_evtype_t;

const char *rs_evtype_name(rs_evtype_t t); /* "view"...; "unknown" */
/* Parses a type name; returns RS_EV_UNKNOWN if not one of the symbols. */
rs_evtype_t rs_evtype_parse(const char *s, size_t len);

/* Presence bits: decoders set them, validation checks the required ones. */
enum {
    RS_F_EVENT_ID = 1u << 0,
    RS_F_TS = 1u << 1,
    RS_F_USER = 1u << 2,
    RS_F_ITEM = 1u << 3,
    RS_F_TYPE = 1u << 4,
    RS_F_SESSION = 1u << 5,
    RS_F_PRICE = 1u << 6,
    RS_F_CATEGORY = 1u << 7,
    RS_F_DEVICE = 1u << 8,
    RS_F_REC_VERSION = 1u << 9,
};
#define RS_F_REQUIRED (RS_F_EVENT_ID | RS_F_TS | RS_F_USER | RS_F_ITEM | RS_F_TYPE)

/* A named number: alert evidence, segment scores. */
typedef struct rs_named_num {
    const char *name; /* static string */
    double value;
} rs_named_num_t;

typedef struct rs_event {
    uint32_t fields; /* RS_F_* present */
    rs_evtype_t type;
    int64_t ts_ms; /* event time, ms since epoch */
    rs_str_t event_id;
    rs_str_t user_id;
    rs_str_t item_id;
    rs_str_t session_id; /* optional */
    rs_str_t category;   /* optional */
    rs_str_t device;     /* optional */
    double price;        /* valid if RS_F_PRICE */
    int64_t rec_version; /* impressions/clicks on a rec; valid if RS_F_REC_VERSION */
} rs_event_t;

#endif
