/* rs_state_ttl.c -- idle-user retention (SPEC F19, state.user.ttl.ms).
 *
 * RULE. A user expires when its newest event is older than the watermark
 * minus the TTL (rs_ttl_rule). The watermark is EVENT time: the newest event
 * time the state has applied, never the wall clock. Replaying last year's
 * history into a fresh state therefore expires only users that were idle
 * for a TTL within the replayed stream, exactly as the live run did; a
 * wall-clock rule would expire the whole replay on arrival. Event time also
 * makes the outcome independent of when compactions happen to run, so a
 * restart or a slow disk never changes which users exist. Validation bounds
 * how far ahead of the wall clock an event may be (validate.max.future.ms),
 * so one bad timestamp cannot push the watermark far and expire everyone.
 *
 * TWO SIDES.
 * - The loop thread (rs_state.c) applies the rule to every read and write:
 *   a read of an expired user answers "absent"; an event for one first
 *   expires it (hook, out of memory, a delete in the open WriteBatch) and
 *   starts a fresh profile; rs_state_expire_step() (from
 *   rs_state_commit_step, i.e. once per scoring cycle) sweeps a slice of
 *   the loaded users, so idle users also leave memory.
 * - The RocksDB compaction filter (this file, installed on the users family
 *   through rs_rocks) runs on RocksDB's background threads. It compares a
 *   stored record's last event time with the watermark of the DURABLE state
 *   (published after each written batch through an atomic) and drops the
 *   record: no loop work and no write for the common case. Why the durable
 *   watermark: the filter's decisions reach disk at once, while the loop's
 *   state since the last batch can still be lost in a crash; with the
 *   durable one, every record the filter drops would also have been found
 *   expired by the loop for any event that is still to be replayed, so a
 *   crash never changes the outcome (exactly-once state, F7).
 *
 * AGGREGATES. Item counts and co-occurrence stay: they are sums over all
 * users (see cmd_delete_user.c). Segment histograms and sizes count each
 * user once and must lose the user in the same WriteBatch as its record,
 * or a crash would leave them counting a ghost (or forget one twice). So
 * the filter keeps a record whose segment state is counted and queues its
 * key instead; the loop drains the queue in rs_state_expire_step() and
 * expires it through the hook (rs_state_on_expire: rs_segment_forget) and
 * a delete in the open batch, atomic with the updated aggregates. The
 * queue is bounded; keys that do not fit are found again by the next
 * compaction.
 *
 * WHEN THE DISK IS CLEANED. Compactions rewrite the records; besides
 * RocksDB's own (driven by writes into the key range), the users family
 * gets periodic compaction (state.user.ttl.compact.ms, wall clock: every
 * file older than that is rewritten through the filter), and
 * rs_state_compact_users() forces one (tests, maintenance). Until then an
 * expired record is still on disk but invisible to every read. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recstream/rs_log.h"
#include "rs_state_int.h"

/* at most this many queued keys (bytes) between two drains */
#define QUEUE_MAX_BYTES (4u << 20)

struct rs_ttl {
    int64_t ttl_ms, compact_ms;
    _Atomic int64_t watermark; /* durable event-time watermark; 0 = unknown: keep all */
    atomic_ulong dropped;      /* records the filter dropped */
    atomic_ulong overflow;     /* keys not queued (queue full) */
    pthread_mutex_t mu;        /* guards q */
    rs_buf_t q;                /* queued keys: (u32 len, bytes)* */
    rs_buf_t take;             /* the loop's copy while draining */
    size_t cursor;             /* the loop's sweep position in the loaded users */
};

/* ---- reading a stored record without the state (filter threads) ---- */

static int skip_str16(const unsigned char **p, const unsigned char *end, const unsigned char **s,
                      size_t *n) {
    if (end - *p < 2) return -1;
    size_t l = (size_t)(*p)[0] | (size_t)(*p)[1] << 8;
    if ((size_t)(end - *p - 2) < l) return -1;
    if (s) *s = *p + 2, *n = l;
    *p += 2 + l;
    return 0;
}

/* Layout: rs_state.c (KEY ENCODING) and rs_state_codec.c (rs_state__user_encode
 * and its trailing blocks). */
int rs_state__user_scan(const void *v, size_t len, int64_t *last_ts, int *aggregated) {
    const unsigned char *p = v, *end = p + len;
    const size_t fixed = 1 + 4 * RS_EV__COUNT + 8 + 8 + 4 + 8 + 4 + 8 + 2;
    *aggregated = 0;
    if (!p || len < fixed || (p[0] != 1 && p[0] != 2)) return -1;
    size_t pe = p[0] == 1 ? 4 : 12;
    *last_ts = (int64_t)rs_get_u64(p + 1 + 4 * RS_EV__COUNT + 8);
    p += fixed - 2;
    size_t n = (size_t)p[0] | (size_t)p[1] << 8;
    p += 2;
    if ((size_t)(end - p) < n * 13 + 2) return -1;
    p += n * 13;
    size_t m = (size_t)p[0] | (size_t)p[1] << 8;
    p += 2;
    if ((size_t)(end - p) < m * pe + 24) return -1;
    p += m * pe + 24;
    if (p == end) return 0; /* written before the behaviour block existed */
    const size_t beh = 1 + 8 + 4 + 1 + 16 + 16 + 16 + 12;
    if ((size_t)(end - p) < beh || p[0] != 1) return -1;
    p += beh;
    for (int k = 0; k < 2; k++) { /* category and brand affinities */
        if (p >= end) return -1;
        int cnt = *p++;
        for (int i = 0; i < cnt; i++)
            if (skip_str16(&p, end, NULL, NULL) || end - p < 8)
                return -1;
            else
                p += 8;
    }
    if (p == end) return 0; /* before the watch block */
    const unsigned char *s;
    size_t sl;
    if (skip_str16(&p, end, NULL, NULL) || skip_str16(&p, end, &s, &sl) || p != end) return -1;
    rs_segment_user_t g;
    if (rs_segment_user_decode(&g, s, sl)) return -1;
    *aggregated = g.counted || g.rfm || g.cluster;
    return 0;
}

