/*
 * cli.c: plumbing shared by the sealtrail commands: where the store lives,
 * how errors are printed, bounded file reads and full writes.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "query.h"

void cli_err(const char *fmt, ...)
{
    va_list ap;
    fputs("sealtrail: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_exit_code(int rc)
{
    switch (rc) {
    case 0: return EXIT_OK;
    case ST_EINVAL: case ST_EJSON: case ST_ENONCANON: case ST_ETOOBIG: case ST_EDEPTH:
    case ST_EFORMAT: case ST_EBADKEY:
        return EXIT_USAGE;
    default:
        return EXIT_FAIL;
    }
}

int cli_fail(int rc, const char *context, const char *detail)
{
    size_t cl = strlen(context);
    if (detail && strncmp(detail, context, cl) == 0 && (detail[cl] == ':' || (detail[cl] == '/' && cl)))
        cli_err("%s", detail);                      /* the detail names its context (or a file in it) already */
    else if (detail && *detail)
        cli_err("%s: %s", context, detail);
    else
        cli_err("%s: %s", context, st_strerror(rc));
    return cli_exit_code(rc);
}

void cli_take_dir(st_cli *cli, int *argc, char **argv)
{
    int out = 0;
    for (int i = 0; i < *argc; i++) {
        if (strcmp(argv[i], "--") == 0) {      /* keep everything after "--" as is */
            while (i < *argc) argv[out++] = argv[i++];
            break;
        }
        if (strcmp(argv[i], "--dir") == 0) {
            if (i + 1 < *argc) cli->dir = argv[++i];
            else { cli->dir = ""; cli->dir_missing = 1; }     /* not an "unrecognized option" */
            continue;
        }
        if (strncmp(argv[i], "--dir=", 6) == 0) {
            cli->dir = argv[i] + 6;
            continue;
        }
        argv[out++] = argv[i];
    }
    argv[out] = NULL;
    *argc = out;
}

int cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) break;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            signal(SIGPIPE, SIG_IGN);    /* `--help | grep -q x`: the rest of the text goes nowhere, exit 0 (main.c) */
            return 1;
        }
    }
    return 0;
}

/* ---- option errors -------------------------------------------------------------------- */

static void usage_err(const char *cmd, const char *fmt, ...) ST_PRINTF(2, 3);
static void usage_err(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "sealtrail: %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see 'sealtrail %s --help')\n", cmd);
}

/* The long option that "--NAME[=...]" (el) names, by val: its full name
 * when NAME abbreviates it, else NAME as typed. */
static void long_name(char *out, size_t cap, const char *el, int val, const struct option *lo)
{
    size_t n = strcspn(el + 2, "=");
    for (; lo->name; lo++)
        if (lo->val == val && strncmp(lo->name, el + 2, n) == 0) { snprintf(out, cap, "--%s", lo->name); return; }
    snprintf(out, cap, "--%.*s", (int)n, el + 2);
}

/* getopt_long is silent (opterr = 0, ':' first: a missing value is ':',
 * not '?'), and the error is named here. Which element it was: a long
 * option moves optind past itself, so argv[optind - 1] is it; a short
 * option's letter is optopt (inside "-fx" optind has not moved yet). */
int cli_getopt(const char *cmd, int argc, char **argv, const char *shortopts, const struct option *longopts)
{
    char spec[32], name[80];
    int before = optind;
    snprintf(spec, sizeof spec, ":%s", shortopts);
    opterr = 0;
    int c = getopt_long(argc, argv, spec, longopts, NULL);
    if (c != '?' && c != ':') return c;
    const char *el = optind > before && optind <= argc ? argv[optind - 1] : "";
    int is_long = strncmp(el, "--", 2) == 0 && el[2];
    if (is_long) long_name(name, sizeof name, el, optopt, longopts);
    else snprintf(name, sizeof name, "-%c", optopt);
    if (c == ':') {
        usage_err(cmd, "%s needs a value", name);
    } else if (is_long && optopt) {               /* --reverse=1 */
        usage_err(cmd, "%s takes no value", name);
    } else if (is_long) {                         /* unknown, or a prefix of several */
        st_buf b = { 0 };
        size_t n = strcspn(el + 2, "="), k = 0;
        for (const struct option *lo = longopts; lo->name; lo++)
            if (strncmp(lo->name, el + 2, n) == 0) st_buf_printf(&b, "%s--%s", k++ ? ", " : "", lo->name);
        if (k > 1 && !b.oom) usage_err(cmd, "option '%s' is ambiguous (%.*s)", name, (int)b.len, (const char *)b.data);
        else usage_err(cmd, "unknown option '%s'", name);
        st_buf_free(&b);
    } else {
        usage_err(cmd, "unknown option '%s'", name);
    }
    return '?';
}

