/*
 * persist_upgrade_test - a database written in format version 1 by an
 * older mpstored (tests/fixtures/format-v1.db: containers in a snapshot
 * and in log rows after it) is opened by this one, which upgrades it to
 * the current format in one transaction, says so in its log, and serves
 * everything the file held; the upgraded file has the answers table, the
 * new user_version and meta 'format', and keeps the answers of new writes;
 * the next start does not upgrade again. The sqlite3 command-line tool
 * reads the file, as an operator would.
 */
#include "persist_common.h"

#ifndef MPST_FIXTURES
#error "MPST_FIXTURES: the directory of tests/fixtures"
#endif

/* One integer printed by the sqlite3 tool (-1: it failed). */
static long long sqlite3_cli_int(const char *db, const char *sql)
{
	const char *argv[] = {"/usr/bin/sqlite3", db, sql, NULL};
	char        out[256], err[512];
	int         st = mpst_run(argv, out, sizeof(out), err, sizeof(err));
	if (st != 0) {
		fprintf(stderr, "sqlite3 %s \"%s\": exit %d: %s\n", db, sql, st, err);
		return -1;
	}
	return strtoll(out, NULL, 10);
}

static int log_has(const mpst_daemon *d, const char *needle)
{
	char  buf[65536];
	FILE *f = fopen(d->log, "r");
	if (f == NULL)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strstr(buf, needle) != NULL;
}

static void check_contents(mps_client *c)
{
	int64_t v = 0;
	PT_OK(mps_counter_get(c, "f.ctr", &v));
	PT_TRUE(v == 42, "f.ctr is %lld", (long long)v);

	mps_value *vals = NULL;
	size_t     n = 0;
	PT_OK(mps_list_slice(c, "f.list", 0, 0, 0, &vals, &n));
	PT_TRUE(n == 4, "f.list has %zu elements", n);
	for (size_t i = 0; i < n; i++)
		PT_TRUE(vals[i].type == MPS_INT && vals[i].u.i == (int64_t)i + 1, "f.list[%zu]", i);
	mps_values_free(vals, n);

	mps_value k = mps_str("a"), out;
	PT_OK(mps_dict_get(c, "f.dict", &k, &out));
	PT_TRUE(out.type == MPS_INT && out.u.i == 1, "f.dict a");
	mps_value_free(&out);
	k = mps_str("b");
	PT_OK(mps_dict_get(c, "f.dict", &k, &out));
	PT_TRUE(out.type == MPS_STRING && out.u.s.len == 3 && memcmp(out.u.s.ptr, "two", 3) == 0,
	    "f.dict b");
	mps_value_free(&out);
	k = mps_str("c");
	PT_OK(mps_dict_get(c, "f.dict", &k, &out));
	PT_TRUE(out.type == MPS_DOUBLE && out.u.d == 2.5, "f.dict c");
	mps_value_free(&out);

	int64_t size = 0;
	PT_OK(mps_queue_size(c, "f.q", &size));
	PT_TRUE(size == 2, "f.q holds %lld items", (long long)size);
	int set = 0;
	PT_OK(mps_event_is_set(c, "f.ev", &set));
	PT_TRUE(set, "f.ev is not set");
}

int main(void)
{
	pt_init();
	mpst_daemon d;
	char        fixture[600], cmd[2000];
	snprintf(fixture, sizeof(fixture), "%s/format-v1.db", MPST_FIXTURES);
	PT_TRUE(sqlite3_cli_int(fixture, "PRAGMA user_version") == 1, "%s is not format 1", fixture);

	/* a daemon's directory, then the old file in place of its database */
	pt_start(&d, NULL);
	pt_stop(&d);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && rm -f '%s-wal' '%s-shm'", fixture, d.db, d.db,
	    d.db);
	PT_TRUE(system(cmd) == 0, "%s", cmd);
	pt_restart(&d);
	PT_TRUE(log_has(&d, "upgraded"), "the log does not say the file was upgraded (%s)", d.log);

	mps_client *c = pt_connect(&d);
	check_contents(c);
	/* the revision goes on from the file's (15) */
	PT_TRUE(mps_server(c)->revision == 15, "revision %llu after the upgrade",
	    (unsigned long long)mps_server(c)->revision);
	int64_t v = 0;
	PT_OK(mps_counter_add(c, "f.ctr", 1, &v)); /* a write's answer is kept */
	PT_TRUE(v == 43);
	uint64_t client = mps_server(c)->client_id;
	mps_close(c);
	pt_stop(&d);

	PT_TRUE(sqlite3_cli_int(d.db, "PRAGMA user_version") == 2, "user_version");
	PT_TRUE(sqlite3_cli_int(d.db, "SELECT value FROM meta WHERE key = 'format'") == 2, "meta");
	char sql[200];
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM answers WHERE client_id = %lld",
	    (long long)client);
	PT_TRUE(sqlite3_cli_int(d.db, sql) >= 1, "the write's answer is not in the answers table");

	/* the next start reads format 2 as it is */
	FILE *f = fopen(d.log, "w"); /* start a fresh log */
	PT_TRUE(f != NULL);
	fclose(f);
	pt_restart(&d);
	PT_TRUE(!log_has(&d, "upgraded"), "upgraded twice");
	c = pt_connect(&d);
	PT_OK(mps_counter_get(c, "f.ctr", &v));
	PT_TRUE(v == 43);
	mps_close(c);
	pt_stop(&d);
	pt_done(&d);
	printf("ok\n");
	return 0;
}
