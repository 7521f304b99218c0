#!/usr/bin/env python3
"""Independent verifier for custody proof and manifest files.

Written only from the specification docs/PROOFS.md, without looking at custody's
source, so that it can cross-check it. Needs Python 3.11 and the PyPI packages
`blake3` and `cryptography` (pip install blake3 cryptography).

    python3 tools/verify_proof.py PROOF [--file CLAIM] [--vkey KEY]... [--root ROOT] [--json]
    python3 tools/verify_proof.py --self-test

PROOF is an inclusion proof, an absence proof, a release-log consistency proof or an
exported manifest; the kind is read from its first line.

Exit codes: 0 verified and anchored (a trusted key signed the checkpoint, or the
trusted root equals it); 1 verified, but nothing anchors it (NOT ANCHORED);
2 anything that does not verify or does not parse.
"""

import base64
import binascii
import hashlib
import io
import json
import os
import re
import struct
import sys

# --------------------------------------------------------------------------- limits

MAX_PROOF_BYTES = 1 << 20          # proof files (5.1-5.3) larger than this are refused
MAX_LINE_BYTES = 1 << 20           # longest manifest line accepted
MAX_CHECKPOINT_BYTES = 1 << 20     # the checkpoint (signed note) after a manifest's leaves
MAX_VKEY_FILE_BYTES = 64 << 10
MAX_PATH_SHOWN = 100               # matching manifest paths kept for the report
U64 = 1 << 64

HEADER_INCLUSION = "custody inclusion proof v1"
HEADER_ABSENCE = "custody absence proof v1"
HEADER_CONSISTENCY = "custody log consistency proof v1"
HEADER_MANIFEST = "custody manifest v1"

KINDS = {"file": 0x01, "dir": 0x02, "symlink": 0x03, "member": 0x04}
LEAF_VERSION = b"\x01"
ZERO32 = bytes(32)
EM_DASH_PREFIX = "\u2014 "

RE_DEC = re.compile(r"(?:0|[1-9][0-9]*)\Z")
RE_HEX32 = re.compile(r"[0-9a-f]{64}\Z")
RE_RELEASE = re.compile(r"[A-Za-z0-9._\-+@:]+\Z")
RE_RFC3339_UTC = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?Z\Z")
# control characters as section 7 defines them: U+0000-U+001F and U+007F-U+009F
RE_CONTROL_NOT_NL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")
RE_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class VerifyError(Exception):
    """Anything that does not parse or does not verify (exit 2)."""


def fail(msg):
    raise VerifyError(msg)


# --------------------------------------------------------------------------- crypto

_blake3 = None
_ed25519 = None


def _load_crypto():
    global _blake3, _ed25519
    if _blake3 is None:
        try:
            import blake3 as b3mod
        except ImportError:
            fail("the Python package 'blake3' is missing (pip install blake3)")
        _blake3 = b3mod
    if _ed25519 is None:
        try:
            from cryptography.hazmat.primitives.asymmetric import ed25519 as edmod
        except ImportError:
            fail("the Python package 'cryptography' is missing (pip install cryptography)")
        _ed25519 = edmod


def H(data):
    return _blake3.blake3(data).digest()


def hash_leaf(leaf_bytes):
    return H(b"\x00" + leaf_bytes)


def hash_node(left, right):
    return H(b"\x01" + left + right)


def blake3_of_file(path):
    try:
        if os.path.isdir(path):
            fail(f"claimed file {path!r} is a directory")
        h = _blake3.blake3()
        with open(path, "rb") as f:
            while True:
                chunk = f.read(1 << 20)
                if not chunk:
                    break
                h.update(chunk)
        return h.digest()
    except OSError as e:
        fail(f"cannot read claimed file {path!r}: {e.strerror or e}")


def ed25519_verify(public_key, signature, message):
    try:
        key = _ed25519.Ed25519PublicKey.from_public_bytes(public_key)
        key.verify(signature, message)
        return True
    except Exception:  # InvalidSignature, or a public key that is not a curve point
        return False


# --------------------------------------------------------------------------- encodings

def b64_strict(text, what, length=None):
    """Standard base64 with padding (RFC 4648 section 4), canonical only."""
    if not text or len(text) % 4 != 0 or not re.fullmatch(r"[A-Za-z0-9+/]*={0,2}", text):
        fail(f"{what}: not standard padded base64: {shorten(text)!r}")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        fail(f"{what}: bad base64: {shorten(text)!r}")
    if base64.b64encode(raw).decode("ascii") != text:
        fail(f"{what}: non-canonical base64 (unused bits set): {shorten(text)!r}")
    if length is not None and len(raw) != length:
        fail(f"{what}: base64 decodes to {len(raw)} bytes, expected {length}")
    return raw


def hex32_strict(text, what):
    if not RE_HEX32.match(text):
        if re.fullmatch(r"[0-9a-fA-F]{64}", text):
            fail(f"{what}: hex must be lower-case: {text!r}")
        fail(f"{what}: expected 64 lower-case hex digits (32 bytes), got {shorten(text)!r}")
    return bytes.fromhex(text)


def dec_strict(text, what, limit=U64):
    if not RE_DEC.match(text):
        fail(f"{what}: expected a decimal number without sign or leading zeros, got {shorten(text)!r}")
    if len(text) > 20 or int(text) >= limit:
        fail(f"{what}: number {shorten(text)} is out of range")
    return int(text)


def shorten(s, n=80):
    s = str(s)
    return s if len(s) <= n else s[:n] + "..."


def escape_path(raw):
    """Section 7: valid UTF-8 scalars that are not control characters as is (with
    backslash doubled); every other byte as \\xNN."""
    out = []
    text = raw.decode("utf-8", errors="surrogateescape")
    for ch in text:
        o = ord(ch)
        if 0xDC80 <= o <= 0xDCFF:           # a byte that is not part of valid UTF-8
            out.append("\\x%02x" % (o - 0xDC00))
        elif o <= 0x1F or 0x7F <= o <= 0x9F:
            out.extend("\\x%02x" % b for b in ch.encode("utf-8"))
        elif ch == "\\":
            out.append("\\\\")
        else:
            out.append(ch)
    return "".join(out)


