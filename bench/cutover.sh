#!/usr/bin/env bash
# The freeze window of `ferry cutover` under a steady application load (not
# a timed test). For each pair, ROUNDS rounds on throwaway servers (the test
# kit's own): fresh databases, `ferry copy --cdc-slot`, the test kit's
# application simulator writing RATE attempts/s (inserts with server
# generated ids, updates, deletes, bank transfers) through a route file,
# `ferry cutover --execute` with a command hook that rewrites the route,
# then the simulator's checks on green. Prints p50/p99 of the window (fence
# effective → the application's first commit on green), the application's
# own gap (its last acknowledgement on blue → its first on green), each
# step's share, and the violations (acknowledged writes lost or doubled,
# bank total, writes blue acknowledged after the fence): the goal is 0.
#
#   bash bench/cutover.sh [--rounds N] [--rate N] [--pair pg-mysql|pg-pg|mysql-pg]
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=10
RATE=250
PAIRS="pg-mysql pg-pg mysql-pg"
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS="$2"; shift 2 ;;
    --rate) RATE="$2"; shift 2 ;;
    --pair) PAIRS="$2"; shift 2 ;;
    *) echo "usage: bench/cutover.sh [--rounds N] [--rate N] [--pair pg-mysql|pg-pg|mysql-pg]" >&2; exit 2 ;;
  esac
done

bash scripts/ensure-servers.sh
cargo build --release -q -p ferry -p ferry-testkit
for pair in $PAIRS; do
  target/release/ferry-cutover-bench --ferry target/release/ferry --pair "$pair" \
    --rounds "$ROUNDS" --rate "$RATE"
  echo
done
