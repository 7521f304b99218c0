#!/usr/bin/env bash
# Peak memory as the tree grows: ingests 1x, 2x and 4x the corpus's r1 into fresh
# stores and reports time and peak RSS. Copy k of r1 has every byte XORed with k, so
# copies keep their sizes and compressibility but share no chunks.
#
#   benches/scale.sh CORPUS_DIR [WORK_DIR]      (needs ~8 GB free for 4x)
set -euo pipefail
corpus=$(cd "${1:?usage: scale.sh CORPUS_DIR [WORK_DIR]}" && pwd)
work=${2:-$(mktemp -d /tmp/custody-scale.XXXXXX)}
here=$(cd "$(dirname "$0")/.." && pwd)
(cd "$here" && cargo build --release --quiet)
custody="$here/target/release/custody"
mkdir -p "$work"
make_copy() {  # make_copy K: $work/copies/copyK = r1 with bytes XOR K
  local k=$1 dst="$work/copies/copy$1"
  [ -d "$dst" ] && return 0
  python3 - "$corpus/r1" "$dst" "$k" <<'PY'
import os, sys
src, dst, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
table = bytes((b ^ k) & 0xff for b in range(256))
for root, dirs, files in os.walk(src):
    rel = os.path.relpath(root, src)
    os.makedirs(os.path.join(dst, rel), exist_ok=True)
    for f in files:
        p = os.path.join(root, f)
        if os.path.islink(p):
            continue
        with open(p, "rb") as i, open(os.path.join(dst, rel, f), "wb") as o:
            o.write(i.read().translate(table))
PY
}
echo "| tree | files | GB | ingest s | peak RSS MB |"
echo "|---|---|---|---|---|"
for n in 1 2 4; do
  tree="$work/tree$n"
  rm -rf "$tree"; mkdir -p "$tree"
  # Hard-linked copies: real directories to walk, no extra disk.
  for k in $(seq 1 $n); do make_copy "$k"; cp -al "$work/copies/copy$k" "$tree/copy$k"; done
  find "$tree" -type f -exec cat {} + >/dev/null
  store="$work/store$n.redb"; rm -f "$store"
  CUSTODY_STORE="$store" "$custody" init -q >/dev/null
  /usr/bin/time -f "%e %M" -o "$work/time" env CUSTODY_STORE="$store" "$custody" -q ingest "$tree" --release r >/dev/null
  read -r secs rss <"$work/time"
  files=$(find "$tree" -type f | wc -l)
  gb=$(du -sb "$tree" | awk '{printf "%.2f", $1/1e9}')
  echo "| ${n}x | $files | $gb | $secs | $((rss / 1024)) |"
  rm -f "$store"
done
