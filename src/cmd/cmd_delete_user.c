/* cmd_delete_user.c -- `recstream delete-user ID --state DIR [-b BROKERS]`
 * (SPEC F19): removes a user's profile from a state directory and, with -b,
 * puts a tombstone (key = user id, null value) on the recommendations
 * topic so compacted consumers forget the user's last list too.
 *
 * What goes: the profile (the users column family: counts, sessions,
 * purchases, recent and purchased items, recommendation bookkeeping). What
 * stays: item counts and item-item co-occurrence counts. They are sums over
 * all users with no per-user breakdown stored, so nothing in them names or
 * can be traced back to the user (the usual treatment of aggregates under
 * erasure requests); the user's past events keep shaping "also bought"
 * lists, as any aggregate statistic would.
 *
 * Order, so that a failure can simply be retried: the delete is queued in
 * the state's WriteBatch, then the tombstone is produced and its delivery
 * awaited, then the batch is committed. A failed delivery leaves the state
 * untouched; a failed commit after a delivered tombstone is fixed by running
 * the command again (a second tombstone is harmless).
 *
 * Retention and privacy: with privacy.user.id.hash the state and the topic
 * know the user by HMAC(salt, id); ID is the raw id (or that hash) and the
 * tombstone carries the hashed key, the one the daemon published under. A
 * user that idled past state.user.ttl.ms is already invisible but may still
 * be on disk until a compaction: it is deleted all the same, and leaves the
 * segment counts through the expiry hook.
 *
 * Live daemons: the state directory is locked by a running `recstream run`
 * (RocksDB's LOCK), so this command works on a stopped instance or its
 * copy. There is no live path: the daemon's HTTP server (rs_http) speaks
 * GET/HEAD only, so a DELETE route would need a new method in rs_http.
 * Exit: 0 deleted, 1 unknown user or error, 2 usage. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recstream/rs_kafka.h"
#include "recstream/rs_log.h"
#include "recstream/rs_segment.h"
#include "recstream/rs_state.h"
#include "rs_cli.h"

static void usage(FILE *out) {
    fprintf(out, "usage: recstream delete-user ID --state DIR [-b BROKERS] [options]\n"
                 "\n"
                 "Removes every trace of a user from a state directory (profile: counts,\n"
                 "sessions, purchases, recent and purchased items, recommendation bookkeeping).\n"
                 "Item and co-occurrence counts are aggregates over all users and stay. With -b,\n"
                 "also produces a tombstone (key = ID, null value) to topic.recommendations and\n"
                 "waits for its delivery before committing the deletion. The daemon must not be\n"
                 "running on DIR (it holds the directory's lock); it has no live delete route.\n"
                 "With privacy.user.id.hash = true, give the raw id (or its hash): it is hashed\n"
                 "with privacy.user.id.salt like the daemon does, and the tombstone's key is the\n"
                 "hashed id.\n"
                 "\n"
                 "  -s, --state DIR       state directory\n"
                 "  -b, --brokers LIST    Kafka bootstrap servers for the tombstone\n"
                 "      --topic T         tombstone topic (default: topic.recommendations)\n"
                 "      --timeout-ms N    delivery timeout (default 30000)\n"
                 "  -c, --config FILE     properties file (kafka.* security settings, topics)\n"
                 "  -X key=value          override a configuration key\n"
                 "  -h, --help\n"
                 "\n"
                 "Exit status: 0 deleted, 1 unknown user or error, 2 usage.\n");
}

typedef struct dr {
    int done, err;
    char errstr[256];
} dr_t;

static void on_dr(void *opaque, void *msg_opaque, int err, const char *errstr) {
    dr_t *d = opaque;
    d->done = 1;
    d->err = err;
    if (err) snprintf(d->errstr, sizeof(d->errstr), "%s", errstr ? errstr : "delivery failed");
}

/* Produces the tombstone and waits for its delivery report. */
static rs_err_t tombstone(const rs_conf_t *conf, const char *topic, const char *id, size_t idlen,
                          int timeout_ms, char *errstr, size_t errstr_size) {
    rs_producer_t *p = NULL;
    dr_t d = {0};
    rs_err_t rc = rs_producer_new(&p, conf->kafka, conf->kafka_cnt, on_dr, &d, errstr, errstr_size);
    if (rc) return rc;
    rc = rs_producer_send(p, topic, -1, id, idlen, NULL, 0, NULL, 0, NULL);
    if (rc) {
        rs_seterr(errstr, errstr_size, rc, "producing the tombstone to %s failed", topic);
        goto out;
    }
    rc = rs_producer_flush(p, timeout_ms + 2000); /* + slack: the report comes at the deadline */
    rs_producer_poll(p);
    if (!d.done)
        rc = rs_seterr(errstr, errstr_size, RS_ETIMEOUT,
                       "tombstone to %s not delivered within %d ms", topic, timeout_ms);
    else if (d.err)
        rc = rs_seterr(errstr, errstr_size, RS_EKAFKA, "tombstone to %s: %s", topic, d.errstr);
    else
        rc = RS_OK;
out:
    rs_producer_destroy(p);
    return rc;
}

