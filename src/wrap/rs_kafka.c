/* rs_kafka.c -- the one file that talks to librdkafka (and its mock cluster).
 *
 * Design notes
 * - Config: documented defaults first, then the kafka.* passthrough in order,
 *   each via rd_kafka_conf_set; a failure names the key's origin
 *   ("conf/x.conf:3: No such configuration property ...") -> RS_ECONF.
 * - Loop integration: one non-blocking pipe per client. librdkafka writes "1"
 *   to it when the client's queue goes from empty to non-empty (and only once
 *   per non-serving period), so the owner must drain until a poll returns 0.
 *   The event is enabled on the consumer queue right after
 *   rd_kafka_poll_set_consumer and before any subscribe/assign: enabling it on
 *   a queue that is already non-empty never fires (FACTS). The producer uses
 *   its main queue (delivery reports, errors).
 * - Consumer draining uses rd_kafka_consumer_poll(rk, 0) one message at a
 *   time into the caller's array. Rebalance callbacks run in the middle of
 *   that loop; on a revoke, messages of the revoked partitions that were
 *   collected but not yet handed out are dropped first. They were never
 *   processed, so the owner's offsets (SPEC F7) exclude them and whoever owns
 *   the partition next reads them again; handing them out after on_revoke
 *   would count them twice.
 * - Rebalance: on assign, cbs.on_assign picks the start offsets, which are
 *   applied explicitly (incremental_assign for COOPERATIVE, assign for
 *   EAGER); on revoke, cbs.on_revoke runs before the unassign.
 * - librdkafka #4381 (2.0.2): the cooperative-sticky assignor asserts in
 *   rd_kafka_destroy when the group's JoinGroup was answered but no SyncGroup
 *   ever succeeded (its state is only created by a successful SyncGroup, and
 *   every successful SyncGroup produces a rebalance callback). So a
 *   subscribed cooperative consumer that has never seen a rebalance callback
 *   waits (up to CLOSE_WAIT_MS) for one before closing; if none comes and the
 *   group already picked the cooperative protocol, the closed handle is
 *   parked (never destroyed) instead of aborting the process.
 * - Lag comes from librdkafka's cached positions and high watermarks (no
 *   statistics, no broker round trip).
 * - The mock cluster lives on a hidden producer handle (rdkafka_mock.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "recstream/rs_buf.h"
#include "recstream/rs_kafka.h"
#include "recstream/rs_log.h"

_Static_assert(RS_OFFSET_DEFAULT == RD_KAFKA_OFFSET_INVALID, "offset constants");
_Static_assert(RS_OFFSET_BEGINNING == RD_KAFKA_OFFSET_BEGINNING, "offset constants");
_Static_assert(RS_OFFSET_END == RD_KAFKA_OFFSET_END, "offset constants");

#define SUBSYS "kafka"
/* Longest wait in rs_consumer_close for a first group assignment (#4381). */
#define CLOSE_WAIT_MS 10000

typedef struct kv_default {
    const char *key, *val;
} kv_default_t;

static const kv_default_t consumer_defaults[] = {
    {"enable.auto.commit", "true"},
    {"enable.auto.offset.store", "false"},
    {"auto.offset.reset", "earliest"},
    {"partition.assignment.strategy", "cooperative-sticky"},
    /* latency: a fetch returns after at most 2 ms when there is nothing new */
    {"fetch.wait.max.ms", "2"},
    /* keep fetching ahead (librdkafka 2.0.2 pauses fetching for 1 s below this,
     * see FACTS), but cap the prefetch by bytes so it cannot dominate RSS */
    {"queued.min.messages", "1000000"},
    {"queued.max.messages.kbytes", "16384"},
    {"enable.partition.eof", "false"},
    /* librdkafka's 10 s cap leaves a restarted broker unused for up to 10 s
     * (FACTS: 0.1-0.9 s recovery with 1 s) */
    {"reconnect.backoff.max.ms", "1000"},
};

static const kv_default_t producer_defaults[] = {
    /* 2 ms: at tens of thousands of msgs/s, linger 0 floods the broker with tiny
     * requests and queueing costs far more latency than it saves */
    {"linger.ms", "2"},
    {"enable.idempotence", "true"},
    {"queue.buffering.max.messages", "1000000"},
    {"reconnect.backoff.max.ms", "1000"},
};

/* ---- shared helpers ---- */

/* Stateless on purpose: a parked (#4381) handle may still log after its
 * rs_consumer_t is gone. */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    rs_log_level_t lvl = level <= 3   ? RS_LOG_ERROR
                         : level == 4 ? RS_LOG_WARN
                         : level <= 6 ? RS_LOG_INFO
                                      : RS_LOG_DEBUG;
    /* One kafka.* list feeds both producers and consumers (rs_conf), so
     * "consumer property ... ignored by this producer" is expected noise. */
    if (lvl == RS_LOG_WARN && !strcmp(fac, "CONFWARN") && strstr(buf, "will be ignored by this"))
        lvl = RS_LOG_DEBUG;
    rs_log(lvl, SUBSYS, "%s %s: %s", rk ? rd_kafka_name(rk) : "-", fac, buf);
}

static rs_err_t conf_set1(rd_kafka_conf_t *conf, const char *key, const char *val,
                          const char *origin, char *errstr, size_t errstr_size) {
    char err[512];
    if (rd_kafka_conf_set(conf, key, val, err, sizeof(err)) != RD_KAFKA_CONF_OK)
        return rs_seterr(errstr, errstr_size, RS_ECONF, "%s: %s", origin, err);
    return RS_OK;
}

