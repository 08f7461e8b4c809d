/* rs_conf.c -- loader, -X overrides, dump and reference, all driven by the
 * one table rs_conf_props[] (rs_conf_table.c).
 *
 * - rs_conf_set() is the single entry for a value: the file loader and -X
 *   both go through it, so both give the same checks and the same messages
 *   ("ORIGIN: key: message (allowed: ...)").
 * - "kafka.*" keys are stored verbatim (prefix stripped) with their origin;
 *   they are not checked here because only librdkafka knows its properties.
 *   The Kafka wrapper checks them later and reports the stored origin.
 * - A key set twice in one file is an error (almost always a copy-paste
 *   mistake); across sources (file, then -X) the last value wins.
 * - On error the conf may already hold the values set before the bad line;
 *   callers treat any error as fatal, so no rollback is attempted. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "recstream/rs_buf.h"
#include "recstream/rs_conf.h"

#define KAFKA_PREFIX     "kafka."
#define KAFKA_PREFIX_LEN 6

/* ---- field access ---- */

static void *field(rs_conf_t *conf, const rs_conf_prop_t *p) {
    return (char *)conf + p->offset;
}
static const void *cfield(const rs_conf_t *conf, const rs_conf_prop_t *p) {
    return (const char *)conf + p->offset;
}

static const rs_conf_prop_t *prop_find(const char *name) {
    for (const rs_conf_prop_t *p = rs_conf_props; p->name; p++)
        if (!strcmp(p->name, name)) return p;
    return NULL;
}

static const char *type_name(rs_conf_type_t t) {
    switch (t) {
    case RS_CONF_STR:
        return "string";
    case RS_CONF_INT:
        return "int";
    case RS_CONF_INT64:
        return "int64";
    case RS_CONF_DBL:
        return "double";
    case RS_CONF_BOOL:
        return "bool";
    case RS_CONF_ENUM:
        return "enum";
    }
    return "?";
}

/* Shortest text that reads back as the same double; integral values
 * without an exponent so the dump looks like what people write. */
static void fmt_dbl(char *buf, size_t n, double v) {
    if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(buf, n, "%.0f", v);
        return;
    }
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) return;
    }
}

static const char *enum_name(const rs_conf_prop_t *p, int v) {
    for (const rs_conf_s2i_t *e = p->s2i; e->str; e++)
        if (e->val == v) return e->str;
    return NULL;
}

/* "allowed: ..." part of messages and the reference's range column. */
static void fmt_allowed(const rs_conf_prop_t *p, char *buf, size_t n) {
    char a[32], b[32];
    size_t off = 0;
    buf[0] = '\0';
    switch (p->type) {
    case RS_CONF_STR:
        snprintf(buf, n, "%s", (p->flags & RS_CONF_F_EMPTY_OK) ? "any" : "non-empty");
        break;
    case RS_CONF_INT:
    case RS_CONF_INT64:
        snprintf(buf, n, "%lld .. %lld", (long long)p->imin, (long long)p->imax);
        break;
    case RS_CONF_DBL:
        fmt_dbl(a, sizeof(a), p->dmin);
        fmt_dbl(b, sizeof(b), p->dmax);
        snprintf(buf, n, "%s .. %s", a, b);
        break;
    case RS_CONF_BOOL:
        snprintf(buf, n, "true, false");
        break;
    case RS_CONF_ENUM:
        for (const rs_conf_s2i_t *e = p->s2i; e->str && off < n; e++) {
            int w = snprintf(buf + off, n - off, "%s%s", e == p->s2i ? "" : ", ", e->str);
            if (w < 0) break;
            off += (size_t)w;
        }
        break;
    }
}

