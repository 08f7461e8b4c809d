/* test_conf.c -- the configuration table, loader, -X, dump and reference. */
#include <unistd.h>

#include "recstream/rs_buf.h"
#include "recstream/rs_conf.h"
#include "recstream/rs_event.h"
#include "recstream/rs_log.h"
#include "rs_test.h"

static char tmpdir[256];

/* Writes `text` to a fresh file in the scratch dir; returns its path. */
static const char *write_file(const char *name, const char *text) {
    static char path[512];
    if (!tmpdir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(tmpdir, sizeof(tmpdir), "%s/rs_test_conf_XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(tmpdir)) {
            perror("mkdtemp");
            exit(2);
        }
    }
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(2);
    }
    fputs(text, f);
    fclose(f);
    return path;
}

/* Loads `text` as a file; on error errstr holds the message. */
static rs_err_t load_text(rs_conf_t *conf, const char *text, char *errstr, size_t n,
                          const char **path_out) {
    const char *path = write_file("t.conf", text);
    if (path_out) *path_out = path;
    return rs_conf_load_file(conf, path, errstr, n);
}

static char *capture(rs_conf_t *conf, int reference) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (reference)
        rs_conf_write_reference(f);
    else
        rs_conf_dump(conf, f);
    fclose(f);
    return buf;
}

TEST(defaults) {
    rs_conf_t *c = rs_conf_new();
    ASSERT_STREQ(c->topic_events, "events");
    ASSERT_STREQ(c->topic_recommendations, "recommendations");
    ASSERT_STREQ(c->topic_dlq, "dlq");
    ASSERT_STREQ(c->group_id, "recstream");
    ASSERT_EQ(c->input_format, RS_FMT_AUTO);
    ASSERT_EQ(c->output_format, RS_FMT_AVRO);
    ASSERT_EQ(c->output_schema_id, 1);
    ASSERT_STREQ(c->state_dir, "./state");
    ASSERT_EQ(c->state_sync, 0);
    ASSERT_EQ(c->state_cache_mb, 64);
    ASSERT_EQ(c->state_write_buffer_mb, 16);
    ASSERT_EQ(c->batch_max_events, 100000);
    ASSERT_EQ(c->commit_interval_ms, 1000);
    ASSERT_EQ(c->commit_max_events, 500000);
    ASSERT_EQ(c->dedup_window, 1000000);
    ASSERT_EQ(c->recent_items, 20);
    ASSERT_EQ(c->purchased_max, 50);
    ASSERT_EQ(c->cooc_window_count, 10);
    ASSERT_EQ(c->cooc_window_ms, 30 * 86400000LL);
    ASSERT_EQ(c->cooc_pair_weight, RS_PAIRW_POSITION);
    ASSERT_NEAR(c->rec_alpha, 0.85, 0);
    ASSERT_EQ(c->rec_recency, RS_RECENCY_HARMONIC);
    ASSERT_EQ(c->rec_popular_order, RS_POPORDER_COUNT);
    ASSERT_EQ(c->rec_category_fill, 1);
    ASSERT_EQ(c->weight[RS_EV_VIEW], 1);
    ASSERT_EQ(c->weight[RS_EV_CLICK], 1);
    ASSERT_EQ(c->weight[RS_EV_CART], 3);
    ASSERT_EQ(c->weight[RS_EV_PURCHASE], 5);
    ASSERT_EQ(c->weight[RS_EV_LIKE], 2);
    ASSERT_EQ(c->weight[RS_EV_SHARE], 2);
    ASSERT_EQ(c->weight[RS_EV_REVIEW], 2);
    ASSERT_EQ(c->weight[RS_EV_IMPRESSION], 0);
    ASSERT_EQ(c->rec_k, 10);
    ASSERT_EQ(c->rec_similarity, RS_SIM_COSINE);
    ASSERT_EQ(c->rec_neighbors, 50);
    ASSERT_EQ(c->rec_recent, 10);
    ASSERT(c->rec_recency_decay == 0.8);
    ASSERT_EQ(c->rec_exclude_seen, 1);
    ASSERT_EQ(c->rec_exclude_purchased, 1);
    ASSERT_EQ(c->rec_min_interval_ms, 0);
    ASSERT_EQ(c->rec_popular, 100);
    ASSERT_EQ(c->popularity_halflife_ms, 86400000);
    ASSERT_EQ(c->validate_max_future_ms, 300000);
    ASSERT(c->validate_max_price == 10000000.0);
    ASSERT_EQ(c->validate_max_bytes, 65536);
    ASSERT_EQ(c->validate_max_id_len, 256);
    ASSERT_STREQ(c->http_host, "127.0.0.1");
    ASSERT_EQ(c->http_port, 8080);
    ASSERT_EQ(c->log_level, RS_LOG_INFO);
    ASSERT_EQ(c->kafka_cnt, 0);
    ASSERT(c->kafka == NULL);
    char err[256] = "";
    ASSERT_OK(rs_conf_check(c, err, sizeof(err)));
    rs_conf_destroy(c);
    rs_conf_destroy(NULL);
}

