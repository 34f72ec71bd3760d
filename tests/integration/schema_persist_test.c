/* schema_persist_test.c - schemas survive restarts, and --schema at start:
 *  - for durability log and fsync: register, write typed elements, kill -9,
 *    restart: the schema is back (elements still checked, OP_GET_SCHEMA has
 *    it) and the data too; again after a snapshot plus a later
 *    registration in the log (snapshot record first, then the log's);
 *  - durability snapshot: a clean stop and restart keep schema and data;
 *  - --schema FILE.pb at start types containers without any registration,
 *    and is kept in the database; a missing or bad file stops the daemon
 *    with an error naming it.
 * Each restart is exec'ed by the support library (no nng in forked
 * children). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"
#include "schema_util.h"
#include "support.h"

static mpst_daemon d;

static void
stop_daemon(void)
{
	mpst_daemon_cleanup(&d);
}

static mps_client *
client(void)
{
	mps_client *c;
	CT_OK(mps_open(&c, d.url, 5000));
	return c;
}

static int
registry_has(mps_client *c, const char *type)
{
	mps_value      set;
	mpss_registry *reg;
	CT_OK(mps_get_schema(c, &set));
	CT_TRUE(mpss_registry_alloc(&reg) == 0);
	int ok = set.u.s.len > 0 &&
	         mpss_registry_add_set(reg, (const uint8_t *) set.u.s.ptr, set.u.s.len, NULL) == 0 &&
	         mpss_registry_find(reg, type) != NULL;
	mpss_registry_free(reg);
	mps_value_free(&set);
	return ok;
}

/* The shop containers hold what write_shop wrote, and still check types. */
static void
check_shop(mps_client *c, int njobs)
{
	CT_TRUE(registry_has(c, "shop.Job"));
	int64_t n = -1;
	CT_OK(shop__jobs__len(c, &n));
	CT_TRUE(n == njobs);
	for (int i = 0; i < njobs; i++) {
		Shop__Job *want = su_job(i), *got = NULL;
		CT_OK(shop__jobs__get(c, i, &got));
		CT_TRUE(su_same(&want->base, &got->base));
		su_job_free(want);
		su_job_free(got);
	}
	mps_value bad = mps_message("\x0a\x05", 2);
	CT_CHECK(mps_list_append(c, "shop.jobs", &bad, NULL), MPS_ERR_SCHEMA);
	CT_TRUE(su_has(mps_last_error(), "shop.Job"));
}

static void
write_jobs(mps_client *c, int from, int to)
{
	for (int i = from; i < to; i++) {
		Shop__Job *j = su_job(i);
		CT_OK(shop__jobs__append(c, j, NULL));
		su_job_free(j);
	}
}

static void
crash_mode(const char *mode)
{
	const char *args[] = {"--durability", mode, NULL};
	CT_TRUE(mpst_daemon_start(&d, args) == 0);
	mps_client *c = client();
	CT_OK(shop__register(c));
	write_jobs(c, 0, 3);
	mps_close(c);
	CT_TRUE(mpst_daemon_kill(&d, SIGKILL) >= 0);
	CT_TRUE(mpst_daemon_restart(&d) == 0);

	c = client();
	check_shop(c, 3);
	/* snapshot (schema first in it), then a registration in the log */
	CT_OK(mps_snapshot(c, NULL));
	size_t   len;
	uint8_t *inv = su_read(INV_V1_PB, &len);
	CT_OK(mps_register_schema(c, inv, len, 0));
	free(inv);
	mps_create_opts o = {.kind = MPS_KIND_DICT, .elem_type = MPS_TYPE_MESSAGE,
		.message_type = "inv.Part"};
	CT_OK(mps_create(c, "parts", &o));
	mps_value k = mps_str("b1"), v = mps_message("\x0a\x02" "B1\x10\x03", 6);
	CT_OK(mps_dict_set(c, "parts", &k, &v));
	write_jobs(c, 3, 4);
	mps_close(c);
	CT_TRUE(mpst_daemon_kill(&d, SIGKILL) >= 0);
	CT_TRUE(mpst_daemon_restart(&d) == 0);

	c = client();
	check_shop(c, 4);
	CT_TRUE(registry_has(c, "inv.Part"));
	mps_value got;
	CT_OK(mps_dict_get(c, "parts", &k, &got));
	CT_TRUE(got.type == MPS_MESSAGE && got.u.s.len == 6);
	mps_value_free(&got);
	mps_value badp = mps_message("\x10\x05\x01", 3); /* qty: varint, truncated */
	CT_CHECK(mps_dict_set(c, "parts", &k, &badp), MPS_ERR_SCHEMA);
	CT_TRUE(su_has(mps_last_error(), "inv.Part"));
	mps_close(c);
	CT_TRUE(mpst_daemon_stop(&d) == 0);
	/* and after a clean stop (final snapshot) once more */
	CT_TRUE(mpst_daemon_restart(&d) == 0);
	c = client();
	check_shop(c, 4);
	CT_TRUE(registry_has(c, "inv.Part"));
	mps_close(c);
	CT_TRUE(mpst_daemon_stop(&d) == 0);
	mpst_daemon_cleanup(&d);
}

