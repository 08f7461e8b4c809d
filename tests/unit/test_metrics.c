/* test_metrics.c -- histogram buckets/quantiles/merge and the exact
 * Prometheus text of rs_metrics_render(). */
#include <ctype.h>

#include "recstream/rs_metrics.h"
#include "rs_test.h"

#ifdef RS_METRICS_TEST_STUB
/* Standalone builds without rs_validate.c; names come from the same map. */
const char *rs_reject_name(rs_reject_t r) {
    static const char *const names[] = {"none",
#define RS__XX(code, name, text) name,
                                        RS_REJECT_MAP(RS__XX)
#undef RS__XX
    };
    return (unsigned)r < RS_REJ__COUNT ? names[r] : "none";
}
#endif

TEST(hist_empty) {
    rs_hist_t h;
    rs_hist_reset(&h);
    ASSERT_EQ(rs_hist_quantile(&h, 0.5), 0);
    ASSERT_EQ(h.count, 0);
}

TEST(hist_small_values_exact) {
    rs_hist_t h;
    rs_hist_reset(&h);
    for (uint64_t v = 0; v < 8; v++) rs_hist_add(&h, v);
    ASSERT_EQ(h.count, 8);
    ASSERT_EQ(h.sum, 28);
    ASSERT_EQ(h.max, 7);
    /* rank = ceil(q*8); values 0..7 each have their own bucket. */
    ASSERT_EQ(rs_hist_quantile(&h, 0.0), 0);
    ASSERT_EQ(rs_hist_quantile(&h, 0.25), 1);
    ASSERT_EQ(rs_hist_quantile(&h, 0.5), 3);
    ASSERT_EQ(rs_hist_quantile(&h, 0.51), 4);
    ASSERT_EQ(rs_hist_quantile(&h, 1.0), 7);
}

TEST(hist_1_to_100) {
    rs_hist_t h;
    rs_hist_reset(&h);
    for (uint64_t v = 1; v <= 100; v++) rs_hist_add(&h, v);
    ASSERT_EQ(h.sum, 5050);
    ASSERT_EQ(rs_hist_quantile(&h, 0.0), 1);
    ASSERT_EQ(rs_hist_quantile(&h, 0.5), 55);   /* 50 in [48,55] */
    ASSERT_EQ(rs_hist_quantile(&h, 0.9), 95);   /* 90 in [80,95] */
    ASSERT_EQ(rs_hist_quantile(&h, 0.99), 100); /* 99 in [96,111], clamped by max */
    ASSERT_EQ(rs_hist_quantile(&h, 1.0), 100);
}

TEST(hist_bucket_bounds) {
    /* Bucket of 1000 is [896,1023]; of 4096 is [4096,5119]. */
    rs_hist_t h;
    rs_hist_reset(&h);
    rs_hist_add(&h, 1000);
    rs_hist_add(&h, 5000);
    ASSERT_EQ(rs_hist_quantile(&h, 0.5), 1023);
    ASSERT_EQ(rs_hist_quantile(&h, 1.0), 5000);
    rs_hist_reset(&h);
    rs_hist_add(&h, 896);
    rs_hist_add(&h, 4096);
    rs_hist_add(&h, 9999);
    ASSERT_EQ(rs_hist_quantile(&h, 0.1), 1023);
    ASSERT_EQ(rs_hist_quantile(&h, 0.6), 5119);
    /* Every value's bucket bound is >= the value and < 1.25x it. */
    for (uint64_t v = 4; v < ((uint64_t)7 << 30); v = v * 3 / 2 + 1) {
        rs_hist_reset(&h);
        rs_hist_add(&h, v);
        rs_hist_add(&h, UINT64_MAX);
        uint64_t up = rs_hist_quantile(&h, 0.5);
        ASSERT(up >= v);
        ASSERT((double)up < (double)v * 1.25);
        ASSERT_EQ(rs_hist_quantile(&h, 0.5 + 1e-9), UINT64_MAX);
    }
    /* Beyond the last bucket: open-ended, the max bounds it. */
    rs_hist_reset(&h);
    rs_hist_add(&h, (uint64_t)1 << 40);
    rs_hist_add(&h, (uint64_t)1 << 41);
    ASSERT_EQ(rs_hist_quantile(&h, 0.5), (uint64_t)1 << 41);
    ASSERT_EQ(h.b[RS_HIST_BUCKETS - 1], 2);
}

