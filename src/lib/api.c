/*
 * api.c — typed conveniences over parley_call() for the paths tests, the
 * benchmark and the CLI use most.  Each one builds the parameter object,
 * calls, and picks the few fields its caller needs out of the result; the
 * method table in the server (src/api/methods.c) is the source of the names.
 */
#include <string.h>

#include "lib/parley_int.h"

/* Calls method with params (stolen: released here, NULL allowed only when
 * building it failed, which is reported as out of memory). */
static int api_call_steal(struct parley_client *c, const char *method, json_t *params, json_t **result,
			  struct parley_error *err)
{
	int rc;

	if (result)
		*result = NULL;
	if (!params)
		return parley_error_set(err, PARLEY_ENOMEM, "cannot build the parameters of %s", method);
	rc = parley_call(c, method, params, result, err);
	json_decref(params);
	return rc;
}

/* Reads integer field key of obj into *out (if out is not NULL). */
static int api_get_int(json_t *obj, const char *key, int64_t *out, struct parley_error *err)
{
	json_t *v = json_object_get(obj, key);

	if (!out)
		return 0;
	if (!json_is_integer(v))
		return parley_error_set(err, PARLEY_EPROTO, "the reply has no integer \"%s\"", key);
	*out = (int64_t)json_integer_value(v);
	return 0;
}

/* Sets key to a string copy of val unless val is NULL or empty. */
static void api_set_opt_str(json_t *params, const char *key, const char *val)
{
	if (params && val && *val)
		json_object_set_new(params, key, json_string(val));
}

/* Stores the token of an AuthResult in c and picks the ids. */
static int api_take_auth(struct parley_client *c, json_t *res, int64_t *user_id, int64_t *session_id,
			 struct parley_error *err)
{
	json_t *token = json_object_get(res, "token");
	int rc;

	if (!json_is_string(token) || parley_client_set_token(c, json_string_value(token)) < 0)
		return parley_error_set(err, PARLEY_EPROTO, "the reply has no usable token");
	if ((rc = api_get_int(json_object_get(res, "user"), "id", user_id, err)) < 0)
		return rc;
	return api_get_int(res, "session_id", session_id, err);
}

int parley_register(struct parley_client *c, const char *username, const char *password,
		    const char *display_name, int64_t *user_id, struct parley_error *err)
{
	json_t *params = json_pack("{s:s?, s:s?}", "username", username, "password", password), *res;
	int rc;

	api_set_opt_str(params, "display_name", display_name);
	api_set_opt_str(params, "device", c->device);
	if ((rc = api_call_steal(c, "register", params, &res, err)) == 0)
		rc = api_take_auth(c, res, user_id, NULL, err);
	json_decref(res);
	return rc;
}

int parley_login(struct parley_client *c, const char *username, const char *password, int64_t *user_id,
		 int64_t *session_id, struct parley_error *err)
{
	json_t *params = json_pack("{s:s?, s:s?}", "username", username, "password", password), *res;
	int rc;

	api_set_opt_str(params, "device", c->device);
	if ((rc = api_call_steal(c, "login", params, &res, err)) == 0)
		rc = api_take_auth(c, res, user_id, session_id, err);
	json_decref(res);
	return rc;
}

int parley_logout(struct parley_client *c, struct parley_error *err)
{
	int rc = parley_call(c, "logOut", NULL, NULL, err);

	if (rc == 0)
		parley_client_set_token(c, NULL);
	return rc;
}

int parley_get_me(struct parley_client *c, json_t **user, struct parley_error *err)
{
	return parley_call(c, "getMe", NULL, user, err);
}

int parley_send_message(struct parley_client *c, int64_t chat_id, const char *text, int64_t reply_to,
			int64_t *message_id, struct parley_error *err)
{
	json_t *params = json_pack("{s:I, s:s?}", "chat_id", (json_int_t)chat_id, "text", text), *res;
	int rc;

	if (params && reply_to > 0)
		json_object_set_new(params, "reply_to_message_id", json_integer(reply_to));
	if ((rc = api_call_steal(c, "sendMessage", params, &res, err)) == 0)
		rc = api_get_int(res, "message_id", message_id, err);
	json_decref(res);
	return rc;
}

int parley_get_history(struct parley_client *c, int64_t chat_id, int64_t offset_id, int newer, int limit,
		       json_t **messages, struct parley_error *err)
{
	json_t *params = json_pack("{s:I, s:s}", "chat_id", (json_int_t)chat_id, "direction",
				   newer ? "newer" : "older");

	if (params && offset_id > 0)
		json_object_set_new(params, "offset_id", json_integer(offset_id));
	if (params && limit > 0)
		json_object_set_new(params, "limit", json_integer(limit));
	return api_call_steal(c, "getHistory", params, messages, err);
}

int parley_get_dialogs(struct parley_client *c, int limit, json_t **dialogs, struct parley_error *err)
{
	json_t *params = json_object();

	if (params && limit > 0)
		json_object_set_new(params, "limit", json_integer(limit));
	return api_call_steal(c, "getDialogs", params, dialogs, err);
}

int parley_read_history(struct parley_client *c, int64_t chat_id, int64_t max_id, struct parley_error *err)
{
	json_t *params = json_pack("{s:I}", "chat_id", (json_int_t)chat_id);

	if (params && max_id > 0)
		json_object_set_new(params, "max_id", json_integer(max_id));
	return api_call_steal(c, "readHistory", params, NULL, err);
}

int parley_create_group(struct parley_client *c, const char *title, const int64_t *user_ids, size_t n,
			int64_t *chat_id, struct parley_error *err)
{
	json_t *params = json_pack("{s:s?}", "title", title), *ids = json_array(), *res;
	int rc;

	for (size_t i = 0; ids && i < n; i++)
		json_array_append_new(ids, json_integer(user_ids[i]));
	if (params && ids && n)
		json_object_set(params, "user_ids", ids);
	json_decref(ids);
	if ((rc = api_call_steal(c, "createGroup", params, &res, err)) == 0)
		rc = api_get_int(res, "id", chat_id, err);
	json_decref(res);
	return rc;
}

int parley_create_channel(struct parley_client *c, const char *title, const char *username, int64_t *chat_id,
			  struct parley_error *err)
{
	json_t *params = json_pack("{s:s?}", "title", title), *res;
	int rc;

	api_set_opt_str(params, "username", username);
	if ((rc = api_call_steal(c, "createChannel", params, &res, err)) == 0)
		rc = api_get_int(res, "id", chat_id, err);
	json_decref(res);
	return rc;
}
