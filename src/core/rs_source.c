/* rs_source.c -- file event sources (see rs_source.h). CSV lines go through
 * rs_csv's parser; JSON lines through the codec's strict JSON event decoder,
 * the same one the daemon uses for JSON records; Avro container files
 * through rs_avro_file (Avro C's reader, in src/wrap/rs_avro.c). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recstream/rs_buf.h"
#include "recstream/rs_codec.h"
#include "recstream/rs_csv.h"
#include "recstream/rs_fileio.h"
#include "recstream/rs_source.h"

struct rs_source {
    rs_source_fmt_t fmt;
    rs_csv_t *r;
    rs_codec_t *codec;
    rs_avro_file_t *avro;
    char *path;
};

static int ends_with(const char *s, const char *suf) {
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && !strcmp(s + n - m, suf);
}

rs_err_t rs_source_open(rs_source_t **out, const char *path, const char *format, char *errstr,
                        size_t errstr_size) {
    *out = NULL;
    rs_source_fmt_t fmt;
    if (format && !strcmp(format, "csv"))
        fmt = RS_SRC_CSV;
    else if (format && (!strcmp(format, "jsonl") || !strcmp(format, "json")))
        fmt = RS_SRC_JSONL;
    else if (format && !strcmp(format, "avro"))
        fmt = RS_SRC_AVRO;
    else if (format)
        return rs_seterr(errstr, errstr_size, RS_EARG,
                         "unknown input format \"%s\" (csv|jsonl|avro)", format);
    else
        fmt = ends_with(path, ".jsonl") || ends_with(path, ".json") || ends_with(path, ".ndjson")
                  ? RS_SRC_JSONL
              : ends_with(path, ".avro") ? RS_SRC_AVRO
                                         : RS_SRC_CSV;
    rs_source_t *s = rs_xcalloc(1, sizeof(*s));
    s->fmt = fmt;
    s->path = rs_xstrdup(path);
    int rc = fmt == RS_SRC_CSV    ? rs_csv_open(&s->r, path, errstr, errstr_size)
             : fmt == RS_SRC_AVRO ? rs_avro_file_open(&s->avro, path, errstr, errstr_size)
                                  : rs_csv_open_lines(&s->r, path, errstr, errstr_size);
    if (!rc && fmt == RS_SRC_JSONL) rc = rs_codec_new(&s->codec, errstr, errstr_size);
    if (rc) {
        rs_source_close(s);
        return rc;
    }
    *out = s;
    return RS_OK;
}

void rs_source_close(rs_source_t *s) {
    if (!s) return;
    rs_csv_close(s->r);
    rs_codec_destroy(s->codec);
    rs_avro_file_close(s->avro);
    free(s->path);
    free(s);
}

int rs_source_next(rs_source_t *s, rs_event_t *ev, char *errstr, size_t errstr_size) {
    if (s->fmt == RS_SRC_CSV) return rs_csv_next(s->r, ev, errstr, errstr_size);
    if (s->fmt == RS_SRC_AVRO) { /* a bad block cannot be skipped: the rest is unreadable */
        int rc = rs_avro_file_next(s->avro, ev, errstr, errstr_size);
        return rc == RS_EDECODE ? RS_EIO : rc;
    }
    const char *line;
    size_t len;
    int rc = rs_csv_next_line(s->r, &line, &len, errstr, errstr_size);
    if (rc <= 0) return rc;
    char why[256];
    if (rs_codec_decode_event(s->codec, line, len, RS_FMT_JSON, ev, NULL, why, sizeof(why)))
        return rs_seterr(errstr, errstr_size, RS_EDECODE, "%s:%" PRIu64 ": %s", s->path,
                         rs_csv_line(s->r), why);
    if (!(ev->fields & RS_F_EVENT_ID)) {
        ev->event_id = rs_csv_line_id(s->r, line, len);
        ev->fields |= RS_F_EVENT_ID;
    }
    return 1;
}

uint64_t rs_source_line(const rs_source_t *s) {
    return s->avro ? rs_avro_file_records(s->avro) : rs_csv_line(s->r);
}
uint64_t rs_source_offset(const rs_source_t *s) {
    return s->avro ? rs_avro_file_offset(s->avro) : rs_csv_offset(s->r);
}
uint64_t rs_source_size(const rs_source_t *s) {
    return s->avro ? rs_avro_file_size(s->avro) : rs_csv_size(s->r);
}
rs_source_fmt_t rs_source_format(const rs_source_t *s) {
    return s->fmt;
}
