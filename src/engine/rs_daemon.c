/* rs_daemon.c -- wires Kafka, the pipeline, the loop and HTTP together
 * (see rs_daemon.h for the flow).
 *
 * Everything runs on the loop thread: the consumer and producer queues wake
 * the loop through their io-event pipes, rebalance callbacks run inside
 * rs_consumer_poll(), delivery reports inside rs_producer_poll(). A stop
 * request from another thread writes to a self-pipe the loop watches.
 *
 * Offsets: on assignment each partition starts at the offset stored in the
 * state (SPEC F7); before a revoke the current batch is committed, so the
 * stored offsets match the state exactly. Kafka's own committed offsets only
 * follow (auto-commit of offsets stored after each WriteBatch), for lag
 * monitoring and as the starting point of a fresh state directory.
 *
 * State write failures (disk full, I/O error, read-only filesystem): the
 * failed WriteBatch stays queued in rs_state (it is the only copy of those
 * deltas; later changes queue behind it) and the daemon pauses: every
 * assigned partition is paused in the consumer (re-paused after a
 * rebalance), so nothing more is applied while the consumer is still
 * polled (group membership, max.poll.interval.ms); no Kafka offset is
 * stored, since offsets only follow successful writes; /readyz answers 503
 * with the error; one error line is logged. Every state.retry.ms the oldest
 * batch is written again, on the loop thread (rs_rocks reopens the db on
 * that call, which must not overlap any other use of it). On success the
 * partitions resume where they stopped and the queue drains. Keeping the
 * batch rather than rebuilding it from Kafka is what makes this exact: the
 * in-memory state already holds those records, outputs (lists, DLQ) were
 * already produced, and re-consuming would apply and dead-letter them twice.
 * A shutdown while paused exits non-zero without the unwritten batches:
 * their records are consumed again from the last written offsets. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/rs_daemon_int.h"
#include "recstream/rs_log.h"

/* ------------------------------------------------------------- outputs */

/* What a produced message was, for its delivery report: the output kind in
 * the low 2 bits, the origin time of a list above them. */
enum { OUT_DLQ = 0, OUT_REC, OUT_ALERT, OUT_SEGMENT };

static void *opaque_encode(int64_t origin_us, int kind) {
    return (void *)(intptr_t)(((origin_us > 0 ? origin_us : 0) << 2) | kind);
}

static void send_retry(rs_daemon_t *d, const char *topic, const void *key, size_t klen,
                       const void *val, size_t vlen, const rs_header_t *h, size_t nh,
                       void *opaque) {
    for (int tries = 0;; tries++) {
        int rc = rs_producer_send(d->producer, topic, -1, key, klen, val, vlen, h, nh, opaque);
        if (rc == RS_OK) {
            d->in_flight++;
            return;
        }
        if (rc != RS_EFULL || tries > 3000) {
            rs_error("daemon", "produce to %s failed: %s", topic, rs_strerror(rc));
            return;
        }
        /* local queue full: serve delivery reports until there is room */
        rs_producer_flush(d->producer, 10);
    }
}

static void sink_rec(void *opaque, const rs_rec_t *rec, const void *key, size_t klen,
                     const void *val, size_t vlen, int64_t origin_us) {
    rs_daemon_t *d = opaque;
    send_retry(d, d->conf->topic_recommendations, key, klen, val, vlen, NULL, 0,
               opaque_encode(origin_us, OUT_REC));
}

static void sink_alert(void *opaque, const rs_alert_t *a, const void *key, size_t klen,
                       const void *val, size_t vlen) {
    rs_daemon_t *d = opaque;
    const char *rule = rs_alert_rule_name(a->rule);
    rs_header_t h[1] = {{"rs-rule", rule, strlen(rule)}};
    send_retry(d, d->conf->topic_alerts, key, klen, val, vlen, h, 1, opaque_encode(0, OUT_ALERT));
}

static void sink_segment(void *opaque, const rs_segment_change_t *c, const void *key, size_t klen,
                         const void *val, size_t vlen) {
    rs_daemon_t *d = opaque;
    (void)c;
    send_retry(d, d->conf->topic_segments, key, klen, val, vlen, NULL, 0,
               opaque_encode(0, OUT_SEGMENT));
}

