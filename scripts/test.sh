#!/usr/bin/env bash
# The whole test suite: unit tests, live adapter tests and the end-to-end
# tests of the binary, against throwaway PostgreSQL and MariaDB servers that
# the test kit starts itself (or FERRY_TEST_PG_URL / FERRY_TEST_MYSQL_URL),
# and SQLite files. SQL Server cannot run on the machines ferry is built
# on: its live tests run when FERRY_TEST_MSSQL_URL names a server, and are
# counted as skipped otherwise (the last line says how many and why).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${FERRY_TEST_PG_URL:-}" ] && [ -n "${FERRY_TEST_MYSQL_URL:-}" ] || bash scripts/ensure-servers.sh
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace --all-targets "$@" 2>&1 | tee "$log" || status=$?
# Totals over every test binary, from cargo's own "test result" lines.
awk '/^test result:/ { p += $4; f += $6; i += $8 }
     END { printf "all test binaries: %d passed, %d failed, %d skipped (ignored)\n", p, f, i }' "$log"
if [ -z "${FERRY_TEST_MSSQL_URL:-}" ]; then
  echo "skipped: SQL Server live tests (set FERRY_TEST_MSSQL_URL=mssql://user:pw@host:1433/db to run them)"
fi
exit "$status"
