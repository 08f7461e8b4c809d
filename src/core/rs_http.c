/* rs_http.c -- a small HTTP/1.x server for /metrics, health checks and the
 * read APIs, on top of rs_loop's TCP server (no libuv here).
 *
 * In: bytes per connection. Each connection carries exactly one request:
 * its head (request line + headers + blank line) is buffered, up to
 * RS_HTTP_MAX_REQUEST bytes, then parsed once; any request body is ignored.
 * Out: one response with Content-Length and "Connection: close", written
 * with close_after (rs_loop shuts down and closes lingering). After the
 * response the connection's further input is ignored.
 *
 * Bad input never reaches a handler: 400 malformed request line/headers,
 * 405 for methods other than GET/HEAD, 431 for an oversized head, 404 for
 * no route, 429 over the per-client or the global requests-per-second
 * limit. Slow clients are bounded by rs_loop's per-connection timeout
 * (default 10 s) and connection cap. Line ends may be CRLF or bare LF
 * (RFC 9112 lets servers accept LF).
 *
 * Cost per connection is linear in what it sends: the search for the end of
 * the head and the early check of the request line resume where the last
 * read stopped (a head sent one byte at a time used to be rescanned from
 * the start on every byte, O(n^2): ~13 ms of loop time for 8 KiB).
 *
 * Per-client limit: clients are counted by IP address in a fixed table
 * (CLIENT_SLOTS, CLIENT_PROBE slots tried per address); a slot not used in
 * the current second is reused. When every probed slot is busy this second
 * with other addresses, the request is held to the global limit only, so
 * memory stays fixed whatever the number of addresses.
 *
 * Routing: longest matching prefix; a prefix without a trailing '/' only
 * matches exactly (so "/healthz" does not match "/healthzz"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recstream/rs_http.h"
#include "recstream/rs_log.h"

#define DEFAULT_MAX_RPS        1000
#define DEFAULT_CLIENT_MAX_RPS 250
#define DEFAULT_TIMEOUT_MS     10000
#define CLIENT_SLOTS           1024
#define CLIENT_PROBE           8

typedef struct client {
    char ip[64];
    uint64_t sec; /* the second count belongs to; 0 = free */
    unsigned count;
} client_t;

typedef struct route {
    char *prefix;
    size_t len;
    int exact;
    rs_http_handler_t *fn;
    void *opaque;
} route_t;

struct rs_http {
    rs_loop_t *loop;
    rs_tcp_server_t *srv;
    route_t *routes;
    size_t nroutes;
    unsigned max_rps;
    uint64_t rate_sec; /* the second rate_count belongs to */
    unsigned rate_count;
    unsigned client_max_rps;
    client_t *clients; /* CLIENT_SLOTS, allocated with the first limited request */
};

typedef struct hconn {
    rs_buf_t req;
    size_t scan;   /* head_end resumes here: everything before it was searched */
    size_t bp_pos; /* bad_prefix resumes here ... */
    int bp_phase;  /* ... in this part: 0 method, 1 rest of the line, 2 line done */
    int done;      /* response queued; ignore further input */
} hconn_t;

static const char *reason(int status) {
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 413:
        return "Content Too Large";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    default:
        return "Status";
    }
}

/* Writes the whole response and asks for the connection to be closed. */
static void respond(rs_tcp_conn_t *c, hconn_t *hc, int status, const char *ctype,
                    const char *extra_headers, const char *body, size_t body_len, int head_only) {
    rs_buf_t out = {0};
    rs_buf_printf(&out,
                  "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                  "Connection: close\r\n%s\r\n",
                  status, reason(status), ctype, body_len, extra_headers ? extra_headers : "");
    if (!head_only) rs_buf_append(&out, body, body_len);
    hc->done = 1;
    rs_tcp_write(c, out.p, out.len, 1);
    rs_buf_free(&out);
}

static void respond_error(rs_tcp_conn_t *c, hconn_t *hc, int status, const char *extra,
                          int head_only) {
    char body[64];
    int n = snprintf(body, sizeof(body), "%d %s\n", status, reason(status));
    respond(c, hc, status, "text/plain; charset=utf-8", extra, body, (size_t)n, head_only);
}

