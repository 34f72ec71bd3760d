/* help.c - the CLI's command table: every command's synopsis, the options
 * it takes, its help and examples (`mpstore help [COMMAND]`, `mpstore
 * COMMAND --help`, the global help), and "did you mean" suggestions for
 * mistyped words (commands, kinds, types, options). A command exists only
 * through its row here: main.c refuses every other word. */
#include <string.h>

#include "cli.h"

#define T CLI_O_TIMEOUT

static const cli_cmd cmds[] = {
	{"ls", "[PREFIX]", 0, "list containers (name, kind, type, length, revision)",
	    "One line per container whose name starts with PREFIX (all without it):\n"
	    "name, kind, element type, length, revision, tab-separated. A counter is\n"
	    "a value of int64 and is listed as one (`value  int64`).\n",
	    "mpstore ls\nmpstore ls shop.\n"},
	{"create", "NAME KIND [TYPE] [--maxsize N|--parties N|--value N|--length N] [--key-type K]",
	    CLI_O_MAXSIZE | CLI_O_PARTIES | CLI_O_VALUE | CLI_O_LENGTH | CLI_O_KEYTYPE,
	    "create a container (idempotent)",
	    "KIND: list, dict, value, counter (a value of int64), queue, lock, rlock,\n"
	    "semaphore, bounded-semaphore, event, condition, barrier, array, namespace.\n"
	    "TYPE (default any): any, int64, double, bool, string, bytes, or the full\n"
	    "name of a registered protobuf message type.\n"
	    "--maxsize N   queue capacity (default 0: unbounded)\n"
	    "--parties N   barrier: how many must wait (required)\n"
	    "--value N     semaphore's initial value (default 1, as Python's), or a\n"
	    "              counter's initial number (default 0)\n"
	    "--length N    array length (required; an array also needs TYPE int64,\n"
	    "              double or bool)\n"
	    "--key-type K  dict keys: string (default) or int64\n"
	    "Creating an existing container of the same kind and types succeeds.\n",
	    "mpstore create jobs list int64\nmpstore create hits counter\n"
	    "mpstore create work queue --maxsize 100\nmpstore create start barrier --parties 3\n"
	    "mpstore create pool semaphore --value 4\n"
	    "mpstore create ages dict int64 --key-type string\n"},
	{"info", "[SECTION|NAME] [--containers]", CLI_O_CONTAINERS,
	    "the daemon's state by sections, or a container's as JSON",
	    "Without NAME: the daemon, in sections (server, clients, memory, persistence,\n"
	    "watch, limits), one key=value per line, like Redis's INFO; SECTION prints\n"
	    "one. --containers adds every container's memory, largest first.\n"
	    "With NAME (a word that is not a section): the container's kind, types,\n"
	    "length, revision and capacity as JSON.\n",
	    "mpstore info\nmpstore info persistence\nmpstore info memory --containers\n"
	    "mpstore info jobs\n"},
	{"del", "NAME [KEY|INDEX]", 0, "delete a container, a dict key or a list element",
	    "Without KEY the container itself is deleted; with one, a dict key (or a\n"
	    "list element by index).\n",
	    "mpstore del ages Ann\nmpstore del jobs 0\nmpstore del jobs\n"},
	{"get", "NAME [KEY|INDEX] [--timeout S]", T, "print a value (the whole container without KEY)",
	    "Lists print as JSON arrays, dicts as JSON objects (insertion order; int64\n"
	    "keys as strings). A queue: takes the next item, waiting while it is empty\n"
	    "(--timeout S; 0: ERR_EMPTY at once). An event prints true/false, a\n"
	    "semaphore its value, a lock {\"locked\": ..., \"token\": ...}, a barrier\n"
	    "{\"parties\": ..., \"waiting\": ..., \"broken\": ...}.\n",
	    "mpstore get jobs\nmpstore get jobs -1\nmpstore get ages Ann\n"
	    "mpstore get work --timeout 2.5\n"},
	{"set", "NAME [KEY|INDEX] VALUE", 0, "set a value, a dict key or a list element",
	    "VALUE is JSON (see `mpstore help values`).\n",
	    "mpstore set hits 10\nmpstore set jobs 0 42\nmpstore set cfg mode '\"fast\"'\n"},
	{"append", "NAME VALUE...", 0, "append to a list (several values: one atomic extend)", "",
	    "mpstore append jobs 1 2 3\nmpstore append names '\"Ann\"' '\"Bob\"'\n"},
	{"pop", "NAME [INDEX|KEY]", T, "remove and print the last (or INDEX-th) element, or a dict key",
	    "On a queue: the same as get (takes the next item).\n",
	    "mpstore pop jobs\nmpstore pop jobs 0\nmpstore pop ages Bob\n"},
	{"incr", "NAME [DELTA]", 0, "add DELTA (default 1) to a number; print the new value",
	    "An int64 value (a counter) takes integer deltas; a double value, or a\n"
	    "value of any type holding a number, takes integers and doubles (an int\n"
	    "plus a double gives a double).\n",
	    "mpstore incr hits\nmpstore incr hits -5\nmpstore incr load 0.5\n"},
	{"len", "NAME", 0, "length of a list, dict, namespace, array or queue", "", "mpstore len jobs\n"},
	{"keys", "NAME", 0, "a dict's keys as a JSON array", "", "mpstore keys ages\n"},
	{"contains", "NAME KEY", 0, "true when the dict has KEY", "", "mpstore contains ages Ann\n"},
	{"clear", "NAME", 0, "empty a list or dict", "", "mpstore clear jobs\n"},
	{"put", "QUEUE VALUE [--timeout S]", T, "put into a queue (waits while it is full)",
	    "--timeout 0: ERR_FULL at once when the queue is full.\n",
	    "mpstore put work '\"next job\"'\nmpstore put work 42 --timeout 5\n"},
	{"task-done", "QUEUE [N]", 0, "mark N (default 1) items of a queue as processed",
	    "Python's JoinableQueue.task_done(): join returns when every put has had its\n"
	    "task-done. Prints how many tasks are still unfinished.\n",
	    "mpstore task-done work\nmpstore task-done work 3\n"},
	{"join", "QUEUE [--timeout S]", T, "wait until every item put into QUEUE is task-done", "",
	    "mpstore join work --timeout 60\n"},
	{"set-event", "EVENT", 0, "set an event (wakes every waiter)", "", "mpstore set-event ready\n"},
	{"clear-event", "EVENT", 0, "clear an event", "", "mpstore clear-event ready\n"},
	{"wait", "EVENT|BARRIER [--timeout S]", T, "wait for an event, or at a barrier",
	    "An event: returns when it is set (ERR_TIMEOUT, status 3, when not in\n"
	    "time). A barrier: waits for all parties and prints this process's arrival\n"
	    "index; a wait that times out breaks the barrier for everyone (Python's\n"
	    "semantics): `mpstore reset BARRIER` makes it usable again.\n",
	    "mpstore wait ready --timeout 10\nmpstore wait start-line\n"},
	{"notify", "CONDITION [N|all] [--timeout S]", T, "wake N (default 1) or all waiters of a condition",
	    "Takes the condition's lock (waiting at most --timeout), notifies, releases,\n"
	    "and prints how many were woken.\n",
	    "mpstore notify changed\nmpstore notify changed all\n"},
	{"acquire", "LOCK [--timeout S] [-- COMMAND...]", T,
	    "take a lock or semaphore: for COMMAND, or held until release",
	    "With COMMAND: the same as with-lock. Without: a lock or rlock is taken by\n"
	    "a holder process left in the background, and its fencing token is printed;\n"
	    "it stays held until `mpstore release LOCK --token T`, or until the process\n"
	    "that ran `mpstore acquire` (your shell or script) exits. (Each mpstore run\n"
	    "is its own session, and what a session holds is released when it ends.)\n"
	    "A semaphore unit cannot outlive its mpstore without a command: use\n"
	    "COMMAND, or the interactive mode (`mpstore` alone), where acquire and\n"
	    "release work within its one session.\n",
	    "mpstore acquire deploy --timeout 30 -- ./deploy.sh\n"
	    "tok=$(mpstore acquire deploy --timeout 30)\nmpstore release deploy --token \"$tok\"\n"},
	{"release", "LOCK --token T | SEMAPHORE [N]", CLI_O_TOKEN,
	    "release a lock by its fencing token, or N semaphore units",
	    "A lock or rlock: releases the grant whose fencing token is T (printed by\n"
	    "acquire; `mpstore get LOCK` shows the holder's), whoever holds it; a later\n"
	    "grant is never released by an old token. A semaphore: adds N units\n"
	    "(default 1; anyone may release, as in Python); prints the value after.\n",
	    "mpstore release deploy --token 7\nmpstore release pool\n"},
	{"with-lock", "LOCK [--timeout S] -- COMMAND...", T, "run COMMAND holding LOCK (like flock(1))",
	    "LOCK is a lock, an rlock or a semaphore (one unit); a missing one is\n"
	    "created as a lock. Exits with COMMAND's status (128+signal if killed). If\n"
	    "mpstore is killed, the daemon releases the lock at once.\n",
	    "mpstore with-lock deploy --timeout 30 -- ./deploy.sh\n"},
	{"reset", "BARRIER", 0, "make a broken barrier usable again",
	    "Waits in progress fail with ERR_BROKEN (Python's Barrier.reset()).\n",
	    "mpstore reset start-line\n"},
	{"abort", "BARRIER", 0, "break a barrier: waits fail with ERR_BROKEN until a reset", "",
	    "mpstore abort start-line\n"},
	{"txn", "[--if COND]... [--then CMD]... [--else CMD]...", CLI_O_TXN,
	    "atomic: if every COND holds run the --then commands, else the --else ones",
	    "COND: NAME OP VALUE, NAME[KEY] OP VALUE, len NAME OP N, rev NAME OP N,\n"
	    "exists NAME, missing NAME (OP: == != < <= > >=). CMD: one data command\n"
	    "(get set append pop del incr len keys contains clear put) as one argument.\n"
	    "Prints {\"succeeded\": BOOL, \"revision\": REV, \"results\": [...]}.\n",
	    "mpstore txn --if 'x == 5' --then 'set x 6' --else 'get x'\n"},
	{"snapshot", "", 0, "write a snapshot now; print its revision", "", "mpstore snapshot\n"},
	{"backup", "NAME", 0, "online backup of the database to NAME in the daemon's --backup-dir",
	    "NAME is a file name, not a path: the daemon creates it, never over an existing\n"
	    "file, in the directory it was started with (mpstored --backup-dir DIR).\n",
	    "mpstore backup mpstore-2026-12-05.db\n"},
	{"stats", "", 0, "the daemon's statistics, one key=value per line",
	    "The lines of `mpstore info` without their sections.\n", "mpstore stats\n"},
	{"clients", "", 0, "one line per connection: who, since when, what it holds",
	    "id (the connection), name and pid (from the client's hello), session (its\n"
	    "client id, as watch shows lock owners), addr, age and\n"
	    "idle (seconds), requests, parked (requests waiting in blocking ops) and\n"
	    "holds: the locks, rlocks, condition locks and semaphore units its session\n"
	    "holds, each as NAME(kind,depth|units=N,token=T). A value with a space,\n"
	    "quote, comma, '=' or parenthesis prints as a JSON string.\n",
	    "mpstore clients\n"},
	{"holders", "NAME", 0, "who holds a lock, rlock, semaphore or condition, and who waits",
	    "A summary line, then one line per holder (oldest grant first: client id,\n"
	    "name, pid, fencing token, depth or units, held for how many seconds) and\n"
	    "per waiter in line order (the op, waiting for how long, its timeout and\n"
	    "what is left of it). Any container: queues, events, barriers have waiters.\n",
	    "mpstore holders deploy\nmpstore holders work\n"},
	{"monitor", "[--count N]", CLI_O_COUNT, "print every request the daemon receives",
	    "One line per request as the daemon receives it: the time (seconds since\n"
	    "1970), [connection name pid], then its ops. Until interrupted, or N lines\n"
	    "with --count. A monitor that falls behind is told how many it missed.\n",
	    "mpstore monitor\nmpstore monitor --count 10\n"},
	{"watch", "NAME|PREFIX* [--from REV] [--count N] [--pub URL]",
	    CLI_O_FROM | CLI_O_COUNT | CLI_O_PUB, "print changes as JSON lines until interrupted",
	    "NAME is one container, PREFIX* every container whose name starts with\n"
	    "PREFIX, '*' everything. --from REV starts with the changes from REV (a\n"
	    "resync line when they are no longer kept); --count N stops after N lines;\n"
	    "--pub URL is the daemon's --pub address (default: what the daemon reports).\n",
	    "mpstore watch jobs\nmpstore watch 'shop.*' --count 10\nmpstore watch '*' --from 1\n"},
	{"register-schema", "FILE.pb [--declared]", CLI_O_DECLARED,
	    "register a protobuf descriptor set with the daemon",
	    "FILE.pb comes from `protoc --include_imports -o FILE.pb X.proto`; with\n"
	    "--declared the containers its stores declare are created too\n"
	    "(docs/schemas.md).\n",
	    "mpstore register-schema shop.pb --declared\n"},
	{"help", "[COMMAND]", 0, "this help, or one command's", "", "mpstore help get\n"},
	{NULL, NULL, 0, NULL, NULL, NULL},
};