TEST(file_values) {
    rs_conf_t *c = rs_conf_new();
    char err[512] = "";
    ASSERT_OK(load_text(c,
                        "# a comment\n"
                        "\n"
                        "   topic.events = clicks  \n"
                        "group.id=g1\n"
                        "\tinput.format\t=\tconfluent\r\n"
                        "output.format = json\n"
                        "state.dir = /var/lib/x y\n"
                        "cooc.window.ms = 3600000\n"
                        "weight.purchase = 9\n"
                        "weight.impression = 1\n"
                        "rec.similarity = llr\n"
                        "rec.recency.decay = 0.5\n"
                        "validate.max.price = 2.5e3\n"
                        "http.port = 0\n"
                        "log.level = debug\n"
                        "kafka.bootstrap.servers = localhost:9092\n",
                        err, sizeof(err), NULL));
    ASSERT_STREQ(err, "");
    ASSERT_STREQ(c->topic_events, "clicks");
    ASSERT_STREQ(c->group_id, "g1");
    ASSERT_EQ(c->input_format, RS_FMT_CONFLUENT);
    ASSERT_EQ(c->output_format, RS_FMT_JSON);
    ASSERT_STREQ(c->state_dir, "/var/lib/x y");
    ASSERT_EQ(c->cooc_window_ms, 3600000);
    ASSERT_EQ(c->weight[RS_EV_PURCHASE], 9);
    ASSERT_EQ(c->weight[RS_EV_IMPRESSION], 1);
    ASSERT_EQ(c->weight[RS_EV_VIEW], 1);
    ASSERT_EQ(c->rec_similarity, RS_SIM_LLR);
    ASSERT(c->rec_recency_decay == 0.5);
    ASSERT(c->validate_max_price == 2500.0);
    ASSERT_EQ(c->http_port, 0);
    ASSERT_EQ(c->log_level, RS_LOG_DEBUG);
    ASSERT_EQ(c->kafka_cnt, 1);
    ASSERT_STREQ(rs_conf_get_kafka(c, "bootstrap.servers"), "localhost:9092");
    ASSERT(rs_conf_get_kafka(c, "kafka.bootstrap.servers") == NULL);
    /* untouched keys keep their defaults */
    ASSERT_STREQ(c->topic_dlq, "dlq");
    ASSERT_EQ(c->rec_k, 10);
    rs_conf_destroy(c);
}

TEST(unknown_key) {
    rs_conf_t *c = rs_conf_new();
    char err[512], want[700];
    const char *path;
    ASSERT_EQ(load_text(c, "rec.k = 5\n# x\nstat.dir = s\n", err, sizeof(err), &path), RS_ECONF);
    snprintf(want, sizeof(want), "%s:3: unknown key \"stat.dir\" (did you mean \"state.dir\"?)",
             path);
    ASSERT_STREQ(err, want);

    /* nothing close: no suggestion */
    ASSERT_EQ(load_text(c, "zzzz = 1\n", err, sizeof(err), &path), RS_ECONF);
    snprintf(want, sizeof(want), "%s:1: unknown key \"zzzz\"", path);
    ASSERT_STREQ(err, want);

    /* swapped letters */
    ASSERT_EQ(rs_conf_set(c, "rec.simliarity", "llr", "-X", err, sizeof(err)), RS_ECONF);
    ASSERT_STREQ(err, "-X: unknown key \"rec.simliarity\" (did you mean \"rec.similarity\"?)");

    /* a librdkafka property without the prefix */
    ASSERT_EQ(rs_conf_set_kv(c, "bootstrap.servers=b:9092", err, sizeof(err)), RS_ECONF);
    ASSERT_STREQ(err, "-X: unknown key \"bootstrap.servers\" (did you mean "
                      "\"kafka.bootstrap.servers\"? librdkafka properties take the \"kafka.\" "
                      "prefix)");

    ASSERT_EQ(rs_conf_set(c, "kafka.", "x", NULL, err, sizeof(err)), RS_ECONF);
    ASSERT_STREQ(err, "unknown key \"kafka.\" (a librdkafka property name must follow \"kafka.\")");
    ASSERT_EQ(c->kafka_cnt, 0);
    rs_conf_destroy(c);
}

