/* test_http.c -- rs_http on an ephemeral port, driven by plain POSIX client
 * sockets on a helper thread while the test thread runs the loop. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "recstream/rs_http.h"
#include "rs_test.h"

static atomic_int g_done;

static void poll_done(void *o) {
    if (atomic_load(&g_done)) rs_loop_stop(o);
}

typedef struct {
    int port;
    const char *parts[4]; /* sent one by one, 20 ms apart */
    size_t lens[4];       /* 0: strlen */
    int half_close;       /* shutdown(SHUT_WR) after sending */
    char resp[16384];
    size_t len;
} req_t;

static void *client(void *o) {
    req_t *r = o;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)r->port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
        for (int i = 0; i < 4 && r->parts[i]; i++) {
            if (i) nanosleep(&(struct timespec){.tv_nsec = 20000000}, NULL);
            size_t n = r->lens[i] ? r->lens[i] : strlen(r->parts[i]);
            if (send(fd, r->parts[i], n, MSG_NOSIGNAL) != (ssize_t)n) break;
        }
        if (r->half_close) shutdown(fd, SHUT_WR);
        for (;;) {
            ssize_t n = recv(fd, r->resp + r->len, sizeof(r->resp) - 1 - r->len, 0);
            if (n <= 0) break;
            r->len += (size_t)n;
        }
    }
    r->resp[r->len] = '\0';
    close(fd);
    atomic_store(&g_done, 1);
    return NULL;
}

/* One request on its own connection; returns the whole response text. */
static const char *do_req(rs_loop_t *l, req_t *r) {
    pthread_t th;
    atomic_store(&g_done, 0);
    pthread_create(&th, NULL, client, r);
    rs_timer_t *t = rs_timer_start(l, 1, 1, poll_done, l);
    rs_loop_run(l);
    rs_timer_close(t);
    pthread_join(th, NULL);
    return r->resp;
}

static const char *get(rs_loop_t *l, int port, const char *raw, req_t *r) {
    memset(r, 0, sizeof(*r));
    r->port = port;
    r->parts[0] = raw;
    return do_req(l, r);
}

static int status_of(const char *resp) {
    int st = 0;
    return sscanf(resp, "HTTP/1.1 %d ", &st) == 1 ? st : -1;
}

static const char *body_of(const char *resp) {
    const char *p = strstr(resp, "\r\n\r\n");
    return p ? p + 4 : "";
}

static void h_health(void *o, const char *path, const char *query, rs_http_resp_t *resp) {
    rs_buf_printf(&resp->body, "ok\n");
}

/* Echoes which route ran, with path and query. */
static void h_echo(void *o, const char *path, const char *query, rs_http_resp_t *resp) {
    resp->content_type = "application/json";
    rs_buf_printf(&resp->body, "%s path=%s query=%s", (const char *)o, path, query);
}

static void h_teapot(void *o, const char *path, const char *query, rs_http_resp_t *resp) {
    resp->status = 503;
    rs_buf_printf(&resp->body, "not ready");
}

typedef struct {
    rs_loop_t *l;
    rs_http_t *h;
    int port;
} srv_t;

static int setup(srv_t *s) {
    char err[256];
    rs_loop_new(&s->l, err, sizeof(err));
    if (rs_http_new(&s->h, s->l, "127.0.0.1", 0, err, sizeof(err)) != RS_OK) {
        fprintf(stderr, "rs_http_new: %s\n", err);
        return -1;
    }
    rs_http_route(s->h, "/healthz", h_health, NULL);
    rs_http_route(s->h, "/readyz", h_teapot, NULL);
    rs_http_route(s->h, "/", h_echo, "root");
    rs_http_route(s->h, "/users/", h_echo, "users");
    rs_http_route(s->h, "/users/vip/", h_echo, "vip");
    s->port = rs_http_port(s->h);
    return s->port > 0 ? 0 : -1;
}

static void teardown(srv_t *s) {
    rs_http_destroy(s->h);
    rs_loop_destroy(s->l);
}

