#!/usr/bin/env bash
# The main job end to end on this machine: starts throwaway PostgreSQL and
# MariaDB servers, loads sample data, copies PostgreSQL → MariaDB → PostgreSQL
# with ferry, checks the round trip, copies the shop into a SQLite file,
# and prints the summaries. `bash scripts/demo.sh --sqlite` needs no server.
set -euo pipefail
cd "$(dirname "$0")/.."
# `--sqlite`: no server at all, a SQLite file into another.
case " $* " in
  *" --sqlite "*) ;;
  *) bash scripts/ensure-servers.sh ;;
esac
cargo build --release --quiet -p ferry -p ferry-testkit --bins
exec target/release/ferry-demo "$@"
