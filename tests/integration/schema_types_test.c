/* schema_types_test.c - typed containers against a real mpstored:
 *  - the generated stubs of tests/plugin/fixtures/shop.proto round-trip
 *    every field type (scalars of every kind, strings, bytes, enums, nested
 *    messages, repeated, maps, oneofs) through lists, dicts, queues, values;
 *  - the daemon refuses, with ERR_SCHEMA naming the type and the problem and
 *    nothing stored: bytes that are not protobuf, a message of another type
 *    whose wire types clash, an element for a container of another message,
 *    in single ops and in a txn; a container of an unknown message type;
 *  - a schema registered by this process is used by another process (exec'ed)
 *    that has only the generated stubs;
 *  - re-registration: same and compatible versions are fine, an incompatible
 *    change to a type containers use is refused; FLAG_CREATE_DECLARED;
 *  - OP_GET_SCHEMA returns the registry; `any` containers keep working.
 *
 * The main process uses nng; the second process is exec'ed (nng 1.5.2 does
 * not survive fork in a process that used it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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

static int64_t
list_len(mps_client *c, const char *name)
{
	int64_t n = -1;
	CT_OK(mps_list_len(c, name, &n));
	return n;
}

/* The op failed with ERR_SCHEMA and a message containing every word. */
static void
expect_schema_error(mps_err e, const char *w1, const char *w2)
{
	if (e != MPS_ERR_SCHEMA || !su_has(mps_last_error(), w1) ||
	    (w2 != NULL && !su_has(mps_last_error(), w2))) {
		fprintf(stderr, "want ERR_SCHEMA naming '%s' and '%s', got %s: %s\n", w1,
		    w2 ? w2 : "", mps_err_name(e), mps_last_error());
		ct_die();
	}
}

static void
test_declared_conflict(mps_client *c)
{
	size_t   len;
	uint8_t *set = su_read(SHOP_PB, &len);
	CT_TRUE(set != NULL);
	/* shop.motd is declared a value of string: a list takes the name first */
	CT_OK(mps_create_simple(c, "shop.motd", MPS_KIND_LIST, MPS_TYPE_ANY));
	CT_CHECK(mps_register_schema(c, set, len, MPS_FLAG_CREATE_DECLARED), MPS_ERR_EXISTS);
	CT_TRUE(su_has(mps_last_error(), "shop.motd"));
	mps_info *infos;
	size_t    n;
	CT_OK(mps_ls(c, "shop.", &infos, &n));
	CT_TRUE(n == 1); /* nothing created */
	mps_infos_free(infos, n);
	mps_value got;
	CT_OK(mps_get_schema(c, &got));
	CT_TRUE(got.u.s.len == 0); /* and nothing registered */
	mps_value_free(&got);
	CT_OK(mps_delete(c, "shop.motd"));

	/* now it goes through, twice: the second time creates nothing */
	mps_batch *b;
	mps_op     op = {.code = MPS_OP_REGISTER_SCHEMA, .flags = MPS_FLAG_CREATE_DECLARED};
	mps_result r;
	op.data     = set;
	op.datalen  = len;
	CT_OK(mps_batch_alloc(c, &b));
	for (int round = 0; round < 2; round++) {
		mps_batch_reset(b);
		CT_OK(mps_batch_append(b, &op));
		CT_OK(mps_batch_exec(b));
		CT_OK(mps_batch_result(b, 0, &r));
		CT_OK(r.status);
		CT_TRUE(r.count == (round == 0 ? 10 : 0));
	}
	mps_batch_free(b);
	CT_OK(mps_ls(c, "shop.", &infos, &n));
	CT_TRUE(n == 10);
	mps_infos_free(infos, n);
	free(set);
}

