#!/usr/bin/env bash
# ferry's scaling benchmark (a benchmark, not a test: it judges nothing).
#
# Starts throwaway PostgreSQL and MariaDB servers on loopback (the test
# kit's `ferry-servers`), generates a mixed-type table of N rows in
# PostgreSQL, then times side by side, alternating, after a checkpoint:
#   copy:   ferry PG→MariaDB, MariaDB→PG, PG→PG against the native pipe of
#           each pair (psql \copy | LOAD DATA LOCAL INFILE, mariadb -B |
#           psql \copy, psql \copy binary | psql \copy binary);
#   verify: ferry verify of the identical tables (PG vs MariaDB, PG vs PG)
#           against streaming both tables to /dev/null at once (psql binary
#           COPY and mariadb --quick), the bare cost of reading both sides;
#   tools:  Sling and pgloader where they are installed (one run each).
# Every copy is checked by row count and a fingerprint over every column;
# every verify must exit 0.
#
# It prints Markdown tables: median seconds of the repetitions, the ratio
# ferry / native pipe (time; below 1 ferry is faster), ferry's CPU (user +
# sys of the ferry process, median) and peak RSS (largest of the runs), and
# the 1-minute load average at the end of each run (median): on a shared
# machine the load says how much to trust the row.
#
#   bash bench/run.sh [--rows N] [--workers N] [--repeat N] [--only copy|verify|tools]
#                     [--pairs pg-mariadb,mariadb-pg,pg-pg]
#                     [--no-tools] [--profile] [--profile-rows N] [--profile-dir DIR]
#
# --pairs copies in those directions only (default: all three), for a disk
# that cannot hold a large table's MariaDB target beside its sources.
#
# Disk: each target is dropped once checked (and MariaDB's binary log
# reset); at 10M rows the run still needs about 15 GB free at its peak
# (source 2.2 GB, its MariaDB copy 3.7 GB, one target and its binary log).
# FERRY_BENCH_NO_BINLOG=1 starts MariaDB without the binary log (the same
# for ferry and the pipe), for a disk that cannot hold a load's log.
#
# --profile records where ferry's CPU goes, once per copy direction and for
# verify: with `perf record` when the machine has hardware counters (`perf
# stat -e instructions true` counts), else with valgrind's callgrind on a
# table of --profile-rows rows (default 100000; callgrind runs ~50× slower).
# The profiles and their top functions go to --profile-dir (default
# target/bench-profile).
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS=1000000
WORKERS=""
ONLY=""
PAIRS=""
TOOLS=1
REPEAT=3
PROFILE=0
PROFILE_ROWS=100000
PROFILE_DIR=target/bench-profile
usage() {
  sed -n '/^#   bash bench/,/^#   *\[--no-tools/p' "$0" | sed 's/^# *//' >&2
  exit 2
}
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) ROWS="$2"; shift 2 ;;
    --workers) WORKERS="--workers $2"; shift 2 ;;
    --only) ONLY="$2"; shift 2 ;;
    --pairs) PAIRS="$2"; shift 2 ;;
    --no-tools) TOOLS=0; shift ;;
    --repeat) REPEAT="$2"; shift 2 ;;
    --profile) PROFILE=1; shift ;;
    --profile-rows) PROFILE_ROWS="$2"; shift 2 ;;
    --profile-dir) PROFILE_DIR="$2"; shift 2 ;;
    *) usage ;;
  esac
done
wants() { [ -z "$ONLY" ] || [ "$ONLY" = "$1" ]; }
wants_pair() { [ -z "$PAIRS" ] || [[ ",$PAIRS," == *",$1,"* ]]; }
for p in ${PAIRS//,/ }; do
  case "$p" in pg-mariadb|mariadb-pg|pg-pg) ;; *) echo "unknown pair: $p" >&2; usage ;; esac
done

command -v /usr/bin/time >/dev/null || { apt-get install -y -qq time >/dev/null; }
source bench/servers.sh ferry-bench
pgurl() { echo "postgres://$PGU:$PGPW@$PGH:$PGP/$1"; }
myurl() { echo "mysql://$MYU:$MYPW@$MYH:$MYP/$1"; }
load1() { cut -d' ' -f1 /proc/loadavg; }

