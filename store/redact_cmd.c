/*
 * redact_cmd.c: passwords on command lines that no name announces, where
 * the command says what its argument is:
 *
 *   mysql -u root -phunter2 db        -p glued, mysql/mysqldump/mariadb* only
 *                                     (elsewhere -p is a port or a path, and
 *                                     a lone -p makes mysql prompt)
 *   sshpass -p hunter2 ssh h          sshpass -p, glued or not
 *   docker login -u me -p hunter2     docker/podman/nerdctl/buildah/skopeo/
 *                                     helm/oras/crane ... login -p
 *   htpasswd -b[c] file user hunter2  the password argument of -b
 *   htpasswd -nb user hunter2         (-n: no file argument)
 *   curl -u user:hunter2 URL          the part after the colon (the user stays);
 *                                     -u, -U, --user, --proxy-user, only for curl
 *                                     (docker run -u 1000:1000 is a uid:gid)
 *   smbclient -U user%hunter2         the part after the '%'
 *   mongosh -u u -p hunter2           mongo, mongosh, mongodump, ... -p
 *   redis-cli -a hunter2              -a, --pass
 *   ldapsearch -w hunter2             ldap* -w (-W prompts)
 *   sqlcmd -U sa -P hunter2           sqlcmd, bcp -P
 *   zip -P hunter2 a.zip f            zip, unzip -P
 *   7z a -phunter2 a.7z f             7z, 7za, 7zr -p glued
 *   az login -u me -p hunter2
 *   ssh-keygen -N hunter2 -f k        -N new, -P old passphrase
 *   openssl enc -k hunter2            openssl -k (-pass pass:X is the flag rule's)
 *   gh secret set X --body hunter2    gh/az ... secret set: --body, -b, --value
 *   aws secretsmanager ... --secret-string hunter2
 *   aws configure set aws_secret_access_key X    (and aws_session_token)
 *   ENV DB_PASSWORD hunter2           a Dockerfile ENV line without '='
 *
 * The command is found by looking back from the flag over the same command
 * (to a line break, ; | & or a backquote, at most 512 bytes) for a word
 * whose last path component is the command name. Values go through the
 * key-aware rule's value parser (redact_assign.c) as literals, so
 * placeholders ($PW, ${PW}, <password>) stay. The rule is
 * password-assignment (aws-secret-access-key for a key of that shape).
 */
#include "redact_int.h"

#include <string.h>

/* ==== the command around a flag ======================================================= */

static int cmd_sep(const uint8_t *s, size_t p)
{
    uint8_t c = s[p];
    return c == '\n' || c == '\r' || c == ';' || c == '|' || c == '&' || c == '`' || c == 0;
}

/* Does a line break written as \n end just before s[p]? */
static int written_nl_before(const uint8_t *s, size_t p)
{
    return p >= 2 && s[p - 1] == 'n' && s[p - 2] == '\\';
}

/* Where the command containing s[i] starts (back to a separator, or a line
 * break written as \n, at most 512 bytes). */
static size_t cmd_start(const uint8_t *s, size_t i)
{
    size_t floor = i > 512 ? i - 512 : 0, p = i;
    while (p > floor && !cmd_sep(s, p - 1) && !written_nl_before(s, p)) p--;
    return p;
}

/* The name of the word s[b..e): after its last / " ' ( : = { or backslash
 * (a path, a quote, JSON around it). */
static size_t word_name(const uint8_t *s, size_t b, size_t e)
{
    size_t p = e;
    while (p > b && !strchr("/\"'(:={\\", s[p - 1])) p--;
    return p;
}

static int is_blank(uint8_t c) { return c == ' ' || c == '\t'; }

enum {
    CMD_MYSQL = 1, CMD_SSHPASS = 2, CMD_LOGIN = 4, CMD_CURL = 8, CMD_HTPASSWD = 16, CMD_MONGO = 32,
    CMD_REDIS = 64, CMD_LDAP = 128, CMD_SQLCMD = 256, CMD_ZIP = 512, CMD_7Z = 1024, CMD_AZLOGIN = 2048,
    CMD_SMB = 4096, CMD_SSHKEYGEN = 8192, CMD_OPENSSL = 16384, CMD_SECRETSET = 32768, CMD_SECRETSMGR = 65536,
};

