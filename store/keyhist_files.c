/*
 * keyhist_files.c: the key files of a store beyond log.key (keys.h lists
 * them): creating them without ever overwriting one (a temporary name made
 * O_EXCL, then link(2), which fails rather than replaces), finding them by
 * key ID or epoch window, wiping them, and making the files agree with the
 * meta after a rotation. Every change happens under flock(DIR/keys/lock),
 * so two processes finishing the same rotation cannot wipe each other's
 * result. No LMDB here: callers pass what the meta says.
 */
#include "keys.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

static char *join(const char *dir, const char *a, const char *b)
{
    size_t n = strlen(dir) + strlen(a) + (b ? strlen(b) : 0) + 3;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s%s%s", dir, a, b ? "/" : "", b ? b : "");
    return p;
}

static void fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int st_keys_dir_ensure(const char *store_dir, st_err *err)
{
    char *d = join(store_dir, ST_KEYS_DIR, NULL);
    if (!d) return st_fail(err, ENOMEM, "out of memory");
    int rc = 0;
    if (mkdir(d, 0700) != 0 && errno != EEXIST) {
        rc = st_fail(err, errno, "%s: cannot create: %s", d, strerror(errno));
    } else {
        struct stat sb;
        if (lstat(d, &sb) != 0) rc = st_fail(err, errno, "%s: %s", d, strerror(errno));
        else if (!S_ISDIR(sb.st_mode)) rc = st_fail(err, ENOTDIR, "%s: not a directory (a symbolic link?)", d);
        else if ((sb.st_mode & 077) && chmod(d, 0700) != 0) rc = st_fail(err, errno, "%s: cannot make it 0700: %s", d, strerror(errno));
    }
    free(d);
    return rc;
}

int st_keys_lock(const char *store_dir, st_err *err)
{
    int rc = st_keys_dir_ensure(store_dir, err);
    if (rc) return rc > 0 ? -rc : -EIO;
    char *p = join(store_dir, ST_KEYS_DIR, "lock");
    if (!p) return -ENOMEM;
    int fd = open(p, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;
        st_fail(err, e, "%s: %s", p, strerror(e));
        free(p);
        return -e;
    }
    while (flock(fd, LOCK_EX) != 0) {
        if (errno == EINTR) continue;
        int e = errno;
        st_fail(err, e, "%s: flock: %s", p, strerror(e));
        close(fd);
        free(p);
        return -e;
    }
    free(p);
    return fd;
}

void st_keys_unlock(int fd)
{
    if (fd >= 0) close(fd);   /* releases the flock */
}

int st_keys_wipe(const char *path, st_err *err)
{
    int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT) return 0;
        return st_fail(err, errno, "%s: cannot open to wipe: %s", path, strerror(errno));
    }
    struct stat sb;
    int rc = 0;
    if (fstat(fd, &sb) != 0) rc = st_fail(err, errno, "%s: %s", path, strerror(errno));
    else if (!S_ISREG(sb.st_mode)) rc = st_fail(err, ST_EBADKEY, "%s: not a regular file; not wiping it", path);
    else if (sb.st_nlink == 1) {         /* the only name: overwrite before unlinking */
        static const uint8_t zeros[4096];
        off_t left = sb.st_size;
        while (rc == 0 && left > 0) {
            size_t n = left > (off_t)sizeof zeros ? sizeof zeros : (size_t)left;
            ssize_t w = write(fd, zeros, n);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) rc = st_fail(err, errno ? errno : EIO, "%s: wiping: %s", path, strerror(errno ? errno : EIO));
            else left -= w;
        }
        if (rc == 0 && fsync(fd) != 0) rc = st_fail(err, errno, "%s: fsync: %s", path, strerror(errno));
    }
    close(fd);
    if (rc) return rc;
    if (unlink(path) != 0 && errno != ENOENT) return st_fail(err, errno, "%s: cannot remove: %s", path, strerror(errno));
    char *dir = strdup(path), *slash = dir ? strrchr(dir, '/') : NULL;
    if (slash) {
        *slash = 0;
        fsync_dir(dir);
    }
    free(dir);
    return 0;
}

