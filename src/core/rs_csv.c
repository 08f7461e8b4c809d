/* rs_csv.c -- canonical event file reader (see rs_csv.h).
 *
 * The file is read in 1 MiB blocks with read(2) and split with memchr: no
 * stdio line buffering and no copy per line, because eval and replay spend
 * most of their time here on large files. A line longer than the buffer
 * grows it (the format has no limit, validation has one). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "recstream/rs_buf.h"
#include "recstream/rs_csv.h"

#define BLOCK (1u << 20)

struct rs_csv {
    int fd;
    char *path;
    char *buf;
    size_t cap, start, end; /* unread bytes are buf[start, end) */
    int eof;
    uint64_t line, consumed, size;
    char idbuf[48];
};

/* Makes buf[start..) hold a whole line, reading more as needed. Returns
 * the line length (without \n) with *nl set, or -1 at EOF without data. */
static ssize_t fill_line(rs_csv_t *r, int *io_err) {
    for (;;) {
        char *nl = memchr(r->buf + r->start, '\n', r->end - r->start);
        if (nl) return nl - (r->buf + r->start);
        if (r->eof) return r->end > r->start ? (ssize_t)(r->end - r->start) : -1;
        if (r->start > 0) { /* slide the partial line to the front */
            memmove(r->buf, r->buf + r->start, r->end - r->start);
            r->end -= r->start;
            r->start = 0;
        }
        if (r->end == r->cap) {
            r->cap *= 2;
            r->buf = rs_xrealloc(r->buf, r->cap);
        }
        ssize_t n = read(r->fd, r->buf + r->end, r->cap - r->end);
        if (n < 0) {
            if (errno == EINTR) continue;
            *io_err = errno;
            return -1;
        }
        if (n == 0) r->eof = 1;
        r->end += (size_t)n;
    }
}

/* Returns the next line (without \n or \r\n) or NULL at EOF / error. */
static const char *next_line(rs_csv_t *r, size_t *len, int *io_err) {
    ssize_t n = fill_line(r, io_err);
    if (n < 0) return NULL;
    const char *p = r->buf + r->start;
    size_t adv = (size_t)n + (r->start + (size_t)n < r->end); /* the \n, if any */
    r->start += adv;
    r->consumed += adv;
    r->line++;
    if (n > 0 && p[n - 1] == '\r') n--;
    *len = (size_t)n;
    return p;
}

static rs_err_t csv_open(rs_csv_t **out, const char *path, int header, char *errstr,
                         size_t errstr_size);

rs_err_t rs_csv_open(rs_csv_t **out, const char *path, char *errstr, size_t errstr_size) {
    return csv_open(out, path, 1, errstr, errstr_size);
}

rs_err_t rs_csv_open_lines(rs_csv_t **out, const char *path, char *errstr, size_t errstr_size) {
    return csv_open(out, path, 0, errstr, errstr_size);
}

static rs_err_t csv_open(rs_csv_t **out, const char *path, int header, char *errstr,
                         size_t errstr_size) {
    *out = NULL;
    int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : 0;
    if (fd < 0) return rs_seterr(errstr, errstr_size, RS_EIO, "%s: %s", path, strerror(errno));
    rs_csv_t *r = rs_xcalloc(1, sizeof(*r));
    r->fd = fd;
    r->path = rs_xstrdup(path);
    r->cap = BLOCK;
    r->buf = rs_xmalloc(r->cap);
    struct stat sb;
    if (!fstat(fd, &sb) && S_ISREG(sb.st_mode)) r->size = (uint64_t)sb.st_size;
    if (!header) {
        *out = r;
        return RS_OK;
    }
    int io_err = 0;
    size_t len;
    const char *h = next_line(r, &len, &io_err);
    int rc = RS_OK;
    if (!h)
        rc = rs_seterr(errstr, errstr_size, io_err ? RS_EIO : RS_EDECODE, "%s:1: %s", path,
                       io_err ? strerror(io_err) : "empty file, expected the header line");
    else if (len != strlen(RS_CSV_HEADER) || memcmp(h, RS_CSV_HEADER, len))
        rc = rs_seterr(errstr, errstr_size, RS_EDECODE, "%s:1: header must be exactly \"%s\"", path,
                       RS_CSV_HEADER);
    if (rc) {
        rs_csv_close(r);
        return rc;
    }
    *out = r;
    return RS_OK;
}

void rs_csv_close(rs_csv_t *r) {
    if (!r) return;
    if (r->fd > 0) close(r->fd);
    free(r->path);
    free(r->buf);
    free(r);
}

static int parse_i64(const char *p, size_t n, int64_t *v) {
    if (!n || n > 18) return -1;
    int64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return -1;
        x = x * 10 + (p[i] - '0');
    }
    *v = x;
    return 0;
}

