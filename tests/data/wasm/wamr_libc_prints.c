// Prints with the C library, built twice by tests/test_wasm_wamr_libc.py: natively with gcc
// against glibc (main), and for wasm32 against WAMR's libc-builtin names, declared here and
// nothing more, so that each stays an import from env that lmp provides (bpf_main). Both builds
// must print the same bytes, so nothing here depends on the width of long or of a pointer, nor on
// where malloc puts a block.
#ifdef __wasm__
typedef __SIZE_TYPE__ size_t;
#define NULL ((void *)0)
int printf(const char *fmt, ...);
int snprintf(char *str, size_t size, const char *fmt, ...);
int sprintf(char *str, const char *fmt, ...);
int putchar(int c);
int puts(const char *s);
void *malloc(size_t size);
void *calloc(size_t count, size_t size);
void *realloc(void *ptr, size_t size);
void free(void *ptr);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strcpy(char *dst, const char *src);
char *strncpy(char *dst, const char *src, size_t n);
char *strchr(const char *s, int c);
char *strdup(const char *s);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *s, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
long strtol(const char *nptr, char **endptr, int base);
unsigned long strtoul(const char *nptr, char **endptr, int base);
int atoi(const char *s);
#else
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#endif

static int sign(int v)
{
	return (v > 0) - (v < 0);
}

static void formats(void)
{
	char buf[64];
	int n;

	printf("[%d|%i|%u|%5d|%-5d|%05d|%+d|% d|%.3d|%8.3d|%-+6d]\n", -42, 7, 3000000000u, 42, 42,
	       -42, 42, 42, 7, -7, 9);
	printf("[%ld|%lu|%lld|%llu|%lld|%llx]\n", -123456L, 654321UL, -9000000000LL,
	       18446744073709551615ULL, -9223372036854775807LL - 1, 0x123456789abcdefULL);
	printf("[%hd|%hhd|%hu|%hhu|%hx|%zu|%zd|%td]\n", (short)-2, (signed char)-3, 70000, 300, 70000,
	       (size_t)12345, (size_t)7, (long)-5);
	printf("[%x|%X|%#x|%#X|%o|%#o|%08x|%#010x|%.0x|%#.0o]\n", 255, 255, 255, 0, 8, 8, 0xbeef,
	       0xbeef, 0, 0);
	printf("[%c|%3c|%-3c|%%|%5%]\n", 'A', 'b', 'c');
	printf("[%s|%10s|%-10s|%.3s|%10.2s|%*s|%-*s|%.*s]\n", "hello", "right", "left", "truncate",
	       "ab", 6, "star", 6, "star", 2, "precise");
	/* Not NULL: glibc (and WAMR now, which hands %p to the host's snprintf) prints "(nil)", but
	 * older WAMR, with a formatter of its own, printed "0x00000000". */
	printf("[%p|%20p|%-12p|]\n", (void *)0x1234, (void *)0xdeadbeef, (void *)0x10);
	printf("[%f|%.2f|%10.3f|%-10.1f|%+f|%e|%E|%.3e|%g|%G|%g|%g|%#g|%F]\n", 3.14159265, 2.675,
	       -1.5, 0.25, 1.0, 123456.789, 0.000123, 1e100, 0.0001, 1e-10, 100000.0, 1e6, 1.0, 2.5);
	printf("[%08.3f|%-8.2e|% .1f|%.0f|%.0f|%#.0f|%f]\n", -3.14159, 31415.9, 2.0, 0.5, 1.5, 3.0,
	       -0.0);
	printf("[%*d|%-*d|%.*d|%*.*f]\n", 6, 1, 6, 2, 4, 3, 9, 2, 2.5);

	n = snprintf(buf, sizeof(buf), "%s=%d (%x)", "answer", 42, 42);
	printf("snprintf %d [%s]\n", n, buf);
	n = snprintf(buf, 6, "%s", "truncated output");
	printf("snprintf %d [%s]\n", n, buf);
	n = snprintf(NULL, 0, "%d-%d", 1234, 5678);
	printf("snprintf NULL %d\n", n);
	n = sprintf(buf, "%03d/%s", 5, "sprintf");
	printf("sprintf %d [%s]\n", n, buf);
}

