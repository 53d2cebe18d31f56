/*
 * redact_assign.c: the key-aware rule. A value is a secret because of the
 * name it is assigned to, whatever its shape:
 *
 *   {"db_password": "hunter2"}          JSON member (redact.c asks rd_key_class)
 *   DB_PASSWORD=hunter2                 env file, shell
 *   password: hunter2                   YAML, properties, "Password: " prompts
 *   "api_key": "..."                    JSON inside a string
 *   --password hunter2, --token=...     command-line flags
 *   Authorization: Bearer xyz           HTTP headers (the scheme word is kept)
 *   ?access_token=...&                  URL query strings
 *   <password>hunter2</password>        XML configs (Maven settings.xml)
 *
 * Names: the key, lowercased with separators removed, must END with a
 * credential word (password, passwd, pwd, passphrase, secret, token, api key,
 * access/secret/private key, auth, authorization, credential(s), cookie),
 * so DB_PASSWORD and githubToken match while token_count, max_tokens,
 * input_tokens, password_file and public_key do not.
 *
 * Values: quoted values are secrets unless empty or placeholders (${VAR},
 * {{ x }}, <your-token>, ****). Unquoted values in code are often not
 * secrets but expressions: `password = getpass()`, `token = self.token`,
 * `password: string`, `password=password`, `token = nextchar`. The rules
 * that tell them apart are looks_like_code() below; docs/REDACTION.md §2.2
 * lists them with an example each, and every example is a look-alike
 * vector in tests/unit/redact_vectors/lookalikes.jsonl. Env-style keys
 * (DB_PASSWORD=hunter2), URL queries and flags take their value as is.
 */
#include "redact_int.h"

#include <string.h>

/* ==== names =================================================================== */

typedef struct kw {
    const char *word;
    uint8_t len, cls, need_word; /* need_word: must follow another word ("db_pass", not "bypass") */
    const char *base;            /* what a description of it would contain */
} kw;

static const kw keywords[] = {
    { "secretaccesskey", 15, RK_AWS_SECRET, 0, "secret" },
    { "password", 8, RK_SECRET | RK_PASSWORD, 0, "pass" },
    { "passwd", 6, RK_SECRET | RK_PASSWORD, 0, "pass" },
    { "passphrase", 10, RK_SECRET | RK_PASSWORD, 0, "pass" },
    { "storepass", 9, RK_SECRET | RK_PASSWORD, 0, "pass" },
    { "keypass", 7, RK_SECRET | RK_PASSWORD, 0, "pass" },
    { "pass", 4, RK_SECRET | RK_PASSWORD, 1, "pass" },
    { "pwd", 3, RK_SECRET | RK_PASSWORD, 0, "pw" },
    { "secret", 6, RK_SECRET, 0, "secret" },
    { "token", 5, RK_SECRET, 0, "token" },
    { "apikey", 6, RK_SECRET, 0, "key" },
    { "accesskey", 9, RK_SECRET, 0, "key" },
    { "secretkey", 9, RK_SECRET, 0, "key" },
    { "privatekey", 10, RK_SECRET, 0, "key" },
    { "signingkey", 10, RK_SECRET, 0, "key" },
    { "encryptionkey", 13, RK_SECRET, 0, "key" },
    { "masterkey", 9, RK_SECRET, 0, "key" },
    { "authkey", 7, RK_SECRET, 0, "key" },
    { "sessionkey", 10, RK_SECRET, 0, "key" },
    { "licensekey", 10, RK_SECRET, 0, "key" },
    { "accountkey", 10, RK_SECRET, 0, "key" },      /* Azure: AccountKey=... */
    { "subscriptionkey", 15, RK_SECRET, 0, "key" }, /* Azure: Ocp-Apim-Subscription-Key */
    { "secretkeybase", 13, RK_SECRET, 0, "secret" },
    { "credential", 10, RK_SECRET, 0, "cred" },
    { "credentials", 11, RK_SECRET, 0, "cred" },
    { "cookie", 6, RK_SECRET, 0, "cookie" },
    { "authorization", 13, RK_AUTH, 0, "auth" },
    { "auth", 4, RK_AUTH, 0, "auth" },
};

static int key_class_words(const uint8_t *k, size_t j, const char **base);
static int ieq(const uint8_t *a, size_t n, const char *w);

/* Full classification; *base receives the word a description would contain.
 * Most names fail on their last two letters, here, without a call. */
static inline int key_class(const uint8_t *k, size_t n, const char **base)
{
    size_t j = n;
    while (j > 0 && !RD_ALPHA(k[j - 1])) j--; /* "password2", "token_" */
    if (j < 3) return RK_NONE;
    if (!rd_credential_end(rd_lower(k[j - 2]), rd_lower(k[j - 1]))) return RK_NONE;
    if ((n == 3 && memcmp(k, "PWD", 3) == 0) || (n == 6 && memcmp(k, "OLDPWD", 6) == 0)) return RK_NONE;
    return key_class_words(k, j, base);
}

/* k[0..j) ends with a letter pair some keyword ends with: find the keyword. */
static int key_class_words(const uint8_t *k, size_t j, const char **base)
{
    size_t from = j > 48 ? j - 48 : 0;
    /* First the last 16 letters and digits alone (every keyword is
     * shorter): most names end with no keyword. */
    uint8_t tail[16];
    size_t mt = 0;
    for (size_t p = j; p > from && mt < 16; p--)
        if (RD_ALNUM(k[p - 1])) tail[15 - mt++] = rd_lower(k[p - 1]);
    size_t first = 0;
    for (; first < sizeof keywords / sizeof *keywords; first++) {
        const kw *w = &keywords[first];
        if (mt >= w->len && tail[15] == (uint8_t)w->word[w->len - 1] && memcmp(tail + 16 - w->len, w->word, w->len) == 0)
            break;
    }
    if (first == sizeof keywords / sizeof *keywords) return RK_NONE;
    uint8_t t[48], wb[48];
    size_t m = 0;
    int prev_alnum = 0, prev_lower = 0;
    for (size_t p = from; p < j; p++) {
        uint8_t c = k[p];
        if (!RD_ALNUM(c)) { prev_alnum = 0; continue; }
        int up = (c >= 'A' && c <= 'Z');
        wb[m] = (uint8_t)(p > from && (!prev_alnum || (up && prev_lower)));
        t[m++] = rd_lower(c);
        prev_alnum = 1;
        prev_lower = (c >= 'a' && c <= 'z');
    }
    for (size_t i = first; i < sizeof keywords / sizeof *keywords; i++) { /* (none before `first` matches) */
        const kw *w = &keywords[i];
        if (m < w->len || t[m - 1] != (uint8_t)w->word[w->len - 1] || memcmp(t + m - w->len, w->word, w->len) != 0)
            continue;
        if (w->need_word && (m == w->len || !wb[m - w->len])) continue;
        if (base) *base = w->base;
        int cls = w->cls;
        if (RK_CLASS(cls) == RK_SECRET && m >= 3) {
            /* aws_secret_key, AWS_SECRET_ACCESS_KEY: named for AWS */
            for (size_t p = 0; p + 3 <= m; p++)
                if (memcmp(t + p, "aws", 3) == 0 && (w->base[0] == 's' || w->base[0] == 'k')) {
                    cls = RK_AWS_SECRET;
                    break;
                }
        }
        return cls;
    }
    return RK_NONE;
}