static rs_err_t conf_build(rd_kafka_conf_t **out, const kv_default_t *defs, size_t ndefs,
                           const char *group_id, const rs_kv_t *kv, size_t kv_cnt, char *errstr,
                           size_t errstr_size) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rs_err_t err = RS_OK;
    for (size_t i = 0; i < ndefs && !err; i++)
        err = conf_set1(conf, defs[i].key, defs[i].val, "default", errstr, errstr_size);
    if (!err && group_id)
        err = conf_set1(conf, "group.id", group_id, "group.id", errstr, errstr_size);
    for (size_t i = 0; i < kv_cnt && !err; i++)
        err = conf_set1(conf, kv[i].key, kv[i].val, kv[i].origin ? kv[i].origin : "-X", errstr,
                        errstr_size);
    if (err) {
        rd_kafka_conf_destroy(conf);
        return err;
    }
    rd_kafka_conf_set_log_cb(conf, log_cb);
    *out = conf;
    return RS_OK;
}

static int conf_get(rd_kafka_conf_t *conf, const char *key, char *buf, size_t size) {
    size_t sz = size;
    return rd_kafka_conf_get(conf, key, buf, &sz) == RD_KAFKA_CONF_OK ? 0 : -1;
}

static int make_pipe(int fds[2], char *errstr, size_t errstr_size) {
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0) return 0;
    rs_seterr(errstr, errstr_size, RS_EIO, "pipe2: %s", strerror(errno));
    fds[0] = fds[1] = -1;
    return -1;
}

static void drain_pipe(int fd) {
    char buf[256];
    while (fd >= 0 && read(fd, buf, sizeof(buf)) > 0) {
    }
}

static void close_fd(int *fd) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
}

/* ---- messages ---- */

int rs_msg_header(const rs_msg_t *m, const char *name, const void **val, size_t *len) {
    rd_kafka_message_t *rkm = m ? m->opaque_ : NULL;
    rd_kafka_headers_t *hdrs;
    const void *v;
    size_t n;
    if (!rkm || rd_kafka_message_headers(rkm, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) return -1;
    if (rd_kafka_header_get_last(hdrs, name, &v, &n) != RD_KAFKA_RESP_ERR_NO_ERROR) return -1;
    if (val) *val = v;
    if (len) *len = n;
    return (int)n;
}

static void msg_fill(rs_msg_t *m, rd_kafka_message_t *rkm) {
    rd_kafka_timestamp_type_t tstype;
    memset(m, 0, sizeof(*m));
    m->opaque_ = rkm;
    m->payload = rkm->payload;
    m->len = rkm->len;
    m->key = rkm->key;
    m->key_len = rkm->key_len;
    m->topic = rkm->rkt ? rd_kafka_topic_name(rkm->rkt) : "";
    m->partition = rkm->partition;
    m->offset = rkm->offset;
    m->ts_ms = rd_kafka_message_timestamp(rkm, &tstype);
    /* Not from a header: librdkafka parses a message's headers into a
     * malloc'd list on first access, which cost ~5% of the loop thread when
     * every record carried one. Headers are read only when asked for. */
    m->origin_us = m->ts_ms >= 0 ? m->ts_ms * 1000 : -1;
}

/* ---- consumer ---- */

struct rs_consumer {
    rd_kafka_t *rk;
    rd_kafka_queue_t *q; /* consumer queue, carries the io event */
    int rfd, wfd;
    rs_consumer_cbs_t cbs;
    int cooperative_conf; /* partition.assignment.strategy names cooperative-sticky */
    int subscribed;
    int rebalanced; /* a group rebalance callback ran: a SyncGroup succeeded */
    int closed;
    int parked;      /* #4381: handle must never be destroyed */
    int fatal_seen;  /* the fatal error was handed out once */
    size_t assigned; /* partitions currently assigned */
    rs_msg_t *cur;   /* rs_consumer_poll's output while it runs */
    size_t cur_n;
};

/* Handles parked because destroying them would abort (see design notes);
 * kept reachable so leak checkers stay quiet. */
static pthread_mutex_t parked_lock = PTHREAD_MUTEX_INITIALIZER;
static rd_kafka_t *parked[64];
static size_t parked_n;

static void park(rd_kafka_t *rk) {
    pthread_mutex_lock(&parked_lock);
    if (parked_n < sizeof(parked) / sizeof(parked[0])) parked[parked_n++] = rk;
    pthread_mutex_unlock(&parked_lock);
}

/* parts NULL = every partition. */
static int in_list(const rd_kafka_topic_partition_list_t *parts, const char *topic, int32_t p) {
    if (!parts) return 1;
    for (int i = 0; i < parts->cnt; i++)
        if (parts->elems[i].partition == p && !strcmp(parts->elems[i].topic, topic)) return 1;
    return 0;
}

/* Drop not-yet-returned messages of partitions being revoked (design notes). */
static void drop_revoked(rs_consumer_t *c, const rd_kafka_topic_partition_list_t *parts) {
    size_t w = 0;
    for (size_t i = 0; i < c->cur_n; i++) {
        rs_msg_t *m = &c->cur[i];
        if (!m->err && in_list(parts, m->topic, m->partition)) {
            rd_kafka_message_destroy(m->opaque_);
            continue;
        }
        if (w != i) c->cur[w] = *m;
        w++;
    }
    if (w != c->cur_n)
        rs_debug(SUBSYS, "dropped %zu undelivered messages of revoked partitions", c->cur_n - w);
    c->cur_n = w;
}

static rs_tp_t *tps_of(const rd_kafka_topic_partition_list_t *parts) {
    int cnt = parts ? parts->cnt : 0;
    rs_tp_t *tps = rs_xcalloc((size_t)cnt + 1, sizeof(*tps));
    for (int i = 0; i < cnt; i++) {
        tps[i].topic = parts->elems[i].topic;
        tps[i].partition = parts->elems[i].partition;
    }
    return tps;
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque) {
    rs_consumer_t *c = opaque;
    const char *proto = rd_kafka_rebalance_protocol(rk);
    int coop = proto ? !strcmp(proto, "COOPERATIVE") : c->cooperative_conf;
    size_t n = parts ? (size_t)parts->cnt : 0;
    rs_tp_t *tps = tps_of(parts);
    rd_kafka_error_t *error = NULL;
    rd_kafka_resp_err_t aerr = RD_KAFKA_RESP_ERR_NO_ERROR;

    c->rebalanced = 1;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        int64_t *offs = rs_xcalloc(n + 1, sizeof(*offs));
        for (size_t i = 0; i < n; i++) offs[i] = RS_OFFSET_DEFAULT;
        if (n && c->cbs.on_assign) c->cbs.on_assign(c->cbs.opaque, tps, n, offs);
        for (size_t i = 0; i < n; i++) parts->elems[i].offset = offs[i];
        free(offs);
        rs_info(SUBSYS, "%s assign of %zu partition(s)", coop ? "incremental" : "eager", n);
        if (coop)
            error = rd_kafka_incremental_assign(rk, parts);
        else
            aerr = rd_kafka_assign(rk, parts);
        if (!error && !aerr) c->assigned = coop ? c->assigned + n : n;
    } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
        int lost = rd_kafka_assignment_lost(rk);
        drop_revoked(c, parts);
        if (n && c->cbs.on_revoke) c->cbs.on_revoke(c->cbs.opaque, tps, n, lost);
        rs_info(SUBSYS, "%s %s of %zu partition(s)", coop ? "incremental" : "eager",
                lost ? "loss" : "revoke", n);
        if (coop)
            error = rd_kafka_incremental_unassign(rk, parts);
        else
            aerr = rd_kafka_assign(rk, NULL);
        if (!error && !aerr) c->assigned = coop && c->assigned >= n ? c->assigned - n : 0;
    } else {
        rs_error(SUBSYS, "rebalance error: %s", rd_kafka_err2str(err));
        drop_revoked(c, NULL);
        aerr = rd_kafka_assign(rk, NULL);
        c->assigned = 0;
    }
    if (error) {
        rs_error(SUBSYS, "rebalance: %s", rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    } else if (aerr) {
        rs_error(SUBSYS, "rebalance: %s", rd_kafka_err2str(aerr));
    }
    free(tps);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque);

