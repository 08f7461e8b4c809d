/* rs_loop.c -- recstream's only door to libuv (the one file that includes <uv.h>).
 *
 * Every handle the rest of recstream sees (timer, fd watch, signal, defer,
 * TCP server and connection) is a heap wrapper that embeds the uv handle and
 * starts with a `hbase`. The uv handle's `data` points at the wrapper, so
 * one close callback (on_uv_close) frees any of them, and rs_loop_destroy()
 * can uv_walk() the loop and close whatever is left through hbase.close_fn.
 *
 * Invariants:
 * - hbase.closing is set when a close starts; every uv callback checks it
 *   first, so after *_close() no user callback runs, and a second close of
 *   the same handle before its memory is gone is a no-op (the walk in
 *   rs_loop_destroy may meet a handle its owner closes too, e.g. a server's
 *   sweep timer).
 * - Wrapper memory lives until libuv's close callback (libuv's rule).
 * - A connection is unlinked from its server when its close starts, so a
 *   server may be freed before its connections' close callbacks run.
 * - While rs_loop_destroy runs, user callbacks of closed handles are not
 *   called: their owners may already be gone.
 *
 * TCP: reads land in one loop-wide buffer (callbacks are synchronous on the
 * loop thread, so one buffer suffices); writes copy into a heap request.
 * close_after does a lingering close: write, shutdown(SHUT_WR), discard
 * input until the peer's EOF, then close. Closing with unread input would
 * make the kernel send RST, which can destroy the response we just wrote
 * (e.g. a 431 to a client still sending its oversized request). */
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "recstream/rs_buf.h"
#include "recstream/rs_log.h"
#include "recstream/rs_loop.h"

#define RBUF_SIZE      65536
#define LISTEN_BACKLOG 128

typedef struct hbase hbase_t;
struct hbase {
    void (*close_fn)(hbase_t *b); /* what rs_loop_destroy calls for it */
    rs_loop_t *loop;
    int closing;
};

struct rs_loop {
    uv_loop_t uv;
    int destroying;
    char rbuf[RBUF_SIZE];
};

struct rs_watch {
    hbase_t base;
    uv_poll_t poll;
    rs_cb_t *cb;
    void *opaque;
};

struct rs_timer {
    hbase_t base;
    uv_timer_t timer;
    rs_cb_t *cb;
    void *opaque;
};

struct rs_sigwatch {
    hbase_t base;
    uv_signal_t sig;
    rs_cb_t *cb;
    void *opaque;
};

struct rs_defer {
    hbase_t base;
    uv_idle_t idle;
    rs_cb_t *cb;
    void *opaque;
};

struct rs_tcp_server {
    hbase_t base;
    uv_tcp_t tcp;
    rs_tcp_handler_t h;
    rs_tcp_conn_t *conns; /* live (not closing) connections */
    int nconns;
    int port;
    uint64_t conn_timeout_ms;
    rs_timer_t *sweep;
};

struct rs_tcp_conn {
    hbase_t base;
    uv_tcp_t tcp;
    uv_shutdown_t sreq;
    rs_tcp_server_t *srv; /* NULL once closing */
    rs_tcp_conn_t *prev, *next;
    void *data;
    uint64_t opened_ms;
    int nwrites;   /* uv_write requests in flight */
    int shutting;  /* close_after seen: shutdown queued, input discarded */
    int shut_done; /* shutdown completed */
    int eof;       /* peer closed its side */
    char peer[64]; /* the client's address, "" if unknown (rs_http's per-client limit) */
};

typedef struct wreq {
    uv_write_t req;
    rs_tcp_conn_t *c;
    char data[];
} wreq_t;

typedef struct work {
    uv_work_t req;
    rs_cb_t *work_cb;
    rs_cb_t *after_cb;
    void *opaque;
} work_t;

static void on_uv_close(uv_handle_t *h) {
    free(h->data);
}

/* Starts closing a wrapper's handle; returns 0 if it was already closing. */
static int begin_close(hbase_t *b, uv_handle_t *h) {
    if (b->closing) return 0;
    b->closing = 1;
    uv_close(h, on_uv_close);
    return 1;
}

/* ---- loop ---- */

