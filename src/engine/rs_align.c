/* rs_align.c -- event-time alignment of partitions (see rs_align.h).
 *
 * A dense table indexed by partition number: topics have tens to hundreds
 * of partitions, and a step walks them all, so no map is needed. */
#include <stdlib.h>
#include <string.h>

#include "recstream/rs_align.h"
#include "recstream/rs_buf.h"

typedef struct part {
    int assigned, paused;
    int64_t max_ts;      /* newest event time seen; INT64_MIN = none yet */
    int64_t advanced_ms; /* wall time max_ts last moved */
    int64_t assigned_ms; /* wall time of the assignment */
    int64_t lag;
} part_t;

struct rs_align {
    int64_t skew_ms, idle_ms;
    part_t *p;
    int32_t cap;
};

rs_align_t *rs_align_new(int64_t skew_ms, int64_t idle_ms) {
    rs_align_t *a = rs_xcalloc(1, sizeof(*a));
    a->skew_ms = skew_ms > 0 ? skew_ms : 1;
    a->idle_ms = idle_ms > 0 ? idle_ms : 1;
    return a;
}

void rs_align_destroy(rs_align_t *a) {
    if (!a) return;
    free(a->p);
    free(a);
}

static part_t *at(rs_align_t *a, int32_t partition) {
    if (partition < 0) return NULL;
    if (partition >= a->cap) {
        int32_t cap = a->cap ? a->cap : 16;
        while (cap <= partition) cap *= 2;
        a->p = rs_xrealloc(a->p, (size_t)cap * sizeof(part_t));
        memset(a->p + a->cap, 0, (size_t)(cap - a->cap) * sizeof(part_t));
        a->cap = cap;
    }
    return &a->p[partition];
}

void rs_align_assign(rs_align_t *a, int32_t partition, int64_t now_ms) {
    part_t *p = at(a, partition);
    if (p) *p = (part_t){.assigned = 1, .max_ts = INT64_MIN, .lag = -1, .assigned_ms = now_ms};
}

void rs_align_revoke(rs_align_t *a, int32_t partition) {
    if (partition >= 0 && partition < a->cap) memset(&a->p[partition], 0, sizeof(part_t));
}

void rs_align_event(rs_align_t *a, int32_t partition, int64_t ts, int64_t now_ms) {
    if (partition < 0 || partition >= a->cap || !a->p[partition].assigned) return;
    part_t *p = &a->p[partition];
    if (ts > now_ms) ts = now_ms; /* a client clock running ahead must not pause a partition */
    if (ts > p->max_ts) p->max_ts = ts, p->advanced_ms = now_ms;
}

void rs_align_set_lag(rs_align_t *a, int32_t partition, int64_t lag) {
    if (partition >= 0 && partition < a->cap) a->p[partition].lag = lag;
}

void rs_align_reset(rs_align_t *a) {
    for (int32_t i = 0; i < a->cap; i++) a->p[i].paused = 0;
}

size_t rs_align_partitions(const rs_align_t *a, int32_t *out, size_t max) {
    size_t n = 0;
    for (int32_t i = 0; i < a->cap; i++)
        if (a->p[i].assigned) {
            if (n < max) out[n] = i;
            n++;
        }
    return n;
}

/* Can this partition still deliver older events than the others have? A
 * paused one is not advancing because we paused it: it stays in. */
static int can_catch_up(const rs_align_t *a, const part_t *p, int64_t now_ms) {
    return p->assigned && p->max_ts != INT64_MIN && p->lag != 0 &&
           (p->paused || now_ms - p->advanced_ms <= a->idle_ms);
}

/* Assigned, records left, none delivered yet: its event time is unknown,
 * so it holds everyone back, for at most idle_ms after the assignment (a
 * catch-up's first chunk of one partition spanned 460 s of event time
 * before another partition delivered anything). */
static int silent(const rs_align_t *a, const part_t *p, int64_t now_ms) {
    return p->assigned && p->max_ts == INT64_MIN && p->lag != 0 &&
           now_ms - p->assigned_ms <= a->idle_ms;
}

/* The slowest event time that can still catch up; INT64_MIN while a silent
 * partition holds everyone back, INT64_MAX if nobody can catch up. */
static int64_t slowest(const rs_align_t *a, int64_t now_ms) {
    int64_t low = INT64_MAX;
    for (int32_t i = 0; i < a->cap; i++) {
        if (silent(a, &a->p[i], now_ms)) return INT64_MIN;
        if (can_catch_up(a, &a->p[i], now_ms) && a->p[i].max_ts < low) low = a->p[i].max_ts;
    }
    return low;
}

void rs_align_step(rs_align_t *a, int64_t now_ms, int32_t *pause, size_t *n_pause, int32_t *resume,
                   size_t *n_resume) {
    *n_pause = *n_resume = 0;
    int64_t low = slowest(a, now_ms);
    for (int32_t i = 0; i < a->cap; i++) {
        part_t *p = &a->p[i];
        if (!p->assigned) continue;
        if (p->paused) {
            if (low == INT64_MAX || (low != INT64_MIN && p->max_ts - low <= a->skew_ms / 2)) {
                p->paused = 0;
                resume[(*n_resume)++] = i;
            }
        } else if (low != INT64_MAX && p->max_ts != INT64_MIN && p->lag != 0 &&
                   (low == INT64_MIN || p->max_ts - low > a->skew_ms)) {
            p->paused = 1;
            pause[(*n_pause)++] = i;
        }
    }
}

int rs_align_paused(const rs_align_t *a, int32_t partition) {
    return partition >= 0 && partition < a->cap && a->p[partition].paused;
}

size_t rs_align_paused_count(const rs_align_t *a) {
    size_t n = 0;
    for (int32_t i = 0; i < a->cap; i++) n += a->p[i].paused != 0;
    return n;
}

int64_t rs_align_spread(const rs_align_t *a, int64_t now_ms) {
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (int32_t i = 0; i < a->cap; i++) {
        const part_t *p = &a->p[i];
        if (!can_catch_up(a, p, now_ms)) continue;
        if (p->max_ts < lo) lo = p->max_ts;
        if (p->max_ts > hi) hi = p->max_ts;
    }
    return hi > lo ? hi - lo : 0;
}
