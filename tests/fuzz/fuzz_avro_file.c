/* fuzz_avro_file.c -- rs_source in Avro mode: object container files of
 * events (replay/eval input), read by Avro C's file reader and schema
 * resolution (src/wrap/rs_avro.c), through a memory-backed file.
 *
 * Input: the whole file. Most of the parsing here is Avro C's (header map,
 * writer schema JSON, codec, block framing, resolution); the harness is
 * there to show what a hostile or truncated file does to the process.
 * Checked: open fails cleanly (RS_EDECODE/RS_EIO) or the reader returns
 * only 1, 0 or RS_EIO (a corrupt block ends the file); events carry the
 * required fields with readable strings. */
#include <string.h>

#include "fuzz_util.h"
#include "recstream/rs_source.h"

#define MAX_RECORDS 4096 /* a tiny file can claim many records; bound the work */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fz_file("fuzz_avro_file", data, size);
    rs_source_t *s;
    char err[512];
    rs_err_t rc = rs_source_open(&s, path, "avro", err, sizeof(err));
    if (rc) {
        FZ_CHECK(rc == RS_EDECODE || rc == RS_EIO, "open rc %d: %s", rc, err);
        return 0;
    }
    for (int n = 0; n < MAX_RECORDS; n++) {
        rs_event_t ev;
        int r = rs_source_next(s, &ev, err, sizeof(err));
        if (r == 0 || r == RS_EIO) break;
        FZ_CHECK(r == 1, "rc %d: %s", r, err);
        FZ_CHECK((ev.fields & RS_F_REQUIRED) == RS_F_REQUIRED, "fields 0x%x", ev.fields);
        const rs_str_t *strs[] = {&ev.event_id,   &ev.user_id,  &ev.item_id,
                                  &ev.session_id, &ev.category, &ev.device};
        for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
            if (strs[i]->p) fz_touch(strs[i]->p, strs[i]->len);
    }
    rs_source_close(s);
    return 0;
}