static int is_tchar(unsigned char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* Finds the end of the request head in p[0..n), searching from *scan: the
 * index just past the blank line, or 0 if the head is not complete. *scan
 * is left where the next call must resume (a line end in the last two
 * bytes may still become a blank line when more bytes arrive). */
static size_t head_end(const char *p, size_t n, size_t *scan) {
    for (size_t i = *scan; i + 1 < n; i++) {
        if (p[i] != '\n') continue;
        if (p[i + 1] == '\n') return i + 2;
        if (p[i + 1] == '\r' && i + 2 < n && p[i + 2] == '\n') return i + 3;
    }
    *scan = n >= 2 ? n - 2 : 0;
    return 0;
}

/* While the head is incomplete: is what arrived so far already not the
 * start of a request line (binary junk, TLS hello)? Answering 400 at once
 * beats holding the connection until the timeout. Resumes at hc->bp_pos. */
static int bad_prefix(hconn_t *hc, const char *p, size_t n) {
    size_t i = hc->bp_pos;
    if (hc->bp_phase == 0) { /* the method */
        while (i < n && is_tchar((unsigned char)p[i])) i++;
        if (i < n && (i == 0 || p[i] != ' ')) return 1;
        if (i < n) hc->bp_phase = 1;
    }
    if (hc->bp_phase == 1) { /* target and version: no control characters */
        for (; i < n && p[i] != '\n'; i++) {
            unsigned char ch = (unsigned char)p[i];
            if ((ch < 0x20 && ch != '\r') || ch == 0x7f) return 1;
        }
        if (i < n) hc->bp_phase = 2;
    }
    hc->bp_pos = i;
    return 0;
}

/* Next line of [*pos, end) without its line end; returns its length. */
static size_t next_line(const char *p, size_t end, size_t *pos, const char **line) {
    size_t s = *pos, e = s;
    while (e < end && p[e] != '\n') e++;
    *line = p + s;
    *pos = e < end ? e + 1 : end;
    size_t len = e - s;
    if (len > 0 && p[s + len - 1] == '\r') len--;
    return len;
}

static const route_t *find_route(const rs_http_t *h, const char *path) {
    const route_t *best = NULL;
    for (size_t i = 0; i < h->nroutes; i++) {
        const route_t *r = &h->routes[i];
        int match = r->exact ? !strcmp(path, r->prefix) : !strncmp(path, r->prefix, r->len);
        if (match && (!best || r->len > best->len)) best = r;
    }
    return best;
}

/* The client's counter for this second, or NULL (no limit, no address, or
 * every probed slot taken this second by other addresses). */
static client_t *client_slot(rs_http_t *h, const char *ip, uint64_t sec) {
    if (!h->client_max_rps || !ip || !*ip) return NULL;
    if (!h->clients) h->clients = rs_xcalloc(CLIENT_SLOTS, sizeof(*h->clients));
    uint64_t x = rs_hash64(ip, strlen(ip));
    client_t *stale = NULL;
    for (unsigned i = 0; i < CLIENT_PROBE; i++) {
        client_t *c = &h->clients[(x + i) % CLIENT_SLOTS];
        if (!strcmp(c->ip, ip)) {
            if (c->sec != sec) c->sec = sec, c->count = 0;
            return c;
        }
        if (!stale && c->sec != sec) stale = c;
    }
    if (stale) {
        snprintf(stale->ip, sizeof(stale->ip), "%s", ip);
        stale->sec = sec;
        stale->count = 0;
    }
    return stale;
}

/* Counts the request; 1 if it is over the client's or the global limit.
 * A request refused per client does not use up the global budget. */
static int rate_limited(rs_http_t *h, const char *ip) {
    uint64_t sec = rs_loop_now(h->loop) / 1000 + 1; /* + 1: 0 marks a free slot */
    client_t *c = client_slot(h, ip, sec);
    if (c && ++c->count > h->client_max_rps) return 1;
    if (!h->max_rps) return 0;
    if (sec != h->rate_sec) {
        h->rate_sec = sec;
        h->rate_count = 0;
    }
    return ++h->rate_count > h->max_rps;
}

/* Parses the complete head p[0..n) and answers it. */
static void handle_request(rs_http_t *h, rs_tcp_conn_t *c, hconn_t *hc, const char *p, size_t n) {
    size_t pos = 0;
    const char *line;
    size_t len = next_line(p, n, &pos, &line);

    /* Request line: METHOD SP target SP HTTP/d.d */
    size_t m = 0;
    while (m < len && is_tchar((unsigned char)line[m])) m++;
    if (m == 0 || m > 16 || m >= len || line[m] != ' ') goto bad;
    size_t t0 = m + 1, t1 = t0;
    while (t1 < len && line[t1] != ' ') t1++;
    if (t1 == t0 || t1 >= len || line[t0] != '/') goto bad;
    for (size_t i = t0; i < t1; i++) {
        unsigned char ch = (unsigned char)line[i];
        if (ch < 0x21 || ch == 0x7f) goto bad;
    }
    const char *ver = line + t1 + 1;
    size_t vlen = len - t1 - 1;
    if (vlen != 8 || memcmp(ver, "HTTP/1.", 7) || ver[7] < '0' || ver[7] > '9') goto bad;

    /* Headers: name ":" value; we need none of them, but reject garbage. */
    for (;;) {
        size_t hl = next_line(p, n, &pos, &line);
        if (hl == 0) break; /* the blank line */
        size_t k = 0;
        while (k < hl && is_tchar((unsigned char)line[k])) k++;
        if (k == 0 || k >= hl || line[k] != ':') goto bad; /* also obs-fold */
        for (size_t i = k + 1; i < hl; i++)
            if (line[i] == '\0') goto bad;
    }

    int head_only = m == 4 && !memcmp(p, "HEAD", 4);
    if (!head_only && !(m == 3 && !memcmp(p, "GET", 3))) {
        respond_error(c, hc, 405, "Allow: GET, HEAD\r\n", 0);
        return;
    }
    if (rate_limited(h, rs_tcp_conn_peer(c))) {
        respond_error(c, hc, 429, "Retry-After: 1\r\n", head_only);
        return;
    }

    char *target = rs_xstrndup(p + t0, t1 - t0);
    char *q = strchr(target, '?');
    const char *query = "";
    if (q) {
        *q = '\0';
        query = q + 1;
    }
    const route_t *r = find_route(h, target);
    if (!r) {
        respond_error(c, hc, 404, NULL, head_only);
        free(target);
        return;
    }
    rs_http_resp_t resp = {.status = 200, .content_type = NULL, .body = {0}};
    r->fn(r->opaque, target, query, &resp);
    if (resp.status < 100 || resp.status > 599) {
        rs_warn("http", "handler for %s set status %d; answering 500", r->prefix, resp.status);
        resp.status = 500;
    }
    respond(c, hc, resp.status, resp.content_type ? resp.content_type : "text/plain; charset=utf-8",
            NULL, resp.body.p ? resp.body.p : "", resp.body.len, head_only);
    rs_buf_free(&resp.body);
    free(target);
    return;
bad:
    respond_error(c, hc, 400, NULL, 0);
}

static void on_data(void *opaque, rs_tcp_conn_t *c, const char *data, size_t len) {
    rs_http_t *h = opaque;
    hconn_t *hc = rs_tcp_conn_data(c);
    if (!hc) {
        hc = rs_xcalloc(1, sizeof(*hc));
        rs_tcp_conn_set_data(c, hc);
    }
    if (hc->done) return;
    /* Keep at most the limit; the head must end within it. */
    size_t room = RS_HTTP_MAX_REQUEST - hc->req.len;
    rs_buf_append(&hc->req, data, len < room ? len : room);
    size_t end = head_end(hc->req.p, hc->req.len, &hc->scan);
    if (end) {
        handle_request(h, c, hc, hc->req.p, end);
    } else if (bad_prefix(hc, hc->req.p, hc->req.len)) {
        respond_error(c, hc, 400, NULL, 0);
    } else if (hc->req.len >= RS_HTTP_MAX_REQUEST) {
        respond_error(c, hc, 431, NULL, 0);
    }
    /* A failed write closes the connection at once, and on_close frees hc. */
    hc = rs_tcp_conn_data(c);
    if (hc && hc->done) rs_buf_free(&hc->req);
}

static void on_close(void *opaque, rs_tcp_conn_t *c) {
    hconn_t *hc = rs_tcp_conn_data(c);
    if (!hc) return;
    rs_buf_free(&hc->req);
    free(hc);
    rs_tcp_conn_set_data(c, NULL);
}

rs_err_t rs_http_new(rs_http_t **out, rs_loop_t *loop, const char *host, int port, char *errstr,
                     size_t errstr_size) {
    *out = NULL;
    rs_http_t *h = rs_xcalloc(1, sizeof(*h));
    h->loop = loop;
    h->max_rps = DEFAULT_MAX_RPS;
    h->client_max_rps = DEFAULT_CLIENT_MAX_RPS;
    rs_tcp_handler_t th = {.opaque = h, .on_data = on_data, .on_close = on_close};
    rs_err_t err = rs_tcp_listen(loop, host, port, &th, &h->srv, errstr, errstr_size);
    if (err) goto fail;
    rs_tcp_server_set_conn_timeout(h->srv, DEFAULT_TIMEOUT_MS);
    rs_info("http", "listening on %s:%d", host, rs_tcp_server_port(h->srv));
    *out = h;
    return RS_OK;
fail:
    rs_http_destroy(h);
    return err;
}

void rs_http_route(rs_http_t *h, const char *prefix, rs_http_handler_t *fn, void *opaque) {
    size_t len = strlen(prefix);
    route_t *r = NULL;
    for (size_t i = 0; i < h->nroutes; i++)
        if (!strcmp(h->routes[i].prefix, prefix)) r = &h->routes[i];
    if (!r) {
        h->routes = rs_xrealloc(h->routes, (h->nroutes + 1) * sizeof(*h->routes));
        r = &h->routes[h->nroutes++];
        r->prefix = rs_xstrdup(prefix);
        r->len = len;
        r->exact = len == 0 || prefix[len - 1] != '/';
    }
    r->fn = fn;
    r->opaque = opaque;
}

void rs_http_set_limits(rs_http_t *h, unsigned max_rps, uint64_t conn_timeout_ms) {
    h->max_rps = max_rps;
    rs_tcp_server_set_conn_timeout(h->srv, conn_timeout_ms);
}

void rs_http_set_client_limit(rs_http_t *h, unsigned client_max_rps) {
    h->client_max_rps = client_max_rps;
}

int rs_http_port(rs_http_t *h) {
    return rs_tcp_server_port(h->srv);
}

void rs_http_destroy(rs_http_t *h) {
    if (!h) return;
    rs_tcp_server_close(h->srv); /* on_close frees every connection's state */
    for (size_t i = 0; i < h->nroutes; i++) free(h->routes[i].prefix);
    free(h->routes);
    free(h->clients);
    free(h);
}
