/* Time: milliseconds since the epoch and fixed-width ISO-8601 UTC strings. */
#ifndef SECOND_TIMEUTIL_H
#define SECOND_TIMEUTIL_H

#include <stdint.h>

#define TIME_ISO_LEN 24 /* "2026-11-23T04:17:00.123Z" */

int64_t time_now_ms(void);  /* wall clock */
int64_t time_mono_ms(void); /* monotonic, for timeouts */
void time_iso8601(int64_t ms, char out[TIME_ISO_LEN + 1]);
void time_now_iso8601(char out[TIME_ISO_LEN + 1]);
/* Parses "YYYY-MM-DDTHH:MM:SS[.fff]Z" (UTC only); -1 on anything else. */
int time_parse_iso8601(const char *s, int64_t *ms);

#endif
