#!/usr/bin/env bash
# Load and scale checks (issue 8, points 5 and 7), release build:
#   1. 100,000 empty files in one ingest: entry count, time, peak RSS
#   2. one 10 GiB sparse file: time, peak RSS (memory must not follow file size)
#   3. 100,000 small files + one 20 GiB sparse file in one ingest: progress sampled
#      every 2 s while it runs (bytes the process has read, per /proc/PID/io, and
#      the stored-chunk count a concurrent `releases` sees), time, peak RSS; then
#      `fsck --read-data`
# The CI-sized versions are tests in tests/integration/{hostile,load}.rs.
#
#   benches/load.sh [WORK_DIR] [FILES] [SPARSE_GIB]
#
# Needs ~1 GB free in WORK_DIR (sparse files take no disk; their zeros are stored
# once).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$(mktemp -d /tmp/custody-load.XXXXXX)}
files=${2:-100000}
gib=${3:-20}
mkdir -p "$work"
work=$(cd "$work" && pwd)
free_kb=$(df -Pk "$work" | awk 'NR==2 {print $4}')
if [ "$free_kb" -lt 1500000 ]; then
  echo "need 1.5 GB free in $work, have $((free_kb / 1024)) MB" >&2
  exit 1
fi
(cd "$here" && cargo build --release --quiet)
custody="$here/target/release/custody"
json() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@"; }
fresh_store() { rm -f "$work/store.redb"; CUSTODY_STORE="$work/store.redb" "$custody" -q init; }
timed() { # timed OUT CMD...: stdout to OUT; sets $secs and $rss_mb
  local out=$1 rc=0
  shift
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" >"$out" || rc=$?
  read -r secs rss <"$work/time"
  rss_mb=$((rss / 1024))
  return $rc
}
export CUSTODY_STORE="$work/store.redb"
rows=()

echo "== 1. $files empty files"
rm -rf "$work/empty"
python3 - "$work/empty" "$files" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, "d%03d" % (i // 1000))
    if i % 1000 == 0:
        os.makedirs(d, exist_ok=True)
    open(os.path.join(d, "e%06d" % i), "wb").close()
PY
fresh_store
timed "$work/empty.json" "$custody" --json ingest "$work/empty" --release empty
n=$(json "$work/empty.json" 'd["counts"]["files"]')
echo "   $n files stored in $secs s, peak RSS $rss_mb MB"
rows+=("| $files empty files | $n files | $secs | $rss_mb | $([ "$n" = "$files" ] && echo ok || echo MISMATCH) |")
rm -rf "$work/empty"

echo "== 2. one 10 GiB sparse file"
rm -rf "$work/sparse"; mkdir -p "$work/sparse"
truncate -s 10G "$work/sparse/ten.img"
fresh_store
timed "$work/sparse.json" "$custody" --json ingest "$work/sparse" --release sparse
b=$(json "$work/sparse.json" 'd["counts"]["logical_bytes"]')
echo "   $b bytes in $secs s, peak RSS $rss_mb MB"
rows+=("| 10 GiB sparse file | $b bytes | $secs | $rss_mb | $([ "$b" = 10737418240 ] && echo ok || echo MISMATCH) |")
rm -rf "$work/sparse"

echo "== 3. $files small files + one $gib GiB sparse file"
rm -rf "$work/load"
python3 - "$work/load" "$files" <<'PY'
import os, sys, random
root, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(2020)
for i in range(n):
    d = os.path.join(root, "small", "d%03d" % (i % 1000))
    if i < 1000:
        os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%06d.txt" % i), "wb") as f:
        f.write(rnd.randbytes(500 + i % 4000))
PY
truncate -s "${gib}G" "$work/load/big-sparse.img"
fresh_store
/usr/bin/time -f "%e %M" -o "$work/time" "$custody" --json ingest "$work/load" --release load \
  >"$work/load.json" &
tpid=$!
sleep 0.2
cpid=$(pgrep -P "$tpid" || true)
t0=$(date +%s.%N)
last=0; rises=0; samples=0
while kill -0 "$tpid" 2>/dev/null; do
  if [ -n "$cpid" ] && [ -r "/proc/$cpid/io" ]; then
    r=$(awk '/^rchar:/ {print $2}' "/proc/$cpid/io" 2>/dev/null || echo "$last")
    c=$("$custody" --json releases 2>/dev/null | python3 -c 'import json,sys; u=json.load(sys.stdin)["unfinished"]; print(u[0]["chunks_stored"] if u else "-")' 2>/dev/null || echo "?")
    if [ -n "$r" ] && [ "$r" -gt "$last" ]; then rises=$((rises + 1)); fi
    samples=$((samples + 1))
    printf "   t=%5.1f s  read %6.2f GB  chunks committed %s\n" \
      "$(echo "$(date +%s.%N) - $t0" | bc)" "$(echo "${r:-0} / 1000000000" | bc -l)" "$c"
    last=${r:-$last}
  fi
  sleep 2
done
wait "$tpid"
read -r secs rss <"$work/time"
rss_mb=$((rss / 1024))
n=$(json "$work/load.json" 'd["counts"]["files"]')
echo "   $n files, $secs s, peak RSS $rss_mb MB; read count rose in $rises of $samples samples"
rows+=("| $files small files + $gib GiB sparse | $n files | $secs | $rss_mb | progress rose in $rises/$samples samples |")
timed "$work/fsck.json" "$custody" --json fsck --read-data || true
p=$(json "$work/fsck.json" 'len(d["problems"])')
echo "   fsck --read-data: $p problems, $secs s, peak RSS $rss_mb MB"
rows+=("| fsck --read-data of that store | $p problems | $secs | $rss_mb | $([ "$p" = 0 ] && echo ok || echo PROBLEMS) |")
rm -rf "$work/load" "$work/store.redb"

echo
echo "| run | stored | seconds | peak RSS MB | result |"
echo "|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
