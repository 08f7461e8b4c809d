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
#include <avro.h>
#include <pthread.h>

#include "kafka_util.h"
#include "recstream/rs_conf.h"
#include "rs_test.h"

#define EV_PARTS   8
#define REC_PARTS  4
#define N_USERS    50000
#define N_ITEMS    10000
#define WATCHDOG_S 600
#define STREAM_S   12 /* group_rebalance: seconds the whole stream is spread over */

static uint64_t env_u64(const char *name, uint64_t def) {
    const char *s = getenv(name);
    return s && *s ? strtoull(s, NULL, 10) : def;
}

/* "u123" -> 123; UINT32_MAX if not prefix + digits. */
static uint32_t id_num(const char *p, size_t len, char prefix) {
    if (len < 2 || len > 11 || p[0] != prefix) return UINT32_MAX;
    uint64_t v = 0;
    for (size_t i = 1; i < len; i++) {
        if (p[i] < '0' || p[i] > '9') return UINT32_MAX;
        v = v * 10 + (uint64_t)(p[i] - '0');
    }
    return v < UINT32_MAX ? (uint32_t)v : UINT32_MAX;
}

static double secs(int64_t t0_ms) {
    return (double)(su_ms() - t0_ms) / 1000;
}

/* ------------------------------------------------------------ oracle */

typedef struct o_user {
    uint32_t counts[RS_EV__COUNT];
    int64_t first, last;
    uint32_t sessions, purchases;
    uint64_t sess; /* session number + 1 of the last applied event */
    double money;
    uint64_t applied;
    uint32_t ring[64]; /* recent distinct items (weight > 0), most recent first */
    int n_ring;
    int64_t rec_version; /* last version read back */
} o_user_t;

typedef struct o_item {
    uint32_t counts[RS_EV__COUNT];
    int64_t first, last;
    uint64_t weight, applied;
} o_item_t;

typedef struct oracle {
    const rs_conf_t *conf;
    o_user_t *users;
    o_item_t *items;
    uint64_t kinds[RS_GEN__KIND_COUNT], applied, late, bad, bad_ids;
} oracle_t;

/* What the daemon must do with one valid, non-duplicate event (the same
 * bookkeeping as tests/mock/test_e2e.c). */
static void oracle_apply(oracle_t *o, const rs_event_t *ev, uint32_t uid, uint32_t iid) {
    o_user_t *u = &o->users[uid];
    o_item_t *it = &o->items[iid];
    int t = (int)ev->type;
    int64_t ts = ev->ts_ms;
    if (u->last && ts < u->last) o->late++;
    u->counts[t]++;
    if (!u->first || ts < u->first) u->first = ts;
    uint64_t s = (uint64_t)id_num(ev->session_id.p, ev->session_id.len, 's') + 1;
    if (s != u->sess) u->sessions++, u->sess = s;
    if (ts > u->last) u->last = ts;
    if (t == RS_EV_PURCHASE) u->purchases++, u->money += ev->price;
    u->applied++;
    it->counts[t]++;
    if (!it->first || ts < it->first) it->first = ts;
    if (ts > it->last) it->last = ts;
    if (o->conf->weight[t] > 0) {
        int j, cap = o->conf->recent_items < 64 ? o->conf->recent_items : 64;
        for (j = 0; j < u->n_ring; j++)
            if (u->ring[j] == iid) break;
        if (j == u->n_ring) {
            it->weight++;
            if (u->n_ring < cap) u->n_ring++;
            j = u->n_ring - 1;
        }
        memmove(&u->ring[1], &u->ring[0], (size_t)j * sizeof(uint32_t));
        u->ring[0] = iid;
    }
    it->applied++;
    o->applied++;
}

/* Replays the generator the feed used: n records, same options. */
static void oracle_run(oracle_t *o, const rs_gen_opts_t *go, uint64_t n) {
    rs_gen_t *g = rs_gen_new(go);
    for (uint64_t i = 0; g && i < n; i++) {
        rs_gen_kind_t kind;
        const rs_event_t *ev = rs_gen_next(g, &kind);
        o->kinds[kind]++;
        if (kind == RS_GEN_DUP) continue;
        if (kind != RS_GEN_OK && kind != RS_GEN_LATE) {
            o->bad++;
            continue;
        }
        uint32_t uid = id_num(ev->user_id.p, ev->user_id.len, 'u');
        uint32_t iid = id_num(ev->item_id.p, ev->item_id.len, 'i');
        if (uid >= N_USERS || iid >= N_ITEMS) {
            o->bad_ids++;
            continue;
        }
        oracle_apply(o, ev, uid, iid);
    }
    rs_gen_destroy(g);
}

