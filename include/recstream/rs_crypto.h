/* rs_crypto.h -- recstream's only door to OpenSSL's libcrypto
 * (src/wrap/rs_crypto.c). No OpenSSL type appears here.
 *
 * Used for the optional keyed hashing of user ids (privacy.user.id.hash,
 * SPEC F19): HMAC-SHA256 with a secret salt as the key, so the stored and
 * published ids cannot be reversed or recomputed without the salt.
 *
 * Ownership: rs_hmac_t copies the key; the caller owns output buffers.
 * Thread: an rs_hmac_t is used by one thread at a time (it keeps a MAC
 * context); use one per thread. */
#ifndef RS_CRYPTO_H
#define RS_CRYPTO_H

#include <stddef.h>

#include "rs_err.h"

#define RS_SHA256_LEN 32

typedef struct rs_hmac rs_hmac_t;

/* HMAC-SHA256 keyed with key[0..klen). RS_EARG for an empty key, RS_ECONF if
 * libcrypto lacks HMAC/SHA-256 (e.g. a restricted FIPS provider). */
rs_err_t rs_hmac_new(rs_hmac_t **out, const void *key, size_t klen, char *errstr,
                     size_t errstr_size);
void rs_hmac_destroy(rs_hmac_t *h); /* NULL-safe; wipes the key */

/* The 32-byte MAC of msg[0..len) into out. */
rs_err_t rs_hmac_sha256(rs_hmac_t *h, const void *msg, size_t len,
                        unsigned char out[RS_SHA256_LEN]);

/* The MAC as lowercase hex, truncated to hex_len characters (even, 2..64),
 * NUL-terminated into out (hex_len + 1 bytes). */
rs_err_t rs_hmac_hex(rs_hmac_t *h, const void *msg, size_t len, char *out, size_t hex_len);

#endif
