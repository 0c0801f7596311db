/* Unit tests of lib/codec.c: lowercase hex and unpadded base64url.
 *
 * Vectors are RFC 4648's (section 10), with '=' padding removed and the URL alphabet; the
 * last rows exercise '-' and '_', which only base64url has. Decoders must refuse anything
 * but the one canonical spelling, so the rejection tables include padding, the standard
 * alphabet and non-zero trailing bits. */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "lib/codec.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
	const char *bytes;
	size_t len;
	const char *b64;
} b64_vectors[] = {
	{"", 0, ""},
	{"f", 1, "Zg"},
	{"fo", 2, "Zm8"},
	{"foo", 3, "Zm9v"},
	{"foob", 4, "Zm9vYg"},
	{"fooba", 5, "Zm9vYmE"},
	{"foobar", 6, "Zm9vYmFy"},
	{"\xfb\xff", 2, "-_8"},
	{"\xff\xff\xff", 3, "____"},
	{"\xfb\xef\xbe", 3, "----"},
	{"\xff", 1, "_w"},
	{"\0", 1, "AA"},
	{"\0\0\0\0", 4, "AAAAAA"},
};

Test(codec, hex_encode_vectors)
{
	static const struct {
		const char *bytes;
		size_t len;
		const char *hex;
	} cases[] = {
		{"", 0, ""},
		{"f", 1, "66"},
		{"foobar", 6, "666f6f626172"},
		{"\x00\x01\x7f\x80\xfe\xff", 6, "00017f80feff"},
		{"\xde\xad\xbe\xef", 4, "deadbeef"},
	};
	char out[64];

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		memset(out, '#', sizeof(out));
		codec_hex_encode(cases[i].bytes, cases[i].len, out);
		cr_expect_str_eq(out, cases[i].hex);
	}
}

Test(codec, hex_decode_accepts_both_cases)
{
	uint8_t out[4];

	cr_assert_eq(codec_hex_decode("DeAdBeEf", 8, out, 4), 0);
	cr_expect_arr_eq(out, "\xde\xad\xbe\xef", 4);
	cr_assert_eq(codec_hex_decode("", 0, out, 0), 0);
}

Test(codec, hex_decode_rejections)
{
	static const struct {
		const char *in;
		size_t inlen, outlen;
	} cases[] = {
		{"abc", 3, 2},                 /* odd length */
		{"abc", 3, 1}, {"abcd", 4, 1}, /* longer than the output */
		{"ab", 2, 2},                  /* shorter than the output */
		{"zz", 2, 1},                  /* bad characters */
		{"0g", 2, 1},  {"g0", 2, 1},   {" a", 2, 1},
		{"a\0", 2, 1}, {"-1", 2, 1},   {"0x", 2, 1},
	};
	uint8_t out[8];

	for (size_t i = 0; i < ARRAY_LEN(cases); i++)
		cr_expect_eq(codec_hex_decode(cases[i].in, cases[i].inlen, out, cases[i].outlen),
			     -1, "case %zu", i);
}

Test(codec, b64url_len)
{
	static const size_t want[] = {0, 2, 3, 4, 6, 7, 8, 10, 11, 12};

	for (size_t n = 0; n < ARRAY_LEN(want); n++)
		cr_expect_eq(codec_b64url_len(n), want[n], "len %zu", n);
}

Test(codec, b64url_rfc4648_vectors)
{
	char out[64];
	uint8_t back[64];
	size_t n = 99;

	for (size_t i = 0; i < ARRAY_LEN(b64_vectors); i++) {
		memset(out, '#', sizeof(out));
		codec_b64url_encode(b64_vectors[i].bytes, b64_vectors[i].len, out);
		cr_expect_str_eq(out, b64_vectors[i].b64);
		cr_expect_eq(strlen(out), codec_b64url_len(b64_vectors[i].len));
		cr_assert_eq(codec_b64url_decode(b64_vectors[i].b64, strlen(b64_vectors[i].b64),
						 back, sizeof(back), &n),
			     0, "%s", b64_vectors[i].b64);
		cr_expect_eq(n, b64_vectors[i].len);
		cr_expect(memcmp(back, b64_vectors[i].bytes, n) == 0, "%s", b64_vectors[i].b64);
	}
}

Test(codec, round_trip_every_length)
{
	uint8_t in[64], back[64];
	char hex[2 * 64 + 1], b64[90];

	srand(42);
	for (size_t len = 0; len <= 64; len++) {
		for (int rep = 0; rep < 20; rep++) {
			size_t n = 99;

			for (size_t i = 0; i < len; i++)
				in[i] = (uint8_t)rand();
			codec_hex_encode(in, len, hex);
			cr_assert_eq(strlen(hex), 2 * len);
			memset(back, 0, sizeof(back));
			cr_assert_eq(codec_hex_decode(hex, 2 * len, back, len), 0);
			cr_assert_arr_eq(back, in, len);
			codec_b64url_encode(in, len, b64);
			cr_assert_eq(strlen(b64), codec_b64url_len(len));
			memset(back, 0, sizeof(back));
			cr_assert_eq(codec_b64url_decode(b64, strlen(b64), back, len, &n), 0,
				     "len %zu: %s", len, b64);
			cr_assert_eq(n, len);
			cr_assert_arr_eq(back, in, len);
		}
	}
}

Test(codec, b64url_rejections)
{
	static const char *const bad[] = {
		"Z",                /* a lone sextet is not a byte */
		"Zm9vY",            /* same, after a full group */
		"Zg==",             /* padding */
		"Zg=",    "Zm9v+A", /* standard alphabet */
		"Zm9v/A", "Zm 9v",  /* whitespace */
		"Zm9v\n", "Zh",     /* non-zero trailing bits: "Zg" is the one spelling of "f" */
		"Zm-",              /* non-zero trailing bits */
		"Zm9v.A", "Zm9v*A",
	};
	uint8_t out[16];
	size_t n;

	for (size_t i = 0; i < ARRAY_LEN(bad); i++)
		cr_expect_eq(codec_b64url_decode(bad[i], strlen(bad[i]), out, sizeof(out), &n), -1,
			     "'%s' accepted", bad[i]);
	/* A NUL inside the given length is a bad character, not an end. */
	cr_expect_eq(codec_b64url_decode("Zm\0v", 4, out, sizeof(out), &n), -1);
}

Test(codec, b64url_output_overflow)
{
	uint8_t out[8];
	size_t n = 0;

	cr_expect_eq(codec_b64url_decode("Zm9vYmFy", 8, out, 5, &n), -1);
	cr_expect_eq(codec_b64url_decode("Zm9vYmE", 7, out, 4, &n), -1);
	cr_expect_eq(codec_b64url_decode("Zg", 2, out, 0, &n), -1);
	cr_expect_eq(codec_b64url_decode("Zm9vYmFy", 8, out, 6, &n), 0);
	cr_expect_eq(n, 6);
	cr_expect_eq(codec_b64url_decode("", 0, out, 0, &n), 0);
	cr_expect_eq(n, 0);
	cr_expect_eq(codec_b64url_decode("Zm9v", 4, out, 3, NULL), 0);
}
