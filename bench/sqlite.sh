#!/usr/bin/env bash
# ferry's SQLite benchmark (not a timed test). Writes a mixed-type table of
# N rows into a SQLite file with the sqlite3 CLI, starts a throwaway
# PostgreSQL (the test kit's `ferry-servers`), then times, side by side:
#   SQLite → PostgreSQL: ferry; `sqlite3 -csv | psql \copy … csv` into a
#     table created by hand; pgloader's SQLite source (when installed:
#     `apt-get install pgloader`, which this script tries once);
#   PostgreSQL → SQLite: ferry; `psql \copy … csv | sqlite3 .import` into a
#     table created by hand (NULLs travel as a marker and are put back by
#     one UPDATE per column: .import has no NULL).
# Every result is checked by row count and a fingerprint over every column
# (sums of numbers, lengths, epochs, JSON members, bytes), compared with the
# source's. Prints a Markdown table: seconds, rows/s, ratio to the pipe
# (throughput; > 1 is faster), peak RSS of the copying processes, and
# whether the content matches. Each run is repeated (--repeat, default 3,
# alternating) and the median reported.
#
#   bash bench/sqlite.sh [--rows N] [--repeat N] [--workers N]
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS=1000000
REPEAT=3
WORKERS=""
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) ROWS="$2"; shift 2 ;;
    --repeat) REPEAT="$2"; shift 2 ;;
    --workers) WORKERS="--workers $2"; shift 2 ;;
    *) echo "usage: bench/sqlite.sh [--rows N] [--repeat N] [--workers N]" >&2; exit 2 ;;
  esac
done

command -v /usr/bin/time >/dev/null || apt-get install -y -qq time >/dev/null
command -v pgloader >/dev/null || apt-get install -y -qq pgloader >/dev/null 2>&1 || true
source bench/servers.sh ferry-bench-sqlite
pgurl() { echo "postgres://$PGU:$PGPW@$PGH:$PGP/$1"; }
SRC="$WORK/src.db"

echo "generating $ROWS rows into $SRC…" >&2
sqlite3 "$SRC" <<SQL
PRAGMA journal_mode = WAL;
CREATE TABLE bench (
  id INTEGER PRIMARY KEY, n INTEGER, name VARCHAR(64), small SMALLINT,
  amount NUMERIC(12,2), note TEXT, flag BOOLEAN, at_tz TIMESTAMP WITH TIME ZONE,
  at DATETIME, day DATE, doc JSON, uid UUID, data BLOB);
WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < $ROWS)
INSERT INTO bench
SELECT n, (n * 7919) % 1000003, 'name ' || n, n % 32767,
       (n % 100000000) / 100.0,
       CASE n % 5 WHEN 0 THEN NULL WHEN 1 THEN ''
                  WHEN 2 THEN 'tab' || char(9) || 'here' || char(10) || 'new line \\ back ''q'' 😀 ' || n
                  ELSE 'plain text ' || n END,
       n % 2 = 0,
       datetime('2020-01-01', '+' || n || ' seconds') || '+00:00',
       strftime('%Y-%m-%d %H:%M:%f', '2021-06-01', '+' || (n / 1000.0) || ' seconds'),
       date('2000-01-01', '+' || (n % 10000) || ' days'),
       json_object('k', n, 's', 'v' || (n % 100), 'a', json_array(n % 7, json('true'), NULL)),
       lower(substr(hex(randomblob(16)), 1, 8) || '-' || substr(hex(randomblob(2)), 1, 4) || '-4' ||
             substr(hex(randomblob(2)), 2, 3) || '-a' || substr(hex(randomblob(2)), 2, 3) || '-' ||
             substr(hex(randomblob(6)), 1, 12)),
       CAST(randomblob(16) || x'000a0d5c09ff' AS BLOB)
FROM g;
SQL
FILE_MB=$(du -m "$SRC" | cut -f1)
echo "source file: $FILE_MB MB" >&2

