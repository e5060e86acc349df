/*
 * config.h — parleyd's settings: one declarative table of directives
 * (in the manner of nginx's ngx_command_t), read in this order, later
 * sources overriding earlier ones:
 *   1. built-in defaults,
 *   2. the config file (--config FILE, else DATA/parleyd.conf if present):
 *      "name = value" lines, '#' comments,
 *   3. environment variables PARLEY_<NAME> (upper case),
 *   4. command-line flags --listen, --data, --config and --set name=value.
 * docs/operations.md lists every directive (`parleyd --print-config-docs`).
 */
#ifndef PL_UTIL_CONFIG_H
#define PL_UTIL_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#define PL_CONFIG_STR_SZ 512

struct pl_config {
	char listen[PL_CONFIG_STR_SZ];
	char data[PL_CONFIG_STR_SZ];
	char public_url[PL_CONFIG_STR_SZ];
	char web_root[PL_CONFIG_STR_SZ];
	char log_level[16];
	char password_cost[16];
	char sync[16];
	long reader_threads;
	long write_batch_max;
	long checkpoint_pages;
	long max_connections;
	long max_header_bytes;
	long max_body_bytes;
	long header_timeout_ms;
	long idle_timeout_ms;
	long rate_auth_ip_per_min;
	long rate_login_account_per_min;
	long rate_requests_per_sec;
	long rate_messages_per_sec;
	long rate_messages_burst;
	long large_group_threshold;
	long updates_retention_days;
	long prune_interval_seconds;
	long prune_step_rows;
	long ws_max_message_bytes;
	long ws_max_pending_bytes;
	long ws_ping_interval_ms;
	long sla_flagger_urgent_minutes;
	long sla_flagger_minutes;
	long sla_report_urgent_minutes;
	long sla_report_minutes;
	long rate_notices_ip_per_hour;
	char platform_name[128];
	char terms_url[PL_CONFIG_STR_SZ];
	long photo_max_bytes;
	long file_max_bytes;
	long photo_max_pixels;
	long photo_max_side;
	long upload_concurrency_per_user;
	long uploads_max;
	long blob_grace_seconds;
};

/* Fills c with the built-in defaults. */
void pl_config_defaults(struct pl_config *c);

/* Sets directive name to value.  Returns 0, or -1 with a message in err. */
int pl_config_set(struct pl_config *c, const char *name, const char *value, char *err, size_t errlen);

/* Reads a config file.  Returns 0, 1 if it does not exist and !must_exist,
 * or -1 with a message in err ("FILE:LINE: ..."). */
int pl_config_load_file(struct pl_config *c, const char *path, int must_exist, char *err, size_t errlen);

/* Applies PARLEY_<NAME> environment variables.  Returns 0 or -1. */
int pl_config_load_env(struct pl_config *c, char *err, size_t errlen);

/* Prints the directive table as a Markdown table. */
void pl_config_print_docs(FILE *f);

#endif
