/* test_e2e.c -- the whole daemon, end to end, on librdkafka's mock cluster.
 *
 * known_set: 100k generated records (2% duplicates, 2% late, 1% malformed in
 * six kinds) are produced to `events` (8 partitions, so each stays well under
 * the mock's ~5 MiB per partition) while an independent oracle in this file
 * replays the generator's intent: per user and per item the exact counts of
 * applied events by type, first/last event time, sessions, purchases and
 * spend; the exact number of late events (older than the user's newest);
 * and every invalid record with the DLQ reason it must get. The real daemon
 * then consumes everything in-process (consumer group, RocksDB state, Kafka
 * outputs) and the test asserts:
 *  - stats: records in, applied, duplicates, late, DLQ per reason, all exact;
 *  - state (reopened read-only): every user's and item's fields equal the
 *    oracle, the stored offsets equal each partition's record count;
 *  - DLQ: exactly the invalid records, each once, byte-equal payload and key,
 *    rs-error = expected reason, rs-source-* pointing at the source record;
 *  - recommendations: one list per user with applied events at least,
 *    versions 1, 2, 3... per user in partition order, the last version equal
 *    to the profile's, no seen/purchased item listed; planted pairs (a, b):
 *    b in a's top-10 neighbours for >= 90% of pairs, and b in the latest list
 *    of >= PAIR_LIST_MIN_PCT% of users whose last event touched a and who
 *    never touched b (fraction printed).
 * poison_pill: 1000 undecodable records only: nothing applied, all 1000 in the
 * DLQ as "malformed", offsets at the end, no list emitted, no stall.
 * A watchdog stops a stalled daemon after WATCHDOG_S so the test fails fast.
 *
 * Knobs: RS_TEST_SEED (generator seed, default 42), RS_E2E_SET=key=value
 * (one config override, e.g. rec.recency.decay=0.6), RS_E2E_DEBUG=1 (explain
 * each planted-pair miss), RS_TEST_KEEP=1 (keep the state directory).
 *
 * Records are keyed by user id, so one user's records share a partition and
 * the daemon sees them in production order: that is what makes the oracle's
 * per-user late/session/last-event bookkeeping exact. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e_util.h"
#include "oracle.h"
#include "recstream/rs_buf.h"
#include "recstream/rs_codec.h"
#include "recstream/rs_daemon.h"
#include "recstream/rs_gen.h"
#include "recstream/rs_kafka.h"
#include "recstream/rs_log.h"
#include "recstream/rs_state.h"
#include "recstream/rs_score.h"
#include "rs_test.h"

#define N_EVENTS   100000
#define N_USERS    3000
#define N_ITEMS    2000
#define N_PAIRS    20
#define EV_PARTS   8
#define REC_PARTS  4
#define JSON_PCT   10 /* share of valid records sent as JSON instead of Confluent Avro */
#define WATCHDOG_S 90
#define MAX_REC_K  16
/* Share of "just touched a, never touched b" users whose latest list holds
 * b. Measured with the default scorer (rec.recency.decay 0.8: the other nine
 * seeds together outweigh the last one): 70.6-89.5% over seeds 1-11 and 42
 * (88.5% at 42); with decay 0.6 it is 90-95%, with 0.5 96-97%. The floor
 * holds for every seed tried; raise it to 80 if the default decay drops. */
#define PAIR_LIST_MIN_PCT 67

static double secs_since(int64_t t0) {
    return (double)(rs_mono_us() - t0) / 1e6;
}

/* ------------------------------------------------------------ oracle */

/* A user's latest recommendation list as read from the topic. */
typedef struct o_rec {
    int64_t version;
    uint64_t lists;
    uint32_t n;
    uint32_t items[MAX_REC_K];
} o_rec_t;

