#!/usr/bin/env bash
# ferry's benchmark (not a timed test). Starts throwaway PostgreSQL and
# MariaDB servers on loopback (the test kit's `ferry-servers`), generates a
# mixed-type table of N rows in PostgreSQL, then times, side by side:
#   ferry PG→MySQL, MySQL→PG, PG→PG;
#   the native pipe for each pair (psql \copy | LOAD DATA LOCAL INFILE,
#   mariadb -B | psql \copy, psql \copy binary | psql \copy binary);
#   Sling and pgloader where they are installed.
# Every result is checked by row count and a fingerprint over every column
# (sums of numbers, lengths, epochs, JSON members, first bytes). Prints a
# Markdown table: seconds, rows/s, MB/s (PostgreSQL heap size of the source
# table / seconds), ratio to the native pipe (throughput; > 1 is faster),
# peak RSS of the copying processes (/usr/bin/time).
#
# Each ferry and native run is repeated (--repeat, default 3), alternating,
# after a checkpoint, and the median is reported, because on a 2-core
# machine the servers' background work (checkpoints, purge, binlog) makes
# single runs vary by ±30%.
#
#   bash bench/run.sh [--rows N] [--workers N] [--repeat N] [--only ferry|native|tools] [--no-tools]
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS=1000000
WORKERS=""
ONLY=""
TOOLS=1
REPEAT=3
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) ROWS="$2"; shift 2 ;;
    --workers) WORKERS="--workers $2"; shift 2 ;;
    --only) ONLY="$2"; shift 2 ;;
    --no-tools) TOOLS=0; shift ;;
    --repeat) REPEAT="$2"; shift 2 ;;
    *) echo "usage: bench/run.sh [--rows N] [--workers N] [--only ferry] [--no-tools]" >&2; exit 2 ;;
  esac
done

command -v /usr/bin/time >/dev/null || { apt-get install -y -qq time >/dev/null; }
source bench/servers.sh ferry-bench
pgurl() { echo "postgres://$PGU:$PGPW@$PGH:$PGP/$1"; }
myurl() { echo "mysql://$MYU:$MYPW@$MYH:$MYP/$1"; }

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

RESULTS="$WORK/results"
: >"$RESULTS"
# run NAME PAIR CHECK_CMD RESET_CMD -- COMMAND…: resets the target, lets
# the servers settle, times COMMAND, checks its result, records.
run() {
  local name="$1" pair="$2" check="$3" reset="$4"; shift 5
  eval "$reset" >/dev/null 2>&1 || true
  pg -d postgres -c CHECKPOINT
  my -e "FLUSH TABLES" >/dev/null 2>&1 || true
  sleep 1
  echo "running $name ($pair)…" >&2
  if ! /usr/bin/time -f "%e %M" -o "$WORK/time" "$@" >"$WORK/out" 2>"$WORK/err"; then
    echo "$pair|$name|failed|||||" >>"$RESULTS"
    echo "  $name failed: $(tail -12 "$WORK/err")" >&2
    return 0
  fi
  read -r secs kb <"$WORK/time"
  local fp ok
  fp=$(eval "$check" 2>/dev/null || true)
  # Sling and pgloader may pick other types; compare what both can carry.
  if [ "$fp" = "$SRC_FP" ]; then ok="ok"; else ok="DIFFERS"; echo "  $name fingerprint: $fp" >&2; echo "  source      : $SRC_FP" >&2; fi
  if [ -z "$fp" ]; then
    # No table or no rows: the tool failed without saying so in its exit code.
    echo "$pair|$name|failed|||" >>"$RESULTS"
    echo "  $name loaded nothing: $(tail -5 "$WORK/err")" >&2
    return 0
  fi
  echo "$pair|$name|$secs|$kb|$ok" >>"$RESULTS"
  echo "  $secs s, $((kb / 1024)) MB, $ok" >&2
}

# The MySQL source of the MySQL→PG runs (ferry's own PG→MySQL copy).
[ -n "$(my -N -B dst_pm -e "SHOW TABLES LIKE 'bench'")" ] || \
  $FERRY copy --source "$(pgurl src)" --target "$(myurl dst_pm)" --tables bench --quiet

