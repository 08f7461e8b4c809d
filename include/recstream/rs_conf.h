/* rs_conf.h -- configuration: one table (src/core/rs_conf_table.c) drives
 * the properties-file loader, `-X key=value` overrides, the effective-config
 * dump (secrets masked), `--help` text and docs/CONFIGURATION.md.
 *
 * File syntax: `key = value` lines, `#` comments, blank lines. Unknown keys,
 * bad values and duplicate keys are errors reported as "FILE:LINE: message".
 * Keys starting with "kafka." are passed to librdkafka with the prefix
 * stripped (checked when the Kafka client is created, with the same
 * file:line). -X overrides apply after the file, in command-line order.
 *
 * Ownership: rs_conf_t owns all its strings; rs_conf_destroy() frees them.
 * Thread: any, but a conf is not shared mutably between threads. */
#ifndef RS_CONF_H
#define RS_CONF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rs_err.h"

typedef struct rs_kv {
    char *key; /* without the "kafka." prefix */
    char *val;
    char *origin; /* "FILE:LINE" or "-X" -- for error messages */
} rs_kv_t;

typedef enum { RS_FMT_AUTO = 0, RS_FMT_JSON, RS_FMT_AVRO, RS_FMT_CONFLUENT } rs_format_t;
typedef enum { RS_SIM_COSINE = 0, RS_SIM_LLR } rs_sim_t;
typedef enum { RS_PAIRW_POSITION = 0, RS_PAIRW_TYPE } rs_pairw_t;
typedef enum { RS_RECENCY_HARMONIC = 0, RS_RECENCY_EXPONENTIAL } rs_recency_t;
typedef enum { RS_POPORDER_COUNT = 0, RS_POPORDER_DECAYED } rs_poporder_t;

