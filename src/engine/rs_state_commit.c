/* rs_state_commit.c -- turning changes into WriteBatches: consumed
 * offsets, the dedup window, dirty users and items, blobs, and writing the
 * batches (SPEC F7).
 *
 * Everything a commit persists goes into ONE WriteBatch together with the
 * offsets of the events it contains, so a crash loses both or neither.
 * Dirty objects are serialised into the open batch during the interval
 * (rs_state_commit_step) to keep the commit's loop stall short; the commit
 * closes the batch and queues it as "unwritten". A batch may be written on
 * another thread (rs_state_commit_begin/_write/_end); until it is durable,
 * its user deletes stay on the "deleted" list and the TTL watermark it
 * carries is not published to the compaction filter. */
#include <stdlib.h>
#include <string.h>

#include "recstream/rs_log.h"
#include "rs_state_int.h"

/* ------------------------------------------------------------------ offsets */

static rs_offset_t *offset_find(rs_state_t *st, const char *topic, int32_t partition) {
    /* records arrive in runs per partition: try the last hit first */
    if (st->last_off < st->n_offsets && st->offsets[st->last_off].partition == partition &&
        !strcmp(st->offsets[st->last_off].topic, topic))
        return &st->offsets[st->last_off];
    for (size_t i = 0; i < st->n_offsets; i++)
        if (st->offsets[i].partition == partition && !strcmp(st->offsets[i].topic, topic)) {
            st->last_off = i;
            return &st->offsets[i];
        }
    return NULL;
}

size_t rs_state_offset_count(const rs_state_t *st) {
    return st->n_offsets;
}

void rs_state_offset_at(const rs_state_t *st, size_t i, const char **topic, int32_t *partition,
                        int64_t *next) {
    *topic = st->offsets[i].topic;
    *partition = st->offsets[i].partition;
    *next = st->offsets[i].next;
}

int64_t rs_state_offset(rs_state_t *st, const char *topic, int32_t partition) {
    rs_offset_t *o = offset_find(st, topic, partition);
    return o ? o->next : -1;
}

int rs_state_offset_consumed(rs_state_t *st, const char *topic, int32_t partition, int64_t offset) {
    rs_offset_t *o = offset_find(st, topic, partition);
    if (o && offset >= 0 && offset < o->next) return 0;
    if (!o) {
        st->offsets = rs_xrealloc(st->offsets, (st->n_offsets + 1) * sizeof(*st->offsets));
        o = &st->offsets[st->n_offsets++];
        o->topic = rs_xstrdup(topic);
        o->partition = partition;
        o->next = -1;
    }
    if (offset + 1 > o->next) o->next = offset + 1;
    o->dirty = 1;
    st->uncommitted++;
    return 1;
}

/* ------------------------------------------------------------------ dedup */

int rs_state_dedup(rs_state_t *st, const char *event_id, size_t len) {
    if (st->conf->dedup_window <= 0 || !len) return 0;
    uint64_t h = rs_hash64(event_id, len);
    if (!h) h = 1;
    if (!rs_u64set_add(&st->dedup, h)) return 1;
    GROW(st->pend_h, st->n_pend_h, st->cap_pend_h);
    st->pend_h[st->n_pend_h++] = h;
    st->uncommitted++;
    return 0;
}

/* ------------------------------------------------------------------ commit */

/* Serialises every change since the last call into a new WriteBatch and
 * appends it to the queue of unwritten batches; the in-memory deltas are
 * clean afterwards (the batch is the only copy of them). */
static void serialize_user(rs_state_t *st, rs_rocks_batch_t *b, rs_user_t *u) {
    rs_state__user_encode(st, u, &st->vbuf);
    rs_rocks_batch_put(b, st->db, RS_CF_USERS, u->id, u->id_len, st->vbuf.p, st->vbuf.len);
    u->dirty = 0;
}

/* Item counts as a put; the row's uncommitted deltas as one merge operand
 * (a second operand for the same row in the same batch just adds up). */
