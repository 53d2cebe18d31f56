/*
 * cmd_export.c: `sealtrail export --out FILE [selection]` writes an auditor
 * bundle (docs/FORMAT.md section 6): the whole log, an index range, a time window, or
 * a filtered selection, optionally with the consistency proof from a
 * checkpoint the auditor already holds. The file is written as an unnamed
 * file in the target's directory (O_TMPFILE), fsynced, given a temporary
 * name and renamed over the target, so a failed export leaves nothing that
 * looks like a bundle, and a killed one (kill -9, a crash) leaves no
 * partial file either: it never had a name. Where O_TMPFILE is not
 * supported it is written under the temporary name from the start.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "keys.h"
#include "export.h"
#include "query.h"
#include "sealtrail.h"

static void usage(void)
{
    puts("usage: sealtrail [--dir DIR] export --out FILE [selection] [--from-checkpoint FILE] [--seal] [--force]\n"
         "\n"
         "Writes an auditor bundle: the selected entries' exact bytes, their payloads\n"
         "(or the signed record that explains each absent one), the signed checkpoints\n"
         "covering them with consistency proofs, and the public key. Verify it with\n"
         "auditverify. Only sealed entries are exported: use --seal to seal first.\n"
         "\n"
         "selection (default: the whole log):\n"
         "  --from I, --to J     entries I..J (inclusive; either may be omitted)\n"
         "  --since T, --until T a time window since <= time < until; T is RFC 3339\n"
         "                       (2025-11-01, 2025-11-01T09:00:00Z) or relative (90d, 12h)\n"
         "  --tool L, --event L, --session L, --status L\n"
         "                       a filter: comma-separated values, any of which matches;\n"
         "                       repeatable (adds values); \\, is a comma inside a value;\n"
         "                       combines with --since/--until, --path and --text (AND)\n"
         "  --path P             entries that touched a path (substring, or a glob with * ? [)\n"
         "  --text S             entries one of whose payloads contains S\n"
         "A filtered bundle carries an inclusion proof per entry and states the filter.\n"
         "\n"
         "options:\n"
         "  --out FILE           where to write the bundle ('-' = standard output; to a\n"
         "                       pipe, the bundle is first built in an unlinked file in\n"
         "                       $TMPDIR, so a slow reader holds no snapshot of the store)\n"
         "  --from-checkpoint F  a checkpoint the auditor holds: the bundle proves the log\n"
         "                       only grew since (a fork or rollback is refused here)\n"
         "  --seal               seal unsealed entries first instead of refusing them\n"
         "  --force              overwrite FILE if it exists\n"
         "\n"
         "examples:\n"
         "  sealtrail export --out audit.stb\n"
         "  sealtrail export --out q4.stb --since 2025-10-01 --until 2026-01-01\n"
         "  sealtrail export --out auth.stb --tool Edit,Write --path 'src/auth/*' --since 90d\n"
         "  sealtrail export --out new.stb --from 1000 --from-checkpoint last.checkpoint\n"
         "\n"
         "EXIT STATUS\n"
         "  0 written; 1 the export failed (unsealed entries, store error, I/O, a\n"
         "  --from-checkpoint this log does not extend); 2 usage error or bad input (a\n"
         "  --from-checkpoint file that is not a checkpoint).");
}

/* A list option given again adds its values: "a" then "b" is "a,b" (as in
 * query). *list is NULL or malloc'd by an earlier call. */
static int add_values(char **list, const char *opt, const char *val)
{
    if (cli_check_list_end("export", opt, val)) return -1;   /* it would escape the comma joining the next */
    size_t old = *list ? strlen(*list) : 0, n = strlen(val);
    char *p = realloc(*list, old + 1 + n + 1);
    if (!p) { cli_err("export: %s: out of memory", opt); return -1; }
    if (old) p[old++] = ',';
    memcpy(p + old, val, n + 1);
    *list = p;
    return 0;
}

static int parse_time(const char *opt, const char *val, int64_t *out)
{
    return cli_parse_time("export", opt, val, out);
}

/* A --status value no entry can carry would select nothing and make an empty
 * bundle that looks like evidence of no such call: refused, as by query. */
static int check_status(const char *list)
{
    char *copy = strdup(list);
    st_qfield f = { 0 };
    if (!copy) { cli_err("export: --status: out of memory"); return -1; }
    /* a malformed list is reported by export itself */
    int rc = st_qfield_add_list(&f, copy) == 0 ? cli_check_status("export", &f) : 0;
    free(copy);
    return rc;
}

