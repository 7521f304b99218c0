#!/usr/bin/env bash
# Proof speed and size at scale (issue 4's targets: root of a 1M-entry release < 5 s,
# a proof < 50 ms, about 1 KB).
#
#   benches/proofs.sh [N] [WORK_DIR]        (N files, default 1000000)
#
# Builds N small distinct files (1,000 per directory), ingests them, then times the
# root computation (reported by ingest), 200 proofs of random paths through the CLI
# (process start included), absence proofs, proof sizes, and a manifest export and
# its store-less verification.
set -euo pipefail
n=${1:-1000000}
work=${2:-$(mktemp -d /tmp/custody-proofs.XXXXXX)}
here=$(cd "$(dirname "$0")/.." && pwd)
(cd "$here" && cargo build --release --quiet)
custody="$here/target/release/custody"
tree="$work/tree$n"
if [ ! -d "$tree" ]; then
  python3 - "$tree" "$n" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, f"agency{i // 100000:02d}", f"dir{(i // 1000) % 100:03d}")
    if i % 1000 == 0:
        os.makedirs(d, exist_ok=True)
    fd = os.open(os.path.join(d, f"doc{i:07d}.txt"), os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, f"document {i}\n".encode())
    os.close(fd)
PY
fi
export CUSTODY_STORE="$work/store.redb"
rm -f "$CUSTODY_STORE"
"$custody" init -q >/dev/null
/usr/bin/time -f "%e s %M KB" -o "$work/ingest.time" "$custody" -q --json ingest "$tree" --release big >"$work/ingest.json"
python3 - "$work/ingest.json" "$work/ingest.time" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
c = r["counts"]
print(f"entries: {c['files'] + c['dirs'] + c['symlinks']:,} ({c['files']:,} files)")
print(f"ingest: {open(sys.argv[2]).read().strip()} wall/peak RSS; root computed in {r['root_secs']:.2f} s")
PY
# 200 random paths
python3 - "$n" >"$work/paths" <<'PY'
import random, sys
n = int(sys.argv[1]); random.seed(7)
for i in random.sample(range(n), min(200, n)):
    print(f"agency{i // 100000:02d}/dir{(i // 1000) % 100:03d}/doc{i:07d}.txt")
PY
start=$(date +%s.%N)
i=0
while read -r p; do
  "$custody" -q prove big "$p" -o "$work/p$i.proof"
  i=$((i + 1))
done <"$work/paths"
end=$(date +%s.%N)
python3 - "$start" "$end" "$i" "$work" <<'PY'
import os, sys
s, e, k, w = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
sizes = [os.path.getsize(os.path.join(w, f"p{j}.proof")) for j in range(k)]
print(f"prove (CLI, process start included): {(e - s) / k * 1000:.1f} ms per proof over {k} proofs")
print(f"proof size: {min(sizes)}-{max(sizes)} bytes, mean {sum(sizes) / k:.0f}")
PY
h=$(printf 'not in the release\n' | "$custody" hash - | cut -c1-64)
/usr/bin/time -f "prove-absent: %e s" "$custody" -q prove-absent big --hash "$h" -o "$work/absent.proof"
echo "absence proof size: $(stat -c %s "$work/absent.proof") bytes"
/usr/bin/time -f "verify-proof (inclusion): %e s" "$custody" -q verify-proof "$work/p0.proof" --root "$(python3 -c "import json;print(json.load(open('$work/ingest.json'))['root'])")" >/dev/null
/usr/bin/time -f "manifest export: %e s, %M KB" "$custody" -q manifest export big -o "$work/big.manifest"
echo "manifest size: $(stat -c %s "$work/big.manifest") bytes"
/usr/bin/time -f "verify-proof (manifest, store-less): %e s, %M KB" "$custody" -q verify-proof "$work/big.manifest" --root "$(python3 -c "import json;print(json.load(open('$work/ingest.json'))['root'])")" >/dev/null
echo "store: $(du -B1 "$CUSTODY_STORE" | cut -f1) bytes on disk"