TEST(get_routes) {
    srv_t s;
    ASSERT_OK(setup(&s));
    req_t r;
    const char *resp = get(s.l, s.port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    ASSERT_STREQ(resp, "HTTP/1.1 200 OK\r\n"
                       "Content-Type: text/plain; charset=utf-8\r\n"
                       "Content-Length: 3\r\n"
                       "Connection: close\r\n"
                       "\r\n"
                       "ok\n");
    /* Exact route: a longer path falls to the "/" catch-all. */
    resp = get(s.l, s.port, "GET /healthzz HTTP/1.0\r\n\r\n", &r);
    ASSERT_EQ(status_of(resp), 200);
    ASSERT_STREQ(body_of(resp), "root path=/healthzz query=");
    /* Longest prefix wins; query split off and passed raw. */
    resp = get(s.l, s.port, "GET /users/42?k=10&x=%20y HTTP/1.1\r\n\r\n", &r);
    ASSERT_EQ(status_of(resp), 200);
    ASSERT(strstr(resp, "\r\nContent-Type: application/json\r\n"));
    ASSERT(strstr(resp, "\r\nContent-Length: 38\r\n"));
    ASSERT_STREQ(body_of(resp), "users path=/users/42 query=k=10&x=%20y");
    resp = get(s.l, s.port, "GET /users/vip/7? HTTP/1.1\r\n\r\n", &r);
    ASSERT_STREQ(body_of(resp), "vip path=/users/vip/7 query=");
    resp = get(s.l, s.port, "GET /users HTTP/1.1\r\n\r\n", &r);
    ASSERT_STREQ(body_of(resp), "root path=/users query=");
    /* Handler-chosen status. */
    resp = get(s.l, s.port, "GET /readyz HTTP/1.1\r\n\r\n", &r);
    ASSERT_EQ(status_of(resp), 503);
    ASSERT_STREQ(body_of(resp), "not ready");
    /* HEAD: same headers, no body. */
    resp = get(s.l, s.port, "HEAD /healthz HTTP/1.1\r\n\r\n", &r);
    ASSERT_EQ(status_of(resp), 200);
    ASSERT(strstr(resp, "\r\nContent-Length: 3\r\n"));
    ASSERT_STREQ(body_of(resp), "");
    /* Bare LF line ends are accepted. */
    resp = get(s.l, s.port, "GET /healthz HTTP/1.1\nHost: x\n\n", &r);
    ASSERT_EQ(status_of(resp), 200);
    ASSERT_STREQ(body_of(resp), "ok\n");
    teardown(&s);
}

TEST(not_found_without_catch_all) {
    char err[256];
    rs_loop_t *l = NULL;
    rs_http_t *h = NULL;
    ASSERT_OK(rs_loop_new(&l, err, sizeof(err)));
    ASSERT_OK(rs_http_new(&h, l, "127.0.0.1", 0, err, sizeof(err)));
    rs_http_route(h, "/healthz", h_health, NULL);
    rs_http_route(h, "/api/", h_echo, "api");
    req_t r;
    const char *resp = get(l, rs_http_port(h), "GET /nope HTTP/1.1\r\n\r\n", &r);
    ASSERT_EQ(status_of(resp), 404);
    ASSERT(strstr(resp, "\r\nConnection: close\r\n"));
    ASSERT(strstr(resp, "\r\nContent-Length: 14\r\n"));
    ASSERT_STREQ(body_of(resp), "404 Not Found\n");
    resp = get(l, rs_http_port(h), "GET /api HTTP/1.1\r\n\r\n", &r);
    ASSERT_EQ(status_of(resp), 404);
    resp = get(l, rs_http_port(h), "GET /api/ HTTP/1.1\r\n\r\n", &r);
    ASSERT_EQ(status_of(resp), 200);
    /* Replacing a route. */
    rs_http_route(h, "/api/", h_echo, "api2");
    resp = get(l, rs_http_port(h), "GET /api/x HTTP/1.1\r\n\r\n", &r);
    ASSERT_STREQ(body_of(resp), "api2 path=/api/x query=");
    rs_http_destroy(h);
    rs_loop_destroy(l);
}

TEST(bad_requests) {
    srv_t s;
    ASSERT_OK(setup(&s));
    req_t r;
    const char *resp =
        get(s.l, s.port, "POST /healthz HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", &r);
    ASSERT_EQ(status_of(resp), 405);
    ASSERT(strstr(resp, "\r\nAllow: GET, HEAD\r\n"));
    resp = get(s.l, s.port, "DELETE /users/1 HTTP/1.1\r\n\r\n", &r);
    ASSERT_EQ(status_of(resp), 405);

    static const char *const garbage[] = {
        "hello\r\n\r\n",
        "GET\r\n\r\n",
        "GET /healthz\r\n\r\n",           /* HTTP/0.9 form */
        "GET healthz HTTP/1.1\r\n\r\n",   /* not origin-form */
        "GET /healthz HTTP/2.0\r\n\r\n",  /* not 1.x */
        "GET  /healthz HTTP/1.1\r\n\r\n", /* double space */
        "GET /healthz HTTP/1.1\r\nNoColon\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nX: a\r\n folded\r\n\r\n",
        "GET /a\x01 HTTP/1.1\r\n\r\n",
        "\x16\x03\x01\x02\x03\n\n",
    };
    for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
        resp = get(s.l, s.port, garbage[i], &r);
        if (status_of(resp) != 400) fprintf(stderr, "  garbage #%zu: %s\n", i, resp);
        ASSERT_EQ(status_of(resp), 400);
        ASSERT_STREQ(body_of(resp), "400 Bad Request\n");
    }
    /* NUL inside the request line. */
    memset(&r, 0, sizeof(r));
    r.port = s.port;
    r.parts[0] = "GET /a\0b HTTP/1.1\r\n\r\n";
    r.lens[0] = 21;
    ASSERT_EQ(status_of(do_req(s.l, &r)), 400);
    /* Binary junk with no line end (a TLS hello) is refused at once, not
     * after the connection timeout (set long so a regression hangs here). */
    memset(&r, 0, sizeof(r));
    r.port = s.port;
    r.parts[0] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";
    r.lens[0] = 11;
    ASSERT_EQ(status_of(do_req(s.l, &r)), 400);
    memset(&r, 0, sizeof(r));
    r.port = s.port;
    r.parts[0] = "GET /\x01";
    ASSERT_EQ(status_of(do_req(s.l, &r)), 400);
    teardown(&s);
}

