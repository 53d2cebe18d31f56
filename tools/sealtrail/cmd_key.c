/*
 * cmd_key.c: `sealtrail key …`, key management (docs/KEYS.md).
 *
 *   on the security team's machine (no store):  root-init, certify, revoke
 *   on the log host:                            request, epochs, install, rotate, list
 *
 * Notes (requests, certificates, revocations) are printed on stdout, so
 * they travel by whatever channel the team uses (a ticket, a file copy);
 * they are public material, signed, and checked on arrival.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "keys.h"
#include "verifier.h"

#define NOTE_READ_MAX (128u * 1024u)

/* ---- arguments ----------------------------------------------------------------------------------- */

/* Unix seconds, RFC 3339, or "now" -> seconds. */
static int time_arg(const char *opt, const char *val, int64_t *out)
{
    uint64_t u;
    int64_t us;
    if (strcmp(val, "now") == 0) { *out = st_now_us() / 1000000; return 0; }
    if (st_parse_u64(val, strlen(val), (uint64_t)ST_KN_TIME_MAX, &u) == 0) { *out = (int64_t)u; return 0; }
    if (st_time_parse_rfc3339(val, &us) == 0 && us >= 0) { *out = us / 1000000; return 0; }
    cli_err("%s: expected unix seconds, an RFC 3339 time (2025-11-21T00:00:00Z) or 'now', got '%s'", opt, val);
    return -1;
}

static int duration_arg(const char *opt, const char *val, int64_t *out)
{
    int64_t us;
    if (st_duration_parse(val, &us) != 0 || us < 1000000) {
        cli_err("%s: expected a duration like 90d, 12h, 30m, 2w or 1y, got '%s'", opt, val);
        return -1;
    }
    *out = us / 1000000;
    return 0;
}

/* cmd: "certify", "install": named in the message, as every other key error is. */
static int read_note(const char *cmd, const char *path, char **buf, size_t *len)
{
    if (!*path) { cli_err("key %s: empty file name (give FILE, or - for standard input)", cmd); return EXIT_USAGE; }
    int rc = cli_read_file(path, NOTE_READ_MAX, buf, len);
    if (rc) cli_err("key %s: %s: %s", cmd, strcmp(path, "-") == 0 ? "stdin" : path,
                    rc == ST_ETOOBIG ? "larger than 128 KiB: not a key note" : st_strerror(rc));
    return rc ? cli_read_exit(rc) : 0;
}

static int one_positional(const char *cmd, int argc, char **argv, const char **out)
{
    if (optind != argc - 1) {
        cli_err("key %s: expected one file argument ('-' for stdin)%s%s", cmd, optind < argc - 1 ? ", got also " : "",
                optind < argc - 1 ? argv[optind + 1] : "");
        return EXIT_USAGE;
    }
    *out = argv[optind];
    return 0;
}

static void fmt_time(char out[32], int64_t t)
{
    st_time_format_rfc3339(out, t * 1000000);
    char *dot = strstr(out, ".000000Z");
    if (dot) strcpy(dot, "Z");
}

static int print_note_out(char *note, size_t len)
{
    int code = cli_write_out("key", note, len);
    free(note);
    return code;
}

/* ---- the security team's side --------------------------------------------------------------------------- */

static int key_root_init(int argc, char **argv)
{
    static const struct option opts[] = { { "out", required_argument, NULL, 'o' }, { "name", required_argument, NULL, 'n' }, { 0, 0, 0, 0 } };
    const char *out = NULL, *name = "sealtrail-root";
    int c;
    while ((c = cli_getopt("key root-init", argc, argv, "", opts)) != -1) {
        if (c == 'o') out = optarg;
        else if (c == 'n') name = optarg;
        else return EXIT_USAGE;
    }
    if (!out || optind < argc) { cli_err("key root-init: give --out FILE (and nothing else)"); return EXIT_USAGE; }
    if (!*out) { cli_err("key root-init: --out: empty file name"); return EXIT_USAGE; }
    if (!st_key_name_valid(name, strlen(name))) { cli_err("--name: '%s' is not a valid key name (no spaces, no '+')", name); return EXIT_USAGE; }
    st_signer *sg = NULL;
    st_err err = { { 0 } };
    int rc = st_signer_generate(&sg, out, name, &err);
    if (rc) return cli_fail(rc, "key root-init", err.msg);
    char vkey[ST_VKEY_MAX];
    st_signer_vkey_string(sg, vkey);
    st_signer_free(sg);
    fprintf(stderr, "sealtrail: root key written to %s (mode 0600): keep it offline\n"
                    "sealtrail: give auditors the root's verifier key below, out of band; they run\n"
                    "sealtrail:   auditverify BUNDLE --trust '%s'\n", out, vkey);
    printf("%s\n", vkey);
    return EXIT_OK;
}