static void
snapshot_mode(void)
{
	const char *args[] = {"--durability", "snapshot", NULL};
	CT_TRUE(mpst_daemon_start(&d, args) == 0);
	mps_client *c = client();
	CT_OK(shop__register(c));
	write_jobs(c, 0, 2);
	mps_close(c);
	CT_TRUE(mpst_daemon_stop(&d) == 0);
	CT_TRUE(mpst_daemon_restart(&d) == 0);
	c = client();
	check_shop(c, 2);
	mps_close(c);
	CT_TRUE(mpst_daemon_stop(&d) == 0);
	mpst_daemon_cleanup(&d);
}

static void
start_schema(void)
{
	/* typed containers from --schema files, nothing registered by clients */
	const char *args[] = {"--schema", SHOP_PB, "--schema", INV_V1_PB, NULL};
	CT_TRUE(mpst_daemon_start(&d, args) == 0);
	mps_client *c = client();
	CT_TRUE(registry_has(c, "shop.Job") && registry_has(c, "inv.Item"));
	mps_create_opts o = {.kind = MPS_KIND_LIST, .elem_type = MPS_TYPE_MESSAGE,
		.message_type = "shop.Job"};
	CT_OK(mps_create(c, "shop.jobs", &o));
	write_jobs(c, 0, 2);
	check_shop(c, 2);
	mps_close(c);
	CT_TRUE(mpst_daemon_kill(&d, SIGKILL) >= 0);

	/* --schema files are not logged: they reach the database with the
	 * next snapshot (a clean stop writes one); then they are kept without
	 * the flags */
	CT_TRUE(mpst_daemon_restart(&d) == 0);
	CT_TRUE(mpst_daemon_stop(&d) == 0);
	d.extra = NULL;
	CT_TRUE(mpst_daemon_restart(&d) == 0);
	c = client();
	check_shop(c, 2);
	CT_TRUE(registry_has(c, "inv.Item"));
	mps_close(c);
	CT_TRUE(mpst_daemon_stop(&d) == 0);
	mpst_daemon_cleanup(&d);

	/* a bad --schema stops the daemon with the file's name */
	char        out[4096], err[4096];
	const char *missing[] = {mpst_mpstored_path(), "--db", ":memory:", "--listen",
		"ipc:///tmp/mpstore-schema-test-none.ipc", "--pub", "", "--schema",
		"/nonexistent/x.pb", NULL};
	CT_TRUE(mpst_run(missing, out, sizeof(out), err, sizeof(err)) != 0);
	CT_TRUE(su_has(err, "/nonexistent/x.pb"));
	const char *text[] = {mpst_mpstored_path(), "--db", ":memory:", "--listen",
		"ipc:///tmp/mpstore-schema-test-none.ipc", "--pub", "", "--schema", SHOP_PROTO, NULL};
	CT_TRUE(mpst_run(text, out, sizeof(out), err, sizeof(err)) != 0);
	CT_TRUE(su_has(err, SHOP_PROTO) && su_has(err, "FileDescriptorSet"));
}

int
main(void)
{
	ct_on_fail = stop_daemon;
	crash_mode("log");
	crash_mode("fsync");
	snapshot_mode();
	start_schema();
	ct_on_fail = NULL;
	printf("schema_persist_test: ok\n");
	return 0;
}
