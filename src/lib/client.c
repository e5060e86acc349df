/*
 * client.c — libparley clients and API calls: a client holds the server URL,
 * the session token and the kept-alive connection (http.c); parley_call()
 * turns a method and a JSON object into `POST /api/<method>` and the reply
 * envelope into a result or a struct parley_error.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/parley_int.h"

#define CLIENT_METHOD_MAX 64      /* bytes in an API method name */
#define CLIENT_PATH_MAX 128       /* "/api/" + method */
#define CLIENT_SNIPPET_MAX 160    /* bytes of a non-JSON reply quoted in errors */

struct parley_client *parley_client_new(const char *server_url, char *errbuf, size_t errlen)
{
	struct parley_client *c;

	if (!server_url || !*server_url)
		server_url = PARLEY_DEFAULT_SERVER;
	c = calloc(1, sizeof(*c));
	if (!c) {
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "out of memory");
		return NULL;
	}
	if (parley_url_parse(server_url, &c->url, errbuf, errlen) < 0) {
		free(c);
		return NULL;
	}
	snprintf(c->server, sizeof(c->server), "%s", server_url);
	c->timeout_ms = PARLEY_TIMEOUT_DEFAULT_MS;
	c->fd = -1;
	return c;
}

void parley_client_free(struct parley_client *c)
{
	if (!c)
		return;
	parley_http_close(c);
	/* The token is a credential: do not leave it in freed memory. */
	memset(c->token, 0, sizeof(c->token));
	free(c);
}

int parley_client_set_token(struct parley_client *c, const char *token)
{
	size_t n = token ? strlen(token) : 0;

	if (n > PARLEY_TOKEN_MAX)
		return PARLEY_EINVAL;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)token[i] <= 0x20 || (unsigned char)token[i] >= 0x7f)
			return PARLEY_EINVAL;
	memset(c->token, 0, sizeof(c->token));
	if (n)
		memcpy(c->token, token, n);
	return 0;
}

const char *parley_client_token(const struct parley_client *c)
{
	return c->token[0] ? c->token : NULL;
}

void parley_client_set_device(struct parley_client *c, const char *device)
{
	parley_strlcpy_utf8(c->device, device ? device : "", sizeof(c->device));
}

void parley_client_set_timeout_ms(struct parley_client *c, int ms)
{
	c->timeout_ms = ms > 0 ? ms : 0;
}

const char *parley_client_server(const struct parley_client *c)
{
	return c->server;
}

void parley_client_disconnect(struct parley_client *c)
{
	parley_http_close(c);
}

unsigned long parley_client_connects(const struct parley_client *c)
{
	return c->connects;
}

int parley_request(struct parley_client *c, const char *http_method, const char *path,
		   const char *content_type, const char *req_body, size_t req_len, int *status,
		   char **body, size_t *len, struct parley_error *err)
{
	struct parley_http_req req = {http_method, path, content_type, req_body, req_len};
	struct parley_http_resp resp;
	int rc;

	parley_error_clear(err);
	if (body)
		*body = NULL;
	if (len)
		*len = 0;
	if (!c || !http_method || !path || (req_len && !req_body))
		return parley_error_set(err, PARLEY_EINVAL, "parley_request: missing argument");
	rc = parley_http_do(c, &req, &resp, err);
	if (rc == 0 && status)
		*status = resp.status;
	if (rc == 0 && body && !(*body = parley_buf_detach(&resp.body, len)))
		rc = parley_error_set(err, PARLEY_ENOMEM, "out of memory");
	parley_buf_release(&resp.body);
	return rc;
}

int parley_get(struct parley_client *c, const char *path, int *status, char **body, size_t *len,
	       struct parley_error *err)
{
	return parley_request(c, "GET", path, NULL, NULL, 0, status, body, len, err);
}

int parley_health(struct parley_client *c, struct parley_error *err)
{
	int status = 0, rc = parley_get(c, "/healthz", &status, NULL, NULL, err);

	if (rc == 0 && status != 200) {
		rc = parley_error_set(err, PARLEY_EAPI, "GET /healthz answered %d", status);
		if (err) {
			err->http_status = status;
			snprintf(err->code, sizeof(err->code), "HTTP_%d", status);
		}
	}
	return rc;
}

/* --- the reply envelope ------------------------------------------------ */

/* Splits "CODE: words" into err->code and err->description; a description
 * without a code keeps it whole under HTTP_<status>. */
static void client_split_description(const char *d, int status, struct parley_error *err)
{
	size_t n = 0;

	while (isupper((unsigned char)d[n]) || isdigit((unsigned char)d[n]) || d[n] == '_')
		n++;
	if (n > 0 && n < sizeof(err->code) && d[n] == ':') {
		memcpy(err->code, d, n);
		err->code[n] = '\0';
		d += n + 1;
		while (*d == ' ')
			d++;
	} else {
		snprintf(err->code, sizeof(err->code), "HTTP_%d", status);
	}
	parley_strlcpy_utf8(err->description, d, sizeof(err->description));
}