typedef struct ctx {
    rs_mock_t *mock;
    rs_conf_t *conf;
    char *dir;
    rs_gen_t *gen;
    rs_stats_t stats;
    rs_state_t *st;
    /* oracle (tests/oracle.h) */
    or_oracle_t o;
    int32_t pair_a_of[N_ITEMS], pair_b_of[N_ITEMS];
    uint64_t produced, delivered, failed, kinds[RS_GEN__KIND_COUNT];
    uint64_t expect_dlq[RS_REJ__COUNT];
    e2e_dlq_t dlq;
    /* recommendations read back */
    o_rec_t *recs;
    rs_codec_t *codec;
    uint64_t rec_total, rec_errors;
} ctx_t;

static ctx_t *ctx_new(void) {
    ctx_t *c = rs_xcalloc(1, sizeof(*c));
    c->recs = rs_xcalloc(N_USERS, sizeof(*c->recs));
    for (int i = 0; i < N_ITEMS; i++) c->pair_a_of[i] = c->pair_b_of[i] = -1;
    return c;
}

static void ctx_free(ctx_t *c) {
    rs_state_close(c->st);
    rs_codec_destroy(c->codec);
    rs_gen_destroy(c->gen);
    rs_mock_destroy(c->mock);
    rs_conf_destroy(c->conf);
    e2e_rmtree(c->dir);
    e2e_dlq_free(&c->dlq);
    or_free(&c->o);
    free(c->recs);
    free(c);
}

static void on_dr(void *opaque, void *msg_opaque, int err, const char *errstr) {
    ctx_t *c = opaque;
    if (err) {
        if (c->failed++ < 5) fprintf(stderr, "  delivery failed: %s\n", errstr);
    } else {
        c->delivered++;
    }
}

static void cluster_setup(ctx_t *c, int ev_parts) {
    char err[256];
    ASSERT_OK(rs_mock_new(&c->mock, 1, err, sizeof(err)));
    ASSERT_OK(rs_mock_topic_create(c->mock, "events", ev_parts));
    ASSERT_OK(rs_mock_topic_create(c->mock, "recommendations", REC_PARTS));
    ASSERT_OK(rs_mock_topic_create(c->mock, "dlq", 1));
    c->dir = e2e_tmpdir("rs-e2e");
    ASSERT(c->dir != NULL);
    c->conf = e2e_conf(c->mock, c->dir);
    ASSERT(c->conf != NULL);
    or_init(&c->o, c->conf, N_USERS, N_ITEMS);
    c->o.pair_b_of = c->pair_b_of;
}

/* Generates, encodes (as rs_feed.c does) and produces N_EVENTS records,
 * feeding the oracle; every record must be delivered. */
