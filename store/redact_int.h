/*
 * redact_int.h: what the redaction files share and nobody else sees: the
 * redactor struct, the match list a scan fills, the character-class table,
 * and the entry points of each scanner.
 *
 * A scan of one string collects candidate spans (start, end, rule) from
 * every detector; redact.c sorts and merges overlapping spans (the most
 * specific rule names the merged span) and writes the output.
 */
#ifndef ST_REDACT_INT_H
#define ST_REDACT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "redact.h"

/* ---- the rule set --------------------------------------------------------- */

typedef struct rd_custom {
    char name[ST_REDACT_NAME_MAX + 1];
    void *code;          /* pcre2_code_8 * */
    uint32_t group;      /* capture group "secret", or 0 = whole match */
    int builtin;         /* the built-in rule of the same name (its matches
                          * count under it, also when it is disabled), or -1 */
} rd_custom;

struct st_redactor {
    uint64_t disabled;   /* bit i: built-in rule i is off */
    void *mctx;          /* pcre2_match_context_8 * with match limits, when custom rules exist */
    size_t ncustom;
    rd_custom custom[ST_REDACT_MAX_CUSTOM];
};

extern const char *const rd_builtin_names[ST_RULE_BUILTIN_COUNT];

/* ---- matches ------------------------------------------------------------- */

/* Priorities when spans overlap: the highest names the merged span. */
enum { RD_PRIO_CONTEXT = 1, RD_PRIO_TOKEN = 2, RD_PRIO_BLOCK = 3 };

typedef struct rd_match {
    size_t start, end;
    uint16_t rule;
    uint8_t prio;
} rd_match;

/* Scan modes */
#define RD_RAW 0x01u  /* bytes may be JSON text: `"` ends a value, backslash escapes separate */


typedef struct rd_scan {
    const st_redactor *r;   /* may be NULL */
    const uint8_t *s;
    size_t n;
    unsigned mode;
    rd_match *m;
    size_t nm, cap;
    int oom;
    void *md;               /* pcre2_match_data_8 *, created on first use */
    size_t aws_until;       /* an AWS key id was seen: look for its secret key up to here */
    /* redact_assign.c: the last unquoted value scanned ([val_from, val_end),
     * val_end 0: none) and the conditions it was scanned under */
    size_t val_from, val_end;
    unsigned val_key;
    /* redact_cmd.c: the command words read for the last flag (from
     * cmd_from, up to cmd_to; cmd_to 0: none), so the next flag of the same
     * command reads only the words after it */
    size_t cmd_from, cmd_to, cmd_word;
    unsigned cmd_found, cmd_state;
    /* redact_cmd.c: a heredoc's body was read up to here (a "<<" before it
     * is inside that body, or on its line, and is not read again) */
    size_t heredoc_end;
} rd_scan;

/* Adds a candidate span (ignored if the rule is disabled or the span empty). */
void rd_add(rd_scan *sc, size_t start, size_t end, unsigned rule, unsigned prio);
/* The same whether or not the rule is disabled (a custom rule named like a
 * built-in one counts under the built-in's id). */
void rd_add_any(rd_scan *sc, size_t start, size_t end, unsigned rule, unsigned prio);

/* ---- character classes ----------------------------------------------------- */

enum {
    RC_DIGIT = 0x01, RC_UPPER = 0x02, RC_LOWER = 0x04, RC_UNDER = 0x08,
    RC_DASH = 0x10,  RC_B64X = 0x20,  /* + / */
    RC_SPACE = 0x40, /* space, tab, CR, LF */
    RC_KEYX = 0x80,  /* . (key punctuation besides _ and -) */
};
extern const uint8_t rd_cls[256];