static void strings(void)
{
	char buf[32];
	char *end;
	char *dup;

	printf("strlen %d %d\n", (int)strlen(""), (int)strlen("sixteen chars!!!"));
	printf("strncmp %d %d %d %d\n", sign(strncmp("apple", "apricot", 2)),
	       sign(strncmp("apple", "apricot", 3)), sign(strncmp("b", "a", 5)),
	       sign(strncmp("same", "same", 100)));
	printf("strcmp %d %d\n", sign(strcmp("abc", "abd")), sign(strcmp("abc", "ab")));
	strcpy(buf, "copied");
	printf("strcpy [%s]\n", buf);
	memset(buf, 'x', sizeof(buf));
	strncpy(buf, "ab", 4);
	printf("strncpy [%s] %d %d\n", buf, buf[3], buf[4]);
	memcpy(buf, "0123456789", 11);
	memmove(buf + 2, buf, 5);
	printf("memmove [%s]\n", buf);
	printf("memcmp %d %d\n", sign(memcmp("abc", "abd", 3)), sign(memcmp("abc", "abd", 2)));
	printf("strchr [%s] %d\n", strchr("find the t", 't'), strchr("none", 'z') == NULL);
	dup = strdup("duplicate");
	printf("strdup [%s]\n", dup);
	free(dup);

	/* one call each: the order a call's arguments are evaluated in is the compiler's */
	printf("strtol %ld", strtol("  -1234xyz", &end, 10));
	printf(" rest [%s]", end);
	printf(" %ld", strtol("0x1F", &end, 0));
	printf(" %ld", strtol("0755", &end, 0));
	printf(" %ld", strtol("zz", &end, 36));
	printf(" %ld", strtol("1010", &end, 2));
	printf(" %ld", strtol("nothing", &end, 10));
	printf(" [%s]", end);
	printf(" %ld", strtol("0xg", &end, 16));
	printf(" [%s]\n", end);
	printf("strtoul %lu atoi %d %d\n", strtoul("4000000000", NULL, 10), atoi(" 42abc"),
	       atoi("-17"));
}

static void heap(void)
{
	char *a = malloc(10);
	char *b;
	int *numbers;
	int i;
	int zeros = 1;

	strcpy(a, "heap!");
	a = realloc(a, 4000);
	printf("realloc kept [%s], aligned %d\n", a, ((unsigned long)a & 7) == 0);
	b = calloc(100, 4);
	for (i = 0; i < 100; i++)
		zeros &= ((int *)b)[i] == 0;
	printf("calloc zeroed %d\n", zeros);
	numbers = malloc(sizeof(int));
	for (i = 1; i <= 64; i++) {
		numbers = realloc(numbers, (size_t)i * sizeof(int));
		numbers[i - 1] = i * i;
	}
	printf("realloc grew: %d %d %d\n", numbers[0], numbers[31], numbers[63]);
	free(numbers);
	free(b);
	free(a);
	free(NULL);
	a = realloc(NULL, 16);
	printf("realloc(NULL) %d\n", a != NULL);
	free(a);
}

static int run_prints(void)
{
	int i;

	formats();
	strings();
	heap();
	for (i = 0; i < 3; i++)
		putchar('0' + i);
	putchar('\n');
	puts("the end");
	return 0;
}

#ifdef __wasm__
__attribute__((export_name("bpf_main"))) int bpf_main(char *env_json, int len)
{
	(void)env_json;
	(void)len;
	return run_prints();
}

__attribute__((export_name("process_event"))) int process_event(int ctx, char *e, int len)
{
	(void)ctx;
	(void)e;
	(void)len;
	return 0;
}
#else
int main(void)
{
	return run_prints();
}
#endif