int rd_key_class(const char *k, size_t n)
{
    /* A JSON member named just "pass" ({"auth": {"user": "u", "pass": "x"}},
     * nodemailer, ftp clients) holds a password; its numbers stay: test
     * summaries count {"pass": 12, "fail": 0}. (Text needs "db_pass": "PASS:
     * test_x" lines are test results.) */
    if (n == 4 && (k[0] | 0x20) == 'p' && (k[1] | 0x20) == 'a' && (k[2] | 0x20) == 's' && (k[3] | 0x20) == 's')
        return RK_SECRET;
    /* AWS Secrets Manager's {"SecretString": "...", "SecretBinary": "..."}
     * (get-secret-value output): the secret itself. (Members only: in text,
     * a key ending in "string" is too common to look at every one.) */
    if ((n == 12 && ieq((const uint8_t *)k, n, "secretstring")) || (n == 12 && ieq((const uint8_t *)k, n, "secretbinary")))
        return RK_SECRET;
    return key_class((const uint8_t *)k, n, NULL);
}

/* ==== values ===================================================================== */

static int ieq(const uint8_t *a, size_t n, const char *w)
{
    size_t wl = strlen(w);
    if (n != wl) return 0;
    for (size_t i = 0; i < n; i++)
        if (rd_lower(a[i]) != (uint8_t)w[i]) return 0;
    return 1;
}

static int icontains(const uint8_t *a, size_t n, const char *w)
{
    size_t wl = strlen(w);
    for (size_t i = 0; i + wl <= n; i++) {
        size_t k = 0;
        while (k < wl && rd_lower(a[i + k]) == (uint8_t)w[k]) k++;
        if (k == wl) return 1;
    }
    return 0;
}

static int is_ident_start(uint8_t c) { return RD_ALPHA(c) || c == '_'; }

static int has_digit(const uint8_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (RD_DIGIT(v[i])) return 1;
    return 0;
}

/* ${VAR:default}, ${VAR:-default}, ${VAR:=default} with a literal default
 * (Spring, shell): the default is a secret like any literal. */
static int ref_with_default(const uint8_t *v, size_t n)
{
    if (n < 5 || v[0] != '$' || v[1] != '{') return 0;
    size_t k = 2;
    while (k < n && k < 130 && (RD_WORD(v[k]) || v[k] == '.' || v[k] == '-')) k++;
    if (k + 1 >= n || v[k] != ':') return 0;
    size_t d = k + 1 + (v[k + 1] == '-' || v[k + 1] == '=');
    return d < n && v[d] != '}' && v[d] != '$';
}

/* Placeholders and non-secret literals, for any value (quoted or not). */
static int placeholder(const uint8_t *v, size_t n)
{
    while (n && RD_SPACE(v[0])) { v++; n--; }
    while (n && RD_SPACE(v[n - 1])) n--;
    if (n == 0) return 1;
    if (v[0] == '$') {
        if (n >= 2 && v[1] == '{') return !ref_with_default(v, n); /* ${VAR}; not ${VAR:default} */
        if (n >= 2 && v[1] == '(') return 1; /* $(cmd) */
        size_t i = 1;
        while (i < n && RD_WORD(v[i])) i++;
        if (i == n && n > 1) return 1; /* $VAR */
    }
    if (n >= 2 && v[0] == '{' && v[1] == '{') return 1;                 /* {{ template }} */
    if (n >= 2 && v[0] == '<' && v[n - 1] == '>') return 1;             /* <your-token> */
    if (n >= 2 && v[0] == '%' && (v[1] == '(' || v[1] == 's')) return 1; /* %(password)s, %s */
    if (n >= 3 && v[0] == '%' && v[n - 1] == '%') return 1;             /* %PASSWORD% */
    if (n >= 2 && v[0] == '#' && v[1] == '{') return 1;                 /* #{ruby} */
    if (n >= 10 && memcmp(v, "[REDACTED", 9) == 0) return 1;
    if (n > 256) return 0; /* (placeholders are short; the loops below stay bounded) */
    size_t masked = 0, cps = 0;
    for (size_t i = 0; i < n; i++) {
        masked += v[i] == '*' || v[i] == 'x' || v[i] == 'X';
        cps += (v[i] & 0xC0) != 0x80;
    }
    if (cps <= 1) return 1;                              /* one character: a flag, an emoji name */
    if (masked == n && n >= 3) return 1;                 /* *****, xxxxxxxx */
    if (n >= 3 && memmem(v, n, "***", 3)) return 1;      /* partly masked: ab***yz */
    if (v[0] == '#' && (n == 4 || n == 7 || n == 9)) {  /* a colour: #d8dee9 */
        size_t h = 1;
        while (h < n && ((v[h] >= '0' && v[h] <= '9') || ((v[h] | 0x20) >= 'a' && (v[h] | 0x20) <= 'f'))) h++;
        if (h == n) return 1;
    }
    static const char *const lits[] = { "null", "none", "nil", "undefined", "true", "false", "yes", "no",
                                        "n/a", "nullptr", "required", "optional", NULL };
    for (const char *const *l = lits; *l; l++)
        if (ieq(v, n, *l)) return 1;
    return 0;
}

static size_t rd_auth_scheme_len_word(const uint8_t *v, size_t n);

int rd_tree_value_secret(const char *v, size_t n, int cls)
{
    const uint8_t *u = (const uint8_t *)v;
    if (placeholder(u, n)) return 0;
    if (RK_CLASS(cls) == RK_AUTH) {
        size_t sl = rd_auth_scheme_len(u, n);
        if (sl && placeholder(u + sl, n - sl)) return 0;     /* "Bearer ${TOKEN}" */
        if (!sl && rd_auth_scheme_len_word(u, n) == n) return 0; /* "Bearer" alone */
    }
    return 1;
}

