/*
 * protected.c: protected mode (protected.h; SECURITY.md, "Protected mode").
 *
 * The agent runs as the user the hook runs as. In the default mode it can
 * therefore read the signing key and rewrite the store, and the defences
 * are sealing often and checkpoints kept elsewhere. A copy of sealtrail
 * installed set-user-ID to a dedicated account (say `sealtrail`) runs the
 * hook with that account's rights: it records into the account's store,
 * while the agent's user cannot open anything in it.
 *
 * Such a process works for a caller it must not trust, who chose its
 * arguments, environment, umask, descriptors and limits. So, as OpenSSH
 * and sudo do for their privileged parts:
 *   - only `hook` runs (recording one event, or replaying the spool); every
 *     other command is refused, to be run as the account itself;
 *   - the store is the account's default store, found from the password
 *     database, never from --dir or the environment;
 *   - the store directory must be the account's alone, and no directory
 *     above it writable by anyone but root or the account (OpenSSH's
 *     StrictModes): otherwise the caller could move the store aside and put
 *     one of their own in its place;
 *   - the environment is emptied: SEALTRAIL_FAKE_TIME would date entries,
 *     SEALTRAIL_NO_SYSLOG would keep checkpoints out of the journal, $HOME
 *     or $TMPDIR would point elsewhere. The two variables the hook reads as
 *     data stay, and $USER is set to the real user, whom entries name;
 *   - umask 077 (main has already opened descriptors 0-2 if they were
 *     closed, so the store's files cannot become "stdout").
 * The kernel does the rest for a set-user-ID program: the loader ignores
 * LD_PRELOAD and its kind, and the caller can neither trace the process nor
 * read its memory or a core dump.
 */
#include "protected.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SEE_DOCS "SECURITY.md, \"Protected mode\""

/* Resolves dir into real and checks it: a directory owned by uid with no
 * access for group or others, under directories each owned by root or uid
 * and writable by neither group nor others. 0, or -1 with why. */
static int safe_store_path(const char *dir, uid_t uid, const char *account, char real[PATH_MAX], char *why, size_t n)
{
    struct stat st;
    if (!realpath(dir, real)) {
        if (errno == ENOENT)
            snprintf(why, n, "the protected store %s does not exist: create it as %s (sudo -u %s -H sealtrail init)", dir,
                     account, account);
        else
            snprintf(why, n, "the protected store %s: %s", dir, strerror(errno));
        return -1;
    }
    if (stat(real, &st) != 0) { snprintf(why, n, "the protected store %s: %s", real, strerror(errno)); return -1; }
    if (!S_ISDIR(st.st_mode)) { snprintf(why, n, "the protected store %s is not a directory", real); return -1; }
    if (st.st_uid != uid) {
        snprintf(why, n, "the protected store %s belongs to uid %lu, not to %s", real, (unsigned long)st.st_uid, account);
        return -1;
    }
    if (st.st_mode & 077) {
        snprintf(why, n, "the protected store %s has mode %04o: it must be closed to everyone but %s (chmod 700 %s)", real,
                 (unsigned)(st.st_mode & 07777), account, real);
        return -1;
    }
    char up[PATH_MAX];
    snprintf(up, sizeof up, "%s", real);
    for (;;) {
        char *slash = strrchr(up, '/');
        if (!slash) break;                     /* realpath gives an absolute path */
        if (slash == up) slash[1] = 0;         /* "/" itself */
        else *slash = 0;
        if (stat(up, &st) != 0) { snprintf(why, n, "%s (above the protected store): %s", up, strerror(errno)); return -1; }
        if (st.st_uid != 0 && st.st_uid != uid) {
            snprintf(why, n, "%s (above the protected store) belongs to uid %lu: it must belong to root or %s", up,
                     (unsigned long)st.st_uid, account);
            return -1;
        }
        if (st.st_mode & 022) {
            snprintf(why, n, "%s (above the protected store) has mode %04o: it must not be writable by group or others",
                     up, (unsigned)(st.st_mode & 07777));
            return -1;
        }
        if (slash == up) break;
    }
    return 0;
}

/* Empties the environment but for the hook's data variables, and names the
 * real user in $USER (st_event_user). 0 or -1. */
