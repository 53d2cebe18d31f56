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
 *   lftp -u user,hunter2 host         (lftp: after the comma)
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
 *   echo 'u:pw' | chpasswd            passwords read on stdin: chpasswd pairs,
 *   echo pw | docker login --password-stdin, | sudo -S, <<< pw, and
 *   chpasswd <<EOF, cat <<EOF | chpasswd   heredocs (each pair, or the first line)
 *   git config github.token X         a credential-named key (and yarn config
 *                                     set npmAuthToken X, npmAuthIdent u:pw)
 *   host:5432:db:user:pw              .pgpass lines, when the event names .pgpass
 *   setx API_TOKEN X, PASSWORD 'x'    in command strings, and in every string of
 *                                     an event naming a .sql/.bat/.cmd/.ps1 file
 *                                     (rd_cmd_extras, rd_script_named)
 *
 * The command is found by looking back from the flag over the same command
 * (to a line break, ; | & or a backquote) for a word whose last path
 * component is the command name (read as a shell reads it: "mysql",
 * m'y'sql, C:\bin\mysql.exe), or a variable named for it ($MYSQL,
 * ${MYSQL_BIN}); a damaged word (U+FFFD, not UTF-8, a control character)
 * may have been any of them, and counts as all (REDACTION.md [RED-9]);
 * a command's words are read once however many flags it has
 * (64 KiB look back at most, a backstop). Values go through the
 * key-aware rule's value parser (redact_assign.c) as literals, so
 * placeholders ($PW, ${PW}, <password>) stay. The rule is
 * password-assignment (aws-secret-access-key for a key of that shape).
 */
#include "redact_int.h"

#include <string.h>

#include "util.h"

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

/* How far back a flag looks for its command word. Each byte is read back
 * once per command (the words read are remembered for the next flag of the
 * same command, in sc), so the bound is a backstop, not the cost. */
#define RD_CMD_BACK ((size_t)64 << 10)

/* Where the command containing s[i] starts (back to a separator, or a line
 * break written as \n, at most RD_CMD_BACK bytes). */