echo "generating $ROWS rows…" >&2
for db in src dst_pp dst_mp native_pp native_mp sling_pp sling_mp pgl_mp; do
  pg -d postgres -c "CREATE DATABASE $db TEMPLATE template0 ENCODING 'UTF8'"
done
for db in dst_pm ferry_pm native_pm sling_pm; do
  my -e "CREATE DATABASE $db CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
done
pg -d src <<SQL
CREATE TABLE bench (
  id bigint PRIMARY KEY, n integer, name varchar(64), small smallint,
  amount numeric(12,2), note text, flag boolean, at_tz timestamptz,
  at timestamp, day date, doc jsonb, uid uuid, data bytea);
INSERT INTO bench
SELECT g, (g * 7919) % 1000003, 'name ' || g, (g % 32767)::smallint,
       ((g % 100000000) / 100.0)::numeric(12,2),
       CASE g % 5 WHEN 0 THEN NULL WHEN 1 THEN ''
                  WHEN 2 THEN E'tab\there\nnew line \\\\ back ''q'' 😀 ' || g
                  ELSE 'plain text ' || g END,
       g % 2 = 0,
       timestamptz '2020-01-01 00:00:00+00' + g * interval '1 second' + (g % 1000000) * interval '1 microsecond',
       timestamp '2021-06-01' + g * interval '1 millisecond',
       date '2000-01-01' + (g % 10000)::int,
       jsonb_build_object('k', g, 's', 'v' || (g % 100), 'a', jsonb_build_array(g % 7, true, null)),
       md5(g::text)::uuid,
       decode(md5(g::text), 'hex') || '\x000a0d5c09ff'::bytea
FROM generate_series(1::bigint, $ROWS) g;
VACUUM ANALYZE bench;
SQL
HEAP_MB=$(pg -d src -At -c "SELECT round(pg_relation_size('bench') / 1048576.0, 1)")
echo "source heap: $HEAP_MB MB" >&2

# Fingerprints: one line per table, comparable across engines.
pg_fp() { # db table
  pg -d "$1" -At -c "SELECT count(*), sum(id), sum(n), sum(small), sum(amount),
    sum(char_length(name)), sum(coalesce(char_length(note), -1)), sum(flag::int),
    sum((extract(epoch FROM at_tz) * 1000000)::numeric(38,0)),
    sum((extract(epoch FROM at) * 1000000)::numeric(38,0)), sum(day - date '2000-01-01'),
    sum((doc->>'k')::bigint), sum(length(doc->>'s')), sum(ascii(uid::text)),
    sum(length(data)), sum(get_byte(data, 17)) FROM $2"
}
my_fp() { # db table
  my -N -B "$1" -e "SET time_zone = '+00:00'; SELECT count(*), sum(id), sum(n), sum(small), sum(amount),
    sum(char_length(name)), sum(coalesce(char_length(note), -1)), sum(flag),
    CAST(sum(UNIX_TIMESTAMP(at_tz) * 1000000) AS DECIMAL(38,0)),
    CAST(sum(UNIX_TIMESTAMP(at) * 1000000) AS DECIMAL(38,0)), sum(DATEDIFF(day, '2000-01-01')),
    sum(CAST(JSON_VALUE(doc, '\$.k') AS SIGNED)), sum(length(JSON_VALUE(doc, '\$.s'))), sum(ascii(uid)),
    sum(length(data)), sum(ascii(substr(data, 18, 1))) FROM $2" | tr '\t' '|'
}
SRC_FP=$(pg_fp src bench)
MY_SIZE_MB=0

