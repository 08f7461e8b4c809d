/* kafka_util.h -- helpers for the tests against a real Apache Kafka broker
 * (tests/kafka, ctest label `kafka`): the broker address, unique topic
 * names, `recstream run` as a child process, its --stats-json figures,
 * `state dump` parsing, reading a topic with kcat (a client we did not
 * write) in a binary-safe framing, a paced producer thread, /metrics
 * samples, the SASL listener of the broker, and a dedicated broker of a
 * test's own (tools/kafka-start with a private state file) that can be
 * paused and restarted and is stopped even if the test dies.
 *
 * The broker comes from RS_KAFKA_BOOTSTRAP (host:port, as printed by
 * tools/kafka-start). Without it the tests print SKIP and pass, unless
 * RS_KAFKA_REQUIRED is set (tools/build sets it: there the broker must be
 * there and a missing one is a failure).
 *
 * Topic and group names carry the test's pid and start time, so the tests
 * can run again and again against the same broker. Everything is static and
 * single-threaded, except the producer thread (ku_feed_*). */
#ifndef RS_KAFKA_UTIL_H
#define RS_KAFKA_UTIL_H

#include <pthread.h>

#include "slow/slow_util.h"

static inline uint64_t ku_env_u64(const char *name, uint64_t def) {
    const char *s = getenv(name);
    return s && *s ? strtoull(s, NULL, 10) : def;
}

/* Seconds since t0_ms (su_ms). */
static inline double ku_secs(int64_t t0_ms) {
    return (double)(su_ms() - t0_ms) / 1000;
}

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

/* A test's topics and group: "<pid>x<ms>-<prefix>events", ...recommendations,
 * ...dlq, and the group "<pid>x<ms>-<group>". */
typedef struct ku_names {
    char ev[128], rec[128], dlq[128], group[128];
} ku_names_t;

static inline void ku_names(ku_names_t *t, const char *prefix, const char *group) {
    char tag[96];
    snprintf(tag, sizeof(tag), "%sevents", prefix);
    ku_name(t->ev, sizeof(t->ev), tag);
    snprintf(tag, sizeof(tag), "%srecommendations", prefix);
    ku_name(t->rec, sizeof(t->rec), tag);
    snprintf(tag, sizeof(tag), "%sdlq", prefix);
    ku_name(t->dlq, sizeof(t->dlq), tag);
    ku_name(t->group, sizeof(t->group), group);
}

/* A daemon's files under a test's scratch dir: state dir root/tag, stats
 * root/tag.json, log root/tag.log. */
typedef struct ku_files {
    char dir[600], stats[600], log[600];
} ku_files_t;

static inline void ku_files(ku_files_t *f, const char *root, const char *tag) {
    snprintf(f->dir, sizeof(f->dir), "%s/%s", root, tag);
    snprintf(f->stats, sizeof(f->stats), "%s/%s.json", root, tag);
    snprintf(f->log, sizeof(f->log), "%s/%s.log", root, tag);
}

/* The end-to-end tests' stream: 1% duplicates, 1% late, 0.5% malformed. */
static inline void ku_gen_opts(rs_gen_opts_t *go, uint32_t users, uint32_t items) {
    rs_gen_opts_default(go);
    go->seed = rs_test_seed();
    go->users = users;
    go->items = items;
    go->dup_rate = 0.01;
    go->late_rate = 0.01;
    go->bad_rate = 0.005;
}

/* A test's scratch dir at its end: kept (path printed) if it failed, else
 * removed (su_rmtree: RS_KEEP_TMP keeps it too). Frees root. */
static inline void ku_root_done(char *root, int failed) {
    if (root && failed)
        fprintf(stderr, "  logs and state kept in %s\n", root);
    else
        su_rmtree(root);
    free(root);
}

/* Creates topics with the admin API; kv: client properties (bootstrap.servers
 * and e.g. SASL). */
static inline rs_err_t ku_create_topics_kv(const rs_kv_t *kv, size_t n_kv, const char *const *names,
                                           const int *parts, size_t n) {
    char err[512];
    rs_err_t rc = rs_kafka_create_topics(kv, n_kv, names, parts, n, 30000, err, sizeof(err));
    if (rc) fprintf(stderr, "  create topics: %s\n", err);
    return rc;
}

static inline rs_err_t ku_create_topics(const char *bootstrap, const char *const *names,
                                        const int *parts, size_t n) {
    rs_kv_t kv[1] = {{(char *)"bootstrap.servers", (char *)bootstrap, (char *)"test"}};
    return ku_create_topics_kv(kv, 1, names, parts, n);
}

