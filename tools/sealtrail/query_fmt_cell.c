/*
 * query_fmt_cell.c: one cell of the terminal tables of `query`, `tail` and
 * `stats` (qf_cell in query_fmt.h): measured in terminal columns, cut with
 * an ellipsis, with what a terminal must not interpret (controls, bidi
 * overrides) shown as spaces and undecodable bytes as U+FFFD; and the same
 * code points as U+FFFD in CSV text cells (qf_text_safe).
 */
#include <stddef.h>
#include <stdint.h>

#include "query_fmt.h"

/* One UTF-8 sequence at s (n > 0 bytes): its length, and *cp (U+FFFD for a
 * byte that does not start a valid sequence: then the length is 1). */
static size_t u8_next(const uint8_t *s, size_t n, uint32_t *cp)
{
    size_t len = st_utf8_next(s, n, cp);
    if (len) return len;
    *cp = 0xfffd;
    return 1;
}

typedef struct cp_range { uint32_t lo, hi; } cp_range;

static int in_ranges(uint32_t c, const cp_range *r, size_t n)
{
    for (size_t i = 0; i < n && c >= r[i].lo; i++)
        if (c <= r[i].hi) return 1;
    return 0;
}

/* What a terminal must not receive: C0 and C1 controls (U+009B is CSI on
 * some terminals), DEL, and the bidirectional and line/paragraph controls
 * that reorder or break what follows ("Trojan Source"). Shown as a space. */
static int cp_hidden(uint32_t c)
{
    static const cp_range r[] = { { 0x00, 0x1f }, { 0x7f, 0x9f }, { 0x061c, 0x061c }, { 0x200e, 0x200f },
                                  { 0x2028, 0x202e }, { 0x2066, 0x2069 } };
    return in_ranges(c, r, sizeof r / sizeof *r);
}

/* Terminal columns of a printable code point: 0 for the common combining
 * marks and joiners, 2 for East Asian Wide and Fullwidth (every W/F code
 * point of Unicode 14's EastAsianWidth.txt is in `wide`; the emoji blocks are
 * taken whole, so a few narrow symbols count 2), else 1. Terminals differ
 * on emoji sequences (ZWJ, VS16): those are approximate. */
static unsigned cp_width(uint32_t c)
{
    static const cp_range zero[] = { { 0x0300, 0x036f }, { 0x0483, 0x0489 }, { 0x0591, 0x05bd }, { 0x0610, 0x061a },
                                     { 0x064b, 0x065f }, { 0x1ab0, 0x1aff }, { 0x1dc0, 0x1dff }, { 0x200b, 0x200d },
                                     { 0x20d0, 0x20ff }, { 0xfe00, 0xfe0f }, { 0xfe20, 0xfe2f }, { 0xe0100, 0xe01ef } };
    static const cp_range wide[] = { { 0x1100, 0x115f }, { 0x231a, 0x231b }, { 0x2329, 0x232a }, { 0x23e9, 0x23ec },
                                     { 0x23f0, 0x23f0 }, { 0x23f3, 0x23f3 }, { 0x25fd, 0x25fe }, { 0x2614, 0x2615 },
                                     { 0x2648, 0x2653 }, { 0x267f, 0x267f }, { 0x2693, 0x2693 }, { 0x26a1, 0x26a1 },
                                     { 0x26aa, 0x26ab }, { 0x26bd, 0x26be }, { 0x26c4, 0x26c5 }, { 0x26ce, 0x26ce },
                                     { 0x26d4, 0x26d4 }, { 0x26ea, 0x26ea }, { 0x26f2, 0x26f3 }, { 0x26f5, 0x26f5 },
                                     { 0x26fa, 0x26fa }, { 0x26fd, 0x26fd }, { 0x2705, 0x2705 }, { 0x270a, 0x270b },
                                     { 0x2728, 0x2728 }, { 0x274c, 0x274c }, { 0x274e, 0x274e }, { 0x2753, 0x2755 },
                                     { 0x2757, 0x2757 }, { 0x2795, 0x2797 }, { 0x27b0, 0x27b0 }, { 0x27bf, 0x27bf },
                                     { 0x2b1b, 0x2b1c }, { 0x2b50, 0x2b50 }, { 0x2b55, 0x2b55 }, { 0x2e80, 0x303e },
                                     { 0x3041, 0x33ff }, { 0x3400, 0x4dbf }, { 0x4e00, 0x9fff }, { 0xa000, 0xa4cf },
                                     { 0xa960, 0xa97f }, { 0xac00, 0xd7a3 }, { 0xf900, 0xfaff }, { 0xfe10, 0xfe19 },
                                     { 0xfe30, 0xfe6f }, { 0xff00, 0xff60 }, { 0xffe0, 0xffe6 }, { 0x16fe0, 0x16ff1 },
                                     { 0x17000, 0x18d08 }, { 0x1aff0, 0x1b2ff }, { 0x1f004, 0x1f004 },
                                     { 0x1f0cf, 0x1f0cf }, { 0x1f18e, 0x1f18e }, { 0x1f191, 0x1f19a },
                                     { 0x1f200, 0x1f265 }, { 0x1f300, 0x1f64f }, { 0x1f680, 0x1f6ff },
                                     { 0x1f7e0, 0x1f7f0 }, { 0x1f900, 0x1f9ff }, { 0x1fa70, 0x1faff },
                                     { 0x20000, 0x2fffd }, { 0x30000, 0x3fffd } };
    if (c < 0x300) return 1;
    if (in_ranges(c, zero, sizeof zero / sizeof *zero)) return 0;
    return in_ranges(c, wide, sizeof wide / sizeof *wide) ? 2 : 1;
}

