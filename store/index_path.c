/*
 * index_path.c: which paths an entry touched, for the path index. Exact for
 * the file tools (tool_input.file_path, path, notebook_path); best effort
 * for shell commands (Bash, PowerShell): the command is split into words the
 * way a POSIX shell would quote them, and words that look like paths (hold a
 * '/', start with '.' or '~', or look like name.ext) are kept. Relative
 * paths are joined to the entry's cwd and normalized lexically ("." and ".."
 * removed, no file system access), so a query for /repo/src/auth finds
 * `cat src/auth/x.ts` run in /repo. Pure: no I/O.
 */
#include "index.h"

#include <string.h>

#define CMD_SCAN_MAX (64u << 10)   /* words beyond the first 64 KiB of a command are ignored */

typedef struct path_set {
    st_buf *out;
    size_t n;
    size_t start;        /* offset in out where this entry's paths begin */
} path_set;

static int already(const path_set *ps, const char *p, size_t l)
{
    size_t off = ps->start;
    for (size_t i = 0; i < ps->n; i++) {
        size_t pl = ((size_t)ps->out->data[off] << 8) | ps->out->data[off + 1];
        if (pl == l && memcmp(ps->out->data + off + 2, p, l) == 0) return 1;
        off += 2 + pl;
    }
    return 0;
}

/* Lexical normalization of an absolute path in place: "//" -> "/", "/./" -> "/", "a/.." -> "". */
static size_t normalize(char *p, size_t n)
{
    size_t w = 0, r = 0;
    while (r < n) {
        while (r < n && p[r] == '/') r++;
        size_t s = r;
        while (r < n && p[r] != '/') r++;
        size_t l = r - s;
        if (l == 0) break;
        if (l == 1 && p[s] == '.') continue;
        if (l == 2 && p[s] == '.' && p[s + 1] == '.') {
            while (w > 0 && p[w - 1] != '/') w--;
            if (w > 0) w--;  /* drop the slash too */
            continue;
        }
        p[w++] = '/';
        memmove(p + w, p + s, l);
        w += l;
    }
    if (w == 0) p[w++] = '/';
    return w;
}

static void add_path(path_set *ps, const char *p, size_t l, const char *cwd, size_t cwd_len)
{
    char tmp[ST_IX_PATH_MAX];
    if (ps->n >= ST_IX_MAX_PATHS || l == 0 || l >= ST_IX_PATH_MAX || memchr(p, 0, l)) return;
    size_t n;
    if (p[0] == '/') {
        memcpy(tmp, p, l);
        n = normalize(tmp, l);
    } else if (p[0] != '~' && cwd_len && cwd[0] == '/' && cwd_len + 1 + l < ST_IX_PATH_MAX &&
               !(l >= 2 && p[1] == ':')) {  /* not a Windows drive path */
        memcpy(tmp, cwd, cwd_len);
        tmp[cwd_len] = '/';
        memcpy(tmp + cwd_len + 1, p, l);
        n = normalize(tmp, cwd_len + 1 + l);
    } else {
        memcpy(tmp, p, l);
        n = l;
    }
    if (already(ps, tmp, n)) return;
    uint8_t h[2] = { (uint8_t)(n >> 8), (uint8_t)n };
    st_buf_put(ps->out, h, 2);
    st_buf_put(ps->out, tmp, n);
    ps->n++;
}

/* Does a shell word look like a path? */
static int pathlike(const char *w, size_t n)
{
    if (n == 0 || n >= ST_IX_PATH_MAX) return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)w[i];
        if (c == '$' || c == '`' || c == '*' || c == '?' || c == '[' || c == '{' || c < 0x20) return 0;
    }
    if (n >= 3 && memmem(w, n, "://", 3)) return 0;          /* a URL */
    if (memchr(w, '/', n)) return 1;
    if (w[0] == '~' || (w[0] == '.' && n > 1)) return 1;
    /* name.ext with a letter in the extension (skips 1.4.0) */
    const char *dot = memrchr(w, '.', n);
    if (!dot || dot == w || dot == w + n - 1) return 0;
    size_t el = (size_t)(w + n - dot - 1);
    if (el > 10 || memchr(w, '=', n) || memchr(w, ':', n)) return 0;
    for (const char *c = dot + 1; c < w + n; c++)
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z')) return 1;
    return 0;
}

/* Commands whose operands are files: their non-option words are paths even
 * without a '/' or an extension (rm -rf node_modules). */
static int file_command(const char *w, size_t n)
{
    static const char *const cmds[] = { "cat", "cp", "mv", "rm", "rmdir", "mkdir", "touch", "chmod", "chown",
                                        "ln", "head", "tail", "less", "more", "stat", "wc", "diff", "vi",
                                        "vim", "nano", "source", "truncate", "shred", "unlink", "tee" };
    const char *slash = memrchr(w, '/', n);                     /* /bin/rm -> rm */
    if (slash) { n -= (size_t)(slash + 1 - w); w = slash + 1; }
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (strlen(cmds[i]) == n && memcmp(cmds[i], w, n) == 0) return 1;
    return 0;
}

