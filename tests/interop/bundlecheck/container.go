package main

// The bundle container ([BUNDLE-1..5]): magic, records `u8 type ‖ u32 BE
// length ‖ body`, each length within its type's limits before the body is
// read, and the trailer digest over H(record) of every record.

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"strings"
)

const magic = "sealtrail-bundle/v1\n"

const (
	tManifest    = 0x01
	tKey         = 0x02
	tCheckpoint  = 0x03
	tConsistency = 0x04
	tPrevious    = 0x05
	tSupport     = 0x06
	tInclusion   = 0x07
	tFrontier    = 0x08
	tEntry       = 0x09
	tPayload     = 0x0A
	tAbsent      = 0x0B
	tRight       = 0x0C
	tKeynote     = 0x0D
	tTrailer     = 0xFF
)

var typeName = map[byte]string{
	tManifest: "MANIFEST", tKey: "KEY", tCheckpoint: "CHECKPOINT", tConsistency: "CONSISTENCY",
	tPrevious: "PREVIOUS", tSupport: "SUPPORT", tInclusion: "INCLUSION", tFrontier: "FRONTIER",
	tEntry: "ENTRY", tPayload: "PAYLOAD", tAbsent: "ABSENT", tRight: "RIGHT", tKeynote: "KEYNOTE",
	tTrailer: "TRAILER",
}

// lengthOK applies the length column of the [BUNDLE-3] table.
func lengthOK(t byte, n uint32) bool {
	hashes := func(fixed, maxK uint32) bool {
		return n >= fixed && (n-fixed)%32 == 0 && (n-fixed)/32 <= maxK
	}
	switch t {
	case tManifest:
		return n >= 2 && n <= 65536
	case tKey:
		return n >= 1 && n <= 511
	case tCheckpoint, tPrevious:
		return n >= 1 && n <= 65536
	case tConsistency, tRight:
		return hashes(16, 128)
	case tInclusion:
		return hashes(16, 64)
	case tFrontier:
		return hashes(8, 64) // exactly popcount(size) is checked with the body (step 10)
	case tSupport, tEntry:
		return n >= 9 && n <= 8+1<<20
	case tPayload:
		return n >= 26 && n <= 1<<30
	case tAbsent:
		return n >= 18 && n <= 49
	case tKeynote:
		return n >= 9 && n <= 8+65536
	case tTrailer:
		return n == 40
	}
	return false
}

// [BUNDLE-4] record count limits.
var countLimit = map[byte]int{tKey: 1024, tKeynote: 65536, tCheckpoint: 2097152, tSupport: 65536}

type record struct {
	typ    byte
	body   []byte
	offset int64 // file offset of the type byte
	num    int   // record number: the manifest is record 0 (VERIFYING.md)
}

type reader struct {
	r       *bufio.Reader
	off     int64
	num     int
	digest  hashState
	counts  map[byte]int
	trailer bool
}

type hashState interface {
	io.Writer
	Sum([]byte) []byte
}

func newReader(r io.Reader) *reader {
	return &reader{r: bufio.NewReaderSize(r, 1<<16), digest: sha256.New(), counts: map[byte]int{}}
}

// readMagic is step 2. Another version is "sealtrail-bundle/v", 1 to 15
// bytes of printable ASCII other than space, and LF [BUNDLE-1].
func (rd *reader) readMagic() {
	prefix := "sealtrail-bundle/v"
	head, _ := rd.r.Peek(len(prefix) + 16)
	if len(head) >= len(magic) && string(head[:len(magic)]) != magic && strings.HasPrefix(string(head), prefix) {
		i := len(prefix)
		for i < len(head) && i < len(prefix)+15 && head[i] >= 0x21 && head[i] < 0x7f {
			i++
		}
		if i > len(prefix) && i < len(head) && head[i] == '\n' {
			die(3, "unsupported version: %q [BUNDLE-1]", head[:i+1])
		}
	}
	buf := make([]byte, len(magic))
	n, _ := io.ReadFull(rd.r, buf)
	rd.off = int64(n)
	if n != len(magic) || string(buf) != magic {
		die(2, "not a bundle (no %q magic) [BUNDLE-1]", magic[:len(magic)-1])
	}
	rd.digest.Write(buf)
}

// next reads one record (step 3): type, length within limits, body.
func (rd *reader) next() *record {
	var hdr [5]byte
	n, err := io.ReadFull(rd.r, hdr[:])
	if n == 0 && err == io.EOF {
		die(2, "truncated: the file ends at offset %d before the trailer [BUNDLE-2]", rd.off)
	}
	if err != nil {
		die(2, "truncated: the file ends inside a record header at offset %d", rd.off)
	}
	t, length := hdr[0], binary.BigEndian.Uint32(hdr[1:])
	name, known := typeName[t]
	if !known {
		die(2, "record %d at offset %d: unknown type 0x%02x [BUNDLE-2]", rd.num, rd.off, t)
	}
	if !lengthOK(t, length) {
		die(2, "record %d at offset %d: %s length %d outside its limits [BUNDLE-3]", rd.num, rd.off, name, length)
	}
	rd.counts[t]++
	if lim, ok := countLimit[t]; ok && rd.counts[t] > lim {
		die(2, "record %d at offset %d: more than %d %s records [BUNDLE-4]", rd.num, rd.off, lim, name)
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(rd.r, body); err != nil {
		die(2, "truncated: the file ends inside record %d (%s, %d bytes) at offset %d", rd.num, name, length, rd.off)
	}
	if t == tFrontier && len(body) != 8+32*popcount(u64(body)) {
		// a length rule of the [BUNDLE-3] table, so step 3
		die(2, "record %d at offset %d: FRONTIER of size %d holds %d hashes, want popcount = %d [BUNDLE-3]",
			rd.num, rd.off, u64(body), (len(body)-8)/32, popcount(u64(body)))
	}
	rec := &record{typ: t, body: body, offset: rd.off, num: rd.num}
	rd.off += 5 + int64(length)
	if t == tTrailer {
		rd.trailer = true
		return rec
	}
	rd.num++
	return rec
}

// addToDigest adds a record to the trailer digest with its H ([BUNDLE-5]):
// h is the record's H for ENTRY, SUPPORT and PAYLOAD, nil for others.
func (rd *reader) addToDigest(rec *record, h []byte) {
	var hdr [5]byte
	hdr[0] = rec.typ
	binary.BigEndian.PutUint32(hdr[1:], uint32(len(rec.body)))
	rd.digest.Write(hdr[:])
	if h == nil {
		s := sha256.Sum256(rec.body)
		h = s[:]
	}
	rd.digest.Write(h)
}

// checkTrailer is step 17, and the end of the file (step 3).
func (rd *reader) checkTrailer(rec *record) {
	count := binary.BigEndian.Uint64(rec.body[:8])
	if count != uint64(rd.num) {
		die(2, "trailer: record count %d, but %d records precede it [BUNDLE-5]", count, rd.num)
	}
	got := rd.digest.Sum(nil)
	if !bytes.Equal(got, rec.body[8:]) {
		die(2, "trailer: digest %x computed, trailer has %x [BUNDLE-5]", got, rec.body[8:])
	}
	var b [1]byte
	if n, _ := rd.r.Read(b[:]); n != 0 {
		die(2, "bytes after the trailer at offset %d [BUNDLE-2]", rd.off)
	}
}

func u64(b []byte) uint64 { return binary.BigEndian.Uint64(b) }