def unescape_path(text, what):
    if "\\" not in text:
        # no escapes: the path is the text's UTF-8, and that is canonical exactly when
        # the text holds no control character (escape_path would write those as \xNN)
        m = RE_CONTROL.search(text)
        if m:
            fail(f"{what}: unescaped control character U+{ord(m.group()):04X} in path")
        return text.encode("utf-8")
    out = bytearray()
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\\":
            nxt = text[i + 1] if i + 1 < n else ""
            if nxt == "\\":
                out.append(0x5C)
                i += 2
            elif nxt == "x":
                hx = text[i + 2:i + 4]
                if len(hx) != 2 or not re.fullmatch(r"[0-9a-f]{2}", hx):
                    fail(f"{what}: bad escape {text[i:i + 4]!r} in path (\\x needs two lower-case hex digits)")
                out.append(int(hx, 16))
                i += 4
            else:
                fail(f"{what}: bad escape {text[i:i + 2]!r} in path (only \\\\ and \\xNN are allowed)")
        else:
            if RE_CONTROL.match(ch):
                fail(f"{what}: unescaped control character U+{ord(ch):04X} in path")
            out.extend(ch.encode("utf-8"))
            i += 1
    raw = bytes(out)
    canon = escape_path(raw)
    if canon != text:
        fail(f"{what}: path is not escaped canonically (expected {shorten(canon)!r})")
    return raw


def check_path(raw, what):
    """Section 2: relative, '/'-separated, no empty, '.' or '..' component, no NUL."""
    if not raw:
        fail(f"{what}: empty path")
    if b"\x00" in raw:
        fail(f"{what}: path contains a NUL byte")
    if raw.startswith(b"/"):
        fail(f"{what}: path is absolute")
    for comp in raw.split(b"/"):
        if comp in (b"", b".", b".."):
            fail(f"{what}: path has an empty, '.' or '..' component: {escape_path(raw)!r}")
    if len(raw) >= 1 << 32:
        fail(f"{what}: path too long")


# --------------------------------------------------------------------------- leaves

class Leaf:
    __slots__ = ("kind", "size", "content", "path", "index", "text_path")

    def __init__(self, kind, size, content, path, text_path, index=None):
        self.kind, self.size, self.content, self.path = kind, size, content, path
        self.text_path, self.index = text_path, index

    def encode(self):
        return (LEAF_VERSION + bytes([KINDS[self.kind]]) + struct.pack("<Q", self.size)
                + self.content + struct.pack("<I", len(self.path)) + self.path)

    def hash(self):
        return hash_leaf(self.encode())

    def order_key(self):
        return (self.content, self.path)


def make_leaf(kind, size_s, hash_s, path_s, what, index=None):
    if kind not in KINDS:
        fail(f"{what}: unknown kind {shorten(kind)!r} (expected file, dir, symlink or member)")
    size = dec_strict(size_s, f"{what}: size")
    content = hex32_strict(hash_s, f"{what}: content hash")
    path = unescape_path(path_s, what)
    check_path(path, what)
    if kind == "dir" and (size != 0 or content != ZERO32):
        fail(f"{what}: a directory must have size 0 and the all-zero content hash")
    return Leaf(kind, size, content, path, path_s, index)


def parse_proof_leaf_line(line, tag, what):
    """'<tag> <index> <kind> <size> <hash> <path>' (sections 5.1, 5.2)."""
    parts = line.split(" ", 5)
    if len(parts) != 6 or parts[0] != tag:
        fail(f"{what}: expected '{tag} <index> <kind> <size> <hash> <path>', got {shorten(line)!r}")
    index = dec_strict(parts[1], f"{what}: index")
    return make_leaf(parts[2], parts[3], parts[4], parts[5], what, index)


# --------------------------------------------------------------------------- Merkle

