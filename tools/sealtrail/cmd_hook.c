/*
 * cmd_hook.c: `sealtrail hook`, the Claude Code hook, and `sealtrail hook
 * install|uninstall|replay`.
 *
 * The hook must be invisible (HOOKS.md §4, §8): it drains stdin to EOF (a
 * client whose pipe is closed early reports EPIPE), prints nothing on
 * stdout (on UserPromptSubmit and SessionStart stdout becomes model
 * context), and exits 0. When the store cannot take the event, the redacted
 * record goes to the spool (store/spool.h) and one line goes to stderr; the
 * next run appends spooled records first, in order.
 *
 * BOUNDED WAIT. LMDB's writer lock is a process-shared mutex: waiting for it
 * cannot be interrupted. So the hook prepares the spool image of its record
 * before it touches the store, then arms a one-shot timer (SIGALRM). If the
 * timer fires before the append has committed, the handler writes the
 * prepared image (async-signal-safe: open, writev, fsync, rename) and exits
 * 0: the event is spooled, not lost, and the agent is not held up. If the
 * commit was under way after all, the spool file carries the log size from
 * before the attempt and the replay finds the entry and drops the copy.
 * After the commit the timer only ends the process (a seal cut short is
 * redone by the next seal).
 *
 * SIGNALS. Once the record is prepared, SIGTERM, SIGINT and SIGHUP (the
 * client's hook timeout, a user interrupting) end the process as the timer
 * does: the event spooled, exit 0. SIGXFSZ is ignored, so a write past a
 * file size limit (RLIMIT_FSIZE) fails with EFBIG and the event is spooled
 * rather than lost with the process.
 *
 * STDIN. Read to EOF, but a writer that keeps stdin open without writing
 * for SEALTRAIL_STDIN_TIMEOUT_MS (default 3000) ends the read: the bytes
 * read are the event (whole if they are one JSON object, else malformed
 * with their head), recorded before the client's timeout kills a hook that
 * waited on.
 *
 * FAULTS. A store file damaged on disk (garbage pages, a bad restore) can
 * make LMDB read outside its map (SIGSEGV, SIGBUS) or fail one of its
 * assertions (abort: SIGABRT). The record being prepared already, a fault
 * ends the process as the timer does: the event spooled, exit 0, one line
 * on stderr; every later run spools too until the file is repaired or
 * restored, then replays.
 *
 * `hook install` and `hook uninstall` are in cmd_hook_install.c.
 *
 * Flow: read stdin -> build the event (parse, redact, envelope) -> spool
 * image -> arm -> open store -> replay the spool if not empty (under its
 * lock) -> duration from the matching PreToolUse -> append (on Stop,
 * StopFailure and SessionEnd with the seal in the same transaction: one
 * durable commit) ->
 * exit 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "cli.h"
#include "event.h"
#include "redact.h"
#include "seal.h"
#include "spool.h"

#define HOOK_WAIT_MS_DEFAULT      2000u   /* store lock wait before spooling */
#define HOOK_WAIT_MS_SESSION_END  1000u   /* SessionEnd shares a 1.5 s budget */
#define HOOK_BYTES_PER_MS         8192u   /* extra allowance per byte of record (8 MB/s) */
#define HOOK_STDIN_IDLE_MS        3000u   /* stdin open without data: stop reading */

/* ==== reading stdin ========================================================== */

/* Waits up to idle_ms (0: no limit) for fd to be readable (data or EOF).
 * 0 if it is (or poll failed: the read says why), 1 on timeout. */
static int stdin_idle(int fd, unsigned idle_ms)
{
    if (idle_ms == 0) return 0;
    struct pollfd p = { .fd = fd, .events = POLLIN };
    int r;
    do r = poll(&p, 1, idle_ms > INT_MAX ? INT_MAX : (int)idle_ms);
    while (r < 0 && errno == EINTR);
    return r == 0;
}

/* Reads fd to EOF. Keeps at most cap bytes (*len), counts all (*total).
 * A writer that keeps fd open without writing for idle_ms ends the read
 * early (*stalled set): what came is the input, the client would kill a
 * hook that waited on. */
