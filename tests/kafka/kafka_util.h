/* kafka_util.h -- helpers for the tests against a real Apache Kafka broker
 * (tests/kafka, ctest label `kafka`): the broker address, unique topic
 * names, `recstream run` as a child process, its --stats-json figures,
 * `state dump` parsing, and reading a topic with kcat (a client we did not
 * write) in a binary-safe framing.
 *
 * The broker comes from RS_KAFKA_BOOTSTRAP (host:port, as printed by
 * tools/kafka-start). Without it the tests print SKIP and pass, unless
 * RS_KAFKA_REQUIRED is set (tools/build sets it: there the broker must be
 * there and a missing one is a failure).
 *
 * Topic and group names carry the test's pid and start time, so the tests
 * can run again and again against the same broker. Everything is static and
 * single-threaded. */
#ifndef RS_KAFKA_UTIL_H
#define RS_KAFKA_UTIL_H

#include "slow/slow_util.h"

/* ------------------------------------------------------------ broker */

/* The broker address, or NULL (then the caller skips or fails, see above). */
static inline const char *ku_bootstrap(void) {
    const char *b = getenv("RS_KAFKA_BOOTSTRAP");
    return b && *b ? b : NULL;
}

/* main() helper: 0 = run the tests, 1 = fail now, -1 = skip (exit 0). */
static inline int ku_skip_or_fail(const char *test) {
    if (ku_bootstrap()) return 0;
    if (getenv("RS_KAFKA_REQUIRED")) {
        fprintf(stderr,
                "%s: FAIL: RS_KAFKA_REQUIRED is set but RS_KAFKA_BOOTSTRAP is not "
                "(tools/build starts the broker with tools/kafka-start)\n",
                test);
        return 1;
    }
    printf("%s: SKIP: RS_KAFKA_BOOTSTRAP is not set; start a broker with "
           "`export RS_KAFKA_BOOTSTRAP=$(tools/kafka-start | tail -n1)` (PASS)\n",
           test);
    return -1;
}

/* "rsk<pid>x<ms>-tag": unique per run, valid as a topic and group name. */
static inline void ku_name(char *out, size_t size, const char *tag) {
    static int64_t t0;
    if (!t0) t0 = rs_now_ms() % 100000000;
    snprintf(out, size, "rsk%dx%" PRId64 "-%s", (int)getpid(), t0, tag);
}

static inline rs_err_t ku_create_topics(const char *bootstrap, const char *const *names,
                                        const int *parts, size_t n) {
    char err[512];
    rs_kv_t kv[1] = {{(char *)"bootstrap.servers", (char *)bootstrap, (char *)"test"}};
    rs_err_t rc = rs_kafka_create_topics(kv, 1, names, parts, n, 30000, err, sizeof(err));
    if (rc) fprintf(stderr, "  create topics: %s\n", err);
    return rc;
}

/* ------------------------------------------------------------ the daemon */

typedef struct ku_run {
    const char *bin, *bootstrap, *dir, *group;
    const char *t_events, *t_recs, *t_dlq;
    int http_port;          /* 0: no HTTP */
    uint64_t stop_after;    /* 0: run until SIGTERM */
    const char *stats_path; /* --stats-json */
    const char *log_path;   /* stderr of the child */
} ku_run_t;

static inline pid_t ku_start(const ku_run_t *r) {
    su_argv_t a = {0};
    su_arg(&a, r->bin);
    su_arg(&a, "run");
    su_arg(&a, "-X"), su_argf(&a, "kafka.bootstrap.servers=%s", r->bootstrap);
    su_arg(&a, "-X"), su_argf(&a, "state.dir=%s", r->dir);
    su_arg(&a, "-X"), su_argf(&a, "group.id=%s", r->group);
    su_arg(&a, "-X"), su_argf(&a, "topic.events=%s", r->t_events);
    su_arg(&a, "-X"), su_argf(&a, "topic.recommendations=%s", r->t_recs);
    su_arg(&a, "-X"), su_argf(&a, "topic.dlq=%s", r->t_dlq);
    su_arg(&a, "-X"), su_argf(&a, "http.port=%d", r->http_port);
    su_arg(&a, "-X"), su_arg(&a, "log.level=info");
    /* the broker's minimum (group.min.session.timeout.ms) */
    su_arg(&a, "-X"), su_arg(&a, "kafka.session.timeout.ms=6000");
    su_arg(&a, "-X"), su_arg(&a, "kafka.heartbeat.interval.ms=500");
    su_arg(&a, "-X"), su_arg(&a, "commit.interval.ms=200");
    if (r->stop_after) su_arg(&a, "--stop-after"), su_argf(&a, "%" PRIu64, r->stop_after);
    if (r->stats_path) su_arg(&a, "--stats-json"), su_arg(&a, r->stats_path);
    return su_spawn(a.v, r->log_path);
}