static void produce_known_set(ctx_t *c) {
    char err[256];
    rs_gen_opts_t go;
    rs_gen_opts_default(&go);
    go.seed = rs_test_seed();
    go.users = N_USERS;
    go.items = N_ITEMS;
    go.pairs = N_PAIRS;
    go.dup_rate = 0.02;
    go.late_rate = 0.02;
    go.bad_rate = 0.01;
    c->gen = rs_gen_new(&go);
    ASSERT(c->gen != NULL);
    for (uint32_t k = 0; k < rs_gen_pair_count(c->gen); k++) {
        const char *a, *b;
        rs_gen_pair(c->gen, k, &a, &b);
        uint32_t ia = or_id_num(a, strlen(a), 'i'), ib = or_id_num(b, strlen(b), 'i');
        ASSERT(ia < N_ITEMS && ib < N_ITEMS);
        c->pair_a_of[ia] = (int32_t)k;
        c->pair_b_of[ib] = (int32_t)k;
    }

    e2e_kv_t kv = e2e_client_kv(c->mock, 1);
    rs_producer_t *p = NULL;
    rs_codec_t *codec = NULL;
    rs_buf_t buf = {0};
    unsigned char garbage[256];
    ASSERT_OK(rs_producer_new(&p, kv.kv, kv.n, on_dr, c, err, sizeof(err)));
    if (rs_codec_new(&codec, err, sizeof(err))) {
        rs_producer_destroy(p);
        ASSERT(!"codec");
    }
    int bad_encode = 0, bad_id = 0, send_err = 0;
    for (uint64_t i = 0; i < N_EVENTS; i++) {
        rs_gen_kind_t kind;
        const rs_event_t *ev = rs_gen_next(c->gen, &kind);
        const void *val;
        size_t vlen;
        rs_buf_reset(&buf);
        if (kind == RS_GEN_BAD_GARBAGE) {
            vlen = rs_gen_garbage(c->gen, garbage, sizeof(garbage));
            val = garbage;
        } else {
            /* Avro cannot carry a missing item or an unknown type symbol */
            int json =
                kind == RS_GEN_BAD_MISSING || kind == RS_GEN_BAD_TYPE || (int)(i % 100) < JSON_PCT;
            if (rs_codec_encode_event(codec, ev, json ? RS_FMT_JSON : RS_FMT_CONFLUENT, 1, &buf)) {
                bad_encode++;
                break;
            }
            val = buf.p;
            vlen = buf.len;
        }
        c->kinds[kind]++;
        uint32_t uid = or_id_num(ev->user_id.p, ev->user_id.len, 'u');
        if (uid >= N_USERS) {
            bad_id++;
            break;
        }
        if (kind == RS_GEN_OK || kind == RS_GEN_LATE) {
            uint32_t iid = or_id_num(ev->item_id.p, ev->item_id.len, 'i');
            if (iid >= N_ITEMS) {
                bad_id++;
                break;
            }
            or_apply(&c->o, ev, uid, iid);
        } else if (kind != RS_GEN_DUP) {
            rs_reject_t r = e2e_reason_of(kind);
            c->expect_dlq[r]++;
            e2e_dlq_add(&c->dlq, val, vlen, ev->user_id.p, ev->user_id.len, r);
        }
        char ts[24];
        int tl = snprintf(ts, sizeof(ts), "%" PRId64, rs_now_us());
        rs_header_t h = {"rs-ts-us", ts, (size_t)tl};
        int rc;
        for (;;) {
            rc = rs_producer_send(p, "events", -1, ev->user_id.p, ev->user_id.len, val, vlen, &h, 1,
                                  NULL);
            if (rc != RS_EFULL) break;
            rs_producer_flush(p, 10);
        }
        if (rc) {
            send_err++;
            break;
        }
        c->produced++;
        if ((i & 1023) == 0) rs_producer_poll(p);
    }
    int frc = rs_producer_flush(p, 60000);
    rs_producer_destroy(p);
    rs_codec_destroy(codec);
    rs_buf_free(&buf);
    ASSERT_EQ(bad_encode, 0);
    ASSERT_EQ(bad_id, 0);
    ASSERT_EQ(send_err, 0);
    ASSERT_OK(frc);
    ASSERT_EQ(c->produced, N_EVENTS);
    ASSERT_EQ(c->failed, 0);
    ASSERT_EQ(c->delivered, c->produced);
    e2e_dlq_index(&c->dlq);
}

/* Runs the real daemon in-process until every record was consumed. */
static void run_daemon(ctx_t *c) {
    char err[512];
    rs_daemon_t *d = NULL;
    rs_daemon_opts_t opts = {.stop_after_events = c->produced, .no_signals = 1};
    ASSERT_OK(rs_daemon_new(&d, c->conf, &opts, err, sizeof(err)));
    e2e_watchdog_t wd;
    e2e_watchdog_start(&wd, d, WATCHDOG_S);
    int rc = rs_daemon_run(d);
    int fired = e2e_watchdog_stop(&wd);
    c->stats = *rs_daemon_stats(d);
    rs_daemon_destroy(d);
    ASSERT_OK(rc);
    ASSERT_EQ(fired, 0);
}

/* Reads `events` back: per-partition record counts and where each invalid
 * record landed (for the DLQ's rs-source-* headers). */