static void
test_roundtrip(mps_client *c)
{
	CT_OK(shop__register(c)); /* idempotent after the declared creation */
	/* list of Job: every field of Job, both oneof members */
	for (int i = 1; i <= 4; i++) {
		Shop__Job *j = su_job(i);
		int64_t    n;
		CT_OK(shop__jobs__append(c, j, &n));
		CT_TRUE(n == i);
		su_job_free(j);
	}
	for (int i = 1; i <= 4; i++) {
		Shop__Job *want = su_job(i), *got = NULL;
		CT_OK(shop__jobs__get(c, i - 1, &got));
		CT_TRUE(su_same(&want->base, &got->base));
		CT_TRUE(got->id == want->id && strcmp(got->title, want->title) == 0);
		CT_TRUE(got->target_case == (i % 2 ? SHOP__JOB__TARGET_HOST : SHOP__JOB__TARGET_PORT));
		CT_TRUE(got->n_counts == 2 && got->counts[0]->value == INT64_MAX);
		CT_TRUE(got->address != NULL && strcmp(got->address->city, "Oslo") == 0);
		CT_TRUE(got->payload.len == 5 && memcmp(got->payload.data, "\x00\xff\x01\x80\x7f", 5) == 0);
		CT_TRUE(got->n_steps == 2 && got->steps[1]->cost == 1.0 + i);
		su_job_free(want);
		su_job_free(got);
	}
	Shop__Job **all;
	size_t      n;
	CT_OK(shop__jobs__slice(c, 0, 0, 0, &all, &n));
	CT_TRUE(n == 4);
	shop__jobs__free_array(all, n);

	/* dict string -> Job, dict int64 -> Scalars (every scalar kind) */
	Shop__Job *j = su_job(7), *gj = NULL;
	CT_OK(shop__by_id__set(c, "seven", j));
	CT_OK(shop__by_id__get(c, "seven", &gj));
	CT_TRUE(su_same(&j->base, &gj->base));
	su_job_free(gj);
	for (int i = 0; i < 3; i++) {
		Shop__Scalars *s = su_scalars(i), *gs = NULL;
		CT_OK(shop__samples__set(c, -i * 1000000007LL, s));
		CT_OK(shop__samples__get(c, -i * 1000000007LL, &gs));
		CT_TRUE(su_same(&s->base, &gs->base));
		CT_TRUE(gs->f_int32 == INT32_MIN && gs->f_uint64 == UINT64_MAX - (uint64_t) i);
		CT_TRUE(gs->f_sint64 == INT64_MIN && gs->f_fixed64 == 0x0123456789abcdefULL);
		CT_TRUE(gs->f_float == 3.25f && gs->f_enum == SHOP__PRIORITY__HIGH);
		CT_TRUE(gs->n_m_int == 2 && gs->n_r_double == 2);
		su_scalars_free(s);
		su_scalars_free(gs);
	}
	/* an empty message is a valid element too */
	Shop__Scalars empty = SHOP__SCALARS__INIT, *ge = NULL;
	CT_OK(shop__samples__set(c, 42, &empty));
	CT_OK(shop__samples__get(c, 42, &ge));
	CT_TRUE(ge != NULL && ge->f_int64 == 0);
	su_scalars_free(ge);

	/* queue of Job */
	CT_OK(shop__todo__put(c, j, 0, NULL));
	Shop__Job *qj = NULL;
	CT_OK(shop__todo__get(c, 0, &qj));
	CT_TRUE(su_same(&j->base, &qj->base));
	su_job_free(qj);
	su_job_free(j);

	/* value of Address; scalar containers of the store */
	Shop__Address a = SHOP__ADDRESS__INIT, *ga = NULL;
	a.street = (char *) "Storgata 1";
	a.city   = (char *) "Bergen";
	CT_OK(shop__home__set(c, &a));
	CT_OK(shop__home__get(c, &ga));
	CT_TRUE(su_same(&a.base, &ga->base));
	shop__address__free_unpacked(ga, NULL);
	int64_t done;
	CT_OK(shop__done__add(c, 5, &done));
	CT_TRUE(done == 5);
	char *motd = NULL;
	CT_OK(shop__motd__set(c, "hello"));
	CT_OK(shop__motd__get(c, &motd));
	CT_TRUE(strcmp(motd, "hello") == 0);
	free(motd);
}