static int is_scheme(const uint8_t *v, size_t w)
{
    static const char *const schemes[] = { "bearer", "basic", "token", "digest", "bot", "oauth", "apikey",
                                           "api-key", "negotiate", "ntlm", "jwt", "sso-key", "ssws",
                                           "aws4-hmac-sha256", "key", NULL };
    for (const char *const *s = schemes; *s; s++)
        if (ieq(v, w, *s)) return 1;
    return 0;
}

/* Length of a leading scheme word (without the spaces), or 0. */
static size_t rd_auth_scheme_len_word(const uint8_t *v, size_t n)
{
    size_t w = 0;
    while (w < n && (RD_ALNUM(v[w]) || v[w] == '-')) w++;
    return w && is_scheme(v, w) ? w : 0;
}

size_t rd_auth_scheme_len(const uint8_t *v, size_t n)
{
    size_t w = rd_auth_scheme_len_word(v, n);
    if (w == 0 || w >= n || (v[w] != ' ' && v[w] != '\t')) return 0;
    while (w < n && (v[w] == ' ' || v[w] == '\t')) w++;
    return w;
}

/* Type names and literals that follow "name:" or "name =" in code. */
static int code_word(const uint8_t *v, size_t n)
{
    static const char *const words[] = { "string", "str", "bool", "boolean", "int", "number", "any", "object",
                                         "bytes", "char", "void", "unknown", "optional", "option", "self",
                                         "this", "new", "await", "function", "lambda", "secretstr",
                                         "none", "null", "nil", "undefined", "true", "false", NULL };
    for (const char *const *w = words; *w; w++)
        if (ieq(v, n, *w)) return 1;
    return 0;
}

enum { V_QUOTED = 1, V_LINE = 2, V_WORD = 3 };
enum { X_CODE = 0, X_ENV = 1, X_QUERY = 2, X_FLAG = 3, X_XML = 4 };

/* Is the unquoted value v (ending at s[vend]) code rather than a secret? */
static int looks_like_code(const rd_scan *sc, const uint8_t *v, size_t n, size_t vend, int ctx, const char *base,
                           uint8_t op)
{
    uint8_t c = v[0];
    size_t i = 0;
    if (is_ident_start(c)) {
        while (i < n && RD_WORD(v[i])) i++;
        uint8_t after = i < n ? v[i] : (vend < sc->n ? sc->s[vend] : 0);
        if (after == '(') return 1; /* a call, in any context: MAGIC_COOKIE=object() */
    }
    /* env files, URL queries and flags hold literals ("DB_PASSWORD=!x9"):
     * only references (handled by placeholder()), other flags and metavars
     * are not secrets there */
    if (ctx == X_ENV || ctx == X_QUERY) return 0;
    if (ctx == X_FLAG) {
        if (c == '-') return 1; /* another flag */
        size_t caps = 0;        /* a metavar: --token TOKEN */
        for (size_t k = 0; k < n; k++) caps += (v[k] >= 'A' && v[k] <= 'Z') || v[k] == '_' || v[k] == '-';
        if (caps == n || code_word(v, n)) return 1; /* go/cobra help: --api-key string */
        /* --api-key api_key; but a digit makes it a password: --password Passw0rd1 */
        return base && is_ident_start(c) && icontains(v, n, base) && !has_digit(v, n);
    }
    if (strchr("${[(<!|>&*@%?:", c) && !ref_with_default(v, n)) return 1; /* YAML tags and blocks, pointers, templates, SQL parameters */
    if (n <= 3) { /* small integer constants: XAUTH = 4 */
        size_t d = 0;
        while (d < n && RD_DIGIT(v[d])) d++;
        if (d == n) return 1;
    }
    /* the leading identifier */
    if (is_ident_start(c)) {
        if (code_word(v, i) && (i == n || !RD_WORD(v[i]))) return 1;
        /* password = password or "", auth = auths and ...; code names rarely
         * hold digits, passwords that repeat the word do (Passw0rd1, MySecret9) */
        if (base && icontains(v, i, base) && !has_digit(v, i)) return 1;
        uint8_t after = i < n ? v[i] : (vend < sc->n ? sc->s[vend] : 0);
        if (after == '(' || after == '[') return 1;                                   /* call, index */
        if (after == '.' && i + 1 < n && is_ident_start(v[i + 1])) return 1;         /* member */
        if (after == '-' && i + 1 < n && v[i + 1] == '>') return 1;                  /* ptr->member */
        if (after == ':' && i + 1 < n && v[i + 1] == ':') return 1;                  /* ns::name */
        if (after == ' ' && i < n) { /* an expression: Whitespace + group(...), a | b */
            size_t k = i;
            while (k < n && v[k] == ' ') k++;
            if (k + 1 < n && strchr("+*/|&%^", v[k]) && v[k] && (v[k + 1] == ' ' || v[k + 1] == '=')) return 1;
            if (k + 2 < n && v[k] == '-' && v[k + 1] == ' ') return 1;
        }
        if (i == n) { /* the whole value is one identifier */
            int has_under = 0, has_upper = 0, has_lower = 0, has_digit = 0;
            for (size_t k = 0; k < n; k++) {
                has_under |= v[k] == '_';
                has_upper |= v[k] >= 'A' && v[k] <= 'Z';
                has_lower |= v[k] >= 'a' && v[k] <= 'z';
                has_digit |= RD_DIGIT(v[k]) != 0;
            }
            if (has_under && !has_upper) return 1;             /* snake_case variable */
            if (has_under && !has_lower) return 1;             /* CONSTANT_NAME */
            if (op == '=' && !has_digit) return 1;             /* token = nextchar, token = Error */
        }
    }
    /* prose: "password: The password to use." (a letter first, words of
     * letters, the credential word among the first few) */
    if (base && RD_ALPHA(c)) {
        size_t m = n < 60 ? n : 60, letters = 0;
        for (size_t k = 0; k < m; k++) letters += RD_ALPHA(v[k]) || v[k] == ' ';
        if (memchr(v, ' ', m) && letters * 4 >= m * 3 && icontains(v, m, base)) return 1;
    }
    return 0;
}

static int is_upper_key(const uint8_t *k, size_t n)
{
    int letters = 0;
    for (size_t i = 0; i < n; i++) {
        if (k[i] >= 'a' && k[i] <= 'z') return 0;
        letters |= (k[i] >= 'A' && k[i] <= 'Z');
    }
    return letters;
}

