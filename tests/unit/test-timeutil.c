/* Unit tests of lib/timeutil.c: fixed-width ISO-8601 UTC text and its strict parser.
 *
 * Known instants were computed independently (Python's calendar.timegm) and cover the epoch,
 * times before it, leap days of both rules (2000 is leap, 1900 and 2100 are not) and the
 * ends of the representable range. The rejection table is the parser's contract. */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "lib/timeutil.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
	int64_t ms;
	const char *iso;
} instants[] = {
	{0, "1970-01-01T00:00:00.000Z"},
	{1, "1970-01-01T00:00:00.001Z"},
	{999, "1970-01-01T00:00:00.999Z"},
	{1000, "1970-01-01T00:00:01.000Z"},
	{-1, "1969-12-31T23:59:59.999Z"},
	{-1000, "1969-12-31T23:59:59.000Z"},
	{-1001, "1969-12-31T23:59:58.999Z"},
	{-14182940000, "1969-07-20T20:17:40.000Z"},
	{946684799999, "1999-12-31T23:59:59.999Z"},
	{951782400000, "2000-02-29T00:00:00.000Z"},
	{1709251199999, "2024-02-29T23:59:59.999Z"},
	{1795407420123, "2026-11-23T04:17:00.123Z"},
	{4107542400000, "2100-03-01T00:00:00.000Z"},
	{253402300799999, "9999-12-31T23:59:59.999Z"},
	{-30610224000000, "1000-01-01T00:00:00.000Z"},
};

Test(timeutil, iso_of_known_instants)
{
	char out[TIME_ISO_LEN + 1];

	for (size_t i = 0; i < ARRAY_LEN(instants); i++) {
		memset(out, '#', sizeof(out));
		time_iso8601(instants[i].ms, out);
		cr_expect_str_eq(out, instants[i].iso, "%lld", (long long)instants[i].ms);
		cr_expect_eq(strlen(out), TIME_ISO_LEN);
	}
}

Test(timeutil, parse_known_instants)
{
	for (size_t i = 0; i < ARRAY_LEN(instants); i++) {
		int64_t ms = 42;

		cr_expect_eq(time_parse_iso8601(instants[i].iso, &ms), 0, "%s", instants[i].iso);
		cr_expect_eq(ms, instants[i].ms, "%s", instants[i].iso);
	}
}

Test(timeutil, out_of_range_years_clamp)
{
	static const struct {
		int64_t ms;
		const char *iso;
	} cases[] = {
		{253402300800000, "9999-12-31T23:59:59.999Z"}, /* year 10000 */
		{INT64_MAX, "9999-12-31T23:59:59.999Z"},
		{-30610224000001, "1000-01-01T00:00:00.000Z"}, /* year 999 */
		{INT64_MIN, "1000-01-01T00:00:00.000Z"},
	};
	char out[TIME_ISO_LEN + 1];

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		time_iso8601(cases[i].ms, out);
		cr_expect_str_eq(out, cases[i].iso, "%lld", (long long)cases[i].ms);
	}
}

Test(timeutil, parse_without_fraction)
{
	int64_t ms = 0;

	cr_assert_eq(time_parse_iso8601("2000-02-29T00:00:01Z", &ms), 0);
	cr_expect_eq(ms, 951782401000);
	cr_assert_eq(time_parse_iso8601("1970-01-01T00:00:00Z", &ms), 0);
	cr_expect_eq(ms, 0);
}

Test(timeutil, round_trip)
{
	char out[TIME_ISO_LEN + 1];

	srand(1234);
	for (int i = 0; i < 10000; i++) {
		/* Spread over 1000..9999: from about -3.06e13 to 2.53e14 ms. */
		int64_t ms = -30610224000000 +
			     (int64_t)(((uint64_t)rand() << 31 | (uint64_t)rand()) %
				       284012524800000ULL);
		int64_t back = 0;

		time_iso8601(ms, out);
		cr_assert_eq(time_parse_iso8601(out, &back), 0, "%s", out);
		cr_assert_eq(back, ms, "%s", out);
	}
}

Test(timeutil, rejections)
{
	static const char *const bad[] = {
		"",
		"2024-02-29T12:34:56",           /* missing Z */
		"2024-02-29T12:34:56.789",       /* missing Z */
		"2024-02-29T12:34:56+00:00",     /* offsets */
		"2024-02-29T12:34:56.789+01:00", /* offsets */
		"2024-02-29T12:34:56-05:00",
		"2024-02-29T12:34:56z",
		"2024-02-29t12:34:56Z",
		"2024-02-29 12:34:56Z",
		"2024-13-01T00:00:00Z", /* bad months */
		"2024-00-10T00:00:00Z",
		"2024-04-31T00:00:00Z", /* bad days */
		"2024-01-00T00:00:00Z",
		"2024-01-32T00:00:00Z",
		"2023-02-29T00:00:00Z", /* not leap years */
		"1900-02-29T00:00:00Z",
		"2100-02-29T00:00:00Z",
		"2024-01-01T24:00:00Z",
		"2024-01-01T00:60:00Z",
		"2024-01-01T00:00:60Z",         /* leap seconds are not representable */
		"2024-01-01T00:00:00.000Zjunk", /* trailing garbage */
		"2024-01-01T00:00:00Z ",
		"2024-01-01T00:00:00ZZ",
		" 2024-01-01T00:00:00Z",
		"2024-01-01T00:00:00.00Z", /* fraction of other widths */
		"2024-01-01T00:00:00.0000Z",
		"2024-01-01T00:00:00.Z",
		"2024-01-01T00:00:00,000Z",
		"2024-01-01T00:00:00.-12Z",
		"2024-1-01T00:00:00Z",
		"24-01-01T00:00:00Z",
		"+2024-01-01T00:00:00Z",
		"2024/01/01T00:00:00Z",
		"2024-01-01T00:00Z",
		"2024-0a-01T00:00:00Z",
		"now",
	};
	int64_t ms;

	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		ms = 42;
		cr_expect_eq(time_parse_iso8601(bad[i], &ms), -1, "'%s' accepted", bad[i]);
	}
	cr_expect_eq(time_parse_iso8601(NULL, &ms), -1);
}

Test(timeutil, accepts_leap_days_of_leap_years)
{
	static const char *const good[] = {"2000-02-29T00:00:00Z", "2024-02-29T00:00:00Z",
					   "1600-02-29T00:00:00Z", "2400-02-29T23:59:59.999Z"};
	int64_t ms;

	for (size_t i = 0; i < ARRAY_LEN(good); i++)
		cr_expect_eq(time_parse_iso8601(good[i], &ms), 0, "'%s' refused", good[i]);
}

Test(timeutil, clocks)
{
	char now[TIME_ISO_LEN + 1];
	int64_t a = time_mono_ms(), b, wall = time_now_ms(), parsed = 0;

	/* 2020-01-01: any correct wall clock is later. */
	cr_expect_gt(wall, 1577836800000);
	time_now_iso8601(now);
	cr_assert_eq(time_parse_iso8601(now, &parsed), 0, "%s", now);
	cr_expect(llabs(parsed - wall) < 5000, "%s", now);
	b = time_mono_ms();
	cr_expect_geq(b, a);
}
