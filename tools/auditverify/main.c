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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "dump.h"
#include "input.h"
#include "report.h"
#include "retention_report.h"
#include "verifier.h"

#define MAX_TRUST 64
#define MAX_FILES 1024

static void usage(FILE *f)
{
    fprintf(f,
            "usage: auditverify BUNDLE... --trust KEY [--trust KEY ...] [--previous CHECKPOINT]\n"
            "                   [--retention [--as-of TIME]] [--json] [--threads N] [--quiet]\n"
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
            "                      one; repeat for several keys. Required.\n"
            "  --previous FILE     a signed checkpoint you already hold (from an earlier\n"
            "                      bundle, the journal, a witness): the bundle must be\n"
            "                      consistent with it; a different root at the same size is\n"
            "                      a fork (exit 1)\n"
            "  --retention         also judge the bundles as a set for retention: give every\n"
            "                      archive and a current export; checks that nothing was\n"
            "                      removed before the minimum retention, that every removal\n"
            "                      has a signed record, that no archive is missing (no gap),\n"
            "                      and reports payloads held past the maximum\n"
            "  --as-of TIME        judge retention at TIME (RFC 3339) instead of the newest\n"
            "                      checkpoint's time\n"
            "  --json              print the report as one JSON object\n"
            "  --threads N         hashing threads (default: one per CPU)\n"
            "  --quiet             print nothing on success; failures still go to stderr\n"
            "  --list              print the bundle's records (offset, type, length, summary)\n"
            "                      and check only the framing and trailer: verifies nothing\n"
            "\n"
            "examples:\n"
            "  auditverify audit-2025-q4.stb --trust 'example.com/log+3f9a1c2e+AVdK...'\n"
            "  auditverify audit.stb --trust log.vkey --previous last-quarter.checkpoint --json\n"
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
            "  then 2). With --retention and every bundle verified: 0 compliant (payloads\n"
            "  held past the maximum are reported as a warning), 1 retention violated,\n"
            "  2 inconclusive (a filtered bundle, bundles that cannot be linked).\n"
            "\n"
            "The numbered steps behind each verdict are in docs/VERIFYING.md.\n");
}

static int take_value(int argc, char **argv, int *i, const char *opt, const char **out)
{
    size_t n = strlen(opt);
    if (strncmp(argv[*i], opt, n) == 0 && argv[*i][n] == '=') {
        *out = argv[*i] + n + 1;
        return 1;
    }
    if (strcmp(argv[*i], opt) != 0) return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "auditverify: %s needs a value (see --help)\n", opt);
        exit(ST_VERDICT_UNVERIFIABLE);
    }
    *out = argv[++*i];
    return 1;
}

static char *read_small_file(const char *path, size_t max, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    char *buf = malloc(max + 1);
    size_t got = 0;
    while (buf && got <= max) {
        ssize_t k = read(fd, buf + got, max + 1 - got);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        got += (size_t)k;
    }
    close(fd);
    if (!buf || got > max) {
        free(buf);
        errno = EFBIG;
        return NULL;
    }
    buf[got] = 0;
    *len = got;
    return buf;
}

int main(int argc, char **argv)
{
    const char *file = NULL, *previous = NULL, *val;
    st_vkey trust[MAX_TRUST];
    size_t ntrust = 0;
    int json = 0, quiet = 0, list = 0;
    unsigned threads = 0;
    if (sodium_init() < 0) {
        fprintf(stderr, "auditverify: libsodium failed to initialize\n");
        return ST_VERDICT_UNVERIFIABLE;
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (take_value(argc, argv, &i, "--trust", &val)) {
            if (ntrust == MAX_TRUST) {
                fprintf(stderr, "auditverify: --trust: at most %d keys\n", MAX_TRUST);
                return ST_VERDICT_UNVERIFIABLE;
            }
            st_err err = { { 0 } };
            if (st_trust_arg_parse(&trust[ntrust], val, &err)) {
                fprintf(stderr, "auditverify: --trust: %s\n", err.msg);
                return ST_VERDICT_UNVERIFIABLE;
            }
            ntrust++;
        } else if (take_value(argc, argv, &i, "--previous", &val)) {
            previous = val;
        } else if (take_value(argc, argv, &i, "--threads", &val)) {
            char *end;
            unsigned long t = strtoul(val, &end, 10);
            if (*val == 0 || *end || t == 0 || t > 64) {
                fprintf(stderr, "auditverify: --threads: expected 1..64, got \"%s\"\n", val);
                return ST_VERDICT_UNVERIFIABLE;
            }
            threads = (unsigned)t;
        } else if (strcmp(argv[i], "--list") == 0) {
            list = 1;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "-q") == 0) {
            quiet = 1;
        } else if (argv[i][0] == '-' && argv[i][1] != 0) {
            fprintf(stderr, "auditverify: unknown option '%s' (see --help)\n", argv[i]);
            return ST_VERDICT_UNVERIFIABLE;
        } else if (file) {
            fprintf(stderr, "auditverify: one bundle at a time (got '%s' and '%s')\n", file, argv[i]);
            return ST_VERDICT_UNVERIFIABLE;
        } else {
            file = argv[i];
        }
    }
    if (!file) {
        usage(stderr);
        return ST_VERDICT_UNVERIFIABLE;
    }
    if (list) {
        int lfd = strcmp(file, "-") == 0 ? 0 : open(file, O_RDONLY | O_CLOEXEC);
        if (lfd < 0) {
            fprintf(stderr, "auditverify: %s: cannot open: %s\n", file, strerror(errno));
            return ST_VERDICT_UNVERIFIABLE;
        }
        int code = dump_bundle(stdout, lfd);
        if (lfd) close(lfd);
        return code;
    }
    if (ntrust == 0) {
        fprintf(stderr, "auditverify: %s: no trusted key: give --trust KEY (the bundle's own keys are never "
                        "trusted)\n", file);
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
    int fd = strcmp(file, "-") == 0 ? 0 : open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "auditverify: %s: cannot open: %s\n", file, strerror(errno));
        free(prev);
        return ST_VERDICT_UNVERIFIABLE;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        fprintf(stderr, "auditverify: %s: is a directory\n", file);
        free(prev);
        return ST_VERDICT_UNVERIFIABLE;
    }
    st_verify_opts opts = { trust, ntrust, prev, prev_len, threads };
    st_verify_report *rep = calloc(1, sizeof *rep);
    if (!rep) {
        fprintf(stderr, "auditverify: out of memory\n");
        return ST_VERDICT_UNVERIFIABLE;
    }
    int verdict = st_verify_bundle_fd(fd, &opts, rep);
    if (fd != 0) close(fd);
    const char *name = strcmp(file, "-") == 0 ? "(stdin)" : file;
    if (verdict != ST_VERDICT_VERIFIED)
        fprintf(stderr, "auditverify: %s: %s\n", name, rep->failure);
    if (json) report_json(stdout, name, rep);
    else if (!quiet || verdict != ST_VERDICT_VERIFIED) report_human(stdout, name, rep);
    if (fflush(stdout) != 0 && verdict == ST_VERDICT_VERIFIED) {
        fprintf(stderr, "auditverify: writing the report: %s\n", strerror(errno));
        verdict = ST_VERDICT_UNVERIFIABLE;
    }
    free(rep);
    free(prev);
    return verdict;
}