static int load_root(const char *path, st_signer **out)
{
    st_err err = { { 0 } };
    int rc = st_signer_load(out, path, &err);
    return rc ? cli_fail(rc, "--root", err.msg) : 0;
}

static int key_certify(int argc, char **argv)
{
    static const struct option opts[] = {
        { "root", required_argument, NULL, 'r' }, { "origin", required_argument, NULL, 'o' },
        { "not-before", required_argument, NULL, 'b' }, { "not-after", required_argument, NULL, 'a' },
        { "max-validity", required_argument, NULL, 'm' }, { 0, 0, 0, 0 } };
    st_key_certify_opts o = { 0 };
    const char *root = NULL, *req = NULL;
    int c;
    while ((c = cli_getopt("key certify", argc, argv, "", opts)) != -1) {
        switch (c) {
        case 'r': root = optarg; break;
        case 'o': o.origin = optarg; break;
        case 'b': if (time_arg("--not-before", optarg, &o.not_before)) return EXIT_USAGE; break;
        case 'a': if (time_arg("--not-after", optarg, &o.not_after)) return EXIT_USAGE; break;
        case 'm': if (duration_arg("--max-validity", optarg, &o.max_validity)) return EXIT_USAGE; break;
        default: return EXIT_USAGE;
        }
    }
    int code;
    if (!root) { cli_err("key certify: give --root ROOT.key"); return EXIT_USAGE; }
    if ((code = one_positional("certify", argc, argv, &req)) != 0) return code;
    char *buf;
    size_t len;
    if ((code = read_note("certify", req, &buf, &len)) != 0) return code;
    st_signer *sg;
    if ((code = load_root(root, &sg)) != 0) { free(buf); return code; }
    char *note = NULL;
    size_t nl = 0;
    st_err err = { { 0 } };
    int rc = st_key_certify(sg, buf, len, &o, &note, &nl, &err);
    st_signer_free(sg);
    free(buf);
    if (rc) return cli_fail(rc, "key certify", err.msg);
    return print_note_out(note, nl);
}

static int key_revoke(int argc, char **argv)
{
    static const struct option opts[] = {
        { "root", required_argument, NULL, 'r' }, { "key", required_argument, NULL, 'k' },
        { "after", required_argument, NULL, 'a' }, { "reason", required_argument, NULL, 'w' }, { 0, 0, 0, 0 } };
    const char *root = NULL, *key = NULL, *reason = NULL;
    int64_t after = -1;
    int c;
    while ((c = cli_getopt("key revoke", argc, argv, "", opts)) != -1) {
        switch (c) {
        case 'r': root = optarg; break;
        case 'k': key = optarg; break;
        case 'a': if (time_arg("--after", optarg, &after)) return EXIT_USAGE; break;
        case 'w': reason = optarg; break;
        default: return EXIT_USAGE;
        }
    }
    if (!root || !key || after < 0 || optind < argc) {
        cli_err("key revoke: give --root ROOT.key --key VKEY --after TIME (and nothing else)");
        return EXIT_USAGE;
    }
    st_vkey k;
    st_err err = { { 0 } };
    if (st_trust_arg_parse(&k, key, &err) != 0) { cli_err("--key: %s", err.msg); return EXIT_USAGE; }
    st_signer *sg;
    int code = load_root(root, &sg);
    if (code) return code;
    char *note = NULL;
    size_t nl = 0;
    int rc = st_key_revoke(sg, &k, after, reason, &note, &nl, &err);
    st_signer_free(sg);
    if (rc) return cli_fail(rc, "key revoke", err.msg);
    return print_note_out(note, nl);
}

/* ---- the log host ---------------------------------------------------------------------------------------- */

