/* rs_json_doc.h -- read fields of one small JSON object (jansson, in
 * src/wrap/rs_json_doc.c), for offline tools that read JSON lines of
 * several shapes (`recstream score`: generator truth, alert and segment
 * lines). Not for hot paths: every parse builds a tree. No jansson type
 * appears here. Private to src/.
 *
 * Ownership: a string returned by a getter points into the document and is
 * valid until rs_json_doc_free(). Thread: one thread per document. */
#ifndef RS_JSON_DOC_H
#define RS_JSON_DOC_H

#include <stddef.h>
#include <stdint.h>

#include "recstream/rs_err.h"

typedef struct rs_json_doc rs_json_doc_t;

/* Parses one JSON object (duplicate keys rejected, whitespace-only trailer).
 * RS_EDECODE with "json: <reason> at byte N" or "json: expected an object". */
rs_err_t rs_json_doc_parse(rs_json_doc_t **out, const char *p, size_t n, char *errstr,
                           size_t errstr_size);
void rs_json_doc_free(rs_json_doc_t *d); /* NULL-safe */

/* Top-level field getters: 1 = found (*out set), 0 = absent or null,
 * RS_EDECODE = present with another type ("json: field K: expected ..."). */
int rs_json_doc_str(const rs_json_doc_t *d, const char *key, const char **s, size_t *len,
                    char *errstr, size_t errstr_size);
/* Integers; an integral real (1.7e12) is accepted as JavaScript writes it. */
int rs_json_doc_int(const rs_json_doc_t *d, const char *key, int64_t *v, char *errstr,
                    size_t errstr_size);
int rs_json_doc_num(const rs_json_doc_t *d, const char *key, double *v, char *errstr,
                    size_t errstr_size);
int rs_json_doc_bool(const rs_json_doc_t *d, const char *key, int *v, char *errstr,
                     size_t errstr_size);

/* Avro schema JSON: 1 when a named type (record, enum, fixed) is defined
 * twice under one full name, with that name in dup; 0 otherwise (also for
 * text that is not JSON). Avro C 1.11's parser leaks on such a schema, so
 * readers of outside files check first. */
int rs_json_avro_dup_name(const char *p, size_t n, char *dup, size_t dup_size);

#endif
