#!/usr/bin/env python3
"""Accuracy of `custody identify` on claims made from a benchmark corpus.

    benches/identify_accuracy.py CORPUS [--per-kind N] [--work DIR] [--check] [--seed S]

Ingests CORPUS/r1 into a fresh store, then builds a claims set from r1's files:
exact copies under other names, one set per alteration kind (each claim derived
from a known original), re-zipped archives of several files, and unrelated files
from installed system packages. Runs `custody identify --json` on all of it and
reports, per kind, how many claims got the expected verdict and (for altered
claims) the right original, plus the similarity scores that set the threshold.

--check exits non-zero unless the targets hold: exact 100%, altered with the right
original >= 95%, unrelated -> unknown 100%. Needs only python3 and the custody
binary (target/release/custody, built if missing).
"""
import argparse
import glob
import hashlib
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CUSTODY = os.path.join(HERE, "target", "release", "custody")


def run(args, env, check=True):
    r = subprocess.run([CUSTODY] + args, env=env, capture_output=True, text=True)
    if check and r.returncode not in (0, 1, 3):
        sys.exit(f"custody {' '.join(args)} failed ({r.returncode}):\n{r.stderr}")
    return r


# --- alterations -------------------------------------------------------------
def append_bytes(rng, data, path):
    return data + b"\n-- edited by hand --\n"


def pdf_update(rng, data, path):
    if not data.startswith(b"%PDF"):
        return None
    upd = (b"\n%% incremental update\n%d 0 obj\n<< /Producer (Acrobat 20.1) /ModDate "
           b"(D:20200620%06d) >>\nendobj\nstartxref\n%d\n%%%%EOF\n"
           % (rng.randint(900, 2000), rng.randint(0, 999999), len(data)))
    return data + upd


def csv_rows(data):
    lines = data.split(b"\n")
    return lines, [i for i in range(1, len(lines)) if b"," in lines[i]]


