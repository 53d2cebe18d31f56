/*
 * nearmiss.h: generated inputs on the edges of the built-in rules, for the
 * differential checks of the scanner (test_redact.c: every way of finding
 * candidates against the byte-at-a-time reference; bench/redact_bench.c
 * --dump: this build against another, e.g. main's).
 *
 * For every trigger of redact_scan.c and redact_assign.c (each token prefix,
 * PEM, cards, URLs, key-aware names, escapes): the prefix whole, truncated,
 * with a changed case; bodies one short, exact, one long and long, of
 * several alphabets; a byte before (nothing, space, letter, digit, _ - . =
 * : " \n \u0000) and after; placed so the token starts and ends on both
 * sides of 16-, 32- and 64-byte boundaries, at the start and the end of the
 * string. Deterministic: the same inputs in every build.
 *
 * nm_generate(fn, ctx) calls fn(ctx, bytes, len) for each input (~60,000,
 * ~6 MB in all). Header-only, so the test and the bench share it.
 */
#ifndef ST_REDACT_NEARMISS_H
#define ST_REDACT_NEARMISS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef void (*nm_fn)(void *ctx, const char *s, size_t n);

static const char *const nm_prefixes[] = {
    "AKIA", "ASIA", "ABIA", "ACCA", "A3T", "AIza", "github_pat_", "ghp_", "gho_", "ghu_", "ghs_", "ghr_",
    "glpat-", "sk-ant-", "sk-", "sk_live_", "sk_test_", "rk_live_", "rk_test_", "whsec_", "xoxb-", "xoxp-",
    "xoxa-", "xoxr-", "xoxs-", "xoxe-", "xoxe.xoxp-", "xapp-", "npm_", "hf_", "pypi-AgE", "dop_v1_",
    "doo_v1_", "dor_v1_", "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0t", "hvs.", "hvb.", "hvr.", "dapi", "eyJ", "SG.", "4111", "5500", "3782", "6011", "2221",
    "-----BEGIN RSA PRIVATE KEY-----\n", "-----BEGIN PRIVATE KEY-----\\n", "-----END ",
    "postgres://app:", "https://u:", "hooks.slack.com/services/", "://",
    "password=", "DB_PASSWORD=", "api_key: ", "\"token\": \"", "\\\"secret\\\":\\\"", "--password ", "--api-key=",
    "-passin pass:", "machine h login u password ", "<password>", "Authorization: Bearer ", "Authorization: Basic ", "?access_token=", "&sig=", "&amp;sig=",
    "export AWS_SECRET_ACCESS_KEY=", "aws_secret_access_key = ", "Cookie: ", "\\n", "\\u0000", "\\t",
    "shpat_", "shppa_", "SK", "HRKU-", "HRKU-AA", "ya29.", "1//0", "GOCSPX-", "AGE-SECRET-KEY-1", "$2b$10$", "$6$salt$", "123456789:A",
    "bot12345678:A", "https://discord.com/api/webhooks/123456789012345678/", "Private-Lines: 2\n", "/:_authToken ",
    "mysql -p", "sshpass -p ", "docker login -p ", "htpasswd -nb u ", "curl -u u:", "curl --user=u:",
    "aws configure set aws_secret_access_key ", "ENV DB_PASSWORD ", "<add key=\"ApiKey\" value=\"", "api_key <- ",
    "define('DB_PASSWORD', '", "ssh-keygen -N ", "gh secret set X --body ", "redis-cli -a ", "smbclient -U u%",
    "$1$salt$", "$apr1$salt$", "$y$j9T$salt$", "$7$C6..../....salt$", "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$",
    "$pbkdf2-sha256$29000$salt$", "AC0123456789abcdef0123456789abcdef \"", "x.php define('API_KEY', '",
    "echo u: | chpasswd", "| chpasswd", "chpasswd <<< u:", "| sudo -S ", "echo | docker login --password-stdin",
    "$MYSQL -p", "${MYSQL_BIN} -p", "git config github.token ", "auth=(\"u\", \"", "PWD=", "UID=sa;PWD=",
    "root:", "u:p@tcp(", "u:p@unix(", "dsn := \"u:",
};

static const char *const nm_alpha[] = {
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567",
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
    "0123456789abcdef",
    "abcdefghijklmnopqrstuvwxyz",
    "0123456789",
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-",
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+",
    "0123456789 -",
    "aB3.aB3-aB3_",
};

static const char *const nm_before[] = { "", " ", "x", "7", "_", "-", ".", "=", ":", "\"", "\\n", "\\u0000", "\n", "/", "\xc3\xa9" };
static const char *const nm_after[] = { "", " ", "x", "7", "_", "-", ".", "=", "\"", "\n", "@", "/x", ",", "\\n" };

static uint64_t nm_rng(uint64_t *st)
{
    uint64_t x = *st;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *st = x;
}

