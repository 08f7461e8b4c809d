/* rs_conf_table.c -- THE configuration table. Every recstream key, its type,
 * where it lives in rs_conf_t, its default, its allowed range or values and
 * its description is here and nowhere else: rs_conf_new() takes defaults from
 * it, the loader and -X validate against it, rs_conf_dump() walks it, and
 * `recstream config --reference` (docs/CONFIGURATION.md) is generated from it.
 *
 * Invariants: rows of one section are consecutive (the reference groups by
 * section); defaults lie inside their ranges (tests/unit/test_conf.c checks
 * that rs_conf_new() matches the header comments in rs_conf.h). kafka.* keys
 * are not rows: they pass through to librdkafka (see rs_conf.c). */
#include <stddef.h>

#include "recstream/rs_conf.h"
#include "recstream/rs_event.h"
#include "recstream/rs_log.h"

#define OFF(f)  offsetof(rs_conf_t, f)
#define DAY_MS  INT64_C(86400000)
#define YEAR_MS (365 * DAY_MS)

#define S_TOPICS "Topics and formats"
#define S_STATE  "State store"
#define S_PROF   "Profiles and co-occurrence"
#define S_WEIGHT "Event weights"
#define S_REC    "Recommendations"
#define S_VALID  "Validation"
#define S_HTTP   "HTTP and logging"
#define S_SEG    "Segments"
#define S_ALERT  "Alerts"
#define S_PRIV   "Retention and privacy"

#define STR(n, sec, f, def, d)                                                                     \
    { .name = n, .section = sec, .type = RS_CONF_STR, .offset = OFF(f), .sdef = def, .desc = d }
static int check_ms_list(const char *val, char *msg, size_t msg_size) {
    return rs_conf_each_ms(val, NULL, NULL, msg, msg_size);
}

/* a string that may be empty ("" = off) */
#define STR_OPT(n, sec, f, def, d)                                                                 \
    {                                                                                              \
        .name = n, .section = sec, .type = RS_CONF_STR, .offset = OFF(f), .sdef = def, .desc = d,  \
        .flags = RS_CONF_F_EMPTY_OK                                                                \
    }
#define INT(n, sec, f, def, lo, hi, d)                                                             \
    {                                                                                              \
        .name = n, .section = sec, .type = RS_CONF_INT, .offset = OFF(f), .idef = def, .imin = lo, \
        .imax = hi, .desc = d                                                                      \
    }
#define I64(n, sec, f, def, lo, hi, d)                                                             \
    {                                                                                              \
        .name = n, .section = sec, .type = RS_CONF_INT64, .offset = OFF(f), .idef = def,           \
        .imin = lo, .imax = hi, .desc = d                                                          \
    }
#define DBL(n, sec, f, def, lo, hi, d)                                                             \
    {                                                                                              \
        .name = n, .section = sec, .type = RS_CONF_DBL, .offset = OFF(f), .ddef = def, .dmin = lo, \
        .dmax = hi, .desc = d                                                                      \
    }
#define BOOL(n, sec, f, def, d)                                                                    \
    { .name = n, .section = sec, .type = RS_CONF_BOOL, .offset = OFF(f), .idef = def, .desc = d }
#define WEIGHT(t, ev, def)                                                                         \
    INT("weight." t, S_WEIGHT, weight[ev], def, 0, 100,                                            \
        "Weight of `" t "` events in co-occurrence counts and popularity (0 = ignored).")