TEST(bad_values) {
    rs_conf_t *c = rs_conf_new();
    char err[512], want[700];
    const char *path;

    ASSERT_EQ(load_text(c, "rec.k = ten\n", err, sizeof(err), &path), RS_ECONF);
    snprintf(want, sizeof(want), "%s:1: rec.k: \"ten\" is not an integer (allowed: 1 .. 1000)",
             path);
    ASSERT_STREQ(err, want);

    ASSERT_EQ(load_text(c, "\nrec.k = 0\n", err, sizeof(err), &path), RS_ECONF);
    snprintf(want, sizeof(want), "%s:2: rec.k: 0 is out of range (allowed: 1 .. 1000)", path);
    ASSERT_STREQ(err, want);

    ASSERT_EQ(load_text(c, "input.format = xml\n", err, sizeof(err), &path), RS_ECONF);
    snprintf(want, sizeof(want),
             "%s:1: input.format: \"xml\" is not a valid value (allowed: auto, json, avro, "
             "confluent)",
             path);
    ASSERT_STREQ(err, want);

    /* auto is an input format only */
    ASSERT_EQ(rs_conf_set(c, "output.format", "auto", "-X", err, sizeof(err)), RS_ECONF);
    ASSERT_STREQ(
        err, "-X: output.format: \"auto\" is not a valid value (allowed: avro, confluent, json)");

    ASSERT_EQ(rs_conf_set(c, "rec.recency.decay", "1.5", "-X", err, sizeof(err)), RS_ECONF);
    ASSERT_STREQ(err, "-X: rec.recency.decay: 1.5 is out of range (allowed: 0 .. 1)");
    ASSERT_EQ(rs_conf_set(c, "rec.recency.decay", "nan", "-X", err, sizeof(err)), RS_ECONF);
    ASSERT_STREQ(err, "-X: rec.recency.decay: \"nan\" is not a number (allowed: 0 .. 1)");

    ASSERT_EQ(rs_conf_set(c, "cooc.window.ms", "99999999999999999999", "-X", err, sizeof(err)),
              RS_ECONF);
    ASSERT_STREQ(err, "-X: cooc.window.ms: 99999999999999999999 is out of range (allowed: 1 .. "
                      "31536000000)");
    ASSERT_EQ(rs_conf_set(c, "http.port", "80x", "-X", err, sizeof(err)), RS_ECONF);
    ASSERT_EQ(rs_conf_set(c, "http.port", "", "-X", err, sizeof(err)), RS_ECONF);
    ASSERT_EQ(rs_conf_set(c, "http.port", "65536", "-X", err, sizeof(err)), RS_ECONF);
    ASSERT_EQ(rs_conf_set(c, "weight.view", "-1", "-X", err, sizeof(err)), RS_ECONF);

    ASSERT_EQ(rs_conf_set(c, "topic.events", "", "-X", err, sizeof(err)), RS_ECONF);
    ASSERT_STREQ(err, "-X: topic.events: value must not be empty");

    ASSERT_EQ(rs_conf_set(c, "state.sync", "maybe", "-X", err, sizeof(err)), RS_ECONF);
    ASSERT_STREQ(err, "-X: state.sync: \"maybe\" is not a boolean (allowed: true, false, yes, no, "
                      "1, 0)");

    /* failed sets leave the values alone */
    ASSERT_EQ(c->rec_k, 10);
    ASSERT_EQ(c->http_port, 8080);
    ASSERT_STREQ(c->topic_events, "events");
    ASSERT_EQ(c->input_format, RS_FMT_AUTO);

    /* edges of ranges are accepted */
    ASSERT_OK(rs_conf_set(c, "http.port", "65535", NULL, err, sizeof(err)));
    ASSERT_OK(rs_conf_set(c, "rec.recency.decay", "0", NULL, err, sizeof(err)));
    ASSERT_OK(rs_conf_set(c, "cooc.window.ms", "31536000000", NULL, err, sizeof(err)));
    ASSERT_EQ(c->http_port, 65535);
    ASSERT(c->rec_recency_decay == 0.0);
    ASSERT_EQ(c->cooc_window_ms, INT64_C(31536000000));
    rs_conf_destroy(c);
}

