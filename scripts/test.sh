#!/usr/bin/env bash
# The whole test suite: unit tests, live adapter tests and the end-to-end
# tests of the binary, against throwaway PostgreSQL and MariaDB servers that
# the test kit starts itself (or FERRY_TEST_PG_URL / FERRY_TEST_MYSQL_URL).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${FERRY_TEST_PG_URL:-}" ] && [ -n "${FERRY_TEST_MYSQL_URL:-}" ] || bash scripts/ensure-servers.sh
cargo test --workspace --all-targets "$@"