# Fingerprints: one line per copy, comparable across engines.
sl_fp() { # file
  sqlite3 "$1" "SELECT count(*), sum(id), sum(n), sum(small), printf('%.2f', sum(amount)),
    sum(length(name)), sum(coalesce(length(note), -1)), sum(flag),
    sum(CAST(strftime('%s', at_tz) AS INTEGER)),
    sum(CAST(round((julianday(at) - 2440587.5) * 86400000) AS INTEGER)),
    sum(CAST(julianday(day) - 2451544.5 AS INTEGER)),
    sum(json_extract(doc, '\$.k')), sum(length(json_extract(doc, '\$.s'))), sum(unicode(uid)),
    sum(length(data)) FROM bench"
}
pg_fp() { # db
  pg -d "$1" -At -c "SELECT count(*), sum(id), sum(n), sum(small), round(sum(amount), 2),
    sum(char_length(name)), sum(coalesce(char_length(note), -1)), sum(flag::int),
    sum(extract(epoch FROM at_tz)::bigint),
    sum(round(extract(epoch FROM at) * 1000)::bigint),
    sum(day - date '2000-01-01'),
    sum((doc->>'k')::bigint), sum(length(doc->>'s')), sum(ascii(uid::text)),
    sum(length(data)) FROM bench"
}
SRC_FP=$(sl_fp "$SRC")
echo "source fingerprint: $SRC_FP" >&2

for db in ferry_sp native_sp pgl_sp pg_src; do
  pg -d postgres -c "CREATE DATABASE $db TEMPLATE template0 ENCODING 'UTF8'"
done
PG_TABLE="CREATE TABLE bench (id bigint PRIMARY KEY, n bigint, name varchar(64), small smallint,
  amount numeric(12,2), note text, flag boolean, at_tz timestamptz, at timestamp(6), day date,
  doc json, uid uuid, data bytea)"
SL_TABLE="CREATE TABLE bench (id INTEGER PRIMARY KEY, n INTEGER, name VARCHAR(64), small SMALLINT,
  amount NUMERIC(12,2), note TEXT, flag BOOLEAN, at_tz TIMESTAMP WITH TIME ZONE, at DATETIME,
  day DATE, doc JSON, uid UUID, data BLOB)"
pg -d native_sp -c "$PG_TABLE"
# The PostgreSQL source of the PostgreSQL → SQLite runs: ferry's own copy.
$FERRY copy --source "sqlite://$SRC" --target "$(pgurl pg_src)" --quiet
pg -d pg_src -c "VACUUM ANALYZE bench"
[ "$(pg_fp pg_src)" = "$SRC_FP" ] || { echo "pg_src fingerprint differs: $(pg_fp pg_src)" >&2; }

RESULTS="$WORK/results"
: >"$RESULTS"
# run NAME PAIR CHECK_CMD RESET_CMD -- COMMAND…
run() {
  local name="$1" pair="$2" check="$3" reset="$4"; shift 5
  eval "$reset" >/dev/null 2>&1 || true
  pg -d postgres -c CHECKPOINT
  sync
  sleep 1
  echo "running $name ($pair)…" >&2
  if ! /usr/bin/time -f "%e %M" -o "$WORK/time" "$@" >"$WORK/out" 2>"$WORK/err"; then
    printf '%s\t%s\tfailed\t\t\n' "$pair" "$name" >>"$RESULTS"
    echo "  $name failed: $(tail -12 "$WORK/err")" >&2
    return 0
  fi
  read -r secs kb <"$WORK/time"
  local fp ok
  fp=$(eval "$check" 2>/dev/null || true)
  if [ -z "$fp" ]; then
    printf '%s\t%s\tfailed\t\t\n' "$pair" "$name" >>"$RESULTS"
    echo "  $name loaded nothing: $(tail -5 "$WORK/err")" >&2
    return 0
  fi
  if [ "$fp" = "$SRC_FP" ]; then ok="ok"; else ok="DIFFERS"; echo "  $name fingerprint: $fp" >&2; echo "  source      : $SRC_FP" >&2; fi
  printf '%s\t%s\t%s\t%s\t%s\n' "$pair" "$name" "$secs" "$kb" "$ok" >>"$RESULTS"
  echo "  $secs s, $((kb / 1024)) MB, $ok" >&2
}