int rs_csv_parse_line(const char *line, size_t len, rs_event_t *ev, char *errstr,
                      size_t errstr_size) {
    const char *f[8];
    size_t fl[8];
    int nf = 0;
    const char *p = line, *end = line + len;
    for (;;) {
        const char *c = memchr(p, ',', (size_t)(end - p));
        if (nf == 7) return rs_seterr(errstr, errstr_size, RS_EDECODE, "more than 7 fields");
        f[nf] = p;
        fl[nf++] = (size_t)((c ? c : end) - p);
        if (!c) break;
        p = c + 1;
    }
    if (nf != 7) return rs_seterr(errstr, errstr_size, RS_EDECODE, "%d fields, expected 7", nf);
    memset(ev, 0, sizeof(*ev));
    if (parse_i64(f[0], fl[0], &ev->ts_ms))
        return rs_seterr(errstr, errstr_size, RS_EDECODE, "ts_ms \"%.*s\" is not an integer",
                         (int)(fl[0] > 40 ? 40 : fl[0]), f[0]);
    if (!fl[1]) return rs_seterr(errstr, errstr_size, RS_EDECODE, "empty user_id");
    if (!fl[2]) return rs_seterr(errstr, errstr_size, RS_EDECODE, "empty item_id");
    ev->type = rs_evtype_parse(f[3], fl[3]);
    if (ev->type == RS_EV_UNKNOWN)
        return rs_seterr(errstr, errstr_size, RS_EDECODE, "unknown type \"%.*s\"",
                         (int)(fl[3] > 40 ? 40 : fl[3]), f[3]);
    ev->fields = RS_F_TS | RS_F_USER | RS_F_ITEM | RS_F_TYPE;
    ev->user_id = rs_str(f[1], (uint32_t)fl[1]);
    ev->item_id = rs_str(f[2], (uint32_t)fl[2]);
    if (fl[4]) ev->session_id = rs_str(f[4], (uint32_t)fl[4]), ev->fields |= RS_F_SESSION;
    if (fl[5]) {
        char num[64], *e;
        if (fl[5] >= sizeof(num))
            return rs_seterr(errstr, errstr_size, RS_EDECODE, "price too long");
        memcpy(num, f[5], fl[5]);
        num[fl[5]] = 0;
        errno = 0;
        ev->price = strtod(num, &e);
        if (*e || errno)
            return rs_seterr(errstr, errstr_size, RS_EDECODE, "price \"%s\" is not a number", num);
        ev->fields |= RS_F_PRICE;
    }
    if (fl[6]) ev->category = rs_str(f[6], (uint32_t)fl[6]), ev->fields |= RS_F_CATEGORY;
    return 0;
}

int rs_csv_next_line(rs_csv_t *r, const char **line, size_t *len, char *errstr,
                     size_t errstr_size) {
    for (;;) {
        int io_err = 0;
        const char *l = next_line(r, len, &io_err);
        if (!l)
            return io_err
                       ? rs_seterr(errstr, errstr_size, RS_EIO, "%s: %s", r->path, strerror(io_err))
                       : 0;
        if (!*len) continue;
        *line = l;
        return 1;
    }
}

rs_str_t rs_csv_line_id(rs_csv_t *r, const char *line, size_t len) {
    /* "<line>-<16 hex digits>", by hand: snprintf was a tenth of a replay */
    char dec[24], *p = r->idbuf;
    int nd = 0;
    uint64_t x = r->line;
    do dec[nd++] = (char)('0' + x % 10), x /= 10;
    while (x);
    while (nd) *p++ = dec[--nd];
    *p++ = '-';
    uint64_t h = rs_hash64(line, len);
    for (int i = 15; i >= 0; i--) p[i] = "0123456789abcdef"[h & 15], h >>= 4;
    p += 16;
    return rs_str(r->idbuf, (uint32_t)(p - r->idbuf));
}

int rs_csv_next(rs_csv_t *r, rs_event_t *ev, char *errstr, size_t errstr_size) {
    const char *l;
    size_t len;
    int rc = rs_csv_next_line(r, &l, &len, errstr, errstr_size);
    if (rc <= 0) return rc;
    char why[160];
    if (rs_csv_parse_line(l, len, ev, why, sizeof(why)))
        return rs_seterr(errstr, errstr_size, RS_EDECODE, "%s:%" PRIu64 ": %s", r->path, r->line,
                         why);
    ev->event_id = rs_csv_line_id(r, l, len);
    ev->fields |= RS_F_EVENT_ID;
    return 1;
}

uint64_t rs_csv_line(const rs_csv_t *r) {
    return r->line;
}
uint64_t rs_csv_offset(const rs_csv_t *r) {
    return r->consumed;
}
uint64_t rs_csv_size(const rs_csv_t *r) {
    return r->size;
}
