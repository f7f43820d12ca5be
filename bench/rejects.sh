#!/usr/bin/env bash
# What isolating refused rows costs (a benchmark, not a test). Copies an
# N-row table PostgreSQL → MariaDB and MariaDB → PostgreSQL with
# `--if-exists append --on-error reject` into a target that already holds
# K of the keys (each a duplicate the server refuses for a whole statement,
# so ferry bisects), and the same copy into an empty target, and prints
# seconds for both and the ratio.
#
#   bash bench/rejects.sh [--rows N] [--dups K]
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=1000000
DUPS=10
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) ROWS="$2"; shift 2 ;;
    --dups) DUPS="$2"; shift 2 ;;
    *) echo "usage: bench/rejects.sh [--rows N] [--dups K]" >&2; exit 2 ;;
  esac
done
source bench/servers.sh ferry-rejects
DDL="id bigint PRIMARY KEY, n integer NOT NULL, note varchar(64)"
# Keys spread over the whole table, so several ranges and batches bisect.
DUPKEYS=$(seq 1 "$DUPS" | awk -v r="$ROWS" -v k="$DUPS" '{printf "%s(%d, 0, %s)", (NR>1?",":""), int(($1-0.5)*r/k), "'"'"'mine'"'"'"}')

pg -d postgres -c "CREATE DATABASE src" -c "CREATE DATABASE dst"
pg -d src -c "CREATE TABLE t ($DDL); INSERT INTO t SELECT g, g % 1000, 'note ' || g FROM generate_series(1, $ROWS) g"
my -e "CREATE DATABASE src; CREATE DATABASE dst"
run() { # label source-url target-url reset-sql-cmd
  local s=$1 t=$2; shift 2
  "$@"
  local start end
  start=$(date +%s.%N)
  "$FERRY" copy --source "$s" --target "$t" --quiet --if-exists append --on-error reject \
    --reject-file "$WORK/rejects.jsonl" --state "$WORK/state-$RANDOM.db" --format json >"$WORK/out.json"
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}
mysrc="mysql://$MYU:$MYPW@$MYH:$MYP/src"; mydst="mysql://$MYU:$MYPW@$MYH:$MYP/dst"
pgsrc="postgres://$PGU:$PGPW@$PGH:$PGP/src"; pgdst="postgres://$PGU:$PGPW@$PGH:$PGP/dst"
reset_my() { my dst -e "DROP TABLE IF EXISTS t; CREATE TABLE t ($DDL) ENGINE=InnoDB${1:+; $1}"; }
reset_pg() { pg -d dst -c "DROP TABLE IF EXISTS t" -c "CREATE TABLE t ($DDL)" ${1:+-c "$1"}; }
clean_pm=$(run "$pgsrc" "$mydst" reset_my "")
dups_pm=$(run "$pgsrc" "$mydst" reset_my "INSERT INTO t VALUES $DUPKEYS")
rej_pm=$(wc -l <"$WORK/rejects.jsonl"); rm -f "$WORK/rejects.jsonl"
# MariaDB source for the other direction: the same rows.
my src -e "CREATE TABLE t ($DDL)"
pg -d src -c "\\copy t TO '$WORK/t.tsv'"
my src -e "LOAD DATA LOCAL INFILE '$WORK/t.tsv' INTO TABLE t"
clean_mp=$(run "$mysrc" "$pgdst" reset_pg "")
dups_mp=$(run "$mysrc" "$pgdst" reset_pg "INSERT INTO t VALUES $DUPKEYS")
rej_mp=$(wc -l <"$WORK/rejects.jsonl")
echo
echo "| pair | rows | refused rows | clean append (s) | with refusals (s) | ratio |"
echo "|---|---|---|---|---|---|"
printf "| PG→MariaDB | %s | %s | %.2f | %.2f | %.2f× |\n" "$ROWS" "$rej_pm" "$clean_pm" "$dups_pm" "$(echo "$dups_pm / $clean_pm" | bc -l)"
printf "| MariaDB→PG | %s | %s | %.2f | %.2f | %.2f× |\n" "$ROWS" "$rej_mp" "$clean_mp" "$dups_mp" "$(echo "$dups_mp / $clean_mp" | bc -l)"
