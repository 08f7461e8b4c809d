/* fuzz_avro_file.c -- rs_source in Avro mode: object container files of
 * events (replay/eval input), through a memory-backed file. The container
 * (header map, codec, blocks, sync markers, deflate, the record walk) is
 * parsed by src/wrap/rs_avro_file.c; Avro C parses the writer schema JSON,
 * resolves it and decodes the records that walk accepted.
 *
 * Input: the whole file. Run with ASan's allocator checks on: no input may
 * make the reader ask for more than the file's size (or the 64 MiB block
 * cap). tools/fuzz turns leak checking off for this harness only (Avro C's
 * schema parser leaks on a duplicate type name, tests/fuzz/README.md); the
 * corpus replay in ctest runs it with leak checking.
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
