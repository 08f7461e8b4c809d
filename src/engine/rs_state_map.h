/* rs_state_map.h -- the small hash tables the state is built from (private).
 *
 * strmap: string id -> object whose first two fields are `char *id; uint32_t
 *         id_len` (rs_user_t, rs_item_t). Stores the 64-bit hash next to the
 *         pointer so probes rarely touch the object.
 * u64set: set of nonzero 64-bit values with deletion (dedup window);
 *         linear probing with backward-shift delete, so no tombstones.
 * Both grow at 70% load. Allocation failure aborts (rs_xmalloc). */
#ifndef RS_STATE_MAP_H
#define RS_STATE_MAP_H

#include <stdint.h>
#include <string.h>

#include "recstream/rs_buf.h"

typedef struct rs_strmap_ent {
    uint64_t h;
    void *v;
} rs_strmap_ent_t;

typedef struct rs_strmap {
    rs_strmap_ent_t *e;
    uint64_t cap, n; /* cap is a power of two, 0 until first insert */
} rs_strmap_t;

typedef struct rs_idobj {
    char *id;
    uint32_t id_len;
} rs_idobj_t;

static inline void *rs_strmap_get(const rs_strmap_t *m, const char *id, size_t len, uint64_t h) {
    if (!m->cap) return NULL;
    for (uint64_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        rs_strmap_ent_t *e = &m->e[i];
        if (!e->v) return NULL;
        if (e->h == h) {
            const rs_idobj_t *o = e->v;
            if (o->id_len == len && !memcmp(o->id, id, len)) return e->v;
        }
    }
}

static inline void rs_strmap_put_(rs_strmap_ent_t *e, uint64_t cap, uint64_t h, void *v) {
    uint64_t i = h & (cap - 1);
    while (e[i].v) i = (i + 1) & (cap - 1);
    e[i].h = h;
    e[i].v = v;
}

/* Insert (the id must not be present). */
static inline void rs_strmap_put(rs_strmap_t *m, uint64_t h, void *v) {
    if ((m->n + 1) * 10 > m->cap * 7) {
        uint64_t ncap = m->cap ? m->cap * 2 : 1024;
        rs_strmap_ent_t *ne = rs_xcalloc(ncap, sizeof(*ne));
        for (uint64_t i = 0; i < m->cap; i++)
            if (m->e[i].v) rs_strmap_put_(ne, ncap, m->e[i].h, m->e[i].v);
        free(m->e);
        m->e = ne;
        m->cap = ncap;
    }
    rs_strmap_put_(m->e, m->cap, h, v);
    m->n++;
}

static inline void rs_strmap_free(rs_strmap_t *m) {
    free(m->e);
    memset(m, 0, sizeof(*m));
}

typedef struct rs_u64set {
    uint64_t *k;
    uint64_t cap, n;
} rs_u64set_t;

/* Every input bit must reach the slot bits: keys such as (user << 32 | item)
 * differ only in their high half. */
static inline uint64_t rs_u64set_slot(uint64_t v, uint64_t cap) {
    v ^= v >> 31;
    v *= 0x9E3779B97F4A7C15ull;
    return (v ^ v >> 29) & (cap - 1);
}

static inline int rs_u64set_has(const rs_u64set_t *s, uint64_t v) {
    if (!s->cap) return 0;
    for (uint64_t i = rs_u64set_slot(v, s->cap);; i = (i + 1) & (s->cap - 1)) {
        if (s->k[i] == v) return 1;
        if (!s->k[i]) return 0;
    }
}

static inline void rs_u64set_add_(uint64_t *k, uint64_t cap, uint64_t v) {
    uint64_t i = rs_u64set_slot(v, cap);
    while (k[i] && k[i] != v) i = (i + 1) & (cap - 1);
    k[i] = v;
}

/* Adds v (nonzero); returns 1 if it was new. One probe sequence: a miss
 * costs one or two cache lines, and the dedup window misses on every event. */
static inline int rs_u64set_add(rs_u64set_t *s, uint64_t v) {
    if ((s->n + 1) * 10 > s->cap * 7) {
        uint64_t ncap = s->cap ? s->cap * 2 : 1024;
        uint64_t *nk = rs_xcalloc(ncap, sizeof(*nk));
        for (uint64_t i = 0; i < s->cap; i++)
            if (s->k[i]) rs_u64set_add_(nk, ncap, s->k[i]);
        free(s->k);
        s->k = nk;
        s->cap = ncap;
    }
    uint64_t i = rs_u64set_slot(v, s->cap);
    for (; s->k[i]; i = (i + 1) & (s->cap - 1))
        if (s->k[i] == v) return 0;
    s->k[i] = v;
    s->n++;
    return 1;
}

static inline void rs_u64set_del(rs_u64set_t *s, uint64_t v) {
    if (!s->cap) return;
    uint64_t mask = s->cap - 1, i = rs_u64set_slot(v, s->cap);
    while (s->k[i] != v) {
        if (!s->k[i]) return;
        i = (i + 1) & mask;
    }
    /* backward-shift deletion keeps probe chains intact without tombstones */
    uint64_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!s->k[j]) break;
        uint64_t home = rs_u64set_slot(s->k[j], s->cap);
        if (((j - home) & mask) >= ((j - i) & mask)) {
            s->k[i] = s->k[j];
            i = j;
        }
    }
    s->k[i] = 0;
    s->n--;
}

static inline void rs_u64set_free(rs_u64set_t *s) {
    free(s->k);
    memset(s, 0, sizeof(*s));
}

#endif