RESULTS="$WORK/results"
: >"$RESULTS"
settle() {
  pg -d postgres -c CHECKPOINT
  my -e "FLUSH TABLES" >/dev/null 2>&1 || true
  sleep 1
}
# timed KIND PAIR NAME CHECK_CMD RESET_CMD -- COMMAND…: resets, lets the
# servers settle, times COMMAND (/usr/bin/time: wall, peak RSS, user and
# sys CPU of the command and the children it waited for), checks, records
# `kind|pair|name|secs|kb|cpu|load|ok`.
timed() {
  local kind="$1" pair="$2" name="$3" check="$4" reset="$5"; shift 6
  eval "$reset" >/dev/null 2>&1 || true
  settle
  echo "running $kind $name ($pair)…" >&2
  if ! /usr/bin/time -f "%e %M %U %S" -o "$WORK/time" "$@" >"$WORK/out" 2>"$WORK/err"; then
    echo "$kind|$pair|$name|failed||||" >>"$RESULTS"
    echo "  $name failed: $(tail -12 "$WORK/err")" >&2
    eval "$reset" >/dev/null 2>&1 || true
    return 0
  fi
  local secs kb user sys cpu load ok fp
  read -r secs kb user sys <"$WORK/time"
  cpu=$(echo "$user + $sys" | bc)
  load=$(load1)
  if [ -n "$check" ]; then
    fp=$(eval "$check" 2>/dev/null || true)
    if [ -z "$fp" ]; then
      # No table or no rows: the tool failed without saying so in its exit code.
      echo "$kind|$pair|$name|failed||||" >>"$RESULTS"
      echo "  $name loaded nothing: $(tail -5 "$WORK/err")" >&2
      return 0
    fi
    if [ "$fp" = "$SRC_FP" ]; then ok="ok"; else ok="DIFFERS"; echo "  $name fingerprint: $fp" >&2; echo "  source      : $SRC_FP" >&2; fi
  else
    ok="ok"
  fi
  echo "$kind|$pair|$name|$secs|$kb|$cpu|$load|$ok" >>"$RESULTS"
  echo "  $secs s, cpu $cpu s, $((kb / 1024)) MB, load $load, $ok" >&2
  # Checked: give the space back (a 10M-row target is GBs, and its binary
  # log as much again).
  eval "$reset" >/dev/null 2>&1 || true
}

# The MariaDB source of the MariaDB→PG runs, and the target verify reads:
# ferry's own PG→MariaDB copy (checked like every copy).
$FERRY copy --source "$(pgurl src)" --target "$(myurl dst_pm)" --tables bench --quiet >/dev/null
[ "$(my_fp dst_pm bench)" = "$SRC_FP" ] || { echo "the MariaDB copy of the source differs" >&2; exit 1; }
my -e "RESET MASTER" >/dev/null 2>&1 || true
MY_SIZE_MB=$(my -N -B -e "SELECT round((DATA_LENGTH + INDEX_LENGTH) / 1048576, 1) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'dst_pm' AND TABLE_NAME = 'bench'")

pg_ddl() { pg -d src -At -c "SELECT 'CREATE TABLE bench (' || string_agg(quote_ident(attname) || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum) || ', PRIMARY KEY (id))' FROM pg_attribute WHERE attrelid = 'bench'::regclass AND attnum > 0 AND NOT attisdropped"; }
my native_pm -e "CREATE TABLE bench LIKE dst_pm.bench"
pg -d native_mp -c "$(pg_ddl)"
pg -d native_pp -c "$(pg_ddl)"
# Text COPY into LOAD DATA: the same escapes (\t \n \\ \N) on both sides;
# booleans as 0/1, timestamptz in UTC and bytea as hex so MariaDB takes them.
export PG_SELECT="SELECT id, n, name, small, amount, note, flag::int, at_tz AT TIME ZONE 'UTC', at, day, doc, uid, encode(data, 'hex') FROM bench"
export MY_SELECT="SET time_zone = '+00:00'; SELECT id, n, name, small, amount, note, flag, at_tz, at, day, doc, uid, CONCAT('\\\\x', HEX(data)) FROM bench"
PSQL="psql -X -h $PGH -p $PGP -U $PGU"
MARIADB="mariadb --protocol=tcp -h $MYH -P $MYP -u $MYU"