/* Current value of a table key as text (masking is the caller's business). */
static void fmt_value(const rs_conf_t *conf, const rs_conf_prop_t *p, char *buf, size_t n) {
    const void *f = cfield(conf, p);
    const char *s;
    switch (p->type) {
    case RS_CONF_STR:
        s = *(char *const *)f;
        snprintf(buf, n, "%s", s ? s : "");
        break;
    case RS_CONF_INT:
        snprintf(buf, n, "%d", *(const int *)f);
        break;
    case RS_CONF_INT64:
        snprintf(buf, n, "%lld", (long long)*(const int64_t *)f);
        break;
    case RS_CONF_DBL:
        fmt_dbl(buf, n, *(const double *)f);
        break;
    case RS_CONF_BOOL:
        snprintf(buf, n, "%s", *(const int *)f ? "true" : "false");
        break;
    case RS_CONF_ENUM:
        s = enum_name(p, *(const int *)f);
        if (s)
            snprintf(buf, n, "%s", s);
        else
            snprintf(buf, n, "%d", *(const int *)f);
        break;
    }
}

/* ---- "did you mean" ---- */

/* Optimal string alignment distance (Levenshtein + adjacent swaps), which
 * catches the usual typos: a dropped, doubled or swapped letter. */
static size_t edit_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64) return (size_t)-1;
    size_t d[65][65];
    for (size_t i = 0; i <= la; i++) d[i][0] = i;
    for (size_t j = 0; j <= lb; j++) d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] != b[j - 1];
            size_t v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v) v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < v) v = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[la][lb];
}

/* Common librdkafka properties people write without the "kafka." prefix.
 * Entries ending in '.' match as prefixes. */
static const char *const kafka_hints[] = {"bootstrap.servers",
                                          "metadata.broker.list",
                                          "security.protocol",
                                          "sasl.",
                                          "ssl.",
                                          "client.id",
                                          "auto.offset.reset",
                                          "enable.auto.commit",
                                          "session.timeout.ms",
                                          "max.poll.interval.ms",
                                          "compression.",
                                          "acks",
                                          "linger.ms",
                                          "message.max.bytes",
                                          "enable.idempotence",
                                          "transactional.id",
                                          "isolation.level",
                                          "debug",
                                          "statistics.interval.ms",
                                          "socket.",
                                          "queue.buffering.",
                                          "fetch.",
                                          "request.timeout.ms",
                                          "delivery.timeout.ms",
                                          "retries",
                                          "retry.backoff.ms",
                                          "batch.size",
                                          "batch.num.messages",
                                          NULL};

static int kafka_hint(const char *key) {
    for (const char *const *h = kafka_hints; *h; h++) {
        size_t n = strlen(*h);
        if ((*h)[n - 1] == '.' ? !strncmp(key, *h, n) : !strcmp(key, *h)) return 1;
    }
    return 0;
}

static void unknown_key_msg(const char *key, char *buf, size_t n) {
    const rs_conf_prop_t *best = NULL;
    size_t best_d = (size_t)-1;
    for (const rs_conf_prop_t *p = rs_conf_props; p->name; p++) {
        size_t d = edit_distance(key, p->name);
        if (d < best_d) best_d = d, best = p;
    }
    size_t limit = best ? strlen(best->name) / 5 : 0;
    if (limit < 2) limit = 2;
    if (best && best_d <= limit)
        snprintf(buf, n, "unknown key \"%s\" (did you mean \"%s\"?)", key, best->name);
    else if (kafka_hint(key))
        snprintf(buf, n,
                 "unknown key \"%s\" (did you mean \"kafka.%s\"? librdkafka properties "
                 "take the \"kafka.\" prefix)",
                 key, key);
    else
        snprintf(buf, n, "unknown key \"%s\"", key);
}

/* ---- setting values ---- */

static int parse_bool(const char *s, int *out) {
    static const char *const yes[] = {"true", "yes", "1"}, *const no[] = {"false", "no", "0"};
    for (int i = 0; i < 3; i++) {
        if (!strcasecmp(s, yes[i])) return *out = 1, 0;
        if (!strcasecmp(s, no[i])) return *out = 0, 0;
    }
    return -1;
}

/* Validates `val` for p and, if conf != NULL, stores it. Writes a message
 * without origin into msg on failure. */
