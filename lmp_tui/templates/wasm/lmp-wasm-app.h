/* SPDX-License-Identifier: MIT */
/*
 * lmp-wasm-app.h: small helpers for generated wasm apps: JSON output in the
 * form `lmp run -j` / `ecli -j` use (char arrays as strings, 128-bit integers
 * as decimal strings, enums as "NAME(value)"), and option parsing.
 *
 * Shipped with lmp-tui and copied into a project by `lmp gen-wasm-skel`.
 */
#ifndef __LMP_WASM_APP_H
#define __LMP_WASM_APP_H

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- JSON ---------------------------------------------------------------- */

/* A char array as a JSON string: up to the first NUL or max bytes. */
static inline void lmp_json_string(const char *s, size_t max)
{
	putchar('"');
	for (size_t i = 0; i < max && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		switch (c) {
		case '"':
			fputs("\\\"", stdout);
			break;
		case '\\':
			fputs("\\\\", stdout);
			break;
		case '\n':
			fputs("\\n", stdout);
			break;
		case '\r':
			fputs("\\r", stdout);
			break;
		case '\t':
			fputs("\\t", stdout);
			break;
		default:
			if (c < 0x20)
				printf("\\u%04x", c);
			else
				putchar(c);
		}
	}
	putchar('"');
}

static inline void lmp_json_key(const char *name, bool first)
{
	if (!first)
		putchar(',');
	putchar('"');
	fputs(name, stdout);
	fputs("\":", stdout);
}

/* Numbers that JSON cannot hold (NaN, infinities) become null. */
static inline void lmp_json_double(double v)
{
	if (isnan(v) || isinf(v))
		fputs("null", stdout);
	else
		printf("%.17g", v);
}

static inline void lmp_json_u128(unsigned __int128 v)
{
	char digits[40];
	int n = 0;

	do {
		digits[n++] = (char)('0' + (int)(v % 10));
		v /= 10;
	} while (v);
	putchar('"');
	while (n)
		putchar(digits[--n]);
	putchar('"');
}

static inline void lmp_json_i128(__int128 v)
{
	if (v >= 0) {
		lmp_json_u128((unsigned __int128)v);
		return;
	}
	/* print the magnitude behind a minus sign, inside the quotes */
	unsigned __int128 m = (unsigned __int128)0 - (unsigned __int128)v;
	char digits[40];
	int n = 0;

	do {
		digits[n++] = (char)('0' + (int)(m % 10));
		m /= 10;
	} while (m);
	fputs("\"-", stdout);
	while (n)
		putchar(digits[--n]);
	putchar('"');
}

/* ---- options --------------------------------------------------------------- */

/* Matches `-s VALUE`, `--long VALUE` and `--long=VALUE` at argv[*i]; on a match
 * *value is the argument (NULL if missing) and *i moves past it. */
static inline bool lmp_option(int argc, char **argv, int *i, const char *short_name,
			      const char *long_name, const char **value)
{
	const char *arg = argv[*i];
	size_t n;

	if (short_name && arg[0] == '-' && arg[1] == short_name[0] && !arg[2]) {
		*value = *i + 1 < argc ? argv[++*i] : NULL;
		return true;
	}
	if (arg[0] != '-' || arg[1] != '-')
		return false;
	n = strlen(long_name);
	if (strncmp(arg + 2, long_name, n))
		return false;
	if (arg[2 + n] == '=') {
		*value = arg + 3 + n;
		return true;
	}
	if (arg[2 + n])
		return false;
	*value = *i + 1 < argc ? argv[++*i] : NULL;
	return true;
}

static inline bool lmp_flag(const char *arg, const char *long_name)
{
	return arg[0] == '-' && arg[1] == '-' && !strcmp(arg + 2, long_name);
}

static inline int lmp_parse_int(const char *s, long long min, long long max, long long *out)
{
	char *end;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	*out = strtoll(s, &end, 0);
	if (errno || *end || *out < min || *out > max)
		return -EINVAL;
	return 0;
}

static inline int lmp_parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	*out = strtoull(s, &end, 0);
	if (errno || *end || *out > max)
		return -EINVAL;
	return 0;
}

static inline int lmp_parse_double(const char *s, double *out)
{
	char *end;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	*out = strtod(s, &end);
	return errno || *end ? -EINVAL : 0;
}

/* Copies a string option into a char array, NUL-terminated; refuses what does not fit. */
static inline int lmp_parse_string(const char *s, char *dst, size_t size)
{
	size_t n;

	if (!s)
		return -EINVAL;
	n = strlen(s);
	if (n + 1 > size)
		return -E2BIG;
	memset(dst, 0, size);
	memcpy(dst, s, n);
	return 0;
}

#endif /* __LMP_WASM_APP_H */