/* ------------------------------------------------------------ the daemon */

typedef struct ku_run {
    const char *bin, *bootstrap, *dir, *group;
    const char *t_events, *t_recs, *t_dlq;
    int http_port;            /* 0: no HTTP */
    uint64_t stop_after;      /* 0: run until SIGTERM */
    const char *stats_path;   /* --stats-json */
    const char *log_path;     /* stderr of the child */
    const char *const *extra; /* more "-X" "key=value" arguments, NULL-terminated */
} ku_run_t;

/* The usual run: topics and group of nm, files of fl; the caller sets
 * http_port, stop_after and extra as needed. */
static inline ku_run_t ku_run_of(const char *bin, const char *bootstrap, const ku_names_t *nm,
                                 const ku_files_t *fl) {
    return (ku_run_t){.bin = bin,
                      .bootstrap = bootstrap,
                      .dir = fl->dir,
                      .group = nm->group,
                      .t_events = nm->ev,
                      .t_recs = nm->rec,
                      .t_dlq = nm->dlq,
                      .stats_path = fl->stats,
                      .log_path = fl->log};
}

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
    for (const char *const *x = r->extra; x && *x; x++) su_arg(&a, *x);
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

/* A /metrics sample of the daemon on port (-1: no answer or no sample). */
static inline double ku_metric(int port, const char *name) {
    char *body = su_http_get(port, "/metrics");
    double v = body ? su_metric(body, name) : -1;
    free(body);
    return v;
}

/* ------------------------------------------------------------ producer thread */

/* rs_feed_run on a thread of its own, so the test can watch the daemon (or
 * stop the broker) while records go out at a steady rate. produced and
 * delivered in fs are written by that thread: read them with
 * __atomic_load_n while it runs. */
typedef struct ku_feed {
    rs_kv_t kv[8];
    size_t n_kv;
    const char *topic;
    rs_gen_t *gen;
    uint64_t n;
    double rate;
    rs_feed_stats_t *fs;
    int rc;
    char err[512];
    volatile int done;
    pthread_t th;
    int live;
} ku_feed_t;