static int set_prop(rs_conf_t *conf, const rs_conf_prop_t *p, const char *val, char *msg,
                    size_t msg_size) {
    char allowed[128];
    char *end;
    fmt_allowed(p, allowed, sizeof(allowed));

    switch (p->type) {
    case RS_CONF_STR:
        if (!*val && !(p->flags & RS_CONF_F_EMPTY_OK)) {
            snprintf(msg, msg_size, "%s: value must not be empty", p->name);
            return -1;
        }
        if (p->check) {
            char why[256];
            if (p->check(val, why, sizeof(why))) {
                snprintf(msg, msg_size, "%s: %s", p->name, why);
                return -1;
            }
        }
        if (conf) {
            char **sp = field(conf, p);
            free(*sp);
            *sp = rs_xstrdup(val);
        }
        return 0;

    case RS_CONF_INT:
    case RS_CONF_INT64: {
        errno = 0;
        long long v = strtoll(val, &end, 10);
        if (!*val || *end || isspace((unsigned char)*val)) {
            snprintf(msg, msg_size, "%s: \"%s\" is not an integer (allowed: %s)", p->name, val,
                     allowed);
            return -1;
        }
        if (errno == ERANGE || v < p->imin || v > p->imax) {
            snprintf(msg, msg_size, "%s: %s is out of range (allowed: %s)", p->name, val, allowed);
            return -1;
        }
        if (conf) {
            if (p->type == RS_CONF_INT)
                *(int *)field(conf, p) = (int)v;
            else
                *(int64_t *)field(conf, p) = (int64_t)v;
        }
        return 0;
    }

    case RS_CONF_DBL: {
        double v = strtod(val, &end);
        if (!*val || *end || isspace((unsigned char)*val) || !isfinite(v)) {
            snprintf(msg, msg_size, "%s: \"%s\" is not a number (allowed: %s)", p->name, val,
                     allowed);
            return -1;
        }
        if (v < p->dmin || v > p->dmax) {
            snprintf(msg, msg_size, "%s: %s is out of range (allowed: %s)", p->name, val, allowed);
            return -1;
        }
        if (conf) *(double *)field(conf, p) = v;
        return 0;
    }

    case RS_CONF_BOOL: {
        int v;
        if (parse_bool(val, &v)) {
            snprintf(msg, msg_size,
                     "%s: \"%s\" is not a boolean (allowed: true, false, yes, no, 1, 0)", p->name,
                     val);
            return -1;
        }
        if (conf) *(int *)field(conf, p) = v;
        return 0;
    }

    case RS_CONF_ENUM:
        for (const rs_conf_s2i_t *e = p->s2i; e->str; e++)
            if (!strcasecmp(val, e->str)) {
                if (conf) *(int *)field(conf, p) = e->val;
                return 0;
            }
        snprintf(msg, msg_size, "%s: \"%s\" is not a valid value (allowed: %s)", p->name, val,
                 allowed);
        return -1;
    }
    snprintf(msg, msg_size, "%s: bad table row", p->name);
    return -1;
}

static rs_err_t conf_err(char *errstr, size_t errstr_size, const char *origin, const char *msg) {
    if (origin && *origin) return rs_seterr(errstr, errstr_size, RS_ECONF, "%s: %s", origin, msg);
    return rs_seterr(errstr, errstr_size, RS_ECONF, "%s", msg);
}