static void sink_dlq(void *opaque, const rs_msg_t *m, rs_reject_t reason, const char *detail) {
    rs_daemon_t *d = opaque;
    char part[16], off[24];
    snprintf(part, sizeof(part), "%" PRId32, m->partition);
    snprintf(off, sizeof(off), "%" PRId64, m->offset);
    const char *rname = rs_reject_name(reason);
    rs_header_t h[5] = {
        {"rs-error", rname, strlen(rname)},
        {"rs-error-detail", detail, strlen(detail)},
        {"rs-source-topic", m->topic ? m->topic : "", m->topic ? strlen(m->topic) : 0},
        {"rs-source-partition", part, strlen(part)},
        {"rs-source-offset", off, strlen(off)},
    };
    rs_debug("daemon", "dlq %s [%s] %s@%s: %s", rname, m->topic ? m->topic : "", part, off, detail);
    send_retry(d, d->conf->topic_dlq, m->key, m->key_len, m->payload, m->len, h, 5,
               opaque_encode(0, OUT_DLQ));
}

static void on_delivery(void *opaque, void *msg_opaque, int err, const char *errstr) {
    rs_daemon_t *d = opaque;
    intptr_t v = (intptr_t)msg_opaque;
    int kind = (int)(v & 3);
    int is_rec = kind == OUT_REC;
    int64_t origin_us = (int64_t)(v >> 2);
    if (d->in_flight) d->in_flight--;
    if (err) {
        uint64_t *errs[4] = {&d->stats.dlq_produce_errors, &d->stats.recs_produce_errors,
                             &d->stats.alerts_produce_errors, &d->stats.segments_produce_errors};
        (*errs[kind])++;
        rs_warn("daemon", "delivery failed: %s", errstr ? errstr : rs_strerror(err));
        return;
    }
    if (is_rec && origin_us > 0) {
        int64_t lat = rs_now_us() - origin_us;
        rs_hist_add(&d->stats.e2e_us, lat > 0 ? (uint64_t)lat : 0);
    }
}

/* ------------------------------------------------------------- executor */

/* The pipeline's background work (segment centroid refresh) on the libuv
 * pool: work on a pool thread, done back on the loop thread. */
typedef struct exec_job {
    rs_daemon_t *d;
    void (*work)(void *);
    void (*done)(void *);
    void *arg;
} exec_job_t;

static void shutdown_now(rs_daemon_t *d);

static void exec_work(void *opaque) {
    exec_job_t *j = opaque;
    j->work(j->arg);
}

static void exec_done(void *opaque) {
    exec_job_t *j = opaque;
    rs_daemon_t *d = j->d;
    j->done(j->arg);
    free(j);
    if (d->stopping && !d->stopped) shutdown_now(d);
}

