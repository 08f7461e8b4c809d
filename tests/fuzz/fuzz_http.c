/* fuzz_http.c -- the HTTP request parser of src/core/rs_http.c, without
 * sockets: the file is compiled into this harness with rs_loop's TCP
 * functions (and rs_http's own exports) renamed to local fakes, so the real
 * on_data/handle_request code runs on the fuzzer's bytes. Nothing in
 * rs_http.c changes for this; if its use of rs_loop changes, this file
 * stops compiling rather than silently testing something else.
 *
 * Input: byte 0 is the delivery plan: bits 0-3 chunk the rest into pieces
 * of (n * n + 1) bytes (0 = all at once), bit 4 makes the server's write
 * fail (rs_loop then closes the connection inside rs_tcp_write), bit 5 sends
 * the same bytes on a second connection with a limit of 1 request per
 * second (the rate limiter's 429): the server-wide one, or with bit 6 the
 * per-client one. The routes are the daemon's, with handlers that run the read API's
 * own argument parsing (rs_inspect_pct_decode, rs_inspect_opts_query).
 * Checked, per connection:
 *   - at most one response; if there is none, the head is incomplete: no
 *     blank line within RS_HTTP_MAX_REQUEST bytes and fewer bytes than that;
 *   - the response is "HTTP/1.1 NNN ..." with a status the server or a
 *     handler can produce, Content-Length equal to the body (or no body:
 *     HEAD), "Connection: close", and close_after set;
 *   - a handler only sees GET/HEAD requests whose path starts with '/', has
 *     no '?', no control bytes and matches the route's prefix. */
#define rs_tcp_listen                  fz_tcp_listen
#define rs_tcp_server_port             fz_tcp_server_port
#define rs_tcp_server_set_conn_timeout fz_tcp_server_set_conn_timeout
#define rs_tcp_server_close            fz_tcp_server_close
#define rs_tcp_conn_set_data           fz_tcp_conn_set_data
#define rs_tcp_conn_data               fz_tcp_conn_data
#define rs_tcp_write                   fz_tcp_write
#define rs_tcp_conn_close              fz_tcp_conn_close
#define rs_tcp_conn_peer               fz_tcp_conn_peer
#define rs_loop_now                    fz_loop_now
#define rs_http_new                    fz_http_new
#define rs_http_route                  fz_http_route
#define rs_http_set_limits             fz_http_set_limits
#define rs_http_set_client_limit       fz_http_set_client_limit
#define rs_http_port                   fz_http_port
#define rs_http_destroy                fz_http_destroy
#include "core/rs_http.c"

#include "fuzz_util.h"
#include "recstream/rs_inspect.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- fake rs_loop TCP: one server, connections driven by hand ---- */

struct rs_tcp_server {
    rs_tcp_handler_t h;
};

struct rs_tcp_conn {
    rs_tcp_server_t *srv;
    void *data;
    int closed, writes, close_after, fail_write;
    rs_buf_t out;
};

rs_err_t fz_tcp_listen(rs_loop_t *l, const char *host, int port, const rs_tcp_handler_t *h,
                       rs_tcp_server_t **out, char *errstr, size_t errstr_size) {
    *out = rs_xcalloc(1, sizeof(**out));
    (*out)->h = *h;
    return RS_OK;
}
int fz_tcp_server_port(rs_tcp_server_t *s) {
    return 8080;
}
void fz_tcp_server_set_conn_timeout(rs_tcp_server_t *s, uint64_t ms) {}
void fz_tcp_server_close(rs_tcp_server_t *s) {
    free(s);
}
void fz_tcp_conn_set_data(rs_tcp_conn_t *c, void *data) {
    c->data = data;
}
void *fz_tcp_conn_data(rs_tcp_conn_t *c) {
    return c->data;
}
void fz_tcp_conn_close(rs_tcp_conn_t *c) {
    if (c->closed) return;
    c->closed = 1;
    if (c->srv->h.on_close) c->srv->h.on_close(c->srv->h.opaque, c);
}
void fz_tcp_write(rs_tcp_conn_t *c, const void *data, size_t len, int close_after) {
    FZ_CHECK(!c->closed && !c->close_after, "write after close");
    c->writes++;
    c->close_after = close_after;
    rs_buf_append(&c->out, data, len);
    if (c->fail_write) fz_tcp_conn_close(c); /* what rs_loop does when the write fails */
}
const char *fz_tcp_conn_peer(rs_tcp_conn_t *c) {
    return "127.0.0.1";
}
uint64_t fz_loop_now(rs_loop_t *l) {
    return 42000; /* one second for every request of an input: the limiter is deterministic */
}

