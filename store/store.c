/*
 * store.c: creating, opening and describing a store: the directory (0700),
 * the LMDB environment (files 0600), the signing key (0600, O_EXCL), and the
 * meta table (format version, origin, seal policy).
 */
#include "store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "keys.h"
#include "sign.h"

/* Store format versions (meta format_version): 1, entry rows raw; 2, entry
 * rows may be packed (entry_store.h); 3, leaf hashes are not stored in the
 * tree table (tree.c), the rows of entries appended since may lack them; 4,
 * blob reference counts may be kept in `blob_refs` (payload.c). This build
 * reads all four; its first append to an older store makes it version 4
 * (st_store_format_upgrade), which an older build then refuses to open
 * instead of taking the packed rows or the missing leaf rows for damage, or
 * counting a blob's references at the head of its row, where a version-4
 * store leaves them stale. */
#define ST_FORMAT_VERSION_MIN 1

int st_store_format_upgrade(st_txn *txn)
{
    uint64_t v = 0;
    int rc = st_meta_get_u64(txn, ST_META_VERSION, &v);
    if (rc) return rc;
    return v >= ST_FORMAT_VERSION ? 0 : st_meta_put_u64(txn, ST_META_VERSION, ST_FORMAT_VERSION);
}

int st_store_fail(st_store *s, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err.msg, sizeof s->err.msg, fmt, ap);
    va_end(ap);
    return rc;
}

const char *st_store_error(const st_store *s) { return s ? s->err.msg : ""; }
const char *st_store_origin(const st_store *s) { return s->origin; }
const char *st_store_vkey(const st_store *s) { return s->vkey; }

static char *path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* mkdir -p with mode 0700 for every directory it creates (the store, and the
 * spool, which may exist before the store). */
int st_make_dirs(const char *dir)
{
    char *p = strdup(dir);
    if (!p) return ENOMEM;
    for (char *c = p + 1; *c; c++) {
        if (*c != '/') continue;
        *c = 0;
        if (mkdir(p, 0700) != 0 && errno != EEXIST) { int e = errno; free(p); return e; }
        *c = '/';
    }
    int rc = (mkdir(p, 0700) != 0 && errno != EEXIST) ? errno : 0;
    free(p);
    return rc;
}

