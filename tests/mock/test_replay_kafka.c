/* test_replay_kafka.c -- `recstream replay --topic` on librdkafka's mock
 * cluster (needs RS_BIN; the replay runs as a second process against the
 * mock's bootstrap address, the daemon in-process).
 *
 * N_EVENTS generated records (2% duplicates, 2% late, 1% malformed) are
 * produced keyed by user to an 8-partition topic, as the demo feeds it.
 *  range_equals_file: the full range replayed into state A has the same state
 *    dump as the same events replayed from a JSON-lines file (the valid
 *    records; the malformed ones are counted as rejected and change
 *    nothing), and A's offsets are exactly the partitions' end offsets.
 *  deterministic_outputs: two range replays with --emit-jsonl, different
 *    --batch-size and a tiny --merge-buffer (partitions paused and resumed
 *    all the time) give byte-identical lists and the same dump as A.
 *  shadow_topics: --topic-prefix sends exactly the lists of --emit-jsonl to
 *    shadow.recommendations and every rejected record to shadow.dlq.
 *  cut_over: replay only the first half of each partition (--to per
 *    partition), then run the daemon (consumer group) on that state dir: it
 *    must consume exactly the other half and end with the dump of A
 *    (offsets included): nothing lost, nothing counted twice.
 *  bench (only with RS_REPLAY_BENCH=N): N records on RS_REPLAY_BENCH_PARTS
 *    partitions (default 32: the mock keeps ~5 MiB each), replay rate. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e_util.h"
#include "recstream/rs_codec.h"
#include "recstream/rs_feed.h"
#include "recstream/rs_gen.h"
#include "rs_test.h"

#define N_EVENTS   20000
#define PARTS      8
#define WATCHDOG_S 60

typedef struct fixture {
    rs_mock_t *mock;
    char *dir;
    int64_t ends[PARTS];
    uint64_t bad; /* malformed records produced */
    int ready;
} fixture_t;

static fixture_t F;

static int run(const char *cmd) {
    int64_t t0 = rs_mono_us();
    int rc = system(cmd);
    if (getenv("RS_TEST_VERBOSE"))
        fprintf(stderr, "  %.2f s: %s\n", (double)(rs_mono_us() - t0) / 1e6, cmd);
    if (rc) fprintf(stderr, "  command failed (%d): %s\n", rc, cmd);
    return rc;
}

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    if (p && fread(p, 1, (size_t)n, f) != (size_t)n) n = 0;
    if (p) p[n] = 0;
    fclose(f);
    if (len) *len = (size_t)n;
    return p;
}

static int same_file(const char *a, const char *b) {
    size_t la, lb;
    char *x = slurp(a, &la), *y = slurp(b, &lb);
    int same = x && y && la == lb && !memcmp(x, y, la);
    free(x);
    free(y);
    return same;
}

/* Lines of path that start with prefix (a linear scan: the files are MBs). */
static size_t count_lines(const char *path, const char *prefix) {
    size_t n = 0, len, pl = strlen(prefix);
    char *x = slurp(path, &len);
    for (size_t i = 0; x && i < len;) {
        char *nl = memchr(x + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - x) : len;
        if (end - i >= pl && !memcmp(x + i, prefix, pl)) n++;
        i = end + 1;
    }
    free(x);
    return n;
}

static void gen_opts(rs_gen_opts_t *go) {
    rs_gen_opts_default(go);
    go->seed = rs_test_seed();
    go->users = 2000;
    go->items = 1500;
    go->dup_rate = 0.02;
    go->late_rate = 0.02;
    go->bad_rate = 0.01;
}

/* "recstream state dump" of dir split into offset lines (sorted, so the
 * order partitions were first seen in does not matter) and the rest. */
typedef struct dump {
    char *offsets; /* "P NEXT\n" lines, sorted by partition */
    char *rest;
    int64_t next[PARTS];
    int n_off;
} dump_t;

