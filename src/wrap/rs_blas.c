/* rs_blas.c -- the only file that includes <cblas.h> (rs_blas.h).
 *
 * Design: thin, checked wrappers. cblas functions return void and report a
 * bad argument through xerbla (a message on stderr, then the call does
 * nothing or misbehaves), so every shape is validated here first and a bad
 * one is an RS_EARG return. blasint is int in Debian's 32-bit-index build,
 * so sizes above INT_MAX are refused too. Empty products (m or n == 0) are
 * no-ops; k == 0 scales C by beta by hand, since reference BLAS and OpenBLAS
 * disagree about reading A/B then. */
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>

#include <cblas.h>

#include "recstream/rs_blas.h"

/* One thread per call unless OPENBLAS_NUM_THREADS says otherwise: the big
 * products (k-means refreshes) already run on a libuv pool thread, and an
 * OpenBLAS fan-out would take the other core from the loop thread and
 * librdkafka. (The sched_yield spin of OpenBLAS's workers seen in short
 * runs is their start-up wait at library load, which this does not change.) */
static pthread_once_t threads_once = PTHREAD_ONCE_INIT;

static void threads_default(void) {
    if (!getenv("OPENBLAS_NUM_THREADS")) openblas_set_num_threads(1);
}

static int fits(size_t v) {
    return v <= (size_t)INT_MAX;
}

static rs_err_t check(size_t m, size_t n, size_t k, const void *a, size_t lda, size_t amin,
                      const void *b, size_t ldb, size_t bmin, const void *c, size_t ldc) {
    if (!fits(m) || !fits(n) || !fits(k) || !fits(lda) || !fits(ldb) || !fits(ldc)) return RS_EARG;
    if (lda < (amin ? amin : 1) || ldb < (bmin ? bmin : 1) || ldc < (n ? n : 1)) return RS_EARG;
    if (m && n && !c) return RS_EARG;
    if (m && n && k && (!a || !b)) return RS_EARG;
    return RS_OK;
}

static void scale_c(size_t m, size_t n, float beta, float *c, size_t ldc) {
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
}

rs_err_t rs_blas_sgemm(size_t m, size_t n, size_t k, float alpha, const float *a, size_t lda,
                       const float *b, size_t ldb, float beta, float *c, size_t ldc) {
    rs_err_t rc = check(m, n, k, a, lda, k, b, ldb, k, c, ldc);
    if (rc) return rc;
    if (!m || !n) return RS_OK;
    pthread_once(&threads_once, threads_default);
    if (!k) {
        scale_c(m, n, beta, c, ldc);
        return RS_OK;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)m, (blasint)n, (blasint)k, alpha,
                a, (blasint)lda, b, (blasint)ldb, beta, c, (blasint)ldc);
    return RS_OK;
}

rs_err_t rs_blas_sgemm_nn(size_t m, size_t n, size_t k, float alpha, const float *a, size_t lda,
                          const float *b, size_t ldb, float beta, float *c, size_t ldc) {
    rs_err_t rc = check(m, n, k, a, lda, k, b, ldb, n, c, ldc);
    if (rc) return rc;
    if (!m || !n) return RS_OK;
    pthread_once(&threads_once, threads_default);
    if (!k) {
        scale_c(m, n, beta, c, ldc);
        return RS_OK;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint)m, (blasint)n, (blasint)k,
                alpha, a, (blasint)lda, b, (blasint)ldb, beta, c, (blasint)ldc);
    return RS_OK;
}

float rs_blas_sdot(size_t n, const float *x, size_t incx, const float *y, size_t incy) {
    if (!n || !x || !y || !incx || !incy || !fits(n) || !fits(incx) || !fits(incy)) return 0.0f;
    return cblas_sdot((blasint)n, x, (blasint)incx, y, (blasint)incy);
}

void rs_blas_set_threads(int n) {
    pthread_once(&threads_once, threads_default); /* a later default must not undo this */
    openblas_set_num_threads(n < 1 ? 1 : n);
}

const char *rs_blas_config(void) {
    const char *s = openblas_get_config();
    return s ? s : "";
}