/* Consumer errors: logged like the producer's, then classified for the
 * owner (the daemon's readiness). Runs inside rs_consumer_poll. */
static void consumer_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
    rs_consumer_t *c = opaque;
    error_cb(rk, err, reason, opaque);
    if (!c->cbs.on_error) return;
    int kind = err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ? RS_KAFKA_ERR_DOWN
               : err == RD_KAFKA_RESP_ERR__TRANSPORT || err == RD_KAFKA_RESP_ERR__RESOLVE
                   ? RS_KAFKA_ERR_CONN
               : err == RD_KAFKA_RESP_ERR__AUTHENTICATION ||
                       err == RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED
                   ? RS_KAFKA_ERR_AUTH
               : err == RD_KAFKA_RESP_ERR__FATAL ? RS_KAFKA_ERR_FATAL
                                                 : RS_KAFKA_ERR_OTHER;
    char msg[512];
    snprintf(msg, sizeof(msg), "%s: %s", rd_kafka_err2str(err), reason);
    c->cbs.on_error(c->cbs.opaque, kind, msg);
}

/* Broker connections up, from the statistics JSON: each broker object of
 * "brokers" has "state":"UP" when connected (the consumer group's state is
 * lower-case "up", partitions have "fetch_state"). A scan, not a parse: the
 * JSON is librdkafka's own and this wrapper does not link a JSON library. */
static int stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque) {
    rs_consumer_t *c = opaque;
    if (!c->cbs.on_brokers_up) return 0;
    const char *b = strstr(json, "\"brokers\":{"), *end = b ? strstr(b, "\"topics\":") : NULL;
    int up = 0;
    for (const char *p = b; p && (p = strstr(p, "\"state\":\"UP\"")) && (!end || p < end); p++)
        up++;
    c->cbs.on_brokers_up(c->cbs.opaque, up);
    return 0; /* librdkafka frees json */
}

rs_err_t rs_consumer_new(rs_consumer_t **out, const rs_kv_t *kafka, size_t kafka_cnt,
                         const char *group_id, const rs_consumer_cbs_t *cbs, char *errstr,
                         size_t errstr_size) {
    static int assign_seq;
    rd_kafka_conf_t *conf = NULL;
    char buf[512];
    rs_err_t err;
    rs_consumer_t *c = rs_xcalloc(1, sizeof(*c));
    c->rfd = c->wfd = -1;
    if (cbs) c->cbs = *cbs;
    *out = NULL;

    err = conf_build(&conf, consumer_defaults,
                     sizeof(consumer_defaults) / sizeof(consumer_defaults[0]), group_id, kafka,
                     kafka_cnt, errstr, errstr_size);
    if (err) goto fail;
    /* librdkafka's assign() needs a group handle, which needs a group.id: an
     * assign-only consumer gets a private one (never joined, nothing stored). */
    if (conf_get(conf, "group.id", buf, sizeof(buf)) || !buf[0]) {
        snprintf(buf, sizeof(buf), "rs-assign-%ld-%d", (long)getpid(),
                 __atomic_add_fetch(&assign_seq, 1, __ATOMIC_RELAXED));
        if ((err = conf_set1(conf, "group.id", buf, "group.id", errstr, errstr_size))) goto fail;
    }
    if (conf_get(conf, "partition.assignment.strategy", buf, sizeof(buf)) == 0)
        c->cooperative_conf = strstr(buf, "cooperative-sticky") != NULL;
    rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rd_kafka_conf_set_error_cb(conf, consumer_error_cb);
    if (c->cbs.on_brokers_up) {
        if (conf_get(conf, "statistics.interval.ms", buf, sizeof(buf)) || !strcmp(buf, "0"))
            if ((err = conf_set1(conf, "statistics.interval.ms", "1000", "statistics.interval.ms",
                                 errstr, errstr_size)))
                goto fail;
        rd_kafka_conf_set_stats_cb(conf, stats_cb);
    }
    rd_kafka_conf_set_opaque(conf, c);

    c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, buf, sizeof(buf));
    if (!c->rk) {
        err = rs_seterr(errstr, errstr_size, RS_ECONF, "kafka consumer: %s", buf);
        goto fail;
    }
    conf = NULL; /* owned by rk now */
    rd_kafka_poll_set_consumer(c->rk);
    c->q = rd_kafka_queue_get_consumer(c->rk);
    int fds[2];
    if (!c->q || make_pipe(fds, errstr, errstr_size)) {
        err = c->q ? RS_EIO : rs_seterr(errstr, errstr_size, RS_EKAFKA, "no consumer queue");
        goto fail;
    }
    c->rfd = fds[0];
    c->wfd = fds[1];
    rd_kafka_queue_io_event_enable(c->q, c->wfd, "1", 1);
    *out = c;
    return RS_OK;