static void read_events(ctx_t *c, int parts) {
    e2e_kv_t kv = e2e_client_kv(c->mock, 0);
    int64_t n =
        e2e_read_topic(&kv, "events", parts, c->produced, 30000, 300, e2e_dlq_on_source, &c->dlq);
    ASSERT_EQ(n, c->produced);
    ASSERT_EQ(c->dlq.errors, 0);
    int64_t sum = 0;
    for (int p = 0; p < parts; p++) sum += c->dlq.n_off[p];
    ASSERT_EQ(sum, c->produced);
    size_t not_found = 0;
    for (size_t i = 0; i < c->dlq.n; i++) not_found += c->dlq.bad[i].seen_src != 1;
    ASSERT_EQ(not_found, 0);
}

/* Reads the DLQ: exactly the invalid records, each once, as produced. */
static void check_dlq(ctx_t *c) {
    e2e_kv_t kv = e2e_client_kv(c->mock, 0);
    int64_t n = e2e_read_topic(&kv, "dlq", 1, c->dlq.n, 30000, 500, e2e_dlq_on_dlq, &c->dlq);
    ASSERT_EQ(n, c->dlq.n);
    ASSERT_EQ(c->dlq.errors, 0);
    size_t not_once = 0;
    for (size_t i = 0; i < c->dlq.n; i++) not_once += c->dlq.bad[i].seen_dlq != 1;
    ASSERT_EQ(not_once, 0);
    for (int r = 0; r < RS_REJ__COUNT; r++) ASSERT_EQ(c->dlq.per_reason[r], c->expect_dlq[r]);
}

static void on_rec(void *opaque, const rs_msg_t *m) {
    ctx_t *c = opaque;
    char err[256];
    rs_rec_t rec;
    int fmt = c->conf->output_format == RS_FMT_AUTO ? RS_FMT_AVRO : c->conf->output_format;
    c->rec_total++;
    const char *why = NULL;
    uint32_t uid = UINT32_MAX;
    if (rs_codec_decode_rec(c->codec, m->payload, m->len, (rs_format_t)fmt, &rec, err,
                            sizeof(err))) {
        why = err;
    } else if ((uid = or_id_num(rec.user_id.p, rec.user_id.len, 'u')) >= N_USERS) {
        why = "unknown user id";
    } else if (m->key_len != rec.user_id.len || memcmp(m->key, rec.user_id.p, m->key_len)) {
        why = "key is not the user id";
    } else if (rec.version != c->recs[uid].version + 1) {
        why = "version is not the previous one + 1";
    } else if (rec.n_items > (uint32_t)c->conf->rec_k || rec.n_items > MAX_REC_K) {
        why = "more than rec.k items";
    } else {
        o_rec_t *r = &c->recs[uid];
        r->version = rec.version;
        r->lists++;
        r->n = rec.n_items;
        for (uint32_t i = 0; i < rec.n_items && !why; i++) {
            r->items[i] = or_id_num(rec.items[i].item_id.p, rec.items[i].item_id.len, 'i');
            if (r->items[i] >= N_ITEMS) why = "unknown item id";
            for (uint32_t j = 0; j < i && !why; j++)
                if (r->items[j] == r->items[i]) why = "item listed twice";
            if (!why && !rec.items[i].reason.len) why = "empty reason";
        }
    }
    if (why) {
        if (c->rec_errors < 10)
            fprintf(stderr, "  recommendations [%d] @%" PRId64 ": %s\n", m->partition, m->offset,
                    why);
        c->rec_errors++;
    }
}

static void read_recs(ctx_t *c, uint64_t expect) {
    char err[256];
    ASSERT_OK(rs_codec_new(&c->codec, err, sizeof(err)));
    e2e_kv_t kv = e2e_client_kv(c->mock, 0);
    int64_t n = e2e_read_topic(&kv, "recommendations", REC_PARTS, expect, 30000, 500, on_rec, c);
    ASSERT_EQ(n, expect);
    ASSERT_EQ(c->rec_errors, 0);
}

static int str_is(const char *p, size_t len, const char *s) {
    return strlen(s) == len && !memcmp(p, s, len);
}

