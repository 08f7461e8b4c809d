/* test_kafka.c -- rs_kafka on librdkafka's in-process mock cluster.
 *
 * Every test builds its own mock cluster so injected errors cannot leak
 * between tests. Draining is driven by poll(2) on the clients' fds, the way
 * the libuv owner does it, and always continues until poll returns 0.
 * Group tests use session.timeout.ms=6000 / heartbeat.interval.ms=500 (each
 * mock rebalance round takes session.timeout.ms - 1 s) and wait for full
 * ownership before asserting (mock SyncGroup defect, see FACTS). */
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recstream/rs_buf.h"
#include "recstream/rs_kafka.h"
#include "recstream/rs_log.h"
#include "rs_test.h"

#define ORIGIN_BASE 1700000000000000LL

/* ---- helpers ---- */

typedef struct kvset {
    rs_kv_t kv[16];
    size_t n;
} kvset_t;

static void kv_add(kvset_t *s, const char *k, const char *v) {
    s->kv[s->n].key = (char *)k;
    s->kv[s->n].val = (char *)v;
    s->kv[s->n].origin = (char *)"test";
    s->n++;
}

static kvset_t base_kv(rs_mock_t *m) {
    kvset_t s = {.n = 0};
    kv_add(&s, "bootstrap.servers", rs_mock_bootstraps(m));
    kv_add(&s, "reconnect.backoff.max.ms", "1000");
    return s;
}

static kvset_t group_kv(rs_mock_t *m) {
    kvset_t s = base_kv(m);
    kv_add(&s, "session.timeout.ms", "6000");
    kv_add(&s, "heartbeat.interval.ms", "500");
    return s;
}

typedef struct drs {
    int ok, failed;
    unsigned char *seen; /* by msg_opaque - 1 */
    size_t cap;
    int dup;
} drs_t;

static void dr_cb(void *opaque, void *msg_opaque, int err, const char *errstr) {
    drs_t *d = opaque;
    size_t i = (size_t)(uintptr_t)msg_opaque - 1;
    if (err) {
        d->failed++;
        fprintf(stderr, "  delivery failed: %s\n", errstr);
        return;
    }
    d->ok++;
    if (d->seen && i < d->cap && d->seen[i]++) d->dup++;
}

/* Produce msg i: key "user-i", value "value-i", headers rs-ts-us and h2 twice. */
static rs_err_t send_i(rs_producer_t *p, const char *topic, int32_t part, int i, int headers) {
    char key[32], val[32], ts[32], h2[32];
    int kl = snprintf(key, sizeof(key), "user-%d", i);
    int vl = snprintf(val, sizeof(val), "value-%d", i);
    int tl = snprintf(ts, sizeof(ts), "%lld", ORIGIN_BASE + i);
    int hl = snprintf(h2, sizeof(h2), "b-%d", i);
    rs_header_t hdrs[3] = {{"rs-ts-us", ts, (size_t)tl}, {"h2", "a", 1}, {"h2", h2, (size_t)hl}};
    for (;;) {
        rs_err_t e =
            rs_producer_send(p, topic, part, key, (size_t)kl, val, (size_t)vl,
                             headers ? hdrs : NULL, headers ? 3 : 0, (void *)(uintptr_t)(i + 1));
        if (e != RS_EFULL) return e;
        rs_producer_poll(p);
    }
}

/* Wait on both fds (either may be NULL) for up to ms. */
static void wait_fds(rs_consumer_t *a, rs_consumer_t *b, int ms) {
    struct pollfd pfd[2];
    int n = 0;
    if (a) pfd[n++] = (struct pollfd){.fd = rs_consumer_fd(a), .events = POLLIN};
    if (b) pfd[n++] = (struct pollfd){.fd = rs_consumer_fd(b), .events = POLLIN};
    poll(pfd, (nfds_t)n, ms);
}

typedef void(msg_fn_t)(void *ctx, const rs_msg_t *m);

/* Drain until poll returns 0; returns messages handled. */
static size_t drain(rs_consumer_t *c, msg_fn_t *fn, void *ctx) {
    rs_msg_t msgs[256];
    size_t total = 0, n;
    while ((n = rs_consumer_poll(c, msgs, 256)) > 0) {
        for (size_t i = 0; i < n; i++) fn(ctx, &msgs[i]);
        rs_consumer_release(c, msgs, n);
        total += n;
    }
    return total;
}