/* The temporary bundle while it is being written: Ctrl-C, SIGTERM or SIGHUP
 * remove it (unlink is async-signal-safe) and end the process by that signal,
 * so an interrupted export leaves no partial file beside the target. */
static char pending_tmp[4096];

static void remove_pending(int sig)
{
    if (pending_tmp[0]) unlink(pending_tmp);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void guard_pending(const char *tmp)
{
    snprintf(pending_tmp, sizeof pending_tmp, "%s", tmp);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = remove_pending;
    sigemptyset(&sa.sa_mask);
    static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
        struct sigaction old;
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)   /* ignored (nohup, &): stays so */
            sigaction(sigs[i], &sa, NULL);
    }
}

/* tmp = DIR/.NAME.<suffix> beside the target DIR/NAME: 0, or -1 (ENAMETOOLONG). */
static int temp_path(char *tmp, size_t cap, const char *out, const char *suffix)
{
    const char *slash = strrchr(out, '/');
    int dirlen = slash ? (int)(slash - out + 1) : 0;
    if (snprintf(tmp, cap, "%.*s.%s.%s", dirlen, out, slash ? slash + 1 : out, suffix) >= (int)cap) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

/* The bundle's file in the target's directory: unnamed (O_TMPFILE, tmp set to
 * "") where the file system supports it and /proc is there to name it by
 * (name_temp), else DIR/.NAME.XXXXXX. */
static int open_temp(const char *out, char *tmp, size_t cap)
{
    if (temp_path(tmp, cap, out, "XXXXXX") != 0) return -1;
    const char *slash = strrchr(out, '/');
    char dir[4096];
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - out + 1) : 1, slash ? out : ".");
    int fd = st_eaccess("/proc/self/fd", X_OK) == 0 ? open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600) : -1;
    if (fd >= 0) tmp[0] = 0;
    else fd = mkstemp(tmp);
    if (fd >= 0) fchmod(fd, 0644);
    return fd;
}

/* Names the unnamed file fd DIR/.NAME.<random> (tmp), for the rename: 0 or -1 (errno). */
static int name_temp(int fd, const char *out, char *tmp, size_t cap)
{
    char proc[64], rnd[9];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    for (int tries = 0; tries < 100; tries++) {
        snprintf(rnd, sizeof rnd, "%08x", randombytes_random());
        if (temp_path(tmp, cap, out, rnd) != 0) break;
        if (linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) == 0) return 0;
        if (errno != EEXIST) break;
    }
    tmp[0] = 0;
    return -1;
}

/* --out - to a pipe or socket: the bundle is built in an unlinked 0600 file
 * in $TMPDIR (one consistent snapshot of the store, as a bundle must be)
 * and copied out after the snapshot and the store are closed, so a reader
 * that stalls pins no snapshot (LMDB could not reuse the pages freed after
 * it: the store file would grow with every append) and blocks no
 * compaction. A regular file is written directly. */
static int spool_open(void)
{
    const char *dir = getenv("TMPDIR");
    char path[4096];
    if (!dir || !*dir) dir = "/tmp";
    if (snprintf(path, sizeof path, "%s/.sealtrail-export.XXXXXX", dir) >= (int)sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = mkstemp(path);               /* mode 0600 */
    if (fd >= 0) unlink(path);
    return fd;
}

static int spool_copy(int fd)
{
    static uint8_t buf[1 << 16];
    if (lseek(fd, 0, SEEK_SET) != 0) return errno;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno;
        if (n == 0) return 0;
        int rc = cli_write_all(1, buf, (size_t)n);
        if (rc) return rc;
    }
}

/* Makes the rename durable: fsync the directory that holds path. */
static int sync_dir(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == path) snprintf(dir, sizeof dir, "/");
    else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* The written bundle becomes FILE: fsync, a name if it has none yet, rename, fsync the directory. */
static int commit_file(int fd, const char *out, char *tmp, size_t cap)
{
    if (fsync(fd) != 0) return -1;
    if (!tmp[0]) {
        if (name_temp(fd, out, tmp, cap) != 0) return -1;
        guard_pending(tmp);
    }
    return rename(tmp, out) != 0 || sync_dir(out) != 0 ? -1 : 0;
}

static int run(st_cli *cli, int argc, char **argv, char *lists[4]);

int cmd_export(st_cli *cli, int argc, char **argv)
{
    char *lists[4] = { NULL, NULL, NULL, NULL };  /* --tool, --event, --session, --status */
    int code = run(cli, argc, argv, lists);
    for (int i = 0; i < 4; i++) free(lists[i]);
    return code;
}

