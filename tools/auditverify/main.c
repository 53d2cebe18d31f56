/*
 * main.c: auditverify, the auditor's verifier. Reads one or more bundles
 * (files or stdin; zstd-compressed archives too, input.c), verifies each
 * against the keys given with --trust and only those (docs/VERIFYING.md),
 * prints a report, and exits 0 verified, 1 tamper evidence, 2 could not
 * verify, 3 untrusted key or unsupported version. With --retention it also
 * judges the set for retention (store/verify/retention_check.h) and reports
 * that verdict separately. Links stverify (libsodium, pthreads) and, for
 * .zst inputs only, libzstd: no LMDB, no secret-key code.
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

#include "dump.h"
#include "forks.h"
#include "input.h"
#include "report.h"
#include "retention_report.h"
#include "verifier.h"

#define MAX_TRUST 64
#define MAX_FILES 1024
#define MAX_KEY_NOTES 64

static void usage(FILE *f)
{
    fprintf(f,
            "usage: auditverify BUNDLE... --trust KEY [--trust KEY ...] [--key-note FILE ...]\n"
            "                   [--previous CHECKPOINT] [--retention [--as-of TIME]] [--json]\n"
            "                   [--threads N] [-q | --quiet]\n"
            "       auditverify --list BUNDLE\n"
            "\n"
            "Verifies a sealtrail auditor bundle offline: every entry's exact bytes, the\n"
            "Merkle roots of every signed checkpoint, the consistency of the checkpoints,\n"
            "every payload against its commitment (or the signed record explaining why it\n"
            "is absent), and the signatures, against the keys you trust and nothing else.\n"
            "The bundle never supplies its own trust anchor.\n"
            "\n"
            "options:\n"
            "  BUNDLE...           bundle files, or - for standard input; zstd-compressed\n"
            "                      bundles (archives, .stb.zst) are read as they are\n"
            "  --trust KEY         a verifier key string (name+hex8+base64), or a file holding\n"
            "                      one; repeat for several keys. Required. A key named like\n"
            "                      the log's origin is the log key itself; any other is a\n"
            "                      root whose certificates (carried in the bundle) say which\n"
            "                      log key may sign which checkpoint (docs/KEYS.md)\n"
            "  --key-note FILE     a root-signed key note the security team gave you beside\n"
            "                      the bundle (a revocation, a certificate; docs/KEYS.md);\n"
            "                      repeat for several. With --trust ROOTKEY, checkpoints\n"
            "                      signed by a revoked key after its revocation time fail\n"
            "  --previous FILE     a signed checkpoint you already hold (from an earlier\n"
            "                      bundle, the journal, a witness): the bundle must be\n"
            "                      consistent with it; a different root at the same size is\n"
            "                      a fork (exit 1). One per run (with one bundle)\n"
            "  --retention         also judge the bundles as a set for retention: give every\n"
            "                      archive and a current export; checks that nothing was\n"
            "                      removed before the minimum retention, that every removal\n"
            "                      has a signed record, that no archive is missing (no gap),\n"
            "                      and reports payloads held past the maximum\n"
            "  --as-of TIME        judge retention at TIME (RFC 3339) instead of the newest\n"
            "                      checkpoint's time\n"
            "  --json              print the report as one JSON object\n"
            "  --threads N         hashing threads (default: one per CPU)\n"
            "  -q, --quiet         print nothing on success; on a failure, the reason on stderr\n"
            "                      and the report on stdout, as without --quiet (--json\n"
            "                      always prints its JSON report)\n"
            "  --list              print the bundle's records (offset, type, length, summary)\n"
            "                      and check only the framing and trailer: verifies nothing\n"
            "\n"
            "examples:\n"
            "  auditverify audit-2025-q4.stb --trust 'example.com/log+3f9a1c2e+AVdK...'\n"
            "  auditverify audit.stb --trust log.vkey --previous last-quarter.checkpoint --json\n"
            "  auditverify audit.stb --trust root.vkey --key-note revocation.txt\n"
            "  auditverify archive/archive-*.stb.zst current.stb --trust log.vkey --retention\n"
            "  sealtrail export --out - | auditverify - --trust \"$(sealtrail verifier-key)\"\n"
            "\n"
            "EXIT STATUS\n"
            "  0  verified: every check passed\n"
            "  1  tamper evidence: the bundle contradicts its signatures, proofs or claims\n"
            "     (altered, missing, reordered or inserted entries; a payload that does not\n"
            "     match its commitment; inconsistent checkpoints; a fork with --previous)\n"
            "  2  could not verify: usage error, I/O error, malformed, truncated or oversized\n"
            "     input, or --previous that this bundle cannot be linked to\n"
            "  3  untrusted: a checkpoint signed by no --trust key, or an unsupported format\n"
            "     version\n"
            "  With several bundles the exit status is the most serious verdict (1, then 3,\n"
            "  then 2); two verified bundles of one log with different roots at one size\n"
            "  are a fork (1). With --retention and every bundle verified: 0 compliant\n"
            "  (payloads held past the maximum are reported as a warning), 1 retention\n"
            "  violated, 2 inconclusive (a filtered bundle, bundles that cannot be linked,\n"
            "  entries a checkpoint covers that no bundle carries).\n"
            "\n"
            "The numbered steps behind each verdict are in docs/VERIFYING.md.\n");
}

/* getopt_long, silent (':' first: a missing value is ':'), the error named
 * here as auditverify's others: "--trust needs a value", "--json takes no
 * value", "unknown option '--x'". A long option moves optind past itself. */