static int dump_state(const char *dir, dump_t *d) {
    char cmd[1024], path[512];
    memset(d, 0, sizeof(*d));
    for (int i = 0; i < PARTS; i++) d->next[i] = -1;
    snprintf(path, sizeof(path), "%s.dump", dir);
    snprintf(cmd, sizeof(cmd), "\"%s\" state dump --state %s > %s", getenv("RS_BIN"), dir, path);
    if (run(cmd)) return -1;
    char *txt = slurp(path, NULL);
    if (!txt) return -1;
    rs_buf_t rest = {0};
    for (char *line = txt, *nl; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        if (!nl) nl = line + strlen(line);
        char topic[64];
        int part;
        long long next;
        if (!strncmp(line, "offset ", 7) &&
            sscanf(line, "offset %63s %d %lld", topic, &part, &next) == 3 &&
            !strcmp(topic, "events") && part >= 0 && part < PARTS) {
            d->next[part] = next;
            d->n_off++;
        } else {
            rs_buf_append(&rest, line, (size_t)(nl - line) + 1);
        }
        if (!*nl) break;
    }
    rs_buf_t off = {0};
    for (int i = 0; i < PARTS; i++)
        if (d->next[i] >= 0) rs_buf_printf(&off, "%d %" PRId64 "\n", i, d->next[i]);
    rs_buf_putc(&rest, 0);
    rs_buf_putc(&off, 0);
    d->rest = rest.p;
    d->offsets = off.p;
    free(txt);
    return 0;
}

static void dump_free(dump_t *d) {
    free(d->offsets);
    free(d->rest);
}

/* Runs a replay of the events topic; extra = more flags. Returns its exit code. */
static int replay_topic(const char *state, const char *extra, const char *json_out) {
    char cmd[2048];
    snprintf(cmd, sizeof(cmd),
             "\"%s\" replay -q -b %s --topic events --state %s/%s --json %s > %s/%s 2>> %s/log",
             getenv("RS_BIN"), rs_mock_bootstraps(F.mock), F.dir, state, extra ? extra : "", F.dir,
             json_out, F.dir);
    return run(cmd);
}

/* Value of "key":N in a one-line JSON summary file, or -1. */
static int64_t json_num(const char *path, const char *key) {
    char *txt = slurp(path, NULL), pat[64];
    snprintf(pat, sizeof(pat), "\"%s\":", key);
    char *p = txt ? strstr(txt, pat) : NULL;
    int64_t v = p ? strtoll(p + strlen(pat), NULL, 10) : -1;
    free(txt);
    return v;
}

/* Mock cluster, the topic, N_EVENTS records in it, the same valid records
 * as JSON lines in events.jsonl, and the partitions' end offsets. */
static void setup(void) {
    char err[512], path[600];
    ASSERT(getenv("RS_BIN") != NULL);
    ASSERT((F.dir = e2e_tmpdir("rs-replay-kafka")) != NULL);
    ASSERT_OK(rs_mock_new(&F.mock, 1, err, sizeof(err)));
    ASSERT_OK(rs_mock_topic_create(F.mock, "events", PARTS));
    rs_gen_opts_t go;
    gen_opts(&go);
    rs_gen_t *g = rs_gen_new(&go);
    ASSERT(g != NULL);
    e2e_kv_t kv = e2e_client_kv(F.mock, 1);
    rs_feed_stats_t fs;
    memset(&fs, 0, sizeof(fs));
    int rc = rs_feed_run(kv.kv, kv.n, "events", g, N_EVENTS, 0, 10, &fs, err, sizeof(err));
    rs_gen_destroy(g);
    if (rc) fprintf(stderr, "  feed: %s\n", err);
    ASSERT_OK(rc);
    ASSERT_EQ(fs.delivered, N_EVENTS);
    F.bad = fs.bad;
    ASSERT(F.bad > 0);

    /* the same generator again: valid records only, as JSON lines */
    snprintf(path, sizeof(path), "%s/events.jsonl", F.dir);
    FILE *f = fopen(path, "w");
    ASSERT(f != NULL);
    g = rs_gen_new(&go);
    rs_codec_t *codec = NULL;
    ASSERT_OK(rs_codec_new(&codec, err, sizeof(err)));
    rs_buf_t buf = {0};
    uint64_t written = 0;
    for (int i = 0; i < N_EVENTS; i++) {
        rs_gen_kind_t kind;
        const rs_event_t *ev = rs_gen_next(g, &kind);
        if (kind != RS_GEN_OK && kind != RS_GEN_DUP && kind != RS_GEN_LATE) continue;
        rs_buf_reset(&buf);
        ASSERT_OK(rs_codec_encode_event(codec, ev, RS_FMT_JSON, 1, &buf));
        fwrite(buf.p, 1, buf.len, f);
        fputc('\n', f);
        written++;
    }
    fclose(f);
    rs_buf_free(&buf);
    rs_codec_destroy(codec);
    rs_gen_destroy(g);
    ASSERT_EQ(written + F.bad, N_EVENTS);

    /* end offsets, from an independent client */
    rs_consumer_t *c = NULL;
    e2e_kv_t ckv = e2e_client_kv(F.mock, 0);
    ASSERT_OK(rs_consumer_new(&c, ckv.kv, ckv.n, NULL, NULL, err, sizeof(err)));
    int64_t sum = 0;
    for (int p = 0; p < PARTS; p++) {
        int64_t lo, hi;
        rc = rs_consumer_watermarks(c, "events", p, &lo, &hi, 5000, err, sizeof(err));
        if (rc) fprintf(stderr, "  %s\n", err);
        ASSERT_OK(rc);
        ASSERT_EQ(lo, 0);
        F.ends[p] = hi;
        sum += hi;
    }
    rs_consumer_destroy(c);
    ASSERT_EQ(sum, N_EVENTS);
    F.ready = 1;
}