for rep in $(seq 1 "$REPEAT"); do
  if wants copy && wants_pair pg-mariadb; then
    timed copy "PG→MariaDB" ferry "my_fp ferry_pm bench" "my -e 'DROP TABLE IF EXISTS ferry_pm.bench; RESET MASTER'" -- \
      $FERRY copy --source "$(pgurl src)" --target "$(myurl ferry_pm)" --tables bench --quiet $WORKERS
    timed copy "PG→MariaDB" "native pipe" "my_fp native_pm bench" "my -e 'TRUNCATE native_pm.bench; RESET MASTER'" -- bash -c \
      "$PSQL -d src -c \"\\copy (\$PG_SELECT) to stdout\" | \
       $MARIADB --local-infile=1 native_pm -e \
       \"SET time_zone = '+00:00'; LOAD DATA LOCAL INFILE '/dev/stdin' INTO TABLE bench CHARACTER SET utf8mb4 (id, n, name, small, amount, note, flag, at_tz, at, day, doc, uid, @data) SET data = UNHEX(@data)\""
  fi
  if wants copy && wants_pair mariadb-pg; then
    timed copy "MariaDB→PG" ferry "pg_fp dst_mp bench" "pg -d dst_mp -c 'DROP TABLE IF EXISTS bench'" -- \
      $FERRY copy --source "$(myurl dst_pm)" --target "$(pgurl dst_mp)" --tables bench --quiet $WORKERS
    timed copy "MariaDB→PG" "native pipe" "pg_fp native_mp bench" "pg -d native_mp -c 'TRUNCATE bench'" -- bash -c \
      "$MARIADB --quick -B -N dst_pm -e \"\$MY_SELECT\" | \
       $PSQL -d native_mp -c \"\\copy bench from stdin with (null 'NULL')\""
  fi
  if wants copy && wants_pair pg-pg; then
    timed copy "PG→PG" ferry "pg_fp dst_pp bench" "pg -d dst_pp -c 'DROP TABLE IF EXISTS bench'" -- \
      $FERRY copy --source "$(pgurl src)" --target "$(pgurl dst_pp)" --tables bench --quiet $WORKERS
    timed copy "PG→PG" "native pipe" "pg_fp native_pp bench" "pg -d native_pp -c 'TRUNCATE bench'" -- bash -c \
      "$PSQL -d src -c '\\copy bench to stdout (format binary)' | \
       $PSQL -d native_pp -c '\\copy bench from stdin (format binary)'"
  fi
  if wants verify; then
    timed verify "PG vs MariaDB" ferry "" "" -- \
      $FERRY verify --source "$(pgurl src)" --target "$(myurl dst_pm)" --tables bench
    timed verify "PG vs MariaDB" "stream both" "" "" -- bash -c \
      "$PSQL -d src -c 'COPY bench TO STDOUT (FORMAT binary)' >/dev/null & a=\$!; \
       $MARIADB --quick -e 'SELECT * FROM dst_pm.bench' >/dev/null & b=\$!; wait \$a && wait \$b"
    # PostgreSQL against itself: two sessions read the same table, as the
    # two COPYs of the bare stream do (no second copy on disk).
    timed verify "PG vs PG" ferry "" "" -- \
      $FERRY verify --source "$(pgurl src)" --target "$(pgurl src)" --tables bench
    timed verify "PG vs PG" "stream both" "" "" -- bash -c \
      "$PSQL -d src -c 'COPY bench TO STDOUT (FORMAT binary)' >/dev/null & a=\$!; \
       $PSQL -d src -c 'COPY bench TO STDOUT (FORMAT binary)' >/dev/null & b=\$!; wait \$a && wait \$b"
  fi
done