rs_err_t rs_conf_set(rs_conf_t *conf, const char *key, const char *val, const char *origin,
                     char *errstr, size_t errstr_size) {
    char msg[512];
    if (!key || !val) return conf_err(errstr, errstr_size, origin, "missing key or value");

    if (!strncmp(key, KAFKA_PREFIX, KAFKA_PREFIX_LEN)) {
        if (!key[KAFKA_PREFIX_LEN]) {
            snprintf(msg, sizeof(msg),
                     "unknown key \"%s\" (a librdkafka property name must follow \"kafka.\")", key);
            return conf_err(errstr, errstr_size, origin, msg);
        }
        rs_conf_set_kafka(conf, key + KAFKA_PREFIX_LEN, val, origin);
        return RS_OK;
    }

    const rs_conf_prop_t *p = prop_find(key);
    if (!p) {
        unknown_key_msg(key, msg, sizeof(msg));
        return conf_err(errstr, errstr_size, origin, msg);
    }
    if (set_prop(conf, p, val, msg, sizeof(msg))) return conf_err(errstr, errstr_size, origin, msg);
    return RS_OK;
}

/* Trims in place; returns the start of the trimmed text. */
static char *trim(char *s) {
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
    return s;
}

rs_err_t rs_conf_set_kv(rs_conf_t *conf, const char *kv, char *errstr, size_t errstr_size) {
    const char *eq = kv ? strchr(kv, '=') : NULL;
    if (!eq)
        return rs_seterr(errstr, errstr_size, RS_ECONF, "-X: expected key=value, got \"%s\"",
                         kv ? kv : "");
    char *copy = rs_xstrdup(kv);
    copy[eq - kv] = '\0';
    char *key = trim(copy), *val = trim(copy + (eq - kv) + 1);
    rs_err_t err;
    if (!*key)
        err = rs_seterr(errstr, errstr_size, RS_ECONF, "-X: missing key before '=' in \"%s\"", kv);
    else
        err = rs_conf_set(conf, key, val, "-X", errstr, errstr_size);
    free(copy);
    return err;
}

void rs_conf_set_kafka(rs_conf_t *conf, const char *key, const char *val, const char *origin) {
    const char *o = origin ? origin : "api";
    for (size_t i = 0; i < conf->kafka_cnt; i++) {
        rs_kv_t *kv = &conf->kafka[i];
        if (strcmp(kv->key, key)) continue;
        /* Replace in place: a later source (-X) overrides, order is kept. */
        free(kv->val);
        free(kv->origin);
        kv->val = rs_xstrdup(val);
        kv->origin = rs_xstrdup(o);
        return;
    }
    conf->kafka = rs_xrealloc(conf->kafka, (conf->kafka_cnt + 1) * sizeof(*conf->kafka));
    rs_kv_t *kv = &conf->kafka[conf->kafka_cnt++];
    kv->key = rs_xstrdup(key);
    kv->val = rs_xstrdup(val);
    kv->origin = rs_xstrdup(o);
}

const char *rs_conf_get_kafka(const rs_conf_t *conf, const char *key) {
    for (size_t i = 0; i < conf->kafka_cnt; i++)
        if (!strcmp(conf->kafka[i].key, key)) return conf->kafka[i].val;
    return NULL;
}

/* ---- file loading ---- */

typedef struct seen {
    char *key;
    int line;
} seen_t;

