/* rs_state_user.c -- user profiles in memory: allocation, load from
 * RocksDB, lookup, delete (SPEC F19), the loop side of retention, and id
 * hashing. Part of the state module (rs_state.c has the DESIGN note).
 *
 * A profile is loaded on first touch and stays in memory until it expires
 * or is deleted. A delete goes into the open WriteBatch and the id stays on the
 * "deleted" list until that batch is written (unwritten_pop in
 * rs_state_commit.c), so a load in between cannot resurrect the last
 * committed profile. An expired profile reads as absent everywhere; the
 * rule itself is rs_ttl_rule (rs_state_ttl.c). */
#include <stdlib.h>
#include <string.h>

#include "recstream/rs_log.h"
#include "rs_state_int.h"

/* ------------------------------------------------------------------ users */

/* Profiles start small and grow to the configured ring sizes: most users
 * have a handful of events, and 100k users x full rings would dominate RSS. */
rs_user_t *rs_state__user_alloc(const rs_conf_t *conf, const char *id, size_t len) {
    rs_user_t *u = rs_xcalloc(1, sizeof(*u));
    u->id = rs_xstrndup(id, len);
    u->id_len = (uint32_t)len;
    return u;
}

void rs_state__user_reserve(rs_user_t *u, uint16_t recent, uint16_t purchased) {
    if (recent > u->cap_recent) {
        uint16_t c = u->cap_recent ? u->cap_recent : 4;
        while (c < recent) c *= 2;
        u->recent = rs_xrealloc(u->recent, c * sizeof(rs_recent_t));
        u->cap_recent = c;
    }
    if (purchased > u->cap_purchased) {
        uint16_t c = u->cap_purchased ? u->cap_purchased : 2;
        while (c < purchased) c *= 2;
        u->purchased = rs_xrealloc(u->purchased, c * sizeof(uint32_t));
        u->purchased_ts = rs_xrealloc(u->purchased_ts, c * sizeof(int64_t));
        u->cap_purchased = c;
    }
}

void rs_state__user_free(rs_user_t *u) {
    if (!u) return;
    free(u->id);
    free(u->recent);
    free(u->purchased);
    free(u->purchased_ts);
    free(u);
}

void rs_state_user_recs_dirty(rs_state_t *st, rs_user_t *u) {
    mark_user_dirty(st, u);
}

static int user_deleted(const rs_state_t *st, const char *id, size_t len) {
    if (!rs_u64set_has(&st->deleted_set, rs_hash64(id, len) | 1)) return 0;
    for (size_t i = 0; i < st->n_deleted; i++)
        if (st->deleted[i].len == len && !memcmp(st->deleted[i].id, id, len)) return 1;
    return 0;
}

/* ---- retention and id hashing (see rs_state_ttl.c) ---- */

int rs_state_user_expired(const rs_state_t *st, const rs_user_t *u) {
    return expired_at(st, u, st->event_now);
}

/* The delete of key goes into the open batch (after any put of it already
 * there: the delete wins); loads answer "absent" until it is written. */
static void queue_delete(rs_state_t *st, const char *id, size_t len) {
    rs_rocks_batch_delete(rs_state__open_batch(st), st->db, RS_CF_USERS, id, len);
    GROW(st->deleted, st->n_deleted, st->cap_deleted);
    st->deleted[st->n_deleted++] =
        (struct deleted_user){rs_xstrndup(id, len), (uint32_t)len, st->batches_queued};
    rs_u64set_add(&st->deleted_set, rs_hash64(id, len) | 1);
    st->uncommitted++;
}

static void expire_hook(rs_state_t *st, rs_user_t *u) {
    if (st->expire_fn) st->expire_fn(st->expire_opaque, u);
    st->users_expired++;
}

const char *rs_state_user_key(rs_state_t *st, const char *id, size_t len, size_t *klen) {
    if (!st->idh ||
        rs_hmac_hex(st->idh, id, len, st->idkey, RS_USER_ID_HASH_LEN)) { /* cannot fail keyed */
        *klen = len;
        return id;
    }
    *klen = RS_USER_ID_HASH_LEN;
    return st->idkey;
}

