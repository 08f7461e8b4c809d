/* rs_kafka.h -- recstream's only door to librdkafka (src/wrap/rs_kafka.c),
 * including its in-process mock cluster. No rd_kafka_* type appears here.
 *
 * Loop integration: each client exposes a non-blocking fd (the read end of a
 * pipe that librdkafka writes to via rd_kafka_queue_io_event_enable when its
 * queue goes from empty to non-empty). The owner watches the fd for
 * readability and then drains with rs_consumer_poll() / rs_producer_poll()
 * until they return 0; those calls empty the pipe themselves. No extra
 * thread, no busy polling.
 *
 * Consumer offsets (SPEC F7): the application keeps offsets in its own state.
 * On assignment the consumer calls cbs.on_assign, which fills in the offset
 * to start each partition at (or RS_OFFSET_DEFAULT to fall back to the
 * committed offset / auto.offset.reset); the partitions are then assigned
 * with those explicit offsets (incremental for cooperative protocols).
 * Before partitions are revoked (or lost) cbs.on_revoke runs so the owner
 * can commit its batch. Both callbacks run inside rs_consumer_poll() on the
 * caller's thread. Kafka offset commits (enable.auto.commit with explicit
 * rs_consumer_store_offsets) are for lag monitoring only.
 *
 * Ownership: messages returned by rs_consumer_poll() belong to the consumer
 * until rs_consumer_release(); payload pointers are valid until then.
 * Thread: a client is used from one thread; the mock cluster runs its own. */
#ifndef RS_KAFKA_H
#define RS_KAFKA_H

#include <stddef.h>
#include <stdint.h>

#include "rs_conf.h"
#include "rs_err.h"

#define RS_OFFSET_DEFAULT   (-1001) /* = RD_KAFKA_OFFSET_INVALID: committed or reset */
#define RS_OFFSET_BEGINNING (-2)
#define RS_OFFSET_END       (-1)

typedef struct rs_tp {
    const char *topic;
    int32_t partition;
} rs_tp_t;

typedef struct rs_header {
    const char *name;
    const void *val;
    size_t len;
} rs_header_t;

typedef struct rs_msg {
    const void *payload;
    size_t len;
    const void *key;
    size_t key_len;
    const char *topic;
    int32_t partition;
    int64_t offset;
    int64_t ts_ms;     /* message timestamp (CreateTime) or -1 */
    int64_t origin_us; /* produce time in us: ts_ms * 1000 (librdkafka stamps CreateTime at
                          produce), or -1 */
    int err;           /* 0, or RS_EKAFKA for a consumer error event (payload = error text) */
    void *opaque_;     /* internal */
} rs_msg_t;

/* Header value by name (last occurrence) of a consumed message: *val points
 * into the message (valid until rs_consumer_release); returns length or -1. */
int rs_msg_header(const rs_msg_t *m, const char *name, const void **val, size_t *len);

typedef struct rs_consumer_cbs {
    void *opaque;
    /* offsets_out[i] preset to RS_OFFSET_DEFAULT; set it to the next offset to read. */
    void (*on_assign)(void *opaque, const rs_tp_t *tps, size_t n, int64_t *offsets_out);
    /* lost != 0: the assignment was lost (session timeout) rather than revoked. */
    void (*on_revoke)(void *opaque, const rs_tp_t *tps, size_t n, int lost);
    /* A client-level error (may be NULL), on the polling thread: kind is
     * RS_KAFKA_ERR_*; msg names it. Logged by the wrapper either way. */
    void (*on_error)(void *opaque, int kind, const char *msg);
    /* With on_error: every second (librdkafka statistics, unless the
     * kafka.statistics.interval.ms passthrough says otherwise), the number
     * of broker connections that are up. librdkafka reports connections
     * going down but not coming back; this says when they did. */
    void (*on_brokers_up)(void *opaque, int up);
} rs_consumer_cbs_t;

enum {
    RS_KAFKA_ERR_OTHER = 0,
    RS_KAFKA_ERR_DOWN,  /* all brokers down */
    RS_KAFKA_ERR_CONN,  /* one connection failed (transport, resolve) */
    RS_KAFKA_ERR_AUTH,  /* authentication refused */
    RS_KAFKA_ERR_FATAL, /* the client cannot go on */
};

typedef struct rs_consumer rs_consumer_t;

