/* e2e_util.h -- helpers for the end-to-end tests on librdkafka's mock cluster
 * (tests/mock/test_e2e.c): a scratch directory, a daemon conf pointed at a
 * mock cluster, a watchdog that stops a stalled daemon, a read-back of whole
 * topics, and the table of records a test expects in the dead-letter topic.
 *
 * Why the conf sets compression.codec=lz4: the 2.0.2 mock keeps only ~5 MiB
 * per partition (FACTS.md) and silently drops older data. Generated oversize
 * records are 100 KiB each, so ~170 of them in the single-partition DLQ
 * would overflow it; lz4 shrinks their repetitive bytes ~100x and the mock
 * counts stored (compressed) batch bytes. The consumer side only logs that it
 * ignores the producer property.
 *
 * Everything here is static inline: each test file includes it once. */
#ifndef RS_E2E_UTIL_H
#define RS_E2E_UTIL_H

#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "recstream/rs_buf.h"
#include "recstream/rs_conf.h"
#include "recstream/rs_daemon.h"
#include "recstream/rs_gen.h"
#include "recstream/rs_kafka.h"
#include "recstream/rs_validate.h"

/* ---- the reason a generated bad record must be rejected with ---- */

static inline rs_reject_t e2e_reason_of(int kind) {
    switch (kind) {
    case RS_GEN_BAD_GARBAGE:
        return RS_REJ_MALFORMED;
    case RS_GEN_BAD_MISSING:
        return RS_REJ_MISSING_FIELD;
    case RS_GEN_BAD_NEGPRICE:
        return RS_REJ_NEGATIVE_PRICE;
    case RS_GEN_BAD_TYPE:
        return RS_REJ_UNKNOWN_TYPE;
    case RS_GEN_BAD_FUTURE:
        return RS_REJ_FUTURE_TS;
    case RS_GEN_BAD_OVERSIZE:
        return RS_REJ_OVERSIZE;
    default:
        return RS_REJ_NONE;
    }
}

/* ---- scratch directory ---- */

static inline char *e2e_tmpdir(const char *tag) {
    const char *base = getenv("TMPDIR");
    char path[512];
    snprintf(path, sizeof(path), "%s/%s-XXXXXX", base && *base ? base : "/tmp", tag);
    return mkdtemp(path) ? rs_xstrdup(path) : NULL;
}

static inline int e2e_rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

/* Removes dir and everything below it, then frees the string (NULL-safe). */
static inline void e2e_rmtree(char *dir) {
    if (!dir) return;
    if (!getenv("RS_TEST_KEEP"))
        nftw(dir, e2e_rm_one, 16, FTW_DEPTH | FTW_PHYS);
    else
        fprintf(stderr, "  state kept in %s\n", dir);
    free(dir);
}

/* ---- configuration ---- */

/* A daemon conf for the mock cluster: state in dir, no HTTP, fast group
 * rounds (each mock rebalance round takes session.timeout.ms - 1 s). */
static inline rs_conf_t *e2e_conf(rs_mock_t *mock, const char *dir) {
    char err[256];
    rs_conf_t *conf = rs_conf_new();
    static const char *const kv[][2] = {{"http.port", "0"},
                                        {"commit.interval.ms", "200"},
                                        {"log.level", "warn"},
                                        {"kafka.session.timeout.ms", "6000"},
                                        {"kafka.heartbeat.interval.ms", "500"},
                                        {"kafka.compression.codec", "lz4"}};
    if (rs_conf_set(conf, "state.dir", dir, "test", err, sizeof(err))) goto fail;
    for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
        if (rs_conf_set(conf, kv[i][0], kv[i][1], "test", err, sizeof(err))) goto fail;
    rs_conf_set_kafka(conf, "bootstrap.servers", rs_mock_bootstraps(mock), "test");
    const char *extra = getenv("RS_E2E_SET"); /* one key=value on top, for experiments */
    if (extra && *extra && rs_conf_set_kv(conf, extra, err, sizeof(err))) goto fail;
    if (rs_conf_check(conf, err, sizeof(err))) goto fail;
    return conf;
fail:
    fprintf(stderr, "  e2e_conf: %s\n", err);
    rs_conf_destroy(conf);
    return NULL;
}