fail:
    if (conf) rd_kafka_conf_destroy(conf);
    rs_consumer_destroy(c);
    return err;
}

int rs_consumer_fd(rs_consumer_t *c) {
    return c->rfd;
}

rs_err_t rs_consumer_subscribe(rs_consumer_t *c, const char *const *topics, size_t n, char *errstr,
                               size_t errstr_size) {
    if (c->closed) return rs_seterr(errstr, errstr_size, RS_ESTATE, "consumer closed");
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)n);
    for (size_t i = 0; i < n; i++)
        rd_kafka_topic_partition_list_add(l, topics[i], RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(c->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (e) return rs_seterr(errstr, errstr_size, RS_EKAFKA, "subscribe: %s", rd_kafka_err2str(e));
    c->subscribed = 1;
    return RS_OK;
}

rs_err_t rs_consumer_assign(rs_consumer_t *c, const rs_tp_t *tps, const int64_t *offsets, size_t n,
                            char *errstr, size_t errstr_size) {
    if (c->closed) return rs_seterr(errstr, errstr_size, RS_ESTATE, "consumer closed");
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)n);
    for (size_t i = 0; i < n; i++)
        rd_kafka_topic_partition_list_add(l, tps[i].topic, tps[i].partition)->offset =
            offsets ? offsets[i] : RS_OFFSET_DEFAULT;
    rd_kafka_resp_err_t e = rd_kafka_assign(c->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (e) return rs_seterr(errstr, errstr_size, RS_EKAFKA, "assign: %s", rd_kafka_err2str(e));
    c->assigned = n;
    return RS_OK;
}

/* Returns 1 if rkm was stored at msgs[c->cur_n], 0 if it was consumed here. */
static int take(rs_consumer_t *c, rd_kafka_message_t *rkm) {
    if (!rkm->err) {
        msg_fill(&c->cur[c->cur_n++], rkm);
        return 1;
    }
    if (rkm->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        rs_debug(SUBSYS, "end of partition %d", (int)rkm->partition);
    } else if (rkm->err == RD_KAFKA_RESP_ERR__FATAL) {
        char buf[512];
        rd_kafka_resp_err_t orig = rd_kafka_fatal_error(c->rk, buf, sizeof(buf));
        rs_error(SUBSYS, "fatal consumer error: %s: %s", rd_kafka_err2str(orig), buf);
        if (!c->fatal_seen) {
            c->fatal_seen = 1;
            rs_msg_t *m = &c->cur[c->cur_n++];
            memset(m, 0, sizeof(*m));
            m->err = RS_EKAFKA;
            m->payload = rd_kafka_message_errstr(rkm);
            m->len = strlen(m->payload);
            m->topic = rkm->rkt ? rd_kafka_topic_name(rkm->rkt) : "";
            m->partition = rkm->partition;
            m->offset = rkm->offset;
            m->ts_ms = m->origin_us = -1;
            m->opaque_ = rkm;
            return 1;
        }
    } else {
        rs_warn(SUBSYS, "consumer error: %s: %s", rd_kafka_err2str(rkm->err),
                rd_kafka_message_errstr(rkm));
    }
    rd_kafka_message_destroy(rkm);
    return 0;
}

size_t rs_consumer_poll(rs_consumer_t *c, rs_msg_t *msgs, size_t max) {
    if (!c || c->closed) return 0;
    drain_pipe(c->rfd);
    c->cur = msgs;
    c->cur_n = 0;
    /* Each call serves at most one op (message, error or rebalance). */
    while (c->cur_n < max) {
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(c->rk, 0);
        if (!rkm) break;
        take(c, rkm);
    }
    size_t n = c->cur_n;
    c->cur = NULL;
    c->cur_n = 0;
    return n;
}

size_t rs_consumer_poll_wait(rs_consumer_t *c, rs_msg_t *msgs, size_t max, int timeout_ms) {
    int64_t deadline = rs_mono_us() + (int64_t)timeout_ms * 1000;
    for (;;) {
        size_t n = rs_consumer_poll(c, msgs, max);
        if (n || c->closed) return n;
        int64_t left_ms = (deadline - rs_mono_us()) / 1000;
        if (left_ms <= 0) return 0;
        struct pollfd pfd = {.fd = c->rfd, .events = POLLIN};
        poll(&pfd, 1, left_ms > 100 ? 100 : (int)left_ms);
    }
}

void rs_consumer_release(rs_consumer_t *c, rs_msg_t *msgs, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (msgs[i].opaque_) rd_kafka_message_destroy(msgs[i].opaque_);
        msgs[i].opaque_ = NULL;
    }
}

rs_err_t rs_consumer_store_offsets(rs_consumer_t *c, const rs_tp_t *tps,
                                   const int64_t *next_offsets, size_t n) {
    if (c->closed) return RS_ESTATE;
    if (!n) return RS_OK;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)n);
    for (size_t i = 0; i < n; i++)
        rd_kafka_topic_partition_list_add(l, tps[i].topic, tps[i].partition)->offset =
            next_offsets[i];
    rd_kafka_resp_err_t e = rd_kafka_offsets_store(c->rk, l);
    if (e) {
        /* Typically a partition revoked since the owner read it: harmless,
         * these commits only feed lag monitoring. */
        for (int i = 0; i < l->cnt; i++)
            if (l->elems[i].err)
                rs_debug(SUBSYS, "offsets_store %s [%d]: %s", l->elems[i].topic,
                         (int)l->elems[i].partition, rd_kafka_err2str(l->elems[i].err));
    }
    rd_kafka_topic_partition_list_destroy(l);
    return RS_OK;
}