static int read_all_bounded(int fd, size_t cap, unsigned idle_ms, char **buf_out, size_t *len, size_t *total,
                            int *stalled)
{
    st_buf b = { 0 };
    size_t seen = 0;
    char scratch[65536];
    *stalled = 0;
    for (;;) {
        size_t room;
        char *dst;
        if (stdin_idle(fd, idle_ms)) {
            *stalled = 1;
            break;
        }
        if (b.len < cap) {
            size_t want = cap - b.len < 65536 ? cap - b.len : 65536;
            if (st_buf_reserve(&b, want)) { st_buf_free(&b); return ENOMEM; }
            dst = (char *)b.data + b.len;
            room = want;
        } else {
            dst = scratch;          /* over the cap: keep draining, count, discard */
            room = sizeof scratch;
        }
        ssize_t n = read(fd, dst, room);
        if (n < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            st_buf_free(&b);
            return e;
        }
        if (n == 0) break;
        seen += (size_t)n;
        if (dst != scratch) b.len += (size_t)n;
    }
    *len = b.len;
    *total = seen;
    *buf_out = b.data ? (char *)b.data : strdup("");
    return *buf_out ? 0 : ENOMEM;
}

static unsigned env_uint(const char *name, unsigned dflt)
{
    const char *v = getenv(name);
    uint64_t x;
    if (v && *v && st_parse_u64(v, strlen(v), UINT_MAX, &x) == 0) return (unsigned)x;
    return dflt;
}

static int env_flag(const char *name)
{
    const char *v = getenv(name);
    return v && *v && strcmp(v, "0") != 0;
}

/* ==== the watchdog ============================================================== */

static struct {
    st_spool_image *im;
    int spool_fd;                      /* -1: no spool */
    int spool_err;                     /* why not (errno) */
    volatile uint64_t from;
    volatile sig_atomic_t committed;
    int fail_code;                     /* exit code when the event is lost */
    char withheld[640];                /* "" or ", without its payloads (custom redaction rules: ...)" */
} wd = { .spool_fd = -1 };

static void say(const char *s)
{
    ssize_t r = write(STDERR_FILENO, s, strlen(s));
    (void)r;
}

/* In a handler: the prepared event spooled and exit 0, or one line saying it
 * is lost. cause starts the line; lost_join joins it to the spool's failure. */
static void wd_spool_exit(const char *cause, const char *lost_join)
{
    if (wd.committed) _exit(EXIT_OK);
    /* the spool first: stderr may be a pipe nobody reads, and a write to it block */
    int spooled = wd.spool_fd >= 0 && wd.im && st_spool_image_write(wd.im, wd.spool_fd, wd.from) == 0;
    say("sealtrail: hook: ");
    say(cause);
    if (spooled) {
        say("; event spooled");
        say(wd.withheld);
        say("\n");
        _exit(EXIT_OK);
    }
    say(lost_join);
    say("the spool is not writable: event lost\n");
    _exit(wd.fail_code);
}

static void wd_fire(int sig)
{
    (void)sig;
    wd_spool_exit("store busy past the wait bound", " and ");
}

/* SIGTERM, SIGINT, SIGHUP: the client gave up on the hook (its timeout, the
 * user interrupting) while it waited for the store: the event is spooled, as
 * at the wait bound, rather than lost with the process. */
static void wd_stop(int sig)
{
    wd_spool_exit(sig == SIGTERM ? "stopped by SIGTERM before the store took the event"
                  : sig == SIGINT ? "stopped by SIGINT before the store took the event"
                  : "stopped by SIGHUP before the store took the event", ", and ");
}

