/* rs_blas.h -- recstream's only door to OpenBLAS (cblas).
 *
 * Only src/wrap/rs_blas.c includes <cblas.h>; no cblas type appears here.
 * Matrices are row-major float arrays with a leading dimension (the stride
 * between rows, in elements). Dimensions are checked before any cblas call:
 * a bad shape returns RS_EARG and leaves C untouched (cblas itself would
 * print to stderr and carry on, or crash).
 *
 * Thread: any thread. Each call runs on the caller's thread (OpenBLAS set
 * to one thread at the first call) unless OPENBLAS_NUM_THREADS is set or
 * rs_blas_set_threads() asked for more: recstream's products already run
 * on a libuv pool thread. */
#ifndef RS_BLAS_H
#define RS_BLAS_H

#include <stddef.h>

#include "rs_err.h"

/* C[m x n] = alpha * A[m x k] * B[n x k]^T + beta * C.
 * Row-major; lda >= k, ldb >= k, ldc >= n (each at least 1). With k == 0,
 * C = beta * C. Typical use: the dot products of m vectors with n others
 * (distances to centroids). */
rs_err_t rs_blas_sgemm(size_t m, size_t n, size_t k, float alpha, const float *a, size_t lda,
                       const float *b, size_t ldb, float beta, float *c, size_t ldc);
/* C[m x n] = alpha * A[m x k] * B[k x n] + beta * C. Row-major; lda >= k,
 * ldb >= n, ldc >= n. */
rs_err_t rs_blas_sgemm_nn(size_t m, size_t n, size_t k, float alpha, const float *a, size_t lda,
                          const float *b, size_t ldb, float beta, float *c, size_t ldc);
/* Dot product of two n-vectors with strides (>= 1). 0 for n == 0. */
float rs_blas_sdot(size_t n, const float *x, size_t incx, const float *y, size_t incy);
/* Threads OpenBLAS may use for one call (process-wide). n >= 1. */
void rs_blas_set_threads(int n);
/* OpenBLAS build and core type, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH ... Haswell". Static. */
const char *rs_blas_config(void);

#endif