/* Reopens the state read-only; every user, item and offset vs the oracle. */
static void check_state(ctx_t *c, int parts) {
    char err[512], id[32];
    ASSERT_OK(rs_state_open_ro(&c->st, c->conf, err, sizeof(err)));
    int64_t sum = 0;
    for (int p = 0; p < parts; p++) {
        int64_t off = rs_state_offset(c->st, "events", p);
        ASSERT_EQ(off, c->dlq.n_off[p]);
        sum += off;
    }
    ASSERT_EQ(sum, c->produced);

    uint64_t users = 0, items = 0, mismatch = 0;
    for (uint32_t i = 0; i < N_USERS; i++) {
        const or_user_t *o = &c->o.users[i];
        int l = snprintf(id, sizeof(id), "u%u", i);
        rs_user_t *u = rs_state_user_get(c->st, id, (size_t)l);
        if (!o->applied) {
            ASSERT(u == NULL);
            continue;
        }
        users++;
        ASSERT(u != NULL);
        for (int t = 0; t < RS_EV__COUNT; t++) ASSERT_EQ(u->counts[t], o->counts[t]);
        ASSERT_EQ(u->first_ts, o->first);
        ASSERT_EQ(u->last_ts, o->last);
        ASSERT_EQ(u->sessions, o->sessions);
        ASSERT_EQ(u->purchases, o->purchases);
        ASSERT_NEAR(u->monetary, o->money, 1e-6 * (1 + o->money));
        /* the list read back last is the one the profile's bookkeeping knows */
        ASSERT_EQ(u->rec_version, c->recs[i].version);
        ASSERT(u->n_recent > 0);
        rs_item_t *last = rs_state_item_by_idx(c->st, u->recent[0].item);
        ASSERT(last != NULL);
        if (or_id_num(last->id, last->id_len, 'i') != o->last_item) mismatch++;
        /* the latest list never holds an item the user saw or bought */
        const o_rec_t *r = &c->recs[i];
        for (uint32_t k = 0; k < r->n; k++) {
            snprintf(id, sizeof(id), "i%u", r->items[k]);
            for (int j = 0; j < u->n_recent; j++) {
                rs_item_t *it = rs_state_item_by_idx(c->st, u->recent[j].item);
                ASSERT(!str_is(it->id, it->id_len, id));
            }
            for (int j = 0; j < u->n_purchased; j++) {
                rs_item_t *it = rs_state_item_by_idx(c->st, u->purchased[j]);
                ASSERT(!str_is(it->id, it->id_len, id));
            }
        }
    }
    ASSERT_EQ(mismatch, 0);
    for (uint32_t i = 0; i < N_ITEMS; i++) {
        const or_item_t *o = &c->o.items[i];
        int l = snprintf(id, sizeof(id), "i%u", i);
        rs_item_t *it = rs_state_item_get(c->st, id, (size_t)l);
        if (!o->applied) {
            ASSERT(it == NULL);
            continue;
        }
        items++;
        ASSERT(it != NULL);
        for (int t = 0; t < RS_EV__COUNT; t++) ASSERT_EQ(it->counts[t], o->counts[t]);
        ASSERT_EQ(it->first_ts, o->first);
        ASSERT_EQ(it->last_ts, o->last);
        ASSERT_EQ(it->weight, o->weight);
    }
    ASSERT_EQ(rs_state_item_count(c->st), items);
    /* every user with an applied event got at least one list */
    uint64_t with_list = 0;
    for (uint32_t i = 0; i < N_USERS; i++) with_list += c->recs[i].lists > 0;
    ASSERT_EQ(with_list, users);
    printf("  state: %" PRIu64 " users, %" PRIu64 " items, %" PRIu64
           " co-occurrence entries; all fields equal the oracle\n",
           users, items, rs_state_cooc_entries(c->st));
}