/* Parses the value at v (after the operator and spaces) and adds the match.
 * kind: V_LINE (to end of line) or V_WORD (to whitespace) for unquoted values. */
static void value_at(rd_scan *sc, size_t v, int kind, int ctx, int cls, const char *base, uint8_t open_q, uint8_t op)
{
    const uint8_t *s = sc->s;
    size_t n = sc->n, a, e;
    int raw = (sc->mode & RD_RAW) != 0;
    if (v >= n) return;
    uint8_t c = s[v];
    if (open_q && c == open_q) return; /* input("Password: "): the quote closes the prompt string */
    if (ctx == X_CODE && strchr("bBrRuU", c) && c) { /* b"...", r'...', rb"..." string literals */
        size_t p = v + 1;
        if (p < n && strchr("bBrR", s[p]) && s[p]) p++;
        if (p < n && (s[p] == '"' || s[p] == '\'')) { v = p; c = s[v]; }
    }
    /* a quote, maybe escaped once or more (JSON inside JSON inside a string: \", \\\") */
    size_t esc = 0;
    while (c == '\\' && v + esc < n && s[v + esc] == '\\' && esc < 8) esc++;
    if (esc && !(v + esc < n && (s[v + esc] == '"' || s[v + esc] == '\''))) esc = 0;
    if (c == '"' || c == '\'' || c == '`' || esc) {
        uint8_t q = s[v + esc];
        int closed = 0;
        a = v + esc + 1;
        for (e = a; e < n && !closed; e++) {
            uint8_t d = s[e];
            if (d == '\n' || d == '\r' || d == 0) break;
            if (esc) {
                if (d == '\\' && e + esc < n && s[e + esc] == q) {
                    size_t b = 0;
                    while (b < esc && s[e + b] == '\\') b++;
                    closed = b == esc;
                }
            } else if (d == q && s[e - 1] != '\\') {
                closed = 1;
            } else if (raw && d == '"' && s[e - 1] != '\\') {
                break; /* the JSON string ends */
            } else if (raw && d == '\\' && e + 1 < n && (s[e + 1] == 'n' || s[e + 1] == 'r')) {
                break;
            }
        }
        if (closed) e--;
        /* A quote that does not close on its line was not an opening quote
         * ("token=" + x); at the very end of the text it is a cut value. */
        else if (e < n) return;
        if (placeholder(s + a, e - a)) return;
    } else {
        a = v;
        /* Where an unquoted value ends does not depend on where it starts,
         * only on the bytes and these conditions: a value starting inside
         * the last one scanned ends where it did ("a_password: a_password:
         * ..." on one long line is linear, not quadratic). */
        unsigned key = (unsigned)kind | (unsigned)raw << 2 | (unsigned)(ctx == X_CODE && op == '=') << 3 |
                       (unsigned)(ctx == X_QUERY) << 4 | (unsigned)open_q << 8;
        if (sc->val_end && sc->val_key == key && sc->val_from <= a && a < sc->val_end) {
            e = sc->val_end;
        } else if (kind == V_LINE) {
            for (e = a; e < n; e++) {
                uint8_t d = s[e];
                if (d == '\n' || d == '\r' || d == 0) break;
                if (raw && (d == '"' || d == '\\' || d == ',' || d == '}' || d == ']')) break;
                if (open_q && d == open_q) break; /* "Authorization: Basic xyz" ends with its string */
                if (ctx == X_CODE && op == '=' && (d == ',' || d == ';')) break; /* a = b, c = d; */
                if (d == '#' && e > a && (s[e - 1] == ' ' || s[e - 1] == '\t')) break; /* comment */
            }
        } else {
            for (e = a; e < n; e++) {
                uint8_t d = s[e];
                if (RD_SPACE(d) || d == 0 || strchr("\"'`,;&|<>)]}", d)) break;
                if (d == '\\') { /* an escape written out, maybe escaped itself: \n, \\\" */
                    size_t b = e;
                    while (b < n && s[b] == '\\' && b - e < 8) b++;
                    if (raw || (b < n && s[b] && strchr("nrt\"", s[b]))) break;
                }
                if (ctx == X_QUERY && d == '#') break;
            }
        }
        if (e != sc->val_end || sc->val_key != key) {
            sc->val_from = a;
            sc->val_end = e;
            sc->val_key = key;
        }
        while (e > a && (RD_SPACE(s[e - 1]) || s[e - 1] == ',' || s[e - 1] == ';')) e--;
        if (e == a || placeholder(s + a, e - a)) return;
        if (looks_like_code(sc, s + a, e - a, e, ctx, base, op)) return;
    }
    if (e <= a) return;
    unsigned rule = ST_RULE_PASSWORD_ASSIGNMENT;
    int k = RK_CLASS(cls);
    if (k != RK_AUTH && rd_auth_scheme_len_word(s + a, e - a) == e - a && e - a > 3) return; /* token_type='Bearer' */
    if (k == RK_AUTH) {
        size_t sl = rd_auth_scheme_len(s + a, e - a);
        if (sl && sl < e - a) {
            a += sl;
            rule = ST_RULE_AUTH_HEADER;
            if (placeholder(s + a, e - a)) return; /* Bearer $TOKEN */
        } else {
            size_t t = e;
            while (t > a && RD_SPACE(s[t - 1])) t--;
            if (rd_auth_scheme_len_word(s + a, t - a) == t - a) return; /* the scheme alone: "Basic " + b64 */
        }
    } else if (k == RK_AWS_SECRET && rd_aws_secret_shape(s + a, e - a)) {
        rule = ST_RULE_AWS_SECRET_KEY;
    }
    rd_add(sc, a, e, rule, RD_PRIO_CONTEXT);
}

void rd_literal_at(rd_scan *sc, size_t v, int cls, int line)
{
    value_at(sc, v, line ? V_LINE : V_WORD, X_ENV, cls, NULL, 0, '=');
}

/* ==== "key = value", "key: value" ============================================== */

/* Is the key starting at s[k] a command-line argument: glued to a flag by '='
 * (--from-literal=password=x) or the word after a flag (--set auth.password=x,
 * -var 'db_password=x', --build-arg NPM_TOKEN=x)? Its value is then a literal. */
