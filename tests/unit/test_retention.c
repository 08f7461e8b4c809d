/* test_retention.c -- idle-user expiry (state.user.ttl.ms, SPEC F19): the
 * RocksDB compaction filter drops exactly the users idle beyond the TTL of
 * EVENT time, replayed history does not expire by the wall clock, reads and
 * events see expiry at once, loaded users leave memory, and users counted in
 * segment aggregates go through the loop's hook in one batch. */
#include <stdlib.h>
#include <string.h>

#include "recstream/rs_conf.h"
#include "recstream/rs_log.h"
#include "recstream/rs_rocks.h"
#include "recstream/rs_state.h"
#include "rs_test.h"

static char g_dir[64], err[512];

static rs_conf_t *mkconf(const char *ttl_ms) {
    rs_conf_t *c = rs_conf_new();
    snprintf(g_dir, sizeof(g_dir), "/tmp/rs-test-ttl-XXXXXX");
    if (!mkdtemp(g_dir)) abort();
    rs_conf_set(c, "state.dir", g_dir, "t", err, sizeof(err));
    rs_conf_set(c, "state.user.ttl.ms", ttl_ms, "t", err, sizeof(err));
    rs_conf_set(c, "state.user.ttl.compact.ms", "0", "t", err, sizeof(err));
    return c;
}

static void rmdir_r(void) {
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
    if (system(cmd)) fprintf(stderr, "cleanup of %s failed\n", g_dir);
}

static rs_user_t *apply(rs_state_t *st, const char *user, const char *item, int64_t ts) {
    rs_event_t e = {0};
    e.fields = RS_F_TS | RS_F_USER | RS_F_ITEM | RS_F_TYPE;
    e.type = RS_EV_VIEW;
    e.ts_ms = ts;
    e.user_id = rs_str(user, (uint32_t)strlen(user));
    e.item_id = rs_str(item, (uint32_t)strlen(item));
    int late;
    return rs_state_apply(st, &e, 0, &late);
}

/* The user keys stored in RocksDB, comma-separated in key order. */
static void stored_users(char *out, size_t size) {
    rs_rocks_t *db = NULL;
    rs_rocks_opts_t o = {.read_only = 1};
    out[0] = '\0';
    if (rs_rocks_open(&db, g_dir, &o, err, sizeof(err))) {
        snprintf(out, size, "open failed: %s", err);
        return;
    }
    rs_rocks_iter_t *it = rs_rocks_iter_new(db, RS_CF_USERS, NULL, 0);
    size_t n = 0;
    for (; rs_rocks_iter_valid(it); rs_rocks_iter_next(it)) {
        size_t kl;
        const char *k = rs_rocks_iter_key(it, &kl);
        n += (size_t)snprintf(out + n, size - n, "%s%.*s", n ? "," : "", (int)kl, k);
        if (n >= size) break;
    }
    rs_rocks_iter_destroy(it);
    rs_rocks_close(db);
}

/* Users a (last 1000), b (1500), c (5000), d (5200), e (6000); TTL 1000:
 * the watermark is 6000, so exactly a and b (last < 5000) expire. c sits on
 * the boundary and stays. The filter drops them in a compaction after a
 * restart (nothing loaded), and the others keep every field. */
TEST(filter_drops_exactly_the_idle) {
    rs_conf_t *c = mkconf("1000");
    rs_state_t *st = NULL;
    ASSERT_OK(rs_state_open(&st, c, err, sizeof(err)));
    apply(st, "a", "i1", 500);
    apply(st, "a", "i2", 1000);
    apply(st, "b", "i1", 1500);
    apply(st, "c", "i1", 5000);
    apply(st, "d", "i2", 5100);
    apply(st, "d", "i3", 5200);
    apply(st, "e", "i3", 6000);
    ASSERT_OK(rs_state_commit(st, err, sizeof(err)));
    char before[4096];
    rs_state_close(st);
    st = NULL;
    stored_users(before, sizeof(before));
    ASSERT_STREQ(before, "a,b,c,d,e"); /* nothing compacted yet */

    ASSERT_OK(rs_state_open(&st, c, err, sizeof(err)));
    ASSERT_EQ(rs_state_event_now(st), 6000);
    /* expired at once for reads, before any compaction */
    ASSERT(rs_state_user_get(st, "a", 1) == NULL);
    ASSERT(rs_state_user_get(st, "b", 1) == NULL);
    rs_user_t *d = rs_state_user_get(st, "d", 1);
    ASSERT(d != NULL);
    ASSERT_EQ(d->counts[RS_EV_VIEW], 2);
    ASSERT_EQ(d->first_ts, 5100);
    ASSERT_EQ(d->last_ts, 5200);
    ASSERT_EQ(d->n_recent, 2);
    ASSERT_OK(rs_state_compact_users(st, err, sizeof(err)));
    ASSERT_EQ(rs_state_users_expired(st), 2); /* both by the filter: nothing was loaded */
    ASSERT_EQ(rs_state_expire_step(st, 100), 0);
    ASSERT_OK(rs_state_commit(st, err, sizeof(err)));
    /* item and co-occurrence counts are aggregates: they stay */
    rs_item_t *i1 = rs_state_item_get(st, "i1", 2);
    ASSERT(i1 != NULL);
    ASSERT_EQ(i1->counts[RS_EV_VIEW], 3);
    rs_state_close(st);
    char after[4096];
    stored_users(after, sizeof(after));
    ASSERT_STREQ(after, "c,d,e");
    rs_conf_destroy(c);
    rmdir_r();
}