static rd_kafka_topic_partition_list_t *tp_list(const rs_tp_t *tps, const int64_t *offs, size_t n) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)n);
    for (size_t i = 0; i < n; i++)
        rd_kafka_topic_partition_list_add(l, tps[i].topic, tps[i].partition)->offset =
            offs ? offs[i] : RS_OFFSET_DEFAULT;
    return l;
}

/* First per-partition error of l, or 0. */
static rd_kafka_resp_err_t tp_list_err(const rd_kafka_topic_partition_list_t *l, int *at) {
    for (int i = 0; i < l->cnt; i++)
        if (l->elems[i].err) {
            *at = i;
            return l->elems[i].err;
        }
    return RD_KAFKA_RESP_ERR_NO_ERROR;
}

rs_err_t rs_consumer_pause(rs_consumer_t *c, const rs_tp_t *tps, size_t n, int pause, char *errstr,
                           size_t errstr_size) {
    if (c->closed) return rs_seterr(errstr, errstr_size, RS_ESTATE, "consumer closed");
    if (!n) return RS_OK;
    rd_kafka_topic_partition_list_t *l = tp_list(tps, NULL, n);
    rd_kafka_resp_err_t e =
        pause ? rd_kafka_pause_partitions(c->rk, l) : rd_kafka_resume_partitions(c->rk, l);
    int at = 0;
    if (!e) e = tp_list_err(l, &at);
    rd_kafka_topic_partition_list_destroy(l);
    if (e)
        return rs_seterr(errstr, errstr_size, RS_EKAFKA, "%s %s [%d]: %s",
                         pause ? "pause" : "resume", tps[at].topic, (int)tps[at].partition,
                         rd_kafka_err2str(e));
    return RS_OK;
}

rs_err_t rs_consumer_pause_all(rs_consumer_t *c, int pause, char *errstr, size_t errstr_size) {
    if (c->closed) return rs_seterr(errstr, errstr_size, RS_ESTATE, "consumer closed");
    rd_kafka_topic_partition_list_t *l = NULL;
    rd_kafka_resp_err_t e = rd_kafka_assignment(c->rk, &l);
    if (!e && l->cnt)
        e = pause ? rd_kafka_pause_partitions(c->rk, l) : rd_kafka_resume_partitions(c->rk, l);
    int at = 0;
    if (!e && l->cnt) e = tp_list_err(l, &at);
    if (e && l && l->cnt)
        rs_seterr(errstr, errstr_size, RS_EKAFKA, "%s %s [%d]: %s", pause ? "pause" : "resume",
                  l->elems[at].topic, (int)l->elems[at].partition, rd_kafka_err2str(e));
    else if (e)
        rs_seterr(errstr, errstr_size, RS_EKAFKA, "%s: %s", pause ? "pause" : "resume",
                  rd_kafka_err2str(e));
    if (l) rd_kafka_topic_partition_list_destroy(l);
    return e ? RS_EKAFKA : RS_OK;
}

rs_err_t rs_consumer_watermarks(rs_consumer_t *c, const char *topic, int32_t partition,
                                int64_t *low, int64_t *high, int timeout_ms, char *errstr,
                                size_t errstr_size) {
    rd_kafka_resp_err_t e =
        rd_kafka_query_watermark_offsets(c->rk, topic, partition, low, high, timeout_ms);
    if (e)
        return rs_seterr(errstr, errstr_size,
                         e == RD_KAFKA_RESP_ERR__TIMED_OUT ? RS_ETIMEOUT : RS_EKAFKA,
                         "watermarks of %s [%d]: %s", topic, (int)partition, rd_kafka_err2str(e));
    return RS_OK;
}

rs_err_t rs_consumer_offsets_for_times(rs_consumer_t *c, const rs_tp_t *tps, int64_t *inout,
                                       size_t n, int timeout_ms, char *errstr, size_t errstr_size) {
    if (!n) return RS_OK;
    rd_kafka_topic_partition_list_t *l = tp_list(tps, inout, n);
    rd_kafka_resp_err_t e = rd_kafka_offsets_for_times(c->rk, l, timeout_ms);
    int at = 0;
    if (!e) e = tp_list_err(l, &at);
    if (!e)
        for (size_t i = 0; i < n; i++) inout[i] = l->elems[i].offset;
    rd_kafka_topic_partition_list_destroy(l);
    if (e)
        return rs_seterr(errstr, errstr_size,
                         e == RD_KAFKA_RESP_ERR__TIMED_OUT ? RS_ETIMEOUT : RS_EKAFKA,
                         "offsets for times of %s [%d]: %s", tps[at].topic, (int)tps[at].partition,
                         rd_kafka_err2str(e));
    return RS_OK;
}

size_t rs_consumer_assignment_count(rs_consumer_t *c) {
    return c->assigned;
}

int64_t rs_consumer_lag(rs_consumer_t *c) {
    rd_kafka_topic_partition_list_t *l = NULL;
    if (c->closed || rd_kafka_assignment(c->rk, &l)) return -1;
    int64_t sum = 0;
    int known = 0;
    if (l->cnt > 0) rd_kafka_position(c->rk, l);
    for (int i = 0; i < l->cnt; i++) {
        int64_t lo, hi, pos = l->elems[i].offset;
        /* Cached values only; a partition not yet fetched from is skipped. */
        if (pos < 0 ||
            rd_kafka_get_watermark_offsets(c->rk, l->elems[i].topic, l->elems[i].partition, &lo,
                                           &hi) ||
            hi < 0)
            continue;
        sum += hi > pos ? hi - pos : 0;
        known++;
    }
    int empty = l->cnt == 0;
    rd_kafka_topic_partition_list_destroy(l);
    return empty ? 0 : known ? sum : -1;
}