rs_err_t rs_loop_new(rs_loop_t **out, char *errstr, size_t errstr_size) {
    *out = NULL;
    rs_loop_t *l = rs_xcalloc(1, sizeof(*l));
    int rc = uv_loop_init(&l->uv);
    if (rc != 0) {
        free(l);
        return rs_seterr(errstr, errstr_size, RS_ELOOP, "uv_loop_init: %s", uv_strerror(rc));
    }
    l->uv.data = l;
    *out = l;
    return RS_OK;
}

rs_err_t rs_loop_run(rs_loop_t *l) {
    uv_run(&l->uv, UV_RUN_DEFAULT);
    return RS_OK;
}

void rs_loop_run_nowait(rs_loop_t *l) {
    uv_run(&l->uv, UV_RUN_NOWAIT);
}

void rs_loop_stop(rs_loop_t *l) {
    uv_stop(&l->uv);
}

uint64_t rs_loop_now(rs_loop_t *l) {
    return uv_now(&l->uv);
}

static void walk_close(uv_handle_t *h, void *arg) {
    hbase_t *b = h->data;
    if (uv_is_closing(h) || !b || b->closing) return;
    b->close_fn(b);
}

void rs_loop_destroy(rs_loop_t *l) {
    if (!l) return;
    l->destroying = 1;
    /* Close everything, then run one iteration; repeat while anything is
     * alive (queued work finishing, or an after_cb that made a handle). */
    for (;;) {
        uv_walk(&l->uv, walk_close, NULL);
        if (!uv_run(&l->uv, UV_RUN_ONCE)) break;
    }
    int rc = uv_loop_close(&l->uv);
    if (rc != 0) rs_error("loop", "uv_loop_close: %s", uv_strerror(rc));
    free(l);
}

/* ---- fd watch ---- */

static void on_poll(uv_poll_t *p, int status, int events) {
    rs_watch_t *w = p->data;
    if (w->base.closing) return;
    /* On error (status < 0) the callback still runs: its read reports it. */
    w->cb(w->opaque);
}

static void watch_close_base(hbase_t *b) {
    rs_watch_close((rs_watch_t *)b);
}

rs_watch_t *rs_watch_fd(rs_loop_t *l, int fd, rs_cb_t *cb, void *opaque) {
    rs_watch_t *w = rs_xcalloc(1, sizeof(*w));
    w->base.close_fn = watch_close_base;
    w->base.loop = l;
    w->cb = cb;
    w->opaque = opaque;
    int rc = uv_poll_init(&l->uv, &w->poll, fd); /* also makes fd non-blocking */
    if (rc != 0) {
        rs_error("loop", "uv_poll_init(fd %d): %s", fd, uv_strerror(rc));
        free(w);
        return NULL;
    }
    w->poll.data = w;
    rc = uv_poll_start(&w->poll, UV_READABLE, on_poll);
    if (rc != 0) {
        rs_error("loop", "uv_poll_start(fd %d): %s", fd, uv_strerror(rc));
        begin_close(&w->base, (uv_handle_t *)&w->poll);
        return NULL;
    }
    return w;
}

void rs_watch_close(rs_watch_t *w) {
    if (w) begin_close(&w->base, (uv_handle_t *)&w->poll);
}

/* ---- timer ---- */

static void on_timer(uv_timer_t *t) {
    rs_timer_t *tm = t->data;
    if (tm->base.closing) return;
    tm->cb(tm->opaque);
}

static void timer_close_base(hbase_t *b) {
    rs_timer_close((rs_timer_t *)b);
}

rs_timer_t *rs_timer_start(rs_loop_t *l, uint64_t after_ms, uint64_t repeat_ms, rs_cb_t *cb,
                           void *opaque) {
    rs_timer_t *t = rs_xcalloc(1, sizeof(*t));
    t->base.close_fn = timer_close_base;
    t->base.loop = l;
    t->cb = cb;
    t->opaque = opaque;
    uv_timer_init(&l->uv, &t->timer); /* cannot fail */
    t->timer.data = t;
    int rc = uv_timer_start(&t->timer, on_timer, after_ms, repeat_ms);
    if (rc != 0) {
        rs_error("loop", "uv_timer_start: %s", uv_strerror(rc));
        begin_close(&t->base, (uv_handle_t *)&t->timer);
        return NULL;
    }
    return t;
}