def verify_inclusion(index, size, leaf_hash, path, root):
    """Section 3.1 (RFC 9162 2.1.3.2). Returns None on success, else a reason."""
    if index >= size:
        return f"leaf index {index} is not below the tree size {size}"
    fn, sn, x = index, size - 1, leaf_hash
    for c in path:
        if sn == 0:
            return "audit path is longer than the tree needs"
        if fn & 1 or fn == sn:
            x = hash_node(c, x)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            x = hash_node(x, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        return "audit path is shorter than the tree needs"
    if x != root:
        return "audit path does not lead to the checkpoint's root"
    return None


def verify_consistency(m, n, old_root, new_root, path):
    """RFC 9162 2.1.4.2. Returns None on success, else a reason."""
    if m < 1:
        return "the old size must be at least 1"
    if m > n:
        return f"the old size {m} is larger than the new size {n}"
    if m == n:
        if path:
            return "sizes are equal, so the consistency path must be empty"
        if old_root != new_root:
            return "sizes are equal but the roots differ"
        return None
    if not path:
        return "the consistency path is empty"
    if m & (m - 1) == 0:
        path = [old_root] + list(path)
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return "consistency path is longer than the trees need"
        if fn & 1 or fn == sn:
            fr = hash_node(c, fr)
            sr = hash_node(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = hash_node(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        return "consistency path is shorter than the trees need"
    if fr != old_root:
        return "consistency path does not lead to the old root"
    if sr != new_root:
        return "consistency path does not lead to the new root"
    return None


class StreamingRoot:
    """MTH over leaves given one at a time: a stack of perfect subtrees (section 8)."""

    def __init__(self):
        self.stack = []   # (size, hash), sizes strictly decreasing powers of two
        self.count = 0

    def add(self, leaf_hash):
        size, h = 1, leaf_hash
        while self.stack and self.stack[-1][0] == size:
            lsize, lh = self.stack.pop()
            h = hash_node(lh, h)
            size += lsize
        self.stack.append((size, h))
        self.count += 1

    def root(self):
        if not self.stack:
            return H(b"")
        h = self.stack[-1][1]
        for _, lh in reversed(self.stack[:-1]):
            h = hash_node(lh, h)
        return h


# --------------------------------------------------------------------------- keys

class VerifierKey:
    def __init__(self, text):
        self.text = text
        parts = text.split("+", 2)       # the base64 part may itself contain '+'
        if len(parts) != 3:
            fail(f"verifier key {shorten(text)!r}: expected '<name>+<key id hex>+<base64 key>'")
        name, kid_hex, key_b64 = parts
        check_key_name(name, f"verifier key {shorten(text)!r}")
        if not re.fullmatch(r"[0-9a-fA-F]{8}", kid_hex):   # user input: either case, like --root
            fail(f"verifier key {shorten(text)!r}: key id must be 8 hex digits")
        raw = b64_strict(key_b64, f"verifier key {shorten(text)!r}", 33)
        if raw[0] != 0x01:
            fail(f"verifier key {shorten(text)!r}: unsupported signature type {raw[0]} (only 1, Ed25519)")
        self.name = name
        self.public = raw[1:]
        self.key_id = bytes.fromhex(kid_hex)
        want = key_id(name, self.public)
        if want != self.key_id:
            fail(f"verifier key {shorten(text)!r}: key id {kid_hex} does not match its public key "
                 f"(computed {want.hex()})")


def key_id(name, public):
    return hashlib.sha256(name.encode("utf-8") + b"\n" + b"\x01" + public).digest()[:4]


def check_key_name(name, what):
    if not name:
        fail(f"{what}: empty key name")
    if "+" in name or any(c.isspace() for c in name) or RE_CONTROL.search(name):
        fail(f"{what}: key name {shorten(name)!r} contains '+', white space or a control character")


def load_vkey(arg):
    try:
        return VerifierKey(arg)
    except VerifyError as first:
        try:
            is_file = os.path.isfile(arg)
        except (OSError, ValueError):
            is_file = False
        if not is_file:
            raise VerifyError(f"--vkey {shorten(arg)!r}: neither a verifier key nor a readable file ({first})")
    try:
        with open(arg, "rb") as f:
            data = f.read(MAX_VKEY_FILE_BYTES + 1)
    except OSError as e:
        fail(f"--vkey {arg!r}: cannot read: {e.strerror or e}")
    if len(data) > MAX_VKEY_FILE_BYTES:
        fail(f"--vkey {arg!r}: file too large for a verifier key")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        fail(f"--vkey {arg!r}: file is not UTF-8")
    text = text.strip()
    if not text or "\n" in text:
        fail(f"--vkey {arg!r}: file must contain exactly one verifier key")
    try:
        return VerifierKey(text)
    except VerifyError as e:
        fail(f"--vkey file {arg!r}: {e}")


def parse_trusted_root(arg):
    if re.fullmatch(r"[0-9a-fA-F]{64}", arg):
        return bytes.fromhex(arg)
    try:
        return b64_strict(arg, "--root", 32)
    except VerifyError:
        fail(f"--root {shorten(arg)!r}: expected 64 hex digits or the base64 of 32 bytes")


# --------------------------------------------------------------------------- checkpoint

class Checkpoint:
    def __init__(self):
        self.origin = None
        self.size = None
        self.root = None
        self.release = None
        self.created = None
        self.parent = None
        self.body = None          # bytes that signatures cover
        self.signatures = []      # (name, key id, signature, line number)


def parse_checkpoint(text, first_line_no, what="checkpoint"):
    """Parse the checkpoint part of a file: a body, optionally followed by an empty
    line and signature lines (a C2SP signed note, section 4.1)."""
    if not text:
        fail(f"{what}: missing (file ends before the checkpoint)")
    if not text.endswith("\n"):
        fail(f"{what}: file is truncated (last line has no newline)")
    if text.startswith("\n"):
        fail(f"line {first_line_no}: unexpected empty line before the checkpoint")
    cp = Checkpoint()
    cut = text.rfind("\n\n")
    if cut == -1:
        body, sig_text = text, None
    else:
        body, sig_text = text[:cut + 1], text[cut + 2:]
    body_lines = body[:-1].split("\n")
    for i, line in enumerate(body_lines):
        if line == "":
            fail(f"line {first_line_no + i}: empty line inside the checkpoint body")
    if len(body_lines) < 3:
        fail(f"{what}: body needs at least an origin, a size and a root line")
    cp.body = body.encode("utf-8")
    ln = first_line_no
    cp.origin = body_lines[0]     # non-empty: an empty line was rejected above
    cp.size = dec_strict(body_lines[1], f"line {ln + 1}: checkpoint tree size")
    cp.root = b64_strict(body_lines[2], f"line {ln + 2}: checkpoint root", 32)
    for i, line in enumerate(body_lines[3:], start=3):
        where = f"line {ln + i}"
        word, _, rest = line.partition(" ")
        if word == "release":
            if cp.release is not None:
                fail(f"{where}: second 'release' line in the checkpoint")
            if not RE_RELEASE.match(rest):
                fail(f"{where}: bad release name {shorten(rest)!r} (allowed: A-Z a-z 0-9 . _ - + @ :)")
            cp.release = rest
        elif word == "created":
            if cp.created is not None:
                fail(f"{where}: second 'created' line in the checkpoint")
            check_rfc3339_utc(rest, where)
            cp.created = rest
        elif word == "parent":
            if cp.parent is not None:
                fail(f"{where}: second 'parent' line in the checkpoint")
            p = rest.split(" ")
            if len(p) != 2 or not RE_RELEASE.match(p[0]):
                fail(f"{where}: expected 'parent <release name> <root, base64>'")
            cp.parent = (p[0], b64_strict(p[1], f"{where}: parent root", 32))
        # any other extension line is ignored (section 4)
    if cp.release is None:
        fail(f"{what}: the checkpoint body has no 'release' line")
    if sig_text is not None:
        sig_first = ln + len(body_lines) + 1
        if sig_text == "":
            fail(f"line {sig_first - 1}: empty line after the checkpoint but no signature lines")
        sig_lines = sig_text[:-1].split("\n")
        for i, line in enumerate(sig_lines):
            where = f"line {sig_first + i}"
            if not line.startswith(EM_DASH_PREFIX):
                fail(f"{where}: expected a signature line starting with an em dash and a space, "
                     f"got {shorten(line)!r}")
            p = line[len(EM_DASH_PREFIX):].split(" ")
            if len(p) != 2:
                fail(f"{where}: signature line must be '\u2014 <key name> <base64>'")
            check_key_name(p[0], where)
            raw = b64_strict(p[1], f"{where}: signature")
            # C2SP: key id (4 bytes) then the signature. Ed25519 signatures are 64 bytes;
            # the length is enforced when the key is trusted (anchor), since signatures
            # of unknown keys may use other algorithms and are ignored.
            if len(raw) < 5:
                fail(f"{where}: signature decodes to {len(raw)} bytes, too short for a key id and a signature")
            cp.signatures.append((p[0], raw[:4], raw[4:], sig_first + i))
    return cp


def check_rfc3339_utc(s, where):
    m = RE_RFC3339_UTC.match(s)
    if not m:
        fail(f"{where}: 'created' is not an RFC 3339 UTC time (YYYY-MM-DDTHH:MM:SSZ): {shorten(s)!r}")
    import datetime
    y, mo, d, hh, mi, ss = (int(g) for g in m.groups()[:6])
    try:
        datetime.datetime(y, mo, d, hh, mi, min(ss, 59))
    except ValueError:
        fail(f"{where}: 'created' is not a valid date and time: {s!r}")
    if ss > 60:
        fail(f"{where}: 'created' has seconds out of range: {s!r}")


def anchor(cp, vkeys, trusted_root):
    """Returns (anchored, list of key names whose signature verified, root trusted?)."""
    signed_by = []
    if trusted_root is not None and trusted_root != cp.root:
        fail(f"the checkpoint's root {cp.root.hex()} is not the trusted root {trusted_root.hex()}")
    if vkeys:
        for name, kid, sig, line_no in cp.signatures:
            for vk in vkeys:
                if vk.name == name and vk.key_id == kid:
                    if len(sig) != 64:
                        fail(f"line {line_no}: the signature by {name} ({kid.hex()}) is {len(sig)} bytes, "
                             f"not a 64-byte Ed25519 signature")
                    if not ed25519_verify(vk.public, sig, cp.body):
                        fail(f"line {line_no}: the signature by {name} ({kid.hex()}) does not verify "
                             f"over the checkpoint")
                    if name not in signed_by:
                        signed_by.append(name)
                    break
        if not signed_by:
            trusted = ", ".join(f"{k.name}+{k.key_id.hex()}" for k in vkeys)
            if cp.signatures:
                fail(f"the checkpoint has no signature by a trusted key (trusted: {trusted})")
            fail(f"the checkpoint is not signed, so no trusted key vouches for it (trusted: {trusted})")
    return (bool(signed_by) or trusted_root is not None), signed_by, trusted_root is not None


ROOT_ONLY_CAVEAT = ("; only the checkpoint, not the trusted root, states the release name, "
                    "entry number and tree size")


def vouch_phrase(root, signed_by, root_trusted):
    if signed_by and root_trusted:
        return f"whose root {root.hex()} was signed by {', '.join(signed_by)} and is the root you trusted"
    if signed_by:
        return f"whose root {root.hex()} was signed by {', '.join(signed_by)}"
    if root_trusted:
        return f"whose root {root.hex()} is the root you trusted"
    return (f"whose root is {root.hex()} \u2014 NOT ANCHORED: nothing vouches for that root "
            f"(pass --vkey or --root)")


# --------------------------------------------------------------------------- line reading

class Lines:
    """Reads '\\n'-terminated UTF-8 lines from a binary stream, strictly."""

    def __init__(self, stream, line_limit=MAX_LINE_BYTES):
        self.stream = stream
        self.no = 0
        self.limit = line_limit

    def next(self, what="line"):
        """The next line without its newline, or None at end of file."""
        raw = self.stream.readline(self.limit + 1)
        if raw == b"":
            return None
        self.no += 1
        if len(raw) > self.limit:
            fail(f"line {self.no}: longer than {self.limit} bytes")
        if not raw.endswith(b"\n"):
            fail(f"line {self.no}: file is truncated (last line has no newline)")
        return decode_text(raw[:-1], f"line {self.no}")

    def need(self, what):
        line = self.next()
        if line is None:
            fail(f"file is truncated: expected {what} at line {self.no + 1}")
        return line

    def rest(self, limit, what):
        raw = self.stream.read(limit + 1)
        if len(raw) > limit:
            fail(f"{what} is longer than {limit} bytes")
        text = decode_text(raw, what)
        return text


def decode_text(raw, where):
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        fail(f"{where}: not valid UTF-8 (byte {e.start})")
    m = RE_CONTROL_NOT_NL.search(text)
    if m:
        c = ord(m.group())
        extra = " (files must use \\n line ends)" if c == 0x0D else ""
        fail(f"{where}: control character U+{c:04X} in the text{extra}")
    return text


# --------------------------------------------------------------------------- proofs

def read_audit_path(lines, stop, what):
    """base64 hash lines until a line for which stop(line) is true; returns (hashes, line)."""
    path = []
    while True:
        line = lines.need(f"an audit path hash or the end of the {what}")
        if stop(line):
            return path, line
        path.append(b64_strict(line, f"line {lines.no}: {what} hash", 32))
        if len(path) > 64:
            fail(f"line {lines.no}: {what} has more than 64 hashes")


def rest_checkpoint(lines, limit):
    first = lines.no + 1
    text = lines.rest(limit, "checkpoint")
    return parse_checkpoint(text, first)


def verify_inclusion_file(lines, claim, vkeys, trusted_root):
    leaf = parse_proof_leaf_line(lines.need("the 'leaf' line"), "leaf", f"line {lines.no}")
    path, _ = read_audit_path(lines, lambda l: l == "", "audit path")
    cp = rest_checkpoint(lines, MAX_PROOF_BYTES)
    why = verify_inclusion(leaf.index, cp.size, leaf.hash(), path, cp.root)
    if why:
        fail(f"inclusion proof does not verify: {why}")
    if claim is not None and claim != leaf.content:
        fail(f"the claimed file has content b3:{claim.hex()}, but the proof is about "
             f"b3:{leaf.content.hex()}")
    anchored, signed_by, root_trusted = anchor(cp, vkeys, trusted_root)
    size_txt = f"{leaf.size} bytes" if leaf.kind != "dir" else "directory"
    if leaf.kind == "symlink":
        size_txt = f"symlink, target of {leaf.size} bytes"
    statement = (f"content b3:{leaf.content.hex()} ({size_txt}) is at path {leaf.text_path} "
                 f"in release {cp.release} (entry {leaf.index} of {cp.size}) "
                 + vouch_phrase(cp.root, signed_by, root_trusted))
    if root_trusted and not signed_by:
        statement += ROOT_ONLY_CAVEAT
    if claim is not None:
        statement += "; the claimed file has exactly this content"
    return anchored, statement, {
        "kind": "inclusion", "release": cp.release, "origin": cp.origin, "root": cp.root.hex(),
        "size": cp.size, "content": leaf.content.hex(), "path": leaf.text_path,
        "entry_kind": leaf.kind, "entry_size": leaf.size, "index": leaf.index,
        "signed_by": signed_by, "root_trusted": root_trusted, "claim_checked": claim is not None}


def verify_absence_file(lines, claim, vkeys, trusted_root):
    line = lines.need("the 'absent' line")
    if not line.startswith("absent "):
        fail(f"line {lines.no}: expected 'absent <content hash, hex>', got {shorten(line)!r}")
    absent = hex32_strict(line[len("absent "):], f"line {lines.no}: absent hash")
    left = right = None
    left_path = right_path = None
    line = lines.need("'left', 'right' or an empty line")
    if line.startswith("left "):
        left = parse_proof_leaf_line(line, "left", f"line {lines.no}")
        left_path, line = read_audit_path(
            lines, lambda l: l == "" or l.startswith("right "), "left audit path")
    if line.startswith("right "):
        right = parse_proof_leaf_line(line, "right", f"line {lines.no}")
        right_path, line = read_audit_path(lines, lambda l: l == "", "right audit path")
    if line != "":
        fail(f"line {lines.no}: expected 'left', 'right' or an empty line, got {shorten(line)!r}")
    cp = rest_checkpoint(lines, MAX_PROOF_BYTES)
    n = cp.size
    # section 3.2
    if n == 0:
        if left or right:
            fail("absence proof for an empty tree must give no leaves")
        if cp.root != H(b""):
            fail("the checkpoint has size 0 but its root is not H(\"\")")
    else:
        if not left and not right:
            fail("absence proof for a non-empty tree gives neither a left nor a right leaf")
        if left and right and right.index != left.index + 1:
            fail(f"left leaf {left.index} and right leaf {right.index} are not adjacent")
        if right and not left and right.index != 0:
            fail(f"only a right leaf is given, but it is entry {right.index}, not entry 0")
        if left and not right and left.index != n - 1:
            fail(f"only a left leaf is given, but it is entry {left.index}, not the last entry {n - 1}")
    for name, leaf, path in (("left", left, left_path), ("right", right, right_path)):
        if leaf is None:
            continue
        why = verify_inclusion(leaf.index, n, leaf.hash(), path, cp.root)
        if why:
            fail(f"{name} leaf's inclusion proof does not verify: {why}")
    if left and not left.content < absent:
        fail(f"left leaf's hash b3:{left.content.hex()} is not below the absent hash")
    if right and not absent < right.content:
        fail(f"right leaf's hash b3:{right.content.hex()} is not above the absent hash")
    if claim is not None and claim != absent:
        fail(f"the claimed file has content b3:{claim.hex()}, but the proof is about "
             f"b3:{absent.hex()}")
    anchored, signed_by, root_trusted = anchor(cp, vkeys, trusted_root)
    if n == 0:
        between = "the release is empty"
    elif left and right:
        between = f"entries {left.index} and {right.index} surround it"
    elif right:
        between = "it sorts before entry 0"
    else:
        between = f"it sorts after the last entry {left.index}"
    statement = (f"no entry of release {cp.release} ({n} entries) has content b3:{absent.hex()} "
                 f"({between}), " + vouch_phrase(cp.root, signed_by, root_trusted))
    if root_trusted and not signed_by:
        statement += ROOT_ONLY_CAVEAT
    if claim is not None:
        statement += "; the claimed file has exactly this content"
    return anchored, statement, {
        "kind": "absence", "release": cp.release, "origin": cp.origin, "root": cp.root.hex(),
        "size": n, "content": absent.hex(),
        "left_index": left.index if left else None, "right_index": right.index if right else None,
        "signed_by": signed_by, "root_trusted": root_trusted, "claim_checked": claim is not None}


def verify_consistency_file(lines, claim, vkeys, trusted_root):
    def size_root(tag):
        line = lines.need(f"the '{tag}' line")
        p = line.split(" ")
        if len(p) != 3 or p[0] != tag:
            fail(f"line {lines.no}: expected '{tag} <size> <root, base64>', got {shorten(line)!r}")
        return (dec_strict(p[1], f"line {lines.no}: {tag} size"),
                b64_strict(p[2], f"line {lines.no}: {tag} root", 32))
    m, old_root = size_root("old")
    n, new_root = size_root("new")
    path = []
    while True:
        line = lines.next()
        if line is None:
            break
        if line == "":
            fail(f"line {lines.no}: unexpected empty line in a consistency proof")
        path.append(b64_strict(line, f"line {lines.no}: consistency path hash", 32))
        if len(path) > 130:
            fail(f"line {lines.no}: consistency path is too long")
    why = verify_consistency(m, n, old_root, new_root, path)
    if why:
        fail(f"consistency proof does not verify: {why}")
    if trusted_root is not None and trusted_root != new_root:
        fail(f"the new log root {new_root.hex()} is not the trusted root {trusted_root.hex()}")
    if claim is not None:
        print("note: --file is ignored: a consistency proof is not about file content",
              file=sys.stderr)
    anchored = trusted_root is not None
    statement = (f"the release log of {n} heads with root {new_root.hex()} extends the log of "
                 f"{m} heads with root {old_root.hex()}: releases were only added")
    if anchored:
        statement += "; the new root is the root you trusted"
    else:
        statement += (" \u2014 NOT ANCHORED: compare both roots with published ones "
                      "(pass --root with the new root)")
    return anchored, statement, {
        "kind": "log-consistency", "old_size": m, "old_root": old_root.hex(), "size": n,
        "root": new_root.hex(), "signed_by": [], "root_trusted": anchored, "claim_checked": False}


def verify_manifest_file(lines, claim, vkeys, trusted_root):
    line = lines.need("the 'release' line")
    if not line.startswith("release ") or not RE_RELEASE.match(line[len("release "):]):
        fail(f"line {lines.no}: expected 'release <name>' (name of A-Z a-z 0-9 . _ - + @ :), "
             f"got {shorten(line)!r}")
    release = line[len("release "):]
    line = lines.need("the 'entries' line")
    if not line.startswith("entries "):
        fail(f"line {lines.no}: expected 'entries <n>', got {shorten(line)!r}")
    n = dec_strict(line[len("entries "):], f"line {lines.no}: entries")
    tree = StreamingRoot()
    prev = None
    matches, match_count = [], 0
    for i in range(n):
        line = lines.next()
        if line is None:
            fail(f"file is truncated: the manifest says {n} entries but has only {i} leaf lines")
        where = f"line {lines.no}"
        if line == "":
            fail(f"{where}: empty line after {i} leaf lines, but the manifest says {n} entries")
        p = line.split(" ", 3)
        if len(p) != 4:
            fail(f"{where}: expected '<content hash> <size> <kind> <path>', got {shorten(line)!r}")
        leaf = make_leaf(p[2], p[1], p[0], p[3], where, i)
        key = leaf.order_key()
        if prev is not None and not prev < key:
            fail(f"{where}: leaf is not strictly after the previous one in (content hash, path) order")
        prev = key
        tree.add(leaf.hash())
        if claim is not None and leaf.content == claim:
            match_count += 1
            if len(matches) < MAX_PATH_SHOWN:
                matches.append((i, leaf.text_path))
    line = lines.next()
    if line is None:
        fail(f"file is truncated: expected an empty line after the {n} leaf lines")
    if line != "":
        fail(f"line {lines.no}: expected an empty line after the {n} leaf lines "
             f"(more leaf lines than 'entries {n}'?), got {shorten(line)!r}")
    cp = rest_checkpoint(lines, MAX_CHECKPOINT_BYTES)
    root = tree.root()
    if cp.release != release:
        fail(f"the checkpoint is for release {cp.release!r}, the manifest for {release!r}")
    if cp.size != n:
        fail(f"the checkpoint's size {cp.size} is not the manifest's {n} entries")
    if cp.root != root:
        fail(f"the manifest's leaves hash to root {root.hex()}, but the checkpoint's root is "
             f"{cp.root.hex()}")
    anchored, signed_by, root_trusted = anchor(cp, vkeys, trusted_root)
    vouch = vouch_phrase(cp.root, signed_by, root_trusted)
    if claim is None:
        statement = f"release {release} has exactly these {n} entries, " + vouch
    elif match_count == 0:
        statement = (f"no entry of release {release} ({n} entries) has content b3:{claim.hex()} "
                     f"(the claimed file is absent), " + vouch)
    else:
        shown = ", ".join(f"path {p} (entry {i})" for i, p in matches)
        if match_count > len(matches):
            shown += f" and {match_count - len(matches)} more"
        statement = (f"content b3:{claim.hex()} (the claimed file) is at {shown} in release "
                     f"{release} ({n} entries), " + vouch)
    if root_trusted and not signed_by:
        statement += "; only the checkpoint, not the trusted root, states the release name"
    return anchored, statement, {
        "kind": "manifest", "release": release, "origin": cp.origin, "root": cp.root.hex(),
        "size": n, "content": claim.hex() if claim is not None else None,
        "matches": [{"index": i, "path": p} for i, p in matches] if claim is not None else None,
        "match_count": match_count if claim is not None else None,
        "signed_by": signed_by, "root_trusted": root_trusted, "claim_checked": claim is not None}


def verify_stream(stream, claim=None, vkeys=(), trusted_root=None):
    """Verify one proof or manifest read from a binary stream.
    Returns (anchored, statement, details); raises VerifyError."""
    _load_crypto()
    first = stream.readline(64)
    if first == b"":
        fail("the file is empty")
    if not first.endswith(b"\n"):
        fail("not a custody proof or manifest: unknown or truncated first line")
    try:
        header = first[:-1].decode("utf-8")
    except UnicodeDecodeError:
        header = None
    handlers = {
        HEADER_INCLUSION: verify_inclusion_file,
        HEADER_ABSENCE: verify_absence_file,
        HEADER_CONSISTENCY: verify_consistency_file,
        HEADER_MANIFEST: verify_manifest_file,
    }
    if header not in handlers:
        if header is not None and header.endswith("\r") and header[:-1] in handlers:
            fail("the file has \\r\\n line ends; custody files use \\n only")
        fail(f"not a custody proof or manifest: unknown first line {shorten(first[:-1])!s}")
    if header != HEADER_MANIFEST:
        rest = stream.read(MAX_PROOF_BYTES + 1 - len(first))
        if len(first) + len(rest) > MAX_PROOF_BYTES:
            fail(f"proof file is larger than {MAX_PROOF_BYTES} bytes")
        stream = io.BytesIO(rest)
    lines = Lines(stream)
    lines.no = 1
    return handlers[header](lines, claim, list(vkeys), trusted_root)


# --------------------------------------------------------------------------- self-test

SPEC_INCLUSION = (
    "custody inclusion proof v1\n"
    "leaf 2 file 17 29f5511d7267b75846f8afe72f8bfb4bb544f5b95297163105b17073c8f11b65 memo.txt\n"
    "cotKDQI+DXhxlIYmalclkoCfRRoHth0CTcEi+PHoy9g=\n"
    "\n"
    "example.org/leak-r1\n"
    "3\n"
    "4I5qpuw42AmiMlV1n8LcMfDvs+2OKjxyqAEIARxfYyc=\n"
    "release leak-r1\n"
    "created 2020-06-19T00:00:00Z\n"
    "\n"
    "\u2014 PeterNeumann x08gozNFG4m0gBnN2EDlwm8RjaiZMCZY7zdJyb3kfz62H597p4eVbHAjNk2SlQmZwoVieBr5fzkcBl0skkqSEugeWwk=\n"
).encode("utf-8")

SPEC_ABSENCE = (
    "custody absence proof v1\n"
    "absent 266883f106f85ae5e8ba7679a889b8d0fc41d1b20cc9d9f6af0979891822df15\n"
    "left 1 file 16 25792444a4cd80f474defe0e8044b3fac6c60536c6647af42dcd4e2ce27a791c notes/list.csv\n"
    "Ubr/TDSb7HpZNH3KhmoegWtiXDTecOJpHY+gcY2Yk6s=\n"
    "Iy56t0nOYX/P8YEseYtRMcw71hJTmhIa/2JkQeceZbA=\n"
    "right 2 file 17 29f5511d7267b75846f8afe72f8bfb4bb544f5b95297163105b17073c8f11b65 memo.txt\n"
    "cotKDQI+DXhxlIYmalclkoCfRRoHth0CTcEi+PHoy9g=\n"
    "\n"
    "example.org/leak-r1\n"
    "3\n"
    "4I5qpuw42AmiMlV1n8LcMfDvs+2OKjxyqAEIARxfYyc=\n"
    "release leak-r1\n"
    "created 2020-06-19T00:00:00Z\n"
    "\n"
    "\u2014 PeterNeumann x08gozNFG4m0gBnN2EDlwm8RjaiZMCZY7zdJyb3kfz62H597p4eVbHAjNk2SlQmZwoVieBr5fzkcBl0skkqSEugeWwk=\n"
).encode("utf-8")

SPEC_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
SPEC_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"

# the values section 9 states, to be recomputed from the raw facts
SPEC_VALUES = {
    "leaf0": "010200000000000000000000000000000000000000000000000000000000000000000000000000000000050000006e6f746573",
    "leaf0_hash": "51baff4c349bec7a59347dca866a1e816b625c34de70e2691d8fa0718d9893ab",
    "leaf1": "0101100000000000000025792444a4cd80f474defe0e8044b3fac6c60536c6647af42dcd4e2ce27a791c0e0000006e6f7465732f6c6973742e637376",
    "leaf1_hash": "e9563a564596677125d6d5c6a7e922dc59bf3a2e7a88f45e9a943dd5d45db3bd",
    "leaf2": "0101110000000000000029f5511d7267b75846f8afe72f8bfb4bb544f5b95297163105b17073c8f11b65080000006d656d6f2e747874",
    "leaf2_hash": "232e7ab749ce617fcff1812c798b5131cc3bd612539a121aff626441e71e65b0",
    "node01": "728b4a0d023e0d78719486266a572592809f451a07b61d024dc122f8f1e8cbd8",
    "root": "e08e6aa6ec38d809a23255759fc2dc31f0efb3ed8e2a3c72a80108011c5f6327",
    "root_b64": "4I5qpuw42AmiMlV1n8LcMfDvs+2OKjxyqAEIARxfYyc=",
    "absent": "266883f106f85ae5e8ba7679a889b8d0fc41d1b20cc9d9f6af0979891822df15",
}


def self_test():
    _load_crypto()
    problems = []

    def check(cond, msg):
        if not cond:
            problems.append(msg)

    # 1. the worked example, from the raw facts of section 9
    memo, csv = b"Meeting at noon.\n", b"id,name\n1,Alice\n"
    check(len(memo) == 17 and len(csv) == 16, "file lengths in section 9")
    leaves = [Leaf("dir", 0, ZERO32, b"notes", "notes"),
              Leaf("file", len(memo), H(memo), b"memo.txt", "memo.txt"),
              Leaf("file", len(csv), H(csv), b"notes/list.csv", "notes/list.csv")]
    leaves.sort(key=Leaf.order_key)
    check([l.path for l in leaves] == [b"notes", b"notes/list.csv", b"memo.txt"], "leaf order")
    hashes = []
    for i, leaf in enumerate(leaves):
        check(leaf.encode().hex() == SPEC_VALUES[f"leaf{i}"], f"leaf {i} bytes")
        hashes.append(leaf.hash())
        check(hashes[-1].hex() == SPEC_VALUES[f"leaf{i}_hash"], f"leaf {i} hash")
    node = hash_node(hashes[0], hashes[1])
    check(node.hex() == SPEC_VALUES["node01"], "node [0,2)")
    root = hash_node(node, hashes[2])
    check(root.hex() == SPEC_VALUES["root"], "root [0,3)")
    check(base64.b64encode(root).decode() == SPEC_VALUES["root_b64"], "root base64")
    sr = StreamingRoot()
    for h in hashes:
        sr.add(h)
    check(sr.root() == root, "streaming root")
    check(H(b"Meeting at 21.\n").hex() == SPEC_VALUES["absent"], "absent hash")
    check(hashes[0] != hashes[1], "distinct hashes")
    # the signer key belongs to the verifier key
    vk = VerifierKey(SPEC_VKEY)
    seed = base64.b64decode(SPEC_SKEY.split("+", 4)[4])[1:]
    from cryptography.hazmat.primitives import serialization
    pub = _ed25519.Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    check(pub == vk.public, "signer and verifier key of section 9 match")
    # the empty tree and a few general tree shapes against a direct MTH
    check(StreamingRoot().root() == H(b""), "empty root")

    def mth(hs):
        if len(hs) == 1:
            return hs[0]
        k = 1
        while k * 2 < len(hs):
            k *= 2
        return hash_node(mth(hs[:k]), mth(hs[k:]))

    def audit(hs, m):
        if len(hs) == 1:
            return []
        k = 1
        while k * 2 < len(hs):
            k *= 2
        if m < k:
            return audit(hs[:k], m) + [mth(hs[k:])]
        return audit(hs[k:], m - k) + [mth(hs[:k])]

    def subproof(m, hs, b):
        n = len(hs)
        if m == n:
            return [] if b else [mth(hs)]
        k = 1
        while k * 2 < n:
            k *= 2
        if m <= k:
            return subproof(m, hs[:k], b) + [mth(hs[k:])]
        return subproof(m - k, hs[k:], False) + [mth(hs[:k])]

    all_h = [H(bytes([i])) for i in range(33)]
    for n in range(1, 34):
        hs = all_h[:n]
        sr = StreamingRoot()
        for h in hs:
            sr.add(h)
        r = mth(hs)
        check(sr.root() == r, f"streaming root n={n}")
        for m in range(n):
            check(verify_inclusion(m, n, hs[m], audit(hs, m), r) is None, f"inclusion {m}/{n}")
            if n > 1:
                check(verify_inclusion(m, n, hs[m], audit(hs, m)[:-1], r) is not None,
                      f"short {m}/{n}")
                check(verify_inclusion(m, n, hs[m], audit(hs, m) + [r], r) is not None,
                      f"long {m}/{n}")
        for m in range(1, n + 1):
            p = subproof(m, hs, True)
            check(verify_consistency(m, n, mth(hs[:m]), r, p) is None, f"consistency {m}->{n}")
            if p:
                check(verify_consistency(m, n, mth(hs[:m]), r, p[:-1]) is not None,
                      f"short consistency {m}->{n}")
    # 2. the two example proofs verify, and verify only with the right key
    for name, proof in (("inclusion", SPEC_INCLUSION), ("absence", SPEC_ABSENCE)):
        try:
            anchored, statement, _ = verify_stream(io.BytesIO(proof), None, [vk], None)
            check(anchored and "signed by PeterNeumann" in statement, f"{name} example anchored")
        except VerifyError as e:
            problems.append(f"{name} example does not verify: {e}")
        try:
            anchored, _, _ = verify_stream(io.BytesIO(proof), None, [], root)
            check(anchored, f"{name} example anchored by root")
        except VerifyError as e:
            problems.append(f"{name} example does not verify by root: {e}")
    try:
        verify_stream(io.BytesIO(SPEC_INCLUSION), H(memo), [vk], None)
    except VerifyError as e:
        problems.append(f"inclusion example with the claimed memo.txt: {e}")
    try:
        verify_stream(io.BytesIO(SPEC_ABSENCE), H(b"Meeting at 21.\n"), [vk], None)
    except VerifyError as e:
        problems.append(f"absence example with the claimed file: {e}")
    for name, proof, claim in (("inclusion", SPEC_INCLUSION, H(csv)), ("absence", SPEC_ABSENCE, H(memo))):
        try:
            verify_stream(io.BytesIO(proof), claim, [vk], None)
            problems.append(f"{name} example accepted a wrong claimed file")
        except VerifyError:
            pass
    # 2b. the examples as docs/PROOFS.md prints them now (when the file is beside us)
    doc = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "PROOFS.md")
    doc_note = "docs/PROOFS.md not found; used the embedded copies"
    if os.path.isfile(doc):
        with open(doc, "rb") as f:
            blocks = f.read().split(b"```")[1::2]
        for name, embedded in (("inclusion", SPEC_INCLUSION), ("absence", SPEC_ABSENCE)):
            header = embedded.split(b"\n", 1)[0]
            # drop each fence's info line; the last block with this header is the example
            # of section 9 (the earlier one is the format template of section 5)
            cands = [b.split(b"\n", 1)[1] for b in blocks if b"\n" in b]
            cands = [b for b in cands if b.startswith(header + b"\n")]
            if not cands:
                problems.append(f"no {name} example found in docs/PROOFS.md")
                continue
            blk = cands[-1]
            check(blk == embedded, f"the {name} example in docs/PROOFS.md differs from "
                                   f"the embedded copy")
            try:
                anchored, _, _ = verify_stream(io.BytesIO(blk), None, [vk], None)
                check(anchored, f"{name} example of docs/PROOFS.md anchored")
            except VerifyError as e:
                problems.append(f"the {name} example in docs/PROOFS.md does not verify: {e}")
        doc_note = "the examples in docs/PROOFS.md equal the embedded copies"
    # 3. every single-byte alteration of the example proofs must fail. Checked with the
    # claimed file: an absence proof does not bind its 'absent' line, so without a claim
    # a changed absent hash that still sorts between the two leaves is another true proof;
    # without the claim only such changes may verify.
    mutations = 0
    absent_line = SPEC_ABSENCE.split(b"\n")[1]
    a_start = SPEC_ABSENCE.index(absent_line)
    a_end = a_start + len(absent_line)
    for name, proof, claim in (("inclusion", SPEC_INCLUSION, H(memo)),
                               ("absence", SPEC_ABSENCE, H(b"Meeting at 21.\n"))):
        for pos in range(len(proof)):
            b = proof[pos]
            variants = {proof[:pos] + proof[pos + 1:],                    # deleted
                        proof[:pos] + bytes([b]) + proof[pos:]}           # doubled
            for x in (0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80):
                variants.add(proof[:pos] + bytes([b ^ x]) + proof[pos + 1:])
            for rep in b"A0a+/= \n\\":
                if rep != b:
                    variants.add(proof[:pos] + bytes([rep]) + proof[pos + 1:])
            variants.discard(proof)
            for v in variants:
                mutations += 1
                try:
                    verify_stream(io.BytesIO(v), claim, [vk], None)
                    problems.append(f"{name} example with byte {pos} altered still verifies: {v!r}")
                except VerifyError:
                    pass
                try:
                    verify_stream(io.BytesIO(v), None, [vk], None)
                    if not (proof is SPEC_ABSENCE and a_start <= pos < a_end and len(v) == len(proof)):
                        problems.append(f"{name} example with byte {pos} altered verifies "
                                        f"without a claim: {v!r}")
                except VerifyError:
                    pass
    for p in problems[:50]:
        print(f"self-test: FAIL: {p}", file=sys.stderr)
    if problems:
        print(f"self-test: {len(problems)} problems", file=sys.stderr)
        return 2
    print(f"self-test: ok (worked example of section 9 recomputed; 2 example proofs verify; "
          f"{doc_note}; {mutations} single-byte alterations all rejected; "
          f"trees of 1-33 leaves checked)")
    return 0


# --------------------------------------------------------------------------- command line

USAGE = ("usage: verify_proof.py PROOF [--file CLAIM] [--vkey KEY]... [--root HEX_OR_BASE64] [--json]\n"
         "       verify_proof.py --self-test")


def parse_args(argv):
    opts = {"proof": None, "file": None, "vkeys": [], "root": None, "json": False, "self_test": False}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("-h", "--help"):
            print(__doc__.strip())
            print()
            print(USAGE)
            sys.exit(0)
        if a == "--json":
            opts["json"] = True
        elif a == "--self-test":
            opts["self_test"] = True
        elif a in ("--file", "--vkey", "--root") or a.startswith(("--file=", "--vkey=", "--root=")):
            if "=" in a:
                name, val = a.split("=", 1)
            else:
                if i + 1 >= len(argv):
                    fail(f"{a} needs a value\n{USAGE}")
                name, val = a, argv[i + 1]
                i += 1
            if name == "--vkey":
                opts["vkeys"].append(val)
            elif opts[name[2:]] is not None:
                fail(f"{name} given twice\n{USAGE}")
            else:
                opts[name[2:]] = val
        elif a == "--":
            rest = argv[i + 1:]
            if len(rest) != 1 or opts["proof"] is not None:
                fail(f"expected exactly one PROOF file\n{USAGE}")
            opts["proof"] = rest[0]
            break
        elif a.startswith("-") and a != "-":
            fail(f"unknown option {a!r}\n{USAGE}")
        else:
            if opts["proof"] is not None:
                fail(f"expected exactly one PROOF file\n{USAGE}")
            opts["proof"] = a
        i += 1
    if not opts["self_test"] and opts["proof"] is None:
        fail(f"missing PROOF file\n{USAGE}")
    return opts


def main(argv):
    want_json = "--json" in argv
    try:
        opts = parse_args(argv)
        if opts["self_test"]:
            return self_test()
        _load_crypto()
        vkeys = [load_vkey(v) for v in opts["vkeys"]]
        trusted_root = parse_trusted_root(opts["root"]) if opts["root"] is not None else None
        claim = blake3_of_file(opts["file"]) if opts["file"] is not None else None
        try:
            f = open(opts["proof"], "rb")
        except OSError as e:
            fail(f"cannot open {opts['proof']!r}: {e.strerror or e}")
        with f:
            if os.path.isdir(opts["proof"]):
                fail(f"{opts['proof']!r} is a directory")
            anchored, statement, details = verify_stream(f, claim, vkeys, trusted_root)
    except VerifyError as e:
        msg = str(e)
        print(f"FAILED: {msg}", file=sys.stderr)
        if want_json:
            print(json.dumps({"verified": False, "anchored": False, "error": msg}, indent=2))
        return 2
    except (MemoryError, RecursionError) as e:
        print(f"FAILED: input too large to verify ({type(e).__name__})", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("FAILED: interrupted", file=sys.stderr)
        return 2
    except Exception as e:  # never a traceback: an unforeseen input is a failure too
        print(f"FAILED: internal error while verifying ({type(e).__name__}: {e})", file=sys.stderr)
        return 2
    if want_json:
        details.update({"verified": True, "anchored": anchored, "statement": statement})
        print(json.dumps(details, indent=2, ensure_ascii=False))
    else:
        print(f"VERIFIED: {statement}")
    return 0 if anchored else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
