/*
 * cli.h — the `parley` command-line client's private contract.  The CLI is
 * built only on the public libparley API (include/parley.h), like curl's
 * tool on libcurl.
 *
 *   main.c      global options, config file, dispatch, exit status
 *   commands.c  THE command table: one row per subcommand, naming the API
 *               method, the arguments and how to print the result; help
 *   args.c      turns a row plus argv into the method's JSON parameters
 *   print.c     human-readable printers for results
 *   password.c  reading a password (no echo on a terminal)
 *   listen.c    `parley listen`: live updates as JSON lines
 */
#ifndef PL_CLI_CLI_H
#define PL_CLI_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "parley.h"

#define CLI_ARGS_MAX 8       /* argument rows per command */
#define CLI_ERR_MAX 512      /* bytes of a usage or local error message */
#define CLI_PASSWORD_MAX 1100 /* bytes of a password line: 256 characters of up to 4 bytes */

/* Exit statuses. */
enum cli_exit {
	CLI_EXIT_OK = 0,
	CLI_EXIT_ERROR = 1,  /* the call failed: API, network or local error */
	CLI_EXIT_USAGE = 2,  /* bad command line */
};

/* How one command-line argument becomes a JSON parameter. */
enum cli_type {
	CA_STR = 1,    /* a string */
	CA_TEXT,       /* the rest of the positionals joined by spaces (last positional) */
	CA_INT,        /* an integer */
	CA_INTS,       /* the rest of the positionals as an integer array (last positional) */
	CA_CHAT,       /* chat: an integer id, or @username (a bare name gets the @) */
	CA_USER,       /* user: an integer sets "user_id", a name sets "username" */
	CA_JOIN,       /* an integer or @name sets "chat_id", anything else "invite_link" */
	CA_JSON,       /* any JSON value */
	CA_OBJECT,     /* a JSON object (the whole parameter set of `call`) */
	CA_METHOD,     /* an API method name (`call`) */
	CA_SECONDS,    /* seconds from now, sent as a unix time */
	CA_TRUE,       /* option without value: sets true */
	CA_FALSE,      /* option without value: sets false */
	CA_PASSWORD,   /* not on the command line: read from the terminal or stdin */
	CA_FILE,       /* a local file to upload (CF_UPLOAD): param names its form field */
};

/* Command flags. */
enum cli_flag {
	CF_SAVE_TOKEN = 1 << 0,  /* result is an AuthResult: remember its token */
	CF_CLEAR_TOKEN = 1 << 1, /* forget the token afterwards */
	CF_DEVICE = 1 << 2,      /* send a default "device" label */
	CF_CONFIRM = 1 << 3,     /* ask for the password twice on a terminal */
	CF_HEALTH = 1 << 4,      /* not an API call: GET /healthz */
	CF_LISTEN = 1 << 5,      /* not one call: `parley listen` (listen.c) */
	CF_UPLOAD = 1 << 6,      /* the method's file is uploaded from the CA_FILE argument (parley_upload) */
	CF_DOWNLOAD = 1 << 7,    /* not one call: download file_id to "output" (parley_download) */
};

typedef void (*cli_print_cb)(FILE *out, json_t *result);

/* One argument row.  name is "WORD" for a positional (in order; "WORD..."
 * for CA_TEXT/CA_INTS) or "--option META" / "--flag" for an option ("-o
 * META": a one-letter option). */
struct cli_arg {
	const char *name;
	const char *param;    /* the JSON parameter it sets */
	int type;             /* enum cli_type */
	int required;
	const char *also;     /* JSON object merged into the params when given */
	const char *help;
};

struct cli_cmd {
	const char *name;     /* kebab-case subcommand */
	const char *method;   /* API method, or NULL for `call` and `health` */
	int flags;            /* enum cli_flag */
	cli_print_cb print;   /* human output of the result */
	const char *fixed;    /* JSON object always merged into the params, or NULL */
	const char *summary;
	struct cli_arg args[CLI_ARGS_MAX]; /* ends at the first NULL name */
};

extern const struct cli_cmd cli_cmds[];
extern const size_t cli_cmds_count;

/* Finds a command by name, by the kebab-case of its method
 * ("get-chat-member-count") or by the method name itself; NULL if none. */
const struct cli_cmd *cli_cmd_find(const char *name);

/* Help from the table: all commands, or one (-1 if unknown). */
void cli_help_all(FILE *out);
int cli_help_cmd(FILE *out, const char *name);

/* Builds the parameters of cmd from argv[0..argc).  On success returns 0,
 * *params a new object (caller releases), *method the method to call (for
 * `call`, borrowed from argv) and *password_param the parameter to fill with
 * a password, or NULL.  On a usage error returns -1 with errbuf set. */
int cli_args_parse(const struct cli_cmd *cmd, int argc, char **argv, json_t **params, const char **method,
		   const char **password_param, char *errbuf, size_t errlen);

/* Reads a password: from the terminal without echo when stdin is one
 * (twice if confirm), else one line of stdin.  Returns 0 or -1 with errbuf
 * set.  The caller wipes buf after use. */
int cli_password_read(int confirm, char *buf, size_t len, char *errbuf, size_t errlen);

/* Overwrites n bytes of p in a way the compiler keeps. */
void cli_wipe(void *p, size_t n);

/* What `parley listen` works with. */
struct cli_listen_opts {
	const char *server;       /* the effective server URL */
	const char *token;        /* the session token ("" if not logged in) */
	const char *config_path;  /* the state file defaults to config_path + CLI_LISTEN_STATE_SUFFIX */
	json_t *params;           /* the parsed options: "state", "since_now" */
	int timeout_ms;           /* --timeout, 0 if not given */
};

#define CLI_LISTEN_STATE_SUFFIX ".listen-state"

/* Runs `parley listen` until Ctrl-C (or SIGTERM): exit status 0, or 1 when
 * the server refuses the session or the state cannot be kept. */
int cli_listen(const struct cli_listen_opts *o);

/* Printers (print.c). */
void cli_print_ok(FILE *out, json_t *r);
void cli_print_value(FILE *out, json_t *r);
void cli_print_kv(FILE *out, json_t *r);
void cli_print_json(FILE *out, json_t *r);
void cli_print_auth(FILE *out, json_t *r);
void cli_print_user(FILE *out, json_t *r);
void cli_print_users(FILE *out, json_t *r);
void cli_print_sessions(FILE *out, json_t *r);
void cli_print_chat(FILE *out, json_t *r);
void cli_print_member(FILE *out, json_t *r);
void cli_print_members(FILE *out, json_t *r);
void cli_print_link(FILE *out, json_t *r);
void cli_print_links(FILE *out, json_t *r);
void cli_print_message(FILE *out, json_t *r);
void cli_print_messages(FILE *out, json_t *r);
void cli_print_search(FILE *out, json_t *r);
void cli_print_dialogs(FILE *out, json_t *r);

#endif