void rs_consumer_lags(rs_consumer_t *c, const rs_tp_t *tps, const int64_t *from, int64_t *lag,
                      size_t n) {
    for (size_t i = 0; i < n; i++) lag[i] = -1;
    if (c->closed || !n) return;
    rd_kafka_topic_partition_list_t *l = tp_list(tps, NULL, n);
    if (!rd_kafka_position(c->rk, l))
        for (size_t i = 0; i < n; i++) {
            int64_t lo, hi, pos = l->elems[i].err ? -1 : l->elems[i].offset;
            if (pos < 0 && from) pos = from[i];
            if (pos >= 0 &&
                !rd_kafka_get_watermark_offsets(c->rk, tps[i].topic, tps[i].partition, &lo, &hi) &&
                hi >= 0)
                lag[i] = hi > pos ? hi - pos : 0;
        }
    rd_kafka_topic_partition_list_destroy(l);
}

/* #4381 guard: see design notes. Returns 1 if the handle must be parked. */
static int wait_first_rebalance(rs_consumer_t *c) {
    if (!c->subscribed || !c->cooperative_conf || c->rebalanced) return 0;
    rs_info(SUBSYS, "close: waiting up to %d ms for the first group assignment", CLOSE_WAIT_MS);
    int64_t deadline = rs_mono_us() + (int64_t)CLOSE_WAIT_MS * 1000;
    while (!c->rebalanced && rs_mono_us() < deadline) {
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(c->rk, 100);
        /* Not handed out: the owner's offsets exclude it, the next owner rereads it. */
        if (rkm) rd_kafka_message_destroy(rkm);
    }
    if (c->rebalanced) return 0;
    const char *proto = rd_kafka_rebalance_protocol(c->rk);
    return proto && !strcmp(proto, "COOPERATIVE");
}

rs_err_t rs_consumer_close(rs_consumer_t *c) {
    if (!c || c->closed || !c->rk) return RS_OK;
    c->parked = wait_first_rebalance(c);
    c->closed = 1;
    /* librdkafka must not write to the pipe once it is closed (the fd number
     * could be reused), and the queue handle goes before consumer_close. */
    if (c->q) {
        rd_kafka_queue_io_event_enable(c->q, -1, NULL, 0);
        rd_kafka_queue_destroy(c->q);
        c->q = NULL;
    }
    rd_kafka_resp_err_t e = rd_kafka_consumer_close(c->rk);
    c->assigned = 0;
    if (c->parked) {
        rs_warn(SUBSYS, "consumer closed before its first group assignment completed; its "
                        "handle is kept (librdkafka #4381 would abort on destroy)");
        rd_kafka_set_log_level(c->rk, 0);
        park(c->rk);
    }
    if (e) {
        rs_warn(SUBSYS, "consumer close: %s", rd_kafka_err2str(e));
        return RS_EKAFKA;
    }
    return RS_OK;
}

void rs_consumer_destroy(rs_consumer_t *c) {
    if (!c) return;
    rs_consumer_close(c);
    if (c->rk && !c->parked) rd_kafka_destroy(c->rk);
    close_fd(&c->rfd);
    close_fd(&c->wfd);
    free(c);
}

/* ---- producer ---- */

struct rs_producer {
    rd_kafka_t *rk;
    rd_kafka_queue_t *q; /* main queue, carries the io event */
    int rfd, wfd;
    rs_dr_cb_t *dr_cb;
    void *opaque;
    int dr_cnt;               /* delivery reports served so far */
    rd_kafka_topic_t **known; /* rs_producer_prepare's topics, held until destroy */
    size_t n_known;
};

static void dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque) {
    rs_producer_t *p = opaque;
    p->dr_cnt++;
    if (rkm->err) rs_debug(SUBSYS, "delivery failed: %s", rd_kafka_err2str(rkm->err));
    if (p->dr_cb)
        p->dr_cb(p->opaque, rkm->_private, rkm->err ? RS_EKAFKA : 0,
                 rkm->err ? rd_kafka_err2str(rkm->err) : NULL);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char buf[512];
        rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, buf, sizeof(buf));
        rs_error(SUBSYS, "%s fatal: %s: %s", rd_kafka_name(rk), rd_kafka_err2str(orig), buf);
    } else {
        rs_warn(SUBSYS, "%s: %s: %s", rd_kafka_name(rk), rd_kafka_err2str(err), reason);
    }
}

rs_err_t rs_producer_new(rs_producer_t **out, const rs_kv_t *kafka, size_t kafka_cnt,
                         rs_dr_cb_t *dr_cb, void *opaque, char *errstr, size_t errstr_size) {
    rd_kafka_conf_t *conf = NULL;
    char buf[512];
    rs_err_t err;
    rs_producer_t *p = rs_xcalloc(1, sizeof(*p));
    p->rfd = p->wfd = -1;
    p->dr_cb = dr_cb;
    p->opaque = opaque;
    *out = NULL;

    err = conf_build(&conf, producer_defaults,
                     sizeof(producer_defaults) / sizeof(producer_defaults[0]), NULL, kafka,
                     kafka_cnt, errstr, errstr_size);
    if (err) goto fail;
    rd_kafka_conf_set_dr_msg_cb(conf, dr_msg_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    rd_kafka_conf_set_opaque(conf, p);
    p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, buf, sizeof(buf));
    if (!p->rk) {
        err = rs_seterr(errstr, errstr_size, RS_ECONF, "kafka producer: %s", buf);
        goto fail;
    }
    conf = NULL;
    int fds[2];
    if (make_pipe(fds, errstr, errstr_size)) {
        err = RS_EIO;
        goto fail;
    }
    p->rfd = fds[0];
    p->wfd = fds[1];
    p->q = rd_kafka_queue_get_main(p->rk);
    rd_kafka_queue_io_event_enable(p->q, p->wfd, "1", 1);
    *out = p;
    return RS_OK;
fail:
    if (conf) rd_kafka_conf_destroy(conf);
    rs_producer_destroy(p);
    return err;
}

int rs_producer_fd(rs_producer_t *p) {
    return p->rfd;
}

