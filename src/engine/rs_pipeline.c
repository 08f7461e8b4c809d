/* rs_pipeline.c -- decode/validate/dedup/apply per record; score/commit/emit
 * per batch (see rs_pipeline.h).
 *
 * Invariants
 * - Every record advances its partition's stored offset, good or bad, so a
 *   bad record is never re-read after its batch committed.
 * - Scoring and emitting happen per poll batch (low latency); the state and
 *   offsets are committed per commit interval (one WriteBatch, so hot users
 *   and pairs are written once per interval, not once per event). Outputs
 *   are therefore at-least-once: a crash replays the uncommitted records and
 *   re-emits their lists (a version number may repeat); the state itself is
 *   exactly-once. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recstream/rs_log.h"
#include "recstream/rs_pipeline.h"
#include "recstream/rs_score.h"

struct rs_pipeline {
    const rs_conf_t *conf;
    rs_sink_t sink;
    rs_stats_t *stats;
    rs_state_t *st;
    rs_codec_t *codec;
    rs_scorer_t *scorer;
    rs_scored_t *scored;
    rs_rec_item_t *rec_items;
    char (*reasons)[160];
    rs_buf_t enc;
    /* users whose emit was rate-limited */
    rs_user_t **limited;
    size_t n_limited, cap_limited;
    /* segments and alerts (NULL when off) */
    rs_alerter_t *alerter;
    rs_segmenter_t *seg;
    rs_executor_t exec;       /* the owner's (submit NULL = inline) */
    rs_executor_t exec_tramp; /* what the segmenter holds: forwards to exec */
    rs_alert_t alerts[RS_ALERT__RULE_COUNT];
    rs_segment_change_t changes[RS_SEG__KIND_COUNT];
    int64_t origin_saved; /* the alerter origin last staged (or loaded) */
    int64_t next_sweep;   /* event time of the next sweep over loaded users (0 = unset) */
    size_t sweep_cursor;
    int sweeping;
    int had_centroids; /* the sweep for the first centroids has started */
    int64_t last_ts;   /* event time of the record just processed, 0 if it was not valid */
};

/* The segmenter is built before the owner can name its executor. */
static int exec_forward(void *opaque, void (*work)(void *), void (*done)(void *), void *arg) {
    rs_pipeline_t *p = opaque;
    return p->exec.submit ? p->exec.submit(p->exec.opaque, work, done, arg) : -1;
}

static int out_format(const rs_conf_t *conf) {
    return conf->output_format == RS_FMT_AUTO ? RS_FMT_AVRO : conf->output_format;
}

static void segment_gauges(rs_pipeline_t *p) {
    for (int r = 0; r < RS_RFM__COUNT; r++)
        p->stats->segment_rfm[r] = rs_segment_rfm_size(p->seg, (rs_rfm_t)r);
    int k = rs_segment_cluster_count(p->seg);
    p->stats->segment_clusters = (uint32_t)k;
    for (int c = 0; c < k && c < RS_SEGMENT_MAX_CLUSTERS; c++)
        p->stats->segment_cluster[c] = rs_segment_cluster_size(p->seg, c);
}

static void emit_alert(rs_pipeline_t *p, const rs_alert_t *a) {
    p->stats->alerts[a->rule]++;
    if (!p->sink.alert) return;
    rs_buf_reset(&p->enc);
    if (rs_codec_encode_alert(p->codec, a, rs_now_ms(), (rs_format_t)out_format(p->conf),
                              p->conf->output_schema_id_alerts, &p->enc)) {
        rs_error("pipeline", "encoding alert %s failed", a->id);
        return;
    }
    const char *key = a->user_id ? a->user_id : a->item_id;
    size_t klen = a->user_id ? a->user_len : a->item_len;
    p->sink.alert(p->sink.opaque, a, key, klen, p->enc.p, p->enc.len);
}