void rs_timer_close(rs_timer_t *t) {
    if (t) begin_close(&t->base, (uv_handle_t *)&t->timer);
}

/* ---- signal ---- */

static void on_signal(uv_signal_t *s, int signum) {
    rs_sigwatch_t *sw = s->data;
    if (sw->base.closing) return;
    sw->cb(sw->opaque);
}

static void sig_close_base(hbase_t *b) {
    rs_signal_close((rs_sigwatch_t *)b);
}

rs_sigwatch_t *rs_signal_watch(rs_loop_t *l, int signum, rs_cb_t *cb, void *opaque) {
    rs_sigwatch_t *s = rs_xcalloc(1, sizeof(*s));
    s->base.close_fn = sig_close_base;
    s->base.loop = l;
    s->cb = cb;
    s->opaque = opaque;
    int rc = uv_signal_init(&l->uv, &s->sig);
    if (rc != 0) {
        rs_error("loop", "uv_signal_init: %s", uv_strerror(rc));
        free(s);
        return NULL;
    }
    s->sig.data = s;
    rc = uv_signal_start(&s->sig, on_signal, signum);
    if (rc != 0) {
        rs_error("loop", "uv_signal_start(%d): %s", signum, uv_strerror(rc));
        begin_close(&s->base, (uv_handle_t *)&s->sig);
        return NULL;
    }
    return s;
}

void rs_signal_close(rs_sigwatch_t *s) {
    if (s) begin_close(&s->base, (uv_handle_t *)&s->sig);
}

/* ---- defer ---- */

/* An active idle handle makes libuv poll for I/O with a zero timeout, so an
 * armed defer runs on the next iteration without waiting for I/O. It stops
 * before calling cb, so cb may re-arm it. */
static void on_idle(uv_idle_t *i) {
    rs_defer_t *d = i->data;
    uv_idle_stop(i);
    if (d->base.closing) return;
    d->cb(d->opaque);
}

static void defer_close_base(hbase_t *b) {
    rs_defer_close((rs_defer_t *)b);
}

rs_defer_t *rs_defer_new(rs_loop_t *l, rs_cb_t *cb, void *opaque) {
    rs_defer_t *d = rs_xcalloc(1, sizeof(*d));
    d->base.close_fn = defer_close_base;
    d->base.loop = l;
    d->cb = cb;
    d->opaque = opaque;
    uv_idle_init(&l->uv, &d->idle); /* cannot fail */
    d->idle.data = d;
    return d;
}

void rs_defer_arm(rs_defer_t *d) {
    if (d->base.closing || uv_is_active((uv_handle_t *)&d->idle)) return;
    uv_idle_start(&d->idle, on_idle);
}

void rs_defer_close(rs_defer_t *d) {
    if (d) begin_close(&d->base, (uv_handle_t *)&d->idle);
}

/* ---- thread pool ---- */

static void on_work(uv_work_t *req) {
    work_t *w = req->data;
    w->work_cb(w->opaque);
}

static void on_after_work(uv_work_t *req, int status) {
    work_t *w = req->data;
    /* Runs even while the loop is being destroyed: after_cb usually frees
     * what work_cb used, and libuv never cancels a running job. */
    if (w->after_cb) w->after_cb(w->opaque);
    free(w);
}

rs_err_t rs_work_submit(rs_loop_t *l, rs_cb_t *work_cb, rs_cb_t *after_cb, void *opaque) {
    if (!work_cb) return RS_EARG;
    work_t *w = rs_xcalloc(1, sizeof(*w));
    w->work_cb = work_cb;
    w->after_cb = after_cb;
    w->opaque = opaque;
    w->req.data = w;
    int rc = uv_queue_work(&l->uv, &w->req, on_work, on_after_work);
    if (rc != 0) {
        rs_error("loop", "uv_queue_work: %s", uv_strerror(rc));
        free(w);
        return RS_ELOOP;
    }
    return RS_OK;
}

/* ---- TCP ---- */

static void conn_close(rs_tcp_conn_t *c) {
    if (c->base.closing) return;
    rs_tcp_server_t *s = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    c->prev = c->next = NULL;
    c->srv = NULL;
    s->nconns--;
    begin_close(&c->base, (uv_handle_t *)&c->tcp);
    if (!c->base.loop->destroying && s->h.on_close) s->h.on_close(s->h.opaque, c);
}