static int exec_submit(void *opaque, void (*work)(void *), void (*done)(void *), void *arg) {
    rs_daemon_t *d = opaque;
    exec_job_t *j = rs_xmalloc(sizeof(*j));
    *j = (exec_job_t){d, work, done, arg};
    if (rs_work_submit(d->loop, exec_work, exec_done, j)) {
        free(j);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------- batches */

/* One commit in flight, with the offsets its batch holds (for Kafka). */
typedef struct commit_job {
    rs_daemon_t *d;
    rs_state_commit_t *c;
    int rc;
    char err[512];
    int64_t t0;
    size_t events;
    rs_tp_t *tps;
    int64_t *next;
    size_t n_tps;
    atomic_int written; /* set by the pool thread when the write returned */
    int finished;       /* completed early on the loop thread (revoke) */
} commit_job_t;

static void commit_start(rs_daemon_t *d);

/* Pauses or resumes every assigned partition. */
static void consume_pause(rs_daemon_t *d, int pause) {
    char err[256];
    if (rs_consumer_pause_all(d->consumer, pause, err, sizeof(err))) rs_warn("daemon", "%s", err);
}

/* A state write failed: pause consumption (once) and remember why. */
static void write_failed(rs_daemon_t *d, const char *err) {
    if (!strncmp(err, "write: ", 7)) err += 7; /* rs_rocks' prefix */
    snprintf(d->pause_err, sizeof(d->pause_err), "%s", err);
    if (d->paused) return;
    d->paused = 1;
    d->pause_since_ms = d->last_retry_ms = rs_now_ms();
    d->stats.state_write_failures++;
    d->stats.state_write_paused = 1;
    rs_error("state", "write failed (%s): consumption paused, retrying every %d ms", err,
             d->conf->state_retry_ms);
    consume_pause(d, 1);
}

/* ------------------------------------------------------------- alignment */

#define ALIGN_LAG_MS 20 /* lags come from cached watermarks: refreshed at most this often */

static void align_apply(rs_daemon_t *d, const int32_t *parts, size_t n, int pause) {
    if (!n) return;
    char err[256];
    rs_tp_t *tps = rs_xmalloc(n * sizeof(*tps));
    for (size_t i = 0; i < n; i++) tps[i] = (rs_tp_t){d->conf->topic_events, parts[i]};
    if (rs_consumer_pause(d->consumer, tps, n, pause, err, sizeof(err)))
        rs_warn("daemon", "alignment: %s", err);
    free(tps);
}

/* Pauses the partitions that ran ahead in event time and resumes those the
 * others caught up with (rs_align.h). Runs after every poll chunk: one
 * drain can hand out a whole backlog. Not while a state write failure holds
 * every partition paused. */
static void align_step(rs_daemon_t *d) {
    if (!d->align || d->paused || d->stopping) return;
    size_t n = rs_align_partitions(d->align, NULL, 0);
    if (!n) return;
    int64_t now = rs_now_ms();
    int32_t *parts = rs_xmalloc(3 * n * sizeof(int32_t)), *pause = parts + n, *resume = pause + n;
    rs_tp_t *tps = rs_xmalloc(n * sizeof(*tps));
    int64_t *lag = rs_xmalloc(n * sizeof(*lag));
    rs_align_partitions(d->align, parts, n);
    if (now - d->align_ms >= ALIGN_LAG_MS) {
        d->align_ms = now;
        rs_state_t *st = rs_pipeline_state(d->pipe);
        int64_t *from = rs_xmalloc(n * sizeof(*from));
        for (size_t i = 0; i < n; i++) {
            tps[i] = (rs_tp_t){d->conf->topic_events, parts[i]};
            from[i] = rs_state_offset(st, tps[i].topic, parts[i]); /* where it starts */
        }
        rs_consumer_lags(d->consumer, tps, from, lag, n);
        free(from);
        for (size_t i = 0; i < n; i++) rs_align_set_lag(d->align, parts[i], lag[i]);
    }
    size_t np, nr;
    rs_align_step(d->align, now, pause, &np, resume, &nr);
    align_apply(d, pause, np, 1);
    align_apply(d, resume, nr, 0);
    d->stats.align_pauses += np;
    d->stats.partitions_aligned = rs_align_paused_count(d->align);
    d->stats.align_spread_ms = rs_align_spread(d->align, now);
    free(parts);
    free(tps);
    free(lag);
}

static void write_ok(rs_daemon_t *d) {
    if (!d->paused) return;
    d->paused = 0;
    d->stats.state_write_paused = 0;
    rs_warn("state",
            "write succeeded again after %.1f s (%" PRIu64 " retries so far): "
            "consumption resumed",
            (double)(rs_now_ms() - d->pause_since_ms) / 1000, d->stats.state_write_retries);
    consume_pause(d, 0);
    if (d->align) rs_align_reset(d->align); /* resumed with the rest */
}

/* The state's consumed offsets at this moment: exactly what the batch being
 * prepared now holds, so they can go to Kafka once it is durable. Topic
 * strings belong to the state. */
static void offsets_snapshot(rs_daemon_t *d, commit_job_t *j) {
    rs_state_t *st = rs_pipeline_state(d->pipe);
    size_t n = rs_state_offset_count(st);
    j->tps = rs_xcalloc(n ? n : 1, sizeof(*j->tps));
    j->next = rs_xcalloc(n ? n : 1, sizeof(*j->next));
    for (size_t i = 0; i < n; i++)
        rs_state_offset_at(st, i, &j->tps[i].topic, &j->tps[i].partition, &j->next[i]);
    j->n_tps = n;
}

/* Kafka's committed offsets only follow ours (monitoring, fresh state dirs). */
static void offsets_store(rs_daemon_t *d, const commit_job_t *j) {
    if (j->n_tps && d->consumer) rs_consumer_store_offsets(d->consumer, j->tps, j->next, j->n_tps);
}

static void job_free(commit_job_t *j) {
    if (!j) return;
    free(j->tps);
    free(j->next);
    free(j);
}

static void commit_work(void *opaque) { /* pool thread: RocksDB only */
    commit_job_t *j = opaque;
    j->rc = rs_state_commit_write(rs_pipeline_state(j->d->pipe), j->c, j->err, sizeof(j->err));
    atomic_store_explicit(&j->written, 1, memory_order_release);
}

static void commit_done(void *opaque) { /* loop thread */
    commit_job_t *j = opaque;
    rs_daemon_t *d = j->d;
    if (j->finished) { /* on_revoke() already completed it */
        job_free(j);
        return;
    }
    d->cur_job = NULL;
    int left = rs_state_commit_end(rs_pipeline_state(d->pipe), j->c, j->rc);
    d->inflight = 0;
    if (j->rc) {
        d->stats.commit_errors++;
        write_failed(d, j->err);
        /* keep the offsets for the retry of the same batch */
        d->retry_job = j;
        if (d->stopping) shutdown_now(d);
        return;
    }
    write_ok(d);
    d->stats.batches++;
    rs_hist_add(&d->stats.commit_us, (uint64_t)(rs_mono_us() - j->t0));
    rs_hist_add(&d->stats.batch_events, j->events);
    offsets_store(d, j);
    job_free(j);
    if (d->opts.on_flush) d->opts.on_flush(d->opts.opaque, &d->stats);
    if (d->stopping) {
        shutdown_now(d);
        return;
    }
    if (left) commit_start(d);
    rs_defer_arm(d->more); /* consumption may have paused on backpressure */
}

/* Scores the touched users (their lists go to the producer) and books each
 * record applied since the last time its delay from consume to now. */
static void score_now(rs_daemon_t *d) {
    rs_pipeline_score(d->pipe);
    d->score_held_us = 0;
    int64_t now = rs_mono_us();
    for (size_t i = 0; i < d->n_held; i++)
        rs_hist_add_n(&d->stats.pipeline_us, (uint64_t)(now - d->held[i].us), d->held[i].n);
    d->n_held = 0;
}

static void held_add(rs_daemon_t *d, int64_t us, size_t n) {
    if (!n) return;
    d->held = rs_xgrow_zeroed(d->held, &d->cap_held, d->n_held, sizeof(*d->held), 64);
    d->held[d->n_held++] = (struct held_chunk){us, (uint32_t)n};
}

/* Starts writing everything applied so far (one WriteBatch: state + offsets)
 * on the thread pool; the loop keeps consuming meanwhile. */
static void commit_start(rs_daemon_t *d) {
    if (d->inflight) return;
    rs_state_t *st = rs_pipeline_state(d->pipe);
    commit_job_t *j = d->retry_job;
    d->retry_job = NULL;
    if (!j) {
        score_now(d); /* the batch holds the versions of the lists sent */
        size_t events = rs_state_uncommitted(st);
        rs_pipeline_prepare_commit(d->pipe);
        rs_state_commit_t *c = rs_state_commit_begin(st);
        if (!c) return;
        j = rs_xcalloc(1, sizeof(*j));
        j->d = d;
        j->c = c;
        j->events = events;
        offsets_snapshot(d, j);
    } else {
        j->c = rs_state_commit_begin(st); /* the same (oldest) batch again */
        if (!j->c) return;
    }
    j->t0 = rs_mono_us();
    d->last_commit_ms = rs_now_ms();
    d->inflight = 1;
    d->cur_job = j;
    /* a retry after a failure writes on the loop thread: rs_rocks may reopen
     * the db in that call, which must not race the loop's reads */
    if (d->paused || rs_work_submit(d->loop, commit_work, commit_done, j)) {
        /* no pool: write inline */
        commit_work(j);
        commit_done(j);
    }
}

/* Synchronous commit of everything (shutdown, revoke). */
static int flush(rs_daemon_t *d) {
    char err[512];
    if (d->inflight) return RS_ESTATE;
    score_now(d);
    int rc = rs_pipeline_commit(d->pipe, err, sizeof(err));
    if (rc) {
        if (d->paused) rs_debug("state", "synchronous commit failed: %s", err);
        write_failed(d, err);
        return rc;
    }
    job_free(d->retry_job); /* its batch was written by the synchronous commit */
    d->retry_job = NULL;
    write_ok(d);
    commit_job_t snap = {0};
    offsets_snapshot(d, &snap);
    offsets_store(d, &snap);
    free(snap.tps);
    free(snap.next);
    d->last_commit_ms = rs_now_ms();
    rs_producer_poll(d->producer);
    if (d->opts.on_flush) d->opts.on_flush(d->opts.opaque, &d->stats);
    return RS_OK;
}

static int commit_due(rs_daemon_t *d) {
    size_t pending = rs_pipeline_pending(d->pipe);
    return pending && (rs_now_ms() - d->last_commit_ms >= d->conf->commit_interval_ms ||
                       pending >= (size_t)d->conf->commit_max_events);
}

static void maybe_finish(rs_daemon_t *d);

/* Catalog records go to rs_catalog, everything else to the event path. */
static int is_catalog(const rs_daemon_t *d, const rs_msg_t *m) {
    return d->catalog && m->topic && strcmp(m->topic, d->conf->topic_items) == 0;
}

/* Drains the consumer queue into the pipeline, then commits. */
static void drain(void *opaque) {
    rs_daemon_t *d = opaque;
    if (d->stopping) return;
    /* Paused on a write failure: keep polling (rebalances, group liveness)
     * with every partition paused, so normally nothing arrives; whatever
     * does is applied and queued behind the failed batch, which is exact. */
    if (d->paused && d->repause) {
        d->repause = 0;
        consume_pause(d, 1);
    }
    /* backpressure: at most one batch in flight plus commit.max.events more */
    if (!d->paused && d->inflight &&
        rs_pipeline_pending(d->pipe) >= (size_t)d->conf->commit_max_events)
        return;
    size_t total = 0, cap = (size_t)d->conf->batch_max_events;
    int64_t t_end = rs_mono_us() + DRAIN_MAX_US;
    for (;;) {
        /* aligned: smaller chunks, since a chunk is usually one partition's
         * run and alignment can only act between chunks */
        size_t chunk = d->align ? ALIGN_CHUNK : POLL_CHUNK;
        size_t want = cap - total < chunk ? cap - total : chunk;
        size_t n = rs_consumer_poll(d->consumer, d->msgs, want);
        int64_t now_us = n ? rs_now_us() : 0, mono_us = n ? rs_mono_us() : 0;
        size_t events = 0;
        for (size_t i = 0; i < n; i++) {
            if (d->msgs[i].err) continue;
            if (is_catalog(d, &d->msgs[i])) {
                rs_catalog_process(d->catalog, &d->msgs[i]);
                continue;
            }
            events++;
            if (d->msgs[i].origin_us > 0 && now_us > d->msgs[i].origin_us)
                rs_hist_add(&d->stats.consume_us, (uint64_t)(now_us - d->msgs[i].origin_us));
            rs_pipeline_process(d->pipe, &d->msgs[i]);
            int64_t ts = d->align ? rs_pipeline_last_ts(d->pipe) : 0;
            if (ts) rs_align_event(d->align, d->msgs[i].partition, ts, now_us / 1000);
        }
        rs_consumer_release(d->consumer, d->msgs, n);
        held_add(d, mono_us, events);
        total += n;
        if (n) align_step(d);
        if (n < want || total >= cap) break;
        if (rs_mono_us() > t_end) {
            cap = total; /* out of time: continue on the next iteration */
            break;
        }
    }
    if (total) {
        rs_daemon__kafka_alive(d);
        d->last_msg_ms = rs_now_ms();
        if (!d->first_msg_us) d->first_msg_us = rs_mono_us();
    }
    /* Lists go out now (latency), unless records are still waiting: then the
     * touched users accumulate for up to rec.coalesce.ms, so a catch-up
     * scores a busy user once rather than once per drain. State + offsets
     * go once per commit interval; commit_start() scores what is held. */
    int backlog = total >= cap && d->conf->rec_coalesce_ms > 0;
    int64_t now_us = rs_mono_us();
    if (backlog && !d->score_held_us) d->score_held_us = now_us;
    if (!backlog || now_us - d->score_held_us >= (int64_t)d->conf->rec_coalesce_ms * 1000)
        score_now(d);
    rs_producer_poll(d->producer);
    if (!d->paused && commit_due(d)) commit_start(d);
    if (total >= cap) rs_defer_arm(d->more); /* more may be queued: no new wake-up will come */
    maybe_finish(d);
}

/* ------------------------------------------------------------- rebalance */

static void on_assign(void *opaque, const rs_tp_t *tps, size_t n, int64_t *offsets) {
    rs_daemon_t *d = opaque;
    rs_state_t *st = rs_pipeline_state(d->pipe);
    if (d->paused) d->repause = 1; /* paused once assigned, before the next poll */
    for (size_t i = 0; i < n; i++) {
        int64_t o = rs_state_offset(st, tps[i].topic, tps[i].partition);
        if (o >= 0) offsets[i] = o;
        rs_info("daemon", "assigned %s [%d] from %s%" PRId64, tps[i].topic, tps[i].partition,
                o >= 0 ? "stored offset " : "committed/reset ", o >= 0 ? o : (int64_t)0);
        if (d->align && !strcmp(tps[i].topic, d->conf->topic_events))
            rs_align_assign(d->align, tps[i].partition, rs_now_ms());
    }
    d->stats.partitions_assigned += n;
    rs_daemon__kafka_alive(d);
}

/* Waits for the write running on the pool and completes it here, so its
 * offsets are stored while the partitions are still ours (commit_done()
 * then only frees the job). */
static void commit_wait(rs_daemon_t *d) {
    commit_job_t *j = d->cur_job;
    if (!d->inflight || !j) return;
    while (!atomic_load_explicit(&j->written, memory_order_acquire)) usleep(200);
    d->cur_job = NULL;
    d->inflight = 0;
    j->finished = 1;
    rs_state_commit_end(rs_pipeline_state(d->pipe), j->c, j->rc);
    if (j->rc) {
        d->stats.commit_errors++;
        write_failed(d, j->err);
        return;
    }
    write_ok(d);
    d->stats.batches++;
    offsets_store(d, j);
}

static void on_revoke(void *opaque, const rs_tp_t *tps, size_t n, int lost) {
    rs_daemon_t *d = opaque;
    /* The batches may hold records of these partitions: make them durable and
     * store their offsets before the partitions go, or the next owner would
     * start from an older committed offset and apply records twice. An
     * in-flight write is waited for (the loop is inside a librdkafka callback,
     * so it cannot run the completion), then the rest is written here. */
    commit_wait(d);
    if (!d->inflight && rs_pipeline_pending(d->pipe)) flush(d);
    for (size_t i = 0; d->align && i < n; i++)
        if (!strcmp(tps[i].topic, d->conf->topic_events))
            rs_align_revoke(d->align, tps[i].partition);
    if (d->paused && n)
        rs_warn("state",
                "%zu partition(s) %s while state writes fail: their unwritten records "
                "may be applied again by the next owner",
                n, lost ? "lost" : "revoked");
    rs_info("daemon", "%s %zu partition(s)", lost ? "lost" : "revoked", n);
    d->stats.partitions_assigned =
        d->stats.partitions_assigned > n ? d->stats.partitions_assigned - n : 0;
}

/* ------------------------------------------------------------- lifecycle */

static void shutdown_now(rs_daemon_t *d) {
    if (d->stopped) return;
    d->stopping = 1;
    if (d->inflight) return; /* commit_done() calls us again */
    /* a finite run (demo, bench, tests) ends with its segments settled; a
     * k-means job the sweep starts makes us wait once more */
    if (d->opts.stop_after_events) rs_pipeline_settle(d->pipe);
    if (rs_pipeline_busy(d->pipe)) return; /* exec_done() calls us again */
    d->stopped = 1;
    rs_watch_close(d->cw), d->cw = NULL;
    rs_defer_close(d->more), d->more = NULL;
    rs_timer_close(d->tick), d->tick = NULL;
    if (rs_pipeline_pending(d->pipe)) flush(d);
    if (d->consumer) rs_consumer_close(d->consumer); /* revoke -> commit */
    if (rs_pipeline_pending(d->pipe)) flush(d);
    if (d->paused) {
        rs_error("state",
                 "exiting with %zu unwritten change(s) (%s): their records are "
                 "consumed again from the last written offsets on the next start",
                 rs_pipeline_pending(d->pipe), d->pause_err);
        d->exit_rc = RS_ESTATE_IO;
    }
    rs_producer_flush(d->producer, 10000);
    rs_producer_poll(d->producer);
    rs_watch_close(d->pw), d->pw = NULL;
    rs_watch_close(d->stop_w), d->stop_w = NULL;
    for (int i = 0; i < 3; i++) rs_signal_close(d->sig[i]), d->sig[i] = NULL;
    rs_http_destroy(d->http), d->http = NULL;
    rs_loop_stop(d->loop);
}

static void maybe_finish(rs_daemon_t *d) {
    if (!d->opts.stop_after_events || d->stopped) return;
    if (d->stats.events_in >= d->opts.stop_after_events && !rs_pipeline_pending(d->pipe) &&
        !d->inflight) {
        rs_producer_poll(d->producer);
        if (rs_producer_outq_len(d->producer) == 0) shutdown_now(d);
    }
}

static void on_producer(void *opaque) {
    rs_daemon_t *d = opaque;
    rs_producer_poll(d->producer);
    maybe_finish(d);
}

static void on_tick(void *opaque) {
    rs_daemon_t *d = opaque;
    rs_producer_poll(d->producer);
    if (d->paused) {
        int64_t now = rs_now_ms();
        if (now - d->last_retry_ms >= d->conf->state_retry_ms) { /* retry the failed batch */
            d->last_retry_ms = now;
            d->stats.state_write_retries++;
            commit_start(d);
        }
        if (d->paused) drain(d); /* serve rebalances; re-pause new partitions */
    } else if (commit_due(d) ||
               (d->opts.stop_after_events && d->stats.events_in >= d->opts.stop_after_events &&
                rs_pipeline_pending(d->pipe))) {
        commit_start(d);
    } else {
        drain(d); /* covers a missed wake-up; cheap when the queue is empty */
    }
    rs_state_t *st = rs_pipeline_state(d->pipe);
    d->stats.users_cached = rs_state_user_cached(st);
    d->stats.items = rs_state_item_count(st);
    d->stats.cooc_pairs = rs_state_cooc_entries(st);
    d->stats.consumer_lag = rs_consumer_lag(d->consumer);
    d->stats.partitions_assigned = rs_consumer_assignment_count(d->consumer);
    d->stats.users_expired = rs_state_users_expired(st);
    align_step(d); /* also when nothing flows: a paused partition may be due */
    maybe_finish(d);
    if (!d->stopped && d->opts.idle_exit_ms && d->last_msg_ms &&
        rs_now_ms() - d->last_msg_ms > d->opts.idle_exit_ms)
        shutdown_now(d);
}

static void on_stop_pipe(void *opaque) {
    rs_daemon_t *d = opaque;
    char buf[64];
    while (read(d->stop_pipe[0], buf, sizeof(buf)) > 0) {
    }
    rs_info("daemon", "shutting down: committing and closing");
    shutdown_now(d);
}

static void on_signal(void *opaque) {
    rs_daemon_stop_async(opaque);
}

void rs_daemon_stop_async(rs_daemon_t *d) {
    if (d->stop_pipe[1] >= 0) {
        ssize_t r = write(d->stop_pipe[1], "x", 1);
        (void)r;
    }
}

/* ------------------------------------------------------------- new/run */

rs_err_t rs_daemon_new(rs_daemon_t **out, const rs_conf_t *conf, const rs_daemon_opts_t *opts,
                       char *errstr, size_t errstr_size) {
    rs_daemon_t *d = rs_xcalloc(1, sizeof(*d));
    d->conf = conf;
    if (opts) d->opts = *opts;
    d->stop_pipe[0] = d->stop_pipe[1] = -1;
    d->stats.consumer_lag = -1;
    d->msgs = rs_xcalloc(POLL_CHUNK, sizeof(rs_msg_t));
    if (conf->consume_align_ms > 0)
        d->align = rs_align_new(conf->consume_align_ms, conf->consume_align_idle_ms);
    d->last_msg_ms = rs_now_ms(); /* idle exit also covers "nothing to consume" */
    d->last_commit_ms = d->last_msg_ms;
    int rc = rs_loop_new(&d->loop, errstr, errstr_size);
    if (rc) goto fail;
    /* Kafka clients first: a bad kafka.* key fails before any state is touched */
    rc = rs_producer_new(&d->producer, conf->kafka, conf->kafka_cnt, on_delivery, d, errstr,
                         errstr_size);
    if (rc) goto fail;
    const char *outs[] = {conf->topic_recommendations, conf->topic_dlq, conf->topic_alerts,
                          conf->topic_segments};
    rs_producer_prepare(d->producer, outs, sizeof(outs) / sizeof(outs[0]));
    rs_consumer_cbs_t cbs = {d, on_assign, on_revoke, rs_daemon__kafka_error,
                             rs_daemon__kafka_brokers_up};
    d->stats.kafka_ready = 1;
    rc = rs_consumer_new(&d->consumer, conf->kafka, conf->kafka_cnt, conf->group_id, &cbs, errstr,
                         errstr_size);
    if (rc) goto fail;
    rs_sink_t sink = {d, sink_rec, sink_dlq, sink_alert, sink_segment};
    rc = rs_pipeline_new(&d->pipe, conf, &sink, &d->stats, errstr, errstr_size);
    if (rc) goto fail;
    rs_pipeline_set_executor(d->pipe, &(rs_executor_t){d, exec_submit});
    if (pipe2(d->stop_pipe, O_NONBLOCK | O_CLOEXEC)) {
        rc = rs_seterr(errstr, errstr_size, RS_EIO, "pipe: %s", strerror(errno));
        goto fail;
    }
    d->stop_w = rs_watch_fd(d->loop, d->stop_pipe[0], on_stop_pipe, d);
    d->cw = rs_watch_fd(d->loop, rs_consumer_fd(d->consumer), drain, d);
    d->pw = rs_watch_fd(d->loop, rs_producer_fd(d->producer), on_producer, d);
    d->more = rs_defer_new(d->loop, drain, d);
    /* housekeeping tick: commits when due, delivery reports, gauges, exit checks */
    uint64_t tick = conf->commit_interval_ms > 0 && conf->commit_interval_ms < 100
                        ? (uint64_t)conf->commit_interval_ms
                        : 100;
    d->tick = rs_timer_start(d->loop, tick, tick, on_tick, d);
    if (!d->stop_w || !d->cw || !d->pw || !d->more || !d->tick) {
        rc = rs_seterr(errstr, errstr_size, RS_ELOOP, "could not register loop handles");
        goto fail;
    }
    if (!d->opts.no_signals) {
        d->sig[0] = rs_signal_watch(d->loop, SIGINT, on_signal, d);
        d->sig[1] = rs_signal_watch(d->loop, SIGTERM, on_signal, d);
        d->sig[2] = rs_signal_watch(d->loop, SIGHUP, rs_daemon__on_hup, d);
    }
    if (conf->http_port > 0) {
        rc = rs_http_new(&d->http, d->loop, conf->http_host, conf->http_port, errstr, errstr_size);
        if (rc) goto fail;
        rs_daemon__http_routes(d);
        rs_daemon__http_limits(d);
        rs_info("daemon", "HTTP on http://%s:%d/metrics", conf->http_host, rs_http_port(d->http));
    }
    const char *topics[2] = {conf->topic_events, conf->topic_items};
    if (conf->topic_items && *conf->topic_items) {
        if (!strcmp(conf->topic_items, conf->topic_events)) {
            rc = rs_seterr(errstr, errstr_size, RS_ECONF,
                           "topic.items and topic.events are both \"%s\"", conf->topic_items);
            goto fail;
        }
        rc = rs_catalog_new(&d->catalog, d->pipe, conf, &d->stats, errstr, errstr_size);
        if (rc) goto fail;
    }
    rc = rs_consumer_subscribe(d->consumer, topics, d->catalog ? 2 : 1, errstr, errstr_size);
    if (rc) goto fail;
    *out = d;
    return RS_OK;
fail:
    rs_daemon_destroy(d);
    return rc;
}

rs_err_t rs_daemon_run(rs_daemon_t *d) {
    rs_info("daemon", "consuming %s%s%s as group %s (librdkafka %s)", d->conf->topic_events,
            d->catalog ? " and catalog " : "", d->catalog ? d->conf->topic_items : "",
            d->conf->group_id, rs_kafka_version());
    int rc = rs_loop_run(d->loop);
    if (!d->stopped) shutdown_now(d);
    return rc ? rc : d->exit_rc;
}

const rs_stats_t *rs_daemon_stats(rs_daemon_t *d) {
    return &d->stats;
}

int64_t rs_daemon_first_msg_us(rs_daemon_t *d) {
    return d->first_msg_us;
}

int rs_daemon_http_port(rs_daemon_t *d) {
    return d->http ? rs_http_port(d->http) : -1;
}

void rs_daemon_destroy(rs_daemon_t *d) {
    if (!d) return;
    rs_watch_close(d->cw);
    rs_watch_close(d->pw);
    rs_watch_close(d->stop_w);
    rs_defer_close(d->more);
    rs_timer_close(d->tick);
    for (int i = 0; i < 3; i++) rs_signal_close(d->sig[i]);
    rs_http_destroy(d->http);
    rs_consumer_destroy(d->consumer);
    rs_producer_destroy(d->producer);
    rs_catalog_destroy(d->catalog);
    rs_align_destroy(d->align);
    rs_pipeline_destroy(d->pipe);
    rs_loop_destroy(d->loop);
    if (d->stop_pipe[0] >= 0) close(d->stop_pipe[0]);
    if (d->stop_pipe[1] >= 0) close(d->stop_pipe[1]);
    job_free(d->retry_job);
    free(d->msgs);
    free(d->held);
    free(d);
}
