/*
 * archive.c: `sealtrail archive`: moves the oldest sealed range of entries
 * older than a cutoff into an immutable archive file and drops its
 * payloads from the hot store. Entries, leaf hashes, tree nodes and
 * checkpoints stay, so every proof stays valid and exports mark the
 * payloads "archived by record R".
 *
 * One call writes one archive, for the range [a, b):
 *   a = where the previous archive ended (retention_archived_end);
 *   b = the largest checkpoint size <= the first entry with payloads younger
 *       than the cutoff (or past max_entries, or unsealed; entries without
 *       payloads, such as records, do not stop it), so an archive always ends
 *       on a signed checkpoint and the next one starts there;
 * then:
 *   1. export [a, b) as an auditor bundle (export_store.c) to a temp file;
 *   2. compress it (zstd) to DIR/.archive-….tmp, fsync;
 *   3. verify the compressed file with the stverify verifier, trusting the
 *      store's key, and require the decompressed bytes to hash to what was
 *      exported (byte for byte) and the file to hash to what was written;
 *   4. rename to archive-<a, 12 digits>-<b, 12 digits>.stb.zst, fsync dir;
 *   5. journal, archive record (file name, range, both digests, sizes), seal;
 *   6. remove the payloads of [a, b) (st_ret_apply).
 * Compaction is the caller's (once after a series of archives).
 */
#include "retention_ops.h"
#include "store_int.h"
#include "verifier.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "export.h"

#define ARCHIVE_LEVEL_DEFAULT 9

typedef struct range {
    uint64_t a, b, payloads;
    int64_t cutoff;
    char why[160];             /* when nothing is archivable */
} range;

/* Finds [a, b) (retention_archived_end .. a checkpoint size). */
static int choose_range(st_store *s, const st_archive_opts *o, int64_t age, range *g)
{
    memset(g, 0, sizeof *g);
    g->cutoff = st_now_us() - age;
    st_txn *txn = NULL;
    uint64_t sealed = 0;
    int rc = st_db_read_begin(s->db, &txn, &s->err);
    if (rc) return rc;
    if ((rc = st_meta_get_u64(txn, ST_META_SEALED, &sealed)) != 0) goto out;
    g->a = st_ret_meta_u64(txn, ST_RET_ARCHIVED_END);
    uint64_t j = g->a;
    while (j < sealed && (o->max_entries == 0 || j - g->a < o->max_entries)) {
        char names[ST_ENTRY_MAX_PAYLOADS][ST_PAYLOAD_NAME_MAX + 1];
        size_t n;
        int64_t t;
        if ((rc = st_ret_entry_names(txn, j, names, &n, &t, &s->err)) != 0) goto out;
        if (n && t > g->cutoff) break;      /* entries without payloads (records) lose nothing */
        j++;
    }
    if (j == g->a) {
        snprintf(g->why, sizeof g->why, "%s", g->a >= sealed ? "every sealed entry is archived already"
                                                             : "the oldest unarchived entry is younger than the cutoff");
        goto out;
    }
    st_cursor *c = NULL;
    const void *k, *v;
    size_t kl, vl;
    uint8_t key[8];
    st_be64_put(key, j);
    if ((rc = st_cursor_open(txn, ST_T_CHECKPOINTS, &c)) != 0) goto out;
    rc = st_cursor_seek(c, key, 8, &k, &kl, &v, &vl);           /* largest checkpoint size <= j */
    if (rc == ST_ENOTFOUND) rc = st_cursor_last(c, &k, &kl, &v, &vl);
    else if (rc == 0 && memcmp(k, key, 8) != 0) rc = st_cursor_prev(c, &k, &kl, &v, &vl);
    g->b = rc == 0 && kl == 8 ? st_be64_get(k) : 0;
    st_cursor_close(c);
    rc = rc == ST_ENOTFOUND ? 0 : rc;
    if (rc) goto out;
    if (g->b <= g->a) {
        g->b = 0;
        snprintf(g->why, sizeof g->why, "no checkpoint ends between entry %llu and entry %llu",
                 (unsigned long long)g->a, (unsigned long long)j);
        goto out;
    }
    if ((rc = st_cursor_open(txn, ST_T_PAYLOADS, &c)) != 0) goto out;   /* payloads that will leave */
    st_be64_put(key, g->a);
    int crc = st_cursor_seek(c, key, 8, &k, &kl, &v, &vl);
    while (crc == 0 && kl >= 8 && st_be64_get(k) < g->b) {
        g->payloads++;
        crc = st_cursor_next(c, &k, &kl, &v, &vl);
    }
    st_cursor_close(c);
    /* A range from which no payload would leave gains nothing, and archiving
     * it would append (and seal) another payload-less archive record that
     * the next round could archive again, without end. Such entries wait and
     * ride along with the next archive that moves payloads. */
    if (g->payloads == 0) {
        g->b = 0;
        snprintf(g->why, sizeof g->why, "no payload older than the cutoff is left in the hot store");
    }
out:
    st_db_read_end(txn);
    return rc;
}