/* Hashing on and the argument looks like a hash (32 lowercase hex). */
static int looks_hashed(const rs_state_t *st, const char *id, size_t len) {
    if (!st->idh || len != RS_USER_ID_HASH_LEN) return 0;
    for (size_t i = 0; i < len; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f'))) return 0;
    return 1;
}

/* Loads a user from RocksDB; NULL if absent (or on error, logged). An
 * expired profile is absent; LOAD_WRITE (an event or the expiry queue is
 * about to act on it) also expires it: hook and delete. */
rs_user_t *rs_state__user_load(rs_state_t *st, const char *id, size_t len, uint64_t h, int mode,
                               int64_t now) {
    char err[256];
    if (st->n_deleted && user_deleted(st, id, len)) return NULL;
    int rc = rs_rocks_get(st->db, RS_CF_USERS, id, len, &st->vbuf, err, sizeof(err));
    if (rc == RS_ENOTFOUND) return NULL;
    if (rc) {
        rs_error("state", "loading user: %s", err);
        return NULL;
    }
    rs_user_t *u = rs_state__user_alloc(st->conf, id, len);
    if (rs_state__user_decode(st, u, (const unsigned char *)st->vbuf.p, st->vbuf.len)) {
        rs_error("state", "corrupt profile for user %.*s: ignored", (int)len, id);
        rs_state__user_free(u);
        return NULL;
    }
    if (expired_at(st, u, now)) {
        if (mode == LOAD_WRITE && !st->read_only) {
            expire_hook(st, u);
            queue_delete(st, id, len);
        }
        rs_state__user_free(u);
        return NULL;
    }
    rs_strmap_put(&st->users_by_id, h, u);
    st->n_users++;
    return u;
}

static rs_user_t *user_get_key(rs_state_t *st, const char *key, size_t len) {
    uint64_t h = rs_hash64(key, len);
    rs_user_t *u = rs_strmap_get(&st->users_by_id, key, len, h);
    if (u) return expired_at(st, u, st->event_now) ? NULL : u; /* the sweep removes it */
    return rs_state__user_load(st, key, len, h, LOAD_READ, st->event_now);
}

rs_user_t *rs_state_user_get(rs_state_t *st, const char *id, size_t len) {
    size_t kl;
    const char *k = rs_state_user_key(st, id, len, &kl);
    rs_user_t *u = user_get_key(st, k, kl);
    return u || !looks_hashed(st, id, len) ? u : user_get_key(st, id, len);
}

/* Removes a map entry by backward shift (linear probing, no tombstones): the
 * entries after it move up unless their home slot lies between the hole and
 * themselves. */
static void strmap_del(rs_strmap_t *m, const void *v, uint64_t h) {
    uint64_t mask = m->cap - 1, i = h & mask;
    while (m->e[i].v != v) {
        if (!m->e[i].v) return;
        i = (i + 1) & mask;
    }
    for (uint64_t j = (i + 1) & mask; m->e[j].v; j = (j + 1) & mask) {
        uint64_t k = m->e[j].h & mask;
        if (i <= j ? (k <= i || k > j) : (k <= i && k > j)) {
            m->e[i] = m->e[j];
            i = j;
        }
    }
    m->e[i].v = NULL;
    m->e[i].h = 0;
    m->n--;
}

/* Drops u from a user pointer list, keeping the order; *pos (may be NULL)
 * is the list's read position and moves back if u sat before it. */
static size_t ulist_drop(rs_user_t **l, size_t n, const rs_user_t *u, size_t *pos) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (l[i] != u)
            l[o++] = l[i];
        else if (pos && i < *pos)
            (*pos)--;
    }
    return o;
}

/* Takes a loaded user out of memory and queues its delete. */
static void user_drop(rs_state_t *st, rs_user_t *u, uint64_t h) {
    strmap_del(&st->users_by_id, u, h);
    if (u->dirty)
        st->n_dirty_users = ulist_drop(st->dirty_users, st->n_dirty_users, u, &st->du_pos);
    if (u->touched) st->n_touched = ulist_drop(st->touched, st->n_touched, u, NULL);
    queue_delete(st, u->id, u->id_len);
    rs_state__user_free(u);
    st->n_users--;
}

static rs_err_t user_delete_key(rs_state_t *st, const char *id, size_t len, char *errstr,
                                size_t errstr_size);

rs_err_t rs_state_user_delete(rs_state_t *st, const char *id, size_t len, char *errstr,
                              size_t errstr_size) {
    if (st->read_only) return rs_seterr(errstr, errstr_size, RS_ESTATE, "state is read-only");
    size_t kl;
    const char *k = rs_state_user_key(st, id, len, &kl);
    char key[RS_USER_ID_HASH_LEN];
    if (k == st->idkey) memcpy(key, k, kl), k = key; /* the next call overwrites idkey */
    rs_err_t rc = user_delete_key(st, k, kl, errstr, errstr_size);
    if (rc == RS_ENOTFOUND && looks_hashed(st, id, len))
        rc = user_delete_key(st, id, len, errstr, errstr_size);
    return rc;
}

