/* test_buf.c -- the shared helpers in rs_buf: the u32 sort against qsort on
 * every path (insertion, radix with skipped and with all byte passes),
 * grow-and-zero, and the byte buffer. */
#include <stdlib.h>

#include "recstream/rs_buf.h"
#include "rs_test.h"

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t rng = 88172645463325252ull;
static uint32_t next(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)rng;
}

/* Sorts n keys drawn by mask with both sorts and compares. */
static int same_as_qsort(size_t n, uint32_t mask, uint32_t add) {
    uint32_t *a = malloc((n + 1) * sizeof(uint32_t)), *b = malloc((n + 1) * sizeof(uint32_t));
    for (size_t i = 0; i < n; i++) a[i] = b[i] = (next() & mask) + add;
    rs_sort_u32(a, n);
    qsort(b, n, sizeof(uint32_t), cmp_u32);
    int ok = n == 0 || memcmp(a, b, n * sizeof(uint32_t)) == 0;
    free(a);
    free(b);
    return ok;
}

TEST(sort_u32_matches_qsort) {
    static const size_t sizes[] = {0, 1, 2, 7, 48, 49, 100, 1000, 65537};
    static const uint32_t masks[] = {0xffffffffu, 0xffffu, 0xff00u, 0x7u, 0};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        for (size_t m = 0; m < sizeof(masks) / sizeof(masks[0]); m++) {
            ASSERT(same_as_qsort(sizes[i], masks[m], 0));
            ASSERT(same_as_qsort(sizes[i], masks[m], 0x01000000u)); /* shared top byte */
        }
}

TEST(sort_u32_sorted_and_reversed) {
    uint32_t a[300];
    for (uint32_t i = 0; i < 300; i++) a[i] = 299 - i;
    rs_sort_u32(a, 300);
    for (uint32_t i = 0; i < 300; i++) ASSERT_EQ(a[i], i);
    rs_sort_u32(a, 300);
    for (uint32_t i = 0; i < 300; i++) ASSERT_EQ(a[i], i);
}

TEST(grow_zeroed) {
    uint32_t cap = 0;
    uint64_t *p = rs_xgrow_zeroed(NULL, &cap, 0, sizeof(uint64_t), 4);
    ASSERT_EQ(cap, 4);
    p[3] = 7;
    p = rs_xgrow_zeroed(p, &cap, 9, sizeof(uint64_t), 4);
    ASSERT_EQ(cap, 16);
    ASSERT_EQ(p[3], 7);
    for (uint32_t i = 4; i < cap; i++) ASSERT_EQ(p[i], 0);
    uint64_t *q = rs_xgrow_zeroed(p, &cap, 15, sizeof(uint64_t), 4);
    ASSERT(q == p); /* fits: no-op */
    free(q);
}

TEST(buf_append_and_cstr) {
    rs_buf_t b = {0};
    for (int i = 0; i < 1000; i++) rs_buf_append(&b, "ab", 2);
    ASSERT_EQ(b.len, 2000);
    ASSERT_EQ(strlen(rs_buf_cstr(&b)), 2000);
    rs_buf_reset(&b);
    rs_buf_printf(&b, "%d-%s", 42, "x");
    ASSERT_STREQ(rs_buf_cstr(&b), "42-x");
    rs_buf_free(&b);
}

int main(void) {
    return RUN_TESTS(t_sort_u32_matches_qsort, t_sort_u32_sorted_and_reversed, t_grow_zeroed,
                     t_buf_append_and_cstr);
}
