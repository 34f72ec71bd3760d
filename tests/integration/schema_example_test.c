/* schema_example_test.c - examples/jobs as a user builds it: install this
 * build to a temporary prefix (cmake --install), configure and build the
 * example against it (find_package(mpstore), mpstore_generate), run it
 * against a real daemon, twice (the second run finds its containers). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema_util.h"
#include "support.h"

static mpst_daemon d;
static char        out[65536], err[65536];

static void
stop_daemon(void)
{
	mpst_daemon_cleanup(&d);
}

static void
run(const char *const argv[])
{
	int rv = mpst_run(argv, out, sizeof(out), err, sizeof(err));
	if (rv != 0) {
		fprintf(stderr, "%s %s %s ... exited %d\n--- stdout\n%s\n--- stderr\n%s\n", argv[0],
		    argv[1] ? argv[1] : "", argv[1] && argv[2] ? argv[2] : "", rv, out, err);
		ct_die();
	}
}

int
main(void)
{
	CT_TRUE(mpst_daemon_start(&d, NULL) == 0);
	ct_on_fail = stop_daemon;
	char prefix[400], build[400], exe[450], cpp[420];
	snprintf(prefix, sizeof(prefix), "%s/prefix", d.dir);
	snprintf(build, sizeof(build), "%s/build", d.dir);
	snprintf(exe, sizeof(exe), "%s/jobs", build);
	snprintf(cpp, sizeof(cpp), "-DCMAKE_PREFIX_PATH=%s", prefix);

	const char *install[] = {CMAKE_BIN, "--install", PROJECT_BIN, "--prefix", prefix, NULL};
	run(install);
	/* a sanitized libmpstore needs its runtime in the example too */
	const char *configure[] = {CMAKE_BIN, "-S", PROJECT_SRC "/examples/jobs", "-B", build, cpp,
		"-DCMAKE_C_FLAGS=" EXAMPLE_C_FLAGS, NULL};
	run(configure);
	const char *make[] = {CMAKE_BIN, "--build", build, NULL};
	run(make);

	const char *jobs[] = {exe, d.url, NULL};
	run(jobs);
	fputs(out, stdout);
	CT_TRUE(su_has(out, "completed 3 jobs in total; all good"));
	run(jobs);
	CT_TRUE(su_has(out, "completed 6 jobs in total; all good"));

	/* the installed CLI shows the example's typed data as JSON */
	char cli[450];
	snprintf(cli, sizeof(cli), "%s/bin/mpstore", prefix);
	const char *get[] = {cli, "--url", d.url, "get", "jobs.finished", "job-3", NULL};
	run(get);
	CT_TRUE(su_has(out, "\"command\": \"make install\""));
	CT_TRUE(su_has(out, "\"state\": \"DONE\""));
	CT_TRUE(su_has(out, "\"env\": {"));

	ct_on_fail = NULL;
	CT_TRUE(mpst_daemon_stop(&d) == 0);
	mpst_daemon_cleanup(&d);
	printf("schema_example_test: ok\n");
	return 0;
}