TEST(oversized_request) {
    srv_t s;
    ASSERT_OK(setup(&s));
    /* 9000 bytes of header: 431, and the response survives the unread rest. */
    static char big[20000];
    size_t n = (size_t)sprintf(big, "GET /healthz HTTP/1.1\r\nX-Pad: ");
    memset(big + n, 'a', 9000);
    n += 9000;
    memcpy(big + n, "\r\n\r\n", 5);
    req_t r;
    const char *resp = get(s.l, s.port, big, &r);
    ASSERT_EQ(status_of(resp), 431);
    ASSERT(strstr(resp, "\r\nConnection: close\r\n"));
    /* Exactly at the limit is fine. */
    n = (size_t)sprintf(big, "GET /healthz HTTP/1.1\r\nX-Pad: ");
    size_t pad = RS_HTTP_MAX_REQUEST - n - 4;
    memset(big + n, 'a', pad);
    memcpy(big + n + pad, "\r\n\r\n", 5);
    ASSERT_EQ(strlen(big), RS_HTTP_MAX_REQUEST);
    resp = get(s.l, s.port, big, &r);
    ASSERT_EQ(status_of(resp), 200);
    /* One byte more is not. */
    memset(big + n, 'a', pad + 1);
    memcpy(big + n + pad + 1, "\r\n\r\n", 5);
    resp = get(s.l, s.port, big, &r);
    ASSERT_EQ(status_of(resp), 431);
    /* 2 MiB: the server answers after 8 KiB while the client is still
     * sending; the lingering close keeps that answer from being reset. */
    size_t huge_len = (size_t)2 << 20;
    char *huge = malloc(huge_len + 1);
    n = (size_t)sprintf(huge, "GET /healthz HTTP/1.1\r\nX-Pad: ");
    memset(huge + n, 'a', huge_len - n);
    huge[huge_len] = '\0';
    resp = get(s.l, s.port, huge, &r);
    free(huge);
    ASSERT_EQ(status_of(resp), 431);
    ASSERT_STREQ(body_of(resp), "431 Request Header Fields Too Large\n");
    teardown(&s);
}