/* Final figures of a `recstream run --stats-json` child. */
typedef struct ku_stats {
    double events, applied, duplicates, late, dlq, recs, seconds, eps;
} ku_stats_t;

static inline double ku_json_num(const char *s, const char *key) {
    char pat[64];
    snprintf(pat, sizeof(pat), "\"%s\":", key);
    const char *p = strstr(s, pat);
    return p ? atof(p + strlen(pat)) : -1;
}

static inline int ku_read_stats(const char *path, ku_stats_t *s) {
    char buf[4096];
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "  no stats file %s\n", path);
        return -1;
    }
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    s->events = ku_json_num(buf, "events");
    s->applied = ku_json_num(buf, "applied");
    s->duplicates = ku_json_num(buf, "duplicates");
    s->late = ku_json_num(buf, "late");
    s->dlq = ku_json_num(buf, "dlq");
    s->recs = ku_json_num(buf, "recs");
    s->seconds = ku_json_num(buf, "seconds");
    s->eps = ku_json_num(buf, "events_per_sec");
    return 0;
}

/* Prints the last lines of a child's log (after a failure). */
static inline void ku_tail(const char *path, int lines) {
    char cmd[800];
    snprintf(cmd, sizeof(cmd), "tail -n %d '%s' >&2", lines, path);
    if (system(cmd)) {
    }
}

/* ------------------------------------------------------------ state dumps */

/* One dump line split as kind ('o'ffset, 'i'tem, 'c'ooc, 'u'ser), key, value. */
typedef struct ku_ent {
    char kind;
    char *key, *val;
} ku_ent_t;

typedef struct ku_dump {
    ku_ent_t *v;
    size_t n, cap;
    size_t unknown; /* lines of another kind (not '#') */
} ku_dump_t;

static inline int ku_ent_cmp(const void *a, const void *b) {
    const ku_ent_t *x = a, *y = b;
    if (x->kind != y->kind) return x->kind < y->kind ? -1 : 1;
    return strcmp(x->key, y->key);
}

/* `state dump` of dir, parsed and sorted by (kind, key). Keys: offset
 * "TOPIC PART", cooc "A B", item and user their id. 0 on success. */
static inline int ku_dump(const char *bin, const char *dir, ku_dump_t *d) {
    memset(d, 0, sizeof(*d));
    char *text = su_state_dump(bin, dir, NULL);
    if (!text) return -1;
    for (char *p = text; p && *p;) {
        char *eol = strchr(p, '\n');
        if (eol) *eol = '\0';
        char *sp = strchr(p, ' ');
        char kind = 0;
        int words = 1;
        if (*p != '#' && sp) {
            size_t wl = (size_t)(sp - p);
            if (wl == 6 && !memcmp(p, "offset", 6))
                kind = 'o', words = 2;
            else if (wl == 4 && !memcmp(p, "item", 4))
                kind = 'i';
            else if (wl == 4 && !memcmp(p, "cooc", 4))
                kind = 'c', words = 2;
            else if (wl == 4 && !memcmp(p, "user", 4))
                kind = 'u';
        }
        if (kind) {
            char *k = sp + 1, *ke = k;
            for (int w = 0; w < words && ke; w++) ke = strchr(ke + (w ? 1 : 0), ' ');
            if (ke) {
                if (d->n == d->cap) {
                    d->cap = d->cap ? d->cap * 2 : 4096;
                    d->v = rs_xrealloc(d->v, d->cap * sizeof(*d->v));
                }
                *ke = '\0';
                d->v[d->n++] = (ku_ent_t){kind, rs_xstrdup(k), rs_xstrdup(ke + 1)};
            } else {
                d->unknown++;
            }
        } else if (*p && *p != '#') {
            d->unknown++;
        }
        p = eol ? eol + 1 : NULL;
    }
    free(text);
    qsort(d->v, d->n, sizeof(*d->v), ku_ent_cmp);
    return 0;
}

