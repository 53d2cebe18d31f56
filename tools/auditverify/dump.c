/*
 * dump.c: `auditverify --list BUNDLE` prints each record of a bundle (offset,
 * type, length and a summary of its fixed fields) without verifying
 * anything but the framing. For auditors who want to see what they hold, and
 * for debugging exporters. Exit status: 0 if the framing is sound and the
 * trailer digest matches, 2 otherwise.
 */
#include "dump.h"

#include <ctype.h>
#include <inttypes.h>
#include <string.h>

#include "bundle.h"
#include "merkle.h"
#include "sha256.h"

static void short_hex(char out[20], const uint8_t *h)
{
    static const char d[] = "0123456789abcdef";
    for (int i = 0; i < 8; i++) {
        out[2 * i] = d[h[i] >> 4];
        out[2 * i + 1] = d[h[i] & 15];
    }
    memcpy(out + 16, "...", 4);
}

static void printable(FILE *f, const uint8_t *p, size_t n, size_t max)
{
    for (size_t i = 0; i < n && i < max; i++) {
        if (p[i] == '\n') fputs("\\n", f);
        else fputc(isprint(p[i]) ? p[i] : '.', f);
    }
    if (n > max) fputs("...", f);
}

int dump_bundle(FILE *f, int fd)
{
    st_bundle_reader *r = NULL;
    st_err err = { { 0 } };
    if (st_bundle_reader_fd(&r, fd)) {
        fprintf(stderr, "auditverify: out of memory\n");
        return 2;
    }
    st_bundle_chain chain;
    st_bundle_chain_init(&chain);
    int rc = st_bundle_read_magic(r, &err);
    if (rc) goto fail;
    fprintf(f, "%10s  %-11s %10s  %s\n", "offset", "record", "length", "contents");
    fprintf(f, "%10d  %-11s %10d  \"sealtrail-bundle/v1\\n\"\n", 0, "magic", ST_BUNDLE_MAGIC_LEN);
    static uint8_t buf[1 << 16];
    for (;;) {
        st_brec rec;
        rc = st_bundle_next(r, &rec, &err);
        if (rc == 1) break;
        if (rc) goto fail;
        fprintf(f, "%10" PRIu64 "  %-11s %10u  ", rec.offset, st_brec_name(rec.type), rec.len);
        char a[20], b[20];
        st_brec_proof pr;
        st_brec_entry en;
        st_brec_payload pl;
        st_brec_absent ab;
        st_brec_frontier fr;
        st_hash h;
        switch (rec.type) {
        case ST_BREC_MANIFEST:
        case ST_BREC_KEY:
            printable(f, rec.body, rec.len, 400);
            break;
        case ST_BREC_CHECKPOINT:
        case ST_BREC_PREVIOUS:
            printable(f, rec.body, rec.len, 120);
            break;
        case ST_BREC_KEYNOTE:                        /* keys (issue 5): u64 index || signed key note */
            fprintf(f, "entry %" PRIu64 ": ", st_be64_get(rec.body));
            printable(f, rec.body + 8, rec.len - 8, 120);
            break;
        case ST_BREC_CONSISTENCY:
        case ST_BREC_INCLUSION:
        case ST_BREC_RIGHT:
            if (st_brec_proof_decode(&pr, rec.body, rec.len, &err)) { fprintf(f, "(%s)", err.msg); break; }
            fprintf(f, "%s %" PRIu64 " %s %" PRIu64 ", %zu hashes",
                    rec.type == ST_BREC_CONSISTENCY ? "from size" : rec.type == ST_BREC_INCLUSION ? "index" : "from",
                    pr.a, rec.type == ST_BREC_INCLUSION ? "in size" : "to", pr.b, pr.n);
            break;
        case ST_BREC_FRONTIER:
            if (st_brec_frontier_decode(&fr, rec.body, rec.len, &err)) { fprintf(f, "(%s)", err.msg); break; }
            fprintf(f, "size %" PRIu64 ", %zu hashes", fr.size, fr.n);
            break;
        case ST_BREC_ENTRY:
        case ST_BREC_SUPPORT:
            if (st_brec_entry_decode(&en, rec.body, rec.len, &err)) { fprintf(f, "(%s)", err.msg); break; }
            st_leaf_hash(h, en.bytes, en.len);
            short_hex(a, h);
            fprintf(f, "index %" PRIu64 ", leaf %s ", en.index, a);
            printable(f, en.bytes, en.len, 60);
            st_bundle_chain_add_entry(&chain, rec.type, rec.len, en.index, h);
            break;
        case ST_BREC_PAYLOAD: {
            size_t got = 0, want = rec.streamed ? ST_BREC_PAYLOAD_HEAD_MAX : rec.len;
            const uint8_t *head = rec.body;
            if (rec.streamed) {
                while (got < want) {
                    ssize_t k = st_bundle_body_read(r, buf + got, want - got, &err);
                    if (k <= 0) break;
                    got += (size_t)k;
                }
                head = buf;
            }
            if (st_brec_payload_decode(&pl, head, rec.streamed ? got : rec.len, rec.len, &err)) {
                rc = ST_EFORMAT;
                goto fail;
            }
            st_sha256_ctx c;
            static const uint8_t zero = 0;
            st_sha256_init(&c);
            st_sha256_update(&c, "sealtrail/payload/v1", 20);
            st_sha256_update(&c, &zero, 1);
            st_sha256_update(&c, pl.salt, 16);
            if (rec.streamed) {
                st_sha256_update(&c, buf + pl.head_len, got - pl.head_len);
                ssize_t k;
                while ((k = st_bundle_body_read(r, buf, sizeof buf, &err)) > 0) st_sha256_update(&c, buf, (size_t)k);
                if (k < 0) { rc = ST_EFORMAT; goto fail; }
            } else {
                st_sha256_update(&c, rec.body + pl.head_len, (size_t)pl.data_len);
            }
            st_sha256_final(&c, h);
            short_hex(a, h);
            fprintf(f, "index %" PRIu64 " %s, %" PRIu64 " bytes, commitment %s", pl.index, pl.name, pl.data_len, a);
            st_bundle_chain_add_payload(&chain, rec.len, pl.index, pl.name, pl.name_len, h);
            break;
        }
        case ST_BREC_ABSENT:
            if (st_brec_absent_decode(&ab, rec.body, rec.len, &err)) { fprintf(f, "(%s)", err.msg); break; }
            fprintf(f, "index %" PRIu64 " %s, explained by record %" PRIu64, ab.index, ab.name, ab.record);
            break;
        case ST_BREC_TRAILER:
            short_hex(b, rec.body + 8);
            fprintf(f, "%" PRIu64 " records, digest %s", st_be64_get(rec.body), b);
            break;
        }
        fputc('\n', f);
        if (rec.type == ST_BREC_TRAILER) {
            if (st_bundle_chain_check(&chain, rec.body, rec.len, &err)) {
                rc = ST_EFORMAT;
                goto fail;
            }
        } else if (rec.type != ST_BREC_ENTRY && rec.type != ST_BREC_SUPPORT && rec.type != ST_BREC_PAYLOAD) {
            st_bundle_chain_add_body(&chain, rec.type, rec.body, rec.len);
        }
    }
    fprintf(f, "framing and trailer digest: ok (nothing else was verified: run without --list)\n");
    st_bundle_reader_free(r);
    return 0;
fail:
    fprintf(stderr, "auditverify: --list: %s\n", err.msg);
    st_bundle_reader_free(r);
    return 2;
}
