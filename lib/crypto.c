/* Cryptography through GnuTLS: SHA-256, HMAC, AES-256-GCM envelopes, compares, randomness.
 *
 * An envelope is "v1." + base64url(nonce[12] || ciphertext || tag[16]); the nonce is fresh
 * from the key-grade generator for every seal, so one key may seal up to 2^32 values with
 * negligible collision risk. Every buffer that held key material or plaintext is wiped before
 * it is freed or goes out of scope. Failures of GnuTLS primitives that cannot fail on valid
 * arguments (hash, HMAC, RNG) abort: continuing would mean using unset bytes as secrets. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "lib/codec.h"
#include "lib/crypto.h"

#define ENVELOPE_PREFIX "v1."
#define NONCE_BYTES 12
#define TAG_BYTES 16
#define KEY_FILE_READ_MAX (CRYPTO_KEY_BYTES * 2 + 2) /* hex + newline, + 1 to see excess */

static void die(const char *what, int rc)
{
	fprintf(stderr, "crypto: %s failed: %s\n", what, gnutls_strerror(rc));
	abort();
}

void crypto_sha256(const void *data, size_t len, uint8_t out[CRYPTO_SHA256_BYTES])
{
	int rc = gnutls_hash_fast(GNUTLS_DIG_SHA256, len ? data : "", len, out);

	if (rc < 0)
		die("SHA-256", rc);
}

void crypto_sha256_hex(const void *data, size_t len, char out[CRYPTO_SHA256_BYTES * 2 + 1])
{
	uint8_t raw[CRYPTO_SHA256_BYTES];

	crypto_sha256(data, len, raw);
	codec_hex_encode(raw, sizeof(raw), out);
}

void crypto_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
			uint8_t out[CRYPTO_SHA256_BYTES])
{
	int rc = gnutls_hmac_fast(GNUTLS_MAC_SHA256, keylen ? key : "", keylen, len ? data : "",
				  len, out);

	if (rc < 0)
		die("HMAC-SHA256", rc);
}

bool crypto_ct_equal(const void *a, size_t alen, const void *b, size_t blen)
{
	const volatile uint8_t *pa = a, *pb = b;
	size_t n = alen > blen ? alen : blen;
	volatile uint8_t acc = 0;

	if (a == NULL || b == NULL)
		return false;
	/* Every position up to the longer length is visited, whatever the bytes hold; the
	 * branches below depend on the lengths only. */
	for (size_t i = 0; i < n; i++) {
		uint8_t x = i < alen ? pa[i] : 0, y = i < blen ? pb[i] : 0;

		acc |= (uint8_t)(x ^ y);
	}
	return acc == 0 && alen == blen;
}

bool crypto_ct_streq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return false;
	return crypto_ct_equal(a, strlen(a), b, strlen(b));
}

void crypto_random(void *buf, size_t len)
{
	int rc;

	if (len == 0)
		return;
	rc = gnutls_rnd(GNUTLS_RND_KEY, buf, len);
	if (rc < 0)
		die("random generator", rc);
}

void crypto_random_token(char *out, size_t outsz)
{
	uint8_t raw[TOKEN_BYTES];

	if (outsz < codec_b64url_len(sizeof(raw)) + 1) {
		fprintf(stderr, "crypto: token buffer of %zu bytes is too small\n", outsz);
		abort();
	}
	crypto_random(raw, sizeof(raw));
	codec_b64url_encode(raw, sizeof(raw), out);
	gnutls_memset(raw, 0, sizeof(raw));
}