/* ------------------------------------------------------------ read-back */

typedef struct recs_ctx {
    oracle_t *o;
    rs_codec_t *codec;
    avro_schema_t schema;
    avro_value_iface_t *iface;
    avro_value_t val;
    uint64_t total, errors, dlq;
} recs_ctx_t;

/* One `recommendations` record: decoded with the published schema and with
 * rs_codec, checked against the other decode and the per-user versions. */
static void on_rec(void *opaque, int32_t part, int64_t off, const char *key, size_t klen,
                   const unsigned char *v, size_t vlen) {
    recs_ctx_t *c = opaque;
    char err[256];
    const char *why = NULL;
    c->total++;
    /* 1. Avro C with the schema file, no code of ours */
    avro_reader_t rd = avro_reader_memory((const char *)v, (int64_t)vlen);
    const char *a_user = NULL;
    size_t a_ulen = 0;
    int64_t a_version = -1;
    size_t a_items = 0;
    char extra;
    avro_value_t f;
    avro_value_reset(&c->val);
    if (avro_value_read(rd, &c->val))
        why = "does not decode with schemas/recommendation.avsc";
    else if (avro_read(rd, &extra, 1) == 0) /* avro_reader_is_eof only knows files */
        why = "bytes left over after the record";
    else if (avro_value_get_by_name(&c->val, "user_id", &f, NULL) ||
             avro_value_get_string(&f, &a_user, &a_ulen) ||
             avro_value_get_by_name(&c->val, "version", &f, NULL) ||
             avro_value_get_long(&f, &a_version) ||
             avro_value_get_by_name(&c->val, "items", &f, NULL) ||
             avro_value_get_size(&f, &a_items))
        why = "schema fields missing";
    avro_reader_free(rd);
    /* 2. rs_codec (the daemon's own decoder) must agree */
    rs_rec_t rec;
    uint32_t uid = UINT32_MAX;
    if (!why && rs_codec_decode_rec(c->codec, v, vlen, RS_FMT_AVRO, &rec, err, sizeof(err)))
        why = err;
    else if (!why &&
             (a_ulen != rec.user_id.len + 1 || memcmp(a_user, rec.user_id.p, rec.user_id.len) ||
              a_version != rec.version || a_items != rec.n_items))
        why = "rs_codec and Avro C disagree";
    else if (!why && (uid = id_num(rec.user_id.p, rec.user_id.len, 'u')) >= N_USERS)
        why = "unknown user";
    else if (!why && (klen != rec.user_id.len || memcmp(key, rec.user_id.p, klen)))
        why = "key is not the user id";
    else if (!why && rec.version != c->o->users[uid].rec_version + 1)
        why = "version is not the previous one + 1";
    if (!why) c->o->users[uid].rec_version = rec.version;
    if (why && c->errors++ < 10)
        fprintf(stderr, "  recommendations [%d] @%" PRId64 ": %s\n", part, off, why);
}

static void on_dlq(void *opaque, int32_t part, int64_t off, const char *key, size_t klen,
                   const unsigned char *v, size_t vlen) {
    ((recs_ctx_t *)opaque)->dlq++;
}

