/* test_catalog_e2e.c -- the daemon with an item catalog topic, end to end,
 * on librdkafka's mock cluster.
 *
 * Produces N_ITEMS catalog records to `items` (Confluent Avro and JSON, key
 * = item id; some items updated, some tombstoned, some out of stock, two
 * undecodable records) and N_EVENTS JSON events to `events`, with explicit
 * partitions so each partition's record count is known. The daemon runs
 * with topic.items=items until it has consumed every record of both topics
 * (stopped from on_flush; a watchdog stops a stalled run), then the test
 * asserts on the reopened state: every item's category/brand/price/flags,
 * the catalog-only items exist, the view counts add up to the events, and
 * the stored offset of every partition of both topics equals its record
 * count. The DLQ holds exactly the two bad catalog records as "malformed"
 * with rs-source-topic "items". */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e_util.h"
#include "recstream/rs_codec.h"
#include "recstream/rs_daemon.h"
#include "recstream/rs_kafka.h"
#include "recstream/rs_state.h"
#include "rs_test.h"

#define N_ITEMS    200 /* catalog covers i0..i199 */
#define N_EV_ITEMS 150 /* events touch i0..i149 only */
#define N_USERS    60
#define N_EVENTS   3000
#define PARTS      2
#define N_BAD      2
#define WATCHDOG_S 60

typedef struct ctx {
    rs_mock_t *mock;
    char *dir;
    rs_conf_t *conf;
    rs_daemon_t *d;
    int64_t item_recs[PARTS], event_recs[PARTS];
    uint64_t catalog_total, delivered, failed;
    int stop_sent;
    rs_stats_t stats;
    int dlq_seen, dlq_ok;
} ctx_t;

static void on_dr(void *opaque, void *msg_opaque, int err, const char *errstr) {
    ctx_t *c = opaque;
    if (err) {
        if (c->failed++ < 5) fprintf(stderr, "  delivery failed: %s\n", errstr);
    } else {
        c->delivered++;
    }
}

static int produce_one(ctx_t *c, rs_producer_t *p, const char *topic, int32_t part, const char *key,
                       const void *val, size_t vlen) {
    int rc;
    for (;;) {
        rc = rs_producer_send(p, topic, part, key, strlen(key), val, vlen, NULL, 0, NULL);
        if (rc != RS_EFULL) break;
        rs_producer_flush(p, 10);
    }
    if (!rc) {
        if (!strcmp(topic, "items"))
            c->item_recs[part]++, c->catalog_total++;
        else
            c->event_recs[part]++;
    }
    return rc;
}

/* What item k looks like after its records (see produce). */
static int is_updated(int k) {
    return k % 20 == 7;
}
static int is_deleted(int k) {
    return k % 25 == 11;
}
static int is_out_of_stock(int k) {
    return k % 10 == 3;
}