/* A generation killed between creating its temporary file and unlinking it
 * (kill -9, a crash) leaves keys/.tmp-<pid>-<tag>.key: a secret key that was
 * never used (or, killed after the link, a second name of keys/next-….key).
 * Those whose process is gone are wiped (a second name only unlinked) by the
 * next generation and rotation; a live process's file is left alone (its
 * pid is not gone: st_pid_gone). */
void st_keys_wipe_stale_tmp(const char *store_dir)
{
    char *kd = join(store_dir, ST_KEYS_DIR, NULL);
    DIR *d = kd ? opendir(kd) : NULL;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        long pid = 0;
        char tag[17];
        int end = 0;
        if (sscanf(e->d_name, ".tmp-%ld-%16[0-9a-f].key%n", &pid, tag, &end) != 2 || end == 0 || e->d_name[end] != 0)
            continue;
        if (!st_pid_gone(pid)) continue;
        char *p = join(store_dir, ST_KEYS_DIR, e->d_name);
        if (p && st_keys_wipe(p, NULL) != 0) {
            /* left as it was: the next generation tries again */
        }
        free(p);
    }
    if (d) closedir(d);
    free(kd);
}

int st_keys_generate(const char *store_dir, const char *prefix, const char *name, st_signer **out, char **path_out,
                     st_err *err)
{
    if (out) *out = NULL;
    if (path_out) *path_out = NULL;
    int rc = st_keys_dir_ensure(store_dir, err);
    if (rc) return rc;
    st_keys_wipe_stale_tmp(store_dir);
    uint8_t rnd[8];
    char tag[17], tmpname[64], final[256];
    randombytes_buf(rnd, sizeof rnd);
    st_hex_encode(tag, rnd, sizeof rnd);
    snprintf(tmpname, sizeof tmpname, ".tmp-%ld-%s.key", (long)getpid(), tag);
    char *tmp = join(store_dir, ST_KEYS_DIR, tmpname);
    if (!tmp) return st_fail(err, ENOMEM, "out of memory");
    st_signer *sg = NULL;
    if ((rc = st_signer_generate(&sg, tmp, name, err)) != 0) {
        free(tmp);
        return rc;
    }
    snprintf(final, sizeof final, "%s%08x.key", prefix, (unsigned)st_signer_vkey(sg)->key_id);
    char *fp = join(store_dir, ST_KEYS_DIR, final);
    if (!fp) rc = st_fail(err, ENOMEM, "out of memory");
    else if (link(tmp, fp) != 0)         /* never replaces an existing key file */
        rc = st_fail(err, errno == EEXIST ? ST_EEXIST : errno, "%s: %s", fp, errno == EEXIST ? "already exists" : strerror(errno));
    unlink(tmp);
    free(tmp);
    if (rc) {
        st_signer_free(sg);
        free(fp);
        return rc;
    }
    char *kd = join(store_dir, ST_KEYS_DIR, NULL);
    if (kd) fsync_dir(kd);
    free(kd);
    if (out) *out = sg;
    else st_signer_free(sg);
    if (path_out) *path_out = fp;
    else free(fp);
    return 0;
}

/* ---- finding key files ----------------------------------------------------------------------------- */

/* "epoch-<nb>-<na>-<hex8>.key" -> 0 and the fields, else -1. */
static int parse_epoch_name(const char *n, int64_t *nb, int64_t *na, uint32_t *id)
{
    long long a, b;
    unsigned x;
    int end = 0;
    if (sscanf(n, "epoch-%lld-%lld-%8x.key%n", &a, &b, &x, &end) != 3 || n[end] != 0 || end == 0) return -1;
    if (strlen(n) != (size_t)end || a < 0 || b <= a) return -1;
    *nb = a;
    *na = b;
    *id = x;
    return 0;
}

/* Ends with "<hex8>.key" for id. */
static int has_id(const char *n, uint32_t id)
{
    char suffix[16];
    snprintf(suffix, sizeof suffix, "%08x.key", (unsigned)id);
    size_t ln = strlen(n), ls = strlen(suffix);
    return ln >= ls && strcmp(n + ln - ls, suffix) == 0;
}

