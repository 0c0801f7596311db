/* Unit tests of lib/ids.c: shape and uniqueness of new ids, and the validity table.
 *
 * Uniqueness is checked over 10,000 ids by sorting them; with 96 random bits a collision
 * there means a broken generator, not bad luck. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "lib/ids.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define NIDS 10000

static int cmp_ids(const void *a, const void *b)
{
	return strcmp(a, b);
}

Test(ids, new_id_format)
{
	char id[ID_HEX_LEN + 1];

	for (int i = 0; i < 100; i++) {
		memset(id, '#', sizeof(id));
		id_new(id);
		cr_assert_eq(strlen(id), ID_HEX_LEN, "%s", id);
		cr_assert_eq(strspn(id, "0123456789abcdef"), ID_HEX_LEN, "%s", id);
		cr_assert(id_valid(id), "%s", id);
	}
}

Test(ids, ten_thousand_are_unique)
{
	static char ids[NIDS][ID_HEX_LEN + 1];

	for (size_t i = 0; i < NIDS; i++)
		id_new(ids[i]);
	qsort(ids, NIDS, sizeof(ids[0]), cmp_ids);
	for (size_t i = 1; i < NIDS; i++)
		cr_assert_str_neq(ids[i - 1], ids[i], "duplicate id");
}

Test(ids, every_hex_digit_appears)
{
	bool seen[16] = {false};
	char id[ID_HEX_LEN + 1];

	/* 200 ids are 4,800 digits: a digit missing from all of them means a biased encoder. */
	for (int i = 0; i < 200; i++) {
		id_new(id);
		for (size_t j = 0; j < ID_HEX_LEN; j++)
			seen[id[j] <= '9' ? id[j] - '0' : id[j] - 'a' + 10] = true;
	}
	for (int d = 0; d < 16; d++)
		cr_expect(seen[d], "digit %x never appears", d);
}

Test(ids, valid_table)
{
	static const struct {
		const char *s;
		bool want;
	} cases[] = {
		{"0123456789abcdef01234567", true},    {"000000000000000000000000", true},
		{"ffffffffffffffffffffffff", true},    {"", false},
		{"0123456789abcdef0123456", false},   /* 23 */
		{"0123456789abcdef012345678", false}, /* 25 */
		{"0123456789ABCDEF01234567", false},  /* uppercase */
		{"0123456789abcdef0123456g", false},   {"0123456789abcdef0123456 ", false},
		{" 0123456789abcdef0123456", false},   {"0123456789abcdef0123456\n", false},
		{"0123456789abcdef-1234567", false},   {"../../../../../etc/passwd", false},
		{"0123456789abcdef01234567\n", false},
	};

	for (size_t i = 0; i < ARRAY_LEN(cases); i++)
		cr_expect_eq(id_valid(cases[i].s), cases[i].want, "'%s'", cases[i].s);
	cr_expect_not(id_valid(NULL));
}