/* Every user and item of the dump against the oracle; the offsets. */
static void check_dump(const oracle_t *o, const ku_dump_t *d, const char *t_events, uint64_t n) {
    uint64_t users = 0, items = 0, bad = 0, offs = 0;
    int64_t off_sum = 0;
    for (size_t i = 0; i < d->n; i++) {
        const ku_ent_t *e = &d->v[i];
        ku_rec_t r;
        const char *why = NULL;
        if (e->kind == 'o') {
            char topic[256];
            int p;
            long long next;
            if (sscanf(e->key, "%255s %d", topic, &p) != 2 || strcmp(topic, t_events))
                why = "offset of another topic";
            next = strtoll(e->val, NULL, 10);
            off_sum += next, offs++;
        } else if (e->kind == 'u') {
            uint32_t id = id_num(e->key, strlen(e->key), 'u');
            const o_user_t *u = id < N_USERS ? &o->users[id] : NULL;
            users++;
            if (!u || !u->applied)
                why = "user the oracle does not have";
            else if (ku_parse_user(e->val, &r))
                why = "unparseable user";
            else {
                for (int t = 0; t < RS_EV__COUNT; t++)
                    if (r.c[t] != u->counts[t]) why = "user counts differ";
                if (r.first != u->first || r.last != u->last) why = "user first/last differ";
                if (r.sessions != u->sessions) why = "user sessions differ";
                if (r.purchases != u->purchases) why = "user purchases differ";
                if (fabs(r.monetary - u->money) > 0.006 + 1e-9 * u->money)
                    why = "user monetary differs";
            }
        } else if (e->kind == 'i') {
            uint32_t id = id_num(e->key, strlen(e->key), 'i');
            const o_item_t *it = id < N_ITEMS ? &o->items[id] : NULL;
            items++;
            if (!it || !it->applied)
                why = "item the oracle does not have";
            else if (ku_parse_item(e->val, &r))
                why = "unparseable item";
            else {
                for (int t = 0; t < RS_EV__COUNT; t++)
                    if (r.c[t] != it->counts[t]) why = "item counts differ";
                if (r.first != it->first || r.last != it->last) why = "item first/last differ";
                if (r.weight != it->weight) why = "item weight differs";
            }
        }
        if (why && bad++ < 10)
            fprintf(stderr, "  dump: %s: %c %s %s\n", why, e->kind, e->key, e->val);
    }
    uint64_t o_users = 0, o_items = 0;
    for (uint32_t i = 0; i < N_USERS; i++) o_users += o->users[i].applied > 0;
    for (uint32_t i = 0; i < N_ITEMS; i++) o_items += o->items[i].applied > 0;
    printf("  state: %" PRIu64 " users, %" PRIu64 " items (oracle %" PRIu64 ", %" PRIu64
           "), %" PRIu64 " offsets summing to %" PRId64 "; %" PRIu64 " entries differ\n",
           users, items, o_users, o_items, offs, off_sum, bad);
    ASSERT_EQ(d->unknown, 0);
    ASSERT_EQ(bad, 0);
    ASSERT_EQ(users, o_users);
    ASSERT_EQ(items, o_items);
    ASSERT_EQ(offs, EV_PARTS);
    ASSERT_EQ(off_sum, (int64_t)n);
}

typedef struct e2e {
    rs_conf_t *conf;
    oracle_t o;
    recs_ctx_t rc;
    char *root;
    ku_dump_t d;
} e2e_t;