static void
test_refusals(mps_client *c)
{
	int64_t  before = list_len(c, "shop.jobs");
	uint8_t  junk[] = {0xff, 0xff, 0xff, 0xff};
	mps_value v     = mps_message(junk, sizeof(junk));
	/* 1. not protobuf at all */
	expect_schema_error(mps_list_append(c, "shop.jobs", &v, NULL), "shop.Job", NULL);
	/* a truncated length-delimited field */
	uint8_t trunc[] = {0x12, 0x10, 'a'};
	v = mps_message(trunc, sizeof(trunc));
	expect_schema_error(mps_list_append(c, "shop.jobs", &v, NULL), "shop.Job.title", NULL);

	/* 2. a valid Scalars is not a Job: field 1 is a double (64-bit) there,
	 * an int64 (varint) here */
	Shop__Scalars *s = su_scalars(1);
	size_t         len;
	uint8_t       *bytes = su_pack(&s->base, &len);
	v = mps_message(bytes, len);
	expect_schema_error(mps_list_append(c, "shop.jobs", &v, NULL), "shop.Job.id", "field 1");
	mps_value key = mps_str("x");
	expect_schema_error(mps_dict_set(c, "shop.by_id", &key, &v), "shop.Job", NULL);
	expect_schema_error(mps_queue_put(c, "shop.todo", &v, 0, NULL), "shop.Job", NULL);
	free(bytes);

	/* 3. a Job for a container of Address: Job.id (varint) vs
	 * Address.street (string) */
	Shop__Job *j = su_job(2);
	bytes        = su_pack(&j->base, &len);
	v            = mps_message(bytes, len);
	expect_schema_error(mps_value_set(c, "shop.home", &v), "shop.Address", "field 1");
	/* ... and through the typed API of another container: a Job into
	 * the Scalars dict */
	mps_value k2 = mps_int(1);
	expect_schema_error(mps_dict_set(c, "shop.sample_table", &k2, &v), "shop.Scalars", NULL);

	/* in a txn: the valid first op is undone with the refused second one */
	mps_batch *b;
	mps_value  bad = mps_message(junk, sizeof(junk));
	mps_op     ok_op  = {.code = MPS_OP_LIST_APPEND, .name = "shop.jobs", .value = v};
	mps_op     bad_op = {.code = MPS_OP_LIST_APPEND, .name = "shop.jobs", .value = bad};
	CT_OK(mps_batch_alloc(c, &b));
	mps_value yes = mps_bool(1);
	CT_OK(mps_txn_compare(b, "shop.jobs", MPS_TARGET_EXISTS, MPS_CMP_EQ, NULL, &yes));
	CT_OK(mps_batch_append(b, &ok_op));
	CT_OK(mps_batch_append(b, &bad_op));
	mps_err e = mps_batch_exec(b);
	CT_TRUE(e == MPS_ERR_SCHEMA || (e == MPS_OK && mps_batch_nresults(b) >= 2));
	if (e == MPS_OK) {
		mps_result r;
		CT_OK(mps_batch_result(b, 1, &r));
		CT_TRUE(r.status == MPS_ERR_SCHEMA);
	}
	mps_batch_free(b);
	free(bytes);
	su_job_free(j);
	su_scalars_free(s);

	/* nothing was stored */
	CT_TRUE(list_len(c, "shop.jobs") == before);
	int yes2 = 1;
	CT_OK(shop__by_id__contains(c, "x", &yes2));
	CT_TRUE(yes2 == 0);
	int64_t qn = -1;
	CT_OK(shop__todo__size(c, &qn));
	CT_TRUE(qn == 0);
	Shop__Address *ga = NULL;
	CT_OK(shop__home__get(c, &ga));
	CT_TRUE(ga != NULL && strcmp(ga->city, "Bergen") == 0);
	shop__address__free_unpacked(ga, NULL);

	/* an unknown message type cannot type a container */
	mps_create_opts o = {.kind = MPS_KIND_LIST, .elem_type = MPS_TYPE_MESSAGE,
		.message_type = "shop.Nope"};
	expect_schema_error(mps_create(c, "nope", &o), "unknown message type shop.Nope", NULL);
	mps_info info;
	CT_CHECK(mps_info_get(c, "nope", &info), MPS_ERR_NOT_FOUND);

	/* a message value never goes into an `any` container; other values do */
	CT_OK(mps_create_simple(c, "anything", MPS_KIND_LIST, MPS_TYPE_ANY));
	v = mps_message("\x08\x01", 2);
	CT_CHECK(mps_list_append(c, "anything", &v, NULL), MPS_ERR_WRONG_TYPE);
	mps_value i7 = mps_int(7), str = mps_str("seven"), got;
	CT_OK(mps_list_append(c, "anything", &i7, NULL));
	CT_OK(mps_list_append(c, "anything", &str, NULL));
	CT_OK(mps_list_get(c, "anything", 1, &got));
	CT_TRUE(got.type == MPS_STRING && strcmp(got.u.s.ptr, "seven") == 0);
	mps_value_free(&got);
}

/* The other process: only the generated stubs, no registration. */
static int
child_main(const char *url)
{
	mps_client *c;
	if (mps_open(&c, url, 5000) != MPS_OK) {
		return 2;
	}
	Shop__Job *got = NULL, *want = su_job(1);
	if (shop__jobs__get(c, 0, &got) != MPS_OK || !su_same(&want->base, &got->base)) {
		fprintf(stderr, "child: get: %s\n", mps_last_error());
		return 3;
	}
	su_job_free(got);
	want->id = 4242;
	if (shop__jobs__append(c, want, NULL) != MPS_OK ||
	    shop__by_id__set(c, "from-child", want) != MPS_OK) {
		fprintf(stderr, "child: write: %s\n", mps_last_error());
		return 4;
	}
	/* and its bad element is refused the same way */
	mps_value v = mps_message("\x0a\x05", 2);
	if (mps_list_append(c, "shop.jobs", &v, NULL) != MPS_ERR_SCHEMA) {
		return 5;
	}
	su_job_free(want);
	mps_close(c);
	return 0;
}

