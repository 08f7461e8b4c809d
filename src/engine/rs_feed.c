/* rs_feed.c -- see rs_feed.h.
 *
 * A paced feed (bench's latency phase) encodes every record before its clock
 * starts and then only hands bytes to the producer: generating and encoding
 * an event costs several times what producing it does, and on a 2-core
 * machine that work would be taken from the pipeline being measured. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "recstream/rs_buf.h"
#include "recstream/rs_codec.h"
#include "recstream/rs_feed.h"

static void on_dr(void *opaque, void *msg_opaque, int err, const char *errstr) {
    rs_feed_stats_t *fs = opaque;
    if (err)
        fs->failed++;
    else
        fs->delivered++;
    int64_t sent = (int64_t)(intptr_t)msg_opaque;
    int64_t now = rs_mono_us();
    if (sent > 0 && now > sent) rs_hist_add(&fs->dr_us, (uint64_t)(now - sent));
}

/* Generates record i and appends key then value to out; counts its kind. */
static int encode_next(rs_gen_t *gen, rs_codec_t *codec, uint64_t i, int json_pct,
                       rs_feed_stats_t *fs, rs_buf_t *out, size_t *klen, size_t *vlen, char *errstr,
                       size_t errstr_size) {
    rs_gen_kind_t kind;
    const rs_event_t *ev = rs_gen_next(gen, &kind);
    rs_buf_append(out, ev->user_id.p, ev->user_id.len);
    *klen = ev->user_id.len;
    size_t at = out->len;
    if (kind == RS_GEN_BAD_GARBAGE) {
        unsigned char garbage[256];
        size_t n = rs_gen_garbage(gen, garbage, sizeof(garbage));
        rs_buf_append(out, garbage, n);
    } else {
        int json = kind == RS_GEN_BAD_MISSING || kind == RS_GEN_BAD_TYPE ||
                   (json_pct > 0 && (int)(i % 100) < json_pct);
        if (rs_codec_encode_event(codec, ev, json ? RS_FMT_JSON : RS_FMT_CONFLUENT, 1, out))
            return rs_seterr(errstr, errstr_size, RS_EARG, "encoding event %" PRIu64 " failed", i);
    }
    *vlen = out->len - at;
    switch (kind) {
    case RS_GEN_OK:
        fs->good++;
        break;
    case RS_GEN_DUP:
        fs->dup++;
        break;
    case RS_GEN_LATE:
        fs->late++;
        break;
    default:
        fs->bad++;
        break;
    }
    fs->bad_kind[kind & 15]++;
    return RS_OK;
}

/* No headers: the record's CreateTime is its produce time. */
static int send_record(rs_producer_t *p, const char *topic, const char *key, size_t klen,
                       const char *val, size_t vlen) {
    for (;;) {
        int rc = rs_producer_send(p, topic, -1, key, klen, val, vlen, NULL, 0,
                                  (void *)(intptr_t)rs_mono_us());
        if (rc != RS_EFULL) return rc;
        rs_producer_flush(p, 10);
    }
}

/* Sleeps until record i is due at `rate` records/s from t0. */
static void pace(rs_producer_t *p, int64_t t0, uint64_t i, double rate) {
    int64_t due = t0 + (int64_t)((double)i * 1e6 / rate);
    int64_t now = rs_mono_us();
    if (due > now + 200) {
        rs_producer_poll(p);
        struct timespec ts = {0, (long)(due - now) * 1000};
        nanosleep(&ts, NULL);
    }
}

int rs_feed_run(const rs_kv_t *kafka, size_t kafka_cnt, const char *topic, rs_gen_t *gen,
                uint64_t n, double rate, int json_pct, rs_feed_stats_t *fs, char *errstr,
                size_t errstr_size) {
    rs_producer_t *p = NULL;
    rs_codec_t *codec = NULL;
    rs_buf_t buf = {0};
    size_t *lens = NULL; /* paced: key and value length of every record */
    int rc = rs_producer_new(&p, kafka, kafka_cnt, on_dr, fs, errstr, errstr_size);
    if (rc) goto done;
    rc = rs_codec_new(&codec, errstr, errstr_size);
    if (rc) goto done;
    if (rate > 0) {
        lens = rs_xmalloc((size_t)n * 2 * sizeof(size_t));
        for (uint64_t i = 0; i < n && !rc; i++)
            rc = encode_next(gen, codec, i, json_pct, fs, &buf, &lens[2 * i], &lens[2 * i + 1],
                             errstr, errstr_size);
        if (rc) goto done;
    }
    int64_t t0 = rs_mono_us();
    size_t at = 0;
    for (uint64_t i = 0; i < n; i++) {
        size_t klen, vlen;
        if (rate > 0) {
            pace(p, t0, i, rate);
            klen = lens[2 * i], vlen = lens[2 * i + 1];
        } else {
            rs_buf_reset(&buf);
            at = 0;
            rc = encode_next(gen, codec, i, json_pct, fs, &buf, &klen, &vlen, errstr, errstr_size);
            if (rc) goto done;
        }
        rc = send_record(p, topic, buf.p + at, klen, buf.p + at + klen, vlen);
        at += klen + vlen;
        if (rc) {
            rs_seterr(errstr, errstr_size, rc, "produce failed: %s", rs_strerror(rc));
            goto done;
        }
        fs->produced++;
        if ((i & 1023) == 0) rs_producer_poll(p);
    }
    rc = rs_producer_flush(p, 60000);
    if (rc || fs->failed)
        rc = rs_seterr(errstr, errstr_size, RS_EKAFKA, "%" PRIu64 " records not delivered",
                       fs->produced - fs->delivered);
done:
    free(lens);
    rs_buf_free(&buf);
    rs_codec_destroy(codec);
    rs_producer_destroy(p);
    return rc;
}
