/*
 * spool.c: the hook's spool (format, naming and the exactly-once argument
 * are in spool.h). Top to bottom: building an image of a record; writing it
 * (async-signal-safe); parsing a spool file back; the replay loop with its
 * duplicate check against the log.
 */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "entry.h"
#include "event.h"
#include "index.h"
#include "store_int.h"

static const char magic[8] = { 'S', 'T', 'S', 'P', 'O', 'O', 'L', '1' };
static const char trailer[8] = { 'S', 'T', 'S', 'P', 'O', 'O', 'L', 'E' };

/* ==== image ================================================================= */

int st_spool_image_build(st_spool_image *im, const st_record_in *rec)
{
    static unsigned counter;
    memset(im, 0, sizeof *im);
    if (rec->npayloads > ST_ENTRY_MAX_PAYLOADS || !rec->meta) return ST_EINVAL;
    snprintf(im->name, sizeof im->name, "%020lld-%010ld-%06u.rec", (long long)rec->time_us, (long)getpid(),
             counter++ % 1000000u);
    snprintf(im->tmp, sizeof im->tmp, ".%s.tmp", im->name);
    st_json_write(&im->meta, rec->meta, 0);
    if (im->meta.oom || im->meta.len > UINT32_MAX) { st_buf_free(&im->meta); return ENOMEM; }

    memcpy(im->head, magic, 8);
    st_be64_put(im->head + 8, ST_SPOOL_FROM_NONE);
    st_be64_put(im->head + 16, (uint64_t)rec->time_us);
    st_be32_put(im->head + 24, (uint32_t)im->meta.len);
    st_be32_put(im->head + 28, (uint32_t)rec->npayloads);
    int n = 0;
    im->iov[n++] = (struct iovec){ im->head, 32 };
    im->iov[n++] = (struct iovec){ im->meta.data, im->meta.len };
    im->total = 32 + im->meta.len;
    for (size_t i = 0; i < rec->npayloads; i++) {
        const st_payload_in *p = &rec->payloads[i];
        size_t nl = strlen(p->name);
        if (nl == 0 || nl > ST_PAYLOAD_NAME_MAX) { st_buf_free(&im->meta); return ST_EINVAL; }
        uint8_t *h = im->phead[i];
        h[0] = (uint8_t)nl;
        memcpy(h + 1, p->name, nl);
        st_be64_put(h + 1 + nl, p->len);
        im->iov[n++] = (struct iovec){ h, 1 + nl + 8 };
        if (p->len) im->iov[n++] = (struct iovec){ (void *)(uintptr_t)p->data, p->len };
        im->total += 1 + nl + 8 + p->len;
    }
    im->iov[n++] = (struct iovec){ (void *)(uintptr_t)trailer, 8 };
    im->total += 8;
    im->iovcnt = n;
    return 0;
}

void st_spool_image_free(st_spool_image *im)
{
    if (!im) return;
    st_buf_free(&im->meta);
    memset(im, 0, sizeof *im);
}

/* Everything here is async-signal-safe: no allocation, no stdio, no locks. */
int st_spool_image_write(st_spool_image *im, int dirfd, uint64_t from)
{
    st_be64_put(im->head + 8, from);
    int fd = openat(dirfd, im->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST) {   /* a leftover of a crashed process with our pid and counter */
        unlinkat(dirfd, im->tmp, 0);
        fd = openat(dirfd, im->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    }
    if (fd < 0) return errno;
    struct iovec v[sizeof im->iov / sizeof im->iov[0]];
    memcpy(v, im->iov, (size_t)im->iovcnt * sizeof v[0]);
    int k = 0, cnt = im->iovcnt, rc = 0;
    while (k < cnt) {
        ssize_t w = writev(fd, v + k, cnt - k > 1024 ? 1024 : cnt - k);
        if (w < 0) {
            if (errno == EINTR) continue;
            rc = errno;
            break;
        }
        size_t left = (size_t)w;
        while (k < cnt && left >= v[k].iov_len) left -= v[k++].iov_len;
        if (k < cnt) {
            v[k].iov_base = (uint8_t *)v[k].iov_base + left;
            v[k].iov_len -= left;
        }
    }
    if (rc == 0 && fsync(fd) != 0) rc = errno;
    if (close(fd) != 0 && rc == 0) rc = errno;
    if (rc == 0 && renameat(dirfd, im->tmp, dirfd, im->name) != 0) rc = errno;
    if (rc) {
        unlinkat(dirfd, im->tmp, 0);
        return rc;
    }
    fsync(dirfd);
    return 0;
}

/* ==== directory and lock ======================================================= */


int st_spool_open_dir(const char *dir, int *dirfd_out)
{
    *dirfd_out = -1;
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, ST_SPOOL_SUBDIR) < (int)sizeof path) {
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);   /* the usual case: one syscall */
        if (fd >= 0) { *dirfd_out = fd; return 0; }
    }
    if (mkdir(dir, 0700) != 0) {
        if (errno != EEXIST && errno != ENOENT) return errno;
        if (errno == ENOENT) {
            int rc = st_make_dirs(dir);
            if (rc) return rc;
        }
    }
    int d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d < 0) return errno;
    if (mkdirat(d, ST_SPOOL_SUBDIR, 0700) != 0 && errno != EEXIST) {
        int e = errno;
        close(d);
        return e;
    }
    int s = openat(d, ST_SPOOL_SUBDIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int e = errno;
    close(d);
    if (s < 0) return e;
    *dirfd_out = s;
    return 0;
}