/* kafka: librdkafka properties (conf->kafka), applied in order; errors from
 * librdkafka come back as "ORIGIN: message" in errstr. group_id may be NULL
 * for assign-only consumers (a private never-joined group.id is then used;
 * a kafka.group.id passthrough overrides the argument). Defaults set before the passthrough (a
 * passthrough key overrides them): enable.auto.commit=true,
 * enable.auto.offset.store=false, auto.offset.reset=earliest,
 * partition.assignment.strategy=cooperative-sticky, fetch.wait.max.ms=2,
 * queued.min.messages=1000000, queued.max.messages.kbytes=16384, enable.partition.eof=false. */
rs_err_t rs_consumer_new(rs_consumer_t **out, const rs_kv_t *kafka, size_t kafka_cnt,
                         const char *group_id, const rs_consumer_cbs_t *cbs, char *errstr,
                         size_t errstr_size);
int rs_consumer_fd(rs_consumer_t *c);
rs_err_t rs_consumer_subscribe(rs_consumer_t *c, const char *const *topics, size_t n, char *errstr,
                               size_t errstr_size);
/* Manual assignment (no group): offsets[i] per partition. */
rs_err_t rs_consumer_assign(rs_consumer_t *c, const rs_tp_t *tps, const int64_t *offsets, size_t n,
                            char *errstr, size_t errstr_size);
/* Non-blocking: up to max messages (also serves rebalance callbacks and logs
 * errors). Returns the number stored in msgs. Consumer errors that are not
 * fatal are logged and skipped. Keep calling until it returns 0: the fd is
 * only signalled again once the queue has been drained. Messages of
 * partitions revoked during the call are dropped before on_revoke runs
 * (never processed, so the next owner reads them). */
size_t rs_consumer_poll(rs_consumer_t *c, rs_msg_t *msgs, size_t max);
/* Blocking variant for simple tools/tests: waits up to timeout_ms for the first. */
size_t rs_consumer_poll_wait(rs_consumer_t *c, rs_msg_t *msgs, size_t max, int timeout_ms);
void rs_consumer_release(rs_consumer_t *c, rs_msg_t *msgs, size_t n);
/* Store next-offsets for the background auto-commit (monitoring only). */
rs_err_t rs_consumer_store_offsets(rs_consumer_t *c, const rs_tp_t *tps,
                                   const int64_t *next_offsets, size_t n);
/* Pause (pause != 0) or resume fetching of assigned partitions; a resumed
 * partition continues after the last message handed out (nothing is lost or
 * handed out twice). */
rs_err_t rs_consumer_pause(rs_consumer_t *c, const rs_tp_t *tps, size_t n, int pause, char *errstr,
                           size_t errstr_size);
/* The same for every partition of the current assignment. Partitions
 * assigned later start unpaused. */
rs_err_t rs_consumer_pause_all(rs_consumer_t *c, int pause, char *errstr, size_t errstr_size);
/* Low (log start) and high watermark of a partition, asked of the broker
 * (blocks up to timeout_ms). */
rs_err_t rs_consumer_watermarks(rs_consumer_t *c, const char *topic, int32_t partition,
                                int64_t *low, int64_t *high, int timeout_ms, char *errstr,
                                size_t errstr_size);
/* inout[i]: a timestamp (ms) in, out the first offset whose timestamp is >=
 * it, or RS_OFFSET_END (-1) if there is none (the broker answers -1; the
 * librdkafka 2.0.2 mock cluster answers -1 for every timestamp). Blocks up
 * to timeout_ms. */
rs_err_t rs_consumer_offsets_for_times(rs_consumer_t *c, const rs_tp_t *tps, int64_t *inout,
                                       size_t n, int timeout_ms, char *errstr, size_t errstr_size);
/* Number of partitions currently assigned. */
size_t rs_consumer_assignment_count(rs_consumer_t *c);
/* Sum over assigned partitions of (high watermark - position), from cached
 * values (no broker round trip); partitions not fetched from yet are skipped;
 * 0 without assignment, -1 if no partition is known yet. */
int64_t rs_consumer_lag(rs_consumer_t *c);
/* Per partition of tps: high watermark - position, from the same cached
 * values; before the first record of a partition the position is from[i]
 * (the offset it starts at; NULL or -1 = unknown). -1 where either end is
 * not known. */
void rs_consumer_lags(rs_consumer_t *c, const rs_tp_t *tps, const int64_t *from, int64_t *lag,
                      size_t n);