static int parse_suffix(const void *p, size_t len, const char *prefix) {
    char buf[64];
    size_t pl = strlen(prefix);
    if (len >= sizeof(buf) || len <= pl || memcmp(p, prefix, pl)) return -1;
    memcpy(buf, p, len);
    buf[len] = 0;
    return atoi(buf + pl);
}

/* ---- produce / consume with assign ---- */

#define N_MSGS 20000

typedef struct chk {
    int n, bad, dup, plain;
    unsigned char seen[N_MSGS];
    char why[256];
} chk_t;

static void check_msg(void *ctx, const rs_msg_t *m) {
    chk_t *k = ctx;
    k->n++;
    if (m->err) {
        snprintf(k->why, sizeof(k->why), "error message");
        k->bad++;
        return;
    }
    if (!strcmp(m->topic, "plain")) {
        /* No headers at all; origin is the message timestamp. */
        if (m->ts_ms <= 0 || m->origin_us != m->ts_ms * 1000 ||
            rs_msg_header(m, "rs-ts-us", NULL, NULL) != -1)
            k->bad++;
        k->plain++;
        return;
    }
    int i = parse_suffix(m->key, m->key_len, "user-");
    const void *hv;
    size_t hl;
    char want[32];
    int wl = snprintf(want, sizeof(want), "b-%d", i);
    char wts[32]; /* a header like any other: origin does not come from it */
    int tl = snprintf(wts, sizeof(wts), "%lld", ORIGIN_BASE + i);
    if (i < 0 || i >= N_MSGS) {
        k->bad++;
        return;
    }
    if (k->seen[i]++) k->dup++;
    if (parse_suffix(m->payload, m->len, "value-") != i || m->partition != i % 4 ||
        m->offset != i / 4 || m->ts_ms <= 0 || m->origin_us != m->ts_ms * 1000 ||
        strcmp(m->topic, "t4") || rs_msg_header(m, "h2", &hv, &hl) != wl || memcmp(hv, want, hl) ||
        rs_msg_header(m, "rs-ts-us", &hv, &hl) != tl || memcmp(hv, wts, hl)) {
        if (!k->bad)
            snprintf(k->why, sizeof(k->why), "msg %d: p%d o%" PRId64 " origin %" PRId64, i,
                     (int)m->partition, m->offset, m->origin_us);
        k->bad++;
    }
}

