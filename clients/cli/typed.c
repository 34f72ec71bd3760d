/* typed.c - message elements as JSON: the daemon's schema (OP_GET_SCHEMA),
 * fetched once per run when a command touches a container typed with a
 * protobuf message, converts JSON arguments to message bytes and message
 * results to JSON with the descriptors' field names (mpstore_schema). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#ifdef MPS_CLI_TYPED
#include "schema.h"

typedef struct typed_name {
	char *name;
	char *type;
} typed_name;

static mps_client    *t_client;
static mpss_registry *t_reg;
static int            t_fetched;
static typed_name     t_names[64];
static size_t         t_n;
static const char    *t_current; /* message type of the values being printed */

static mpss_registry *
registry(void)
{
	if (t_fetched || t_client == NULL) {
		return t_reg;
	}
	t_fetched = 1;
	mps_value set = mps_null();
	if (mps_get_schema(t_client, &set) != MPS_OK) {
		return NULL;
	}
	if (mpss_registry_alloc(&t_reg) == 0 && set.u.s.len > 0 &&
	    mpss_registry_add_set(t_reg, (const uint8_t *) set.u.s.ptr, set.u.s.len, NULL) != 0) {
		mpss_registry_free(t_reg);
		t_reg = NULL;
	}
	mps_value_free(&set);
	return t_reg;
}

void
cli_typed_note(mps_client *c, const mps_info *info)
{
	t_client = c;
	if (info->elem_type != MPS_TYPE_MESSAGE || info->message_type == NULL ||
	    info->message_type[0] == '\0' || info->name == NULL) {
		return;
	}
	for (size_t i = 0; i < t_n; i++) {
		if (strcmp(t_names[i].name, info->name) == 0) {
			return;
		}
	}
	if (t_n < sizeof(t_names) / sizeof(t_names[0])) {
		t_names[t_n].name = strdup(info->name);
		t_names[t_n].type = strdup(info->message_type);
		if (t_names[t_n].name != NULL && t_names[t_n].type != NULL) {
			t_n++;
		} else {
			free(t_names[t_n].name);
			free(t_names[t_n].type);
		}
	}
}

void
cli_typed_use(const char *name)
{
	t_current = NULL;
	for (size_t i = 0; name != NULL && i < t_n; i++) {
		if (strcmp(t_names[i].name, name) == 0) {
			t_current = t_names[i].type;
		}
	}
}

int
cli_typed_parse(const mps_info *info, const char *arg, mps_value *out)
{
	mpss_registry *reg = registry();
	mpss_error     e;
	uint8_t       *bytes;
	size_t         len;
	e.msg[0] = '\0';
	*out = mps_null();
	/* {"$message": "<base64>"} is the untyped form: bytes as they are */
	if (mps_value_from_json(arg, out) == MPS_OK) {
		if (out->type == MPS_MESSAGE) {
			return 0;
		}
		mps_value_free(out);
	}
	if (reg == NULL) {
		return cli_fail(MPS_ERR_SCHEMA, "the daemon has no schema defining %s (%s)",
		    info->message_type, mps_last_error());
	}
	int rv = mpss_from_json(reg, info->message_type, arg, strlen(arg), &bytes, &len, &e);
	if (rv != 0) {
		return cli_fail(rv == MPS_ERR_NOT_FOUND ? MPS_ERR_SCHEMA : MPS_ERR_INVALID,
		    "%s wants a JSON %s: %s", info->name, info->message_type,
		    e.msg[0] ? e.msg : "cannot convert");
	}
	mps_value m = mps_message(bytes, len);
	mps_err   de = mps_value_dup(out, &m);
	free(bytes);
	return de == MPS_OK ? 0 : cli_fail(de, "out of memory");
}

char *
cli_typed_json(const mps_value *v)
{
	mpss_registry *reg;
	char          *json = NULL;
	if (v->type != MPS_MESSAGE || t_current == NULL || (reg = registry()) == NULL) {
		return NULL;
	}
	if (mpss_to_json(reg, t_current, (const uint8_t *) v->u.s.ptr, v->u.s.len, &json, NULL) != 0) {
		return NULL;
	}
	return json;
}

#else /* built without mpstore_schema: messages print as {"$message": ...} */

void
cli_typed_note(mps_client *c, const mps_info *info)
{
	(void) c;
	(void) info;
}

void
cli_typed_use(const char *name)
{
	(void) name;
}

int
cli_typed_parse(const mps_info *info, const char *arg, mps_value *out)
{
	*out = mps_null();
	if (mps_value_from_json(arg, out) == MPS_OK) {
		if (out->type == MPS_MESSAGE) {
			return 0;
		}
		mps_value_free(out);
	}
	return cli_fail(MPS_ERR_INVALID, "%s holds %s messages: this mpstore has no schema support; "
	    "give {\"$message\": \"<base64>\"}", info->name, info->message_type);
}

char *
cli_typed_json(const mps_value *v)
{
	(void) v;
	return NULL;
}

#endif