TEST(bool_forms) {
    rs_conf_t *c = rs_conf_new();
    char err[256];
    static const char *const t[] = {"true", "1", "yes", "TRUE", "Yes"};
    static const char *const f[] = {"false", "0", "no", "False", "NO"};
    for (int i = 0; i < 5; i++) {
        ASSERT_OK(rs_conf_set(c, "state.sync", t[i], NULL, err, sizeof(err)));
        ASSERT_EQ(c->state_sync, 1);
        ASSERT_OK(rs_conf_set(c, "state.sync", f[i], NULL, err, sizeof(err)));
        ASSERT_EQ(c->state_sync, 0);
    }
    ASSERT_OK(rs_conf_set(c, "rec.exclude.seen", "no", NULL, err, sizeof(err)));
    ASSERT_EQ(c->rec_exclude_seen, 0);
    ASSERT_EQ(rs_conf_set(c, "state.sync", "2", NULL, err, sizeof(err)), RS_ECONF);
    ASSERT_EQ(rs_conf_set(c, "state.sync", "on", NULL, err, sizeof(err)), RS_ECONF);
    rs_conf_destroy(c);
}

TEST(syntax_errors) {
    rs_conf_t *c = rs_conf_new();
    char err[512], want[700];
    const char *path;

    ASSERT_EQ(load_text(c, "rec.k = 5\nrec.neighbors 7\n", err, sizeof(err), &path), RS_ECONF);
    snprintf(want, sizeof(want), "%s:2: expected \"key = value\", got \"rec.neighbors 7\"", path);
    ASSERT_STREQ(err, want);

    ASSERT_EQ(load_text(c, "  = 5\n", err, sizeof(err), &path), RS_ECONF);
    snprintf(want, sizeof(want), "%s:1: missing key before '='", path);
    ASSERT_STREQ(err, want);

    ASSERT_EQ(load_text(c, "rec.k = 5\n\nrec.neighbors=7\nrec.k=6\n", err, sizeof(err), &path),
              RS_ECONF);
    snprintf(want, sizeof(want), "%s:4: duplicate key \"rec.k\" (first set on line 1)", path);
    ASSERT_STREQ(err, want);

    ASSERT_EQ(load_text(c, "kafka.acks = 1\nkafka.acks = all\n", err, sizeof(err), &path),
              RS_ECONF);
    snprintf(want, sizeof(want), "%s:2: duplicate key \"kafka.acks\" (first set on line 1)", path);
    ASSERT_STREQ(err, want);

    /* a value may contain '=' (only the first one splits) */
    ASSERT_OK(load_text(c, "kafka.sasl.jaas.config = a=b c=d\n", err, sizeof(err), NULL));
    ASSERT_STREQ(rs_conf_get_kafka(c, "sasl.jaas.config"), "a=b c=d");

    write_file("missing.conf", "");
    snprintf(want, sizeof(want), "%s/no-such.conf", tmpdir);
    ASSERT_EQ(rs_conf_load_file(c, want, err, sizeof(err)), RS_EIO);
    char want2[800];
    snprintf(want2, sizeof(want2), "cannot open config file \"%s\": No such file or directory",
             want);
    ASSERT_STREQ(err, want2);

    ASSERT_EQ(rs_conf_set_kv(c, "rec.k", err, sizeof(err)), RS_ECONF);
    ASSERT_STREQ(err, "-X: expected key=value, got \"rec.k\"");
    ASSERT_EQ(rs_conf_set_kv(c, "=3", err, sizeof(err)), RS_ECONF);
    ASSERT_STREQ(err, "-X: missing key before '=' in \"=3\"");

    /* an empty file is fine */
    ASSERT_OK(load_text(c, "", err, sizeof(err), NULL));
    rs_conf_destroy(c);
}