static int key_request(st_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "current", no_argument, NULL, 'c' }, { "not-before", required_argument, NULL, 'b' },
        { "not-after", required_argument, NULL, 'a' }, { "valid", required_argument, NULL, 'v' }, { 0, 0, 0, 0 } };
    int current = 0, nb_given = 0;
    int64_t now = st_now_us() / 1000000, nb = now, na = -1, valid = ST_KEYS_VALIDITY_DEFAULT;
    int c;
    while ((c = cli_getopt("key request", argc, argv, "", opts)) != -1) {
        switch (c) {
        case 'c': current = 1; break;
        case 'b': if (time_arg("--not-before", optarg, &nb)) return EXIT_USAGE; nb_given = 1; break;
        case 'a': if (time_arg("--not-after", optarg, &na)) return EXIT_USAGE; break;
        case 'v': if (duration_arg("--valid", optarg, &valid)) return EXIT_USAGE; break;
        default: return EXIT_USAGE;
        }
    }
    if (optind < argc) return cli_stray_arg("key request", argv, optind);
    st_store *s;
    int code = cli_open_store(cli, 0, &s);
    if (code) return code;
    if (current && !nb_given) {         /* the key in use: certify it from the store's first checkpoint on */
        char *cp = NULL;
        size_t cl;
        uint64_t sz;
        st_note n;
        st_checkpoint ck;
        if (st_checkpoint_get(s, 1, ST_CP_AT_LEAST, &sz, &cp, &cl) == 0 && st_note_parse(&n, cp, cl, NULL) == 0 &&
            st_checkpoint_parse(&ck, n.text, n.text_len, NULL) == 0 && ck.time_s >= 0 && ck.time_s < nb)
            nb = ck.time_s;
        free(cp);
    }
    if (na < 0) na = (nb > now ? nb : now) + valid;
    char *note = NULL;
    size_t len = 0;
    int rc = st_key_request(s, current, nb, na, &note, &len);
    if (rc) { code = cli_fail(rc, "key request", st_store_error(s)); st_store_close(s); return code; }
    fprintf(stderr, "sealtrail: %s; send the request below to the security team:\n"
                    "sealtrail:   sealtrail key certify --root ROOT.key REQUEST > CERT\n"
                    "sealtrail: then install the certificate here: sealtrail key install CERT\n",
            current ? "request for the key in use" : "new key written to keys/ (mode 0600)");
    st_store_close(s);
    return print_note_out(note, len);
}

/* The store signs with epoch keys already: a new schedule needs no rotation. */
static int in_epoch_mode(st_store *s)
{
    st_status st;
    return st_store_status(s, &st) == 0 && strcmp(st.key_mode, "epochs") == 0;
}

static int key_epochs(st_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "count", required_argument, NULL, 'n' }, { "length", required_argument, NULL, 'l' },
        { "start", required_argument, NULL, 's' }, { 0, 0, 0, 0 } };
    uint64_t count = 0;
    int64_t length = 86400, start = -1;
    int c;
    while ((c = cli_getopt("key epochs", argc, argv, "", opts)) != -1) {
        switch (c) {
        case 'n': if (cli_parse_u64("--count", optarg, &count)) return EXIT_USAGE; break;
        case 'l': if (duration_arg("--length", optarg, &length)) return EXIT_USAGE; break;
        case 's': if (time_arg("--start", optarg, &start)) return EXIT_USAGE; break;
        default: return EXIT_USAGE;
        }
    }
    if (optind < argc || count == 0 || count > ST_KN_MAX_EPOCHS) {
        cli_err("key epochs: give --count N (1..%u) [--length 1d] [--start TIME]", ST_KN_MAX_EPOCHS);
        return EXIT_USAGE;
    }
    if (start < 0) {                     /* epochs aligned on multiples of their length: the current one first */
        int64_t now = st_now_us() / 1000000;
        start = now - now % length;
    }
    st_store *s;
    int code = cli_open_store(cli, 0, &s);
    if (code) return code;
    char *note = NULL;
    size_t len = 0;
    int rc = st_key_epochs_request(s, start, length, (unsigned)count, &note, &len);
    if (rc) { code = cli_fail(rc, "key epochs", st_store_error(s)); st_store_close(s); return code; }
    char a[32], b[32];
    fmt_time(a, start);
    fmt_time(b, start + (int64_t)count * length);
    fprintf(stderr, "sealtrail: %llu epoch keys for %s to %s written to keys/ (mode 0600); send the request below\n",
            (unsigned long long)count, a, b);
    if (in_epoch_mode(s))
        fprintf(stderr, "sealtrail: to the security team ('key certify') and 'key install' the schedule: the store is\n"
                        "sealtrail: in epoch mode, so seals use these keys in their epochs; each key is wiped when its epoch ends\n");
    else
        fprintf(stderr, "sealtrail: to the security team ('key certify'), 'key install' the schedule, then 'key rotate'\n"
                        "sealtrail: to hand over to the epoch keys; each key is wiped when its epoch ends\n");
    st_store_close(s);
    return print_note_out(note, len);
}

