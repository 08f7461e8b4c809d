/* cmd_inspect.c -- `recstream inspect` (SPEC F16): one user's profile and
 * recommendations, or one item's neighbours and rules, from a state
 * directory (opened read-only, so it works next to a stopped daemon or on a
 * copy) or from a running daemon over HTTP (GET /users/<id>, /items/<id>).
 *
 * The HTTP side is a tiny blocking client (one GET, HTTP/1.0, connect and
 * per-read timeouts): the daemon answers with Content-Length and closes the
 * connection, so reading to EOF is enough and no HTTP library is needed.
 * Exit: 0 found, 1 not found or failure, 2 usage/configuration. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "recstream/rs_buf.h"
#include "recstream/rs_inspect.h"
#include "recstream/rs_state.h"
#include "rs_cli.h"

#define MAX_BODY (64u << 20)

static void usage(FILE *out) {
    fprintf(out,
            "usage: recstream inspect --state DIR (--user ID | --item ID) [--json] [options]\n"
            "       recstream inspect --url http://HOST:PORT (--user ID | --item ID) [options]\n"
            "\n"
            "Shows a user's profile (counts per event type, sessions, purchases, recent and\n"
            "purchased items) with the recommendations the engine would give now and their\n"
            "reasons, or an item's counts, conversion rate, popularity, top neighbours and\n"
            "association rules (\"customers who interacted with A also interacted with B:\n"
            "80%% (lift 4.1, support 12)\"; support counts the users who had both items\n"
            "close together in their history).\n"
            "\n"
            "  -s, --state DIR          read a state directory (read-only)\n"
            "  -u, --url URL            ask a running `recstream run` (its http.port); prints\n"
            "                           the daemon's JSON\n"
            "      --user ID            a user id; with privacy.user.id.hash on (give the\n"
            "                           same -c/-X salt as the daemon) the raw id or its hash\n"
            "      --item ID            an item id\n"
            "  -j, --json               JSON instead of text (with --state)\n"
            "      --neighbors N        neighbours to show (default 20)\n"
            "      --rules N            rules to show (default 10)\n"
            "      --min-count X        minimum co-occurrence of a rule, in users (default 2)\n"
            "      --min-support X      minimum support, fraction of all weight (default 0)\n"
            "      --min-confidence X   minimum confidence 0..1 (default 0)\n"
            "      --min-lift X         minimum lift (default 0)\n"
            "      --timeout-ms N       HTTP connect/read timeout (default 5000)\n"
            "  -c, --config FILE        properties file (with --state: rec.*, weight.*)\n"
            "  -X key=value             override a configuration key\n"
            "  -h, --help\n"
            "\n"
            "Exit status: 0 found, 1 not found or error, 2 usage.\n");
}

/* ---------------------------------------------------------- HTTP client */

typedef struct url {
    char host[256];
    char port[8];
    char base[512]; /* path prefix without a trailing '/' */
} url_t;

static int url_parse(const char *s, url_t *u) {
    memset(u, 0, sizeof(*u));
    if (strncmp(s, "http://", 7)) return -1;
    s += 7;
    const char *h = s, *he;
    if (*s == '[') { /* [v6] */
        he = strchr(s, ']');
        if (!he) return -1;
        h = s + 1;
        s = he + 1;
    } else {
        he = s + strcspn(s, ":/");
        s = he;
    }
    size_t hl = (size_t)(he - h);
    if (!hl || hl >= sizeof(u->host)) return -1;
    memcpy(u->host, h, hl);
    snprintf(u->port, sizeof(u->port), "80");
    if (*s == ':') {
        size_t pl = strspn(s + 1, "0123456789");
        if (!pl || pl >= sizeof(u->port)) return -1;
        memcpy(u->port, s + 1, pl);
        u->port[pl] = '\0';
        s += 1 + pl;
    }
    if (*s && *s != '/') return -1;
    size_t bl = strlen(s);
    while (bl && s[bl - 1] == '/') bl--;
    if (bl >= sizeof(u->base)) return -1;
    memcpy(u->base, s, bl);
    return 0;
}