static void hex(char out[65], const uint8_t h[32]) { st_hex_encode(out, h, 32); }

/* Steps 1-4: the verified archive file at r->path. */
static int write_archive(st_store *s, const st_archive_opts *o, const char *dir, const range *g, st_archive_result *r)
{
    char plain[PATH_MAX], tmp[PATH_MAX], name[ST_RREC_FILE_MAX + 1];
    snprintf(name, sizeof name, "archive-%012llu-%012llu.stb.zst", (unsigned long long)g->a,
             (unsigned long long)g->b);
    if (snprintf(plain, sizeof plain, "%s/.%s.plain.tmp", dir, name) >= (int)sizeof plain ||
        snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name) >= (int)sizeof tmp ||
        snprintf(r->path, sizeof r->path, "%s/%s", dir, name) >= (int)sizeof r->path)
        return st_store_fail(s, ENAMETOOLONG, "%s: path too long", dir);
    unlink(plain);
    unlink(tmp);
    int pfd = open(plain, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (pfd < 0) return st_store_fail(s, errno, "%s: %s", plain, strerror(errno));
    unlink(plain);                          /* anonymous from here on: nothing to leave behind */
    int zfd = -1, rc;
    st_export_opts eo;
    memset(&eo, 0, sizeof eo);
    eo.kind = ST_SEL_RANGE;
    eo.from = g->a;
    eo.to = g->b - 1;
    st_export_stats xs;
    if ((rc = st_export_store(s, &eo, pfd, &xs)) != 0) goto out;
    if (lseek(pfd, 0, SEEK_SET) != 0) { rc = errno; goto out; }
    zfd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (zfd < 0) { rc = st_store_fail(s, errno, "%s: %s", tmp, strerror(errno)); goto out; }
    rc = st_aio_compress(pfd, zfd, o->level ? o->level : ARCHIVE_LEVEL_DEFAULT, r->bundle_sha256, &r->bundle_bytes,
                         r->sha256, &r->bytes);
    if (rc) { st_store_fail(s, rc, "%s: writing the archive: %s", tmp, st_strerror(rc)); goto out; }
    close(zfd);
    zfd = -1;

    st_verify_report *rep = calloc(1, sizeof *rep);
    uint8_t fsha[32], bsha[32];
    uint64_t bbytes = 0;
    if (!rep) { rc = ENOMEM; goto out; }
    rc = st_archive_verify_file(tmp, s, rep, fsha, bsha, &bbytes);
    if (rc == 0 && (memcmp(fsha, r->sha256, 32) != 0 || memcmp(bsha, r->bundle_sha256, 32) != 0 ||
                    bbytes != r->bundle_bytes)) {
        char a[65], b[65];
        hex(a, bsha);
        hex(b, r->bundle_sha256);
        rc = st_store_fail(s, ST_ECORRUPT, "%s: read back differs from what was written: bundle sha256 %s (%llu bytes), "
                           "exported %s (%llu bytes)", tmp, a, (unsigned long long)bbytes, b,
                           (unsigned long long)r->bundle_bytes);
    }
    if (rc == 0 && (rep->begin != g->a || rep->end != g->b || rep->entries != g->b - g->a ||
                    strcmp(rep->selection, "range") != 0))
        rc = st_store_fail(s, ST_ECORRUPT, "%s: the archive holds [%llu, %llu) (%llu entries), expected [%llu, %llu)", tmp,
                           (unsigned long long)rep->begin, (unsigned long long)rep->end,
                           (unsigned long long)rep->entries, (unsigned long long)g->a, (unsigned long long)g->b);
    r->final_size = rep->cp_final_size;
    free(rep);
    if (rc) goto out;
    if (rename(tmp, r->path) != 0) { rc = st_store_fail(s, errno, "%s: %s", r->path, strerror(errno)); goto out; }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
out:
    if (zfd >= 0) close(zfd);
    close(pfd);
    if (rc) unlink(tmp);
    return rc;
}