static unsigned cell_width(const uint8_t *s, size_t n, uint32_t *cp, size_t *len)
{
    *len = u8_next(s, n, cp);
    return cp_hidden(*cp) ? 1 : cp_width(*cp);
}

/* A cell is measured in terminal columns. Cut: the code points that fit in
 * w - 1 columns, then an ellipsis; never inside a UTF-8 sequence. Controls
 * print as a space, undecodable bytes as U+FFFD. */
void qf_cell(st_buf *out, const char *str, size_t n, unsigned w, int pad)
{
    const uint8_t *s = (const uint8_t *)str;
    size_t total = 0, len, i;
    uint32_t cp;
    for (i = 0; i < n && total <= w; i += len) total += cell_width(s + i, n - i, &cp, &len);
    int cuts = total > w;
    size_t room = cuts ? (w ? w - 1 : 0) : w, used = 0;
    for (i = 0; i < n; i += len) {
        unsigned cw = cell_width(s + i, n - i, &cp, &len);
        if (used + cw > room) break;
        used += cw;
        if (cp_hidden(cp)) st_buf_putc(out, ' ');
        else if (cp == 0xfffd && len == 1) st_buf_puts(out, "\xef\xbf\xbd");
        else st_buf_put(out, s + i, len);
    }
    if (cuts && w) { st_buf_puts(out, "\xe2\x80\xa6"); used++; }   /* … */
    if (pad) for (; used < w; used++) st_buf_putc(out, ' ');
}

/* CSV text cells (names, the error line): a cell cannot escape, and a
 * spreadsheet or `cat file.csv` shows it as it is, so what cp_hidden
 * names is replaced, visibly (U+FFFD, not a space: the cell says that it
 * differs from the stored value, which jsonl has exactly). */
void qf_text_safe(st_buf *out, const char *str, size_t n)
{
    const uint8_t *s = (const uint8_t *)str;
    size_t len;
    uint32_t cp;
    for (size_t i = 0; i < n; i += len) {
        size_t run = i;                                 /* printable ASCII goes out in runs */
        while (run < n && s[run] >= 0x20 && s[run] < 0x7f) run++;
        if (run > i) { st_buf_put(out, s + i, run - i); len = run - i; continue; }
        len = u8_next(s + i, n - i, &cp);
        if (cp_hidden(cp) || (cp == 0xfffd && len == 1)) st_buf_puts(out, "\xef\xbf\xbd");
        else st_buf_put(out, s + i, len);
    }
}
