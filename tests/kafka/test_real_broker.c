/* test_real_broker.c -- recstream against a real Apache Kafka broker
 * (tools/kafka-start; RS_KAFKA_BOOTSTRAP, see kafka_util.h).
 *
 * end_to_end: topics created with the admin API (rs_kafka_create_topics);
 * RS_KAFKA_EVENTS generated records (default 1M; 1% duplicates, 1% late,
 * 0.5% malformed; Confluent Avro, 10% JSON) produced to `events` with
 * rs_feed_run, exactly as the demo and bench feed the daemon. An oracle
 * replays the same generator (same seed, same sequence) and keeps per user
 * and per item the exact counts by type, first/last event time, sessions,
 * purchases, spend and item weight (users an item is new to). The real
 * `recstream run` binary consumes everything (--stop-after N) and the test
 * asserts:
 *  - its statistics: records, applied, duplicates, late, DLQ, all exact;
 *  - `state dump`: every user and item equals the oracle, nothing extra,
 *    the stored offsets add up to N over all partitions;
 *  - `recommendations`, read with kcat (a client we did not write), each
 *    record decodes with the published schema file schemas/recommendation.avsc
 *    (Avro C, whole payload consumed) and with rs_codec, the two agree, key =
 *    user id, versions 1, 2, 3... per user, every user with an applied event
 *    has a list, and the count equals the lists the daemon emitted;
 *  - the DLQ, read with kcat, holds exactly the malformed records.
 *
 * group_rebalance: two `recstream run` in one group on 8 partitions. A owns
 * all of them; the records are produced at a steady rate (over STREAM_S
 * seconds), and B joins when half of them were produced, so partitions move
 * from A to B mid-stream (cooperative-sticky: A keeps its other partitions
 * running). The test logs how long the split and the catch-up took. After
 * both stop (SIGTERM), with R a reference single instance:
 *  - 0 double-counted: the records consumed by A plus B are exactly N
 *    (a record read again after the hand-over would make it more);
 *  - 0 lost: per partition max(offset A, offset B) = R's offset, their sum N;
 *  - items: counts summed over A and B equal R's, first/last = min/max;
 *  - users: a user in one instance only equals R's line for counts,
 *    first/last, sessions, purchases; a user of a moved partition (in both)
 *    has counts and purchases that sum to R's.
 *  Sessions, item weights and co-occurrences of moved users are not
 *  additive: B does not have A's profile of them (F20's state hand-over is
 *  not built), so they are reported, not asserted. Duplicates are off here
 *  for the same reason (B does not have A's dedup window).
 *
 * Knobs: RS_KAFKA_EVENTS, RS_KAFKA_GROUP_EVENTS (default 120000),
 * RS_TEST_SEED, RS_KEEP_TMP (keep state dirs and logs). */
#include "rs_test.h"

#include "kafka_oracle.h"

#define EV_PARTS   8
#define REC_PARTS  4
#define N_USERS    50000
#define N_ITEMS    10000
#define WATCHDOG_S 600
#define STREAM_S   12 /* group_rebalance: seconds the whole stream is spread over */