typedef struct rs_conf {
    /* topics */
    char *topic_events;            /* topic.events = events */
    char *topic_recommendations;   /* topic.recommendations = recommendations */
    char *topic_dlq;               /* topic.dlq = dlq */
    char *topic_items;             /* topic.items = "": compacted item catalog (off if empty) */
    char *topic_segments;          /* topic.segments = segments */
    char *topic_alerts;            /* topic.alerts = alerts */
    char *group_id;                /* group.id = recstream */
    int64_t consume_align_ms;      /* consume.align.ms = 0 (off): event-time skew bound */
    int64_t consume_align_idle_ms; /* consume.align.idle.ms = 5000 */
    int input_format;              /* input.format = auto|json|avro|confluent (rs_format_t) */
    int output_format;    /* output.format = avro|confluent|json (rs_format_t), default avro */
    int output_schema_id; /* output.schema.id = 1: id written in confluent framing */
    int output_schema_id_alerts;   /* output.schema.id.alerts = 2 */
    int output_schema_id_segments; /* output.schema.id.segments = 3 */

    /* state */
    char *state_dir;           /* state.dir = ./state */
    int state_sync;            /* state.sync = false: fsync the WAL on every commit */
    int state_cache_mb;        /* state.cache.mb = 64: RocksDB block cache */
    int state_write_buffer_mb; /* state.write.buffer.mb = 16: per column family memtable */
    int state_retry_ms;        /* state.retry.ms = 1000: retry of a failed state write */
    int batch_max_events;      /* batch.max.events = 100000: records per score/emit cycle */
    int rec_coalesce_ms;       /* rec.coalesce.ms = 1000: under backlog, score at most this often */
    int commit_interval_ms;    /* commit.interval.ms = 1000: one WriteBatch (state + offsets) per
                                  interval */
    int commit_max_events;     /* commit.max.events = 500000: commit early beyond this */
    int dedup_window;          /* dedup.window = 1000000: event ids remembered */

    /* retention and privacy (F19) */
    int64_t state_user_ttl_ms;         /* state.user.ttl.ms = 0: idle users expire (0 = never) */
    int64_t state_user_ttl_compact_ms; /* state.user.ttl.compact.ms = 86400000: users rewrite */
    int privacy_user_id_hash;          /* privacy.user.id.hash = false: keyed hash of user ids */
    char *privacy_user_id_salt;        /* privacy.user.id.salt = "": the HMAC key (secret) */

    /* profiles / co-occurrence */
    int recent_items;      /* profile.recent.items = 20: ring of recent items per user */
    int purchased_max;     /* profile.purchased.max = 50: purchased set size */
    int cooc_window_count; /* cooc.window.count = 10: pair with this many recent items */
    int64_t profile_affinity_halflife_ms; /* profile.affinity.halflife.ms = 30 days */
    int64_t profile_session_gap_ms;       /* profile.session.gap.ms = 30 min */
    int64_t cooc_window_ms; /* cooc.window.ms = 2592000000: ... that are at most this old */
    int cooc_pair_weight;   /* cooc.pair.weight = position|type (rs_pairw_t) */
    int weight[8];          /* weight.<type> = view 1, click 1, cart 3, purchase 5, like 2,
                               share 2, review 2, impression 0 (0 = not paired/counted) */

    /* recommendations */
    int rec_k;                 /* rec.k = 10 */
    int rec_similarity;        /* rec.similarity = cosine|llr (rs_sim_t) */
    int rec_neighbors;         /* rec.neighbors = 50: top-N neighbours kept per item */
    int rec_recent;            /* rec.recent = 10: recent items used as seeds */
    int rec_recency;           /* rec.recency = harmonic|exponential (rs_recency_t) */
    double rec_recency_decay;  /* rec.recency.decay = 0.8: exponential: seed i weighs decay^i */
    double rec_alpha;          /* rec.alpha = 0.85: sim = c / (n(seed)^a n(b)^(1-a)) */
    int rec_type_boost;        /* rec.type.boost = false: seeds weigh sqrt(type weight) */
    int rec_popular_order;     /* rec.popular.order = count|decayed (rs_poporder_t) */
    int rec_category_fill;     /* rec.category.fill = true */
    int rec_diversity_max;     /* rec.diversity.max = 0: items per category in a list */
    double rec_content_weight; /* rec.content.weight = 0: category/brand affinity boost */
    int64_t rec_repurchase_ms; /* rec.repurchase.ms = 0: purchased items come back after this */
    char *rec_repurchase_categories; /* rec.repurchase.categories = "": "cat=ms,..." overrides */
    double rules_min_count;          /* rules.min.count = 2: co-occurrences (pair units) */
    double rules_min_support;        /* rules.min.support = 0 */
    double rules_min_confidence;     /* rules.min.confidence = 0 */
    double rules_min_lift;           /* rules.min.lift = 0 */
    int rec_exclude_seen;            /* rec.exclude.seen = true */
    int rec_exclude_purchased;       /* rec.exclude.purchased = true */
    int64_t rec_min_interval_ms;     /* rec.min.interval.ms = 0: per-user emit rate limit */
    int rec_popular;                 /* rec.popular = 100: size of the popularity fallback list */
    char *rec_blocklist;             /* rec.blocklist = "": item ids never recommended */
    int64_t popularity_halflife_ms;  /* popularity.halflife.ms = 86400000 */
    int64_t trending_halflife_ms;    /* trending.halflife.ms = 3600000 */
    double rec_trending_min;         /* rec.trending.min = 3: "trending" reason from this score */

    /* segments (F9) */
    int segments_enable;             /* segments.enable = true */
    int segments_clusters;           /* segments.clusters = 4: k of the behavioural k-means */
    int segments_cluster_min_events; /* segments.cluster.min.events = 15 */
    int segments_cluster_batch;      /* segments.cluster.batch = 256: mini-batch size */
    int64_t segments_refresh_ms;     /* segments.refresh.ms = 3600000: event-time re-scoring */

    /* alerts (F10) */
    int alert_enable;               /* alert.enable = true */
    int64_t alert_episode_gap_ms;   /* alert.episode.gap.ms = 600000 */
    int64_t alert_rate_bucket_ms;   /* alert.rate.bucket.ms = 60000 */
    double alert_rate_alpha;        /* alert.rate.alpha = 0.05 */
    double alert_rate_z;            /* alert.rate.z = 10 */
    int alert_rate_min_events;      /* alert.rate.min.events = 100 */
    int64_t alert_bot_window_ms;    /* alert.bot.window.ms = 10000 */
    int alert_bot_min_views;        /* alert.bot.min.views = 50 */
    int64_t alert_bot_max_dwell_ms; /* alert.bot.max.dwell.ms = 1000 */
    double alert_amount_factor;     /* alert.amount.factor = 10 */
    int alert_amount_min_history;   /* alert.amount.min.history = 2 */
    int64_t alert_card_window_ms;   /* alert.card.window.ms = 30000 */
    int alert_card_min_purchases;   /* alert.card.min.purchases = 6 */
    int64_t alert_item_bucket_ms;   /* alert.item.bucket.ms = 60000 */
    double alert_item_alpha;        /* alert.item.alpha = 0.05 */
    double alert_item_z;            /* alert.item.z = 8 */
    double alert_item_factor;       /* alert.item.factor = 5 */
    int alert_item_min_events;      /* alert.item.min.events = 100 */
    int64_t alert_item_warmup_ms;   /* alert.item.warmup.ms = 60000 */

    /* validation */
    int64_t validate_max_future_ms; /* validate.max.future.ms = 300000 */
    double validate_max_price;      /* validate.max.price = 10000000 */
    int validate_max_bytes;         /* validate.max.bytes = 65536 */
    int validate_max_id_len;        /* validate.max.id.len = 256 */

    /* http / logging */
    char *http_host;         /* http.host = 127.0.0.1 */
    int http_port;           /* http.port = 8080; 0 disables */
    int http_max_rps;        /* http.max.rps = 1000: all clients, 0 = no limit */
    int http_client_max_rps; /* http.client.max.rps = 250: per client IP, 0 = no limit */
    int http_timeout_ms;     /* http.timeout.ms = 10000: connection lifetime, 0 = never */
    int log_level;           /* log.level = info (rs_log_level_t) */

    /* kafka.* passthrough, in order of appearance (file, then -X) */
    rs_kv_t *kafka;
    size_t kafka_cnt;
} rs_conf_t;