def csv_edit(rng, data, path):
    lines, body = csv_rows(data)
    if len(body) < 8:
        return None
    for i in rng.sample(body, min(len(body) // 4, rng.randint(1, 3))):
        f = lines[i].split(b",")
        j = rng.randrange(len(f))
        f[j] = b'"REDACTED"' if rng.random() < 0.5 else str(rng.randint(0, 10**6)).encode()
        lines[i] = b",".join(f)
    return b"\n".join(lines)


def csv_append(rng, data, path):
    lines, body = csv_rows(data)
    if len(body) < 8:
        return None
    extra = [lines[i] for i in rng.sample(body, rng.randint(1, 5))]
    tail = b"" if data.endswith(b"\n") else b"\n"
    return data + tail + b"\n".join(extra) + b"\n"


def csv_remove(rng, data, path):
    lines, body = csv_rows(data)
    if len(body) < 8:
        return None
    drop = set(rng.sample(body, rng.randint(1, 3)))
    return b"\n".join(l for i, l in enumerate(lines) if i not in drop)


def jpeg_comment(rng, data, path):
    if data[:2] != b"\xff\xd8":
        return None
    c = b"Edited with GIMP; " + str(rng.randint(0, 10**9)).encode()
    return data[:2] + b"\xff\xfe" + (len(c) + 2).to_bytes(2, "big") + c + data[2:]


def png_text(rng, data, path):
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    body = b"Comment\x00retouched " + str(rng.randint(0, 10**6)).encode()
    chunk = struct.pack(">I", len(body)) + b"tEXt" + body + struct.pack(">I", zlib.crc32(b"tEXt" + body))
    # After IHDR (8-byte signature + 25-byte IHDR chunk).
    return data[:33] + chunk + data[33:]


def overwrite(rng, data, path):
    if len(data) < 8192:
        return None
    off = rng.randrange(len(data) // 4, 3 * len(data) // 4)
    n = rng.randint(16, 256)
    return data[:off] + bytes(rng.randrange(256) for _ in range(n)) + data[off + n:]


def truncate(rng, data, path):
    if len(data) < 1024:
        return None
    return data[: rng.randrange(512, len(data) - 1)]


def bit_flip(rng, data, path):
    if len(data) < 64:
        return None
    i = rng.randrange(len(data))
    return data[:i] + bytes([data[i] ^ (1 << rng.randrange(8))]) + data[i + 1:]


KINDS = {
    "appended_bytes": (append_bytes, lambda p: True),
    "pdf_incremental_update": (pdf_update, lambda p: p.endswith(".pdf")),
    "csv_rows_edited": (csv_edit, lambda p: p.endswith(".csv")),
    "csv_rows_appended": (csv_append, lambda p: p.endswith(".csv")),
    "csv_rows_removed": (csv_remove, lambda p: p.endswith(".csv")),
    "jpeg_comment_inserted": (jpeg_comment, lambda p: p.endswith(".jpg")),
    "png_metadata_changed": (png_text, lambda p: p.endswith(".png")),
    "bytes_overwritten": (overwrite, lambda p: True),
    "truncated": (truncate, lambda p: True),
    "bit_flip": (bit_flip, lambda p: True),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("--per-kind", type=int, default=40)
    ap.add_argument("--work")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--custody", help="custody binary (default: target/release/custody, built if missing)")
    a = ap.parse_args()
    global CUSTODY
    if a.custody:
        CUSTODY = os.path.abspath(a.custody)
    elif not os.path.exists(CUSTODY):
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=HERE, check=True)
    work = a.work or tempfile.mkdtemp(prefix="custody-accuracy.")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    env = dict(os.environ, CUSTODY_STORE=os.path.join(work, "store.redb"))
    r1 = os.path.join(a.corpus, "r1")
    run(["init", "-q"], env)
    run(["-q", "ingest", r1, "--release", "r1"], env)

    rng = random.Random(a.seed)
    files = sorted(os.path.relpath(p, r1) for p in glob.glob(os.path.join(r1, "**", "*"), recursive=True)
                   if os.path.isfile(p) and not os.path.islink(p) and not p.endswith(".zip"))
    sha = lambda d: hashlib.sha256(d).hexdigest()
    r1_shas = {sha(open(os.path.join(r1, f), "rb").read()) for f in files}
    claims_dir = os.path.join(work, "claims")
    os.makedirs(claims_dir)
    expect = {}  # claim path -> (kind, expected verdict, original relpath or None)

    def add(kind, name, data, verdict, original):
        p = os.path.join(claims_dir, kind, name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
        expect[p] = (kind, verdict, original)

    for i, f in enumerate(rng.sample(files, min(a.per_kind, len(files)))):
        add("exact", f"{i}-copy{os.path.splitext(f)[1]}", open(os.path.join(r1, f), "rb").read(), "exact", f)
    for kind, (fn, fits) in KINDS.items():
        pool = [f for f in files if fits(f)]
        rng.shuffle(pool)
        made = 0
        for f in pool:
            if made == a.per_kind:
                break
            data = open(os.path.join(r1, f), "rb").read()
            out = fn(rng, data, f)
            # An alteration that happens to give another stored file is not a test.
            if out is None or out == data or sha(out) in r1_shas:
                continue
            add(kind, f"{made}-{os.path.basename(f)}", out, "altered", f)
            made += 1
    # Re-zipped archives: several stored files packed anew.
    for i in range(max(3, a.per_kind // 8)):
        members = rng.sample(files, 5)
        p = os.path.join(claims_dir, "rezipped", f"pack{i}.zip")
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as z:
            for m in members:
                z.write(os.path.join(r1, m), m)
        expect[p] = ("rezipped", "altered", None)
    # Unrelated files: documentation and sources of installed packages.
    pool = [p for pat in ("/usr/share/doc/*/*", "/usr/lib/python3*/*.py", "/usr/share/common-licenses/*",
                          "/usr/share/perl/*/*.pm", "/etc/*.conf")
            for p in glob.glob(pat) if os.path.isfile(p) and os.path.getsize(p) > 64]
    rng.shuffle(pool)
    made = 0
    for p in pool:
        if made == a.per_kind:
            break
        data = open(p, "rb").read()
        if sha(data) in r1_shas:
            continue
        add("unrelated", f"{made}-{os.path.basename(p)}", data, "unknown", None)
        made += 1

    out = run(["--json", "identify", claims_dir], env)
    report = json.loads(out.stdout)
    got = {c["claim"]: c for c in report["claims"]}
    # The original's content id, to check the identified original.
    ids = {}
    for c in report["claims"]:
        for o in c.get("originals", []):
            for occ in o["occurrences"]:
                ids.setdefault(o["blake3"], set()).add(occ["path"])
    stats = {}
    sims = {"altered": [], "unrelated": []}
    misses = []
    for p, (kind, verdict, original) in sorted(expect.items()):
        c = got.get(p)
        s = stats.setdefault(kind, {"claims": 0, "verdict": 0, "original": 0})
        s["claims"] += 1
        if c is None:
            misses.append((kind, p, "no result"))
            continue
        if c["verdict"] == verdict:
            s["verdict"] += 1
        if verdict == "altered" and original is not None:
            best = c["originals"][0] if c["originals"] else None
            if best and any(o["path"] == original for o in best["occurrences"]) or (
                    best and original in ids.get(best["blake3"], set())):
                s["original"] += 1
                sims["altered"].append(best["similarity"])
            else:
                misses.append((kind, p, f"{c['verdict']} {best['occurrences'][0]['path'] if best else '-'}"))
        elif verdict == "exact":
            if any(o["path"] == original for o in c["occurrences"]):
                s["original"] += 1
            else:
                misses.append((kind, p, c["verdict"]))
        elif kind == "rezipped":
            if c["verdict"] == "altered" and c["members"] and all(m["verdict"] == "exact" for m in c["members"]):
                s["original"] += 1
            else:
                misses.append((kind, p, c["verdict"]))
        else:
            if c["verdict"] == "unknown":
                s["original"] += 1
            else:
                misses.append((kind, p, c["verdict"]))

    print(f"| kind | claims | right verdict | right original / members / unknown |")
    print(f"|---|---|---|---|")
    ok = True
    for kind, s in stats.items():
        pv = s["verdict"] / s["claims"] * 100
        po = s["original"] / s["claims"] * 100
        print(f"| {kind} | {s['claims']} | {s['verdict']} ({pv:.1f}%) | {s['original']} ({po:.1f}%) |")
    alt = [s for k, s in stats.items() if k not in ("exact", "unrelated", "rezipped")]
    alt_claims = sum(s["claims"] for s in alt)
    alt_ok = sum(s["original"] for s in alt)
    # Precision and recall per verdict: of the claims custody gave verdict V, how many
    # should have had it (and, for altered, named the right original); of those that
    # should, how many got it.
    print("\n| verdict | given | correct | precision | expected | recall |")
    print("|---|---|---|---|---|---|")
    for v in ("exact", "altered", "unknown"):
        given = [p for p, (k, want, o) in expect.items() if p in got and got[p]["verdict"] == v]
        expected = [p for p, (k, want, o) in expect.items() if want == v]
        correct = [p for p in given if expect[p][1] == v and (p, expect[p][0]) not in
                   {(m[1], m[0]) for m in misses}]
        prec = len(correct) / len(given) * 100 if given else 100.0
        rec = len(correct) / len(expected) * 100 if expected else 100.0
        print(f"| {v} | {len(given)} | {len(correct)} | {prec:.1f}% | {len(expected)} | {rec:.1f}% |")
    print(f"\naltered with the right original: {alt_ok}/{alt_claims} = {alt_ok / alt_claims * 100:.1f}%")
    if sims["altered"]:
        sa = sorted(sims["altered"])
        print(f"similarity of right originals: min {sa[0]:.3f}, 5th percentile {sa[len(sa) // 20]:.3f}, median {sa[len(sa) // 2]:.3f}")
    print(f"identify took {report['elapsed_secs']:.2f} s for {len(expect)} claims")
    for m in misses[:30]:
        print("miss:", *m)
    if a.check:
        ex, un = stats["exact"], stats["unrelated"]
        ok = (ex["original"] == ex["claims"] and un["original"] == un["claims"]
              and alt_ok >= 0.95 * alt_claims and stats["rezipped"]["original"] == stats["rezipped"]["claims"])
        print("targets:", "met" if ok else "NOT MET")
        sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