/* ---- handlers: the daemon's routes ---- */

static int handler_calls;

static void check_path(const char *path, const char *query, const char *prefix) {
    handler_calls++;
    FZ_CHECK(path[0] == '/' && !strchr(path, '?'), "path \"%s\"", path);
    for (const char *p = path; *p; p++)
        FZ_CHECK((unsigned char)*p > 0x20 && *p != 0x7f, "control byte in path");
    for (const char *p = query; *p; p++)
        FZ_CHECK((unsigned char)*p > 0x20 && *p != 0x7f, "control byte in query");
    size_t n = strlen(prefix);
    FZ_CHECK(prefix[n - 1] == '/' ? !strncmp(path, prefix, n) : !strcmp(path, prefix),
             "\"%s\" routed to %s", path, prefix);
}

static void h_text(void *opaque, const char *path, const char *query, rs_http_resp_t *r) {
    check_path(path, query, opaque);
    rs_buf_printf(&r->body, "ok %s\n", path);
}

/* /users/<id>, /items/<id>, /v1/...: the read API's id and option parsing. */
static void h_api(void *opaque, const char *path, const char *query, rs_http_resp_t *r) {
    const char *prefix = opaque;
    check_path(path, query, prefix);
    rs_buf_t id = {0};
    rs_inspect_opts_t o;
    rs_inspect_opts_default(&o);
    r->content_type = "application/json";
    const char *rest = path + strlen(prefix);
    if (rs_inspect_pct_decode(rest, strlen(rest), &id) || rs_inspect_opts_query(&o, query)) {
        r->status = 400;
        rs_buf_printf(&r->body, "{\"error\":\"bad request\"}\n");
    } else {
        r->status = id.len ? 404 : 400;
        rs_buf_append(&r->body, "{\"id\":", 6);
        rs_buf_json_str(&r->body, id.p ? id.p : "", id.len);
        rs_buf_printf(&r->body, ",\"neighbors\":%u}\n", o.max_neighbors);
    }
    rs_buf_free(&id);
}

/* A handler that sets an impossible status: the server must answer 500. */
static void h_bad(void *opaque, const char *path, const char *query, rs_http_resp_t *r) {
    check_path(path, query, opaque);
    r->status = 1000;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    rs_log_level = RS_LOG_ERROR; /* the 500 path warns on every call */
    return 0;
}

static int known_status(int st) {
    static const int ok[] = {200, 400, 404, 405, 429, 431, 500};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (st == ok[i]) return 1;
    return 0;
}

static void check_response(const rs_buf_t *out, const char *req, size_t len) {
    const char *p = out->p, *end = p + out->len;
    FZ_CHECK(out->len > 17 && !memcmp(p, "HTTP/1.1 ", 9), "response \"%.*s\"", (int)out->len, p);
    int st = atoi(p + 9);
    FZ_CHECK(known_status(st), "status %d", st);
    const char *hend = memmem(p, out->len, "\r\n\r\n", 4);
    FZ_CHECK(hend != NULL, "no end of head");
    const char *cl = memmem(p, (size_t)(hend - p), "\r\nContent-Length: ", 18);
    FZ_CHECK(cl && memmem(p, (size_t)(hend - p) + 2, "\r\nConnection: close\r\n", 21),
             "headers \"%.*s\"", (int)(hend - p), p);
    size_t body = (size_t)(end - hend - 4), want = strtoul(cl + 18, NULL, 10);
    int head = len >= 5 && !memcmp(req, "HEAD ", 5);
    FZ_CHECK(body == want || (head && body == 0), "Content-Length %zu, body %zu", want, body);
}