rs_err_t rs_conf_load_file(rs_conf_t *conf, const char *path, char *errstr, size_t errstr_size) {
    FILE *f = fopen(path, "r");
    if (!f)
        return rs_seterr(errstr, errstr_size, RS_EIO, "cannot open config file \"%s\": %s", path,
                         strerror(errno));

    rs_err_t err = RS_OK;
    char *line = NULL, *origin = NULL;
    size_t line_cap = 0;
    seen_t *seen = NULL;
    size_t seen_cnt = 0;
    int lineno = 0;
    ssize_t len;

    while ((len = getline(&line, &line_cap, f)) >= 0) {
        lineno++;
        if ((size_t)len != strlen(line)) {
            err = rs_seterr(errstr, errstr_size, RS_ECONF, "%s:%d: NUL byte in line", path, lineno);
            goto done;
        }
        char *s = line;
        if (lineno == 1 && !strncmp(s, "\xEF\xBB\xBF", 3)) s += 3; /* UTF-8 BOM */
        s = trim(s);
        if (!*s || *s == '#') continue;

        char *eq = strchr(s, '=');
        if (!eq) {
            err = rs_seterr(errstr, errstr_size, RS_ECONF,
                            "%s:%d: expected \"key = value\", got \"%.80s\"", path, lineno, s);
            goto done;
        }
        *eq = '\0';
        char *key = trim(s), *val = trim(eq + 1);
        if (!*key) {
            err = rs_seterr(errstr, errstr_size, RS_ECONF, "%s:%d: missing key before '='", path,
                            lineno);
            goto done;
        }
        for (size_t i = 0; i < seen_cnt; i++)
            if (!strcmp(seen[i].key, key)) {
                err = rs_seterr(errstr, errstr_size, RS_ECONF,
                                "%s:%d: duplicate key \"%s\" (first set on line %d)", path, lineno,
                                key, seen[i].line);
                goto done;
            }
        seen = rs_xrealloc(seen, (seen_cnt + 1) * sizeof(*seen));
        seen[seen_cnt].key = rs_xstrdup(key);
        seen[seen_cnt++].line = lineno;

        size_t olen = strlen(path) + 16;
        origin = rs_xrealloc(origin, olen);
        snprintf(origin, olen, "%s:%d", path, lineno);
        if ((err = rs_conf_set(conf, key, val, origin, errstr, errstr_size))) goto done;
    }
    if (ferror(f))
        err = rs_seterr(errstr, errstr_size, RS_EIO, "%s: read error: %s", path, strerror(errno));

done:
    for (size_t i = 0; i < seen_cnt; i++) free(seen[i].key);
    free(seen);
    free(origin);
    free(line);
    fclose(f);
    return err;
}

/* ---- lifecycle ---- */

rs_conf_t *rs_conf_new(void) {
    rs_conf_t *conf = rs_xcalloc(1, sizeof(*conf));
    for (const rs_conf_prop_t *p = rs_conf_props; p->name; p++) {
        void *f = field(conf, p);
        switch (p->type) {
        case RS_CONF_STR:
            *(char **)f = rs_xstrdup(p->sdef ? p->sdef : "");
            break;
        case RS_CONF_INT:
        case RS_CONF_BOOL:
        case RS_CONF_ENUM:
            *(int *)f = (int)p->idef;
            break;
        case RS_CONF_INT64:
            *(int64_t *)f = p->idef;
            break;
        case RS_CONF_DBL:
            *(double *)f = p->ddef;
            break;
        }
    }
    return conf;
}

void rs_conf_destroy(rs_conf_t *conf) {
    if (!conf) return;
    for (const rs_conf_prop_t *p = rs_conf_props; p->name; p++)
        if (p->type == RS_CONF_STR) free(*(char **)field(conf, p));
    for (size_t i = 0; i < conf->kafka_cnt; i++) {
        free(conf->kafka[i].key);
        free(conf->kafka[i].val);
        free(conf->kafka[i].origin);
    }
    free(conf->kafka);
    free(conf);
}

/* ---- cross-field checks ---- */

int rs_conf_each_ms(const char *spec, rs_conf_ms_fn_t *fn, void *opaque, char *msg,
                    size_t msg_size) {
    for (const char *p = spec ? spec : ""; *p;) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        while (n && *p == ' ') p++, n--;
        while (n && p[n - 1] == ' ') n--;
        const char *eq = memchr(p, '=', n);
        if (n) {
            char num[32], *end;
            size_t nl = eq ? (size_t)(p + n - eq - 1) : 0;
            if (!eq || eq == p || !nl || nl >= sizeof(num)) {
                snprintf(msg, msg_size, "\"%.*s\" is not NAME=MILLISECONDS", (int)(n > 60 ? 60 : n),
                         p);
                return -1;
            }
            memcpy(num, eq + 1, nl);
            num[nl] = 0;
            long long v = strtoll(num, &end, 10);
            if (*end || v < 0) {
                snprintf(msg, msg_size, "\"%s\" is not a non-negative number of milliseconds", num);
                return -1;
            }
            size_t kl = (size_t)(eq - p);
            while (kl && p[kl - 1] == ' ') kl--;
            if (fn) fn(opaque, p, kl, (int64_t)v);
        }
        p = e ? e + 1 : p + strlen(p);
    }
    return 0;
}