static rs_err_t user_delete_key(rs_state_t *st, const char *id, size_t len, char *errstr,
                                size_t errstr_size) {
    uint64_t h = rs_hash64(id, len);
    rs_user_t *u = rs_strmap_get(&st->users_by_id, id, len, h);
    if (!u) { /* a raw lookup: a corrupt profile must be deletable too */
        if (user_deleted(st, id, len))
            return rs_seterr(errstr, errstr_size, RS_ENOTFOUND, "unknown user");
        int rc = rs_rocks_get(st->db, RS_CF_USERS, id, len, &st->vbuf, errstr, errstr_size);
        if (rc == RS_ENOTFOUND) return rs_seterr(errstr, errstr_size, rc, "unknown user");
        if (rc) return rc;
        /* expired but not yet compacted (reads did not show it, so the caller
         * had nothing to forget): it leaves through the expiry hook */
        rs_user_t *tmp = rs_state__user_alloc(st->conf, id, len);
        if (!rs_state__user_decode(st, tmp, (const unsigned char *)st->vbuf.p, st->vbuf.len) &&
            expired_at(st, tmp, st->event_now))
            expire_hook(st, tmp);
        rs_state__user_free(tmp);
    } else {
        if (u->pending)
            return rs_seterr(errstr, errstr_size, RS_ESTATE,
                             "user has a rate-limited emit pending in the pipeline");
        if (expired_at(st, u, st->event_now)) expire_hook(st, u);
        user_drop(st, u, h);
        return RS_OK;
    }
    queue_delete(st, id, len);
    return RS_OK;
}

void rs_state_on_expire(rs_state_t *st, rs_state_expire_fn_t *fn, void *opaque) {
    st->expire_fn = fn;
    st->expire_opaque = opaque;
}

uint64_t rs_state_users_expired(const rs_state_t *st) {
    return st->users_expired + rs_ttl_dropped(st->ttl);
}

int64_t rs_state__ttl_ms(const rs_state_t *st) {
    return st->ttl_ms;
}
rs_ttl_t *rs_state__ttl(rs_state_t *st) {
    return st->read_only ? NULL : st->ttl;
}
rs_rocks_t *rs_state__db(rs_state_t *st) {
    return st->db;
}

int rs_state__expire_user(rs_state_t *st, rs_user_t *u) {
    if (st->read_only || u->pending) return -1;
    expire_hook(st, u);
    user_drop(st, u, rs_hash64(u->id, u->id_len));
    return 0;
}

int rs_state__expire_key(rs_state_t *st, const char *key, size_t len) {
    uint64_t h = rs_hash64(key, len);
    rs_user_t *u = rs_strmap_get(&st->users_by_id, key, len, h);
    if (u) return expired_at(st, u, st->event_now) && !rs_state__expire_user(st, u);
    uint64_t before = st->users_expired;
    u = rs_state__user_load(st, key, len, h, LOAD_WRITE, st->event_now);
    return st->users_expired > before;
}

int rs_state_users_foreach(rs_state_t *st, rs_state_user_fn_t *fn, void *opaque, char *errstr,
                           size_t errstr_size) {
    rs_user_t *tmp = rs_state__user_alloc(st->conf, "", 0);
    rs_rocks_iter_t *it = rs_rocks_iter_new(st->db, RS_CF_USERS, NULL, 0);
    int rc = 0;
    for (; !rc && rs_rocks_iter_valid(it); rs_rocks_iter_next(it)) {
        size_t kl, vl;
        const char *k = rs_rocks_iter_key(it, &kl);
        const unsigned char *v = rs_rocks_iter_value(it, &vl);
        rs_user_t *u = rs_strmap_get(&st->users_by_id, k, kl, rs_hash64(k, kl));
        if (!u) {
            if (st->n_deleted && user_deleted(st, k, kl)) continue;
            if (rs_state__user_decode(st, tmp, v, vl)) {
                rs_error("state", "corrupt profile for user %.*s: skipped", (int)kl, k);
                continue;
            }
            free(tmp->id); /* the temporary takes the key as its id */
            tmp->id = rs_xstrndup(k, kl);
            tmp->id_len = (uint32_t)kl;
            u = tmp;
        }
        if (expired_at(st, u, st->event_now)) continue;
        rc = fn(opaque, u);
    }
    if (!rc) rc = rs_rocks_iter_status(it, errstr, errstr_size);
    rs_rocks_iter_destroy(it);
    rs_state__user_free(tmp);
    return rc;
}