typedef struct word_state {
    size_t pos;       /* word position in the current simple command */
    int filecmd;      /* the command takes file operands */
    int redirect;     /* the previous token was < or > */
} word_state;

static void take_word(path_set *ps, word_state *st, const char *w, size_t n, const char *cwd, size_t cwd_len)
{
    size_t pos = st->pos++;
    int redirect = st->redirect;
    st->redirect = 0;
    if (n == 0) return;
    if (redirect) {
        if (!(n == 9 && memcmp(w, "/dev/null", 9) == 0)) add_path(ps, w, n, cwd, cwd_len);
        st->pos--;   /* a redirection target is not a command word */
        return;
    }
    if (pos == 0) {
        st->filecmd = file_command(w, n);
        if (memchr(w, '=', n)) st->pos = 0;                     /* VAR=value before the command */
        else if (memchr(w, '/', n) && pathlike(w, n)) add_path(ps, w, n, cwd, cwd_len); /* ./script.sh */
        return;
    }
    if (w[0] == '-') {                                          /* --out=/x/y: the value */
        const char *eq = memchr(w, '=', n);
        if (!eq) return;
        n -= (size_t)(eq + 1 - w);
        w = eq + 1;
        if (n && pathlike(w, n)) add_path(ps, w, n, cwd, cwd_len);
        return;
    }
    if (pathlike(w, n) || (st->filecmd && !memchr(w, '$', n) && !memchr(w, '*', n)))
        add_path(ps, w, n, cwd, cwd_len);
}

/* Splits a shell command into words (quotes and backslashes as POSIX sh;
 * ; | & ( ) and newlines end a simple command; < > end a word and make the
 * next word a redirection target) and keeps the path-like ones. */
static void scan_command(path_set *ps, const char *cmd, size_t len, const char *cwd, size_t cwd_len)
{
    char word[ST_IX_PATH_MAX];
    size_t wn = 0;
    int inword = 0, toolong = 0;
    word_state st = { 0, 0, 0 };
    if (len > CMD_SCAN_MAX) len = CMD_SCAN_MAX;
    for (size_t i = 0; i <= len; i++) {
        char c = i < len ? cmd[i] : '\n';
        int endcmd = c == '\n' || c == ';' || c == '|' || c == '(' || c == ')' ||
                     (c == '&' && !(i > 0 && (cmd[i - 1] == '>' || cmd[i - 1] == '<')));
        int redir = c == '<' || c == '>';
        if (endcmd || redir || c == ' ' || c == '\t' || c == '\r') {
            if (inword && !toolong) take_word(ps, &st, word, wn, cwd, cwd_len);
            else if (inword) st.pos++;
            wn = 0;
            inword = toolong = 0;
            if (endcmd) st = (word_state){ 0, 0, 0 };
            if (redir) st.redirect = !(i + 1 < len && cmd[i + 1] == '&');   /* 2>&1 */
            continue;
        }
        inword = 1;
        if (c == '\'') {
            while (++i < len && cmd[i] != '\'') {
                if (wn < sizeof word) word[wn++] = cmd[i];
                else toolong = 1;
            }
            continue;
        }
        if (c == '"') {
            while (++i < len && cmd[i] != '"') {
                if (cmd[i] == '\\' && i + 1 < len && strchr("\"\\$`", cmd[i + 1])) i++;
                if (wn < sizeof word) word[wn++] = cmd[i];
                else toolong = 1;
            }
            continue;
        }
        if (c == '\\' && i + 1 < len) c = cmd[++i];
        if (wn < sizeof word) word[wn++] = c;
        else toolong = 1;
    }
}

static int tool_is(const char *t, size_t n, const char *lit)
{
    return t && n == strlen(lit) && memcmp(t, lit, n) == 0;
}

size_t st_ix_paths(st_buf *out, const char *tool, size_t tool_len, const char *cwd, size_t cwd_len,
                   const st_json *ti)
{
    path_set ps = { out, 0, out->len };
    if (!ti || ti->type != ST_JSON_OBJECT) return 0;
    static const char *const keys[] = { "file_path", "notebook_path", "path" };
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        size_t l;
        const char *p = st_json_get_str(ti, keys[k], &l);
        if (p) add_path(&ps, p, l, cwd, cwd_len);
    }
    if (tool_is(tool, tool_len, "Bash") || tool_is(tool, tool_len, "PowerShell")) {
        size_t l;
        const char *cmd = st_json_get_str(ti, "command", &l);
        if (cmd) scan_command(&ps, cmd, l, cwd, cwd_len);
    }
    return ps.n;
}