int cli_no_args(const char *cmd, int argc, char **argv)
{
    static const struct option none[] = { { 0, 0, 0, 0 } };
    optind = 1;
    if (cli_getopt(cmd, argc, argv, "", none) != -1) return EXIT_USAGE;
    return optind < argc ? cli_stray_arg(cmd, argv, optind) : 0;
}

int cli_stray_arg(const char *cmd, char **argv, int at)
{
    int after_dashes = 0;             /* getopt leaves "--" just before the first argument after it */
    for (int i = 1; i < at && !after_dashes; i++) after_dashes = strcmp(argv[i], "--") == 0;
    const char *arg = argv[at];
    if (!after_dashes && arg[0] == '-' && arg[1]) usage_err(cmd, "unknown option '%s'", arg);
    else usage_err(cmd, "unexpected argument '%s'", arg);
    return EXIT_USAGE;
}

static const char *default_store_dir(void)
{
    static char path[4096];
    const char *env = getenv("SEALTRAIL_DIR");
    if (env && *env) return env;
    const char *xdg = getenv("XDG_STATE_HOME");
    if (xdg && xdg[0] == '/') {
        snprintf(path, sizeof path, "%s/sealtrail", xdg);
        return path;
    }
    const char *home = getenv("HOME");
    if (!home || home[0] != '/') {          /* Claude Code once ran hooks without $HOME */
        struct passwd *pw = getpwuid(geteuid());
        home = pw && pw->pw_dir && pw->pw_dir[0] == '/' ? pw->pw_dir : NULL;
    }
    if (!home) {
        cli_err("no store directory: pass --dir DIR or set SEALTRAIL_DIR (no home directory found)");
        return NULL;
    }
    snprintf(path, sizeof path, "%s" CLI_STORE_UNDER_HOME, home);
    return path;
}

const char *cli_store_dir(st_cli *cli)
{
    if (cli->forced_dir) {
        char real[PATH_MAX];
        if (cli->dir && !cli->dir_noted && (!realpath(cli->dir, real) || strcmp(real, cli->forced_dir) != 0))
            cli_err("protected mode: --dir %s ignored: this copy records only in %s", cli->dir, cli->forced_dir);
        cli->dir_noted = 1;
        return cli->forced_dir;
    }
    if (!cli->dir) return default_store_dir();
    if (*cli->dir) return cli->dir;
    const char *why = cli->dir_missing ? "no directory name after it" : "the directory name is empty";
    if (!cli->empty_dir_ok) {
        /* `--dir "$UNSET"`: guessing the default store would read or change the wrong one */
        cli_err("--dir: %s", why);
        return NULL;
    }
    const char *d = default_store_dir();
    if (d) cli_err("--dir: %s; using the default store %s", why, d);
    return d;
}

/* Root writes only to a store root owns: the files a write creates (a
 * compaction's new data.mdb, rotated keys, spool and lock files) would
 * belong to root and shut out the account whose store it is, and that
 * account's hook above all (protected mode, SECURITY.md). Reading is fine,
 * and so is a store root creates (init), wherever it is. 0, or the exit
 * code after a message naming the account. */
static int root_writes_other_store(const char *dir)
{
    struct stat st;
    if (geteuid() != 0 || stat(dir, &st) != 0 || st.st_uid == 0) return 0;
    struct passwd *pw = getpwuid(st.st_uid);
    const char *name = pw && pw->pw_name && *pw->pw_name ? pw->pw_name : NULL;
    char num[32];
    snprintf(num, sizeof num, "%lu", (unsigned long)st.st_uid);
    cli_err("%s belongs to %s (uid %lu): as root, sealtrail only reads a store another account owns; run this "
            "command as %s (sudo -u %s -H sealtrail ...), so that the files it creates stay that account's",
            dir, name ? name : num, (unsigned long)st.st_uid, name ? name : "that account", name ? name : num);
    return EXIT_FAIL;
}

int cli_open_store(st_cli *cli, unsigned flags, st_store **out)
{
    const char *dir = cli_store_dir(cli);
    if (!dir) return EXIT_USAGE;
    int code = flags & ST_OPEN_RDONLY ? 0 : root_writes_other_store(dir);
    if (code) {
        *out = NULL;
        return code;
    }
    int rc = st_store_open(out, dir, flags);
    if (rc) {
        code = cli_fail(rc, dir, st_store_error(*out));
        st_store_close(*out);
        *out = NULL;
    }
    return code;
}