static size_t cmd_start(const uint8_t *s, size_t i)
{
    size_t floor = i > RD_CMD_BACK ? i - RD_CMD_BACK : 0, p = i;
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

/* Where the name in the word s[b..e) starts: after its last / ( : = { [
 * (a path, a subshell, JSON or an assignment around it) and, with quotes,
 * after its last quote or backslash too. */
static size_t name_from(const uint8_t *s, size_t b, size_t e, int quotes)
{
    while (e > b && !strchr(quotes ? "/(:={[\"'\\" : "/(:={[", s[e - 1])) e--;
    return e;
}

/* The command name of the word s[b..e), in lower case and without ".exe",
 * in nb: its trailing quotes, backslashes and commas dropped, after its last
 * / ( : = { [ quote or backslash ({"command":"mysql, $(mysql, ["mysql",,
 * 'sshpass', \"mysql\" in raw JSON, /usr/bin/mysql, C:\bin\mysql.exe); with
 * shell, quotes and backslashes are removed instead, as a shell does
 * (m'y'sql, my\sql). Its length, or 0 when longer than 32 bytes. */
static size_t cmd_name(const uint8_t *s, size_t b, size_t e, int shell, uint8_t nb[32])
{
    while (e > b && (s[e - 1] == '"' || s[e - 1] == '\'' || s[e - 1] == '\\' || s[e - 1] == ',')) e--;
    size_t n = 0;
    for (size_t p = name_from(s, b, e, !shell); p < e; p++) {
        if (s[p] == '"' || s[p] == '\'' || s[p] == '\\') continue;
        if (n == 32) return 0;
        nb[n++] = rd_lower(s[p]);
    }
    if (n > 4 && memcmp(nb + n - 4, ".exe", 4) == 0) n -= 4;
    return n;
}

/* Is the name s[b..e) damaged, made of bytes no command name is: U+FFFD
 * (what the parser put for invalid UTF-8 and lone surrogates), a byte that
 * is not UTF-8, a control character other than the ESC of a terminal
 * colour (ESC [), and in raw input an escape \uXXXX (a control character
 * or a surrogate, still written out)? Then what the word was cannot be
 * told. */
static int damaged_name(const uint8_t *s, size_t b, size_t e, int raw)
{
    for (size_t p = b, k; p < e; p += k) {
        uint8_t c = s[p];
        uint32_t cp;
        k = 1;
        if (c >= 0x20 && c < 0x7f) {
            if (!raw || c != '\\') continue;
            while (p + k < e && s[p + k] == '\\') k++; /* an odd run escapes the u ("C:\\\\users" is none) */
            if (k % 2 && p + k < e && s[p + k] == 'u') return 1;
        } else if (c < 0x80) {
            if (!(c == 0x1b && p + 1 < e && s[p + 1] == '[')) return 1;
        } else if (!(k = st_utf8_next(s + p, e - p, &cp)) || cp == 0xfffd) {
            return 1;
        }
    }
    return 0;
}

enum {
    CMD_MYSQL = 1, CMD_SSHPASS = 2, CMD_LOGIN = 4, CMD_CURL = 8, CMD_HTPASSWD = 16, CMD_MONGO = 32,
    CMD_REDIS = 64, CMD_LDAP = 128, CMD_SQLCMD = 256, CMD_ZIP = 512, CMD_7Z = 1024, CMD_AZLOGIN = 2048,
    CMD_SMB = 4096, CMD_SSHKEYGEN = 8192, CMD_OPENSSL = 16384, CMD_SECRETSET = 32768, CMD_SECRETSMGR = 65536,
    CMD_LFTP = 131072,
    CMD_ALL = CMD_LFTP * 2 - 1,
    CMD_DAMAGED = CMD_LFTP * 2, /* a damaged word: any of them (with CMD_ALL) */
};

/* Names by length (cmd 0: a registry client, whose "login" is CMD_LOGIN). */
#define NM(s, c) { s, sizeof s - 1, c }
static const struct { const char *name; uint8_t len; unsigned cmd; } cmd_names[] = {
    NM("sshpass", CMD_SSHPASS), NM("curl", CMD_CURL), NM("htpasswd", CMD_HTPASSWD), NM("redis-cli", CMD_REDIS),
    NM("sqlcmd", CMD_SQLCMD), NM("bcp", CMD_SQLCMD), NM("zip", CMD_ZIP), NM("unzip", CMD_ZIP), NM("7z", CMD_7Z),
    NM("7za", CMD_7Z), NM("7zr", CMD_7Z), NM("smbclient", CMD_SMB), NM("ssh-keygen", CMD_SSHKEYGEN),
    NM("openssl", CMD_OPENSSL), NM("secretsmanager", CMD_SECRETSMGR), NM("lftp", CMD_LFTP),
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

/* A command run through a variable ($MYSQL, ${MYSQL_BIN}, "$REDIS_CLI"):
 * the variable's name in lower case, without a _BIN, _CMD, _PATH or _EXE
 * suffix, '_' read as '-' ("mysql", "redis-cli"), in vb; its length or 0. */
static size_t var_cmd_name(const uint8_t *s, size_t b, size_t e, uint8_t vb[32])
{
    while (b < e && (s[b] == '"' || s[b] == '\'' || s[b] == '\\')) b++;
    if (b >= e || s[b] != '$') return 0;
    b++;
    if (b < e && s[b] == '{') b++;
    size_t n = 0;
    while (b < e && n < 32 && (RD_ALNUM(s[b]) || s[b] == '_')) vb[n++] = rd_lower(s[b++]);
    if (n == 32 || (b < e && !(s[b] == '}' || s[b] == '"' || s[b] == '\'' || s[b] == '\\'))) return 0;
    static const char *const sfx[] = { "_bin", "_cmd", "_path", "_exe" };
    for (size_t k = 0; k < 4; k++) {
        size_t l = strlen(sfx[k]);
        if (n > l && memcmp(vb + n - l, sfx[k], l) == 0) { n -= l; break; }
    }
    for (size_t k = 0; k < n; k++)
        if (vb[k] == '_') vb[k] = '-';
    return n >= 2 && RD_ALPHA(vb[0]) ? n : 0;
}

/* The commands of the table above that the command name w[0..nl) is, as
 * bits; state collects the words of two-word commands (docker ... login, gh
 * secret set); for htpasswd, *word = end. */
static unsigned name_cmds(const uint8_t *w, size_t nl, unsigned *state, size_t *word, size_t end)
{
    if (nl < 2 || !RD_ALNUM(w[0])) return 0;
    if (w[0] == 'm' && (family(w, nl, "mysql") || family(w, nl, "mariadb"))) return CMD_MYSQL;
    if (w[0] == 'm' && family(w, nl, "mongo")) return CMD_MONGO;
    if (w[0] == 'l' && family(w, nl, "ldap")) return CMD_LDAP;
    if (nl == 5 && memcmp(w, "login", 5) == 0) return (*state & ST_TOOL ? CMD_LOGIN : 0) | (*state & ST_AZ ? CMD_AZLOGIN : 0);
    if (nl == 2 && w[0] == 'a' && w[1] == 'z') { *state |= ST_AZ; return 0; }
    if (nl == 2 && w[0] == 'g' && w[1] == 'h') { *state |= ST_GH; return 0; }
    if (nl == 6 && memcmp(w, "secret", 6) == 0) { *state |= ST_SECRET; return 0; }
    if (nl == 3 && memcmp(w, "set", 3) == 0) /* gh secret set, az keyvault secret set */
        return (*state & ST_SECRET) && (*state & (ST_GH | ST_AZ)) ? CMD_SECRETSET : 0;
    if (nl > 14) return 0;
    for (size_t k = 0; k < sizeof cmd_names / sizeof *cmd_names; k++)
        if (nl == cmd_names[k].len && w[0] == (uint8_t)cmd_names[k].name[0] && memcmp(w, cmd_names[k].name, nl) == 0) {
            if (!cmd_names[k].cmd) *state |= ST_TOOL;
            if (cmd_names[k].cmd == CMD_HTPASSWD) *word = end;
            return cmd_names[k].cmd;
        }
    return 0;
}

/* Which of the commands above run in the command that contains s[i], as a
 * bit set. For CMD_HTPASSWD, *word receives the end of the word "htpasswd".
 * The words read are remembered in sc: the next flag of the same command
 * (no separator in between) reads on from there, so a command's words are
 * read once however many flags it has and however long it is. */
static unsigned cmd_before(rd_scan *sc, size_t i, size_t *word)
{
    const uint8_t *s = sc->s;
    size_t p;
    unsigned found = 0, state = 0;
    int raw = (sc->mode & RD_RAW) != 0;
    if (sc->cmd_to && sc->cmd_to <= i) {
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
        if (s[b] != '-' && damaged_name(s, name_from(s, b, p, 0), p, raw)) { /* fail safe: any of them */
            found |= CMD_ALL | CMD_DAMAGED;
            *word = p;
            continue;
        }
        uint8_t nb[32];
        size_t nl = s[b] == '$' || (p - b > 1 && s[b + 1] == '$') ? var_cmd_name(s, b, p, nb) : 0;
        if (nl) { found |= name_cmds(nb, nl, &state, word, p); continue; }
        found |= name_cmds(nb, cmd_name(s, b, p, 0, nb), &state, word, p);
        size_t q = name_from(s, b, p, 0);
        if (memchr(s + q, '"', p - q) || memchr(s + q, '\'', p - q) || memchr(s + q, '\\', p - q))
            found |= name_cmds(nb, cmd_name(s, b, p, 1, nb), &state, word, p); /* m'y'sql, my\sql */
    }
    /* (a command cut at RD_CMD_BACK bytes is remembered too: the next
     * flag's own look back would see no more of it) */
    sc->cmd_to = i;
    sc->cmd_found = found;
    sc->cmd_state = state;
    sc->cmd_word = *word;
    return found;
}

/* ==== the flags ======================================================================= */

/* curl's user:password at v: the password, after the first of the
 * separators sep (":", or "%" for smbclient, "," for lftp; all three when
 * the command's name is damaged) in the word. */
static void user_pass_at(rd_scan *sc, size_t v, const char *sep)
{
    const uint8_t *s = sc->s;
    size_t n = sc->n, p = v;
    uint8_t q = 0;
    while (p < n && p - v < 8 && s[p] == '\\') p++; /* \" in raw JSON, or escaped more */
    if (p < n && (s[p] == '"' || s[p] == '\'')) q = s[p++];
    else p = v;
    for (; p < n && p - v < 256; p++) {
        uint8_t c = s[p];
        int at_sep = c && strchr(sep, c);
        if (at_sep && q) { /* "user:pass word": to the closing quote */
            size_t a = p + 1, e = a;
            for (; e < n && e - a < 256 && s[e] != q && s[e] != '\n'; e++) {
                size_t b = e; /* \" or \\\" closes it in JSON text */
                while (b < n && b - e < 8 && s[b] == '\\') b++;
                if (b > e && b < n && s[b] == q) break;
            }
            if (e < n && e > a && s[e] != '\n' && s[a] != '$') rd_add(sc, a, e, ST_RULE_PASSWORD_ASSIGNMENT, RD_PRIO_CONTEXT);
            return;
        }
        if (at_sep) { rd_literal_at(sc, p + 1, RK_SECRET | RK_PASSWORD, 0); return; }
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
        if (c == '"' || c == '\'') { if (raw && c == '"' && (p == 0 || s[p - 1] != '\\')) return p; q = c; continue; }
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
        if (want == CMD_CURL) user_pass_at(sc, v, ":");
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
    case 'u': want = CMD_CURL | CMD_LFTP; break;
    case 'U': want = CMD_CURL | CMD_SMB; break;
    }
    if (want) {
        unsigned all = cmd_before(sc, i, &w), c = all & want;
        if (c) {
            while (v < n && is_blank(s[v])) v++;
            if (f == 'u' || f == 'U')
                user_pass_at(sc, v, all & CMD_DAMAGED ? ":,%" : c & CMD_SMB ? "%" : c & CMD_LFTP ? "," : ":");
            else rd_literal_at(sc, v, RK_SECRET | RK_PASSWORD, 0);
            if (f == 'b' && (all & CMD_DAMAGED)) htpasswd_at(sc, w); /* gh secret set's -b, or htpasswd's */
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

/* ==== passwords a command reads on stdin ================================================== */

enum { SK_NONE = 0, SK_PAIRS, SK_PASSWORD };

/* In raw JSON text, does the escape "\n" start at s[p] (an odd run of
 * backslashes ends there: "\\n" is a backslash and an n)? */
static int raw_nl_at(const uint8_t *s, size_t e, size_t p)
{
    if (p + 1 >= e || s[p] != '\\' || s[p + 1] != 'n') return 0;
    size_t k = 0;
    while (k < p && k < 16 && s[p - 1 - k] == '\\') k++;
    return k % 2 == 0;
}

/* The next word of s[p..e) after blanks: [*b, return) (raw: a \t written
 * out is a blank, a \n ends the word). */
static size_t next_word(const uint8_t *s, size_t p, size_t e, size_t *b, int raw)
{
    while (p < e && (is_blank(s[p]) || (raw && s[p] == '\\' && p + 1 < e && s[p + 1] == 't'))) p += is_blank(s[p]) ? 1 : 2;
    *b = p;
    while (p < e && !is_blank(s[p]) && !cmd_sep(s, p) &&
           !(raw && (raw_nl_at(s, e, p) || (s[p] == '"' && p > 0 && s[p - 1] != '\\'))))
        p++;
    return p;
}

/* Where the command before s[i] starts, at most `back` bytes back: a
 * separator; in raw input also a line break written as \n or the quote
 * that opens the JSON string. (In decoded text a \n written in printf's
 * format is not a line break.) */
static size_t cmd_begin(const rd_scan *sc, size_t i, size_t back)
{
    const uint8_t *s = sc->s;
    size_t floor = i > back ? i - back : 0, p = i;
    if (!(sc->mode & RD_RAW)) {
        while (p > floor && !cmd_sep(s, p - 1)) p--;
        return p;
    }
    while (p > floor && !cmd_sep(s, p - 1) && !(p >= 2 && raw_nl_at(s, p, p - 2)) &&
           !(s[p - 1] == '"' && (p < 2 || s[p - 2] != '\\')))
        p--;
    return p;
}

static int word_is(const uint8_t *s, size_t b, size_t e, const char *w)
{
    while (e > b && (s[e - 1] == '"' || s[e - 1] == '\'' || s[e - 1] == '\\')) e--; /* chpasswd" in raw JSON */
    size_t nb = word_name(s, b, e), l = strlen(w);
    return e - nb == l && memcmp(s + nb, w, l) == 0;
}

/* What the command in s[p..e) reads on stdin: "user:password" lines
 * (chpasswd), a password (sudo -S, passwd --stdin, kinit, htpasswd -i,
 * a registry login --password-stdin, gh auth login --with-token), or
 * nothing we know of. */
static int stdin_kind(const uint8_t *s, size_t p, size_t e, int raw)
{
    size_t b, we;
    int sudo = 0;
    for (int words = 0; words < 8; words++) {
        we = next_word(s, p, e, &b, raw);
        if (we == b) return SK_NONE;
        p = we;
        if (word_is(s, b, we, "sudo")) { sudo = 1; continue; }
        if (sudo && s[b] == '-') { /* sudo's own flags: -S reads the password */
            if (we - b >= 2 && s[b + 1] != '-' && memchr(s + b, 'S', we - b)) return SK_PASSWORD;
            continue;
        }
        break;
    }
    if (word_is(s, b, we, "chpasswd")) return SK_PAIRS;
    if (word_is(s, b, we, "kinit")) return SK_PASSWORD;
    int passwd = word_is(s, b, we, "passwd"), htpasswd = word_is(s, b, we, "htpasswd"), tool = 0, gh = 0;
    if (!passwd && !htpasswd) {
        size_t nb = word_name(s, b, we);
        for (size_t k = 0; k < sizeof cmd_names / sizeof *cmd_names && !tool; k++)
            tool = !cmd_names[k].cmd && we - nb == cmd_names[k].len && memcmp(s + nb, cmd_names[k].name, we - nb) == 0;
        gh = word_is(s, b, we, "gh");
        if (!tool && !gh) return SK_NONE;
    }
    for (int words = 0; words < 32; words++) { /* its flags */
        we = next_word(s, p, e, &b, raw);
        if (we == b) break;
        p = we;
        if (s[b] != '-') continue;
        if (passwd && word_is(s, b, we, "--stdin")) return SK_PASSWORD;
        if (tool && (word_is(s, b, we, "--password-stdin") || word_is(s, b, we, "--pass-stdin"))) return SK_PASSWORD;
        if (gh && word_is(s, b, we, "--with-token")) return SK_PASSWORD;
        if (htpasswd && we - b >= 2 && we - b <= 5 && s[b + 1] != '-' && memchr(s + b, 'i', we - b)) return SK_PASSWORD;
    }
    return SK_NONE;
}

/* Redacts s[a..e) as a password, unless it is empty, a $-reference or the
 * marker of a first pass. */
static void password_span(rd_scan *sc, size_t a, size_t e)
{
    const uint8_t *s = sc->s;
    if (e > a && s[a] != '$' && !(e - a > 10 && memcmp(s + a, "[REDACTED", 9) == 0))
        rd_add(sc, a, e, ST_RULE_PASSWORD_ASSIGNMENT, RD_PRIO_CONTEXT);
}

/* "user:password" pairs in the argument at v (quoted or not, several
 * separated by \n written out): each password. */
static void pairs_at(rd_scan *sc, size_t v, size_t end)
{
    const uint8_t *s = sc->s;
    size_t p = v;
    uint8_t q = 0;
    while (p < end && s[p] == '\\') p++;
    if (p < end && (s[p] == '"' || s[p] == '\'')) q = s[p++];
    size_t colon = 0;
    for (; p <= end; p++) {
        uint8_t c = p < end ? s[p] : 0;
        int stop = p == end || c == '\n' || c == '\r' || (q ? c == q : (is_blank(c) || c == '"' || c == '\''));
        int nl = !stop && c == '\\' && p + 1 < end && (s[p + 1] == 'n' || s[p + 1] == 'r' || s[p + 1] == '\\' || s[p + 1] == q);
        if (stop || nl) {
            size_t e = p;
            if (colon) password_span(sc, colon + 1, e);
            colon = 0;
            if (stop && c != '\n' && c != '\r') return;
            if (nl) { p++; if (s[p] == '\\' || s[p] == q) return; }
            continue;
        }
        if (c == ':' && !colon) colon = p;
    }
}

/* A line break at s[p] (a real one, or \n written out in JSON text): its
 * length, else 0. */
static size_t body_break(const uint8_t *s, size_t n, size_t p)
{
    if (s[p] == '\n') return 1;
    return s[p] == '\\' && raw_nl_at(s, n, p) ? 2 : 0;
}

/* Bounds of a heredoc's body (a backstop: a body longer than this is read
 * to here, and a "<<" inside what was read is not looked at again). */
#define RD_HEREDOC_MAX ((size_t)64 << 10)
#define RD_HEREDOC_LINES 1024

/* The delimiter of the heredoc operator at op ("<<EOF", "<<-EOF", "<< 'EOF'",
 * "<<\"EOF\"", "<<\EOF"): [*d, *d + return), a word that starts with a
 * letter or '_' (so "1 << 3" is none); *after: the byte after it (and its
 * closing quote). 0: not a delimiter. */
static size_t heredoc_delim(const uint8_t *s, size_t n, size_t op, size_t *d, size_t *after)
{
    size_t p = op + 2;
    if (p < n && s[p] == '-') p++;
    while (p < n && is_blank(s[p])) p++;
    while (p < n && s[p] == '\\') p++;
    uint8_t q = 0;
    if (p < n && (s[p] == '\'' || s[p] == '"')) q = s[p++];
    if (p >= n || !(RD_ALPHA(s[p]) || s[p] == '_')) return 0;
    *d = p;
    while (p < n && p - *d <= 64 && (RD_WORD(s[p]) || s[p] == '-' || s[p] == '.')) p++;
    size_t dl = p - *d;
    if (dl > 64) return 0;
    while (q && p < n && s[p] == '\\') p++;
    if (q && (p >= n || s[p++] != q)) return 0;
    *after = p;
    return dl;
}

/* The heredoc whose "<<" is at op, for a command that reads `kind` on
 * stdin: from the line after the operator's to the delimiter line, each
 * "user:password" line's password (SK_PAIRS), or the first line
 * (SK_PASSWORD). An unterminated body is read to its bound or the end of
 * the text (in raw input: of the JSON string). */
static void heredoc_body(rd_scan *sc, size_t op, int kind)
{
    const uint8_t *s = sc->s;
    size_t n = sc->n, d, p;
    int raw = (sc->mode & RD_RAW) != 0;
    if (op < sc->heredoc_end) return;
    size_t dl = heredoc_delim(s, n, op, &d, &p);
    if (!dl) return;
    /* the rest of the operator's line (cat <<EOF | chpasswd) */
    size_t lim = n - p > RD_HEREDOC_MAX ? p + RD_HEREDOC_MAX : n, br = 0;
    while (p < lim && !(br = body_break(s, n, p)) && !(raw && s[p] == '"' && s[p - 1] != '\\')) p++;
    sc->heredoc_end = p;
    if (!br) return;
    p += br;
    for (int lines = 0; lines < RD_HEREDOC_LINES && p < lim; lines++) {
        size_t ls = p, le;
        br = 0;
        while (p < lim && !(br = body_break(s, n, p)) && !(raw && s[p] == '"' && s[p - 1] != '\\')) p++;
        le = p;
        while (ls < le && (s[ls] == '\t' || (s[ls] == '\\' && ls + 1 < le && s[ls + 1] == 't'))) ls += s[ls] == '\t' ? 1 : 2;
        if (le > ls && s[le - 1] == '\r') le--;
        else if (le >= ls + 2 && s[le - 2] == '\\' && s[le - 1] == 'r') le -= 2;
        if (le - ls == dl && memcmp(s + ls, s + d, dl) == 0) break; /* the delimiter */
        if (kind == SK_PASSWORD) {
            password_span(sc, ls, le);
            break;
        }
        size_t c = ls;
        while (c < le && s[c] != ':' && !is_blank(s[c])) c++;
        if (c > ls && c < le && s[c] == ':') password_span(sc, c + 1, le);
        if (!br) break;
        p += br;
    }
    sc->heredoc_end = p;
}

/* "<<EOF" at i: when the command before it reads passwords on stdin
 * (chpasswd <<EOF, sudo -S cmd <<EOF, passwd --stdin u <<EOF), its body.
 * The operator must end its line, or be followed by a redirection or a
 * pipe ("x << y;" in C is none). */
static void heredoc_at(rd_scan *sc, size_t i)
{
    const uint8_t *s = sc->s;
    size_t n = sc->n, d, p;
    if (i < sc->heredoc_end || !heredoc_delim(s, n, i, &d, &p)) return;
    while (p < n && is_blank(s[p])) p++;
    if (p < n && !(s[p] == '\n' || s[p] == '\r' || s[p] == '|' || s[p] == '&' || s[p] == '>' || s[p] == '2' ||
                   (s[p] == '\\' && p + 1 < n && (s[p + 1] == 'n' || s[p + 1] == 'r')) ||
                   ((sc->mode & RD_RAW) && s[p] == '"')))
        return;
    size_t a = i; /* (not across another '<': "<<E <<E ..." stays linear) */
    while (a > 0 && i - a < 256 && s[a - 1] != '<' && !cmd_sep(s, a - 1)) a--;
    a = cmd_begin(sc, i, i - a);
    int kind = stdin_kind(s, a, i, (sc->mode & RD_RAW) != 0);
    if (kind) heredoc_body(sc, i, kind);
}

/* The echo or printf argument before the '|' at i (for what the command
 * after it reads). */
static void echo_before(rd_scan *sc, size_t i, int kind)
{
    const uint8_t *s = sc->s;
    int raw = (sc->mode & RD_RAW) != 0;
    size_t a = cmd_begin(sc, i, 4096), b;
    size_t we = next_word(s, a, i, &b, raw);
    int pf = word_is(s, b, we, "printf");
    if (!pf && !word_is(s, b, we, "echo")) {
        if (word_is(s, b, we, "cat")) /* cat <<EOF | chpasswd */
            for (size_t k = we; k + 2 < i; k++)
                if (s[k] == '<' && s[k + 1] == '<' && s[k + 2] != '<') { heredoc_body(sc, k, kind); break; }
        return;
    }
    size_t p = we;
    for (int k = 0; k < 4; k++) { /* echo -n -e; printf's format */
        size_t b2, e2 = next_word(s, p, i, &b2, raw);
        if (e2 == b2) return;
        if ((!pf && s[b2] == '-' && e2 - b2 <= 3) || (pf && k == 0 && memchr(s + b2, '%', e2 - b2) && e2 < i)) {
            p = e2;
            continue;
        }
        p = b2;
        break;
    }
    size_t end = i;
    while (end > p && is_blank(s[end - 1])) end--;
    if (end <= p) return;
    if (kind == SK_PAIRS) pairs_at(sc, p, end);
    else rd_literal_at(sc, p, RK_SECRET | RK_PASSWORD, 0);
}

void rd_pipe_at(rd_scan *sc, size_t i)
{
    const uint8_t *s = sc->s;
    size_t n = sc->n, e = i + 1;
    int raw = (sc->mode & RD_RAW) != 0;
    while (e < n && e - i <= 1024 && !cmd_sep(s, e) && !(raw && (written_nl_before(s, e + 1) || (s[e] == '"' && s[e - 1] != '\\'))))
        e++;
    int kind = stdin_kind(s, i + 1, e, raw);
    if (kind) echo_before(sc, i, kind);
}

/* "<<<" at i: "chpasswd <<< user:pw", "sudo -S cmd <<< pw"; "<<" a heredoc. */
void rd_herestring_at(rd_scan *sc, size_t i)
{
    const uint8_t *s = sc->s;
    size_t n = sc->n;
    if (n - i < 5 || s[i + 1] != '<' || (i > 0 && s[i - 1] == '<')) return;
    if (s[i + 2] != '<') { heredoc_at(sc, i); return; }
    size_t a = i; /* (not across another '<': "<<< <<< ..." stays linear) */
    while (a > 0 && i - a < 256 && s[a - 1] != '<' && !cmd_sep(s, a - 1)) a--;
    a = cmd_begin(sc, i, i - a);
    int kind = stdin_kind(s, a, i, (sc->mode & RD_RAW) != 0);
    if (!kind) return;
    size_t v = i + 3, end;
    while (v < n && is_blank(s[v])) v++;
    if (kind == SK_PASSWORD) { rd_literal_at(sc, v, RK_SECRET | RK_PASSWORD, 0); return; }
    end = arg_end(s, n, v, (sc->mode & RD_RAW) != 0);
    pairs_at(sc, v, end);
}

/* ==== git config KEY VALUE ================================================================ */

/* "TOOL config" at i (git, yarn; a command of at most 1024 bytes, *end):
 * the end of the word "config", or 0. */
static size_t config_at(const uint8_t *s, size_t n, size_t i, const char *tool, size_t tl, int raw, size_t *end)
{
    size_t b, e;
    if (n - i < 16 || memcmp(s + i, tool, tl) != 0 || !is_blank(s[i + tl])) return 0;
    *end = i + 1024 < n ? i + 1024 : n;
    e = next_word(s, i + tl, *end, &b, raw);
    return word_is(s, b, e, "config") ? e : 0;
}

/* The value after a config KEY that ends at e, when the key's class cls
 * is a credential's and the command goes on after it. */
static void config_value_at(rd_scan *sc, size_t e, int cls)
{
    const uint8_t *s = sc->s;
    size_t n = sc->n, v = e;
    if (RK_CLASS(cls) == RK_NONE) return;
    while (v < n && is_blank(s[v])) v++;
    if (v >= n || v == e || cmd_sep(s, v)) return;
    rd_literal_at(sc, v, cls, 0);
}

/* "git config [--global|--local|--system|--file F] KEY VALUE" at i ("git"):
 * a credential-named KEY (github.token, credential.helper is not) and its
 * value. */
void rd_git_config_at(rd_scan *sc, size_t i)
{
    const uint8_t *s = sc->s;
    size_t b, e, end;
    int raw = (sc->mode & RD_RAW) != 0;
    size_t p = config_at(s, sc->n, i, "git", 3, raw, &end);
    if (!p) return;
    for (int k = 0; k < 6; k++) {
        e = next_word(s, p, end, &b, raw);
        if (e == b) return;
        p = e;
        if (s[b] != '-') break;
        if (word_is(s, b, e, "--file") || word_is(s, b, e, "-f")) { e = next_word(s, p, end, &b, raw); p = e; }
    }
    if (e == b || s[b] == '-') return;
    config_value_at(sc, e, rd_key_class((const char *)s + b, e - b));
}

/* ==== .pgpass ============================================================================== */

static int pg_field_ch(uint8_t c)
{
    return c > ' ' && c != ':' && c != '"' && c != '\'' && c != '\\' && c != 0x7f;
}

/* host:port:database:user:password, port digits or '*': the password, to
 * the end of the line (or of the quoted or blank-separated word the line
 * sits in, as in echo 'h:5432:db:u:pw' >> ~/.pgpass). */
void rd_pgpass_lines(rd_scan *sc)
{
    const uint8_t *s = sc->s;
    size_t n = sc->n, p = 0;
    int raw = (sc->mode & RD_RAW) != 0;
    const uint8_t *c;
    while (p < n && (c = memchr(s + p, ':', n - p)) != NULL) {
        size_t k = (size_t)(c - s), f = k + 1;
        p = k + 1;
        /* the port */
        while (f < n && f - k <= 5 && RD_DIGIT(s[f])) f++;
        if (f == k + 1 && f < n && s[f] == '*') f++;
        if (f == k + 1 || f >= n || s[f] != ':') continue;
        /* the host, before */
        size_t h = k;
        while (h > 0 && k - h < 256 && pg_field_ch(s[h - 1]) && !rd_escape_before(s, h)) h--;
        if (h == k || s[h] == '#') continue;
        uint8_t before = h == 0 || rd_escape_before(s, h) ? '\n' : s[h - 1];
        if (before == '\t') before = ' ';
        /* database and user */
        size_t q = f + 1;
        int ok = 1;
        for (int fld = 0; fld < 2 && ok; fld++) {
            size_t a = q;
            while (q < n && q - a < 256 && (pg_field_ch(s[q]) || (s[q] == '\\' && q + 1 < n && s[q + 1] == ':' && ++q))) q++;
            ok = q > a && q < n && s[q] == ':';
            q++;
        }
        if (!ok || q >= n) continue;
        /* the password */
        size_t a = q, e = q;
        for (; e < n && e - a < 1024; e++) {
            uint8_t d = s[e];
            if (d == '\n' || d == '\r' || d == 0) break;
            if (d == '\\' && e + 1 < n && (s[e + 1] == 'n' || s[e + 1] == 'r')) break; /* a line break written out */
            if ((before == '\'' || before == '"') && d == before) break;
            if (before == ' ' && is_blank(d)) break;
            if (raw && d == '"' && s[e - 1] != '\\') break;
            if (raw && d == '\\' && e + 1 < n && s[e + 1] == '"') break;
        }
        password_span(sc, a, e);
        p = e > p ? e : p;
    }
}

/* ==== command strings: forms with no trigger byte ========================================= */

/* Case-insensitive: does s[p..) start with the lower-case word w, alone
 * (after a line break written out, "\nsetx", too)? */
#define iword_at(s, n, p, w) iword_at_n(s, n, p, w, sizeof w - 1)
static int iword_at_n(const uint8_t *s, size_t n, size_t p, const char *w, size_t l)
{
    if (n - p < l || (p > 0 && (RD_WORD(s[p - 1]) || s[p - 1] == '-') && !rd_escape_before(s, p))) return 0;
    for (size_t k = 0; k < l; k++)
        if (rd_lower(s[p + k]) != (uint8_t)w[k]) return 0;
    return p + l == n || !(RD_WORD(s[p + l]) || s[p + l] == '-');
}

/* The quoted literal after one or more blanks at p: a SQL string ('x'
 * only: "x" is an identifier in SQL, and prose quotes with it: identified
 * by "code"), or a PowerShell one ('x' or "x"). */
static void quoted_after(rd_scan *sc, size_t p, int sql)
{
    const uint8_t *s = sc->s;
    size_t n = sc->n, b = p;
    while (p < n && is_blank(s[p])) p++;
    if (p == b) return;
    size_t q = p;
    while (q < n && q - p < 8 && s[q] == '\\') q++;
    if (q < n && (s[q] == '\'' || (!sql && s[q] == '"'))) rd_literal_at(sc, p, RK_SECRET | RK_PASSWORD, 0);
}

/* setx NAME VALUE (Windows; a credential-named NAME), setx ... /p PASSWORD. */
static void setx_at(rd_scan *sc, size_t i)
{
    const uint8_t *s = sc->s;
    size_t n = sc->n, end = i + 1024 < n ? i + 1024 : n, b, e, p = i + 4;
    int raw = (sc->mode & RD_RAW) != 0;
    for (int k = 0; k < 12; k++) {
        e = next_word(s, p, end, &b, raw);
        if (e == b) return;
        p = e;
        if (s[b] == '/' && e - b == 2) { /* /s /u /p take a value; /m /k /f ... */
            uint8_t f = rd_lower(s[b + 1]);
            if (f == 'p') {
                while (p < n && is_blank(s[p])) p++;
                rd_literal_at(sc, p, RK_SECRET | RK_PASSWORD, 0);
                return;
            }
            if (f == 's' || f == 'u' || f == 'k' || f == 'f' || f == 'a' || f == 'r' || f == 'd') {
                e = next_word(s, p, end, &b, raw);
                p = e;
            }
            continue;
        }
        size_t kb = b, ke = e;
        if (s[kb] == '"' && ke - kb > 2 && s[ke - 1] == '"') { kb++; ke--; }
        int cls = rd_key_class((const char *)s + kb, ke - kb);
        if (RK_CLASS(cls) == RK_NONE) return;
        while (p < n && is_blank(s[p])) p++;
        if (p < n && !cmd_sep(s, p)) rd_literal_at(sc, p, cls, 0);
        return;
    }
}

/* Oracle tools: sqlplus [-s] user/password[@db] (also sqlldr, expdp,
 * impdp, rman target user/password@db): the password of the first logon
 * argument. "/ as sysdba" and "user@db" (prompts) stay. */
static void oracle_logon_at(rd_scan *sc, size_t i)
{
    const uint8_t *s = sc->s;
    size_t n = sc->n, end = i + 512 < n ? i + 512 : n, p = i, b, e;
    int raw = (sc->mode & RD_RAW) != 0;
    while (p < end && RD_ALNUM(s[p])) p++;
    for (int k = 0; k < 6; k++) {
        e = next_word(s, p, end, &b, raw);
        if (e == b) return;
        p = e;
        if (s[b] == '-' || word_is(s, b, e, "target") || word_is(s, b, e, "auxiliary")) continue;
        size_t q = b;
        if (s[q] == '"' || s[q] == '\'') q++;
        if (q < e && (s[q] == 'u' || s[q] == 'U') && e - q > 7 && rd_lower(s[q + 1]) == 's' && s[q + 4] == 'i' && s[q + 5] == 'd' && s[q + 6] == '=')
            q += 7; /* sqlldr userid=u/p */
        const uint8_t *sl = memchr(s + q, '/', e - q);
        if (!sl || sl == s + q) return;
        size_t a = (size_t)(sl - s) + 1, z = a;
        while (z < e && s[z] != '@' && s[z] != '"' && s[z] != '\'' && s[z] != '\\') z++;
        if (z > a && s[a] != '$' && s[a] != '/') rd_add(sc, a, z, ST_RULE_PASSWORD_ASSIGNMENT, RD_PRIO_CONTEXT);
        return;
    }
}

/* Windows: net use [X:] \\server\share PASSWORD [/user:dom\u]: the word after
 * the share that is not a /switch ('*' prompts). */
static void net_use_at(rd_scan *sc, size_t p)
{
    const uint8_t *s = sc->s;
    size_t n = sc->n, end = p + 512 < n ? p + 512 : n, b, e;
    int raw = (sc->mode & RD_RAW) != 0;
    e = next_word(s, p, end, &b, raw);
    if (!(e - b == 3 && rd_lower(s[b]) == 'u' && rd_lower(s[b + 1]) == 's' && rd_lower(s[b + 2]) == 'e')) return;
    p = e;
    int share = 0;
    for (int k = 0; k < 4; k++) {
        e = next_word(s, p, end, &b, raw);
        if (e == b || s[b] == '/') return;
        p = e;
        if (!share) {
            share = s[b] == '\\' && e - b > 2 && s[b + 1] == '\\';
            continue;
        }
        if (e - b == 1 && s[b] == '*') return;
        rd_literal_at(sc, b, RK_SECRET | RK_PASSWORD, 0);
        return;
    }
}

/* Forms inside commands that no trigger byte announces: Windows `setx
 * API_TOKEN value`, SQL `CREATE USER u WITH PASSWORD 'x'` and `IDENTIFIED
 * BY 'x'` (psql -c, mysql -e), PowerShell `ConvertTo-SecureString 'x'
 * -AsPlainText`, `rabbitmqctl add_user u x`, Oracle `sqlplus u/pw@db`,
 * Windows `net use \\srv\share pw`. Run on s[from, to), a string that is
 * a command (a "command" member; in raw input its JSON string), once. */
static inline __attribute__((always_inline)) void cmd_extras_in(rd_scan *sc, size_t from, size_t to, const int raw)
{
    const uint8_t *s = sc->s;
    size_t n = sc->n;
    /* first letters, and the second letters of their words (lower case):
     * setx sqlplus sqlldr password identified convertto-securestring
     * change_password add_user net expdp impdp rman */
    static const uint8_t first[256] = { ['s'] = 1, ['S'] = 1, ['p'] = 2, ['P'] = 2, ['i'] = 3, ['I'] = 3,
                                        ['c'] = 4, ['C'] = 4, ['a'] = 5, ['A'] = 5, ['n'] = 6, ['N'] = 6,
                                        ['e'] = 7, ['r'] = 8 };
#define B(c) (1u << ((c) - 'a'))
    static const uint32_t second[9] = { 0, B('e') | B('q'), B('a'), B('d') | B('m'), B('o') | B('h'), B('d'), B('e'), B('x'), B('m') };
#undef B
    for (size_t i = from; i + 4 < to; i++) {
        if (i > 0 && (RD_ALNUM(s[i - 1]) || s[i - 1] == '-') && !(raw && i >= 2 && s[i - 2] == '\\'))
            continue; /* (most bytes: not a word start, nor in raw input after an escape "\n") */
        unsigned f = first[s[i]], c2 = (unsigned)rd_lower(s[i + 1]) - 'a';
        if (!f || c2 >= 26 || !((second[f] >> c2) & 1)) continue;
        uint8_t c = rd_lower(s[i]);
        if (c == 's' && iword_at(s, n, i, "setx")) {
            setx_at(sc, i);
        } else if ((c == 's' && (iword_at(s, n, i, "sqlplus") || iword_at(s, n, i, "sqlldr"))) ||
                   ((c == 'e' || c == 'i') && (iword_at(s, n, i, "expdp") || iword_at(s, n, i, "impdp"))) ||
                   (c == 'r' && iword_at(s, n, i, "rman"))) {
            oracle_logon_at(sc, i);
        } else if (c == 'n' && iword_at(s, n, i, "net")) {
            net_use_at(sc, i + 3);
        } else if (c == 'p' && i > 0 && is_blank(s[i - 1]) && iword_at(s, n, i, "password")) { /* WITH PASSWORD 'x' */
            quoted_after(sc, i + 8, 1);
        } else if (c == 'i' && iword_at(s, n, i, "identified")) { /* IDENTIFIED [WITH plugin] BY 'x' */
            size_t p = i + 10, b, e, end = i + 128 < n ? i + 128 : n;
            for (int k = 0; k < 4; k++) {
                e = next_word(s, p, end, &b, raw);
                if (e == b) break;
                p = e;
                if (e - b == 2 && rd_lower(s[b]) == 'b' && rd_lower(s[b + 1]) == 'y') { quoted_after(sc, p, 1); break; }
            }
        } else if (c == 'c' && rd_lower(s[i + 1]) == 'o' && iword_at(s, n, i, "convertto-securestring")) {
            size_t p = i + 22, b, e = next_word(s, p, n, &b, raw);
            if (e - b == 7 && rd_lower(s[b + 1]) == 's' && s[b] == '-') p = e; /* -String */
            quoted_after(sc, p, 0);
        } else if ((c == 'a' && iword_at(s, n, i, "add_user")) || (c == 'c' && iword_at(s, n, i, "change_password"))) {
            size_t w = i; /* after the word rabbitmqctl */
            while (w > 0 && is_blank(s[w - 1])) w--;
            if (w < 11 || memcmp(s + w - 11, "rabbitmqctl", 11) != 0) continue;
            size_t b, e = next_word(s, i + (c == 'a' ? 8 : 15), n, &b, raw); /* the user */
            if (e == b) continue;
            while (e < n && is_blank(s[e])) e++;
            if (e < n && !cmd_sep(s, e)) rd_literal_at(sc, e, RK_SECRET | RK_PASSWORD, 0);
        }
    }
}

void rd_cmd_extras(rd_scan *sc, size_t from, size_t to)
{
    if (sc->mode & RD_RAW) cmd_extras_in(sc, from, to, 1);
    else cmd_extras_in(sc, from, to, 0);
}

/* Does s[0..n) name a script file whose lines are commands: a word ending
 * in .sql, .bat, .cmd or .ps1 (any case; "init.sql", "C:\\x\\setup.BAT")? Then
 * the forms of rd_cmd_extras are looked for in every string of the event
 * (a Write's content, an Edit's new_string, a Read's or cat's output). */
int rd_script_named(const uint8_t *s, size_t n)
{
    const uint8_t *p = s, *end = s + n;
    while (end - p >= 4 && (p = memchr(p, '.', (size_t)(end - p - 3))) != NULL) {
        uint8_t a = rd_lower(p[1]), b = rd_lower(p[2]), c = rd_lower(p[3]);
        p++;
        if (!((a == 's' && b == 'q' && c == 'l') || (a == 'b' && b == 'a' && c == 't') ||
              (a == 'c' && b == 'm' && c == 'd') || (a == 'p' && b == 's' && c == '1')))
            continue;
        if (p - 1 == s || !RD_WORD(p[-2])) continue; /* a name before the dot */
        if (p + 3 == end || !(RD_WORD(p[3]) || p[3] == '-')) return 1;
    }
    return 0;
}

/* "yarn config set [-H|--home] KEY VALUE" at i ("yarn", Yarn 2+ and 1): a
 * credential-named KEY (npmAuthToken, _authToken,
 * 'npmRegistries["//r.io"].npmAuthToken', npmScopes.x.npmAuthToken) or
 * npmAuthIdent ("user:password", or its base64), and its value. */
void rd_yarn_config_at(rd_scan *sc, size_t i)
{
    const uint8_t *s = sc->s;
    size_t b, e, end;
    int raw = (sc->mode & RD_RAW) != 0;
    if (!(e = config_at(s, sc->n, i, "yarn", 4, raw, &end))) return;
    e = next_word(s, e, end, &b, raw);
    if (!word_is(s, b, e, "set")) return;
    size_t p = e;
    for (int k = 0; k < 4; k++) {
        e = next_word(s, p, end, &b, raw);
        p = e;
        if (e == b || s[b] != '-') break;
    }
    if (e == b || s[b] == '-') return;
    size_t kb = b, ke = e; /* the key, without quotes around it ('npmRegistries["//r.io"].npmAuthToken') */
    while (kb < ke && (s[kb] == '\'' || s[kb] == '"' || s[kb] == '\\')) kb++;
    while (ke > kb && (s[ke - 1] == '\'' || s[ke - 1] == '"' || s[ke - 1] == '\\')) ke--;
    int ident = ke - kb >= 12 && memcmp(s + ke - 12, "npmAuthIdent", 12) == 0;   /* "user:password" */
    config_value_at(sc, e, ident ? (RK_SECRET | RK_PASSWORD) : rd_key_class((const char *)s + kb, ke - kb));
}

