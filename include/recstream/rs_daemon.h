/* rs_daemon.h -- the streaming daemon: Kafka consumer group -> pipeline ->
 * Kafka producer, on one libuv loop, with the HTTP endpoint.
 *
 *   consumer fd readable -> drain up to batch.max.events records into the
 *   pipeline -> flush (score, ONE WriteBatch, produce changed lists) ->
 *   store the committed offsets for Kafka's auto-commit (monitoring only).
 *   If the drain stopped at the cap, a deferred callback continues it (no
 *   new wake-up would come for records already queued).
 *
 * Shutdown (SIGINT/SIGTERM or rs_daemon_stop): stop reading, commit the
 * batch, flush the producer, close the consumer (revoke -> commit), exit.
 *
 * Ownership: borrows conf (must outlive the daemon). Thread: the caller's
 * thread runs the loop; rs_daemon_stop_async is the only call that is safe
 * from another thread or a signal handler context. */
#ifndef RS_DAEMON_H
#define RS_DAEMON_H

#include <stdint.h>

#include "rs_conf.h"
#include "rs_err.h"
#include "rs_metrics.h"

typedef struct rs_daemon rs_daemon_t;

typedef struct rs_daemon_opts {
    /* Stop once this many records were consumed and every output delivered
     * (demo, bench, tests); 0 = run until a signal. */
    uint64_t stop_after_events;
    /* Stop after this many ms without any record once something was
     * consumed (0 = never). */
    int idle_exit_ms;
    /* Do not install SIGINT/SIGTERM/SIGHUP handlers (embedding, tests). */
    int no_signals;
    /* SIGHUP: re-read the configuration and apply what may change live to
     * the conf given to rs_daemon_new (its owner does it: rs_conf_reload).
     * Called on the loop thread; appends one line per changed key to report;
     * returns the number of keys applied, or a negative code with errstr
     * (nothing changed). NULL: SIGHUP logs that there is nothing to reload. */
    int (*reload)(void *opaque, struct rs_buf *report, char *errstr, size_t errstr_size);
    /* Called on the loop thread after every flush (tests, progress). */
    void (*on_flush)(void *opaque, const rs_stats_t *stats);
    void *opaque;
} rs_daemon_opts_t;

rs_err_t rs_daemon_new(rs_daemon_t **out, const rs_conf_t *conf, const rs_daemon_opts_t *opts,
                       char *errstr, size_t errstr_size);
/* Runs until stopped; returns RS_OK on a clean shutdown. */
rs_err_t rs_daemon_run(rs_daemon_t *d);
/* Thread-safe request to shut down cleanly. */
void rs_daemon_stop_async(rs_daemon_t *d);
const rs_stats_t *rs_daemon_stats(rs_daemon_t *d);
/* rs_mono_us() when the first record arrived, 0 if none yet. */
int64_t rs_daemon_first_msg_us(rs_daemon_t *d);
/* HTTP port actually bound (http.port may be 0 = ephemeral), or -1. */
int rs_daemon_http_port(rs_daemon_t *d);
void rs_daemon_destroy(rs_daemon_t *d); /* NULL-safe */

#endif
