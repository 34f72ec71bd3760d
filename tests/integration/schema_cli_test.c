/* schema_cli_test.c - the mpstore CLI with typed containers: register-schema
 * (--declared creates the declared containers), JSON objects in for
 * message elements (field names from the schema; enums by name, bytes as
 * base64, maps as objects), JSON out from get/pop/items, typed errors with
 * exit statuses, and what the CLI wrote read back with the generated stubs.
 * The CLI runs as its own process (mpst_run); this process opens its
 * client only after the CLI runs it needs to fork, which exec at once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema_util.h"
#include "support.h"

static mpst_daemon d;
static char        out[65536], err[8192];

static void
stop_daemon(void)
{
	mpst_daemon_cleanup(&d);
}

/* mpstore --url URL args... ; returns the exit status, output in out/err */
static int
cli(const char *a1, const char *a2, const char *a3, const char *a4)
{
	const char *argv[] = {mpst_cli_path(), "--url", d.url, a1, a2, a3, a4, NULL};
	out[0] = err[0] = '\0';
	int rv = mpst_run(argv, out, sizeof(out), err, sizeof(err));
	return rv;
}

#define CLI_OK(a1, a2, a3, a4)                                                          \
	do {                                                                            \
		if (cli(a1, a2, a3, a4) != 0) {                                         \
			fprintf(stderr, "%s:%d: mpstore %s %s failed: %s\n", __FILE__, __LINE__, \
			    a1, a2 ? a2 : "", err);                                     \
			ct_die();                                                       \
		}                                                                       \
	} while (0)

#define HAS(s, w)                                                                     \
	do {                                                                          \
		if (!su_has(s, w)) {                                                  \
			fprintf(stderr, "%s:%d: '%s' not in '%s'\n", __FILE__, __LINE__, w, s); \
			ct_die();                                                     \
		}                                                                     \
	} while (0)

static const char job_json[] =
    "{\"id\": 12, \"title\": \"build\", \"priority\": \"HIGH\", \"tags\": [\"a\", \"b\"],"
    " \"counts\": {\"x\": 3}, \"address\": {\"street\": \"Main\", \"city\": \"Oslo\"},"
    " \"payload\": \"aGk=\", \"port\": 8080, \"steps\": [{\"name\": \"s1\", \"cost\": 0.25}],"
    " \"done\": true}";

