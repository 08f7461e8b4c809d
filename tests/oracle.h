/* oracle.h -- the exact-state oracle of the end-to-end tests: what the
 * daemon must have stored per user and per item after a known event
 * stream, kept independently of the engine. Used on the mock cluster
 * (tests/mock/test_e2e.c) and on the real broker (tests/kafka/
 * kafka_oracle.h); each compares it with the state in its own way.
 *
 * Bookkeeping per valid, non-duplicate event, in the order one user's
 * events reach the daemon (records are keyed by user): counts by type,
 * first/last event time, sessions (a change of session id), purchases and
 * spend, late events (older than the user's newest), the user's ring of
 * recent distinct items and n(item) = the users an item entered the ring
 * of (rs_state's item weight). Users are "u<N>", items "i<N>" (rs_gen's
 * ids). Everything is static and single-threaded. */
#ifndef RS_TEST_ORACLE_H
#define RS_TEST_ORACLE_H

#include <stdint.h>
#include <string.h>

#include "recstream/rs_buf.h"
#include "recstream/rs_conf.h"
#include "recstream/rs_event.h"

/* "u123" -> 123; UINT32_MAX if not prefix + digits. */
static inline uint32_t or_id_num(const char *p, size_t len, char prefix) {
    if (len < 2 || len > 11 || p[0] != prefix) return UINT32_MAX;
    uint64_t v = 0;
    for (size_t i = 1; i < len; i++) {
        if (p[i] < '0' || p[i] > '9') return UINT32_MAX;
        v = v * 10 + (uint64_t)(p[i] - '0');
    }
    return v < UINT32_MAX ? (uint32_t)v : UINT32_MAX;
}

typedef struct or_user {
    uint32_t counts[RS_EV__COUNT];
    int64_t first, last;
    uint32_t sessions, purchases;
    uint64_t sess; /* session number + 1 of the last applied event */
    double money;
    uint64_t applied;
    uint32_t last_item;
    uint8_t last_type;
    uint32_t ring[64]; /* recent distinct items (weight > 0), most recent first */
    int n_ring;
    uint64_t pair_b;     /* with pair_b_of: bit k = touched the b of planted pair k */
    int64_t rec_version; /* for the caller: the last list version read back */
} or_user_t;

typedef struct or_item {
    uint32_t counts[RS_EV__COUNT];
    int64_t first, last;
    uint64_t weight, applied;
} or_item_t;

typedef struct or_oracle {
    const rs_conf_t *conf; /* the daemon's: event weights, recent.items (borrowed) */
    uint32_t n_users, n_items;
    or_user_t *users;
    or_item_t *items;
    const int32_t *pair_b_of; /* optional, per item: the pair it is the b of, or -1 */
    uint64_t applied, late;
} or_oracle_t;

static inline void or_init(or_oracle_t *o, const rs_conf_t *conf, uint32_t n_users,
                           uint32_t n_items) {
    memset(o, 0, sizeof(*o));
    o->conf = conf;
    o->n_users = n_users, o->n_items = n_items;
    o->users = rs_xcalloc(n_users ? n_users : 1, sizeof(*o->users));
    o->items = rs_xcalloc(n_items ? n_items : 1, sizeof(*o->items));
}

static inline void or_free(or_oracle_t *o) {
    free(o->users);
    free(o->items);
    memset(o, 0, sizeof(*o));
}

/* What the daemon must do with one valid, non-duplicate event. */
static inline void or_apply(or_oracle_t *o, const rs_event_t *ev, uint32_t uid, uint32_t iid) {
    or_user_t *u = &o->users[uid];
    or_item_t *it = &o->items[iid];
    int t = (int)ev->type;
    int64_t ts = ev->ts_ms;
    if (u->last && ts < u->last) o->late++;
    u->counts[t]++;
    if (!u->first || ts < u->first) u->first = ts;
    uint64_t s = (uint64_t)or_id_num(ev->session_id.p, ev->session_id.len, 's') + 1;
    if (s != u->sess) u->sessions++, u->sess = s;
    if (ts > u->last) u->last = ts;
    if (t == RS_EV_PURCHASE) u->purchases++, u->money += ev->price;
    u->applied++;
    u->last_item = iid;
    u->last_type = (uint8_t)t;
    if (o->pair_b_of && o->pair_b_of[iid] >= 0) u->pair_b |= UINT64_C(1) << o->pair_b_of[iid];
    it->counts[t]++;
    if (!it->first || ts < it->first) it->first = ts;
    if (ts > it->last) it->last = ts;
    if (o->conf->weight[t] > 0) { /* n(item): users it is new to, by their recent ring */
        int j, cap = o->conf->recent_items < 64 ? o->conf->recent_items : 64;
        for (j = 0; j < u->n_ring; j++)
            if (u->ring[j] == iid) break;
        if (j == u->n_ring) {
            it->weight++;
            if (u->n_ring < cap) u->n_ring++;
            j = u->n_ring - 1;
        }
        memmove(&u->ring[1], &u->ring[0], (size_t)j * sizeof(uint32_t));
        u->ring[0] = iid;
    }
    it->applied++;
    o->applied++;
}

#endif