/* RS_E2E_DEBUG: why a user who just touched a did not get b. */
static void print_miss(ctx_t *c, uint32_t i, uint32_t ib) {
    const or_user_t *u = &c->o.users[i];
    char id[32];
    int l = snprintf(id, sizeof(id), "u%u", i);
    rs_user_t *su = rs_state_user_get(c->st, id, (size_t)l);
    fprintf(stderr,
            "  miss u%u: last %s i%u, pair b i%u, v%" PRId64 ", applied %" PRIu64 "\n   recent:", i,
            rs_evtype_name((rs_evtype_t)u->last_type), u->last_item, ib, c->recs[i].version,
            u->applied);
    for (int j = 0; j < su->n_recent && j < 10; j++) {
        rs_item_t *it = rs_state_item_by_idx(c->st, su->recent[j].item);
        fprintf(stderr, " %.*s/%s", (int)it->id_len, it->id,
                rs_evtype_name((rs_evtype_t)su->recent[j].type));
    }
    fprintf(stderr, "\n   list:");
    for (uint32_t j = 0; j < c->recs[i].n; j++) fprintf(stderr, " i%u", c->recs[i].items[j]);
    rs_item_t *ia = rs_state_item_by_idx(c->st, su->recent[0].item);
    uint32_t nn;
    const rs_nbr_t *nb = rs_state_item_top(c->st, ia, &nn);
    fprintf(stderr, "\n   top of a (final):");
    for (uint32_t j = 0; j < nn && j < 12; j++) {
        rs_item_t *it = rs_state_item_by_idx(c->st, nb[j].item);
        fprintf(stderr, " %.*s:%.3f", (int)it->id_len, it->id, (double)nb[j].sim);
    }
    fprintf(stderr, "\n   ts to end %.1f s; rescored now:",
            (double)(rs_state_event_now(c->st) - u->last) / 1000);
    rs_scorer_t *sc = rs_scorer_new(c->conf);
    rs_scored_t out[10];
    const char *strat;
    size_t n = rs_score_user(sc, c->st, su, out, 10, &strat);
    for (size_t j = 0; j < n; j++) {
        rs_item_t *it = rs_state_item_by_idx(c->st, out[j].item);
        fprintf(stderr, " %.*s:%.3f", (int)it->id_len, it->id, (double)out[j].score);
    }
    rs_scorer_destroy(sc);
    fprintf(stderr, "\n");
}

/* Planted bought-together pairs in the neighbours and in the lists. */
static void check_pairs(ctx_t *c) {
    uint32_t np = rs_gen_pair_count(c->gen), found = 0;
    for (uint32_t k = 0; k < np; k++) {
        const char *a, *b;
        rs_gen_pair(c->gen, k, &a, &b);
        rs_item_t *ia = rs_state_item_get(c->st, a, strlen(a));
        rs_item_t *ib = rs_state_item_get(c->st, b, strlen(b));
        if (!ia || !ib) continue;
        uint32_t nn;
        const rs_nbr_t *nb = rs_state_item_top(c->st, ia, &nn);
        for (uint32_t j = 0; j < nn && j < 10; j++)
            if (nb[j].item == ib->idx) {
                found++;
                break;
            }
    }
    /* users whose most recent event was a view/cart/purchase of a pair's a,
     * who never touched its b: b should be among their latest list */
    uint32_t eligible = 0, hit = 0;
    for (uint32_t i = 0; i < N_USERS; i++) {
        const or_user_t *u = &c->o.users[i];
        if (!u->applied || c->pair_a_of[u->last_item] < 0) continue;
        if (u->last_type != RS_EV_VIEW && u->last_type != RS_EV_CART &&
            u->last_type != RS_EV_PURCHASE)
            continue;
        int32_t k = c->pair_a_of[u->last_item];
        if (u->pair_b & (UINT64_C(1) << k)) continue;
        const char *b;
        rs_gen_pair(c->gen, (uint32_t)k, NULL, &b);
        uint32_t ib = or_id_num(b, strlen(b), 'i');
        eligible++;
        int got = 0;
        for (uint32_t j = 0; j < c->recs[i].n; j++)
            if (c->recs[i].items[j] == ib) {
                hit++;
                got = 1;
                break;
            }
        if (!got && getenv("RS_E2E_DEBUG")) print_miss(c, i, ib);
    }
    printf("  planted pairs: %u of %u with b in a's top-10 neighbours; b recommended to %u of %u"
           " eligible users (%.1f%%)\n",
           found, np, hit, eligible, eligible ? 100.0 * hit / eligible : 0.0);
    ASSERT(found * 10 >= np * 9);
    ASSERT(eligible > 0);
    ASSERT(hit * 100 >= eligible * PAIR_LIST_MIN_PCT);
}