if [ -z "$ONLY" ] || [ "$ONLY" = native ]; then
  my native_pm -e "CREATE TABLE bench LIKE dst_pm.bench"
  pg -d native_mp -c "$(pg -d src -At -c "SELECT 'CREATE TABLE bench (' || string_agg(quote_ident(attname) || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum) || ', PRIMARY KEY (id))' FROM pg_attribute WHERE attrelid = 'bench'::regclass AND attnum > 0 AND NOT attisdropped")"
  pg -d native_pp -c "$(pg -d src -At -c "SELECT 'CREATE TABLE bench (' || string_agg(quote_ident(attname) || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum) || ', PRIMARY KEY (id))' FROM pg_attribute WHERE attrelid = 'bench'::regclass AND attnum > 0 AND NOT attisdropped")"
  # Text COPY into LOAD DATA: the same escapes (\t \n \\ \N) on both sides;
  # booleans as 0/1, timestamptz in UTC and bytea as hex so MySQL takes them.
  export PG_SELECT="SELECT id, n, name, small, amount, note, flag::int, at_tz AT TIME ZONE 'UTC', at, day, doc, uid, encode(data, 'hex') FROM bench"
  export MY_SELECT="SET time_zone = '+00:00'; SELECT id, n, name, small, amount, note, flag, at_tz, at, day, doc, uid, CONCAT('\\\\x', HEX(data)) FROM bench"
fi

for rep in $(seq 1 "$REPEAT"); do
  if [ -z "$ONLY" ] || [ "$ONLY" = ferry ]; then
    run "ferry" "PG→MySQL" "my_fp ferry_pm bench" "my -e 'DROP TABLE IF EXISTS ferry_pm.bench'" -- \
      $FERRY copy --source "$(pgurl src)" --target "$(myurl ferry_pm)" --tables bench --quiet $WORKERS
    run "ferry" "MySQL→PG" "pg_fp dst_mp bench" "pg -d dst_mp -c 'DROP TABLE IF EXISTS bench'" -- \
      $FERRY copy --source "$(myurl dst_pm)" --target "$(pgurl dst_mp)" --tables bench --quiet $WORKERS
    run "ferry" "PG→PG" "pg_fp dst_pp bench" "pg -d dst_pp -c 'DROP TABLE IF EXISTS bench'" -- \
      $FERRY copy --source "$(pgurl src)" --target "$(pgurl dst_pp)" --tables bench --quiet $WORKERS
  fi
  if [ -z "$ONLY" ] || [ "$ONLY" = native ]; then
    run "native pipe" "PG→MySQL" "my_fp native_pm bench" "my -e 'TRUNCATE native_pm.bench'" -- bash -c \
      "psql -X -h $PGH -p $PGP -U $PGU -d src -c \"\\copy (\$PG_SELECT) to stdout\" | \
       mariadb --protocol=tcp -h $MYH -P $MYP -u $MYU --local-infile=1 native_pm -e \
       \"SET time_zone = '+00:00'; LOAD DATA LOCAL INFILE '/dev/stdin' INTO TABLE bench CHARACTER SET utf8mb4 (id, n, name, small, amount, note, flag, at_tz, at, day, doc, uid, @data) SET data = UNHEX(@data)\""
    run "native pipe" "MySQL→PG" "pg_fp native_mp bench" "pg -d native_mp -c 'TRUNCATE bench'" -- bash -c \
      "mariadb --protocol=tcp -h $MYH -P $MYP -u $MYU --quick -B -N dst_pm -e \"\$MY_SELECT\" | \
       psql -X -h $PGH -p $PGP -U $PGU -d native_mp -c \"\\copy bench from stdin with (null 'NULL')\""
    run "native pipe" "PG→PG" "pg_fp native_pp bench" "pg -d native_pp -c 'TRUNCATE bench'" -- bash -c \
      "psql -X -h $PGH -p $PGP -U $PGU -d src -c '\\copy bench to stdout (format binary)' | \
       psql -X -h $PGH -p $PGP -U $PGU -d native_pp -c '\\copy bench from stdin (format binary)'"
  fi