static inline const ku_ent_t *ku_find(const ku_dump_t *d, char kind, const char *key) {
    ku_ent_t k = {kind, (char *)key, NULL};
    return d->n ? bsearch(&k, d->v, d->n, sizeof(*d->v), ku_ent_cmp) : NULL;
}

static inline void ku_dump_free(ku_dump_t *d) {
    for (size_t i = 0; i < d->n; i++) free(d->v[i].key), free(d->v[i].val);
    free(d->v);
    memset(d, 0, sizeof(*d));
}

/* Parsed value of an item or user line. */
typedef struct ku_rec {
    unsigned long long c[RS_EV__COUNT];
    unsigned long long weight;
    long long first, last;
    unsigned sessions, purchases;
    double monetary;
} ku_rec_t;

static inline int ku_parse_counts(const char *s, unsigned long long *c) {
    if (strncmp(s, "counts=", 7)) return -1;
    s += 7;
    for (int i = 0; i < RS_EV__COUNT; i++) {
        char *e;
        c[i] = strtoull(s, &e, 10);
        if (e == s || (i < RS_EV__COUNT - 1 && *e != ',')) return -1;
        s = e + 1;
    }
    return 0;
}

static inline int ku_parse_item(const char *s, ku_rec_t *r) {
    memset(r, 0, sizeof(*r));
    const char *w = strstr(s, " weight=");
    if (ku_parse_counts(s, r->c) || !w) return -1;
    return sscanf(w, " weight=%llu first=%lld last=%lld", &r->weight, &r->first, &r->last) == 3
               ? 0
               : -1;
}

static inline int ku_parse_user(const char *s, ku_rec_t *r) {
    memset(r, 0, sizeof(*r));
    const char *f = strstr(s, " first=");
    if (ku_parse_counts(s, r->c) || !f) return -1;
    return sscanf(f, " first=%lld last=%lld sessions=%u purchases=%u monetary=%lf", &r->first,
                  &r->last, &r->sessions, &r->purchases, &r->monetary) == 5
               ? 0
               : -1;
}

/* ------------------------------------------------------------ kcat read-back */

typedef void(ku_rec_fn_t)(void *opaque, int32_t part, int64_t off, const char *key, size_t klen,
                          const unsigned char *val, size_t vlen);

/* Reads all partitions of topic from the beginning to the end with kcat -e
 * (no group) and calls fn per record. Framing, binary-safe: a text line
 * "PART OFFSET KEYLEN VALLEN" (-1 for a null key/value), then the raw key
 * and value bytes. Returns the number of records, or -1. */
static inline int64_t ku_kcat_read(const char *bootstrap, const char *topic, ku_rec_fn_t *fn,
                                   void *opaque) {
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "timeout 300 kcat -C -q -e -b '%s' -t '%s' -o beginning "
             "-f '%%p %%o %%K %%S\\n%%k%%s'",
             bootstrap, topic);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    int64_t n = 0;
    size_t cap = 1 << 16;
    unsigned char *buf = rs_xmalloc(cap);
    int part;
    long long off, kl, vl;
    int bad = 0;
    while (fscanf(p, "%d %lld %lld %lld", &part, &off, &kl, &vl) == 4) {
        if (fgetc(p) != '\n') {
            bad = 1;
            break;
        }
        size_t k = kl > 0 ? (size_t)kl : 0, v = vl > 0 ? (size_t)vl : 0;
        if (k + v + 1 > cap) {
            while (k + v + 1 > cap) cap *= 2;
            buf = rs_xrealloc(buf, cap);
        }
        if (fread(buf, 1, k + v, p) != k + v) {
            bad = 1;
            break;
        }
        fn(opaque, part, off, (const char *)buf, k, buf + k, v);
        n++;
    }
    free(buf);
    int st = pclose(p);
    if (bad || st != 0) {
        fprintf(stderr, "  kcat read of %s failed (status %d, framing %s)\n", topic, st,
                bad ? "broken" : "ok");
        return -1;
    }
    return n;
}

#endif