const rs_conf_prop_t rs_conf_props[] = {
    /* topics and formats */
    STR("topic.events", S_TOPICS, topic_events, "events", "Input topic of behaviour events."),
    STR("topic.recommendations", S_TOPICS, topic_recommendations, "recommendations",
        "Output topic of recommendation lists (and user tombstones)."),
    STR("topic.dlq", S_TOPICS, topic_dlq, "dlq",
        "Dead-letter topic for events that fail decoding or validation."),
    STR_OPT("topic.items", S_TOPICS, topic_items, "",
            "Compacted item catalog topic (schemas/item.avsc: category, brand, price, stock, "
            "attributes); empty = no catalog."),
    STR("topic.segments", S_TOPICS, topic_segments, "segments",
        "Output topic of segment changes (schemas/segment_change.avsc), key user id."),
    STR("topic.alerts", S_TOPICS, topic_alerts, "alerts",
        "Output topic of fraud/anomaly alerts (schemas/alert.avsc), key user or item id."),
    I64("consume.align.ms", S_TOPICS, consume_align_ms, 0, 0, DAY_MS,
        "Event-time alignment of the events partitions: one whose newest event runs more than "
        "this many ms ahead of the slowest partition still holding records is paused until that "
        "one is within half of it (a catch-up otherwise reads partitions far apart in event "
        "time, which skews the rules that count across users, like item_spike; 30000 suits "
        "alert.item.bucket.ms = 60000). A pause drops the partition's prefetched records, so a "
        "catch-up of a topic with few events per partition and second slows down (bench: "
        "188k -> 54k events/s at 30000). 0 = off."),
    I64("consume.align.idle.ms", S_TOPICS, consume_align_idle_ms, 5000, 1, DAY_MS,
        "A partition whose event time has not moved for this long (wall clock) no longer holds "
        "the others back (consume.align.ms): a stuck or idle partition cannot stall the rest."),
    STR("group.id", S_TOPICS, group_id, "recstream",
        "Kafka consumer group; instances with the same group split the partitions."),
    {.name = "input.format",
     .section = S_TOPICS,
     .type = RS_CONF_ENUM,
     .offset = OFF(input_format),
     .idef = RS_FMT_AUTO,
     .s2i = {{"auto", RS_FMT_AUTO},
             {"json", RS_FMT_JSON},
             {"avro", RS_FMT_AVRO},
             {"confluent", RS_FMT_CONFLUENT}},
     .desc = "Encoding of input events; `auto` detects it per message."},
    {.name = "output.format",
     .section = S_TOPICS,
     .type = RS_CONF_ENUM,
     .offset = OFF(output_format),
     .idef = RS_FMT_AVRO,
     .s2i = {{"avro", RS_FMT_AVRO}, {"confluent", RS_FMT_CONFLUENT}, {"json", RS_FMT_JSON}},
     .desc = "Encoding of output records: recommendations, alerts and segment changes."},
    INT("output.schema.id", S_TOPICS, output_schema_id, 1, 0, 2147483647,
        "Schema id of recommendation records in the Confluent framing (`output.format = "
        "confluent`)."),
    INT("output.schema.id.alerts", S_TOPICS, output_schema_id_alerts, 2, 0, 2147483647,
        "Schema id of alert records (schemas/alert.avsc) in the Confluent framing."),
    INT("output.schema.id.segments", S_TOPICS, output_schema_id_segments, 3, 0, 2147483647,
        "Schema id of segment change records (schemas/segment_change.avsc) in the Confluent "
        "framing."),

    /* state store */
    STR("state.dir", S_STATE, state_dir, "./state",
        "RocksDB directory: profiles, co-occurrence counts, consumed offsets."),
    BOOL("state.sync", S_STATE, state_sync, 0,
         "fsync the write-ahead log on every commit (slower, survives power loss)."),
    INT("state.cache.mb", S_STATE, state_cache_mb, 64, 1, 65536,
        "RocksDB block cache size in MiB."),
    INT("state.write.buffer.mb", S_STATE, state_write_buffer_mb, 16, 1, 4096,
        "RocksDB memtable size per column family in MiB."),
    INT("state.retry.ms", S_STATE, state_retry_ms, 1000, 10, 600000,
        "When a state write fails (disk full, I/O error) consumption pauses, /readyz answers "
        "503 and the write is retried at this interval until it succeeds; nothing is lost or "
        "applied twice."),
    INT("batch.max.events", S_STATE, batch_max_events, 100000, 1, 10000000,
        "Most records taken from the consumer (and at most 200 ms of work) before the users "
        "they touched are re-scored and their changed lists emitted. Under backlog a larger "
        "batch refreshes a busy user's list once instead of once per event."),
    INT("rec.coalesce.ms", S_STATE, rec_coalesce_ms, 1000, 0, 600000,
        "Under backlog (the consumer holds more records than one batch takes), the users "
        "touched are re-scored at most once per this interval instead of after every batch, "
        "and always before a commit and once caught up: during a catch-up a busy user gets "
        "one list instead of a list per batch, as Kafka Streams' record cache does. 0: after "
        "every batch."),
    INT("commit.interval.ms", S_STATE, commit_interval_ms, 1000, 1, 600000,
        "State changes aggregate in memory and are written with the consumed offsets in ONE "
        "RocksDB WriteBatch at this interval; a crash replays at most this much."),
    INT("commit.max.events", S_STATE, commit_max_events, 500000, 1, 100000000,
        "Commit earlier once this many records are uncommitted (bounds memory and replay)."),
    INT("dedup.window", S_STATE, dedup_window, 1000000, 1, 100000000,
        "Number of recent event ids remembered to drop duplicates."),

    /* retention and privacy (SPEC F19): one block, see src/engine/rs_state_ttl.c */
    I64("state.user.ttl.ms", S_PRIV, state_user_ttl_ms, 0, 0, 100 * YEAR_MS,
        "Idle-user retention in milliseconds of EVENT time; 0 = keep users forever. A user whose "
        "last event is older than the newest event applied so far minus this is gone: reads no "
        "longer see it, its next event starts a fresh profile, it leaves the segment counts, and "
        "its record is removed from RocksDB by a compaction filter. Replaying old history expires "
        "only users idle this long within the replayed time, never by the wall clock. Item and "
        "co-occurrence counts are aggregates and stay."),
    I64("state.user.ttl.compact.ms", S_PRIV, state_user_ttl_compact_ms, DAY_MS, 0, YEAR_MS,
        "With state.user.ttl.ms set: RocksDB rewrites user records older than this (wall clock, "
        "periodic compaction) so expired users leave the disk even without write traffic into "
        "their key range; 0 = only RocksDB's own compactions (at most 30 days)."),
    {.name = "privacy.user.id.hash",
     .section = S_PRIV,
     .type = RS_CONF_BOOL,
     .offset = OFF(privacy_user_id_hash),
     .idef = 0,
     .desc = "Replace every user id at ingest (after validation) by HMAC-SHA256(salt, id) as 32 "
             "lowercase hex characters: state, recommendations, segments, alerts and logs only "
             "see the hash. delete-user, inspect and HTTP /v1/users/<id> accept the raw id and "
             "hash it the same way. Changing the salt (or turning this on with existing state) "
             "orphans the existing profiles."},
    {.name = "privacy.user.id.salt",
     .section = S_PRIV,
     .type = RS_CONF_STR,
     .offset = OFF(privacy_user_id_salt),
     .sdef = "",
     .flags = RS_CONF_F_SENSITIVE | RS_CONF_F_EMPTY_OK,
     .desc = "Secret key of privacy.user.id.hash: with hashing on, anything shorter than 16 "
             "bytes refuses to start. Masked as *** in config dumps and never logged. Keep it out "
             "of version control, e.g. pass it with -X "
             "from a secret store."},

    /* profiles and co-occurrence */
    INT("profile.recent.items", S_PROF, recent_items, 20, 1, 1000,
        "Size of the per-user ring of recently interacted items."),
    INT("profile.purchased.max", S_PROF, purchased_max, 50, 0, 10000,
        "Most purchased items remembered per user."),
    I64("profile.session.gap.ms", S_PROF, profile_session_gap_ms, 30 * 60 * 1000, 1000, DAY_MS,
        "Events further apart than this start a new session (when events carry no session id)."),
    I64("profile.affinity.halflife.ms", S_PROF, profile_affinity_halflife_ms, 30 * DAY_MS, 60000,
        10 * YEAR_MS, "Half-life of a user's category and brand affinities (event time)."),
    INT("cooc.window.count", S_PROF, cooc_window_count, 10, 1, 1000,
        "A new item is paired with at most this many of the user's recent items."),
    I64("cooc.window.ms", S_PROF, cooc_window_ms, 30 * DAY_MS, 1, YEAR_MS,
        "Pair only with recent items at most this old (ms)."),
    {.name = "cooc.pair.weight",
     .section = S_PROF,
     .type = RS_CONF_ENUM,
     .offset = OFF(cooc_pair_weight),
     .idef = RS_PAIRW_POSITION,
     .s2i = {{"position", RS_PAIRW_POSITION}, {"type", RS_PAIRW_TYPE}},
     .desc = "Weight of a co-occurrence: position = 1/(1+p) for the p-th most recent item (x60, "
             "integer), type = the smaller of the two event-type weights. An item already among "
             "the user's cooc.window.count most recent items adds no pairs."},

    /* event weights, in rs_evtype_t order */
    WEIGHT("view", RS_EV_VIEW, 1),
    WEIGHT("click", RS_EV_CLICK, 1),
    WEIGHT("cart", RS_EV_CART, 3),
    WEIGHT("purchase", RS_EV_PURCHASE, 5),
    WEIGHT("like", RS_EV_LIKE, 2),
    WEIGHT("share", RS_EV_SHARE, 2),
    WEIGHT("review", RS_EV_REVIEW, 2),
    WEIGHT("impression", RS_EV_IMPRESSION, 0),

    /* recommendations */
    INT("rec.k", S_REC, rec_k, 10, 1, 1000, "Items per recommendation list."),
    {.name = "rec.similarity",
     .section = S_REC,
     .type = RS_CONF_ENUM,
     .offset = OFF(rec_similarity),
     .idef = RS_SIM_COSINE,
     .s2i = {{"cosine", RS_SIM_COSINE}, {"llr", RS_SIM_LLR}},
     .desc = "Item-item similarity: cosine of weighted counts, or log-likelihood ratio."},
    INT("rec.neighbors", S_REC, rec_neighbors, 50, 1, 10000,
        "Top-N most similar neighbours kept per item."),
    INT("rec.recent", S_REC, rec_recent, 10, 1, 1000,
        "Most recent items of the user used as seeds."),
    {.name = "rec.recency",
     .section = S_REC,
     .type = RS_CONF_ENUM,
     .offset = OFF(rec_recency),
     .idef = RS_RECENCY_HARMONIC,
     .s2i = {{"harmonic", RS_RECENCY_HARMONIC}, {"exponential", RS_RECENCY_EXPONENTIAL}},
     .desc = "Seed weights: harmonic = 1/(1+i) for the i-th most recent item, exponential = "
             "rec.recency.decay^i."},
    DBL("rec.recency.decay", S_REC, rec_recency_decay, 0.8, 0.0, 1.0,
        "Exponential seed weighting: the i-th most recent seed weighs decay^i."),
    DBL("rec.alpha", S_REC, rec_alpha, 0.85, 0.0, 1.0,
        "Cosine family: sim(a,b) = c(a,b) / (n(a)^alpha * n(b)^(1-alpha)); 0.5 = plain cosine, "
        "higher favours popular neighbours of rare seeds less."),
    BOOL("rec.type.boost", S_REC, rec_type_boost, 0,
         "Weigh seeds also by sqrt(weight of their event type / view weight)."),
    {.name = "rec.popular.order",
     .section = S_REC,
     .type = RS_CONF_ENUM,
     .offset = OFF(rec_popular_order),
     .idef = RS_POPORDER_COUNT,
     .s2i = {{"count", RS_POPORDER_COUNT}, {"decayed", RS_POPORDER_DECAYED}},
     .desc = "Order of the popularity fill: count = distinct users (ties: most recently gained "
             "first), decayed = event-time-decayed weight (popularity.halflife.ms)."},
    BOOL("rec.category.fill", S_REC, rec_category_fill, 1,
         "Before the global popularity fill, fill with popular items of the category of the "
         "user's most recent item."),
    DBL("rec.content.weight", S_REC, rec_content_weight, 0.0, 0.0, 1000.0,
        "Content boost: a kNN candidate's score is multiplied by 1 + weight x the user's "
        "affinity to its category plus brand (recency-weighted shares of the recent items)."),
    INT("rec.diversity.max", S_REC, rec_diversity_max, 0, 0, 1000,
        "At most this many items of one category in a list (0 = no cap)."),
    BOOL("rec.exclude.seen", S_REC, rec_exclude_seen, 1,
         "Leave out items the user already interacted with."),
    BOOL("rec.exclude.purchased", S_REC, rec_exclude_purchased, 1,
         "Leave out items the user already purchased."),
    I64("rec.min.interval.ms", S_REC, rec_min_interval_ms, 0, 0, 7 * DAY_MS,
        "Least time between two recommendation records for one user (0 = no limit)."),
    INT("rec.popular", S_REC, rec_popular, 100, 0, 100000,
        "Size of the popularity list used as fallback for new or sparse users."),
    STR_OPT("rec.blocklist", S_REC, rec_blocklist, "",
            "Comma-separated item ids that are never recommended."),
    I64("rec.repurchase.ms", S_REC, rec_repurchase_ms, 0, 0, 10 * YEAR_MS,
        "A purchased item may be recommended again this long after its last purchase (0 = "
        "never; rec.exclude.purchased must be on)."),
    {.name = "rec.repurchase.categories",
     .section = S_REC,
     .type = RS_CONF_STR,
     .offset = OFF(rec_repurchase_categories),
     .sdef = "",
     .flags = RS_CONF_F_EMPTY_OK,
     .check = check_ms_list,
     .desc = "Per-category repurchase windows overriding rec.repurchase.ms, e.g. "
             "\"groceries=604800000,pet-food=2592000000\" (0 = never)."},
    DBL("rules.min.count", S_REC, rules_min_count, 2.0, 0.0, 1e12,
        "Association rules A -> B need at least this many co-occurrences (pair units: one "
        "user with A and B adjacent adds 1)."),
    DBL("rules.min.support", S_REC, rules_min_support, 0.0, 0.0, 1.0,
        "Association rules need support (co-occurrences / all item users) at least this."),
    DBL("rules.min.confidence", S_REC, rules_min_confidence, 0.0, 0.0, 1.0,
        "Association rules need confidence (co-occurrences / users of A) at least this."),
    DBL("rules.min.lift", S_REC, rules_min_lift, 0.0, 0.0, 1e12,
        "Association rules need lift (confidence / share of B) at least this."),
    I64("popularity.halflife.ms", S_REC, popularity_halflife_ms, DAY_MS, 1000, YEAR_MS,
        "Half-life of the exponentially decayed popularity counts (ms)."),
    I64("trending.halflife.ms", S_REC, trending_halflife_ms, 3600000, 1000, YEAR_MS,
        "Short window of the trending score (rate over this half-life / rate over "
        "popularity.halflife.ms)."),
    DBL("rec.trending.min", S_REC, rec_trending_min, 3.0, 1.0, 1e9,
        "A popular item in a list is explained as \"trending\" when its trending score is at "
        "least this."),

    /* segments */
    BOOL("segments.enable", S_SEG, segments_enable, 1,
         "RFM segments and behavioural clusters per user; changes go to topic.segments."),
    INT("segments.clusters", S_SEG, segments_clusters, 4, 2, 32,
        "k of the behavioural mini-batch k-means; clusters are named cluster-0 .. cluster-(k-1)."),
    INT("segments.cluster.min.events", S_SEG, segments_cluster_min_events, 15, 1, 1000000,
        "Events a user needs before being clustered (fewer: no behavioural segment)."),
    INT("segments.cluster.batch", S_SEG, segments_cluster_batch, 256, 16, 65536,
        "Users per k-means mini-batch (one centroid refresh on the thread pool)."),
    I64("segments.refresh.ms", S_SEG, segments_refresh_ms, 3600000, 1000, YEAR_MS,
        "Event time between sweeps that re-score every loaded user (recency ages and "
        "quintile bounds move without the user acting)."),

    /* alerts */
    BOOL("alert.enable", S_ALERT, alert_enable, 1,
         "Fraud/anomaly detectors; alerts go to topic.alerts."),
    I64("alert.episode.gap.ms", S_ALERT, alert_episode_gap_ms, 600000, 1000, YEAR_MS,
        "A rule fires once per episode: it fires again for the same user or item only "
        "after it stayed quiet this long (event time)."),
    I64("alert.rate.bucket.ms", S_ALERT, alert_rate_bucket_ms, 60000, 1000, DAY_MS,
        "Event-rate burst: events per user are counted per bucket of this length."),
    DBL("alert.rate.alpha", S_ALERT, alert_rate_alpha, 0.05, 0.0001, 1.0,
        "Event-rate burst: EWMA weight of a closed bucket in the user's baseline mean and "
        "variance."),
    DBL("alert.rate.z", S_ALERT, alert_rate_z, 10.0, 1.0, 1e6,
        "Event-rate burst: z-score of the current bucket over the baseline that fires."),
    INT("alert.rate.min.events", S_ALERT, alert_rate_min_events, 100, 1, 100000000,
        "Event-rate burst: events in one bucket needed as well."),
    I64("alert.bot.window.ms", S_ALERT, alert_bot_window_ms, 10000, 100, DAY_MS,
        "Bot pattern: window in which views are counted."),
    INT("alert.bot.min.views", S_ALERT, alert_bot_min_views, 50, 2, 100000000,
        "Bot pattern: views in one window (with no cart or purchase) that fire."),
    I64("alert.bot.max.dwell.ms", S_ALERT, alert_bot_max_dwell_ms, 1000, 0, DAY_MS,
        "Bot pattern: the mean gap between the window's views must be at most this."),
    DBL("alert.amount.factor", S_ALERT, alert_amount_factor, 10.0, 1.0, 1e9,
        "Big purchase: a purchase priced at least this many times the user's mean "
        "purchase price."),
    INT("alert.amount.min.history", S_ALERT, alert_amount_min_history, 2, 1, 1000000,
        "Big purchase: earlier priced purchases the user needs (a baseline)."),
    I64("alert.card.window.ms", S_ALERT, alert_card_window_ms, 30000, 1000, DAY_MS,
        "Card testing: window in which separate purchases are counted."),
    INT("alert.card.min.purchases", S_ALERT, alert_card_min_purchases, 6, 2, 1000000,
        "Card testing: purchases at distinct times within one window that fire (items "
        "bought together in one checkout count once)."),
    I64("alert.item.bucket.ms", S_ALERT, alert_item_bucket_ms, 60000, 1000, DAY_MS,
        "Item spike: events per item are counted per bucket of this length."),
    DBL("alert.item.alpha", S_ALERT, alert_item_alpha, 0.05, 0.0001, 1.0,
        "Item spike: EWMA weight of a closed bucket in the item's baseline."),
    DBL("alert.item.z", S_ALERT, alert_item_z, 8.0, 1.0, 1e6,
        "Item spike: z-score of the current bucket over the baseline that fires."),
    DBL("alert.item.factor", S_ALERT, alert_item_factor, 5.0, 1.0, 1e9,
        "Item spike: the bucket must also hold this many times the baseline mean."),
    INT("alert.item.min.events", S_ALERT, alert_item_min_events, 100, 1, 100000000,
        "Item spike: events in one bucket needed as well."),
    I64("alert.item.warmup.ms", S_ALERT, alert_item_warmup_ms, 60000, 0, YEAR_MS,
        "Item spike: an item is watched once it has been seen this long (a baseline), or once "
        "this long has passed since the detector started without it (it was quiet)."),

    /* validation */
    I64("validate.max.future.ms", S_VALID, validate_max_future_ms, 300000, 0, YEAR_MS,
        "Reject events whose timestamp is further than this ahead of the wall clock."),
    DBL("validate.max.price", S_VALID, validate_max_price, 10000000.0, 0.0, 1e12,
        "Reject events with a price above this."),
    INT("validate.max.bytes", S_VALID, validate_max_bytes, 65536, 64, 16777216,
        "Reject encoded events larger than this many bytes."),
    INT("validate.max.id.len", S_VALID, validate_max_id_len, 256, 1, 65535,
        "Reject events whose user, item or session id is longer than this."),

    /* http and logging */
    STR("http.host", S_HTTP, http_host, "127.0.0.1",
        "Address the HTTP server (metrics, health, read APIs) listens on."),
    INT("http.port", S_HTTP, http_port, 8080, 0, 65535, "HTTP port; 0 disables the server."),
    INT("http.max.rps", S_HTTP, http_max_rps, 1000, 0, 1000000,
        "Requests per second over all clients before 429 Too Many Requests (0 = no limit)."),
    INT("http.client.max.rps", S_HTTP, http_client_max_rps, 250, 0, 1000000,
        "Requests per second from one client IP address before 429 (0 = no limit); a "
        "refused request does not use up `http.max.rps`."),
    INT("http.timeout.ms", S_HTTP, http_timeout_ms, 10000, 0, 3600000,
        "A connection is closed this long after it was accepted, answered or not (0 = never)."),
    {.name = "log.level",
     .section = S_HTTP,
     .type = RS_CONF_ENUM,
     .offset = OFF(log_level),
     .idef = RS_LOG_INFO,
     .s2i = {{"error", RS_LOG_ERROR},
             {"warn", RS_LOG_WARN},
             {"info", RS_LOG_INFO},
             {"debug", RS_LOG_DEBUG}},
     .desc = "Lowest level of log lines written to stderr."},

    {.name = NULL},
};
