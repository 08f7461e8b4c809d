/* rs_test.h -- the one tiny test harness every test file includes.
 *
 *   TEST(name) { ASSERT_EQ(1 + 1, 2); }
 *   int main(void) { return RUN_TESTS(t_name, t_other); }
 *
 * Each TEST is a function; a failed ASSERT prints both sides with file:line
 * and returns from the test. The runner prints "N passed, N failed" and the
 * seed (RS_TEST_SEED, default 42) so a failure can be reproduced. */
#ifndef RS_TEST_H
#define RS_TEST_H

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int rs_test_failed_;

#define TEST(name) static void t_##name(void)

#define RS_T_FAIL_(...)                                                                            \
    do {                                                                                           \
        fprintf(stderr, "  FAIL %s:%d: ", __FILE__, __LINE__);                                     \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fprintf(stderr, "\n");                                                                     \
        rs_test_failed_ = 1;                                                                       \
        return;                                                                                    \
    } while (0)

#define ASSERT(c)                                                                                  \
    do {                                                                                           \
        if (!(c)) RS_T_FAIL_("%s", #c);                                                            \
    } while (0)
#define ASSERT_EQ(a, b)                                                                            \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        if (a_ != b_) RS_T_FAIL_("%s == %s (%lld vs %lld)", #a, #b, a_, b_);                       \
    } while (0)
#define ASSERT_NE(a, b)                                                                            \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        if (a_ == b_) RS_T_FAIL_("%s != %s (both %lld)", #a, #b, a_);                              \
    } while (0)
#define ASSERT_STREQ(a, b)                                                                         \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (!a_ || !b_ || strcmp(a_, b_))                                                          \
            RS_T_FAIL_("%s == %s (\"%s\" vs \"%s\")", #a, #b, a_ ? a_ : "(null)",                  \
                       b_ ? b_ : "(null)");                                                        \
    } while (0)
#define ASSERT_NEAR(a, b, eps)                                                                     \
    do {                                                                                           \
        double a_ = (double)(a), b_ = (double)(b);                                                 \
        if (fabs(a_ - b_) > (eps)) RS_T_FAIL_("%s ~= %s (%.9g vs %.9g)", #a, #b, a_, b_);          \
    } while (0)
#define ASSERT_OK(e)                                                                               \
    do {                                                                                           \
        int e_ = (int)(e);                                                                         \
        if (e_ != 0) RS_T_FAIL_("%s returned %d", #e, e_);                                         \
    } while (0)

static inline uint64_t rs_test_seed(void) {
    const char *s = getenv("RS_TEST_SEED");
    return s ? strtoull(s, NULL, 10) : 42;
}

typedef void (*rs_test_fn_t)(void);

static inline int rs_test_run_(const char *names, rs_test_fn_t *fns, int n) {
    int passed = 0, failed = 0;
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", names);
    char *save = NULL, *tok = strtok_r(buf, ", ", &save);
    for (int i = 0; i < n; i++, tok = strtok_r(NULL, ", ", &save)) {
        rs_test_failed_ = 0;
        fprintf(stderr, "RUN  %s\n", tok ? tok : "?");
        fns[i]();
        if (rs_test_failed_) {
            failed++;
            fprintf(stderr, "FAIL %s (seed %" PRIu64 ")\n", tok ? tok : "?", rs_test_seed());
        } else {
            passed++;
            fprintf(stderr, "OK   %s\n", tok ? tok : "?");
        }
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

#define RUN_TESTS(...)                                                                             \
    rs_test_run_(#__VA_ARGS__, (rs_test_fn_t[]){__VA_ARGS__},                                      \
                 (int)(sizeof((rs_test_fn_t[]){__VA_ARGS__}) / sizeof(rs_test_fn_t)))

#endif