static int is_rec_name(const char *n)
{
    size_t l = strlen(n);
    return n[0] != '.' && l > 4 && l < ST_SPOOL_NAME_MAX && strcmp(n + l - 4, ".rec") == 0;
}

/* Sorted ".rec" names of dirfd; *n_out set. NULL with *n_out 0 if none; errno on failure. */
static char **list_names(int dirfd, size_t *n_out, int *err)
{
    *n_out = 0;
    *err = 0;
    int d2 = dup(dirfd);
    if (d2 < 0) { *err = errno; return NULL; }
    DIR *d = fdopendir(d2);
    if (!d) { *err = errno; close(d2); return NULL; }
    rewinddir(d);
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!is_rec_name(de->d_name)) continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            char **nn = realloc(names, nc * sizeof *nn);
            if (!nn) { *err = ENOMEM; break; }
            names = nn;
            cap = nc;
        }
        if (!(names[n] = strdup(de->d_name))) { *err = ENOMEM; break; }
        n++;
    }
    closedir(d);
    if (*err) {
        for (size_t i = 0; i < n; i++) free(names[i]);
        free(names);
        return NULL;
    }
    for (size_t i = 1; i < n; i++)      /* insertion sort: spools are short */
        for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char *t = names[j];
            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    *n_out = n;
    return names;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

/* The pid in the dot-name .<name>.tmp of a spool file being written (or
 * left by a killed writer); 0 if name is no such dot-name. */
static long tmp_name_pid(const char *name)
{
    long pid = 0;
    int end = 0;
    if (sscanf(name, ".%*20[0-9]-%10ld-%*6[0-9].rec.tmp%n", &pid, &end) != 1 || end == 0 || name[end] != 0) return 0;
    return pid;
}

long st_spool_pending(int dirfd)
{
    return st_spool_pending_stale(dirfd, NULL);
}

/* Every hook asks this once: count with getdents64 into a stack buffer
 * (no DIR, no dup, no allocation; the spool is almost always empty). */