TEST(override_order) {
    rs_conf_t *c = rs_conf_new();
    char err[512];
    ASSERT_OK(load_text(c,
                        "rec.k = 5\nrec.neighbors = 30\nkafka.client.id = file\n"
                        "kafka.acks = 1\n",
                        err, sizeof(err), NULL));
    ASSERT_EQ(c->rec_k, 5);
    ASSERT_OK(rs_conf_set_kv(c, "rec.k=7", err, sizeof(err)));
    ASSERT_OK(rs_conf_set_kv(c, " rec.k = 8 ", err, sizeof(err)));
    ASSERT_OK(rs_conf_set_kv(c, "kafka.client.id=cli", err, sizeof(err)));
    ASSERT_EQ(c->rec_k, 8);
    ASSERT_EQ(c->rec_neighbors, 30);
    ASSERT_EQ(c->kafka_cnt, 2);
    ASSERT_STREQ(c->kafka[0].key, "client.id");
    ASSERT_STREQ(c->kafka[0].val, "cli");
    ASSERT_STREQ(c->kafka[0].origin, "-X");
    ASSERT_STREQ(c->kafka[1].key, "acks");
    ASSERT_STREQ(c->kafka[1].val, "1");
    ASSERT(strstr(c->kafka[1].origin, "t.conf:4") != NULL);
    rs_conf_destroy(c);
}

TEST(kafka_passthrough) {
    rs_conf_t *c = rs_conf_new();
    char err[512], want[700];
    const char *path;
    ASSERT_OK(load_text(c,
                        "kafka.bootstrap.servers = localhost:9092\n"
                        "# any property, even ones librdkafka will reject later\n"
                        "kafka.no.such.property = whatever\n"
                        "kafka.sasl.password =\n",
                        err, sizeof(err), &path));
    ASSERT_EQ(c->kafka_cnt, 3);
    ASSERT_STREQ(c->kafka[0].key, "bootstrap.servers");
    snprintf(want, sizeof(want), "%s:1", path);
    ASSERT_STREQ(c->kafka[0].origin, want);
    ASSERT_STREQ(c->kafka[1].key, "no.such.property");
    ASSERT_STREQ(c->kafka[1].val, "whatever");
    snprintf(want, sizeof(want), "%s:3", path);
    ASSERT_STREQ(c->kafka[1].origin, want);
    ASSERT_STREQ(rs_conf_get_kafka(c, "sasl.password"), "");

    rs_conf_set_kafka(c, "bootstrap.servers", "b1:9092,b2:9092", "-X");
    rs_conf_set_kafka(c, "linger.ms", "5", NULL);
    ASSERT_EQ(c->kafka_cnt, 4);
    ASSERT_STREQ(rs_conf_get_kafka(c, "bootstrap.servers"), "b1:9092,b2:9092");
    ASSERT_STREQ(c->kafka[0].origin, "-X");
    ASSERT_STREQ(c->kafka[3].key, "linger.ms");
    ASSERT(rs_conf_get_kafka(c, "nope") == NULL);
    rs_conf_destroy(c);
}