/* The body: an ASSERT returns from here and e2e_cleanup still runs. */
static void e2e_body(e2e_t *x) {
    const char *bs = ku_bootstrap(), *bin = su_bin();
    ASSERT(bin != NULL);
    const uint64_t n = env_u64("RS_KAFKA_EVENTS", 1000000);
    char t_ev[128], t_rec[128], t_dlq[128], group[128], err[512];
    ku_name(t_ev, sizeof(t_ev), "events");
    ku_name(t_rec, sizeof(t_rec), "recommendations");
    ku_name(t_dlq, sizeof(t_dlq), "dlq");
    ku_name(group, sizeof(group), "e2e");
    const char *names[] = {t_ev, t_rec, t_dlq};
    const int parts[] = {EV_PARTS, REC_PARTS, 1};
    int64_t t0 = su_ms(), t;
    ASSERT_OK(ku_create_topics(bs, names, parts, 3));
    su_log("broker %s: topics %s (%d), %s (%d), %s (1) created in %.1f s", bs, t_ev, EV_PARTS,
           t_rec, REC_PARTS, t_dlq, secs(t0));

    rs_gen_opts_t go;
    rs_gen_opts_default(&go);
    go.seed = rs_test_seed();
    go.users = N_USERS;
    go.items = N_ITEMS;
    go.dup_rate = 0.01;
    go.late_rate = 0.01;
    go.bad_rate = 0.005;
    x->conf = rs_conf_new();
    ASSERT_OK(rs_conf_check(x->conf, err, sizeof(err)));
    oracle_t *o = &x->o;
    o->conf = x->conf;
    o->users = rs_xcalloc(N_USERS, sizeof(*o->users));
    o->items = rs_xcalloc(N_ITEMS, sizeof(*o->items));
    recs_ctx_t *rc = &x->rc;
    rc->o = o;
    char *root = x->root = su_tmpdir("rs-kafka-e2e");
    ASSERT(root != NULL);
    char dir[600], stats[600], log[600];
    snprintf(dir, sizeof(dir), "%s/state", root);
    snprintf(stats, sizeof(stats), "%s/stats.json", root);
    snprintf(log, sizeof(log), "%s/run.log", root);

    t = su_ms();
    su_feed_t fs = {0};
    ASSERT_OK(su_produce(bs, t_ev, &go, n, 10, NULL, 0, &fs));
    su_log("produced %" PRIu64 " records in %.1f s (%.0f/s): %" PRIu64 " good, %" PRIu64
           " dup, %" PRIu64 " late, %" PRIu64 " bad",
           fs.produced, secs(t), (double)fs.produced / secs(t), fs.good, fs.dup, fs.late, fs.bad);
    oracle_run(o, &go, n);
    ASSERT_EQ(o->bad_ids, 0);
    ASSERT_EQ(o->kinds[RS_GEN_DUP], fs.dup);
    ASSERT_EQ(o->bad, fs.bad);

    t = su_ms();
    ku_run_t r = {.bin = bin,
                  .bootstrap = bs,
                  .dir = dir,
                  .group = group,
                  .t_events = t_ev,
                  .t_recs = t_rec,
                  .t_dlq = t_dlq,
                  .stop_after = n,
                  .stats_path = stats,
                  .log_path = log};
    pid_t pid = ku_start(&r);
    ASSERT(pid > 0);
    int code = su_wait(pid, WATCHDOG_S * 1000);
    if (code) ku_tail(log, 30);
    ASSERT_EQ(code, 0);
    ku_stats_t s = {0};
    ASSERT_OK(ku_read_stats(stats, &s));
    su_log("recstream run: %.1f s wall (incl. start and group join), %.0f records in %.1f s = "
           "%.0f/s; applied %.0f, duplicates %.0f, late %.0f, dlq %.0f, lists %.0f",
           secs(t), s.events, s.seconds, s.eps, s.applied, s.duplicates, s.late, s.dlq, s.recs);
    ASSERT_EQ((uint64_t)s.events, n);
    ASSERT_EQ((uint64_t)s.applied, o->applied);
    ASSERT_EQ((uint64_t)s.duplicates, o->kinds[RS_GEN_DUP]);
    ASSERT_EQ((uint64_t)s.late, o->late);
    ASSERT_EQ((uint64_t)s.dlq, o->bad);

    t = su_ms();
    ASSERT_OK(ku_dump(bin, dir, &x->d));
    check_dump(o, &x->d, t_ev, n);
    if (rs_test_failed_) return;
    su_log("state checked in %.1f s", secs(t));

    /* read the outputs back with kcat */
    t = su_ms();
    char path[700];
    snprintf(path, sizeof(path), "%s/schemas/recommendation.avsc", getenv("RS_SRC"));
    FILE *sf = fopen(path, "r");
    ASSERT(sf != NULL);
    char json[16384];
    size_t jl = fread(json, 1, sizeof(json) - 1, sf);
    fclose(sf);
    json[jl] = '\0';
    ASSERT_EQ(avro_schema_from_json_length(json, jl, &rc->schema), 0);
    rc->iface = avro_generic_class_from_schema(rc->schema);
    ASSERT(rc->iface != NULL);
    ASSERT_EQ(avro_generic_value_new(rc->iface, &rc->val), 0);
    ASSERT_OK(rs_codec_new(&rc->codec, err, sizeof(err)));
    int64_t got = ku_kcat_read(bs, t_rec, on_rec, rc);
    int64_t got_dlq = ku_kcat_read(bs, t_dlq, on_dlq, rc);
    uint64_t users = 0, listed = 0;
    for (uint32_t i = 0; i < N_USERS; i++)
        if (o->users[i].applied) users++, listed += o->users[i].rec_version > 0;
    su_log("kcat read %" PRId64 " recommendations (%" PRIu64 " errors; %" PRIu64 " of %" PRIu64
           " users have a list) and %" PRId64 " dead letters in %.1f s",
           got, rc->errors, listed, users, got_dlq, secs(t));
    ASSERT_EQ(got, (int64_t)s.recs);
    ASSERT_EQ(rc->errors, 0);
    ASSERT_EQ(listed, users);
    ASSERT_EQ(got_dlq, (int64_t)o->bad);
    su_log("end_to_end: %.1f s in all", secs(t0));
}

