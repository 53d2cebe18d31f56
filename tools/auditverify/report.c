/*
 * report.c: the auditverify report. The human form says first whether the
 * bundle verified, then what it holds (entries, index range, time span,
 * sessions, tools, checkpoints, keys, absent payloads and why) and what was
 * checked; unsigned claims of the exporter are labelled as such. The JSON
 * form carries the same facts as one object with sorted keys.
 */
#include "report.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "util.h"

static const char *exit_word(int v)
{
    switch (v) {
    case ST_VERDICT_VERIFIED: return "VERIFIED";
    case ST_VERDICT_TAMPERED: return "FAILED (tamper evidence)";
    case ST_VERDICT_UNTRUSTED: return "FAILED (untrusted key or unsupported version)";
    default: return "FAILED (could not verify)";
    }
}

static void time_str(char out[32], int64_t us)
{
    st_time_format_rfc3339(out, us);
}

static void bytes_str(char *out, size_t n, uint64_t b)
{
    if (b < 10240) snprintf(out, n, "%" PRIu64 " B", b);
    else if (b < 10ull << 20) snprintf(out, n, "%.1f KiB", (double)b / 1024);
    else if (b < 10ull << 30) snprintf(out, n, "%.1f MiB", (double)b / 1048576);
    else snprintf(out, n, "%.1f GiB", (double)b / 1073741824);
}

static int by_count(const void *a, const void *b)
{
    const st_vr_count *x = a, *y = b;
    if (x->n != y->n) return x->n < y->n ? 1 : -1;
    return strcmp(x->name, y->name);
}

/* "label  name count, name count, ..." most frequent first. */
static void table_human(FILE *f, const char *label, const st_vr_table *t)
{
    if (t->n == 0) return;
    st_vr_count v[ST_VR_NAMES];
    memcpy(v, t->v, t->n * sizeof v[0]);
    qsort(v, t->n, sizeof v[0], by_count);
    fprintf(f, "  %-13s", label);
    for (size_t i = 0; i < t->n; i++) fprintf(f, "%s%s %" PRIu64, i ? ", " : "", v[i].name, v[i].n);
    if (t->other) fprintf(f, ", %" PRIu64 " more", t->other);
    fputc('\n', f);
}