static void wd_fault(int sig)
{
    (void)sig;
    if (wd.committed) {
        say("sealtrail: hook: event saved, then a fault in the store (damaged data.mdb? run 'sealtrail check')\n");
        _exit(EXIT_OK);
    }
    if (wd.spool_fd >= 0 && wd.im && st_spool_image_write(wd.im, wd.spool_fd, wd.from) == 0) {
        say("sealtrail: hook: fault reading the store (damaged data.mdb? run 'sealtrail check'); event spooled");
        say(wd.withheld);
        say("\n");
        _exit(EXIT_OK);
    }
    say("sealtrail: hook: fault reading the store (damaged data.mdb?) and the spool is not writable: event lost\n");
    _exit(wd.fail_code);
}

/* The signals whose handlers write the prepared image: blocked together. */
static void wd_sigset(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGALRM);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
}

/* SIGALRM runs wd_fire; SIGTERM, SIGINT and SIGHUP run wd_stop; SIGSEGV, SIGBUS and
 * SIGABRT run wd_fault, on a stack of its own (the fault may be a stack overflow),
 * once (a fault inside it kills). Each blocks the others that write the image.
 * SIGXFSZ is ignored: a write past RLIMIT_FSIZE (a file size limit set by the
 * caller) then fails with EFBIG, and the event is spooled instead of the
 * process being killed. */