int
main(void)
{
	CT_TRUE(mpst_daemon_start(&d, NULL) == 0);
	ct_on_fail = stop_daemon;

	CLI_OK("register-schema", SHOP_PB, "--declared", NULL);
	CLI_OK("ls", "shop.", NULL, NULL);
	HAS(out, "shop.jobs\tlist\tshop.Job");
	CLI_OK("info", "shop.sample_table", NULL, NULL);
	HAS(out, "\"type\": \"shop.Scalars\"");

	/* JSON in, JSON out, with the proto field names */
	CLI_OK("append", "shop.jobs", job_json, NULL);
	CLI_OK("get", "shop.jobs", "0", NULL);
	HAS(out, "\"id\": 12");
	HAS(out, "\"title\": \"build\"");
	HAS(out, "\"priority\": \"HIGH\"");
	HAS(out, "\"tags\": [\"a\", \"b\"]");
	HAS(out, "\"counts\": {\"x\": 3}");
	HAS(out, "\"address\": {\"street\": \"Main\", \"city\": \"Oslo\"}");
	HAS(out, "\"payload\": \"aGk=\"");
	HAS(out, "\"port\": 8080");
	HAS(out, "\"steps\": [{\"name\": \"s1\", \"cost\": 0.25}]");
	HAS(out, "\"done\": true");
	CLI_OK("get", "shop.jobs", NULL, NULL); /* the whole list: an array of objects */
	CT_TRUE(out[0] == '[');
	HAS(out, "\"title\": \"build\"");
	/* json names are accepted too; 64-bit integers as strings */
	CLI_OK("set", "shop.by_id", "k1", "{\"id\": \"9007199254740993\", \"title\": \"big\"}");
	CLI_OK("get", "shop.by_id", NULL, NULL);
	HAS(out, "{\"k1\": {\"id\": 9007199254740993, \"title\": \"big\"}}");
	CLI_OK("set", "shop.sample_table", "-3",
	    "{\"f_double\": 1.5, \"fInt32\": -2, \"f_uint64\": \"18446744073709551615\","
	    " \"f_sint64\": -9, \"f_bytes\": \"AAEC\", \"r_int32\": [1, 2], \"m_int\": {\"5\": \"five\"},"
	    " \"f_enum\": 1}");
	CLI_OK("get", "shop.sample_table", "-3", NULL);
	HAS(out, "\"f_uint64\": 18446744073709551615");
	HAS(out, "\"f_int32\": -2");
	HAS(out, "\"m_int\": {\"5\": \"five\"}");
	HAS(out, "\"f_enum\": \"LOW\"");
	CLI_OK("put", "shop.todo", "{\"id\": 5}", NULL);
	CLI_OK("get", "shop.todo", NULL, NULL);
	HAS(out, "{\"id\": 5}");
	CLI_OK("set", "shop.home", "{\"city\": \"Bergen\"}", NULL);
	CLI_OK("get", "shop.home", NULL, NULL);
	HAS(out, "{\"city\": \"Bergen\"}");

	/* typed errors: unknown field, wrong JSON type, bad enum name: usage
	 * (2), nothing sent; bytes that do not parse: the daemon's ERR_SCHEMA (1) */
	CT_TRUE(cli("append", "shop.jobs", "{\"idd\": 1}", NULL) == 2);
	HAS(err, "idd");
	HAS(err, "shop.Job");
	CT_TRUE(cli("append", "shop.jobs", "{\"title\": 5}", NULL) == 2);
	HAS(err, "title");
	CT_TRUE(cli("append", "shop.jobs", "{\"priority\": \"URGENT\"}", NULL) == 2);
	HAS(err, "shop.Job.priority");
	CT_TRUE(cli("append", "shop.jobs", "not json", NULL) == 2);
	CT_TRUE(cli("append", "shop.jobs", "{\"$message\": \"CgNhYmM=\"}", NULL) == 1);
	HAS(err, "ERR_SCHEMA");
	HAS(err, "shop.Job.id");
	CT_TRUE(cli("create", "typo", "list", "shop.Jobb") == 1);
	HAS(err, "unknown message type shop.Jobb");
	CLI_OK("len", "shop.jobs", NULL, NULL);
	HAS(out, "1");

	/* untyped containers are as before */
	CLI_OK("create", "plain", "list", NULL);
	CLI_OK("append", "plain", "42", "{\"$bytes\": \"aGk=\"}");
	CLI_OK("get", "plain", NULL, NULL);
	HAS(out, "[42, {\"$bytes\": \"aGk=\"}]");

	/* what the CLI wrote is what the stubs read */
	mps_client *c;
	CT_OK(mps_open(&c, d.url, 5000));
	Shop__Job *j = NULL;
	CT_OK(shop__jobs__get(c, 0, &j));
	CT_TRUE(j->id == 12 && j->priority == SHOP__PRIORITY__HIGH && j->n_tags == 2);
	CT_TRUE(j->target_case == SHOP__JOB__TARGET_PORT && j->port == 8080);
	CT_TRUE(j->payload.len == 2 && memcmp(j->payload.data, "hi", 2) == 0);
	CT_TRUE(j->n_steps == 1 && j->steps[0]->cost == 0.25 && j->done);
	su_job_free(j);
	Shop__Scalars *s = NULL;
	CT_OK(shop__samples__get(c, -3, &s));
	CT_TRUE(s->f_uint64 == UINT64_MAX && s->f_int32 == -2 && s->f_bytes.len == 3);
	su_scalars_free(s);
	mps_close(c);

	ct_on_fail = NULL;
	CT_TRUE(mpst_daemon_stop(&d) == 0);
	mpst_daemon_cleanup(&d);
	printf("schema_cli_test: ok\n");
	return 0;
}
