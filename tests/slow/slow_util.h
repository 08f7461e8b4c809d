/* slow_util.h -- helpers shared by the slow end-to-end tests (tests/slow).
 *
 * These tests drive the real `recstream` binary ($RS_BIN) as child processes
 * against librdkafka's mock cluster, which lives in the test process and is
 * reachable over TCP. Helpers: scratch dirs, child processes (spawn with
 * stderr to a log file, wait with a deadline), producing generated
 * traffic the way src/cmd/rs_feed.c does (that file is not in the library),
 * counting what the mock actually kept, `state dump` capture, free ports
 * and a minimal HTTP GET for /metrics.
 *
 * Everything is static and single-threaded; failures print to stderr and
 * return an error value so the TEST can assert on it. */
#ifndef RS_SLOW_UTIL_H
#define RS_SLOW_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "recstream/rs_buf.h"
#include "recstream/rs_codec.h"
#include "recstream/rs_feed.h"
#include "recstream/rs_gen.h"
#include "recstream/rs_kafka.h"

/* ------------------------------------------------------------ misc */

static inline void su_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void su_log(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "  [%7.2f] ", (double)rs_mono_us() / 1e6);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static inline void su_sleep_ms(int64_t ms) {
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) && errno == EINTR) {
    }
}

static inline int64_t su_ms(void) {
    return rs_mono_us() / 1000;
}

/* splitmix64: the test's own seeded PRNG (kill delays). */
static inline uint64_t su_rand(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* The recstream binary: $RS_BIN (set by ctest). */
static inline const char *su_bin(void) {
    const char *b = getenv("RS_BIN");
    if (!b || !*b) fprintf(stderr, "  RS_BIN is not set (run through ctest)\n");
    return b && *b ? b : NULL;
}

/* Fresh scratch directory under $TMPDIR (or /tmp); caller frees. */
static inline char *su_tmpdir(const char *prefix) {
    const char *base = getenv("TMPDIR");
    char path[512];
    snprintf(path, sizeof(path), "%s/%s-XXXXXX", base && *base ? base : "/tmp", prefix);
    if (!mkdtemp(path)) return NULL;
    return rs_xstrdup(path);
}

static inline int su_rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    return remove(p);
}

/* Removes a scratch tree unless RS_KEEP_TMP is set (post-mortem). */
static inline void su_rmtree(const char *dir) {
    if (!dir) return;
    if (getenv("RS_KEEP_TMP")) {
        fprintf(stderr, "  kept %s\n", dir);
        return;
    }
    nftw(dir, su_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* ------------------------------------------------------------ children */

/* Starts argv[0] with stdout -> /dev/null and stderr appended to log_path
 * (NULL = inherit). Returns the pid or -1. */
static inline pid_t su_spawn(const char *const *argv, const char *log_path) {
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* no orphan daemons if the test dies */
        int nul = open("/dev/null", O_WRONLY);
        if (nul >= 0) dup2(nul, 1);
        if (log_path) {
            int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (fd >= 0) dup2(fd, 2);
        }
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* Waits up to timeout_ms; on timeout SIGKILLs it and returns -1. Otherwise
 * the exit code (128+sig if killed by a signal). */
static inline int su_wait(pid_t pid, int64_t timeout_ms) {
    int64_t deadline = su_ms() + timeout_ms;
    int status = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) break;
        if (r < 0) return -1;
        if (su_ms() > deadline) {
            fprintf(stderr, "  child %d did not finish in %" PRId64 " ms: killing it\n", (int)pid,
                    timeout_ms);
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        su_sleep_ms(20);
    }
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}

/* 1 if the child has exited (reaped, *code set), 0 if it still runs. */
static inline int su_exited(pid_t pid, int *code) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) != pid) return 0;
    *code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return 1;
}

/* Argument vector builder for `recstream run`. */
typedef struct su_argv {
    const char *v[96];
    char store[48][256];
    int n, ns;
} su_argv_t;

static inline void su_arg(su_argv_t *a, const char *s) {
    if (a->n < 94) a->v[a->n++] = s, a->v[a->n] = NULL;
}

static inline void su_argf(su_argv_t *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline void su_argf(su_argv_t *a, const char *fmt, ...) {
    if (a->ns >= 48) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->store[a->ns], sizeof(a->store[0]), fmt, ap);
    va_end(ap);
    su_arg(a, a->store[a->ns++]);
}

/* stdout of `$RS_BIN state dump --state dir` (NULL on failure); caller frees. */
static inline char *su_state_dump(const char *bin, const char *dir, size_t *len_out) {
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "'%s' state dump --state '%s'", bin, dir);
    FILE *p = popen(cmd, "r");
    if (!p) return NULL;
    rs_buf_t b = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0) rs_buf_append(&b, chunk, n);
    int st = pclose(p);
    rs_buf_append(&b, "", 1);
    if (st != 0) {
        fprintf(stderr, "  state dump of %s failed (status %d)\n", dir, st);
        rs_buf_free(&b);
        return NULL;
    }
    if (len_out) *len_out = b.len - 1;
    return (char *)b.p;
}

/* Sum of the next offsets on the "offset TOPIC PART NEXT" lines of a dump
 * (-1 if dump is NULL); *n_parts gets the number of such lines. */
