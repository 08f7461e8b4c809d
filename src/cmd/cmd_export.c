/* cmd_export.c -- `recstream export --state DIR [--users] [--items] [--out
 * FILE]` (issue 6, SPEC F12/F16): a state directory written out as JSON
 * lines, one object per user and per item, for backfills into other systems,
 * audits and debugging.
 *
 * The state is opened read-only, so a copy or a stopped daemon's directory
 * can be exported. Output order is deterministic: users, then items, each
 * sorted by id bytes (the RocksDB key order); fields in a fixed order;
 * doubles in the shortest form that reads back exactly. Two exports of the
 * same state are byte-identical.
 *
 *   {"kind":"user","user_id":..,"counts":{"view":..,...},"first_ts":..,
 *    "last_ts":..,"sessions":..,"purchases":..,"monetary":..,
 *    "recent":[{"item_id":..,"type":..,"ts":..}],
 *    "purchased":[{"item_id":..,"ts":..}],"rec_version":..}
 *   {"kind":"item","item_id":..,"counts":{..},"users":..,"first_ts":..,
 *    "last_ts":..[,"category":..][,"brand":..][,"price":..][,"flags":[..]]
 *    [,"attributes":..],"neighbors":[{"item_id":..,"count":..,"pairs":..,
 *    "sim":..}]}
 *
 * "users" is n(item), the number of users the item was new to (its weight);
 * neighbours are the engine's top-N list in its order, with the raw
 * co-occurrence count, the count in pair units (count / rs_state_pair_scale)
 * and the similarity as of now (rs_state_sim). Exit: 0 ok, 1 error, 2 usage. */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recstream/rs_buf.h"
#include "recstream/rs_log.h"
#include "recstream/rs_state.h"
#include "rs_cli.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: recstream export --state DIR [--users] [--items] [--out FILE] [options]\n"
            "\n"
            "Writes a state directory as JSON lines: one {\"kind\":\"user\",...} object per user\n"
            "(counts per event type, first/last event time, sessions, purchases, monetary,\n"
            "recent items with type and time, purchased items with time, rec_version) and one\n"
            "{\"kind\":\"item\",...} object per item (counts, users = n(item), category, brand,\n"
            "price and flags when known, top neighbours with co-occurrence count and current\n"
            "similarity). Users first, then items, each sorted by id; byte-identical for the\n"
            "same state. The directory is opened read-only.\n"
            "\n"
            "  -s, --state DIR      state directory\n"
            "      --users          export users (default: users and items)\n"
            "      --items          export items\n"
            "  -o, --out FILE       write there instead of stdout\n"
            "      --neighbors N    at most N neighbours per item (default: the whole list,\n"
            "                       rec.neighbors)\n"
            "  -c, --config FILE    properties file (rec.similarity, rec.alpha, ring sizes)\n"
            "  -X key=value         override a configuration key\n"
            "  -h, --help\n"
            "\n"
            "Exit status: 0 ok, 1 error, 2 usage.\n");
}

typedef struct exporter {
    rs_state_t *st;
    FILE *out;
    rs_buf_t b;
    uint64_t users, items;
    uint32_t max_nbrs;
    int io_err;
} exporter_t;

/* Shortest %.Ng that reads back exactly; JSON has no NaN/inf: null. */
static void put_double(rs_buf_t *b, double d) {
    char tmp[40];
    if (!isfinite(d)) {
        rs_buf_printf(b, "null");
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
        if (strtod(tmp, NULL) == d) break;
    }
    rs_buf_printf(b, "%s", tmp);
}

static void put_counts(rs_buf_t *b, const uint32_t *c) {
    rs_buf_printf(b, ",\"counts\":{");
    for (int i = 0; i < RS_EV__COUNT; i++)
        rs_buf_printf(b, "%s\"%s\":%u", i ? "," : "", rs_evtype_name((rs_evtype_t)i), c[i]);
    rs_buf_putc(b, '}');
}

static void put_item_id(exporter_t *x, uint32_t idx) {
    const rs_item_t *it = rs_state_item_by_idx(x->st, idx);
    if (it)
        rs_buf_json_str(&x->b, it->id, it->id_len);
    else
        rs_buf_printf(&x->b, "null"); /* cannot happen in a consistent state */
}

static void flush_line(exporter_t *x) {
    rs_buf_putc(&x->b, '\n');
    if (fwrite(x->b.p, 1, x->b.len, x->out) != x->b.len) x->io_err = 1;
    rs_buf_reset(&x->b);
}