TEST(range_equals_file) {
    setup();
    ASSERT(F.ready);
    char cmd[2048], path[600];
    ASSERT_OK(replay_topic("A", NULL, "A.json"));
    snprintf(path, sizeof(path), "%s/A.json", F.dir);
    ASSERT_EQ(json_num(path, "events"), N_EVENTS);
    ASSERT_EQ(json_num(path, "rejected"), (int64_t)F.bad);
    ASSERT_EQ(json_num(path, "range"), N_EVENTS);
    ASSERT_EQ(json_num(path, "gaps"), 0);
    ASSERT_EQ(json_num(path, "partitions"), PARTS);

    snprintf(cmd, sizeof(cmd),
             "\"%s\" replay -q --input %s/events.jsonl --state %s/B > /dev/null 2>> %s/log",
             getenv("RS_BIN"), F.dir, F.dir, F.dir);
    ASSERT_OK(run(cmd));

    dump_t a, b;
    snprintf(path, sizeof(path), "%s/A", F.dir);
    ASSERT_OK(dump_state(path, &a));
    snprintf(path, sizeof(path), "%s/B", F.dir);
    ASSERT_OK(dump_state(path, &b));
    ASSERT(strlen(a.rest) > 1000);
    ASSERT(strcmp(a.rest, b.rest) == 0);
    ASSERT_EQ(b.n_off, 0);
    ASSERT_EQ(a.n_off, PARTS);
    for (int p = 0; p < PARTS; p++) ASSERT_EQ(a.next[p], F.ends[p]);
    dump_free(&a);
    dump_free(&b);
}

TEST(deterministic_outputs) {
    ASSERT(F.ready);
    char extra[512], p1[600], p2[600];
    snprintf(extra, sizeof(extra), "--emit-jsonl %s/E1.jsonl", F.dir);
    ASSERT_OK(replay_topic("E1", extra, "E1.json"));
    snprintf(extra, sizeof(extra), "--emit-jsonl %s/E2.jsonl --batch-size 777 --merge-buffer 1000",
             F.dir);
    ASSERT_OK(replay_topic("E2", extra, "E2.json"));
    snprintf(p1, sizeof(p1), "%s/E1.jsonl", F.dir);
    snprintf(p2, sizeof(p2), "%s/E2.jsonl", F.dir);
    size_t lists = count_lines(p1, "{\"kind\":\"recommendation\"");
    ASSERT(lists > 1000);
    ASSERT(same_file(p1, p2));
    dump_t a, e1, e2;
    snprintf(p1, sizeof(p1), "%s/A", F.dir);
    ASSERT_OK(dump_state(p1, &a));
    snprintf(p1, sizeof(p1), "%s/E1", F.dir);
    ASSERT_OK(dump_state(p1, &e1));
    snprintf(p1, sizeof(p1), "%s/E2", F.dir);
    ASSERT_OK(dump_state(p1, &e2));
    ASSERT(strcmp(a.rest, e1.rest) == 0 && strcmp(a.offsets, e1.offsets) == 0);
    ASSERT(strcmp(a.rest, e2.rest) == 0 && strcmp(a.offsets, e2.offsets) == 0);
    dump_free(&a);
    dump_free(&e1);
    dump_free(&e2);
}

static void count_msg(void *opaque, const rs_msg_t *m) {
    (*(uint64_t *)opaque)++;
}

