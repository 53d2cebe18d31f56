/*
 * cmd_hook_install.c: `sealtrail hook install` and `sealtrail hook uninstall`
 * (usage in cmd_hook.c): find the settings file (--project DIR, default the
 * current directory; --user; --settings FILE), the absolute paths of this
 * binary and of the store, and merge or remove our registration with
 * store/hookcfg.c. Writes only when something changes; --dry-run prints the
 * would-be file instead.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "hookcfg.h"
#include "protected.h"

/* ==== hook install / uninstall ========================================================= */

static char *abs_path(const char *p)
{
    char buf[PATH_MAX];
    if (realpath(p, buf)) return strdup(buf);
    if (p[0] == '/') return strdup(p);
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) return NULL;
    size_t n = strlen(cwd) + strlen(p) + 2;
    char *r = malloc(n);
    if (r) snprintf(r, n, "%s/%s", cwd, p);
    return r;
}

static char *settings_path(const char *project, int user)
{
    const char *base = project;
    char home[PATH_MAX];
    if (user) {
        const char *h = getenv("HOME");
        if (!h || h[0] != '/') {
            cli_err("hook install: --user needs $HOME (or use --settings FILE)");
            return NULL;
        }
        snprintf(home, sizeof home, "%s", h);
        base = home;
    }
    char *b = abs_path(base ? base : ".");
    if (!b) return NULL;
    size_t n = strlen(b) + 32;
    char *r = malloc(n);
    if (r) snprintf(r, n, "%s/.claude/settings.json", b);
    free(b);
    return r;
}

/* Claude Code runs no settings-file hook while any settings level sets
 * "disableAllHooks": true. Checked after install: the file written, the
 * project's settings.local.json beside it and the user's settings. */
static void note_if_hooks_disabled(const char *written, const char *text, size_t len)
{
    char others[2][PATH_MAX + 32];
    size_t nothers = 0;
    const char *slash = strrchr(written, '/');
    if (slash && strcmp(slash + 1, "settings.json") == 0)
        snprintf(others[nothers++], sizeof others[0], "%.*s/settings.local.json", (int)(slash - written), written);
    const char *home = getenv("HOME");
    if (home && home[0] == '/') snprintf(others[nothers++], sizeof others[0], "%s/.claude/settings.json", home);
    for (size_t i = 0; i <= nothers; i++) {
        const char *p = i == 0 ? written : others[i - 1];
        if (i > 0 && strcmp(p, written) == 0) continue;
        char *t = NULL;
        size_t n = 0;
        int exists = 1, off;
        st_err err;
        if (i == 0) off = st_hookcfg_hooks_disabled(text, len);
        else off = st_hookcfg_read(p, &t, &n, &exists, &err) == 0 && exists && st_hookcfg_hooks_disabled(t, n);
        free(t);
        if (off)
            fprintf(stderr, "sealtrail: warning: %s sets \"disableAllHooks\": true, so Claude Code runs no hooks\n"
                            "  from settings files (sealtrail's included) until that is removed\n", p);
    }
}

static int split_events(char *list, const char **out, size_t max, size_t *n)
{
    *n = 0;
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        if (!*tok) continue;
        for (const char *c = tok; *c; c++)
            if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9'))) {
                cli_err("hook install: --events: '%s' is not an event name", tok);
                return -1;
            }
        /* a name Claude Code does not send would never run (and a client before 2.1.101
         * rejects the whole settings file for it): a typo, refused */
        if (strcmp(tok, "WorktreeCreate") == 0 || strcmp(tok, "WorktreeRemove") == 0) {
            cli_err("hook install: --events: %s: a command hook for it replaces Claude Code's own worktree handling;"
                    " sealtrail does not register it", tok);
            return -1;
        }
        size_t nall, k = 0;
        const char *const *all = st_hookcfg_default_events(0, &nall);
        while (k < nall && strcmp(all[k], tok) != 0) k++;
        if (k == nall) {
            cli_err("hook install: --events: '%s' is not a hook event sealtrail records (the default, without"
                    " --events, registers all of them; see the list with --dry-run)", tok);
            return -1;
        }
        if (*n == max) { cli_err("hook install: --events: too many events"); return -1; }
        out[(*n)++] = tok;
    }
    if (!*n) cli_err("hook install: --events: no event named (give A,B,...)");
    return *n ? 0 : -1;
}