/* The body: an ASSERT returns from here and ko_ctx_done still runs. */
static void e2e_body(ko_ctx_t *x) {
    const char *bs = ku_bootstrap(), *bin = su_bin();
    ASSERT(bin != NULL);
    const uint64_t n = ku_env_u64("RS_KAFKA_EVENTS", 1000000);
    ku_names_t nm;
    ku_names(&nm, "", "e2e");
    const char *t_ev = nm.ev, *t_rec = nm.rec, *t_dlq = nm.dlq;
    const char *names[] = {t_ev, t_rec, t_dlq};
    const int parts[] = {EV_PARTS, REC_PARTS, 1};
    int64_t t0 = su_ms(), t;
    ASSERT_OK(ku_create_topics(bs, names, parts, 3));
    su_log("broker %s: topics %s (%d), %s (%d), %s (1) created in %.1f s", bs, t_ev, EV_PARTS,
           t_rec, REC_PARTS, t_dlq, ku_secs(t0));

    rs_gen_opts_t go;
    ku_gen_opts(&go, N_USERS, N_ITEMS);
    ko_oracle_t *o = &x->o;
    ASSERT_OK(ko_init(o, N_USERS, N_ITEMS));
    char *root = x->root = su_tmpdir("rs-kafka-e2e");
    ASSERT(root != NULL);
    ku_files_t fl;
    ku_files(&fl, root, "run");
    const char *dir = fl.dir, *stats = fl.stats, *log = fl.log;

    t = su_ms();
    su_feed_t fs = {0};
    ASSERT_OK(su_produce(bs, t_ev, &go, n, 10, NULL, 0, &fs));
    su_log("produced %" PRIu64 " records in %.1f s (%.0f/s): %" PRIu64 " good, %" PRIu64
           " dup, %" PRIu64 " late, %" PRIu64 " bad",
           fs.produced, ku_secs(t), (double)fs.produced / ku_secs(t), fs.good, fs.dup, fs.late,
           fs.bad);
    ko_run(o, &go, n);
    ASSERT_EQ(o->bad_ids, 0);
    ASSERT_EQ(o->kinds[RS_GEN_DUP], fs.dup);
    ASSERT_EQ(o->bad, fs.bad);

    t = su_ms();
    ku_run_t r = ku_run_of(bin, bs, &nm, &fl);
    r.stop_after = n;
    pid_t pid = ku_start(&r);
    ASSERT(pid > 0);
    int code = su_wait(pid, WATCHDOG_S * 1000);
    if (code) ku_tail(log, 30);
    ASSERT_EQ(code, 0);
    ku_stats_t s = {0};
    ASSERT_OK(ku_read_stats(stats, &s));
    su_log("recstream run: %.1f s wall (incl. start and group join), %.0f records in %.1f s = "
           "%.0f/s; applied %.0f, duplicates %.0f, late %.0f, dlq %.0f, lists %.0f",
           ku_secs(t), s.events, s.seconds, s.eps, s.applied, s.duplicates, s.late, s.dlq, s.recs);
    ko_check_stats(o, &s, n);
    if (rs_test_failed_) return;

    t = su_ms();
    ASSERT_OK(ku_dump(bin, dir, &x->d));
    ko_check_dump(o, &x->d, t_ev, EV_PARTS, n);
    if (rs_test_failed_) return;
    su_log("state checked in %.1f s", ku_secs(t));

    /* read the outputs back with kcat */
    ko_recs_open(&x->rc, o);
    if (rs_test_failed_) return;
    ko_read_back(&x->rc, bs, NULL, t_rec, t_dlq, (uint64_t)s.recs);
    if (rs_test_failed_) return;
    su_log("end_to_end: %.1f s in all", ku_secs(t0));
}

TEST(end_to_end) {
    ko_ctx_t x = {0};
    e2e_body(&x);
    ko_ctx_done(&x);
}

/* ------------------------------------------------------------ group rebalance */

/* Compares the two instances' dumps, merged, with the reference's. */
typedef struct merge_report {
    uint64_t diff, split_users, users, items, offsets, moved_parts;
    uint64_t weight_diff, session_diff, cooc_diff;
    int64_t off_sum;
} merge_report_t;