TEST(dump_masks_secrets) {
    rs_conf_t *c = rs_conf_new();
    char err[256];
    ASSERT_OK(rs_conf_set(c, "rec.k", "12", NULL, err, sizeof(err)));
    ASSERT_OK(rs_conf_set_kv(c, "kafka.bootstrap.servers=localhost:9092", err, sizeof(err)));
    ASSERT_OK(rs_conf_set_kv(c, "kafka.sasl.username=alice", err, sizeof(err)));
    ASSERT_OK(rs_conf_set_kv(c, "kafka.sasl.password=hunter2", err, sizeof(err)));
    ASSERT_OK(rs_conf_set_kv(c, "kafka.sasl.oauthbearer.config=tok1", err, sizeof(err)));
    ASSERT_OK(rs_conf_set_kv(c, "kafka.sasl.oauthbearer.client.secret=tok2", err, sizeof(err)));
    ASSERT_OK(rs_conf_set_kv(c, "kafka.ssl.key.pem=tok3", err, sizeof(err)));
    ASSERT_OK(rs_conf_set_kv(c, "kafka.ssl.keystore.password=tok4", err, sizeof(err)));
    char *out = capture(c, 0);
    ASSERT(strstr(out, "topic.events = events\n") != NULL);
    ASSERT(strstr(out, "\nrec.k = 12\n") != NULL);
    ASSERT(strstr(out, "\nrec.recency.decay = 0.8\n") != NULL);
    ASSERT(strstr(out, "\nvalidate.max.price = 10000000\n") != NULL);
    ASSERT(strstr(out, "\nstate.sync = false\n") != NULL);
    ASSERT(strstr(out, "\ninput.format = auto\n") != NULL);
    ASSERT(strstr(out, "\nlog.level = info\n") != NULL);
    ASSERT(strstr(out, "\nweight.impression = 0\n") != NULL);
    ASSERT(strstr(out, "\nkafka.bootstrap.servers = localhost:9092\n") != NULL);
    ASSERT(strstr(out, "\nkafka.sasl.username = alice\n") != NULL);
    ASSERT(strstr(out, "\nkafka.sasl.password = ***\n") != NULL);
    ASSERT(strstr(out, "\nkafka.sasl.oauthbearer.config = ***\n") != NULL);
    ASSERT(strstr(out, "\nkafka.sasl.oauthbearer.client.secret = ***\n") != NULL);
    ASSERT(strstr(out, "\nkafka.ssl.key.pem = ***\n") != NULL);
    ASSERT(strstr(out, "\nkafka.ssl.keystore.password = ***\n") != NULL);
    ASSERT(strstr(out, "hunter2") == NULL);
    ASSERT(strstr(out, "tok") == NULL);
    int lines = 0, keys = 0;
    for (const char *p = out; *p; p++) lines += *p == '\n';
    for (const rs_conf_prop_t *p = rs_conf_props; p->name; p++) keys++;
    ASSERT_EQ(lines, keys + 7);
    free(out);
    rs_conf_destroy(c);
}

TEST(dump_reloads) {
    /* The dump is itself a valid config file giving the same values. */
    rs_conf_t *a = rs_conf_new(), *b = rs_conf_new();
    char err[512];
    ASSERT_OK(rs_conf_set_kv(a, "rec.recency.decay=0.123456789", err, sizeof(err)));
    ASSERT_OK(rs_conf_set_kv(a, "output.format=confluent", err, sizeof(err)));
    ASSERT_OK(rs_conf_set_kv(a, "kafka.acks=all", err, sizeof(err)));
    char *da = capture(a, 0);
    ASSERT_OK(load_text(b, da, err, sizeof(err), NULL));
    char *db = capture(b, 0);
    ASSERT_STREQ(da, db);
    ASSERT(b->rec_recency_decay == 0.123456789);
    free(da);
    free(db);
    rs_conf_destroy(a);
    rs_conf_destroy(b);
}

TEST(reference) {
    char *out = capture(NULL, 1);
    char want[256];
    ASSERT(!strncmp(out, "# recstream configuration reference\n", 36));
    ASSERT(strstr(out, "`recstream config --reference`") != NULL);
    ASSERT(strstr(out, "src/core/rs_conf_table.c") != NULL);
    int keys = 0;
    for (const rs_conf_prop_t *p = rs_conf_props; p->name; p++) {
        snprintf(want, sizeof(want), "| `%s` | ", p->name);
        if (!strstr(out, want)) RS_T_FAIL_("reference lacks %s", p->name);
        ASSERT(p->desc && *p->desc);
        ASSERT(p->section && *p->section);
        keys++;
    }
    ASSERT_EQ(keys, 103);
    ASSERT(strstr(out, "| `rec.similarity` | enum | `cosine` | cosine, llr |") != NULL);
    ASSERT(strstr(out, "| `rec.k` | int | `10` | 1 .. 1000 |") != NULL);
    ASSERT(strstr(out, "## Event weights\n") != NULL);
    ASSERT(strstr(out, "## kafka.* (librdkafka passthrough)") != NULL);
    ASSERT(strstr(out, "-X key=value") != NULL);
    /* one table header per section, sections not repeated */
    int headers = 0;
    for (const char *p = out; (p = strstr(p, "| key | type |")); p++) headers++;
    ASSERT_EQ(headers, 10);
    free(out);

    char *help = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&help, &len);
    rs_conf_write_help(f);
    fclose(f);
    ASSERT(strstr(help, "http.port") != NULL);
    ASSERT(strstr(help, "(default: 8080)") != NULL);
    free(help);
}

