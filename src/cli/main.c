/*
 * main.c — `parley`, the command-line client.  Reads the global options and
 * the config file, finds the command in the table (commands.c), builds its
 * parameters (args.c), calls the server through libparley and prints the
 * result (print.c, or raw JSON with --json).
 *
 * The server URL and session token live in the config file (see
 * parley_config_path()).  A --server that differs from the remembered one
 * replaces it and drops the stored token, so a session token is never sent
 * to a server it was not issued by.
 *
 * Exit status: 0 success, 1 the call failed ("error: CODE: words" on
 * stderr), 2 usage error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

#define CLI_PATH_MAX 4096        /* bytes of the config file path */
#define CLI_HOSTNAME_MAX 64      /* bytes of the host name in the device label */
#define CLI_TIMEOUT_MAX_S 86400  /* --timeout limit, seconds */

/* Global options, accepted anywhere before "--". */
struct cli_opts {
	const char *server;   /* --server, or NULL */
	const char *config;   /* --config, or NULL */
	int json;             /* --json */
	int help;             /* --help / -h */
	int version;          /* --version */
	int timeout_ms;       /* --timeout, 0 if not given */
	char **words;         /* everything else, in order (the command first) */
	int nwords;
};

/* Everything one run works with. */
struct cli_run {
	struct cli_opts opts;
	char config_path[CLI_PATH_MAX];
	struct parley_config cfg;
	const char *server;           /* the effective server URL */
	const struct cli_cmd *cmd;
	json_t *params;               /* owned */
	const char *method;
	const char *password_param;
	struct parley_client *client; /* owned */
	json_t *result;               /* owned */
	struct parley_error err;
};

static int cli_usage(const char *cmd, const char *msg)
{
	fprintf(stderr, "parley: %s\n", msg);
	if (cmd)
		fprintf(stderr, "Try 'parley help %s'.\n", cmd);
	else
		fprintf(stderr, "Try 'parley --help'.\n");
	return CLI_EXIT_USAGE;
}

/* Prints "error: CODE: words" and returns CLI_EXIT_ERROR. */
static int cli_fail(const char *code, const char *words)
{
	if (words && *words)
		fprintf(stderr, "error: %s: %s\n", code, words);
	else
		fprintf(stderr, "error: %s\n", code);
	return CLI_EXIT_ERROR;
}

/* Takes the value of option argv[*i] ("--opt value" or "--opt=value"). */
static const char *cli_opt_value(int argc, char **argv, int *i, size_t namelen)
{
	if (argv[*i][namelen] == '=')
		return argv[*i] + namelen + 1;
	if (argv[*i][namelen] == '\0' && *i + 1 < argc)
		return argv[++*i];
	return NULL;
}

