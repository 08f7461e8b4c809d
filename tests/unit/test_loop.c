/* test_loop.c -- rs_loop: timers, defer, fd watch, thread pool, signals,
 * TCP (with plain POSIX client sockets on a helper thread), and teardown of
 * leftover handles under ASan. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "recstream/rs_loop.h"
#include "rs_test.h"

static rs_loop_t *new_loop(void) {
    rs_loop_t *l = NULL;
    char err[256];
    if (rs_loop_new(&l, err, sizeof(err)) != RS_OK) {
        fprintf(stderr, "rs_loop_new: %s\n", err);
        abort();
    }
    return l;
}

/* ---- timers ---- */

typedef struct {
    int n, stop_at;
    rs_timer_t *t;
} tctx_t;

static void on_tick(void *o) {
    tctx_t *c = o;
    if (++c->n == c->stop_at) rs_timer_close(c->t);
}

TEST(timer_repeat_then_close) {
    rs_loop_t *l = new_loop();
    tctx_t c = {.stop_at = 5};
    c.t = rs_timer_start(l, 1, 1, on_tick, &c);
    ASSERT(c.t);
    ASSERT_OK(rs_loop_run(l)); /* returns once the timer is closed */
    ASSERT_EQ(c.n, 5);

    /* One-shot: fires once; the loop then has nothing active. */
    tctx_t once = {.stop_at = -1};
    once.t = rs_timer_start(l, 0, 0, on_tick, &once);
    ASSERT_OK(rs_loop_run(l));
    ASSERT_EQ(once.n, 1);
    rs_timer_close(once.t);

    /* Closed before it fires: never runs. */
    tctx_t never = {.stop_at = -1};
    never.t = rs_timer_start(l, 0, 1, on_tick, &never);
    rs_timer_close(never.t);
    rs_timer_close(NULL);
    ASSERT_OK(rs_loop_run(l));
    ASSERT_EQ(never.n, 0);
    uint64_t now = rs_loop_now(l);
    ASSERT(now > 0);
    rs_loop_destroy(l);
    rs_loop_destroy(NULL);
}

/* ---- defer ---- */

typedef struct {
    int n, rearm_until;
    rs_defer_t *d;
    rs_loop_t *l;
} dctx_t;

static void on_defer(void *o) {
    dctx_t *c = o;
    c->n++;
    if (c->n < c->rearm_until) rs_defer_arm(c->d);
}

static void on_defer_stop(void *o) {
    dctx_t *c = o;
    c->n++;
    rs_loop_stop(c->l);
}

TEST(defer_once_and_rearm) {
    rs_loop_t *l = new_loop();
    dctx_t c = {0};
    c.d = rs_defer_new(l, on_defer, &c);
    rs_defer_arm(c.d);
    rs_defer_arm(c.d);
    rs_loop_run_nowait(l);
    ASSERT_EQ(c.n, 1);
    rs_loop_run_nowait(l);
    ASSERT_EQ(c.n, 1); /* stopped itself */
    rs_defer_arm(c.d);
    rs_loop_run_nowait(l);
    ASSERT_EQ(c.n, 2);
    /* Re-armed from its own callback: one run per iteration. */
    c.rearm_until = 5;
    rs_defer_arm(c.d);
    ASSERT_OK(rs_loop_run(l));
    ASSERT_EQ(c.n, 5);
    /* Armed then closed: never runs. */
    rs_defer_arm(c.d);
    rs_defer_close(c.d);
    ASSERT_OK(rs_loop_run(l));
    ASSERT_EQ(c.n, 5);

    /* Does not wait for I/O: a far timer keeps the loop alive, the defer
     * stops the loop on its first iteration (else this test would hang). */
    dctx_t s = {.l = l};
    s.d = rs_defer_new(l, on_defer_stop, &s);
    rs_timer_t *far = rs_timer_start(l, 600000, 0, on_tick, &(tctx_t){0});
    rs_defer_arm(s.d);
    ASSERT_OK(rs_loop_run(l));
    ASSERT_EQ(s.n, 1);
    rs_timer_close(far);
    rs_defer_close(s.d);
    rs_loop_destroy(l);
}

/* ---- fd watch ---- */

typedef struct {
    int fd, calls;
    char got[16];
    size_t len;
    rs_watch_t *w;
} wctx_t;