static void merge_check(const ku_dump_t *a, const ku_dump_t *b, const ku_dump_t *ref,
                        merge_report_t *m) {
    /* everything in A or B must be in the reference */
    const ku_dump_t *ab[2] = {a, b};
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < ab[k]->n; i++) {
            const ku_ent_t *e = &ab[k]->v[i];
            if (e->kind != 'c' && !ku_find(ref, e->kind, e->key) && m->diff++ < 10)
                fprintf(stderr, "  extra in instance %c: %c %s\n", 'A' + k, e->kind, e->key);
        }
    for (size_t i = 0; i < ref->n; i++) {
        const ku_ent_t *r = &ref->v[i];
        const ku_ent_t *x = ku_find(a, r->kind, r->key), *y = ku_find(b, r->kind, r->key);
        const char *why = NULL;
        if (r->kind == 'c') {
            unsigned long long sum =
                (x ? strtoull(x->val, NULL, 10) : 0) + (y ? strtoull(y->val, NULL, 10) : 0);
            m->cooc_diff += sum != strtoull(r->val, NULL, 10);
            continue;
        }
        if (!x && !y) {
            why = "missing in both instances";
        } else if (r->kind == 'o') {
            long long vx = x ? strtoll(x->val, NULL, 10) : -1,
                      vy = y ? strtoll(y->val, NULL, 10) : -1;
            long long mx = vx > vy ? vx : vy;
            m->offsets++, m->off_sum += mx, m->moved_parts += x && y;
            if (mx != strtoll(r->val, NULL, 10)) why = "offset: max of the two differs";
        } else {
            ku_rec_t rr, rx = {0}, ry = {0};
            int user = r->kind == 'u';
            int (*parse)(const char *, ku_rec_t *) = user ? ku_parse_user : ku_parse_item;
            if (parse(r->val, &rr) || (x && parse(x->val, &rx)) || (y && parse(y->val, &ry))) {
                why = "unparseable";
            } else {
                if (!x) rx = (ku_rec_t){.first = INT64_MAX, .last = INT64_MIN};
                if (!y) ry = (ku_rec_t){.first = INT64_MAX, .last = INT64_MIN};
                for (int t = 0; t < RS_EV__COUNT; t++)
                    if (rx.c[t] + ry.c[t] != rr.c[t]) why = "counts do not add up";
                if ((rx.first < ry.first ? rx.first : ry.first) != rr.first ||
                    (rx.last > ry.last ? rx.last : ry.last) != rr.last)
                    why = "first/last differ";
                if (user) {
                    m->users++, m->split_users += x && y;
                    if (rx.purchases + ry.purchases != rr.purchases) why = "purchases differ";
                    if (x && y)
                        m->session_diff += rx.sessions + ry.sessions != rr.sessions;
                    else if ((x ? rx.sessions : ry.sessions) != rr.sessions)
                        why = "sessions differ (user in one instance)";
                } else {
                    m->items++;
                    m->weight_diff += rx.weight + ry.weight != rr.weight;
                }
            }
        }
        if (why && m->diff++ < 10)
            fprintf(stderr, "  %s: %c %s\n    ref: %s\n    A:   %s\n    B:   %s\n", why, r->kind,
                    r->key, r->val, x ? x->val : "-", y ? y->val : "-");
    }
}

typedef struct grp {
    ku_feed_t feed; /* the second half of the stream */
    rs_feed_stats_t fs;
    pid_t pa, pb;
    ku_dump_t da, db, dr;
    rs_gen_t *gen;
    char *root;
} grp_t;