#define RD_ALNUM(c)  (rd_cls[(uint8_t)(c)] & (RC_DIGIT | RC_UPPER | RC_LOWER))
#define RD_ALPHA(c)  (rd_cls[(uint8_t)(c)] & (RC_UPPER | RC_LOWER))
#define RD_DIGIT(c)  (rd_cls[(uint8_t)(c)] & RC_DIGIT)
#define RD_WORD(c)   (rd_cls[(uint8_t)(c)] & (RC_DIGIT | RC_UPPER | RC_LOWER | RC_UNDER))
#define RD_B64URL(c) (rd_cls[(uint8_t)(c)] & (RC_DIGIT | RC_UPPER | RC_LOWER | RC_UNDER | RC_DASH))
#define RD_B64(c)    (rd_cls[(uint8_t)(c)] & (RC_DIGIT | RC_UPPER | RC_LOWER | RC_B64X))
#define RD_SPACE(c)  (rd_cls[(uint8_t)(c)] & RC_SPACE)
#define RD_KEYCH(c)  (rd_cls[(uint8_t)(c)] & (RC_DIGIT | RC_UPPER | RC_LOWER | RC_UNDER | RC_DASH | RC_KEYX))

/* If s[i] starts an escape written out as text (\n \r \t \b \f, \uXXXX),
 * the index after it, else 0. */
size_t rd_escape_end(const uint8_t *s, size_t n, size_t i);
/* Does an escape written out as text (\n, \t, \u0000 ...) end at s[i]? */
int rd_escape_before(const uint8_t *s, size_t i);

/* If s[p] starts a line break or tab written out as text, escaped once or
 * more (\n, \\n, \\\n: JSON inside a JSON string, in raw input or in a
 * tool's output), its length, else 0. */
static inline size_t rd_written_break(const uint8_t *s, size_t n, size_t p)
{
    size_t k = 0;
    while (p + k < n && s[p + k] == '\\' && k < 8) k++;
    return k && p + k < n && (s[p + k] == 'n' || s[p + k] == 'r' || s[p + k] == 't') ? k + 1 : 0;
}

/* ---- the driver (redact.c), shared with redact_tree.c -------------------------- */

#define RD_MARK_PRE "[REDACTED:"
void rd_scan_init(rd_scan *sc, const st_redactor *r);
void rd_scan_free(rd_scan *sc);
/* Runs every detector over s[0..n) and leaves the merged spans in sc. 0 or ENOMEM. */
int rd_run(rd_scan *sc, const uint8_t *s, size_t n, unsigned mode);
/* The same with only the detectors of the event's context (a tree's second
 * walk): RD_CTX_PGPASS the .pgpass lines, RD_CTX_SCRIPT the command forms
 * of rd_cmd_extras. */
enum { RD_CTX_PGPASS = 1, RD_CTX_SCRIPT = 2 };
int rd_run_context(rd_scan *sc, const uint8_t *s, size_t n, unsigned mode, unsigned ctx);
/* Key-aware value: make [from, n) one span of `rule` unless the detectors'
 * spans already cover it (then their more specific names stay). 0 or ENOMEM. */
int rd_force_whole(rd_scan *sc, size_t from, unsigned rule);
/* Length of the redacted text, and writing it (no NUL) with the counts. */
size_t rd_out_len(const rd_scan *sc);
void rd_out_write(const rd_scan *sc, uint8_t *dst, st_redact_counts *c);

/* ---- detectors -------------------------------------------------------------- */

void rd_scan_builtin(rd_scan *sc);                     /* redact_scan.c */
/* The same with a chosen way of finding candidates (tests compare them):
 * RD_ISA_REF one byte at a time, the reference; the others 64 bytes at a
 * time with the given classifier. rd_isa_available says if the CPU has it. */
