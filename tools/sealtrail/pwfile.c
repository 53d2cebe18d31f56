/*
 * pwfile.c: getpwuid() for the statically linked sealtrail binary.
 *
 * The hook is a process per tool call, and a dynamically linked sealtrail
 * spent a quarter of its CPU time in the dynamic loader (mapping libc,
 * relocations, symbol lookups), so the binary is linked with -static when
 * the C library allows it (CMakeLists.txt). A static glibc cannot load NSS
 * modules reliably (it warns at link time for getpwuid), and sealtrail asks
 * the password database only when the environment says nothing: the home
 * directory when $HOME is unset (Claude Code once ran hooks without it), the
 * user name when $USER and $LOGNAME are unset. So the static link routes
 * getpwuid to this reader of /etc/passwd (-Wl,--wrap=getpwuid). An account
 * that exists only in a network directory (LDAP, SSSD) and runs without
 * $HOME or $USER then gets no home directory (pass --dir, as installed hooks
 * do) and an empty user name.
 *
 * Same contract as getpwuid: a pointer to static storage, overwritten by the
 * next call, or NULL (errno 0 when the account is not in the file).
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PWFILE_PATH      "/etc/passwd"
#define PWFILE_MAX_BYTES ((size_t)64 << 20)   /* read bound: stop scanning here */
#define PWFILE_LINE_MAX  4096u                  /* longer lines are skipped */

struct passwd *__wrap_getpwuid(uid_t uid);

/* Parses one /etc/passwd line "name:pw:uid:gid:gecos:dir:shell". If it is
 * uid's entry, copies it into pw (strings in store) and returns 1; else 0. */
static int parse_line(const char *line, size_t len, uid_t uid, struct passwd *pw, char *store, size_t store_len)
{
    const char *f[7];
    size_t fl[7], n = 0, start = 0;
    if (len == 0 || line[0] == '+' || line[0] == '-' || line[0] == '#') return 0;   /* compat / comments */
    for (size_t i = 0; i <= len && n < 7; i++) {
        if (i == len || line[i] == ':') {
            f[n] = line + start;
            fl[n] = i - start;
            n++;
            start = i + 1;
        }
    }
    if (n != 7 || fl[0] == 0 || fl[2] == 0 || fl[2] > 10) return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < fl[2]; i++) {
        if (f[2][i] < '0' || f[2][i] > '9') return 0;
        v = v * 10 + (uint64_t)(f[2][i] - '0');
    }
    if (v != (uint64_t)uid) return 0;
    if (fl[0] + fl[5] + fl[6] + 3 > store_len) return 0;
    char *p = store;
    memcpy(p, f[0], fl[0]);
    p[fl[0]] = 0;
    pw->pw_name = p;
    p += fl[0] + 1;
    memcpy(p, f[5], fl[5]);
    p[fl[5]] = 0;
    pw->pw_dir = p;
    p += fl[5] + 1;
    memcpy(p, f[6], fl[6]);
    p[fl[6]] = 0;
    pw->pw_shell = p;
    pw->pw_passwd = (char *)"x";
    pw->pw_gecos = (char *)"";
    pw->pw_uid = uid;
    pw->pw_gid = 0;
    for (size_t i = 0; i < fl[3] && fl[3] <= 10; i++) {
        if (f[3][i] < '0' || f[3][i] > '9') break;
        pw->pw_gid = pw->pw_gid * 10 + (gid_t)(f[3][i] - '0');
    }
    return 1;
}

struct passwd *__wrap_getpwuid(uid_t uid)
{
    static struct passwd pw;
    static char store[3 * PWFILE_LINE_MAX];
    char buf[PWFILE_LINE_MAX * 2];
    int fd = open(PWFILE_PATH, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    size_t have = 0, total = 0;
    int skipping = 0, found = 0;          /* skipping: inside a line longer than the limit */
    while (!found && total < PWFILE_MAX_BYTES) {
        ssize_t r = read(fd, buf + have, sizeof buf - have);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            if (r == 0 && have && !skipping) found = parse_line(buf, have, uid, &pw, store, sizeof store);
            break;
        }
        total += (size_t)r;
        have += (size_t)r;
        size_t off = 0;
        for (;;) {
            char *nl = memchr(buf + off, '\n', have - off);
            if (!nl) break;
            size_t len = (size_t)(nl - (buf + off));
            if (!skipping && parse_line(buf + off, len, uid, &pw, store, sizeof store)) { found = 1; break; }
            skipping = 0;
            off += len + 1;
        }
        memmove(buf, buf + off, have - off);
        have -= off;
        if (have > PWFILE_LINE_MAX) { skipping = 1; have = 0; }
    }
    close(fd);
    if (!found) errno = 0;
    return found ? &pw : NULL;
}
