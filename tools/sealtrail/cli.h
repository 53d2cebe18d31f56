/*
 * cli.h: shared plumbing for the sealtrail command-line tool: store
 * location, error printing, option helpers. Each command lives in its own
 * cmd_*.c file and is listed in the table in main.c.
 *
 * Exit status for every command: 0 success; 1 the operation failed (a check
 * found a problem, a write was refused); 2 usage error or bad input.
 */
#ifndef ST_CLI_H
#define ST_CLI_H

#include <getopt.h>
#include <stdio.h>

#include "sealtrail.h"
#include "util.h"

#define EXIT_OK    0
#define EXIT_FAIL  1
#define EXIT_USAGE 2

/* The default store under a home directory (cli_store_dir, protected mode). */
#define CLI_STORE_UNDER_HOME "/.local/state/sealtrail"

typedef struct st_cli {
    const char *prog;      /* "sealtrail" */
    const char *dir;       /* store directory from --dir before the command, or NULL */
    int empty_dir_ok;      /* the hook: an empty --dir falls back to the default store (with a warning) */
    int dir_missing;       /* --dir was the last argument: dir is "", and the message says a name is missing */
    /* protected mode (protected.h): the only store this process opens, whatever --dir says */
    const char *forced_dir;
    int protected_mode;
    int dir_noted;         /* the note that --dir is ignored was printed */
} st_cli;

/* A command: argv[0] is the command name; options may follow positionals. */
typedef int (*st_cmd_fn)(st_cli *cli, int argc, char **argv);

/* Prints "sealtrail: <message>\n" to stderr. */
void cli_err(const char *fmt, ...) ST_PRINTF(1, 2);
/* Prints "sealtrail: <context>: <st_strerror(rc)>[: detail]\n" and returns the exit code for rc. */
int cli_fail(int rc, const char *context, const char *detail);
/* Exit code for a library error: ST_ECORRUPT/ST_EPROOF/ST_EBADSIG -> 1, input errors -> 2, others 1. */
int cli_exit_code(int rc);

/* Resolves the store directory: --dir (before or after the command), then
 * $SEALTRAIL_DIR, then $XDG_STATE_HOME/sealtrail, then ~/.local/state/sealtrail
 * (home from $HOME or the password database). Never the current directory.
 * In protected mode, always cli->forced_dir (a --dir naming another is
 * noted on stderr once). Returns a static string or NULL (message printed). */
const char *cli_store_dir(st_cli *cli);
/* Opens the store at cli_store_dir with flags, printing a clear error on
 * failure. As root, a store another account owns opens read-only only
 * (a write would leave root's files in it). 0 or exit code. */
int cli_open_store(st_cli *cli, unsigned flags, st_store **out);

/* Scans argv for "--dir DIR" / "--dir=DIR" anywhere after the command and
 * removes it, setting cli->dir. Call first in every command. */
void cli_take_dir(st_cli *cli, int *argc, char **argv);
/* True if argv has -h or --help (prints nothing; then ignores SIGPIPE, so a
 * reader that stops early, `--help | grep -q`, is not an error: main's
 * final flush takes EPIPE as success). */
int cli_wants_help(int argc, char **argv);

/* getopt_long (GNU: options may follow positionals, unique prefixes of long
 * names accepted) with the messages of every other sealtrail error instead
 * of getopt's own "query: unrecognized option": on stderr
 *     sealtrail: CMD: unknown option '--x' (see 'sealtrail CMD --help')
 * and likewise "--tool needs a value", "--reverse takes no value",
 * "option '--s' is ambiguous (--since, --session)". Returns what
 * getopt_long returns, '?' after such a message (the caller exits 2). cmd
 * is the command as typed ("query", "key certify"). Set optind = 1 first. */
int cli_getopt(const char *cmd, int argc, char **argv, const char *shortopts, const struct option *longopts);
/* For a command that takes no option and no argument (seal, check, ...):
 * "--" is accepted, anything else named as by cli_getopt / cli_stray_arg.
 * 0, or EXIT_USAGE after the message. */
