/*
 * TLS end to end (issue 13): certificates made with the openssl command in
 * the test's directory (a CA and a server certificate for "localhost"; a
 * second, untrusted CA with a certificate of its own); mpstored listens on
 * tls+tcp:// (requests) and publishes on tls+tcp:// (a free port each).
 *  - libmpstore connects with the CA and the server name (mps_open_with),
 *    runs ops and a watch over TLS (nng's SUB);
 *  - the CLI connects with MPSTORE_TLS_CA (and MPSTORE_TLS_SERVER_NAME);
 *  - without a CA, with the wrong CA, and with the wrong server name the
 *    connection is refused with MPS_ERR_CONNECT and a message that says so;
 *  - a daemon whose certificate comes from an untrusted CA is refused;
 *  - mutual TLS: a daemon started with --tls-client-ca serves a client
 *    that presents a certificate that CA signed (MPSTORE_TLS_CERT/KEY, or
 *    mps_open_opts), and refuses one without a certificate or with one of
 *    the untrusted CA.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client_test_util.h"
#include "support.h"

static mpst_daemon d, evil, mtls;
static char        dir[] = "/tmp/mpst-tls.XXXXXX";

static void cleanup(void)
{
	mpst_daemon_cleanup(&d);
	mpst_daemon_cleanup(&evil);
	mpst_daemon_cleanup(&mtls);
}

static void sh(const char *fmt, const char *a)
{
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), fmt, a, a, a, a, a, a, a, a);
	CT_TRUE(system(cmd) == 0);
}

/* A CA (NAME-ca.crt/key) and a server certificate for localhost signed by
 * it (NAME-srv.crt/key), P-256 keys. */
static void make_certs(const char *name)
{
	char p[300];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
	   "-keyout %s-ca.key -out %s-ca.crt -days 2 -subj '/CN=mpstore test CA' 2>/dev/null",
	    p);
	sh("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
	   "-keyout %s-srv.key -out %s-srv.csr -subj '/CN=localhost' 2>/dev/null",
	    p);
	sh("printf 'subjectAltName=DNS:localhost\\n' > %s-ext.cnf && "
	   "openssl x509 -req -in %s-srv.csr -CA %s-ca.crt -CAkey %s-ca.key -CAcreateserial "
	   "-out %s-srv.crt -days 2 -extfile %s-ext.cnf 2>/dev/null",
	    p);
}

/* A client certificate (NAME-cli.crt/key) signed by CA name. */
static void make_client_cert(const char *name)
{
	char p[300];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	sh("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
	   "-keyout %s-cli.key -out %s-cli.csr -subj '/CN=mpstore test client' 2>/dev/null && "
	   "openssl x509 -req -in %s-cli.csr -CA %s-ca.crt -CAkey %s-ca.key -CAcreateserial "
	   "-out %s-cli.crt -days 2 2>/dev/null",
	    p);
}

static int free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t          sl = sizeof(sa);
	sa.sin_addr.s_addr    = htonl(INADDR_LOOPBACK);
	int fd                = socket(AF_INET, SOCK_STREAM, 0);
	CT_TRUE(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	CT_TRUE(getsockname(fd, (struct sockaddr *)&sa, &sl) == 0);
	close(fd);
	return ntohs(sa.sin_port);
}

/* Start m with tls+tcp:// requests and PUB, certificates of CA name. */
static void start(mpst_daemon *m, const char *name, char *url, char *pub)
{
	static char lsn[2][64], pb[2][64], cert[2][300], key[2][300];
	int         i = m == &evil;
	snprintf(url, 64, "tls+tcp://127.0.0.1:%d", free_port());
	snprintf(pub, 64, "tls+tcp://127.0.0.1:%d", free_port());
	snprintf(lsn[i], sizeof(lsn[i]), "%s", url);
	snprintf(pb[i], sizeof(pb[i]), "%s", pub);
	snprintf(cert[i], sizeof(cert[i]), "%s/%s-srv.crt", dir, name);
	snprintf(key[i], sizeof(key[i]), "%s/%s-srv.key", dir, name);
	const char *args[] = {"--listen", lsn[i], "--pub", pb[i], "--tls-cert", cert[i],
	    "--tls-key", key[i], NULL};
	CT_TRUE(mpst_daemon_start(m, args) == 0);
}

static void refused(const char *url, const char *ca, const char *name, const char *says)
{
	mps_client   *c = NULL;
	mps_open_opts o = {.url = url, .timeout_ms = 3000, .tls_ca_file = ca,
	    .tls_server_name = name};
	CT_CHECK(mps_open_with(&c, &o), MPS_ERR_CONNECT);
	fprintf(stderr, "refused as expected: %s\n", mps_last_error());
	CT_TRUE(strstr(mps_last_error(), says) != NULL);
	CT_TRUE(c == NULL);
}

