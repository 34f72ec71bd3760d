/*
 * Security: tls+tcp:// serves requests to a client that verifies the
 * daemon's certificate; a bad certificate is a clear error at start. (The
 * auth key: net_auth_test.c.)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/tls/tls.h>

#include "mpstore.pb-c.h"
#include "support.h"

static Mpstore__Response *call(nng_socket s, Mpstore__Request *rq)
{
	uint8_t buf[512];
	size_t  n = mpstore__request__pack(rq, buf);
	assert_int_equal(nng_send(s, buf, n, 0), 0);
	void  *r;
	size_t rl;
	assert_int_equal(nng_recv(s, &r, &rl, NNG_FLAG_ALLOC), 0);
	Mpstore__Response *resp = mpstore__response__unpack(NULL, rl, r);
	nng_free(r, rl);
	assert_non_null(resp);
	return resp;
}

static void create_req(Mpstore__Request *rq, Mpstore__Op *op, Mpstore__Op **ops)
{
	mpstore__request__init(rq);
	mpstore__op__init(op);
	op->code = MPSTORE__OP_CODE__OP_CREATE;
	op->name = "secret";
	op->kind = MPSTORE__KIND__KIND_LIST;
	ops[0] = op;
	rq->version = 1;
	rq->id = 1;
	rq->ops = ops;
	rq->n_ops = 1;
}

static void test_tls(void **state)
{
	(void)state;
	char dir[] = "/tmp/mpst-tls-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char cmd[1024], cert[300], key[300];
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	snprintf(cmd, sizeof(cmd),
	    "openssl req -x509 -newkey rsa:2048 -nodes -keyout %s -out %s -days 2 "
	    "-subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null",
	    key, cert);
	assert_int_equal(system(cmd), 0);
	char url[64];
	int  port = 20000 + (int)(getpid() % 30000);
	snprintf(url, sizeof(url), "tls+tcp://127.0.0.1:%d", port);
	mpst_daemon d;
	assert_int_equal(mpst_daemon_start(&d, (const char *const[]){"--durability", "memory",
	    "--listen", url, "--tls-cert", cert, "--tls-key", key, NULL}), 0);
	nng_socket      s;
	nng_dialer      dl;
	nng_tls_config *tls;
	assert_int_equal(nng_req0_open(&s), 0);
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 5000);
	assert_int_equal(nng_dialer_create(&dl, s, url), 0);
	assert_int_equal(nng_tls_config_alloc(&tls, NNG_TLS_MODE_CLIENT), 0);
	assert_int_equal(nng_tls_config_ca_file(tls, cert), 0);
	assert_int_equal(nng_tls_config_server_name(tls, "localhost"), 0);
	assert_int_equal(nng_tls_config_auth_mode(tls, NNG_TLS_AUTH_MODE_REQUIRED), 0);
	assert_int_equal(nng_dialer_set_ptr(dl, NNG_OPT_TLS_CONFIG, tls), 0);
	nng_tls_config_free(tls);
	assert_int_equal(nng_dialer_start(dl, 0), 0);
	Mpstore__Request rq;
	Mpstore__Op      op, *ops[1];
	create_req(&rq, &op, ops);
	Mpstore__Response *r = call(s, &rq);
	assert_int_equal(r->status, 0);
	assert_int_equal(r->results[0]->status, 0);
	assert_true(r->results[0]->flag); /* created */
	mpstore__response__free_unpacked(r, NULL);
	nng_close(s);
	assert_int_equal(mpst_daemon_stop(&d), 0);
	mpst_daemon_cleanup(&d);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* --tls-cert without a readable file: a clear error at start. */
static void test_tls_bad_cert(void **state)
{
	(void)state;
	char out[2048], err[2048];
	int  rv = mpst_run((const char *const[]){mpst_mpstored_path(), "--durability", "memory",
	    "--listen", "tls+tcp://127.0.0.1:1", "--pub", "", "--tls-cert", "/nonexistent.pem",
	    "--tls-key", "/nonexistent.key", NULL}, out, sizeof(out), err, sizeof(err));
	assert_int_not_equal(rv, 0);
	assert_non_null(strstr(err, "/nonexistent"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tls),
	    cmocka_unit_test(test_tls_bad_cert),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
