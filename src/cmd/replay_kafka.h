/* replay_kafka.h -- `recstream replay --topic`: a Kafka topic range through
 * the daemon's raw-record path (private to src/cmd; see replay_kafka.c). */
#ifndef REPLAY_KAFKA_H
#define REPLAY_KAFKA_H

#include <stddef.h>
#include <stdint.h>

#include "recstream/rs_conf.h"
#include "recstream/rs_pipeline.h"

typedef struct replay_kafka_opts {
    const rs_conf_t *conf; /* kafka.* (bootstrap.servers ...) */
    const char *topic;
    const char *from, *to; /* range specs (see replay_kafka_parse_spec), NULL = defaults */
    uint64_t batch;        /* records per WriteBatch */
    uint64_t limit;        /* stop after this many records (UINT64_MAX = none) */
    size_t buffer;         /* merge buffer per partition before it is paused */
    int emit;              /* score after every record (outputs wanted) */
    int tty;               /* progress bar on stderr */
    int idle_timeout_ms;   /* give up when nothing arrives for this long */
    /* called every few thousand records and while waiting (producer polls) */
    void (*poll)(void *opaque);
    void *poll_opaque;
} replay_kafka_opts_t;

typedef struct replay_kafka_result {
    uint64_t records;   /* records handed to rs_pipeline_process */
    uint64_t gaps;      /* offsets inside the range with no record (deleted, compacted,
                           transaction markers) */
    uint64_t range;     /* offsets in the resolved range, all partitions */
    int32_t partitions; /* partitions of the topic */
    int complete;       /* every partition reached its end offset */
} replay_kafka_result_t;

/* Resolves the range, reads it in a deterministic merge order (message
 * timestamp, then partition, then offset) and applies it; commits every
 * opts->batch records and at the end. Returns 0 or an rs_err_t with errstr. */
int replay_kafka_run(const replay_kafka_opts_t *o, rs_pipeline_t *p, replay_kafka_result_t *res,
                     char *errstr, size_t errstr_size);

#endif