rs_err_t rs_producer_send(rs_producer_t *p, const char *topic, int32_t partition, const void *key,
                          size_t klen, const void *val, size_t vlen, const rs_header_t *hdrs,
                          size_t n_hdrs, void *msg_opaque) {
    rd_kafka_headers_t *h = NULL;
    if (n_hdrs) {
        h = rd_kafka_headers_new(n_hdrs);
        for (size_t i = 0; i < n_hdrs; i++)
            rd_kafka_header_add(h, hdrs[i].name, -1, hdrs[i].val, (ssize_t)hdrs[i].len);
    }
    rd_kafka_resp_err_t e =
        rd_kafka_producev(p->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, klen),
                          RD_KAFKA_V_VALUE((void *)val, vlen), RD_KAFKA_V_HEADERS(h),
                          RD_KAFKA_V_OPAQUE(msg_opaque), RD_KAFKA_V_END);
    if (!e) return RS_OK; /* the headers belong to the message now */
    if (h) rd_kafka_headers_destroy(h);
    if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) return RS_EFULL;
    rs_warn(SUBSYS, "produce to %s: %s", topic, rd_kafka_err2str(e));
    return RS_EKAFKA;
}

int rs_producer_poll(rs_producer_t *p) {
    drain_pipe(p->rfd);
    int before = p->dr_cnt;
    rd_kafka_poll(p->rk, 0); /* serves everything queued right now */
    return p->dr_cnt - before;
}

int rs_producer_outq_len(rs_producer_t *p) {
    return rd_kafka_outq_len(p->rk);
}

rs_err_t rs_producer_flush(rs_producer_t *p, int timeout_ms) {
    rd_kafka_resp_err_t e = rd_kafka_flush(p->rk, timeout_ms);
    drain_pipe(p->rfd);
    if (e == RD_KAFKA_RESP_ERR__TIMED_OUT) return RS_ETIMEOUT;
    return e ? RS_EKAFKA : RS_OK;
}

void rs_producer_prepare(rs_producer_t *p, const char *const *topics, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (!topics[i] || !*topics[i]) continue;
        rd_kafka_topic_t *t = rd_kafka_topic_new(p->rk, topics[i], NULL);
        if (!t) continue; /* the first send reports the problem */
        p->known = rs_xrealloc(p->known, (p->n_known + 1) * sizeof(*p->known));
        p->known[p->n_known++] = t;
    }
}

void rs_producer_destroy(rs_producer_t *p) {
    if (!p) return;
    if (p->rk) {
        if (rd_kafka_flush(p->rk, 5000))
            rs_warn(SUBSYS, "producer destroyed with %d undelivered message(s)",
                    rd_kafka_outq_len(p->rk));
        if (p->q) {
            rd_kafka_queue_io_event_enable(p->q, -1, NULL, 0);
            rd_kafka_queue_destroy(p->q);
        }
        for (size_t i = 0; i < p->n_known; i++) rd_kafka_topic_destroy(p->known[i]);
        rd_kafka_destroy(p->rk);
    }
    close_fd(&p->rfd);
    close_fd(&p->wfd);
    free(p->known);
    free(p);
}

/* ---- mock cluster ---- */

struct rs_mock {
    rd_kafka_t *rk; /* hidden handle hosting the cluster */
    rd_kafka_mock_cluster_t *mc;
};

rs_err_t rs_mock_new(rs_mock_t **out, int brokers, char *errstr, size_t errstr_size) {
    char buf[512];
    rs_mock_t *m = rs_xcalloc(1, sizeof(*m));
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, log_cb);
    *out = NULL;
    rd_kafka_conf_set(conf, "client.id", "rs-mock", buf, sizeof(buf));
    /* The host never connects anywhere: hide its "no bootstrap.servers" notice. */
    rd_kafka_conf_set(conf, "log_level", "4", buf, sizeof(buf));
    if (!(m->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, buf, sizeof(buf)))) {
        rd_kafka_conf_destroy(conf);
        free(m);
        return rs_seterr(errstr, errstr_size, RS_EKAFKA, "mock host: %s", buf);
    }
    if (!(m->mc = rd_kafka_mock_cluster_new(m->rk, brokers))) {
        rs_mock_destroy(m);
        return rs_seterr(errstr, errstr_size, RS_EKAFKA, "mock cluster of %d broker(s) failed",
                         brokers);
    }
    *out = m;
    return RS_OK;
}

const char *rs_mock_bootstraps(rs_mock_t *m) {
    return rd_kafka_mock_cluster_bootstraps(m->mc);
}

static rs_err_t mock_err(const char *what, rd_kafka_resp_err_t e) {
    if (!e) return RS_OK;
    rs_warn(SUBSYS, "mock %s: %s", what, rd_kafka_err2str(e));
    return e == RD_KAFKA_RESP_ERR__INVALID_ARG ? RS_EARG : RS_EKAFKA;
}

rs_err_t rs_mock_topic_create(rs_mock_t *m, const char *topic, int partitions) {
    return mock_err("topic_create", rd_kafka_mock_topic_create(m->mc, topic, partitions, 1));
}

rs_err_t rs_mock_push_errors(rs_mock_t *m, int api_key, int cnt, int kafka_err) {
    if (cnt <= 0 || api_key < 0) return RS_EARG;
    rd_kafka_resp_err_t *errs = rs_xcalloc((size_t)cnt, sizeof(*errs));
    for (int i = 0; i < cnt; i++) errs[i] = (rd_kafka_resp_err_t)kafka_err;
    rd_kafka_mock_push_request_errors_array(m->mc, (int16_t)api_key, (size_t)cnt, errs);
    free(errs);
    return RS_OK;
}

rs_err_t rs_mock_broker_down(rs_mock_t *m, int broker_id) {
    return mock_err("broker_down", rd_kafka_mock_broker_set_down(m->mc, broker_id));
}

rs_err_t rs_mock_broker_up(rs_mock_t *m, int broker_id) {
    return mock_err("broker_up", rd_kafka_mock_broker_set_up(m->mc, broker_id));
}

