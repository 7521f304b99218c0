#!/usr/bin/env bash
# Release diff and mirror audit: custody against `restic diff` and `hashdeep -a`/`-x`
# on one corpus, in one run, each scored against the corpus's truth.json.
#
#   benches/diff-audit-peers.sh CORPUS_DIR [WORK_DIR]
#
# CORPUS_DIR is what ../shared/bench/make-corpus.sh wrote (r1/, r2/, mirror/,
# truth.json). Needs restic, hashdeep (apt-get install restic hashdeep) and GNU time.
# Prints a markdown table of times and, per truth category, how many of its items
# each tool reports in that category.
set -euo pipefail
corpus=$(cd "${1:?usage: diff-audit-peers.sh CORPUS_DIR [WORK_DIR]}" && pwd)
work=${2:-$(mktemp -d /tmp/custody-diffpeers.XXXXXX)}
mkdir -p "$work"
here=$(cd "$(dirname "$0")/.." && pwd)
(cd "$here" && cargo build --release --quiet)
custody="$here/target/release/custody"
for t in restic hashdeep /usr/bin/time python3; do
  command -v "$t" >/dev/null || { echo "missing $t" >&2; exit 2; }
done
secs() {  # secs NAME CMD...: wall seconds of CMD into $work/NAME.secs, output in NAME.out
  local name=$1; shift
  /usr/bin/time -f "%e" -o "$work/$name.secs" "$@" >"$work/$name.out" 2>"$work/$name.err" || true
}
find "$corpus" -type f -exec cat {} + >/dev/null  # warm the page cache for everyone

# custody: stores r1 and r2 (ingest not timed here: benches/peers.sh does that).
export CUSTODY_STORE="$work/custody.redb"
rm -f "$CUSTODY_STORE"
"$custody" -q init
"$custody" -q ingest "$corpus/r1" --release r1 >/dev/null
"$custody" -q ingest "$corpus/r2" --release r2 --parent r1 >/dev/null
secs custody-diff "$custody" --json diff r1 r2
secs custody-audit "$custody" --json audit "$corpus/mirror" --release r1
"$custody" --json manifest export r1 -o "$work/r1.manifest" >/dev/null 2>&1 || "$custody" manifest export r1 -o "$work/r1.manifest" >/dev/null
secs custody-audit-manifest "$custody" --json audit "$corpus/mirror" --manifest "$work/r1.manifest"

# restic: snapshots of r1 and r2 taken from inside each tree, so paths compare.
export RESTIC_REPOSITORY="$work/restic" RESTIC_PASSWORD=bench
rm -rf "$RESTIC_REPOSITORY"
restic init -q >/dev/null
(cd "$corpus/r1" && restic backup -q --tag r1 . >/dev/null)
(cd "$corpus/r2" && restic backup -q --tag r2 . >/dev/null)
a=$(restic snapshots --json --tag r1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["short_id"])')
b=$(restic snapshots --json --tag r2 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["short_id"])')
secs restic-diff restic diff "$a" "$b"

# hashdeep: known hashes of r1 with relative paths; audit (-a) and negative match (-x)
# of the mirror against them.
(cd "$corpus/r1" && hashdeep -c sha256 -r -l . >"$work/known.txt")
(cd "$corpus/mirror" && secs hashdeep-audit hashdeep -c sha256 -r -l -k "$work/known.txt" -a -vv .)
(cd "$corpus/mirror" && secs hashdeep-x hashdeep -c sha256 -r -l -k "$work/known.txt" -x .)

python3 - "$corpus/truth.json" "$work" <<'PY'
import json, os, re, sys
truth = json.load(open(sys.argv[1])); w = sys.argv[2]
def rd(n): return open(os.path.join(w, n)).read()
def t(n): return float(rd(n + ".secs").split()[-1])
cd = json.loads(rd("custody-diff.out")); ca = json.loads(rd("custody-audit.out"))
td, ta = truth["diff_r1_r2"], truth["mirror_vs_r1"]

# restic diff: "+ path" added, "- path" removed, "M path" modified ("T" type change).
rs = {"+": set(), "-": set(), "M": set()}
for line in rd("restic-diff.out").splitlines():
    m = re.match(r"^([+\-MTU?]+)\s+/?(.*)$", line)
    if m and m.group(1) in rs and not m.group(2).endswith("/"):
        rs[m.group(1)].add(m.group(2).removeprefix("./"))
