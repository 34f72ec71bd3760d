/*
 * persist_crash_test MODE - nothing acknowledged is lost when mpstored is
 * killed with SIGKILL at random moments (MODE: log or fsync).
 *
 * Each round: the daemon runs (restarted from the same database), several
 * writer processes (fork + exec of this program with --child, each with its
 * own client) increment a counter, append unique strings to a list and set
 * unique dict keys, recording every attempt BEFORE sending it and every
 * acknowledgement AFTER the reply (one write(2) per line, O_APPEND: a killed
 * writer loses nothing it wrote). After a random 50-400 ms the daemon gets
 * SIGKILL; the writers are stopped; the daemon is restarted and the parent
 * checks, over all rounds so far:
 *   - every acknowledged append is in the list, exactly once, and every
 *     element of the list was attempted (no phantom or duplicated writes);
 *   - acknowledged increments <= counter <= attempted increments, and the
 *     counter is >= the largest value any writer was told;
 *   - every acknowledged dict key is there with its value; every key there
 *     was attempted.
 * 5 rounds (20 with MPSTORE_SOAK=1); snapshots run meanwhile (every 300
 * changes), so recovery is snapshot + log. MPSTORE_SEED=N repeats a run.
 */
#include "persist_common.h"

#include <time.h>

#define NCHILD         5
#define MAX_OPS_ROUND  4000 /* per writer per round: bounds the list size */

/* ---- the writer (child) ---- */

static int rec_fd = -1;

static void rec(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void rec(const char *fmt, ...)
{
	char    line[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n <= 0 || (size_t)n >= sizeof(line) || write(rec_fd, line, (size_t)n) != n)
		_exit(4);
}

static int child_main(const char *url, const char *file, const char *tag, unsigned seed)
{
	rec_fd = open(file, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (rec_fd < 0)
		return 4;
	mps_client *c = NULL;
	long long   end = mpst_now_ms() + 5000;
	while (mps_open(&c, url, 1000) != MPS_OK) {
		if (mpst_now_ms() > end)
			return 0; /* the daemon is gone already */
		mpst_sleep_ms(5);
	}
	srand(seed);
	for (int i = 0; i < MAX_OPS_ROUND; i++) {
		char    v[64];
		mps_err e;
		switch (rand() % 3) {
		case 0: {
			int64_t nv = 0;
			rec("a %s-%d\n", tag, i);
			e = mps_counter_add(c, "counter", 1, &nv);
			if (e == MPS_OK)
				rec("A %s-%d %lld\n", tag, i, (long long)nv);
			break;
		}
		case 1: {
			snprintf(v, sizeof(v), "%s-%d", tag, i);
			mps_value x = mps_str(v);
			rec("l %s\n", v);
			e = mps_list_append(c, "list", &x, NULL);
			if (e == MPS_OK)
				rec("L %s\n", v);
			break;
		}
		default: {
			snprintf(v, sizeof(v), "%s-%d", tag, i);
			mps_value k = mps_str(v), x = mps_int(i);
			rec("d %s %d\n", v, i);
			e = mps_dict_set(c, "dict", &k, &x);
			if (e == MPS_OK)
				rec("D %s %d\n", v, i);
			break;
		}
		}
		if (e != MPS_OK) {
			/* the daemon died: stop (the parent restarts it). Only
			 * transport errors are expected; the parent fails on others */
			int dead = e == MPS_ERR_TIMEOUT || e == MPS_ERR_TRANSPORT ||
			           e == MPS_ERR_CONNECT || e == MPS_ERR_CLOSED ||
			           e == MPS_ERR_SHUTDOWN;
			rec("%c %s %s %.300s\n", dead ? 'E' : 'X', mps_err_name(e), tag, mps_last_error());
			break;
		}
	}
	/* do not mps_close: the daemon may be gone; exit is enough */
	_exit(0);
}

/* ---- bookkeeping in the parent ---- */

/* A set of strings with an integer each (open addressing). */
typedef struct sset {
	char   **k;
	long long *v;
	size_t   cap, n;
} sset;

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ull;
	}
	return h;
}