static int after_flag(const uint8_t *s, size_t k)
{
    if (k > 0 && s[k - 1] == '=') return 1;
    if (k > 0 && (s[k - 1] == '"' || s[k - 1] == '\'')) k--;
    size_t p = k, sp = 0;
    while (p > 0 && sp <= 8 && (s[p - 1] == ' ' || s[p - 1] == '\t')) { p--; sp++; }
    if (sp == 0 || sp > 8) return 0;
    size_t e = p;
    while (p > 0 && e - p <= 64 && (RD_KEYCH(s[p - 1]) || s[p - 1] == '-')) p--;
    if (e - p < 2 || s[p] != '-' || !(RD_ALNUM(s[p + 1]) || s[p + 1] == '-')) return 0;
    return p == 0 || RD_SPACE(s[p - 1]) || s[p - 1] == '"' || s[p - 1] == '\'';
}

/* auth=("user", "password") (Python requests, httpx): the second string of
 * the pair at the '(' v. */
static void auth_pair_at(rd_scan *sc, size_t v)
{
    const uint8_t *s = sc->s;
    size_t n = sc->n, p = v + 1;
    while (p < n && s[p] == ' ') p++;
    for (int b = 0; b < 8 && p < n && s[p] == '\\'; b++) p++; /* \" in raw JSON */
    if (p >= n || (s[p] != '"' && s[p] != '\'')) return;
    uint8_t q = s[p];
    const uint8_t *e = memchr(s + p + 1, q, n - p - 1 < 256 ? n - p - 1 : 256);
    if (!e) return;
    p = (size_t)(e - s) + 1;
    while (p < n && s[p] == ' ') p++;
    if (p >= n || s[p] != ',') return;
    p++;
    while (p < n && s[p] == ' ') p++;
    if (p < n && (s[p] == '"' || s[p] == '\'' || s[p] == '\\')) value_at(sc, p, V_WORD, X_CODE, RK_SECRET | RK_PASSWORD, NULL, 0, '=');
}

/* A line break at p, real or (raw input) written as \n: its length, or 0. */
static size_t nl_len(const rd_scan *sc, size_t p)
{
    const uint8_t *s = sc->s;
    if (p < sc->n && s[p] == '\n') return 1;
    if ((sc->mode & RD_RAW) && p + 1 < sc->n && s[p] == '\\' && s[p + 1] == 'n') return 2;
    return 0;
}

/* The indentation of the line that holds s[p]: the blanks (and a list's
 * '-') after its start, at most 256 bytes back. */
static size_t indent_of(const rd_scan *sc, size_t p, size_t *line)
{
    const uint8_t *s = sc->s;
    size_t b = p;
    while (b > 0 && p - b < 256 && s[b - 1] != '\n' && !((sc->mode & RD_RAW) && b >= 2 && s[b - 2] == '\\' && s[b - 1] == 'n')) b--;
    size_t q = b;
    while (q < p && (s[q] == ' ' || s[q] == '-' || s[q] == '\t')) q++;
    if (line) *line = b;
    return q - b;
}

/* YAML "password: |" or ">-" at v (the key starts at k): the more indented
 * lines after it (at most 64, 8 KiB) are the value. 1 if it was one. */
static int block_scalar_at(rd_scan *sc, size_t k, size_t v)
{
    const uint8_t *s = sc->s;
    size_t n = sc->n, p = v + 1, nl;
    while (p < n && (s[p] == '-' || s[p] == '+' || RD_DIGIT(s[p]))) p++;
    while (p < n && (s[p] == ' ' || s[p] == '\t' || s[p] == '\r')) p++;
    if (!(nl = nl_len(sc, p))) return 0;
    size_t ind = indent_of(sc, k, NULL), a = p + nl, e = a;
    for (int lines = 0; lines < 64 && e < n && e - a < 8192; lines++) {
        size_t q = e, b;
        while (q < n && (s[q] == ' ' || s[q] == '\t')) q++;
        if (q - e <= ind || q >= n || (nl = nl_len(sc, q)) != 0 || s[q] == '\r') break; /* less indented, or blank */
        for (b = q; b < n && !nl_len(sc, b) && s[b] != '\r' && !((sc->mode & RD_RAW) && s[b] == '"'); b++) {}
        e = b;
        if (b >= n || !(nl = nl_len(sc, b))) break;
        e = b;
        if (b + nl >= n) break;
        size_t t = b + nl, u = t;
        while (u < n && (s[u] == ' ' || s[u] == '\t')) u++;
        if (u - t <= ind) break;
        e = t;
    }
    while (e > a && (RD_SPACE(s[e - 1]) || (e - a >= 2 && s[e - 2] == '\\' && s[e - 1] == 'n'))) e -= RD_SPACE(s[e - 1]) ? 1 : 2;
    size_t q = a;
    while (q < e && (s[q] == ' ' || s[q] == '\t')) q++;
    if (e > q) rd_add(sc, q, e, ST_RULE_PASSWORD_ASSIGNMENT, RD_PRIO_CONTEXT);
    return 1;
}

/* YAML "value: x" after a "name: DB_PASSWORD" line (Kubernetes env,
 * CloudFormation parameters written as YAML): the ':' at i ends "value". */
void rd_yaml_value_at(rd_scan *sc, size_t i)
{
    const uint8_t *s = sc->s;
    size_t n = sc->n, line, pline;
    if (i < 5 || !(s[i - 5] == 'v' || s[i - 5] == 'V') || memcmp(s + i - 4, "alue", 4) != 0) return;
    size_t b = i - 5; /* only blanks and a list's '-' before it on its line */
    while (b > 0 && i - 5 - b < 64 && (s[b - 1] == ' ' || s[b - 1] == '\t' || s[b - 1] == '-')) b--;
    if (b == 0 || !(s[b - 1] == '\n' || ((sc->mode & RD_RAW) && b >= 2 && s[b - 2] == '\\' && s[b - 1] == 'n'))) return;
    size_t ind = i - 5 - b;
    line = b;
    /* the line before */
    size_t pe = line - ((sc->mode & RD_RAW) && line >= 2 && s[line - 2] == '\\' ? 2 : 1);
    if (pe > 0 && s[pe - 1] == '\r') pe--;
    size_t pind = indent_of(sc, pe, &pline), q = pline + pind;
    if (pind != ind || pe - q < 6 || (s[q] != 'n' && s[q] != 'N') || memcmp(s + q + 1, "ame:", 4) != 0) return;
    q += 5;
    while (q < pe && (s[q] == ' ' || s[q] == '\t')) q++;
    size_t kb = q, ke;
    if (q < pe && (s[q] == '"' || s[q] == '\'')) kb = ++q;
    while (q < pe && (RD_KEYCH(s[q]))) q++;
    ke = q;
    int cls = ke > kb ? rd_key_class((const char *)s + kb, ke - kb) : RK_NONE;
    if (RK_CLASS(cls) == RK_NONE) return;
    size_t v = i + 1;
    while (v < n && (s[v] == ' ' || s[v] == '\t')) v++;
    if (v < n && (s[v] == '|' || s[v] == '>') && block_scalar_at(sc, i - 5, v)) return;
    value_at(sc, v, V_LINE, X_ENV, cls, NULL, 0, ':');
}

