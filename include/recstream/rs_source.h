/* rs_source.h -- events from a file, for replay and eval: the canonical CSV
 * (rs_csv.h), JSON lines (one event object a line, the field names of
 * schemas/event.avsc; a missing event_id gets the CSV reader's line id, so
 * replaying a file twice is idempotent through the dedup window), or an
 * Avro object container file whose schema resolves to schemas/event.avsc
 * (rs_fileio.h; "line" is then the record number, and a corrupt block ends
 * the file: rs_source_next returns RS_EIO).
 *
 * Ownership: the source owns its reader and codec; an event's strings stay
 * valid until the next rs_source_next(). Thread: one thread. */
#ifndef RS_SOURCE_H
#define RS_SOURCE_H

#include <stdint.h>

#include "rs_err.h"
#include "rs_event.h"

typedef enum { RS_SRC_CSV = 0, RS_SRC_JSONL, RS_SRC_AVRO } rs_source_fmt_t;

typedef struct rs_source rs_source_t;

/* format: "csv", "jsonl", "avro", or NULL = by extension (.jsonl/.json/
 * .ndjson -> JSON lines, .avro -> Avro, anything else CSV). */
rs_err_t rs_source_open(rs_source_t **out, const char *path, const char *format, char *errstr,
                        size_t errstr_size);
void rs_source_close(rs_source_t *s); /* NULL-safe */

/* 1 = *ev filled, 0 = end, RS_EDECODE = a bad line (errstr "path:line:
 * reason"; reading may go on), RS_EIO = read error. */
int rs_source_next(rs_source_t *s, rs_event_t *ev, char *errstr, size_t errstr_size);

uint64_t rs_source_line(const rs_source_t *s);
uint64_t rs_source_offset(const rs_source_t *s);
uint64_t rs_source_size(const rs_source_t *s);
rs_source_fmt_t rs_source_format(const rs_source_t *s);

#endif
