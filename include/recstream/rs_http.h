/* rs_http.h -- the HTTP endpoint on the loop thread (GET and HEAD, HTTP/1.0-style
 * one request per connection, bounded request size).
 *
 * Routes are registered by prefix; the handler fills the response. Built on
 * rs_loop's TCP server, so it never blocks the loop. Every response carries
 * Content-Length and "Connection: close". Errors the server answers itself:
 * 400 malformed request, 404 no route, 405 other methods, 431 request head
 * over RS_HTTP_MAX_REQUEST bytes, 429 (with Retry-After: 1) over the
 * requests-per-second limit of the client's IP address or of the server.
 * Thread: everything on the loop thread. */
#ifndef RS_HTTP_H
#define RS_HTTP_H

#include "rs_buf.h"
#include "rs_err.h"
#include "rs_loop.h"

typedef struct rs_http rs_http_t;

typedef struct rs_http_resp {
    int status;               /* default 200 */
    const char *content_type; /* default "text/plain; charset=utf-8" */
    rs_buf_t body;            /* handler appends */
} rs_http_resp_t;

#define RS_HTTP_MAX_REQUEST 8192 /* request line + headers + blank line */

/* path is the request path without query string; query may be "" (both raw,
 * not percent-decoded; valid during the call only). */
typedef void(rs_http_handler_t)(void *opaque, const char *path, const char *query,
                                rs_http_resp_t *resp);

rs_err_t rs_http_new(rs_http_t **out, rs_loop_t *loop, const char *host, int port, char *errstr,
                     size_t errstr_size);
/* Longest matching prefix wins; "/healthz" exact if it has no trailing '/'.
 * prefix is copied; registering the same prefix again replaces it. */
void rs_http_route(rs_http_t *h, const char *prefix, rs_http_handler_t *fn, void *opaque);
/* max_rps: requests per second over all clients before 429 (0 = no limit;
 * default 1000). conn_timeout_ms: a connection is closed this long after it
 * was accepted, answered or not (0 = never; default 10000). */
void rs_http_set_limits(rs_http_t *h, unsigned max_rps, uint64_t conn_timeout_ms);
/* Requests per second from one client IP address before 429 (0 = no limit;
 * default 250); counted before the server-wide max_rps, which a refused
 * request does not use up. */
void rs_http_set_client_limit(rs_http_t *h, unsigned client_max_rps);
int rs_http_port(rs_http_t *h);
void rs_http_destroy(rs_http_t *h); /* NULL-safe */

#endif
