/* rs_truth_int.h -- the scorer's data, shared by rs_truth.c (reading and
 * scoring) and rs_truth_report.c (the text and JSON report). Private to
 * src/engine. */
#ifndef RS_TRUTH_INT_H
#define RS_TRUTH_INT_H

#include <stdint.h>

#include "recstream/rs_buf.h"
#include "recstream/rs_truth.h"

#define TR_NONE UINT32_MAX

/* Interned strings: open addressing over keys kept in one arena. */
typedef struct skey {
    uint32_t off, len;
    uint64_t h;
} skey_t;

typedef struct strtab {
    uint32_t *slot; /* entry index + 1; 0 = empty */
    size_t cap;
    skey_t *keys;
    uint32_t n, kcap;
    rs_buf_t arena; /* keys, each followed by a NUL */
} strtab_t;

static inline const char *st_key(const strtab_t *s, uint32_t i) {
    return s->arena.p + s->keys[i].off;
}

typedef struct user {
    int32_t group;   /* truth group, -1 = not in the truth */
    int32_t cluster; /* last cluster name, -1 = none seen (0 = "") */
    int32_t rfm;     /* last rfm name, -1 = none seen */
    uint32_t ep;     /* first planted user episode, TR_NONE */
    uint8_t in_truth, seen_out, alerted, fp;
} user_t;

typedef struct episode {
    int64_t start, end;
    uint32_t subject;       /* user or item index */
    uint32_t next;          /* the subject's next episode */
    uint8_t kind, hit, cut; /* cut: "complete":false, the stream ended first */
} episode_t;

typedef struct rule {
    uint64_t alerts, matched;
    uint32_t n_ex;
    rs_buf_t ex; /* kept lines, each followed by a NUL */
} rule_t;

struct rs_truth {
    rs_truth_opts_t o;
    strtab_t users, items, rules, groups, clusters, rfms;
    user_t *u;
    uint32_t ucap;
    uint32_t *item_ep;
    uint32_t icap;
    episode_t *ep;
    uint32_t n_ep, ep_cap;
    rule_t *r;
    uint32_t rcap;
    uint64_t truth_line, emit_line, truth_users, pairs, output_users;
    uint64_t lines[4]; /* rec, alert, segment, other */
    uint64_t alerted_users, fp_alerts, fp_users, alerts;
    int has_truth, emitting;
};

/* Clustered truth users by (cluster, group): a clusters.n x max(groups.n, 1)
 * row-major table (row 0, cluster "", stays empty); caller frees. */
uint64_t *rs_truth_int_cluster_table(const rs_truth_t *t);

#endif