int cli_no_args(const char *cmd, int argc, char **argv);
/* After cli_getopt: argv[at] (at >= optind) is left over. Prints "CMD:
 * unknown option 'ARG'" when it looks like an option, else "CMD: unexpected
 * argument 'ARG'" (a word after "--" is an argument, never an option: "log
 * -- -x", "append -- a -x"), each followed by (see 'sealtrail CMD --help').
 * Returns EXIT_USAGE. */
int cli_stray_arg(const char *cmd, char **argv, int at);

/* A --tool, --event, --session or --status value of query or stats: a
 * comma-separated list added to f by st_qfield_add_list (\, is a comma
 * inside a value; a repeated option adds values). -1 after "CMD: OPT: ..."
 * naming the value (empty, or more than ST_Q_MAX_VALUES values). */
struct st_qfield;
int cli_add_list(const char *cmd, const char *opt, struct st_qfield *f, char *val);
/* A list value ending in a lone backslash (an odd number of them): it escapes
 * nothing, and where lists are joined (export's repeated --tool) it would
 * escape the comma between two values. -1 after "CMD: OPT: 'VAL': ...". */
int cli_check_list_end(const char *cmd, const char *opt, const char *val);
/* Refuses (message, -1) a --status value no entry can carry: it would
 * silently select nothing (e.g. the seed format's "success" or "error"). */
int cli_check_status(const char *cmd, const struct st_qfield *f);
/* The command main() dispatches to, named by messages of shared parsers. */
void cli_set_command(const char *name);
/* A non-negative integer option; -1 after "sealtrail: COMMAND: OPT: expected ..." */
int cli_parse_u64(const char *opt, const char *val, uint64_t *out);
/* --since/--until: RFC 3339 or relative to now (st_time_arg_parse); -1 after a message naming cmd and opt. */
int cli_parse_time(const char *cmd, const char *opt, const char *val, int64_t *out);

/* Reads a whole file ("-" = stdin) up to max bytes. 0 or errno / ST_ETOOBIG. Caller frees. */
int cli_read_file(const char *path, size_t max, char **data_out, size_t *len_out);
/* Exit code when cli_read_file failed on the user's input (missing, a
 * directory, unreadable, too large): bad input, 2; out of memory, 1. */
int cli_read_exit(int rc);

/* Writes all of buf to fd (handles short writes, EINTR). 0 or errno. */
int cli_write_all(int fd, const void *buf, size_t len);
/* Writes buf to stdout; on failure says "CMD: writing output: <why>" and returns
 * EXIT_FAIL (EXIT_OK when written). */
int cli_write_out(const char *cmd, const void *buf, size_t len);

/* Command entry points (one file each). */
int cmd_init(st_cli *, int, char **);
int cmd_append(st_cli *, int, char **);
int cmd_seal(st_cli *, int, char **);
int cmd_checkpoint(st_cli *, int, char **);
int cmd_verifier_key(st_cli *, int, char **);
int cmd_check(st_cli *, int, char **);
int cmd_log(st_cli *, int, char **);
int cmd_leaf(st_cli *, int, char **);
int cmd_prove(st_cli *, int, char **);
int cmd_status(st_cli *, int, char **);
int cmd_export(st_cli *, int, char **);   /* issue 4 */
/* query, stats, tail, import, reindex (issue 6) */
int cmd_query(st_cli *, int, char **);
int cmd_stats(st_cli *, int, char **);
int cmd_tail(st_cli *, int, char **);
int cmd_import(st_cli *, int, char **);
int cmd_reindex(st_cli *, int, char **);
int cmd_hook(st_cli *, int, char **);       /* issue 3: cmd_hook.c */
int cmd_key(st_cli *, int, char **);        /* issue 5: cmd_key.c */
int cmd_key_list(st_cli *, int, char **);   /* issue 5: cmd_key_list.c (called by cmd_key) */
/* retention, archive, prune, erase (issue 7) */
int cmd_retention(st_cli *, int, char **);
int cmd_archive(st_cli *, int, char **);
int cmd_prune(st_cli *, int, char **);
int cmd_erase(st_cli *, int, char **);
int cmd_hook_install(st_cli *, int, char **, int uninstall);   /* cmd_hook_install.c */

#endif