int st_pid_gone(long pid)
{
    if (pid <= 0 || pid > INT_MAX || pid == (long)getpid()) return 0;
    return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

/* A default origin: sealtrail.local/<host>/<6 random hex>, host reduced to [A-Za-z0-9.-]. */
static void default_origin(char out[ST_KEY_NAME_MAX + 1])
{
    char host[256] = "host", clean[65];
    gethostname(host, sizeof host - 1);
    size_t j = 0;
    for (size_t i = 0; host[i] && j < sizeof clean - 1; i++) {
        char c = host[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-')
            clean[j++] = c;
    }
    clean[j] = 0;
    uint8_t rnd[3];
    randombytes_buf(rnd, sizeof rnd);
    snprintf(out, ST_KEY_NAME_MAX + 1, "sealtrail.local/%s/%02x%02x%02x", j ? clean : "host", rnd[0], rnd[1], rnd[2]);
}

typedef struct init_ctx {
    const char *origin;
    const char *vkey;
    const st_init_opts *o;
} init_ctx;

static int init_meta(st_txn *txn, void *arg)
{
    init_ctx *c = arg;
    uint64_t n = c->o && c->o->seal_max_entries ? c->o->seal_max_entries : ST_SEAL_MAX_ENTRIES_DEFAULT;
    int64_t t = c->o && c->o->seal_max_age_us ? c->o->seal_max_age_us : ST_SEAL_MAX_AGE_US_DEFAULT;
    uint64_t cap = c->o && c->o->payload_cap ? c->o->payload_cap : ST_PAYLOAD_CAP_DEFAULT;
    int rc;
    if ((rc = st_meta_put_u64(txn, ST_META_VERSION, ST_FORMAT_VERSION)) ||
        (rc = st_meta_put_str(txn, ST_META_ORIGIN, c->origin, strlen(c->origin))) ||
        (rc = st_meta_put_str(txn, ST_META_VKEY, c->vkey, strlen(c->vkey))) ||
        (rc = st_meta_put_u64(txn, ST_META_SIZE, 0)) ||
        (rc = st_meta_put_u64(txn, ST_META_SEALED, 0)) ||
        (rc = st_meta_put_u64(txn, ST_META_UNSEALED_US, 0)) ||
        (rc = st_meta_put_u64(txn, ST_META_SEAL_N, n)) ||
        (rc = st_meta_put_u64(txn, ST_META_SEAL_T, (uint64_t)t)) ||
        (rc = st_meta_put_u64(txn, ST_META_PAYLOAD_CAP, cap)) ||
        (rc = st_meta_put_u64(txn, ST_META_SYSLOG, c->o && c->o->no_syslog ? 0 : 1)))
        return rc;
    return 0;
}

int st_store_init(const char *dir, const st_init_opts *opts, char vkey_out[ST_VKEY_MAX])
{
    char origin[ST_KEY_NAME_MAX + 1];
    if (opts && opts->origin) {
        if (!st_key_name_valid(opts->origin, strlen(opts->origin))) return ST_EINVAL;
        snprintf(origin, sizeof origin, "%s", opts->origin);
    } else {
        default_origin(origin);
    }
    int rc = st_make_dirs(dir);
    if (rc) return rc;
    struct stat st;
    if (stat(dir, &st) != 0) return errno;
    if (!S_ISDIR(st.st_mode)) return ENOTDIR;
    if ((st.st_mode & 077) && chmod(dir, 0700) != 0) return errno;

    char *data = path_join(dir, "data.mdb"), *keyp = path_join(dir, ST_KEY_FILE);
    st_signer *signer = NULL;
    st_db *db = NULL;
    st_err err;
    char vkey[ST_VKEY_MAX];
    if (!data || !keyp) { rc = ENOMEM; goto out; }
    if (st_eaccess(data, F_OK) == 0) { rc = ST_EEXIST; goto out; }
    if ((rc = st_signer_generate(&signer, keyp, origin, &err)) != 0) goto out;
    st_signer_vkey_string(signer, vkey);
    if ((rc = st_keys_write_vkey_file(dir, vkey, &err)) != 0) goto out;
    if ((rc = st_db_open(&db, dir, ST_DB_CREATE, &err)) != 0) goto out;
    init_ctx c = { origin, vkey, opts };
    if ((rc = st_db_write(db, init_meta, &c, &err)) != 0) goto out;
    snprintf(vkey_out, ST_VKEY_MAX, "%s", vkey);
out:
    st_db_close(db);
    st_signer_free(signer);
    free(data);
    free(keyp);
    return rc;
}

static int read_config(st_store *s)
{
    st_txn *txn;
    int rc = st_db_read_begin(s->db, &txn, &s->err);
    if (rc) return rc;
    uint64_t version = 0, n = 0, t = 0, cap = 0, sl = 1;
    const char *str;
    size_t len;
    if ((rc = st_meta_get_u64(txn, ST_META_VERSION, &version)) != 0) {
        rc = st_store_fail(s, rc == ST_ENOTFOUND ? ST_ENOTFOUND : rc, "%s: no sealtrail store here (no format version)", s->dir);
        goto out;
    }
    if (version < ST_FORMAT_VERSION_MIN || version > ST_FORMAT_VERSION) {
        rc = st_store_fail(s, ST_EVERSION, "%s: store format version %llu, this build reads versions %d to %d%s",
                           s->dir, (unsigned long long)version, ST_FORMAT_VERSION_MIN, ST_FORMAT_VERSION,
                           version > ST_FORMAT_VERSION ? " (written by a newer sealtrail)" : "");
        goto out;
    }
    if ((rc = st_meta_get_str(txn, ST_META_ORIGIN, &str, &len)) != 0 || len > ST_KEY_NAME_MAX) {
        rc = st_store_fail(s, ST_ECORRUPT, "%s: meta: origin missing or too long", s->dir);
        goto out;
    }
    memcpy(s->origin, str, len);
    s->origin[len] = 0;
    if ((rc = st_meta_get_str(txn, ST_META_VKEY, &str, &len)) != 0 || len >= ST_VKEY_MAX) {
        rc = st_store_fail(s, ST_ECORRUPT, "%s: meta: verifier key missing or too long", s->dir);
        goto out;
    }
    memcpy(s->vkey, str, len);
    s->vkey[len] = 0;
    if ((rc = st_vkey_parse(&s->verifier, s->vkey, len, &s->err)) != 0) goto out;
    if (st_meta_get_u64(txn, ST_META_SEAL_N, &n) || st_meta_get_u64(txn, ST_META_SEAL_T, &t) ||
        st_meta_get_u64(txn, ST_META_PAYLOAD_CAP, &cap)) {
        rc = st_store_fail(s, ST_ECORRUPT, "%s: meta: seal policy missing", s->dir);
        goto out;
    }
    if (st_meta_get_u64(txn, ST_META_SYSLOG, &sl) != 0) sl = 1;
    s->seal_max_entries = n;
    s->seal_max_age_us = (int64_t)t;
    s->payload_cap = (size_t)cap;
    s->syslog = sl && !(s->flags & ST_OPEN_NOSYSLOG) && !getenv("SEALTRAIL_NO_SYSLOG");
out:
    st_db_read_end(txn);
    return rc;
}

int st_store_open(st_store **out, const char *dir, unsigned flags)
{
    *out = NULL;
    st_store *s = calloc(1, sizeof *s);
    if (!s) return ENOMEM;
    s->flags = flags;
    s->gate_fd = -1;   /* writer gate (retention, issue 7) */
    s->dir = strdup(dir);
    if (!s->dir) { free(s); return ENOMEM; }
    *out = s;   /* handed out even on failure so st_store_error() can explain; close it */
    /* No store here: nothing yet (init makes one), or a path that is not a
     * directory or cannot be read, which init would not mend either. */
    char *data = path_join(dir, "data.mdb");
    if (!data) return ENOMEM;
    struct stat st;
    int e = stat(dir, &st) != 0 ? errno : !S_ISDIR(st.st_mode) ? ENOTDIR : st_eaccess(data, F_OK) != 0 ? errno : 0;
    free(data);
    if (e == ENOENT) return st_store_fail(s, ST_ENOTFOUND, "%s: no sealtrail store here (run 'sealtrail init')", dir);
    if (e == ENOTDIR) return st_store_fail(s, e, "%s: not a directory (a store is a directory)", dir);
    if (e) return st_store_fail(s, e, "%s: cannot read the store directory: %s", dir, strerror(e));
    int rc = st_gate_open_shared(s);   /* writer gate (retention, issue 7; compact.c) */
    if (rc) return rc;
    rc = st_db_open(&s->db, dir, flags & ST_OPEN_RDONLY ? ST_DB_RDONLY : 0, &s->err);
    if (rc) return rc;
    return read_config(s);
}

void st_store_close(st_store *s)
{
    if (!s) return;
    st_db_close(s->db);
    st_gate_close(s);   /* writer gate (retention, issue 7) */
    free(s->dir);
    free(s);
}

int st_store_gone(st_store *s)
{
    struct stat held, now;
    if (!s->db || st_db_file_stat(s->db, &held) != 0) return 0;
    if (held.st_nlink == 0) return 1;                  /* unlinked: rm -rf of the store */
    char *data = path_join(s->dir, "data.mdb");
    if (!data) return 0;
    int e = stat(data, &now) == 0 ? 0 : errno;
    free(data);
    if (e) return e == ENOENT || e == ENOTDIR;         /* the directory renamed away, or a file put in its place */
    return now.st_dev != held.st_dev || now.st_ino != held.st_ino;
}

/* --- keys (issue 5): which key file is current (the epoch key in epoch mode),
 * finishing a rotation that a crash interrupted; see store/keys.c --- */
int st_store_load_signer(st_store *s, st_signer **out)
{
    return st_keys_load_current(s, out);
}
/* --- end keys --- */

int st_size_txn(st_txn *txn, uint64_t *size_out)
{
    int rc = st_meta_get_u64(txn, ST_META_SIZE, size_out);
    return rc == ST_ENOTFOUND ? ST_ECORRUPT : rc;
}

int st_store_status(st_store *s, st_status *out)
{
    memset(out, 0, sizeof *out);
    st_txn *txn;
    int rc = st_db_read_begin(s->db, &txn, &s->err);
    if (rc) return rc;
    uint64_t unsealed = 0;
    if ((rc = st_size_txn(txn, &out->size)) == 0 && (rc = st_meta_get_u64(txn, ST_META_SEALED, &out->sealed_size)) == 0 &&
        (rc = st_meta_get_u64(txn, ST_META_UNSEALED_US, &unsealed)) == 0)
        rc = st_db_count(txn, ST_T_CHECKPOINTS, &out->checkpoints);
    out->oldest_unsealed_us = (int64_t)unsealed;
    if (rc == 0 && out->checkpoints) {
        st_cursor *c;
        const void *v;
        size_t vl;
        if (st_cursor_open(txn, ST_T_CHECKPOINTS, &c) == 0) {
            st_note note;
            st_checkpoint cp;
            if (st_cursor_last(c, NULL, NULL, &v, &vl) == 0 && st_note_parse(&note, v, vl, NULL) == 0 &&
                st_checkpoint_parse(&cp, note.text, note.text_len, NULL) == 0 && cp.time_s >= 0)
                out->last_seal_us = cp.time_s * 1000000;
            st_cursor_close(c);
        }
    }
    if (rc == 0) rc = st_key_mode_txn(txn, out->key_mode, sizeof out->key_mode);
    out->seal_max_entries = s->seal_max_entries;
    out->seal_max_age_us = s->seal_max_age_us;
    st_db_info(s->db, &out->map_bytes, &out->used_bytes, NULL);
    st_db_read_end(txn);
    return rc;
}