/* Client properties for the test's own producer / read-back consumers. */
typedef struct e2e_kv {
    rs_kv_t kv[4];
    size_t n;
} e2e_kv_t;

static inline e2e_kv_t e2e_client_kv(rs_mock_t *mock, int producer) {
    e2e_kv_t s = {.n = 0};
    s.kv[s.n++] =
        (rs_kv_t){(char *)"bootstrap.servers", (char *)rs_mock_bootstraps(mock), (char *)"test"};
    if (producer)
        s.kv[s.n++] = (rs_kv_t){(char *)"compression.codec", (char *)"lz4", (char *)"test"};
    return s;
}

/* ---- watchdog: a stalled daemon is stopped so the test fails instead of hanging ---- */

typedef struct e2e_watchdog {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    rs_daemon_t *d;
    int secs, done, fired;
} e2e_watchdog_t;

static inline void *e2e_watchdog_main(void *arg) {
    e2e_watchdog_t *w = arg;
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += w->secs;
    pthread_mutex_lock(&w->mu);
    while (!w->done)
        if (pthread_cond_timedwait(&w->cv, &w->mu, &dl)) break;
    if (!w->done) {
        w->fired = 1;
        fprintf(stderr, "  watchdog: daemon still running after %d s, stopping it\n", w->secs);
        rs_daemon_stop_async(w->d);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static inline void e2e_watchdog_start(e2e_watchdog_t *w, rs_daemon_t *d, int secs) {
    memset(w, 0, sizeof(*w));
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->d = d;
    w->secs = secs;
    pthread_create(&w->th, NULL, e2e_watchdog_main, w);
}

/* Returns 1 if the watchdog had to stop the daemon. */
static inline int e2e_watchdog_stop(e2e_watchdog_t *w) {
    pthread_mutex_lock(&w->mu);
    w->done = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->th, NULL);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    return w->fired;
}

/* ---- topic read-back ---- */

typedef void(e2e_msg_fn_t)(void *opaque, const rs_msg_t *m);

/* Reads partitions 0..nparts-1 of topic from the beginning with a private
 * assign-only consumer: until `expect` records arrived (or timeout_ms), then
 * grace_ms more so that records beyond the expected ones are seen too.
 * Returns the number of records passed to fn, or -1 if the consumer could
 * not be set up. */
static inline int64_t e2e_read_topic(const e2e_kv_t *kv, const char *topic, int nparts,
                                     uint64_t expect, int timeout_ms, int grace_ms,
                                     e2e_msg_fn_t *fn, void *opaque) {
    char err[256];
    rs_consumer_t *c = NULL;
    rs_tp_t tps[64];
    int64_t offs[64];
    int64_t got = 0;
    if (nparts < 1 || nparts > 64) return -1;
    if (rs_consumer_new(&c, kv->kv, kv->n, NULL, NULL, err, sizeof(err))) goto fail;
    for (int i = 0; i < nparts; i++) {
        tps[i] = (rs_tp_t){topic, i};
        offs[i] = RS_OFFSET_BEGINNING;
    }
    if (rs_consumer_assign(c, tps, offs, (size_t)nparts, err, sizeof(err))) goto fail;
    rs_msg_t *msgs = rs_xcalloc(512, sizeof(*msgs));
    int64_t deadline = rs_now_ms() + timeout_ms, grace_end = -1;
    for (;;) {
        int64_t now = rs_now_ms();
        if ((uint64_t)got >= expect && grace_end < 0) grace_end = now + grace_ms;
        if (grace_end >= 0 ? now >= grace_end : now >= deadline) break;
        size_t n = rs_consumer_poll_wait(c, msgs, 512, 50);
        for (size_t i = 0; i < n; i++) {
            if (msgs[i].err) {
                fprintf(stderr, "  read %s: consumer error %.*s\n", topic, (int)msgs[i].len,
                        (const char *)msgs[i].payload);
                continue;
            }
            fn(opaque, &msgs[i]);
            got++;
        }
        rs_consumer_release(c, msgs, n);
    }
    free(msgs);
    rs_consumer_destroy(c);
    return got;
fail:
    fprintf(stderr, "  read %s: %s\n", topic, err);
    rs_consumer_destroy(c);
    return -1;
}

/* Header value of a consumed message as a NUL-terminated string in buf ("" if absent). */
static inline const char *e2e_header(const rs_msg_t *m, const char *name, char *buf, size_t size) {
    const void *v = NULL;
    size_t n = 0;
    buf[0] = '\0';
    if (rs_msg_header(m, name, &v, &n) < 0 || !v) return buf;
    if (n >= size) n = size - 1;
    memcpy(buf, v, n);
    buf[n] = '\0';
    return buf;
}

/* ---- expected dead-letter records ----
 * The test records every invalid record it produces (bytes, key, reason).
 * Reading the events topic back maps each to its (partition, offset); the
 * DLQ record's rs-source-* headers must then point at exactly that record,
 * with byte-equal payload and key and the expected rs-error. */

typedef struct e2e_bad {
    unsigned char *val, *key;
    size_t vlen, klen;
    rs_reject_t reason;
    uint64_t hash;
    int32_t part;
    int64_t off;
    int seen_src; /* times found in the events topic */
    int seen_dlq; /* times found in the DLQ */
} e2e_bad_t;

typedef struct e2e_dlq {
    e2e_bad_t *bad;
    size_t n, cap;
    uint64_t *sorted; /* (hash, index) pairs interleaved, by hash */
    /* per source partition: offset -> bad index + 1 (0 = a valid record) */
    uint32_t *by_off[64];
    int64_t n_off[64]; /* records seen per partition (next offset) */
    int64_t cap_off[64];
    uint64_t errors; /* mismatches found while reading the DLQ */
    uint64_t per_reason[RS_REJ__COUNT];
} e2e_dlq_t;

static inline void e2e_dlq_add(e2e_dlq_t *q, const void *val, size_t vlen, const void *key,
                               size_t klen, rs_reject_t reason) {
    if (q->n == q->cap) {
        q->cap = q->cap ? q->cap * 2 : 256;
        q->bad = rs_xrealloc(q->bad, q->cap * sizeof(*q->bad));
    }
    e2e_bad_t *b = &q->bad[q->n++];
    memset(b, 0, sizeof(*b));
    b->val = rs_xmalloc(vlen ? vlen : 1);
    memcpy(b->val, val, vlen);
    b->vlen = vlen;
    b->key = rs_xmalloc(klen ? klen : 1);
    memcpy(b->key, key, klen);
    b->klen = klen;
    b->reason = reason;
    b->hash = rs_hash64(val, vlen);
    b->part = -1;
    b->off = -1;
}

static inline int e2e_cmp_pair(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Call once after the last e2e_dlq_add. */
static inline void e2e_dlq_index(e2e_dlq_t *q) {
    q->sorted = rs_xmalloc((q->n ? q->n : 1) * 2 * sizeof(uint64_t));
    for (size_t i = 0; i < q->n; i++) q->sorted[2 * i] = q->bad[i].hash, q->sorted[2 * i + 1] = i;
    qsort(q->sorted, q->n, 2 * sizeof(uint64_t), e2e_cmp_pair);
}

/* Index of the bad record with these bytes, or -1. */
static inline int64_t e2e_dlq_find(const e2e_dlq_t *q, const void *val, size_t vlen) {
    uint64_t h = rs_hash64(val, vlen);
    size_t lo = 0, hi = q->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (q->sorted[2 * mid] < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < q->n && q->sorted[2 * lo] == h; lo++) {
        const e2e_bad_t *b = &q->bad[q->sorted[2 * lo + 1]];
        if (b->vlen == vlen && !memcmp(b->val, val, vlen)) return (int64_t)q->sorted[2 * lo + 1];
    }
    return -1;
}

/* e2e_msg_fn_t for the events topic read-back. */
static inline void e2e_dlq_on_source(void *opaque, const rs_msg_t *m) {
    e2e_dlq_t *q = opaque;
    if (m->partition < 0 || m->partition >= 64) return;
    int32_t p = m->partition;
    if (m->offset != q->n_off[p]) {
        fprintf(stderr, "  events [%d]: offset %" PRId64 " where %" PRId64 " was expected\n", p,
                m->offset, q->n_off[p]);
        q->errors++;
        if (m->offset < q->n_off[p]) return;
    }
    if (m->offset >= q->cap_off[p]) {
        int64_t cap = q->cap_off[p] ? q->cap_off[p] : 1024;
        while (cap <= m->offset) cap *= 2;
        q->by_off[p] = rs_xrealloc(q->by_off[p], (size_t)cap * sizeof(uint32_t));
        memset(q->by_off[p] + q->cap_off[p], 0, (size_t)(cap - q->cap_off[p]) * sizeof(uint32_t));
        q->cap_off[p] = cap;
    }
    q->n_off[p] = m->offset + 1;
    int64_t i = e2e_dlq_find(q, m->payload, m->len);
    if (i < 0) return;
    q->bad[i].seen_src++;
    q->bad[i].part = p;
    q->bad[i].off = m->offset;
    q->by_off[p][m->offset] = (uint32_t)i + 1;
}

/* e2e_msg_fn_t for the DLQ read-back (after the events read-back). */
static inline void e2e_dlq_on_dlq(void *opaque, const rs_msg_t *m) {
    e2e_dlq_t *q = opaque;
    char err[64], topic[64], part[24], off[32], detail[300];
    e2e_header(m, "rs-error", err, sizeof(err));
    e2e_header(m, "rs-source-topic", topic, sizeof(topic));
    e2e_header(m, "rs-source-partition", part, sizeof(part));
    e2e_header(m, "rs-source-offset", off, sizeof(off));
    e2e_header(m, "rs-error-detail", detail, sizeof(detail));
    char *e1 = NULL, *e2 = NULL;
    long p = strtol(part, &e1, 10);
    long long o = strtoll(off, &e2, 10);
    const char *why = NULL;
    e2e_bad_t *b = NULL;
    if (!*part || *e1 || !*off || *e2 || p < 0 || p >= 64 || o < 0)
        why = "unparseable rs-source-partition/offset";
    else if (strcmp(topic, "events"))
        why = "rs-source-topic is not \"events\"";
    else if (o >= q->n_off[p] || !q->by_off[p][o])
        why = "source record is not one of the invalid records produced";
    else if (!*detail)
        why = "empty rs-error-detail";
    if (!why) {
        b = &q->bad[q->by_off[p][o] - 1];
        if (strcmp(err, rs_reject_name(b->reason)))
            why = "rs-error differs from the expected reason";
        else if (m->len != b->vlen || memcmp(m->payload, b->val, b->vlen))
            why = "payload differs from the produced bytes";
        else if (m->key_len != b->klen || memcmp(m->key, b->key, b->klen))
            why = "key differs from the produced key";
        else if (b->seen_dlq++)
            why = "source record dead-lettered twice";
    }
    for (int r = 0; r < RS_REJ__COUNT; r++)
        if (!strcmp(err, rs_reject_name((rs_reject_t)r))) q->per_reason[r]++;
    if (why) {
        if (q->errors < 10)
            fprintf(stderr,
                    "  dlq @%" PRId64 ": %s (rs-error %s, source %s [%s] @%s, expected %s)\n",
                    m->offset, why, err, topic, part, off, b ? rs_reject_name(b->reason) : "-");
        q->errors++;
    }
}

static inline void e2e_dlq_free(e2e_dlq_t *q) {
    for (size_t i = 0; i < q->n; i++) free(q->bad[i].val), free(q->bad[i].key);
    free(q->bad);
    free(q->sorted);
    for (int p = 0; p < 64; p++) free(q->by_off[p]);
    memset(q, 0, sizeof(*q));
}

#endif
