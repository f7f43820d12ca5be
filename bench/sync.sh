#!/usr/bin/env bash
# ferry sync's benchmark (not a timed test): how many source transactions a
# second the sync keeps up with, and its lag, PostgreSQL → MariaDB and
# MariaDB → PostgreSQL, on throwaway servers (the test kit's
# `ferry-servers`, on loopback).
#
# Per pair: a bank of N accounts is copied (`copy --cdc-slot`), then `ferry
# sync` follows while a load runs on the source for S seconds at R
# transactions a second (each moves money between two accounts: two row
# updates): pgbench `-R` for PostgreSQL, `ferry-bankload run` (the same
# transaction, scheduled as pgbench schedules it) for MariaDB. Lag is
# measured outside ferry: ten times a second a probe row is bumped on the
# source and its arrival watched on the target (every 5 ms), both on one
# clock: p50/p99/max of commit-to-visible. CPU: seconds of CPU each party
# used during the load (ferry; each server with its reaped backends; the
# load generator), as a share of one core. Afterwards the bank's total is
# compared on both sides.
#
#   bash bench/sync.sh [--rate R] [--seconds S] [--clients C] [--accounts N]
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=1000
DURATION=30
CLIENTS=4
ACCOUNTS=100000
while [ $# -gt 0 ]; do
  case "$1" in
    --rate) RATE="$2"; shift 2 ;;
    --seconds) DURATION="$2"; shift 2 ;;
    --clients) CLIENTS="$2"; shift 2 ;;
    --accounts) ACCOUNTS="$2"; shift 2 ;;
    *) echo "usage: bench/sync.sh [--rate R] [--seconds S] [--clients C] [--accounts N]" >&2; exit 2 ;;
  esac
done
command -v /usr/bin/time >/dev/null || { apt-get install -y -qq time >/dev/null; }
source bench/servers.sh ferry-syncbench
LOAD=target/release/ferry-bankload
export FERRY_STATE_DIR="$WORK/state"
TICK=$(getconf CLK_TCK)
pgurl() { echo "postgres://$PGU:$PGPW@$PGH:$PGP/$1"; }
myurl() { echo "mysql://$MYU:$MYPW@$MYH:$MYP/$1"; }

# CPU ticks of a process, with the children it has reaped (PostgreSQL's
# backends are reaped by the postmaster) and, for the postmaster, its live
# children.
ticks() { awk '{print $14+$15+$16+$17}' "/proc/$1/stat" 2>/dev/null || echo 0; }
pg_ticks() {
  local pm t
  pm=$(head -1 "$(pg -d postgres -Atc 'SHOW data_directory')/postmaster.pid")
  t=$(ticks "$pm")
  for c in $(pgrep -P "$pm"); do t=$((t + $(awk '{print $14+$15}' "/proc/$c/stat" 2>/dev/null || echo 0))); done
  echo "$t"
}
my_ticks() { ticks "$(cat "$(my -N -e 'SELECT @@pid_file')")"; }
share() { echo "scale=1; 100 * $1 / $TICK / $2" | bc; } # ticks seconds → % of one core

cat >"$WORK/transfer.sql" <<'SQL'
\set a random(1, :accounts)
\set b random(1, :accounts)
\set m random(0, 50)
\set lo least(:a, :b)
\set hi greatest(:a, :b)
BEGIN;
UPDATE acct SET bal = bal - :m WHERE id = :lo;
UPDATE acct SET bal = bal + :m WHERE id = :hi;
END;
SQL