static const char values_help[] =
    "VALUES are JSON: 42 and -7 (int64), 1.5 and 2.0 (double), \"text\", true,\n"
    "false, null; {\"$bytes\": \"<base64>\"} for bytes. A word that is not JSON is\n"
    "taken as a string (mpstore set v hello); quote it for the shell to store\n"
    "text that looks like JSON ('\"42\"'). Refused, with a hint: integers beyond\n"
    "int64, True/False/None (JSON is lower-case), JSON objects and arrays (the\n"
    "store's values are scalars: use a dict, a list, or a message type), and\n"
    "numbers that are not JSON (+5, .5, 0x1f). Doubles print as Python prints\n"
    "them (1e3 -> 1000.0). Containers typed with a protobuf message take and\n"
    "print JSON objects with the message's field names.\n";

const cli_cmd *
cli_cmd_find(const char *name)
{
	for (const cli_cmd *c = cmds; c->name != NULL; c++) {
		if (strcmp(c->name, name) == 0) {
			return c;
		}
	}
	return NULL;
}

const cli_cmd *
cli_cmd_list(void)
{
	return cmds;
}

void
cli_help_global(FILE *f)
{
	fputs("usage: mpstore [--url URL] [--timeout S] COMMAND [ARGS]\n"
	      "       mpstore                 (on a terminal: interactive mode)\n\n",
	    f);
	for (const cli_cmd *c = cmds; c->name != NULL; c++) {
		char syn[160];
		snprintf(syn, sizeof(syn), "%s %s", c->name, c->args);
		if (strlen(syn) > 34) {
			fprintf(f, "  %s\n  %-34s %s\n", syn, "", c->summary);
		} else {
			fprintf(f, "  %-34s %s\n", syn, c->summary);
		}
	}
	fputs("\n--url URL   the daemon (default $MPSTORE_URL, then " MPS_DEFAULT_URL ")\n"
	      "--timeout S seconds a blocking command waits (default: for ever; 0: never)\n"
	      "--help, --version\n\n",
	    f);
	fputs(values_help, f);
	fputs("\n`mpstore help COMMAND` (or `mpstore COMMAND --help`) shows a command's\n"
	      "usage and examples; docs/cli.md has them all. Exit status: 0 ok, 1 error,\n"
	      "2 usage error, 3 timeout.\n",
	    f);
}