/* New conf with every default from the table. Never NULL. */
rs_conf_t *rs_conf_new(void);
void rs_conf_destroy(rs_conf_t *conf); /* NULL-safe */

/* Set one key (with "kafka." passthrough). `origin` ("FILE:LINE" or "-X") is
 * prefixed to errstr. Returns RS_ECONF for unknown keys / bad values. */
rs_err_t rs_conf_set(rs_conf_t *conf, const char *key, const char *val, const char *origin,
                     char *errstr, size_t errstr_size);
/* Parse "key=value" (as given to -X). */
rs_err_t rs_conf_set_kv(rs_conf_t *conf, const char *kv, char *errstr, size_t errstr_size);
/* Load a properties file; errstr gets "FILE:LINE: message". A key set twice
 * in one file is an error. Values are taken literally after trimming (no
 * quotes, no trailing comments). RS_EIO if the file cannot be read. */
rs_err_t rs_conf_load_file(rs_conf_t *conf, const char *path, char *errstr, size_t errstr_size);
/* Set a kafka.* key without the prefix (replaces an earlier value). */
void rs_conf_set_kafka(rs_conf_t *conf, const char *key, const char *val, const char *origin);
/* Value of a kafka.* key or NULL. */
const char *rs_conf_get_kafka(const rs_conf_t *conf, const char *key);

/* Effective config, one "key = value" per line (table keys, then kafka.*).
 * Masked as "***": table keys flagged RS_CONF_F_SENSITIVE and kafka keys
 * containing "password", "secret", "sasl.oauthbearer.config" or "ssl.key". */
void rs_conf_dump(const rs_conf_t *conf, FILE *out);
/* Markdown reference generated from the table (docs/CONFIGURATION.md). */
void rs_conf_write_reference(FILE *out);

/* Short "key  description (default X)" listing for --help. */
void rs_conf_write_help(FILE *out);

/* Cross-field checks, run once after the file and -X are applied
 * (e.g. cooc.window.count <= profile.recent.items). RS_ECONF + message. */
rs_err_t rs_conf_check(const rs_conf_t *conf, char *errstr, size_t errstr_size);

/* ---- The table (src/core/rs_conf_table.c), exposed for --help/reference. ---- */
typedef enum {
    RS_CONF_STR,   /* char * (owned) */
    RS_CONF_INT,   /* int, range imin..imax */
    RS_CONF_INT64, /* int64_t, range imin..imax */
    RS_CONF_DBL,   /* double, range dmin..dmax */
    RS_CONF_BOOL,  /* int 0/1: true/false/yes/no/1/0 */
    RS_CONF_ENUM   /* int, one of s2i[] */
} rs_conf_type_t;

#define RS_CONF_F_SENSITIVE 0x1 /* value masked as "***" by rs_conf_dump */
#define RS_CONF_F_EMPTY_OK  0x2 /* string may be empty */

typedef struct rs_conf_s2i {
    const char *str;
    int val;
} rs_conf_s2i_t;

typedef struct rs_conf_prop {
    const char *name;
    const char *section; /* reference heading; rows of a section are consecutive */
    rs_conf_type_t type;
    size_t offset; /* offsetof(rs_conf_t, field) */
    const char *sdef;
    int64_t idef, imin, imax; /* INT/INT64/BOOL/ENUM default, INT/INT64 range */
    double ddef, dmin, dmax;
    rs_conf_s2i_t s2i[8]; /* ENUM values, ended by {NULL} */
    int flags;
    const char *desc;
    /* extra check of a STR value's format (NULL = none): 0, or -1 with msg */
    int (*check)(const char *val, char *msg, size_t msg_size);
} rs_conf_prop_t;

extern const rs_conf_prop_t rs_conf_props[]; /* ended by a row with name NULL */

struct rs_buf;
/* Live reload (the daemon on SIGHUP). 1 when a change of key p takes effect
 * in a running daemon (see the list in rs_conf.c; shown in the reference). */
int rs_conf_prop_live(const rs_conf_prop_t *p);
/* Copies into `running` every live key whose value differs in `fresh` (a
 * configuration loaded and checked the same way as at start) and appends
 * one line per differing key to report: "key: old -> new", or "... needs a
 * restart (kept old)" for the others (secrets masked). Returns the number
 * of keys applied (>= 0), or a negative code, with `running` unchanged, when
 * the result breaks a cross-key rule of rs_conf_check (errstr says which).
 * Thread: the thread that owns `running` (the loop thread). */
int rs_conf_reload(rs_conf_t *running, const rs_conf_t *fresh, struct rs_buf *report, char *errstr,
                   size_t errstr_size);

/* Parses "name=ms,name=ms" (rec.repurchase.categories), calling fn (may be
 * NULL: validate only) per entry; 0, or -1 with a reason in msg. */
typedef void(rs_conf_ms_fn_t)(void *opaque, const char *name, size_t len, int64_t ms);
int rs_conf_each_ms(const char *spec, rs_conf_ms_fn_t *fn, void *opaque, char *msg,
                    size_t msg_size);

#endif