static int connect_timeout(const url_t *u, int timeout_ms, char *err, size_t errsz) {
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    int rc = getaddrinfo(u->host, u->port, &hints, &ai);
    if (rc) {
        snprintf(err, errsz, "%s: %s", u->host, gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    snprintf(err, errsz, "%s:%s: no address", u->host, u->port);
    for (struct addrinfo *a = ai; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) continue;
        int e = 0;
        if (connect(fd, a->ai_addr, a->ai_addrlen) < 0) {
            e = errno;
            if (e == EINPROGRESS) {
                struct pollfd p = {.fd = fd, .events = POLLOUT};
                int pr = poll(&p, 1, timeout_ms);
                socklen_t sl = sizeof(e);
                if (pr == 0)
                    e = ETIMEDOUT;
                else if (pr < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) < 0)
                    e = errno;
            }
        }
        if (e) {
            snprintf(err, errsz, "connect %s:%s: %s", u->host, u->port, strerror(e));
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(ai);
    if (fd < 0) return -1;
    /* blocking from here on, every send/recv bounded by the timeout */
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    return fd;
}

/* One GET; *status and body (headers stripped) on success, -1 + err otherwise. */
static int http_get(const url_t *u, const char *path, int timeout_ms, int *status, rs_buf_t *body,
                    char *err, size_t errsz) {
    int fd = connect_timeout(u, timeout_ms, err, errsz);
    if (fd < 0) return -1;
    rs_buf_t req = {0}, resp = {0};
    int rc = -1;
    rs_buf_printf(&req,
                  "GET %s HTTP/1.0\r\nHost: %s:%s\r\nAccept: application/json\r\n"
                  "Connection: close\r\n\r\n",
                  path, u->host, u->port);
    for (size_t off = 0; off < req.len;) {
        ssize_t n = send(fd, req.p + off, req.len - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            snprintf(err, errsz, "send: %s", n < 0 ? strerror(errno) : "closed");
            goto out;
        }
        off += (size_t)n;
    }
    for (;;) {
        rs_buf_reserve(&resp, 65536);
        ssize_t n = recv(fd, resp.p + resp.len, resp.cap - resp.len, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            snprintf(err, errsz, "recv: %s",
                     errno == EAGAIN || errno == EWOULDBLOCK ? "timed out" : strerror(errno));
            goto out;
        }
        if (n == 0) break;
        resp.len += (size_t)n;
        if (resp.len > MAX_BODY) {
            snprintf(err, errsz, "response over %u bytes", MAX_BODY);
            goto out;
        }
    }
    rs_buf_cstr(&resp);
    const char *hdr_end = resp.p ? strstr(resp.p, "\r\n\r\n") : NULL;
    if (!hdr_end || sscanf(resp.p, "HTTP/%*d.%*d %d", status) != 1) {
        snprintf(err, errsz, "malformed HTTP response");
        goto out;
    }
    const char *b = hdr_end + 4;
    rs_buf_append(body, b, resp.len - (size_t)(b - resp.p));
    rc = 0;
out:
    close(fd);
    rs_buf_free(&req);
    rs_buf_free(&resp);
    return rc;
}

/* ---------------------------------------------------------- command */

enum {
    O_USER = 256,
    O_ITEM,
    O_NEIGHBORS,
    O_RULES,
    O_MIN_COUNT,
    O_MIN_SUPPORT,
    O_MIN_CONF,
    O_MIN_LIFT,
    O_TIMEOUT
};

static int parse_uint(const char *s, unsigned long max, unsigned long *out) {
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (!*s || *end || errno || v > max || *s == '-') return -1;
    *out = v;
    return 0;
}

static int parse_nonneg(const char *s, double *out) {
    char *end;
    double v = strtod(s, &end);
    if (!*s || *end || !(v >= 0) || v > 1e300) return -1;
    *out = v;
    return 0;
}

int cmd_inspect(int argc, char **argv) {
    static const struct option lo[] = {{"state", required_argument, 0, 's'},
                                       {"url", required_argument, 0, 'u'},
                                       {"user", required_argument, 0, O_USER},
                                       {"item", required_argument, 0, O_ITEM},
                                       {"json", no_argument, 0, 'j'},
                                       {"neighbors", required_argument, 0, O_NEIGHBORS},
                                       {"rules", required_argument, 0, O_RULES},
                                       {"min-count", required_argument, 0, O_MIN_COUNT},
                                       {"min-support", required_argument, 0, O_MIN_SUPPORT},
                                       {"min-confidence", required_argument, 0, O_MIN_CONF},
                                       {"min-lift", required_argument, 0, O_MIN_LIFT},
                                       {"timeout-ms", required_argument, 0, O_TIMEOUT},
                                       {"config", required_argument, 0, 'c'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    rs_cli_conf_t cc = {0};
    rs_inspect_opts_t o;
    rs_inspect_opts_default(&o);
    rs_buf_t q = {0}; /* the same options as a query string, for --url */
    const char *dir = NULL, *url = NULL, *user = NULL, *item = NULL;
    int json = 0, c, ret = RS_EXIT_FAIL;
    unsigned long timeout_ms = 5000, uv;
    double dv;
    int li = -1;
    while ((c = getopt_long(argc, argv, "s:u:jc:X:h", lo, &li)) != -1) {
        int bad = 0;
        switch (c) {
        case 's':
            dir = optarg;
            break;
        case 'u':
            url = optarg;
            break;
        case O_USER:
            user = optarg;
            break;
        case O_ITEM:
            item = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case O_NEIGHBORS:
        case O_RULES:
            if ((bad = parse_uint(optarg, UINT32_MAX, &uv)) != 0) break;
            *(c == O_NEIGHBORS ? &o.max_neighbors : &o.max_rules) = (uint32_t)uv;
            rs_buf_printf(&q, "%s%s=%lu", q.len ? "&" : "",
                          c == O_NEIGHBORS ? "neighbors" : "rules", uv);
            break;
        case O_MIN_COUNT:
        case O_MIN_SUPPORT:
        case O_MIN_CONF:
        case O_MIN_LIFT:
            if ((bad = parse_nonneg(optarg, &dv)) != 0) break;
            *(c == O_MIN_COUNT     ? &o.rules.min_count
              : c == O_MIN_SUPPORT ? &o.rules.min_support
              : c == O_MIN_CONF    ? &o.rules.min_confidence
                                   : &o.rules.min_lift) = dv;
            rs_buf_printf(&q, "%s%s=%.17g", q.len ? "&" : "",
                          c == O_MIN_COUNT     ? "min_count"
                          : c == O_MIN_SUPPORT ? "min_support"
                          : c == O_MIN_CONF    ? "min_confidence"
                                               : "min_lift",
                          dv);
            break;
        case O_TIMEOUT:
            bad = parse_uint(optarg, 3600000, &timeout_ms) || !timeout_ms;
            break;
        case 'c':
            cc.file = optarg;
            break;
        case 'X':
            rs_cli_conf_add_x(&cc, optarg);
            break;
        case 'h':
            usage(stdout);
            ret = 0;
            goto done;
        default:
            usage(stderr);
            goto done;
        }
        if (bad) {
            fprintf(stderr, "recstream inspect: bad value \"%s\" for --%s\n", optarg,
                    li >= 0 ? lo[li].name : "?");
            goto done;
        }
        li = -1;
    }
    if (optind < argc || !dir == !url || !user == !item) {
        if (optind < argc)
            fprintf(stderr, "recstream inspect: unexpected argument \"%s\"\n", argv[optind]);
        else
            fprintf(stderr, "recstream inspect: give one of --state/--url and one of "
                            "--user/--item\n");
        usage(stderr);
        goto done;
    }
    const char *id = user ? user : item;
    char err[512];

    if (url) {
        url_t u;
        if (url_parse(url, &u)) {
            fprintf(stderr, "recstream inspect: bad --url \"%s\" (want http://HOST:PORT)\n", url);
            goto done;
        }
        rs_buf_t path = {0}, body = {0};
        rs_buf_printf(&path, "%s/%s/", u.base, user ? "users" : "items");
        rs_inspect_pct_encode(id, strlen(id), &path);
        if (q.len) rs_buf_printf(&path, "?%.*s", (int)q.len, q.p);
        int status = 0;
        ret = 1;
        if (http_get(&u, rs_buf_cstr(&path), (int)timeout_ms, &status, &body, err, sizeof(err))) {
            fprintf(stderr, "recstream inspect: %s\n", err);
        } else if (status == 200) {
            fwrite(body.p, 1, body.len, stdout);
            ret = 0;
        } else {
            fprintf(stderr, "recstream inspect: HTTP %d: %.*s", status, (int)body.len,
                    body.p ? body.p : "");
            if (!body.len || body.p[body.len - 1] != '\n') fputc('\n', stderr);
            if (status == 400) ret = RS_EXIT_FAIL;
        }
        rs_buf_free(&path);
        rs_buf_free(&body);
        goto done;
    }

    rs_conf_t *conf = rs_cli_conf_build(&cc, "recstream inspect");
    if (!conf) goto done;
    if (rs_conf_set(conf, "state.dir", dir, "--state", err, sizeof(err))) {
        fprintf(stderr, "recstream inspect: %s\n", err);
        rs_conf_destroy(conf);
        goto done;
    }
    rs_state_t *st = NULL;
    ret = 1;
    int rc = rs_state_open_ro(&st, conf, err, sizeof(err));
    if (rc) {
        fprintf(stderr, "recstream inspect: %s\n", err);
    } else {
        rs_buf_t out = {0};
        o.fmt = json ? RS_INSPECT_JSON : RS_INSPECT_TEXT;
        rc = user ? rs_inspect_user(st, conf, NULL, id, strlen(id), &o, &out)
                  : rs_inspect_item(st, conf, id, strlen(id), &o, &out);
        if (rc == RS_ENOTFOUND) {
            fprintf(stderr, "recstream inspect: %s \"%s\" not found in %s\n",
                    user ? "user" : "item", id, dir);
        } else if (rc) {
            fprintf(stderr, "recstream inspect: %s\n", rs_strerror(rc));
        } else {
            if (json) rs_buf_putc(&out, '\n');
            fwrite(out.p, 1, out.len, stdout);
            ret = 0;
        }
        rs_buf_free(&out);
    }
    rs_state_close(st);
    rs_conf_destroy(conf);
done:
    rs_cli_conf_free(&cc);
    rs_buf_free(&q);
    return ret;
}
