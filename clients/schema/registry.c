/*
 * registry.c - the set of loaded .proto files and the index of their
 * message and enum types.
 *
 * Each file is kept as its own packed FileDescriptorProto plus the unpacked
 * form; the index (types sorted by full name, fields resolved) is rebuilt
 * from scratch on every merge, which makes a merge all-or-nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "schema_int.h"

static void
index_fini(mpss_registry *reg)
{
	for (size_t i = 0; i < reg->n_msgs; i++) {
		mpss_msg *m = &reg->msgs[i];
		for (size_t k = 0; k < m->n_fields; k++)
			free(m->fields[k].json_alloc);
		free(m->fields);
		free(m->full);
	}
	for (size_t i = 0; i < reg->n_enums; i++)
		free(reg->enums[i].full);
	free(reg->msgs);
	free(reg->enums);
	reg->msgs = NULL;
	reg->enums = NULL;
	reg->n_msgs = reg->n_enums = 0;
}

static void
files_fini(mpss_file *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		google__protobuf__file_descriptor_proto__free_unpacked(f[i].fd, NULL);
		free(f[i].bytes);
	}
	free(f);
}

int
mpss_registry_alloc(mpss_registry **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : MPS_ERR_NOMEM;
}

void
mpss_registry_free(mpss_registry *reg)
{
	if (reg == NULL)
		return;
	index_fini(reg);
	files_fini(reg->files, reg->n_files);
	free(reg);
}

size_t mpss_registry_n_files(const mpss_registry *reg) { return reg->n_files; }
size_t mpss_registry_n_messages(const mpss_registry *reg) { return reg->n_msgs; }
const char *mpss_msg_name(const mpss_msg *m) { return m->full; }

static char *
join(const char *scope, const char *name)
{
	size_t a = strlen(scope), b = strlen(name);
	char  *s = malloc(a + b + 2);
	if (s == NULL)
		return NULL;
	if (a) {
		memcpy(s, scope, a);
		s[a++] = '.';
	}
	memcpy(s + a, name, b + 1);
	return s;
}

static int
collect(mpss_registry *reg, const gpb_file *f, const char *scope, gpb_msg *const *msgs,
        size_t n_msgs, gpb_enum *const *enums, size_t n_enums, size_t *cap_m, size_t *cap_e)
{
	for (size_t i = 0; i < n_enums; i++) {
		if (reg->n_enums == *cap_e) {
			size_t     c = *cap_e ? *cap_e * 2 : 16;
			mpss_enum *p = realloc(reg->enums, c * sizeof(*p));
			if (p == NULL)
				return MPS_ERR_NOMEM;
			reg->enums = p;
			*cap_e = c;
		}
		mpss_enum *e = &reg->enums[reg->n_enums];
		if ((e->full = join(scope, enums[i]->name ? enums[i]->name : "")) == NULL)
			return MPS_ERR_NOMEM;
		e->d = enums[i];
		reg->n_enums++;
	}
	for (size_t i = 0; i < n_msgs; i++) {
		const gpb_msg *d = msgs[i];
		char          *full;
		int            rv;
		if (reg->n_msgs == *cap_m) {
			size_t    c = *cap_m ? *cap_m * 2 : 16;
			mpss_msg *p = realloc(reg->msgs, c * sizeof(*p));
			if (p == NULL)
				return MPS_ERR_NOMEM;
			reg->msgs = p;
			*cap_m = c;
		}
		if ((full = join(scope, d->name ? d->name : "")) == NULL)
			return MPS_ERR_NOMEM;
		mpss_msg *m = &reg->msgs[reg->n_msgs++];
		memset(m, 0, sizeof(*m));
		m->full = full;
		m->d = d;
		m->file = f;
		m->proto3 = f->syntax != NULL && strcmp(f->syntax, "proto3") == 0;
		m->map_entry = d->options != NULL && d->options->has_map_entry && d->options->map_entry;
		rv = collect(reg, f, full, d->nested_type, d->n_nested_type, d->enum_type,
		             d->n_enum_type, cap_m, cap_e);
		if (rv != 0)
			return rv;
	}
	return 0;
}

static int
cmp_msg(const void *a, const void *b)
{
	return strcmp(((const mpss_msg *)a)->full, ((const mpss_msg *)b)->full);
}

static int
cmp_enum(const void *a, const void *b)
{
	return strcmp(((const mpss_enum *)a)->full, ((const mpss_enum *)b)->full);
}

static const char *
undot(const char *name)
{
	return name[0] == '.' ? name + 1 : name;
}

const mpss_msg *
mpss_registry_find(const mpss_registry *reg, const char *name)
{
	mpss_msg key;
	if (reg == NULL || name == NULL || reg->n_msgs == 0)
		return NULL;
	key.full = (char *)undot(name);
	return bsearch(&key, reg->msgs, reg->n_msgs, sizeof(key), cmp_msg);
}

const mpss_enum *
mpss__enum_find(const mpss_registry *reg, const char *name)
{
	mpss_enum key;
	if (reg->n_enums == 0)
		return NULL;
	key.full = (char *)undot(name);
	return bsearch(&key, reg->enums, reg->n_enums, sizeof(key), cmp_enum);
}

const mpss_field *
mpss__field_by_number(const mpss_msg *m, int32_t num)
{
	for (size_t i = 0; i < m->n_fields; i++)
		if (m->fields[i].number == num)
			return &m->fields[i];
	return NULL;
}

const mpss_field *
mpss__field_by_name(const mpss_msg *m, const char *name)
{
	for (size_t i = 0; i < m->n_fields; i++)
		if (strcmp(m->fields[i].name, name) == 0 ||
		    strcmp(m->fields[i].json_name, name) == 0)
			return &m->fields[i];
	return NULL;
}

static char *
lower_camel(const char *s)
{
	char  *r = malloc(strlen(s) + 1), *o = r;
	bool   up = false;
	if (r == NULL)
		return NULL;
	for (; *s; s++) {
		if (*s == '_') {
			up = true;
			continue;
		}
		*o++ = up && *s >= 'a' && *s <= 'z' ? (char)(*s - 'a' + 'A') : *s;
		up = false;
	}
	*o = 0;
	return r;
}

static bool
packable(int type)
{
	return type != FT_STRING && type != FT_BYTES && type != FT_MESSAGE && type != FT_GROUP;
}

static int
resolve(mpss_registry *reg, mpss_msg *m, mpss_error *err)
{
	const gpb_msg *d = m->d;
	if (d->n_field == 0)
		return 0;
	if ((m->fields = calloc(d->n_field, sizeof(*m->fields))) == NULL)
		return MPS_ERR_NOMEM;
	m->n_fields = d->n_field;
	for (size_t i = 0; i < d->n_field; i++) {
		const gpb_field *fd = d->field[i];
		mpss_field      *f = &m->fields[i];
		f->d = fd;
		f->name = fd->name ? fd->name : "";
		f->number = fd->number;
		f->type = fd->type;
		f->label = fd->has_label ? (int)fd->label : LBL_OPTIONAL;
		if (!fd->has_number || fd->number <= 0 || !fd->has_type || (int)fd->type < FT_DOUBLE ||
		    (int)fd->type > FT_SINT64)
			return mpss__fail(err, MPS_ERR_SCHEMA, "%s.%s: bad field number or type",
			                  m->full, f->name);
		for (size_t k = 0; k < i; k++)
			if (m->fields[k].number == f->number)
				return mpss__fail(err, MPS_ERR_SCHEMA,
				                  "%s: field number %d used twice", m->full,
				                  (int)f->number);
		if (fd->json_name != NULL) {
			f->json_name = fd->json_name;
		} else {
			if ((f->json_alloc = lower_camel(f->name)) == NULL)
				return MPS_ERR_NOMEM;
			f->json_name = f->json_alloc;
		}
		if (f->label == LBL_REQUIRED)
			m->n_required++;
		if (f->label == LBL_REPEATED && packable(f->type)) {
			if (fd->options != NULL && fd->options->has_packed)
				f->packed = fd->options->packed;
			else
				f->packed = m->proto3;
		}
		if (f->type == FT_MESSAGE || f->type == FT_GROUP || f->type == FT_ENUM) {
			if (fd->type_name == NULL || fd->type_name[0] != '.')
				return mpss__fail(err, MPS_ERR_SCHEMA,
				                  "%s.%s: type name not fully qualified", m->full,
				                  f->name);
			if (f->type == FT_ENUM)
				f->en = (mpss_enum *)mpss__enum_find(reg, fd->type_name);
			else
				f->msg = (mpss_msg *)mpss_registry_find(reg, fd->type_name);
			if (f->en == NULL && f->msg == NULL)
				return mpss__fail(err, MPS_ERR_SCHEMA,
				                  "%s.%s: unknown type %s (missing import? use "
				                  "protoc --include_imports)",
				                  m->full, f->name, fd->type_name);
		}
	}
	return 0;
}

static int
index_build(mpss_registry *reg, mpss_error *err)
{
	size_t cap_m = 0, cap_e = 0;
	int    rv;
	for (size_t i = 0; i < reg->n_files; i++) {
		const gpb_file *f = reg->files[i].fd;
		rv = collect(reg, f, f->package ? f->package : "", f->message_type,
		             f->n_message_type, f->enum_type, f->n_enum_type, &cap_m, &cap_e);
		if (rv != 0)
			return rv;
	}
	if (reg->n_msgs)
		qsort(reg->msgs, reg->n_msgs, sizeof(*reg->msgs), cmp_msg);
	if (reg->n_enums)
		qsort(reg->enums, reg->n_enums, sizeof(*reg->enums), cmp_enum);
	for (size_t i = 1; i < reg->n_msgs; i++)
		if (strcmp(reg->msgs[i - 1].full, reg->msgs[i].full) == 0)
			return mpss__fail(err, MPS_ERR_SCHEMA, "type %s defined twice (in %s and %s)",
			                  reg->msgs[i].full, reg->msgs[i - 1].file->name,
			                  reg->msgs[i].file->name);
	for (size_t i = 1; i < reg->n_enums; i++)
		if (strcmp(reg->enums[i - 1].full, reg->enums[i].full) == 0)
			return mpss__fail(err, MPS_ERR_SCHEMA, "enum %s defined twice",
			                  reg->enums[i].full);
	for (size_t i = 0; i < reg->n_msgs; i++)
		if ((rv = resolve(reg, &reg->msgs[i], err)) != 0)
			return rv;
	return 0;
}

static int
file_add(mpss_file **files, size_t *n, const uint8_t *bytes, size_t len)
{
	mpss_file *p = realloc(*files, (*n + 1) * sizeof(*p));
	if (p == NULL)
		return MPS_ERR_NOMEM;
	*files = p;
	p = &p[*n];
	if ((p->bytes = malloc(len ? len : 1)) == NULL)
		return MPS_ERR_NOMEM;
	memcpy(p->bytes, bytes, len);
	p->len = len;
	if ((p->fd = google__protobuf__file_descriptor_proto__unpack(NULL, len, p->bytes)) == NULL) {
		free(p->bytes);
		return MPS_ERR_NOMEM;
	}
	(*n)++;
	return 0;
}

int
mpss_registry_add_set_checked(mpss_registry *reg, const uint8_t *data, size_t len,
                              const char *const *used, size_t n_used, mpss_error *err)
{
	gpb_set      *set;
	mpss_registry cand = {0};
	int           rv = 0;

	set = google__protobuf__file_descriptor_set__unpack(NULL, len, data);
	if (set == NULL)
		return mpss__fail(err, MPS_ERR_SCHEMA, "data is not a FileDescriptorSet");
	for (size_t i = 0; i < set->n_file; i++) {
		if (set->file[i]->name == NULL) {
			rv = mpss__fail(err, MPS_ERR_SCHEMA, "descriptor set has a file without name");
			goto out;
		}
		for (size_t k = 0; k < i; k++)
			if (strcmp(set->file[k]->name, set->file[i]->name) == 0) {
				rv = mpss__fail(err, MPS_ERR_SCHEMA, "file %s twice in the set",
				                set->file[i]->name);
				goto out;
			}
	}
	/* old files not replaced by the set, then the set's files */
	for (size_t i = 0; i < reg->n_files; i++) {
		bool replaced = false;
		for (size_t k = 0; k < set->n_file && !replaced; k++)
			replaced = strcmp(set->file[k]->name, reg->files[i].fd->name) == 0;
		if (!replaced &&
		    (rv = file_add(&cand.files, &cand.n_files, reg->files[i].bytes, reg->files[i].len)) != 0)
			goto oom;
	}
	for (size_t k = 0; k < set->n_file; k++) {
		size_t   n = protobuf_c_message_get_packed_size(&set->file[k]->base);
		uint8_t *b = malloc(n ? n : 1);
		if (b == NULL) {
			rv = MPS_ERR_NOMEM;
			goto oom;
		}
		protobuf_c_message_pack(&set->file[k]->base, b);
		rv = file_add(&cand.files, &cand.n_files, b, n);
		free(b);
		if (rv != 0)
			goto oom;
	}
	if ((rv = index_build(&cand, err)) != 0)
		goto out;
	for (size_t i = 0; i < n_used; i++) {
		if (mpss_registry_find(reg, used[i]) == NULL)
			continue; /* not typed by the old registry: nothing stored to break */
		if ((rv = mpss_compat_check(reg, &cand, used[i], err)) != 0)
			goto out;
	}
	/* commit: swap */
	{
		mpss_registry old = *reg;
		*reg = cand;
		cand = old;
	}
	goto out;