/* Names by length (cmd 0: a registry client, whose "login" is CMD_LOGIN). */
#define NM(s, c) { s, sizeof s - 1, c }
static const struct { const char *name; uint8_t len; unsigned cmd; } cmd_names[] = {
    NM("sshpass", CMD_SSHPASS), NM("curl", CMD_CURL), NM("htpasswd", CMD_HTPASSWD), NM("redis-cli", CMD_REDIS),
    NM("sqlcmd", CMD_SQLCMD), NM("bcp", CMD_SQLCMD), NM("zip", CMD_ZIP), NM("unzip", CMD_ZIP), NM("7z", CMD_7Z),
    NM("7za", CMD_7Z), NM("7zr", CMD_7Z), NM("smbclient", CMD_SMB), NM("ssh-keygen", CMD_SSHKEYGEN),
    NM("openssl", CMD_OPENSSL), NM("secretsmanager", CMD_SECRETSMGR),
    NM("docker", 0), NM("podman", 0), NM("nerdctl", 0), NM("buildah", 0), NM("skopeo", 0), NM("helm", 0),
    NM("oras", 0), NM("crane", 0), NM("finch", 0), NM("regctl", 0),
};
#undef NM
enum { ST_TOOL = 1, ST_AZ = 2, ST_GH = 4, ST_SECRET = 8 };

/* word w[0..n) is name followed only by [a-z-] (mysql, mysqldump, mariadb-dump) */
static int family(const uint8_t *w, size_t n, const char *name)
{
    size_t k = strlen(name);
    if (n < k || memcmp(w, name, k) != 0) return 0;
    while (k < n && ((w[k] >= 'a' && w[k] <= 'z') || w[k] == '-')) k++;
    return k == n;
}

/* Which of the commands above run in the command that contains s[i], as a
 * bit set. For CMD_HTPASSWD, *word receives the end of the word "htpasswd".
 * The words read are remembered in sc: the next flag of the same command
 * (no separator in between, within the same 512 bytes) reads on from there. */
static unsigned cmd_before(rd_scan *sc, size_t i, size_t *word)
{
    const uint8_t *s = sc->s;
    size_t p;
    unsigned found = 0, state = 0;
    if (sc->cmd_to && sc->cmd_to <= i && i - sc->cmd_from <= 512) {
        p = sc->cmd_to;
        for (size_t q = p; q < i && p; q++)
            if (cmd_sep(s, q) || written_nl_before(s, q + 1)) p = 0;
        if (p) { found = sc->cmd_found; state = sc->cmd_state; *word = sc->cmd_word; }
    } else {
        p = 0;
    }
    if (!p) {
        p = sc->cmd_from = cmd_start(s, i);
        *word = 0;
    }
    while (p < i) {
        while (p < i && is_blank(s[p])) p++;
        size_t b = p;
        while (p < i && !is_blank(s[p])) p++;
        if (p == b) break;
        size_t nb = word_name(s, b, p), nl = p - nb;
        const uint8_t *w = s + nb;
        if (nl < 2 || !RD_ALNUM(w[0])) continue;
        if (w[0] == 'm' && (family(w, nl, "mysql") || family(w, nl, "mariadb"))) { found |= CMD_MYSQL; continue; }
        if (w[0] == 'm' && family(w, nl, "mongo")) { found |= CMD_MONGO; continue; }
        if (w[0] == 'l' && family(w, nl, "ldap")) { found |= CMD_LDAP; continue; }
        if (nl == 5 && memcmp(w, "login", 5) == 0) {
            found |= (state & ST_TOOL ? CMD_LOGIN : 0) | (state & ST_AZ ? CMD_AZLOGIN : 0);
            continue;
        }
        if (nl == 2 && w[0] == 'a' && w[1] == 'z') { state |= ST_AZ; continue; }
        if (nl == 2 && w[0] == 'g' && w[1] == 'h') { state |= ST_GH; continue; }
        if (nl == 6 && memcmp(w, "secret", 6) == 0) { state |= ST_SECRET; continue; }
        if (nl == 3 && memcmp(w, "set", 3) == 0) { /* gh secret set, az keyvault secret set */
            if ((state & ST_SECRET) && (state & (ST_GH | ST_AZ))) found |= CMD_SECRETSET;
            continue;
        }
        if (nl > 14) continue;
        for (size_t k = 0; k < sizeof cmd_names / sizeof *cmd_names; k++)
            if (nl == cmd_names[k].len && w[0] == (uint8_t)cmd_names[k].name[0] && memcmp(w, cmd_names[k].name, nl) == 0) {
                found |= cmd_names[k].cmd;
                if (!cmd_names[k].cmd) state |= ST_TOOL;
                if (cmd_names[k].cmd == CMD_HTPASSWD) *word = p;
                break;
            }
    }
    /* (a command cut at 512 bytes starts elsewhere for the next flag) */
    size_t f = sc->cmd_from;
    int boundary = f == 0 || cmd_sep(s, f - 1) || (s[f - 1] == 'n' && f >= 2 && s[f - 2] == '\\');
    sc->cmd_to = boundary ? i : 0;
    sc->cmd_found = found;
    sc->cmd_state = state;
    sc->cmd_word = *word;
    return found;
}