static int next_opt(int argc, char **argv, const struct option *lo)
{
    int before = optind;
    opterr = 0;
    int c = getopt_long(argc, argv, ":hq", lo, NULL);
    if (c != '?' && c != ':') return c;
    const char *el = optind > before && optind <= argc ? argv[optind - 1] : "";
    char name[80];
    if (strncmp(el, "--", 2) == 0 && el[2]) {
        size_t n = strcspn(el + 2, "=");
        snprintf(name, sizeof name, "--%.*s", (int)n, el + 2);
        for (; lo->name; lo++)      /* a unique prefix: the full name */
            if (optopt && lo->val == optopt && strncmp(lo->name, el + 2, n) == 0) snprintf(name, sizeof name, "--%s", lo->name);
        if (c == ':') fprintf(stderr, "auditverify: %s needs a value (see --help)\n", name);
        else if (optopt) fprintf(stderr, "auditverify: %s takes no value (see --help)\n", name);
        else fprintf(stderr, "auditverify: unknown option '%s' (see --help)\n", name);
    } else {
        fprintf(stderr, "auditverify: unknown option '-%c' (see --help)\n", optopt);
    }
    return '?';
}

static char *read_small_file(const char *path, size_t max, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    char *buf = malloc(max + 1);
    size_t got = 0;
    int rerr = 0;
    while (buf && got <= max) {
        ssize_t k = read(fd, buf + got, max + 1 - got);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) rerr = errno;     /* a directory (EISDIR), an I/O error: not an empty or cut-short note */
        if (k <= 0) break;
        got += (size_t)k;
    }
    close(fd);
    if (rerr) {
        free(buf);
        errno = rerr;
        return NULL;
    }
    if (!buf || got > max) {
        free(buf);
        errno = EFBIG;
        return NULL;
    }
    buf[got] = 0;
    *len = got;
    return buf;
}

/* Most serious first: tamper evidence, then untrusted, then could not verify. */
static int worse(int a, int b)
{
    static const int rank[4] = { 0, 3, 1, 2 };    /* by verdict: verified, tampered, unverifiable, untrusted */
    return rank[b & 3] > rank[a & 3] ? b : a;
}

/* Verifies one input; feeds rc through obs when given. Returns the verdict. */
static int verify_one(const char *file, st_verify_opts *opts, st_rc *rc, st_verify_report *rep)
{
    const char *name = strcmp(file, "-") == 0 ? "(stdin)" : file;
    char msg[256];
    av_input *in = NULL;
    st_bundle_reader *r = NULL;
    if (av_input_open(&in, file, rc != NULL, msg, sizeof msg) != 0) {   /* the file digest only serves --retention */
        memset(rep, 0, sizeof *rep);
        rep->verdict = ST_VERDICT_UNVERIFIABLE;
        rep->step = 3;
        snprintf(rep->failure, sizeof rep->failure, "%s", msg);
        return rep->verdict;
    }
    const uint8_t *map;
    size_t map_len;
    int mapped = av_input_mapped(in, &map, &map_len);
    if ((mapped ? st_bundle_reader_mem(&r, map, map_len) : st_bundle_reader_new(&r, av_input_read, in)) != 0) {
        av_input_close(in);
        memset(rep, 0, sizeof *rep);
        rep->verdict = ST_VERDICT_UNVERIFIABLE;
        snprintf(rep->failure, sizeof rep->failure, "out of memory");
        return rep->verdict;
    }
    if (rc) st_rc_next_bundle(rc, name);
    if (mapped) st_bundle_reader_on_release(r, av_input_release, in);
    int verdict = st_verify_bundle(r, opts, rep);
    char why[64];
    if (av_input_changed(in, why, sizeof why)) {     /* what was read may not be one version of the file */
        rep->verdict = verdict = ST_VERDICT_UNVERIFIABLE;
        rep->step = 3;
        rep->fail_offset = 0;
        snprintf(rep->failure, sizeof rep->failure,
                 "read error: the file changed while it was being verified (%s): verify a copy nothing writes to",
                 why);
    }
    uint8_t sha[32];
    if (rc && verdict == ST_VERDICT_VERIFIED && av_input_finish(in, sha) == 0) st_rc_bundle_file_sha(rc, sha);
    if (rc) st_rc_bundle_end(rc);
    st_bundle_reader_free(r);
    av_input_close(in);
    return verdict;
}