TEST(split_and_half_closed_requests) {
    srv_t s;
    ASSERT_OK(setup(&s));
    req_t r;
    memset(&r, 0, sizeof(r));
    r.port = s.port;
    r.parts[0] = "GET /users/";
    r.parts[1] = "9?q=1 HTTP/1.1\r";
    r.parts[2] = "\nHost: x\r\n\r";
    r.parts[3] = "\n";
    const char *resp = do_req(s.l, &r);
    ASSERT_EQ(status_of(resp), 200);
    ASSERT_STREQ(body_of(resp), "users path=/users/9 query=q=1");
    /* Client half-closes right after its request: the answer still arrives. */
    memset(&r, 0, sizeof(r));
    r.port = s.port;
    r.parts[0] = "GET /healthz HTTP/1.1\r\n\r\n";
    r.half_close = 1;
    resp = do_req(s.l, &r);
    ASSERT_EQ(status_of(resp), 200);
    ASSERT_STREQ(body_of(resp), "ok\n");
    /* Half-closed before the head is complete: closed with no answer. */
    memset(&r, 0, sizeof(r));
    r.port = s.port;
    r.parts[0] = "GET /healthz HTTP/1.1\r\n";
    r.half_close = 1;
    resp = do_req(s.l, &r);
    ASSERT_EQ(r.len, 0);
    teardown(&s);
}

TEST(conn_timeout) {
    srv_t s;
    ASSERT_OK(setup(&s));
    rs_http_set_limits(s.h, 1000, 50);
    req_t r;
    memset(&r, 0, sizeof(r));
    r.port = s.port;
    r.parts[0] = "GET /healthz HTTP/1.1\r\n"; /* never finished */
    do_req(s.l, &r);
    ASSERT_EQ(r.len, 0);
    teardown(&s);
}

/* Waits until the loop's clock enters a new second and returns it. A rate
 * burst starts there: a retry begun in the second where the previous burst
 * ended would find that second's counters already used. */
static uint64_t fresh_second(rs_loop_t *l) {
    rs_loop_run_nowait(l);
    uint64_t sec = rs_loop_now(l) / 1000;
    while (rs_loop_now(l) / 1000 == sec) {
        nanosleep(&(struct timespec){.tv_nsec = 5000000}, NULL);
        rs_loop_run_nowait(l);
    }
    return rs_loop_now(l) / 1000;
}

TEST(rate_limit) {
    srv_t s;
    ASSERT_OK(setup(&s));
    rs_http_set_limits(s.h, 3, 10000);
    /* The limit is per wall second of loop time; retry a burst that
     * straddled a second boundary. */
    int st[4] = {0}, same_second = 0;
    for (int attempt = 0; attempt < 5 && !same_second; attempt++) {
        uint64_t sec0 = fresh_second(s.l);
        for (int i = 0; i < 4; i++) {
            req_t r;
            st[i] = status_of(get(s.l, s.port, "GET /healthz HTTP/1.1\r\n\r\n", &r));
        }
        rs_loop_run_nowait(s.l);
        same_second = rs_loop_now(s.l) / 1000 == sec0;
    }
    ASSERT_EQ(same_second, 1);
    ASSERT_EQ(st[0], 200);
    ASSERT_EQ(st[1], 200);
    ASSERT_EQ(st[2], 200);
    ASSERT_EQ(st[3], 429);
    teardown(&s);
}

/* ---- curl: a client we did not write ---- */

typedef struct {
    char cmd[12288];
    char out[4096];
} curl_t;

static void *curl_thread(void *o) {
    curl_t *c = o;
    FILE *p = popen(c->cmd, "r");
    size_t n = p ? fread(c->out, 1, sizeof(c->out) - 1, p) : 0;
    c->out[n] = '\0';
    if (p) pclose(p);
    atomic_store(&g_done, 1);
    return NULL;
}

/* Runs `curl -s <args> http://127.0.0.1:port<path>` while the loop serves
 * it; returns curl's stdout. */
static const char *curl(rs_loop_t *l, int port, const char *args, const char *path, curl_t *c) {
    snprintf(c->cmd, sizeof(c->cmd), "curl -s --max-time 10 %s 'http://127.0.0.1:%d%s'", args, port,
             path);
    pthread_t th;
    atomic_store(&g_done, 0);
    pthread_create(&th, NULL, curl_thread, c);
    rs_timer_t *t = rs_timer_start(l, 1, 1, poll_done, l);
    rs_loop_run(l);
    rs_timer_close(t);
    pthread_join(th, NULL);
    return c->out;
}