TEST(known_set) {
    ctx_t *c = ctx_new();
    int64_t t0 = rs_mono_us(), t;
    cluster_setup(c, EV_PARTS);
    if (!rs_test_failed_) produce_known_set(c);
    if (rs_test_failed_) goto done;
    printf("  produced %" PRIu64 " records in %.2f s: %" PRIu64 " ok, %" PRIu64 " dup, %" PRIu64
           " late, %" PRIu64 " invalid (garbage %" PRIu64 ", missing %" PRIu64 ", negprice %" PRIu64
           ", type %" PRIu64 ", future %" PRIu64 ", oversize %" PRIu64 ")\n",
           c->produced, secs_since(t0), c->kinds[RS_GEN_OK], c->kinds[RS_GEN_DUP],
           c->kinds[RS_GEN_LATE], (uint64_t)c->dlq.n, c->kinds[RS_GEN_BAD_GARBAGE],
           c->kinds[RS_GEN_BAD_MISSING], c->kinds[RS_GEN_BAD_NEGPRICE], c->kinds[RS_GEN_BAD_TYPE],
           c->kinds[RS_GEN_BAD_FUTURE], c->kinds[RS_GEN_BAD_OVERSIZE]);

    t = rs_mono_us();
    run_daemon(c);
    if (rs_test_failed_) goto done;
    const rs_stats_t *s = &c->stats;
    printf("  daemon: %.2f s (incl. group join); in %" PRIu64 ", applied %" PRIu64
           ", duplicates %" PRIu64 ", late %" PRIu64 ", lists emitted %" PRIu64 ", batches %" PRIu64
           "\n",
           secs_since(t), s->events_in, s->events_applied, s->events_duplicate, s->events_late,
           s->recs_emitted, s->batches);
    printf("  dlq:");
    for (int r = 1; r < RS_REJ__COUNT; r++)
        if (c->expect_dlq[r] || s->dlq[r])
            printf(" %s %" PRIu64 "/%" PRIu64, rs_reject_name((rs_reject_t)r), s->dlq[r],
                   c->expect_dlq[r]);
    printf(" (daemon/oracle)\n");
    ASSERT_EQ(s->events_in, c->produced);
    ASSERT_EQ(s->events_duplicate, c->kinds[RS_GEN_DUP]);
    ASSERT_EQ(s->events_applied, c->kinds[RS_GEN_OK] + c->kinds[RS_GEN_LATE]);
    ASSERT_EQ(s->events_applied, c->o.applied);
    ASSERT_EQ(s->events_late, c->o.late);
    for (int r = 0; r < RS_REJ__COUNT; r++) ASSERT_EQ(s->dlq[r], c->expect_dlq[r]);
    ASSERT_EQ(s->dlq_produce_errors, 0);
    ASSERT_EQ(s->recs_produce_errors, 0);
    ASSERT_EQ(s->commit_errors, 0);

    t = rs_mono_us();
    read_events(c, EV_PARTS);
    if (rs_test_failed_) goto done;
    check_dlq(c);
    if (rs_test_failed_) goto done;
    read_recs(c, s->recs_emitted);
    if (rs_test_failed_) goto done;
    printf("  read back events, dlq (%zu) and recommendations (%" PRIu64 ") in %.2f s\n", c->dlq.n,
           c->rec_total, secs_since(t));
    t = rs_mono_us();
    check_state(c, EV_PARTS);
    if (rs_test_failed_) goto done;
    check_pairs(c);
    printf("  checks %.2f s; total %.2f s\n", secs_since(t), secs_since(t0));
done:
    ctx_free(c);
}