TEST(produce_consume_assign) {
    rs_mock_t *m = NULL;
    rs_producer_t *p = NULL;
    rs_consumer_t *c = NULL;
    char err[512];
    drs_t d = {.seen = calloc(N_MSGS, 1), .cap = N_MSGS};
    chk_t *k = calloc(1, sizeof(*k));
    ASSERT_OK(rs_mock_new(&m, 3, err, sizeof(err)));
    ASSERT_OK(rs_mock_topic_create(m, "t4", 4));
    ASSERT_OK(rs_mock_topic_create(m, "plain", 1));
    kvset_t kv = base_kv(m);
    ASSERT_OK(rs_producer_new(&p, kv.kv, kv.n, dr_cb, &d, err, sizeof(err)));
    /* topics looked up ahead (empty and NULL names skipped); every send below still counts */
    const char *ahead[] = {"t4", "", NULL, "plain"};
    rs_producer_prepare(p, ahead, 4);

    int64_t t0 = rs_mono_us();
    for (int i = 0; i < N_MSGS; i++) ASSERT_OK(send_i(p, "t4", i % 4, i, 1));
    ASSERT_OK(send_i(p, "plain", 0, N_MSGS, 0));
    /* Delivery reports through the fd, as the loop would serve them. */
    int64_t deadline = rs_mono_us() + 30 * 1000000LL;
    while (d.ok + d.failed < N_MSGS + 1 && rs_mono_us() < deadline) {
        struct pollfd pfd = {.fd = rs_producer_fd(p), .events = POLLIN};
        poll(&pfd, 1, 200);
        while (rs_producer_poll(p) > 0) {
        }
    }
    int64_t t1 = rs_mono_us();
    ASSERT_EQ(d.ok, N_MSGS + 1);
    ASSERT_EQ(d.failed, 0);
    ASSERT_EQ(d.dup, 0);
    ASSERT_EQ(rs_producer_outq_len(p), 0);
    ASSERT_EQ(rs_kafka_partition_count(kv.kv, kv.n, "t4", 5000, err, sizeof(err)), 4);
    ASSERT_EQ(rs_kafka_partition_count(kv.kv, kv.n, "nope", 5000, err, sizeof(err)), RS_ENOTFOUND);

    ASSERT_OK(rs_consumer_new(&c, kv.kv, kv.n, NULL, NULL, err, sizeof(err)));
    rs_tp_t tps[5] = {{"t4", 0}, {"t4", 1}, {"t4", 2}, {"t4", 3}, {"plain", 0}};
    int64_t offs[5] = {RS_OFFSET_BEGINNING, RS_OFFSET_BEGINNING, RS_OFFSET_BEGINNING,
                       RS_OFFSET_BEGINNING, RS_OFFSET_BEGINNING};
    ASSERT_OK(rs_consumer_assign(c, tps, offs, 5, err, sizeof(err)));
    ASSERT_EQ(rs_consumer_assignment_count(c), 5);
    int64_t t2 = rs_mono_us();
    deadline = t2 + 30 * 1000000LL;
    while (k->n < N_MSGS + 1 && rs_mono_us() < deadline) {
        wait_fds(c, NULL, 200);
        drain(c, check_msg, k);
    }
    int64_t t3 = rs_mono_us();
    /* Nothing more arrives. */
    for (int i = 0; i < 3; i++) {
        wait_fds(c, NULL, 100);
        drain(c, check_msg, k);
    }
    if (k->bad) fprintf(stderr, "  first bad: %s\n", k->why);
    ASSERT_EQ(k->n, N_MSGS + 1);
    ASSERT_EQ(k->bad, 0);
    ASSERT_EQ(k->dup, 0);
    ASSERT_EQ(k->plain, 1);
    ASSERT_EQ(rs_consumer_lag(c), 0);
    fprintf(stderr, "  produce+DR %.0f msgs/s, consume %.0f msgs/s (%s)\n",
            N_MSGS / ((t1 - t0) / 1e6), N_MSGS / ((t3 - t2) / 1e6), rs_kafka_version());
    ASSERT_OK(rs_consumer_close(c));
    rs_consumer_destroy(c);
    rs_producer_destroy(p);
    rs_mock_destroy(m);
    free(d.seen);
    free(k);
}

/* ---- group: explicit start offsets from on_assign ---- */

typedef struct grp {
    int assigns, revokes, lost, revoked_parts;
    int n, bad;
    int next[4]; /* the application's offsets (SPEC F7) */
    unsigned char seen[4][4000];
    int start_p0; /* offset on_assign gives partition 0 */
} grp_t;

static void grp_assign(void *opaque, const rs_tp_t *tps, size_t n, int64_t *offs) {
    grp_t *g = opaque;
    g->assigns++;
    for (size_t i = 0; i < n; i++) {
        int p = tps[i].partition;
        if (p == 0 && g->start_p0)
            offs[i] = g->start_p0;
        else if (g->next[p] > 0)
            offs[i] = g->next[p];
        /* else RS_OFFSET_DEFAULT: nothing committed, auto.offset.reset=earliest */
    }
}

static void grp_revoke(void *opaque, const rs_tp_t *tps, size_t n, int lost) {
    grp_t *g = opaque;
    g->revokes++;
    g->revoked_parts += (int)n;
    g->lost += lost;
}

static void grp_msg(void *ctx, const rs_msg_t *m) {
    grp_t *g = ctx;
    g->n++;
    if (m->err || m->partition < 0 || m->partition > 3 || m->offset < 0 || m->offset >= 4000) {
        g->bad++;
        return;
    }
    if (g->seen[m->partition][m->offset]++) g->bad++;
    /* Exactly where this instance's state says it should continue. */
    if (m->offset != g->next[m->partition] &&
        !(m->partition == 0 && g->start_p0 && m->offset == g->start_p0 && !g->next[0]))
        g->bad++;
    g->next[m->partition] = (int)m->offset + 1;
}