static void emit_segments(rs_pipeline_t *p, rs_user_t *u, int64_t now) {
    size_t n = rs_segment_eval(p->seg, u, now, p->changes);
    if (!n) return;
    rs_state_user_recs_dirty(p->st, u); /* the new segment is stored with the profile */
    for (size_t i = 0; i < n; i++) {
        const rs_segment_change_t *c = &p->changes[i];
        p->stats->segment_changes[c->kind]++;
        if (!p->sink.segment) continue;
        rs_buf_reset(&p->enc);
        if (rs_codec_encode_segment(p->codec, c, rs_now_ms(), (rs_format_t)out_format(p->conf),
                                    p->conf->output_schema_id_segments, &p->enc)) {
            rs_error("pipeline", "encoding a segment change for %.*s failed", (int)u->id_len,
                     u->id);
            continue;
        }
        p->sink.segment(p->sink.opaque, c, u->id, u->id_len, p->enc.p, p->enc.len);
    }
}

/* state.user.ttl.ms: a user the state expires leaves the segment counts in
 * the same WriteBatch as the delete of its record (rs_state_on_expire). */
static void on_user_expired(void *opaque, rs_user_t *u) {
    rs_pipeline_t *p = opaque;
    rs_segment_forget(p->seg, u);
}

rs_err_t rs_pipeline_new(rs_pipeline_t **out, const rs_conf_t *conf, const rs_sink_t *sink,
                         rs_stats_t *stats, char *errstr, size_t errstr_size) {
    rs_pipeline_t *p = rs_xcalloc(1, sizeof(*p));
    p->conf = conf;
    p->sink = *sink;
    p->stats = stats;
    int rc = rs_codec_new(&p->codec, errstr, errstr_size);
    if (rc) goto fail;
    rc = rs_state_open(&p->st, conf, errstr, errstr_size);
    if (rc) goto fail;
    p->scorer = rs_scorer_new(conf);
    size_t k = (size_t)conf->rec_k;
    p->scored = rs_xcalloc(k ? k : 1, sizeof(*p->scored));
    p->rec_items = rs_xcalloc(k ? k : 1, sizeof(*p->rec_items));
    p->reasons = rs_xcalloc(k ? k : 1, sizeof(*p->reasons));
    if (conf->alert_enable) {
        /* the detector's origin survives restarts, so item_spike alerts
         * (and their ids) do not depend on when the process started */
        p->alerter = rs_alerter_new(conf);
        rs_buf_t b = {0};
        if (rs_state_blob_get(p->st, "alert.origin", &b) == 1 && b.len == 8)
            rs_alerter_set_origin(p->alerter, (int64_t)rs_get_u64((const unsigned char *)b.p));
        p->origin_saved = rs_alerter_origin(p->alerter);
        rs_buf_free(&b);
    }
    if (conf->segments_enable) {
        p->exec_tramp = (rs_executor_t){p, exec_forward};
        rc = rs_segmenter_new(&p->seg, conf, p->st, &p->exec_tramp, errstr, errstr_size);
        if (rc) goto fail;
        rs_state_on_expire(p->st, on_user_expired, p);
        segment_gauges(p);
    }
    *out = p;
    return RS_OK;
fail:
    rs_pipeline_destroy(p);
    return rc;
}

void rs_pipeline_destroy(rs_pipeline_t *p) {
    if (!p) return;
    rs_segmenter_destroy(p->seg);
    rs_alerter_destroy(p->alerter);
    rs_state_close(p->st);
    rs_codec_destroy(p->codec);
    rs_scorer_destroy(p->scorer);
    free(p->scored);
    free(p->rec_items);
    free(p->reasons);
    rs_buf_free(&p->enc);
    free(p->limited);
    free(p);
}

rs_state_t *rs_pipeline_state(rs_pipeline_t *p) {
    return p->st;
}

void rs_pipeline_set_executor(rs_pipeline_t *p, const rs_executor_t *exec) {
    p->exec = exec ? *exec : (rs_executor_t){0};
}

int64_t rs_pipeline_last_ts(const rs_pipeline_t *p) {
    return p->last_ts;
}

int rs_pipeline_busy(const rs_pipeline_t *p) {
    return p->seg && rs_segment_busy(p->seg);
}

rs_segmenter_t *rs_pipeline_segmenter(rs_pipeline_t *p) {
    return p->seg;
}

size_t rs_pipeline_pending(const rs_pipeline_t *p) {
    return rs_state_uncommitted(p->st);
}

