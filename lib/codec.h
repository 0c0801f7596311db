/* Byte encodings: lowercase hex and unpadded base64url. */
#ifndef SECOND_CODEC_H
#define SECOND_CODEC_H

#include <stddef.h>
#include <stdint.h>

/* The value of one hex digit (either case), or -1. */
int codec_hex_digit(char c);

/* out needs 2*len+1 bytes. */
void codec_hex_encode(const void *in, size_t len, char *out);
/* Decodes 2*outlen hex characters (either case); -1 on a bad character or length. */
int codec_hex_decode(const char *in, size_t inlen, uint8_t *out, size_t outlen);

/* Length of the base64url text for len bytes, without NUL. */
size_t codec_b64url_len(size_t len);
/* out needs codec_b64url_len(len)+1 bytes. */
void codec_b64url_encode(const void *in, size_t len, char *out);
/* Decodes into out (capacity outsz); *outlen gets the length. -1 on bad input or overflow. */
int codec_b64url_decode(const char *in, size_t inlen, uint8_t *out, size_t outsz, size_t *outlen);

#endif
