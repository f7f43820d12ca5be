#!/usr/bin/env bash
# LOAD DATA LOCAL INFILE against batched INSERTs (the path ferry takes when
# the target's local_infile is OFF): the benchmark table of bench/run.sh,
# PostgreSQL → MariaDB, release build, each path --repeat times (default 3),
# alternating, median reported. The bench's own MariaDB is switched to
# local_infile = OFF for the INSERT runs (SET GLOBAL; it is this script's
# server, shared with nothing) and back on after.
#
#   bash bench/insert.sh [--rows N] [--repeat N]
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS=1000000
REPEAT=3
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) ROWS="$2"; shift 2 ;;
    --repeat) REPEAT="$2"; shift 2 ;;
    *) echo "usage: bench/insert.sh [--rows N] [--repeat N]" >&2; exit 2 ;;
  esac
done

command -v bc >/dev/null || apt-get install -y -qq bc >/dev/null
source bench/servers.sh ferry-insert
pgurl() { echo "postgres://$PGU:$PGPW@$PGH:$PGP/$1"; }
myurl() { echo "mysql://$MYU:$MYPW@$MYH:$MYP/$1"; }

echo "generating $ROWS rows…" >&2
pg -d postgres -c "CREATE DATABASE src TEMPLATE template0 ENCODING 'UTF8'"
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

run() { # path round → seconds
  local db="t_$1_$2"
  my -e "CREATE DATABASE $db CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
  if [ "$1" = insert ]; then my -e "SET GLOBAL local_infile = 0"; else my -e "SET GLOBAL local_infile = 1"; fi
  my -e "FLUSH TABLES; DO SLEEP(1)"
  local t0 t1
  t0=$(date +%s.%N)
  "$FERRY" copy --source "$(pgurl src)" --target "$(myurl "$db")" --quiet >&2
  t1=$(date +%s.%N)
  "$FERRY" verify --source "$(pgurl src)" --target "$(myurl "$db")" >/dev/null \
    || { echo "verify failed for $db" >&2; exit 1; }
  my -e "SET GLOBAL local_infile = 1; DROP DATABASE $db"
  echo "$t1 - $t0" | bc
}

declare -a load insert
for r in $(seq 1 "$REPEAT"); do
  load+=("$(run load "$r")")
  insert+=("$(run insert "$r")")
  echo "round $r: LOAD DATA ${load[-1]} s, INSERT ${insert[-1]} s" >&2
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
L=$(median "${load[@]}")
I=$(median "${insert[@]}")
printf '| path | seconds | rows/s |\n|---|---:|---:|\n'
printf '| LOAD DATA LOCAL INFILE | %.2f | %.0f |\n' "$L" "$(echo "$ROWS / $L" | bc -l)"
printf '| batched INSERT (local_infile OFF) | %.2f | %.0f |\n' "$I" "$(echo "$ROWS / $I" | bc -l)"
printf 'INSERT / LOAD DATA time: %.2f×\n' "$(echo "$I / $L" | bc -l)"