int
cli_help(FILE *f, const char *name)
{
	if (name == NULL) {
		cli_help_global(f);
		return 0;
	}
	if (strcmp(name, "values") == 0) {
		fputs(values_help, f);
		return 0;
	}
	const cli_cmd *c = cli_cmd_find(name);
	if (c == NULL) {
		return cli_unknown("command", name, NULL);
	}
	fprintf(f, "usage: mpstore %s%s%s\n\n%s\n", c->name, c->args[0] ? " " : "", c->args,
	    c->summary);
	if (c->help[0]) {
		fprintf(f, "\n%s", c->help);
	}
	fputs("\nexamples:\n", f);
	for (const char *p = c->examples; *p;) {
		const char *nl = strchr(p, '\n');
		size_t      n  = nl ? (size_t) (nl - p) : strlen(p);
		fprintf(f, "  %.*s\n", (int) n, p);
		p += n + (nl != NULL);
	}
	return 0;
}

/* ---- suggestions ---- */

/* Optimal string alignment distance (a swap of neighbours counts 1), case
 * folded; words longer than 63 bytes are never close. */
static int
distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	int    d[64][64];
	if (la > 63 || lb > 63) {
		return 99;
	}
	for (size_t i = 0; i <= la; i++) {
		d[i][0] = (int) i;
	}
	for (size_t j = 0; j <= lb; j++) {
		d[0][j] = (int) j;
	}
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			int ca = a[i - 1] | 0x20, cb = b[j - 1] | 0x20;
			int cost = ca != cb;
			int v    = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v) {
				v = d[i][j - 1] + 1;
			}
			if (d[i - 1][j - 1] + cost < v) {
				v = d[i - 1][j - 1] + cost;
			}
			if (i > 1 && j > 1 && ca == (b[j - 2] | 0x20) && (a[i - 2] | 0x20) == cb &&
			    d[i - 2][j - 2] + 1 < v) {
				v = d[i - 2][j - 2] + 1;
			}
			d[i][j] = v;
		}
	}
	return d[la][lb];
}

