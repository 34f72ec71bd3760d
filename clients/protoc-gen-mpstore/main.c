/*
 * main.c - protoc-gen-mpstore: reads a CodeGeneratorRequest on stdin,
 * writes a CodeGeneratorResponse on stdout. For every file to generate that
 * declares containers (schema/mpstore/options.proto), it emits NAME.mps.h
 * and NAME.mps.c next to protoc-c's NAME.pb-c.h/.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gen.h"
#include "google/protobuf/compiler/plugin.pb-c.h"
#include "schema_int.h"

typedef Google__Protobuf__Compiler__CodeGeneratorRequest  gen_request;
typedef Google__Protobuf__Compiler__CodeGeneratorResponse gen_response;
typedef Google__Protobuf__Compiler__CodeGeneratorResponse__File gen_rfile;

static uint8_t *
read_all(FILE *f, size_t *len)
{
	size_t   cap = 65536, n = 0, r;
	uint8_t *p = malloc(cap);
	while (p != NULL && (r = fread(p + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap) {
			uint8_t *q = realloc(p, cap *= 2);
			if (q == NULL)
				free(p);
			p = q;
		}
	}
	*len = n;
	return p;
}

static const gpb_file *
find_file(const gen_request *req, const char *name)
{
	for (size_t i = 0; i < req->n_proto_file; i++)
		if (strcmp(req->proto_file[i]->name, name) == 0)
			return req->proto_file[i];
	return NULL;
}

/* appends f after its dependencies (each once) as FileDescriptorSet.file */
static void
add_with_deps(const gen_request *req, const gpb_file *f, mpss_buf *set, const gpb_file **done,
              size_t *n_done)
{
	gpb_file                           *w = (gpb_file *)f;
	Google__Protobuf__SourceCodeInfo   *sci;
	size_t                              len;
	uint8_t                            *b;
	for (size_t i = 0; i < *n_done; i++)
		if (done[i] == f)
			return;
	done[(*n_done)++] = f;
	for (size_t d = 0; d < f->n_dependency; d++) {
		const gpb_file *dep = find_file(req, f->dependency[d]);
		if (dep != NULL)
			add_with_deps(req, dep, set, done, n_done);
	}
	/* source comments are of no use to the daemon: leave them out */
	sci = w->source_code_info;
	w->source_code_info = NULL;
	len = protobuf_c_message_get_packed_size(&w->base);
	if ((b = malloc(len ? len : 1)) != NULL) {
		protobuf_c_message_pack(&w->base, b);
		mpss__buf_varint(set, (1 << 3) | 2);
		mpss__buf_varint(set, len);
		mpss__buf_put(set, b, len);
		free(b);
	} else {
		set->oom = true;
	}
	w->source_code_info = sci;
}

static char *
store_short(const char *store_full, const char *package)
{
	size_t n = package ? strlen(package) : 0;
	if (n > 0 && strncmp(store_full, package, n) == 0 && store_full[n] == '.')
		return mpsg_c_lower(store_full + n + 1);
	return mpsg_c_lower(store_full);
}

static gen_rfile *
rfile(const char *name, mpsg_out *content)
{
	gen_rfile *r = malloc(sizeof(*r));
	if (r == NULL)
		return NULL;
	google__protobuf__compiler__code_generator_response__file__init(r);
	r->name = strdup(name);
	r->content = content->p;
	return r;
}

static int
generate(const gen_request *req, const mpss_registry *reg, const char *name, gen_response *resp,
         char **error)
{
	const gpb_file *fd = find_file(req, name);
	mpss_container *cs;
	size_t          n;
	mpss_error      err;
	mpsg_file       f = {0};
	mpss_buf        set = {0};
	const gpb_file *done[1024];
	size_t          n_done = 0;
	mpsg_out        h = {0}, c = {0};
	char           *hn, *cn;

	if (fd == NULL) {
		*error = mpsg_strdup_printf("%s: not in the request", name);
		return -1;
	}
	if (mpss_containers(reg, name, &cs, &n, &err) != 0) {
		*error = mpsg_strdup_printf("%s: %s", name, err.msg);
		return -1;
	}
	/* a file without containers still gets (near empty) stubs: build rules
	 * can then always expect both outputs */
	f.proto = name;
	f.base = mpsg_file_base(name);
	hn = mpsg_strdup_printf("%s.mps.h", f.base);
	cn = mpsg_strdup_printf("%s.mps.c", f.base);
	f.guard = mpsg_ident(hn, true);
	{
		char *id = mpsg_ident(f.base, false);
		f.set_sym = mpsg_strdup_printf("%s__mps_descriptor_set", id);
		free(id);
	}
	f.conts = calloc(n ? n : 1, sizeof(*f.conts));
	f.n = n;
	for (size_t i = 0; i < n; i++) {
		mpsg_cont *k = &f.conts[i];
		char      *field = mpsg_c_lower(cs[i].field);
		k->c = &cs[i];
		k->store_low = store_short(cs[i].store, fd->package);
		k->prefix = mpsg_strdup_printf("%s__%s", k->store_low, field);
		k->macro = mpsg_ident(k->prefix, true);
		if (cs[i].message_type != NULL) {
			k->msg_type = mpsg_c_type(cs[i].message_type);
			k->msg_low = mpsg_c_lower(cs[i].message_type);
		}
		free(field);
	}
	add_with_deps(req, fd, &set, done, &n_done);
	f.set = set.p;
	f.set_len = set.len;
	mpsg_gen_header(&h, &f);
	mpsg_gen_source(&c, &f);

	resp->file = realloc(resp->file, (resp->n_file + 2) * sizeof(*resp->file));
	resp->file[resp->n_file++] = rfile(hn, &h);
	resp->file[resp->n_file++] = rfile(cn, &c);

	for (size_t i = 0; i < n; i++) {
		free(f.conts[i].store_low);
		free(f.conts[i].prefix);
		free(f.conts[i].macro);
		free(f.conts[i].msg_type);
		free(f.conts[i].msg_low);
	}
	free(f.conts);
	free(f.base);
	free(f.guard);
	free(f.set_sym);
	free(hn);
	free(cn);
	free(set.p);
	mpss_containers_free(cs, n);
	return 0;
}