TEST(shadow_topics) {
    ASSERT(F.ready);
    char extra[512], path[600];
    snprintf(extra, sizeof(extra), "--topic-prefix shadow. --emit-jsonl %s/S.jsonl", F.dir);
    ASSERT_OK(replay_topic("S", extra, "S.json"));
    snprintf(path, sizeof(path), "%s/S.jsonl", F.dir);
    size_t lists = count_lines(path, "{\"kind\":\"recommendation\"");
    ASSERT(lists > 1000);
    snprintf(path, sizeof(path), "%s/S.json", F.dir);
    ASSERT_EQ(json_num(path, "recommendations"), (int64_t)lists);
    snprintf(path, sizeof(path), "%s/S.jsonl", F.dir);
    size_t alerts = count_lines(path, "{\"kind\":\"alert\"");
    size_t segs = count_lines(path, "{\"kind\":\"segment\"");
    ASSERT(segs > 0);
    snprintf(path, sizeof(path), "%s/S.json", F.dir);
    ASSERT_EQ(json_num(path, "alerts"), (int64_t)alerts);
    ASSERT_EQ(json_num(path, "segment_changes"), (int64_t)segs);
    ASSERT_EQ(json_num(path, "produced"), (int64_t)(lists + F.bad + alerts + segs));
    e2e_kv_t kv = e2e_client_kv(F.mock, 0);
    uint64_t got_recs = 0, got_dlq = 0, got_segs = 0;
    ASSERT_EQ(e2e_read_topic(&kv, "shadow.segments", 4, segs, 20000, 500, count_msg, &got_segs),
              (int64_t)segs);
    /* produced-to topics are auto-created with 4 partitions on the mock */
    ASSERT_EQ(
        e2e_read_topic(&kv, "shadow.recommendations", 4, lists, 20000, 500, count_msg, &got_recs),
        (int64_t)lists);
    ASSERT_EQ(e2e_read_topic(&kv, "shadow.dlq", 4, F.bad, 20000, 500, count_msg, &got_dlq),
              (int64_t)F.bad);
    ASSERT_EQ(got_recs, lists);
    ASSERT_EQ(got_dlq, F.bad);
}

TEST(cut_over) {
    ASSERT(F.ready);
    char extra[512], dir[600], err[512];
    int64_t half_sum = 0;
    size_t o = (size_t)snprintf(extra, sizeof(extra), "--to ");
    for (int p = 0; p < PARTS; p++) {
        int64_t h = F.ends[p] / 2;
        half_sum += h;
        o += (size_t)snprintf(extra + o, sizeof(extra) - o, "%s%d:%" PRId64, p ? "," : "", p, h);
    }
    ASSERT_OK(replay_topic("C", extra, "C.json"));
    snprintf(dir, sizeof(dir), "%s/C.json", F.dir);
    ASSERT_EQ(json_num(dir, "events"), half_sum);
    snprintf(dir, sizeof(dir), "%s/C", F.dir);
    dump_t c;
    ASSERT_OK(dump_state(dir, &c));
    for (int p = 0; p < PARTS; p++) ASSERT_EQ(c.next[p], F.ends[p] / 2);
    dump_free(&c);

    /* the daemon takes over the replayed state dir with its consumer group */
    rs_conf_t *conf = e2e_conf(F.mock, dir);
    ASSERT(conf != NULL);
    ASSERT_OK(rs_conf_set(conf, "group.id", "cutover", "test", err, sizeof(err)));
    rs_daemon_t *d = NULL;
    rs_daemon_opts_t opts = {.stop_after_events = (uint64_t)(N_EVENTS - half_sum), .no_signals = 1};
    int rc = rs_daemon_new(&d, conf, &opts, err, sizeof(err));
    if (rc) fprintf(stderr, "  daemon: %s\n", err);
    ASSERT_OK(rc);
    e2e_watchdog_t wd;
    e2e_watchdog_start(&wd, d, WATCHDOG_S);
    rc = rs_daemon_run(d);
    int fired = e2e_watchdog_stop(&wd);
    rs_stats_t stats = *rs_daemon_stats(d);
    rs_daemon_destroy(d);
    rs_conf_destroy(conf);
    ASSERT_OK(rc);
    ASSERT_EQ(fired, 0);
    ASSERT_EQ(stats.events_in, N_EVENTS - half_sum); /* exactly the second half */

    dump_t a;
    snprintf(extra, sizeof(extra), "%s/A", F.dir);
    ASSERT_OK(dump_state(extra, &a));
    ASSERT_OK(dump_state(dir, &c));
    ASSERT(strcmp(a.offsets, c.offsets) == 0);
    ASSERT(strcmp(a.rest, c.rest) == 0);
    dump_free(&a);
    dump_free(&c);
}

