#!/usr/bin/env bash
# Measures FastCDC parameter sets on a corpus: dedup, speed and table size.
#
#   benches/chunk-params.sh CORPUS_DIR
#
# For each min/avg/max it makes a fresh store, ingests r1 then r2 (parent r1), and
# prints wall time, distinct chunk bytes, stored bytes, chunk count and store size.
set -euo pipefail
corpus=$(cd "${1:?usage: chunk-params.sh CORPUS_DIR}" && pwd)
here=$(cd "$(dirname "$0")/.." && pwd)
(cd "$here" && cargo build --release --quiet)
custody="$here/target/release/custody"
work=$(mktemp -d /tmp/custody-params.XXXXXX)
trap 'rm -rf "$work"' EXIT
find "$corpus/r1" "$corpus/r2" -type f -exec cat {} + >/dev/null
echo "| min/avg/max KiB | ingest r1 s | ingest r2 s | unique MB | stored MB | chunks | store MB (du) | non-chunk MB |"
echo "|---|---|---|---|---|---|---|---|"
for p in "8 16 64" "16 32 128" "32 64 256" "16 64 256"; do
  set -- $p
  export CUSTODY_STORE="$work/s-$1-$2-$3.redb"
  "$custody" init -q --chunk-min $(($1*1024)) --chunk-avg $(($2*1024)) --chunk-max $(($3*1024)) >/dev/null
  t1=$( { /usr/bin/time -f %e "$custody" -q ingest "$corpus/r1" --release r1 >/dev/null; } 2>&1 )
  t2=$( { /usr/bin/time -f %e "$custody" -q ingest "$corpus/r2" --release r2 --parent r1 >/dev/null; } 2>&1 )
  du=$(du -B1 "$CUSTODY_STORE" | cut -f1)
  "$custody" stats --json | python3 -c "
import json,sys
s=json.load(sys.stdin)['store']
du=int(sys.argv[2])
print(f\"| {sys.argv[1]} | {sys.argv[3]} | {sys.argv[4]} | {s['unique_bytes']/1e6:.1f} | {s['stored_bytes']/1e6:.1f} | {s['chunks']} | {du/1e6:.1f} | {(du-s['stored_bytes'])/1e6:.1f} |\")
" "$1/$2/$3" "$du" "$t1" "$t2"
  rm -f "$CUSTODY_STORE"
done
