/* kafka_oracle.h -- the exact-state oracle of the real-broker tests
 * (tests/kafka): it replays the generator the feed used through the shared
 * oracle (tests/oracle.h: per user and per item, what the daemon must have
 * stored); ko_check_dump compares a
 * `state dump` with it entry by entry, and ko_recs_* read the output topics
 * back (decoded with the published schema file through Avro C, and with
 * rs_codec; versions 1, 2, 3... per user, so a lost or repeated list shows).
 *
 * Include after rs_test.h and kafka_util.h: ko_check_dump and ko_recs_open
 * use ASSERT and return from the calling TEST's helper on a difference.
 * Everything is static and single-threaded. */
#ifndef RS_KAFKA_ORACLE_H
#define RS_KAFKA_ORACLE_H

#include <avro.h>

#include "kafka_util.h"
#include "oracle.h"
#include "recstream/rs_conf.h"

/* ------------------------------------------------------------ oracle */

typedef struct ko_oracle {
    rs_conf_t *conf;  /* defaults: what `recstream run` uses without -X */
    or_oracle_t base; /* users, items, applied, late (tests/oracle.h) */
    uint64_t kinds[RS_GEN__KIND_COUNT], bad, bad_ids;
} ko_oracle_t;

static inline rs_err_t ko_init(ko_oracle_t *o, uint32_t n_users, uint32_t n_items) {
    char err[256];
    memset(o, 0, sizeof(*o));
    o->conf = rs_conf_new();
    rs_err_t rc = rs_conf_check(o->conf, err, sizeof(err));
    if (rc) fprintf(stderr, "  conf: %s\n", err);
    or_init(&o->base, o->conf, n_users, n_items);
    return rc;
}

static inline void ko_free(ko_oracle_t *o) {
    or_free(&o->base);
    rs_conf_destroy(o->conf);
    memset(o, 0, sizeof(*o));
}

/* Replays the generator the feed used: n records, same options. */
static inline void ko_run(ko_oracle_t *o, const rs_gen_opts_t *go, uint64_t n) {
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
        uint32_t uid = or_id_num(ev->user_id.p, ev->user_id.len, 'u');
        uint32_t iid = or_id_num(ev->item_id.p, ev->item_id.len, 'i');
        if (uid >= o->base.n_users || iid >= o->base.n_items) {
            o->bad_ids++;
            continue;
        }
        or_apply(&o->base, ev, uid, iid);
    }
    rs_gen_destroy(g);
}

/* The daemon's final statistics against the oracle: n records read. */
static inline void ko_check_stats(const ko_oracle_t *o, const ku_stats_t *s, uint64_t n) {
    ASSERT_EQ((uint64_t)s->events, n);
    ASSERT_EQ((uint64_t)s->applied, o->base.applied);
    ASSERT_EQ((uint64_t)s->duplicates, o->kinds[RS_GEN_DUP]);
    ASSERT_EQ((uint64_t)s->late, o->base.late);
    ASSERT_EQ((uint64_t)s->dlq, o->bad);
}

/* Every user and item of the dump against the oracle; the stored offsets
 * (parts partitions of t_events) must add up to n. */
static inline void ko_check_dump(const ko_oracle_t *o, const ku_dump_t *d, const char *t_events,
                                 int parts, uint64_t n) {
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
            uint32_t id = or_id_num(e->key, strlen(e->key), 'u');
            const or_user_t *u = id < o->base.n_users ? &o->base.users[id] : NULL;
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
            uint32_t id = or_id_num(e->key, strlen(e->key), 'i');
            const or_item_t *it = id < o->base.n_items ? &o->base.items[id] : NULL;
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
    for (uint32_t i = 0; i < o->base.n_users; i++) o_users += o->base.users[i].applied > 0;
    for (uint32_t i = 0; i < o->base.n_items; i++) o_items += o->base.items[i].applied > 0;
    printf("  state: %" PRIu64 " users, %" PRIu64 " items (oracle %" PRIu64 ", %" PRIu64
           "), %" PRIu64 " offsets summing to %" PRId64 "; %" PRIu64 " entries differ\n",
           users, items, o_users, o_items, offs, off_sum, bad);
    ASSERT_EQ(d->unknown, 0);
    ASSERT_EQ(bad, 0);
    ASSERT_EQ(users, o_users);
    ASSERT_EQ(items, o_items);
    ASSERT_EQ(offs, (uint64_t)parts);
    ASSERT_EQ(off_sum, (int64_t)n);
}

/* ------------------------------------------------------------ read-back */