static void produce_range(rs_producer_t *p, const char *topic, int from, int to) {
    for (int i = from; i < to; i++) send_i(p, topic, i % 4, i, 1);
}

TEST(group_start_offsets) {
    rs_mock_t *m = NULL;
    rs_producer_t *p = NULL;
    rs_consumer_t *c = NULL;
    char err[512];
    drs_t d = {0};
    grp_t *g = calloc(1, sizeof(*g));
    g->start_p0 = 100;
    ASSERT_OK(rs_mock_new(&m, 1, err, sizeof(err)));
    ASSERT_OK(rs_mock_topic_create(m, "g1", 4));
    kvset_t kv = group_kv(m);
    ASSERT_OK(rs_producer_new(&p, kv.kv, kv.n, dr_cb, &d, err, sizeof(err)));
    produce_range(p, "g1", 0, 1000); /* 250 per partition */
    ASSERT_OK(rs_producer_flush(p, 10000));
    ASSERT_EQ(d.ok, 1000);

    rs_consumer_cbs_t cbs = {.opaque = g, .on_assign = grp_assign, .on_revoke = grp_revoke};
    ASSERT_OK(rs_consumer_new(&c, kv.kv, kv.n, "grp-a", &cbs, err, sizeof(err)));
    const char *topics[] = {"g1"};
    ASSERT_OK(rs_consumer_subscribe(c, topics, 1, err, sizeof(err)));
    int64_t deadline = rs_mono_us() + 30 * 1000000LL;
    while (g->n < 900 && rs_mono_us() < deadline) {
        wait_fds(c, NULL, 200);
        drain(c, grp_msg, g);
    }
    for (int i = 0; i < 5; i++) {
        wait_fds(c, NULL, 100);
        drain(c, grp_msg, g);
    }
    ASSERT_EQ(g->n, 900);
    ASSERT_EQ(g->bad, 0);
    ASSERT_EQ(g->assigns, 1);
    ASSERT_EQ(rs_consumer_assignment_count(c), 4);
    for (int p4 = 0; p4 < 4; p4++) ASSERT_EQ(g->next[p4], 250);
    ASSERT_EQ(g->seen[0][99], 0);
    ASSERT_EQ(g->seen[0][100], 1);
    ASSERT_EQ(rs_consumer_lag(c), 0);
    rs_tp_t tps[2] = {{"g1", 0}, {"g1", 9}}; /* partition 9 is not ours: ignored */
    int64_t next[2] = {250, 1};
    ASSERT_OK(rs_consumer_store_offsets(c, tps, next, 2));

    ASSERT_OK(rs_consumer_close(c));
    ASSERT_EQ(g->revokes, 1);
    ASSERT_EQ(g->revoked_parts, 4);
    ASSERT_EQ(g->lost, 0);
    ASSERT_EQ(rs_consumer_poll(c, NULL, 0), 0);
    rs_consumer_destroy(c);
    rs_producer_destroy(p);
    rs_mock_destroy(m);
    free(g);
}

/* ---- group: two consumers split four partitions ---- */

typedef struct pair {
    int next[4]; /* shared application state: a partition moves with its offset */
    unsigned char seen[4][2000];
    int n, bad;
} pair_t;

typedef struct member {
    pair_t *s;
    int assigns, revokes, revoked_parts;
} member_t;

static void mem_assign(void *opaque, const rs_tp_t *tps, size_t n, int64_t *offs) {
    member_t *mb = opaque;
    mb->assigns++;
    for (size_t i = 0; i < n; i++) offs[i] = mb->s->next[tps[i].partition];
}

static void mem_revoke(void *opaque, const rs_tp_t *tps, size_t n, int lost) {
    member_t *mb = opaque;
    mb->revokes++;
    mb->revoked_parts += (int)n;
}

static void pair_msg(void *ctx, const rs_msg_t *m) {
    pair_t *s = ctx;
    s->n++;
    if (m->err || m->offset >= 2000 || m->partition > 3) {
        s->bad++;
        return;
    }
    if (s->seen[m->partition][m->offset]++ || m->offset != s->next[m->partition]) s->bad++;
    s->next[m->partition] = (int)m->offset + 1;
}

