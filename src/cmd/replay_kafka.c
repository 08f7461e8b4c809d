/* replay_kafka.c -- replays a Kafka topic range into a state directory
 * through rs_pipeline_process, the daemon's own raw-record path (decode,
 * validate, DLQ reasons, dedup, apply; every record advances its
 * partition's stored offset in the same WriteBatch as its state changes).
 *
 * Range: per partition [from, to). from defaults to the log start, to to
 * the high watermark read once at start, so a replay of a live topic stops;
 * either may be an offset, "@<ms>" (offsets_for_times: the first offset
 * whose timestamp is >= ms), "beginning", "end", or (from only) "stored":
 * the offset the state already holds. A spec without "P:" sets every
 * partition; "P:V" entries override it for P. Offsets are clamped to the
 * watermarks (a warning says so).
 *
 * No consumer group: the consumer is assign-only with a private group.id
 * and auto-commit off, so the live group's offsets and membership are never
 * touched.
 *
 * Order: librdkafka interleaves partitions by fetch timing, so records are
 * buffered per partition and merged by (message timestamp, partition,
 * offset) -- a record is applied only once every unfinished partition has a
 * record buffered. The order, hence the state and every emitted list, then
 * depends on the topic's content alone, never on timing. A partition whose
 * buffer reaches opts->buffer records is paused until it drains to half
 * (bounded memory when one partition is fetched faster than the others);
 * one that has fetched its whole range is paused for good.
 *
 * Cut-over: when the whole range was read, every partition's stored offset
 * is raised to its end offset, even where the last offsets held no record
 * (transaction markers, compaction) or the range was empty, so a daemon
 * started on the state continues at exactly `to`. */
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "recstream/rs_buf.h"
#include "recstream/rs_kafka.h"
#include "recstream/rs_log.h"
#include "replay_kafka.h"

#define POLL_MAX   1024
#define TIMEOUT_MS 10000

enum { SPEC_DEFAULT = 0, SPEC_OFFSET, SPEC_TIME, SPEC_BEGIN, SPEC_END, SPEC_STORED };

typedef struct spec {
    int kind;
    int64_t v;
} spec_t;

typedef struct part {
    rs_tp_t tp;
    int64_t from, to; /* resolved range */
    int64_t next;     /* next offset expected from the consumer */
    rs_msg_t *q;      /* buffered records [head, n) */
    size_t head, n, cap;
    int fetched; /* every record of the range is buffered or applied */
    int paused;
} part_t;

