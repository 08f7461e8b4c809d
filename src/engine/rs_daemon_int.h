/* rs_daemon_int.h -- the daemon's state, shared by rs_daemon.c (consume,
 * commit, rebalance, lifecycle) and rs_daemon_ops.c (HTTP endpoints,
 * readiness, SIGHUP reload). Loop thread only. */
#ifndef RS_DAEMON_INT_H
#define RS_DAEMON_INT_H

#include "recstream/rs_align.h"
#include "recstream/rs_catalog.h"
#include "recstream/rs_daemon.h"
#include "recstream/rs_http.h"
#include "recstream/rs_kafka.h"
#include "recstream/rs_loop.h"
#include "recstream/rs_pipeline.h"

#define POLL_CHUNK   1024
#define ALIGN_CHUNK  128    /* records per poll with consume.align.ms on */
#define DRAIN_MAX_US 200000 /* keep the loop (HTTP, delivery reports) responsive */

/* records of one poll chunk: when they were consumed (monotonic), how many */
struct held_chunk {
    int64_t us;
    uint32_t n;
};

struct rs_daemon {
    const rs_conf_t *conf;
    rs_daemon_opts_t opts;
    rs_stats_t stats;
    rs_loop_t *loop;
    rs_consumer_t *consumer;
    rs_producer_t *producer;
    rs_pipeline_t *pipe;
    rs_catalog_t *catalog; /* NULL unless topic.items is set */
    rs_align_t *align;     /* NULL when consume.align.ms = 0 */
    int64_t align_ms;      /* wall time of the last alignment step */
    rs_http_t *http;
    rs_watch_t *cw, *pw, *stop_w;
    rs_defer_t *more;
    rs_timer_t *tick;
    rs_sigwatch_t *sig[3];
    int stop_pipe[2];
    rs_msg_t *msgs;
    int stopping, stopped, paused, inflight;
    struct commit_job *cur_job;   /* the write on the pool, while inflight */
    struct commit_job *retry_job; /* a failed commit waiting to be retried */
    int64_t last_msg_ms, last_commit_ms;
    int64_t score_held_us; /* monotonic time scoring was first held back under backlog, or 0 */
    /* records applied since the lists last went out, one entry per poll
     * chunk: stats.pipeline_us */
    struct held_chunk *held;
    uint32_t n_held, cap_held;
    int64_t first_msg_us; /* monotonic time of the first record (throughput excludes group join) */
    uint64_t in_flight;   /* produced, not yet delivered */
    rs_err_t exit_rc;
    /* state write failure (see the top of rs_daemon.c) */
    char pause_err[512];
    int64_t pause_since_ms, last_retry_ms;
    int repause; /* partitions were assigned while paused */
    /* Kafka readiness (rs_daemon_ops.c) */
    int kafka_bad; /* RS_KAFKA_ERR_* that made us not ready, 0 = ready */
    int64_t kafka_bad_since_ms;
    int kafka_zero_up; /* statistics in a row with no broker connection up */
    char kafka_err[512];
};

/* rs_daemon_ops.c */
void rs_daemon__http_routes(rs_daemon_t *d);
void rs_daemon__http_limits(rs_daemon_t *d); /* from the conf; again after SIGHUP */
void rs_daemon__on_hup(void *opaque);        /* SIGHUP */
void rs_daemon__kafka_error(void *opaque, int kind, const char *msg);
void rs_daemon__kafka_alive(rs_daemon_t *d);            /* an assignment or a record */
void rs_daemon__kafka_brokers_up(void *opaque, int up); /* statistics */

#endif
