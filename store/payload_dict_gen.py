#!/usr/bin/env python3
"""payload_dict_gen.py: generates store/payload_dict.c, the built-in zstd
dictionary of payload encoding 2 (store/payload.c, docs/FORMAT.md section 5).

The dictionary's bytes are part of the storage format for good: rows written
with it can only be read with exactly these bytes (tests/unit/test_payload.c
pins their SHA-256). This script documents how they were made; running it
again with the same libzstd (1.5.4) reproduces them byte for byte. A different
libzstd may train different tables: then the output is a different
dictionary, which needs a new dictID and a new encoding number, never a
replacement of this one.

Dictionary = zstd dictionary format (RFC 8878 section 5): entropy tables
(Huffman literals table; FSE tables of literal lengths, match lengths and
offset codes; three repeat offsets) and content. It is made by libzstd's
ZDICT_finalizeDictionary (through ctypes) from:
  - content: CONTENT below, the key names and fixed values of Claude Code's
    hook events and tool inputs/outputs (the public hooks schema), the most
    common last (shortest offsets);
  - samples, from which the entropy tables are counted: this repository's
    own tests, docs and README at commit TRAIN_COMMIT (public, immutable),
    cut into pieces of 128 B .. 4 KiB and wrapped the way tool inputs and
    outputs wrap file text, each preceded by its 5-byte segment header, as
    payload.c compresses them. Nothing private is used.
The point of the entropy tables is speed: a frame compressed with the
dictionary reuses its tables (set_repeat, and the Huffman table for literals)
instead of building the predefined FSE tables and a Huffman table per frame.

usage: python3 store/payload_dict_gen.py [OUT]    (default store/payload_dict.c)
"""
import ctypes
import ctypes.util
import hashlib
import json
import os
import struct
import subprocess
import sys

TRAIN_COMMIT = "4773b809a42375788e5374a552b6dd34f89ff156"
TRAIN_PATHS = ("tests/unit/", "tests/e2e/", "docs/", "README.md", "SECURITY.md")
DICT_ID = 0x53540001          # "ST" 0001: outside zstd's reserved ranges (< 32768, >= 2^31)
LEVEL = 2                     # payload.c's DICT_LEVEL
MAX_DICT = 64 * 1024
SIZES = (128, 180, 250, 350, 500, 700, 1000, 1400, 2000, 2800, 4000)

CONTENT = (
    '{"session_id":"","transcript_path":"/home/","cwd":"/home/","permission_mode":"default",'
    '"hook_event_name":"SessionStart","source":"startup","model":"claude-","agent_id":"","agent_type":"",'
    '"hook_event_name":"UserPromptSubmit","prompt":"","hook_event_name":"Notification","message":"",'
    '"notification_type":"","hook_event_name":"Stop","stop_hook_active":false,'
    '"hook_event_name":"SubagentStop","hook_event_name":"PreCompact","trigger":"manual",'
    '"custom_instructions":"","hook_event_name":"SessionEnd","reason":"other",'
    '{"todos":[{"content":"","status":"pending","activeForm":""},{"content":"","status":"completed",'
    '{"pattern":"","path":"","glob":"","output_mode":"content","-n":true,"-i":false,'
    '{"mode":"content","numFiles":0,"filenames":[],"numLines":0,"durationMs":0,"truncated":false}'
    '{"url":"https://","prompt":"","bytes":0,"code":200,"codeText":"OK","result":"","durationMs":'
    '{"query":"","results":[{"tool_use_id":"srvtoolu_","content":[{"title":"","url":"https://"}]}]'
    '{"file_path":"/home/","old_string":"","new_string":"","replace_all":false}'
    '{"filePath":"/home/","oldString":"","newString":"","originalFile":"","structuredPatch":'
    '[{"oldStart":1,"oldLines":1,"newStart":1,"newLines":1,"lines":["-","+"]}],'
    '"userModified":false,"replaceAll":false}'
    '{"type":"create","filePath":"/home/","content":"","structuredPatch":[]}'
    '{"type":"update","filePath":"/home/","content":"'
    '{"type":"text","file":{"filePath":"/home/","content":"","numLines":1,"startLine":1,"totalLines":'
    '{"command":"","description":"","timeout":120000,"run_in_background":false}'
    '{"stdout":"","stderr":"","interrupted":false,"isImage":false,"noOutputExpected":false}'
    '"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"'
    '"hook_event_name":"PostToolUse","tool_name":"Read","tool_input":{"file_path":"/home/'
    '","tool_response":{"type":"text","file":{"filePath":"/home/'
    '","tool_use_id":"toolu_01'
).encode()