static size_t nm_put(char *b, size_t at, size_t cap, const char *s, size_t n)
{
    if (at + n > cap) n = cap - at;
    memcpy(b + at, s, n);
    return at + n;
}

static void nm_generate(nm_fn fn, void *ctx)
{
    static const size_t offs[] = { 0, 1, 13, 15, 16, 17, 30, 31, 32, 33, 47, 62, 63, 64, 65, 100, 127, 128, 129 };
    static const size_t bodies[] = { 0, 1, 9, 10, 11, 15, 16, 17, 19, 20, 21, 22, 23, 24, 29, 30, 31, 32, 33,
                                     35, 36, 37, 39, 40, 41, 43, 49, 50, 51, 63, 64, 65, 80 };
    static const char filler[] = "lorem ipsum dolor sit amet, do eiusmod /repo/src/a-b.c: x=1 <y> ";
    char buf[512];
    uint64_t st = 0x9E3779B97F4A7C15ull;
    size_t np = sizeof nm_prefixes / sizeof *nm_prefixes;
    for (size_t p = 0; p < np; p++) {
        const char *pre = nm_prefixes[p];
        size_t pl = strlen(pre);
        for (size_t variant = 0; variant < 4; variant++) {
            /* 0: as is; 1: truncated; 2: first letter case flipped; 3: last letter case flipped */
            char pv[64];
            size_t pvl = pl;
            memcpy(pv, pre, pl);
            if (variant == 1) pvl = pl > 1 ? 1 + (size_t)(nm_rng(&st) % (pl - 1)) : pl;
            if (variant >= 2) {
                size_t at = variant == 2 ? 0 : pl - 1;
                if ((pv[at] | 0x20) >= 'a' && (pv[at] | 0x20) <= 'z') pv[at] ^= 0x20;
            }
            for (size_t bi = 0; bi < sizeof bodies / sizeof *bodies; bi++) {
                size_t a = (size_t)(nm_rng(&st) % (sizeof nm_alpha / sizeof *nm_alpha));
                const char *al = nm_alpha[a];
                size_t alen = strlen(al);
                char body[128];
                for (size_t k = 0; k < bodies[bi]; k++) body[k] = al[nm_rng(&st) % alen];
                /* JWT and SendGrid shapes need dots; PEM needs an END line */
                if (pre[0] == 'e' && bodies[bi] > 24) { body[10] = '.'; body[22] = '.'; }
                if (pre[0] == 'S' && bodies[bi] > 66) body[22] = '.';
                for (size_t oi = 0; oi < sizeof offs / sizeof *offs; oi += 1 + (size_t)(nm_rng(&st) % 3)) {
                    size_t bf = (size_t)(nm_rng(&st) % (sizeof nm_before / sizeof *nm_before));
                    size_t af = (size_t)(nm_rng(&st) % (sizeof nm_after / sizeof *nm_after));
                    size_t n = 0, lead = offs[oi];
                    const char *b4 = nm_before[bf], *aft = nm_after[af];
                    size_t bl = strlen(b4);
                    lead = lead > bl ? lead - bl : 0;
                    for (size_t k = 0; k < lead; k++) buf[n++] = filler[k % (sizeof filler - 1)];
                    n = nm_put(buf, n, sizeof buf, b4, bl);
                    n = nm_put(buf, n, sizeof buf, pv, pvl);
                    n = nm_put(buf, n, sizeof buf, body, bodies[bi]);
                    if (pre[0] == '-' && pre[5] == 'B' && (nm_rng(&st) & 1))
                        n = nm_put(buf, n, sizeof buf, "\n-----END RSA PRIVATE KEY-----", 30);
                    if (strstr(pre, "://") && (nm_rng(&st) & 1)) n = nm_put(buf, n, sizeof buf, "@host/db", 8);
                    if (pre[0] == '<' && (nm_rng(&st) & 1)) n = nm_put(buf, n, sizeof buf, "</password>", 11);
                    /* end of string right after the token, or more text after it */
                    fn(ctx, buf, n);
                    n = nm_put(buf, n, sizeof buf, aft, strlen(aft));
                    size_t tail = (size_t)(nm_rng(&st) % 70);
                    for (size_t k = 0; k < tail && n < sizeof buf; k++) buf[n++] = filler[(k * 7) % (sizeof filler - 1)];
                    fn(ctx, buf, n);
                }
            }
        }
    }
    /* two tokens close together, and random bytes drawn from the trigger alphabet */
    static const char trig_alpha[] = "AKIASgh_pskxoe-yJ.:=<>\\/@\"' \n0123456789abcdefGlrtwndfuP";
    for (size_t r = 0; r < 20000; r++) {
        size_t n = 1 + (size_t)(nm_rng(&st) % 200);
        for (size_t k = 0; k < n; k++) buf[k] = trig_alpha[nm_rng(&st) % (sizeof trig_alpha - 1)];
        fn(ctx, buf, n);
    }
}

#endif