static inline void *ku_feed_main(void *arg) {
    ku_feed_t *f = arg;
    f->rc = rs_feed_run(f->kv, f->n_kv, f->topic, f->gen, f->n, f->rate, 10, f->fs, f->err,
                        sizeof(f->err));
    __atomic_store_n(&f->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static inline int ku_feed_start(ku_feed_t *f) {
    if (pthread_create(&f->th, NULL, ku_feed_main, f)) return -1;
    f->live = 1;
    return 0;
}

static inline int ku_feed_done(ku_feed_t *f) {
    return __atomic_load_n(&f->done, __ATOMIC_ACQUIRE);
}

/* Joins the thread (NULL-safe, idempotent); returns its rs_feed_run code. */
static inline int ku_feed_join(ku_feed_t *f) {
    if (!f || !f->live) return f ? f->rc : 0;
    pthread_join(f->th, NULL);
    f->live = 0;
    if (f->rc) fprintf(stderr, "  produce: %s\n", f->err);
    return f->rc;
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
    if (d->n) qsort(d->v, d->n, sizeof(*d->v), ku_ent_cmp);
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
 * and value bytes. kcat_args: more kcat options (e.g. "-X security.protocol=
 * SASL_PLAINTEXT ..."), NULL for none. Returns the number of records, or -1. */
static inline int64_t ku_kcat_read_x(const char *bootstrap, const char *kcat_args,
                                     const char *topic, ku_rec_fn_t *fn, void *opaque) {
    char cmd[2048];
    snprintf(cmd, sizeof(cmd),
             "timeout 300 kcat -C -q -e -b '%s' %s -t '%s' -o beginning "
             "-f '%%p %%o %%K %%S\\n%%k%%s'",
             bootstrap, kcat_args ? kcat_args : "", topic);
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

static inline int64_t ku_kcat_read(const char *bootstrap, const char *topic, ku_rec_fn_t *fn,
                                   void *opaque) {
    return ku_kcat_read_x(bootstrap, NULL, topic, fn, opaque);
}

/* ------------------------------------------------------------ the SASL listener */

/* tools/kafka-start gives the broker a SASL_PLAINTEXT listener (mechanism
 * PLAIN, one test user) and records it in its state file. */
typedef struct ku_sasl {
    char bootstrap[128], mechanism[32], username[128], password[128];
} ku_sasl_t;

/* key=value of `tools/kafka-start --print-state` text; "" if absent. */
static inline void ku_state_get(const char *text, const char *key, char *out, size_t size) {
    size_t kl = strlen(key);
    out[0] = '\0';
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (!strncmp(p, key, kl) && p[kl] == '=') {
            const char *v = p + kl + 1, *e = strchr(v, '\n');
            size_t n = e ? (size_t)(e - v) : strlen(v);
            snprintf(out, size, "%.*s", (int)(n < size ? n : size - 1), v);
        }
}

/* The SASL listener of the broker at ku_bootstrap(): RS_KAFKA_SASL_BOOTSTRAP
 * (+ RS_KAFKA_SASL_USER / RS_KAFKA_SASL_PASSWORD, PLAIN) if set, else the
 * state file of tools/kafka-start (RS_KAFKA_STATE or its default), which
 * must describe that same broker. 0 if found. */
static inline int ku_sasl_find(ku_sasl_t *s) {
    memset(s, 0, sizeof(*s));
    const char *env = getenv("RS_KAFKA_SASL_BOOTSTRAP");
    if (env && *env) {
        const char *u = getenv("RS_KAFKA_SASL_USER"), *pw = getenv("RS_KAFKA_SASL_PASSWORD");
        snprintf(s->bootstrap, sizeof(s->bootstrap), "%s", env);
        snprintf(s->mechanism, sizeof(s->mechanism), "PLAIN");
        snprintf(s->username, sizeof(s->username), "%s", u && *u ? u : "rstest");
        snprintf(s->password, sizeof(s->password), "%s", pw && *pw ? pw : "rstest-secret");
        return 0;
    }
    const char *src = getenv("RS_SRC");
    char cmd[800], text[4096], bs[128];
    snprintf(cmd, sizeof(cmd), "'%s/tools/kafka-start' --print-state 2>/dev/null",
             src && *src ? src : ".");
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t n = fread(text, 1, sizeof(text) - 1, p);
    text[n] = '\0';
    pclose(p);
    ku_state_get(text, "bootstrap", bs, sizeof(bs));
    if (!ku_bootstrap() || strcmp(bs, ku_bootstrap())) {
        fprintf(stderr,
                "  the kafka-start state file describes broker '%s', not RS_KAFKA_BOOTSTRAP=%s "
                "(set RS_KAFKA_STATE, or RS_KAFKA_SASL_BOOTSTRAP)\n",
                bs, ku_bootstrap() ? ku_bootstrap() : "");
        return -1;
    }
    ku_state_get(text, "sasl_bootstrap", s->bootstrap, sizeof(s->bootstrap));
    ku_state_get(text, "sasl_mechanism", s->mechanism, sizeof(s->mechanism));
    ku_state_get(text, "sasl_username", s->username, sizeof(s->username));
    ku_state_get(text, "sasl_password", s->password, sizeof(s->password));
    if (!s->bootstrap[0] || !s->username[0]) {
        fprintf(stderr,
                "  broker %s has no SASL listener in its state file (started by an "
                "older tools/kafka-start? tools/kafka-stop, then start it again)\n",
                bs);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ a dedicated broker */

/* A broker of the test's own: tools/kafka-start with a private state file
 * (so the shared broker of the other tests is never touched), paused and
 * restarted with tools/kafka-stop --pause / tools/kafka-start --restart.
 * ku_broker_start first leaves a guard behind: a process outside the test's
 * process tree (double fork, own session, no inherited stdio, so ctest does
 * not wait for it) that blocks on a pipe only the test holds. When the test
 * exits in any way -- a failed ASSERT, a crash, ctest's timeout kill -- the
 * pipe closes and the guard runs tools/kafka-stop on that state file, which
 * stops the JVM and removes its temp dir. ku_broker_stop does the same
 * at once and releases the guard. */
typedef struct ku_broker {
    char state[600], log[600];
    char bootstrap[128];
    int guard_fd; /* write end of the guard's pipe, -1 if none */
} ku_broker_t;

/* Runs tools/<tool> args with the broker's state file; stderr to b->log.
 * Returns the last line of stdout in out (may be NULL) and the exit code. */
static inline int ku_broker_cmd(ku_broker_t *b, const char *tool, const char *args, char *out,
                                size_t size) {
    const char *src = getenv("RS_SRC");
    const char *heap = getenv("KAFKA_HEAP_OPTS");
    char cmd[2048], line[256];
    /* a small heap: this broker runs next to the shared one */
    snprintf(cmd, sizeof(cmd), "RS_KAFKA_STATE='%s' KAFKA_HEAP_OPTS='%s' '%s/tools/%s' %s 2>>'%s'",
             b->state, heap && *heap ? heap : "-Xms128m -Xmx512m", src && *src ? src : ".", tool,
             args, b->log);
    if (out) out[0] = '\0';
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    while (fgets(line, sizeof(line), p)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (out && size) { /* memcpy: snprintf into a smaller out warns at -O2 */
            size_t n = strlen(line) < size - 1 ? strlen(line) : size - 1;
            memcpy(out, line, n);
            out[n] = '\0';
        }
    }
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Leaves the guard behind; returns the write end of its pipe or -1. */
static inline int ku_guard(const char *cmd) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC)) return -1; /* CLOEXEC: no broker or daemon inherits it */
    pid_t p = fork();
    if (p < 0) {
        close(fds[0]), close(fds[1]);
        return -1;
    }
    if (p == 0) {
        if (fork() != 0) _exit(0); /* the guard is a grandchild, re-parented */
        setsid();
        int nul = open("/dev/null", O_RDWR);
        dup2(fds[0], 3);
        if (nul >= 0) dup2(nul, 0), dup2(nul, 1), dup2(nul, 2);
        for (int fd = 4; fd < 1024; fd++) close(fd);
        char c;
        while (read(3, &c, 1) < 0 && errno == EINTR) {
        }
        close(3);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(fds[0]);
    waitpid(p, NULL, 0);
    return fds[1];
}

/* Starts the broker (state file and kafka-start/-stop log in dir); 0 on
 * success, then b->bootstrap is its address. Call ku_broker_stop in any
 * case. */
static inline int ku_broker_start(ku_broker_t *b, const char *dir) {
    memset(b, 0, sizeof(*b));
    b->guard_fd = -1;
    snprintf(b->state, sizeof(b->state), "%s/broker.state", dir);
    snprintf(b->log, sizeof(b->log), "%s/broker-ctl.log", dir);
    const char *src = getenv("RS_SRC");
    char cmd[1600];
    snprintf(cmd, sizeof(cmd), "RS_KAFKA_STATE='%s' '%s/tools/kafka-stop' >/dev/null 2>&1",
             b->state, src && *src ? src : ".");
    b->guard_fd = ku_guard(cmd);
    if (b->guard_fd < 0) {
        fprintf(stderr, "  could not leave a guard for the dedicated broker\n");
        return -1;
    }
    int rc = ku_broker_cmd(b, "kafka-start", "", b->bootstrap, sizeof(b->bootstrap));
    if (rc || !b->bootstrap[0]) {
        fprintf(stderr, "  tools/kafka-start failed (%d):\n", rc);
        ku_tail(b->log, 20);
        return -1;
    }
    return 0;
}

/* Stops the JVM, keeps its storage and ports (kill: SIGKILL, a crash). */
static inline int ku_broker_pause(ku_broker_t *b, int kill9) {
    int rc = ku_broker_cmd(b, "kafka-stop", kill9 ? "--pause --kill" : "--pause", NULL, 0);
    if (rc) ku_tail(b->log, 10);
    return rc;
}

/* The paused broker again, same ports and storage. */
static inline int ku_broker_restart(ku_broker_t *b) {
    char bs[128];
    int rc = ku_broker_cmd(b, "kafka-start", "--restart", bs, sizeof(bs));
    if (rc || strcmp(bs, b->bootstrap)) {
        fprintf(stderr, "  tools/kafka-start --restart failed (%d, '%s'):\n", rc, bs);
        ku_tail(b->log, 20);
        return -1;
    }
    return 0;
}

/* Stops the broker and removes its temp dir, unless keep (a failed test,
 * RS_KEEP_TMP: the path of broker.log is printed). NULL-safe, idempotent. */
static inline void ku_broker_stop(ku_broker_t *b, int keep) {
    if (!b || b->guard_fd < 0) return;
    keep = keep || getenv("RS_KEEP_TMP");
    if (ku_broker_cmd(b, "kafka-stop", keep ? "--keep" : "", NULL, 0)) ku_tail(b->log, 10);
    if (keep) ku_tail(b->log, 1);
    close(b->guard_fd); /* the guard finds nothing left to stop and exits */
    b->guard_fd = -1;
}

#endif