static int export_user(void *opaque, const rs_user_t *u) {
    exporter_t *x = opaque;
    rs_buf_t *b = &x->b;
    rs_buf_printf(b, "{\"kind\":\"user\",\"user_id\":");
    rs_buf_json_str(b, u->id, u->id_len);
    put_counts(b, u->counts);
    rs_buf_printf(b,
                  ",\"first_ts\":%" PRId64 ",\"last_ts\":%" PRId64
                  ",\"sessions\":%u,\"purchases\":%u,\"monetary\":",
                  u->first_ts, u->last_ts, u->sessions, u->purchases);
    put_double(b, u->monetary);
    rs_buf_printf(b, ",\"recent\":[");
    for (uint16_t i = 0; i < u->n_recent; i++) {
        rs_buf_printf(b, "%s{\"item_id\":", i ? "," : "");
        put_item_id(x, u->recent[i].item);
        rs_buf_printf(b, ",\"type\":\"%s\",\"ts\":%" PRId64 "}",
                      rs_evtype_name((rs_evtype_t)u->recent[i].type), u->recent[i].ts);
    }
    rs_buf_printf(b, "],\"purchased\":[");
    for (uint16_t i = 0; i < u->n_purchased; i++) {
        rs_buf_printf(b, "%s{\"item_id\":", i ? "," : "");
        put_item_id(x, u->purchased[i]);
        rs_buf_printf(b, ",\"ts\":%" PRId64 "}", u->purchased_ts[i]);
    }
    rs_buf_printf(b, "],\"rec_version\":%" PRId64 "}", u->rec_version);
    flush_line(x);
    x->users++;
    return x->io_err;
}

static void export_item(exporter_t *x, rs_item_t *it) {
    rs_buf_t *b = &x->b;
    uint32_t len;
    rs_buf_printf(b, "{\"kind\":\"item\",\"item_id\":");
    rs_buf_json_str(b, it->id, it->id_len);
    put_counts(b, it->counts);
    rs_buf_printf(b, ",\"users\":%" PRIu64 ",\"first_ts\":%" PRId64 ",\"last_ts\":%" PRId64,
                  it->weight, it->first_ts, it->last_ts);
    if (it->category) {
        const char *s = rs_state_name(x->st, it->category, &len);
        rs_buf_printf(b, ",\"category\":");
        rs_buf_json_str(b, s, len);
    }
    if (it->brand) {
        const char *s = rs_state_name(x->st, it->brand, &len);
        rs_buf_printf(b, ",\"brand\":");
        rs_buf_json_str(b, s, len);
    }
    if (it->price >= 0) {
        rs_buf_printf(b, ",\"price\":");
        put_double(b, it->price);
    }
    if (it->flags) {
        static const char *const names[] = {"out_of_stock", "blocked", "deleted"};
        int first = 1;
        rs_buf_printf(b, ",\"flags\":[");
        for (int i = 0; i < 3; i++)
            if (it->flags & (1u << i))
                rs_buf_printf(b, "%s\"%s\"", first ? "" : ",", names[i]), first = 0;
        rs_buf_putc(b, ']');
    }
    if (it->attrs) {
        rs_buf_printf(b, ",\"attributes\":");
        rs_buf_json_str(b, it->attrs, strlen(it->attrs));
    }
    uint32_t n = 0;
    const rs_nbr_t *top = rs_state_item_top(x->st, it, &n);
    double scale = (double)rs_state_pair_scale(x->st);
    if (n > x->max_nbrs) n = x->max_nbrs;
    rs_buf_printf(b, ",\"neighbors\":[");
    for (uint32_t i = 0; i < n; i++) {
        rs_buf_printf(b, "%s{\"item_id\":", i ? "," : "");
        put_item_id(x, top[i].item);
        rs_buf_printf(b, ",\"count\":%u,\"pairs\":", top[i].cnt);
        put_double(b, (double)top[i].cnt / scale);
        rs_buf_printf(b, ",\"sim\":");
        /* float -> double is exact; print the float's shortest form */
        char tmp[40];
        float f = rs_state_sim(x->st, it, top[i].item, top[i].cnt);
        if (!isfinite(f)) {
            rs_buf_printf(b, "null");
        } else {
            for (int prec = 6; prec <= 9; prec++) {
                snprintf(tmp, sizeof(tmp), "%.*g", prec, (double)f);
                if (strtof(tmp, NULL) == f) break;
            }
            rs_buf_printf(b, "%s", tmp);
        }
        rs_buf_putc(b, '}');
    }
    rs_buf_printf(b, "]}");
    flush_line(x);
    x->items++;
}