static void reject(rs_pipeline_t *p, const rs_msg_t *m, rs_reject_t r, const char *detail) {
    p->stats->dlq[r]++;
    if (p->sink.dlq) p->sink.dlq(p->sink.opaque, m, r, detail);
}

void rs_pipeline_reject(rs_pipeline_t *p, const rs_msg_t *m, rs_reject_t r, const char *detail) {
    reject(p, m, r, detail);
}

/* Validate, dedup, apply. Returns the rejection reason (NONE if applied or
 * dropped as duplicate). */
static rs_reject_t admit(rs_pipeline_t *p, const rs_event_t *ev, size_t raw_len, int64_t origin_us,
                         char *detail, size_t detail_size) {
    rs_reject_t r = rs_validate_event(ev, p->conf, rs_now_ms(), raw_len, detail, detail_size);
    if (r != RS_REJ_NONE) return r;
    p->last_ts = ev->ts_ms;
    if (rs_state_dedup(p->st, ev->event_id.p, ev->event_id.len)) {
        p->stats->events_duplicate++;
        return RS_REJ_NONE;
    }
    int late = 0;
    rs_user_t *u = rs_state_apply(p->st, ev, origin_us, &late);
    p->stats->events_applied++;
    if (late) p->stats->events_late++;
    rs_item_t *it = rs_state_applied_item(p->st);
    if (p->seg) rs_segment_on_event(p->seg, u, it, ev);
    if (p->alerter) {
        size_t n = rs_alert_check(p->alerter, &u->alert, u->id, u->id_len, &it->alert, it->id,
                                  it->id_len, ev, p->alerts);
        for (size_t i = 0; i < n; i++) emit_alert(p, &p->alerts[i]);
    }
    return RS_REJ_NONE;
}

void rs_pipeline_process(rs_pipeline_t *p, const rs_msg_t *m) {
    char detail[256];
    p->last_ts = 0;
    /* The client can hand out a record again (a refetch after a fetch error
     * or a leader change): its effects are already in the state. The dedup
     * window would catch most, but not an id that left it, nor an invalid
     * record, which would reach the DLQ twice. */
    if (m->topic && !rs_state_offset_consumed(p->st, m->topic, m->partition, m->offset)) {
        p->stats->events_refetched++;
        return;
    }
    p->stats->events_in++;
    if (m->len > (size_t)p->conf->validate_max_bytes) {
        snprintf(detail, sizeof(detail), "record of %zu bytes > validate.max.bytes %d", m->len,
                 p->conf->validate_max_bytes);
        reject(p, m, RS_REJ_OVERSIZE, detail);
        return;
    }
    rs_event_t ev;
    int32_t schema_id = -1;
    int rc = rs_codec_decode_event(p->codec, m->payload, m->len, (rs_format_t)p->conf->input_format,
                                   &ev, &schema_id, detail, sizeof(detail));
    if (rc) {
        reject(p, m, RS_REJ_MALFORMED, detail);
        return;
    }
    rs_reject_t r = admit(p, &ev, m->len, m->origin_us, detail, sizeof(detail));
    if (r != RS_REJ_NONE) reject(p, m, r, detail);
}

void rs_pipeline_process_event(rs_pipeline_t *p, const rs_event_t *ev, int64_t origin_us) {
    char detail[256];
    p->stats->events_in++;
    rs_reject_t r = admit(p, ev, 0, origin_us, detail, sizeof(detail));
    if (r != RS_REJ_NONE) {
        rs_msg_t m = {0};
        reject(p, &m, r, detail);
    }
}

static const char *verb(int type) {
    switch (type) {
    case RS_EV_CART:
        return "added to cart";
    case RS_EV_PURCHASE:
        return "bought";
    case RS_EV_LIKE:
        return "liked";
    case RS_EV_SHARE:
        return "shared";
    case RS_EV_REVIEW:
        return "reviewed";
    case RS_EV_CLICK:
        return "clicked";
    default:
        return "viewed";
    }
}

