/* Unit tests of lib/crypto.c: known-answer vectors, envelope tampering, compares, key files.
 *
 * Hashes and HMAC are checked against FIPS 180-2 and RFC 4231 vectors; the AEAD against the
 * AES-256 case of the original GCM specification (test case 16), wrapped as a v1 envelope,
 * so a change in layout (nonce first, tag last) fails here. Tampering tests flip every byte
 * of a real envelope in turn. Key files live in one temp file per test. */
#include <config.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "lib/codec.h"
#include "lib/crypto.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define NONCE_LEN 12
#define TAG_LEN 16

static char tmp_path[512];

static void remove_tmp(void)
{
	if (tmp_path[0] != '\0')
		unlink(tmp_path);
	tmp_path[0] = '\0';
}

TestSuite(crypto, .fini = remove_tmp);

static size_t unhex(const char *hex, uint8_t *out, size_t outsz)
{
	size_t n = strlen(hex) / 2;

	cr_assert_leq(n, outsz);
	cr_assert_eq(codec_hex_decode(hex, strlen(hex), out, n), 0, "bad hex in test: %s", hex);
	return n;
}

static const char *write_key_file(const void *data, size_t len, mode_t mode)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	remove_tmp();
	snprintf(tmp_path, sizeof(tmp_path), "%s/second-test-key-XXXXXX",
		 dir && *dir ? dir : "/tmp");
	fd = mkstemp(tmp_path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	cr_assert_eq(fchmod(fd, mode), 0);
	close(fd);
	return tmp_path;
}

static const uint8_t key1[CRYPTO_KEY_BYTES] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
					       12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
					       23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

Test(crypto, sha256_vectors)
{
	static const struct {
		const char *msg, *hex;
	} cases[] = {
		{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
	};
	char hex[CRYPTO_SHA256_BYTES * 2 + 1];
	uint8_t raw[CRYPTO_SHA256_BYTES], want[CRYPTO_SHA256_BYTES];

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		crypto_sha256_hex(cases[i].msg, strlen(cases[i].msg), hex);
		cr_expect_str_eq(hex, cases[i].hex, "'%s'", cases[i].msg);
		crypto_sha256(cases[i].msg, strlen(cases[i].msg), raw);
		unhex(cases[i].hex, want, sizeof(want));
		cr_expect_arr_eq(raw, want, sizeof(want));
	}
	crypto_sha256_hex(NULL, 0, hex);
	cr_expect_str_eq(hex, cases[0].hex);
}