int main(void)
{
	ct_on_fail = cleanup;
	CT_TRUE(mkdtemp(dir) != NULL);
	make_certs("good");
	make_certs("evil");
	char url[64], pub[64], eurl[64], epub[64], ca[300], eca[300];
	snprintf(ca, sizeof(ca), "%s/good-ca.crt", dir);
	snprintf(eca, sizeof(eca), "%s/evil-ca.crt", dir);
	start(&d, "good", url, pub);
	start(&evil, "evil", eurl, epub);

	/* libmpstore with the CA and the certificate's name */
	mps_client   *c;
	mps_open_opts o = {.url = url, .timeout_ms = 10000, .tls_ca_file = ca,
	    .tls_server_name = "localhost", .client_name = "tls-test"};
	CT_OK(mps_open_with(&c, &o));
	CT_TRUE(strcmp(mps_client_name(c), "tls-test") == 0);
	CT_OK(mps_create_simple(c, "tls.ctr", MPS_KIND_VALUE, MPS_TYPE_INT64));
	mps_watch_opts wo = {.pub_url = pub};
	mps_watcher   *w;
	CT_OK(mps_watch(c, "tls.ctr", &wo, &w));
	int64_t n = 0;
	for (int i = 0; i < 10; i++)
		CT_OK(mps_counter_add(c, "tls.ctr", 1, &n));
	CT_TRUE(n == 10);
	int       seen = 0;
	long long until = mpst_now_ms() + 20000;
	while (seen < 10 && mpst_now_ms() < until) {
		const mps_watch_event *ev;
		mps_err                e = mps_watch_next(w, &ev, 500);
		if (e == MPS_ERR_TIMEOUT)
			continue;
		CT_OK(e);
		seen += ev->type == MPS_WATCH_CHANGE;
	}
	CT_TRUE(seen == 10);
	mps_unwatch(w);
	mps_close(c);

	/* the CLI, from the environment: the CA alone (an IP address: the
	 * chain is checked), then with the name as well */
	setenv("MPSTORE_TLS_CA", ca, 1);
	char        out[4096], err[4096];
	const char *incr[] = {mpst_cli_path(), "--url", url, "incr", "tls.ctr", NULL};
	CT_TRUE(mpst_run(incr, out, sizeof(out), err, sizeof(err)) == 0);
	CT_TRUE(atoi(out) == 11);
	setenv("MPSTORE_TLS_SERVER_NAME", "localhost", 1);
	CT_TRUE(mpst_run(incr, out, sizeof(out), err, sizeof(err)) == 0);
	CT_TRUE(atoi(out) == 12);
	/* ... and refused with the wrong CA */
	setenv("MPSTORE_TLS_CA", eca, 1);
	CT_TRUE(mpst_run(incr, out, sizeof(out), err, sizeof(err)) != 0);
	fprintf(stderr, "CLI with the wrong CA: %s", err);
	CT_TRUE(strstr(err, "ERR_CONNECT") != NULL);
	unsetenv("MPSTORE_TLS_CA");
	unsetenv("MPSTORE_TLS_SERVER_NAME");

	/* refusals */
	refused(url, NULL, "localhost", "no CA file");
	refused(url, eca, "localhost", "authenticated");
	refused(url, ca, "not-the-name", "authenticated");
	refused(eurl, ca, "localhost", "authenticated"); /* the untrusted daemon */

	/* mutual TLS */
	make_client_cert("good");
	make_client_cert("evil");
	char        murl[64], mcert[300], mkey[300], ccert[300], ckey[300], bcert[300], bkey[300];
	static char mlsn[64];
	snprintf(murl, sizeof(murl), "tls+tcp://127.0.0.1:%d", free_port());
	snprintf(mlsn, sizeof(mlsn), "%s", murl);
	snprintf(mcert, sizeof(mcert), "%s/good-srv.crt", dir);
	snprintf(mkey, sizeof(mkey), "%s/good-srv.key", dir);
	snprintf(ccert, sizeof(ccert), "%s/good-cli.crt", dir);
	snprintf(ckey, sizeof(ckey), "%s/good-cli.key", dir);
	snprintf(bcert, sizeof(bcert), "%s/evil-cli.crt", dir);
	snprintf(bkey, sizeof(bkey), "%s/evil-cli.key", dir);
	const char *margs[] = {"--listen", mlsn, "--pub", "", "--tls-cert", mcert, "--tls-key", mkey,
	    "--tls-client-ca", ca, NULL};
	CT_TRUE(mpst_daemon_start(&mtls, margs) == 0);
	mps_open_opts mo = {.url = murl, .timeout_ms = 10000, .tls_ca_file = ca,
	    .tls_server_name = "localhost", .tls_cert_file = ccert, .tls_key_file = ckey};
	CT_OK(mps_open_with(&c, &mo));
	CT_OK(mps_create_simple(c, "mtls", MPS_KIND_LIST, MPS_TYPE_ANY));
	mps_close(c);
	setenv("MPSTORE_TLS_CA", ca, 1);
	setenv("MPSTORE_TLS_CERT", ccert, 1);
	setenv("MPSTORE_TLS_KEY", ckey, 1);
	const char *ls[] = {mpst_cli_path(), "--url", murl, "ls", NULL};
	CT_TRUE(mpst_run(ls, out, sizeof(out), err, sizeof(err)) == 0);
	CT_TRUE(strstr(out, "mtls") != NULL);
	setenv("MPSTORE_TLS_CERT", bcert, 1); /* a certificate the daemon does not trust */
	setenv("MPSTORE_TLS_KEY", bkey, 1);
	CT_TRUE(mpst_run(ls, out, sizeof(out), err, sizeof(err)) != 0);
	fprintf(stderr, "CLI with an untrusted client certificate: %s", err);
	unsetenv("MPSTORE_TLS_CERT");
	unsetenv("MPSTORE_TLS_KEY");
	CT_TRUE(mpst_run(ls, out, sizeof(out), err, sizeof(err)) != 0); /* none at all */
	fprintf(stderr, "CLI without a client certificate: %s", err);
	unsetenv("MPSTORE_TLS_CA");

	CT_TRUE(mpst_daemon_stop(&mtls) == 0);
	CT_TRUE(mpst_daemon_stop(&evil) == 0);
	CT_TRUE(mpst_daemon_stop(&d) == 0);
	cleanup();
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CT_TRUE(system(cmd) == 0);
	printf("ok\n");
	return 0;
}