if [ "$TOOLS" = 1 ] && wants tools; then
  # The pip package `sling` downloads a binary matching its version; use
  # the one `sling-linux-amd64` ships instead (no download needed).
  SLING=$(python3 -c 'import importlib.util, os; s = importlib.util.find_spec("sling_linux_amd64"); print(os.path.join(os.path.dirname(s.origin), "bin", "sling-linux-amd64"))' 2>/dev/null || true)
  [ -x "$SLING" ] || SLING=$(command -v sling || true)
  if [ -n "$SLING" ]; then
    export SLING_SRC_PG="$(pgurl src)?sslmode=disable" SLING_PP="$(pgurl sling_pp)?sslmode=disable" \
      SLING_MP="$(pgurl sling_mp)?sslmode=disable" SLING_PM="$(myurl sling_pm)" SLING_SRC_MY="$(myurl dst_pm)"
    export SLING_DISABLE_TELEMETRY=true
    timed tools "PG→MariaDB" "Sling" "my_fp sling_pm bench" "" -- \
      $SLING run --src-conn SLING_SRC_PG --src-stream public.bench --tgt-conn SLING_PM --tgt-object sling_pm.bench --mode full-refresh
    timed tools "MariaDB→PG" "Sling" "pg_fp sling_mp bench" "" -- \
      $SLING run --src-conn SLING_SRC_MY --src-stream dst_pm.bench --tgt-conn SLING_MP --tgt-object public.bench --mode full-refresh
    timed tools "PG→PG" "Sling" "pg_fp sling_pp bench" "" -- \
      $SLING run --src-conn SLING_SRC_PG --src-stream public.bench --tgt-conn SLING_PP --tgt-object public.bench --mode full-refresh
  fi
  # reladiff (pip install reladiff) diffs the verify tables, every column.
  RELADIFF=${FERRY_RELADIFF:-$(command -v reladiff || true)}
  if [ -n "$RELADIFF" ]; then
    timed tools "PG vs MariaDB" "reladiff (verify)" "" "" -- \
      "$RELADIFF" "postgresql://$PGU:$PGPW@$PGH:$PGP/src" bench "$(myurl dst_pm)" bench -k id -c % -j 2
  fi
  if command -v pgloader >/dev/null; then
    timed tools "MariaDB→PG" "pgloader" "pg_fp pgl_mp bench" "" -- \
      pgloader --no-ssl-cert-verification "$(myurl dst_pm)" "postgresql://$PGU:$PGPW@$PGH:$PGP/pgl_mp"
  fi
fi

