/* test_crash.c -- SIGKILL the daemon at >= 10 random points while it
 * consumes, restart it each time: the final state must be identical to an
 * uninterrupted run's (SPEC F7: state and offsets in one WriteBatch).
 *
 * Setup: a mock cluster in this process, topic `events` with 8 partitions,
 * N generated events (dup/late/bad ~1% each; Confluent Avro, 10% JSON)
 * produced BEFORE any daemon runs, so both runs read the same input; a bare
 * consumer first checks the mock kept all N (it trims partitions beyond
 * ~5 MiB).
 *
 * Reference: `recstream run --stop-after N` on its own state dir and group.
 * Crash run: another dir and group; each round spawns `recstream run
 * --idle-exit-ms 20000` with its HTTP endpoint on a free port, polls
 * recstream_events_in_total on /metrics and SIGKILLs it once it reaches a
 * random position of the input (committed offsets + records this run read;
 * kill k picks its position in the k-th of 11 equal slices, seeded PRNG, so
 * the kills spread over the whole stream), then reads the committed offsets
 * back with `state dump`. A kill only counts if it came after the
 * first record and the state was still short of N afterwards (it landed
 * while consuming). A final run without a kill exits by idleness. Then the
 * two `state dump`s must be byte-identical, cover all 8 partitions and sum
 * to N.
 *
 * Why kill points in records rather than a random 0.5-4 s sleep: the daemon
 * consumes these 100k records in ~1.5 s, so timed kills land after the end
 * (or, with a fetch throttle, almost always right after a commit: the
 * throttled consumer gets one burst per second and commits it at once).
 * With commit.interval.ms=100 at ~70k records/s a kill at a random record
 * count nearly always loses an uncommitted batch, which is the case that
 * matters (replay without double counting). A killed member lingers in the
 * group for session.timeout.ms (6 s), so each restart waits ~5-10 s for its
 * partitions; the daemon's idle clock starts at launch, hence 20 s for the
 * killed rounds (8 s made every other round idle out before its
 * assignment). The final run uses --idle-exit-ms 8000 and is simply run
 * again if it idled out before getting its partitions.
 *
 * Knobs (env): RS_CRASH_EVENTS (default 100000), RS_CRASH_KILLS (10),
 * RS_KEEP_TMP (keep the scratch dir and the daemon logs). */
#include "rs_test.h"
#include "slow_util.h"

#define PARTS 8

static uint64_t env_u64(const char *name, uint64_t def) {
    const char *s = getenv(name);
    return s && *s ? strtoull(s, NULL, 10) : def;
}

/* Common `recstream run` arguments. */
static void run_args(su_argv_t *a, const char *bin, const char *bootstrap, const char *dir,
                     const char *group, int http_port) {
    su_arg(a, bin);
    su_arg(a, "run");
    su_arg(a, "-X"), su_argf(a, "kafka.bootstrap.servers=%s", bootstrap);
    su_arg(a, "-X"), su_argf(a, "state.dir=%s", dir);
    su_arg(a, "-X"), su_argf(a, "group.id=%s", group);
    su_arg(a, "-X"), su_argf(a, "http.port=%d", http_port);
    su_arg(a, "-X"), su_arg(a, "log.level=info");
    su_arg(a, "-X"), su_arg(a, "kafka.session.timeout.ms=6000");
    su_arg(a, "-X"), su_arg(a, "kafka.heartbeat.interval.ms=500");
    su_arg(a, "-X"), su_arg(a, "commit.interval.ms=100");
    su_arg(a, "-X"), su_arg(a, "batch.max.events=2000");
}

/* Records covered by the committed offsets of a state dir (-1 on error). */
static int64_t committed(const char *bin, const char *dir) {
    char *d = su_state_dump(bin, dir, NULL);
    int64_t sum = su_dump_offsets(d, NULL);
    free(d);
    return sum;
}