static void serialize_item(rs_state_t *st, rs_rocks_batch_t *b, rs_item_t *it) {
    if (it->meta_dirty) {
        rs_state__item_encode(st, it, &st->vbuf);
        rs_rocks_batch_put(b, st->db, RS_CF_ITEMS, it->id, it->id_len, st->vbuf.p, st->vbuf.len);
    }
    if (it->dirty_n) {
        rs_sort_u32(it->dirty_nb, it->dirty_n);
        rs_buf_reset(&st->vbuf);
        rs_buf_reserve(&st->vbuf, (size_t)it->dirty_n * 8);
        for (uint32_t j = 0; j < it->dirty_n; j++) {
            rs_nbent_t *ne = row_find(it, it->dirty_nb[j]);
            unsigned char e[8];
            rs_put_u32(e, it->dirty_nb[j]);
            rs_put_u32(e + 4, ne ? ne->delta & NB_DELTA_MAX : 0);
            rs_buf_append(&st->vbuf, e, 8);
            if (ne) ne->delta &= NB_IN_TOP;
        }
        unsigned char k[4] = {(unsigned char)(it->idx >> 24), (unsigned char)(it->idx >> 16),
                              (unsigned char)(it->idx >> 8), (unsigned char)it->idx};
        rs_rocks_batch_merge(b, st->db, RS_CF_COOC, k, 4, st->vbuf.p, st->vbuf.len);
    }
    it->dirty_n = 0;
    it->meta_dirty = 0;
    it->in_dirty_list = 0;
}

/* Items with at most this many changed neighbours are serialised during the
 * interval (rs_state_commit_step); the others wait for the commit. A hot
 * item changes in nearly every drain, and re-serialising it each time would
 * multiply the work; the long tail of cold items was most of the commit's
 * loop stall (~10k items, ~100k neighbour deltas, 15-20 ms at 20k events/s). */
#define ITEM_EARLY_MAX_NB 16

/* Up to `budget` dirty users not yet serialised in this interval; those
 * already serialised once are hot: compacted into [0, du_pos) and left to
 * the commit. */
static size_t users_early(rs_state_t *st, size_t budget) {
    uint8_t gen = (uint8_t)(st->batches_queued % 255 + 1); /* never 0, a new user's */
    size_t done = 0, keep = st->du_pos, p = st->du_pos, n = st->n_dirty_users;
    while (done < budget && p < n) {
        rs_user_t *u = st->dirty_users[p++];
        if (!u->dirty) continue;
        if (u->early_gen == gen) {
            st->dirty_users[keep++] = u;
        } else {
            serialize_user(st, st->open, u), done++;
            u->early_gen = gen;
        }
    }
    if (p > keep)
        memmove(st->dirty_users + keep, st->dirty_users + p, (n - p) * sizeof(*st->dirty_users));
    st->n_dirty_users = keep + (n - p);
    st->du_pos = keep;
    return done;
}

/* Serialises up to `budget` dirty users, and cold items, into the open
 * batch; with `all`, every dirty user and item (the commit). Returns how
 * many it did. The work is spread over the interval instead of stalling the
 * loop at the commit; an object dirtied again is serialised again (the last
 * put wins, merge operands add), so the batch stays exact. But a user is
 * serialised early at most once per interval: at full speed most users are
 * touched in several drains of one interval, and re-serialising each time
 * made the batches up to 1.6x larger (bench --engine-only: 83-94 MB against
 * 52-76 MB per interval), all of it written again by RocksDB. Hot users and
 * hot items wait for the commit. */
static size_t serialize_some(rs_state_t *st, size_t budget, int all) {
    rs_state__open_batch(st);
    if (all) {
        size_t done = 0;
        for (size_t i = 0; i < st->n_dirty_users; i++) {
            rs_user_t *u = st->dirty_users[i];
            if (u->dirty) serialize_user(st, st->open, u), done++;
        }
        st->n_dirty_users = st->du_pos = 0;
        for (size_t i = 0; i < st->n_dirty_items; i++) {
            rs_item_t *it = st->items[st->dirty_items[i]];
            if (it->in_dirty_list) serialize_item(st, st->open, it), done++;
        }
        st->n_dirty_items = st->di_pos = st->di_keep = 0;
        return done;
    }
    size_t done = users_early(st, budget);
    /* cold items now; hot ones are compacted into [0, di_keep) */
    size_t keep = st->di_keep, p = st->di_pos, n = st->n_dirty_items;
    while (done < budget && p < n) {
        uint32_t idx = st->dirty_items[p++];
        rs_item_t *it = st->items[idx];
        if (!it->in_dirty_list) continue;
        if (it->dirty_n > ITEM_EARLY_MAX_NB)
            st->dirty_items[keep++] = idx;
        else
            serialize_item(st, st->open, it), done++;
    }
    if (p > keep) memmove(st->dirty_items + keep, st->dirty_items + p, (n - p) * sizeof(uint32_t));
    st->n_dirty_items = keep + (n - p);
    st->di_keep = st->di_pos = keep;
    return done;
}

void rs_state_commit_step(rs_state_t *st, size_t budget) {
    if (st->read_only) return;
    if (st->ttl) rs_state_expire_step(st, budget);
    rs_state__rows_sync(st);
    serialize_some(st, budget, 0);
}

/* ------------------------------------------------------------------ blobs */

