#!/usr/bin/env bash
# What parallel key ranges cost each engine (a benchmark, not a test): the
# measurement behind the range and worker rules in README's "Benchmark".
#
# Generates the benchmark's table (bench/run.sh's) with N rows in PostgreSQL
# and, through ferry, in MariaDB, larger than either server's cache at 10M
# (shared_buffers 256 MB, innodb_buffer_pool_size 512 MB), then times the
# servers alone, without ferry, alternating the variants, median of
# --repeat runs:
#   read:  the whole table in key order by S sessions at once, each one
#          key range of 1/S of the keys (S = 1, 2, 4), to /dev/null:
#          PostgreSQL binary COPY (SELECT … WHERE id >= a AND id < b ORDER
#          BY id), MariaDB SELECT … ORDER BY id through `mariadb --quick`;
#          and PostgreSQL's plain sequential COPY of the table for reference;
#   write: the whole table loaded by S sessions at once, each one key range
#          (PostgreSQL binary COPY FROM, MariaDB LOAD DATA LOCAL INFILE from
#          files exported beforehand), into an empty table with its primary
#          key, adjacent ranges (session i loads range i of S) and, for
#          S > 1, interleaved ones (the keys of 4·S ranges dealt round-robin,
#          so each session's inserts land between the others');
#   plan:  what planning a copy's ranges costs on the MariaDB source: the
#          old Bernoulli sample of the key (`WHERE RAND() < p ORDER BY id`),
#          a LIMIT-stride walk of the key (16 × `ORDER BY id LIMIT 1 OFFSET
#          N/16`), and the index dives ferry now uses (MIN, MAX and 64
#          EXPLAINs); and `ferry plan`'s whole-table value scan, which `ferry
#          copy` used to run first.
# Prints a Markdown table of seconds and the 1-minute load average.
#
#   bash bench/ranges.sh [--rows N] [--repeat N]
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=10000000
REPEAT=3
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) ROWS="$2"; shift 2 ;;
    --repeat) REPEAT="$2"; shift 2 ;;
    *) echo "usage: bench/ranges.sh [--rows N] [--repeat N]" >&2; exit 2 ;;
  esac
done
source bench/servers.sh ferry-ranges
pgurl() { echo "postgres://$PGU:$PGPW@$PGH:$PGP/$1"; }
myurl() { echo "mysql://$MYU:$MYPW@$MYH:$MYP/$1"; }
PSQL="psql -X -q -h $PGH -p $PGP -U $PGU"
MARIADB="mariadb --protocol=tcp -h $MYH -P $MYP -u $MYU"

echo "generating $ROWS rows…" >&2
pg -d postgres -c "CREATE DATABASE src" -c "CREATE DATABASE dst"
my -e "CREATE DATABASE src CHARACTER SET utf8mb4 COLLATE utf8mb4_bin; CREATE DATABASE dst CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
# The benchmark's table, as bench/run.sh builds it.
sed -n '/^CREATE TABLE bench (/,/^VACUUM ANALYZE bench;/p' bench/run.sh | sed "s/\$ROWS/$ROWS/" | pg -d src
$FERRY copy --source "$(pgurl src)" --target "$(myurl src)" --tables bench --quiet >/dev/null
my -e "RESET MASTER" >/dev/null 2>&1 || true
echo "PostgreSQL heap $(pg -d src -At -c "SELECT pg_size_pretty(pg_relation_size('bench'))"), MariaDB $(my -N -B -e "SELECT CONCAT(ROUND((DATA_LENGTH + INDEX_LENGTH) / 1048576), ' MB') FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'src' AND TABLE_NAME = 'bench'")" >&2

# Key boundaries of S equal ranges of 1..ROWS: range i is [lo(i), lo(i+1)).
lo() { echo $(( 1 + ROWS * $1 / $2 )); }

RESULTS="$WORK/results"
: >"$RESULTS"
# timed NAME -- COMMAND…: the command's wall seconds, recorded with the load.
timed() {
  local name="$1"; shift 2
  pg -d postgres -c CHECKPOINT
  sleep 1
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >/dev/null 2>"$WORK/err" || { echo "  $name failed: $(tail -3 "$WORK/err")" >&2; return 0; }
  t1=$(date +%s.%N)
  local secs load
  secs=$(echo "$t1 - $t0" | bc)
  load=$(cut -d' ' -f1 /proc/loadavg)
  echo "$name|$secs|$load" >>"$RESULTS"
  echo "  $name: $secs s (load $load)" >&2
}