TEST(crash_restart_exact) {
    const char *bin = su_bin();
    ASSERT(bin != NULL);
    const uint64_t n = env_u64("RS_CRASH_EVENTS", 100000);
    const int want_kills = (int)env_u64("RS_CRASH_KILLS", 10);
    uint64_t prng = rs_test_seed() * 7919 + 1;
    char err[512];
    char *root = su_tmpdir("rs-crash");
    ASSERT(root != NULL);
    char dir_a[600], dir_b[600], path[700];
    snprintf(dir_a, sizeof(dir_a), "%s/ref", root);
    snprintf(dir_b, sizeof(dir_b), "%s/crash", root);

    rs_mock_t *mock = NULL;
    ASSERT_OK(rs_mock_new(&mock, 1, err, sizeof(err)));
    const char *bootstrap = rs_mock_bootstraps(mock);
    ASSERT_OK(rs_mock_topic_create(mock, "events", PARTS));
    ASSERT_OK(rs_mock_topic_create(mock, "recommendations", 4));
    ASSERT_OK(rs_mock_topic_create(mock, "dlq", 1));
    su_log("mock cluster at %s, %s", bootstrap, root);

    /* ---- input ---- */
    rs_gen_opts_t go;
    rs_gen_opts_default(&go);
    go.seed = rs_test_seed();
    go.users = 20000;
    go.items = 5000;
    go.dup_rate = go.late_rate = go.bad_rate = 0.01;
    su_feed_t fs = {0};
    int64_t t0 = su_ms();
    ASSERT_OK(su_produce(bootstrap, "events", &go, n, 10, NULL, 0, &fs));
    su_log("produced %" PRIu64 " records (%" PRIu64 " good, %" PRIu64 " dup, %" PRIu64
           " late, %" PRIu64 " bad) in %.1f s",
           fs.produced, fs.good, fs.dup, fs.late, fs.bad, (double)(su_ms() - t0) / 1000);
    ASSERT_EQ(su_count_topic(bootstrap, "events", PARTS, n), n);

    /* ---- reference: one uninterrupted run ---- */
    su_argv_t ra = {0};
    char stop[32];
    snprintf(stop, sizeof(stop), "%" PRIu64, n);
    run_args(&ra, bin, bootstrap, dir_a, "ref", 0);
    su_arg(&ra, "--stop-after"), su_arg(&ra, stop);
    snprintf(path, sizeof(path), "%s/ref.log", root);
    t0 = su_ms();
    pid_t pid = su_spawn(ra.v, path);
    ASSERT(pid > 0);
    ASSERT_EQ(su_wait(pid, 600000), 0);
    int64_t ref_ms = su_ms() - t0;
    su_log("reference run: %.1f s (includes the ~3 s group join)", (double)ref_ms / 1000);

    /* ---- crash run ---- */
    int kills = 0, rounds = 0, idle_exits = 0;
    int64_t progress = 0, t_crash = su_ms(), stratum = (int64_t)n / (want_kills + 1);
    while (kills < want_kills && rounds < want_kills * 4) {
        int port = su_free_port();
        su_argv_t a = {0};
        run_args(&a, bin, bootstrap, dir_b, "crash", port);
        /* the idle clock starts at launch: give it time to get its
         * partitions back from the killed member (~10 s) */
        su_arg(&a, "--idle-exit-ms"), su_arg(&a, "20000");
        snprintf(path, sizeof(path), "%s/crash-%02d.log", root, rounds);
        int64_t ts = su_ms(), t_first = -1;
        /* kill point: a random stream position in the kill's own stratum of
         * the input (committed offsets + records this run has read), at
         * least 200 records into this run */
        int64_t target = kills * stratum + (int64_t)(su_rand(&prng) % (uint64_t)stratum);
        if (target < progress + 200) target = progress + 200 + (int64_t)(su_rand(&prng) % 2000);
        pid = su_spawn(a.v, path);
        ASSERT(pid > 0);
        rounds++;
        int code = -1, exited = 0;
        int64_t seen = 0;
        while (!(exited = su_exited(pid, &code)) && su_ms() - ts < 120000) {
            char *body = su_http_get(port, "/metrics");
            double v = body ? su_metric(body, "recstream_events_in_total") : -1;
            free(body);
            if (v > 0 && t_first < 0) t_first = su_ms() - ts;
            if (v > 0) seen = (int64_t)v;
            if (progress + seen >= target) break;
            su_sleep_ms(t_first < 0 ? 20 : 1);
        }
        if (!exited) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
        } else {
            idle_exits++;
        }
        int64_t now_at = committed(bin, dir_b);
        if (!exited && seen > 0 && now_at < (int64_t)n) kills++;
        su_log("round %2d: first record after %5.1f s, %s at %6" PRId64 " records (at %6" PRId64
               "), %.1f s in all; committed %6" PRId64 " -> %6" PRId64 " of %" PRIu64
               " (kills: %d)",
               rounds, t_first < 0 ? 0.0 : (double)t_first / 1000, exited ? "exited " : "SIGKILL",
               seen, progress + seen, (double)(su_ms() - ts) / 1000, progress, now_at, n, kills);
        if (exited) ASSERT_EQ(code, 0);
        progress = now_at;
        if (progress >= (int64_t)n) break;
    }
    /* final run: let it finish and exit by idleness (again if it idled out
     * before getting partitions back). Waiting out the killed member's
     * session first lets it get them in ~3-5 s, well inside 8 s. */
    if (progress < (int64_t)n) su_sleep_ms(7000);
    for (int i = 0; i < 5 && progress < (int64_t)n; i++) {
        su_argv_t a = {0};
        run_args(&a, bin, bootstrap, dir_b, "crash", 0);
        su_arg(&a, "--idle-exit-ms"), su_arg(&a, "8000");
        snprintf(path, sizeof(path), "%s/final-%d.log", root, i);
        int64_t ts = su_ms();
        pid = su_spawn(a.v, path);
        ASSERT(pid > 0);
        ASSERT_EQ(su_wait(pid, 600000), 0);
        progress = committed(bin, dir_b);
        su_log("final run %d: exited after %.1f s, committed %" PRId64 " of %" PRIu64, i,
               (double)(su_ms() - ts) / 1000, progress, n);
    }
    su_log("crash run: %d kills while consuming in %d rounds (%d idle exits), %.1f s", kills,
           rounds, idle_exits, (double)(su_ms() - t_crash) / 1000);
    ASSERT(kills >= want_kills);

    /* ---- compare ---- */
    size_t la = 0, lb = 0;
    char *da = su_state_dump(bin, dir_a, &la), *db = su_state_dump(bin, dir_b, &lb);
    ASSERT(da && db);
    int parts = 0;
    int64_t sum = su_dump_offsets(da, &parts);
    su_log("dumps: reference %zu bytes / %zu lines, crash run %zu bytes / %zu lines", la,
           su_count_lines(da), lb, su_count_lines(db));
    int same = la == lb && !memcmp(da, db, la);
    if (!same) {
        /* first differing lines, for the report */
        const char *pa = da, *pb = db;
        int shown = 0;
        while (*pa && *pb && shown < 10) {
            const char *ea = strchr(pa, '\n'), *eb = strchr(pb, '\n');
            size_t na = ea ? (size_t)(ea - pa) : strlen(pa),
                   nb = eb ? (size_t)(eb - pb) : strlen(pb);
            if (na != nb || memcmp(pa, pb, na)) {
                fprintf(stderr, "  ref:   %.*s\n  crash: %.*s\n", (int)na, pa, (int)nb, pb);
                shown++;
            }
            pa += na + (ea != NULL), pb += nb + (eb != NULL);
        }
        snprintf(path, sizeof(path), "%s/ref.dump", root);
        FILE *f = fopen(path, "w");
        if (f) fwrite(da, 1, la, f), fclose(f);
        snprintf(path, sizeof(path), "%s/crash.dump", root);
        f = fopen(path, "w");
        if (f) fwrite(db, 1, lb, f), fclose(f);
    }
    int64_t lines = (int64_t)su_count_lines(da);
    free(da);
    free(db);
    rs_mock_destroy(mock);
    if (same)
        su_rmtree(root);
    else
        fprintf(stderr, "  dumps kept in %s\n", root);
    free(root);
    ASSERT(same);
    ASSERT_EQ(parts, PARTS);
    ASSERT_EQ(sum, (int64_t)n);
    ASSERT(lines > 1000);
}

int main(void) {
    setvbuf(stderr, NULL, _IOLBF, 0);
    return RUN_TESTS(t_crash_restart_exact);
}