int st_archive_one(st_store *s, const st_archive_opts *o, st_archive_result *r)
{
    memset(r, 0, sizeof *r);
    if (s->flags & ST_OPEN_RDONLY) return st_store_fail(s, ST_ERDONLY, "store opened read-only");
    int lock = -1;
    int rc = st_ret_oplock(s, &lock);
    if (rc) return rc;
    st_rrec pol;
    char dir[PATH_MAX];
    range g;
    if ((rc = st_retention_recover(s)) != 0 || (rc = st_retention_policy(s, &pol)) != 0) goto out;
    int64_t age = o->older_than_us;
    if (!o->has_older_than) {
        if (pol.kind != ST_RREC_POLICY || !pol.has_archive_after) {
            rc = st_store_fail(s, ST_EINVAL, "no --older-than given and the retention policy sets no archive age "
                               "('sealtrail retention set --archive-after AGE')");
            goto out;
        }
        age = pol.archive_after_us;
    }
    if (age < 0) { rc = st_store_fail(s, ST_EINVAL, "the archive age must not be negative"); goto out; }
    if ((rc = choose_range(s, o, age, &g)) != 0) goto out;
    if (g.b == 0) {
        st_store_fail(s, 0, "nothing to archive: %s", g.why);
        goto out;
    }
    if ((rc = st_ret_archive_dir(s, o->dir, dir, sizeof dir)) != 0) goto out;
    if ((rc = write_archive(s, o, dir, &g, r)) != 0) goto out;

    st_json_doc *doc = st_json_doc_new();
    if (!doc) { rc = ENOMEM; goto out; }
    char sha[65], bsha[65];
    hex(sha, r->sha256);
    hex(bsha, r->bundle_sha256);
    const char *base = strrchr(r->path, '/') + 1;
    st_json *data = st_json_new_object(doc), *j = st_json_new_object(doc);
    int bad = !data || !j;
#define ADDI(o_, k, v) bad |= st_json_object_add(doc, o_, k, strlen(k), st_json_new_int(doc, (int64_t)(v))) != 0
#define ADDS(o_, k, v) bad |= st_json_object_add(doc, o_, k, strlen(k), st_json_new_str(doc, v)) != 0
    ADDI(data, "begin", g.a);
    ADDI(data, "end", g.b);
    ADDS(data, "file", base);
    ADDS(data, "sha256", sha);
    ADDI(data, "bytes", r->bytes);
    ADDS(data, "bundle_sha256", bsha);
    ADDI(data, "bundle_bytes", r->bundle_bytes);
    ADDI(data, "final_size", r->final_size);
    ADDI(data, "payloads", g.payloads);
    ADDI(data, "older_than_us", g.cutoff);
    if (pol.kind == ST_RREC_POLICY) ADDI(data, "policy", pol.index);
    ADDS(j, "op", "archive");
    ADDI(j, "begin", g.a);
#undef ADDI
#undef ADDS
    if (bad) rc = ENOMEM;
    if (rc == 0) rc = st_ret_journal_begin(s, doc, j);
    if (rc == 0) rc = st_ret_append_record(s, "archive", doc, data, &r->record);
    st_json_doc_free(doc);
    if (rc) goto out;
    st_rrec rec;
    memset(&rec, 0, sizeof rec);
    rec.kind = ST_RREC_ARCHIVE;
    rec.index = r->record;
    rec.begin = g.a;
    rec.end = g.b;
    if ((rc = st_ret_apply(s, &rec, &r->payloads)) != 0) goto out;
    r->archived = 1;
    r->begin = g.a;
    r->end = g.b;
out:
    st_ret_opunlock(lock);
    return rc;
}
