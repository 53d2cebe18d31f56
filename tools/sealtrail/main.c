/*
 * main.c: the sealtrail command-line tool. Parses the global options
 * (--dir, --help, --version), then dispatches to one command per file.
 *
 * Form: sealtrail [--dir DIR] COMMAND [options] (--dir also after the command).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "db.h"
#include "protected.h"

typedef struct st_command {
    const char *name;
    st_cmd_fn fn;
    const char *summary;
} st_command;

/* The command table. Keep names stable: scripts and auditors depend on them
 * (DESIGN.md section 8). One line per command, grouped by area. */
static const st_command commands[] = {
    /* store core */
    { "init",         cmd_init,         "create a store and its signing key; print the verifier key" },
    { "append",       cmd_append,       "append one hook event (JSON) from FILE or stdin; print its index" },
    { "seal",         cmd_seal,         "seal unsealed entries now; print the signed checkpoint" },
    { "checkpoint",   cmd_checkpoint,   "print the latest signed checkpoint" },
    { "verifier-key", cmd_verifier_key, "print the verifier key (C2SP vkey string)" },
    { "check",        cmd_check,        "re-verify the whole store; name the first failure" },
    { "log",          cmd_log,          "print entries as JSONL with decoded payloads" },
    { "leaf",         cmd_leaf,         "write the exact entry bytes (leaf data) of one entry" },
    { "prove",        cmd_prove,        "print an inclusion or consistency proof as JSON" },
    { "status",       cmd_status,       "print the store's size, seal state and policy" },
    /* hook (issue 3) */
    { "hook",         cmd_hook,         "the Claude Code hook: record one event from stdin; install/uninstall it" },
    /* query, stats, tail, import, reindex (issue 6) */
    { "query",        cmd_query,        "find entries by tool, event, session, status, time, path, duration, text" },
    { "stats",        cmd_stats,        "per-tool calls, failures and durations (p50/p95)" },
    { "tail",         cmd_tail,         "print the latest entries as JSONL; -f follows new ones" },
    { "import",       cmd_import,       "bulk-append a JSONL audit log (hook events or audit-log lines)" },
    { "reindex",      cmd_reindex,      "rebuild the secondary indexes from the entries" },
    /* export (issue 4) */
    { "export",       cmd_export,       "write an auditor bundle (whole log, range, time window, filter)" },
    /* keys (issue 5) */
    { "key",          cmd_key,          "key management: root, certify, install, rotate, revoke, epochs, list" },
    /* retention (issue 7) */
    { "retention",    cmd_retention,    "set or show the signed retention policy; compact the store" },
    { "archive",      cmd_archive,      "move old sealed ranges into verified archive bundles" },
    { "prune",        cmd_prune,        "delete payloads and archives past the retention period" },
    { "erase",        cmd_erase,        "erase an entry's payloads (signed erasure record; proofs stay valid)" },
};

/* st_db_set_lock_notice: one line once a write has waited a second for
 * LMDB's writer lock (which records no owner, so no process is named). */
static void lock_notice(void)
{
    static const char msg[] = "sealtrail: waiting for the store's writer lock: another process is writing "
                              "(an import, erase, seal or a stuck writer); going on when it is released\n";
    ssize_t n = write(2, msg, sizeof msg - 1);
    (void)n;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: sealtrail [--dir DIR] COMMAND [options]\n"
            "       sealtrail --help | --version\n"
            "\n"
            "sealtrail records what an AI coding agent did as entries of a Merkle tree,\n"
            "sealed under Ed25519-signed checkpoints that auditors verify offline.\n"
            "\n"
            "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-13s %s\n", commands[i].name, commands[i].summary);
    fprintf(f,
            "\n"
            "The store directory is --dir, else $SEALTRAIL_DIR, else $XDG_STATE_HOME/sealtrail,\n"
            "else ~/.local/state/sealtrail; an empty --dir is an error (the recording hook then\n"
            "uses the default store and says so). Run 'sealtrail COMMAND --help' for a command's options.\n"
            "\n"
            "EXIT STATUS\n"
            "  0 success; 1 the operation failed or verification found a problem;\n"
            "  2 usage error or bad input.\n");
}

