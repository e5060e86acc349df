/*
 * password.c — reads a password for `parley register` and `parley login`:
 * from the terminal with echo off when stdin is one (asking twice when
 * creating an account), otherwise one line of stdin, so scripts can pipe it
 * in.  Passwords never come from the command line, where `ps` shows them.
 */
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"

void cli_wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;

	while (n--)
		*v++ = 0;
}

/* Reads one line into buf without its line end.  Returns 0, or -1 at end
 * of input or for a line that does not fit. */
static int password_line(char *buf, size_t len, char *errbuf, size_t errlen)
{
	size_t n;

	if (!fgets(buf, (int)len, stdin)) {
		snprintf(errbuf, errlen, "no password on standard input");
		return -1;
	}
	n = strlen(buf);
	if (n == len - 1 && buf[n - 1] != '\n' && !feof(stdin)) {
		snprintf(errbuf, errlen, "the password line is too long");
		return -1;
	}
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return 0;
}

/* Prompts on stderr and reads a line with echo off. */
static int password_tty(const char *prompt, char *buf, size_t len, char *errbuf, size_t errlen)
{
	struct termios old, quiet;
	int rc;

	if (tcgetattr(STDIN_FILENO, &old) < 0)
		return password_line(buf, len, errbuf, errlen);
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	quiet.c_lflag |= ECHONL;
	fputs(prompt, stderr);
	fflush(stderr);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	rc = password_line(buf, len, errbuf, errlen);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	return rc;
}

int cli_password_read(int confirm, char *buf, size_t len, char *errbuf, size_t errlen)
{
	char again[CLI_PASSWORD_MAX];
	int rc;

	if (!isatty(STDIN_FILENO))
		return password_line(buf, len, errbuf, errlen);
	if ((rc = password_tty("Password: ", buf, len, errbuf, errlen)) < 0 || !confirm)
		return rc;
	rc = password_tty("Repeat password: ", again, sizeof(again), errbuf, errlen);
	if (rc == 0 && strcmp(buf, again) != 0) {
		snprintf(errbuf, errlen, "the passwords do not match");
		rc = -1;
	}
	cli_wipe(again, sizeof(again));
	return rc;
}