int main(int argc, char **argv)
{
    const char *files[MAX_FILES], *previous = NULL, *as_of = NULL;
    size_t nfiles = 0;
    const char *kn_files[MAX_KEY_NOTES];            /* keys (issue 5): --key-note */
    char *kn_bufs[MAX_KEY_NOTES];
    size_t kn_lens[MAX_KEY_NOTES], nkn = 0;
    st_vkey trust[MAX_TRUST];
    size_t ntrust = 0;
    int json = 0, quiet = 0, list = 0, retention = 0;
    unsigned threads = 0;
    if (sodium_init() < 0) {
        fprintf(stderr, "auditverify: libsodium failed to initialize\n");
        return ST_VERDICT_UNVERIFIABLE;
    }
    static const struct option lopts[] = {
        { "help", no_argument, NULL, 'h' },          { "trust", required_argument, NULL, 't' },
        { "key-note", required_argument, NULL, 'k' }, { "previous", required_argument, NULL, 'p' },
        { "as-of", required_argument, NULL, 'a' },    { "threads", required_argument, NULL, 'T' },
        { "list", no_argument, NULL, 'l' },          { "retention", no_argument, NULL, 'r' },
        { "json", no_argument, NULL, 'j' },          { "quiet", no_argument, NULL, 'q' },
        { 0, 0, 0, 0 },
    };
    int c;
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)   /* --help first, whatever else is wrong */
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            signal(SIGPIPE, SIG_IGN);   /* as sealtrail: `auditverify --help | grep -q x` exits 0 */
            usage(stdout);
            return 0;
        }
    while ((c = next_opt(argc, argv, lopts)) != -1) {
        switch (c) {
        case 'h':          /* an abbreviation of --help (--he) */
            signal(SIGPIPE, SIG_IGN);
            usage(stdout);
            return 0;
        case 't': {
            if (ntrust == MAX_TRUST) {
                fprintf(stderr, "auditverify: --trust: at most %d keys\n", MAX_TRUST);
                return ST_VERDICT_UNVERIFIABLE;
            }
            st_err err = { { 0 } };
            if (st_trust_arg_parse(&trust[ntrust], optarg, &err)) {
                fprintf(stderr, "auditverify: --trust: %s\n", err.msg);
                return ST_VERDICT_UNVERIFIABLE;
            }
            ntrust++;
            break;
        }
        case 'k':
            if (nkn == MAX_KEY_NOTES) {
                fprintf(stderr, "auditverify: --key-note: at most %d notes\n", MAX_KEY_NOTES);
                return ST_VERDICT_UNVERIFIABLE;
            }
            kn_files[nkn++] = optarg;
            break;
        case 'p':
            if (previous) {   /* only one is linked: the other must not be silently unchecked */
                fprintf(stderr, "auditverify: --previous given twice: link the bundle to one checkpoint per run\n");
                return ST_VERDICT_UNVERIFIABLE;
            }
            previous = optarg;
            break;
        case 'a': as_of = optarg; break;
        case 'T': {
            char *end;
            unsigned long t = strtoul(optarg, &end, 10);
            if (*optarg == 0 || *end || t == 0 || t > 64) {
                fprintf(stderr, "auditverify: --threads: expected 1..64, got \"%s\"\n", optarg);
                return ST_VERDICT_UNVERIFIABLE;
            }
            threads = (unsigned)t;
            break;
        }
        case 'l': list = 1; break;
        case 'r': retention = 1; break;
        case 'j': json = 1; break;
        case 'q': quiet = 1; break;
        default: return ST_VERDICT_UNVERIFIABLE;
        }
    }
    for (int i = optind; i < argc; i++) {     /* the bundles: every word after the options and after "--" */
        if (nfiles == MAX_FILES) {
            fprintf(stderr, "auditverify: at most %d bundles at a time\n", MAX_FILES);
            return ST_VERDICT_UNVERIFIABLE;
        }
        files[nfiles++] = argv[i];
    }
    if (nfiles == 0) {
        usage(stderr);
        return ST_VERDICT_UNVERIFIABLE;
    }
    int stdin_uses = 0;
    for (size_t k = 0; k < nfiles; k++) stdin_uses += strcmp(files[k], "-") == 0;
    if (stdin_uses > 1) {
        fprintf(stderr, "auditverify: standard input (-) can be given once\n");
        return ST_VERDICT_UNVERIFIABLE;
    }
    if (list) {
        if (nfiles != 1) {
            fprintf(stderr, "auditverify: --list takes one bundle\n");
            return ST_VERDICT_UNVERIFIABLE;
        }
        int lfd = strcmp(files[0], "-") == 0 ? 0 : open(files[0], O_RDONLY | O_CLOEXEC);
        if (lfd < 0) {
            fprintf(stderr, "auditverify: %s: cannot open: %s\n", files[0], strerror(errno));
            return ST_VERDICT_UNVERIFIABLE;
        }
        int code = dump_bundle(stdout, lfd);
        if (lfd) close(lfd);
        errno = 0;
        if ((fflush(stdout) != 0 || ferror(stdout)) && code == 0) {
            fprintf(stderr, "auditverify: writing the listing: %s\n", errno ? strerror(errno) : "write error");
            code = ST_VERDICT_UNVERIFIABLE;
        }
        return code;
    }
    if (ntrust == 0) {
        fprintf(stderr, "auditverify: %s: no trusted key: give --trust KEY (the bundle's own keys are never "
                        "trusted)\n", files[0]);
        return ST_VERDICT_UNVERIFIABLE;
    }
    if (previous && nfiles > 1) {
        fprintf(stderr, "auditverify: --previous links one bundle to your checkpoint: give one bundle with it\n");
        return ST_VERDICT_UNVERIFIABLE;
    }
    int64_t as_of_us = 0;
    if (as_of && (!retention || st_time_parse_rfc3339(as_of, &as_of_us) != 0)) {
        fprintf(stderr, "auditverify: --as-of: %s\n", retention ? "expected an RFC 3339 time" : "needs --retention");
        return ST_VERDICT_UNVERIFIABLE;
    }
    char *prev = NULL;
    size_t prev_len = 0;
    if (previous) {
        prev = read_small_file(previous, ST_BREC_NOTE_MAX, &prev_len);
        if (!prev) {
            fprintf(stderr, "auditverify: --previous %s: %s\n", previous, strerror(errno));
            return ST_VERDICT_UNVERIFIABLE;
        }
    }
    st_rc *rc = NULL;
    st_rc_opts ro = { as_of_us };
    st_verify_observer obs;
    if (retention && st_rc_new(&rc, &ro) != 0) {
        fprintf(stderr, "auditverify: out of memory\n");
        free(prev);
        return ST_VERDICT_UNVERIFIABLE;
    }
    if (rc) st_rc_observer(rc, &obs);
    st_verify_opts opts = { trust, ntrust, prev, prev_len, threads, rc ? &obs : NULL, NULL, NULL, 0 };
    for (size_t k = 0; k < nkn; k++) {              /* keys (issue 5) */
        kn_bufs[k] = read_small_file(kn_files[k], 65536, &kn_lens[k]);
        if (!kn_bufs[k]) {
            fprintf(stderr, "auditverify: --key-note %s: %s\n", kn_files[k], strerror(errno));
            for (size_t j = 0; j < k; j++) free(kn_bufs[j]);
            st_rc_free(rc);
            free(prev);
            return ST_VERDICT_UNVERIFIABLE;
        }
    }
    opts.key_notes = (const char *const *)kn_bufs;
    opts.key_note_lens = kn_lens;
    opts.nkey_notes = nkn;
    st_verify_report *rep = calloc(1, sizeof *rep);
    st_rc_report *rrep = rc ? calloc(1, sizeof *rrep) : NULL;
    if (!rep || (rc && !rrep)) {
        fprintf(stderr, "auditverify: out of memory\n");
        free(rep);
        st_rc_free(rc);
        free(prev);
        return ST_VERDICT_UNVERIFIABLE;
    }
    /* one bundle without --retention: exactly the single-bundle report; otherwise a set */
    int set = nfiles > 1 || retention;
    /* several bundles without --retention: their roots are compared (a fork between them) */
    av_forks *forks = NULL;
    st_verify_observer fobs;
    if (nfiles > 1 && !retention) {
        if (!(forks = av_forks_new())) {
            fprintf(stderr, "auditverify: out of memory\n");
            free(rep);
            free(prev);
            return ST_VERDICT_UNVERIFIABLE;
        }
        av_forks_observer(forks, &fobs);
        opts.observer = &fobs;
    }
    int integrity = ST_VERDICT_VERIFIED;
    if (json && set) printf("{\"bundles\":[");
    for (size_t k = 0; k < nfiles; k++) {
        const char *name = strcmp(files[k], "-") == 0 ? "(stdin)" : files[k];
        int verdict = verify_one(files[k], &opts, rc, rep);
        integrity = worse(integrity, verdict);
        if (verdict != ST_VERDICT_VERIFIED) fprintf(stderr, "auditverify: %s: %s\n", name, rep->failure);
        if (forks) av_forks_bundle_done(forks, name, verdict == ST_VERDICT_VERIFIED);
        if (json) {
            if (set && k) putchar(',');
            char *buf = NULL;
            size_t blen = 0;
            FILE *m = set ? open_memstream(&buf, &blen) : NULL;
            report_json(m ? m : stdout, name, rep);
            if (m) {
                fclose(m);
                while (blen && buf[blen - 1] == '\n') blen--;
                fwrite(buf, 1, blen, stdout);
                free(buf);
            }
        } else if (!quiet || verdict != ST_VERDICT_VERIFIED) {
            report_human(stdout, name, rep);
        }
    }
    char fork_msg[600] = "";
    if (forks) {
        int f = av_forks_check(forks, fork_msg, sizeof fork_msg);
        if (f) {
            integrity = worse(integrity, f == 1 ? ST_VERDICT_TAMPERED : ST_VERDICT_UNVERIFIABLE);
            fprintf(stderr, "auditverify: %s\n", fork_msg);
        }
        av_forks_free(forks);
    }
    int code = integrity;
    if (rc) {
        int evaluated = integrity == ST_VERDICT_VERIFIED && st_rc_finish(rc, rrep) == 0;
        if (evaluated) code = rrep->verdict;   /* ST_RC_COMPLIANT 0, VIOLATED 1, INCONCLUSIVE 2 */
        if (evaluated && rrep->verdict != ST_RC_COMPLIANT)
            for (size_t i = 0; i < rrep->nfindings; i++)
                if (rrep->findings[i].severity != ST_RCS_WARNING)
                    fprintf(stderr, "auditverify: retention: %s: %s\n", st_rc_finding_name(rrep->findings[i].kind),
                            rrep->findings[i].msg);
        if (json) {
            printf("],\"exit_code\":%d,\"integrity\":\"%s\",\"retention\":", code, st_verdict_name(integrity));
            retention_json(stdout, evaluated ? 0 : 1, evaluated ? rrep : NULL);
            printf("}\n");
        } else if (!quiet || code != 0 || (evaluated && rrep->warnings)) {
            printf("\n");
            retention_human(stdout, evaluated ? 0 : 1, evaluated ? rrep : NULL);
        }
    } else if (json && set) {
        printf("],\"exit_code\":%d,", code);
        if (*fork_msg) {
            printf("\"fork\":");
            report_json_string(stdout, fork_msg);
            putchar(',');
        }
        printf("\"integrity\":\"%s\"}\n", st_verdict_name(integrity));
    } else if (set && (!quiet || code != 0) && !json) {
        if (*fork_msg) printf("\n%s\n", fork_msg);
        printf("\n%zu bundles: %s\n", nfiles, integrity == 0 ? "all verified" : st_verdict_name(integrity));
    }
    errno = 0;
    if ((fflush(stdout) != 0 || ferror(stdout)) && code == ST_VERDICT_VERIFIED) {
        fprintf(stderr, "auditverify: writing the report: %s\n", errno ? strerror(errno) : "write error");
        code = ST_VERDICT_UNVERIFIABLE;
    }
    free(rep);
    free(rrep);
    st_rc_free(rc);
    free(prev);
    for (size_t k = 0; k < nkn; k++) free(kn_bufs[k]);
    return code;
}