/* jdbc:oracle:thin:user/password@host (the ':' at i ends "thin"). */
void rd_oracle_thin_at(rd_scan *sc, size_t i)
{
    const uint8_t *s = sc->s;
    size_t n = sc->n, p = i + 1, a, e;
    if (i < 11 || memcmp(s + i - 11, "oracle:thin", 11) != 0) return;
    while (p < n && p - i <= 64 && (RD_WORD(s[p]) || s[p] == '$' || s[p] == '#')) p++;
    if (p == i + 1 || p >= n || s[p] != '/') return;
    a = e = p + 1;
    while (e < n && e - a <= 128 && s[e] != '@' && !RD_SPACE(s[e]) && s[e] != '"' && s[e] != '\'' && s[e] != '\\') e++;
    if (e < n && s[e] == '@' && e > a) rd_add(sc, a, e, ST_RULE_PASSWORD_ASSIGNMENT, RD_PRIO_CONTEXT);
}

/* The shell's PWD=/home/u (env, declare -x PWD="/srv"): a value at v that
 * is a directory (/, ~, ., .., C:\ or C:/ after quotes and their escapes) or a
 * reference ($HOME, $(pwd), `pwd`). ODBC's PWD=x is a password. */
static int shell_pwd_path(const uint8_t *s, size_t n, size_t v)
{
    while (v < n && (s[v] == ' ' || s[v] == '\t')) v++;
    for (int q = 0; q < 8 && v < n && (s[v] == '"' || s[v] == '\'' || s[v] == '\\'); q++) v++;
    if (v >= n) return 1;
    if (s[v] == '/' || s[v] == '~' || s[v] == '$' || s[v] == '`') return 1;
    if (s[v] == '.' && (v + 1 == n || s[v + 1] == '.' || s[v + 1] == '/' || !RD_ALNUM(s[v + 1]))) return 1; /* . ./x ../x */
    return n - v >= 3 && RD_ALPHA(s[v]) && s[v + 1] == ':' && (s[v + 2] == '\\' || s[v + 2] == '/');
}

void rd_assign_at(rd_scan *sc, size_t i)
{
    const uint8_t *s = sc->s;
    size_t n = sc->n, v = i + 1;
    uint8_t op = s[i];
    /* the key, backwards: spaces, a closing quote (maybe escaped), a ']' */
    size_t ws;
    int key_closed;
    size_t k = rd_assign_key_end(s, i, &ws, &key_closed);
    size_t ke = k;
    if (!rd_key_may_end_at(s, ke)) return; /* (the scanner usually asked already) */
    /* the operator */
    if (op == '=') {
        if (v < n && s[v] == '=') return;                            /* == */
        if (i > 0 && strchr("=!<>~+-*/%&|^:?", s[i - 1])) return;    /* != <= += := ... */
        if (v < n && s[v] == '>') v++;                               /* => */
    } else {                                                         /* ':' */
        if (v < n && s[v] == ':') return;                            /* :: */
        if (i > 0 && s[i - 1] == ':') return;
        if (v < n && s[v] == '=') v++;                               /* := */
    }
    while (k > 0 && ke - k <= 128 && RD_KEYCH(s[k - 1])) k--;
    if (k == ke || ke - k > 128) return;
    /* "Password: " inside a string literal: an opening quote, no closing one */
    uint8_t open_q = (!key_closed && k > 0 && (s[k - 1] == '"' || s[k - 1] == '\'')) ? s[k - 1] : 0;
    const char *base = NULL;
    int cls = key_class(s + k, ke - k, &base);
    if (cls == RK_NONE && op == '=' && k + 3 == ke && rd_sas_sig_key(s, ke)) cls = RK_SECRET; /* ?sv=...&sig=X */
    if (cls == RK_NONE && op == '=' && k + 3 == ke && memcmp(s + k, "PWD", 3) == 0 &&
        ((k > 0 && s[k - 1] == ';') || !shell_pwd_path(s, n, v))) { /* ...;UID=sa;PWD=x; (ODBC), odbc.ini's PWD=x */
        cls = RK_SECRET | RK_PASSWORD;
        base = "pw";
    }
    if (cls == RK_NONE) return;
    if ((k >= 7 && memcmp(s + k - 7, ":param ", 7) == 0) || (k >= 6 && memcmp(s + k - 6, ":type ", 6) == 0))
        return; /* Sphinx docstrings: ":param token: the token to use" */
    /* context: URL query, command-line flag, env style, or code */
    int ctx = X_CODE;
    size_t kk = k;
    while (kk < ke && s[kk] == '-') kk++;
    if (k > 0 && (s[k - 1] == '?' || s[k - 1] == '&')) ctx = X_QUERY;
    else if (kk > k && op == '=') ctx = X_FLAG;
    else if (op == '=' && !ws && is_upper_key(s + kk, ke - kk)) ctx = X_ENV; /* not PY_CONST = x */
    else if (op == '=' && !ws && after_flag(s, k)) ctx = X_FLAG; /* --set db.password=x, -var pw=x */
    else if (op == '=' && k > 0 && s[k - 1] == ';') ctx = X_ENV; /* ...;Password={x}; (ADO.NET, ODBC) */
    /* the value: same line */
    size_t sp = 0;
    while (v < n && (s[v] == ' ' || s[v] == '\t')) { v++; sp++; }
    if (v >= n) return;
    /* "passwd:dir", urn:ietf:params:oauth:grant-type: a colon with no space
     * after it joins names; YAML and headers put a space there, and JSON
     * quotes the key or the value */
    if (op == ':' && sp == 0 && !key_closed && s[v] != '"' && s[v] != '\'' && s[v] != '\\') return;
    int kind = (op == ':' || ws || sp) && ctx != X_QUERY && ctx != X_FLAG ? V_LINE : V_WORD;
    if (op == '=' && ctx == X_ENV && !ws) kind = V_WORD; /* DB_PASSWORD=x other=y */
    if (op == ':' && key_closed) kind = V_WORD;          /* "github-token": 1, ... (JSON) */
    if (s[v] == '(' && RK_CLASS(cls) == RK_AUTH && ctx == X_CODE) { auth_pair_at(sc, v); return; }
    if (op == ':' && (s[v] == '|' || s[v] == '>') && block_scalar_at(sc, k, v)) return;
    value_at(sc, v, kind, ctx, cls, base, open_q, op);
}