done

if [ "$TOOLS" = 1 ] && { [ -z "$ONLY" ] || [ "$ONLY" = tools ]; }; then
  # The pip package `sling` downloads a binary matching its version; use
  # the one `sling-linux-amd64` ships instead (no download needed).
  SLING=$(python3 -c 'import importlib.util, os; s = importlib.util.find_spec("sling_linux_amd64"); print(os.path.join(os.path.dirname(s.origin), "bin", "sling-linux-amd64"))' 2>/dev/null || true)
  [ -x "$SLING" ] || SLING=$(command -v sling || true)
  if [ -n "$SLING" ]; then
    export SLING_SRC_PG="$(pgurl src)?sslmode=disable" SLING_PP="$(pgurl sling_pp)?sslmode=disable" \
      SLING_MP="$(pgurl sling_mp)?sslmode=disable" SLING_PM="$(myurl sling_pm)" SLING_SRC_MY="$(myurl dst_pm)"
    export SLING_DISABLE_TELEMETRY=true
    run "Sling" "PG→MySQL" "my_fp sling_pm bench" "" -- \
      $SLING run --src-conn SLING_SRC_PG --src-stream public.bench --tgt-conn SLING_PM --tgt-object sling_pm.bench --mode full-refresh
    run "Sling" "MySQL→PG" "pg_fp sling_mp bench" "" -- \
      $SLING run --src-conn SLING_SRC_MY --src-stream dst_pm.bench --tgt-conn SLING_MP --tgt-object public.bench --mode full-refresh
    run "Sling" "PG→PG" "pg_fp sling_pp bench" "" -- \
      $SLING run --src-conn SLING_SRC_PG --src-stream public.bench --tgt-conn SLING_PP --tgt-object public.bench --mode full-refresh
  fi
  if command -v pgloader >/dev/null; then
    run "pgloader" "MySQL→PG" "pg_fp pgl_mp bench" "" -- \
      pgloader --no-ssl-cert-verification "$(myurl dst_pm)" "postgresql://$PGU:$PGPW@$PGH:$PGP/pgl_mp"
  fi
fi

# The table: medians over the repetitions; ratio = native pipe's median
# seconds / this tool's (throughput relative to the native pipe, > 1 faster).
python3 - "$RESULTS" "$ROWS" "$HEAP_MB" "$(nproc)" "$REPEAT" <<'PY'
import statistics, sys
path, rows, heap, cores, repeat = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]
runs = {}
order = []
for line in open(path):
    pair, name, secs, kb, ok = (line.rstrip("\n").split("|") + [""] * 5)[:5]
    key = (pair, name)
    if key not in runs:
        runs[key] = []
        order.append(key)
    runs[key].append((secs, kb, ok))
def med(key):
    good = [float(s) for s, _, _ in runs.get(key, []) if s not in ("", "failed")]
    return statistics.median(good) if good else None
print(f"\n{rows} rows, source heap {heap} MB, {cores} cores, servers on loopback, "
      f"median of {repeat} runs (ferry and native pipe), one run (Sling, pgloader)\n")
print("| pair | tool | seconds | rows/s | MB/s | vs native pipe | peak RSS | content |")
print("|---|---|---:|---:|---:|---:|---:|---|")
for key in sorted(order, key=lambda k: (["PG→MySQL", "MySQL→PG", "PG→PG"].index(k[0]), k[1] != "ferry", k[1])):
    pair, name = key
    m = med(key)
    if m is None:
        print(f"| {pair} | {name} | failed | | | | | |")
        continue
    native = med((pair, "native pipe"))
    ratio = f"{native / m:.2f}×" if native else ""
    kb = max(int(k) for s, k, _ in runs[key] if k)
    oks = {o for _, _, o in runs[key]}
    ok = "ok" if oks == {"ok"} else "DIFFERS"
    print(f"| {pair} | {name} | {m:.1f} | {rows / m:,.0f} | {heap / m:.1f} | {ratio} | {kb / 1024:.0f} MB | {ok} |")
PY
