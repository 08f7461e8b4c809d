/* rs_err.h -- recstream's one error type.
 *
 * Every fallible function returns rs_err_t: RS_OK (0) or a negative RS_E*
 * code. Constructors additionally take `char *errstr, size_t errstr_size`
 * (librdkafka style) and write a human-readable detail there on failure.
 * The code list below generates the enum, rs_strerror() and rs_err_name().
 */
#ifndef RS_ERR_H
#define RS_ERR_H

#include <stddef.h>

#define RS_ERR_MAP(XX)                                                                             \
    XX(CONF, "invalid configuration")                                                              \
    XX(ARG, "invalid argument")                                                                    \
    XX(DECODE, "record could not be decoded")                                                      \
    XX(INVALID, "record failed validation")                                                        \
    XX(STATE_IO, "state store read/write failed")                                                  \
    XX(KAFKA, "kafka client error")                                                                \
    XX(NOMEM, "out of memory")                                                                     \
    XX(IO, "i/o error")                                                                            \
    XX(NOTFOUND, "not found")                                                                      \
    XX(FULL, "queue or buffer full")                                                               \
    XX(LOOP, "event loop error")                                                                   \
    XX(TIMEOUT, "timed out")                                                                       \
    XX(STATE, "operation not valid in the current state")

enum rs__err_index {
    RS__ERR_INDEX_BASE = 0,
#define RS__XX(code, text) RS__ERR_INDEX_##code,
    RS_ERR_MAP(RS__XX)
#undef RS__XX
        RS__ERR_INDEX_END
};

typedef enum rs_err {
    RS_OK = 0,
#define RS__XX(code, text) RS_E##code = -RS__ERR_INDEX_##code,
    RS_ERR_MAP(RS__XX)
#undef RS__XX
} rs_err_t;

/* Static strings; never NULL (unknown codes give "unknown error"). */
const char *rs_strerror(int err);
const char *rs_err_name(int err);

/* snprintf into errstr (NULL-safe), returns err: `return rs_seterr(...)`. */
int rs_seterr(char *errstr, size_t errstr_size, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
