/* rs_buf.c -- byte buffers, allocation helpers, clocks, hashing.
 * Allocation failure is fatal: recstream cannot do anything useful without
 * memory, and a clean abort beats a half-applied batch. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <xxhash.h>

#include "recstream/rs_buf.h"

static void oom(size_t n) {
    fprintf(stderr, "recstream: out of memory allocating %zu bytes\n", n);
    abort();
}

void *rs_xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) oom(n);
    return p;
}

void *rs_xcalloc(size_t n, size_t sz) {
    void *p = calloc(n ? n : 1, sz ? sz : 1);
    if (!p) oom(n * sz);
    return p;
}

void *rs_xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) oom(n);
    return q;
}

char *rs_xstrndup(const char *s, size_t n) {
    char *p = rs_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void *rs_xgrow_zeroed(void *p, uint32_t *cap, uint32_t ix, size_t size, uint32_t first) {
    if (ix < *cap) return p;
    uint32_t ncap = *cap ? *cap : first;
    while (ncap <= ix) ncap *= 2;
    p = rs_xrealloc(p, (size_t)ncap * size);
    memset((char *)p + (size_t)*cap * size, 0, (size_t)(ncap - *cap) * size);
    *cap = ncap;
    return p;
}

void rs_sort_u32(uint32_t *a, size_t n) {
    if (n <= 48) {
        for (size_t i = 1; i < n; i++) {
            uint32_t x = a[i];
            size_t j = i;
            for (; j && a[j - 1] > x; j--) a[j] = a[j - 1];
            a[j] = x;
        }
        return;
    }
    size_t cnt[4][256] = {{0}};
    for (size_t i = 0; i < n; i++)
        for (int b = 0; b < 4; b++) cnt[b][(a[i] >> (8 * b)) & 0xff]++;
    uint32_t *tmp = rs_xmalloc(n * sizeof(uint32_t)), *src = a, *dst = tmp;
    for (int b = 0; b < 4; b++) {
        size_t *c = cnt[b];
        if (c[(a[0] >> (8 * b)) & 0xff] == n) continue; /* every key has this byte */
        size_t sum = 0;
        for (int v = 0; v < 256; v++) {
            size_t t = c[v];
            c[v] = sum;
            sum += t;
        }
        for (size_t i = 0; i < n; i++) dst[c[(src[i] >> (8 * b)) & 0xff]++] = src[i];
        uint32_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != a) memcpy(a, src, n * sizeof(uint32_t));
    free(tmp);
}

char *rs_xstrdup(const char *s) {
    return rs_xstrndup(s, strlen(s));
}

void rs_buf_reserve(rs_buf_t *b, size_t extra) {
    if (b->len + extra + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1) cap *= 2;
    b->p = rs_xrealloc(b->p, cap);
    b->cap = cap;
}

void rs_buf_append(rs_buf_t *b, const void *data, size_t n) {
    rs_buf_reserve(b, n);
    if (n) memcpy(b->p + b->len, data, n);
    b->len += n;
}

void rs_buf_putc(rs_buf_t *b, char c) {
    rs_buf_reserve(b, 1);
    b->p[b->len++] = c;
}

void rs_buf_printf(rs_buf_t *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char tmp[256];
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof(tmp)) {
        rs_buf_append(b, tmp, (size_t)n);
        return;
    }
    rs_buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void rs_buf_json_str(rs_buf_t *b, const char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    rs_buf_reserve(b, n + 2);
    rs_buf_putc(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"':
            rs_buf_append(b, "\\\"", 2);
            break;
        case '\\':
            rs_buf_append(b, "\\\\", 2);
            break;
        case '\n':
            rs_buf_append(b, "\\n", 2);
            break;
        case '\r':
            rs_buf_append(b, "\\r", 2);
            break;
        case '\t':
            rs_buf_append(b, "\\t", 2);
            break;
        default:
            if (c < 0x20) {
                char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
                rs_buf_append(b, e, 6);
            } else {
                rs_buf_putc(b, (char)c);
            }
        }
    }
    rs_buf_putc(b, '"');
}

void rs_buf_free(rs_buf_t *b) {
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

const char *rs_buf_cstr(rs_buf_t *b) {
    rs_buf_reserve(b, 1);
    b->p[b->len] = '\0';
    return b->p;
}

int64_t rs_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t rs_now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t rs_mono_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

uint64_t rs_hash64(const void *p, size_t n) {
    return XXH3_64bits(p, n);
}