static int cmp_item_id(const void *a, const void *b) {
    const rs_item_t *x = *(rs_item_t *const *)a, *y = *(rs_item_t *const *)b;
    size_t n = x->id_len < y->id_len ? x->id_len : y->id_len;
    int c = memcmp(x->id, y->id, n);
    return c ? c : (x->id_len > y->id_len) - (x->id_len < y->id_len);
}

int cmd_export(int argc, char **argv) {
    static const struct option lo[] = {
        {"state", required_argument, 0, 's'},   {"users", no_argument, 0, 1},
        {"items", no_argument, 0, 2},           {"out", required_argument, 0, 'o'},
        {"neighbors", required_argument, 0, 3}, {"config", required_argument, 0, 'c'},
        {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
    rs_cli_conf_t cc = {0};
    const char *dir = NULL, *outp = NULL;
    int users = 0, items = 0, c;
    long max_nbrs = -1;
    while ((c = getopt_long(argc, argv, "s:o:c:X:h", lo, NULL)) != -1) {
        switch (c) {
        case 's':
            dir = optarg;
            break;
        case 1:
            users = 1;
            break;
        case 2:
            items = 1;
            break;
        case 'o':
            outp = optarg;
            break;
        case 3:
            max_nbrs = strtol(optarg, NULL, 10);
            break;
        default: {
            int ex;
            if (rs_cli_common_opt(c, optarg, &cc, usage, &ex)) return ex;
            break;
        }
        }
    }
    if (!dir || optind < argc) {
        fprintf(stderr, "recstream export: %s\n",
                !dir ? "--state DIR is required" : "unexpected argument");
        usage(stderr);
        rs_cli_conf_free(&cc);
        return RS_EXIT_FAIL;
    }
    if (!users && !items) users = items = 1;
    rs_conf_t *conf = rs_cli_conf_build(&cc, "recstream export");
    rs_cli_conf_free(&cc);
    if (!conf) return RS_EXIT_FAIL;
    if (rs_log_level > RS_LOG_WARN) rs_log_level = RS_LOG_WARN;
    char err[512];
    rs_conf_set(conf, "state.dir", dir, "--state", err, sizeof(err));
    exporter_t x = {.out = stdout, .max_nbrs = max_nbrs < 0 ? UINT32_MAX : (uint32_t)max_nbrs};
    rs_item_t **sorted = NULL;
    int rc = rs_state_open_ro(&x.st, conf, err, sizeof(err));
    if (!rc && outp && !(x.out = fopen(outp, "w")))
        rc = rs_seterr(err, sizeof(err), RS_EIO, "cannot write %s", outp);
    if (!rc && users) rc = rs_state_users_foreach(x.st, export_user, &x, err, sizeof(err));
    if (rc > 0) rc = 0; /* export_user stopped on a write error: x.io_err says so below */
    if (!rc && items) {
        uint32_t n = rs_state_item_count(x.st);
        rs_state_sync(x.st);
        sorted = rs_xmalloc((n ? n : 1) * sizeof(*sorted));
        for (uint32_t i = 0; i < n; i++) sorted[i] = rs_state_item_by_idx(x.st, i);
        qsort(sorted, n, sizeof(*sorted), cmp_item_id);
        for (uint32_t i = 0; i < n && !x.io_err; i++) export_item(&x, sorted[i]);
    }
    if (x.out && x.out != stdout && fclose(x.out)) x.io_err = 1;
    if (x.out == stdout && fflush(stdout)) x.io_err = 1;
    if (!rc && x.io_err)
        rc = rs_seterr(err, sizeof(err), RS_EIO, "write error on %s", outp ? outp : "stdout");
    if (rc)
        fprintf(stderr, "recstream export: %s\n", err);
    else
        fprintf(stderr, "recstream export: %" PRIu64 " users, %" PRIu64 " items\n", x.users,
                x.items);
    free(sorted);
    rs_buf_free(&x.b);
    rs_state_close(x.st);
    rs_conf_destroy(conf);
    return rc ? 1 : 0;
}
