/* Document ids: 96 random bits from GnuTLS rendered as 24 lowercase hex characters.
 *
 * The same shape as a MongoDB ObjectId in hex, but unpredictable: an id never reveals when or
 * where it was made, so it can appear in URLs without leaking counts. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>

#include "lib/codec.h"
#include "lib/ids.h"
#include "lib/log.h"

void id_new(char out[ID_HEX_LEN + 1])
{
	unsigned char raw[ID_BYTES];

	if (gnutls_rnd(GNUTLS_RND_NONCE, raw, sizeof(raw)) != 0) {
		log_error("random number generator failed");
		abort();
	}
	codec_hex_encode(raw, sizeof(raw), out);
}

bool id_valid(const char *s)
{
	if (s == NULL || strlen(s) != ID_HEX_LEN)
		return false;
	for (size_t i = 0; i < ID_HEX_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}