static void produce(ctx_t *c) {
    char err[256], key[32], cat[32], brand[32], attrs[64];
    e2e_kv_t kv = e2e_client_kv(c->mock, 1);
    rs_producer_t *p = NULL;
    rs_codec_t *codec = NULL;
    rs_buf_t b = {0};
    int rc = 0;
    ASSERT_OK(rs_producer_new(&p, kv.kv, kv.n, on_dr, c, err, sizeof(err)));
    if (rs_codec_new(&codec, err, sizeof(err))) {
        rs_producer_destroy(p);
        ASSERT(!"codec");
    }
    for (int k = 0; k < N_ITEMS && !rc; k++) {
        int32_t part = k % PARTS;
        snprintf(key, sizeof(key), "i%d", k);
        snprintf(cat, sizeof(cat), "c%d", k % 7);
        snprintf(brand, sizeof(brand), "b%d", k % 5);
        snprintf(attrs, sizeof(attrs), "color=red;n=%d", k);
        rs_item_meta_t m = {.item_id = rs_str(key, (uint32_t)strlen(key)),
                            .category = rs_str(cat, (uint32_t)strlen(cat)),
                            .brand = rs_str(brand, (uint32_t)strlen(brand)),
                            .attrs = rs_str(attrs, (uint32_t)strlen(attrs)),
                            .price = k + 0.5,
                            .stock = is_out_of_stock(k) ? 0 : k + 1};
        rs_buf_reset(&b);
        rs_format_t fmt = k % 3 == 0 ? RS_FMT_JSON : RS_FMT_CONFLUENT;
        ASSERT_OK(rs_codec_encode_item(codec, &m, 1700000000000 + k, fmt, 1, &b));
        rc = produce_one(c, p, "items", part, key, b.p, b.len);
        if (!rc && is_updated(k)) { /* moved to another category, stock unknown */
            m.category = rs_str("moved", 5);
            m.stock = -1;
            m.price = -1;
            rs_buf_reset(&b);
            ASSERT_OK(rs_codec_encode_item(codec, &m, -1, RS_FMT_CONFLUENT, 1, &b));
            rc = produce_one(c, p, "items", part, key, b.p, b.len);
        }
        if (!rc && is_deleted(k)) rc = produce_one(c, p, "items", part, key, NULL, 0);
    }
    /* undecodable catalog records, one per partition */
    if (!rc) rc = produce_one(c, p, "items", 0, "junk0", "\x01\x02garbage", 9);
    if (!rc) rc = produce_one(c, p, "items", 1, "junk1", "{not json", 9);

    for (int i = 0; i < N_EVENTS && !rc; i++) {
        int u = (i * 7) % N_USERS, it = (i * 13 + i / N_USERS) % N_EV_ITEMS;
        char json[256];
        snprintf(key, sizeof(key), "u%d", u);
        int n = snprintf(json, sizeof(json),
                         "{\"event_id\":\"e%d\",\"ts_ms\":%" PRId64
                         ",\"user_id\":\"u%d\",\"item_id\":\"i%d\",\"type\":\"view\"}",
                         i, rs_now_ms() - 3600000 + i, u, it);
        rc = produce_one(c, p, "events", u % PARTS, key, json, (size_t)n);
    }
    int frc = rs_producer_flush(p, 30000);
    rs_producer_destroy(p);
    rs_codec_destroy(codec);
    rs_buf_free(&b);
    ASSERT_OK(rc);
    ASSERT_OK(frc);
    ASSERT_EQ(c->failed, 0);
    ASSERT_EQ(c->delivered, c->catalog_total + N_EVENTS);
}

/* Stops the daemon once both topics were consumed completely. */
static void on_flush(void *opaque, const rs_stats_t *s) {
    ctx_t *c = opaque;
    if (!c->stop_sent && s->events_in >= N_EVENTS && s->catalog_records >= c->catalog_total) {
        c->stop_sent = 1;
        rs_daemon_stop_async(c->d);
    }
}

static void on_dlq(void *opaque, const rs_msg_t *m) {
    ctx_t *c = opaque;
    char err[64], topic[64], part[16], off[24];
    c->dlq_seen++;
    e2e_header(m, "rs-error", err, sizeof(err));
    e2e_header(m, "rs-source-topic", topic, sizeof(topic));
    e2e_header(m, "rs-source-partition", part, sizeof(part));
    e2e_header(m, "rs-source-offset", off, sizeof(off));
    /* each bad record is the last of its partition */
    int p = atoi(part);
    if (!strcmp(err, "malformed") && !strcmp(topic, "items") && p >= 0 && p < PARTS &&
        strtoll(off, NULL, 10) == c->item_recs[p] - 1 && m->key_len == 5 &&
        !memcmp(m->key, p ? "junk1" : "junk0", 5))
        c->dlq_ok++;
    else
        fprintf(stderr, "  unexpected DLQ record: %s %s [%s] @%s\n", err, topic, part, off);
}

static const char *name_of(rs_state_t *st, uint32_t ix, char *buf, size_t size) {
    uint32_t len = 0;
    const char *s = rs_state_name(st, ix, &len);
    snprintf(buf, size, "%.*s", (int)len, s ? s : "");
    return buf;
}

