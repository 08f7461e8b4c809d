/* rs_daemon_ops.c -- the daemon's operator surface: HTTP endpoints,
 * readiness and the SIGHUP reload (the consume/commit core is rs_daemon.c).
 *
 * Readiness (/readyz) fails while shutting down, while paused on a failed
 * state write, and while Kafka is unusable: all brokers down, authentication
 * refused, or a fatal client error. "Usable again" needs evidence: an
 * assignment, a record, or a broker connection up again (librdkafka's
 * statistics, every second: it reports connections going down, with
 * repeats suppressed, but not coming back, so the absence of errors proves
 * nothing). The same statistics also catch an outage that never produced
 * the "all brokers down" error. A fatal error never clears.
 *
 * Reload: the owner of the conf re-reads file and -X (opts.reload, see
 * rs_conf_reload); only keys read at each use change, so nothing here has
 * to be rebuilt except the log level and the HTTP limits. Everything on the loop thread. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/rs_daemon_int.h"
#include "recstream/rs_inspect.h"
#include "recstream/rs_log.h"

/* ------------------------------------------------------------- Kafka */

#define KAFKA_DOWN_SAMPLES 3 /* statistics come every second */

void rs_daemon__kafka_error(void *opaque, int kind, const char *msg) {
    rs_daemon_t *d = opaque;
    int64_t now = rs_now_ms();
    if (kind == RS_KAFKA_ERR_DOWN || kind == RS_KAFKA_ERR_AUTH || kind == RS_KAFKA_ERR_FATAL) {
        if (!d->kafka_bad) {
            d->kafka_bad_since_ms = now;
            rs_warn("daemon", "not ready: Kafka: %s", msg);
        }
        if (d->kafka_bad != RS_KAFKA_ERR_FATAL) d->kafka_bad = kind;
        snprintf(d->kafka_err, sizeof(d->kafka_err), "%s", msg);
    }
    d->stats.kafka_ready = !d->kafka_bad;
}

static void kafka_ok(rs_daemon_t *d, const char *why) {
    rs_info("daemon", "ready again: Kafka answers (%s) after %.1f s", why,
            (double)(rs_now_ms() - d->kafka_bad_since_ms) / 1000);
    d->kafka_bad = 0;
    d->stats.kafka_ready = 1;
}

void rs_daemon__kafka_alive(rs_daemon_t *d) {
    if (d->kafka_bad && d->kafka_bad != RS_KAFKA_ERR_FATAL) kafka_ok(d, "records or assignment");
}

void rs_daemon__kafka_brokers_up(void *opaque, int up) {
    rs_daemon_t *d = opaque;
    if (up > 0) {
        d->kafka_zero_up = 0;
        if (d->kafka_bad && d->kafka_bad != RS_KAFKA_ERR_FATAL)
            kafka_ok(d, "a broker connection is up");
        return;
    }
    /* librdkafka's "all brokers down" error only fires if every connection
     * is down at one instant, which reconnect attempts can keep from
     * happening: no connection up in KAFKA_DOWN_SAMPLES statistics in a row
     * counts as down too. */
    if (++d->kafka_zero_up == KAFKA_DOWN_SAMPLES && !d->kafka_bad) {
        char msg[128];
        snprintf(msg, sizeof(msg), "no broker connection up in %d statistics in a row",
                 KAFKA_DOWN_SAMPLES);
        rs_daemon__kafka_error(d, RS_KAFKA_ERR_DOWN, msg);
    }
}

/* ------------------------------------------------------------- SIGHUP */

void rs_daemon__on_hup(void *opaque) {
    rs_daemon_t *d = opaque;
    if (!d->opts.reload) {
        rs_info("config", "SIGHUP: no configuration source to reload");
        return;
    }
    rs_buf_t rep = {0};
    char err[512];
    int n = d->opts.reload(d->opts.opaque, &rep, err, sizeof(err));
    if (n < 0) {
        d->stats.config_reload_errors++;
        rs_error("config", "reload failed, running configuration kept: %s", err);
        rs_buf_free(&rep);
        return;
    }
    d->stats.config_reloads++;
    rs_log_level = (rs_log_level_t)d->conf->log_level;
    rs_daemon__http_limits(d);
    rs_info("config", "reloaded: %d key(s) applied%s", n, rep.len ? ":" : ", nothing changed");
    rs_buf_cstr(&rep);
    for (char *line = rep.p, *nl; rep.len && (nl = strchr(line, '\n')); line = nl + 1) {
        *nl = '\0';
        if (strstr(line, "needs a restart"))
            rs_warn("config", "  %s", line);
        else
            rs_info("config", "  %s", line);
    }
    rs_buf_free(&rep);
}

