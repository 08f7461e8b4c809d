/* rs_crypto.c -- the only file that includes OpenSSL headers (rs_crypto.h).
 *
 * HMAC-SHA256 through OpenSSL 3's EVP_MAC API (HMAC_CTX and the one-shot
 * HMAC() are deprecated in 3.0, and HMAC() fetches the algorithm on every
 * call). The MAC is fetched and keyed once in rs_hmac_new(); each message
 * re-initialises the same context with a NULL key, which reuses the key
 * already set, so a digest costs no allocation and no fetch.
 *
 * The key is copied into memory we own and wiped with OPENSSL_cleanse() on
 * destroy; OpenSSL keeps its own copy inside the context and cleanses it
 * when the context is freed. */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "recstream/rs_buf.h"
#include "recstream/rs_crypto.h"

struct rs_hmac {
    EVP_MAC *mac;
    EVP_MAC_CTX *ctx;
};

/* The newest OpenSSL error as text (the queue is cleared). */
static const char *ossl_err(char *buf, size_t n) {
    unsigned long e = ERR_get_error();
    ERR_clear_error();
    if (!e) return "unknown error";
    ERR_error_string_n(e, buf, n);
    return buf;
}

rs_err_t rs_hmac_new(rs_hmac_t **out, const void *key, size_t klen, char *errstr,
                     size_t errstr_size) {
    char eb[256];
    if (!out || !key || !klen) return rs_seterr(errstr, errstr_size, RS_EARG, "empty HMAC key");
    *out = NULL;
    rs_hmac_t *h = rs_xcalloc(1, sizeof(*h));
    int rc = RS_OK;
    h->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (!h->mac) {
        rc = rs_seterr(errstr, errstr_size, RS_ECONF, "libcrypto has no HMAC: %s",
                       ossl_err(eb, sizeof(eb)));
        goto fail;
    }
    h->ctx = EVP_MAC_CTX_new(h->mac);
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    if (!h->ctx || !EVP_MAC_init(h->ctx, key, klen, params)) {
        rc = rs_seterr(errstr, errstr_size, RS_ECONF, "HMAC-SHA256 init: %s",
                       ossl_err(eb, sizeof(eb)));
        goto fail;
    }
    *out = h;
    return RS_OK;
fail:
    rs_hmac_destroy(h);
    return rc;
}

void rs_hmac_destroy(rs_hmac_t *h) {
    if (!h) return;
    EVP_MAC_CTX_free(h->ctx); /* cleanses the key it holds */
    EVP_MAC_free(h->mac);
    free(h);
}

rs_err_t rs_hmac_sha256(rs_hmac_t *h, const void *msg, size_t len,
                        unsigned char out[RS_SHA256_LEN]) {
    if (!h || (!msg && len)) return RS_EARG;
    size_t outl = 0;
    /* NULL key: keep the key and digest set in rs_hmac_new() */
    if (!EVP_MAC_init(h->ctx, NULL, 0, NULL) ||
        !EVP_MAC_update(h->ctx, (const unsigned char *)(msg ? msg : ""), len) ||
        !EVP_MAC_final(h->ctx, out, &outl, RS_SHA256_LEN) || outl != RS_SHA256_LEN) {
        ERR_clear_error();
        return RS_EIO; /* libcrypto failed on a keyed context: not expected */
    }
    return RS_OK;
}

rs_err_t rs_hmac_hex(rs_hmac_t *h, const void *msg, size_t len, char *out, size_t hex_len) {
    static const char dig[] = "0123456789abcdef";
    unsigned char d[RS_SHA256_LEN];
    if (!out || hex_len < 2 || hex_len > 2 * RS_SHA256_LEN || hex_len % 2) return RS_EARG;
    rs_err_t rc = rs_hmac_sha256(h, msg, len, d);
    if (rc) return rc;
    for (size_t i = 0; i < hex_len / 2; i++) {
        out[2 * i] = dig[d[i] >> 4];
        out[2 * i + 1] = dig[d[i] & 15];
    }
    out[hex_len] = '\0';
    OPENSSL_cleanse(d, sizeof(d));
    return RS_OK;
}
