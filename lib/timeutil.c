/* Time: wall-clock and monotonic milliseconds, and fixed-width ISO-8601 UTC text.
 *
 * Stored dates are always "YYYY-MM-DDTHH:MM:SS.mmmZ": fixed width, so string order equals
 * time order in every backend and index. */
#include <config.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/timeutil.h"

static int64_t clock_ms(clockid_t id)
{
	struct timespec ts;

	/* Cannot fail for these clock ids on Linux. */
	(void)clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t time_now_ms(void)
{
	return clock_ms(CLOCK_REALTIME);
}

int64_t time_mono_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

void time_iso8601(int64_t ms, char out[TIME_ISO_LEN + 1])
{
	int64_t msec = ms % 1000;
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;

	if (msec < 0) {
		msec += 1000;
		secs -= 1;
	}
	gmtime_r(&secs, &tm);
	/* Years outside 1000..9999 cannot be written in the fixed-width form: clamp. */
	if (tm.tm_year < 1000 - 1900 || tm.tm_year > 9999 - 1900) {
		memcpy(out,
		       tm.tm_year < 0 ? "1000-01-01T00:00:00.000Z" : "9999-12-31T23:59:59.999Z",
		       TIME_ISO_LEN + 1);
		return;
	}
	strftime(out, TIME_ISO_LEN + 1, "%Y-%m-%dT%H:%M:%S", &tm);
	out[19] = '.';
	out[20] = (char)('0' + msec / 100);
	out[21] = (char)('0' + msec / 10 % 10);
	out[22] = (char)('0' + msec % 10);
	out[23] = 'Z';
	out[24] = '\0';
}

void time_now_iso8601(char out[TIME_ISO_LEN + 1])
{
	time_iso8601(time_now_ms(), out);
}

static int digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

static int days_in_month(int y, int m)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 ? 28 + leap : days[m - 1];
}

int time_parse_iso8601(const char *s, int64_t *ms)
{
	int y, mo, d, h, mi, sec, frac = 0;
	size_t len = s ? strlen(s) : 0;
	struct tm tm;

	if (len != 20 && len != 24)
		return -1;
	if (digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
	    digits(s + 8, 2, &d) || s[10] != 'T' || digits(s + 11, 2, &h) || s[13] != ':' ||
	    digits(s + 14, 2, &mi) || s[16] != ':' || digits(s + 17, 2, &sec))
		return -1;
	if (len == 24 && (s[19] != '.' || digits(s + 20, 3, &frac)))
		return -1;
	if (s[len - 1] != 'Z')
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*ms = (int64_t)timegm(&tm) * 1000 + frac;
	return 0;
}
