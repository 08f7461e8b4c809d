/* rs_json_doc.c -- field access on one parsed JSON object through jansson
 * (see rs_json_doc.h). rs_json.c keeps its own jansson use for the codec;
 * this file is the door for tools that read arbitrary small objects, so
 * no other module needs <jansson.h>.
 *
 * The handle is the jansson root itself (an object, checked at parse time),
 * cast to an opaque type: no allocation besides jansson's own tree. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "recstream/rs_buf.h"
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

int rs_json_doc_bool(const rs_json_doc_t *d, const char *key, int *out, char *errstr,
                     size_t errstr_size) {
    json_t *v = field(d, key);
    if (!v) return 0;
    if (!json_is_boolean(v)) return wrong(errstr, errstr_size, key, "boolean");
    *out = json_is_true(v);
    return 1;
}

/* ---- Avro schema: named types defined once ---- */

#define MAX_NAMED 1024

typedef struct names {
    char *full[MAX_NAMED];
    int n;
    const char *dup; /* the name defined twice, or "too many" */
} names_t;

static void names_walk(names_t *nm, json_t *v, const char *ns, int depth) {
    if (nm->dup || depth > 256) return;
    if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) names_walk(nm, x, ns, depth + 1);
        return;
    }
    if (!json_is_object(v)) return;
    const char *type = json_string_value(json_object_get(v, "type"));
    const char *name = json_string_value(json_object_get(v, "name"));
    char *own_ns = NULL;
    if (type && name &&
        (!strcmp(type, "record") || !strcmp(type, "error") || !strcmp(type, "enum") ||
         !strcmp(type, "fixed"))) {
        const char *dot = strrchr(name, '.');
        const char *space = json_string_value(json_object_get(v, "namespace"));
        if (!space) space = ns;
        size_t len = strlen(name) + (space ? strlen(space) : 0) + 2;
        char *full = rs_xmalloc(len);
        if (dot || !space || !*space)
            snprintf(full, len, "%s", name);
        else
            snprintf(full, len, "%s.%s", space, name);
        for (int i = 0; i < nm->n; i++)
            if (!strcmp(nm->full[i], full)) {
                nm->dup = nm->full[i];
                free(full);
                return;
            }
        if (nm->n == MAX_NAMED) {
            nm->dup = "(more than 1024 named types)";
            free(full);
            return;
        }
        nm->full[nm->n++] = full;
        /* the namespace of what it encloses */
        dot = strrchr(full, '.');
        if (dot) {
            own_ns = rs_xmalloc((size_t)(dot - full) + 1);
            memcpy(own_ns, full, (size_t)(dot - full));
            own_ns[dot - full] = '\0';
        }
        ns = dot ? own_ns : "";
    }
    const char *k;
    json_t *x;
    json_object_foreach(v, k, x) names_walk(nm, x, ns, depth + 1);
    free(own_ns);
}

int rs_json_avro_dup_name(const char *p, size_t n, char *dup, size_t dup_size) {
    json_error_t jerr;
    json_t *root = json_loadb(p, n, 0, &jerr);
    if (!root) return 0; /* not JSON: Avro C's parser says why */
    names_t nm = {.n = 0};
    names_walk(&nm, root, NULL, 0);
    int found = nm.dup != NULL;
    if (found && dup_size) snprintf(dup, dup_size, "%s", nm.dup);
    for (int i = 0; i < nm.n; i++) free(nm.full[i]);
    json_decref(root);
    return found;
}