static long long *sset_slot(sset *s, const char *key, int add)
{
	if (add && (s->n + 1) * 2 > s->cap) {
		sset ns = {0};
		ns.cap = s->cap ? s->cap * 2 : 1024;
		ns.k = calloc(ns.cap, sizeof(char *));
		ns.v = calloc(ns.cap, sizeof(long long));
		PT_TRUE(ns.k != NULL && ns.v != NULL);
		for (size_t i = 0; i < s->cap; i++)
			if (s->k[i] != NULL) {
				size_t j = hash_str(s->k[i]) & (ns.cap - 1);
				while (ns.k[j] != NULL)
					j = (j + 1) & (ns.cap - 1);
				ns.k[j] = s->k[i];
				ns.v[j] = s->v[i];
				ns.n++;
			}
		free(s->k);
		free(s->v);
		*s = ns;
	}
	if (s->cap == 0)
		return NULL;
	size_t j = hash_str(key) & (s->cap - 1);
	while (s->k[j] != NULL) {
		if (strcmp(s->k[j], key) == 0)
			return &s->v[j];
		j = (j + 1) & (s->cap - 1);
	}
	if (!add)
		return NULL;
	s->k[j] = strdup(key);
	PT_TRUE(s->k[j] != NULL);
	s->v[j] = 0;
	s->n++;
	return &s->v[j];
}

static void sset_free(sset *s)
{
	for (size_t i = 0; i < s->cap; i++)
		free(s->k[i]);
	free(s->k);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

typedef struct book {
	long long inc_attempted, inc_acked, max_told;
	sset      app_attempted, app_acked; /* value -> 1 */
	sset      dict_attempted, dict_acked; /* key -> value */
	long long errors;
} book;

static void book_free(book *b)
{
	sset_free(&b->app_attempted);
	sset_free(&b->app_acked);
	sset_free(&b->dict_attempted);
	sset_free(&b->dict_acked);
}

static void book_read(book *b, const char *file)
{
	FILE *f = fopen(file, "r");
	if (f == NULL)
		return; /* the writer never started */
	char line[600], s[200];
	long long n;
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t len = strlen(line);
		if (len == 0 || line[len - 1] != '\n')
			continue; /* a torn last line cannot happen with write(2); be safe */
		switch (line[0]) {
		case 'a':
			b->inc_attempted++;
			break;
		case 'A':
			b->inc_acked++;
			if (sscanf(line, "A %199s %lld", s, &n) == 2 && n > b->max_told)
				b->max_told = n;
			break;
		case 'l':
			if (sscanf(line, "l %199s", s) == 1)
				*sset_slot(&b->app_attempted, s, 1) = 1;
			break;
		case 'L':
			if (sscanf(line, "L %199s", s) == 1)
				*sset_slot(&b->app_acked, s, 1) = 1;
			break;
		case 'd':
			if (sscanf(line, "d %199s %lld", s, &n) == 2)
				*sset_slot(&b->dict_attempted, s, 1) = n;
			break;
		case 'D':
			if (sscanf(line, "D %199s %lld", s, &n) == 2)
				*sset_slot(&b->dict_acked, s, 1) = n;
			break;
		case 'E':
			b->errors++;
			break;
		case 'X':
			PT_FAIL("a writer got an error that is not the daemon's death: %s", line);
		}
	}
	fclose(f);
}