rs_err_t rs_conf_check(const rs_conf_t *conf, char *errstr, size_t errstr_size) {
    char val[8192], msg[512];

    /* Fields may have been set directly by code: re-validate every row. */
    for (const rs_conf_prop_t *p = rs_conf_props; p->name; p++) {
        if (p->type == RS_CONF_STR && !*(char *const *)cfield(conf, p))
            return rs_seterr(errstr, errstr_size, RS_ECONF, "%s: value is not set", p->name);
        fmt_value(conf, p, val, sizeof(val));
        if (set_prop(NULL, p, val, msg, sizeof(msg)))
            return rs_seterr(errstr, errstr_size, RS_ECONF, "%s", msg);
    }

    if (conf->cooc_window_count > conf->recent_items)
        return rs_seterr(errstr, errstr_size, RS_ECONF,
                         "cooc.window.count (%d) must not exceed profile.recent.items (%d): "
                         "items are paired from the recent-items ring",
                         conf->cooc_window_count, conf->recent_items);
    if (conf->rec_recent > conf->recent_items)
        return rs_seterr(errstr, errstr_size, RS_ECONF,
                         "rec.recent (%d) must not exceed profile.recent.items (%d): "
                         "seeds are taken from the recent-items ring",
                         conf->rec_recent, conf->recent_items);
    int any = 0;
    for (int i = 0; i < 8; i++) any |= conf->weight[i] > 0;
    if (!any)
        return rs_seterr(errstr, errstr_size, RS_ECONF,
                         "weight.*: every event weight is 0, so nothing would be counted");
    return RS_OK;
}

/* ---- dump, help, reference ---- */

static int kafka_sensitive(const char *key) {
    static const char *const pats[] = {"password", "secret", "sasl.oauthbearer.config", "ssl.key",
                                       NULL};
    for (const char *const *p = pats; *p; p++)
        if (strstr(key, *p)) return 1;
    return 0;
}

void rs_conf_dump(const rs_conf_t *conf, FILE *out) {
    char val[512];
    for (const rs_conf_prop_t *p = rs_conf_props; p->name; p++) {
        fmt_value(conf, p, val, sizeof(val));
        fprintf(out, "%s = %s\n", p->name, (p->flags & RS_CONF_F_SENSITIVE) ? "***" : val);
    }
    for (size_t i = 0; i < conf->kafka_cnt; i++)
        fprintf(out, "kafka.%s = %s\n", conf->kafka[i].key,
                kafka_sensitive(conf->kafka[i].key) ? "***" : conf->kafka[i].val);
}

void rs_conf_write_help(FILE *out) {
    rs_conf_t *def = rs_conf_new();
    char val[128];
    for (const rs_conf_prop_t *p = rs_conf_props; p->name; p++) {
        fmt_value(def, p, val, sizeof(val));
        fprintf(out, "  %-26s %s (default: %s)\n", p->name, p->desc, val);
    }
    fprintf(out, "  %-26s passed to librdkafka without the prefix\n", "kafka.*");
    rs_conf_destroy(def);
}

/* Markdown table cell: backquote code, escape the column separator. */
static void md_cell(FILE *out, const char *s, int code) {
    fputs(code ? " `" : " ", out);
    for (; *s; s++) {
        if (*s == '|') fputc('\\', out);
        fputc(*s, out);
    }
    fputs(code ? "` |" : " |", out);
}