/* ---- the compaction filter (RocksDB background threads) ---- */

static void enqueue(rs_ttl_t *t, const void *key, size_t klen) {
    pthread_mutex_lock(&t->mu);
    if (t->q.len + 4 + klen > QUEUE_MAX_BYTES) {
        pthread_mutex_unlock(&t->mu);
        atomic_fetch_add(&t->overflow, 1);
        return;
    }
    unsigned char l[4];
    rs_put_u32(l, (uint32_t)klen);
    rs_buf_append(&t->q, l, 4);
    rs_buf_append(&t->q, key, klen);
    pthread_mutex_unlock(&t->mu);
}

static int filter(void *opaque, const void *key, size_t klen, const void *val, size_t vlen) {
    rs_ttl_t *t = opaque;
    int64_t last = 0;
    int agg = 0;
    if (rs_state__user_scan(val, vlen, &last, &agg)) return 0; /* never drop what we cannot read */
    if (!rs_ttl_rule(t->ttl_ms, last, atomic_load(&t->watermark))) return 0;
    if (agg) { /* the loop expires it, atomically with the segment counts */
        enqueue(t, key, klen);
        return 0;
    }
    atomic_fetch_add(&t->dropped, 1);
    return 1;
}

/* ---- lifecycle ---- */

rs_ttl_t *rs_ttl_new(const rs_conf_t *conf) {
    if (conf->state_user_ttl_ms <= 0) return NULL;
    rs_ttl_t *t = rs_xcalloc(1, sizeof(*t));
    t->ttl_ms = conf->state_user_ttl_ms;
    t->compact_ms = conf->state_user_ttl_compact_ms;
    pthread_mutex_init(&t->mu, NULL);
    return t;
}

void rs_ttl_destroy(rs_ttl_t *t) {
    if (!t) return;
    pthread_mutex_destroy(&t->mu);
    rs_buf_free(&t->q);
    rs_buf_free(&t->take);
    free(t);
}

void rs_ttl_rocks_opts(rs_ttl_t *t, rs_rocks_opts_t *o) {
    if (!t || o->read_only) return; /* read-only opens never compact */
    o->filter[RS_CF_USERS] = filter;
    o->filter_opaque[RS_CF_USERS] = t;
}

void rs_ttl_rocks_opened(rs_ttl_t *t, rs_rocks_t *db) {
    if (!t || t->compact_ms <= 0) return;
    char v[32], err[256];
    int64_t s = (t->compact_ms + 999) / 1000;
    snprintf(v, sizeof(v), "%lld", (long long)(s > 0 ? s : 1));
    if (rs_rocks_set_option(db, RS_CF_USERS, "periodic_compaction_seconds", v, err, sizeof(err)))
        rs_warn("state", "state.user.ttl.compact.ms not applied: %s", err);
}

void rs_ttl_publish(rs_ttl_t *t, int64_t watermark) {
    if (t && watermark > atomic_load(&t->watermark)) atomic_store(&t->watermark, watermark);
}

uint64_t rs_ttl_dropped(const rs_ttl_t *t) {
    return t ? atomic_load(&((rs_ttl_t *)t)->dropped) : 0;
}

/* ---- loop side ---- */

size_t rs_state_expire_step(rs_state_t *st, size_t budget) {
    rs_ttl_t *t = rs_state__ttl(st);
    if (!t) return 0;
    size_t expired = 0;
    /* keys the filter left to us */
    pthread_mutex_lock(&t->mu);
    rs_buf_t tmp = t->take;
    t->take = t->q;
    t->q = tmp;
    rs_buf_reset(&t->q);
    pthread_mutex_unlock(&t->mu);
    const unsigned char *p = (const unsigned char *)t->take.p, *end = p + t->take.len;
    while (end - p >= 4) {
        uint32_t kl = rs_get_u32(p);
        if ((size_t)(end - p - 4) < kl) break;
        expired += (size_t)rs_state__expire_key(st, (const char *)p + 4, kl);
        p += 4 + kl;
    }
    rs_buf_reset(&t->take);
    /* a slice of the loaded users */
    int64_t now = rs_state_event_now(st), ttl = rs_state__ttl_ms(st);
    for (size_t i = 0; i < budget; i++) {
        size_t before = t->cursor;
        rs_user_t *u = rs_state_user_next(st, &t->cursor);
        if (!u) {
            t->cursor = 0;
            break;
        }
        if (rs_ttl_rule(ttl, u->last_ts, now) && !rs_state__expire_user(st, u)) {
            expired++;
            t->cursor = before; /* the table shifted an entry into the freed slot */
        }
    }
    return expired;
}

rs_err_t rs_state_compact_users(rs_state_t *st, char *errstr, size_t errstr_size) {
    return rs_rocks_compact_cf(rs_state__db(st), RS_CF_USERS, errstr, errstr_size);
}
