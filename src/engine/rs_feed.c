/* rs_feed.c -- see rs_feed.h. */
#include <inttypes.h>
#include <stdio.h>
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
}

int rs_feed_run(const rs_kv_t *kafka, size_t kafka_cnt, const char *topic, rs_gen_t *gen,
                uint64_t n, double rate, int json_pct, rs_feed_stats_t *fs, char *errstr,
                size_t errstr_size) {
    rs_producer_t *p = NULL;
    rs_codec_t *codec = NULL;
    rs_buf_t buf = {0};
    unsigned char garbage[256];
    int rc = rs_producer_new(&p, kafka, kafka_cnt, on_dr, fs, errstr, errstr_size);
    if (rc) goto done;
    rc = rs_codec_new(&codec, errstr, errstr_size);
    if (rc) goto done;
    int64_t t0 = rs_mono_us();
    for (uint64_t i = 0; i < n; i++) {
        if (rate > 0) {
            int64_t due = t0 + (int64_t)((double)i * 1e6 / rate);
            int64_t now = rs_mono_us();
            if (due > now + 200) {
                rs_producer_poll(p);
                struct timespec ts = {0, (long)(due - now) * 1000};
                nanosleep(&ts, NULL);
            }
        }
        rs_gen_kind_t kind;
        const rs_event_t *ev = rs_gen_next(gen, &kind);
        const void *val;
        size_t vlen;
        rs_buf_reset(&buf);
        if (kind == RS_GEN_BAD_GARBAGE) {
            vlen = rs_gen_garbage(gen, garbage, sizeof(garbage));
            val = garbage;
        } else {
            int json = kind == RS_GEN_BAD_MISSING || kind == RS_GEN_BAD_TYPE ||
                       (json_pct > 0 && (int)(i % 100) < json_pct);
            if (rs_codec_encode_event(codec, ev, json ? RS_FMT_JSON : RS_FMT_CONFLUENT, 1, &buf)) {
                rc =
                    rs_seterr(errstr, errstr_size, RS_EARG, "encoding event %" PRIu64 " failed", i);
                goto done;
            }
            val = buf.p;
            vlen = buf.len;
        }
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
        for (;;) { /* no headers: the record's CreateTime is its produce time */
            rc = rs_producer_send(p, topic, -1, ev->user_id.p, ev->user_id.len, val, vlen, NULL, 0,
                                  NULL);
            if (rc != RS_EFULL) break;
            rs_producer_flush(p, 10);
        }
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
    rs_buf_free(&buf);
    rs_codec_destroy(codec);
    rs_producer_destroy(p);
    return rc;
}
