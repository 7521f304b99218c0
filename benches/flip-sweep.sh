#!/usr/bin/env bash
# The full byte-flip sweep (issue 8): flips CUSTODY_FLIP_PER_PAGE (default 4) bytes in
# every 4 KiB of a small store's redb file, plus each header field, and after each
# runs ls, extract and fsck --read-data on the damaged copy; prints the outcome table
# per region quoted in docs/RELIABILITY.md. The logic is
# tests/integration/flip_sweep.rs (flip_sweep_full); CI runs its reduced version,
# flip_sweep_ci, with `cargo test`.
#
#   benches/flip-sweep.sh [PER_PAGE] [TABLE_FILE]
#
# CUSTODY_FLIP_REGION=TEXT keeps only the regions whose name holds TEXT (e.g.
# "segments branch"). Set CUSTODY_FLIP_VERBOSE=1 to print every flip's outcome. PROFILE=debug skips the
# release build (slower per flip).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
per_page=${1:-4}
table=${2:-$(mktemp /tmp/custody-flip-table.XXXXXX)}
profile=()
[ "${PROFILE:-release}" = release ] && profile=(--release)
start=$(date +%s)
CUSTODY_FLIP_PER_PAGE=$per_page CUSTODY_FLIP_TABLE=$table \
  cargo test "${profile[@]}" --quiet --test integration flip_sweep_full -- \
  --ignored --nocapture --test-threads=1
echo
echo "table (also in $table), $(( $(date +%s) - start )) s including the build:"
cat "$table"