Test(crypto, sha256_million_a)
{
	char *a = malloc(1000000);
	char hex[CRYPTO_SHA256_BYTES * 2 + 1];

	cr_assert_not_null(a);
	memset(a, 'a', 1000000);
	crypto_sha256_hex(a, 1000000, hex);
	cr_expect_str_eq(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(a);
}

Test(crypto, hmac_sha256_rfc4231)
{
	static const struct {
		const char *key_hex, *data_hex, *mac_hex;
	} cases[] = {
		/* Case 1: 20 bytes of 0x0b, "Hi There" */
		{"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "4869205468657265",
		 "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
		/* Case 2: "Jefe", "what do ya want for nothing?" */
		{"4a656665", "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
		 "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
		/* Case 3: 20 bytes of 0xaa, 50 bytes of 0xdd */
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		 "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
		 "dddddddddddddddddddddddddddd",
		 "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
	};
	uint8_t key[256], data[256], mac[CRYPTO_SHA256_BYTES], want[CRYPTO_SHA256_BYTES];

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		size_t kl = unhex(cases[i].key_hex, key, sizeof(key));
		size_t dl = unhex(cases[i].data_hex, data, sizeof(data));

		crypto_hmac_sha256(key, kl, data, dl, mac);
		unhex(cases[i].mac_hex, want, sizeof(want));
		cr_expect_arr_eq(mac, want, sizeof(want), "RFC 4231 case %zu", i + 1);
	}
}

Test(crypto, hmac_sha256_rfc4231_long_key)
{
	static const char data[] = "Test Using Larger Than Block-Size Key - Hash Key First";
	uint8_t key[131], mac[CRYPTO_SHA256_BYTES], want[CRYPTO_SHA256_BYTES];

	/* Case 6: a key longer than the block is hashed first. */
	memset(key, 0xaa, sizeof(key));
	crypto_hmac_sha256(key, sizeof(key), data, strlen(data), mac);
	unhex("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54", want,
	      sizeof(want));
	cr_expect_arr_eq(mac, want, sizeof(want));
}

Test(crypto, open_gcm_spec_vector)
{
	static const char envelope_text[] = "v1.yv66vvrO263eyviIUi3B8JlWfQf0fzejKoRCfWQ6jNy_"
					    "5cDJdZiivSVV0aqMsI5IWQ27PaewixBWgog4"
					    "xfYeY5O6egq8yfZidvxuzg9OF2jN34hTuy1VGw";
	uint8_t key[CRYPTO_KEY_BYTES], raw[256], want[128], aad[32];
	char envelope[512] = "v1.";
	uint8_t *pt = NULL;
	size_t n = 0, wl, al;
	struct err e = {0};

	unhex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", key, sizeof(key));
	n = unhex("cafebabefacedbaddecaf888", raw, sizeof(raw));
	n += unhex("522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb"
		   "3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
		   raw + n, sizeof(raw) - n);
	n += unhex("76fc6ece0f4e1768cddf8853bb2d551b", raw + n, sizeof(raw) - n);
	codec_b64url_encode(raw, n, envelope + 3);
	cr_expect_str_eq(envelope, envelope_text);
	wl = unhex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809"
		   "532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
		   want, sizeof(want));
	al = unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2", aad, sizeof(aad) - 1);
	aad[al] = '\0';
	cr_assert_eq(crypto_open(key, envelope, (const char *)aad, &pt, &n, &e), 0, "%s", e.msg);
	cr_expect_eq(n, wl);
	cr_expect_arr_eq(pt, want, wl);
	cr_expect_eq(pt[n], '\0');
	free(pt);
}

Test(crypto, seal_open_round_trip)
{
	static const size_t lens[] = {0, 1, 15, 16, 17, 100, 4096, CRYPTO_MAX_PLAINTEXT};
	static const char *const aads[] = {NULL, "", "ws_123/secret:github"};
	uint8_t *data = malloc(CRYPTO_MAX_PLAINTEXT);

	cr_assert_not_null(data);
	for (size_t i = 0; i < CRYPTO_MAX_PLAINTEXT; i++)
		data[i] = (uint8_t)(i * 7 + 3);
	for (size_t i = 0; i < ARRAY_LEN(lens); i++) {
		for (size_t j = 0; j < ARRAY_LEN(aads); j++) {
			struct err e = {0};
			char *env = crypto_seal(key1, data, lens[i], aads[j], &e);
			uint8_t *pt = NULL;
			size_t n = 99;

			cr_assert_not_null(env, "len %zu: %s", lens[i], e.msg);
			cr_expect(strncmp(env, "v1.", 3) == 0);
			cr_expect_eq(strlen(env),
				     3 + codec_b64url_len(NONCE_LEN + lens[i] + TAG_LEN));
			cr_assert_eq(crypto_open(key1, env, aads[j], &pt, &n, &e), 0,
				     "len %zu aad %zu: %s", lens[i], j, e.msg);
			cr_expect_eq(n, lens[i]);
			cr_expect(lens[i] == 0 || memcmp(pt, data, n) == 0, "len %zu", lens[i]);
			cr_expect_eq(pt[n], '\0');
			free(pt);
			free(env);
		}
	}
	free(data);
}

Test(crypto, empty_aad_equals_null_aad)
{
	char *env = crypto_seal(key1, "x", 1, NULL, NULL);
	uint8_t *pt = NULL;
	size_t n = 0;

	cr_assert_not_null(env);
	cr_expect_eq(crypto_open(key1, env, "", &pt, &n, NULL), 0);
	free(pt);
	free(env);
}

Test(crypto, seal_refuses_oversized)
{
	struct err e = {0};
	uint8_t *data = calloc(1, CRYPTO_MAX_PLAINTEXT + 1);

	cr_assert_not_null(data);
	cr_expect_null(crypto_seal(key1, data, CRYPTO_MAX_PLAINTEXT + 1, NULL, &e));
	cr_expect_eq(e.code, ERR_TOO_LARGE);
	free(data);
}

Test(crypto, seals_differ)
{
	char *a = crypto_seal(key1, "same", 4, "ctx", NULL);
	char *b = crypto_seal(key1, "same", 4, "ctx", NULL);

	cr_assert(a && b);
	cr_expect_str_neq(a, b);
	/* The nonces themselves differ, not just the text. */
	cr_expect(strncmp(a, b, 3 + 16) != 0);
	free(a);
	free(b);
}

static void expect_open_fails(const uint8_t *key, const char *env, const char *aad,
			      const char *what)
{
	uint8_t *pt = (uint8_t *)"untouched";
	size_t n = 99;
	struct err e = {0};

	cr_expect_eq(crypto_open(key, env, aad, &pt, &n, &e), -1, "%s opened", what);
	cr_expect_eq(e.code, ERR_CRYPTO, "%s: code %s", what, err_code_name(e.code));
	cr_expect_null(pt, "%s", what);
	cr_expect_eq(n, 0, "%s", what);
}

Test(crypto, open_refuses_wrong_key_and_aad)
{
	uint8_t key2[CRYPTO_KEY_BYTES];
	char *env = crypto_seal(key1, "attack at dawn", 14, "ws1/token", NULL);

	cr_assert_not_null(env);
	memcpy(key2, key1, sizeof(key2));
	key2[31] ^= 1;
	expect_open_fails(key2, env, "ws1/token", "wrong key");
	expect_open_fails(key1, env, "ws2/token", "wrong aad");
	expect_open_fails(key1, env, NULL, "missing aad");
	expect_open_fails(key1, env, "ws1/token ", "longer aad");
	free(env);
	env = crypto_seal(key1, "attack at dawn", 14, NULL, NULL);
	expect_open_fails(key1, env, "ws1/token", "unexpected aad");
	free(env);
}

Test(crypto, open_refuses_every_flipped_byte)
{
	char *env = crypto_seal(key1, "0123456789", 10, "aad", NULL);
	uint8_t raw[NONCE_LEN + 10 + TAG_LEN];
	char forged[128] = "v1.", what[64];
	size_t n = 0;

	cr_assert_not_null(env);
	cr_assert_eq(codec_b64url_decode(env + 3, strlen(env + 3), raw, sizeof(raw), &n), 0);
	cr_assert_eq(n, sizeof(raw));
	for (size_t i = 0; i < sizeof(raw); i++) {
		for (int bit = 0; bit < 8; bit += 7) {
			raw[i] ^= (uint8_t)(1u << bit);
			codec_b64url_encode(raw, sizeof(raw), forged + 3);
			snprintf(what, sizeof(what), "%s byte %zu bit %d",
				 i < NONCE_LEN        ? "nonce"
				 : i < NONCE_LEN + 10 ? "ciphertext"
						      : "tag",
				 i, bit);
			expect_open_fails(key1, forged, "aad", what);
			raw[i] ^= (uint8_t)(1u << bit);
		}
	}
	free(env);
}

Test(crypto, open_refuses_malformed_envelopes)
{
	char *env = crypto_seal(key1, "secret", 6, NULL, NULL);
	char buf[256];
	size_t len;

	cr_assert_not_null(env);
	len = strlen(env);
	static const char *const fixed[] = {
		"",         "v1",        "v1.",
		"v1.A",     "v1.AAAA",   "v1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"garbage",  "v1.@@@@",   "v1.AAAA AAAA",
		"v1.AAAA=", "{\"v\":1}",
	};
	for (size_t i = 0; i < ARRAY_LEN(fixed); i++)
		expect_open_fails(key1, fixed[i], NULL, fixed[i]);
	expect_open_fails(key1, NULL, NULL, "NULL");
	snprintf(buf, sizeof(buf), "v2.%s", env + 3);
	expect_open_fails(key1, buf, NULL, "version v2");
	snprintf(buf, sizeof(buf), "V1.%s", env + 3);
	expect_open_fails(key1, buf, NULL, "version V1");
	snprintf(buf, sizeof(buf), "%s", env + 3);
	expect_open_fails(key1, buf, NULL, "no version");
	for (size_t cut = 1; cut <= 8; cut++) {
		snprintf(buf, sizeof(buf), "%.*s", (int)(len - cut), env);
		expect_open_fails(key1, buf, NULL, "truncated");
	}
	snprintf(buf, sizeof(buf), "%sA", env);
	expect_open_fails(key1, buf, NULL, "one char appended");
	snprintf(buf, sizeof(buf), "%sAAAA", env);
	expect_open_fails(key1, buf, NULL, "bytes appended");
	snprintf(buf, sizeof(buf), "%s\n", env);
	expect_open_fails(key1, buf, NULL, "newline appended");
	free(env);
}

Test(crypto, ct_equal_truth_table)
{
	static const struct {
		const char *a;
		size_t alen;
		const char *b;
		size_t blen;
		bool want;
	} cases[] = {
		{"abc", 3, "abc", 3, true},    {"abc", 3, "abd", 3, false},
		{"abc", 3, "xbc", 3, false},   {"abc", 3, "ab", 2, false},
		{"ab", 2, "abc", 3, false},    {"", 0, "", 0, true},
		{"", 0, "a", 1, false},        {"a\0b", 3, "a\0b", 3, true},
		{"a\0b", 3, "a\0c", 3, false}, {"ab\0", 3, "ab", 2, false},
		{NULL, 0, "", 0, false},       {"", 0, NULL, 0, false},
		{NULL, 0, NULL, 0, false},
	};

	for (size_t i = 0; i < ARRAY_LEN(cases); i++)
		cr_expect_eq(crypto_ct_equal(cases[i].a, cases[i].alen, cases[i].b, cases[i].blen),
			     cases[i].want, "case %zu", i);
}

Test(crypto, ct_streq_truth_table)
{
	static const struct {
		const char *a, *b;
		bool want;
	} cases[] = {
		{"tok", "tok", true},   {"tok", "toK", false}, {"tok", "tok2", false},
		{"tok2", "tok", false}, {"", "", true},        {"", "x", false},
		{NULL, "x", false},     {"x", NULL, false},    {NULL, NULL, false},
	};

	for (size_t i = 0; i < ARRAY_LEN(cases); i++)
		cr_expect_eq(crypto_ct_streq(cases[i].a, cases[i].b), cases[i].want, "case %zu", i);
}

Test(crypto, random_bytes_differ)
{
	uint8_t a[32] = {0}, b[32] = {0}, zero[32] = {0};

	crypto_random(a, sizeof(a));
	crypto_random(b, sizeof(b));
	cr_expect(memcmp(a, b, sizeof(a)) != 0);
	cr_expect(memcmp(a, zero, sizeof(a)) != 0);
	crypto_random(NULL, 0);
}

Test(crypto, random_tokens)
{
	enum { N = 1000 };
	static char tokens[N][TOKEN_MAX_BYTES];
	const size_t want_len = codec_b64url_len(TOKEN_BYTES);

	cr_assert_lt(want_len, TOKEN_MAX_BYTES);
	for (size_t i = 0; i < N; i++) {
		uint8_t raw[TOKEN_BYTES + 3];
		size_t n = 0;

		memset(tokens[i], '#', sizeof(tokens[i]));
		crypto_random_token(tokens[i], sizeof(tokens[i]));
		cr_assert_eq(strlen(tokens[i]), want_len, "%s", tokens[i]);
		cr_assert_eq(strspn(tokens[i],
				    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				    "0123456789-_"),
			     want_len, "%s", tokens[i]);
		cr_assert_eq(codec_b64url_decode(tokens[i], want_len, raw, sizeof(raw), &n), 0);
		cr_assert_eq(n, TOKEN_BYTES);
		for (size_t j = 0; j < i; j++)
			cr_assert_str_neq(tokens[i], tokens[j]);
	}
}

Test(crypto, random_token_exact_buffer)
{
	char tok[44];

	crypto_random_token(tok, codec_b64url_len(TOKEN_BYTES) + 1);
	cr_expect_eq(strlen(tok), codec_b64url_len(TOKEN_BYTES));
}

Test(crypto, random_token_small_buffer_aborts, .signal = SIGABRT)
{
	char tok[TOKEN_MAX_BYTES];

	crypto_random_token(tok, codec_b64url_len(TOKEN_BYTES));
}

Test(crypto, key_load_formats)
{
	char hex[CRYPTO_KEY_BYTES * 2 + 3];
	uint8_t raw[CRYPTO_KEY_BYTES], key[CRYPTO_KEY_BYTES];
	struct err e = {0};

	/* Raw bytes may hold newlines and NULs: only the length decides the format. */
	for (size_t i = 0; i < sizeof(raw); i++)
		raw[i] = (uint8_t)(i * 37);
	raw[0] = '\n';
	raw[5] = 0;
	codec_hex_encode(raw, sizeof(raw), hex);
	cr_assert_eq(crypto_key_load(write_key_file(raw, sizeof(raw), 0600), key, &e), 0, "%s",
		     e.msg);
	cr_expect_arr_eq(key, raw, sizeof(raw));
	memset(key, 0, sizeof(key));
	cr_assert_eq(crypto_key_load(write_key_file(hex, 64, 0600), key, &e), 0, "%s", e.msg);
	cr_expect_arr_eq(key, raw, sizeof(raw));
	memset(key, 0, sizeof(key));
	hex[64] = '\n';
	cr_assert_eq(crypto_key_load(write_key_file(hex, 65, 0400), key, &e), 0, "%s", e.msg);
	cr_expect_arr_eq(key, raw, sizeof(raw));
	for (size_t i = 0; i < 64; i++)
		hex[i] = (char)(hex[i] >= 'a' ? hex[i] - 32 : hex[i]);
	memset(key, 0, sizeof(key));
	cr_assert_eq(crypto_key_load(write_key_file(hex, 65, 0600), key, &e), 0, "%s", e.msg);
	cr_expect_arr_eq(key, raw, sizeof(raw));
}

Test(crypto, key_load_refuses_bad_content)
{
	static const struct {
		const char *text;
		size_t len;
	} cases[] = {
		{"", 0},
		{"0123456789abcdef0123456789abcde", 31},
		{"0123456789abcdef0123456789abcdef\n", 33},
		{"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde", 63},
		{"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0", 65},
		{"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n\n", 66},
		{"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n", 66},
		{"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg\n", 65},
		{" 123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", 64},
		{"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789", 74},
	};

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		uint8_t key[CRYPTO_KEY_BYTES];
		struct err e = {0};

		cr_expect_eq(
			crypto_key_load(write_key_file(cases[i].text, cases[i].len, 0600), key, &e),
			-1, "case %zu loaded", i);
		cr_expect_eq(e.code, ERR_INVALID, "case %zu", i);
		cr_expect(strstr(e.msg, "must hold 32 raw bytes or 64 hex characters") != NULL,
			  "%s", e.msg);
	}
}

Test(crypto, key_load_refuses_open_modes)
{
	static const mode_t modes[] = {0644, 0640, 0604, 0660, 0606, 0610, 0601, 0777};
	uint8_t raw[CRYPTO_KEY_BYTES] = {0}, key[CRYPTO_KEY_BYTES];
	char want[600];

	for (size_t i = 0; i < ARRAY_LEN(modes); i++) {
		struct err e = {0};
		const char *path = write_key_file(raw, sizeof(raw), modes[i]);

		cr_expect_eq(crypto_key_load(path, key, &e), -1, "mode %o loaded", modes[i]);
		cr_expect_eq(e.code, ERR_INVALID);
		snprintf(want, sizeof(want), "key file %s must not be readable by group or others",
			 path);
		cr_expect_str_eq(e.msg, want);
	}
}

Test(crypto, key_load_missing_and_not_regular)
{
	uint8_t key[CRYPTO_KEY_BYTES];
	struct err e = {0};

	cr_expect_eq(crypto_key_load("/nonexistent/second.key", key, &e), -1);
	cr_expect_eq(e.code, ERR_NOT_FOUND);
	cr_expect_eq(crypto_key_load("/", key, &e), -1);
	cr_expect_eq(e.code, ERR_INVALID);
}
