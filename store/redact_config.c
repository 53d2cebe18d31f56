/*
 * redact_config.c: custom redaction rules from a config file, as PCRE2
 * regular expressions JIT-compiled at load time (so a process without
 * custom rules never touches PCRE2).
 *
 * Format (UTF-8 text, at most ST_REDACT_CONFIG_MAX bytes, lines of at most
 * 4096 bytes; LF or CRLF):
 *
 *     # comment (also blank lines)
 *     rule <name> <regex>
 *     disable <built-in rule name>
 *
 * <name> matches [a-z0-9-]{1,40} and is not an earlier custom rule. A
 * custom rule named like a built-in one (a config written before a release
 * added that built-in) adds to it: both fire, and the custom rule's matches
 * count under the built-in's name. `disable <name>` with it turns only the
 * built-in detector off, so the pair replaces the built-in. <regex> is the rest of the line after the spaces
 * that follow the name, trailing spaces removed; PCRE2 syntax, UTF mode,
 * tolerant of invalid UTF-8 in subjects; inline options such as (?i) work.
 * If the regex has a group named "secret", only that group is redacted
 * (`rule acme-pin (?i)acme_pin=(?<secret>\d+)`); else the whole match.
 * A regex that matches the empty string is refused. A match that hits
 * PCRE2's match limit (pathological backtracking) redacts the whole string:
 * when the rule cannot tell, it fails closed.
 *
 * Errors name the line: "redact.conf:7: rule 'acme': regex error at offset
 * 3: missing closing parenthesis". A text with an error adds nothing.
 */
#include "redact_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#define LINE_MAX_BYTES 4096u
#define MATCH_LIMIT 5000000u
#define DEPTH_LIMIT 100000u

static pcre2_match_context *new_match_ctx(void)
{
    pcre2_match_context *c = pcre2_match_context_create(NULL);
    if (c) {
        pcre2_set_match_limit(c, MATCH_LIMIT);
        pcre2_set_depth_limit(c, DEPTH_LIMIT);
    }
    return c;
}

void rd_custom_free(st_redactor *r)
{
    for (size_t i = 0; i < r->ncustom; i++) pcre2_code_free(r->custom[i].code);
    r->ncustom = 0;
    pcre2_match_context_free(r->mctx);
    r->mctx = NULL;
}

static int name_ok(const char *s, size_t n)
{
    if (n == 0 || n > ST_REDACT_NAME_MAX) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-')) return 0;
    return 1;
}

static size_t tok(const char *s, size_t n, size_t *at)
{
    size_t i = *at;
    while (i < n && (s[i] == ' ' || s[i] == '\t')) i++;
    size_t b = i;
    while (i < n && s[i] != ' ' && s[i] != '\t') i++;
    *at = i;
    return b;
}