/* Replaying 2019 history with a 30-day TTL: the wall clock is years ahead,
 * but only the user idle for 30 days of EVENT time expires. */
TEST(replay_of_history_expires_nothing_spuriously) {
    rs_conf_t *c = mkconf("2592000000");
    rs_state_t *st = NULL;
    ASSERT_OK(rs_state_open(&st, c, err, sizeof(err)));
    const int64_t t0 = 1546300800000LL, day = 86400000LL; /* 2019-01-01 */
    char u[16];
    for (int d = 0; d < 365; d++) { /* 20 users, each active every 5 days */
        for (int k = 0; k < 20; k++) {
            if ((d + k) % 5) continue;
            snprintf(u, sizeof(u), "u%02d", k);
            apply(st, u, (d & 1) ? "x" : "y", t0 + d * day + k);
        }
        if (d == 10) apply(st, "gone", "x", t0 + d * day); /* idle for the other 354 days */
        if (d % 30 == 0) ASSERT_OK(rs_state_commit(st, err, sizeof(err)));
        rs_state_commit_step(st, 64); /* the loop's sweep, as the pipeline runs it */
    }
    ASSERT_OK(rs_state_commit(st, err, sizeof(err)));
    ASSERT_OK(rs_state_compact_users(st, err, sizeof(err)));
    ASSERT_EQ(rs_state_expire_step(st, 1000), 0);
    ASSERT_OK(rs_state_commit(st, err, sizeof(err)));
    ASSERT(rs_state_user_get(st, "gone", 4) == NULL);
    ASSERT_EQ(rs_state_users_expired(st), 1); /* "gone", by the loop's sweep */
    rs_state_close(st);
    char after[4096];
    stored_users(after, sizeof(after));
    ASSERT_STREQ(after, "u00,u01,u02,u03,u04,u05,u06,u07,u08,u09,u10,u11,u12,u13,u14,u15,u16,u17,"
                        "u18,u19");
    rs_conf_destroy(c);
    rmdir_r();
}

/* An event for an expired, loaded user starts a fresh profile, and the old
 * one's record is deleted in the same commit. */
TEST(event_after_ttl_starts_fresh) {
    rs_conf_t *c = mkconf("1000");
    rs_state_t *st = NULL;
    ASSERT_OK(rs_state_open(&st, c, err, sizeof(err)));
    apply(st, "a", "i1", 100);
    apply(st, "a", "i2", 200);
    ASSERT_OK(rs_state_commit(st, err, sizeof(err)));
    rs_user_t *a = apply(st, "a", "i3", 1199); /* 999 ms idle: same profile */
    ASSERT_EQ(a->counts[RS_EV_VIEW], 3);
    a = apply(st, "a", "i1", 2200); /* 1001 ms idle: gone first */
    ASSERT_EQ(a->counts[RS_EV_VIEW], 1);
    ASSERT_EQ(a->first_ts, 2200);
    ASSERT_EQ(a->n_recent, 1);
    ASSERT_EQ(rs_state_users_expired(st), 1);
    ASSERT_OK(rs_state_commit(st, err, sizeof(err)));
    rs_state_close(st);
    st = NULL;
    ASSERT_OK(rs_state_open_ro(&st, c, err, sizeof(err)));
    a = rs_state_user_get(st, "a", 1);
    ASSERT(a != NULL);
    ASSERT_EQ(a->counts[RS_EV_VIEW], 1);
    ASSERT_EQ(a->first_ts, 2200);
    rs_state_close(st);
    rs_conf_destroy(c);
    rmdir_r();
}