/* Leave the group cleanly (revoke callbacks run). Then destroy.
 * librdkafka 2.0.2 #4381: a subscribed cooperative-sticky consumer that has
 * not had its first group assignment yet first waits (up to 10 s, serving
 * callbacks, so on_assign may run) for it; if it never comes the handle is
 * kept alive instead of destroyed (destroying it would abort). */
rs_err_t rs_consumer_close(rs_consumer_t *c);
void rs_consumer_destroy(rs_consumer_t *c); /* NULL-safe; closes if needed */

/* ---- producer ---- */
typedef struct rs_producer rs_producer_t;
/* Delivery report, on the thread calling rs_producer_poll/flush/destroy.
 * err 0 = ok (errstr NULL), else RS_EKAFKA with librdkafka's error text. */
typedef void(rs_dr_cb_t)(void *opaque, void *msg_opaque, int err, const char *errstr);

/* Defaults before passthrough: linger.ms=2, enable.idempotence=true,
 * queue.buffering.max.messages=1000000. */
rs_err_t rs_producer_new(rs_producer_t **out, const rs_kv_t *kafka, size_t kafka_cnt,
                         rs_dr_cb_t *dr_cb, void *opaque, char *errstr, size_t errstr_size);
int rs_producer_fd(rs_producer_t *p);
/* Copies key, value and headers. partition -1 = partitioner by key.
 * RS_EFULL when the local queue is full (caller polls and retries). */
rs_err_t rs_producer_send(rs_producer_t *p, const char *topic, int32_t partition, const void *key,
                          size_t klen, const void *val, size_t vlen, const rs_header_t *hdrs,
                          size_t n_hdrs, void *msg_opaque);
/* Serve delivery reports without blocking; returns how many ran. */
int rs_producer_poll(rs_producer_t *p);
/* Messages produced but not yet delivered. */
int rs_producer_outq_len(rs_producer_t *p);
rs_err_t rs_producer_flush(rs_producer_t *p, int timeout_ms);
/* Looks the topics up now (non-blocking) so the first records sent to them
 * do not wait for a metadata round, which took up to a second. */
void rs_producer_prepare(rs_producer_t *p, const char *const *topics, size_t n);
void rs_producer_destroy(rs_producer_t *p); /* NULL-safe: flushes up to 5 s */

/* ---- mock cluster (librdkafka's rdkafka_mock.h) ---- */
typedef struct rs_mock rs_mock_t;
rs_err_t rs_mock_new(rs_mock_t **out, int brokers, char *errstr, size_t errstr_size);
const char *rs_mock_bootstraps(rs_mock_t *m);
rs_err_t rs_mock_topic_create(rs_mock_t *m, const char *topic, int partitions);
/* Fault injection: the next `cnt` requests of Kafka API key `api_key`
 * (0 = Produce, 1 = Fetch, 8 = OffsetCommit, ...) fail with Kafka error code `err`. */
rs_err_t rs_mock_push_errors(rs_mock_t *m, int api_key, int cnt, int kafka_err);
rs_err_t rs_mock_broker_down(rs_mock_t *m, int broker_id);
rs_err_t rs_mock_broker_up(rs_mock_t *m, int broker_id);
rs_err_t rs_mock_partition_leader(rs_mock_t *m, const char *topic, int32_t partition,
                                  int broker_id);
void rs_mock_destroy(rs_mock_t *m); /* NULL-safe */

/* Partition count of a topic via metadata (waits up to timeout_ms); <0 on
 * error: RS_ENOTFOUND if the topic does not exist (it is not auto-created). */
int rs_kafka_partition_count(const rs_kv_t *kafka, size_t kafka_cnt, const char *topic,
                             int timeout_ms, char *errstr, size_t errstr_size);
/* Creates topics[i] with partitions[i] partitions (broker-default
 * replication) through the admin API and waits until each one's metadata
 * shows that many partitions. A topic that already exists is not an error
 * (its partition count is left as it is). Not supported by the 2.0.2 mock
 * cluster: use rs_mock_topic_create there. Blocks up to timeout_ms. */
rs_err_t rs_kafka_create_topics(const rs_kv_t *kafka, size_t kafka_cnt, const char *const *topics,
                                const int *partitions, size_t n, int timeout_ms, char *errstr,
                                size_t errstr_size);
/* librdkafka version string. */
const char *rs_kafka_version(void);

#endif