static int key_install(st_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = { { "root-vkey", required_argument, NULL, 'r' }, { 0, 0, 0, 0 } };
    const char *rootarg = NULL, *path = NULL;
    int c;
    while ((c = cli_getopt("key install", argc, argv, "", opts)) != -1) {
        if (c == 'r') rootarg = optarg;
        else return EXIT_USAGE;
    }
    int code;
    if ((code = one_positional("install", argc, argv, &path)) != 0) return code;
    char root[ST_VKEY_MAX] = "";
    if (rootarg) {
        st_vkey k;
        st_err err = { { 0 } };
        if (st_trust_arg_parse(&k, rootarg, &err) != 0) { cli_err("--root-vkey: %s", err.msg); return EXIT_USAGE; }
        st_vkey_format(root, &k);
    }
    char *buf;
    size_t len;
    if ((code = read_note("install", path, &buf, &len)) != 0) return code;
    st_store *s;
    if ((code = cli_open_store(cli, 0, &s)) != 0) { free(buf); return code; }
    st_key_install_info info;
    int rc = st_key_install(s, buf, len, root[0] ? root : NULL, &info);
    free(buf);
    if (rc) { code = cli_fail(rc, "key install", st_store_error(s)); st_store_close(s); return code; }
    const char *kind = st_keynote_kind(info.type);
    if (info.already) {
        printf("%s already installed as entry %llu\n", kind, (unsigned long long)info.index);
        st_store_close(s);
        return EXIT_OK;
    }
    printf("%s recorded as entry %llu%s\n", kind, (unsigned long long)info.index, info.sealed ? " (sealed)" : "");
    if (info.pinned_root) fprintf(stderr, "sealtrail: pinned the root key %s\n", root);
    if ((info.type == ST_KN_CERTIFICATE || info.type == ST_KN_EPOCHS) && !info.have_key_file)
        fprintf(stderr, "sealtrail: warning: this store does not hold the secret key%s it certifies%s%s\n",
                info.type == ST_KN_EPOCHS ? "s" : "", info.detail[0] ? ": " : "", info.detail);
    if (info.type == ST_KN_CERTIFICATE && info.in_use)
        fprintf(stderr, "sealtrail: it certifies the key in use: nothing to rotate\n");
    else if (info.type == ST_KN_CERTIFICATE && info.have_key_file)
        fprintf(stderr, "sealtrail: next: 'sealtrail key rotate' switches to the certified key\n");
    if (info.type == ST_KN_EPOCHS && in_epoch_mode(s))
        fprintf(stderr, "sealtrail: the store is in epoch mode: the next seal signs with the current epoch's key\n");
    else if (info.type == ST_KN_EPOCHS)
        fprintf(stderr, "sealtrail: next: 'sealtrail key rotate' hands over to the epoch keys\n");
    if (info.revokes_current)
        fprintf(stderr, "sealtrail: warning: this revokes the key in use; nothing was sealed: rotate now "
                        "('key request', 'key certify', 'key install', 'key rotate')\n");
    st_store_close(s);
    return EXIT_OK;
}

static int key_rotate(st_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = { { "key", required_argument, NULL, 'k' }, { "keep-old", no_argument, NULL, 'o' }, { 0, 0, 0, 0 } };
    const char *key = NULL;
    int keep = 0, c;
    while ((c = cli_getopt("key rotate", argc, argv, "", opts)) != -1) {
        if (c == 'k') key = optarg;
        else if (c == 'o') keep = 1;
        else return EXIT_USAGE;
    }
    if (optind < argc) return cli_stray_arg("key rotate", argv, optind);
    st_store *s;
    int code = cli_open_store(cli, 0, &s);
    if (code) return code;
    st_key_rotate_result r;
    int rc = st_key_rotate(s, key, keep, &r);
    if (rc) { code = cli_fail(rc, "key rotate", st_store_error(s)); st_store_close(s); return code; }
    fprintf(stderr, "sealtrail: rotated at entry %llu; checkpoint %llu is signed by both keys; old key %s\n",
            (unsigned long long)r.index, (unsigned long long)r.handover_size,
            r.kept_old ? "kept in keys/retired-*.key (--keep-old)" : "wiped");
    if (r.to_epochs) fprintf(stderr, "sealtrail: epoch mode: each epoch's key signs until its epoch ends, then is wiped\n");
    printf("%s\n", r.new_vkey);
    st_store_close(s);
    return EXIT_OK;
}