char *st_keys_find_file(const char *store_dir, const char *prefix, uint32_t key_id)
{
    char *kd = join(store_dir, ST_KEYS_DIR, NULL);
    DIR *d = kd ? opendir(kd) : NULL;
    char *found = NULL;
    struct dirent *de;
    while (d && !found && (de = readdir(d)) != NULL)
        if (strncmp(de->d_name, prefix, strlen(prefix)) == 0 && has_id(de->d_name, key_id))
            found = join(kd, de->d_name, NULL);
    if (d) closedir(d);
    free(kd);
    return found;
}

int st_keys_list_files(const char *store_dir, st_keyfile *out, size_t cap, size_t *n_out)
{
    *n_out = 0;
    char *kd = join(store_dir, ST_KEYS_DIR, NULL);
    if (!kd) return ENOMEM;
    DIR *d = opendir(kd);
    if (!d) {
        int e = errno;
        free(kd);
        return e == ENOENT ? 0 : e;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL && *n_out < cap) {
        st_keyfile f;
        memset(&f, 0, sizeof f);
        unsigned id;
        int end = 0;
        const char *n = de->d_name;
        if (strlen(n) >= sizeof f.name) continue;
        if (parse_epoch_name(n, &f.not_before, &f.not_after, &f.key_id) == 0) f.kind = 'e';
        else if (sscanf(n, "next-%8x.key%n", &id, &end) == 1 && n[end] == 0 && strlen(n) == 17) { f.kind = 'n'; f.key_id = id; }
        else if (sscanf(n, "retired-%8x.key%n", &id, &end) == 1 && n[end] == 0 && strlen(n) == 20) { f.kind = 'r'; f.key_id = id; }
        else continue;
        memcpy(f.name, n, strlen(n) + 1);
        char *p = join(kd, n, NULL);
        struct stat sb;
        if (p && lstat(p, &sb) == 0) f.mtime = (int64_t)sb.st_mtime;
        free(p);
        out[(*n_out)++] = f;
    }
    closedir(d);
    free(kd);
    return 0;
}

char *st_keys_find_epoch(const char *store_dir, int64_t now_s, size_t skip, uint32_t *key_id_out)
{
    char *kd = join(store_dir, ST_KEYS_DIR, NULL);
    char *found = NULL;
    int64_t prev_nb = INT64_MAX;            /* the candidate returned for skip - 1: (nb, name) */
    char prev[NAME_MAX + 1] = "";
    for (size_t i = 0; kd && i <= skip; i++) {
        DIR *d = opendir(kd);
        int64_t best = -1;
        char bname[NAME_MAX + 1] = "";
        uint32_t bid = 0;
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL) {
            int64_t nb, na;
            uint32_t id;
            if (parse_epoch_name(de->d_name, &nb, &na, &id) != 0 || now_s < nb || now_s >= na) continue;
            /* order: latest not-before first, then by name; only those after the previous pick */
            if (nb > prev_nb || (nb == prev_nb && strcmp(de->d_name, prev) <= 0)) continue;
            if (nb < best || (nb == best && strcmp(de->d_name, bname) >= 0)) continue;
            best = nb;
            snprintf(bname, sizeof bname, "%s", de->d_name);
            bid = id;
        }
        if (d) closedir(d);
        if (best < 0) break;
        prev_nb = best;
        memcpy(prev, bname, sizeof prev);
        if (i == skip) {
            found = join(kd, bname, NULL);
            if (key_id_out) *key_id_out = bid;
        }
    }
    free(kd);
    return found;
}

