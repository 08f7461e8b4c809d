/* rs_err.c -- rs_strerror()/rs_err_name() generated from RS_ERR_MAP. */
#include <stdarg.h>
#include <stdio.h>

#include "recstream/rs_err.h"

static const struct {
    const char *name;
    const char *text;
} rs_err_descs[] = {{"OK", "success"},
#define RS__XX(code, text) {"RS_E" #code, text},
                    RS_ERR_MAP(RS__XX)
#undef RS__XX
};

#define RS_ERR_N ((int)(sizeof(rs_err_descs) / sizeof(rs_err_descs[0])))

const char *rs_strerror(int err) {
    int i = -err;
    return (i >= 0 && i < RS_ERR_N) ? rs_err_descs[i].text : "unknown error";
}

const char *rs_err_name(int err) {
    int i = -err;
    return (i >= 0 && i < RS_ERR_N) ? rs_err_descs[i].name : "RS_E?";
}

int rs_seterr(char *errstr, size_t errstr_size, int err, const char *fmt, ...) {
    if (errstr && errstr_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errstr, errstr_size, fmt, ap);
        va_end(ap);
    }
    return err;
}