TEST(group_two_consumers) {
    rs_mock_t *m = NULL;
    rs_producer_t *p = NULL;
    rs_consumer_t *a = NULL, *b = NULL;
    char err[512];
    drs_t d = {0};
    pair_t *s = calloc(1, sizeof(*s));
    member_t ma = {.s = s}, mb = {.s = s};
    ASSERT_OK(rs_mock_new(&m, 1, err, sizeof(err)));
    ASSERT_OK(rs_mock_topic_create(m, "g2", 4));
    kvset_t kv = group_kv(m);
    ASSERT_OK(rs_producer_new(&p, kv.kv, kv.n, dr_cb, &d, err, sizeof(err)));
    const int total = 6000;
    int produced = 2000;
    produce_range(p, "g2", 0, produced);
    ASSERT_OK(rs_producer_flush(p, 10000));

    rs_consumer_cbs_t ca = {.opaque = &ma, .on_assign = mem_assign, .on_revoke = mem_revoke};
    rs_consumer_cbs_t cb = {.opaque = &mb, .on_assign = mem_assign, .on_revoke = mem_revoke};
    const char *topics[] = {"g2"};
    ASSERT_OK(rs_consumer_new(&a, kv.kv, kv.n, "grp-two", &ca, err, sizeof(err)));
    ASSERT_OK(rs_consumer_subscribe(a, topics, 1, err, sizeof(err)));
    int64_t deadline = rs_mono_us() + 20 * 1000000LL;
    while (rs_consumer_assignment_count(a) < 4 && rs_mono_us() < deadline) {
        wait_fds(a, NULL, 100);
        drain(a, pair_msg, s);
    }
    ASSERT_EQ(rs_consumer_assignment_count(a), 4);

    ASSERT_OK(rs_consumer_new(&b, kv.kv, kv.n, "grp-two", &cb, err, sizeof(err)));
    ASSERT_OK(rs_consumer_subscribe(b, topics, 1, err, sizeof(err)));
    /* Keep producing through the rebalance; stop once each member owns
     * partitions, all four are owned and everything was consumed. */
    deadline = rs_mono_us() + 50 * 1000000LL;
    for (;;) {
        size_t na = rs_consumer_assignment_count(a), nb = rs_consumer_assignment_count(b);
        if ((na && nb && na + nb == 4 && produced == total && s->n == total) ||
            rs_mono_us() > deadline)
            break;
        if (produced < total) {
            produce_range(p, "g2", produced, produced + 40);
            produced += 40;
            rs_producer_poll(p);
        }
        wait_fds(a, b, 50);
        drain(a, pair_msg, s);
        drain(b, pair_msg, s);
    }
    ASSERT_OK(rs_producer_flush(p, 10000));
    ASSERT_EQ(d.ok, total);
    size_t na = rs_consumer_assignment_count(a), nb = rs_consumer_assignment_count(b);
    fprintf(stderr, "  ownership a=%zu b=%zu, assigns a=%d b=%d, revokes a=%d\n", na, nb,
            ma.assigns, mb.assigns, ma.revokes);
    ASSERT_EQ(na + nb, 4);
    ASSERT(na > 0 && nb > 0);
    ASSERT_EQ(s->bad, 0);
    ASSERT_EQ(s->n, total);
    for (int q = 0; q < 4; q++) ASSERT_EQ(s->next[q], total / 4);

    ASSERT_OK(rs_consumer_close(b));
    ASSERT_EQ(mb.revoked_parts, (int)nb);
    rs_consumer_destroy(b);
    ASSERT_OK(rs_consumer_close(a));
    ASSERT_EQ(ma.revoked_parts, 4); /* nb moved to b earlier, na at close */
    rs_consumer_destroy(a);
    rs_producer_destroy(p);
    rs_mock_destroy(m);
    free(s);
}

/* ---- producer: injected retriable Produce errors, idempotent ---- */

typedef struct seq {
    int n, bad;
} seq_t;

static void seq_msg(void *ctx, const rs_msg_t *m) {
    seq_t *q = ctx;
    if (m->err || m->offset != q->n || parse_suffix(m->payload, m->len, "value-") != q->n) q->bad++;
    q->n++;
}

