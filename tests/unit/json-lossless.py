#!/usr/bin/env python3
# Reads a JSON array of strings written by pinnerd (json_escape_append) and
# prints each string's bytes in hex, one per line, decoding it the way
# pinnerctl(8) documents: a JSON parser first, then "\\" -> "\" and
# "\xHH" -> byte HH. Exits 1 when a string is not in that form.
import json
import re
import sys

ESC = re.compile(r"\\(\\|x([0-9a-f]{2}))")


def decode(s):
    out = bytearray()
    pos = 0
    for m in ESC.finditer(s):
        if "\\" in s[pos:m.start()]:
            sys.exit(1)
        out += s[pos:m.start()].encode("utf-8")
        out += b"\\" if m.group(2) is None else bytes([int(m.group(2), 16)])
        pos = m.end()
    if "\\" in s[pos:]:
        sys.exit(1)
    out += s[pos:].encode("utf-8")
    return bytes(out)


with open(sys.argv[1], encoding="utf-8") as f:
    for s in json.load(f):
        print(decode(s).hex())