static void conn_close_base(hbase_t *b) {
    conn_close((rs_tcp_conn_t *)b);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    rs_tcp_conn_t *c = h->data;
    *buf = uv_buf_init(c->base.loop->rbuf, RBUF_SIZE);
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf) {
    rs_tcp_conn_t *c = st->data;
    if (c->base.closing) return;
    if (nread > 0) {
        if (!c->shutting) c->srv->h.on_data(c->srv->h.opaque, c, buf->base, (size_t)nread);
        return;
    }
    if (nread == 0) return; /* EAGAIN */
    if (nread != UV_EOF) {
        rs_debug("loop", "tcp read: %s", uv_strerror((int)nread));
        conn_close(c);
        return;
    }
    c->eof = 1;
    uv_read_stop(st);
    /* Let queued output finish before closing: a client may half-close
     * right after sending its request. */
    if (c->shutting ? c->shut_done : c->nwrites == 0) conn_close(c);
}

static void on_shutdown(uv_shutdown_t *req, int status) {
    rs_tcp_conn_t *c = req->data;
    if (c->base.closing) return;
    c->shut_done = 1;
    if (status < 0 || c->eof) conn_close(c);
    /* else: keep reading (discarding) until the peer closes. */
}

static void on_write(uv_write_t *req, int status) {
    wreq_t *w = req->data;
    rs_tcp_conn_t *c = w->c;
    free(w);
    if (c->base.closing) return; /* cancelled by close; memory still valid */
    c->nwrites--;
    if (status < 0) {
        rs_debug("loop", "tcp write: %s", uv_strerror(status));
        conn_close(c);
    } else if (c->eof && !c->shutting && c->nwrites == 0) {
        conn_close(c);
    }
}

void rs_tcp_write(rs_tcp_conn_t *c, const void *data, size_t len, int close_after) {
    if (c->base.closing || c->shutting) return;
    if (len > 0) {
        wreq_t *w = rs_xmalloc(sizeof(*w) + len);
        memcpy(w->data, data, len);
        w->c = c;
        w->req.data = w;
        uv_buf_t b = uv_buf_init(w->data, (unsigned)len);
        int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write);
        if (rc != 0) {
            free(w);
            rs_debug("loop", "uv_write: %s", uv_strerror(rc));
            conn_close(c);
            return;
        }
        c->nwrites++;
    }
    if (close_after) {
        c->shutting = 1;
        if (c->eof && c->nwrites == 0) {
            conn_close(c);
            return;
        }
        c->sreq.data = c;
        /* Runs after the queued writes complete. */
        int rc = uv_shutdown(&c->sreq, (uv_stream_t *)&c->tcp, on_shutdown);
        if (rc != 0) conn_close(c);
    }
}

void rs_tcp_conn_close(rs_tcp_conn_t *c) {
    if (c) conn_close(c);
}

void rs_tcp_conn_set_data(rs_tcp_conn_t *c, void *data) {
    c->data = data;
}
void *rs_tcp_conn_data(rs_tcp_conn_t *c) {
    return c->data;
}

const char *rs_tcp_conn_peer(rs_tcp_conn_t *c) {
    return c->peer;
}

static void on_sweep(void *opaque) {
    rs_tcp_server_t *s = opaque;
    if (!s->conn_timeout_ms) return;
    uint64_t now = uv_now(&s->base.loop->uv);
    rs_tcp_conn_t *c = s->conns, *next;
    for (; c; c = next) {
        next = c->next; /* conn_close unlinks c; on_close may not close others */
        if (now - c->opened_ms >= s->conn_timeout_ms) {
            rs_debug("loop", "tcp connection timed out after %llu ms",
                     (unsigned long long)(now - c->opened_ms));
            conn_close(c);
        }
    }
}

void rs_tcp_server_set_conn_timeout(rs_tcp_server_t *s, uint64_t ms) {
    s->conn_timeout_ms = ms;
    rs_timer_close(s->sweep);
    s->sweep = NULL;
    if (!ms) return;
    uint64_t every = ms / 2 < 1000 ? ms / 2 : 1000;
    if (every < 10) every = 10;
    s->sweep = rs_timer_start(s->base.loop, every, every, on_sweep, s);
}

