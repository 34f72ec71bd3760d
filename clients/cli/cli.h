/* cli.h - shared pieces of the mpstore command-line client. */
#ifndef MPS_CLI_H
#define MPS_CLI_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "mpstore/mpstore.h"

/* Exit statuses (docs/cli.md). */
#define CLI_EXIT_ERROR 1
#define CLI_EXIT_USAGE 2
#define CLI_EXIT_TIMEOUT 3

/* Options a command accepts (cli_cmd.opts); --url and --timeout are
 * accepted everywhere (CLI_O_TIMEOUT marks the commands that wait). */
#define CLI_O_TIMEOUT  0x0001u
#define CLI_O_MAXSIZE  0x0002u
#define CLI_O_PARTIES  0x0004u
#define CLI_O_VALUE    0x0008u
#define CLI_O_LENGTH   0x0010u
#define CLI_O_KEYTYPE  0x0020u
#define CLI_O_DECLARED 0x0040u
#define CLI_O_TXN      0x0080u
#define CLI_O_TOKEN    0x0100u
#define CLI_O_FROM     0x0200u
#define CLI_O_COUNT    0x0400u
#define CLI_O_PUB      0x0800u
#define CLI_O_CONTAINERS 0x1000u

typedef struct cli_opts {
	const char *url;
	double      timeout_s;     /* --timeout; < 0 when not given */
	unsigned    given;         /* CLI_O_* options on the command line */
	int         help;          /* --help / -h after the command */
	int         interactive;   /* a line of the interactive mode (one session) */
	int64_t     count;         /* --maxsize/--parties/--value/--length */
	int         key_type;      /* --key-type */
	uint64_t    token;         /* release --token */
	int64_t     from, wcount;  /* watch --from, --count */
	const char *pub;           /* watch --pub */
	const char *ifs[32];       /* txn --if */
	int         nifs;
	const char *thens[32];     /* txn --then */
	int         nthens;
	const char *elses[32];     /* txn --else */
	int         nelses;
} cli_opts;

/* help.c: the command table (a command exists only through its row). */
typedef struct cli_cmd {
	const char *name;
	const char *args;     /* synopsis after the name */
	unsigned    opts;     /* CLI_O_* it accepts */
	const char *summary;  /* one line of the global help */
	const char *help;     /* more, "" when the summary says it all */
	const char *examples; /* one per line */
} cli_cmd;
const cli_cmd *cli_cmd_find(const char *name);
const cli_cmd *cli_cmd_list(void); /* ends with a NULL name */
void           cli_help_global(FILE *f);
/* Print a command's help (NULL: the global one; "values": the value
 * syntax); 0, or an exit status when there is no such command. */
int            cli_help(FILE *f, const char *name);
/* The choice closest to word (a known synonym, or at most 2 edits away),
 * or NULL. */
const char    *cli_suggest(const char *word, const char *const *choices);
/* "unknown WHAT WORD: did you mean X?" (choices NULL: the commands); the
 * usage exit status. */
int            cli_unknown(const char *what, const char *word, const char *const *choices);
extern const char *const cli_kind_words[];
extern const char *const cli_type_words[];

/* main.c: run one command (argv[0] = its name) on c, the session of this
 * run or of the interactive mode; returns its exit status. */
int cli_run(mps_client *c, cli_opts *o, int argc, char **argv);
/* Take the options out of argv (up to a "--"), leaving the words; 0 or a
 * usage exit status. */
int cli_parse_opts(int *argcp, char **argv, cli_opts *o);
/* repl.c: the interactive mode on a terminal. */
int cli_repl(mps_client *c, const char *url);
/* sync.c: acquire, release, with-lock, task-done, join, reset, abort. */
int cli_sync_cmd(mps_client *c, const cli_opts *o, int argc, char **argv);