TEST(check) {
    rs_conf_t *c = rs_conf_new();
    char err[512];
    ASSERT_OK(rs_conf_set_kv(c, "profile.recent.items=8", err, sizeof(err)));
    ASSERT_EQ(rs_conf_check(c, err, sizeof(err)), RS_ECONF);
    ASSERT_STREQ(err, "cooc.window.count (10) must not exceed profile.recent.items (8): items "
                      "are paired from the recent-items ring");
    ASSERT_OK(rs_conf_set_kv(c, "cooc.window.count=8", err, sizeof(err)));
    ASSERT_EQ(rs_conf_check(c, err, sizeof(err)), RS_ECONF);
    ASSERT_STREQ(err, "rec.recent (10) must not exceed profile.recent.items (8): seeds are taken "
                      "from the recent-items ring");
    ASSERT_OK(rs_conf_set_kv(c, "rec.recent=8", err, sizeof(err)));
    ASSERT_OK(rs_conf_check(c, err, sizeof(err)));
    ASSERT_EQ(rs_conf_set_kv(c, "rec.repurchase.categories=milk=100, bread", err, sizeof(err)),
              RS_ECONF);
    ASSERT(strstr(err, "rec.repurchase.categories: \"bread\" is not NAME=MILLISECONDS"));
    ASSERT_EQ(rs_conf_set_kv(c, "rec.repurchase.categories=milk=1d", err, sizeof(err)), RS_ECONF);
    ASSERT(strstr(
        err, "rec.repurchase.categories: \"1d\" is not a non-negative number of milliseconds"));
    ASSERT_OK(rs_conf_set_kv(c, "rec.repurchase.categories=milk = 100 , eggs=0", err, sizeof(err)));
    ASSERT_OK(rs_conf_check(c, err, sizeof(err)));

    for (int i = 0; i < RS_EV__COUNT; i++) c->weight[i] = 0;
    ASSERT_EQ(rs_conf_check(c, err, sizeof(err)), RS_ECONF);
    ASSERT_STREQ(err, "weight.*: every event weight is 0, so nothing would be counted");
    c->weight[RS_EV_CART] = 1;
    ASSERT_OK(rs_conf_check(c, err, sizeof(err)));

    /* fields set directly by code are re-validated */
    c->output_format = RS_FMT_AUTO;
    ASSERT_EQ(rs_conf_check(c, err, sizeof(err)), RS_ECONF);
    ASSERT_STREQ(err, "output.format: \"0\" is not a valid value (allowed: avro, confluent, json)");
    c->output_format = RS_FMT_AVRO;
    c->rec_k = 0;
    ASSERT_EQ(rs_conf_check(c, err, sizeof(err)), RS_ECONF);
    ASSERT_STREQ(err, "rec.k: 0 is out of range (allowed: 1 .. 1000)");
    rs_conf_destroy(c);
}

TEST(example_file) {
    const char *src = getenv("RS_SRC");
    char path[1024], err[512] = "";
    snprintf(path, sizeof(path), "%s/conf/recstream.conf", src && *src ? src : ".");
    rs_conf_t *c = rs_conf_new();
    rs_err_t rc = rs_conf_load_file(c, path, err, sizeof(err));
    if (rc) RS_T_FAIL_("%s", err);
    ASSERT_OK(rs_conf_check(c, err, sizeof(err)));
    ASSERT_STREQ(rs_conf_get_kafka(c, "bootstrap.servers"), "localhost:9092");
    ASSERT_EQ(c->kafka_cnt, 1);
    /* The example sets every key to its default, so the dumps agree. */
    rs_conf_t *def = rs_conf_new();
    rs_conf_set_kafka(def, "bootstrap.servers", "localhost:9092", NULL);
    char *a = capture(c, 0), *b = capture(def, 0);
    int same = !strcmp(a, b);
    free(a);
    free(b);
    rs_conf_destroy(def);
    ASSERT(same);
    rs_conf_destroy(c);
}