/* RS_REPLAY_BENCH=N: a fresh topic of N records, then the replay's rate. */
TEST(bench) {
    const char *env = getenv("RS_REPLAY_BENCH");
    if (!env || !F.ready) return;
    uint64_t n = strtoull(env, NULL, 10);
    int parts = getenv("RS_REPLAY_BENCH_PARTS") ? atoi(getenv("RS_REPLAY_BENCH_PARTS")) : 32;
    char err[512], cmd[2048], path[600];
    ASSERT_OK(rs_mock_topic_create(F.mock, "bench", parts));
    rs_gen_opts_t go;
    rs_gen_opts_default(&go);
    go.seed = rs_test_seed();
    rs_gen_t *g = rs_gen_new(&go);
    e2e_kv_t kv = e2e_client_kv(F.mock, 1);
    rs_feed_stats_t fs;
    memset(&fs, 0, sizeof(fs));
    int64_t t0 = rs_mono_us();
    int rc = rs_feed_run(kv.kv, kv.n, "bench", g, n, 0, 0, &fs, err, sizeof(err));
    rs_gen_destroy(g);
    ASSERT_OK(rc);
    fprintf(stderr, "  bench: produced %" PRIu64 " records in %.1f s\n", n,
            (double)(rs_mono_us() - t0) / 1e6);
    const char *emit = getenv("RS_REPLAY_BENCH_ARGS");
    snprintf(cmd, sizeof(cmd),
             "\"%s\" replay -q -b %s --topic bench --state %s/bench --json %s > %s/bench.json",
             getenv("RS_BIN"), rs_mock_bootstraps(F.mock), F.dir, emit ? emit : "", F.dir);
    ASSERT_OK(run(cmd));
    snprintf(path, sizeof(path), "%s/bench.json", F.dir);
    char *txt = slurp(path, NULL);
    fprintf(stderr, "  bench: %s", txt ? txt : "?\n");
    free(txt);
    ASSERT_EQ(json_num(path, "events"), (int64_t)n); /* nothing lost to mock retention */

    /* the same events from a JSON-lines file, for comparison */
    snprintf(path, sizeof(path), "%s/bench.jsonl", F.dir);
    FILE *f = fopen(path, "w");
    ASSERT(f != NULL);
    g = rs_gen_new(&go);
    rs_codec_t *codec = NULL;
    ASSERT_OK(rs_codec_new(&codec, err, sizeof(err)));
    rs_buf_t buf = {0};
    for (uint64_t i = 0; i < n; i++) {
        rs_buf_reset(&buf);
        ASSERT_OK(rs_codec_encode_event(codec, rs_gen_next(g, NULL), RS_FMT_JSON, 1, &buf));
        rs_buf_putc(&buf, '\n');
        fwrite(buf.p, 1, buf.len, f);
    }
    fclose(f);
    rs_buf_free(&buf);
    rs_codec_destroy(codec);
    rs_gen_destroy(g);
    snprintf(cmd, sizeof(cmd),
             "\"%s\" replay -q --input %s --state %s/bench-file --json %s > %s/bench-file.json",
             getenv("RS_BIN"), path, F.dir, emit ? emit : "", F.dir);
    ASSERT_OK(run(cmd));
    snprintf(path, sizeof(path), "%s/bench-file.json", F.dir);
    txt = slurp(path, NULL);
    fprintf(stderr, "  bench (file): %s", txt ? txt : "?\n");
    free(txt);
}

int main(void) {
    int rc = RUN_TESTS(t_range_equals_file, t_deterministic_outputs, t_shadow_topics, t_cut_over,
                       t_bench);
    if (F.dir && !rc) {
        char path[600];
        snprintf(path, sizeof(path), "%s/log", F.dir);
        unlink(path);
    } else if (F.dir) {
        fprintf(stderr, "  replay logs in %s/log\n", F.dir);
        free(F.dir);
        F.dir = NULL;
    }
    e2e_rmtree(F.dir);
    rs_mock_destroy(F.mock);
    return rc;
}
