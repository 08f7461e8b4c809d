/* fuzz_json_lines.c -- rs_source in JSON-lines mode (replay/eval input
 * files: one event object a line), through a memory-backed file.
 *
 * Input: the whole file. Checked:
 *   - rs_source_next returns only 1, 0 or RS_EDECODE ("path:line: json: ...")
 *     and a bad line does not stop the reader;
 *   - every event has an event_id (the file's or the line id), its strings
 *     are readable, its type is a symbol or UNKNOWN (validation's call);
 *   - line numbers grow, and at the end the reader consumed the whole file. */
#include <string.h>

#include "fuzz_util.h"
#include "recstream/rs_source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fz_file("fuzz_json_lines", data, size);
    rs_source_t *s;
    char err[512];
    FZ_CHECK(!rs_source_open(&s, path, "jsonl", err, sizeof(err)), "%s", err);
    FZ_CHECK(rs_source_format(s) == RS_SRC_JSONL, "format %d", (int)rs_source_format(s));
    uint64_t last = 0;
    for (;;) {
        rs_event_t ev;
        err[0] = '\0';
        int rc = rs_source_next(s, &ev, err, sizeof(err));
        if (rc == 0) break;
        uint64_t line = rs_source_line(s);
        FZ_CHECK(line > last, "line %llu after %llu", (unsigned long long)line,
                 (unsigned long long)last);
        last = line;
        if (rc == RS_EDECODE) {
            char want[128];
            snprintf(want, sizeof(want), "%s:%llu: json: ", path, (unsigned long long)line);
            FZ_CHECK(!strncmp(err, want, strlen(want)), "reason \"%s\"", err);
            continue;
        }
        FZ_CHECK(rc == 1, "rc %d: %s", rc, err);
        FZ_CHECK(ev.fields & RS_F_EVENT_ID, "event without an id");
        const rs_str_t *strs[] = {&ev.event_id,   &ev.user_id,  &ev.item_id,
                                  &ev.session_id, &ev.category, &ev.device};
        for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
            if (strs[i]->p) fz_touch(strs[i]->p, strs[i]->len);
        if (ev.fields & RS_F_TYPE)
            FZ_CHECK(ev.type < RS_EV__COUNT || ev.type == RS_EV_UNKNOWN, "type %d", (int)ev.type);
    }
    FZ_CHECK(rs_source_offset(s) == size, "consumed %llu of %zu bytes",
             (unsigned long long)rs_source_offset(s), size);
    rs_source_close(s);
    return 0;
}