/* meta key "b" + name (offsets are "o" + partition + topic) */
static void blob_key(rs_buf_t *k, const char *name) {
    rs_buf_reset(k);
    rs_buf_append(k, "b", 1);
    rs_buf_append(k, name, strlen(name));
}

void rs_state_blob_set(rs_state_t *st, const char *name, const void *p, size_t len) {
    size_t i;
    for (i = 0; i < st->n_blobs; i++)
        if (!strcmp(st->blobs[i].name, name)) break;
    if (i == st->n_blobs) {
        GROW(st->blobs, st->n_blobs, st->cap_blobs);
        memset(&st->blobs[i], 0, sizeof(st->blobs[i]));
        st->blobs[i].name = rs_xstrdup(name);
        st->n_blobs++;
    }
    rs_buf_reset(&st->blobs[i].v);
    rs_buf_append(&st->blobs[i].v, p, len);
}

int rs_state_blob_get(rs_state_t *st, const char *name, rs_buf_t *out) {
    rs_buf_reset(out);
    for (size_t i = 0; i < st->n_blobs; i++)
        if (!strcmp(st->blobs[i].name, name)) {
            rs_buf_append(out, st->blobs[i].v.p, st->blobs[i].v.len);
            return 1;
        }
    char err[256];
    blob_key(&st->kbuf, name);
    int rc = rs_rocks_get(st->db, RS_CF_META, st->kbuf.p, st->kbuf.len, out, err, sizeof(err));
    if (rc == RS_ENOTFOUND) return 0;
    if (rc) {
        rs_error("state", "reading %s: %s", name, err);
        return rc;
    }
    return 1;
}

/* Serialises every change since the last call into the open WriteBatch and
 * appends it to the queue of unwritten batches; the in-memory deltas are
 * clean afterwards (the batch is the only copy of them). */
static void commit_prepare(rs_state_t *st) {
    rs_state__rows_sync(st);
    if (!st->uncommitted && !st->n_dirty_users && !st->n_dirty_items && !st->n_blobs &&
        !(st->open && rs_rocks_batch_count(st->open)))
        return;
    serialize_some(st, SIZE_MAX, 1);
    rs_rocks_batch_t *b = st->open;
    st->open = NULL;
    unsigned char k[8];

    for (size_t i = 0; i < st->n_offsets; i++) {
        rs_offset_t *o = &st->offsets[i];
        if (!o->dirty) continue;
        rs_buf_reset(&st->kbuf);
        unsigned char hdr[5] = {'o', (unsigned char)((uint32_t)o->partition >> 24),
                                (unsigned char)((uint32_t)o->partition >> 16),
                                (unsigned char)((uint32_t)o->partition >> 8),
                                (unsigned char)o->partition};
        rs_buf_append(&st->kbuf, hdr, 5);
        rs_buf_append(&st->kbuf, o->topic, strlen(o->topic));
        unsigned char v[8];
        rs_put_u64(v, (uint64_t)o->next);
        rs_rocks_batch_put(b, st->db, RS_CF_META, st->kbuf.p, st->kbuf.len, v, 8);
        o->dirty = 0;
    }
    for (size_t i = 0; i < st->n_blobs; i++) {
        blob_key(&st->kbuf, st->blobs[i].name);
        rs_rocks_batch_put(b, st->db, RS_CF_META, st->kbuf.p, st->kbuf.len, st->blobs[i].v.p,
                           st->blobs[i].v.len);
        free(st->blobs[i].name);
        rs_buf_free(&st->blobs[i].v);
    }
    st->n_blobs = 0;
    /* dedup: the batch's ids as one chunk; the oldest chunks leave the window */
    if (st->n_pend_h) {
        rs_put_be64(k, st->next_chunk_seq);
        rs_buf_reset(&st->vbuf);
        for (size_t i = 0; i < st->n_pend_h; i++) {
            unsigned char e[8];
            rs_put_u64(e, st->pend_h[i]);
            rs_buf_append(&st->vbuf, e, 8);
        }
        rs_rocks_batch_put(b, st->db, RS_CF_DEDUP, k, 8, st->vbuf.p, st->vbuf.len);
        uint64_t total = st->chunk_total + st->n_pend_h;
        size_t n_evict = 0;
        while (n_evict < st->n_chunks &&
               total - st->chunks[n_evict].n >= (uint64_t)st->conf->dedup_window) {
            total -= st->chunks[n_evict].n;
            rs_put_be64(k, st->chunks[n_evict].seq);
            rs_rocks_batch_delete(b, st->db, RS_CF_DEDUP, k, 8);
            for (uint32_t j = 0; j < st->chunks[n_evict].n; j++)
                rs_u64set_del(&st->dedup, st->chunks[n_evict].h[j]);
            st->chunk_total -= st->chunks[n_evict].n;
            free(st->chunks[n_evict].h);
            n_evict++;
        }
        if (n_evict)
            memmove(st->chunks, st->chunks + n_evict,
                    (st->n_chunks - n_evict) * sizeof(rs_chunk_t));
        st->n_chunks -= n_evict;
        GROW(st->chunks, st->n_chunks, st->cap_chunks);
        rs_chunk_t *c = &st->chunks[st->n_chunks++];
        c->seq = st->next_chunk_seq++;
        c->n = (uint32_t)st->n_pend_h;
        c->h = rs_xmalloc(st->n_pend_h * sizeof(uint64_t));
        memcpy(c->h, st->pend_h, st->n_pend_h * sizeof(uint64_t));
        st->chunk_total += c->n;
        st->n_pend_h = 0;
    }
    st->uncommitted = 0;
    if (rs_rocks_batch_count(b) == 0) {
        rs_rocks_batch_destroy(b);
        return;
    }
    GROW(st->unwritten, st->n_unwritten, st->cap_unwritten);
    st->unwritten[st->n_unwritten++] = (struct unwritten){b, st->event_now};
    st->batches_queued++;
}