TEST(curl_client) {
    if (system("command -v curl >/dev/null 2>&1") != 0) {
        printf("SKIP curl not installed\n");
        return;
    }
    srv_t s;
    ASSERT_OK(setup(&s));
    static curl_t c;
    ASSERT_STREQ(
        curl(s.l, s.port, "-w ' %{http_code} %{content_type}'", "/users/vip/a%20b?k=5", &c),
        "vip path=/users/vip/a%20b query=k=5 200 application/json");
    ASSERT_STREQ(curl(s.l, s.port, "-I", "/healthz", &c),
                 "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
                 "Content-Length: 3\r\nConnection: close\r\n\r\n");
    ASSERT_STREQ(curl(s.l, s.port, "-w ' %{http_code}'", "/readyz", &c), "not ready 503");
    ASSERT_STREQ(curl(s.l, s.port, "-X POST -d x=1 -w ' %{http_code}'", "/healthz", &c),
                 "405 Method Not Allowed\n 405");
    /* a head over RS_HTTP_MAX_REQUEST bytes */
    char args[9100] = "-o /dev/null -w '%{http_code}' -H 'X-Pad: ";
    size_t n = strlen(args);
    memset(args + n, 'a', 9000);
    memcpy(args + n + 9000, "'", 2);
    ASSERT_STREQ(curl(s.l, s.port, args, "/healthz", &c), "431");
    teardown(&s);
}

TEST(client_rate_limit) {
    if (system("command -v curl >/dev/null 2>&1") != 0) {
        printf("SKIP curl not installed\n");
        return;
    }
    srv_t s;
    ASSERT_OK(setup(&s));
    rs_http_set_limits(s.h, 4, 10000);
    rs_http_set_client_limit(s.h, 2);
    /* Client 127.0.0.1 sends 4 requests, then client 127.0.0.2 one, within
     * one second of loop time (retried if the burst straddled a second):
     * the first client's 3rd and 4th are refused per client and do not use
     * up the server-wide 4, so the second client still gets through. */
    static curl_t c;
    char st[5][8];
    int same_second = 0;
    const char *fmt = "-o /dev/null -w '%{http_code}'";
    for (int attempt = 0; attempt < 5 && !same_second; attempt++) {
        uint64_t sec0 = fresh_second(s.l);
        for (int i = 0; i < 4; i++)
            snprintf(st[i], 8, "%s", curl(s.l, s.port, fmt, "/healthz", &c));
        snprintf(st[4], 8, "%s",
                 curl(s.l, s.port, "--interface 127.0.0.2 -o /dev/null -w '%{http_code}'",
                      "/healthz", &c));
        rs_loop_run_nowait(s.l);
        same_second = rs_loop_now(s.l) / 1000 == sec0;
    }
    ASSERT_EQ(same_second, 1);
    ASSERT_STREQ(st[0], "200");
    ASSERT_STREQ(st[1], "200");
    ASSERT_STREQ(st[2], "429");
    ASSERT_STREQ(st[3], "429");
    ASSERT_STREQ(st[4], "200");
    /* Retry-After on the 429 */
    const char *h = curl(s.l, s.port, "-I", "/healthz", &c);
    if (status_of(h) == 429) ASSERT(strstr(h, "\r\nRetry-After: 1\r\n") != NULL);
    teardown(&s);
}

TEST(listen_errors) {
    char err[256] = "";
    rs_loop_t *l = NULL;
    rs_http_t *h = NULL;
    ASSERT_OK(rs_loop_new(&l, err, sizeof(err)));
    ASSERT_EQ(rs_http_new(&h, l, "not-an-ip", 0, err, sizeof(err)), RS_EARG);
    ASSERT(!h);
    ASSERT(strstr(err, "not-an-ip"));
    rs_http_destroy(NULL);
    rs_loop_destroy(l);
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    return RUN_TESTS(t_get_routes, t_not_found_without_catch_all, t_bad_requests,
                     t_oversized_request, t_split_and_half_closed_requests, t_conn_timeout,
                     t_rate_limit, t_curl_client, t_client_rate_limit, t_listen_errors);
}