/* ---- dispatch --------------------------------------------------------------------------------------------- */

static void key_help(void)
{
    puts("usage: sealtrail [--dir DIR] key SUBCOMMAND [options]\n"
         "\n"
         "Key management for security teams (docs/KEYS.md). A root key, held offline,\n"
         "certifies log keys; auditors pin the root's verifier key. Certificates,\n"
         "rotations and revocations are signed notes recorded in the log.\n"
         "\n"
         "security team (no store needed):\n"
         "  root-init --out ROOT.key [--name NAME]   create the root key; prints its verifier key\n"
         "  certify --root ROOT.key [--origin O] [--not-before T] [--not-after T] [--max-validity D] REQUEST\n"
         "                                           check a request, print its certificate\n"
         "  revoke --root ROOT.key --key VKEY --after T [--reason TEXT]\n"
         "                                           print a revocation: checkpoints signed by the key\n"
         "                                           after T no longer verify\n"
         "log host:\n"
         "  request [--current] [--not-before T] [--not-after T | --valid D]\n"
         "                                           new key in keys/, print its request (--current:\n"
         "                                           a request for the key in use)\n"
         "  epochs --count N [--length D] [--start T] N epoch keys (default one per day), print the\n"
         "                                           batch request\n"
         "  install [--root-vkey VKEY|FILE] NOTE     verify and record a certificate, epoch schedule or\n"
         "                                           revocation (the first install pins the root)\n"
         "  rotate [--key VKEY] [--keep-old]         switch to the certified key (or the epoch keys)\n"
         "                                           while hooks keep appending\n"
         "  list [--json]                            the key history, key files and mode; wipes\n"
         "                                           ended epoch keys\n"
         "\n"
         "Times: unix seconds, RFC 3339 (2025-11-21T00:00:00Z) or 'now'. Durations: 90d, 12h, 1y.\n"
         "Files: '-' reads stdin.\n"
         "\n"
         "examples:\n"
         "  sealtrail key root-init --out /secure/root.key --name example.com/security-root\n"
         "  sealtrail key request > req.txt                        # on the log host\n"
         "  sealtrail key certify --root /secure/root.key req.txt > cert.txt\n"
         "  sealtrail key install --root-vkey root.vkey cert.txt && sealtrail key rotate\n"
         "  sealtrail key revoke --root /secure/root.key --key OLD.vkey --after 2025-11-21T10:00:00Z > rev.txt\n"
         "  sealtrail key epochs --count 30 > epochs-req.txt\n"
         "\n"
         "EXIT STATUS\n"
         "  0 done; 1 refused (untrusted root, expired, another origin, loose key file\n"
         "  permissions) or failed; 2 usage error or malformed input.");
}

int cmd_key(st_cli *cli, int argc, char **argv)
{
    cli_take_dir(cli, &argc, argv);
    if (argc < 2) {     /* a usage error: on stderr, as every other one */
        cli_err("key: a subcommand is needed: root-init, certify, revoke, request, epochs, install, rotate, list"
                " (see 'sealtrail key --help')");
        return EXIT_USAGE;
    }
    if (cli_wants_help(argc, argv)) {
        key_help();
        return EXIT_OK;
    }
    const char *sub = argv[1];
    argc--;
    argv++;
    optind = 1;
    if (strcmp(sub, "root-init") == 0) return key_root_init(argc, argv);
    if (strcmp(sub, "certify") == 0) return key_certify(argc, argv);
    if (strcmp(sub, "revoke") == 0) return key_revoke(argc, argv);
    if (strcmp(sub, "request") == 0) return key_request(cli, argc, argv);
    if (strcmp(sub, "epochs") == 0) return key_epochs(cli, argc, argv);
    if (strcmp(sub, "install") == 0) return key_install(cli, argc, argv);
    if (strcmp(sub, "rotate") == 0) return key_rotate(cli, argc, argv);
    if (strcmp(sub, "list") == 0) return cmd_key_list(cli, argc, argv);
    cli_err("key: unknown subcommand '%s' (see 'sealtrail key --help')", sub);
    return EXIT_USAGE;
}