/* Words people reach for that mean one of ours. */
static const char *const synonyms[][2] = {
	{"integer", "int64"}, {"int32", "int64"}, {"long", "int64"}, {"i64", "int64"},
	{"uint64", "int64"}, {"float", "double"}, {"float64", "double"}, {"real", "double"},
	{"number", "double"}, {"boolean", "bool"}, {"text", "string"}, {"blob", "bytes"},
	{"binary", "bytes"}, {"json", "any"}, {"object", "any"}, {"map", "dict"},
	{"hash", "dict"}, {"hashmap", "dict"}, {"vector", "list"}, {"fifo", "queue"},
	{"mutex", "lock"}, {"sem", "semaphore"}, {"flag", "event"}, {"cond", "condition"},
	{"ns", "namespace"}, {"remove", "del"}, {"delete", "del"}, {"rm", "del"},
	{"list", "ls"}, {"add", "incr"}, {"increment", "incr"}, {"push", "append"},
	{"size", "len"}, {"length", "len"}, {"unlock", "release"}, {"lock", "acquire"},
	{"taskdone", "task-done"}, {"task_done", "task-done"}, {"subscribe", "watch"},
	{NULL, NULL},
};

const char *
cli_suggest(const char *word, const char *const *choices)
{
	const char *best = NULL;
	int         bestd = 99;
	for (int i = 0; synonyms[i][0] != NULL; i++) {
		if (strcmp(word, synonyms[i][0]) == 0) {
			for (int j = 0; choices[j] != NULL; j++) {
				if (strcmp(choices[j], synonyms[i][1]) == 0) {
					return choices[j];
				}
			}
		}
	}
	for (int j = 0; choices[j] != NULL; j++) {
		int d = distance(word, choices[j]);
		if (d < bestd) {
			bestd = d;
			best  = choices[j];
		}
	}
	/* close enough: at most 2 edits, and fewer than the word has letters */
	size_t n = strlen(word);
	return best != NULL && bestd <= 2 && (size_t) bestd < n && (bestd < 2 || n > 3) ? best : NULL;
}

const char *const cli_kind_words[] = {"list", "dict", "value", "counter", "queue", "lock",
	"rlock", "semaphore", "bounded-semaphore", "event", "condition", "barrier", "array",
	"namespace", NULL};
const char *const cli_type_words[] = {"any", "int64", "double", "bool", "string", "bytes", NULL};

int
cli_unknown(const char *what, const char *word, const char *const *choices)
{
	const char *names[64];
	if (choices == NULL) {
		size_t n = 0;
		for (const cli_cmd *c = cmds; c->name != NULL && n < 63; c++) {
			names[n++] = c->name;
		}
		names[n] = NULL;
		choices  = names;
	}
	const char *s = cli_suggest(word, choices);
	if (s != NULL) {
		return cli_fail(MPS_ERR_INVALID, "unknown %s %s: did you mean %s?", what, word, s);
	}
	return cli_fail(MPS_ERR_INVALID, "unknown %s %s (see mpstore help)", what, word);
}
