/* Document ids: 96 random bits from GnuTLS, as 24 lowercase hex characters. */
#ifndef SECOND_IDS_H
#define SECOND_IDS_H

#include <stdbool.h>

#include "lib/limits.h"

void id_new(char out[ID_HEX_LEN + 1]); /* aborts if the RNG fails */
bool id_valid(const char *s);          /* exactly 24 lowercase hex characters */

#endif