int cmd_hook_install(st_cli *cli, int argc, char **argv, int uninstall)
{
    const char *project = NULL, *settings = NULL, *binary = NULL, *protected_bin = NULL;
    int user = 0, dry = 0, shell_form = 0;
    char *events_arg = NULL;
    uint64_t timeout = 0;
    /* uninstall takes the first four only (the table ends there for it) */
    static const struct option opts[] = {
        { "project", required_argument, NULL, 'p' }, { "user", no_argument, NULL, 'u' },
        { "settings", required_argument, NULL, 's' }, { "dry-run", no_argument, NULL, 'n' },
        { 0, 0, 0, 0 },
    };
    static const struct option iopts[] = {
        { "project", required_argument, NULL, 'p' }, { "user", no_argument, NULL, 'u' },
        { "settings", required_argument, NULL, 's' }, { "dry-run", no_argument, NULL, 'n' },
        { "shell-form", no_argument, NULL, 'f' },    { "binary", required_argument, NULL, 'b' },
        { "protected", required_argument, NULL, 'P' }, { "events", required_argument, NULL, 'e' },
        { "timeout", required_argument, NULL, 't' }, { 0, 0, 0, 0 },
    };
    const char *cmd = uninstall ? "hook uninstall" : "hook install";
    int c;
    optind = 1;                       /* argv + 1: argv[0] is "install" or "uninstall" */
    while ((c = cli_getopt(cmd, argc - 1, argv + 1, "n", uninstall ? opts : iopts)) != -1) {
        switch (c) {
        case 'p': project = optarg; break;
        case 'u': user = 1; break;
        case 's': settings = optarg; break;
        case 'n': dry = 1; break;
        case 'f': shell_form = 1; break;
        case 'b': binary = optarg; break;
        case 'P': protected_bin = optarg; break;
        case 'e': events_arg = optarg; break;
        case 't':
            if (st_parse_u64(optarg, strlen(optarg), 3600, &timeout) != 0 || timeout == 0) {
                cli_err("hook install: --timeout: expected seconds between 1 and 3600, got '%s'", optarg);
                return EXIT_USAGE;
            }
            break;
        default: return EXIT_USAGE;
        }
    }
    if (optind < argc - 1) return cli_stray_arg(cmd, argv + 1, optind);
    if (binary && protected_bin) {
        cli_err("hook install: give --binary PATH or --protected PATH, not both");
        return EXIT_USAGE;
    }
    char pstore[PATH_MAX];
    if (protected_bin) {
        char why[3 * PATH_MAX + 512];
        if (cli->dir) {
            cli_err("hook install: --protected records in the protected copy's own store; --dir does not apply");
            return EXIT_USAGE;
        }
        if (protected_store_of(protected_bin, pstore, sizeof pstore, why, sizeof why) != 0) {
            cli_err("hook install: --protected %s", why);
            return EXIT_USAGE;
        }
        binary = protected_bin;
    }
    if ((project != NULL) + user + (settings != NULL) > 1) {
        cli_err("hook %s: give one of --project DIR, --user, --settings FILE", argv[1]);
        return EXIT_USAGE;
    }
    /* a project directory that does not exist is a typo: creating it would
     * install the hook where Claude Code never looks */
    struct stat pst;
    if (project) {
        const char *why = stat(project, &pst) != 0 ? strerror(errno)
                        : !S_ISDIR(pst.st_mode) ? "not a directory" : NULL;
        if (why) {
            cli_err("hook %s: --project %s: %s", argv[1], project, why);
            return EXIT_USAGE;
        }
    }
    char *path = settings ? strdup(settings) : settings_path(project, user);
    if (!path) return EXIT_FAIL;
    char *text = NULL, *out = NULL, *bin = NULL, *store = NULL;
    size_t len;
    int exists, code = EXIT_OK, changed = 0, removed = 0;
    st_buf summary = { 0 };
    st_err err;
    err.msg[0] = 0;
    int rc = st_hookcfg_read(path, &text, &len, &exists, &err);
    if (rc) { code = cli_fail(rc, "hook", err.msg); goto done; }
    if (uninstall) {
        rc = st_hookcfg_uninstall(text, len, &out, &removed, &summary, &err);
        changed = removed > 0;
    } else {
        const char *dir = protected_bin ? pstore : cli_store_dir(cli);
        if (!dir) { code = EXIT_USAGE; goto done; }
        store = abs_path(dir);
        char self[PATH_MAX];
        ssize_t n = binary ? -1 : readlink("/proc/self/exe", self, sizeof self - 1);
        if (n > 0) self[n] = 0;
        bin = binary ? abs_path(binary) : n > 0 ? strdup(self) : NULL;
        if (!bin || !store) {
            cli_err("hook install: cannot find the absolute path of the sealtrail binary (pass --binary PATH)");
            code = EXIT_FAIL;
            goto done;
        }
        const char *evs[64];
        size_t nev = 0;
        if (events_arg && split_events(events_arg, evs, 64, &nev)) { code = EXIT_USAGE; goto done; }
        st_hookcfg_opts o = { .binary = bin, .store_dir = store, .shell_form = shell_form,
                              .events = events_arg ? evs : NULL, .nevents = nev, .timeout_s = (unsigned)timeout };
        rc = st_hookcfg_install(text, len, &o, &out, &changed, &summary, &err);
    }
    if (rc) { code = cli_fail(rc, path, err.msg); goto done; }
    if (!uninstall) note_if_hooks_disabled(path, out, strlen(out));
    if (dry) {
        printf("# %s: %s\n", path, changed ? "would change" : "no change");
        fwrite(summary.data ? (char *)summary.data : "", 1, summary.len, stdout);
        if (changed) { printf("# new contents:\n"); fputs(out, stdout); }
        goto done;
    }
    if (changed && (rc = st_hookcfg_write(path, out, strlen(out), &err)) != 0) {
        code = cli_fail(rc, "hook", err.msg);
        goto done;
    }
    if (uninstall)
        printf("%s: removed %d sealtrail hook handler%s\n", path, removed, removed == 1 ? "" : "s");
    else
        printf("%s: %s\n", path, changed ? "sealtrail hook installed" : "already installed, nothing changed");
    if (!uninstall && store && !protected_bin) {      /* a protected store is closed to this user */
        char probe[PATH_MAX + 16];
        snprintf(probe, sizeof probe, "%s/data.mdb", store);
        if (st_eaccess(probe, F_OK) != 0)
            fprintf(stderr, "sealtrail: note: no store in %s yet; events are spooled until you run\n"
                            "  sealtrail --dir '%s' init\n", store, store);
    }
done:
    st_buf_free(&summary);
    free(text);
    free(out);
    free(bin);
    free(store);
    free(path);
    return code;
}