/* ==== "--password value" ============================================================ */

void rd_flag_at(rd_scan *sc, size_t i)
{
    const uint8_t *s = sc->s;
    size_t n = sc->n;
    if (i > 0 && !(RD_SPACE(s[i - 1]) || s[i - 1] == '"' || s[i - 1] == '\'' || s[i - 1] == '(' ||
                   s[i - 1] == '[' || s[i - 1] == ',' || s[i - 1] == '`'))
        return;
    size_t j = i, d = 0;
    while (j < n && s[j] == '-' && d < 3) { j++; d++; }
    if (d > 2) return;
    size_t ns = j;
    while (j < n && j - ns <= 64 && (RD_ALNUM(s[j]) || s[j] == '-' || s[j] == '_')) j++;
    size_t nl = j - ns;
    /* mysql -pX, sshpass -p X, curl -u u:X, htpasswd -b (redact_cmd.c) */
    if (nl) {
        uint8_t f = s[ns];
        int cand = f == 'p' || f == 'u' || f == 'U' ||
                   (d == 1 && nl == 1 && (f == 'a' || f == 'w' || f == 'P' || f == 'N' || f == 'k')) ||
                   (d == 2 && (f == 'b' || f == 'v' || f == 's'));
        for (size_t k = 0; !cand && d == 1 && nl <= 4 && k < nl; k++) cand = s[ns + k] == 'b'; /* htpasswd -nbB */
        if (cand && rd_cmd_flag_at(sc, i)) return;
    }
    if (nl < 3 || nl > 64 || j >= n || (s[j] != ' ' && s[j] != '\t')) return; /* "=": rd_assign_at */
    const char *base = NULL;
    int cls;
    if (d == 1 && ((nl == 6 && memcmp(s + ns, "passin", 6) == 0) || (nl == 7 && memcmp(s + ns, "passout", 7) == 0) ||
                   (nl == 4 && memcmp(s + ns, "pass", 4) == 0))) {
        /* openssl -passin pass:secret, -pass pass:secret (env:VAR, file:path, stdin are references) */
        size_t v = j;
        while (v < n && s[v] == ' ') v++;
        if (n - v > 5 && memcmp(s + v, "pass:", 5) == 0) value_at(sc, v + 5, V_WORD, X_ENV, RK_SECRET, NULL, 0, '=');
        return;
    }
    cls = key_class(s + ns, nl, &base);
    if (cls == RK_NONE) return;
    if (d == 1 && !(cls & RK_PASSWORD)) return; /* -token is rare; -p, -k mean too many things */
    size_t v = j;
    while (v < n && (s[v] == ' ' || s[v] == '\t')) v++;
    value_at(sc, v, V_WORD, X_FLAG, cls, base, 0, ' ');
}

/* ==== .netrc: "machine h login u password p" ========================================= */

/* Back over spaces, line breaks and line breaks written as \n \r \t. */
static size_t back_ws(const uint8_t *s, size_t p, size_t floor)
{
    for (;;) {
        if (p > floor && RD_SPACE(s[p - 1])) p--;
        else if (p >= floor + 2 && s[p - 2] == '\\' && (s[p - 1] == 'n' || s[p - 1] == 'r' || s[p - 1] == 't')) p -= 2;
        else return p;
    }
}

/* "password" at i, a word on its own, after "login <name>" after "machine"
 * or "default" (the .netrc and .authinfo layout, one line or several): the
 * next word is the password. */
void rd_netrc_at(rd_scan *sc, size_t i)
{
    const uint8_t *s = sc->s;
    size_t n = sc->n, floor = i > 256 ? i - 256 : 0;
    if (n - i < 10 || memcmp(s + i, "password", 8) != 0 || (s[i + 8] != ' ' && s[i + 8] != '\t')) return;
    if (i > 0 && !RD_SPACE(s[i - 1]) && !(i >= 2 && s[i - 2] == '\\' && (s[i - 1] == 'n' || s[i - 1] == 't'))) return;
    size_t p = back_ws(s, i, floor);
    if (p == i && i > 0 && !RD_SPACE(s[i - 1])) return;
    size_t we = p;   /* the login name */
    while (p > floor && !RD_SPACE(s[p - 1]) && s[p - 1] != '"' && s[p - 1] != '\\') p--;
    if (p == we) return;
    size_t q = back_ws(s, p, floor);
    if (q == p || q < floor + 5 || memcmp(s + q - 5, "login", 5) != 0) return;
    if (back_ws(s, q - 5, floor) == q - 5 && q - 5 > 0) return;   /* "xlogin" */
    if (!memmem(s + floor, q - 5 - floor, "machine", 7) && !memmem(s + floor, q - 5 - floor, "default", 7)) return;
    size_t v = i + 8;
    while (v < n && (s[v] == ' ' || s[v] == '\t')) v++;
    if (v < n && s[v] == '{') return; /* f'... password {self.password}' */
    value_at(sc, v, V_WORD, X_ENV, RK_SECRET | RK_PASSWORD, NULL, 0, ' ');
}

/* ==== <password>value</password> ==================================================== */

/* One attribute of a tag at p: name="value" (or 'value', or \"value\" in raw
 * JSON). Fills the name and value spans; returns the end, or 0. */
static size_t xml_attr(const uint8_t *s, size_t n, size_t p, size_t *nb, size_t *ne, size_t *vb, size_t *ve)
{
    while (p < n && (s[p] == ' ' || s[p] == '\t' || s[p] == '\n' || s[p] == '\r')) p++;
    *nb = p;
    while (p < n && (RD_KEYCH(s[p]) || s[p] == ':')) p++;
    *ne = p;
    if (p == *nb || p + 2 >= n || s[p] != '=') return 0;
    p++;
    size_t esc = 0;
    while (p < n && s[p] == '\\' && esc < 8) { p++; esc++; }
    if (p >= n || (s[p] != '"' && s[p] != '\'')) return 0;
    uint8_t q = s[p++];
    *vb = p;
    while (p < n && s[p] != q && p - *vb <= 4096) p++;
    if (p >= n) { /* cut: the input ends inside the value */
        *ve = n;
        while (*ve > *vb && s[*ve - 1] == '\\') (*ve)--;
        return n;
    }
    if (s[p] != q) return 0;
    *ve = p; /* the closing quote's escapes, as many as the opening one's, if the value holds them */
    for (size_t k = 0; k < esc && *ve > *vb && s[*ve - 1] == '\\'; k++) (*ve)--;
    return p + 1;
}