static void consume_seq(rs_mock_t *m, const char *topic, seq_t *q, int want) {
    rs_consumer_t *c = NULL;
    char err[512];
    kvset_t kv = base_kv(m);
    if (rs_consumer_new(&c, kv.kv, kv.n, NULL, NULL, err, sizeof(err))) return;
    rs_tp_t tp = {topic, 0};
    int64_t off = RS_OFFSET_BEGINNING;
    rs_consumer_assign(c, &tp, &off, 1, err, sizeof(err));
    int64_t deadline = rs_mono_us() + 20 * 1000000LL;
    while (q->n < want && rs_mono_us() < deadline) {
        wait_fds(c, NULL, 100);
        drain(c, seq_msg, q);
    }
    wait_fds(c, NULL, 300);
    drain(c, seq_msg, q);
    rs_consumer_destroy(c);
}

TEST(producer_retry_injected) {
    rs_mock_t *m = NULL;
    rs_producer_t *p = NULL;
    char err[512];
    drs_t d = {.seen = calloc(200, 1), .cap = 200};
    ASSERT_OK(rs_mock_new(&m, 1, err, sizeof(err)));
    ASSERT_OK(rs_mock_topic_create(m, "r1", 1));
    /* 19 = NOT_ENOUGH_REPLICAS, retriable. */
    ASSERT_OK(rs_mock_push_errors(m, 0, 3, 19));
    kvset_t kv = base_kv(m);
    ASSERT_OK(rs_producer_new(&p, kv.kv, kv.n, dr_cb, &d, err, sizeof(err)));
    for (int i = 0; i < 200; i++) ASSERT_OK(send_i(p, "r1", 0, i, 0));
    ASSERT_OK(rs_producer_flush(p, 20000));
    ASSERT_EQ(d.ok, 200);
    ASSERT_EQ(d.failed, 0);
    ASSERT_EQ(d.dup, 0);
    seq_t q = {0};
    consume_seq(m, "r1", &q, 200);
    ASSERT_EQ(q.n, 200);
    ASSERT_EQ(q.bad, 0);
    rs_producer_destroy(p);
    rs_mock_destroy(m);
    free(d.seen);
}

TEST(broker_down_leader_move) {
    rs_mock_t *m = NULL;
    rs_producer_t *p = NULL;
    char err[512];
    drs_t d = {0};
    ASSERT_OK(rs_mock_new(&m, 3, err, sizeof(err)));
    ASSERT_OK(rs_mock_topic_create(m, "f1", 1));
    ASSERT_OK(rs_mock_partition_leader(m, "f1", 0, 1));
    kvset_t kv = base_kv(m);
    ASSERT_OK(rs_producer_new(&p, kv.kv, kv.n, dr_cb, &d, err, sizeof(err)));
    for (int i = 0; i < 100; i++) ASSERT_OK(send_i(p, "f1", 0, i, 0));
    ASSERT_OK(rs_producer_flush(p, 10000));
    ASSERT_OK(rs_mock_broker_down(m, 1));
    for (int i = 100; i < 200; i++) ASSERT_OK(send_i(p, "f1", 0, i, 0));
    ASSERT_OK(rs_mock_partition_leader(m, "f1", 0, 2));
    ASSERT_OK(rs_mock_broker_up(m, 1));
    ASSERT_OK(rs_producer_flush(p, 30000));
    ASSERT_EQ(d.ok, 200);
    ASSERT_EQ(d.failed, 0);
    ASSERT(rs_mock_partition_leader(m, "f1", 0, 99) != RS_OK);
    seq_t q = {0};
    consume_seq(m, "f1", &q, 200);
    ASSERT_EQ(q.n, 200);
    ASSERT_EQ(q.bad, 0);
    rs_producer_destroy(p);
    rs_mock_destroy(m);
}

/* ---- configuration errors ---- */

