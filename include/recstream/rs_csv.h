/* rs_csv.h -- reader for the canonical event file (SPEC "Interfaces"):
 *
 *   ts_ms,user_id,item_id,type,session_id,price,category
 *
 * The header line must be exactly that. No quoting: fields hold no comma,
 * quote or newline. session_id, price and category may be empty. A CRLF line
 * end is accepted. Files have no event id, so the reader makes one from the
 * line number and a hash of the line ("<line>-<hash>"): replaying the same
 * file twice gives the same ids (the dedup window then drops the second
 * copy), and two files never share an id by accident.
 *
 * Ownership: the reader owns its buffer; the event's strings point into it
 * and stay valid until the next rs_csv_next() or rs_csv_close().
 * Thread: one reader per thread. */
#ifndef RS_CSV_H
#define RS_CSV_H

#include <stdint.h>

#include "rs_err.h"
#include "rs_event.h"

#define RS_CSV_HEADER "ts_ms,user_id,item_id,type,session_id,price,category"

typedef struct rs_csv rs_csv_t;

/* Opens path ("-" = stdin) and checks the header. */
rs_err_t rs_csv_open(rs_csv_t **out, const char *path, char *errstr, size_t errstr_size);
void rs_csv_close(rs_csv_t *r); /* NULL-safe */

/* Reads the next event: 1 = *ev filled, 0 = end of file, RS_EDECODE = this
 * line is malformed (errstr gets "path:line: message"; the caller may go on
 * reading), RS_EIO = read error. Blank lines are skipped. */
int rs_csv_next(rs_csv_t *r, rs_event_t *ev, char *errstr, size_t errstr_size);

/* Line mode (JSON lines and other line formats): opens without a header
 * check; rs_csv_next_line() returns each non-empty line (without \n / \r\n)
 * through *line (valid until the next call): 1, 0 at EOF, RS_EIO. */
rs_err_t rs_csv_open_lines(rs_csv_t **out, const char *path, char *errstr, size_t errstr_size);
int rs_csv_next_line(rs_csv_t *r, const char **line, size_t *len, char *errstr, size_t errstr_size);
/* The event id the reader makes for a line ("<line>-<hash>"); valid until the next call. */
rs_str_t rs_csv_line_id(rs_csv_t *r, const char *line, size_t len);

/* Parses one line (without its newline) into *ev; the event's strings point
 * into `line`, and ev->event_id is left unset. 0 or RS_EDECODE with a reason
 * in errstr. Exposed for tests and other line-based readers. */
int rs_csv_parse_line(const char *line, size_t len, rs_event_t *ev, char *errstr,
                      size_t errstr_size);

/* Line number of the last line returned (1 = header). */
uint64_t rs_csv_line(const rs_csv_t *r);
/* Bytes consumed so far and the file size (0 if unknown: a pipe), for progress. */
uint64_t rs_csv_offset(const rs_csv_t *r);
uint64_t rs_csv_size(const rs_csv_t *r);

#endif