/* Is argv[i] the option name, alone or as "name=..."? */
static int cli_opt_is(const char *arg, const char *name)
{
	size_t n = strlen(name);

	return strncmp(arg, name, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

static int cli_opts_parse(int argc, char **argv, struct cli_opts *o, char *errbuf, size_t errlen)
{
	int only_words = 0;
	const char *v;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (only_words || a[0] != '-') {
			o->words[o->nwords++] = argv[i];
		} else if (strcmp(a, "--") == 0) {
			only_words = 1;
			o->words[o->nwords++] = argv[i]; /* the command's parser sees it too */
		} else if (strcmp(a, "--json") == 0) {
			o->json = 1;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			o->help = 1;
		} else if (strcmp(a, "--version") == 0) {
			o->version = 1;
		} else if (cli_opt_is(a, "--server")) {
			if (!(o->server = cli_opt_value(argc, argv, &i, 8)))
				return snprintf(errbuf, errlen, "--server needs a URL"), -1;
		} else if (cli_opt_is(a, "--config")) {
			if (!(o->config = cli_opt_value(argc, argv, &i, 8)) || !*o->config)
				return snprintf(errbuf, errlen, "--config needs a file"), -1;
		} else if (cli_opt_is(a, "--timeout")) {
			char *end;
			long s;

			v = cli_opt_value(argc, argv, &i, 9);
			s = v ? strtol(v, &end, 10) : 0;
			if (!v || *end || s <= 0 || s > CLI_TIMEOUT_MAX_S)
				return snprintf(errbuf, errlen, "--timeout needs seconds, 1-%d", CLI_TIMEOUT_MAX_S), -1;
			o->timeout_ms = (int)s * 1000;
		} else {
			o->words[o->nwords++] = argv[i]; /* a command option or a negative id */
		}
	}
	return 0;
}

/* Loads the config and settles the server; remembers a new --server. */
static int cli_config_open(struct cli_run *r)
{
	char errbuf[CLI_ERR_MAX];
	struct parley_url url;

	if (r->opts.config)
		snprintf(r->config_path, sizeof(r->config_path), "%s", r->opts.config);
	else if (parley_config_path(r->config_path, sizeof(r->config_path)) < 0)
		return cli_fail("CONFIG_ERROR", "cannot find a config path: set PARLEY_CONFIG or HOME");
	if (parley_config_load(r->config_path, &r->cfg, errbuf, sizeof(errbuf)) < 0)
		return cli_fail("CONFIG_ERROR", errbuf);
	r->server = r->cfg.server[0] ? r->cfg.server : PARLEY_DEFAULT_SERVER;
	if (!r->opts.server || strcmp(r->opts.server, r->server) == 0)
		return 0;
	if (parley_url_parse(r->opts.server, &url, errbuf, sizeof(errbuf)) < 0)
		return cli_usage(NULL, errbuf);
	if (strlen(r->opts.server) >= sizeof(r->cfg.server))
		return cli_usage(NULL, "the server URL is too long");
	snprintf(r->cfg.server, sizeof(r->cfg.server), "%s", r->opts.server);
	cli_wipe(r->cfg.token, sizeof(r->cfg.token)); /* issued by another server */
	r->server = r->cfg.server;
	if (parley_config_save(r->config_path, &r->cfg, errbuf, sizeof(errbuf)) < 0)
		return cli_fail("CONFIG_ERROR", errbuf);
	return 0;
}

static int cli_client_open(struct cli_run *r)
{
	char errbuf[CLI_ERR_MAX];

	r->client = parley_client_new(r->server, errbuf, sizeof(errbuf));
	if (!r->client)
		return cli_fail("CONFIG_ERROR", errbuf);
	if (r->cfg.token[0] && parley_client_set_token(r->client, r->cfg.token) < 0)
		return cli_fail("CONFIG_ERROR", "the stored token is malformed; log in again");
	if (r->opts.timeout_ms)
		parley_client_set_timeout_ms(r->client, r->opts.timeout_ms);
	return 0;
}

/* Fills in what the command line does not carry: the password and the
 * default device label. */
static int cli_params_complete(struct cli_run *r)
{
	char pw[CLI_PASSWORD_MAX], errbuf[CLI_ERR_MAX], host[CLI_HOSTNAME_MAX], device[PARLEY_DEVICE_MAX + 1];
	json_t *s;

	if ((r->cmd->flags & CF_DEVICE) && !json_object_get(r->params, "device")) {
		if (gethostname(host, sizeof(host)) < 0)
			snprintf(host, sizeof(host), "unknown host");
		host[sizeof(host) - 1] = '\0';
		snprintf(device, sizeof(device), "parley CLI on %.40s", host);
		json_object_set_new(r->params, "device", json_string(device));
	}
	if (!r->password_param)
		return 0;
	if (cli_password_read(r->cmd->flags & CF_CONFIRM, pw, sizeof(pw), errbuf, sizeof(errbuf)) < 0)
		return cli_fail("PASSWORD_MISSING", errbuf);
	s = json_string(pw);
	cli_wipe(pw, sizeof(pw));
	if (!s)
		return cli_fail("PASSWORD_INVALID", "the password is not valid UTF-8");
	json_object_set_new(r->params, r->password_param, s);
	return 0;
}

/* Progress of a transfer on a terminal: "\r 42%" now and then. */
static int cli_progress(void *ctx, uint64_t done, uint64_t total)
{
	int *last = ctx;
	int pct = total ? (int)(done * 100 / total) : -1;

	if (pct >= 0 && pct != *last) {
		*last = pct;
		fprintf(stderr, "\r%3d%%", pct);
		if (pct == 100)
			fputc('\n', stderr);
	}
	return 0;
}

/* send-photo and the others: the CA_FILE argument's path goes up as the
 * file part named by its row; every other parameter as a form field. */
static int cli_upload(struct cli_run *r)
{
	const struct cli_arg *fa = NULL;
	char *path;
	int last = -1, rc;

	for (const struct cli_arg *a = r->cmd->args; a < r->cmd->args + CLI_ARGS_MAX && a->name; a++)
		if (a->type == CA_FILE)
			fa = a;
	if (!fa || !json_string_value(json_object_get(r->params, fa->param))) {
		snprintf(r->err.code, sizeof(r->err.code), "INVALID_ARGUMENT");
		snprintf(r->err.description, sizeof(r->err.description), "no file to upload");
		return PARLEY_EINVAL;
	}
	if (!(path = strdup(json_string_value(json_object_get(r->params, fa->param)))))
		return PARLEY_ENOMEM;
	json_object_del(r->params, fa->param);
	rc = parley_upload(r->client, r->method, fa->param, r->params, path, NULL, isatty(2) ? cli_progress : NULL,
			   &last, &r->result, &r->err);
	free(path);
	return rc;
}

/* download: the default path is the last part of the file's file_path. */
static int cli_download(struct cli_run *r)
{
	const char *file_id = json_string_value(json_object_get(r->params, "file_id"));
	const char *out = json_string_value(json_object_get(r->params, "output")), *fp, *base;
	json_t *file = NULL, *p;
	char path[1024];
	uint64_t size = 0;
	int last = -1, rc;

	if (!out) {
		if (!(p = json_pack("{s:s}", "file_id", file_id)))
			return PARLEY_ENOMEM;
		rc = parley_call(r->client, "getFile", p, &file, &r->err);
		json_decref(p);
		if (rc < 0)
			return rc;
		fp = json_string_value(json_object_get(file, "file_path"));
		base = fp && strrchr(fp, '/') ? strrchr(fp, '/') + 1 : fp;
		snprintf(path, sizeof(path), "%s", base && *base && strcmp(base, "..") ? base : file_id);
		json_decref(file);
		out = path;
	}
	rc = parley_download(r->client, file_id, out, isatty(2) ? cli_progress : NULL, &last, &size, &r->err);
	if (rc == 0)
		r->result = json_pack("{s:s, s:s, s:I}", "file_id", file_id, "saved_to", out, "file_size", (json_int_t)size);
	return rc;
}

static int cli_execute(struct cli_run *r)
{
	int rc;

	if (r->cmd->flags & CF_HEALTH) {
		rc = parley_health(r->client, &r->err);
		r->result = rc == 0 ? json_true() : NULL;
	} else if (r->cmd->flags & CF_UPLOAD) {
		rc = cli_upload(r);
	} else if (r->cmd->flags & CF_DOWNLOAD) {
		rc = cli_download(r);
	} else {
		rc = parley_call(r->client, r->method, r->params, &r->result, &r->err);
	}
	if (rc == 0)
		return 0;
	cli_fail(r->err.code[0] ? r->err.code : "CLIENT_ERROR", r->err.description);
	if (strcmp(r->err.code, "UNAUTHORIZED") != 0)
		return -1;
	if (r->cmd->flags & CF_CLEAR_TOKEN)
		return 1; /* the session is gone either way: the caller forgets it */
	fprintf(stderr, "hint: log in with 'parley login USERNAME'\n");
	return -1;
}

/* Remembers or forgets the session token after a call. */
static int cli_token_update(struct cli_run *r)
{
	char errbuf[CLI_ERR_MAX];
	const char *token = json_string_value(json_object_get(r->result, "token"));

	if (r->cmd->flags & CF_SAVE_TOKEN) {
		if (!token || strlen(token) >= sizeof(r->cfg.token))
			return cli_fail("PROTOCOL_ERROR", "the server sent no usable token");
		snprintf(r->cfg.token, sizeof(r->cfg.token), "%s", token);
		if (r->server != r->cfg.server) /* the default server: remember it too */
			snprintf(r->cfg.server, sizeof(r->cfg.server), "%s", r->server);
	} else if (r->cmd->flags & CF_CLEAR_TOKEN) {
		cli_wipe(r->cfg.token, sizeof(r->cfg.token));
	} else {
		return 0;
	}
	if (parley_config_save(r->config_path, &r->cfg, errbuf, sizeof(errbuf)) < 0)
		return cli_fail("CONFIG_ERROR", errbuf);
	return 0;
}

static void cli_print_result(struct cli_run *r)
{
	if (r->opts.json) {
		json_dumpf(r->result, stdout, JSON_COMPACT | JSON_ENCODE_ANY);
		fputc('\n', stdout);
	} else {
		r->cmd->print(stdout, r->result);
	}
}

/* Help, version and "help COMMAND"; returns an exit status, or -1 when the
 * words name a command to run. */
static int cli_meta(struct cli_opts *o)
{
	const char *first = o->nwords ? o->words[0] : NULL;

	if (o->version) {
		printf("parley " PARLEY_VERSION "\n");
		return CLI_EXIT_OK;
	}
	if (first && strcmp(first, "help") == 0 && o->nwords > 1)
		return cli_help_cmd(stdout, o->words[1]) < 0 ? cli_usage(NULL, "no such command") : CLI_EXIT_OK;
	if (first && o->help && cli_help_cmd(stdout, first) == 0)
		return CLI_EXIT_OK;
	if (o->help || (first && strcmp(first, "help") == 0)) {
		cli_help_all(stdout);
		return CLI_EXIT_OK;
	}
	if (!first) {
		cli_help_all(stderr);
		return CLI_EXIT_USAGE;
	}
	return -1;
}

static int cli_main(struct cli_run *r, int argc, char **argv)
{
	char errbuf[CLI_ERR_MAX];
	int rc;

	if (cli_opts_parse(argc, argv, &r->opts, errbuf, sizeof(errbuf)) < 0)
		return cli_usage(NULL, errbuf);
	if ((rc = cli_meta(&r->opts)) >= 0)
		return rc;
	if (!(r->cmd = cli_cmd_find(r->opts.words[0]))) {
		snprintf(errbuf, sizeof(errbuf), "unknown command \"%s\"", r->opts.words[0]);
		return cli_usage(NULL, errbuf);
	}
	if (cli_args_parse(r->cmd, r->opts.nwords - 1, r->opts.words + 1, &r->params, &r->method,
			   &r->password_param, errbuf, sizeof(errbuf)) < 0)
		return cli_usage(r->cmd->name, errbuf);
	if ((rc = cli_config_open(r)) != 0)
		return rc;
	if (r->cmd->flags & CF_LISTEN) {
		struct cli_listen_opts lo = {r->server, r->cfg.token, r->config_path, r->params, r->opts.timeout_ms};

		return cli_listen(&lo);
	}
	if ((rc = cli_client_open(r)) != 0 || (rc = cli_params_complete(r)) != 0)
		return rc;
	rc = cli_execute(r);
	if (rc > 0)
		cli_token_update(r); /* logging out of a dead session still forgets it */
	if (rc != 0)
		return CLI_EXIT_ERROR;
	if ((rc = cli_token_update(r)) != 0)
		return rc;
	cli_print_result(r);
	return fflush(stdout) == 0 ? CLI_EXIT_OK : cli_fail("IO_ERROR", "cannot write the output");
}

int main(int argc, char **argv)
{
	struct cli_run r;
	int status;

	memset(&r, 0, sizeof(r));
	r.opts.words = calloc((size_t)argc + 1, sizeof(*r.opts.words));
	if (!r.opts.words)
		return cli_fail("OUT_OF_MEMORY", "cannot start");
	status = cli_main(&r, argc, argv);
	json_decref(r.result);
	json_decref(r.params);
	parley_client_free(r.client);
	cli_wipe(&r.cfg, sizeof(r.cfg));
	free(r.opts.words);
	return status;
}