/* One connection: delivers data in the planned chunks, checks the answer
 * and appends it to *resp (may be NULL). */
static void connection(rs_tcp_server_t *srv, const uint8_t *data, size_t size, unsigned chunk,
                       int fail_write, rs_buf_t *resp) {
    rs_tcp_conn_t c = {.srv = srv, .fail_write = fail_write};
    size_t off = 0;
    while (off < size && !c.closed) {
        size_t n = chunk ? chunk : size - off;
        if (n > size - off) n = size - off;
        /* a copy per chunk, so ASan sees reads past what was delivered */
        char *piece = rs_xmalloc(n);
        memcpy(piece, data + off, n);
        srv->h.on_data(srv->h.opaque, &c, piece, n);
        free(piece);
        off += n;
    }
    FZ_CHECK(c.writes <= 1, "%d responses", c.writes);
    if (c.writes) {
        FZ_CHECK(c.close_after, "response without close_after");
        check_response(&c.out, (const char *)data, size);
    } else {
        size_t n = size < RS_HTTP_MAX_REQUEST ? size : RS_HTTP_MAX_REQUEST;
        size_t scan = 0;
        FZ_CHECK(size < RS_HTTP_MAX_REQUEST && !head_end((const char *)data, n, &scan),
                 "no response to a complete or oversized head (%zu bytes)", size);
    }
    fz_tcp_conn_close(&c); /* the peer goes away: frees the request state */
    if (resp) rs_buf_append(resp, c.out.p ? c.out.p : "", c.out.len);
    rs_buf_free(&c.out);
}

static rs_http_t *server(unsigned max_rps, unsigned client_max_rps) {
    rs_http_t *h;
    char err[256];
    FZ_CHECK(!fz_http_new(&h, NULL, "127.0.0.1", 0, err, sizeof(err)), "%s", err);
    static const char *const text[] = {"/metrics", "/healthz", "/readyz"};
    static const char *const api[] = {"/users/", "/items/", "/v1/"};
    for (size_t i = 0; i < 3; i++) fz_http_route(h, text[i], h_text, (void *)text[i]);
    for (size_t i = 0; i < 3; i++) fz_http_route(h, api[i], h_api, (void *)api[i]);
    fz_http_route(h, "/bad", h_bad, "/bad");
    fz_http_route(h, "/users/", h_api, "/users/"); /* re-registering replaces */
    fz_http_set_limits(h, max_rps, 10000);
    fz_http_set_client_limit(h, client_max_rps);
    return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t plan;
    if (!fz_take_byte(&data, &size, &plan)) return 0;
    unsigned k = plan & 15, chunk = k ? k * k + 1 : 0;
    int fail_write = (plan & 16) != 0;

    /* Whole, then in chunks: how the bytes arrive must not change the answer
     * (the head search resumes where the previous read stopped). */
    rs_http_t *h = server(0, 0);
    rs_buf_t whole = {0}, pieces = {0};
    connection(h->srv, data, size, 0, fail_write, &whole);
    if (chunk) {
        connection(h->srv, data, size, chunk, fail_write, &pieces);
        FZ_CHECK(whole.len == pieces.len && (!whole.len || !memcmp(whole.p, pieces.p, whole.len)),
                 "chunks of %u bytes change the answer:\n%.*s\n---\n%.*s", chunk, (int)whole.len,
                 whole.p, (int)pieces.len, pieces.p);
    }
    rs_buf_free(&whole);
    rs_buf_free(&pieces);
    fz_http_destroy(h);

    /* Two requests within one second from one client with a limit of 1: the
     * second gets no handler. */
    if (plan & 32) {
        h = plan & 64 ? server(0, 1) : server(1, 0);
        handler_calls = 0;
        connection(h->srv, data, size, chunk, fail_write, NULL);
        int before = handler_calls;
        connection(h->srv, data, size, chunk, fail_write, NULL);
        FZ_CHECK(handler_calls == before, "second request within the second reached a handler");
        fz_http_destroy(h);
    }
    return 0;
}