enum { RD_ISA_REF = 0, RD_ISA_BYTES, RD_ISA_SSE2, RD_ISA_SSSE3, RD_ISA_AVX2, RD_ISA_COUNT };
void rd_scan_builtin_isa(rd_scan *sc, int isa);
int rd_isa_available(int isa);
/* 1 if the table form of the two-byte token filter equals its switch form. */
int rd_token_start2_agree(void);
/* Key-aware detectors, called by the scanner at '=', ':', '-', '<'. */
void rd_assign_at(rd_scan *sc, size_t i);              /* redact_assign.c: '=' or ':' at i */
void rd_yaml_value_at(rd_scan *sc, size_t i);          /* "value:" after "name: DB_PASSWORD", ':' at i */
void rd_oracle_thin_at(rd_scan *sc, size_t i);         /* "jdbc:oracle:thin:user/password@", ':' at i */
void rd_flag_at(rd_scan *sc, size_t i);                /* "--name value" starting at i */
void rd_xml_at(rd_scan *sc, size_t i);                 /* "<name>value</" starting at i */
void rd_netrc_at(rd_scan *sc, size_t i);               /* "login x password y" (.netrc), "password" at i */
/* A literal value at v (quoted or a word; to the end of the line if line)
 * under a key of class cls: redacted unless a placeholder. */
void rd_literal_at(rd_scan *sc, size_t v, int cls, int line); /* redact_assign.c */
/* Command lines (redact_cmd.c): the flag at i ('-'), if the command makes
 * it a password flag (mysql -pX, sshpass -p X, curl -u u:X, ...): 1 when
 * handled. "aws_..." at i after "set"; "ENV KEY value" at i. */
int rd_cmd_flag_at(rd_scan *sc, size_t i);
void rd_aws_set_at(rd_scan *sc, size_t i);
void rd_docker_env_at(rd_scan *sc, size_t i);
/* "| chpasswd", "| docker login --password-stdin", "| sudo -S" at the '|'
 * i: the echo/printf argument before it, or the heredoc of "cat <<EOF |";
 * "<<<" at i: the word after it; "<<EOF" at i: the heredoc's lines
 * (redact_cmd.c). "git config KEY VALUE" at i ("git"). */
void rd_pipe_at(rd_scan *sc, size_t i);
void rd_herestring_at(rd_scan *sc, size_t i);
void rd_git_config_at(rd_scan *sc, size_t i);
/* PHP define('DB_PASSWORD', '...') at i ("define", not after '_') (redact_assign.c). */
void rd_define_at(rd_scan *sc, size_t i);
/* "yarn config set npmAuthToken X" at i ("yarn") (redact_cmd.c). */
void rd_yarn_config_at(rd_scan *sc, size_t i);
/* .pgpass lines (host:port:db:user:password) in s[0..n), when the event
 * names a .pgpass file (redact_cmd.c). */
void rd_pgpass_lines(rd_scan *sc);
/* A command (a "command" member; in raw input the JSON string after a
 * "command" key) in s[from, to): setx, SQL PASSWORD 'x' and IDENTIFIED BY
 * 'x', ConvertTo-SecureString, rabbitmqctl, sqlplus, net use (redact_cmd.c). */
void rd_cmd_extras(rd_scan *sc, size_t from, size_t to);
/* s[0..n) names a .sql, .bat, .cmd or .ps1 file (redact_cmd.c). */
int rd_script_named(const uint8_t *s, size_t n);
/* Sorts and merges the spans of sc again after more were added (redact.c). */
void rd_merge(rd_scan *sc);
/* Payment card at i (a digit at a word start); returns the end or 0. */
size_t rd_card_at(const uint8_t *s, size_t n, size_t i);   /* redact_luhn.c */
int rd_luhn_ok(const uint8_t *digits, size_t nd);
/* A JSON number literal that is a card number? */
int rd_card_number_literal(const char *s, size_t n);

/* Custom rules (redact_config.c). Returns 0 or ENOMEM. */
int rd_scan_custom(rd_scan *sc);
void rd_custom_free(st_redactor *r);
void rd_scan_free_md(rd_scan *sc);

/* ---- key classification (redact_assign.c) --------------------------------- */

enum rd_key_class {
    RK_NONE = 0,
    RK_SECRET,      /* password, token, secret, api key ...: password-assignment */
    RK_AUTH,        /* authorization / auth: a leading scheme word is kept */
    RK_AWS_SECRET,  /* aws secret access key: aws-secret-access-key */
};
#define RK_PASSWORD 0x10          /* flag: a password word (numbers are redacted too) */

