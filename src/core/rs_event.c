/* rs_event.c -- event type names. The symbol order is the enum order of
 * schemas/event.avsc (rs_avro.c checks the two agree at start-up) and of
 * the per-type counts stored in state, so never reorder it. */
#include <string.h>

#include "recstream/rs_event.h"

static const char *const rs_evtype_names[RS_EV__COUNT] = {
    "view", "click", "cart", "purchase", "like", "share", "review", "impression",
};

const char *rs_evtype_name(rs_evtype_t t) {
    return (unsigned)t < RS_EV__COUNT ? rs_evtype_names[t] : "unknown";
}

rs_evtype_t rs_evtype_parse(const char *s, size_t len) {
    if (!s) return RS_EV_UNKNOWN;
    for (int i = 0; i < RS_EV__COUNT; i++) {
        const char *n = rs_evtype_names[i];
        if (strlen(n) == len && memcmp(n, s, len) == 0) return (rs_evtype_t)i;
    }
    return RS_EV_UNKNOWN;
}