/* Check the daemon's state against every record written so far. */
static void verify(const mpst_daemon *d, int nrounds, int round_now)
{
	book b;
	memset(&b, 0, sizeof(b));
	for (int r = 0; r < nrounds; r++)
		for (int k = 0; k < NCHILD; k++) {
			char file[400];
			snprintf(file, sizeof(file), "%s/rec-%d-%d.txt", d->dir, r, k);
			book_read(&b, file);
		}
	mps_client *c = pt_connect(d);
	int64_t     counter;
	PT_OK(mps_counter_get(c, "counter", &counter));
	PT_TRUE(counter >= b.inc_acked,
	    "round %d: counter %lld < %lld acknowledged increments: acknowledged writes lost",
	    round_now, (long long)counter, b.inc_acked);
	PT_TRUE(counter >= b.max_told, "round %d: counter %lld < %lld, a value a writer was told",
	    round_now, (long long)counter, b.max_told);
	PT_TRUE(counter <= b.inc_attempted,
	    "round %d: counter %lld > %lld attempted increments: applied twice?", round_now,
	    (long long)counter, b.inc_attempted);

	/* list: acknowledged present, each element attempted, no duplicates */
	mps_value *vals = NULL;
	size_t     nv = 0;
	PT_OK(mps_list_slice(c, "list", 0, 0, 0, &vals, &nv));
	sset seen = {0};
	for (size_t i = 0; i < nv; i++) {
		PT_TRUE(vals[i].type == MPS_STRING, "list element %zu is not a string", i);
		const char *s = vals[i].u.s.ptr;
		PT_TRUE(sset_slot(&b.app_attempted, s, 0) != NULL,
		    "round %d: list has '%s', which no writer appended", round_now, s);
		long long *sl = sset_slot(&seen, s, 1);
		PT_TRUE(*sl == 0, "round %d: '%s' is in the list twice (applied twice)", round_now, s);
		*sl = 1;
	}
	size_t lost = 0;
	for (size_t i = 0; i < b.app_acked.cap; i++)
		if (b.app_acked.k[i] != NULL && sset_slot(&seen, b.app_acked.k[i], 0) == NULL) {
			if (lost++ < 5)
				fprintf(stderr, "acknowledged append '%s' is missing\n", b.app_acked.k[i]);
		}
	PT_TRUE(lost == 0, "round %d: %zu acknowledged appends lost (of %zu)", round_now, lost,
	    b.app_acked.n);
	mps_values_free(vals, nv);
	sset_free(&seen);

	/* dict */
	mps_value *keys = NULL;
	size_t     nk = 0;
	PT_OK(mps_dict_items(c, "dict", &keys, &vals, &nk));
	sset have = {0};
	for (size_t i = 0; i < nk; i++) {
		PT_TRUE(keys[i].type == MPS_STRING && vals[i].type == MPS_INT, "dict entry types");
		long long *want = sset_slot(&b.dict_attempted, keys[i].u.s.ptr, 0);
		PT_TRUE(want != NULL, "round %d: dict has key '%s' no writer set", round_now,
		    keys[i].u.s.ptr);
		PT_TRUE(*want == vals[i].u.i, "round %d: dict['%s'] = %lld, set to %lld", round_now,
		    keys[i].u.s.ptr, (long long)vals[i].u.i, *want);
		*sset_slot(&have, keys[i].u.s.ptr, 1) = 1;
	}
	lost = 0;
	for (size_t i = 0; i < b.dict_acked.cap; i++)
		if (b.dict_acked.k[i] != NULL && sset_slot(&have, b.dict_acked.k[i], 0) == NULL) {
			if (lost++ < 5)
				fprintf(stderr, "acknowledged dict key '%s' is missing\n", b.dict_acked.k[i]);
		}
	PT_TRUE(lost == 0, "round %d: %zu acknowledged dict sets lost (of %zu)", round_now, lost,
	    b.dict_acked.n);
	mps_values_free(keys, nk);
	mps_values_free(vals, nk);
	sset_free(&have);
	mps_close(c);
	printf("  round %2d: counter %lld (acked %lld, attempted %lld), list %zu (acked %zu), "
	       "dict %zu (acked %zu), %lld writers cut off\n",
	    round_now, (long long)counter, b.inc_acked, b.inc_attempted, nv, b.app_acked.n, nk,
	    b.dict_acked.n, b.errors);
	book_free(&b);
}

static pid_t spawn_child(const mpst_daemon *d, int round, int k, unsigned seed)
{
	char file[400], tag[32], sd[32];
	snprintf(file, sizeof(file), "%s/rec-%d-%d.txt", d->dir, round, k);
	snprintf(tag, sizeof(tag), "r%dc%d", round, k);
	snprintf(sd, sizeof(sd), "%u", seed);
	pid_t pid = fork();
	PT_TRUE(pid >= 0, "fork");
	if (pid == 0) {
		/* exec: each writer a fresh program, as separate clients would be */
		execl("/proc/self/exe", "persist_crash_test", "--child", d->url, file, tag, sd,
		    (char *)NULL);
		_exit(127);
	}
	pt_track_kid(pid);
	return pid;
}