/* Appends s[0..n) to buf at *at, truncating at size - 1. */
static void reason_put(char *buf, size_t size, size_t *at, const char *s, size_t n) {
    if (*at + n > size - 1) n = size - 1 - *at;
    memcpy(buf + *at, s, n);
    *at += n;
}

/* Built with memcpy rather than snprintf: ten per emitted list, where
 * snprintf's format parsing was ~3% of the loop thread. Names are cut at
 * 100 bytes. */
void rs_pipeline_reason(rs_state_t *st, uint32_t because, int because_type, char *buf,
                        size_t size) {
    size_t at = 0;
    if (!size) return;
    if (because_type == RS_BECAUSE_TRENDING) {
        reason_put(buf, size, &at, "trending", 8);
    } else if (because_type == RS_BECAUSE_CATEGORY) {
        uint32_t n;
        const char *cat = rs_state_name(st, because, &n);
        reason_put(buf, size, &at, "popular in ", 11);
        reason_put(buf, size, &at, cat, n > 100 ? 100 : n);
    } else {
        const rs_item_t *it = because == UINT32_MAX ? NULL : rs_state_item_by_idx(st, because);
        if (!it) {
            reason_put(buf, size, &at, "popular", 7);
        } else {
            const char *v = verb(because_type);
            reason_put(buf, size, &at, "because you ", 12);
            reason_put(buf, size, &at, v, strlen(v));
            reason_put(buf, size, &at, " ", 1);
            reason_put(buf, size, &at, it->id, it->id_len > 100 ? 100 : it->id_len);
        }
    }
    buf[at] = 0;
}

/* Scores one user; emits the encoded list if it changed. */
static void score_user(rs_pipeline_t *p, rs_user_t *u) {
    const rs_conf_t *conf = p->conf;
    const char *strategy;
    size_t n = rs_score_user(p->scorer, p->st, u, p->scored, (size_t)conf->rec_k, &strategy);
    uint64_t h = rs_score_list_hash(p->scored, n);
    if (h == u->rec_hash && u->rec_version > 0) {
        p->stats->recs_unchanged++;
        return;
    }
    if (conf->rec_min_interval_ms > 0 && u->rec_version > 0 &&
        u->rec_ts - u->rec_emit_ms < conf->rec_min_interval_ms) {
        if (!u->pending) {
            u->pending = 1;
            if (p->n_limited == p->cap_limited) {
                p->cap_limited = p->cap_limited ? p->cap_limited * 2 : 64;
                p->limited = rs_xrealloc(p->limited, p->cap_limited * sizeof(*p->limited));
            }
            p->limited[p->n_limited++] = u;
        }
        return;
    }
    u->rec_hash = h;
    u->rec_version++;
    u->rec_emit_ms = u->rec_ts;
    rs_state_user_recs_dirty(p->st, u);

    for (size_t i = 0; i < n; i++) {
        const rs_item_t *it = rs_state_item_by_idx(p->st, p->scored[i].item);
        rs_pipeline_reason(p->st, p->scored[i].because, p->scored[i].because_type, p->reasons[i],
                           sizeof(p->reasons[i]));
        p->rec_items[i] = (rs_rec_item_t){rs_str(it->id, it->id_len), p->scored[i].score,
                                          rs_str(p->reasons[i], (uint32_t)strlen(p->reasons[i]))};
    }
    rs_rec_t rec = {rs_str(u->id, u->id_len),
                    u->rec_version,
                    u->rec_ts,
                    rs_now_ms(),
                    rs_str(strategy, (uint32_t)strlen(strategy)),
                    p->rec_items,
                    (uint32_t)n};
    rs_buf_reset(&p->enc);
    if (rs_codec_encode_rec(p->codec, &rec, (rs_format_t)out_format(conf), conf->output_schema_id,
                            &p->enc)) {
        rs_error("pipeline", "encoding recommendations for %.*s failed", (int)u->id_len, u->id);
        return;
    }
    if (p->sink.rec)
        p->sink.rec(p->sink.opaque, &rec, u->id, u->id_len, p->enc.p, p->enc.len, u->origin_us);
    p->stats->recs_emitted++;
}

