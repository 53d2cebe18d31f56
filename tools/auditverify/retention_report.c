/*
 * retention_report.c: the retention section of auditverify's report. It
 * always states the retention verdict apart from the integrity verdict:
 * integrity says the bundles are what the log signed; retention says
 * whether the set shows the policy was kept (nothing removed before the
 * minimum, every removal covered by a record, no gap, what is held past the
 * maximum). docs/VERIFYING.md "Retention" lists the rules R1-R6.
 */
#include "retention_report.h"

#include <inttypes.h>
#include <string.h>

#include "json.h"
#include "util.h"

static const char *severity_word(int s)
{
    return s == ST_RCS_VIOLATION ? "violation" : s == ST_RCS_INCONCLUSIVE ? "inconclusive" : "warning";
}

static const char *verdict_word(int v)
{
    switch (v) {
    case ST_RC_COMPLIANT: return "COMPLIANT";
    case ST_RC_VIOLATED: return "VIOLATED";
    default: return "INCONCLUSIVE";
    }
}

void retention_human(FILE *f, int integrity, const st_rc_report *r)
{
    if (integrity != 0 || !r) {
        fprintf(f, "RETENTION NOT EVALUATED  (integrity failed: retention is judged only on bundles that verify)\n");
        return;
    }
    char when[32], a[32], b[32];
    st_time_format_rfc3339(when, r->as_of_us);
    fprintf(f, "RETENTION %s  (integrity: every bundle verified)\n", verdict_word(r->verdict));
    fprintf(f, "  %-14s%s (the newest checkpoint among the bundles, unless --as-of)\n", "as of", when);
    if (r->has_policy) {
        st_rrec_format_duration(a, r->policy.min_us);
        st_rrec_format_duration(b, r->policy.max_us);
        fprintf(f, "  %-14srecord %" PRIu64 ": minimum %s, maximum %s\n", "policy", r->policy.index, a,
                r->policy.has_max ? b : "none");
    } else {
        fprintf(f, "  %-14snone in the bundles (minimum 0: nothing is protected)\n", "policy");
    }
    fprintf(f, "  %-14s%" PRIu64 " bundle(s) covering %" PRIu64 " of entries 0..%" PRId64 "\n", "coverage", r->bundles,
            r->entries_covered, (int64_t)r->span_end - 1);
    fprintf(f, "  %-14s%" PRIu64 " entries still under the minimum retention\n", "protected", r->entries_young);
    fprintf(f, "  %-14s%" PRIu64 " policy, %" PRIu64 " archive, %" PRIu64 " prune, %" PRIu64 " erasure\n", "records",
            r->records_policy, r->records_archive, r->records_prune, r->records_erasure);
    fprintf(f, "  %-14sentries with payloads erased %" PRIu64 ", archived %" PRIu64 ", pruned %" PRIu64 "\n", "removals",
            r->payload_entries_erased, r->payload_entries_archived, r->payload_entries_pruned);
    for (size_t i = 0; i < r->narchives; i++) {
        const st_rc_archive *x = &r->archives[i];
        fprintf(f, "  %-14s%s  entries %" PRIu64 "..%" PRIu64 "  record %" PRIu64 "  %s\n", i ? "" : "archives", x->file,
                x->begin, x->end - 1, x->record, x->status);
    }
    if (r->archives_total > r->narchives)
        fprintf(f, "  %-14s(%" PRIu64 " more)\n", "", r->archives_total - r->narchives);
    if (r->entries_held_past_max)
        fprintf(f, "  %-14s%" PRIu64 " entries have payloads held past the maximum retention\n", "over-retained",
                r->entries_held_past_max);
    for (size_t i = 0; i < r->nfindings; i++)
        fprintf(f, "  %-14s%s: %s\n", severity_word(r->findings[i].severity), st_rc_finding_name(r->findings[i].kind),
                r->findings[i].msg);
    uint64_t total = r->violations + r->inconclusive + r->warnings;
    if (total > r->nfindings) fprintf(f, "  (%" PRIu64 " more findings not listed)\n", total - r->nfindings);
}

static void jstr(FILE *f, const char *s)
{
    st_buf b = { 0 };
    st_json_write_string(&b, s, strlen(s));
    if (!b.oom) fwrite(b.data, 1, b.len, f);
    st_buf_free(&b);
}

void retention_json(FILE *f, int integrity, const st_rc_report *r)
{
    if (integrity != 0 || !r) {
        fprintf(f, "{\"evaluated\":false,\"verdict\":\"not evaluated\"}");
        return;
    }
    fprintf(f, "{\"archives\":[");
    for (size_t i = 0; i < r->narchives; i++) {
        const st_rc_archive *x = &r->archives[i];
        fprintf(f, "%s{\"begin\":%" PRIu64 ",\"end\":%" PRIu64 ",\"file\":", i ? "," : "", x->begin, x->end);
        jstr(f, x->file);
        fprintf(f, ",\"record\":%" PRIu64 ",\"status\":\"%s\"}", x->record, x->status);
    }
    fprintf(f, "],\"archives_total\":%" PRIu64 ",\"as_of_us\":%" PRId64 ",\"bundles\":%" PRIu64
               ",\"entries\":{\"covered\":%" PRIu64 ",\"held_past_max\":%" PRIu64 ",\"protected\":%" PRIu64
               ",\"span_end\":%" PRIu64 "},\"evaluated\":true,\"findings\":[",
            r->archives_total, r->as_of_us, r->bundles, r->entries_covered, r->entries_held_past_max,
            r->entries_young, r->span_end);
    for (size_t i = 0; i < r->nfindings; i++) {
        const st_rc_finding *x = &r->findings[i];
        fprintf(f, "%s{\"begin\":%" PRIu64 ",\"end\":%" PRIu64 ",\"kind\":\"%s\",\"message\":", i ? "," : "", x->begin,
                x->end, st_rc_finding_name(x->kind));
        jstr(f, x->msg);
        fprintf(f, ",\"severity\":\"%s\"}", severity_word(x->severity));
    }
    fprintf(f, "],\"inconclusive\":%" PRIu64 ",\"policy\":", r->inconclusive);
    if (r->has_policy) {
        fprintf(f, "{\"index\":%" PRIu64 ",\"min_retention_us\":%" PRId64, r->policy.index, r->policy.min_us);
        if (r->policy.has_max) fprintf(f, ",\"max_retention_us\":%" PRId64, r->policy.max_us);
        fprintf(f, "}");
    } else {
        fprintf(f, "null");
    }
    fprintf(f, ",\"records\":{\"archive\":%" PRIu64 ",\"erasure\":%" PRIu64 ",\"policy\":%" PRIu64 ",\"prune\":%" PRIu64
               "},\"removals\":{\"archived\":%" PRIu64 ",\"erased\":%" PRIu64 ",\"pruned\":%" PRIu64 "}"
               ",\"verdict\":\"%s\",\"violations\":%" PRIu64 ",\"warnings\":%" PRIu64 "}",
            r->records_archive, r->records_erasure, r->records_policy, r->records_prune, r->payload_entries_archived,
            r->payload_entries_erased, r->payload_entries_pruned, st_rc_verdict_name(r->verdict), r->violations,
            r->warnings);
}