int main(int argc, char **argv)
{
	if (argc == 6 && strcmp(argv[1], "--child") == 0)
		return child_main(argv[2], argv[3], argv[4], (unsigned)strtoul(argv[5], NULL, 10));
	pt_init();
	const char *mode = argc > 1 ? argv[1] : "log";
	PT_TRUE(strcmp(mode, "log") == 0 || strcmp(mode, "fsync") == 0, "mode: log or fsync");
	int      rounds = pt_soak() ? 20 : 5;
	unsigned seed = getenv("MPSTORE_SEED") ? (unsigned)strtoul(getenv("MPSTORE_SEED"), NULL, 10)
	                                       : (unsigned)(time(NULL) ^ getpid());
	srand(seed);
	alarm(rounds * 20 + 60);
	printf("persist_crash_test --durability %s: %d rounds, %d writers, seed %u "
	       "(MPSTORE_SEED=%u repeats it)\n", mode, rounds, NCHILD, seed, seed);

	const char *args[] = {"--durability", mode, "--snapshot-interval", "0:300", NULL};
	mpst_daemon d;
	long long   t0 = mpst_now_ms();
	pt_start(&d, args);
	mps_client *c = pt_connect(&d);
	mps_create_opts o = {.kind = MPS_KIND_VALUE, .elem_type = MPS_TYPE_INT64};
	PT_OK(mps_create(c, "counter", &o));
	o = (mps_create_opts){.kind = MPS_KIND_LIST, .elem_type = MPS_TYPE_STRING};
	PT_OK(mps_create(c, "list", &o));
	o = (mps_create_opts){.kind = MPS_KIND_DICT, .elem_type = MPS_TYPE_INT64,
	    .key_type = MPS_KEY_STRING};
	PT_OK(mps_create(c, "dict", &o));
	mps_close(c);

	long long snaps = 0;
	for (int r = 0; r < rounds; r++) {
		pid_t kids[NCHILD];
		for (int k = 0; k < NCHILD; k++)
			kids[k] = spawn_child(&d, r, k, (unsigned)rand());
		int wait_ms = 50 + rand() % 351;
		mpst_sleep_ms(wait_ms);
		pt_kill9(&d);
		/* the writers: they stop on their first error; make sure (the
		 * daemon is dead, so no connection is cut mid-handshake) */
		for (int k = 0; k < NCHILD; k++) {
			long long end = mpst_now_ms() + 300;
			int       st;
			while (waitpid(kids[k], &st, WNOHANG) == 0 && mpst_now_ms() < end)
				mpst_sleep_ms(5);
			if (kill(kids[k], 0) == 0) {
				kill(kids[k], SIGKILL);
				waitpid(kids[k], &st, 0);
			}
			pt_untrack_kid(kids[k]);
			PT_TRUE(!WIFEXITED(st) || WEXITSTATUS(st) == 0 || WEXITSTATUS(st) == 3,
			    "writer %d exited with %d", k, WEXITSTATUS(st));
		}
		pt_restart(&d);
		printf("  killed after %3d ms\n", wait_ms);
		verify(&d, r + 1, r);
		mps_client *s = pt_connect(&d);
		long long   sr = pt_stat(s, "snapshot_revision");
		mps_close(s);
		if (sr > 0)
			snaps++;
	}
	/* and a graceful restart at the end changes nothing */
	pt_stop(&d);
	pt_restart(&d);
	verify(&d, rounds, rounds);
	pt_stop(&d);
	pt_done(&d);
	printf("persist_crash_test %s: all passed (%d rounds, snapshots seen after %lld restarts, "
	       "%lld ms)\n", mode, rounds, snaps, mpst_now_ms() - t0);
	return 0;
}
