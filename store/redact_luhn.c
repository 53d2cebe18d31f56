/*
 * redact_luhn.c: payment card numbers. A candidate is 13 to 19 digits,
 * either contiguous or in groups separated by single spaces or single
 * dashes (one kind per number; first group of 4, others of 1 to 6), whose
 * issuer prefix (IIN) fits the length and whose Luhn check digit is right.
 * The prefix rule is what keeps 13-digit millisecond timestamps, 16-digit
 * microsecond timestamps and most numeric ids (all starting with 1) safe.
 */
#include "redact_int.h"

int rd_luhn_ok(const uint8_t *d, size_t nd)
{
    unsigned sum = 0;
    for (size_t i = 0; i < nd; i++) {
        unsigned v = d[nd - 1 - i];
        if (i & 1) { v *= 2; if (v > 9) v -= 9; }
        sum += v;
    }
    return sum % 10 == 0;
}

/* Issuer prefix and length (ISO/IEC 7812 ranges of the major networks). */
static int iin_ok(const uint8_t *d, size_t nd)
{
    unsigned p1 = d[0], p2 = p1 * 10 + d[1], p3 = p2 * 10 + d[2], p4 = p3 * 10 + d[3];
    unsigned p6 = p4 * 100 + d[4] * 10u + d[5];
    if (p1 == 4) return nd == 13 || nd == 16 || nd == 19;                      /* Visa */
    if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return nd == 16; /* Mastercard */
    if (p2 == 34 || p2 == 37) return nd == 15;                                 /* American Express */
    if (p4 >= 2200 && p4 <= 2204) return nd >= 16 && nd <= 19;                 /* Mir */
    if (p4 == 6011 || p2 == 65 || (p3 >= 644 && p3 <= 649) || (p6 >= 622126 && p6 <= 622925))
        return nd >= 16 && nd <= 19;                                           /* Discover */
    if (p2 == 62) return nd >= 16 && nd <= 19;                                 /* UnionPay */
    if (p4 >= 3528 && p4 <= 3589) return nd >= 16 && nd <= 19;                 /* JCB */
    if ((p3 >= 300 && p3 <= 305) || p4 == 3095 || p2 == 36 || p2 == 38 || p2 == 39)
        return nd >= 14 && nd <= 19;                                           /* Diners Club */
    return 0;
}

static int card_ok(const uint8_t *d, size_t nd)
{
    return nd >= 13 && nd <= 19 && iin_ok(d, nd) && rd_luhn_ok(d, nd);
}

size_t rd_card_at(const uint8_t *s, size_t n, size_t i)
{
    uint8_t d[19];
    size_t nd = 0, ng = 0, j = i;
    size_t gend[8], gdig[8], glen[8]; /* per complete group: end offset, digits so far, length */
    uint8_t sep = 0;
    for (;;) {
        size_t g0 = j;
        while (j < n && s[j] >= '0' && s[j] <= '9') {
            if (nd == 19) { /* more than 19 digits */
                if (ng == 0) return 0;  /* one long number: not a card */
                goto evaluate;          /* drop this group, judge the ones before */
            }
            d[nd++] = (uint8_t)(s[j++] - '0');
        }
        gend[ng] = j;
        gdig[ng] = nd;
        glen[ng++] = j - g0;
        if (ng < 8 && j + 1 < n && (s[j] == ' ' || s[j] == '-') && (sep == 0 || sep == s[j]) && s[j + 1] >= '0' &&
            s[j + 1] <= '9') {
            sep = s[j++];
            continue;
        }
        break;
    }
    /* right boundary: not glued to a word or a decimal part */
    if (j < n && (RD_WORD(s[j]) || ((s[j] == '.' || s[j] == ',') && j + 1 < n && RD_DIGIT(s[j + 1])))) return 0;
evaluate:
    /* the longest run of whole groups that is a card: one run of digits, or
     * a first group of 4 and further groups of 1 to 6 ("4111 1111 1111 1111 2"
     * is the card, then the number 2) */
    for (size_t g = ng; g >= 1; g--) {
        int shape = g == 1 || glen[0] == 4;
        for (size_t k = 1; k < g && shape; k++) shape = glen[k] >= 1 && glen[k] <= 6;
        if (shape && card_ok(d, gdig[g - 1])) return gend[g - 1];
    }
    return 0;
}

int rd_card_number_literal(const char *s, size_t n)
{
    if (n < 13 || n > 19) return 0;
    uint8_t d[19];
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        d[i] = (uint8_t)(s[i] - '0');
    }
    return card_ok(d, n);
}