int st_keys_wipe_expired(const char *store_dir, int64_t now_s, unsigned *wiped, int64_t *next_expiry, st_err *err)
{
    *wiped = 0;
    *next_expiry = 0;
    char *kd = join(store_dir, ST_KEYS_DIR, NULL);
    if (!kd) return st_fail(err, ENOMEM, "out of memory");
    DIR *d = opendir(kd);
    if (!d) {
        int e = errno;
        free(kd);
        return e == ENOENT ? 0 : st_fail(err, e, "%s/%s: %s", store_dir, ST_KEYS_DIR, strerror(e));
    }
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        int64_t nb, na;
        uint32_t id;
        if (parse_epoch_name(de->d_name, &nb, &na, &id) != 0) continue;
        if (na <= now_s) {
            char *p = join(kd, de->d_name, NULL);
            rc = p ? st_keys_wipe(p, err) : st_fail(err, ENOMEM, "out of memory");
            free(p);
            if (rc == 0) (*wiped)++;
        } else if (*next_expiry == 0 || na < *next_expiry) {
            *next_expiry = na;
        }
    }
    closedir(d);
    free(kd);
    return rc;
}

/* ---- finishing a rotation ------------------------------------------------------------------------------ */

int st_keys_write_vkey_file(const char *store_dir, const char *vkey, st_err *err)
{
    char *tmp = join(store_dir, "." ST_VKEY_FILE ".tmp", NULL), *fin = join(store_dir, ST_VKEY_FILE, NULL);
    int rc = 0;
    if (!tmp || !fin) {
        rc = st_fail(err, ENOMEM, "out of memory");
        goto out;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = st_fail(err, errno, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    size_t len = strlen(vkey);
    int ok = write(fd, vkey, len) == (ssize_t)len && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    int e = ok ? 0 : errno ? errno : EIO;
    close(fd);
    if (ok && rename(tmp, fin) != 0) e = errno;
    if (e) {
        unlink(tmp);
        rc = st_fail(err, e, "%s: %s", fin, strerror(e));
        goto out;
    }
    fsync_dir(store_dir);
out:
    free(tmp);
    free(fin);
    return rc;
}

int st_keys_complete_files(const char *store_dir, const char *vkey, uint32_t want, int want_log_key, st_err *err)
{
    char *logp = join(store_dir, ST_KEY_FILE, NULL);
    char next[64];
    snprintf(next, sizeof next, "next-%08x.key", (unsigned)want);
    char *nextp = join(store_dir, ST_KEYS_DIR, next);
    if (!logp || !nextp) {
        free(logp);
        free(nextp);
        return st_fail(err, ENOMEM, "out of memory");
    }
    /* log.vkey first: once the key files agree with the meta nothing comes back here to write it */
    int rc = st_keys_write_vkey_file(store_dir, vkey, err);
    if (rc) goto out;
    if (!want_log_key) {                       /* epoch mode: log.key has no business existing */
        rc = st_keys_wipe(logp, err);
        goto out;
    }
    st_signer *cur = NULL;
    st_err e2 = { { 0 } };
    int lrc = st_signer_load(&cur, logp, &e2);
    uint32_t have = lrc == 0 ? st_signer_vkey(cur)->key_id : 0;
    st_signer_free(cur);
    if (lrc == 0 && have == want) goto out;    /* nothing to do */
    int next_exists = st_eaccess(nextp, F_OK) == 0;
    if (!next_exists) {
        if (lrc == 0)
            rc = st_fail(err, ST_EBADKEY, "%s: key ID %08x is not the store's current key %08x (and %s/%s/%s is absent)", logp,
                         (unsigned)have, (unsigned)want, store_dir, ST_KEYS_DIR, next);
        else
            rc = st_fail(err, lrc, "%s", e2.msg);
        goto out;
    }
    /* An interrupted rotation: log.key is the old key (or a half-wiped one, or gone). */
    if (lrc == ST_EKEYPERM) {                  /* never touch a key file we were told not to trust */
        rc = st_fail(err, lrc, "%s", e2.msg);
        goto out;
    }
    if (lrc != ST_ENOKEY && (rc = st_keys_wipe(logp, err)) != 0) goto out;
    if (rename(nextp, logp) != 0) {
        rc = st_fail(err, errno, "rename %s -> %s: %s", nextp, logp, strerror(errno));
        goto out;
    }
    fsync_dir(store_dir);
    char *kd = join(store_dir, ST_KEYS_DIR, NULL);
    if (kd) fsync_dir(kd);
    free(kd);
out:
    free(logp);
    free(nextp);
    return rc;
}
