/*
 * cmd_key_list.c: `sealtrail key list`: the store's key mode, pinned root,
 * current key, the key history recorded in the log (one line per note),
 * and the key files with what the history says about each now. Wipes the
 * files of epoch keys whose epoch has ended, as seals do.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json.h"
#include "keys.h"

static void fmt_time(char out[32], int64_t t)
{
    st_time_format_rfc3339(out, t * 1000000);
    char *dot = strstr(out, ".000000Z");
    if (dot) strcpy(dot, "Z");
}

typedef struct list_ctx {
    int json;
    st_buf *out;
    size_t n;
} list_ctx;

static void short_key(char out[ST_KEY_NAME_MAX + 16], const st_vkey *k)
{
    snprintf(out, ST_KEY_NAME_MAX + 16, "%s+%08x", k->name, (unsigned)k->key_id);
}

/* One history row: a line of text, or a JSON object with the note itself. */
static int list_note(void *arg, uint64_t index, const char *note, size_t len)
{
    list_ctx *c = arg;
    st_keynote *kn = malloc(sizeof *kn);
    if (!kn) return ENOMEM;
    char sum[768] = "", a[32], b[32], k1[ST_KEY_NAME_MAX + 16], k2[ST_KEY_NAME_MAX + 16];
    const char *kind = "malformed";
    if (st_keynote_parse(kn, note, len, NULL) == 0) {
        kind = st_keynote_kind(kn->type);
        short_key(k1, &kn->keys[0].key);
        switch (kn->type) {
        case ST_KN_CERTIFICATE:
            fmt_time(a, kn->keys[0].not_before);
            fmt_time(b, kn->keys[0].not_after);
            snprintf(sum, sizeof sum, "%s valid %s to %s, by %.*s", k1, a, b, (int)kn->note.sigs[0].name_len, kn->note.sigs[0].name);
            break;
        case ST_KN_EPOCHS:
            fmt_time(a, kn->keys[0].not_before);
            fmt_time(b, kn->keys[kn->nkeys - 1].not_after);
            snprintf(sum, sizeof sum, "%zu epoch keys, %s to %s, by %.*s", kn->nkeys, a, b, (int)kn->note.sigs[0].name_len,
                     kn->note.sigs[0].name);
            break;
        case ST_KN_REVOCATION:
            fmt_time(a, kn->time);
            snprintf(sum, sizeof sum, "%s compromised after %s%s%s", k1, a, kn->reason[0] ? ": " : "", kn->reason);
            break;
        case ST_KN_ROTATION:
            short_key(k2, &kn->keys[1].key);
            snprintf(sum, sizeof sum, "%s -> %s; handover checkpoint %llu", k1, k2, (unsigned long long)index + 1);
            break;
        default: break;
        }
    }
    free(kn);
    if (c->json) {
        st_buf_printf(c->out, "%s{\"index\":%llu,\"kind\":\"%s\",\"note\":", c->n ? "," : "", (unsigned long long)index, kind);
        st_json_write_string(c->out, note, len);
        st_buf_puts(c->out, ",\"summary\":");
        st_json_write_string(c->out, sum, strlen(sum));
        st_buf_puts(c->out, "}");
    } else {
        st_buf_printf(c->out, "  entry %-8llu %-16s %s\n", (unsigned long long)index, kind, sum);
    }
    c->n++;
    return 0;
}

static void meta_str(st_txn *txn, const char *name, char *out, size_t cap)
{
    const char *s;
    size_t l;
    out[0] = 0;
    if (st_meta_get_str(txn, name, &s, &l) == 0 && l < cap) {
        memcpy(out, s, l);
        out[l] = 0;
    }
}

static void json_kv(st_buf *b, const char *k, const char *v, int first)
{
    st_buf_printf(b, "%s\"%s\":", first ? "" : ",", k);
    if (v && v[0]) st_json_write_string(b, v, strlen(v));
    else st_buf_puts(b, "null");
}