static const char usage_text[] =
    "usage: protoc --mpstore_out=DIR [-I DIR]... FILE.proto...\n"
    "\n"
    "protoc-gen-mpstore is a protoc plugin: protoc runs it, writing a\n"
    "CodeGeneratorRequest to its stdin, and it answers with NAME.mps.h and\n"
    "NAME.mps.c (typed C stubs over libmpstore) for every FILE.proto. On PATH,\n"
    "`--mpstore_out=DIR` finds it; elsewhere add\n"
    "--plugin=protoc-gen-mpstore=/path/to/protoc-gen-mpstore. Import\n"
    "mpstore/options.proto with -I <prefix>/share/mpstore/proto. See docs/schemas.md.\n";

int
main(int argc, char **argv)
{
	if (argc > 1) {
		if (strcmp(argv[1], "--version") == 0) {
			printf("protoc-gen-mpstore %s\n", MPSG_VERSION);
			return 0;
		}
		if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
			fputs(usage_text, stdout);
			return 0;
		}
		fprintf(stderr, "protoc-gen-mpstore: unknown argument %s\n%s", argv[1], usage_text);
		return 2;
	}
	if (isatty(STDIN_FILENO)) {
		/* a person ran it: protoc would have given a pipe */
		fputs(usage_text, stderr);
		return 2;
	}
	size_t         len, out_len;
	uint8_t       *in = read_all(stdin, &len), *out;
	gen_request   *req;
	gen_response   resp = GOOGLE__PROTOBUF__COMPILER__CODE_GENERATOR_RESPONSE__INIT;
	mpss_registry *reg = NULL;
	mpss_buf       all = {0};
	mpss_error     err;
	char          *error = NULL;

	if (in == NULL || (req = google__protobuf__compiler__code_generator_request__unpack(
	                       NULL, len, in)) == NULL) {
		fprintf(stderr, "protoc-gen-mpstore: cannot read a CodeGeneratorRequest on stdin "
		                "(run me from protoc: protoc --mpstore_out=DIR ...)\n");
		return 1;
	}
	/* every file protoc gave us, in its (dependency) order, as one set */
	for (size_t i = 0; i < req->n_proto_file; i++) {
		size_t   n = protobuf_c_message_get_packed_size(&req->proto_file[i]->base);
		uint8_t *b = malloc(n ? n : 1);
		if (b == NULL)
			return 1;
		protobuf_c_message_pack(&req->proto_file[i]->base, b);
		mpss__buf_varint(&all, (1 << 3) | 2);
		mpss__buf_varint(&all, n);
		mpss__buf_put(&all, b, n);
		free(b);
	}
	if (all.oom || mpss_registry_alloc(&reg) != 0) {
		fprintf(stderr, "protoc-gen-mpstore: out of memory\n");
		return 1;
	}
	if (mpss_registry_add_set(reg, all.p, all.len, &err) != 0)
		error = mpsg_strdup_printf("%s", err.msg);
	for (size_t i = 0; error == NULL && i < req->n_file_to_generate; i++)
		generate(req, reg, req->file_to_generate[i], &resp, &error);
	size_t n_files = resp.n_file; /* freed below, also on error */
	if (error != NULL) {
		resp.error = error;
		resp.n_file = 0;
	}
	resp.has_supported_features = 1;
	resp.supported_features =
	    GOOGLE__PROTOBUF__COMPILER__CODE_GENERATOR_RESPONSE__FEATURE__FEATURE_PROTO3_OPTIONAL;
	out_len = google__protobuf__compiler__code_generator_response__get_packed_size(&resp);
	if ((out = malloc(out_len ? out_len : 1)) == NULL)
		return 1;
	google__protobuf__compiler__code_generator_response__pack(&resp, out);
	if (fwrite(out, 1, out_len, stdout) != out_len || fflush(stdout) != 0)
		return 1;
	for (size_t i = 0; i < n_files; i++) {
		free(resp.file[i]->name);
		free(resp.file[i]->content);
		free(resp.file[i]);
	}
	free(resp.file);
	free(error);
	free(out);
	mpss_registry_free(reg);
	google__protobuf__compiler__code_generator_request__free_unpacked(req, NULL);
	free(in);
	free(all.p);
	return 0;
}
