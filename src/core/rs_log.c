/* rs_log.c -- "LEVEL subsys: message" lines on stderr, with a wall-clock
 * timestamp. One fprintf per line keeps lines whole across threads. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "recstream/rs_log.h"

rs_log_level_t rs_log_level = RS_LOG_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

int rs_log_level_parse(const char *s, rs_log_level_t *out) {
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, level_names[i])) {
            *out = (rs_log_level_t)i;
            return 0;
        }
    return -1;
}

void rs_log_write(rs_log_level_t lvl, const char *subsys, const char *fmt, ...) {
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %s: %s\n", tm.tm_year + 1900,
            tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
            level_names[lvl], subsys, msg);
}