if [ "$PROFILE" = 1 ]; then
  mkdir -p "$PROFILE_DIR"
  if perf stat -e instructions true 2>&1 | grep -q '[0-9] *instructions'; then
    # Hardware counters: sample the whole-size runs.
    prof() { # name command…
      local name="$1"; shift
      perf record -q -g -o "$PROFILE_DIR/$name.perf" -- "$@" >/dev/null 2>&1 || true
      perf report -q -i "$PROFILE_DIR/$name.perf" --no-children --sort symbol --stdio 2>/dev/null \
        | grep -v '^$' | head -40 >"$PROFILE_DIR/$name.top.txt" || true
    }
    P_ROWS=$ROWS; P_TABLE=bench; P_MY=dst_pm
  else
    # No hardware counters (virtual machines): callgrind counts
    # instructions exactly, on a smaller table.
    prof() {
      local name="$1"; shift
      valgrind --tool=callgrind --callgrind-out-file="$PROFILE_DIR/$name.callgrind" "$@" >/dev/null 2>&1 || true
      callgrind_annotate --inclusive=no "$PROFILE_DIR/$name.callgrind" 2>/dev/null | head -60 >"$PROFILE_DIR/$name.top.txt" || true
    }
    P_ROWS=$PROFILE_ROWS; P_TABLE=bench_p; P_MY=dst_pm
    pg -d src -c "DROP TABLE IF EXISTS bench_p" -c "CREATE TABLE bench_p (LIKE bench INCLUDING ALL)" \
      -c "INSERT INTO bench_p SELECT * FROM bench WHERE id <= $PROFILE_ROWS"
    my -e "DROP TABLE IF EXISTS dst_pm.bench_p; CREATE TABLE dst_pm.bench_p LIKE dst_pm.bench; INSERT INTO dst_pm.bench_p SELECT * FROM dst_pm.bench WHERE id <= $PROFILE_ROWS"
  fi
  echo "profiling ($P_ROWS rows) into $PROFILE_DIR…" >&2
  my -e "DROP TABLE IF EXISTS ferry_pm.$P_TABLE"
  prof copy-pg-mariadb $FERRY copy --source "$(pgurl src)" --target "$(myurl ferry_pm)" --tables $P_TABLE --quiet $WORKERS
  pg -d dst_mp -c "DROP TABLE IF EXISTS $P_TABLE"
  prof copy-mariadb-pg $FERRY copy --source "$(myurl $P_MY)" --target "$(pgurl dst_mp)" --tables $P_TABLE --quiet $WORKERS
  pg -d dst_pp -c "DROP TABLE IF EXISTS $P_TABLE"
  prof copy-pg-pg $FERRY copy --source "$(pgurl src)" --target "$(pgurl dst_pp)" --tables $P_TABLE --quiet $WORKERS
  prof verify-pg-mariadb $FERRY verify --source "$(pgurl src)" --target "$(myurl $P_MY)" --tables $P_TABLE
  for f in "$PROFILE_DIR"/*.top.txt; do echo "== $f" >&2; head -25 "$f" >&2; done
fi

# The tables: medians over the repetitions.
python3 - "$RESULTS" "$ROWS" "$HEAP_MB" "$MY_SIZE_MB" "$(nproc)" "$REPEAT" <<'PY'
import statistics, sys
path, rows, heap, my_mb, cores, repeat = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
runs = {}
for line in open(path):
    kind, pair, name, secs, kb, cpu, load, ok = (line.rstrip("\n").split("|") + [""] * 8)[:8]
    runs.setdefault((kind, pair, name), []).append((secs, kb, cpu, load, ok))

def good(key):
    return [r for r in runs.get(key, []) if r[0] not in ("", "failed")]

def med(key, i):
    v = [float(r[i]) for r in good(key) if r[i] != ""]
    return statistics.median(v) if v else None

def rss(key):
    v = [int(r[1]) for r in good(key) if r[1]]
    return f"{max(v) / 1024:.0f} MB" if v else ""

def fmt(x, f="{:.1f}"):
    return f.format(x) if x is not None else "failed"

def content(key):
    oks = {r[4] for r in runs.get(key, [])}
    return "ok" if oks == {"ok"} else ("failed" if not good(key) else "DIFFERS")

print(f"\n{rows:,} rows; PostgreSQL heap {heap} MB, MariaDB table {my_mb} MB; {cores} cores; "
      f"servers on loopback; median of {repeat} alternating runs; load = 1-minute load average "
      f"at the end of the run (median)\n")
pairs = ["PG→MariaDB", "MariaDB→PG", "PG→PG"]
if any(k[0] == "copy" for k in runs):
    print("| copy | ferry s | native pipe s | ferry / pipe | ferry CPU s | ferry peak RSS | pipe peak RSS | load | content |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for pair in pairs:
        f, n = ("copy", pair, "ferry"), ("copy", pair, "native pipe")
        if f not in runs and n not in runs:
            continue  # not asked for (--pairs)
        fs, ns = med(f, 0), med(n, 0)
        ratio = f"{fs / ns:.2f}" if fs and ns else ""
        print(f"| {pair} | {fmt(fs)} | {fmt(ns)} | {ratio} | {fmt(med(f, 2))} | {rss(f)} | {rss(n)} "
              f"| {fmt(med(f, 3), '{:.1f}')} | {content(f)} |")
if any(k[0] == "verify" for k in runs):
    print("\n| verify (identical tables; PG vs PG: the table against itself) | ferry verify s | stream both to /dev/null s | verify / stream | ferry CPU s | ferry peak RSS | load |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for pair in ["PG vs MariaDB", "PG vs PG"]:
        f, s = ("verify", pair, "ferry"), ("verify", pair, "stream both")
        fs, ss = med(f, 0), med(s, 0)
        ratio = f"{fs / ss:.2f}" if fs and ss else ""
        print(f"| {pair} | {fmt(fs)} | {fmt(ss)} | {ratio} | {fmt(med(f, 2))} | {rss(f)} | {fmt(med(f, 3))} |")
tools = sorted(k for k in runs if k[0] == "tools")
if tools:
    print("\n| other tools | seconds | vs native pipe (time) | peak RSS | content |")
    print("|---|---:|---:|---:|---|")
    for key in tools:
        s, n = med(key, 0), med(("copy", key[1], "native pipe"), 0)
        ratio = f"{s / n:.2f}" if s and n else ""
        print(f"| {key[1]} {key[2]} | {fmt(s)} | {ratio} | {rss(key)} | {content(key)} |")
PY
