/* rs_loop.h -- recstream's only door to libuv (src/wrap/rs_loop.c).
 *
 * One loop per thread; every handle below belongs to the loop thread and its
 * callbacks run there. Handles are created by the loop (malloc) and freed by
 * the loop after *_close() (libuv's close callback); after *_close() the
 * callback is never called again. rs_work_submit() is the only way to run
 * code on another thread: work_cb runs on libuv's pool with the data the
 * caller gave it, after_cb back on the loop thread.
 *
 * Errors: negative rs_err_t (RS_ELOOP), libuv's message in errstr. */
#ifndef RS_LOOP_H
#define RS_LOOP_H

#include <stddef.h>
#include <stdint.h>

#include "rs_err.h"

typedef struct rs_loop rs_loop_t;
typedef struct rs_watch rs_watch_t;
typedef struct rs_timer rs_timer_t;
typedef struct rs_sigwatch rs_sigwatch_t;
typedef struct rs_defer rs_defer_t;

typedef void(rs_cb_t)(void *opaque);

rs_err_t rs_loop_new(rs_loop_t **out, char *errstr, size_t errstr_size);
/* Runs until rs_loop_stop() or no active handles. */
rs_err_t rs_loop_run(rs_loop_t *l);
/* Runs one non-blocking iteration (tests). */
void rs_loop_run_nowait(rs_loop_t *l);
void rs_loop_stop(rs_loop_t *l);
/* Closes remaining handles (without calling their user callbacks), waits
 * for queued work (its after_cb still runs), frees. NULL-safe. Objects that
 * own handles (rs_http_t, ...) must be destroyed before the loop. */
void rs_loop_destroy(rs_loop_t *l);
/* Loop's cached time in ms (monotonic). */
uint64_t rs_loop_now(rs_loop_t *l);

/* fd readability (uv_poll). cb may be called spuriously: drain until EAGAIN. */
rs_watch_t *rs_watch_fd(rs_loop_t *l, int fd, rs_cb_t *cb, void *opaque);
void rs_watch_close(rs_watch_t *w); /* NULL-safe */

/* Timer: first after `after_ms`, then every `repeat_ms` (0 = once). */
rs_timer_t *rs_timer_start(rs_loop_t *l, uint64_t after_ms, uint64_t repeat_ms, rs_cb_t *cb,
                           void *opaque);
void rs_timer_close(rs_timer_t *t); /* NULL-safe */

/* Signal (SIGINT/SIGTERM/SIGHUP) delivered on the loop thread. */
rs_sigwatch_t *rs_signal_watch(rs_loop_t *l, int signum, rs_cb_t *cb, void *opaque);
void rs_signal_close(rs_sigwatch_t *s); /* NULL-safe */

/* A re-armable "run soon" handle: rs_defer_arm() makes cb run once on the next
 * loop iteration (without blocking for I/O); arming twice runs it once. */
rs_defer_t *rs_defer_new(rs_loop_t *l, rs_cb_t *cb, void *opaque);
void rs_defer_arm(rs_defer_t *d);
void rs_defer_close(rs_defer_t *d); /* NULL-safe */

/* Thread pool work (uv_queue_work). */
rs_err_t rs_work_submit(rs_loop_t *l, rs_cb_t *work_cb, rs_cb_t *after_cb, void *opaque);

/* ---- minimal TCP server for the HTTP endpoint ---- */
typedef struct rs_tcp_server rs_tcp_server_t;
typedef struct rs_tcp_conn rs_tcp_conn_t;

typedef struct rs_tcp_handler {
    void *opaque;
    /* New bytes arrived on conn (buffer valid during the call only). */
    void (*on_data)(void *opaque, rs_tcp_conn_t *conn, const char *data, size_t len);
    /* Connection went away; optional. Called exactly once per connection,
     * synchronously from whatever closes it (peer EOF/error, end of a
     * close_after write, rs_tcp_conn_close, rs_tcp_server_close, the
     * connection timeout); afterwards no callback mentions conn again. */
    void (*on_close)(void *opaque, rs_tcp_conn_t *conn);
} rs_tcp_handler_t;

/* Live connections per server; more are accepted and closed at once. */
#define RS_TCP_MAX_CONNS 256

/* Listen on host:port (port 0 = ephemeral; see rs_tcp_server_port). */
rs_err_t rs_tcp_listen(rs_loop_t *l, const char *host, int port, const rs_tcp_handler_t *h,
                       rs_tcp_server_t **out, char *errstr, size_t errstr_size);
int rs_tcp_server_port(rs_tcp_server_t *s);
/* Close connections older than ms (0 = never, the default), checked at most
 * every second; bounds how long a slow client can hold a connection. */
void rs_tcp_server_set_conn_timeout(rs_tcp_server_t *s, uint64_t ms);
void rs_tcp_server_close(rs_tcp_server_t *s); /* closes all its connections; NULL-safe */
/* Per-connection user pointer (for request parsing state). */
void rs_tcp_conn_set_data(rs_tcp_conn_t *c, void *data);
void *rs_tcp_conn_data(rs_tcp_conn_t *c);
/* The client's IP address as text ("127.0.0.1", "::1"); "" if unknown. */
const char *rs_tcp_conn_peer(rs_tcp_conn_t *c);
/* Queue bytes (copied). close_after: once written, shut down our side, stop
 * delivering on_data, and close when the peer closes (lingering close, so
 * the peer is not reset while it still sends). Writes after close_after or
 * on a closing connection are dropped. */
void rs_tcp_write(rs_tcp_conn_t *c, const void *data, size_t len, int close_after);
/* Close now (pending writes are dropped); on_close runs inside this call. */
void rs_tcp_conn_close(rs_tcp_conn_t *c);

#endif