/* Descriptors 0-2 open, on /dev/null if they were closed (as OpenSSH's
 * sanitise_stdfd): otherwise the store's files take them, and what is
 * written to "stdout" or "stderr" lands in lock.mdb or data.mdb. */
static void std_fds_open(void)
{
    for (int fd = 0; fd < 3; fd++)
        if (fcntl(fd, F_GETFD) < 0 && errno == EBADF && open("/dev/null", O_RDWR) != fd) _exit(EXIT_FAIL);
}

/* Output written with stdio must have reached stdout: 'sealtrail verifier-key >
 * log.vkey' on a full disk is a failure, not exit 0 and an empty file. A reader
 * that went away (EPIPE) is not an error, as for log and query. */
static int stdout_flushed(int code)
{
    errno = 0;
    if (fflush(stdout) == 0 && !ferror(stdout)) return code;
    if (errno == EPIPE) return code;
    /* an earlier write failed (a long --help, written as puts went): its errno
     * is gone, but a pipe whose reader went away reports POLLERR */
    struct pollfd p = { .fd = 1, .events = 0 };
    if (errno == 0 && poll(&p, 1, 0) > 0 && (p.revents & POLLERR)) return code;
    cli_err("writing output: %s", errno ? strerror(errno) : "write error");
    return code ? code : EXIT_FAIL;
}

int main(int argc, char **argv)
{
    std_fds_open();
    st_cli cli = { .prog = "sealtrail", .dir = NULL };
    int i = 1;
    while (i < argc && argv[i][0] == '-') {
        if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
            cli.dir = argv[i + 1];
            i += 2;
        } else if (strncmp(argv[i], "--dir=", 6) == 0) {
            cli.dir = argv[i] + 6;
            i++;
        } else if (strcmp(argv[i], "--dir") == 0) {
            cli_err("--dir: no directory name after it (sealtrail --dir DIR COMMAND)");
            return EXIT_USAGE;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            signal(SIGPIPE, SIG_IGN);      /* as cli_wants_help: `sealtrail --help | head` exits 0 */
            usage(stdout);
            return EXIT_OK;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("sealtrail %s\n", st_version());
            return EXIT_OK;
        } else {
            cli_err("unknown option '%s' (see 'sealtrail --help')", argv[i]);
            return EXIT_USAGE;
        }
    }
    if (i >= argc) {
        usage(stderr);
        /* Claude Code before 2.1.139 ignores a hook's "args" and runs the bare
         * command: exit 2 would then block every tool call. 1 is a
         * non-blocking hook error (HOOKS.md section 4). */
        return getenv("CLAUDECODE") ? EXIT_FAIL : EXIT_USAGE;
    }
    if (strcmp(argv[i], "help") == 0) {
        signal(SIGPIPE, SIG_IGN);      /* as cli_wants_help: `sealtrail --help | head` exits 0 */
        usage(stdout);
        return EXIT_OK;
    }
    int code = protected_enter(&cli, argc, argv, i);   /* a set-user-ID copy: only the hook */
    if (code) return code;
    if (sodium_init() < 0) {
        cli_err("libsodium failed to initialize");
        return EXIT_FAIL;
    }
    if (strcmp(argv[i], "hook") != 0) st_db_set_lock_notice(lock_notice, 1000);  /* the hook stays silent */
    /* A write past a file size limit (ulimit -f) fails with EFBIG, which the
     * command reports (LMDB aborts the transaction: the store is unchanged),
     * instead of SIGXFSZ killing the process mid-command. The hook sets this too
     * (cmd_hook.c), protected mode included. */
    signal(SIGXFSZ, SIG_IGN);
    for (size_t c = 0; c < sizeof commands / sizeof commands[0]; c++) {
        if (strcmp(argv[i], commands[c].name) == 0) {
            cli_set_command(commands[c].name);
            return stdout_flushed(commands[c].fn(&cli, argc - i, argv + i));
        }
    }
    cli_err("unknown command '%s' (see 'sealtrail --help')", argv[i]);
    return EXIT_USAGE;
}
