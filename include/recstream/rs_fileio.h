/* rs_fileio.h -- file formats of the offline tools (replay, eval, diff)
 * that need a library: Avro object container files of events (Avro C,
 * src/wrap/rs_avro.c) and the recommendation lines of `recstream replay
 * --emit-jsonl` (jansson, src/wrap/rs_json.c). No library type appears here.
 *
 * Ownership: an rs_avro_file_t owns its reader; an event's strings point
 * into it and stay valid until the next rs_avro_file_next() or close.
 * Thread: one thread per object. */
#ifndef RS_FILEIO_H
#define RS_FILEIO_H

#include <stddef.h>
#include <stdint.h>

#include "rs_buf.h"
#include "rs_err.h"
#include "rs_event.h"

/* ---- Avro object container files (schemas/event.avsc) ---- */
typedef struct rs_avro_file rs_avro_file_t;

/* Opens a container file for reading. The file's writer schema is resolved
 * against the embedded event schema (reordered fields, int -> long, extra
 * writer fields dropped, enum symbols by name); a file whose schema cannot
 * be resolved (e.g. it lacks a field the event schema has) is RS_EDECODE
 * with Avro C's reason. RS_EIO if the file cannot be read. */
rs_err_t rs_avro_file_open(rs_avro_file_t **out, const char *path, char *errstr,
                           size_t errstr_size);
/* 1 = *ev filled (every required field present), 0 = end of file,
 * RS_EDECODE = the file is corrupt from here on (errstr "path: record N:
 * reason"); reading cannot go on after an error. */
int rs_avro_file_next(rs_avro_file_t *f, rs_event_t *ev, char *errstr, size_t errstr_size);
uint64_t rs_avro_file_records(const rs_avro_file_t *f); /* records returned so far */
uint64_t rs_avro_file_offset(const rs_avro_file_t *f);  /* bytes consumed (block granularity) */
uint64_t rs_avro_file_size(const rs_avro_file_t *f);
void rs_avro_file_close(rs_avro_file_t *f); /* NULL-safe */

/* Writes n events to a container file, replacing path (embedded event schema, deflate
 * codec when `deflate`, else uncompressed). RS_EARG if an event lacks a
 * required field or has an unknown type (nothing is left at path then). */
rs_err_t rs_avro_file_write_events(const char *path, const rs_event_t *evs, size_t n, int deflate,
                                   char *errstr, size_t errstr_size);

/* ---- recommendation JSON lines (`recstream replay --emit-jsonl`) ---- */
/* Parses one output line. Returns 1 for a {"kind":"recommendation",...}
 * line: *user gets the user id and *items the item ids in list order, each
 * followed by a NUL (both reset first), *n_items their number. Returns 0
 * for a valid object of another kind (segment, alert), RS_EDECODE for
 * anything else, with the reason in errstr. */
int rs_json_rec_line(const char *p, size_t n, rs_buf_t *user, rs_buf_t *items, uint32_t *n_items,
                     char *errstr, size_t errstr_size);

#endif
