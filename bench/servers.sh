# Sourced by the benchmarks: builds ferry in release mode, starts throwaway
# PostgreSQL and MariaDB servers (the test kit's `ferry-servers`, kept up
# while fd 3 stays open) and defines FERRY, WORK, the connection variables
# (PGU PGPW PGH PGP, MYU MYPW MYH MYP) and the `pg` / `my` client shells.
# $1: the temp directory's prefix.
bash scripts/ensure-servers.sh
# FERRY_BIN runs another build (e.g. the previous commit's, for a
# before/after); the servers still come from this tree's test kit.
if [ -z "${FERRY_BIN:-}" ] || [ ! -x target/release/ferry-servers ]; then
  cargo build --release --quiet -p ferry -p ferry-testkit --bins
fi
FERRY=${FERRY_BIN:-target/release/ferry}
WORK=$(mktemp -d "/tmp/${1:-ferry-bench}.XXXXXX")
trap 'exec 3>&- 2>/dev/null || true; rm -rf "$WORK"' EXIT

mkfifo "$WORK/servers.in"
# FERRY_BENCH_NO_BINLOG=1: MariaDB without its binary log (a small disk).
target/release/ferry-servers ${FERRY_BENCH_NO_BINLOG:+--no-binlog} <"$WORK/servers.in" >"$WORK/servers.out" &
exec 3>"$WORK/servers.in"
for _ in $(seq 1 600); do grep -q READY "$WORK/servers.out" 2>/dev/null && break; sleep 0.2; done
grep -q READY "$WORK/servers.out" || { echo "servers did not start" >&2; exit 1; }
eval "$(grep '^FERRY_' "$WORK/servers.out")"
parse() { # URL → user password host port
  [[ "$1" =~ ^[a-z]+://([^:]+):([^@]+)@([^:/]+):([0-9]+)/ ]] || { echo "bad url $1" >&2; exit 1; }
  echo "${BASH_REMATCH[1]} ${BASH_REMATCH[2]} ${BASH_REMATCH[3]} ${BASH_REMATCH[4]}"
}
read -r PGU PGPW PGH PGP <<<"$(parse "$FERRY_PG_URL")"
read -r MYU MYPW MYH MYP <<<"$(parse "$FERRY_MYSQL_URL")"
export PGPASSWORD="$PGPW" MYSQL_PWD="$MYPW" PGTZ=UTC
pg() { psql -X -q -v ON_ERROR_STOP=1 -h "$PGH" -p "$PGP" -U "$PGU" "$@"; }
my() { mariadb --protocol=tcp -h "$MYH" -P "$MYP" -u "$MYU" --local-infile=1 "$@"; }