/* Fills err from an {"ok":false,...} envelope; returns PARLEY_EAPI. */
static int client_api_error(json_t *doc, int status, struct parley_error *err)
{
	json_t *code = json_object_get(doc, "error_code");
	json_t *desc = json_object_get(doc, "description");
	json_t *retry = json_object_get(json_object_get(doc, "parameters"), "retry_after");

	if (!err)
		return PARLEY_EAPI;
	parley_error_clear(err);
	err->http_status = json_is_integer(code) ? (int)json_integer_value(code) : status;
	client_split_description(json_is_string(desc) ? json_string_value(desc) : "", err->http_status, err);
	if (json_is_integer(retry))
		err->retry_after = (int)json_integer_value(retry);
	return PARLEY_EAPI;
}

/* A reply that is not a Parley envelope (a proxy's error page, ...). */
static int client_not_envelope(int status, const char *body, size_t len, struct parley_error *err)
{
	char snip[CLIENT_SNIPPET_MAX + 1];
	size_t n = len < CLIENT_SNIPPET_MAX ? len : CLIENT_SNIPPET_MAX;

	for (size_t i = 0; i < n; i++)
		snip[i] = isprint((unsigned char)body[i]) ? body[i] : ' ';
	snip[n] = '\0';
	parley_error_set(err, PARLEY_EPROTO, "HTTP %d with a reply that is not a Parley envelope: \"%s\"",
			 status, snip);
	if (err) {
		err->http_status = status;
		if (status != 200)
			snprintf(err->code, sizeof(err->code), "HTTP_%d", status);
	}
	return PARLEY_EPROTO;
}

int parley_envelope_json(json_t *doc, int status, json_t **result, struct parley_error *err)
{
	json_t *ok = json_object_get(doc, "ok"), *res;

	if (json_is_true(ok)) {
		res = json_object_get(doc, "result");
		if (result)
			*result = res ? json_incref(res) : json_null();
		return 0;
	}
	if (json_is_false(ok))
		return client_api_error(doc, status, err);
	return parley_error_set(err, PARLEY_EPROTO, "the reply is not a Parley envelope");
}

int parley_envelope(int status, const char *body, size_t len, json_t **result, struct parley_error *err)
{
	json_t *doc = json_loadb(body, len, 0, NULL);
	int rc;

	if (json_is_boolean(json_object_get(doc, "ok")))
		rc = parley_envelope_json(doc, status, result, err);
	else
		rc = client_not_envelope(status, body, len, err);
	json_decref(doc);
	return rc;
}

/* --- calls ------------------------------------------------------------- */

static int client_method_valid(const char *m)
{
	size_t n = 0;

	for (; m[n]; n++)
		if (!isalnum((unsigned char)m[n]) && m[n] != '_')
			return 0;
	return n > 0 && n <= CLIENT_METHOD_MAX;
}

/* POSTs body to /api/method and decodes the envelope. */
static int client_post(struct parley_client *c, const char *method, const char *body, json_t **result,
		       struct parley_error *err)
{
	char path[CLIENT_PATH_MAX], *reply = NULL;
	size_t len = 0;
	int status = 0, rc;

	snprintf(path, sizeof(path), "/api/%s", method);
	rc = parley_request(c, "POST", path, "application/json", body, strlen(body), &status, &reply, &len, err);
	if (rc == 0)
		rc = parley_envelope(status, reply, len, result, err);
	free(reply);
	return rc;
}

int parley_call(struct parley_client *c, const char *method, json_t *params, json_t **result,
		struct parley_error *err)
{
	char *body = NULL;
	int rc;

	if (result)
		*result = NULL;
	parley_error_clear(err);
	if (!c || !method || !client_method_valid(method))
		return parley_error_set(err, PARLEY_EINVAL, "invalid API method name");
	if (params && !json_is_object(params))
		return parley_error_set(err, PARLEY_EINVAL, "the parameters must be a JSON object");
	body = params ? json_dumps(params, JSON_COMPACT) : strdup("{}");
	if (!body)
		return parley_error_set(err, PARLEY_ENOMEM, "cannot encode the parameters");
	rc = client_post(c, method, body, result, err);
	free(body);
	return rc;
}

int parley_call_json(struct parley_client *c, const char *method, const char *params_json,
		     json_t **result, struct parley_error *err)
{
	json_error_t jerr;
	json_t *params = NULL;
	int rc;

	if (result)
		*result = NULL;
	if (params_json) {
		params = json_loads(params_json, 0, &jerr);
		if (!json_is_object(params)) {
			json_decref(params);
			return parley_error_set(err, PARLEY_EINVAL, "the parameters are not a JSON object%s%s",
						params ? "" : ": ", params ? "" : jerr.text);
		}
	}
	rc = parley_call(c, method, params, result, err);
	json_decref(params);
	return rc;
}