ren_from = {r["from"] for r in td["renamed"]}
ren_to = {r["to"] for r in td["renamed"]}
mod = {m["path"] for m in td["modified"]}
dup = {d["path"] for d in td["duplicated"]}
def frac(found, want): return f"{len(found & want)}/{len(want)}"
print("### diff r1 r2\n")
print("| truth category | items | custody | restic diff |")
print("|---|---|---|---|")
cadd = {x["path"] for x in cd["added"]}; crem = {x["path"] for x in cd["removed"]}
cmod = {x["path"] for x in cd["modified"]}
cren = {(x["from"], x["to"]) for x in cd["renamed"]}
cdup = {x["path"] for x in cd["duplicated"]}
pure_add = set(td["added"]) - ren_to - dup
print(f"| added | {len(td['added'])} | {frac(cadd | cdup | {b for _, b in cren}, set(td['added']))} | {frac(rs['+'], set(td['added']))} (as added) |")
print(f"| removed | {len(td['removed'])} | {frac(crem | {a for a, _ in cren}, set(td['removed']))} | {frac(rs['-'], set(td['removed']))} (as removed) |")
tren = {(r["from"], r["to"]) for r in td["renamed"]}
print(f"| renamed (pairs) | {len(tren)} | {len(cren & tren)}/{len(tren)} | 0/{len(tren)} (shown as - and +) |")
print(f"| modified | {len(mod)} | {frac(cmod, mod)} with changed ranges | {frac(rs['M'], mod)} (no detail) |")
zipmod = {(m["path"], m["member"]) for m in td["modified"] if m["how"] == "zip_member_replaced"}
czip = {(m["path"], x["member"]) for m in cd["modified"] for x in (m["change"] or {}).get("members", [])}
print(f"| zip member replaced: which member | {len(zipmod)} | {len(czip & zipmod)}/{len(zipmod)} | 0/{len(zipmod)} (the zip as M) |")
print(f"| duplicated | {len(dup)} | {frac(cdup, dup)} | 0/{len(dup)} (shown as +) |")
print(f"\ntime: custody diff {t('custody-diff'):.2f} s, restic diff {t('restic-diff'):.2f} s\n")

# hashdeep -a -vv: per file "...: Moved from ...", "...: Known file not used",
# "...: No match"; -x lists mirror files whose hash is not known.
hx = set()
for line in rd("hashdeep-x.out").splitlines():
    if line and not line.startswith(("%", "#")):
        hx.add(line.split(",")[-1].removeprefix("./"))
ha = rd("hashdeep-audit.out") + rd("hashdeep-audit.err")
h_moved = set(); h_notused = set(); h_nomatch = set()
for line in ha.splitlines():
    m = re.match(r"^\./(.*): Moved from \./(.*)$", line)
    if m: h_moved.add((m.group(2), m.group(1))); continue
    m = re.match(r"^\./(.*): Known file not used$", line)
    if m: h_notused.add(m.group(1)); continue
    m = re.match(r"^\./(.*): No match$", line)
    if m: h_nomatch.add(m.group(1))
print("### audit mirror against r1\n")
print("| truth category | items | custody | hashdeep -a / -x |")
print("|---|---|---|---|")
def pairs(v): return {(x["release_path"], x["mirror_path"]) for x in v}
cmat = set(ca["matched"])
print(f"| matched | {len(ta['matched'])} | {frac(cmat, set(ta['matched']))} | (counted, not listed) |")
tm = pairs(ta["moved"])
print(f"| moved | {len(tm)} | {len(pairs(ca['moved']) & tm)}/{len(tm)} | {len(h_moved & tm)}/{len(tm)} |")
ti = pairs(ta["in_archive"])
print(f"| in_archive | {len(ti)} | {len(pairs(ca['in_archive']) & ti)}/{len(ti)} | 0/{len(ti)} (archives are opaque; members reported 'not used') |")
cmiss = {x["release_path"] for x in ca["missing"]}
tmiss = set(ta["missing"])
print(f"| missing | {len(tmiss)} | {frac(cmiss, tmiss)} | {frac(h_notused, tmiss)} as 'known file not used' (plus {len(h_notused - tmiss)} that are not missing) |")
for k in ["truncated", "corrupt", "altered"]:
    tk = pairs(ta[k])
    mirror_side = {m for _, m in tk}
    print(f"| {k} | {len(tk)} | {len(pairs(ca[k]) & tk)}/{len(tk)} with original | 0/{len(tk)} ({len(mirror_side & hx)} listed by -x as unknown, with no original) |")
te = set(ta["extra"])
print(f"| extra | {len(te)} | {frac(set(ca['extra']), te)} | {frac(hx, te)} in -x (plus {len(hx - te)} damaged or archived files mixed in) |")
print(f"\ntime: custody audit {t('custody-audit'):.2f} s (with --manifest, no store: {t('custody-audit-manifest'):.2f} s), "
      f"hashdeep -a {t('hashdeep-audit'):.2f} s, hashdeep -x {t('hashdeep-x'):.2f} s")
PY
