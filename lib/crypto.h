/* Cryptography through GnuTLS: hashes, HMAC, AES-256-GCM envelopes, constant-time compare,
 * random bytes and tokens.
 *
 * A sealed envelope is text: "v1." + base64url(nonce[12] || ciphertext || tag[16]). The
 * version prefix lets the format change without breaking stored values; open() refuses
 * unknown versions. Optional associated data binds a ciphertext to its context (for example
 * the workspace id and the secret's name) so it cannot be moved to another record. */
#ifndef SECOND_CRYPTO_H
#define SECOND_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "lib/limits.h"

#define CRYPTO_SHA256_BYTES 32

void crypto_sha256(const void *data, size_t len, uint8_t out[CRYPTO_SHA256_BYTES]);
void crypto_sha256_hex(const void *data, size_t len, char out[CRYPTO_SHA256_BYTES * 2 + 1]);
void crypto_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
			uint8_t out[CRYPTO_SHA256_BYTES]);

/* True when both buffers are equal. Time depends only on the lengths, never on the bytes. */
bool crypto_ct_equal(const void *a, size_t alen, const void *b, size_t blen);
/* Same, for NUL-terminated strings (token checks). NULL never equals anything. */
bool crypto_ct_streq(const char *a, const char *b);

/* Random bytes from GnuTLS's key-grade generator; aborts if it fails. */
void crypto_random(void *buf, size_t len);
/* TOKEN_BYTES random bytes as base64url text; out needs at least TOKEN_MAX_BYTES bytes. */
void crypto_random_token(char *out, size_t outsz);

/* Loads a 32-byte key from a file: raw 32 bytes or 64 hex characters (newline allowed).
 * Refuses files readable by group or others. */
int crypto_key_load(const char *path, uint8_t key[CRYPTO_KEY_BYTES], struct err *e)
	__attribute__((warn_unused_result));

/* Returns a malloc'd envelope, or NULL (ERR_TOO_LARGE over CRYPTO_MAX_PLAINTEXT). aad may be
 * NULL. */
char *crypto_seal(const uint8_t key[CRYPTO_KEY_BYTES], const void *pt, size_t len, const char *aad,
		  struct err *e);
/* *pt is malloc'd (NUL-terminated for convenience, *len excludes it). ERR_CRYPTO when the
 * envelope is malformed, of an unknown version, or fails authentication. */
int crypto_open(const uint8_t key[CRYPTO_KEY_BYTES], const char *envelope, const char *aad,
		uint8_t **pt, size_t *len, struct err *e) __attribute__((warn_unused_result));

#endif
