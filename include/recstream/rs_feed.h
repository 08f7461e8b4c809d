/* rs_feed.h -- generated traffic into a Kafka topic (demo, bench, tests).
 * Encodes each generated event (Confluent Avro, or JSON for a share of
 * records and for the malformed kinds Avro cannot carry) and produces it
 * keyed by user id, without headers: the record's CreateTime is its produce
 * time, which is what the bench measures latency from.
 * Used by the demo, the bench and the end-to-end tests, so every one of them
 * feeds the daemon exactly the same way. Thread: the caller's. */
#ifndef RS_FEED_H
#define RS_FEED_H

#include <stdint.h>

#include "rs_gen.h"
#include "rs_kafka.h"
#include "rs_metrics.h"

typedef struct rs_feed_stats {
    uint64_t produced, good, dup, late, bad;
    uint64_t bad_kind[16];
    uint64_t delivered, failed;
    rs_hist_t dr_us; /* produce call -> delivery report, microseconds */
} rs_feed_stats_t;

/* Produces n records. rate > 0 paces them (records/s, wall clock); they are
 * then all generated and encoded first, in memory, before the first is sent.
 * json_pct: share of good records sent as JSON instead of Avro. Flushes at
 * the end and returns 0 if every record was delivered. */
int rs_feed_run(const rs_kv_t *kafka, size_t kafka_cnt, const char *topic, rs_gen_t *gen,
                uint64_t n, double rate, int json_pct, rs_feed_stats_t *fs, char *errstr,
                size_t errstr_size);

#endif