TEST(bad_config) {
    char err[512];
    rs_consumer_t *c = (rs_consumer_t *)1;
    rs_producer_t *p = (rs_producer_t *)1;
    rs_kv_t bad_key[2] = {{(char *)"bootstrap.servers", (char *)"127.0.0.1:1", (char *)"-X"},
                          {(char *)"no.such.key", (char *)"1", (char *)"conf/x.conf:3"}};
    ASSERT_EQ(rs_consumer_new(&c, bad_key, 2, "g", NULL, err, sizeof(err)), RS_ECONF);
    ASSERT(c == NULL);
    ASSERT_STREQ(err, "conf/x.conf:3: No such configuration property: \"no.such.key\"");
    ASSERT_EQ(rs_producer_new(&p, bad_key, 2, NULL, NULL, err, sizeof(err)), RS_ECONF);
    ASSERT(p == NULL);
    ASSERT(!strncmp(err, "conf/x.conf:3: ", 15));
    rs_kv_t bad_val = {(char *)"fetch.wait.max.ms", (char *)"abc", (char *)"-X"};
    ASSERT_EQ(rs_consumer_new(&c, &bad_val, 1, NULL, NULL, err, sizeof(err)), RS_ECONF);
    ASSERT(!strncmp(err, "-X: ", 4));
    ASSERT(strstr(err, "fetch.wait.max.ms") != NULL);
    ASSERT_EQ(rs_kafka_partition_count(bad_key, 2, "x", 100, err, sizeof(err)), RS_ECONF);
    /* A passthrough key overrides the defaults: an eager assignor is accepted. */
    rs_kv_t eager = {(char *)"partition.assignment.strategy", (char *)"range", (char *)"-X"};
    ASSERT_OK(rs_consumer_new(&c, &eager, 1, "g", NULL, err, sizeof(err)));
    ASSERT(rs_consumer_fd(c) >= 0);
    ASSERT_EQ(rs_consumer_lag(c), 0);
    rs_consumer_destroy(c);
    rs_consumer_destroy(NULL);
    rs_producer_destroy(NULL);
    rs_mock_destroy(NULL);
    ASSERT(strlen(rs_kafka_version()) > 0);
}

/* ---- librdkafka #4381 ---- */

TEST(coop_close_without_partitions) {
    rs_mock_t *m = NULL;
    rs_consumer_t *c = NULL;
    char err[512];
    grp_t *g = calloc(1, sizeof(*g));
    rs_consumer_cbs_t cbs = {.opaque = g, .on_assign = grp_assign, .on_revoke = grp_revoke};
    const char *topics[] = {"c1"};
    ASSERT_OK(rs_mock_new(&m, 1, err, sizeof(err)));
    ASSERT_OK(rs_mock_topic_create(m, "c1", 2));
    kvset_t kv = group_kv(m);

    /* Closed straight after subscribe. */
    ASSERT_OK(rs_consumer_new(&c, kv.kv, kv.n, "grp-c", &cbs, err, sizeof(err)));
    ASSERT_OK(rs_consumer_subscribe(c, topics, 1, err, sizeof(err)));
    rs_consumer_close(c);
    rs_consumer_destroy(c);

    /* JoinGroup answered, every SyncGroup (api 14) fails: the state that
     * aborts librdkafka 2.0.2 on destroy. 27 = REBALANCE_IN_PROGRESS. */
    ASSERT_OK(rs_mock_push_errors(m, 14, 1000, 27));
    ASSERT_OK(rs_consumer_new(&c, kv.kv, kv.n, "grp-d", &cbs, err, sizeof(err)));
    ASSERT_OK(rs_consumer_subscribe(c, topics, 1, err, sizeof(err)));
    rs_msg_t msgs[8];
    ASSERT_EQ(rs_consumer_poll_wait(c, msgs, 8, 4000), 0);
    rs_consumer_close(c);
    rs_consumer_destroy(c);
    ASSERT_EQ(g->assigns, 1); /* the first consumer's, while close waited */
    rs_mock_destroy(m);
    free(g);
}

int main(void) {
    const char *lvl = getenv("RS_LOG_LEVEL");
    rs_log_level_t l;
    rs_log_level = lvl && !rs_log_level_parse(lvl, &l) ? l : RS_LOG_WARN;
    return RUN_TESTS(t_bad_config, t_produce_consume_assign, t_producer_retry_injected,
                     t_broker_down_leader_move, t_group_start_offsets, t_group_two_consumers,
                     t_coop_close_without_partitions);
}
