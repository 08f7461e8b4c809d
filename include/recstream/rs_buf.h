/* rs_buf.h -- growable byte buffer and small helpers shared by all modules.
 * A zeroed rs_buf_t is a valid empty buffer. The buffer owns `p`;
 * rs_buf_free() releases it. Allocation failure aborts (see rs_xmalloc):
 * recstream treats OOM as fatal rather than threading it through every path. */
#ifndef RS_BUF_H
#define RS_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct rs_buf {
    char *p;
    size_t len;
    size_t cap;
} rs_buf_t;

void *rs_xmalloc(size_t n);
void *rs_xcalloc(size_t n, size_t sz);
void *rs_xrealloc(void *p, size_t n);
char *rs_xstrdup(const char *s);
/* Grows p, an array of *cap elements of `size` bytes, until index ix fits:
 * the capacity doubles from `first`, new elements are zeroed. Returns the
 * (possibly moved) array and updates *cap; a no-op when ix < *cap. */
void *rs_xgrow_zeroed(void *p, uint32_t *cap, uint32_t ix, size_t size, uint32_t first);
char *rs_xstrndup(const char *s, size_t n);
/* Sorts a[0..n) ascending. Insertion sort for short arrays, else an LSD
 * radix sort (byte passes, skipping bytes every key shares) through a
 * scratch array it allocates: 3-5x qsort with a comparator on the commit's
 * neighbour lists, which are the hot path that calls it. */
void rs_sort_u32(uint32_t *a, size_t n);

void rs_buf_reserve(rs_buf_t *b, size_t extra);
void rs_buf_append(rs_buf_t *b, const void *data, size_t n);
void rs_buf_putc(rs_buf_t *b, char c);
void rs_buf_printf(rs_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append s with JSON string escaping, including the surrounding quotes. */
void rs_buf_json_str(rs_buf_t *b, const char *s, size_t n);
static inline void rs_buf_reset(rs_buf_t *b) {
    b->len = 0;
}
void rs_buf_free(rs_buf_t *b);
/* NUL-terminates without counting the NUL in len; returns b->p. */
const char *rs_buf_cstr(rs_buf_t *b);

/* Little-endian fixed-width encoding used by every on-disk record. */
static inline void rs_put_u32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}
static inline uint32_t rs_get_u32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline void rs_put_u64(unsigned char *p, uint64_t v) {
    rs_put_u32(p, (uint32_t)v);
    rs_put_u32(p + 4, (uint32_t)(v >> 32));
}
static inline uint64_t rs_get_u64(const unsigned char *p) {
    return (uint64_t)rs_get_u32(p) | (uint64_t)rs_get_u32(p + 4) << 32;
}
/* Big-endian 64-bit, for keys that must sort numerically. */
static inline void rs_put_be64(unsigned char *p, uint64_t v) {
    for (int i = 7; i >= 0; i--) {
        p[i] = (unsigned char)v;
        v >>= 8;
    }
}
static inline uint64_t rs_get_be64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | p[i];
    return v;
}

/* Wall clock in ms / monotonic clock in us. */
int64_t rs_now_ms(void);
int64_t rs_now_us(void); /* wall clock */
int64_t rs_mono_us(void);

/* 64-bit hash of bytes (xxh3). */
uint64_t rs_hash64(const void *p, size_t n);

#endif