/* .NET appSettings: <add key="ApiKey" value="..."/> at i (either order). */
static void xml_add_at(rd_scan *sc, size_t i, size_t tl)
{
    const uint8_t *s = sc->s;
    size_t n = sc->n, p = i + 1 + tl, vb = 0, ve = 0;
    int cls = RK_NONE, have_v = 0;
    for (int a = 0; a < 8 && p < n; a++) {
        size_t nb, ne, b, e, q = xml_attr(s, n, p, &nb, &ne, &b, &e);
        if (!q) { /* no more attributes: <entry key="password">value</entry> */
            while (p < n && (s[p] == ' ' || s[p] == '\t')) p++;
            if (cls == RK_NONE || p >= n || s[p] != '>') return;
            size_t a0 = p + 1, z = a0;
            while (z < n && z - a0 <= 4096 && s[z] != '<') z++;
            if (z < n && s[z] == '<' && !placeholder(s + a0, z - a0)) rd_add(sc, a0, z, ST_RULE_PASSWORD_ASSIGNMENT, RD_PRIO_CONTEXT);
            return;
        }
        p = q;
        if ((ne - nb == 3 && memcmp(s + nb, "key", 3) == 0) || (ne - nb == 4 && memcmp(s + nb, "name", 4) == 0))
            cls = key_class(s + b, e - b, NULL);
        else if (ne - nb == 5 && memcmp(s + nb, "value", 5) == 0) { vb = b; ve = e; have_v = 1; }
        if (cls != RK_NONE && have_v) {
            if (!placeholder(s + vb, ve - vb)) rd_add(sc, vb, ve, ST_RULE_PASSWORD_ASSIGNMENT, RD_PRIO_CONTEXT);
            return;
        }
    }
}

/* PHP: define('DB_PASSWORD', 'value'), define("AUTH_KEY", "...") at i
 * (WordPress wp-config.php): the constant's name is the key, judged as
 * any other (a define of another name, or of an expression, stays). */
void rd_define_at(rd_scan *sc, size_t i)
{
    const uint8_t *s = sc->s;
    size_t n = sc->n, p = i + 6;
    if (n - i < 14 || memcmp(s + i, "define", 6) != 0) return;
    while (p < n && (s[p] == ' ' || s[p] == '\t')) p++;
    if (p >= n || s[p] != '(') return;
    p++;
    while (p < n && (s[p] == ' ' || s[p] == '\t')) p++;
    size_t esc = 0;
    while (p < n && s[p] == '\\' && esc < 8) { p++; esc++; }
    if (p >= n || (s[p] != '\'' && s[p] != '"')) return;
    uint8_t q = s[p++];
    size_t kb = p;
    while (p < n && p - kb <= 64 && RD_KEYCH(s[p])) p++;
    size_t ke = p;
    if (ke == kb || p + esc >= n) return;
    for (size_t b = 0; b < esc; b++)
        if (s[p++] != '\\') return;
    if (s[p++] != q) return;
    while (p < n && (s[p] == ' ' || s[p] == '\t')) p++;
    if (p >= n || s[p] != ',') return;
    p++;
    while (p < n && (s[p] == ' ' || s[p] == '\t')) p++;
    const char *base = NULL;
    int cls = key_class(s + kb, ke - kb, &base);
    if (cls == RK_NONE) return;
    value_at(sc, p, V_WORD, X_CODE, cls, base, 0, '=');
}

/* R: name <- "value" (the '<' at i). */
static void r_assign_at(rd_scan *sc, size_t i)
{
    const uint8_t *s = sc->s;
    size_t n = sc->n, ws;
    int closed;
    if (i + 2 >= n || i == 0 || !(s[i + 2] == ' ' || s[i + 2] == '\t' || s[i + 2] == '"' || s[i + 2] == '\'')) return;
    size_t ke = rd_assign_key_end(s, i, &ws, &closed), k = ke;
    if (!ws && !closed) return; /* x<-y is rare; a<-b in arrows and diagrams */
    if (!rd_key_may_end_at(s, ke)) return;
    while (k > 0 && ke - k <= 128 && RD_KEYCH(s[k - 1])) k--;
    if (k == ke) return;
    const char *base = NULL;
    int cls = key_class(s + k, ke - k, &base);
    if (cls == RK_NONE) return;
    size_t v = i + 2;
    while (v < n && (s[v] == ' ' || s[v] == '\t')) v++;
    value_at(sc, v, V_LINE, X_CODE, cls, base, 0, '=');
}

void rd_xml_at(rd_scan *sc, size_t i)
{
    const uint8_t *s = sc->s;
    size_t n = sc->n, j = i + 1;
    if (j < n && s[j] == '<') { rd_herestring_at(sc, i); return; } /* "chpasswd <<< u:pw" */
    if (j < n && s[j] == '-') { r_assign_at(sc, i); return; }
    /* <add key= value=/> (.NET), <entry key=>v</entry> (Java properties XML),
     * <property name= value=/> or >v</property> (Spring, Hibernate, Maven), <param name=> */
    static const struct { const char *t; uint8_t l; } named[] = { { "add", 3 }, { "entry", 5 }, { "property", 8 },
                                                                 { "param", 5 }, { "parameter", 9 }, { "setting", 7 } };
    for (size_t t = 0; t < sizeof named / sizeof *named; t++)
        if (n - j > named[t].l && s[j] == (uint8_t)named[t].t[0] && memcmp(s + j, named[t].t, named[t].l) == 0 &&
            (s[j + named[t].l] == ' ' || s[j + named[t].l] == '\t')) {
            xml_add_at(sc, i, named[t].l);
            return;
        }
    if (j >= n || !is_ident_start(s[j])) return;
    while (j < n && j - i <= 64 && (RD_KEYCH(s[j]) || s[j] == ':')) j++;
    if (j >= n || s[j] != '>') return;
    const char *base = NULL;
    int cls = key_class(s + i + 1, j - i - 1, &base);
    if (cls == RK_NONE) return;
    size_t a = j + 1, e = a;
    while (e < n && e - a <= 4096 && s[e] != '<') e++;
    if (e + 1 >= n || s[e] != '<' || s[e + 1] != '/' || placeholder(s + a, e - a)) return;
    rd_add(sc, a, e, ST_RULE_PASSWORD_ASSIGNMENT, RD_PRIO_CONTEXT);
}