int st_redactor_load_config(st_redactor *r, const char *text, size_t len, const char *source, st_err *err)
{
    if (!r || (!text && len)) return ST_EINVAL;
    if (!source) source = "config";
    if (len > ST_REDACT_CONFIG_MAX) return st_fail(err, ST_ETOOBIG, "%s: larger than %zu bytes", source, ST_REDACT_CONFIG_MAX);
    if (!r->mctx && !(r->mctx = new_match_ctx())) return ENOMEM;
    rd_custom add[ST_REDACT_MAX_CUSTOM];
    size_t nadd = 0;
    uint64_t disable = 0;
    int rc = 0;
    unsigned lineno = 0;
    char name[ST_REDACT_NAME_MAX + 1];
    for (size_t p = 0; p < len && rc == 0;) {
        const char *nl = memchr(text + p, '\n', len - p);
        size_t e = nl ? (size_t)(nl - text) : len;
        const char *ln = text + p;
        size_t ll = e - p;
        p = e + 1;
        lineno++;
        if (ll > 0 && ln[ll - 1] == '\r') ll--;
        if (ll > LINE_MAX_BYTES) { rc = st_fail(err, ST_EFORMAT, "%s:%u: line longer than %u bytes", source, lineno, LINE_MAX_BYTES); break; }
        if (memchr(ln, '\0', ll)) { rc = st_fail(err, ST_EFORMAT, "%s:%u: NUL byte", source, lineno); break; }
        size_t at = 0, db = tok(ln, ll, &at), dl = at - db;
        if (dl == 0 || ln[db] == '#') continue;
        if (dl == 7 && memcmp(ln + db, "disable", 7) == 0) {
            size_t nb = tok(ln, ll, &at), nlen = at - nb;
            size_t extra = tok(ln, ll, &at);
            if (nlen == 0) { rc = st_fail(err, ST_EFORMAT, "%s:%u: disable: missing rule name", source, lineno); break; }
            if (extra < ll) { rc = st_fail(err, ST_EFORMAT, "%s:%u: disable: unexpected text after the rule name", source, lineno); break; }
            int id = -1;
            for (unsigned b = 0; b < ST_RULE_BUILTIN_COUNT; b++)
                if (strlen(rd_builtin_names[b]) == nlen && memcmp(rd_builtin_names[b], ln + nb, nlen) == 0) id = (int)b;
            if (id < 0) {
                rc = st_fail(err, ST_EFORMAT, "%s:%u: disable: '%.*s' is not a built-in rule", source, lineno,
                             (int)(nlen > 40 ? 40 : nlen), ln + nb);
                break;
            }
            disable |= (uint64_t)1 << id;
            continue;
        }
        if (!(dl == 4 && memcmp(ln + db, "rule", 4) == 0)) {
            rc = st_fail(err, ST_EFORMAT, "%s:%u: unknown directive '%.*s' (expected 'rule' or 'disable')", source,
                         lineno, (int)(dl > 40 ? 40 : dl), ln + db);
            break;
        }
        size_t nb = tok(ln, ll, &at), nlen = at - nb;
        if (!name_ok(ln + nb, nlen)) {
            rc = st_fail(err, ST_EFORMAT, "%s:%u: rule name '%.*s' must match [a-z0-9-]{1,40}", source, lineno,
                         (int)(nlen > 40 ? 40 : nlen), ln + nb);
            break;
        }
        memcpy(name, ln + nb, nlen);
        name[nlen] = '\0';
        int same = st_redactor_rule_id(r, name);
        int dup = 0;
        for (size_t k = 0; k < r->ncustom && !dup; k++) dup = strcmp(r->custom[k].name, name) == 0;
        for (size_t k = 0; k < nadd && !dup; k++) dup = strcmp(add[k].name, name) == 0;
        if (dup) { rc = st_fail(err, ST_EFORMAT, "%s:%u: rule '%s' is already defined", source, lineno, name); break; }
        while (at < ll && (ln[at] == ' ' || ln[at] == '\t')) at++;
        size_t re_end = ll;
        while (re_end > at && (ln[re_end - 1] == ' ' || ln[re_end - 1] == '\t')) re_end--;
        if (re_end == at) { rc = st_fail(err, ST_EFORMAT, "%s:%u: rule '%s': missing regex", source, lineno, name); break; }
        if (r->ncustom + nadd >= ST_REDACT_MAX_CUSTOM) {
            rc = st_fail(err, ST_EFORMAT, "%s:%u: more than %u custom rules", source, lineno, ST_REDACT_MAX_CUSTOM);
            break;
        }
        int ecode;
        PCRE2_SIZE eoff;
        pcre2_code *code = pcre2_compile((PCRE2_SPTR)(ln + at), re_end - at, PCRE2_UTF | PCRE2_MATCH_INVALID_UTF,
                                         &ecode, &eoff, NULL);
        if (!code) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(ecode, msg, sizeof msg);
            rc = st_fail(err, ST_EFORMAT, "%s:%u: rule '%s': regex error at offset %zu: %s", source, lineno, name,
                         (size_t)eoff, (const char *)msg);
            break;
        }
        (void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE); /* falls back to the interpreter */
        pcre2_match_data *md = pcre2_match_data_create_from_pattern(code, NULL);
        if (!md) { pcre2_code_free(code); rc = ENOMEM; break; }
        int empty = pcre2_match(code, (PCRE2_SPTR) "", 0, 0, 0, md, r->mctx);
        pcre2_match_data_free(md);
        if (empty >= 0) {
            pcre2_code_free(code);
            rc = st_fail(err, ST_EFORMAT, "%s:%u: rule '%s': regex matches the empty string", source, lineno, name);
            break;
        }
        int g = pcre2_substring_number_from_name(code, (PCRE2_SPTR) "secret");
        rd_custom *c = &add[nadd++];
        memcpy(c->name, name, nlen + 1);
        c->code = code;
        c->group = g > 0 ? (uint32_t)g : 0;
        c->builtin = same >= 0 && same < (int)ST_RULE_BUILTIN_COUNT ? same : -1;
    }
    if (rc != 0) {
        for (size_t k = 0; k < nadd; k++) pcre2_code_free(add[k].code);
        return rc;
    }
    memcpy(r->custom + r->ncustom, add, nadd * sizeof *add);
    r->ncustom += nadd;
    r->disabled |= disable;
    return 0;
}