static void wd_handlers(void)
{
    static char altstack[1 << 16];
    stack_t ss = { .ss_sp = altstack, .ss_size = sizeof altstack };
    sigaltstack(&ss, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    wd_sigset(&sa.sa_mask);
    sa.sa_handler = wd_fire;
    sigaction(SIGALRM, &sa, NULL);
    sa.sa_handler = wd_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = wd_fault;
    sa.sa_flags = SA_ONSTACK | SA_RESETHAND;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    sigaction(SIGABRT, &sa, NULL);
    signal(SIGXFSZ, SIG_IGN);
}

static void wd_arm(unsigned ms)
{
    struct itimerval it = { .it_value = { .tv_sec = ms / 1000, .tv_usec = (suseconds_t)(ms % 1000) * 1000 } };
    if (ms == 0) it.it_value.tv_usec = 1000;
    setitimer(ITIMER_REAL, &it, NULL);
}

static void wd_disarm(void)
{
    struct itimerval it = { 0 };
    setitimer(ITIMER_REAL, &it, NULL);
}

static void wd_block(int block)
{
    sigset_t set;
    wd_sigset(&set);
    sigprocmask(block ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}

typedef struct hook_ctx {
    unsigned wait_ms;
} hook_ctx;

static void rearm_for(void *ctx, uint64_t bytes)
{
    hook_ctx *h = ctx;
    wd_arm(h->wait_ms + (unsigned)(bytes / HOOK_BYTES_PER_MS));
}

/* ==== recording one event ========================================================= */

/* Why the spool's lock file could not be taken (errno value e), naming it:
 * one that is no regular file (a directory, a symlink) is never replaced
 * here, since two hooks could then lock different files and replay a spool
 * file twice. */
static const char *lock_error(const char *dir, int e)
{
    static char msg[PATH_MAX + 160];
    snprintf(msg, sizeof msg, "cannot lock %s/%s/%s: %s%s", dir, ST_SPOOL_SUBDIR, ST_SPOOL_LOCK, st_strerror(e),
             e == EISDIR || e == ELOOP || e == ENXIO ? " (it must be a regular file: remove it)" : "");
    return msg;
}

/* Spools the prepared image now (not from the signal handler) and says so,
 * or that the event is lost, in one line. Returns the exit code. */
static int spool_now(const char *dir, const char *why)
{
    wd_block(1);
    wd_disarm();
    if (wd.spool_fd < 0) {
        cli_err("hook: %s; cannot spool either (%s/%s: %s): event lost", why, dir, ST_SPOOL_SUBDIR, strerror(wd.spool_err));
        return wd.fail_code;
    }
    int rc = st_spool_image_write(wd.im, wd.spool_fd, wd.from);
    if (rc) {
        cli_err("hook: %s; cannot spool either (%s/%s: %s): event lost", why, dir, ST_SPOOL_SUBDIR, strerror(rc));
        return wd.fail_code;
    }
    wd.committed = 1;    /* the event is safe: a fault from here on ends the process with 0 */
    long n = st_spool_pending(wd.spool_fd);
    cli_err("hook: %s; event spooled in %s/%s (%ld waiting)%s", why, dir, ST_SPOOL_SUBDIR, n, wd.withheld);
    return EXIT_OK;
}

static int hook_record(st_cli *cli, int fail_closed)
{
    if (isatty(STDIN_FILENO)) {
        cli_err("hook: reads one Claude Code hook event (JSON) on stdin; see 'sealtrail hook --help'");
        return EXIT_USAGE;
    }
    size_t cap = ST_EVENT_MAX_DEFAULT;
    unsigned test_cap = env_uint("SEALTRAIL_HOOK_MAX_INPUT", 0);   /* tests: exercise the cap cheaply */
    if (test_cap) cap = test_cap;
    char *in = NULL;
    size_t len = 0, total = 0;
    unsigned idle_ms = env_uint("SEALTRAIL_STDIN_TIMEOUT_MS", HOOK_STDIN_IDLE_MS);
    int stalled;
    int rc = read_all_bounded(STDIN_FILENO, cap, idle_ms, &in, &len, &total, &stalled);
    if (rc) {
        cli_err("hook: reading stdin: %s: event lost", strerror(rc));
        return EXIT_FAIL;
    }
    if (stalled)
        cli_err("hook: stdin still open after %u ms without data: the %zu bytes read are the event", idle_ms, total);
    const char *dir = cli_store_dir(cli);
    if (!dir) { free(in); return EXIT_FAIL; }

    st_event ev;
    st_err err;
    st_event_opts eo = { .host = st_event_host(), .user = st_event_user(),
                         .session_fallback = getenv("CLAUDE_CODE_SESSION_ID"), .input_len = total,
                         .stalled_ms = stalled ? idle_ms : 0 };
    st_redactor *red = NULL;
    int withheld = st_event_redactor_for_dir(dir, &red, &err) != 0;
    wd.withheld[0] = 0;
    if (withheld) {
        /* Fewer rules than configured could store a secret: keep only the
         * call's identity (who, what, when), no payloads, and say why, in
         * the one line that says where the event went (recorded, spooled;
         * a lost event's line gives the cause of the loss only: when the
         * store directory cannot be read, redact.conf cannot either). */
        snprintf(wd.withheld, sizeof wd.withheld, ", without its payloads (custom redaction rules: %.560s)", err.msg);
        eo.withhold = "custom redaction rules (redact.conf) did not load: payloads and free text withheld";
    }
    eo.redactor = red;
    rc = st_event_build(&ev, in, len, &eo, &err);
    free(in);
    if (rc) {
        cli_err("hook: %s: event lost", err.msg);
        st_redactor_free(red);
        return EXIT_FAIL;
    }
    wd.fail_code = fail_closed && ev.is_pretool ? EXIT_USAGE : EXIT_FAIL;   /* 2 blocks the tool */
    int block = withheld && fail_closed && ev.is_pretool;    /* fail-closed: no tool runs unaudited in full */
    hook_ctx hc = { .wait_ms = env_uint("SEALTRAIL_LOCK_TIMEOUT_MS", HOOK_WAIT_MS_DEFAULT) };
    if (st_event_is(&ev, "SessionEnd") && hc.wait_ms > HOOK_WAIT_MS_SESSION_END) hc.wait_ms = HOOK_WAIT_MS_SESSION_END;
    uint64_t rec_bytes = 0;
    for (size_t i = 0; i < ev.rec.npayloads; i++) rec_bytes += ev.rec.payloads[i].len;

    st_spool_image im;
    if ((rc = st_spool_image_build(&im, &ev.rec)) != 0) {
        cli_err("hook: out of memory: event lost");
        st_event_free(&ev);
        st_redactor_free(red);
        return wd.fail_code;
    }
    wd.im = &im;
    wd.from = ST_SPOOL_FROM_NONE;
    int sfd = -1;
    wd.spool_err = st_spool_open_dir(dir, &sfd);
    wd.spool_fd = sfd;

    wd_handlers();
    wd_arm(hc.wait_ms);

    int code = EXIT_OK, lockfd = -1;
    st_store *s = NULL;
    char why[600];
    st_spool_stats stats = { 0 };
    rc = st_store_open(&s, dir, 0);
    if (rc) {
        snprintf(why, sizeof why, "cannot open the store: %.500s", st_store_error(s)[0] ? st_store_error(s) : st_strerror(rc));
        code = spool_now(dir, why);
        goto out;
    }
    long stale = 0;
    if (sfd >= 0 && (st_spool_pending_stale(sfd, &stale) > 0 || stale > 0)) {   /* stale: a killed hook's file */
        lockfd = st_spool_lock(sfd);
        rc = lockfd < 0 ? -lockfd : st_spool_replay(s, sfd, rearm_for, &hc, &stats);
        if (lockfd < 0) {
            snprintf(why, sizeof why, "cannot replay the spool: %.500s", lock_error(dir, rc));
            code = spool_now(dir, why);
            goto out;
        }
        if (rc) {
            snprintf(why, sizeof why, "cannot replay the spool: %.500s", st_store_error(s)[0] ? st_store_error(s) : st_strerror(rc));
            code = spool_now(dir, why);
            goto out;
        }
        if (stats.bad) cli_err("hook: %u unreadable spool file(s) set aside as %s/%s/*.bad", stats.bad, dir, ST_SPOOL_SUBDIR);
    }
    if (ev.needs_duration) {
        wd_block(1);     /* the handler must never see a half-built image */
        if (st_event_lookup_duration(s, &ev) == 0 && !ev.needs_duration) {
            wd.im = NULL;
            st_spool_image_free(&im);
            if (st_spool_image_build(&im, &ev.rec) == 0) wd.im = &im;
        }
        wd_block(0);
    }
    uint64_t size = 0;
    if ((rc = st_spool_log_size(s, &size)) != 0) {
        snprintf(why, sizeof why, "cannot read the store: %.500s", st_store_error(s)[0] ? st_store_error(s) : st_strerror(rc));
        code = spool_now(dir, why);
        goto out;
    }
    wd.from = size;
    rearm_for(&hc, rec_bytes);
    uint64_t index;
    /* Stop, StopFailure, SessionEnd (this one or a replayed one): the seal rides in the append's commit */
    int seal = ev.wants_seal || stats.wants_seal;
    st_seal_on_append(s, seal);
    rc = st_append_records(s, &ev.rec, 1, &index);
    st_seal_on_append(s, 0);
    if (rc) {
        snprintf(why, sizeof why, "cannot append: %.500s", st_store_error(s)[0] ? st_store_error(s) : st_strerror(rc));
        code = spool_now(dir, why);
        goto out;
    }
    wd.committed = 1;
    if (withheld) cli_err("hook: event %llu recorded%s", (unsigned long long)index, wd.withheld);
    if (seal) {
        uint64_t sealed = 0;
        rc = st_sealed_size(s, &sealed);
        if (rc == 0 && sealed <= index) rc = st_seal(s, NULL, NULL);   /* the seal in the append failed: again, for the error */
        if (rc) cli_err("hook: event %llu recorded, but sealing failed: %s", (unsigned long long)index,
                        st_store_error(s)[0] ? st_store_error(s) : st_strerror(rc));
    }
out:
    wd_block(1);
    wd_disarm();
    if (lockfd >= 0) close(lockfd);
    st_store_close(s);
    st_spool_image_free(&im);
    wd.im = NULL;
    if (sfd >= 0) close(sfd);
    wd.spool_fd = -1;
    st_event_free(&ev);
    st_redactor_free(red);
    wd_block(0);
    return block && code == EXIT_OK ? EXIT_USAGE : code;
}

/* ==== hook replay ==================================================================== */

static int hook_replay(st_cli *cli)
{
    const char *dir = cli_store_dir(cli);
    if (!dir) return EXIT_USAGE;
    st_store *s;
    int code = cli_open_store(cli, 0, &s);
    if (code) return code;
    int sfd;
    int rc = st_spool_open_dir(dir, &sfd);
    if (rc) {
        st_store_close(s);
        return cli_fail(rc, "hook replay", NULL);
    }
    int lockfd = st_spool_lock(sfd);
    st_spool_stats stats = { 0 };
    rc = lockfd < 0 ? -lockfd : st_spool_replay(s, sfd, NULL, NULL, &stats);
    if (rc == 0 && stats.wants_seal) rc = st_seal(s, NULL, NULL);   /* a replayed Stop/SessionEnd seals, as live */
    printf("appended %u, duplicates dropped %u, unreadable set aside %u, waiting %ld\n", stats.appended,
           stats.duplicates, stats.bad, st_spool_pending(sfd));
    if (rc) code = cli_fail(rc, "hook replay", lockfd < 0 ? lock_error(dir, rc) : st_store_error(s));
    if (lockfd >= 0) close(lockfd);
    close(sfd);
    st_store_close(s);
    return code;
}

/* ==== the command ======================================================================== */

static void usage(void)
{
    puts("usage: sealtrail [--dir DIR] hook [--fail-closed]\n"
         "       sealtrail [--dir DIR] hook install [--project DIR | --user | --settings FILE]\n"
         "                                  [--dry-run] [--shell-form] [--events A,B,...] [--timeout S]\n"
         "                                  [--binary PATH | --protected PATH]\n"
         "       sealtrail hook uninstall [--project DIR | --user | --settings FILE] [--dry-run]\n"
         "       sealtrail [--dir DIR] hook replay\n"
         "\n"
         "hook      The Claude Code hook. Reads one hook event (JSON) on stdin to EOF,\n"
         "          redacts secrets, records it, seals on Stop, StopFailure and\n"
         "          SessionEnd. Prints nothing on stdout. If the store cannot take the event within the\n"
         "          wait bound (locked, missing, unwritable, disk full), the redacted\n"
         "          event is spooled in DIR/spool/ and one line goes to stderr; the\n"
         "          next run appends spooled events first, in order. SIGTERM (the\n"
         "          client's hook timeout) while it waits for the store spools it too.\n"
         "install   Registers the hook for every recorded event in .claude/settings.json\n"
         "          of the project (default: the current directory), or ~/.claude/settings.json\n"
         "          with --user. Other hooks and settings are kept; running it twice\n"
         "          changes nothing. The handler runs the absolute path of this binary\n"
         "          with --dir and the absolute store directory, in exec form (\"args\",\n"
         "          Claude Code >= 2.1.139: no shell, no $HOME needed, spaces in paths\n"
         "          are fine). --shell-form writes one quoted command string instead, for\n"
         "          older clients, and registers only the events they all know.\n"
         "          Warns when a settings file (this one, settings.local.json beside\n"
         "          it, ~/.claude/settings.json) sets \"disableAllHooks\": true.\n"
         "          --settings FILE edits that file instead; --events registers only\n"
         "          these events (as Claude Code names them; other names and\n"
         "          WorktreeCreate/Remove are refused); --timeout S is the handler's timeout (default\n"
         "          10 s, SessionEnd 5 s); --binary PATH runs that sealtrail binary;\n"
         "          --protected PATH runs that protected copy (below) with its store.\n"
         "uninstall Removes only sealtrail's handlers.\n"
         "replay    Appends the spooled events now and prints what it did.\n"
         "\n"
         "environment:\n"
         "  SEALTRAIL_FAIL_CLOSED=1     same as --fail-closed: when a PreToolUse event can be\n"
         "                              neither recorded nor spooled, exit 2 (Claude Code then\n"
         "                              blocks the tool call) instead of 1\n"
         "  SEALTRAIL_LOCK_TIMEOUT_MS   how long to wait for the store before spooling\n"
         "                              (default 2000; SessionEnd at most 1000), plus 1 ms\n"
         "                              per 8 KiB of event\n"
         "  SEALTRAIL_STDIN_TIMEOUT_MS  stdin open this long without data ends the read: the\n"
         "                              bytes read are the event (default 3000; 0: no limit)\n"
         "  CLAUDE_CODE_SESSION_ID      session recorded when the event itself has none\n"
         "\n"
         "protected mode: a copy of sealtrail installed set-user-ID to a dedicated account\n"
         "(never root) records into that account's default store, which the agent's user\n"
         "can neither read nor change (the signing key is out of its reach). That copy\n"
         "runs only 'hook' and 'hook replay', ignores --dir and the environment above\n"
         "(use --fail-closed in the settings), and refuses a store that others can\n"
         "reach or replace. Setup: SECURITY.md, \"Protected mode\".\n"
         "\n"
         "Custom redaction rules are read from DIR/redact.conf when it exists (format in\n"
         "docs/REDACTION.md). If that file cannot be loaded, the hook names the bad line\n"
         "and records the call without its payloads or free text (envelope \"withheld\"\n"
         "says why), and exits 0 (2 for PreToolUse with --fail-closed, blocking the tool).\n"
         "\n"
         "examples:\n"
         "  sealtrail --dir /var/lib/sealtrail/dev init\n"
         "  sealtrail --dir /var/lib/sealtrail/dev hook install --project ~/src/app --dry-run\n"
         "  sealtrail --dir /var/lib/sealtrail/dev hook install --user\n"
         "  printf '%s\\n' '{\"hook_event_name\":\"Stop\",\"session_id\":\"s1\"}' | sealtrail hook\n"
         "  sealtrail hook uninstall --user\n"
         "\n"
         "EXIT STATUS\n"
         "  hook: 0 recorded or spooled (also for malformed input, which is recorded\n"
         "  with status \"malformed\"); 1 the event was lost (could not be recorded nor\n"
         "  spooled; one line on stderr); 2 the same for a PreToolUse event with\n"
         "  --fail-closed, or stdin is a terminal.\n"
         "  install, uninstall, replay: 0 success; 1 failure; 2 usage error, or a\n"
         "  settings file that is not JSON or holds a key twice in one object\n"
         "  (Claude Code reads only the last copy; merge them first).");
}

int cmd_hook(st_cli *cli, int argc, char **argv)
{
    cli_take_dir(cli, &argc, argv);
    if (cli_wants_help(argc, argv)) {
        usage();
        return EXIT_OK;
    }
    if (cli->protected_mode && argc >= 2 && (strcmp(argv[1], "install") == 0 || strcmp(argv[1], "uninstall") == 0)) {
        cli_err("hook %s: not through the protected copy: run it with the ordinary sealtrail as the user whose "
                "settings it changes ('hook install --protected PATH' names this copy)", argv[1]);
        return EXIT_USAGE;
    }
    if (argc >= 2 && strcmp(argv[1], "install") == 0) return cmd_hook_install(cli, argc, argv, 0);
    if (argc >= 2 && strcmp(argv[1], "uninstall") == 0) return cmd_hook_install(cli, argc, argv, 1);
    /* The recording hook never loses an event to a bad setting: an empty
     * --dir (`--dir "$UNSET"` in settings.json) records in the default
     * store, and says so on stderr. */
    cli->empty_dir_ok = !(argc >= 2 && strcmp(argv[1], "replay") == 0);
    if (argc >= 2 && strcmp(argv[1], "replay") == 0) {
        if (cli_no_args("hook replay", argc - 1, argv + 1)) return EXIT_USAGE;
        return hook_replay(cli);
    }
    int fail_closed = env_flag("SEALTRAIL_FAIL_CLOSED");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--fail-closed") == 0) {
            fail_closed = 1;
        } else {
            /* never exit 2 on PreToolUse by accident: an unknown option is reported and ignored */
            cli_err("hook: unknown argument '%s' ignored (see 'sealtrail hook --help')", argv[i]);
        }
    }
    return hook_record(cli, fail_closed);
}