/* ------------------------------------------------------------ poison pill */

#define N_POISON     1000
#define POISON_PARTS 4

TEST(poison_pill) {
    ctx_t *c = ctx_new();
    int64_t t0 = rs_mono_us();
    char err[256];
    cluster_setup(c, POISON_PARTS);
    if (rs_test_failed_) goto done;
    rs_gen_opts_t go;
    rs_gen_opts_default(&go);
    go.seed = rs_test_seed();
    go.users = 100;
    go.items = 100;
    go.pairs = 1;
    c->gen = rs_gen_new(&go);
    rs_producer_t *p = NULL;
    e2e_kv_t kv = e2e_client_kv(c->mock, 1);
    if (rs_producer_new(&p, kv.kv, kv.n, on_dr, c, err, sizeof(err))) {
        fprintf(stderr, "  %s\n", err);
        ASSERT(!"producer");
    }
    int send_err = 0;
    for (int i = 0; i < N_POISON; i++) {
        unsigned char g[256];
        char key[16];
        size_t n = rs_gen_garbage(c->gen, g, sizeof(g));
        int kl = snprintf(key, sizeof(key), "k%d", i);
        e2e_dlq_add(&c->dlq, g, n, key, (size_t)kl, RS_REJ_MALFORMED);
        if (rs_producer_send(p, "events", -1, key, (size_t)kl, g, n, NULL, 0, NULL))
            send_err++;
        else
            c->produced++;
    }
    int frc = rs_producer_flush(p, 30000);
    rs_producer_destroy(p);
    ASSERT_EQ(send_err, 0);
    ASSERT_OK(frc);
    ASSERT_EQ(c->delivered, N_POISON);
    c->expect_dlq[RS_REJ_MALFORMED] = N_POISON;
    e2e_dlq_index(&c->dlq);

    run_daemon(c);
    if (rs_test_failed_) goto done;
    const rs_stats_t *s = &c->stats;
    ASSERT_EQ(s->events_in, N_POISON);
    ASSERT_EQ(s->events_applied, 0);
    ASSERT_EQ(s->events_duplicate, 0);
    for (int r = 0; r < RS_REJ__COUNT; r++) ASSERT_EQ(s->dlq[r], c->expect_dlq[r]);
    ASSERT_EQ(s->recs_emitted, 0);
    ASSERT_EQ(s->dlq_produce_errors, 0);

    read_events(c, POISON_PARTS);
    if (rs_test_failed_) goto done;
    check_dlq(c);
    if (rs_test_failed_) goto done;
    read_recs(c, 0);
    if (rs_test_failed_) goto done;
    ASSERT_EQ(c->rec_total, 0);
    ASSERT_OK(rs_state_open_ro(&c->st, c->conf, err, sizeof(err)));
    int64_t sum = 0;
    for (int i = 0; i < POISON_PARTS; i++) {
        ASSERT(c->dlq.n_off[i] > 0);
        ASSERT_EQ(rs_state_offset(c->st, "events", i), c->dlq.n_off[i]);
        sum += c->dlq.n_off[i];
    }
    ASSERT_EQ(sum, N_POISON);
    ASSERT_EQ(rs_state_item_count(c->st), 0);
    printf("  poison pill: %d records -> %" PRIu64 " malformed in the DLQ, offsets at the end, "
           "%.2f s\n",
           N_POISON, s->dlq[RS_REJ_MALFORMED], secs_since(t0));
done:
    ctx_free(c);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    rs_log_level = RS_LOG_WARN; /* the daemon's per-partition info lines are noise here */
    return RUN_TESTS(t_known_set, t_poison_pill);
}