static void check_state(ctx_t *c) {
    char err[256], key[32], want[32], got[64];
    rs_state_t *st = NULL;
    ASSERT_OK(rs_state_open_ro(&st, c->conf, err, sizeof(err)));
    int bad = 0;
    uint64_t views = 0;
    for (int k = 0; k < N_ITEMS; k++) {
        snprintf(key, sizeof(key), "i%d", k);
        rs_item_t *it = rs_state_item_get(st, key, strlen(key));
        if (!it) {
            if (bad++ < 5) fprintf(stderr, "  %s missing\n", key);
            continue;
        }
        views += it->counts[RS_EV_VIEW];
        uint8_t flags = is_deleted(k)        ? RS_ITEM_DELETED
                        : is_out_of_stock(k) ? RS_ITEM_OUT_OF_STOCK
                                             : 0;
        if (is_deleted(k))
            want[0] = '\0';
        else if (is_updated(k))
            snprintf(want, sizeof(want), "moved");
        else
            snprintf(want, sizeof(want), "c%d", k % 7);
        name_of(st, it->category, got, sizeof(got));
        int ok = it->flags == flags && !strcmp(got, want);
        if (!is_deleted(k)) {
            char wb[16];
            snprintf(wb, sizeof(wb), "b%d", k % 5);
            ok = ok && !strcmp(name_of(st, it->brand, got, sizeof(got)), wb);
            ok = ok && it->price == k + 0.5; /* the update's null price keeps it */
            char wa[32];
            snprintf(wa, sizeof(wa), "color=red;n=%d", k);
            ok = ok && it->attrs && !strcmp(it->attrs, wa);
        } else {
            ok = ok && it->brand == 0 && !it->attrs;
        }
        if (!ok && bad++ < 5)
            fprintf(stderr, "  %s: flags %u (want %u), category \"%s\" (want \"%s\")\n", key,
                    it->flags, flags, name_of(st, it->category, got, sizeof(got)), want);
    }
    ASSERT_EQ(bad, 0);
    ASSERT_EQ(views, N_EVENTS);
    ASSERT_EQ(rs_state_item_count(st), N_ITEMS);
    ASSERT(rs_state_item_get(st, "junk0", 5) == NULL);
    for (int p = 0; p < PARTS; p++) {
        ASSERT_EQ(rs_state_offset(st, "items", p), c->item_recs[p]);
        ASSERT_EQ(rs_state_offset(st, "events", p), c->event_recs[p]);
    }
    rs_state_close(st);
}

TEST(catalog_end_to_end) {
    char err[512];
    ctx_t c;
    memset(&c, 0, sizeof(c));
    ASSERT_OK(rs_mock_new(&c.mock, 1, err, sizeof(err)));
    ASSERT_OK(rs_mock_topic_create(c.mock, "events", PARTS));
    ASSERT_OK(rs_mock_topic_create(c.mock, "items", PARTS));
    ASSERT_OK(rs_mock_topic_create(c.mock, "recommendations", 1));
    ASSERT_OK(rs_mock_topic_create(c.mock, "dlq", 1));
    c.dir = e2e_tmpdir("rs-catalog-e2e");
    ASSERT(c.dir != NULL);
    c.conf = e2e_conf(c.mock, c.dir);
    ASSERT(c.conf != NULL);
    ASSERT_OK(rs_conf_set(c.conf, "topic.items", "items", "test", err, sizeof(err)));

    produce(&c);
    if (rs_test_failed_) goto out;

    rs_daemon_opts_t opts = {
        .no_signals = 1, .idle_exit_ms = 15000, .on_flush = on_flush, .opaque = &c};
    ASSERT_OK(rs_daemon_new(&c.d, c.conf, &opts, err, sizeof(err)));
    e2e_watchdog_t wd;
    e2e_watchdog_start(&wd, c.d, WATCHDOG_S);
    int rc = rs_daemon_run(c.d);
    int fired = e2e_watchdog_stop(&wd);
    c.stats = *rs_daemon_stats(c.d);
    rs_daemon_destroy(c.d);
    c.d = NULL;
    ASSERT_OK(rc);
    ASSERT_EQ(fired, 0);
    ASSERT_EQ(c.stop_sent, 1);

    ASSERT_EQ(c.stats.events_in, N_EVENTS);
    ASSERT_EQ(c.stats.events_applied, N_EVENTS);
    ASSERT_EQ(c.stats.catalog_records, c.catalog_total);
    ASSERT_EQ(c.stats.catalog_rejected, N_BAD);
    ASSERT_EQ(c.stats.dlq[RS_REJ_MALFORMED], N_BAD);
    check_state(&c);
    if (rs_test_failed_) goto out;

    e2e_kv_t kv = e2e_client_kv(c.mock, 0);
    ASSERT_EQ(e2e_read_topic(&kv, "dlq", 1, N_BAD, 10000, 300, on_dlq, &c), N_BAD);
    ASSERT_EQ(c.dlq_ok, N_BAD);
out:
    rs_conf_destroy(c.conf);
    e2e_rmtree(c.dir);
    rs_mock_destroy(c.mock);
}

int main(void) {
    return RUN_TESTS(t_catalog_end_to_end);
}