TEST(hist_add_n_is_n_adds) {
    /* a chunk of n records booked at once must equal n single adds */
    rs_hist_t a, b;
    rs_hist_reset(&a);
    rs_hist_reset(&b);
    const uint64_t vals[] = {0, 3, 1000, 5000, 1000, 77};
    const uint64_t ns[] = {2, 1, 1024, 3, 0, 17};
    for (size_t i = 0; i < 6; i++) {
        rs_hist_add_n(&a, vals[i], ns[i]);
        for (uint64_t k = 0; k < ns[i]; k++) rs_hist_add(&b, vals[i]);
    }
    ASSERT_EQ(a.count, 1047);
    ASSERT(memcmp(&a, &b, sizeof(a)) == 0);
    ASSERT_EQ(rs_hist_quantile(&a, 0.5), 1023);
}

TEST(hist_merge_reset) {
    rs_hist_t a, b, all;
    rs_hist_reset(&a);
    rs_hist_reset(&b);
    rs_hist_reset(&all);
    for (uint64_t v = 0; v < 1000; v++) {
        uint64_t x = v * v * 7 + 3;
        rs_hist_add(v % 3 ? &a : &b, x);
        rs_hist_add(&all, x);
    }
    rs_hist_merge(&a, &b);
    ASSERT_EQ(memcmp(&a, &all, sizeof(a)), 0);
    ASSERT_EQ(rs_hist_quantile(&a, 0.99), rs_hist_quantile(&all, 0.99));
    rs_hist_reset(&a);
    ASSERT_EQ(a.count, 0);
    ASSERT_EQ(a.max, 0);
    ASSERT_EQ(a.sum, 0);
    rs_hist_merge(&a, &b);
    ASSERT_EQ(a.count, b.count);
    ASSERT_EQ(a.max, b.max);
}

static int has_line(const char *text, const char *line) {
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
        if ((p == text || p[-1] == '\n') && p[n] == '\n') return 1;
    return 0;
}

/* Every line is a HELP/TYPE comment or "name[{labels}] value", and each
 * sample's family was declared by a TYPE line before it. */
static int check_format(const char *text, char *why, size_t whylen) {
    char types[64][64];
    int ntypes = 0;
    const char *p = text;
    while (*p) {
        const char *e = strchr(p, '\n');
        if (!e) return snprintf(why, whylen, "no final newline"), 0;
        char line[512];
        size_t n = (size_t)(e - p);
        if (n >= sizeof(line)) return snprintf(why, whylen, "long line"), 0;
        memcpy(line, p, n);
        line[n] = '\0';
        p = e + 1;
        char name[64], type[32];
        if (!strncmp(line, "# HELP ", 7)) continue;
        if (sscanf(line, "# TYPE %63s %31s", name, type) == 2) {
            if (strcmp(type, "counter") && strcmp(type, "gauge") && strcmp(type, "summary"))
                return snprintf(why, whylen, "bad type: %s", line), 0;
            snprintf(types[ntypes++], 64, "%s", name);
            continue;
        }
        size_t k = 0;
        while (isalnum((unsigned char)line[k]) || line[k] == '_') k++;
        if (!k) return snprintf(why, whylen, "bad line: %s", line), 0;
        int known = 0;
        for (int i = 0; i < ntypes; i++) {
            size_t tl = strlen(types[i]);
            if (k >= tl && !strncmp(line, types[i], tl) &&
                (k == tl || !strcmp(line + tl, "_sum") || !strncmp(line + tl, "_sum ", 5) ||
                 !strncmp(line + tl, "_count ", 7)))
                known = 1;
        }
        if (!known) return snprintf(why, whylen, "undeclared: %s", line), 0;
        const char *v = line + k;
        if (*v == '{') {
            v = strchr(v, '}');
            if (!v) return snprintf(why, whylen, "bad labels: %s", line), 0;
            v++;
        }
        if (*v != ' ' || !v[1]) return snprintf(why, whylen, "no value: %s", line), 0;
        char *end;
        strtod(v + 1, &end);
        if (*end) return snprintf(why, whylen, "bad value: %s", line), 0;
    }
    return 1;
}