static void forget(void *opaque, rs_user_t *u) {
    rs_segment_forget(opaque, u);
}

int cmd_delete_user(int argc, char **argv) {
    static const struct option lo[] = {{"state", required_argument, 0, 's'},
                                       {"brokers", required_argument, 0, 'b'},
                                       {"topic", required_argument, 0, 1},
                                       {"timeout-ms", required_argument, 0, 2},
                                       {"config", required_argument, 0, 'c'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    rs_cli_conf_t cc = {0};
    const char *dir = NULL, *brokers = NULL, *topic = NULL;
    int timeout_ms = 30000, c;
    while ((c = getopt_long(argc, argv, "s:b:c:X:h", lo, NULL)) != -1) {
        switch (c) {
        case 's':
            dir = optarg;
            break;
        case 'b':
            brokers = optarg;
            break;
        case 1:
            topic = optarg;
            break;
        case 2:
            timeout_ms = atoi(optarg);
            break;
        default: {
            int ex;
            if (rs_cli_common_opt(c, optarg, &cc, usage, &ex)) return ex;
            break;
        }
        }
    }
    if (!dir || optind != argc - 1 || !*argv[optind] || timeout_ms <= 0) {
        fprintf(stderr, "recstream delete-user: %s\n",
                !dir                 ? "--state DIR is required"
                : optind != argc - 1 ? "exactly one user ID is required"
                : timeout_ms <= 0    ? "--timeout-ms must be positive"
                                     : "the user ID is empty");
        usage(stderr);
        rs_cli_conf_free(&cc);
        return RS_EXIT_FAIL;
    }
    const char *id = argv[optind];
    rs_conf_t *conf = rs_cli_conf_build(&cc, "recstream delete-user");
    rs_cli_conf_free(&cc);
    if (!conf) return RS_EXIT_FAIL;
    if (rs_log_level > RS_LOG_WARN) rs_log_level = RS_LOG_WARN;
    char err[512];
    rs_conf_set(conf, "state.dir", dir, "--state", err, sizeof(err));
    if (brokers) rs_conf_set_kafka(conf, "bootstrap.servers", brokers, "-b");
    if (brokers && !rs_conf_get_kafka(conf, "message.timeout.ms")) {
        /* librdkafka gives up (and reports) at the same deadline we wait for */
        char ms[24];
        snprintf(ms, sizeof(ms), "%d", timeout_ms);
        rs_conf_set_kafka(conf, "message.timeout.ms", ms, "--timeout-ms");
    }
    if (!topic) topic = conf->topic_recommendations;

    rs_state_t *st = NULL;
    rs_segmenter_t *seg = NULL;
    int rc = rs_state_open(&st, conf, err, sizeof(err));
    /* the user leaves the segment histograms and sizes in the same batch */
    if (!rc && conf->segments_enable) rc = rs_segmenter_new(&seg, conf, st, NULL, err, sizeof(err));
    /* the key the user is stored and was published under (hashed with
     * privacy.user.id.hash); copied: the user and the state's buffer go */
    char key[1024];
    size_t klen = 0;
    if (!rc) {
        rs_user_t *u = rs_state_user_get(st, id, strlen(id));
        const char *k = u ? u->id : rs_state_user_key(st, id, strlen(id), &klen);
        klen = u ? u->id_len : klen;
        if (klen >= sizeof(key)) klen = sizeof(key) - 1; /* ids are validated far shorter */
        memcpy(key, k, klen);
        key[klen] = '\0';
        if (seg) {
            rs_state_on_expire(st, forget, seg); /* an expired user still on disk */
            if (u) rs_segment_forget(seg, u);
        }
    }
    if (!rc) rc = rs_state_user_delete(st, id, strlen(id), err, sizeof(err));
    if (!rc && seg) rs_segment_stage(seg);
    if (rc == RS_ENOTFOUND) {
        fprintf(stderr, "recstream delete-user: unknown user \"%s\" in %s\n", id, dir);
        goto out;
    }
    int sent = 0;
    if (!rc && brokers && !(rc = tombstone(conf, topic, key, klen, timeout_ms, err, sizeof(err))))
        sent = 1;
    if (!rc) rc = rs_state_commit(st, err, sizeof(err));
    if (rc) /* every failure leaves the state as it was: a WriteBatch is all or nothing */
        fprintf(stderr, "recstream delete-user: %s (state unchanged%s)\n", err,
                sent ? "; the tombstone was delivered, run again" : "");
    else
        printf("deleted user %s%s%s%s from %s%s%s\n", id, strcmp(key, id) ? " (key " : "",
               strcmp(key, id) ? key : "", strcmp(key, id) ? ")" : "", dir,
               brokers ? "; tombstone on " : "", brokers ? topic : "");
    if (!rc && !brokers)
        fprintf(stderr,
                "recstream delete-user: no -b given: no tombstone was produced, so "
                "%s still holds the user's last list\n",
                topic);
out:
    rs_segmenter_destroy(seg);
    rs_state_close(st); /* without a commit: discards the queued delete */
    rs_conf_destroy(conf);
    return rc ? 1 : 0;
}