read_pg() { # sessions
  local s=$1 pids=() i
  for i in $(seq 0 $((s - 1))); do
    $PSQL -d src -c "COPY (SELECT * FROM bench WHERE id >= $(lo "$i" "$s") AND id < $(lo $((i + 1)) "$s") ORDER BY id) TO STDOUT (FORMAT binary)" >/dev/null &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
}
read_my() {
  local s=$1 pids=() i
  for i in $(seq 0 $((s - 1))); do
    $MARIADB --quick -B -N src -e "SELECT * FROM bench WHERE id >= $(lo "$i" "$s") AND id < $(lo $((i + 1)) "$s") ORDER BY id" >/dev/null &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
}
# Files of session i among s: adjacent (a block of 16/s files) or dealt round-robin.
files_of() { # i s order
  local i=$1 s=$2 order=$3 f
  for f in $(seq 0 15); do
    if [ "$order" = adjacent ]; then [ $((f * s / 16)) = "$i" ] && echo "$f"
    else [ $((f % s)) = "$i" ] && echo "$f"; fi
  done
}
write_pg() { # sessions order
  local s=$1 order=$2 pids=() i
  pg -d dst -c "DROP TABLE IF EXISTS bench" -c "$(pg -d src -At -c "SELECT 'CREATE TABLE bench (' || string_agg(quote_ident(attname) || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum) || ', PRIMARY KEY (id))' FROM pg_attribute WHERE attrelid = 'bench'::regclass AND attnum > 0 AND NOT attisdropped")"
  for i in $(seq 0 $((s - 1))); do
    ( for f in $(files_of "$i" "$s" "$order"); do
        $PSQL -d dst -c "\\copy bench from '$FILES/pg.$f' (format binary)"
      done ) &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
}
write_my() {
  local s=$1 order=$2 pids=() i
  my -e "DROP TABLE IF EXISTS dst.bench; RESET MASTER; CREATE TABLE dst.bench LIKE src.bench"
  for i in $(seq 0 $((s - 1))); do
    ( for f in $(files_of "$i" "$s" "$order"); do
        $MARIADB --local-infile=1 dst -e "SET time_zone = '+00:00'; LOAD DATA LOCAL INFILE '$FILES/my.$f' INTO TABLE bench CHARACTER SET utf8mb4 (id, n, name, small, amount, note, flag, at_tz, at, day, doc, uid, @data) SET data = UNHEX(@data)"
      done ) &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
}

stride_walk() {
  local prev=0 i
  for i in $(seq 1 15); do
    prev=$($MARIADB -N -B src -e "SELECT id FROM bench WHERE id >= $prev ORDER BY id LIMIT 1 OFFSET $((ROWS / 16))")
  done
}
dives() {
  local sql="SELECT MIN(id), MAX(id) FROM bench;" i
  for i in $(seq 0 63); do
    sql="$sql EXPLAIN SELECT id FROM bench WHERE id >= $(lo "$i" 64) AND id < $(lo $((i + 1)) 64);"
  done
  $MARIADB -N -B src -e "$sql"
}

# Files to load: the table cut into 16 key ranges, one engine's at a time
# (at 10M rows each set is 2.5–3.5 GB).
FILES="$WORK/files"
mkdir -p "$FILES"
export_files() { # pg|my
  local i a b
  for i in $(seq 0 15); do
    a=$(lo "$i" 16); b=$(lo $((i + 1)) 16)
    if [ "$1" = pg ]; then
      $PSQL -d src -c "\\copy (SELECT * FROM bench WHERE id >= $a AND id < $b ORDER BY id) to '$FILES/pg.$i' (format binary)"
    else
      # The native pipe's text form (bench/run.sh): LOAD DATA takes it as is.
      $PSQL -d src -c "\\copy (SELECT id, n, name, small, amount, note, flag::int, at_tz AT TIME ZONE 'UTC', at, day, doc, uid, encode(data, 'hex') FROM bench WHERE id >= $a AND id < $b ORDER BY id) to '$FILES/my.$i'"
    fi
  done
}

for rep in $(seq 1 "$REPEAT"); do
  timed "plan|MariaDB|Bernoulli sample of the key (ferry before)" -- \
    $MARIADB -N -B src -e "SELECT id FROM bench WHERE RAND() < $(echo "scale=9; 1024 / $ROWS" | bc) ORDER BY id"
  timed "plan|MariaDB|LIMIT-stride walk of the key, 16 strides" -- stride_walk
  timed "plan|MariaDB|index dives: MIN, MAX and 64 EXPLAINs (ferry now)" -- dives
  timed "plan|MariaDB→PostgreSQL|ferry plan: whole-table value scan" -- \
    bash -c "$FERRY plan --source $(myurl src) --target $(pgurl dst) --tables bench >/dev/null; true"
  timed "read|PostgreSQL|sequential COPY of the table" -- $PSQL -d src -c "COPY bench TO STDOUT (FORMAT binary)"
  for s in 1 2 4; do
    timed "read|PostgreSQL|$s key ranges at once" -- read_pg "$s"
    timed "read|MariaDB|$s key ranges at once" -- read_my "$s"
  done
done
for engine in pg my; do
  export_files "$engine"
  for rep in $(seq 1 "$REPEAT"); do
    for s in 1 2 4; do
      name=$([ "$engine" = pg ] && echo PostgreSQL || echo MariaDB)
      timed "write|$name|$s sessions, adjacent ranges" -- "write_$engine" "$s" adjacent
      if [ "$s" -gt 1 ]; then
        timed "write|$name|$s sessions, interleaved ranges" -- "write_$engine" "$s" interleaved
      fi
    done
  done
  rm -f "$FILES"/*
  pg -d dst -c "DROP TABLE IF EXISTS bench"
  my -e "DROP TABLE IF EXISTS dst.bench; RESET MASTER" >/dev/null 2>&1 || true
done

python3 - "$RESULTS" "$ROWS" "$(nproc)" <<'PY'
import statistics, sys
path, rows, cores = sys.argv[1], int(sys.argv[2]), sys.argv[3]
runs, order = {}, []
for line in open(path):
    kind, engine, what, secs, load = line.rstrip("\n").split("|")
    key = (kind, engine, what)
    if key not in runs:
        runs[key] = []
        order.append(key)
    runs[key].append((float(secs), float(load)))
print(f"\n{rows:,} rows, {cores} cores, servers alone (no ferry), median of the runs; load = 1-minute load average after the run\n")
print("| work | engine | how | seconds | load |")
print("|---|---|---|---:|---:|")
for key in order:
    secs = statistics.median(s for s, _ in runs[key])
    load = statistics.median(l for _, l in runs[key])
    print(f"| {key[0]} | {key[1]} | {key[2]} | {secs:.1f} | {load:.1f} |")
PY
