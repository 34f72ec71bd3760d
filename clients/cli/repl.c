/* repl.c - the interactive mode: `mpstore` with no command on a terminal.
 * A prompt with line editing and history (libedit's readline interface;
 * history in $MPSTORE_HISTORY, default ~/.mpstore_history), Tab completion
 * of commands, kinds, types and container names, and one session for
 * every line, so that `acquire L` and `release L` work across lines.
 * Lines are split as txn's commands are (cli_split): "..." is a JSON
 * string, '...' is literal. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <editline/readline.h>

#include "cli.h"

volatile sig_atomic_t cli_interrupted;

static mps_client *r_client;

/* Ctrl-C stops a watch; a second one ends mpstore (a blocking op cannot be
 * interrupted otherwise). */
static void
sigint_cb(int sig)
{
	if (cli_interrupted) {
		signal(sig, SIG_DFL);
		raise(sig);
	}
	cli_interrupted = 1;
	static const char m[] = "\n(interrupted; Ctrl-C again ends mpstore)\n";
	if (write(STDERR_FILENO, m, sizeof(m) - 1) < 0) {
		return;
	}
}

/* ---- completion ---- */

static const char *const *r_words; /* what the current word completes from */
static char             **r_names; /* container names (fetched per completion) */

static char *
gen_cb(const char *text, int state)
{
	static size_t i, len;
	if (state == 0) {
		i   = 0;
		len = strlen(text);
	}
	while (r_words != NULL && r_words[i] != NULL) {
		const char *w = r_words[i++];
		if (strncmp(w, text, len) == 0) {
			return strdup(w);
		}
	}
	return NULL;
}

static void
names_free(void)
{
	for (size_t i = 0; r_names != NULL && r_names[i] != NULL; i++) {
		free(r_names[i]);
	}
	free(r_names);
	r_names = NULL;
}

static const char *const *
container_names(void)
{
	mps_info *infos;
	size_t    n;
	names_free();
	if (mps_ls(r_client, "", &infos, &n) != MPS_OK) {
		return NULL;
	}
	if ((r_names = calloc(n + 1, sizeof(*r_names))) != NULL) {
		for (size_t i = 0; i < n; i++) {
			r_names[i] = strdup(infos[i].name);
		}
	}
	mps_infos_free(infos, n);
	return (const char *const *) r_names;
}

static char **
complete_cb(const char *text, int start, int end)
{
	static const char *cmds[64];
	(void) end;
	if (cmds[0] == NULL) {
		size_t n = 0;
		for (const cli_cmd *c = cli_cmd_list(); c->name != NULL && n < 60; c++) {
			cmds[n++] = c->name;
		}
		cmds[n++] = "quit";
	}
	/* which word of the line: 0 is the command */
	char first[32] = "";
	int  word = 0, inword = 0;
	for (int i = 0; i < start; i++) {
		int blank = rl_line_buffer[i] == ' ' || rl_line_buffer[i] == '\t';
		if (!blank && !inword) {
			if (word == 0) {
				size_t k = strcspn(rl_line_buffer + i, " \t");
				snprintf(first, sizeof(first), "%.*s", (int) (k < 31 ? k : 31), rl_line_buffer + i);
			}
			word++;
		}
		inword = !blank;
	}
	if (word == 0 || strcmp(first, "help") == 0) {
		r_words = cmds;
	} else if (strcmp(first, "create") == 0 && word == 2) {
		r_words = cli_kind_words;
	} else if (strcmp(first, "create") == 0 && word == 3) {
		r_words = cli_type_words;
	} else {
		r_words = container_names();
	}
	rl_attempted_completion_over = 1; /* never file names */
	return rl_completion_matches(text, gen_cb);
}

/* ---- the loop ---- */

static int
run_line(char *line)
{
	char *argv[66];
	int   n = cli_split(line, argv + 1, 64);
	if (n < 0) {
		return cli_fail(MPS_ERR_INVALID, "unterminated quote, or more than 64 words");
	}
	if (n == 0) {
		return 0;
	}
	int argc = n + 1;
	argv[0]  = "mpstore";
	argv[argc] = NULL;
	cli_opts o = {.timeout_s = -1, .wcount = -1, .interactive = 1};
	int      rv = cli_parse_opts(&argc, argv, &o);
	if (rv != 0) {
		return rv;
	}
	if (o.url != NULL) {
		return cli_fail(MPS_ERR_INVALID, "--url applies when mpstore starts");
	}
	if (argc < 2) {
		return o.help ? cli_help(stdout, NULL) : 0;
	}
	return cli_run(r_client, &o, argc - 1, argv + 1);
}

int
cli_repl(mps_client *c, const char *url)
{
	char        hist[4096];
	const char *h    = getenv("MPSTORE_HISTORY");
	const char *home = getenv("HOME");
	if (h != NULL) {
		snprintf(hist, sizeof(hist), "%s", h);
	} else {
		snprintf(hist, sizeof(hist), "%s/.mpstore_history", home != NULL ? home : ".");
	}
	r_client = c;
	rl_readline_name                 = "mpstore";
	rl_attempted_completion_function = complete_cb;
	rl_basic_word_break_characters   = " \t";
	using_history();
	stifle_history(1000);
	read_history(hist);
	printf("mpstore %s, connected to %s (one session for every line).\n"
	       "`help` lists the commands, `help COMMAND` shows one; Tab completes; Ctrl-D quits.\n",
	    MPS_VERSION_STRING, url != NULL ? url : getenv("MPSTORE_URL") ? getenv("MPSTORE_URL") : MPS_DEFAULT_URL);
	fflush(stdout);
	struct sigaction sa = {.sa_handler = sigint_cb};
	char            *line;
	while ((line = readline("mpstore> ")) != NULL) {
		char *s = line + strspn(line, " \t");
		if (*s != '\0') {
			add_history(s);
			write_history(hist);
		}
		if (strcmp(s, "quit") == 0 || strcmp(s, "exit") == 0) {
			free(line);
			names_free();
			return 0;
		}
		cli_interrupted = 0;
		sigaction(SIGINT, &sa, NULL);
		run_line(s);
		signal(SIGINT, SIG_DFL);
		fflush(stdout);
		free(line);
	}
	names_free();
	putchar('\n'); /* after Ctrl-D */
	return 0;
}