int st_redactor_load_file(st_redactor *r, const char *path, st_err *err)
{
    if (!r || !path) return ST_EINVAL;
    /* O_NONBLOCK: a FIFO put in its place must not hang the hook or an append at open
     * (it is refused just below, as a key file is); a regular file reads as without it */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) { int e = errno; return st_fail(err, e, "%s: %s", path, strerror(e)); }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return st_fail(err, ST_EINVAL, "%s: not a regular file", path);
    }
    if ((size_t)st.st_size > ST_REDACT_CONFIG_MAX) {
        close(fd);
        return st_fail(err, ST_ETOOBIG, "%s: larger than %zu bytes", path, ST_REDACT_CONFIG_MAX);
    }
    size_t cap = (size_t)st.st_size + 1, len = 0;
    char *buf = malloc(cap);
    if (!buf) { close(fd); return ENOMEM; }
    for (;;) {
        ssize_t k = read(fd, buf + len, cap - len);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) { int e = errno; free(buf); close(fd); return st_fail(err, e, "%s: %s", path, strerror(e)); }
        if (k == 0) break;
        len += (size_t)k;
        if (len == cap) { free(buf); close(fd); return st_fail(err, ST_ETOOBIG, "%s: file grew while reading", path); }
    }
    close(fd);
    int rc = st_redactor_load_config(r, buf, len, path, err);
    free(buf);
    return rc;
}

/* ==== matching ====================================================================== */

void rd_scan_free_md(rd_scan *sc)
{
    pcre2_match_data_free(sc->md);
    sc->md = NULL;
}

int rd_scan_custom(rd_scan *sc)
{
    const st_redactor *r = sc->r;
    if (!sc->md) {
        uint32_t pairs = 1;
        for (size_t i = 0; i < r->ncustom; i++)
            if (r->custom[i].group + 1 > pairs) pairs = r->custom[i].group + 1;
        if (!(sc->md = pcre2_match_data_create(pairs, NULL))) return ENOMEM;
    }
    pcre2_match_data *md = sc->md;
    pcre2_match_context *mc = r->mctx;
    for (size_t i = 0; i < r->ncustom; i++) {
        const rd_custom *c = &r->custom[i];
        unsigned rule = c->builtin >= 0 ? (unsigned)c->builtin : ST_RULE_BUILTIN_COUNT + (unsigned)i;
        size_t start = 0;
        while (start <= sc->n) {
            int rc = pcre2_match(c->code, sc->s, sc->n, start, 0, md, mc);
            if (rc == PCRE2_ERROR_NOMATCH) break;
            if (rc < 0) { /* match limit or worse: cannot tell, fail closed */
                rd_add_any(sc, 0, sc->n, rule, RD_PRIO_TOKEN);
                break;
            }
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
            size_t so = ov[0], eo = ov[1];
            if (c->group && (uint32_t)rc > c->group && ov[2 * c->group] != PCRE2_UNSET)
                rd_add_any(sc, ov[2 * c->group], ov[2 * c->group + 1], rule, RD_PRIO_TOKEN);
            else if (!c->group)
                rd_add_any(sc, so, eo, rule, RD_PRIO_TOKEN);
            if (eo > start) {
                start = eo;
            } else { /* empty match: step one character */
                start = eo + 1;
                while (start < sc->n && (sc->s[start] & 0xC0) == 0x80) start++;
            }
        }
        if (sc->oom) return ENOMEM;
    }
    return 0;
}
