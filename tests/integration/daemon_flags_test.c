/*
 * mpstored's command line: --help, bad flags, a bad URL, an address in
 * use, and a clean exit with status 0 on SIGTERM and SIGINT.
 */
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sys/stat.h>

#include "support.h"

static char out[8192], err[8192];

static int run(const char *const *argv)
{
	return mpst_run(argv, out, sizeof(out), err, sizeof(err));
}

static void test_help_and_version(void **state)
{
	(void)state;
	assert_int_equal(run((const char *const[]){mpst_mpstored_path(), "--help", NULL}), 0);
	assert_non_null(strstr(out, "--listen"));
	assert_non_null(strstr(out, "--durability"));
	assert_int_equal(run((const char *const[]){mpst_mpstored_path(), "--version", NULL}), 0);
	assert_non_null(strstr(out, "mpstored "));
}

static void test_bad_flags(void **state)
{
	(void)state;
	assert_int_equal(run((const char *const[]){mpst_mpstored_path(), "--frobnicate", NULL}), 2);
	assert_non_null(strstr(err, "--frobnicate"));
	assert_int_equal(run((const char *const[]){mpst_mpstored_path(), "--durability", "sometimes",
	    NULL}), 2);
	assert_non_null(strstr(err, "--durability"));
	assert_int_equal(run((const char *const[]){mpst_mpstored_path(), "--listen", NULL}), 2);
	assert_non_null(strstr(err, "needs a value"));
}

static void test_bad_url(void **state)
{
	(void)state;
	int rv = run((const char *const[]){mpst_mpstored_path(), "--durability", "memory", "--pub",
	    "", "--listen", "bogus://nowhere", NULL});
	assert_int_equal(rv, 1);
	assert_non_null(strstr(err, "bogus://nowhere"));
	assert_int_equal(strchr(err, '\n') - err + 1, (long)strlen(err)); /* one line */
}

static void test_address_in_use(void **state)
{
	(void)state;
	mpst_daemon d;
	/* nng 1.5.2 leaks the connections stuck by its bug #1518 (below) when
	 * the listener is reopened: not ours to report, in this daemon only */
	const char *asan = getenv("ASAN_OPTIONS");
	char        saved[512];
	snprintf(saved, sizeof(saved), "%s", asan != NULL ? asan : "");
	setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
	int started = mpst_daemon_start(&d, (const char *const[]){"--durability", "memory", NULL});
	if (asan != NULL)
		setenv("ASAN_OPTIONS", saved, 1);
	else
		unsetenv("ASAN_OPTIONS");
	assert_int_equal(started, 0);
	int rv = run((const char *const[]){mpst_mpstored_path(), "--durability", "memory", "--pub",
	    "", "--listen", d.url, NULL});
	assert_int_equal(rv, 1);
	assert_non_null(strstr(err, "address in use"));
	/* the first daemon is unharmed, and exits cleanly on SIGINT */
	/* nng checks the address by connecting and closing without a handshake,
	 * which trips nng bug #1518 in the first daemon until its watchdog
	 * reopens the listener (docs/security.md) */
	assert_int_equal(mpst_daemon_wait_ready(&d, 15000), 0);
	assert_int_equal(mpst_daemon_kill(&d, SIGINT), 0);
	mpst_daemon_cleanup(&d);
}

static void test_clean_sigterm_with_db(void **state)
{
	(void)state;
	mpst_daemon d;
	assert_int_equal(mpst_daemon_start(&d, NULL), 0);
	assert_int_equal(mpst_daemon_stop(&d), 0);
	/* the log says it wrote a final snapshot and stopped */
	FILE *f = fopen(d.log, "r");
	assert_non_null(f);
	size_t n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	fclose(f);
	assert_non_null(strstr(out, "final snapshot"));
	assert_non_null(strstr(out, "stopped"));
	mpst_daemon_cleanup(&d);
}

static int is_socket(const char *ipc_url)
{
	struct stat st;
	return stat(ipc_url + 6, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* Without --pub, two daemons on different --listen addresses publish beside
 * them (X.ipc -> X-pub.ipc) instead of both on the fixed default, where the
 * second used to fail to start. */
static mpst_daemon a, b;

static int stop_both(void **state)
{
	(void)state;
	mpst_daemon_cleanup(&a); /* by pid, also after a failed assertion */
	mpst_daemon_cleanup(&b);
	return 0;
}

static void test_pub_beside_listen(void **state)
{
	(void)state;
	const char *const args[] = {"--durability", "memory", NULL};
	assert_int_equal(mpst_daemon_start_default_pub(&a, args), 0);
	assert_int_equal(mpst_daemon_start_default_pub(&b, args), 0);
	assert_true(is_socket(a.pub_url));
	assert_true(is_socket(b.pub_url));
	assert_true(strcmp(a.pub_url, b.pub_url) != 0);
	/* and each says so, as its hello does (pub=URL) */
	FILE *f = fopen(b.log, "r");
	assert_non_null(f);
	size_t n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	fclose(f);
	char want[400];
	snprintf(want, sizeof(want), "(pub %s)", b.pub_url);
	assert_non_null(strstr(out, want));
	assert_int_equal(mpst_daemon_stop(&a), 0);
	assert_int_equal(mpst_daemon_stop(&b), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_help_and_version),
	    cmocka_unit_test(test_bad_flags),
	    cmocka_unit_test(test_bad_url),
	    cmocka_unit_test(test_address_in_use),
	    cmocka_unit_test(test_clean_sigterm_with_db),
	    cmocka_unit_test_teardown(test_pub_beside_listen, stop_both),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
