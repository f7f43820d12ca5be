#!/usr/bin/env bash
# The main job end to end on this machine: starts throwaway PostgreSQL and
# MariaDB servers, loads sample data, copies PostgreSQL → MariaDB → PostgreSQL
# with ferry, checks the round trip, and prints the summaries.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-servers.sh
cargo build --release --quiet -p ferry -p ferry-testkit --bins
exec target/release/ferry-demo "$@"
