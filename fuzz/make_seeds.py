#!/usr/bin/env python3
"""Writes small valid inputs for each fuzz target to fuzz/seeds/<target>/, so that
libFuzzer starts from the formats' real shapes instead of discovering headers byte
by byte. Signatures and roots are well-formed but need not verify: the targets
test parsing. Run from anywhere: python3 fuzz/make_seeds.py"""

import base64
import gzip
import io
import os
import struct
import tarfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
B64 = lambda b: base64.b64encode(b).decode()
H = lambda n: bytes([n]) * 32


def write(target, name, data):
    d = os.path.join(HERE, "seeds", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


BODY = ("custody/leak\n3\n" + B64(H(7)) + "\nrelease leak-2\ncreated 2020-06-19T12:00:00Z\n"
        "parent leak-1 " + B64(H(8)) + "\n")
SIG = "\u2014 newsroom.example/leaks " + B64(b"\x01\x02\x03\x04" + bytes(64)) + "\n"
NOTE = BODY + "\n" + SIG

for i, note in enumerate([BODY, NOTE, NOTE + SIG.replace("newsroom", "other")]):
    write("note_parse", f"note{i}", note)
write("note_parse", "vkey", "newsroom.example/leaks+1a2b3c4d+" + B64(b"\x01" + H(5)))
write("note_parse", "skey", "PRIVATE+KEY+newsroom+1a2b3c4d+" + B64(b"\x01" + H(5)) + "\n")

leaf = "leaf 1 file 12 " + H(0xab).hex() + " dir/a file.txt\n" + B64(H(1)) + "\n" + B64(H(2)) + "\n"
INCL = "custody inclusion proof v1\n" + leaf + "\n" + NOTE
ABS = ("custody absence proof v1\nabsent " + H(0x80).hex() + "\n"
       + leaf.replace("leaf 1", "left 1") + leaf.replace("leaf 1", "right 2").replace("ab" * 32, "cd" * 32)
       + "\n" + BODY)
CONS = ("custody log consistency proof v1\nold 2 " + B64(H(1)) + "\nnew 5 " + B64(H(2)) + "\n"
        + B64(H(3)) + "\n" + B64(H(4)) + "\n")
for name, p in [("inclusion", INCL), ("absence", ABS), ("consistency", CONS)]:
    write("proof_parse", name, p)

lines = [H(1).hex() + " 5 file a.txt", "0" * 64 + " 0 dir d", H(2).hex() + " 9 member a.zip!/x\\x0ay",
         H(3).hex() + " 4 symlink l"]
for i, l in enumerate(lines):
    write("manifest_parse", f"line{i}", l)
write("manifest_parse", "manifest",
      "custody manifest v1\nrelease leak\nentries 2\n" + lines[1] + "\n" + lines[0] + "\n\n" + NOTE)

for i, p in enumerate(["a/b/c.txt", "caf\u00e9 \\\\ \\x0a\\xff", "a.zip!/inner/x", "dir/", "\\xZZ", "./a"]):
    write("path_unescape", f"p{i}", p)

SCRIPT = "copy 0 1000\ninsert " + B64(b"x" * 48) + "\ninsert " + B64(b"tail") + "\ncopy 1012 19000\n"
write("edit_script_parse", "script", SCRIPT)
write("edit_script_parse", "short", "copy 0 10\ninsert aGk=")

REPORT = ("custody alteration report v1\nclaim " + H(1).hex() + " 20012\noriginal " + H(0xab).hex()
          + " 20000\nkind pdf_incremental_update\nsimilarity 0.9990\nsummary 12 bytes appended\nscript\n"
          + SCRIPT + "end\n" + INCL)
write("report_parse", "report", REPORT)
write("report_parse", "empty_script", REPORT.replace("script\n" + SCRIPT + "end\n", "script\nend\n"))


def entry(kind, target=b""):
    return struct.pack("<BIqQ32sQqH", kind, 0o100644, 1, 5, H(1), 2, 3, len(target)) + target


write("store_records", "entry", entry(1))
write("store_records", "symlink", entry(3, b"../x"))
write("store_records", "chunkloc", struct.pack("<QIIIB", 1, 0, 10, 20, 1))
write("store_records", "blob", H(9) + struct.pack("<QBI", 100, 0, 2) + H(1) + H(2))
write("store_records", "blob_self", H(9) + struct.pack("<QBI", 100, 1, 0))
write("store_records", "leaf", struct.pack("<BBQ32sI", 1, 1, 5, H(1), 5) + b"a/b.c")
write("store_records", "head", struct.pack("<BH", 1, 4) + b"leak" + H(1) + struct.pack("<Q", 3) + H(2)
      + struct.pack("<q", 9))
rel = (struct.pack("<IqH", 1, 5, 0) + struct.pack("<I", 4) + b"/src" + struct.pack("<10Q", *range(10))
       + H(3) + struct.pack("<Q", 0))
write("store_records", "release", rel)
write("store_records", "ingest", struct.pack("<IqH", 2, 5, 4) + b"leak" + struct.pack("<I", 0)
      + struct.pack("<QQQI", 1, 2, 3, 2) + struct.pack("<II", 7, 8))
data = b"hello world"
write("store_records", "segment", data + H(4) + struct.pack("<IIIB", 0, 11, 11, 0)
      + struct.pack("<I", 1) + b"CSG1")


def zipped(files):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w") as z:
        for name, content, method in files:
            z.writestr(zipfile.ZipInfo(name, (2020, 6, 19, 12, 0, 0)), content, compress_type=method)
    return b.getvalue()


def tarred(files):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, content in files:
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mtime = 1592568000
            t.addfile(info, io.BytesIO(content))
        d = tarfile.TarInfo("d")
        d.type = tarfile.DIRTYPE
        t.addfile(d)
    return b.getvalue()


inner = zipped([("i.txt", b"inner", zipfile.ZIP_DEFLATED)])
zf = zipped([("a.txt", b"alpha alpha alpha", zipfile.ZIP_DEFLATED), ("b/c.txt", b"bravo", zipfile.ZIP_STORED),
             ("n.zip", inner, zipfile.ZIP_STORED)])
tf = tarred([("d/a.txt", b"alpha"), ("n.zip", inner), ("./x", b"")])
write("archive_read", "zip", b"\x00" + zf)
write("archive_read", "tar", b"\x01" + tf)
write("archive_read", "targz", b"\x02" + gzip.compress(tf))

pdf = (b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] "
       b"/Count 0 >>\nendobj\nxref\n0 3\n0000000000 65535 f \ntrailer\n<< /Size 3 /Root 1 0 R >>\n"
       b"startxref\n80\n%%EOF\n")
pdf2 = pdf + b"3 0 obj\n<< /Author (x) >>\nendobj\ntrailer\n<< /Prev 80 /Info 3 0 R >>\n%%EOF\n"
csv = b"id,name,amount\n1,alice,10\n2,\"bob, jr\",20\n3,carol,30\n"
csv2 = csv.replace(b"bob, jr", b"REDACTED")
png = (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
       + b"\0\0\0\0" + struct.pack(">I", 5) + b"tEXtAhi\0x" + b"\0\0\0\0" + struct.pack(">I", 0) + b"IEND"
       + b"\xaeB`\x82")
jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xfe\x00\x04hi\xff\xda\x00\x02" \
       + b"\x11" * 20 + b"\xff\xd9"
for name, idx, a, b in [("pdf", 0, pdf, pdf2), ("csv", 1, csv, csv2), ("jpeg", 2, jpeg, jpeg[:20] + jpeg[24:]),
                        ("png", 3, png, png.replace(b"hi", b"yo"))]:
    write("alter_classify", name, bytes([idx]) + struct.pack("<H", len(a)) + a + b)