/* Print "mpstore: <name>: <message>" and return the exit status for err. */
int  cli_fail(mps_err err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Same, with the library's last error text as the message. */
int  cli_fail_lib(mps_err err);
/* Same for an op's failed result (the daemon's message). */
int  cli_fail_result(mps_err err, const char *msg);

/* A command-line value: JSON, or else the word itself as a string (help
 * `values`). Refuses (printing why, with a hint) what would not be stored
 * as typed: integers beyond int64, True/False/None, JSON objects and
 * arrays, numbers that are not JSON. 0 and an owned *out (mps_value_free),
 * or the exit status. */
int  cli_parse_value(const char *arg, mps_value *out);
/* An integer argument; 0 on success. */
int  cli_parse_int(const char *arg, int64_t *out);
/* A key for a container with key type kt: int64 keys must be integers;
 * string keys are taken literally. 0 on success (owned). */
int  cli_parse_key(const char *arg, int kt, mps_value *out);

/* Print v as JSON (no newline). */
void cli_print_value(FILE *f, const mps_value *v);
/* Print a JSON object of keys and values (keys as JSON strings). */
void cli_print_object(FILE *f, const mps_value *k, const mps_value *v, size_t n);
void cli_print_array(FILE *f, const mps_value *v, size_t n);

/* Build the op of a data command (get, set, append, pop, del, incr, len,
 * keys, put, ...) for container info. argv[0] is the command. Values of the
 * op are owned by `store` (freed by cli_opstore_fini). Returns 0 or an exit
 * status (after printing the error). */
typedef struct cli_opstore {
	mps_value vals[64];
	size_t    n;
} cli_opstore;
void cli_opstore_fini(cli_opstore *s);
int  cli_build_op(mps_client *c, const cli_opts *o, int argc, char **argv, mps_op *op,
     cli_opstore *s, mps_info *info);
/* Print an op's result as one JSON document ("null" for results without a
 * value when force is set; nothing otherwise). Returns 1 if it printed. */
int  cli_print_result(FILE *f, const mps_op *op, const mps_result *r, int force);

/* Milliseconds for an op's timeout from --timeout (forever when absent). */
int64_t cli_timeout_ms(const cli_opts *o);

int cli_txn(mps_client *c, const cli_opts *o);
/* txn.c: split s (modified in place) into at most max words: blanks
 * separate; a word that starts with '"' runs to the closing unescaped '"'
 * and keeps its quotes (a JSON string); '...' is taken literally without
 * the quotes. The number of words, or -1 (unterminated quote, too many). */
int cli_split(char *s, char **tok, int max);
/* repl.c: set by SIGINT in the interactive mode (watch stops on it). */
extern volatile sig_atomic_t cli_interrupted;
/* admin.c: info [SECTION] (the daemon's, by sections), clients, holders
 * NAME, monitor. cli_is_section: whether word names an info section. */
extern const char *const cli_info_sections[];
int cli_is_section(const char *word);
int cli_info_daemon(mps_client *c, const cli_opts *o, const char *section);
int cli_clients(mps_client *c, int argc);
int cli_holders(mps_client *c, int argc, char **argv);
int cli_monitor(mps_client *c, const cli_opts *o, int argc);
/* watch.c: mpstore watch (argv[0] = "watch"). */
int cli_watch(mps_client *c, const cli_opts *o, int argc, char **argv);

/* typed.c: message elements as JSON (field names from the daemon's schema,
 * fetched with OP_GET_SCHEMA on first use). cli_typed_note remembers the
 * message type of a container the command touches; cli_typed_use selects
 * the container whose values are printed next; cli_typed_parse turns a
 * JSON object (or {"$message": "<base64>"}) into a message value for info's
 * type (owned; 0 or an exit status after printing the error);
 * cli_typed_json gives v as JSON text (malloc'ed) or NULL when v is not a
 * message of the selected container (print it the generic way). */
void  cli_typed_note(mps_client *c, const mps_info *info);
void  cli_typed_use(const char *name);
int   cli_typed_parse(const mps_info *info, const char *arg, mps_value *out);
char *cli_typed_json(const mps_value *v);

#endif
