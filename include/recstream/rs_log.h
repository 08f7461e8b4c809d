/* rs_log.h -- levelled logging to stderr.
 * Thread-safe (one fprintf per line). The level is process-global and set
 * from `log.level`; lines below it cost one comparison. */
#ifndef RS_LOG_H
#define RS_LOG_H

typedef enum { RS_LOG_ERROR = 0, RS_LOG_WARN, RS_LOG_INFO, RS_LOG_DEBUG } rs_log_level_t;

extern rs_log_level_t rs_log_level;

/* Returns 0 and sets *out for "error|warn|info|debug", -1 otherwise. */
int rs_log_level_parse(const char *s, rs_log_level_t *out);
void rs_log_write(rs_log_level_t lvl, const char *subsys, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define rs_log(lvl, subsys, ...)                                                                   \
    do {                                                                                           \
        if ((lvl) <= rs_log_level) rs_log_write((lvl), (subsys), __VA_ARGS__);                     \
    } while (0)
#define rs_error(subsys, ...) rs_log(RS_LOG_ERROR, subsys, __VA_ARGS__)
#define rs_warn(subsys, ...)  rs_log(RS_LOG_WARN, subsys, __VA_ARGS__)
#define rs_info(subsys, ...)  rs_log(RS_LOG_INFO, subsys, __VA_ARGS__)
#define rs_debug(subsys, ...) rs_log(RS_LOG_DEBUG, subsys, __VA_ARGS__)

#endif