/* Every segments.refresh.ms of event time, every loaded user is re-scored
 * (recency ages and quintile bounds move without the user acting), a
 * bounded slice per scoring call so no batch stalls. A user added while a
 * sweep runs may move the table and be skipped or seen twice: harmless,
 * the next sweep or the user's next event catches up. */
#define SWEEP_SLICE 4096

static void sweep_step(rs_pipeline_t *p, int64_t now) {
    if (!now) return;
    if (!p->next_sweep) p->next_sweep = now + p->conf->segments_refresh_ms;
    /* The first centroids: every loaded user gets a cluster now. Otherwise
     * only users who act again would, and a backlog read in a few batches
     * (the demo) ends with every user unclustered. */
    if (!p->had_centroids && rs_segment_cluster_count(p->seg)) {
        p->had_centroids = 1;
        if (!p->sweeping) p->sweeping = 1, p->sweep_cursor = 0;
    }
    if (!p->sweeping) {
        if (now < p->next_sweep) return;
        p->sweeping = 1;
        p->sweep_cursor = 0;
        p->next_sweep = now + p->conf->segments_refresh_ms;
    }
    rs_user_t *u;
    for (size_t i = 0; i < SWEEP_SLICE; i++) {
        if (!(u = rs_state_user_next(p->st, &p->sweep_cursor))) {
            p->sweeping = 0;
            break;
        }
        emit_segments(p, u, now);
    }
}

void rs_pipeline_score(rs_pipeline_t *p) {
    size_t n_touched;
    rs_user_t **touched = rs_state_touched(p->st, &n_touched);
    for (size_t i = 0; i < n_touched; i++) score_user(p, touched[i]);
    if (p->seg) {
        int64_t now = rs_state_event_now(p->st);
        for (size_t i = 0; i < n_touched; i++) emit_segments(p, touched[i], now);
        sweep_step(p, now);
        segment_gauges(p);
    }
    /* rate-limited users whose interval has passed in event time */
    if (p->n_limited) {
        int64_t now = rs_state_event_now(p->st);
        size_t keep = 0;
        for (size_t i = 0; i < p->n_limited; i++) {
            rs_user_t *u = p->limited[i];
            if (now - u->rec_emit_ms >= p->conf->rec_min_interval_ms) {
                u->pending = 0;
                if (u->rec_ts < now) u->rec_ts = now;
                score_user(p, u);
            } else {
                p->limited[keep++] = u;
            }
        }
        p->n_limited = keep;
    }
    rs_state_touched_reset(p->st);
    /* spread the commit's serialisation over the interval (see rs_state.h) */
    rs_state_commit_step(p->st, n_touched * 2 + 256);
}

void rs_pipeline_settle(rs_pipeline_t *p) {
    if (!p->seg) return;
    do rs_pipeline_score(p);
    while (p->sweeping);
}

void rs_pipeline_prepare_commit(rs_pipeline_t *p) {
    if (p->seg) rs_segment_stage(p->seg);
    if (p->alerter && rs_alerter_origin(p->alerter) != p->origin_saved) {
        unsigned char v[8];
        p->origin_saved = rs_alerter_origin(p->alerter);
        rs_put_u64(v, (uint64_t)p->origin_saved);
        rs_state_blob_set(p->st, "alert.origin", v, 8);
    }
}

rs_err_t rs_pipeline_commit(rs_pipeline_t *p, char *errstr, size_t errstr_size) {
    rs_pipeline_prepare_commit(p);
    size_t applied = rs_state_uncommitted(p->st);
    if (!applied) return RS_OK;
    int64_t t0 = rs_mono_us();
    int rc = rs_state_commit(p->st, errstr, errstr_size);
    if (rc) {
        p->stats->commit_errors++;
        return rc; /* every delta stays in memory for the retry */
    }
    rs_hist_add(&p->stats->commit_us, (uint64_t)(rs_mono_us() - t0));
    p->stats->batches++;
    rs_hist_add(&p->stats->batch_events, applied);
    return RS_OK;
}

rs_err_t rs_pipeline_flush(rs_pipeline_t *p, char *errstr, size_t errstr_size) {
    rs_pipeline_score(p);
    return rs_pipeline_commit(p, errstr, errstr_size);
}