static void on_readable(void *o) {
    wctx_t *c = o;
    c->calls++;
    for (;;) {
        ssize_t n = read(c->fd, c->got + c->len, sizeof(c->got) - 1 - c->len);
        if (n > 0) {
            c->len += (size_t)n;
            continue;
        }
        break; /* EAGAIN: the watch made the fd non-blocking */
    }
    if (c->len >= 3) rs_watch_close(c->w);
}

TEST(watch_fd_pipe) {
    rs_loop_t *l = new_loop();
    int p[2];
    ASSERT_OK(pipe(p));
    wctx_t c = {.fd = p[0]};
    c.w = rs_watch_fd(l, p[0], on_readable, &c);
    ASSERT(c.w);
    ASSERT(fcntl(p[0], F_GETFL) & O_NONBLOCK);
    ASSERT_EQ(write(p[1], "abc", 3), 3);
    ASSERT_OK(rs_loop_run(l));
    ASSERT_EQ(c.calls, 1);
    ASSERT_EQ(c.len, 3);
    ASSERT_EQ(memcmp(c.got, "abc", 3), 0);
    /* A second watch on the same fd while the first is alive fails. */
    wctx_t c2 = {.fd = p[0]};
    c2.w = rs_watch_fd(l, p[0], on_readable, &c2);
    rs_watch_t *dup = rs_watch_fd(l, p[0], on_readable, &c2);
    ASSERT(!dup);
    rs_watch_close(c2.w);
    rs_loop_destroy(l);
    close(p[0]);
    close(p[1]);
}

/* ---- thread pool ---- */

#define NJOBS 8
static pthread_t g_loop_thread;
static atomic_int g_work_runs;

typedef struct {
    pthread_t ran_on;
    int after_on_loop;
    int *after_count;
} job_t;

static void job_work(void *o) {
    job_t *j = o;
    j->ran_on = pthread_self();
    atomic_fetch_add(&g_work_runs, 1);
}

static void job_after(void *o) {
    job_t *j = o;
    j->after_on_loop = pthread_equal(pthread_self(), g_loop_thread);
    (*j->after_count)++;
}

TEST(work_submit_threads) {
    rs_loop_t *l = new_loop();
    g_loop_thread = pthread_self();
    atomic_store(&g_work_runs, 0);
    job_t jobs[NJOBS];
    int after = 0;
    for (int i = 0; i < NJOBS; i++) {
        jobs[i] = (job_t){.after_count = &after};
        ASSERT_OK(rs_work_submit(l, job_work, job_after, &jobs[i]));
    }
    ASSERT_EQ(rs_work_submit(l, NULL, job_after, &jobs[0]), RS_EARG);
    ASSERT_OK(rs_loop_run(l)); /* alive until every after_cb ran */
    ASSERT_EQ(atomic_load(&g_work_runs), NJOBS);
    ASSERT_EQ(after, NJOBS);
    for (int i = 0; i < NJOBS; i++) {
        ASSERT(!pthread_equal(jobs[i].ran_on, g_loop_thread));
        ASSERT_EQ(jobs[i].after_on_loop, 1);
    }
    rs_loop_destroy(l);
}

/* ---- signals ---- */

typedef struct {
    int n;
    rs_sigwatch_t *s;
} sctx_t;

static void on_sig(void *o) {
    sctx_t *c = o;
    c->n++;
    rs_signal_close(c->s);
}

TEST(signal_usr1) {
    rs_loop_t *l = new_loop();
    sctx_t c = {0};
    c.s = rs_signal_watch(l, SIGUSR1, on_sig, &c);
    ASSERT(c.s);
    ASSERT_OK(raise(SIGUSR1));
    ASSERT_OK(rs_loop_run(l));
    ASSERT_EQ(c.n, 1);
    rs_loop_destroy(l);
}

/* ---- TCP ---- */

static atomic_int g_client_done;

static void poll_done(void *o) {
    rs_loop_t *l = o;
    if (atomic_load(&g_client_done)) rs_loop_stop(l);
}

/* Runs the loop until the client thread sets g_client_done, then joins. */
static void run_client(rs_loop_t *l, void *(*fn)(void *), void *arg) {
    pthread_t th;
    atomic_store(&g_client_done, 0);
    pthread_create(&th, NULL, fn, arg);
    rs_timer_t *t = rs_timer_start(l, 1, 1, poll_done, l);
    rs_loop_run(l);
    rs_timer_close(t);
    pthread_join(th, NULL);
}