def git(*args):
    return subprocess.run(("git",) + args, check=True, capture_output=True).stdout


def training_texts(root):
    names = git("-C", root, "ls-tree", "-r", "--name-only", TRAIN_COMMIT).decode().splitlines()
    for name in sorted(names):
        if name.startswith(TRAIN_PATHS) and not name.startswith("tests/unit/redact_vectors"):
            yield name, git("-C", root, "show", f"{TRAIN_COMMIT}:{name}").decode("utf-8", "replace")


def wrap(k, name, text):
    """One tool input or output around `text`, as Claude Code sends them (k picks the tool)."""
    path = "/home/dev/sealtrail/" + name
    lines = text.count("\n") + 1
    if k == 0:
        v = {"type": "text", "file": {"filePath": path, "content": text, "numLines": lines,
                                      "startLine": 1, "totalLines": lines + 40}}
    elif k == 1:
        v = {"file_path": path, "content": text}
    elif k == 2:
        v = {"stdout": text, "stderr": "", "interrupted": False, "isImage": False, "noOutputExpected": False}
    elif k == 3:
        half = len(text) // 2
        v = {"file_path": path, "old_string": text[:half], "new_string": text[half:], "replace_all": False}
    else:
        v = {"mode": "content", "numFiles": 1, "filenames": [], "content": text, "numLines": lines}
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False).encode()


def samples(root):
    out = []
    n = 0
    for name, text in training_texts(root):
        pos = 0
        while pos < len(text):
            size = SIZES[n % len(SIZES)]
            piece = text[pos:pos + size]
            pos += size
            body = wrap(n % 5, name, piece)
            out.append(struct.pack(">BI", 0, len(body)) + body)   # payload.c's segment header
            n += 1
    return out


class ZdictParams(ctypes.Structure):
    _fields_ = [("compressionLevel", ctypes.c_int), ("notificationLevel", ctypes.c_uint),
                ("dictID", ctypes.c_uint)]


def build(root):
    lib = ctypes.CDLL(ctypes.util.find_library("zstd") or "libzstd.so.1")
    lib.ZSTD_versionString.restype = ctypes.c_char_p
    lib.ZDICT_finalizeDictionary.restype = ctypes.c_size_t
    lib.ZDICT_finalizeDictionary.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t,
                                             ctypes.c_char_p, ctypes.POINTER(ctypes.c_size_t), ctypes.c_uint,
                                             ZdictParams]
    lib.ZDICT_isError.argtypes = [ctypes.c_size_t]
    smp = samples(root)
    buf = b"".join(smp)
    sizes = (ctypes.c_size_t * len(smp))(*[len(s) for s in smp])
    dst = ctypes.create_string_buffer(MAX_DICT)
    n = lib.ZDICT_finalizeDictionary(dst, MAX_DICT, CONTENT, len(CONTENT), buf, sizes, len(smp),
                                     ZdictParams(LEVEL, 0, DICT_ID))
    if lib.ZDICT_isError(n):
        sys.exit("ZDICT_finalizeDictionary failed")
    return dst.raw[:n], lib.ZSTD_versionString().decode(), len(smp), len(buf)


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "store", "payload_dict.c")
    d, version, nsamples, nbytes = build(root)
    sha = hashlib.sha256(d).hexdigest()
    rows = []
    for i in range(0, len(d), 16):
        rows.append("    " + " ".join(f"0x{b:02x}," for b in d[i:i + 16]))
    text = f"""/*
 * payload_dict.c: the built-in zstd dictionary of payload encoding 2
 * (store/payload.c). GENERATED by store/payload_dict_gen.py with libzstd
 * {version} from {nsamples} samples ({nbytes} bytes) of this repository at
 * {TRAIN_COMMIT[:12]}; do not edit.
 * Part of the storage format: rows written with it need exactly these bytes.
 * dictID 0x{DICT_ID:08x}, {len(d)} bytes, SHA-256 {sha}
 */
#include "payload_dict.h"

const size_t st_payload_dict_size = {len(d)};
const unsigned char st_payload_dict[{len(d)}] = {{
{chr(10).join(rows)}
}};
"""
    with open(out, "w") as f:
        f.write(text)
    print(f"{out}: {len(d)} bytes, dictID 0x{DICT_ID:08x}, SHA-256 {sha}")


if __name__ == "__main__":
    main()