static int reset_environment(const char *user)
{
    static const char *const keep[] = { "CLAUDE_CODE_SESSION_ID", "CLAUDECODE" };
    char *kept[sizeof keep / sizeof keep[0]] = { NULL };
    int rc = 0;
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
        const char *v = getenv(keep[i]);
        if (v && !(kept[i] = strdup(v))) rc = -1;
    }
    if (rc == 0 && clearenv() != 0) rc = -1;
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
        if (rc == 0 && kept[i] && setenv(keep[i], kept[i], 1) != 0) rc = -1;
        free(kept[i]);
    }
    if (rc == 0 && setenv("USER", user, 1) != 0) rc = -1;
    return rc;
}

/* The default store of account pw (cli.c's rule, without the environment). */
static int account_store(const struct passwd *pw, char *store, size_t n)
{
    return (size_t)snprintf(store, n, "%s" CLI_STORE_UNDER_HOME, pw->pw_dir) < n ? 0 : -1;
}

int protected_store_of(const char *binary, char *store, size_t n, char *why, size_t wn)
{
    struct stat st;
    if (stat(binary, &st) != 0) { snprintf(why, wn, "%s: %s", binary, strerror(errno)); return -1; }
    if (!S_ISREG(st.st_mode) || !(st.st_mode & S_ISUID) || st.st_uid == 0) {
        snprintf(why, wn, "%s is not a protected copy: it must be set-user-ID to a dedicated account, not root "
                          "(chown ACCOUNT %s; chmod 4755 %s)", binary, binary, binary);
        return -1;
    }
    struct passwd *pw = getpwuid(st.st_uid);
    if (!pw || !pw->pw_dir || pw->pw_dir[0] != '/' || account_store(pw, store, n) != 0) {
        snprintf(why, wn, "%s: its owner (uid %lu) has no usable home directory in the password database", binary,
                 (unsigned long)st.st_uid);
        return -1;
    }
    return 0;
}

int protected_enter(st_cli *cli, int argc, char **argv, int cmd)
{
    uid_t ruid = getuid(), euid = geteuid();
    gid_t rgid = getgid(), egid = getegid();
    if (ruid == euid && rgid == egid) return 0;    /* an ordinary run */
    if ((euid == 0 && ruid != 0) || (egid == 0 && rgid != 0)) {
        cli_err("refusing to run set-user-ID or set-group-ID root: protected mode is a copy set-user-ID to a "
                "dedicated account (" SEE_DOCS ")");
        return EXIT_FAIL;
    }
    if (euid == ruid) {
        cli_err("refusing to run set-group-ID alone: the signing key is readable by its owner only, so protected "
                "mode is a copy set-user-ID to a dedicated account (" SEE_DOCS ")");
        return EXIT_FAIL;
    }
    char user[256], account[256], store[PATH_MAX], real[PATH_MAX], why[3 * PATH_MAX + 512];
    struct passwd *pw = getpwuid(ruid);      /* static storage: copied before the next call */
    if (pw && pw->pw_name && *pw->pw_name) snprintf(user, sizeof user, "%s", pw->pw_name);
    else snprintf(user, sizeof user, "%lu", (unsigned long)ruid);   /* no entry: the number, as ls -l shows it */
    pw = getpwuid(euid);
    if (!pw || !pw->pw_name || !pw->pw_dir || pw->pw_dir[0] != '/') {
        cli_err("protected mode: the account this copy runs as (uid %lu) has no home directory in the password "
                "database (" SEE_DOCS ")", (unsigned long)euid);
        return EXIT_FAIL;
    }
    snprintf(account, sizeof account, "%s", pw->pw_name);
    if (account_store(pw, store, sizeof store) != 0) {
        cli_err("protected mode: the home directory of %s is too long", account);
        return EXIT_FAIL;
    }
    const char *c = cmd < argc ? argv[cmd] : "";
    if (strcmp(c, "hook") != 0) {
        cli_err("protected mode: this set-user-ID copy runs only 'sealtrail hook' (as %s, for %s); run '%s' as %s "
                "with the ordinary sealtrail, e.g. sudo -u %s -H sealtrail %s", account, user, c, account, account, c);
        return EXIT_USAGE;
    }
    if (safe_store_path(store, euid, account, real, why, sizeof why) != 0) {
        cli_err("protected mode: %s (" SEE_DOCS ")", why);
        return EXIT_FAIL;
    }
    if (reset_environment(user) != 0 || !(cli->forced_dir = strdup(real))) {
        cli_err("protected mode: out of memory");
        return EXIT_FAIL;
    }
    umask(077);
    cli->protected_mode = 1;
    return 0;
}