static int connect_to(int family, int port) {
    int fd = socket(family, SOCK_STREAM, 0);
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    int rc;
    if (family == AF_INET6) {
        struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
        inet_pton(AF_INET6, "::1", &a.sin6_addr);
        rc = connect(fd, (struct sockaddr *)&a, sizeof(a));
    } else {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        rc = connect(fd, (struct sockaddr *)&a, sizeof(a));
    }
    if (rc != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Reads until EOF (or error); returns bytes read. */
static size_t read_all(int fd, char *buf, size_t cap) {
    size_t len = 0;
    for (;;) {
        ssize_t n = recv(fd, buf + len, cap - len, 0);
        if (n <= 0) break;
        len += (size_t)n;
        if (len == cap) break;
    }
    return len;
}

typedef struct {
    int family, port;
    char got[64];
    size_t len;
    int ok;
} client_t;

/* hello -> echo, then bye -> "ok" and the server closes. */
static void *echo_client(void *o) {
    client_t *c = o;
    int fd = connect_to(c->family, c->port);
    if (fd >= 0) {
        char b[5];
        c->ok = send(fd, "hello", 5, 0) == 5 && recv(fd, b, 5, MSG_WAITALL) == 5 &&
                !memcmp(b, "hello", 5) && send(fd, "bye", 3, 0) == 3;
        c->len = read_all(fd, c->got, sizeof(c->got));
        close(fd);
    }
    atomic_store(&g_client_done, 1);
    return NULL;
}

/* Connects, sends one byte, waits for the server to close. */
static void *idle_client(void *o) {
    client_t *c = o;
    int fd = connect_to(c->family, c->port);
    if (fd >= 0) {
        c->ok = send(fd, "x", 1, 0) == 1;
        c->len = read_all(fd, c->got, sizeof(c->got));
        close(fd);
    }
    atomic_store(&g_client_done, 1);
    return NULL;
}

typedef struct {
    int data_calls, closes;
    rs_tcp_server_t *srv;
    int close_server_on_data;
    int conn_data_ok;
} sctx2_t;

static void echo_on_data(void *o, rs_tcp_conn_t *c, const char *d, size_t n) {
    sctx2_t *s = o;
    s->data_calls++;
    if (s->close_server_on_data) {
        rs_tcp_server_close(s->srv);
        return;
    }
    if (n == 3 && !memcmp(d, "bye", 3)) {
        rs_tcp_write(c, "ok", 2, 1);
        rs_tcp_write(c, "dropped", 7, 0); /* after close_after: ignored */
    } else {
        rs_tcp_write(c, d, n, 0);
    }
}

static void echo_on_close(void *o, rs_tcp_conn_t *c) {
    sctx2_t *s = o;
    s->closes++;
    s->conn_data_ok = rs_tcp_conn_data(c) == (void *)s;
}

static void tag_on_data(void *o, rs_tcp_conn_t *c, const char *d, size_t n) {
    rs_tcp_conn_set_data(c, o);
    echo_on_data(o, c, d, n);
}

TEST(tcp_echo_v4_v6) {
    rs_loop_t *l = new_loop();
    sctx2_t s = {0};
    rs_tcp_handler_t h = {.opaque = &s, .on_data = tag_on_data, .on_close = echo_on_close};
    char err[256];
    ASSERT_OK(rs_tcp_listen(l, "127.0.0.1", 0, &h, &s.srv, err, sizeof(err)));
    int port = rs_tcp_server_port(s.srv);
    ASSERT(port > 0);
    client_t c = {.family = AF_INET, .port = port};
    run_client(l, echo_client, &c);
    ASSERT_EQ(c.ok, 1);
    ASSERT_EQ(c.len, 2);
    ASSERT_EQ(memcmp(c.got, "ok", 2), 0);
    ASSERT_EQ(s.closes, 1);
    ASSERT_EQ(s.conn_data_ok, 1);
    rs_tcp_server_close(s.srv);

    /* Bad address and busy port are reported, not crashed on. */
    rs_tcp_server_t *bad = NULL;
    ASSERT_EQ(rs_tcp_listen(l, "localhost", 0, &h, &bad, err, sizeof(err)), RS_EARG);
    ASSERT(!bad);
    rs_tcp_server_t *s1 = NULL, *s2 = NULL;
    ASSERT_OK(rs_tcp_listen(l, "127.0.0.1", 0, &h, &s1, err, sizeof(err)));
    ASSERT_EQ(rs_tcp_listen(l, "127.0.0.1", rs_tcp_server_port(s1), &h, &s2, err, sizeof(err)),
              RS_ELOOP);
    ASSERT(!s2);
    rs_tcp_server_close(s1);

    /* IPv6 loopback, where the machine has it. */
    sctx2_t s6 = {0};
    h.opaque = &s6;
    if (rs_tcp_listen(l, "::1", 0, &h, &s6.srv, err, sizeof(err)) == RS_OK) {
        client_t c6 = {.family = AF_INET6, .port = rs_tcp_server_port(s6.srv)};
        run_client(l, echo_client, &c6);
        ASSERT_EQ(c6.ok, 1);
        ASSERT_EQ(c6.len, 2);
        ASSERT_EQ(s6.closes, 1);
        rs_tcp_server_close(s6.srv);
    } else {
        fprintf(stderr, "  (no IPv6 loopback: %s)\n", err);
    }
    rs_loop_destroy(l);
}

TEST(tcp_server_close_closes_conns) {
    rs_loop_t *l = new_loop();
    sctx2_t s = {.close_server_on_data = 1};
    rs_tcp_handler_t h = {.opaque = &s, .on_data = echo_on_data, .on_close = echo_on_close};
    char err[256];
    ASSERT_OK(rs_tcp_listen(l, "127.0.0.1", 0, &h, &s.srv, err, sizeof(err)));
    client_t c = {.family = AF_INET, .port = rs_tcp_server_port(s.srv)};
    run_client(l, idle_client, &c);
    ASSERT_EQ(c.ok, 1);
    ASSERT_EQ(c.len, 0); /* EOF, nothing written */
    ASSERT_EQ(s.data_calls, 1);
    ASSERT_EQ(s.closes, 1);
    rs_loop_destroy(l);
}

TEST(tcp_conn_timeout) {
    rs_loop_t *l = new_loop();
    sctx2_t s = {0};
    rs_tcp_handler_t h = {.opaque = &s, .on_data = echo_on_data, .on_close = echo_on_close};
    char err[256];
    ASSERT_OK(rs_tcp_listen(l, "127.0.0.1", 0, &h, &s.srv, err, sizeof(err)));
    rs_tcp_server_set_conn_timeout(s.srv, 50);
    client_t c = {.family = AF_INET, .port = rs_tcp_server_port(s.srv)};
    run_client(l, idle_client, &c); /* echoes "x", then is closed by the sweep */
    ASSERT_EQ(c.ok, 1);
    ASSERT_EQ(c.len, 1);
    ASSERT_EQ(s.closes, 1);
    rs_tcp_server_close(s.srv);
    rs_loop_destroy(l);
}

/* ---- teardown ---- */

static void noop(void *o) {}

static void count_after(void *o) {
    (*(int *)o)++;
}

TEST(destroy_closes_leftovers) {
    rs_loop_t *l = new_loop();
    int p[2];
    ASSERT_OK(pipe(p));
    int after = 0;
    ASSERT(rs_timer_start(l, 1000, 1000, noop, NULL));
    rs_defer_t *d = rs_defer_new(l, noop, NULL);
    rs_defer_arm(d);
    ASSERT(rs_watch_fd(l, p[0], noop, NULL));
    ASSERT(rs_signal_watch(l, SIGUSR2, noop, NULL));
    sctx2_t s = {0};
    rs_tcp_handler_t h = {.opaque = &s, .on_data = echo_on_data, .on_close = echo_on_close};
    char err[256];
    ASSERT_OK(rs_tcp_listen(l, "127.0.0.1", 0, &h, &s.srv, err, sizeof(err)));
    rs_tcp_server_set_conn_timeout(s.srv, 1000);
    ASSERT_OK(rs_work_submit(l, noop, count_after, &after));
    rs_loop_destroy(l); /* ASan reports any leak */
    ASSERT_EQ(after, 1);
    ASSERT_EQ(s.closes, 0); /* no user callbacks during destroy */
    close(p[0]);
    close(p[1]);
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    return RUN_TESTS(t_timer_repeat_then_close, t_defer_once_and_rearm, t_watch_fd_pipe,
                     t_work_submit_threads, t_signal_usr1, t_tcp_echo_v4_v6,
                     t_tcp_server_close_closes_conns, t_tcp_conn_timeout,
                     t_destroy_closes_leftovers);
}