typedef struct hook_log {
    int calls, counted;
    char ids[256];
} hook_log_t;

static void hook(void *opaque, rs_user_t *u) {
    hook_log_t *h = opaque;
    h->calls++;
    h->counted += u->seg.counted;
    size_t n = strlen(h->ids);
    snprintf(h->ids + n, sizeof(h->ids) - n, "%s%.*s", n ? "," : "", (int)u->id_len, u->id);
}

/* Loaded idle users leave memory through the sweep (hook called, delete
 * written), and a stored user counted in segment aggregates is kept by the
 * filter, handed to the loop, and expired there through the hook. */
TEST(sweep_and_aggregated_users_go_through_the_hook) {
    rs_conf_t *c = mkconf("1000");
    rs_state_t *st = NULL;
    ASSERT_OK(rs_state_open(&st, c, err, sizeof(err)));
    rs_user_t *b = apply(st, "buyer", "i1", 100);
    b->seg.counted = 1; /* as rs_segment would after a purchase */
    b->seg.rfm = 1;
    rs_state_user_recs_dirty(st, b);
    apply(st, "plain", "i1", 150);
    ASSERT_OK(rs_state_commit(st, err, sizeof(err)));
    rs_state_close(st);
    st = NULL;

    /* restart: nothing loaded; a later event moves the watermark */
    hook_log_t h = {0};
    ASSERT_OK(rs_state_open(&st, c, err, sizeof(err)));
    rs_state_on_expire(st, hook, &h);
    apply(st, "late", "i2", 5000);
    ASSERT_OK(rs_state_commit(st, err, sizeof(err)));
    ASSERT_OK(rs_state_compact_users(st, err, sizeof(err)));
    ASSERT_EQ(h.calls, 0); /* "plain" dropped by the filter; "buyer" only queued */
    ASSERT_EQ(rs_state_expire_step(st, 0), 1);
    ASSERT_EQ(h.calls, 1);
    ASSERT_EQ(h.counted, 1);
    ASSERT_STREQ(h.ids, "buyer");
    ASSERT_EQ(rs_state_users_expired(st), 2);
    ASSERT_OK(rs_state_commit(st, err, sizeof(err)));
    char after[256];
    rs_state_close(st);
    st = NULL;
    stored_users(after, sizeof(after));
    ASSERT_STREQ(after, "late");

    /* loaded users: the sweep takes the idle one out of memory */
    memset(&h, 0, sizeof(h));
    ASSERT_OK(rs_state_open(&st, c, err, sizeof(err)));
    rs_state_on_expire(st, hook, &h);
    ASSERT(rs_state_user_get(st, "late", 4) != NULL);
    ASSERT_EQ(rs_state_user_cached(st), 1);
    apply(st, "now", "i1", 7000);
    ASSERT_EQ(rs_state_user_cached(st), 2);
    ASSERT_EQ(rs_state_expire_step(st, 100), 1);
    ASSERT_STREQ(h.ids, "late");
    ASSERT_EQ(rs_state_user_cached(st), 1);
    ASSERT_OK(rs_state_commit(st, err, sizeof(err)));
    rs_state_close(st);
    stored_users(after, sizeof(after));
    ASSERT_STREQ(after, "now");
    rs_conf_destroy(c);
    rmdir_r();
}

/* TTL off (the default): nothing ever expires, whatever the gaps. */
TEST(ttl_off_keeps_everyone) {
    rs_conf_t *c = mkconf("0");
    rs_state_t *st = NULL;
    ASSERT_OK(rs_state_open(&st, c, err, sizeof(err)));
    apply(st, "a", "i1", 1);
    apply(st, "b", "i1", 1000000000000LL);
    ASSERT_OK(rs_state_commit(st, err, sizeof(err)));
    ASSERT_OK(rs_state_compact_users(st, err, sizeof(err)));
    ASSERT_EQ(rs_state_expire_step(st, 100), 0);
    ASSERT(rs_state_user_get(st, "a", 1) != NULL);
    ASSERT_EQ(rs_state_users_expired(st), 0);
    rs_state_close(st);
    char after[256];
    stored_users(after, sizeof(after));
    ASSERT_STREQ(after, "a,b");
    rs_conf_destroy(c);
    rmdir_r();
}

int main(void) {
    rs_log_level = RS_LOG_WARN;
    return RUN_TESTS(t_filter_drops_exactly_the_idle,
                     t_replay_of_history_expires_nothing_spuriously, t_event_after_ttl_starts_fresh,
                     t_sweep_and_aggregated_users_go_through_the_hook, t_ttl_off_keeps_everyone);
}