void rs_conf_write_reference(FILE *out) {
    rs_conf_t *def = rs_conf_new();
    char val[128], allowed[128];
    const char *section = NULL;

    fputs("# recstream configuration reference\n\n"
          "This file is generated by `recstream config --reference` from\n"
          "`src/core/rs_conf_table.c`; edit the table, not this file.\n\n"
          "The configuration file (`conf/recstream.conf`) holds one `key = value` per line.\n"
          "Lines starting with `#` and blank lines are ignored; whitespace around keys and\n"
          "values is trimmed and values are otherwise taken literally (no quotes, no trailing\n"
          "comments). Unknown keys, bad values and a key set twice in one file are errors\n"
          "reported as `FILE:LINE: message`. Booleans accept `true`/`false`, `yes`/`no` and\n"
          "`1`/`0`.\n"
          "\n"
          "`recstream run` re-reads the file (and re-applies its `-X` overrides) on SIGHUP.\n"
          "Keys marked \"Live\" below take effect at once; a change to any other key (or to a\n"
          "`kafka.*` key) is logged as needing a restart and the running value is kept. A file\n"
          "that no longer loads is logged with its `FILE:LINE` and changes nothing.\n",
          out);

    for (const rs_conf_prop_t *p = rs_conf_props; p->name; p++) {
        if (!section || strcmp(section, p->section)) {
            section = p->section;
            fprintf(out, "\n## %s\n\n", section);
            fputs("| key | type | default | range/values | description |\n"
                  "|-----|------|---------|--------------|-------------|\n",
                  out);
        }
        fmt_value(def, p, val, sizeof(val));
        fmt_allowed(p, allowed, sizeof(allowed));
        fputc('|', out);
        md_cell(out, p->name, 1);
        md_cell(out, type_name(p->type), 0);
        md_cell(out, (p->flags & RS_CONF_F_SENSITIVE) ? "***" : val, 1);
        md_cell(out, allowed, 0);
        if (rs_conf_prop_live(p)) {
            char d[1024];
            snprintf(d, sizeof(d), "%s Live: SIGHUP applies it.", p->desc);
            md_cell(out, d, 0);
        } else {
            md_cell(out, p->desc, 0);
        }
        fputc('\n', out);
    }

    fputs("\n## kafka.* (librdkafka passthrough)\n\n"
          "Every key that starts with `kafka.` is handed to librdkafka with the prefix\n"
          "removed, for example `kafka.bootstrap.servers = localhost:9092`,\n"
          "`kafka.security.protocol = SASL_SSL`, `kafka.sasl.mechanism = SCRAM-SHA-512`,\n"
          "`kafka.sasl.username`, `kafka.sasl.password` or `kafka.ssl.ca.location`. These keys\n"
          "are not checked when the file is read: librdkafka checks them when the Kafka\n"
          "client is created, and its errors name the same `FILE:LINE` (or `-X`). See\n"
          "librdkafka's CONFIGURATION.md for the properties. In the effective-configuration\n"
          "dump, values of keys containing `password`, `secret`, `sasl.oauthbearer.config`\n"
          "or `ssl.key` are shown as `***`.\n"
          "\n## Command-line overrides (-X)\n\n"
          "`-X key=value` sets any key above, or any `kafka.*` key, after the configuration\n"
          "file has been read, in command-line order; the last value given wins (unlike\n"
          "within one file, where a repeated key is an error). Errors in `-X` values are\n"
          "reported as `-X: message`.\n",
          out);
    rs_conf_destroy(def);
}

/* ---- live reload (SIGHUP) ---- */

/* Keys whose change a running daemon applies at once. Each is a scalar that
 * the loop thread reads from the conf at every use (scoring, validation,
 * detectors, logging), never to size a buffer, lay out stored state or arm a
 * timer, and that the thread-pool work (k-means) never reads; so overwriting
 * it between batches is safe. A "prefix." entry covers a whole family. */
