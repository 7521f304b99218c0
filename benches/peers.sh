#!/usr/bin/env bash
# custody against restic and borg on one corpus, in one run (the machine is shared
# and noisy: only ratios measured side by side mean anything).
#
#   benches/peers.sh CORPUS_DIR [WORK_DIR]
#
# CORPUS_DIR is what ../shared/bench/make-corpus.sh wrote (r1/, r2/). Needs restic and
# borg (apt-get install restic borgbackup) and GNU time. Prints a markdown table and
# writes WORK_DIR/peers.tsv. Steps per tool: first ingest of r1, unchanged re-ingest of
# r1, ingest of r2 with r1 as parent, store size (du), extract of r1, full data check.
set -euo pipefail
corpus=$(cd "${1:?usage: peers.sh CORPUS_DIR [WORK_DIR]}" && pwd)
work=${2:-$(mktemp -d /tmp/custody-peers.XXXXXX)}
mkdir -p "$work"
here=$(cd "$(dirname "$0")/.." && pwd)
(cd "$here" && cargo build --release --quiet)
custody="$here/target/release/custody"
TIME=/usr/bin/time
for t in restic borg "$TIME"; do
  command -v "$t" >/dev/null || { echo "missing $t (apt-get install restic borgbackup time)" >&2; exit 2; }
done

out="$work/peers.tsv"
: >"$out"
# measure TOOL STEP CMD...: wall seconds and peak RSS of one command.
measure() {
  local tool=$1 step=$2; shift 2
  local log="$work/$tool-$step.log"
  "$TIME" -f "%e %M" -o "$work/time.tmp" "$@" >"$log" 2>&1 || { echo "$tool $step failed, see $log" >&2; cat "$log" >&2; exit 1; }
  read -r secs rss <"$work/time.tmp"
  printf '%s\t%s\t%s\t%s\n' "$tool" "$step" "$secs" "$rss" >>"$out"
}
size() { printf '%s\tstore_bytes\t%s\t-\n' "$1" "$(du -sb --apparent-size "$2" | cut -f1)/$(du -sB1 "$2" | cut -f1)" >>"$out"; }

# Warm the page cache so every tool reads the corpus from memory.
cat "$corpus"/r1/**/* >/dev/null 2>&1 || find "$corpus/r1" "$corpus/r2" -type f -exec cat {} + >/dev/null

# custody
export CUSTODY_STORE="$work/custody/store.redb"
rm -rf "$work/custody" "$work/custody-x"
"$custody" init -q >/dev/null
measure custody ingest_r1 "$custody" -q ingest "$corpus/r1" --release r1
measure custody reingest_r1 "$custody" -q ingest "$corpus/r1" --release r1-again
measure custody ingest_r2 "$custody" -q ingest "$corpus/r2" --release r2 --parent r1
size custody "$work/custody"
measure custody extract_r1 "$custody" -q extract r1 --to "$work/custody-x"
measure custody check_data "$custody" -q fsck --read-data
diff -r "$corpus/r1" "$work/custody-x" >/dev/null || { echo "custody extract differs from r1" >&2; exit 1; }

# restic 0.14, compression auto
export RESTIC_PASSWORD=bench RESTIC_REPOSITORY="$work/restic"
rm -rf "$work/restic" "$work/restic-x"
restic init -q >/dev/null
measure restic ingest_r1 restic backup -q --compression auto --tag r1 "$corpus/r1"
measure restic reingest_r1 restic backup -q --compression auto --tag r1b "$corpus/r1"
r1snap=$(restic snapshots --json --tag r1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
measure restic ingest_r2 restic backup -q --compression auto --tag r2 --parent "$r1snap" "$corpus/r2"
size restic "$work/restic"
measure restic extract_r1 restic restore -q "$r1snap" --target "$work/restic-x"
measure restic check_data restic check -q --read-data

# borg 1.2, no encryption, zstd level 3
export BORG_REPO="$work/borg" BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes BORG_RELOCATED_REPO_ACCESS_IS_OK=yes
rm -rf "$work/borg" "$work/borg-x"
borg init -e none >/dev/null 2>&1
measure borg ingest_r1 borg create --compression zstd,3 ::r1 "$corpus/r1"
measure borg reingest_r1 borg create --compression zstd,3 ::r1b "$corpus/r1"
measure borg ingest_r2 borg create --compression zstd,3 ::r2 "$corpus/r2"
size borg "$work/borg"
mkdir -p "$work/borg-x"
measure borg extract_r1 sh -c "cd '$work/borg-x' && borg extract ::r1"
measure borg check_data borg check --verify-data

python3 - "$out" <<'EOF'
import sys, collections
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
t = collections.defaultdict(dict)
for tool, step, secs, rss in rows:
    t[step][tool] = (secs, rss)
tools = ["custody", "restic", "borg"]
print("| step | " + " | ".join(tools) + " | custody / restic |")
print("|---|" + "---|" * (len(tools) + 1))
for step in ["ingest_r1", "reingest_r1", "ingest_r2", "store_bytes", "extract_r1", "check_data"]:
    cells, ratio = [], ""
    for tool in tools:
        secs, rss = t[step].get(tool, ("-", "-"))
        if step == "store_bytes":
            apparent, used = secs.split("/")
            cells.append(f"{int(used)/1e6:.0f} MB")
        else:
            cells.append(f"{secs} s, {int(rss)//1024} MB RSS")
    if step == "store_bytes":
        c, r = (int(t[step][x][0].split("/")[1]) for x in ("custody", "restic"))
    else:
        c, r = (float(t[step][x][0]) for x in ("custody", "restic"))
    ratio = f"{c / r:.2f}" if r else "-"
    print(f"| {step} | " + " | ".join(cells) + f" | {ratio} |")
EOF
echo "raw numbers: $out" >&2