/* ==== the flags ======================================================================= */

/* curl's user:password at v: the password, after the first sep (':', or
 * '%' for smbclient) of the word. */
static void user_pass_at(rd_scan *sc, size_t v, uint8_t sep)
{
    const uint8_t *s = sc->s;
    size_t n = sc->n, p = v;
    while (p < n && p - v < 8 && s[p] == '\\') p++; /* \" in raw JSON, or escaped more */
    if (p < n && (s[p] == '"' || s[p] == '\'')) p++;
    else p = v;
    for (; p < n && p - v < 256; p++) {
        uint8_t c = s[p];
        if (c == sep) { rd_literal_at(sc, p + 1, RK_SECRET | RK_PASSWORD, 0); return; }
        if (RD_SPACE(c) || c == '"' || c == '\'' || c == '\\' || c == 0) return;
    }
}

/* The end of the argument word starting at p (quotes included). */
static size_t arg_end(const uint8_t *s, size_t n, size_t p, int raw)
{
    uint8_t q = 0;
    for (; p < n; p++) {
        uint8_t c = s[p];
        if (q) { if (c == q) q = 0; continue; }
        if (c == '"' || c == '\'') { if (raw && c == '"' && s[p - 1] != '\\') return p; q = c; continue; }
        if (is_blank(c) || cmd_sep(s, p) || (c == '\\' && p + 1 < n && s[p + 1] == 'n')) return p;
    }
    return p;
}

/* htpasswd's arguments after the word ending at w: with -b, the password is
 * the third positional argument (file user password), the second with -n. */
static void htpasswd_at(rd_scan *sc, size_t w)
{
    const uint8_t *s = sc->s;
    size_t n = sc->n, p = w, end = w + 1024 < n ? w + 1024 : n;
    int raw = (sc->mode & RD_RAW) != 0, batch = 0, nofile = 0, skip = 0;
    size_t pos[3], np = 0;
    while (p < end && np < 3) {
        while (p < end && is_blank(s[p])) p++;
        if (p >= end || cmd_sep(s, p) || (s[p] == '\\' && p + 1 < n && s[p + 1] == 'n') || (raw && s[p] == '"'))
            break;
        size_t e = arg_end(s, end, p, raw);
        if (e == p) break;
        if (skip) {
            skip = 0;
        } else if (s[p] == '-' && e - p >= 2 && RD_ALPHA(s[p + 1])) {
            for (size_t k = p + 1; k < e; k++) {
                batch |= s[k] == 'b';
                nofile |= s[k] == 'n';
                if (s[k] == 'C' || s[k] == 'r') skip = k + 1 == e; /* -C cost, -r rounds take a value */
            }
        } else {
            pos[np++] = p;
        }
        p = e;
    }
    size_t want = nofile ? 2 : 3;
    if (batch && np >= want) rd_literal_at(sc, pos[want - 1], RK_SECRET | RK_PASSWORD, 0);
}

