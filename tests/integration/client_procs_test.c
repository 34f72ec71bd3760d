/* client_procs_test.c - the seeds' multi-process scenarios, done right:
 * 10 processes x 10 increments of a counter = exactly 100 (seed 002);
 * 3 processes x 3 appends of their id = 9 elements, 3 of each (seed 000);
 * 10 processes each set a dict key = 10 keys (seed 004).
 * Each scenario runs once with fork() (each child opens its own client) and
 * once with children that are separate programs started with exec (this
 * binary run as `client_procs_test child SCENARIO URL ID`, seed 003).
 *
 * The main process never opens a client: set-up and checks run in forked
 * children too, like the workers, each with a client of its own (a handle
 * inherited across fork() is client_fork_test's subject). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client_test_util.h"
#include "support.h"

static mpst_daemon d;
static const char *self;

/* The work of one child process; returns its exit status. */
static int
child_work(const char *scenario, const char *url, int id)
{
	mps_client *c;
	if (mps_open(&c, url, 5000) != MPS_OK) {
		fprintf(stderr, "child %d: open: %s\n", id, mps_last_error());
		return 1;
	}
	mps_err e = MPS_OK;
	char    name[64];
	if (strcmp(scenario, "counter") == 0) {
		for (int i = 0; i < 10 && e == MPS_OK; i++) {
			e = mps_counter_add(c, "seed.counter", 1, NULL);
		}
	} else if (strcmp(scenario, "list") == 0) {
		mps_value v = mps_int(id);
		for (int i = 0; i < 3 && e == MPS_OK; i++) {
			e = mps_list_append(c, "seed.list", &v, NULL);
		}
	} else {
		snprintf(name, sizeof(name), "key%d", id);
		mps_value k = mps_str(name), v = mps_int(id * id);
		e = mps_dict_set(c, "seed.dict", &k, &v);
	}
	if (e != MPS_OK) {
		fprintf(stderr, "child %d: %s: %s\n", id, mps_err_name(e), mps_last_error());
	}
	mps_close(c);
	return e == MPS_OK ? 0 : 1;
}

static void
run_children(const char *scenario, int n, int use_exec)
{
	pid_t pids[16];
	for (int i = 0; i < n; i++) {
		fflush(NULL);
		pid_t pid = fork();
		CT_TRUE(pid >= 0);
		if (pid == 0) {
			ct_on_fail = NULL;
			if (use_exec) {
				char id[16];
				snprintf(id, sizeof(id), "%d", i);
				execl(self, self, "child", scenario, d.url, id, (char *) NULL);
				_exit(127);
			}
			/* a forked child opens its own client */
			_exit(child_work(scenario, d.url, i));
		}
		pids[i] = pid;
	}
	for (int i = 0; i < n; i++) {
		int st;
		CT_TRUE(waitpid(pids[i], &st, 0) == pids[i]);
		CT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
}

/* Run fn(c) in a forked child with its own client; check it exited 0. */
static void
in_child(void (*fn)(mps_client *))
{
	fflush(NULL);
	pid_t pid = fork();
	CT_TRUE(pid >= 0);
	if (pid == 0) {
		mps_client *c;
		ct_on_fail = NULL; /* the daemon is the parent's to stop */
		CT_OK(mps_open(&c, d.url, 5000));
		fn(c);
		mps_close(c);
		_exit(0);
	}
	int st;
	CT_TRUE(waitpid(pid, &st, 0) == pid);
	CT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void
setup(mps_client *c)
{
	mps_delete(c, "seed.counter");
	mps_delete(c, "seed.list");
	mps_delete(c, "seed.dict");
	CT_OK(mps_create_simple(c, "seed.counter", MPS_KIND_VALUE, MPS_TYPE_INT64));
	CT_OK(mps_create_simple(c, "seed.list", MPS_KIND_LIST, MPS_TYPE_INT64));
	CT_OK(mps_create_simple(c, "seed.dict", MPS_KIND_DICT, MPS_TYPE_ANY));
}

static void
check_counter(mps_client *c)
{
	int64_t v;
	CT_OK(mps_counter_get(c, "seed.counter", &v));
	CT_TRUE(v == 100);
}

static void
check_list(mps_client *c)
{
	mps_value *vals;
	size_t     n;
	CT_OK(mps_list_slice(c, "seed.list", 0, 0, 0, &vals, &n));
	CT_TRUE(n == 9);
	int count[3] = {0};
	for (size_t i = 0; i < n; i++) {
		CT_TRUE(vals[i].type == MPS_INT && vals[i].u.i >= 0 && vals[i].u.i < 3);
		count[vals[i].u.i]++;
	}
	CT_TRUE(count[0] == 3 && count[1] == 3 && count[2] == 3);
	mps_values_free(vals, n);
}

static void
check_dict(mps_client *c)
{
	mps_value *keys, *vals;
	size_t     n;
	CT_OK(mps_dict_items(c, "seed.dict", &keys, &vals, &n));
	CT_TRUE(n == 10);
	for (int i = 0; i < 10; i++) {
		char name[32];
		snprintf(name, sizeof(name), "key%d", i);
		mps_value k = mps_str(name), got;
		CT_OK(mps_dict_get(c, "seed.dict", &k, &got));
		CT_TRUE(got.type == MPS_INT && got.u.i == i * i);
	}
	mps_values_free(keys, n);
	mps_values_free(vals, n);
}

static void
scenarios(int use_exec)
{
	const char *how = use_exec ? "exec" : "fork";
	fprintf(stderr, "[ RUN  ] scenarios with %s\n", how);
	in_child(setup);
	run_children("counter", 10, use_exec);
	in_child(check_counter);
	run_children("list", 3, use_exec);
	in_child(check_list);
	run_children("dict", 10, use_exec);
	in_child(check_dict);
	fprintf(stderr, "[  OK  ] scenarios with %s\n", how);
}

static void
stop_daemon(void)
{
	mpst_daemon_cleanup(&d);
}

int
main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "child") == 0) {
		return child_work(argv[2], argv[3], atoi(argv[4]));
	}
	self       = argv[0];
	ct_on_fail = stop_daemon;
	if (mpst_daemon_start(&d, NULL) != 0) {
		fprintf(stderr, "cannot start mpstored (see %s)\n", d.log);
		return 1;
	}
	scenarios(0);
	scenarios(1);
	mpst_daemon_cleanup(&d);
	return 0;
}
