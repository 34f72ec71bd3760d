/*
 * libmpstore against a daemon with an auth key: the handshake at open, on
 * every reconnection (a daemon killed and restarted) and in a forked
 * child; a wrong key refused; and watching without PUB (a key turns it
 * off): the watch pulls with OP_CHANGES that wait, and sees every change.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client_test_util.h"
#include "support.h"

static mpst_daemon d;
static char        keyfile[300];

static void stop_daemon(void) { mpst_daemon_cleanup(&d); }

static mps_client *open_key(const char *key, mps_err want)
{
	mps_client *c = NULL;
	CT_CHECK(mps_open_auth(&c, d.url, 5000, key, strlen(key)), want);
	return c;
}

int main(void)
{
	snprintf(keyfile, sizeof(keyfile), "/tmp/mpst-ckey-%ld", (long)getpid());
	FILE *f = fopen(keyfile, "w");
	CT_TRUE(f != NULL);
	fputs("k3y", f);
	fclose(f);
	const char *args[] = {"--auth-key-file", keyfile, NULL};
	CT_TRUE(mpst_daemon_start_default_pub(&d, args) == 0);
	ct_on_fail = stop_daemon;

	/* a wrong key, and none */
	open_key("wrong", MPS_ERR_AUTH);
	mps_client *none = NULL;
	CT_CHECK(mps_open(&none, d.url, 5000), MPS_ERR_AUTH);

	mps_client *c = open_key("k3y", MPS_OK);
	CT_TRUE(mps_server(c)->pub_url == NULL); /* with a key PUB is off */
	CT_OK(mps_create_simple(c, "n", MPS_KIND_VALUE, MPS_TYPE_INT64));

	/* a watch without PUB: every change, in order */
	mps_watcher   *w;
	mps_watch_opts wo = {0};
	CT_OK(mps_watch(c, "n", &wo, &w));
	mps_client *wr = open_key("k3y", MPS_OK);
	for (int i = 1; i <= 20; i++) {
		int64_t v;
		CT_OK(mps_counter_add(wr, "n", 1, &v));
	}
	int64_t last = 0;
	for (int seen = 0; seen < 20;) {
		const mps_watch_event *ev;
		CT_OK(mps_watch_next(w, &ev, 10000));
		if (ev->type != MPS_WATCH_CHANGE)
			continue;
		CT_TRUE(ev->value.type == MPS_INT && ev->value.u.i == last + 1);
		last = ev->value.u.i;
		seen++;
	}
	/* nothing more: the wait ends at its timeout */
	const mps_watch_event *ev;
	mps_err                e;
	while ((e = mps_watch_next(w, &ev, 300)) == MPS_OK)
		CT_TRUE(ev->type != MPS_WATCH_CHANGE);
	CT_CHECK(e, MPS_ERR_TIMEOUT);

	/* kill -9 and restart: the handle reconnects and authenticates again */
	CT_TRUE(mpst_daemon_kill(&d, SIGKILL) == 128 + SIGKILL);
	CT_TRUE(mpst_daemon_restart(&d) == 0);
	int64_t v = 0;
	CT_OK(mps_counter_add(c, "n", 1, &v));
	CT_TRUE(v == 21);
	CT_OK(mps_counter_add(wr, "n", 1, &v));
	CT_TRUE(v == 22);
	/* and the watch goes on through it */
	for (int seen = 0; seen < 2;) {
		CT_OK(mps_watch_next(w, &ev, 10000));
		if (ev->type == MPS_WATCH_CHANGE) {
			CT_TRUE(ev->value.u.i == 21 + seen);
			seen++;
		}
	}

	/* a child uses the inherited handle: its own connection, authenticated */
	pid_t pid = fork();
	CT_TRUE(pid >= 0);
	if (pid == 0) {
		int64_t cv = 0;
		_exit(mps_counter_add(c, "n", 10, &cv) == MPS_OK && cv == 32 ? 0 : 1);
	}
	int st;
	CT_TRUE(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CT_OK(mps_counter_get(c, "n", &v));
	CT_TRUE(v == 32);

	mps_unwatch(w);
	mps_close(wr);
	mps_close(c);
	CT_TRUE(mpst_daemon_stop(&d) == 0);
	mpst_daemon_cleanup(&d);
	unlink(keyfile);
	printf("client_auth_test: ok\n");
	return 0;
}
