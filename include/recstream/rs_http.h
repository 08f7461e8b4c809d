/* rs_http.h -- the HTTP endpoint on the loop thread (GET only, HTTP/1.0-style
 * one request per connection, bounded request size).
 *
 * Routes are registered by prefix; the handler fills the response. Built on
 * rs_loop's TCP server, so it never blocks the loop. */
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

/* path is the request path without query string; query may be "". */
typedef void(rs_http_handler_t)(void *opaque, const char *path, const char *query,
                                rs_http_resp_t *resp);

rs_err_t rs_http_new(rs_http_t **out, rs_loop_t *loop, const char *host, int port, char *errstr,
                     size_t errstr_size);
/* Longest matching prefix wins; "/healthz" exact if it has no trailing '/'. */
void rs_http_route(rs_http_t *h, const char *prefix, rs_http_handler_t *fn, void *opaque);
int rs_http_port(rs_http_t *h);
void rs_http_destroy(rs_http_t *h); /* NULL-safe */

#endif
