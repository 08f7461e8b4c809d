/* test_blas.c -- the checked OpenBLAS wrapper: products on small integer
 * matrices (exact in float), strides, k == 0, and refused shapes. */
#include "recstream/rs_blas.h"
#include "rs_test.h"

/* A = [1 2 3; 4 5 6] (2 x 3), B = [1 0 1; 0 1 0; 2 2 2; -1 0 1] (4 x 3):
 * A * B^T = [4 2 12 2; 10 5 30 2]. */
TEST(sgemm_abt) {
    const float a[6] = {1, 2, 3, 4, 5, 6};
    const float b[12] = {1, 0, 1, 0, 1, 0, 2, 2, 2, -1, 0, 1};
    const float want[8] = {4, 2, 12, 2, 10, 5, 30, 2};
    float c[8];
    for (int i = 0; i < 8; i++) c[i] = 100;
    ASSERT_OK(rs_blas_sgemm(2, 4, 3, 1.0f, a, 3, b, 3, 0.0f, c, 4));
    for (int i = 0; i < 8; i++) ASSERT_EQ(c[i], want[i]);
    /* alpha and beta: C = -2 * A B^T + 1 * C */
    ASSERT_OK(rs_blas_sgemm(2, 4, 3, -2.0f, a, 3, b, 3, 1.0f, c, 4));
    for (int i = 0; i < 8; i++) ASSERT_EQ(c[i], -want[i]);
}

TEST(sgemm_strides) {
    /* the same A and B inside wider rows (padding 9s must be ignored) */
    const float a[8] = {1, 2, 3, 9, 4, 5, 6, 9};
    const float b[20] = {1, 0, 1, 9, 9, 0, 1, 0, 9, 9, 2, 2, 2, 9, 9, -1, 0, 1, 9, 9};
    float c[12];
    for (int i = 0; i < 12; i++) c[i] = 7;
    ASSERT_OK(rs_blas_sgemm(2, 4, 3, 1.0f, a, 4, b, 5, 0.0f, c, 6));
    ASSERT_EQ(c[0], 4);
    ASSERT_EQ(c[2], 12);
    ASSERT_EQ(c[3], 2);
    ASSERT_EQ(c[4], 7); /* padding of C untouched */
    ASSERT_EQ(c[5], 7);
    ASSERT_EQ(c[6], 10);
    ASSERT_EQ(c[8], 30);
    ASSERT_EQ(c[9], 2);
}

TEST(sgemm_nn_and_dot) {
    const float a[6] = {1, 2, 3, 4, 5, 6}; /* 2 x 3 */
    const float b[6] = {1, 0, 0, 1, 1, 1}; /* 3 x 2 */
    float c[4] = {0};
    ASSERT_OK(rs_blas_sgemm_nn(2, 2, 3, 1.0f, a, 3, b, 2, 0.0f, c, 2));
    ASSERT_EQ(c[0], 4);
    ASSERT_EQ(c[1], 5);
    ASSERT_EQ(c[2], 10);
    ASSERT_EQ(c[3], 11);
    ASSERT_EQ(rs_blas_sdot(3, a, 1, a + 3, 1), 32);
    ASSERT_EQ(rs_blas_sdot(2, a, 2, a + 1, 2), 2 + 12);
    ASSERT_EQ(rs_blas_sdot(0, a, 1, a, 1), 0);
}

TEST(sgemm_k0_and_empty) {
    float c[4] = {1, 2, 3, 4};
    ASSERT_OK(rs_blas_sgemm(2, 2, 0, 1.0f, NULL, 1, NULL, 1, 2.0f, c, 2));
    ASSERT_EQ(c[3], 8);
    ASSERT_OK(rs_blas_sgemm(2, 2, 0, 1.0f, NULL, 1, NULL, 1, 0.0f, c, 2));
    ASSERT_EQ(c[0], 0);
    ASSERT_OK(rs_blas_sgemm(0, 2, 3, 1.0f, NULL, 3, NULL, 3, 0.0f, NULL, 2));
}

TEST(sgemm_bad_shapes) {
    const float a[6] = {1, 2, 3, 4, 5, 6};
    float c[4] = {5, 5, 5, 5};
    ASSERT_EQ(rs_blas_sgemm(2, 2, 3, 1.0f, a, 2, a, 3, 0.0f, c, 2), RS_EARG); /* lda < k */
    ASSERT_EQ(rs_blas_sgemm(2, 2, 3, 1.0f, a, 3, a, 2, 0.0f, c, 2), RS_EARG); /* ldb < k */
    ASSERT_EQ(rs_blas_sgemm(2, 2, 3, 1.0f, a, 3, a, 3, 0.0f, c, 1), RS_EARG); /* ldc < n */
    ASSERT_EQ(rs_blas_sgemm(2, 2, 3, 1.0f, NULL, 3, a, 3, 0.0f, c, 2), RS_EARG);
    ASSERT_EQ(rs_blas_sgemm(2, 2, 3, 1.0f, a, 3, a, 3, 0.0f, NULL, 2), RS_EARG);
    ASSERT_EQ(rs_blas_sgemm((size_t)1 << 31, 2, 3, 1.0f, a, 3, a, 3, 0.0f, c, 2), RS_EARG);
    ASSERT_EQ(rs_blas_sgemm_nn(2, 2, 3, 1.0f, a, 3, a, 1, 0.0f, c, 2), RS_EARG); /* ldb < n */
    for (int i = 0; i < 4; i++) ASSERT_EQ(c[i], 5);
    rs_blas_set_threads(1);
    ASSERT(rs_blas_config() != NULL);
}

int main(void) {
    return RUN_TESTS(t_sgemm_abt, t_sgemm_strides, t_sgemm_nn_and_dot, t_sgemm_k0_and_empty,
                     t_sgemm_bad_shapes);
}