/* SIGHUP: live keys are copied, others reported and kept, a cross-key rule
 * broken by the mix is refused with nothing changed. */
TEST(reload) {
    char err[256];
    rs_conf_t *run = rs_conf_new(), *fresh = rs_conf_new();
    ASSERT_OK(load_text(run, "alert.rate.z = 10\nstate.dir = /a\nkafka.acks = all\n", err,
                        sizeof(err), NULL));
    ASSERT_OK(load_text(fresh,
                        "alert.rate.z = 12.5\nstate.dir = /b\nweight.view = 3\n"
                        "kafka.acks = 1\n",
                        err, sizeof(err), NULL));
    rs_buf_t rep = {0};
    ASSERT_EQ(rs_conf_reload(run, fresh, &rep, err, sizeof(err)), 2);
    rs_buf_cstr(&rep);
    ASSERT(run->alert_rate_z == 12.5);
    ASSERT_EQ(run->weight[RS_EV_VIEW], 3);
    ASSERT_STREQ(run->state_dir, "/a");
    ASSERT_STREQ(rs_conf_get_kafka(run, "acks"), "all");
    ASSERT(strstr(rep.p, "alert.rate.z: 10 -> 12.5\n") != NULL);
    ASSERT(strstr(rep.p, "weight.view: 1 -> 3\n") != NULL);
    ASSERT(strstr(rep.p, "state.dir: /a -> /b needs a restart (kept /a)\n") != NULL);
    ASSERT(strstr(rep.p, "kafka.*: changed, needs a restart") != NULL);

    /* the same again: nothing differs but the restart-only keys */
    rs_buf_reset(&rep);
    ASSERT_EQ(rs_conf_reload(run, fresh, &rep, err, sizeof(err)), 0);
    rs_buf_cstr(&rep);
    ASSERT(strstr(rep.p, "alert.rate.z") == NULL);

    /* rec.recent is live but may not exceed profile.recent.items (not live) */
    rs_conf_t *bad = rs_conf_new();
    ASSERT_OK(load_text(bad, "profile.recent.items = 50\nrec.recent = 40\nrec.k = 7\n", err,
                        sizeof(err), NULL));
    int before = run->rec_recent;
    rs_buf_reset(&rep);
    ASSERT(rs_conf_reload(run, bad, &rep, err, sizeof(err)) < 0);
    ASSERT_EQ(run->rec_recent, before);
    ASSERT(strstr(err, "rec.recent") != NULL);

    /* the reference marks exactly the live keys */
    char *ref = capture(NULL, 1);
    int live = 0;
    for (const rs_conf_prop_t *p = rs_conf_props; p->name; p++) live += rs_conf_prop_live(p);
    int marked = 0;
    for (const char *q = ref; (q = strstr(q, "Live: SIGHUP applies it.")); q++) marked++;
    ASSERT_EQ(marked, live);
    ASSERT(live >= 30);
    free(ref);
    rs_buf_free(&rep);
    rs_conf_destroy(bad);
    rs_conf_destroy(run);
    rs_conf_destroy(fresh);
}

static void cleanup(void) {
    if (!tmpdir[0]) return;
    char p[600];
    static const char *const names[] = {"t.conf", "missing.conf"};
    for (int i = 0; i < 2; i++) {
        snprintf(p, sizeof(p), "%s/%s", tmpdir, names[i]);
        unlink(p);
    }
    rmdir(tmpdir);
}

int main(void) {
    int rc = RUN_TESTS(t_defaults, t_file_values, t_unknown_key, t_bad_values, t_bool_forms,
                       t_syntax_errors, t_override_order, t_kafka_passthrough, t_dump_masks_secrets,
                       t_dump_reloads, t_reference, t_check, t_example_file, t_reload);
    cleanup();
    return rc;
}