int cli_check_list_end(const char *cmd, const char *opt, const char *val)
{
    size_t n = strlen(val), k = 0;
    while (k < n && val[n - 1 - k] == '\\') k++;
    if (k % 2 == 0) return 0;
    cli_err("%s: %s: '%s' ends with a lone backslash, which escapes nothing (\\\\ is a backslash, \\, a comma)",
            cmd, opt, val);
    return -1;
}

int cli_add_list(const char *cmd, const char *opt, st_qfield *f, char *val)
{
    if (!*val) {
        cli_err("%s: %s: empty value", cmd, opt);
        return -1;
    }
    if (cli_check_list_end(cmd, opt, val)) return -1;
    char *typed = strdup(val);              /* the list is unescaped in place: quote it as given */
    int rc = st_qfield_add_list(f, val);
    if (rc == 0) {
        free(typed);
        return 0;
    }
    const char *shown = typed ? typed : val;
    if (rc == ST_ETOOBIG) cli_err("%s: %s: '%s': more than %u values", cmd, opt, shown, ST_Q_MAX_VALUES);
    else cli_err("%s: %s: '%s': an empty value in the list", cmd, opt, shown);
    free(typed);
    return -1;
}

int cli_check_status(const char *cmd, const st_qfield *f)
{
    static const char *const known[] = { "started", "succeeded", "failed", "interrupted", "denied", "requested", "malformed" };
    for (size_t i = 0; i < f->n; i++) {
        size_t k = 0;
        while (k < sizeof known / sizeof *known && !(strlen(known[k]) == f->len[i] && memcmp(known[k], f->v[i], f->len[i]) == 0)) k++;
        if (k == sizeof known / sizeof *known) {
            cli_err("%s: --status: '%.*s' is not one of started, succeeded, failed, interrupted, denied, requested,"
                    " malformed (the seed format's success is succeeded; its error is failed,interrupted)", cmd,
                    (int)f->len[i], f->v[i]);
            return -1;
        }
    }
    return 0;
}

static const char *command_name;   /* the command being run, for messages that lack it */

void cli_set_command(const char *name) { command_name = name; }

int cli_parse_u64(const char *opt, const char *val, uint64_t *out)
{
    if (!val || st_parse_u64(val, strlen(val), UINT64_MAX, out) != 0) {
        cli_err("%s%s%s: expected a non-negative integer, got '%s'", command_name ? command_name : "",
                command_name ? ": " : "", opt, val ? val : "");
        return -1;
    }
    return 0;
}

int cli_read_file(const char *path, size_t max, char **data_out, size_t *len_out)
{
    int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    st_buf b = { 0 };
    int rc = 0;
    for (;;) {
        if (st_buf_reserve(&b, 65536) != 0) { rc = ENOMEM; break; }
        ssize_t n = read(fd, b.data + b.len, 65536);
        if (n < 0) {
            if (errno == EINTR) continue;
            rc = errno;
            break;
        }
        if (n == 0) break;
        b.len += (size_t)n;
        if (b.len > max) { rc = ST_ETOOBIG; break; }
    }
    if (fd != STDIN_FILENO) close(fd);
    if (rc) { st_buf_free(&b); return rc; }
    *data_out = st_buf_steal_str(&b, len_out);
    return *data_out ? 0 : ENOMEM;
}

int cli_read_exit(int rc)
{
    return rc == ENOMEM ? EXIT_FAIL : EXIT_USAGE;
}

int cli_write_all(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int cli_write_out(const char *cmd, const void *buf, size_t len)
{
    int rc = cli_write_all(1, buf, len);
    if (rc == 0) return EXIT_OK;
    cli_err("%s: writing output: %s", cmd, strerror(rc));
    return EXIT_FAIL;
}

int cli_parse_time(const char *cmd, const char *opt, const char *val, int64_t *out)
{
    if (st_time_arg_parse(val, st_now_us(), out) == 0) return 0;
    size_t n = strlen(val), d = strspn(val, "0123456789");
    if (n >= 2 && d == n - 1 && strchr("smhdwy", val[n - 1]))      /* a relative time, too large */
        cli_err("%s: %s: '%s' is out of range (a relative time is at most 1000000000 units and 292000 years)", cmd, opt, val);
    else
        cli_err("%s: %s: '%s' is neither RFC 3339 (2025-11-01, 2025-11-01T09:00:00Z) nor a relative time "
                "(90d, 12h, 30m, 2w)", cmd, opt, val);
    return -1;
}