static int run(st_cli *cli, int argc, char **argv, char *lists[4])
{
    cli_take_dir(cli, &argc, argv);
    if (cli_wants_help(argc, argv)) {
        usage();
        return EXIT_OK;
    }
    static const struct option opts[] = {
        { "out", required_argument, NULL, 'o' },     { "from", required_argument, NULL, 'f' },
        { "to", required_argument, NULL, 't' },      { "since", required_argument, NULL, 's' },
        { "until", required_argument, NULL, 'u' },   { "tool", required_argument, NULL, 'T' },
        { "event", required_argument, NULL, 'E' },   { "session", required_argument, NULL, 'S' },
        { "status", required_argument, NULL, 'X' },  { "path", required_argument, NULL, 'P' },
        { "text", required_argument, NULL, 'x' },    { "from-checkpoint", required_argument, NULL, 'c' },
        { "seal", no_argument, NULL, 'L' },          { "force", no_argument, NULL, 'F' },
        { 0, 0, 0, 0 },
    };
    st_export_opts o;
    memset(&o, 0, sizeof o);
    o.to = UINT64_MAX;
    const char *out = NULL, *cpfile = NULL;
    int has_range = 0, force = 0, c;
    optind = 1;
    while ((c = cli_getopt("export", argc, argv, "", opts)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'f': if (cli_parse_u64("--from", optarg, &o.from)) return EXIT_USAGE; has_range = 1; break;
        case 't': if (cli_parse_u64("--to", optarg, &o.to)) return EXIT_USAGE; has_range = 1; break;
        case 's': if (parse_time("--since", optarg, &o.since_us)) return EXIT_USAGE; o.has_since = 1; break;
        case 'u': if (parse_time("--until", optarg, &o.until_us)) return EXIT_USAGE; o.has_until = 1; break;
        case 'T': if (add_values(&lists[0], "--tool", optarg)) return EXIT_USAGE; break;
        case 'E': if (add_values(&lists[1], "--event", optarg)) return EXIT_USAGE; break;
        case 'S': if (add_values(&lists[2], "--session", optarg)) return EXIT_USAGE; break;
        case 'X': if (add_values(&lists[3], "--status", optarg)) return EXIT_USAGE; break;
        case 'P': o.path = optarg; break;
        case 'x': o.text = optarg; break;
        case 'c': cpfile = optarg; break;
        case 'L': o.seal = 1; break;
        case 'F': force = 1; break;
        default: return EXIT_USAGE;
        }
    }
    o.tool = lists[0];
    o.event = lists[1];
    o.session = lists[2];
    o.status = lists[3];
    if (optind < argc) return cli_stray_arg("export", argv, optind);
    if (!out) {
        cli_err("export: --out FILE is required (see --help)");
        return EXIT_USAGE;
    }
    if (o.status && check_status(o.status)) return EXIT_USAGE;
    int filter = o.tool || o.event || o.session || o.status || o.path || o.text;
    int window = o.has_since || o.has_until;
    if (has_range && o.from > o.to) {
        cli_err("export: --from %llu is after --to %llu", (unsigned long long)o.from, (unsigned long long)o.to);
        return EXIT_USAGE;
    }
    if (!*out) {
        cli_err("export: --out: empty file name");
        return EXIT_USAGE;
    }
    if (has_range && (filter || window)) {
        cli_err("export: --from/--to select an index range; they do not combine with --since/--until or filters");
        return EXIT_USAGE;
    }
    o.kind = filter ? ST_SEL_FILTER : window ? ST_SEL_TIME : has_range ? ST_SEL_RANGE : ST_SEL_FULL;
    if (o.has_since && o.has_until && o.since_us >= o.until_us) {
        cli_err("export: --since must be before --until");
        return EXIT_USAGE;
    }
    char *cp = NULL;
    size_t cplen = 0;
    if (cpfile) {
        int rc = cli_read_file(cpfile, 65536, &cp, &cplen);
        if (rc) {
            cli_err("export: --from-checkpoint %s: %s", cpfile, st_strerror(rc));
            return cli_read_exit(rc);
        }
        o.from_checkpoint = cp;
        o.from_checkpoint_len = cplen;
    }
    int to_stdout = strcmp(out, "-") == 0;
    if (to_stdout && isatty(1)) {
        cli_err("export: refusing to write a binary bundle to a terminal (redirect it, or give --out FILE)");
        free(cp);
        return EXIT_USAGE;
    }
    struct stat ost;
    if (!to_stdout && (out[strlen(out) - 1] == '/' || (stat(out, &ost) == 0 && S_ISDIR(ost.st_mode)))) {
        cli_err("export: --out %s: is a directory; give a file name for the bundle", out);
        free(cp);
        return EXIT_USAGE;
    }
    st_store *s = NULL;
    int rc = cli_open_store(cli, o.seal ? 0 : ST_OPEN_RDONLY, &s);
    if (rc) {
        free(cp);
        return rc;
    }
    /* every argument (the selection, the range, --from-checkpoint) before the output file */
    if ((rc = st_export_check(s, &o)) != 0) {
        cli_err("export: %s", st_store_error(s)[0] ? st_store_error(s) : st_strerror(rc));
        st_store_close(s);
        free(cp);
        return rc == ST_EINVAL || (rc == ST_EFORMAT && cpfile) ? EXIT_USAGE : EXIT_FAIL;
    }
    if (!to_stdout && !force && st_eaccess(out, F_OK) == 0) {
        cli_err("export: %s exists (use --force to overwrite)", out);
        st_store_close(s);
        free(cp);
        return EXIT_FAIL;
    }
    char tmp[4096];
    int fd = 1;
    struct stat sb;
    int spool = to_stdout && !(fstat(1, &sb) == 0 && S_ISREG(sb.st_mode));
    if (spool && (fd = spool_open()) < 0) {
        cli_err("export: cannot create a temporary file in %s to spool the bundle: %s",
                getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", strerror(errno));
        st_store_close(s);
        free(cp);
        return EXIT_FAIL;
    }
    if (!to_stdout && (fd = open_temp(out, tmp, sizeof tmp)) < 0) {
        cli_err("export: %s: cannot create a temporary file next to it: %s", out, strerror(errno));
        st_store_close(s);
        free(cp);
        return EXIT_FAIL;
    }
    if (!to_stdout && tmp[0]) guard_pending(tmp);
    st_export_stats stats;
    o.writeback = !to_stdout;             /* fsynced below */
    rc = st_export_store(s, &o, fd, &stats);
    int code = EXIT_OK;
    if (rc) {
        /* bad input: a usage error, or a --from-checkpoint file that is no checkpoint */
        code = rc == ST_EINVAL || (rc == ST_EFORMAT && cpfile) ? EXIT_USAGE : EXIT_FAIL;
        cli_err("export: %s", st_store_error(s)[0] ? st_store_error(s) : st_strerror(rc));
    } else if (!to_stdout && commit_file(fd, out, tmp, sizeof tmp) != 0) {
        cli_err("export: %s: %s", out, strerror(errno));
        code = EXIT_FAIL;
    }
    if (!to_stdout) {
        close(fd);
        if (code != EXIT_OK && tmp[0]) unlink(tmp);
    }
    if (spool) {
        if (code == EXIT_OK) {
            st_store_close(s);            /* nothing of the store is held while the reader drains the bundle */
            s = NULL;
            if ((rc = spool_copy(fd)) != 0) {
                cli_err("export: writing the bundle to standard output: %s", strerror(rc));
                code = EXIT_FAIL;
            }
        }
        close(fd);
    }
    if (code == EXIT_OK) {
        FILE *f = to_stdout ? stderr : stdout;
        fprintf(f, "wrote %s: %llu entries, %llu payloads (%llu absent), %llu checkpoints, %llu bytes\n",
                to_stdout ? "bundle to standard output" : out, (unsigned long long)stats.entries,
                (unsigned long long)stats.payloads, (unsigned long long)stats.absent,
                (unsigned long long)stats.checkpoints, (unsigned long long)stats.bytes);
        if (!to_stdout) {
            /* What an auditor pins: the root in root mode (with the first log key
             * for checkpoints from before it), else the first log key. */
            st_vkey anchors[2];
            size_t na = 0;
            fprintf(f, "verify with: auditverify %s", out);
            if (st_keys_trust_anchors(s, anchors, &na) == 0 && na > 0) {
                for (size_t i = 0; i < na; i++) {
                    char vk[ST_VKEY_MAX];
                    st_vkey_format(vk, &anchors[i]);
                    fprintf(f, " --trust '%s'", vk);
                }
            } else {
                fprintf(f, " --trust '%s'", st_store_vkey(s));
            }
            fputc('\n', f);
        }
    }
    st_store_close(s);
    free(cp);
    return code;
}
