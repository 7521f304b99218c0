#!/usr/bin/env bash
# Rebuilds this vector: a store at format version 2 and what the build that wrote
# it printed. Usage: make.sh CUSTODY_BINARY OUT_DIR (the binary of commit fc94370).
set -euo pipefail
bin=$1
out=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Deterministic text: $1 lines of words picked by a linear congruential generator
# seeded with $2.
words() {
    awk -v n="$1" -v seed="$2" 'BEGIN {
        split("report officer county bulletin suspect vehicle date warrant unit patrol", w, " ");
        s = seed;
        for (i = 0; i < n; i++) {
            line = "";
            for (j = 0; j < 9; j++) { s = (s * 1103515245 + 12345) % 2147483648; line = line w[1 + int(s / 65536) % 10] " "; }
            print i, line;
        }
    }'
}

r1=$work/r1
mkdir -p "$r1/agency-a/bulletins" "$r1/agency-a/logs" "$r1/agency-b"
for i in 1 2 3 4 5 6; do
    { words 12 7; words 60 "$i"; } > "$r1/agency-a/bulletins/bulletin-$i.txt"
done
words 900 99 > "$r1/agency-a/logs/access.log"
words 700 55 > "$r1/agency-a/logs/audit.log"
printf 'name,badge\nA,1\nB,2\n' > "$r1/agency-b/roster.csv"

r2=$work/r2
cp -r "$r1" "$r2"
sed -i 's/^30 .*/30 edited line/' "$r2/agency-a/bulletins/bulletin-2.txt"
words 40 123 >> "$r2/agency-a/logs/access.log"
mv "$r2/agency-a/bulletins/bulletin-6.txt" "$r2/agency-a/bulletins/bulletin-6-final.txt"
# Renamed and modified: found through the similarity index (bands, then chunks).
sed 's/^20 .*/20 moved and edited/' "$r1/agency-a/bulletins/bulletin-5.txt" > "$r2/agency-b/bulletin-5-copy.txt"
rm "$r2/agency-a/bulletins/bulletin-5.txt"
mkdir -p "$r2/agency-b/logs"
{ cat "$r1/agency-a/logs/audit.log"; words 30 321; } > "$r2/agency-b/logs/audit-2020.log"
rm "$r2/agency-a/logs/audit.log"
{ words 12 7; words 60 77; } > "$r2/agency-b/bulletin-new.txt"

claims=$work/claims
mkdir -p "$claims"
sed 's/^40 .*/40 a changed line/' "$r1/agency-a/bulletins/bulletin-3.txt" > "$claims/bulletin-3-altered.txt"
head -c 20000 "$r1/agency-a/logs/access.log" > "$claims/access-truncated.log"
cp "$r1/agency-b/roster.csv" "$claims/roster.csv"

s=$work/store.redb
"$bin" --store "$s" init --chunk-min 1024 --chunk-avg 4096 --chunk-max 16384 > /dev/null
"$bin" --store "$s" -q ingest "$r1" --release r1 > /dev/null
"$bin" --store "$s" -q ingest "$r2" --release r2 --parent r1 > /dev/null

mkdir -p "$out"
"$bin" --store "$s" --json releases > "$out/releases.json"
"$bin" --store "$s" --json diff r1 r2 > "$out/diff-r1-r2.json"
for c in bulletin-3-altered.txt access-truncated.log roster.csv; do
    # identify exits 1 for an altered copy and 2 for an unknown file.
    (cd "$claims" && "$bin" --store "$s" --json identify "$c") > "$out/identify-$c.json" || [ $? -le 2 ]
done
cp -r "$claims" "$out/claims"
gzip -9n < "$s" > "$out/store.redb.gz"