static const char *const live_keys[] = {
    "log.level",
    "weight.",
    "rec.recent",
    "rec.recency",
    "rec.recency.decay",
    "rec.type.boost",
    "rec.category.fill",
    "rec.content.weight",
    "rec.diversity.max",
    "rec.exclude.seen",
    "rec.exclude.purchased",
    "rec.min.interval.ms",
    "rec.coalesce.ms",
    "rec.repurchase.ms",
    "rec.trending.min",
    "rules.min.count",
    "rules.min.support",
    "rules.min.confidence",
    "rules.min.lift",
    "segments.refresh.ms",
    "alert.episode.gap.ms",
    "alert.rate.z",
    "alert.rate.min.events",
    "alert.bot.min.views",
    "alert.bot.max.dwell.ms",
    "alert.amount.factor",
    "alert.amount.min.history",
    "alert.card.min.purchases",
    "alert.item.z",
    "alert.item.factor",
    "alert.item.min.events",
    "validate.max.future.ms",
    "validate.max.price",
    "validate.max.bytes",
    "validate.max.id.len",
    "http.max.rps",
    "http.client.max.rps",
    "http.timeout.ms",
    NULL,
};

int rs_conf_prop_live(const rs_conf_prop_t *p) {
    if (p->type == RS_CONF_STR) return 0;
    for (const char *const *k = live_keys; *k; k++) {
        size_t n = strlen(*k);
        if ((*k)[n - 1] == '.' ? !strncmp(p->name, *k, n) : !strcmp(p->name, *k)) return 1;
    }
    return 0;
}

static size_t scalar_size(const rs_conf_prop_t *p) {
    return p->type == RS_CONF_INT64 ? sizeof(int64_t)
           : p->type == RS_CONF_DBL ? sizeof(double)
                                    : sizeof(int);
}

static int same_value(const rs_conf_t *a, const rs_conf_t *b, const rs_conf_prop_t *p) {
    if (p->type == RS_CONF_STR) {
        const char *x = *(char *const *)cfield(a, p), *y = *(char *const *)cfield(b, p);
        return !strcmp(x ? x : "", y ? y : "");
    }
    return !memcmp(cfield(a, p), cfield(b, p), scalar_size(p));
}

static int same_kafka(const rs_conf_t *a, const rs_conf_t *b) {
    if (a->kafka_cnt != b->kafka_cnt) return 0;
    for (size_t i = 0; i < a->kafka_cnt; i++) {
        const char *v = rs_conf_get_kafka(b, a->kafka[i].key);
        if (!v || strcmp(v, a->kafka[i].val)) return 0;
    }
    return 1;
}

int rs_conf_reload(rs_conf_t *running, const rs_conf_t *fresh, rs_buf_t *report, char *errstr,
                   size_t errstr_size) {
    enum { MAXLIVE = 128 };
    struct {
        const rs_conf_prop_t *p;
        unsigned char old[8];
    } undo[MAXLIVE];
    int n = 0;
    char was[128], now[128];
    for (const rs_conf_prop_t *p = rs_conf_props; p->name; p++) {
        if (same_value(running, fresh, p)) continue;
        int secret = p->flags & RS_CONF_F_SENSITIVE;
        fmt_value(running, p, was, sizeof(was));
        fmt_value(fresh, p, now, sizeof(now));
        if (!rs_conf_prop_live(p) || n == MAXLIVE) {
            rs_buf_printf(report, "%s: %s -> %s needs a restart (kept %s)\n", p->name,
                          secret ? "***" : was, secret ? "***" : now, secret ? "***" : was);
            continue;
        }
        undo[n].p = p;
        memcpy(undo[n].old, cfield(running, p), scalar_size(p));
        memcpy(field(running, p), cfield(fresh, p), scalar_size(p));
        n++;
        rs_buf_printf(report, "%s: %s -> %s\n", p->name, was, now);
    }
    if (!same_kafka(running, fresh))
        rs_buf_printf(report, "kafka.*: changed, needs a restart (kept the running client)\n");
    /* Cross-key rules (rs_conf_check) over the mix of kept and new values. */
    rs_err_t rc = rs_conf_check(running, errstr, errstr_size);
    if (rc) {
        while (n--) memcpy(field(running, undo[n].p), undo[n].old, scalar_size(undo[n].p));
        return rc;
    }
    return n;
}