oom:
	mpss__fail(err, rv, "out of memory");
out:
	index_fini(&cand);
	files_fini(cand.files, cand.n_files);
	google__protobuf__file_descriptor_set__free_unpacked(set, NULL);
	return rv;
}

int
mpss_registry_add_set(mpss_registry *reg, const uint8_t *data, size_t len, mpss_error *err)
{
	return mpss_registry_add_set_checked(reg, data, len, NULL, 0, err);
}

/* dependency order: a file after every file it imports (when present) */
static void
topo_visit(const mpss_registry *reg, size_t i, char *state, size_t *order, size_t *n)
{
	const gpb_file *f = reg->files[i].fd;
	if (state[i])
		return;
	state[i] = 1;
	for (size_t d = 0; d < f->n_dependency; d++)
		for (size_t k = 0; k < reg->n_files; k++)
			if (strcmp(reg->files[k].fd->name, f->dependency[d]) == 0)
				topo_visit(reg, k, state, order, n);
	order[(*n)++] = i;
}

int
mpss_registry_serialize(const mpss_registry *reg, uint8_t **out, size_t *len)
{
	mpss_buf b = {0};
	size_t  *order = calloc(reg->n_files + 1, sizeof(*order)), n = 0;
	char    *state = calloc(reg->n_files + 1, 1);
	if (order == NULL || state == NULL) {
		free(order);
		free(state);
		return MPS_ERR_NOMEM;
	}
	for (size_t i = 0; i < reg->n_files; i++)
		topo_visit(reg, i, state, order, &n);
	mpss__buf_put(&b, "", 0);
	for (size_t i = 0; i < n; i++) {
		const mpss_file *f = &reg->files[order[i]];
		mpss__buf_varint(&b, (1 << 3) | WT_LEN); /* FileDescriptorSet.file = 1 */
		mpss__buf_varint(&b, f->len);
		mpss__buf_put(&b, f->bytes, f->len);
	}
	free(order);
	free(state);
	if (b.oom) {
		free(b.p);
		return MPS_ERR_NOMEM;
	}
	*out = b.p;
	*len = b.len;
	return 0;
}