static void
test_other_process(mps_client *c, const char *self)
{
	int64_t before = list_len(c, "shop.jobs");
	fflush(NULL);
	pid_t pid = fork();
	CT_TRUE(pid >= 0);
	if (pid == 0) {
		execl(self, self, "child", d.url, (char *) NULL);
		_exit(127);
	}
	int st;
	CT_TRUE(waitpid(pid, &st, 0) == pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "child exited with %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		ct_die();
	}
	CT_TRUE(list_len(c, "shop.jobs") == before + 1);
	Shop__Job *got = NULL;
	CT_OK(shop__by_id__get(c, "from-child", &got));
	CT_TRUE(got->id == 4242 && got->target_case == SHOP__JOB__TARGET_HOST);
	su_job_free(got);
}

static void
test_reregister(mps_client *c)
{
	size_t   l1, lok, lbad;
	uint8_t *v1 = su_read(INV_V1_PB, &l1), *vok = su_read(INV_V2OK_PB, &lok),
	        *vbad = su_read(INV_V2BAD_PB, &lbad);
	CT_TRUE(v1 && vok && vbad);
	/* nothing uses inv.* yet: any version may replace another */
	CT_OK(mps_register_schema(c, vbad, lbad, 0));
	CT_OK(mps_register_schema(c, v1, l1, 0));
	CT_OK(mps_register_schema(c, v1, l1, 0)); /* the same again */
	mps_create_opts o = {.kind = MPS_KIND_LIST, .elem_type = MPS_TYPE_MESSAGE,
		.message_type = "inv.Item"};
	CT_OK(mps_create(c, "inv.items", &o));
	/* Item{id: 1, name: "bolt", part: {sku: "B1", qty: 3}, sizes: [4, 5]} */
	static const uint8_t item[] = {0x08, 0x01, 0x12, 0x04, 'b', 'o', 'l', 't', 0x1a, 0x06, 0x0a,
		0x02, 'B', '1', 0x10, 0x03, 0x22, 0x02, 0x04, 0x05};
	mps_value v = mps_message(item, sizeof(item));
	CT_OK(mps_list_append(c, "inv.items", &v, NULL));
	/* Part.qty int32 -> string, reached through Item.part: refused */
	expect_schema_error(mps_register_schema(c, vbad, lbad, 0), "inv.Part.qty", "string");
	/* a refused registration changed nothing: the old types still check */
	CT_OK(mps_list_append(c, "inv.items", &v, NULL));
	/* compatible: added fields, int32 -> int64, renamed, string -> bytes */
	CT_OK(mps_register_schema(c, vok, lok, 0));
	CT_OK(mps_list_append(c, "inv.items", &v, NULL));
	CT_TRUE(list_len(c, "inv.items") == 3);
	/* and the registry now holds v2ok: check through OP_GET_SCHEMA */
	mps_value      set;
	mpss_registry *reg;
	CT_OK(mps_get_schema(c, &set));
	CT_TRUE(mpss_registry_alloc(&reg) == 0);
	CT_TRUE(mpss_registry_add_set(reg, (const uint8_t *) set.u.s.ptr, set.u.s.len, NULL) == 0);
	CT_TRUE(mpss_registry_find(reg, "shop.Job") != NULL);
	CT_TRUE(mpss_registry_find(reg, "inv.Item") != NULL);
	char *json = NULL;
	CT_TRUE(mpss_to_json(reg, "inv.Item", item, sizeof(item), &json, NULL) == 0);
	CT_TRUE(su_has(json, "\"title\":\"bolt\"")); /* v2ok renamed name -> title */
	free(json);
	mpss_registry_free(reg);
	mps_value_free(&set);
	/* garbage is not a descriptor set */
	CT_CHECK(mps_register_schema(c, "\xff\xff", 2, 0), MPS_ERR_SCHEMA);
	free(v1);
	free(vok);
	free(vbad);
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "child") == 0) {
		return child_main(argv[2]);
	}
	CT_TRUE(mpst_daemon_start(&d, NULL) == 0);
	ct_on_fail = stop_daemon;
	mps_client *c = client();
	test_declared_conflict(c);
	test_roundtrip(c);
	test_refusals(c);
	test_other_process(c, argv[0]);
	test_reregister(c);
	mps_close(c);
	ct_on_fail = NULL;
	CT_TRUE(mpst_daemon_stop(&d) == 0);
	mpst_daemon_cleanup(&d);
	printf("schema_types_test: ok\n");
	return 0;
}
