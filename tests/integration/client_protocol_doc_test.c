/* client_protocol_doc_test.c - what docs/protocol.md states and a client
 * written from it relies on, checked against a real daemon (issue 15):
 * section 14's PUB message, byte for byte (25 bytes: prev_revision
 * included); section 2's Result.revision of a read (the store's current
 * revision, also for container reads); section 6's OP_SNAPSHOT and
 * OP_BACKUP in a txn (ERR_INVALID, nothing applied). */
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>

#include "client_test_util.h"
#include "support.h"

static mpst_daemon d;

static void
stop(void)
{
	mpst_daemon_cleanup(&d);
}

int
main(void)
{
	/* in memory: revisions start at 1, as in the page's example */
	const char *const extra[] = {"--durability", "memory", NULL};
	CT_TRUE(mpst_daemon_start(&d, extra) == 0);
	ct_on_fail = stop;

	nng_socket sub;
	CT_TRUE(nng_sub0_open(&sub) == 0);
	CT_TRUE(nng_socket_set(sub, NNG_OPT_SUB_SUBSCRIBE, "jobs", 5) == 0);
	CT_TRUE(nng_socket_set_ms(sub, NNG_OPT_RECVTIMEO, 30000) == 0);
	CT_TRUE(nng_dial(sub, d.pub_url, NULL, 0) == 0);

	/* heartbeats too (topic "\0"): the first one shows the connection is up */
	CT_TRUE(nng_socket_set(sub, NNG_OPT_SUB_SUBSCRIBE, "", 1) == 0);
	char  *m;
	size_t n;
	CT_TRUE(nng_recv(sub, &m, &n, NNG_FLAG_ALLOC) == 0);
	nng_free(m, n);
	mps_client *c;
	CT_OK(mps_open(&c, d.url, 5000));
	CT_OK(mps_create_simple(c, "jobs", MPS_KIND_LIST, MPS_TYPE_INT64));
	mps_value v = mps_int(42);
	CT_OK(mps_list_append(c, "jobs", &v, NULL));

	/* section 14: the create's message, then the append's */
	static const unsigned char want[] = {0x6a, 0x6f, 0x62, 0x73, 0x00, 0x0a, 0x12, 0x08, 0x02,
		0x12, 0x04, 0x6a, 0x6f, 0x62, 0x73, 0x18, 0x02, 0x20, 0x05, 0x4a, 0x02, 0x08, 0x2a,
		0x58, 0x01};
	int found = 0;
	for (int i = 0; i < 2 && !found;) {
		CT_TRUE(nng_recv(sub, &m, &n, NNG_FLAG_ALLOC) == 0);
		if (n > 0 && m[0] == '\0') {
			nng_free(m, n); /* a heartbeat */
			continue;
		}
		found = n == sizeof(want) && memcmp(m, want, n) == 0;
		if (++i == 2 && !found) {
			fprintf(stderr, "PUB message of the append (%zu bytes):", n);
			for (size_t k = 0; k < n; k++) {
				fprintf(stderr, " %02x", (unsigned char) m[k]);
			}
			fputc('\n', stderr);
		}
		nng_free(m, n);
	}
	CT_TRUE(found);

	/* section 2: a read's Result.revision is the store's current revision */
	mps_batch *b;
	mps_op     len = {.code = MPS_OP_LIST_LEN, .name = "jobs"};
	mps_result r;
	CT_OK(mps_batch_alloc(c, &b));
	CT_OK(mps_batch_append(b, &len));
	CT_OK(mps_batch_exec(b));
	CT_OK(mps_batch_result(b, 0, &r));
	CT_TRUE(r.revision == 2 && mps_batch_revision(b) == 2);
	mps_batch_free(b);

	/* section 6: OP_SNAPSHOT and OP_BACKUP in a txn: ERR_INVALID, the
	 * whole txn applies nothing */
	for (int i = 0; i < 2; i++) {
		mps_op set = {.code = MPS_OP_LIST_APPEND, .name = "jobs", .value = mps_int(7)};
		mps_op adm = {.code = i ? MPS_OP_BACKUP : MPS_OP_SNAPSHOT, .value = mps_str("/tmp/x.db")};
		if (!i) {
			adm.value = mps_null();
		}
		CT_OK(mps_batch_alloc(c, &b));
		CT_OK(mps_batch_append(b, &set));
		CT_OK(mps_batch_append(b, &adm));
		CT_OK(mps_txn_else(b));
		CT_CHECK(mps_batch_exec(b), MPS_ERR_INVALID);
		mps_batch_free(b);
	}
	int64_t l;
	CT_OK(mps_list_len(c, "jobs", &l));
	CT_TRUE(l == 1);

	mps_close(c);
	nng_close(sub);
	ct_on_fail = NULL;
	CT_TRUE(mpst_daemon_stop(&d) == 0);
	mpst_daemon_cleanup(&d);
	printf("client_protocol_doc_test: ok\n");
	return 0;
}