TEST(render_exact) {
    rs_stats_t s;
    memset(&s, 0, sizeof(s));
    s.events_in = 12345;
    s.events_applied = 12000;
    s.events_duplicate = 5;
    s.events_late = 7;
    s.dlq[RS_REJ_MALFORMED] = 3;
    s.dlq[RS_REJ_NEGATIVE_PRICE] = 2;
    s.dlq_produce_errors = 1;
    s.batches = 42;
    s.recs_emitted = 99;
    s.recs_unchanged = 11;
    s.users_cached = 500;
    s.items = 80;
    s.cooc_pairs = 1234;
    s.partitions_assigned = 4;
    s.consumer_lag = -1;
    s.state_bytes = 1048576;
    for (uint64_t v = 1; v <= 100; v++) rs_hist_add(&s.batch_events, v);
    rs_hist_add(&s.commit_us, 1500);    /* bucket [1280,1535] */
    rs_hist_add(&s.commit_us, 2000000); /* 2 s */

    rs_buf_t out = {0};
    rs_metrics_render(&s, &out);
    const char *t = rs_buf_cstr(&out);
    char why[600] = "";
    int ok = check_format(t, why, sizeof(why));
    if (!ok) fprintf(stderr, "%s\n", why);
    ASSERT(ok);

    static const char *const want[] = {
        "# HELP recstream_events_in_total Records consumed from the events topic.",
        "# TYPE recstream_events_in_total counter",
        "recstream_events_in_total 12345",
        "recstream_events_applied_total 12000",
        "recstream_events_duplicate_total 5",
        "recstream_events_late_total 7",
        "# TYPE recstream_dlq_total counter",
        "recstream_dlq_total{reason=\"malformed\"} 3",
        "recstream_dlq_total{reason=\"negative_price\"} 2",
        "recstream_dlq_total{reason=\"bad_ts\"} 0",
        "recstream_dlq_produce_errors_total 1",
        "recstream_batches_total 42",
        "recstream_commit_errors_total 0",
        "recstream_recs_emitted_total 99",
        "recstream_recs_unchanged_total 11",
        "recstream_recs_produce_errors_total 0",
        "# TYPE recstream_users_cached gauge",
        "recstream_users_cached 500",
        "recstream_items 80",
        "recstream_cooc_pairs 1234",
        "recstream_partitions_assigned 4",
        "recstream_consumer_lag -1",
        "recstream_state_bytes 1048576",
        "# TYPE recstream_batch_events summary",
        "recstream_batch_events{quantile=\"0.5\"} 55",
        "recstream_batch_events{quantile=\"0.9\"} 95",
        "recstream_batch_events{quantile=\"0.99\"} 100",
        "recstream_batch_events_sum 5050",
        "recstream_batch_events_count 100",
        "# TYPE recstream_commit_seconds summary",
        "recstream_commit_seconds{quantile=\"0.5\"} 0.001535",
        "recstream_commit_seconds{quantile=\"0.9\"} 2",
        "recstream_commit_seconds_sum 2.0015",
        "recstream_commit_seconds_count 2",
        "# TYPE recstream_batch_seconds summary",
        "recstream_batch_seconds{quantile=\"0.5\"} NaN",
        "recstream_batch_seconds_sum 0",
        "recstream_batch_seconds_count 0",
        "# TYPE recstream_e2e_seconds summary",
        "recstream_e2e_seconds_count 0",
        "# TYPE recstream_pipeline_delay_seconds summary",
        "recstream_pipeline_delay_seconds_count 0",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        if (!has_line(t, want[i])) {
            fprintf(stderr, "missing line: %s\n--- output ---\n%s", want[i], t);
            rs_buf_free(&out);
            ASSERT(0);
        }
    }
    /* One sample per reason, none for RS_REJ_NONE. */
    int n = 0;
    for (const char *p = t; (p = strstr(p, "\nrecstream_dlq_total{")) != NULL; p++) n++;
    ASSERT_EQ(n, RS_REJ__COUNT - 1);
    ASSERT(!strstr(t, "reason=\"none\""));
    rs_buf_free(&out);
}

int main(void) {
    return RUN_TESTS(t_hist_empty, t_hist_small_values_exact, t_hist_1_to_100, t_hist_bucket_bounds,
                     t_hist_add_n_is_n_adds, t_hist_merge_reset, t_render_exact);
}