/* ------------------------------------------------------------- HTTP */

static void http_metrics(void *opaque, const char *path, const char *query, rs_http_resp_t *r) {
    rs_daemon_t *d = opaque;
    d->stats.state_bytes = rs_state_bytes(rs_pipeline_state(d->pipe));
    r->content_type = "text/plain; version=0.0.4";
    rs_metrics_render(&d->stats, &r->body);
}

static void http_health(void *opaque, const char *path, const char *query, rs_http_resp_t *r) {
    rs_buf_append(&r->body, "ok\n", 3);
}

static void http_ready(void *opaque, const char *path, const char *query, rs_http_resp_t *r) {
    rs_daemon_t *d = opaque;
    if (d->stopping) {
        r->status = 503;
        rs_buf_printf(&r->body, "not ready: shutting down\n");
    } else if (d->paused) {
        r->status = 503;
        rs_buf_printf(&r->body,
                      "not ready: state write failed (%s): consumption paused for %" PRId64
                      " s, retrying every %d ms\n",
                      d->pause_err, (rs_now_ms() - d->pause_since_ms) / 1000,
                      d->conf->state_retry_ms);
    } else if (d->kafka_bad) {
        r->status = 503;
        rs_buf_printf(&r->body, "not ready: Kafka: %s (for %" PRId64 " s)\n", d->kafka_err,
                      (rs_now_ms() - d->kafka_bad_since_ms) / 1000);
    } else {
        rs_buf_append(&r->body, "ready\n", 6);
    }
}

/* GET /users/<id>, /items/<id> (SPEC F16, F18): the rs_inspect JSON of the
 * live state; a temporary scorer per request (cheap next to the request). */
static void http_user(void *opaque, const char *path, const char *query, rs_http_resp_t *r) {
    rs_daemon_t *d = opaque;
    rs_inspect_http(rs_pipeline_state(d->pipe), d->conf, NULL, RS_INSPECT_USER,
                    path + strlen("/users/"), query, r);
}

static void http_item(void *opaque, const char *path, const char *query, rs_http_resp_t *r) {
    rs_daemon_t *d = opaque;
    rs_inspect_http(rs_pipeline_state(d->pipe), d->conf, NULL, RS_INSPECT_ITEM,
                    path + strlen("/items/"), query, r);
}

/* GET /v1/users/<id>/recommendations, /v1/users/<id>/profile,
 * /v1/items/<id>/similar: the stable read API (rs_inspect_http_v1). */
static void http_v1(void *opaque, const char *path, const char *query, rs_http_resp_t *r) {
    rs_daemon_t *d = opaque;
    rs_inspect_http_v1(rs_pipeline_state(d->pipe), d->conf, NULL, path + strlen("/v1/"), query, r);
}

/* GET /v1/config: the effective configuration, secrets masked, as
 * `recstream config` prints it (after SIGHUP: what is actually running). */
static void http_config(void *opaque, const char *path, const char *query, rs_http_resp_t *r) {
    rs_daemon_t *d = opaque;
    char *p = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&p, &n);
    if (!f) {
        r->status = 500;
        rs_buf_printf(&r->body, "out of memory\n");
        return;
    }
    rs_conf_dump(d->conf, f);
    fclose(f);
    rs_buf_append(&r->body, p, n);
    free(p);
}

void rs_daemon__http_limits(rs_daemon_t *d) {
    if (!d->http) return;
    rs_http_set_limits(d->http, (unsigned)d->conf->http_max_rps,
                       (uint64_t)d->conf->http_timeout_ms);
    rs_http_set_client_limit(d->http, (unsigned)d->conf->http_client_max_rps);
}

void rs_daemon__http_routes(rs_daemon_t *d) {
    rs_http_route(d->http, "/metrics", http_metrics, d);
    rs_http_route(d->http, "/healthz", http_health, d);
    rs_http_route(d->http, "/readyz", http_ready, d);
    rs_http_route(d->http, "/users/", http_user, d);
    rs_http_route(d->http, "/items/", http_item, d);
    rs_http_route(d->http, "/v1/config", http_config, d);
    rs_http_route(d->http, "/v1/", http_v1, d);
}