static void on_connection(uv_stream_t *ls, int status) {
    rs_tcp_server_t *s = ls->data;
    if (s->base.closing) return;
    if (status < 0) {
        rs_warn("loop", "tcp accept: %s", uv_strerror(status));
        return;
    }
    rs_loop_t *l = s->base.loop;
    rs_tcp_conn_t *c = rs_xcalloc(1, sizeof(*c));
    c->base.close_fn = conn_close_base;
    c->base.loop = l;
    uv_tcp_init(&l->uv, &c->tcp);
    c->tcp.data = c;
    int rc = uv_accept(ls, (uv_stream_t *)&c->tcp);
    /* Over the limit we still accept (else libuv stops accepting) and close. */
    if (rc != 0 || s->nconns >= RS_TCP_MAX_CONNS) {
        if (rc != 0)
            rs_warn("loop", "uv_accept: %s", uv_strerror(rc));
        else
            rs_warn("loop", "tcp: %d connections, refusing one", s->nconns);
        begin_close(&c->base, (uv_handle_t *)&c->tcp);
        return;
    }
    c->srv = s;
    c->opened_ms = uv_now(&l->uv);
    struct sockaddr_storage sa;
    int salen = sizeof(sa);
    if (!uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&sa, &salen))
        uv_ip_name((struct sockaddr *)&sa, c->peer, sizeof(c->peer));
    c->next = s->conns;
    if (s->conns) s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    uv_tcp_nodelay(&c->tcp, 1);
    rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (rc != 0) {
        rs_warn("loop", "uv_read_start: %s", uv_strerror(rc));
        conn_close(c);
    }
}

static void server_close_base(hbase_t *b) {
    rs_tcp_server_close((rs_tcp_server_t *)b);
}

rs_err_t rs_tcp_listen(rs_loop_t *l, const char *host, int port, const rs_tcp_handler_t *h,
                       rs_tcp_server_t **out, char *errstr, size_t errstr_size) {
    *out = NULL;
    if (!h || !h->on_data || port < 0 || port > 65535)
        return rs_seterr(errstr, errstr_size, RS_EARG, "tcp listen: bad handler or port");
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) != 0 &&
        uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) != 0)
        return rs_seterr(errstr, errstr_size, RS_EARG,
                         "tcp listen: \"%s\" is not an IPv4 or IPv6 address", host);
    rs_tcp_server_t *s = rs_xcalloc(1, sizeof(*s));
    s->base.close_fn = server_close_base;
    s->base.loop = l;
    s->h = *h;
    int rc = uv_tcp_init(&l->uv, &s->tcp);
    if (rc != 0) {
        free(s);
        return rs_seterr(errstr, errstr_size, RS_ELOOP, "uv_tcp_init: %s", uv_strerror(rc));
    }
    s->tcp.data = s;
    const char *what = "bind";
    rc = uv_tcp_bind(&s->tcp, (const struct sockaddr *)&ss, 0);
    if (rc == 0) {
        what = "listen"; /* libuv reports a busy port here, not at bind */
        rc = uv_listen((uv_stream_t *)&s->tcp, LISTEN_BACKLOG, on_connection);
    }
    if (rc == 0) {
        struct sockaddr_storage bound;
        int len = (int)sizeof(bound);
        what = "getsockname";
        rc = uv_tcp_getsockname(&s->tcp, (struct sockaddr *)&bound, &len);
        if (rc == 0)
            s->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                        : ((struct sockaddr_in *)&bound)->sin_port);
    }
    if (rc != 0) {
        rs_seterr(errstr, errstr_size, RS_ELOOP, "tcp %s %s:%d: %s", what, host, port,
                  uv_strerror(rc));
        begin_close(&s->base, (uv_handle_t *)&s->tcp); /* freed by the loop */
        return RS_ELOOP;
    }
    *out = s;
    return RS_OK;
}

int rs_tcp_server_port(rs_tcp_server_t *s) {
    return s->port;
}

void rs_tcp_server_close(rs_tcp_server_t *s) {
    if (!s || s->base.closing) return;
    while (s->conns) conn_close(s->conns);
    rs_timer_close(s->sweep);
    s->sweep = NULL;
    begin_close(&s->base, (uv_handle_t *)&s->tcp);
}