rs_err_t rs_mock_partition_leader(rs_mock_t *m, const char *topic, int32_t partition,
                                  int broker_id) {
    return mock_err("set_leader",
                    rd_kafka_mock_partition_set_leader(m->mc, topic, partition, broker_id));
}

void rs_mock_destroy(rs_mock_t *m) {
    if (!m) return;
    if (m->mc) rd_kafka_mock_cluster_destroy(m->mc);
    if (m->rk) rd_kafka_destroy(m->rk);
    free(m);
}

/* ---- misc ---- */

int rs_kafka_partition_count(const rs_kv_t *kafka, size_t kafka_cnt, const char *topic,
                             int timeout_ms, char *errstr, size_t errstr_size) {
    static const kv_default_t defs[] = {{"allow.auto.create.topics", "false"}};
    rd_kafka_conf_t *conf;
    char buf[512];
    rs_err_t err = conf_build(&conf, defs, 1, NULL, kafka, kafka_cnt, errstr, errstr_size);
    if (err) return err;
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, buf, sizeof(buf));
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        return rs_seterr(errstr, errstr_size, RS_ECONF, "kafka metadata client: %s", buf);
    }
    /* All-topics metadata: asking for one topic by name could auto-create it. */
    int64_t deadline = rs_mono_us() + (int64_t)timeout_ms * 1000;
    int result = rs_seterr(errstr, errstr_size, RS_ETIMEOUT, "metadata for %s: timed out", topic);
    for (;;) {
        int left = (int)((deadline - rs_mono_us()) / 1000);
        if (left <= 0) break;
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 1, NULL, &md, left);
        if (e) {
            result = rs_seterr(errstr, errstr_size,
                               e == RD_KAFKA_RESP_ERR__TIMED_OUT ? RS_ETIMEOUT : RS_EKAFKA,
                               "metadata for %s: %s", topic, rd_kafka_err2str(e));
            if (e == RD_KAFKA_RESP_ERR__TIMED_OUT) break;
        } else {
            int retry = 0;
            result = rs_seterr(errstr, errstr_size, RS_ENOTFOUND, "topic %s not found", topic);
            for (int i = 0; i < md->topic_cnt; i++) {
                if (strcmp(md->topics[i].topic, topic)) continue;
                if (md->topics[i].err) {
                    result = rs_seterr(errstr, errstr_size, RS_EKAFKA, "topic %s: %s", topic,
                                       rd_kafka_err2str(md->topics[i].err));
                    retry = 1; /* e.g. leader not available yet */
                } else {
                    result = md->topics[i].partition_cnt;
                }
            }
            rd_kafka_metadata_destroy(md);
            if (!retry) break;
        }
        usleep(100 * 1000);
    }
    rd_kafka_destroy(rk);
    return result;
}

rs_err_t rs_kafka_create_topics(const rs_kv_t *kafka, size_t kafka_cnt, const char *const *topics,
                                const int *partitions, size_t n, int timeout_ms, char *errstr,
                                size_t errstr_size) {
    rd_kafka_conf_t *conf;
    char buf[512];
    rs_err_t err = conf_build(&conf, NULL, 0, NULL, kafka, kafka_cnt, errstr, errstr_size);
    if (err) return err;
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, buf, sizeof(buf));
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        return rs_seterr(errstr, errstr_size, RS_ECONF, "kafka admin client: %s", buf);
    }
    int64_t deadline = rs_mono_us() + (int64_t)timeout_ms * 1000;
    rd_kafka_NewTopic_t **nt = rs_xcalloc(n ? n : 1, sizeof(*nt));
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *ao = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_event_t *ev = NULL;
    err = RS_OK;
    rd_kafka_AdminOptions_set_request_timeout(ao, timeout_ms, NULL, 0);
    rd_kafka_AdminOptions_set_operation_timeout(ao, timeout_ms, NULL, 0);
    for (size_t i = 0; i < n && !err; i++) {
        nt[i] = rd_kafka_NewTopic_new(topics[i], partitions[i], -1, buf, sizeof(buf));
        if (!nt[i]) err = rs_seterr(errstr, errstr_size, RS_EARG, "topic %s: %s", topics[i], buf);
    }
    if (!err && n) {
        rd_kafka_CreateTopics(rk, nt, n, ao, q);
        ev = rd_kafka_queue_poll(q, timeout_ms + 1000);
        if (!ev)
            err = rs_seterr(errstr, errstr_size, RS_ETIMEOUT, "create topics: timed out");
        else if (rd_kafka_event_error(ev))
            err = rs_seterr(errstr, errstr_size, RS_EKAFKA, "create topics: %s",
                            rd_kafka_event_error_string(ev));
    }
    if (!err && ev) {
        size_t cnt = 0;
        const rd_kafka_topic_result_t **res =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &cnt);
        for (size_t i = 0; i < cnt && !err; i++) {
            rd_kafka_resp_err_t e = rd_kafka_topic_result_error(res[i]);
            if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
                err = rs_seterr(errstr, errstr_size, RS_EKAFKA, "create topic %s: %s",
                                rd_kafka_topic_result_name(res[i]),
                                rd_kafka_topic_result_error_string(res[i]));
        }
    }
    if (ev) rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(ao);
    rd_kafka_queue_destroy(q);
    for (size_t i = 0; i < n; i++)
        if (nt[i]) rd_kafka_NewTopic_destroy(nt[i]);
    free(nt);
    rd_kafka_destroy(rk);
    /* CreateTopics returns once the controller accepted them; wait until the
     * metadata a client sees has every partition with a leader */
    for (size_t i = 0; i < n && !err; i++) {
        int left = (int)((deadline - rs_mono_us()) / 1000);
        int got = rs_kafka_partition_count(kafka, kafka_cnt, topics[i], left > 0 ? left : 1, errstr,
                                           errstr_size);
        if (got < 0) err = got;
    }
    return err;
}

const char *rs_kafka_version(void) {
    return rd_kafka_version_str();
}
