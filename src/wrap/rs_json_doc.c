/* rs_json_doc.c -- field access on one parsed JSON object through jansson
 * (see rs_json_doc.h). rs_json.c keeps its own jansson use for the codec;
 * this file is the door for tools that read arbitrary small objects, so
 * no other module needs <jansson.h>.
 *
 * The handle is the jansson root itself (an object, checked at parse time),
 * cast to an opaque type: no allocation besides jansson's own tree. */
#include <math.h>
#include <stdio.h>

#include <jansson.h>

#include "wrap/rs_json_doc.h"

rs_err_t rs_json_doc_parse(rs_json_doc_t **out, const char *p, size_t n, char *errstr,
                           size_t errstr_size) {
    json_error_t jerr;
    json_t *root = json_loadb(p, n, JSON_REJECT_DUPLICATES, &jerr);
    *out = NULL;
    if (!root)
        return rs_seterr(errstr, errstr_size, RS_EDECODE, "json: %s at byte %d", jerr.text,
                         jerr.position);
    if (!json_is_object(root)) {
        json_decref(root);
        return rs_seterr(errstr, errstr_size, RS_EDECODE, "json: expected an object");
    }
    *out = (rs_json_doc_t *)root;
    return RS_OK;
}

void rs_json_doc_free(rs_json_doc_t *d) {
    if (d) json_decref((json_t *)d);
}

/* The field's value, NULL when absent or null. */
static json_t *field(const rs_json_doc_t *d, const char *key) {
    json_t *v = json_object_get((const json_t *)d, key);
    return v && !json_is_null(v) ? v : NULL;
}

static int wrong(char *errstr, size_t errstr_size, const char *key, const char *what) {
    return rs_seterr(errstr, errstr_size, RS_EDECODE, "json: field %s: expected %s", key, what);
}

int rs_json_doc_str(const rs_json_doc_t *d, const char *key, const char **s, size_t *len,
                    char *errstr, size_t errstr_size) {
    json_t *v = field(d, key);
    if (!v) return 0;
    if (!json_is_string(v)) return wrong(errstr, errstr_size, key, "string");
    *s = json_string_value(v);
    if (len) *len = json_string_length(v);
    return 1;
}

int rs_json_doc_int(const rs_json_doc_t *d, const char *key, int64_t *out, char *errstr,
                    size_t errstr_size) {
    json_t *v = field(d, key);
    if (!v) return 0;
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return 1;
    }
    double x = json_is_real(v) ? json_real_value(v) : NAN;
    if (!isfinite(x) || x != floor(x) || x < -9223372036854775808.0 || x >= 9223372036854775808.0)
        return wrong(errstr, errstr_size, key, "integer");
    *out = (int64_t)x;
    return 1;
}

int rs_json_doc_num(const rs_json_doc_t *d, const char *key, double *out, char *errstr,
                    size_t errstr_size) {
    json_t *v = field(d, key);
    if (!v) return 0;
    if (!json_is_number(v)) return wrong(errstr, errstr_size, key, "number");
    *out = json_number_value(v);
    return 1;
}
