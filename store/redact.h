/*
 * redact.h: removes secrets from hook events before anything is hashed or
 * written (DESIGN.md section 2, issue 3 item 3, docs/REDACTION.md).
 *
 * Each secret found is replaced by the marker "[REDACTED:<rule-name>]" and
 * counted per rule; the counts become the entry's `redactions` member. The
 * secret itself, or any hash of it, never leaves this module.
 *
 * Engine: the built-in rules are one hand-written single-pass scanner
 * (redact_scan.c, redact_assign.c, redact_cmd.c, redact_luhn.c): no compile step, so a
 * process pays nothing to set it up. Custom rules from a config file are
 * PCRE2 regular expressions, JIT-compiled when the config is loaded, so only
 * processes that have custom rules pay for them (redact_config.c).
 *
 * CAVEATS
 *  - Redaction is a safety net for secrets that reach the agent's tool
 *    input and output by accident. It cannot stop an agent that wants to
 *    exfiltrate a secret (base64 it, split it across fields, spell it out).
 *    docs/REDACTION.md lists what is caught and what is not.
 *  - A redactor is read-only once loaded: one st_redactor may be used by
 *    several threads at once. Loading config into it is not thread-safe.
 *  - Strings are handled with their lengths: NUL bytes are ordinary
 *    separators, never terminators.
 *  - JSON-tree redaction works on decoded strings (escapes such as \u0041
 *    already resolved by the parser) and on object keys, at every depth,
 *    without recursion. Raw-buffer redaction (input that is not JSON) sees
 *    the bytes as they are; see st_redact_bytes.
 *  - Redacted object keys that would collide with another key of the same
 *    object get a suffix "#2", "#3", ... so the output has no duplicate keys.
 *
 * ERRORS
 *  0 on success; ENOMEM; ST_EINVAL for bad arguments; ST_EFORMAT for a
 *  malformed config (err->msg names the source and line); errno values from
 *  reading a config file.
 */
#ifndef ST_REDACT_H
#define ST_REDACT_H

#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "util.h"

/* Limits. Rule names match [a-z0-9-]{1,40}. */
#define ST_REDACT_NAME_MAX    40u
#define ST_REDACT_MAX_CUSTOM  64u
#define ST_REDACT_MAX_RULES   128u   /* built-in + custom; ids are < this */
#define ST_REDACT_CONFIG_MAX  ((size_t)1 << 20)  /* config file bytes */

/* Built-in rule ids (stable within a build; names are the stable contract). */
enum st_redact_builtin {
    ST_RULE_AWS_ACCESS_KEY_ID = 0,  /* aws-access-key-id */
    ST_RULE_AWS_SECRET_KEY,         /* aws-secret-access-key */
    ST_RULE_GOOGLE_API_KEY,         /* google-api-key */
    ST_RULE_GITHUB_TOKEN,           /* github-token */
    ST_RULE_GITLAB_TOKEN,           /* gitlab-token */
    ST_RULE_ANTHROPIC_KEY,          /* anthropic-api-key */
    ST_RULE_OPENAI_KEY,             /* openai-api-key */
    ST_RULE_SLACK_TOKEN,            /* slack-token */
    ST_RULE_SLACK_WEBHOOK,          /* slack-webhook-url */
    ST_RULE_STRIPE_KEY,             /* stripe-key */
    ST_RULE_NPM_TOKEN,              /* npm-token */
    ST_RULE_HUGGINGFACE_TOKEN,      /* huggingface-token */
    ST_RULE_PYPI_TOKEN,             /* pypi-token */
    ST_RULE_SENDGRID_KEY,           /* sendgrid-api-key */
    ST_RULE_DIGITALOCEAN_TOKEN,     /* digitalocean-token */
    ST_RULE_VAULT_TOKEN,            /* hashicorp-vault-token (hvs. hvb. hvr.) */
    ST_RULE_DATABRICKS_TOKEN,       /* databricks-token (dapi + 32 hex) */
    ST_RULE_SHOPIFY_TOKEN,          /* shopify-token (shpat_ shpss_ shpca_ shppa_ + 32 hex) */
    ST_RULE_TWILIO_KEY,             /* twilio-api-key (SK + 32 hex) */
    ST_RULE_TWILIO_AUTH_TOKEN,      /* twilio-auth-token (32 hex near an AC + 32 hex account SID) */
    ST_RULE_GOOGLE_OAUTH,           /* google-oauth-token (ya29. access, 1//0 refresh) */
    ST_RULE_GOOGLE_CLIENT_SECRET,   /* google-client-secret (GOCSPX-) */
    ST_RULE_TELEGRAM_TOKEN,         /* telegram-bot-token (digits:AA...) */
    ST_RULE_DISCORD_WEBHOOK,        /* discord-webhook-url */
    ST_RULE_PASSWORD_HASH,          /* password-hash (crypt(3): $1$ $2b$ $5$ $6$ $7$ $y$, argon2, pbkdf2) */
    ST_RULE_AGE_KEY,                /* age-secret-key (AGE-SECRET-KEY-1...) */
    ST_RULE_HEROKU_KEY,             /* heroku-api-key (HRKU-...) */
    ST_RULE_JWT,                    /* jwt */
    ST_RULE_PRIVATE_KEY,            /* private-key (PEM block) */
    ST_RULE_PAYMENT_CARD,           /* payment-card (Luhn) */
    ST_RULE_URL_CREDENTIALS,        /* url-credentials (password in scheme://user:pass@host) */
    ST_RULE_AUTH_HEADER,            /* authorization-header (Authorization: Bearer/Basic ...) */
    ST_RULE_PASSWORD_ASSIGNMENT,    /* password-assignment (value of a credential-named key) */
    ST_RULE_BUILTIN_COUNT
};