static inline int64_t su_dump_offsets(const char *dump, int *n_parts) {
    if (n_parts) *n_parts = 0;
    if (!dump) return -1;
    int64_t sum = 0;
    for (const char *p = dump; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, "offset ", 7)) continue;
        char topic[128];
        int part;
        long long next;
        if (sscanf(p, "offset %127s %d %lld", topic, &part, &next) == 3) {
            sum += next;
            if (n_parts) (*n_parts)++;
        }
    }
    return sum;
}

static inline size_t su_count_lines(const char *s) {
    size_t n = 0;
    for (; s && *s; s++) n += *s == '\n';
    return n;
}

/* ------------------------------------------------------------ network */

/* A port that was free a moment ago (bind 0, read it back, close). */
static inline int su_free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    int port = -1;
    if (!bind(fd, (struct sockaddr *)&a, sizeof(a)) && !getsockname(fd, (struct sockaddr *)&a, &al))
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* Body of GET http://127.0.0.1:port/path (HTTP/1.0, Connection: close), NULL
 * if the server is not reachable. 2 s receive timeout. Caller frees. */
static inline char *su_http_get(int port, const char *path) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return NULL;
    struct timeval tv = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
        close(fd);
        return NULL;
    }
    char req[512];
    int rl = snprintf(req, sizeof(req),
                      "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
    if (write(fd, req, (size_t)rl) != rl) {
        close(fd);
        return NULL;
    }
    rs_buf_t b = {0};
    char chunk[16384];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof(chunk))) > 0) rs_buf_append(&b, chunk, (size_t)n);
    close(fd);
    rs_buf_append(&b, "", 1);
    char *body = strstr((char *)b.p, "\r\n\r\n");
    char *out = body ? rs_xstrdup(body + 4) : NULL;
    rs_buf_free(&b);
    return out;
}

/* Value of a Prometheus sample line "name VALUE" (no labels), -1 if absent. */
static inline double su_metric(const char *body, const char *name) {
    size_t nl = strlen(name);
    for (const char *p = body; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (!strncmp(p, name, nl) && p[nl] == ' ') return atof(p + nl + 1);
    return -1;
}

/* ------------------------------------------------------------ traffic */

typedef rs_feed_stats_t su_feed_t;

/* Produces n generated events to topic with the library's rs_feed_run (what
 * the demo and bench use): Confluent Avro, JSON for json_pct % of the records
 * and for the kinds Avro cannot carry, garbage bytes for BAD_GARBAGE; keyed by
 * user id, header rs-ts-us. extra: producer properties appended after
 * bootstrap.servers (may be NULL). */
static inline int su_produce(const char *bootstrap, const char *topic, const rs_gen_opts_t *go,
                             uint64_t n, int json_pct, const rs_kv_t *extra, size_t n_extra,
                             su_feed_t *fs) {
    char err[512];
    rs_kv_t kv[16];
    size_t nk = 0;
    kv[nk++] = (rs_kv_t){(char *)"bootstrap.servers", (char *)bootstrap, (char *)"test"};
    for (size_t i = 0; i < n_extra && nk < 16; i++) kv[nk++] = extra[i];
    rs_gen_t *gen = rs_gen_new(go);
    if (!gen) return RS_EARG;
    int rc = rs_feed_run(kv, nk, topic, gen, n, 0, json_pct, fs, err, sizeof(err));
    if (!rc && fs->delivered != n) {
        snprintf(err, sizeof(err), "%" PRIu64 " of %" PRIu64 " records delivered", fs->delivered,
                 n);
        rc = RS_EKAFKA;
    }
    if (rc) fprintf(stderr, "  produce: %s\n", err);
    rs_gen_destroy(gen);
    return rc;
}

/* Reads every partition of topic from the beginning with a bare consumer
 * and returns how many records it got (the mock keeps only ~5 MiB per
 * partition: a test whose input was trimmed must not run). */
static inline uint64_t su_count_topic(const char *bootstrap, const char *topic, int parts,
                                      uint64_t expect) {
    char err[512];
    rs_kv_t kv[1] = {{(char *)"bootstrap.servers", (char *)bootstrap, (char *)"test"}};
    rs_consumer_t *c = NULL;
    if (rs_consumer_new(&c, kv, 1, NULL, NULL, err, sizeof(err))) {
        fprintf(stderr, "  count: %s\n", err);
        return 0;
    }
    rs_tp_t tps[64];
    int64_t offs[64];
    if (parts > 64) parts = 64;
    for (int i = 0; i < parts; i++) tps[i] = (rs_tp_t){topic, i}, offs[i] = RS_OFFSET_BEGINNING;
    rs_consumer_assign(c, tps, offs, (size_t)parts, err, sizeof(err));
    rs_msg_t *msgs = rs_xcalloc(1024, sizeof(*msgs));
    uint64_t got = 0;
    int64_t deadline = su_ms() + 60000, quiet_since = su_ms();
    /* stop once expect records were seen, or after 3 s without any */
    while (got < expect && su_ms() < deadline && su_ms() - quiet_since < 3000) {
        size_t k = rs_consumer_poll_wait(c, msgs, 1024, 100);
        if (k) quiet_since = su_ms();
        for (size_t i = 0; i < k; i++) got += msgs[i].err == 0;
        rs_consumer_release(c, msgs, k);
    }
    free(msgs);
    rs_consumer_destroy(c);
    return got;
}

#endif