/* "[P:]V[,...]" into specs[0..nparts) (all = every partition, then P: overrides). */
static int parse_spec(const char *s, const char *what, int allow_stored, spec_t *specs,
                      int32_t nparts, char *errstr, size_t errstr_size) {
    if (!s) return 0;
    char *copy = rs_xstrdup(s), *save = NULL;
    int rc = 0;
    spec_t all = {SPEC_DEFAULT, 0};
    int32_t *set = rs_xcalloc((size_t)nparts + 1, sizeof(*set));
    for (char *tok = strtok_r(copy, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(tok, ':'), *end;
        int32_t part = -1;
        if (colon) {
            long pl = strtol(tok, &end, 10);
            if (end != colon || end == tok || pl < 0 || pl >= nparts) {
                rc = rs_seterr(errstr, errstr_size, RS_EARG,
                               "%s %s: \"%.*s\" is not a partition of the topic (0..%d)", what, s,
                               (int)(colon - tok), tok, (int)nparts - 1);
                break;
            }
            part = (int32_t)pl;
            tok = colon + 1;
        }
        spec_t sp = {SPEC_DEFAULT, 0};
        if (!strcmp(tok, "beginning"))
            sp.kind = SPEC_BEGIN;
        else if (!strcmp(tok, "end"))
            sp.kind = SPEC_END;
        else if (allow_stored && !strcmp(tok, "stored"))
            sp.kind = SPEC_STORED;
        else {
            int at = tok[0] == '@';
            long long v = strtoll(tok + at, &end, 10);
            if (!tok[at] || *end || v < 0) {
                rc = rs_seterr(errstr, errstr_size, RS_EARG,
                               "%s %s: \"%s\" is not an offset, @<ms timestamp>, beginning, "
                               "end%s",
                               what, s, tok, allow_stored ? " or stored" : "");
                break;
            }
            sp.kind = at ? SPEC_TIME : SPEC_OFFSET;
            sp.v = v;
        }
        if (part < 0) {
            all = sp;
        } else {
            specs[part] = sp;
            set[part] = 1;
        }
    }
    for (int32_t i = 0; i < nparts && !rc; i++)
        if (!set[i]) specs[i] = all;
    free(set);
    free(copy);
    return rc;
}

/* Timestamps in specs -> offsets (RS_OFFSET_END when none is that late). */
static int resolve_times(rs_consumer_t *c, const char *topic, spec_t *specs, int32_t nparts,
                         char *errstr, size_t errstr_size) {
    rs_tp_t *tps = rs_xcalloc((size_t)nparts + 1, sizeof(*tps));
    int64_t *ts = rs_xcalloc((size_t)nparts + 1, sizeof(*ts));
    size_t n = 0;
    for (int32_t i = 0; i < nparts; i++)
        if (specs[i].kind == SPEC_TIME) {
            tps[n] = (rs_tp_t){topic, i};
            ts[n++] = specs[i].v;
        }
    int rc = rs_consumer_offsets_for_times(c, tps, ts, n, TIMEOUT_MS, errstr, errstr_size);
    for (size_t k = 0, i = 0; !rc && i < (size_t)nparts; i++) {
        if (specs[i].kind != SPEC_TIME) continue;
        if (ts[k] < 0)
            specs[i].kind = SPEC_END;
        else
            specs[i] = (spec_t){SPEC_OFFSET, ts[k]};
        k++;
    }
    free(tps);
    free(ts);
    return rc;
}

static int64_t resolve(const spec_t *sp, int is_from, int64_t lo, int64_t hi, int64_t stored) {
    switch (sp->kind) {
    case SPEC_OFFSET:
        return sp->v;
    case SPEC_BEGIN:
        return lo;
    case SPEC_END:
        return hi;
    case SPEC_STORED:
        return stored >= 0 ? stored : lo;
    default:
        return is_from ? lo : hi;
    }
}

static void q_push(part_t *pt, const rs_msg_t *m) {
    if (pt->head && pt->head == pt->n) pt->head = pt->n = 0;
    if (pt->n == pt->cap) {
        if (pt->head > pt->cap / 2) { /* slide down rather than grow */
            memmove(pt->q, pt->q + pt->head, (pt->n - pt->head) * sizeof(*pt->q));
            pt->n -= pt->head;
            pt->head = 0;
        } else {
            pt->cap = pt->cap ? pt->cap * 2 : 256;
            pt->q = rs_xrealloc(pt->q, pt->cap * sizeof(*pt->q));
        }
    }
    pt->q[pt->n++] = *m;
}

static size_t q_len(const part_t *pt) {
    return pt->n - pt->head;
}

/* a before b in the merge order? */
static int before(const rs_msg_t *a, const rs_msg_t *b) {
    if (a->ts_ms != b->ts_ms) return a->ts_ms < b->ts_ms;
    if (a->partition != b->partition) return a->partition < b->partition;
    return a->offset < b->offset;
}

static void set_paused(rs_consumer_t *c, part_t *pt, int pause) {
    char err[256];
    if (pt->paused == pause) return;
    if (rs_consumer_pause(c, &pt->tp, 1, pause, err, sizeof(err)))
        rs_warn("replay", "%s", err);
    else
        pt->paused = pause;
}

typedef struct run {
    const replay_kafka_opts_t *o;
    rs_pipeline_t *p;
    rs_consumer_t *c;
    part_t *parts;
    int32_t nparts;
    uint64_t in_batch;
    int64_t t0, last_bar;
    replay_kafka_result_t *res;
} run_t;

static void progress(run_t *r, int force) {
    int64_t now = rs_mono_us();
    if (!r->o->tty || (!force && now - r->last_bar < 200000)) return;
    r->last_bar = now;
    double secs = (double)(now - r->t0) / 1e6, done = (double)(r->res->records + r->res->gaps);
    double total = (double)r->res->range;
    double eta = done > 0 && total > done ? secs * (total - done) / done : 0;
    fprintf(stderr, "\r%5.1f%%  %" PRIu64 " records  %.0f/s  ETA %.0f s ",
            total > 0 ? 100.0 * done / total : 100.0, r->res->records,
            secs > 0 ? (double)r->res->records / secs : 0.0, eta);
}

static int commit(run_t *r, char *errstr, size_t errstr_size) {
    if (!r->o->emit) rs_state_touched_reset(rs_pipeline_state(r->p));
    r->in_batch = 0;
    return rs_pipeline_commit(r->p, errstr, errstr_size);
}

/* Applies buffered records in merge order while every unfinished partition
 * has one. Returns 1 when the whole range is applied, 0 to wait for more,
 * <0 on a commit error. */
static int merge(run_t *r, char *errstr, size_t errstr_size) {
    for (;;) {
        part_t *best = NULL;
        for (int32_t i = 0; i < r->nparts; i++) {
            part_t *pt = &r->parts[i];
            if (!q_len(pt)) {
                if (pt->fetched) continue; /* finished */
                return 0;                  /* its next record decides the order */
            }
            if (!best || before(&pt->q[pt->head], &best->q[best->head])) best = pt;
        }
        if (!best) return 1;
        if (r->res->records >= r->o->limit) return 1;
        rs_msg_t *m = &best->q[best->head++];
        rs_pipeline_process(r->p, m);
        if (r->o->emit) rs_pipeline_score(r->p);
        rs_consumer_release(r->c, m, 1);
        r->res->records++;
        if (best->paused && !best->fetched && q_len(best) <= r->o->buffer / 2)
            set_paused(r->c, best, 0);
        if (++r->in_batch >= r->o->batch) {
            int rc = commit(r, errstr, errstr_size);
            if (rc) return rc;
        }
        if ((r->res->records & 4095) == 0) {
            if (r->o->poll) r->o->poll(r->o->poll_opaque);
            progress(r, 0);
        }
    }
}

/* Files one consumed record into its partition's buffer (or drops it). */
static void take(run_t *r, rs_msg_t *m) {
    part_t *pt = m->partition >= 0 && m->partition < r->nparts ? &r->parts[m->partition] : NULL;
    if (!pt || pt->fetched || m->offset < pt->next || m->offset >= pt->to) {
        /* outside the range, or already had (never applied twice) */
        if (pt && m->offset >= pt->to && !pt->fetched) {
            r->res->gaps += (uint64_t)(pt->to - pt->next);
            pt->fetched = 1;
            set_paused(r->c, pt, 1);
        }
        rs_consumer_release(r->c, m, 1);
        return;
    }
    if (m->offset > pt->next) {
        rs_debug("replay", "%s [%d]: no records at offsets %" PRId64 "..%" PRId64, pt->tp.topic,
                 (int)pt->tp.partition, pt->next, m->offset - 1);
        r->res->gaps += (uint64_t)(m->offset - pt->next);
    }
    pt->next = m->offset + 1;
    q_push(pt, m);
    if (pt->next >= pt->to) {
        pt->fetched = 1;
        set_paused(r->c, pt, 1); /* nothing more to fetch from it */
    } else if (q_len(pt) >= r->o->buffer) {
        set_paused(r->c, pt, 1);
    }
}

int replay_kafka_run(const replay_kafka_opts_t *o, rs_pipeline_t *p, replay_kafka_result_t *res,
                     char *errstr, size_t errstr_size) {
    const rs_conf_t *conf = o->conf;
    rs_state_t *st = rs_pipeline_state(p);
    run_t r = {.o = o, .p = p, .res = res};
    spec_t *from = NULL, *to = NULL;
    rs_msg_t *msgs = NULL;
    int rc;
    memset(res, 0, sizeof(*res));

    int32_t nparts = rs_kafka_partition_count(conf->kafka, conf->kafka_cnt, o->topic, TIMEOUT_MS,
                                              errstr, errstr_size);
    if (nparts < 0) return nparts;
    if (nparts == 0)
        return rs_seterr(errstr, errstr_size, RS_ENOTFOUND, "topic %s has no partitions", o->topic);
    r.nparts = res->partitions = nparts;

    /* The passthrough first, then what keeps the live group untouched. */
    char gid[64];
    snprintf(gid, sizeof(gid), "rs-replay-%ld", (long)getpid());
    rs_kv_t *kv = rs_xcalloc(conf->kafka_cnt + 2, sizeof(*kv));
    if (conf->kafka_cnt) memcpy(kv, conf->kafka, conf->kafka_cnt * sizeof(*kv));
    kv[conf->kafka_cnt] = (rs_kv_t){(char *)"group.id", gid, (char *)"replay"};
    kv[conf->kafka_cnt + 1] =
        (rs_kv_t){(char *)"enable.auto.commit", (char *)"false", (char *)"replay"};
    rc = rs_consumer_new(&r.c, kv, conf->kafka_cnt + 2, NULL, NULL, errstr, errstr_size);
    free(kv);
    if (rc) return rc;

    from = rs_xcalloc((size_t)nparts, sizeof(*from));
    to = rs_xcalloc((size_t)nparts, sizeof(*to));
    if ((rc = parse_spec(o->from, "--from", 1, from, nparts, errstr, errstr_size)) ||
        (rc = parse_spec(o->to, "--to", 0, to, nparts, errstr, errstr_size)) ||
        (rc = resolve_times(r.c, o->topic, from, nparts, errstr, errstr_size)) ||
        (rc = resolve_times(r.c, o->topic, to, nparts, errstr, errstr_size)))
        goto out;

    r.parts = rs_xcalloc((size_t)nparts, sizeof(*r.parts));
    rs_tp_t *tps = rs_xcalloc((size_t)nparts, sizeof(*tps));
    int64_t *offs = rs_xcalloc((size_t)nparts, sizeof(*offs));
    size_t n_assign = 0;
    for (int32_t i = 0; i < nparts; i++) {
        part_t *pt = &r.parts[i];
        int64_t lo, hi;
        pt->tp = (rs_tp_t){o->topic, i};
        if ((rc = rs_consumer_watermarks(r.c, o->topic, i, &lo, &hi, TIMEOUT_MS, errstr,
                                         errstr_size)))
            break;
        int64_t stored = rs_state_offset(st, o->topic, i);
        pt->from = resolve(&from[i], 1, lo, hi, stored);
        pt->to = resolve(&to[i], 0, lo, hi, stored);
        if (pt->from < lo) {
            rs_warn("replay",
                    "%s [%d]: offsets %" PRId64 "..%" PRId64 " are no longer in the "
                    "log (it starts at %" PRId64 "); starting there",
                    o->topic, i, pt->from, lo - 1, lo);
            pt->from = lo;
        }
        if (pt->to > hi) {
            rs_warn("replay",
                    "%s [%d]: --to %" PRId64 " is past the end (%" PRId64 "); "
                    "stopping at the end",
                    o->topic, i, pt->to, hi);
            pt->to = hi;
        }
        if (pt->from > pt->to) pt->from = pt->to;
        if (stored > pt->from)
            rs_warn("replay",
                    "%s [%d]: the state already holds offsets up to %" PRId64
                    ", replaying from %" PRId64 " applies them again (only the dedup window "
                    "protects the counts; --from stored continues instead)",
                    o->topic, i, stored, pt->from);
        pt->next = pt->from;
        res->range += (uint64_t)(pt->to - pt->from);
        if (pt->from < pt->to) {
            tps[n_assign] = pt->tp;
            offs[n_assign++] = pt->from;
        } else {
            pt->fetched = 1;
        }
        rs_info("replay",
                "%s [%d]: offsets %" PRId64 "..%" PRId64 " (log %" PRId64 "..%" PRId64 ")",
                o->topic, i, pt->from, pt->to, lo, hi);
    }
    if (!rc) rc = rs_consumer_assign(r.c, tps, offs, n_assign, errstr, errstr_size);
    free(tps);
    free(offs);
    if (rc) goto out;

    msgs = rs_xcalloc(POLL_MAX, sizeof(*msgs));
    r.t0 = rs_mono_us();
    int64_t last_rx = r.t0;
    for (;;) {
        rc = merge(&r, errstr, errstr_size);
        if (rc < 0) goto out;
        if (rc == 1) break;
        size_t n = rs_consumer_poll_wait(r.c, msgs, POLL_MAX, 100);
        for (size_t i = 0; i < n; i++) {
            if (msgs[i].err) {
                rc = rs_seterr(errstr, errstr_size, RS_EKAFKA, "consumer: %.*s", (int)msgs[i].len,
                               (const char *)msgs[i].payload);
                rs_consumer_release(r.c, msgs + i, n - i);
                goto out;
            }
            take(&r, &msgs[i]);
        }
        if (n) {
            last_rx = rs_mono_us();
        } else {
            if (o->poll) o->poll(o->poll_opaque);
            progress(&r, 0);
            if (rs_mono_us() - last_rx > (int64_t)o->idle_timeout_ms * 1000) {
                int32_t i = 0;
                while (i < nparts && r.parts[i].fetched) i++;
                rc = rs_seterr(errstr, errstr_size, RS_ETIMEOUT,
                               "nothing received for %d ms; %s [%d] stopped at offset %" PRId64
                               " of %" PRId64 " (deleted records or a transaction still open?)",
                               o->idle_timeout_ms, o->topic, (int)i,
                               i < nparts ? r.parts[i].next : 0, i < nparts ? r.parts[i].to : 0);
                goto out;
            }
        }
    }
    res->complete = 1; /* unless --limit stopped it early */
    for (int32_t i = 0; i < nparts; i++)
        if (q_len(&r.parts[i]) || !r.parts[i].fetched) res->complete = 0;
    if (res->complete) {
        /* Cut-over: the state continues at exactly `to` (see the notes). */
        for (int32_t i = 0; i < nparts; i++) {
            part_t *pt = &r.parts[i];
            if (pt->to > 0 && rs_state_offset(st, o->topic, i) < pt->to)
                rs_state_offset_consumed(st, o->topic, i, pt->to - 1);
        }
    }
    rc = commit(&r, errstr, errstr_size);
    progress(&r, 1);
out:
    if (r.parts) {
        for (int32_t i = 0; i < nparts; i++) {
            part_t *pt = &r.parts[i];
            if (r.c && q_len(pt)) rs_consumer_release(r.c, pt->q + pt->head, q_len(pt));
            free(pt->q);
        }
        free(r.parts);
    }
    free(msgs);
    free(from);
    free(to);
    rs_consumer_destroy(r.c);
    return rc;
}
