/* rs_state_int.h -- private between rs_state.c and rs_state_ttl.c (user
 * retention, SPEC F19). Not for other modules. */
#ifndef RS_STATE_INT_H
#define RS_STATE_INT_H

#include <stdint.h>

#include "recstream/rs_rocks.h"
#include "recstream/rs_state.h"

/* The retention rule, shared by the loop and the compaction filter: a user
 * whose newest event is older than the watermark minus the TTL is gone. */
static inline int rs_ttl_rule(int64_t ttl_ms, int64_t last_ts, int64_t watermark) {
    return ttl_ms > 0 && watermark > 0 && last_ts < watermark - ttl_ms;
}

typedef struct rs_ttl rs_ttl_t;

/* ---- rs_state_ttl.c ---- */
rs_ttl_t *rs_ttl_new(const rs_conf_t *conf); /* NULL when state.user.ttl.ms is 0 */
void rs_ttl_destroy(rs_ttl_t *t);            /* NULL-safe; after the db is closed */
/* Installs the compaction filter on the users family (before rs_rocks_open). */
void rs_ttl_rocks_opts(rs_ttl_t *t, rs_rocks_opts_t *o);
/* After the open: periodic compaction of the users family. */
void rs_ttl_rocks_opened(rs_ttl_t *t, rs_rocks_t *db);
/* The event-time watermark of the durable state, for the filter threads. */
void rs_ttl_publish(rs_ttl_t *t, int64_t watermark);
/* Users the filter dropped (no loop work needed). */
uint64_t rs_ttl_dropped(const rs_ttl_t *t);
/* Reads a stored user value without the state (any thread): its last event
 * time and whether it is counted in segment aggregates. 0, or -1 if the
 * value cannot be parsed. */
int rs_state__user_scan(const void *v, size_t len, int64_t *last_ts, int *aggregated);

/* ---- rs_state.c ---- */
int64_t rs_state__ttl_ms(const rs_state_t *st);
rs_ttl_t *rs_state__ttl(rs_state_t *st);
rs_rocks_t *rs_state__db(rs_state_t *st);
/* Expires a loaded user: the hook, out of memory, a delete in the open
 * batch. 0 done, -1 skipped (a rate-limited emit holds a pointer to it). */
int rs_state__expire_user(rs_state_t *st, rs_user_t *u);
/* Expires the user stored (or loaded) under key if the rule says so;
 * 1 expired, 0 not. */
int rs_state__expire_key(rs_state_t *st, const char *key, size_t len);

#endif
