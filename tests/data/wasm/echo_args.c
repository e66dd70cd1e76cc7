// A WASI command for the host tests: argv on stdout (one per line), a line on stderr, and
// the number of arguments as the exit code.
#include <stdio.h>

int main(int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		printf("arg %s\n", argv[i]);
	fprintf(stderr, "to stderr: héllo\n");
	return argc;
}