int cmd_key_list(st_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = { { "json", no_argument, NULL, 'j' }, { 0, 0, 0, 0 } };
    int oc, json = 0;
    optind = 1;
    while ((oc = cli_getopt("key list", argc, argv, "", opts)) != -1) {
        if (oc == 'j') json = 1;
        else return EXIT_USAGE;
    }
    if (optind < argc) return cli_stray_arg("key list", argv, optind);
    st_store *s;
    int code = cli_open_store(cli, ST_OPEN_RDONLY, &s);
    if (code) return code;
    int64_t now = st_now_us() / 1000000;
    unsigned wiped = 0;
    int rc = st_keys_expire_epochs(s, now, &wiped);
    if (rc) { code = cli_fail(rc, "key list: wiping ended epoch keys", st_store_error(s)); st_store_close(s); return code; }
    st_txn *txn;
    if ((rc = st_db_read_begin(s->db, &txn, &s->err)) != 0) { code = cli_fail(rc, "key list", st_store_error(s)); st_store_close(s); return code; }
    char root[ST_VKEY_MAX], first[ST_VKEY_MAX], mode[16], cur[ST_VKEY_MAX];
    meta_str(txn, ST_META_ROOT_VKEY, root, sizeof root);
    meta_str(txn, ST_META_KEY_FIRST, first, sizeof first);
    meta_str(txn, ST_META_VKEY, cur, sizeof cur);
    if ((rc = st_key_mode_txn(txn, mode, sizeof mode)) != 0) {
        st_db_read_end(txn);
        code = cli_fail(rc, "key list", st_store_error(s));
        st_store_close(s);
        return code;
    }
    const char *m = mode;
    st_buf out = { 0 };
    if (json) {
        st_buf_puts(&out, "{");
        json_kv(&out, "origin", st_store_origin(s), 1);
        json_kv(&out, "mode", m, 0);
        json_kv(&out, "root", root, 0);
        json_kv(&out, "current", cur, 0);
        json_kv(&out, "first", first, 0);
        st_buf_puts(&out, ",\"history\":[");
    } else {
        st_buf_printf(&out, "origin:       %s\nmode:         %s\nroot:         %s\ncurrent key:  %s\n", st_store_origin(s), m,
                      root[0] ? root : "(none pinned: simple mode)", cur);
        if (first[0] && strcmp(first, cur) != 0) st_buf_printf(&out, "first key:    %s (the store's own anchor for 'check')\n", first);
        st_buf_puts(&out, "history:\n");
    }
    list_ctx c = { json, &out, 0 };
    rc = st_keys_each(txn, list_note, &c);
    if (!json && c.n == 0) st_buf_puts(&out, "  (none)\n");
    /* key files, and what the history says about each now */
    st_keyfile files[256];
    size_t nf = 0;
    st_keyhist *h = NULL;
    uint64_t size = 0;
    st_err err = { { 0 } };
    if (rc == 0) rc = st_keys_list_files(s->dir, files, 256, &nf);
    if (rc == 0) rc = st_size_txn(txn, &size);
    if (rc == 0) rc = st_keys_history(txn, s, &h, &err);
    st_buf_puts(&out, json ? "],\"files\":[" : "key files:\n");
    for (size_t i = 0; rc == 0 && i < nf; i++) {
        const st_keyfile *f = &files[i];
        char why[256] = "", a[32], b[32];
        int ok = st_keyhist_explain(h, s->origin, strlen(s->origin), f->key_id, size + 1, now, 0, why, sizeof why);
        const char *role = f->kind == 'n' ? "requested" : f->kind == 'r' ? "retired (kept)" : "epoch";
        if (f->kind == 'e') {
            fmt_time(a, f->not_before);
            fmt_time(b, f->not_after);
        }
        if (json) {
            st_buf_printf(&out, "%s{\"file\":\"keys/%s\",\"role\":\"%s\",\"key_id\":\"%08x\",\"may_sign_now\":%s", i ? "," : "",
                          f->name, f->kind == 'n' ? "requested" : f->kind == 'r' ? "retired" : "epoch", (unsigned)f->key_id,
                          ok ? "true" : "false");
            if (f->kind == 'e') st_buf_printf(&out, ",\"not_before\":%lld,\"not_after\":%lld", (long long)f->not_before, (long long)f->not_after);
            st_buf_puts(&out, ",\"why\":");
            st_json_write_string(&out, why, strlen(why));
            st_buf_puts(&out, "}");
        } else {
            st_buf_printf(&out, "  keys/%-36s %s%s%s%s%s: %s\n", f->name, role, f->kind == 'e' ? " " : "", f->kind == 'e' ? a : "",
                          f->kind == 'e' ? " to " : "", f->kind == 'e' ? b : "", ok ? "may sign now" : why);
        }
    }
    if (json) st_buf_printf(&out, "],\"wiped\":%u}\n", wiped);
    else if (wiped) st_buf_printf(&out, "wiped %u key file%s of ended epochs\n", wiped, wiped == 1 ? "" : "s");
    st_keyhist_free(h);
    st_db_read_end(txn);
    if (rc) {
        st_buf_free(&out);
        code = cli_fail(rc, "key list", err.msg[0] ? err.msg : st_store_error(s));
        st_store_close(s);
        return code;
    }
    code = out.oom ? cli_fail(ENOMEM, "key list", NULL) : cli_write_out("key list", out.data, out.len);
    st_buf_free(&out);
    st_store_close(s);
    return code;
}
