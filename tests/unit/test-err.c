/* Unit tests of lib/err.c: bounded messages, NULL tolerance and stable code names.
 *
 * Code names end up in JSON error replies and logs, so the table below pins every one of
 * them: renaming a code is an API change and must fail here first. */
#include <config.h>

#include <string.h>

#include <criterion/criterion.h>

#include "lib/err.h"

static const struct {
	enum err_code code;
	const char *name;
} code_names[] = {
	{ERR_OK, "ok"},
	{ERR_INVALID, "invalid"},
	{ERR_NOT_FOUND, "not_found"},
	{ERR_DUPLICATE, "duplicate"},
	{ERR_TOO_LARGE, "too_large"},
	{ERR_TOO_DEEP, "too_deep"},
	{ERR_UNSUPPORTED, "unsupported"},
	{ERR_CONFLICT, "conflict"},
	{ERR_UNAVAILABLE, "unavailable"},
	{ERR_TIMEOUT, "timeout"},
	{ERR_IO, "io"},
	{ERR_CRYPTO, "crypto"},
	{ERR_INTERNAL, "internal"},
};

Test(err, set_formats_and_returns_minus_one)
{
	struct err e = {0};

	cr_assert_eq(err_set(&e, ERR_NOT_FOUND, "no %s %d", "app", 42), -1);
	cr_assert_eq(e.code, ERR_NOT_FOUND);
	cr_assert_str_eq(e.msg, "no app 42");
}

Test(err, set_accepts_null)
{
	cr_assert_eq(err_set(NULL, ERR_IO, "ignored %d", 1), -1);
}

Test(err, set_truncates_to_bound)
{
	char big[ERR_MSG_MAX * 3];
	struct err e = {0};

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	err_set(&e, ERR_TOO_LARGE, "%s", big);
	cr_assert_eq(strlen(e.msg), ERR_MSG_MAX - 1);
	cr_assert_eq(e.code, ERR_TOO_LARGE);
}

Test(err, later_set_overwrites)
{
	struct err e = {0};

	err_set(&e, ERR_IO, "first");
	err_set(&e, ERR_TIMEOUT, "second");
	cr_assert_eq(e.code, ERR_TIMEOUT);
	cr_assert_str_eq(e.msg, "second");
}

Test(err, clear_resets_and_accepts_null)
{
	struct err e = {0};

	err_set(&e, ERR_CRYPTO, "bad tag");
	err_clear(&e);
	cr_assert_eq(e.code, ERR_OK);
	cr_assert_str_eq(e.msg, "");
	err_clear(NULL);
}

Test(err, code_names_are_stable)
{
	for (size_t i = 0; i < sizeof(code_names) / sizeof(code_names[0]); i++)
		cr_expect_str_eq(err_code_name(code_names[i].code), code_names[i].name, "code %d",
				 (int)code_names[i].code);
}

Test(err, code_names_are_unique)
{
	size_t n = sizeof(code_names) / sizeof(code_names[0]);

	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			cr_expect_str_neq(err_code_name(code_names[i].code),
					  err_code_name(code_names[j].code));
}

Test(err, unknown_code_is_internal)
{
	cr_assert_str_eq(err_code_name((enum err_code)(ERR_INTERNAL + 1)), "internal");
	cr_assert_str_eq(err_code_name((enum err_code) - 1), "internal");
	cr_assert_str_eq(err_code_name((enum err_code)1000), "internal");
}