/* The body: an ASSERT returns from here and grp_cleanup still runs. */
static void group_body(grp_t *x) {
    const char *bs = ku_bootstrap(), *bin = su_bin();
    ASSERT(bin != NULL);
    const uint64_t n = ku_env_u64("RS_KAFKA_GROUP_EVENTS", 120000), half = n / 2;
    char group_ref[128], err[512];
    ku_names_t nm;
    ku_names(&nm, "g-", "pair");
    const char *t_ev = nm.ev, *t_rec = nm.rec, *t_dlq = nm.dlq, *group = nm.group;
    ku_name(group_ref, sizeof(group_ref), "ref");
    const char *names[] = {t_ev, t_rec, t_dlq};
    const int parts[] = {EV_PARTS, REC_PARTS, 1};
    ASSERT_OK(ku_create_topics(bs, names, parts, 3));

    char *root = x->root = su_tmpdir("rs-kafka-group");
    ASSERT(root != NULL);
    ku_files_t fl[3];
    const char *tag[3] = {"a", "b", "ref"};
    for (int i = 0; i < 3; i++) ku_files(&fl[i], root, tag[i]);
    int port[2] = {su_free_port(), su_free_port()};
    ASSERT(port[0] > 0 && port[1] > 0 && port[0] != port[1]);
    ku_run_t run[3];
    for (int i = 0; i < 3; i++) {
        run[i] = ku_run_of(bin, bs, &nm, &fl[i]);
        run[i].group = i < 2 ? group : group_ref;
        run[i].http_port = i < 2 ? port[i] : 0;
        run[i].stop_after = i < 2 ? 0 : n;
    }
    rs_kv_t kv[1] = {{(char *)"bootstrap.servers", (char *)bs, (char *)"test"}};
    rs_gen_opts_t go;
    rs_gen_opts_default(&go);
    go.seed = rs_test_seed();
    go.users = 20000;
    go.items = 5000;
    go.late_rate = go.bad_rate = 0.01; /* no duplicates: see the file comment */

    /* ---- A alone owns all partitions ---- */
    int64_t t0 = su_ms();
    x->pa = ku_start(&run[0]);
    ASSERT(x->pa > 0);
    int code, a = 0, b = 0;
    while (ku_secs(t0) < 60 &&
           (a = (int)ku_metric(port[0], "recstream_partitions_assigned")) != EV_PARTS) {
        if (su_exited(x->pa, &code)) x->pa = -1;
        if (x->pa < 0) break;
        su_sleep_ms(100);
    }
    if (a != EV_PARTS) ku_tail(fl[0].log, 20);
    ASSERT_EQ(a, EV_PARTS);
    su_log("A owns all %d partitions after %.1f s", EV_PARTS, ku_secs(t0));

    /* ---- a steady stream; B joins when half of it was produced ---- */
    x->gen = rs_gen_new(&go);
    double rate = (double)n / STREAM_S;
    ASSERT_OK(rs_feed_run(kv, 1, t_ev, x->gen, half, rate, 10, &x->fs, err, sizeof(err)));
    double ea = ku_metric(port[0], "recstream_events_in_total");
    x->pb = ku_start(&run[1]);
    ASSERT(x->pb > 0);
    int64_t t_join = su_ms();
    su_log("B started; A has read %.0f of the %" PRIu64 " records produced so far (%.0f/s)", ea,
           half, rate);
    /* the second half from a thread, while this one watches the group */
    x->feed = (ku_feed_t){.kv = {kv[0]},
                          .n_kv = 1,
                          .topic = t_ev,
                          .gen = x->gen,
                          .n = n - half,
                          .rate = rate,
                          .fs = &x->fs};
    ASSERT_EQ(ku_feed_start(&x->feed), 0);

    /* ---- until both own partitions and together read everything, stable ---- */
    double eb = 0, last = -1;
    int64_t stable_since = -1, t_b_first = -1, t_caught = -1, t_split = -1;
    int la = -1, lb = -1;
    while (ku_secs(t_join) < 180) {
        a = (int)ku_metric(port[0], "recstream_partitions_assigned");
        b = (int)ku_metric(port[1], "recstream_partitions_assigned");
        ea = ku_metric(port[0], "recstream_events_in_total");
        eb = ku_metric(port[1], "recstream_events_in_total");
        if (a != la || b != lb)
            su_log("assigned: A %d, B %d (read A %.0f, B %.0f)", a, b, ea, eb), la = a, lb = b;
        if (eb > 0 && t_b_first < 0) t_b_first = su_ms();
        if (ea + eb >= (double)n && t_caught < 0) t_caught = su_ms();
        if (a > 0 && b > 0 && a + b == EV_PARTS && t_split < 0) t_split = su_ms();
        int ok = a > 0 && b > 0 && a + b == EV_PARTS && ea + eb >= (double)n;
        if (!ok || ea + eb != last)
            stable_since = ok ? su_ms() : -1;
        else if (su_ms() - stable_since >= 3000)
            break;
        last = ea + eb;
        if (su_exited(x->pa, &code) || su_exited(x->pb, &code)) break;
        if (!ku_feed_done(&x->feed)) stable_since = -1; /* still producing */
        su_sleep_ms(100);
    }
    ASSERT_OK(ku_feed_join(&x->feed));
    ASSERT_EQ(x->fs.delivered, n);
    su_log("pair: A read %.0f, B read %.0f (sum %.0f of %" PRIu64 "); after B started: "
           "partitions split %.1f s, B's first record %.1f s, all read %.1f s (production "
           "ended at %.1f s)",
           ea, eb, ea + eb, n, t_split < 0 ? -1.0 : (double)(t_split - t_join) / 1000,
           t_b_first < 0 ? -1.0 : (double)(t_b_first - t_join) / 1000,
           t_caught < 0 ? -1.0 : (double)(t_caught - t_join) / 1000, STREAM_S / 2.0);
    kill(x->pa, SIGTERM);
    kill(x->pb, SIGTERM);
    int rca = su_wait(x->pa, 60000), rcb = su_wait(x->pb, 60000);
    x->pa = x->pb = -1;
    if (rca) ku_tail(fl[0].log, 20);
    if (rcb) ku_tail(fl[1].log, 20);
    ASSERT_EQ(rca, 0);
    ASSERT_EQ(rcb, 0);
    ASSERT(a > 0 && b > 0 && a + b == EV_PARTS);
    ku_stats_t sa = {0}, sb = {0}, sr = {0};
    ASSERT_OK(ku_read_stats(fl[0].stats, &sa));
    ASSERT_OK(ku_read_stats(fl[1].stats, &sb));
    /* 0 double-counted records: nothing was read twice across the hand-over */
    ASSERT_EQ((uint64_t)(sa.events + sb.events), n);

    /* ---- reference: one instance, its own group ---- */
    int64_t t = su_ms();
    pid_t pr = ku_start(&run[2]);
    ASSERT(pr > 0);
    code = su_wait(pr, WATCHDOG_S * 1000);
    if (code) ku_tail(fl[2].log, 20);
    ASSERT_EQ(code, 0);
    ASSERT_OK(ku_read_stats(fl[2].stats, &sr));
    su_log("reference: %.0f records in %.1f s", sr.events, ku_secs(t));
    ASSERT_EQ((uint64_t)sr.events, n);
    ASSERT_EQ(sa.applied + sb.applied, sr.applied);
    ASSERT_EQ(sa.dlq + sb.dlq, sr.dlq);

    ASSERT_OK(ku_dump(bin, fl[0].dir, &x->da));
    ASSERT_OK(ku_dump(bin, fl[1].dir, &x->db));
    ASSERT_OK(ku_dump(bin, fl[2].dir, &x->dr));
    merge_report_t m = {0};
    merge_check(&x->da, &x->db, &x->dr, &m);
    su_log("merged A+B vs reference: %" PRIu64 " offsets (%" PRIu64 " partitions moved), %" PRIu64
           " items, %" PRIu64 " users (%" PRIu64 " in both); %" PRIu64 " entries differ. Not "
           "additive for moved users (reported): sessions %" PRIu64 ", item weights %" PRIu64
           ", cooc counts %" PRIu64,
           m.offsets, m.moved_parts, m.items, m.users, m.split_users, m.diff, m.session_diff,
           m.weight_diff, m.cooc_diff);
    ASSERT_EQ(x->da.unknown + x->db.unknown + x->dr.unknown, 0);
    ASSERT_EQ(m.diff, 0);
    ASSERT_EQ(m.offsets, EV_PARTS);
    ASSERT_EQ(m.off_sum, (int64_t)n);
    ASSERT(m.moved_parts > 0); /* the rebalance did move partitions mid-stream */
    ASSERT(m.users > 1000);
}

static void grp_cleanup(grp_t *x) {
    ku_feed_join(&x->feed);
    if (x->pa > 0) kill(x->pa, SIGKILL), waitpid(x->pa, NULL, 0);
    if (x->pb > 0) kill(x->pb, SIGKILL), waitpid(x->pb, NULL, 0);
    rs_gen_destroy(x->gen);
    ku_dump_free(&x->da);
    ku_dump_free(&x->db);
    ku_dump_free(&x->dr);
    ku_root_done(x->root, rs_test_failed_);
}

TEST(group_rebalance) {
    grp_t x = {.pa = -1, .pb = -1};
    group_body(&x);
    grp_cleanup(&x);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    setvbuf(stderr, NULL, _IOLBF, 0);
    int skip = ku_skip_or_fail("test_real_broker");
    if (skip) return skip > 0;
    return RUN_TESTS(t_end_to_end, t_group_rebalance);
}