rm_db() { rm -f "$1" "$1-wal" "$1-shm"; }
# NULL travels through .import as this marker (it has no NULL), put back after.
NULLS="n name small amount note flag at_tz at day doc uid data"
native_pg_to_sqlite() {
  rm_db "$WORK/native.db"
  sqlite3 "$WORK/native.db" "$SL_TABLE"
  psql -X -h "$PGH" -p "$PGP" -U "$PGU" -d pg_src -c "\\copy (SELECT id, n, name, small, amount, note, flag::int,
    to_char(at_tz AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || '+00:00', to_char(at, 'YYYY-MM-DD HH24:MI:SS.US'),
    day, doc, uid, encode(data, 'hex') FROM bench) to stdout with (format csv, null '\\N')" |
  sqlite3 "$WORK/native.db" ".import --csv /dev/stdin bench"
  local fix=""
  for c in $NULLS; do fix="$fix UPDATE bench SET $c = NULL WHERE $c = '\\N';"; done
  # bytea arrives as hex text: the CLI (3.40) has no unhex(), so it stays text.
  sqlite3 "$WORK/native.db" "BEGIN; $fix COMMIT;"
}
export -f native_pg_to_sqlite rm_db
export PGH PGP PGU WORK SL_TABLE NULLS

for rep in $(seq 1 "$REPEAT"); do
  run "ferry" "SQLite→PG" "pg_fp ferry_sp" "pg -d ferry_sp -c 'DROP TABLE IF EXISTS bench'" -- \
    $FERRY copy --source "sqlite://$SRC" --target "$(pgurl ferry_sp)" --quiet $WORKERS
  run "sqlite3 -csv | psql COPY" "SQLite→PG" "pg_fp native_sp" "pg -d native_sp -c 'TRUNCATE bench'" -- bash -c \
    "sqlite3 -csv '$SRC' \"SELECT id, n, name, small, amount, note, flag, at_tz, at, day, doc, uid, '\\\\x' || hex(data) FROM bench\" | \
     psql -X -h $PGH -p $PGP -U $PGU -d native_sp -c \"\\copy bench from stdin with (format csv)\""
  run "ferry" "PG→SQLite" "sl_fp $WORK/ferry.db" "rm_db $WORK/ferry.db" -- \
    $FERRY copy --source "$(pgurl pg_src)" --target "sqlite://$WORK/ferry.db" --quiet $WORKERS
  run "psql COPY | sqlite3 .import" "PG→SQLite" "sl_fp $WORK/native.db" "" -- bash -c native_pg_to_sqlite
done
if command -v pgloader >/dev/null; then
  run "pgloader $(pgloader --version 2>/dev/null | head -1 | awk '{print $3}' | tr -d '"')" "SQLite→PG" "pg_fp pgl_sp" \
    "pg -d pgl_sp -c 'DROP TABLE IF EXISTS bench'" -- \
    pgloader "sqlite://$SRC" "postgresql://$PGU:$PGPW@$PGH:$PGP/pgl_sp"
fi

python3 - "$RESULTS" "$ROWS" "$FILE_MB" "$(nproc)" "$REPEAT" <<'PY'
import statistics, sys
path, rows, size, cores, repeat = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
runs, order = {}, []
for line in open(path):
    pair, name, secs, kb, ok = (line.rstrip("\n").split("\t") + [""] * 5)[:5]
    key = (pair, name)
    if key not in runs:
        runs[key] = []
        order.append(key)
    runs[key].append((secs, kb, ok))
def med(key):
    good = [float(s) for s, _, _ in runs.get(key, []) if s not in ("", "failed")]
    return statistics.median(good) if good else None
pipes = {"SQLite→PG": "sqlite3 -csv | psql COPY", "PG→SQLite": "psql COPY | sqlite3 .import"}
print(f"{rows:,} rows ({size} MB SQLite file), {cores} cores, release build, median of {repeat} runs\n")
print("| pair | tool | seconds | rows/s | vs pipe | peak RSS | content |")
print("|---|---|---:|---:|---:|---:|---|")
for pair, name in order:
    shown = name.replace("|", "\\|")
    s = med((pair, name))
    rs = runs[(pair, name)]
    if s is None:
        print(f"| {pair} | {shown} | failed | | | | |")
        continue
    kb = max(int(k) for _, k, _ in rs if k)
    oks = sorted({o for _, _, o in rs if o})
    base = med((pair, pipes[pair]))
    ratio = f"{base / s:.2f}×" if base else ""
    print(f"| {pair} | {shown} | {s:.1f} | {rows / s:,.0f} | {ratio} | {kb // 1024} MB | {'/'.join(oks)} |")
PY