static void e2e_cleanup(e2e_t *x) {
    ku_dump_free(&x->d);
    if (x->rc.iface) avro_value_decref(&x->rc.val), avro_value_iface_decref(x->rc.iface);
    if (x->rc.schema) avro_schema_decref(x->rc.schema);
    rs_codec_destroy(x->rc.codec);
    free(x->o.users);
    free(x->o.items);
    rs_conf_destroy(x->conf);
    if (x->root && rs_test_failed_)
        fprintf(stderr, "  logs and state kept in %s\n", x->root);
    else
        su_rmtree(x->root);
    free(x->root);
}

TEST(end_to_end) {
    e2e_t x = {0};
    e2e_body(&x);
    e2e_cleanup(&x);
}

/* ------------------------------------------------------------ group rebalance */

static double metric(int port, const char *name) {
    char *body = su_http_get(port, "/metrics");
    double v = body ? su_metric(body, name) : -1;
    free(body);
    return v;
}

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

/* The second half of the stream, produced from a thread. */
typedef struct feed_job {
    rs_kv_t kv;
    const char *topic;
    rs_gen_t *gen;
    uint64_t n;
    double rate;
    rs_feed_stats_t *fs;
    int rc;
    char err[512];
    volatile int done;
} feed_job_t;

static void *feed_main(void *arg) {
    feed_job_t *f = arg;
    f->rc =
        rs_feed_run(&f->kv, 1, f->topic, f->gen, f->n, f->rate, 10, f->fs, f->err, sizeof(f->err));
    __atomic_store_n(&f->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

typedef struct grp {
    pthread_t th;
    int th_live;
    feed_job_t feed;
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
    const uint64_t n = env_u64("RS_KAFKA_GROUP_EVENTS", 120000), half = n / 2;
    char t_ev[128], t_rec[128], t_dlq[128], group[128], group_ref[128], err[512];
    ku_name(t_ev, sizeof(t_ev), "g-events");
    ku_name(t_rec, sizeof(t_rec), "g-recommendations");
    ku_name(t_dlq, sizeof(t_dlq), "g-dlq");
    ku_name(group, sizeof(group), "pair");
    ku_name(group_ref, sizeof(group_ref), "ref");
    const char *names[] = {t_ev, t_rec, t_dlq};
    const int parts[] = {EV_PARTS, REC_PARTS, 1};
    ASSERT_OK(ku_create_topics(bs, names, parts, 3));

    char *root = x->root = su_tmpdir("rs-kafka-group");
    ASSERT(root != NULL);
    char dir[3][600], stats[3][600], log[3][600];
    const char *tag[3] = {"a", "b", "ref"};
    for (int i = 0; i < 3; i++) {
        snprintf(dir[i], sizeof(dir[i]), "%s/%s", root, tag[i]);
        snprintf(stats[i], sizeof(stats[i]), "%s/%s.json", root, tag[i]);
        snprintf(log[i], sizeof(log[i]), "%s/%s.log", root, tag[i]);
    }
    int port[2] = {su_free_port(), su_free_port()};
    ASSERT(port[0] > 0 && port[1] > 0 && port[0] != port[1]);
    ku_run_t run[3];
    for (int i = 0; i < 3; i++)
        run[i] = (ku_run_t){.bin = bin,
                            .bootstrap = bs,
                            .dir = dir[i],
                            .group = i < 2 ? group : group_ref,
                            .t_events = t_ev,
                            .t_recs = t_rec,
                            .t_dlq = t_dlq,
                            .http_port = i < 2 ? port[i] : 0,
                            .stop_after = i < 2 ? 0 : n,
                            .stats_path = stats[i],
                            .log_path = log[i]};
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
    while (secs(t0) < 60 &&
           (a = (int)metric(port[0], "recstream_partitions_assigned")) != EV_PARTS) {
        if (su_exited(x->pa, &code)) x->pa = -1;
        if (x->pa < 0) break;
        su_sleep_ms(100);
    }
    if (a != EV_PARTS) ku_tail(log[0], 20);
    ASSERT_EQ(a, EV_PARTS);
    su_log("A owns all %d partitions after %.1f s", EV_PARTS, secs(t0));

    /* ---- a steady stream; B joins when half of it was produced ---- */
    x->gen = rs_gen_new(&go);
    double rate = (double)n / STREAM_S;
    ASSERT_OK(rs_feed_run(kv, 1, t_ev, x->gen, half, rate, 10, &x->fs, err, sizeof(err)));
    double ea = metric(port[0], "recstream_events_in_total");
    x->pb = ku_start(&run[1]);
    ASSERT(x->pb > 0);
    int64_t t_join = su_ms();
    su_log("B started; A has read %.0f of the %" PRIu64 " records produced so far (%.0f/s)", ea,
           half, rate);
    /* the second half from a thread, while this one watches the group */
    x->feed = (feed_job_t){
        .kv = kv[0], .topic = t_ev, .gen = x->gen, .n = n - half, .rate = rate, .fs = &x->fs};
    ASSERT_EQ(pthread_create(&x->th, NULL, feed_main, &x->feed), 0);
    x->th_live = 1;

    /* ---- until both own partitions and together read everything, stable ---- */
    double eb = 0, last = -1;
    int64_t stable_since = -1, t_b_first = -1, t_caught = -1, t_split = -1;
    int la = -1, lb = -1;
    while (secs(t_join) < 180) {
        a = (int)metric(port[0], "recstream_partitions_assigned");
        b = (int)metric(port[1], "recstream_partitions_assigned");
        ea = metric(port[0], "recstream_events_in_total");
        eb = metric(port[1], "recstream_events_in_total");
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
        if (!__atomic_load_n(&x->feed.done, __ATOMIC_ACQUIRE))
            stable_since = -1; /* still producing */
        su_sleep_ms(100);
    }
    pthread_join(x->th, NULL);
    x->th_live = 0;
    if (x->feed.rc) fprintf(stderr, "  produce: %s\n", x->feed.err);
    ASSERT_OK(x->feed.rc);
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
    if (rca) ku_tail(log[0], 20);
    if (rcb) ku_tail(log[1], 20);
    ASSERT_EQ(rca, 0);
    ASSERT_EQ(rcb, 0);
    ASSERT(a > 0 && b > 0 && a + b == EV_PARTS);
    ku_stats_t sa = {0}, sb = {0}, sr = {0};
    ASSERT_OK(ku_read_stats(stats[0], &sa));
    ASSERT_OK(ku_read_stats(stats[1], &sb));
    /* 0 double-counted records: nothing was read twice across the hand-over */
    ASSERT_EQ((uint64_t)(sa.events + sb.events), n);

    /* ---- reference: one instance, its own group ---- */
    int64_t t = su_ms();
    pid_t pr = ku_start(&run[2]);
    ASSERT(pr > 0);
    code = su_wait(pr, WATCHDOG_S * 1000);
    if (code) ku_tail(log[2], 20);
    ASSERT_EQ(code, 0);
    ASSERT_OK(ku_read_stats(stats[2], &sr));
    su_log("reference: %.0f records in %.1f s", sr.events, secs(t));
    ASSERT_EQ((uint64_t)sr.events, n);
    ASSERT_EQ(sa.applied + sb.applied, sr.applied);
    ASSERT_EQ(sa.dlq + sb.dlq, sr.dlq);

    ASSERT_OK(ku_dump(bin, dir[0], &x->da));
    ASSERT_OK(ku_dump(bin, dir[1], &x->db));
    ASSERT_OK(ku_dump(bin, dir[2], &x->dr));
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
    if (x->th_live) pthread_join(x->th, NULL);
    if (x->pa > 0) kill(x->pa, SIGKILL), waitpid(x->pa, NULL, 0);
    if (x->pb > 0) kill(x->pb, SIGKILL), waitpid(x->pb, NULL, 0);
    rs_gen_destroy(x->gen);
    ku_dump_free(&x->da);
    ku_dump_free(&x->db);
    ku_dump_free(&x->dr);
    if (x->root && rs_test_failed_)
        fprintf(stderr, "  logs and state kept in %s\n", x->root);
    else
        su_rmtree(x->root);
    free(x->root);
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