long st_spool_pending_stale(int dirfd, long *stale)
{
    _Alignas(8) char buf[4096];
    long n = 0;
    if (stale) *stale = 0;
    if (lseek(dirfd, 0, SEEK_SET) < 0) return -errno;
    for (;;) {
        ssize_t got = getdents64(dirfd, buf, sizeof buf);
        if (got < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        if (got == 0) break;
        for (ssize_t off = 0; off < got;) {
            const struct dirent64 *de = (const struct dirent64 *)(buf + off);
            if (is_rec_name(de->d_name)) n++;
            else if (stale && de->d_name[0] == '.' && st_pid_gone(tmp_name_pid(de->d_name))) (*stale)++;
            off += de->d_reclen;
        }
    }
    return n;
}

int st_spool_lock(int dirfd)
{
    int fd = openat(dirfd, ST_SPOOL_LOCK, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return -errno;
    while (flock(fd, LOCK_EX) != 0) {
        if (errno == EINTR) continue;
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

/* ==== parsing a spool file ========================================================== */

int st_spool_parse(const uint8_t *buf, size_t len, st_record_in *rec, uint64_t *from_out, st_json_doc **doc_out,
                   st_err *err)
{
    memset(rec, 0, sizeof *rec);
    *doc_out = NULL;
    if (len < 40 || memcmp(buf, magic, 8) != 0) return st_fail(err, ST_EFORMAT, "not a spool file (bad magic or too short)");
    if (memcmp(buf + len - 8, trailer, 8) != 0) return st_fail(err, ST_EFORMAT, "spool file has no trailer (torn?)");
    *from_out = st_be64_get(buf + 8);
    rec->time_us = (int64_t)st_be64_get(buf + 16);
    uint32_t mlen = st_be32_get(buf + 24), np = st_be32_get(buf + 28);
    size_t end = len - 8, off = 32;
    if (np > ST_ENTRY_MAX_PAYLOADS) return st_fail(err, ST_EFORMAT, "spool file: %u payloads (at most %u)", np, ST_ENTRY_MAX_PAYLOADS);
    if (mlen > end - off) return st_fail(err, ST_EFORMAT, "spool file: envelope length %u past the end", mlen);
    st_json_opts jo = { .flags = 0, .max_depth = 16 };
    int rc = st_json_parse(doc_out, (const char *)buf + off, mlen, &jo, NULL, err);
    if (rc) {
        if (rc == ENOMEM || !err) return rc == ENOMEM ? rc : ST_EFORMAT;
        char why[sizeof err->msg];   /* the parser's message, copied: st_fail writes err->msg */
        snprintf(why, sizeof why, "%s", err->msg);
        return st_fail(err, ST_EFORMAT, "spool file: envelope: %s", why);
    }
    st_json *meta = st_json_doc_root(*doc_out);
    if (meta->type != ST_JSON_OBJECT) {
        st_json_doc_free(*doc_out);
        *doc_out = NULL;
        return st_fail(err, ST_EFORMAT, "spool file: envelope is not an object");
    }
    rec->meta = meta;
    off += mlen;
    for (uint32_t i = 0; i < np; i++) {
        if (end - off < 1) goto trunc;
        size_t nl = buf[off++];
        if (nl == 0 || nl > ST_PAYLOAD_NAME_MAX || end - off < nl + 8) goto trunc;
        if (!st_payload_name_valid((const char *)buf + off, nl)) {
            st_json_doc_free(*doc_out);
            *doc_out = NULL;
            return st_fail(err, ST_EFORMAT, "spool file: payload %u: invalid name", i);
        }
        char *name = st_json_doc_alloc(*doc_out, nl + 1);
        if (!name) { st_json_doc_free(*doc_out); *doc_out = NULL; return ENOMEM; }
        memcpy(name, buf + off, nl);
        name[nl] = 0;
        off += nl;
        uint64_t pl = st_be64_get(buf + off);
        off += 8;
        if (pl > end - off) goto trunc;
        rec->payloads[i] = (st_payload_in){ .name = name, .data = buf + off, .len = (size_t)pl };
        off += (size_t)pl;
    }
    if (off != end) {
        st_json_doc_free(*doc_out);
        *doc_out = NULL;
        return st_fail(err, ST_EFORMAT, "spool file: %zu stray bytes before the trailer", end - off);
    }
    rec->npayloads = np;
    return 0;
trunc:
    st_json_doc_free(*doc_out);
    *doc_out = NULL;
    return st_fail(err, ST_EFORMAT, "spool file: payload table runs past the end");
}

/* ==== replay ============================================================================ */

/* Reads a whole spool file (bounded). 0, errno, or ST_EFORMAT if oversized or not a regular file. */
static int read_spool_file(int fd, uint8_t **buf_out, size_t *len_out)
{
    struct stat st;
    if (fstat(fd, &st) != 0) return errno;
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > ST_SPOOL_FILE_MAX) return ST_EFORMAT;
    size_t len = (size_t)st.st_size;
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) return ENOMEM;
    size_t got = 0;
    while (got < len) {
        ssize_t r = pread(fd, buf + got, len - got, (off_t)got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) { int e = r < 0 ? errno : ST_EFORMAT; free(buf); return e; }
        got += (size_t)r;
    }
    *buf_out = buf;
    *len_out = len;
    return 0;
}

/* Does entry e record the same event as the spooled meta (id = spool id)? */
static int same_record(const st_entry *e, const st_json *meta, int64_t time_us, const char *id)
{
    if (e->time_us != time_us) return 0;
    size_t idl = strlen(id);
    const st_json *sp = st_json_get(e->root, "spool");
    if (sp && (sp->type != ST_JSON_STRING || sp->len != idl || memcmp(sp->str, id, idl) != 0)) return 0;
    st_buf a = { 0 }, b = { 0 };
    int same = 1;
    for (const st_json *m = meta->child; m && same; m = m->next) {
        if (m->key_len == 5 && memcmp(m->key, "spool", 5) == 0) continue;
        const st_json *x = st_json_getn(e->root, m->key, m->key_len);
        if (!x) { same = 0; break; }
        st_buf_reset(&a);
        st_buf_reset(&b);
        st_json_write(&a, m, ST_JSON_SORT_KEYS);
        st_json_write(&b, x, ST_JSON_SORT_KEYS);
        same = !a.oom && !b.oom && a.len == b.len && memcmp(a.data, b.data, a.len) == 0;
    }
    st_buf_free(&a);
    st_buf_free(&b);
    return same;
}

/* Is the record already in the log at an index in [from, size)? 1, 0, or a negative st error. */
static int already_logged(st_store *s, uint64_t from, uint64_t size, const st_json *meta, int64_t time_us, const char *id)
{
    for (uint64_t i = from; i < size; i++) {
        uint8_t *bytes;
        size_t len;
        int rc = st_entry_get(s, i, &bytes, &len);
        if (rc) return rc;
        st_entry e;
        rc = st_entry_parse(&e, bytes, len, NULL);
        free(bytes);
        if (rc) continue;   /* st_check reports broken entries; not our business here */
        int same = same_record(&e, meta, time_us, id);
        st_entry_free(&e);
        if (same) return 1;
    }
    return 0;
}

int st_spool_log_size(st_store *s, uint64_t *size)
{
    st_txn *txn;
    int rc = st_db_read_begin(s->db, &txn, &s->err);
    if (rc) return rc;
    rc = st_size_txn(txn, size);
    st_db_read_end(txn);
    return rc;
}

static void set_bad(int dirfd, const char *name, st_spool_stats *stats)
{
    char bad[ST_SPOOL_NAME_MAX + 8];
    snprintf(bad, sizeof bad, "%s.bad", name);
    renameat(dirfd, name, dirfd, bad);
    stats->bad++;
}

/* A spooled PostToolUse(Failure) without duration_ms gets it now, from the
 * matching PreToolUse (which a replay in time order has appended already). */
static int add_duration(st_store *s, st_json_doc *doc, st_json *meta, int64_t time_us)
{
    const st_json *ev = st_json_get(meta, "event");
    size_t idl;
    const char *id = st_json_get_str(meta, "tool_use_id", &idl);
    if (!id || st_json_get(meta, "duration_ms") || !ev || ev->type != ST_JSON_STRING ||
        !(st_event_name_is(ev->str, ev->len, "PostToolUse") || st_event_name_is(ev->str, ev->len, "PostToolUseFailure")))
        return 0;
    st_txn *txn;
    int rc = st_db_read_begin(s->db, &txn, &s->err);
    if (rc) return rc;
    uint64_t index;
    int64_t pre;
    rc = st_index_find_tooluse_time(txn, id, idl, &index, &pre);
    st_db_read_end(txn);
    if (rc == ST_ENOTFOUND) return 0;
    if (rc) return rc;
    int64_t d = time_us - pre;
    st_json *v = st_json_new_int(doc, d > 0 ? d / 1000 : 0);
    return v && st_json_object_add(doc, meta, "duration_ms", 11, v) == 0 ? 0 : ENOMEM;
}

/* Replays one file. 0 (done, whatever happened to the file) or a store error. */
static int replay_one(st_store *s, int dirfd, const char *name, st_spool_before_fn before, void *ctx,
                      st_spool_stats *stats)
{
    int fd = openat(dirfd, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && (errno == ELOOP || errno == EISDIR || errno == ENXIO)) {
        /* a symlink, a directory or a socket under a spool name: no spool file (as one
         * that is not a regular file below), set aside, or it would stop every replay */
        set_bad(dirfd, name, stats);
        return 0;
    }
    if (fd < 0) return errno == ENOENT ? 0 : errno;
    uint8_t *buf = NULL;
    size_t len = 0;
    st_json_doc *doc = NULL, *tidoc = NULL;
    st_record_in rec;
    uint64_t from, size;
    int rc = read_spool_file(fd, &buf, &len);
    if (rc == ST_EFORMAT) { set_bad(dirfd, name, stats); rc = 0; goto out; }
    if (rc) goto out;
    if ((rc = st_spool_parse(buf, len, &rec, &from, &doc, NULL)) != 0) {
        if (rc == ST_EFORMAT) { set_bad(dirfd, name, stats); rc = 0; }
        goto out;
    }
    char id[ST_SPOOL_NAME_MAX];
    snprintf(id, sizeof id, "%.*s", (int)(strlen(name) - 4), name);
    if ((rc = st_spool_log_size(s, &size)) != 0) goto out;
    if (from != ST_SPOOL_FROM_NONE && from < size) {
        int dup = already_logged(s, from, size, rec.meta, rec.time_us, id);
        if (dup < 0) { rc = dup; goto out; }
        if (dup) {
            unlinkat(dirfd, name, 0);
            stats->duplicates++;
            goto out;
        }
    }
    /* mark the attempt before making it (see "EXACTLY ONCE" in spool.h) */
    uint8_t be[8];
    st_be64_put(be, size);
    if (pwrite(fd, be, 8, 8) != 8 || fdatasync(fd) != 0) { rc = errno ? errno : EIO; goto out; }
    st_json *meta = (st_json *)rec.meta;
    if (!st_json_get(meta, "spool") && st_event_meta_add_str(doc, meta, "spool", id, strlen(id)) != 0) {
        rc = ENOMEM;
        goto out;
    }
    if ((rc = add_duration(s, doc, meta, rec.time_us)) != 0) goto out;
    for (size_t i = 0; i < rec.npayloads; i++) {     /* the index reads paths from tool_input */
        if (strcmp(rec.payloads[i].name, "tool_input") != 0) continue;
        st_json_opts jo = { .flags = ST_JSON_ALLOW_DUP_KEYS | ST_JSON_LENIENT_UTF8, .max_depth = ST_EVENT_MAX_DEPTH };
        if (st_json_parse(&tidoc, (const char *)rec.payloads[i].data, rec.payloads[i].len, &jo, NULL, NULL) == 0)
            rec.payloads[i].value = st_json_doc_root(tidoc);
    }
    if (before) before(ctx, len);
    uint64_t index;
    rc = st_append_records(s, &rec, 1, &index);
    if (rc == ST_EINVAL || rc == ST_ETOOBIG || rc == ST_EJSON || rc == ST_ENONCANON || rc == ST_EFORMAT) {
        /* the store refuses this record itself: set it aside, or it would block every later event */
        set_bad(dirfd, name, stats);
        rc = 0;
        goto out;
    }
    if (rc) goto out;
    if (stats->appended++ == 0) stats->first_index = index;
    const st_json *evn = st_json_get(meta, "event");
    if (evn && evn->type == ST_JSON_STRING && st_event_seals(evn->str, evn->len)) stats->wants_seal = 1;
    unlinkat(dirfd, name, 0);
out:
    st_json_doc_free(tidoc);
    st_json_doc_free(doc);
    free(buf);
    close(fd);
    return rc;
}

/* 1 if the spool file `name` in dirfd ends with the trailer: written whole. */
static int written_whole(int dirfd, const char *name)
{
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return 0;
    struct stat st;
    uint8_t end[8];
    int whole = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 40 &&
                pread(fd, end, 8, st.st_size - 8) == 8 && memcmp(end, trailer, 8) == 0;
    close(fd);
    return whole;
}

/* A hook killed while it spooled (kill -9, a crash, a client's hook timeout)
 * leaves .<name>.rec.tmp: only the rename makes it a spool file. Once its
 * writer, the pid in the name, is gone, a file written whole becomes the
 * spool file it was meant to be (the replay's duplicate check still
 * applies), and a torn one, an event that cannot be read back and was never
 * reported as spooled, is removed. A live hook's file is left alone. */
static void settle_stale_tmp(int dirfd)
{
    int d2 = dup(dirfd);
    DIR *d = d2 >= 0 ? fdopendir(d2) : NULL;
    if (!d) {
        if (d2 >= 0) close(d2);
        return;
    }
    rewinddir(d);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        long pid = tmp_name_pid(de->d_name);
        if (!pid || !st_pid_gone(pid)) continue;
        char name[64];
        size_t n = strlen(de->d_name) - 1 - 4;                 /* without the leading '.' and ".tmp" */
        if (n >= sizeof name) continue;
        memcpy(name, de->d_name + 1, n);
        name[n] = 0;
        if (!written_whole(dirfd, de->d_name)) unlinkat(dirfd, de->d_name, 0);
        else if (linkat(dirfd, de->d_name, dirfd, name, 0) == 0) unlinkat(dirfd, de->d_name, 0);
        /* (a spool file of that name already there: both stay, for a person to look at) */
    }
    closedir(d);
}

int st_spool_replay(st_store *s, int dirfd, st_spool_before_fn before, void *ctx, st_spool_stats *stats)
{
    memset(stats, 0, sizeof *stats);
    settle_stale_tmp(dirfd);
    /* a few passes: files spooled while we replay are picked up too */
    for (int pass = 0; pass < 4; pass++) {
        size_t n;
        int err;
        char **names = list_names(dirfd, &n, &err);
        if (err) return err;
        if (n == 0) return 0;
        int rc = 0;
        for (size_t i = 0; i < n && rc == 0; i++) rc = replay_one(s, dirfd, names[i], before, ctx, stats);
        free_names(names, n);
        if (rc) return rc;
    }
    return 0;
}
