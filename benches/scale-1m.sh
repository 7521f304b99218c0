#!/usr/bin/env bash
# BlueLeaks scale (issue 7): generates a BlueLeaks-shaped tree of N files (default
# 1,000,000) and its next release with gen-leak, then times every command at that
# scale with /usr/bin/time -v (wall time, peak RSS), and scores diff against the
# changes gen-leak made.
#
#   benches/scale-1m.sh WORK_DIR [N] [-- gen-leak release options]
#
# Disk, for 1M files at the defaults: ~25 GB for r1 (duplicates are hard links, r2 is
# hard links plus ~1 GB), ~15 GB for the store. Roughly N x 40 KB in all. The trees
# and store stay in WORK_DIR (reused by a rerun; delete it when done). Run on a quiet
# machine: nothing else should compete for the disk or the page cache.
set -euo pipefail
work=${1:?usage: scale-1m.sh WORK_DIR [N] [-- gen-leak release options]}
n=${2:-1000000}
shift $(($# < 2 ? $# : 2))
[ "${1:-}" = "--" ] && shift
here=$(cd "$(dirname "$0")/.." && pwd)
(cd "$here" && cargo build --release --quiet && cargo build --release --quiet --example gen-leak)
target=${CARGO_TARGET_DIR:-$here/target}
custody="$target/release/custody"
gen="$target/release/examples/gen-leak"
mkdir -p "$work"
work=$(cd "$work" && pwd)
r1="$work/r1" r2="$work/r2"
export CUSTODY_STORE="$work/store.redb"

need=$((n * 40 / 1000)) # MB
free=$(df -Pm "$work" | awk 'NR == 2 {print $4}')
if [ ! -d "$r1" ] && [ "$free" -lt "$need" ]; then
  echo "scale-1m: $work has $free MB free; about $need MB are needed" >&2
  exit 2
fi

rows=()
step=0
mkdir -p "$work/times"
# timed LABEL CMD...: runs CMD with stdout to $work/out, records wall s, CPU s (user +
# system) and peak RSS; each step's full /usr/bin/time -v report stays in $work/times.
timed() {
  local label=$1 rc=0
  shift
  step=$((step + 1))
  local t
  t="$work/times/$(printf '%02d' "$step")-$(echo "$label" | tr -c 'a-zA-Z0-9\n' '-' | cut -c1-40)"
  /usr/bin/time -v -o "$t" "$@" >"$work/out" 2>"$work/err" || rc=$?
  local wall rss cpu
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {
    n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s }' "$t")
  cpu=$(awk -F': ' '/(User|System) time \(seconds\)/ {s += $2} END {printf "%.1f", s}' "$t")
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%d", $2 / 1024}' "$t")
  rows+=("| $label | $wall | $cpu | $rss | $rc |")
  echo "  $label: $wall s, $cpu s CPU, $rss MB peak RSS, exit $rc" >&2
  if [ "$rc" -gt 1 ]; then sed 's/^/    /' "$work/err" | head -5 >&2; fi
}

echo "== generating $n files into $work" >&2
if [ ! -d "$r1" ]; then
  timed "gen-leak release" "$gen" release "$r1" --files "$n" "$@"
  cat "$work/out"
fi
if [ ! -d "$r2" ]; then
  # Derive before any ingest: linking changes the ctime of r1's files, which would
  # defeat the unchanged-file cache of an ingest made earlier.
  timed "gen-leak derive" "$gen" derive "$r1" "$r2"
  cat "$work/out"
fi

echo "== custody" >&2
rm -f "$CUSTODY_STORE"
timed "init" "$custody" -q init
timed "ingest r1" "$custody" -q --json ingest "$r1" --release r1
cp "$work/out" "$work/ingest-r1.json"
# Metadata of a store holding one release: the densest case per entry is the
# opposite one (many releases sharing content), so both are reported.
timed "stats, r1 only" "$custody" -q stats --tables
cp "$work/out" "$work/stats-r1.txt"
timed "ingest r1 again, unchanged (r1b --parent r1)" "$custody" -q --json ingest "$r1" --release r1b --parent r1
cp "$work/out" "$work/ingest-r1b.json"

# identify, while the store holds r1 only: a file of r1 (exact), and a file r2
# modified (altered; once r2 is ingested it would be exact).
exact=$(find "$r1" -type f -size -200k -print -quit)
altered=$(python3 - "$work/r2.changes.json" "$r2" <<'PY'
import json, os, sys
c = json.load(open(sys.argv[1]))
for m in c["modified"]:
    if m["how"] != "truncated" and m["new_size"] < 4 << 20 and "\\x" not in m["path"]:
        print(os.path.join(sys.argv[2], m["path"]))
        break
PY
)
timed "identify, an exact file" "$custody" -q identify --lines "$exact"
sed 's/^/    /' "$work/out" >&2
timed "identify, an altered file" "$custody" -q identify --lines "$altered"
sed 's/^/    /' "$work/out" >&2

timed "ingest r2 --parent r1" "$custody" -q --json ingest "$r2" --release r2 --parent r1
cp "$work/out" "$work/ingest-r2.json"

# ls of the biggest agency's pages folder.
agency=$(find "$r1" -mindepth 1 -maxdepth 1 -type d -printf '%P\n' | while read -r a; do
  printf '%s %s\n' "$(find "$r1/$a" -type f | wc -l)" "$a"
done | sort -rn | head -1 | cut -d' ' -f2)
timed "ls r2 $agency/pages" "$custody" -q ls r2 "$agency/pages"
echo "    $(wc -l <"$work/out") entries" >&2
timed "diff r1 r2" "$custody" -q --json diff r1 r2
cp "$work/out" "$work/diff.json"
timed "diff r1 r2 --summary" "$custody" -q diff r1 r2 --summary
timed "fsck" "$custody" -q fsck
timed "fsck --read-data" "$custody" -q fsck --read-data
timed "releases (store open)" "$custody" -q releases
timed "stats" "$custody" -q stats --tables
cp "$work/out" "$work/stats.txt"

echo
echo "## custody at $n files ($(date -u +%F))"
echo
echo "| step | wall s | CPU s | peak RSS MB | exit (identify: 0 exact, 1 altered) |"
echo "|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
python3 - "$work" <<'PY'
import json, os, sys
w = sys.argv[1]
g1 = json.load(open(os.path.join(w, "r1.gen.json")))
g2 = json.load(open(os.path.join(w, "r2.gen.json")))
for name, g in (("r1", g1), ("r2", g2)):
    p = g["size_percentiles"]
    print(f"{name}: {g['files']:,} files, {g['unique_contents']:,} unique contents, "
          f"logical {g['logical_bytes'] / 1e9:.2f} GB, unique {g['unique_bytes'] / 1e9:.2f} GB; "
          f"sizes p10/p50/p90/p99/max {p['p10']:,}/{p['p50']:,}/{p['p90']:,}/{p['p99']:,}/{p['max']:,} B")
for r in ("r1", "r1b", "r2"):
    j = json.load(open(os.path.join(w, f"ingest-{r}.json")))
    c = j["counts"]
    print(f"ingest {r}: {c['files']:,} files, {c['logical_bytes'] / 1e9:.2f} GB logical, "
          f"new {c['new_raw_bytes'] / 1e9:.2f} GB -> {c['new_stored_bytes'] / 1e9:.2f} GB stored, "
          f"read {j['files_read']:,} files, {j['files_unchanged']:,} unchanged, {j['elapsed_secs']:.1f} s")
PY
echo "store: $(du -B1 "$CUSTODY_STORE" | awk '{printf "%.2f GB on disk", $1 / 1e9}'), $(stat -c %s "$CUSTODY_STORE" | awk '{printf "%.2f GB file", $1 / 1e9}')"
echo
echo "after r1 alone:"
cat "$work/stats-r1.txt"
echo
echo "after r1, r1b and r2:"
cat "$work/stats.txt"
echo
echo "diff r1 r2 against r2.changes.json:"
python3 "$here/benches/diff_score.py" "$work/r2.changes.json" "$work/diff.json" || true
echo
echo "(trees and store are in $work; rm -rf it when done)"