/* A rule set: the built-in rules, minus any disabled, plus custom rules. */
typedef struct st_redactor st_redactor;

/* Per-rule counts of one redaction call (or several: counts accumulate).
 * n[id] is the number of markers written for rule id. */
typedef struct st_redact_counts {
    uint32_t n[ST_REDACT_MAX_RULES];
    uint64_t total;
} st_redact_counts;

void st_redact_counts_init(st_redact_counts *c);

/* A new rule set with the built-in rules only. ENOMEM. Cheap: no compile. */
ST_NODISCARD int st_redactor_new(st_redactor **out);
void st_redactor_free(st_redactor *r);  /* NULL is a no-op */

/* Adds the rules of a config text (format in docs/REDACTION.md and in
 * redact_config.c): one directive per line,
 *     # comment
 *     rule <name> <PCRE2 regex>      redact every match (or only the group
 *                                    named "secret", if the regex has one)
 *     disable <built-in rule name>   turn a built-in rule off
 * `source` names the text in error messages ("redact.conf"). On error
 * nothing of this text is added; returns ST_EFORMAT with err->msg
 * "<source>:<line>: <reason>". */
ST_NODISCARD int st_redactor_load_config(st_redactor *r, const char *text, size_t len,
                                         const char *source, st_err *err);
/* Same, from a file (at most ST_REDACT_CONFIG_MAX bytes). ENOENT etc. pass through. */
ST_NODISCARD int st_redactor_load_file(st_redactor *r, const char *path, st_err *err);

/* Rule ids are 0 .. st_redactor_rule_count()-1; built-ins first.
 * Names are borrowed (valid while r lives). r may be NULL: the built-ins. */
size_t st_redactor_rule_count(const st_redactor *r);
const char *st_redactor_rule_name(const st_redactor *r, size_t id);
/* Id of a rule by name, or -1. */
int st_redactor_rule_id(const st_redactor *r, const char *name);

/* Redacts a JSON value tree in place: every string value and every object
 * key at every depth, plus credential-named members (key-aware rule) and
 * card numbers written as JSON numbers. Replaced strings are allocated in
 * doc (st_json_doc_alloc); a redacted number becomes a string node.
 * r NULL = built-in rules. Returns 0, ENOMEM, or ST_EINVAL. On ENOMEM the
 * tree may be partly redacted: the caller must not store it. */
ST_NODISCARD int st_redact_json(const st_redactor *r, st_json_doc *doc, st_json *v,
                                st_redact_counts *counts);

/* Redacts decoded text (as in a JSON string value, or a line of a log).
 * *out receives a malloc'd NUL-terminated copy, redacted or not; caller
 * frees. counts may be NULL. */
ST_NODISCARD int st_redact_text(const st_redactor *r, const char *in, size_t len,
                                char **out, size_t *out_len, st_redact_counts *counts);

/* Redacts a raw byte buffer that could not be parsed as JSON (a truncated
 * or malformed event). It is scanned as text that may be JSON: escaped
 * quotes and \n, \t, \uXXXX escapes count as separators, and \u00XX escapes
 * of printable ASCII (other than " and \) and \/ are decoded first, so they
 * cannot hide a token. The result is appended to out (check out->oom). */
ST_NODISCARD int st_redact_bytes(const st_redactor *r, const uint8_t *in, size_t len,
                                 st_buf *out, st_redact_counts *counts);

/* The envelope's `redactions` object: rule name -> count, for every rule
 * with a nonzero count (members in rule-id order; sort when writing).
 * Returns an empty object if nothing was redacted, NULL on ENOMEM. */
st_json *st_redact_counts_to_json(const st_redactor *r, const st_redact_counts *c,
                                  st_json_doc *doc);

#endif