int rd_cmd_flag_at(rd_scan *sc, size_t i)
{
    const uint8_t *s = sc->s;
    size_t n = sc->n, w = 0;
    if (i + 2 >= n) return 0;
    uint8_t f = s[i + 1];
    if (f == '-') { /* --user, --proxy-user (curl), --pass (redis-cli), --body, --value, --secret-string */
        static const struct { const char *flag; uint8_t len; unsigned cmd; } longs[] = {
            { "user", 4, CMD_CURL }, { "proxy-user", 10, CMD_CURL }, { "pass", 4, CMD_REDIS },
            { "body", 4, CMD_SECRETSET }, { "value", 5, CMD_SECRETSET }, { "secret-string", 13, CMD_SECRETSMGR },
        };
        size_t k = i + 2, v = 0;
        unsigned want = 0;
        for (size_t l = 0; l < sizeof longs / sizeof *longs && !want; l++)
            if (n - k > longs[l].len && memcmp(s + k, longs[l].flag, longs[l].len) == 0 &&
                (s[k + longs[l].len] == '=' || is_blank(s[k + longs[l].len]))) {
                v = k + longs[l].len;
                want = longs[l].cmd;
            }
        if (!want || !(cmd_before(sc, i, &w) & want)) return 0;
        v++;
        while (v < n && is_blank(s[v])) v++;
        if (want == CMD_CURL) user_pass_at(sc, v, ':');
        else rd_literal_at(sc, v, RK_SECRET | RK_PASSWORD, 0);
        return 1;
    }
    size_t v = i + 2;
    int glued = !is_blank(s[v]);
    unsigned want = 0;
    switch (f) {
    case 'p': want = glued ? CMD_MYSQL | CMD_SSHPASS | CMD_LOGIN | CMD_MONGO | CMD_7Z | CMD_AZLOGIN
                           : CMD_SSHPASS | CMD_LOGIN | CMD_MONGO | CMD_AZLOGIN; break;
    case 'a': want = glued ? 0 : CMD_REDIS; break;
    case 'w': want = glued ? 0 : CMD_LDAP; break;
    case 'P': want = glued ? 0 : CMD_SQLCMD | CMD_ZIP | CMD_SSHKEYGEN; break;
    case 'N': want = glued ? 0 : CMD_SSHKEYGEN; break;
    case 'k': want = glued ? 0 : CMD_OPENSSL; break;
    case 'b': want = glued ? 0 : CMD_SECRETSET; break;
    case 'u': want = CMD_CURL; break;
    case 'U': want = CMD_CURL | CMD_SMB; break;
    }
    if (want) {
        unsigned c = cmd_before(sc, i, &w) & want;
        if (c) {
            while (v < n && is_blank(s[v])) v++;
            if (f == 'u' || f == 'U') user_pass_at(sc, v, c & CMD_SMB ? '%' : ':');
            else rd_literal_at(sc, v, RK_SECRET | RK_PASSWORD, 0);
            return 1;
        }
        if (f != 'b') return 0; /* (-b may still be htpasswd's) */
    }
    /* a cluster of letters with b: htpasswd -b, -cb, -nbB */
    size_t k = i + 1;
    int b = 0;
    while (k < n && RD_ALPHA(s[k]) && k - i <= 4) b |= s[k++] == 'b';
    if (!b || k >= n || !is_blank(s[k])) return 0;
    if (!(cmd_before(sc, i, &w) & CMD_HTPASSWD)) return 0;
    htpasswd_at(sc, w);
    return 1;
}

/* ==== words with no punctuation before the value ========================================= */

/* "aws_secret_access_key X" / "aws_session_token X" at i, after "set"
 * (aws configure set [profile.NAME.]aws_secret_access_key X). */
void rd_aws_set_at(rd_scan *sc, size_t i)
{
    const uint8_t *s = sc->s;
    size_t n = sc->n, v;
    int cls;
    if (n - i > 22 && memcmp(s + i, "aws_secret_access_key", 21) == 0) { v = i + 21; cls = RK_AWS_SECRET; }
    else if (n - i > 18 && memcmp(s + i, "aws_session_token", 17) == 0) { v = i + 17; cls = RK_SECRET; }
    else return;
    if (!is_blank(s[v])) return;
    size_t p = i;
    while (p > 0 && i - p < 128 && (RD_ALNUM(s[p - 1]) || s[p - 1] == '.' || s[p - 1] == '_' || s[p - 1] == '-')) p--;
    size_t q = p;
    while (q > 0 && p - q < 8 && is_blank(s[q - 1])) q--;
    if (q == p || q < 3 || memcmp(s + q - 3, "set", 3) != 0 || (q > 3 && RD_ALNUM(s[q - 4]))) return;
    while (v < n && is_blank(s[v])) v++;
    rd_literal_at(sc, v, cls, 0);
}

/* "ENV KEY value" at i (a Dockerfile line; "ENV KEY=value" is the '=' rule's). */
void rd_docker_env_at(rd_scan *sc, size_t i)
{
    const uint8_t *s = sc->s;
    size_t n = sc->n;
    if (n - i < 7 || s[i + 1] != 'N' || s[i + 2] != 'V' || !is_blank(s[i + 3])) return;
    size_t p = i;
    while (p > 0 && is_blank(s[p - 1])) p--;
    if (!(p == 0 || s[p - 1] == '\n' || (p >= 2 && s[p - 2] == '\\' && s[p - 1] == 'n'))) return;
    size_t k = i + 4;
    while (k < n && is_blank(s[k])) k++;
    size_t kb = k;
    while (k < n && k - kb <= 128 && (RD_ALNUM(s[k]) || s[k] == '_' || s[k] == '.' || s[k] == '-')) k++;
    if (k == kb || k >= n || !is_blank(s[k])) return;
    int cls = rd_key_class((const char *)s + kb, k - kb);
    if (RK_CLASS(cls) == RK_NONE) return;
    while (k < n && is_blank(s[k])) k++;
    rd_literal_at(sc, k, cls, 1);
}
