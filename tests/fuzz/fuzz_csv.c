/* fuzz_csv.c -- rs_csv, the canonical event file reader (replay, eval, gen
 * round trips), driven through a memory-backed file (fz_file).
 *
 * Input: byte 0 even -> the file through rs_csv_open + rs_csv_next (header
 * check, line splitting, CRLF, blank lines, line ids); odd -> line mode
 * (rs_csv_open_lines + rs_csv_next_line, the JSON-lines reader's splitter)
 * with rs_csv_parse_line and rs_csv_line_id on every line. Seeds start
 * with '0' or '1'. Checked:
 *   - rs_csv_next returns only 1, 0, RS_EDECODE (with "path:line: " in
 *     errstr) or RS_EIO; a bad line does not stop the reader;
 *   - an event has the four required fields, a known type, non-empty ids,
 *     strings inside the line, an id "<line>-<16 hex digits>";
 *   - line numbers grow by at least one per returned line, and at the end
 *     the reader has consumed exactly the file's size. */
#include <string.h>

#include "fuzz_util.h"
#include "recstream/rs_csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_id(rs_str_t id, uint64_t line) {
    char want[24];
    int n = snprintf(want, sizeof(want), "%llu-", (unsigned long long)line);
    FZ_CHECK(id.len == (uint32_t)n + 16 && !memcmp(id.p, want, (size_t)n), "id \"%.*s\" line %llu",
             (int)id.len, id.p, (unsigned long long)line);
    for (uint32_t i = (uint32_t)n; i < id.len; i++)
        FZ_CHECK((id.p[i] >= '0' && id.p[i] <= '9') || (id.p[i] >= 'a' && id.p[i] <= 'f'),
                 "id \"%.*s\"", (int)id.len, id.p);
}

static void check_event(const rs_event_t *ev) {
    FZ_CHECK((ev->fields & (RS_F_TS | RS_F_USER | RS_F_ITEM | RS_F_TYPE)) ==
                 (RS_F_TS | RS_F_USER | RS_F_ITEM | RS_F_TYPE),
             "fields 0x%x", ev->fields);
    FZ_CHECK(ev->type < RS_EV__COUNT, "type %d", (int)ev->type);
    FZ_CHECK(ev->user_id.len > 0 && ev->item_id.len > 0, "empty id accepted");
    fz_touch(ev->user_id.p, ev->user_id.len);
    fz_touch(ev->item_id.p, ev->item_id.len);
    FZ_CHECK(ev->ts_ms >= 0, "ts_ms %lld", (long long)ev->ts_ms);
    if (ev->fields & RS_F_SESSION) fz_touch(ev->session_id.p, ev->session_id.len);
    if (ev->fields & RS_F_CATEGORY) fz_touch(ev->category.p, ev->category.len);
    FZ_CHECK(!(ev->fields & (RS_F_DEVICE | RS_F_REC_VERSION)), "CSV has no device/rec_version");
}

static void read_events(const char *path, uint64_t size) {
    rs_csv_t *r;
    char err[512];
    if (rs_csv_open(&r, path, err, sizeof(err))) return; /* no or wrong header */
    uint64_t last = rs_csv_line(r);
    FZ_CHECK(last == 1, "header is line %llu", (unsigned long long)last);
    for (;;) {
        rs_event_t ev;
        err[0] = '\0';
        int rc = rs_csv_next(r, &ev, err, sizeof(err));
        FZ_CHECK(rc != RS_EIO, "read error: %s", err);
        if (rc == 0) break;
        uint64_t line = rs_csv_line(r);
        FZ_CHECK(line > last, "line %llu after %llu", (unsigned long long)line,
                 (unsigned long long)last);
        last = line;
        if (rc == RS_EDECODE) {
            char want[128];
            snprintf(want, sizeof(want), "%s:%llu: ", path, (unsigned long long)line);
            FZ_CHECK(!strncmp(err, want, strlen(want)), "reason \"%s\"", err);
            continue;
        }
        FZ_CHECK(rc == 1, "rc %d", rc);
        check_event(&ev);
        FZ_CHECK(ev.fields & RS_F_EVENT_ID, "no event id");
        check_id(ev.event_id, line);
    }
    FZ_CHECK(rs_csv_offset(r) == size, "consumed %llu of %llu bytes",
             (unsigned long long)rs_csv_offset(r), (unsigned long long)size);
    rs_csv_close(r);
}

static void read_lines(const char *path, uint64_t size) {
    rs_csv_t *r;
    char err[512];
    FZ_CHECK(!rs_csv_open_lines(&r, path, err, sizeof(err)), "%s", err);
    const char *line;
    size_t len;
    int rc;
    while ((rc = rs_csv_next_line(r, &line, &len, err, sizeof(err))) == 1) {
        FZ_CHECK(len > 0 && !memchr(line, '\n', len), "bad line of %zu bytes", len);
        rs_event_t ev;
        if (!rs_csv_parse_line(line, len, &ev, err, sizeof(err))) {
            check_event(&ev);
            FZ_CHECK(!(ev.fields & RS_F_EVENT_ID), "parse_line set an id");
            /* the strings point into the line */
            FZ_CHECK(ev.user_id.p >= line && ev.user_id.p + ev.user_id.len <= line + len,
                     "user_id outside the line");
        }
        check_id(rs_csv_line_id(r, line, len), rs_csv_line(r));
    }
    FZ_CHECK(rc == 0, "rc %d: %s", rc, err);
    FZ_CHECK(rs_csv_offset(r) == size, "consumed %llu of %llu bytes",
             (unsigned long long)rs_csv_offset(r), (unsigned long long)size);
    rs_csv_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t sel;
    if (!fz_take_byte(&data, &size, &sel)) return 0;
    const char *path = fz_file("fuzz_csv", data, size);
    if (sel % 2 == 0)
        read_events(path, size);
    else
        read_lines(path, size);
    return 0;
}