/* A written batch is kept, cleared, as the next open one: its buffer stays
 * allocated, so the next batch does not grow through fresh pages (a page
 * fault per 4 KiB and a copy per doubling: ~5% of the loop thread when each
 * drain's users are serialised as they change). Not one from a catch-up far
 * larger than usual, which would pin that much memory. */
#define SPARE_MAX_BYTES ((size_t)64 << 20)

rs_rocks_batch_t *rs_state__open_batch(rs_state_t *st) {
    if (!st->open) {
        st->open = st->spare ? st->spare : rs_rocks_batch_new();
        st->spare = NULL;
    }
    return st->open;
}

static void unwritten_pop(rs_state_t *st) {
    rs_rocks_batch_t *b = st->unwritten[0].b;
    if (!st->spare && rs_rocks_batch_bytes(b) <= SPARE_MAX_BYTES) {
        rs_rocks_batch_clear(b);
        st->spare = b;
    } else {
        rs_rocks_batch_destroy(b);
    }
    rs_ttl_publish(st->ttl, st->unwritten[0].watermark); /* the filter judges durable state */
    memmove(st->unwritten, st->unwritten + 1, (st->n_unwritten - 1) * sizeof(*st->unwritten));
    st->n_unwritten--;
    st->batches_written++;
    /* deletes now durable: RocksDB itself answers "absent" for those users */
    size_t o = 0;
    for (size_t i = 0; i < st->n_deleted; i++) {
        if (st->deleted[i].seq < st->batches_written)
            free(st->deleted[i].id);
        else
            st->deleted[o++] = st->deleted[i];
    }
    if (o != st->n_deleted) { /* ids may share a hash: rebuild rather than remove */
        rs_u64set_free(&st->deleted_set);
        for (size_t i = 0; i < o; i++)
            rs_u64set_add(&st->deleted_set, rs_hash64(st->deleted[i].id, st->deleted[i].len) | 1);
    }
    st->n_deleted = o;
}

rs_err_t rs_state_commit(rs_state_t *st, char *errstr, size_t errstr_size) {
    if (st->read_only) return rs_seterr(errstr, errstr_size, RS_ESTATE, "state is read-only");
    if (st->inflight) return rs_seterr(errstr, errstr_size, RS_ESTATE, "a commit is in flight");
    commit_prepare(st);
    while (st->n_unwritten) {
        int rc = rs_rocks_write(st->db, st->unwritten[0].b, errstr, errstr_size);
        if (rc) return rc; /* kept: the next commit writes it first */
        unwritten_pop(st);
    }
    return RS_OK;
}

rs_state_commit_t *rs_state_commit_begin(rs_state_t *st) {
    if (st->read_only || st->inflight) return NULL;
    commit_prepare(st);
    if (!st->n_unwritten) return NULL;
    st->inflight = 1;
    return (rs_state_commit_t *)st->unwritten[0].b;
}

rs_err_t rs_state_commit_write(rs_state_t *st, rs_state_commit_t *c, char *errstr,
                               size_t errstr_size) {
    return rs_rocks_write(st->db, (rs_rocks_batch_t *)c, errstr, errstr_size);
}

int rs_state_commit_end(rs_state_t *st, rs_state_commit_t *c, rs_err_t rc) {
    st->inflight = 0;
    if (rc == RS_OK && st->n_unwritten && (rs_state_commit_t *)st->unwritten[0].b == c)
        unwritten_pop(st);
    return (int)st->n_unwritten;
}

size_t rs_state_uncommitted(const rs_state_t *st) {
    return st->uncommitted + st->n_unwritten;
}