void report_human(FILE *f, const char *file, const st_verify_report *r)
{
    char a[32], b[32], sz[32];
    fprintf(f, "%s  %s\n", exit_word(r->verdict), file);
    if (r->verdict != ST_VERDICT_VERIFIED)
        fprintf(f, "  %-13sstep %u: %s\n", "failure", r->step, r->failure);
    if (!r->manifest_ok) return;
    if (r->verdict != ST_VERDICT_VERIFIED) fprintf(f, "  (what follows was read before the failure)\n");
    fprintf(f, "  %-13s%s\n", "origin", r->origin);
    fprintf(f, "  %-13s%s %s\n", "selection", r->selection, r->selection_json);
    if (r->entries)
        fprintf(f, "  %-13s%" PRIu64 " (index %" PRIu64 "..%" PRIu64 "; selection spans [%" PRIu64 ", %" PRIu64 "))\n",
                "entries", r->entries, r->first_index, r->last_index, r->begin, r->end);
    else
        fprintf(f, "  %-13s0 (selection spans [%" PRIu64 ", %" PRIu64 "))\n", "entries", r->begin, r->end);
    if (r->entries) {
        time_str(a, r->time_min_us);
        time_str(b, r->time_max_us);
        fprintf(f, "  %-13s%s .. %s\n", "time span", a, b);
        if (strcmp(r->selection, "time") == 0)
            fprintf(f, "  %-13s%" PRIu64 " of them inside the window\n", "", r->in_window);
        fprintf(f, "  %-13s%" PRIu64 "%s\n", "sessions", r->sessions, r->sessions_capped ? " or more" : "");
    }
    table_human(f, "tools", &r->tools);
    table_human(f, "events", &r->events);
    table_human(f, "statuses", &r->statuses);
    table_human(f, "kinds", &r->kinds);
    bytes_str(sz, sizeof sz, r->payload_bytes);
    fprintf(f, "  %-13s%" PRIu64 " present (%s), %" PRIu64 " absent", "payloads", r->payloads, sz, r->absent);
    if (r->absent)
        fprintf(f, " (%" PRIu64 " erased, %" PRIu64 " archived, %" PRIu64 " pruned; each explained by a signed record)",
                r->absent_erasure, r->absent_archive, r->absent_prune);
    fputc('\n', f);
    for (size_t i = 0; i < r->absent_listed; i++)
        fprintf(f, "  %-13sentry %" PRIu64 " %s: %s record %" PRIu64 "\n", "", r->absent_list[i].index,
                r->absent_list[i].name, r->absent_list[i].reason, r->absent_list[i].record);
    if (r->absent > r->absent_listed) fprintf(f, "  %-13s... %" PRIu64 " more\n", "", r->absent - r->absent_listed);
    if (r->checkpoints) {
        char root[65];
        st_hex_encode(root, r->final_root, 32);
        time_str(a, r->cp_final_time * 1000000);
        fprintf(f, "  %-13s%" PRIu64 " (sizes %" PRIu64 "..%" PRIu64 "); final: size %" PRIu64 ", sealed %s\n",
                "checkpoints", r->checkpoints, r->cp_first_size, r->cp_final_size, r->cp_final_size, a);
        fprintf(f, "  %-13s%s\n", "final root", root);
    }
    fprintf(f, "  %-13s%" PRIu64 " consistency, %" PRIu64 " inclusion, %" PRIu64 " roots recomputed from entries\n",
            "proofs", r->consistency_proofs, r->inclusion_proofs, r->roots_recomputed);
    for (size_t i = 0; i < r->nkeys; i++) {
        const st_vr_key *k = &r->keys[i];
        fprintf(f, "  %-13s%s: %s", i ? "" : "keys", k->vkey,
                k->trusted ? "trusted (--trust)" : k->signed_checkpoints ? "valid by the key history" : "NOT trusted");
        if (k->trusted || k->signed_checkpoints) fprintf(f, ", signed %" PRIu64 " checkpoint(s)", k->signed_checkpoints);
        fprintf(f, "%s\n", k->in_bundle ? "; listed in the bundle" : "");
    }
    if (r->keynotes || r->key_notes_given) {        /* keys (issue 5): docs/KEYS.md */
        const st_keyhist_stats *h = &r->keyhist;
        fprintf(f, "  %-13s%" PRIu64 " key note(s) in the bundle, %zu given with --key-note: %zu certificate(s), "
                   "%zu epoch key(s) in %zu schedule(s), %zu rotation(s), %zu revocation(s)", "key history", r->keynotes,
                r->key_notes_given, h->certificates, h->epoch_keys, h->epoch_schedules, h->rotations, h->revocations);
        if (h->rejected) fprintf(f, "; %zu of another origin or an untrusted root (they grant nothing)", h->rejected);
        fprintf(f, "\n");
    }
    if (r->supports) fprintf(f, "  %-13s%" PRIu64 " (records the bundle refers to, each with an inclusion proof)\n",
                             "support", r->supports);
    if (r->retention_policy_index >= 0)
        fprintf(f, "  %-13sretention-policy entry %" PRId64 "\n", "retention", r->retention_policy_index);
    else
        fprintf(f, "  %-13sno retention-policy entry in the bundle\n", "retention");
    if (r->has_previous_record)
        fprintf(f, "  %-13sthe bundle proves consistency from checkpoint %" PRIu64 "\n", "from", r->previous_record_size);
    if (r->previous_checked)
        fprintf(f, "  %-13syour checkpoint %" PRIu64 " is consistent with this bundle (%s)\n", "previous",
                r->previous_size, r->previous_how);
    if (r->created_us) {
        time_str(a, r->created_us);
        fprintf(f, "  %-13s%s at %s (unsigned claims)\n", "exporter", r->exporter[0] ? r->exporter : "?", a);
    }
    bytes_str(sz, sizeof sz, r->bytes);
    fprintf(f, "  %-13s%s, %" PRIu64 " records in %.2f s, %u thread(s)\n", "read", sz, r->records, r->seconds,
            r->threads);
    if (r->verdict == ST_VERDICT_VERIFIED && strcmp(r->selection, "filter") == 0)
        fprintf(f, "  note: a filtered selection proves each entry is in the log unaltered, not that it holds\n"
                   "        every matching entry%s.\n",
                strstr(r->selection_json, "\"path\"") ? "; the path criterion is not re-checked" : "");
}

/* ---- JSON ------------------------------------------------------------------------ */

static void jstr(FILE *f, const char *s)
{
    st_buf b = { 0 };
    st_json_write_string(&b, s, strlen(s));
    if (!b.oom) fwrite(b.data, 1, b.len, f);
    st_buf_free(&b);
}

void report_json_string(FILE *f, const char *s)
{
    jstr(f, s);
}

static void jtable(FILE *f, const char *key, const st_vr_table *t)
{
    fprintf(f, ",\"%s\":{", key);
    for (size_t i = 0; i < t->n; i++) {
        if (i) fputc(',', f);
        jstr(f, t->v[i].name);
        fprintf(f, ":%" PRIu64, t->v[i].n);
    }
    fprintf(f, "}");
}