ROWS=()
bench() { # label source-url target-url source-kind
  local label=$1 src=$2 dst=$3 kind=$4
  echo "== $label: setup" >&2
  "$LOAD" setup --source "$src" --accounts "$ACCOUNTS"
  "$FERRY" copy --source "$src" --target "$dst" --quiet --tables acct,probe --cdc-slot bench >/dev/null
  "$FERRY" sync --source "$src" --target "$dst" --tables acct,probe --slot bench \
    --format json >"$WORK/sync-$label.jsonl" 2>"$WORK/sync-$label.err" &
  local fpid=$!
  sleep 3
  echo "== $label: $RATE tx/s for $DURATION s" >&2
  local f0 p0 m0 t0 t1
  f0=$(ticks "$fpid"); p0=$(pg_ticks); m0=$(my_ticks); t0=$(date +%s.%N)
  if [ "$kind" = pg ]; then
    /usr/bin/time -f "%U %S" -o "$WORK/load-cpu" \
      pgbench -n -h "$PGH" -p "$PGP" -U "$PGU" -f "$WORK/transfer.sql" -D accounts="$ACCOUNTS" \
      -M prepared -R "$RATE" -T "$DURATION" -c "$CLIENTS" -j 2 src_p >"$WORK/pgbench.out" 2>&1 &
    local gen=$!
    "$LOAD" run --source "$src" --target "$dst" --rate 0 --seconds "$DURATION" >"$WORK/probe.json"
    wait "$gen"
    TPS=$(grep -o 'tps = [0-9.]*' "$WORK/pgbench.out" | head -1 | cut -d' ' -f3)
  else
    /usr/bin/time -f "%U %S" -o "$WORK/load-cpu" \
      "$LOAD" run --source "$src" --target "$dst" --rate "$RATE" --seconds "$DURATION" \
      --clients "$CLIENTS" --accounts "$ACCOUNTS" >"$WORK/probe.json"
    TPS=$(grep -o '"tps":[0-9.]*' "$WORK/probe.json" | cut -d: -f2)
  fi
  t1=$(date +%s.%N)
  # The load's backends have exited: a second for the postmaster to reap
  # them, so their CPU shows in its children's total.
  sleep 1
  local f1 p1 m1 wall
  f1=$(ticks "$fpid"); p1=$(pg_ticks); m1=$(my_ticks)
  wall=$(echo "$t1 - $t0" | bc)
  local gen_cpu
  gen_cpu=$(awk '{printf "%.1f", 100 * ($1 + $2) / '"$wall"'}' "$WORK/load-cpu")
  local p50 p99 pmax applied
  p50=$(grep -o '"lag_p50":[0-9.a-z]*' "$WORK/probe.json" | cut -d: -f2)
  p99=$(grep -o '"lag_p99":[0-9.a-z]*' "$WORK/probe.json" | cut -d: -f2)
  pmax=$(grep -o '"lag_max":[0-9.a-z]*' "$WORK/probe.json" | cut -d: -f2)
  kill -TERM "$fpid"; wait "$fpid" || true
  applied=$(grep '"sync_finished"' "$WORK/sync-$label.jsonl" | grep -o '"changes":[0-9]*' | cut -d: -f2)
  local total_s total_t
  if [ "$kind" = pg ]; then
    total_s=$(pg -d src_p -Atc "SELECT sum(bal) FROM acct"); total_t=$(my dst_m -N -e "SELECT SUM(bal) FROM acct")
  else
    total_s=$(my src_m -N -e "SELECT SUM(bal) FROM acct"); total_t=$(pg -d dst_p -Atc "SELECT sum(bal) FROM acct")
  fi
  [ "$total_s" = "$total_t" ] || { echo "$label: bank totals differ ($total_s vs $total_t)" >&2; exit 1; }
  ROWS+=("$(printf "| %s | %s | %.0f | %.0f | %.2f | %.2f | %.2f | %s%% | %s%% | %s%% | %s%% |" \
    "$label" "$RATE" "$TPS" "$(echo "$applied / $wall" | bc -l)" "$p50" "$p99" "$pmax" \
    "$(share $((f1 - f0)) "$wall")" "$(share $((p1 - p0)) "$wall")" "$(share $((m1 - m0)) "$wall")" "$gen_cpu")")
}

pg -d postgres -c "CREATE DATABASE src_p" -c "CREATE DATABASE dst_p"
my -e "CREATE DATABASE src_m CHARACTER SET utf8mb4 COLLATE utf8mb4_bin; CREATE DATABASE dst_m CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
bench "PG→MariaDB" "$(pgurl src_p)" "$(myurl dst_m)" pg
bench "MariaDB→PG" "$(myurl src_m)" "$(pgurl dst_p)" my

echo
echo "$(nproc) cores, shared with other work; CPU as % of one core during the load."
echo
echo "| pair | asked tx/s | source tx/s | changes/s applied | lag p50 (s) | lag p99 (s) | lag max (s) | ferry CPU | PostgreSQL CPU | MariaDB CPU | load CPU |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
printf "%s\n" "${ROWS[@]}"