static inline uint8_t rd_lower(uint8_t c) { return (c >= 'A' && c <= 'Z') ? (uint8_t)(c | 0x20) : c; }

/* A quick reject on the last two letters (lowercase) of a name: every
 * keyword of rd_key_class ends in one of rd wd se ie ss ls et en on ey th al. */
static inline int rd_credential_end(uint8_t l1, uint8_t l2)
{
    switch (l2) {
    case 'd': return l1 == 'r' || l1 == 'w';
    case 'e': return l1 == 's' || l1 == 'i';
    case 's': return l1 == 's' || l1 == 'l';
    case 't': return l1 == 'e';
    case 'n': return l1 == 'e' || l1 == 'o';
    case 'y': return l1 == 'e';
    case 'h': return l1 == 't';
    case 'l': return l1 == 'a';
    }
    return 0;
}

/* An Azure SAS "sig" parameter ends at s[ke]: "?sig=", "&sig=", XML's
 * "&amp;sig=" (a shared access signature: the credential of the URL). */
static inline int rd_sas_sig_key(const uint8_t *s, size_t ke)
{
    if (ke < 4 || s[ke - 1] != 'g' || s[ke - 2] != 'i' || s[ke - 3] != 's') return 0;
    uint8_t b = s[ke - 4];
    return b == '?' || b == '&' ||
           (b == ';' && ke >= 8 && s[ke - 8] == '&' && s[ke - 7] == 'a' && s[ke - 6] == 'm' && s[ke - 5] == 'p');
}

/* Can a key that ends at s[ke] (exclusive) name a credential? Looks only at
 * its last two letters, after trailing digits and _ - . (as rd_key_class
 * does), or whether it is a SAS "sig": 0 means certainly not. */
static inline int rd_key_may_end_at(const uint8_t *s, size_t ke)
{
    size_t q = ke;
    while (q > 0 && ke - q <= 128 && RD_KEYCH(s[q - 1]) && !RD_ALPHA(s[q - 1])) q--;
    return (q >= 2 && RD_ALPHA(s[q - 1]) && rd_credential_end(rd_lower(s[q - 2]), rd_lower(s[q - 1]))) ||
           rd_sas_sig_key(s, ke);
}

/* The end of the key before an '=' or ':' at s[i]: back over up to 8 spaces
 * or tabs, a ']' after a quote (cfg["password"] =), a closing quote and the
 * backslashes escaping it. *ws: the spaces; *key_closed: a quote closed it. */
static inline size_t rd_assign_key_end(const uint8_t *s, size_t i, size_t *ws, int *key_closed)
{
    size_t k = i, w = 0;
    while (k > 0 && (s[k - 1] == ' ' || s[k - 1] == '\t') && w < 8) { k--; w++; }
    if (k > 1 && s[k - 1] == ']' && (s[k - 2] == '"' || s[k - 2] == '\'')) k--;
    int closed = 0;
    if (k > 0 && (s[k - 1] == '"' || s[k - 1] == '\'')) {
        k--;
        closed = 1;
        for (int b = 0; b < 8 && k > 0 && s[k - 1] == '\\'; b++) k--;
    }
    *ws = w;
    *key_closed = closed;
    return k;
}
#define RK_CLASS(x) ((x) & 0x0f)
/* Classifies an object key, env variable, flag or header name: a class,
 * maybe with RK_PASSWORD. */
int rd_key_class(const char *k, size_t n);
/* Should a JSON string value under a key of class cls be redacted? (Not
 * empty, not a placeholder such as ${VAR}, not a literal like null, not an
 * authorization scheme alone or followed by a placeholder.) */
int rd_tree_value_secret(const char *v, size_t n, int cls);
/* Length of a leading authorization scheme word plus spaces ("Bearer "), or 0. */
size_t rd_auth_scheme_len(const uint8_t *v, size_t n);
/* AWS secret access key shape: 40 chars [A-Za-z0-9/+], mixed. */
int rd_aws_secret_shape(const uint8_t *v, size_t n);

#endif
