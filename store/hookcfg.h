/*
 * hookcfg.h: registering `sealtrail hook` in a Claude Code settings.json
 * (../shared/claude-code/HOOKS.md §6) without disturbing anything else.
 *
 * Our handler, per event:
 *
 *   {"type":"command","command":"/abs/bin/sealtrail","args":["--dir","/abs/store","hook"],"timeout":10}
 *
 * Exec form ("args", Claude Code >= 2.1.139) runs the binary without a
 * shell: no quoting, paths with spaces and quotes work, no $HOME needed.
 * Shell form (for older clients) is one command string with both paths
 * single-quoted. A handler is "ours" when it is a command handler whose
 * program is named `sealtrail` and whose last argument is `hook`.
 *
 * install: for each event, an existing handler of ours is updated in place
 * (duplicates of ours removed); otherwise a new matcher group holding only
 * our handler is appended. Everything else (other hooks, other settings,
 * member order) is kept; the result is written only if it differs.
 * uninstall: removes our handlers from every event; matcher groups, event
 * arrays and the "hooks" object that become empty because of that are
 * removed too. (So an empty event array that was there before install is
 * gone after uninstall: it meant the same, no hooks for that event.)
 *
 * WorktreeCreate and WorktreeRemove are never registered by default: a
 * command hook there replaces Claude Code's own worktree handling.
 */
#ifndef ST_HOOKCFG_H
#define ST_HOOKCFG_H

#include <stddef.h>

#include "util.h"

#define ST_HOOKCFG_MAX_BYTES ((size_t)16 << 20)   /* settings.json read cap */

typedef struct st_hookcfg_opts {
    const char *binary;          /* absolute path of the sealtrail binary */
    const char *store_dir;       /* absolute store directory */
    int shell_form;              /* one command string instead of exec form */
    const char *const *events;   /* NULL = st_hookcfg_default_events(shell_form) */
    size_t nevents;
    unsigned timeout_s;          /* 0 = 10; SessionEnd gets min(timeout, 5) unless set explicitly */
} st_hookcfg_opts;

/* The default event list: every event of Claude Code 2.1.330 but the
 * worktree ones (exec form: clients new enough to ignore unknown names), or
 * the nine events every client since 1.0.38 knows (shell form: before
 * 2.1.101 an unknown event name invalidated the whole settings file). */
const char *const *st_hookcfg_default_events(int shell_form, size_t *n_out);

/* Merges our registration into settings text old[0..len) (empty = no file).
 * *out: the new text (malloc'd, NUL-terminated, 2-space indented, final LF);
 * *changed: whether it differs in meaning; summary gets one line per event
 * ("added PreToolUse", "updated Stop", "unchanged SessionEnd").
 * ST_EJSON if old is not JSON or holds a key twice in one object (Claude
 * Code would read only the last; refused, not guessed), ST_EFORMAT if its
 * shape is not settings
 * (hooks not an object, an event not an array), with err. */
ST_NODISCARD int st_hookcfg_install(const char *old, size_t len, const st_hookcfg_opts *o, char **out,
                                    int *changed, st_buf *summary, st_err *err);

/* Removes our handlers. Same outputs; *removed = number of handlers removed. */
ST_NODISCARD int st_hookcfg_uninstall(const char *old, size_t len, char **out, int *removed, st_buf *summary,
                                      st_err *err);

/* Whether settings text sets "disableAllHooks": true at the top level, which
 * turns off every hook of the settings files (HOOKS.md section 6): ours
 * would be registered and never run. Text that is not a settings object
 * counts as not disabling. */
int st_hookcfg_hooks_disabled(const char *text, size_t len);

/* Reads a settings file (at most ST_HOOKCFG_MAX_BYTES). A missing file is
 * empty text (*exists 0). Follows symlinks. */
ST_NODISCARD int st_hookcfg_read(const char *path, char **text, size_t *len, int *exists, st_err *err);

/* Writes text to path atomically: a temporary file beside the target
 * (through symlinks: the link's target is replaced, the link kept),
 * same mode as the old file (0644 if new), fsync, rename, fsync of the
 * directory. Creates the parent directory (0755) if missing. */
ST_NODISCARD int st_hookcfg_write(const char *path, const char *text, size_t len, st_err *err);

/* The shell-form command string for binary and store dir (both single-quoted). Caller frees. */
char *st_hookcfg_shell_command(const char *binary, const char *store_dir);

#endif
