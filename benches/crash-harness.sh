#!/usr/bin/env bash
# The full crash harness (issue 8): SIGKILLs `ingest` at CUSTODY_CRASH_POINTS (default
# 24) points, cumulative on one store and independent from fresh copies, checking the
# store after every kill, and prints the table quoted in docs/RELIABILITY.md. The
# logic is tests/integration/crash.rs (crash_harness_full); CI runs its 4-point
# version, crash_harness_ci, with `cargo test`.
#
#   benches/crash-harness.sh [POINTS] [TABLE_FILE]
#
# Environment: CUSTODY_CRASH_BIG_FILES (1 MiB files in r1, default 160),
# CUSTODY_CRASH_SMALL_FILES (default 5000). Needs ~1 GB free in $TMPDIR.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
points=${1:-24}
table=${2:-$(mktemp /tmp/custody-crash-table.XXXXXX)}
start=$(date +%s)
CUSTODY_CRASH_POINTS=$points CUSTODY_CRASH_TABLE=$table \
  cargo test --release --quiet --test integration crash_harness_full -- \
  --ignored --nocapture --test-threads=1
echo
echo "table (also in $table), $(( $(date +%s) - start )) s including the build:"
cat "$table"