void report_json(FILE *f, const char *file, const st_verify_report *r)
{
    char t[32], root[65];
    fprintf(f, "{\"absent\":{\"archived\":%" PRIu64 ",\"erased\":%" PRIu64 ",\"list\":[", r->absent_archive,
            r->absent_erasure);
    for (size_t i = 0; i < r->absent_listed; i++) {
        fprintf(f, "%s{\"index\":%" PRIu64 ",\"payload\":", i ? "," : "", r->absent_list[i].index);
        jstr(f, r->absent_list[i].name);
        fprintf(f, ",\"reason\":\"%s\",\"record\":%" PRIu64 "}", r->absent_list[i].reason, r->absent_list[i].record);
    }
    fprintf(f, "],\"pruned\":%" PRIu64 ",\"total\":%" PRIu64 "}", r->absent_prune, r->absent);
    fprintf(f, ",\"bytes\":%" PRIu64, r->bytes);
    st_hex_encode(root, r->final_root, 32);
    fprintf(f, ",\"checkpoints\":{\"count\":%" PRIu64 ",\"final_root\":\"%s\",\"final_size\":%" PRIu64
               ",\"final_time\":%" PRId64 ",\"first_size\":%" PRIu64 "}",
            r->checkpoints, r->checkpoints ? root : "", r->cp_final_size, r->cp_final_time, r->cp_first_size);
    fprintf(f, ",\"entries\":{\"count\":%" PRIu64, r->entries);
    if (r->entries) {
        fprintf(f, ",\"first_index\":%" PRIu64 ",\"last_index\":%" PRIu64, r->first_index, r->last_index);
        time_str(t, r->time_max_us);
        fprintf(f, ",\"time_max\":\"%s\",\"time_max_us\":%" PRId64, t, r->time_max_us);
        time_str(t, r->time_min_us);
        fprintf(f, ",\"time_min\":\"%s\",\"time_min_us\":%" PRId64, t, r->time_min_us);
    }
    fprintf(f, "}");
    jtable(f, "events", &r->events);
    fprintf(f, ",\"exit_code\":%d", r->verdict);
    fprintf(f, ",\"exporter\":{\"created_us\":%" PRId64 ",\"signed\":false,\"tool\":", r->created_us);
    jstr(f, r->exporter);
    fprintf(f, "}");
    if (r->verdict != ST_VERDICT_VERIFIED) {
        fprintf(f, ",\"failure\":{\"message\":");
        jstr(f, r->failure);
        fprintf(f, ",\"offset\":%" PRIu64 ",\"step\":%u}", r->fail_offset, r->step);
    }
    fprintf(f, ",\"file\":");
    jstr(f, file);
    {                                               /* keys (issue 5) */
        const st_keyhist_stats *h = &r->keyhist;
        fprintf(f, ",\"key_history\":{\"certificates\":%zu,\"epoch_keys\":%zu,\"epoch_schedules\":%zu,\"given\":%zu,"
                   "\"notes\":%" PRIu64 ",\"rejected\":%zu,\"revocations\":%zu,\"rotations\":%zu}",
                h->certificates, h->epoch_keys, h->epoch_schedules, r->key_notes_given, r->keynotes, h->rejected,
                h->revocations, h->rotations);
    }
    fprintf(f, ",\"keys\":[");
    for (size_t i = 0; i < r->nkeys; i++) {
        fprintf(f, "%s{\"in_bundle\":%s,\"signed_checkpoints\":%" PRIu64 ",\"trusted\":%s,\"vkey\":", i ? "," : "",
                r->keys[i].in_bundle ? "true" : "false", r->keys[i].signed_checkpoints,
                r->keys[i].trusted ? "true" : "false");
        jstr(f, r->keys[i].vkey);
        fprintf(f, "}");
    }
    fprintf(f, "]");
    jtable(f, "kinds", &r->kinds);
    fprintf(f, ",\"origin\":");
    jstr(f, r->origin);
    fprintf(f, ",\"payloads\":{\"bytes\":%" PRIu64 ",\"present\":%" PRIu64 "}", r->payload_bytes, r->payloads);
    fprintf(f, ",\"previous\":{\"checked\":%s", r->previous_checked ? "true" : "false");
    if (r->previous_checked) {
        fprintf(f, ",\"how\":");
        jstr(f, r->previous_how);
        fprintf(f, ",\"size\":%" PRIu64, r->previous_size);
    }
    if (r->has_previous_record) fprintf(f, ",\"bundle_from_size\":%" PRIu64, r->previous_record_size);
    fprintf(f, "}");
    fprintf(f, ",\"proofs\":{\"consistency\":%" PRIu64 ",\"inclusion\":%" PRIu64 ",\"roots_recomputed\":%" PRIu64 "}",
            r->consistency_proofs, r->inclusion_proofs, r->roots_recomputed);
    fprintf(f, ",\"records\":%" PRIu64, r->records);
    if (r->retention_policy_index >= 0) fprintf(f, ",\"retention_policy_index\":%" PRId64, r->retention_policy_index);
    fprintf(f, ",\"seconds\":%.3f", r->seconds);
    fprintf(f, ",\"selection\":%s", r->manifest_ok && r->selection_json[0] ? r->selection_json : "null");
    fprintf(f, ",\"sessions\":%" PRIu64 ",\"sessions_capped\":%s", r->sessions, r->sessions_capped ? "true" : "false");
    fprintf(f, ",\"span\":{\"begin\":%" PRIu64 ",\"end\":%" PRIu64 "}", r->begin, r->end);
    jtable(f, "statuses", &r->statuses);
    fprintf(f, ",\"supports\":%" PRIu64, r->supports);
    fprintf(f, ",\"threads\":%u", r->threads);
    jtable(f, "tools", &r->tools);
    fprintf(f, ",\"verdict\":\"%s\"", st_verdict_name(r->verdict));
    fprintf(f, "}\n");
}