typedef struct ko_recs {
    ko_oracle_t *o;
    rs_codec_t *codec;
    avro_schema_t schema;
    avro_value_iface_t *iface;
    avro_value_t val;
    uint64_t total, errors, dlq;
} ko_recs_t;

/* Loads $RS_SRC/schemas/recommendation.avsc and a codec. */
static inline void ko_recs_open(ko_recs_t *rc, ko_oracle_t *o) {
    char path[700], err[256];
    memset(rc, 0, sizeof(*rc));
    rc->o = o;
    const char *src = getenv("RS_SRC");
    snprintf(path, sizeof(path), "%s/schemas/recommendation.avsc", src ? src : ".");
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
}

static inline void ko_recs_close(ko_recs_t *rc) {
    if (rc->iface) avro_value_decref(&rc->val), avro_value_iface_decref(rc->iface);
    if (rc->schema) avro_schema_decref(rc->schema);
    rs_codec_destroy(rc->codec);
    memset(rc, 0, sizeof(*rc));
}

/* One `recommendations` record (a ku_rec_fn_t): decoded with the published
 * schema and with rs_codec, checked against the other decode and the
 * per-user versions. */
static inline void ko_on_rec(void *opaque, int32_t part, int64_t off, const char *key, size_t klen,
                             const unsigned char *v, size_t vlen) {
    ko_recs_t *c = opaque;
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
    else if (!why && (uid = or_id_num(rec.user_id.p, rec.user_id.len, 'u')) >= c->o->base.n_users)
        why = "unknown user";
    else if (!why && (klen != rec.user_id.len || memcmp(key, rec.user_id.p, klen)))
        why = "key is not the user id";
    else if (!why && rec.version != c->o->base.users[uid].rec_version + 1)
        why = "version is not the previous one + 1";
    if (!why) c->o->base.users[uid].rec_version = rec.version;
    if (why && c->errors++ < 10)
        fprintf(stderr, "  recommendations [%d] @%" PRId64 ": %s\n", part, off, why);
}

static inline void ko_on_dlq(void *opaque, int32_t part, int64_t off, const char *key, size_t klen,
                             const unsigned char *v, size_t vlen) {
    ((ko_recs_t *)opaque)->dlq++;
}

/* Reads t_recs and t_dlq back with kcat (kcat_args: extra kcat options, e.g.
 * SASL; may be NULL) and asserts: every list decodes and versions run 1, 2,
 * 3... per user, as many lists as the daemon emitted (recs), every user with
 * an applied event has one, and the DLQ holds exactly the malformed records. */
static inline void ko_read_back(ko_recs_t *rc, const char *bootstrap, const char *kcat_args,
                                const char *t_recs, const char *t_dlq, uint64_t recs) {
    int64_t t = su_ms();
    int64_t got = ku_kcat_read_x(bootstrap, kcat_args, t_recs, ko_on_rec, rc);
    int64_t got_dlq = ku_kcat_read_x(bootstrap, kcat_args, t_dlq, ko_on_dlq, rc);
    const ko_oracle_t *o = rc->o;
    uint64_t users = 0, listed = 0;
    for (uint32_t i = 0; i < o->base.n_users; i++)
        if (o->base.users[i].applied) users++, listed += o->base.users[i].rec_version > 0;
    su_log("kcat read %" PRId64 " recommendations (%" PRIu64 " errors; %" PRIu64 " of %" PRIu64
           " users have a list) and %" PRId64 " dead letters in %.1f s",
           got, rc->errors, listed, users, got_dlq, ku_secs(t));
    ASSERT_EQ(got, (int64_t)recs);
    ASSERT_EQ(rc->errors, 0);
    ASSERT_EQ(listed, users);
    ASSERT_EQ(got_dlq, (int64_t)o->bad);
}

/* ------------------------------------------------------------ a test's belongings */

/* What an exact-state test holds; ko_ctx_done frees it however the test
 * ended: a daemon still running (pid > 0) is killed, the scratch dir is
 * kept if the test failed. */
typedef struct ko_ctx {
    ko_oracle_t o;
    ko_recs_t rc;
    ku_dump_t d;
    pid_t pid;
    char *root;
} ko_ctx_t;

static inline void ko_ctx_done(ko_ctx_t *x) {
    if (x->pid > 0) kill(x->pid, SIGKILL), waitpid(x->pid, NULL, 0);
    x->pid = -1;
    ku_dump_free(&x->d);
    ko_recs_close(&x->rc);
    ko_free(&x->o);
    ku_root_done(x->root, rs_test_failed_);
    x->root = NULL;
}

#endif