/* Reads at most bufsz bytes; *len gets the count. */
static int read_key_file(int fd, const char *path, uint8_t *buf, size_t bufsz, size_t *len,
			 struct err *e)
{
	*len = 0;
	while (*len < bufsz) {
		ssize_t n = read(fd, buf + *len, bufsz - *len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_set(e, ERR_IO, "cannot read key file %s: %s", path,
				       strerror(errno));
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	return 0;
}

/* Accepts exactly 32 raw bytes, or 64 hex characters with an optional trailing newline. */
static int decode_key(const uint8_t *buf, size_t len, uint8_t key[CRYPTO_KEY_BYTES])
{
	if (len == CRYPTO_KEY_BYTES) {
		memcpy(key, buf, CRYPTO_KEY_BYTES);
		return 0;
	}
	if (len == CRYPTO_KEY_BYTES * 2 + 1 && buf[len - 1] == '\n')
		len--;
	if (len != CRYPTO_KEY_BYTES * 2)
		return -1;
	return codec_hex_decode((const char *)buf, len, key, CRYPTO_KEY_BYTES);
}

int crypto_key_load(const char *path, uint8_t key[CRYPTO_KEY_BYTES], struct err *e)
{
	uint8_t buf[KEY_FILE_READ_MAX];
	size_t len = 0;
	struct stat st;
	int fd = -1, rc = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		err_set(e, errno == ENOENT ? ERR_NOT_FOUND : ERR_IO, "cannot open key file %s: %s",
			path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		err_set(e, ERR_INVALID, "key file %s is not a regular file", path);
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		err_set(e, ERR_INVALID, "key file %s must not be readable by group or others",
			path);
		goto out;
	}
	if (read_key_file(fd, path, buf, sizeof(buf), &len, e) < 0)
		goto out;
	if (decode_key(buf, len, key) < 0) {
		err_set(e, ERR_INVALID, "key file %s must hold %d raw bytes or %d hex characters",
			path, CRYPTO_KEY_BYTES, CRYPTO_KEY_BYTES * 2);
		goto out;
	}
	rc = 0;
out:
	gnutls_memset(buf, 0, sizeof(buf));
	if (fd >= 0)
		close(fd);
	return rc;
}

static gnutls_aead_cipher_hd_t aead_new(const uint8_t key[CRYPTO_KEY_BYTES])
{
	gnutls_aead_cipher_hd_t h = NULL;
	/* GnuTLS copies the key into its own context; the datum only lends it. */
	gnutls_datum_t k = {.data = (unsigned char *)(uintptr_t)key, .size = CRYPTO_KEY_BYTES};
	int rc = gnutls_aead_cipher_init(&h, GNUTLS_CIPHER_AES_256_GCM, &k);

	if (rc < 0)
		die("AES-256-GCM init", rc);
	return h;
}

char *crypto_seal(const uint8_t key[CRYPTO_KEY_BYTES], const void *pt, size_t len, const char *aad,
		  struct err *e)
{
	const size_t prefix = sizeof(ENVELOPE_PREFIX) - 1, rawlen = NONCE_BYTES + len + TAG_BYTES;
	gnutls_aead_cipher_hd_t h = NULL;
	uint8_t *raw = NULL;
	char *out = NULL;
	size_t ctlen = len + TAG_BYTES;
	int rc;

	if (len > CRYPTO_MAX_PLAINTEXT) {
		err_set(e, ERR_TOO_LARGE, "plaintext larger than %d bytes", CRYPTO_MAX_PLAINTEXT);
		return NULL;
	}
	raw = malloc(rawlen);
	out = malloc(prefix + codec_b64url_len(rawlen) + 1);
	if (raw == NULL || out == NULL)
		abort();
	crypto_random(raw, NONCE_BYTES);
	h = aead_new(key);
	rc = gnutls_aead_cipher_encrypt(h, raw, NONCE_BYTES, aad ? aad : "", aad ? strlen(aad) : 0,
					TAG_BYTES, len ? pt : "", len, raw + NONCE_BYTES, &ctlen);
	gnutls_aead_cipher_deinit(h);
	if (rc < 0)
		die("AES-256-GCM encrypt", rc);
	memcpy(out, ENVELOPE_PREFIX, prefix);
	codec_b64url_encode(raw, NONCE_BYTES + ctlen, out + prefix);
	free(raw);
	return out;
}

/* Decodes the envelope text into a malloc'd nonce || ciphertext || tag. */
static int envelope_decode(const char *envelope, uint8_t **raw, size_t *rawlen, struct err *e)
{
	const size_t prefix = sizeof(ENVELOPE_PREFIX) - 1;
	const size_t textmax = codec_b64url_len(NONCE_BYTES + CRYPTO_MAX_PLAINTEXT + TAG_BYTES);
	size_t n, cap;

	*raw = NULL;
	if (envelope == NULL || strncmp(envelope, ENVELOPE_PREFIX, prefix) != 0)
		return err_set(e, ERR_CRYPTO, "unknown envelope version");
	n = strnlen(envelope + prefix, textmax + 1);
	if (n > textmax)
		return err_set(e, ERR_CRYPTO, "envelope too large");
	cap = n / 4 * 3 + 3;
	*raw = malloc(cap);
	if (*raw == NULL)
		abort();
	if (codec_b64url_decode(envelope + prefix, n, *raw, cap, rawlen) < 0 ||
	    *rawlen < NONCE_BYTES + TAG_BYTES) {
		free(*raw);
		*raw = NULL;
		return err_set(e, ERR_CRYPTO, "malformed envelope");
	}
	return 0;
}

int crypto_open(const uint8_t key[CRYPTO_KEY_BYTES], const char *envelope, const char *aad,
		uint8_t **pt, size_t *len, struct err *e)
{
	gnutls_aead_cipher_hd_t h = NULL;
	uint8_t *raw = NULL, *out = NULL;
	size_t rawlen = 0, outlen = 0;
	int rc = -1;

	*pt = NULL;
	*len = 0;
	if (envelope_decode(envelope, &raw, &rawlen, e) < 0)
		goto out;
	outlen = rawlen - NONCE_BYTES - TAG_BYTES;
	out = malloc(outlen + 1);
	if (out == NULL)
		abort();
	h = aead_new(key);
	if (gnutls_aead_cipher_decrypt(h, raw, NONCE_BYTES, aad ? aad : "", aad ? strlen(aad) : 0,
				       TAG_BYTES, raw + NONCE_BYTES, rawlen - NONCE_BYTES, out,
				       &outlen) < 0) {
		err_set(e, ERR_CRYPTO, "envelope failed authentication");
		goto out;
	}
	out[outlen] = '\0';
	*pt = out;
	*len = outlen;
	out = NULL;
	rc = 0;
out:
	if (h != NULL)
		gnutls_aead_cipher_deinit(h);
	if (out != NULL)
		gnutls_memset(out, 0, rawlen - NONCE_BYTES - TAG_BYTES + 1);
	free(out);
	free(raw);
	return rc;
}
