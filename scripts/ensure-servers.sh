#!/usr/bin/env bash
# Installs PostgreSQL, MariaDB and the sqlite3 CLI from the distribution
# when their binaries are missing. ferry's tests and demo start their own throwaway servers from
# these binaries; nothing here starts or configures a system service.
set -euo pipefail

have_pg() {
  ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 && return 0
  command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/postgres" ]
}
have_mariadb() {
  { [ -x /usr/sbin/mariadbd ] || [ -x /usr/sbin/mysqld ]; } && command -v mariadb-install-db >/dev/null 2>&1
}
# PostGIS for the spatial fidelity tests, for the installed major version.
pg_major() {
  ls -d /usr/lib/postgresql/*/bin/postgres 2>/dev/null | sed -E 's|/usr/lib/postgresql/([0-9]+)/.*|\1|' | sort -n | tail -1
}
need=()
have_pg || need+=(postgresql)
have_mariadb || need+=(mariadb-server mariadb-client)
# The SQLite tests make and read files with the sqlite3 CLI too, so that a
# check never goes through ferry's own reader (ferry itself bundles SQLite).
command -v sqlite3 >/dev/null 2>&1 || need+=(sqlite3)

if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}" >&2
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
v=$(pg_major)
if [ -n "$v" ] && [ ! -f "/usr/share/postgresql/$v/extension/postgis.control" ]; then
  echo "installing: postgresql-$v-postgis-3" >&2
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "postgresql-$v-postgis-3" >/dev/null
fi

# PgBouncer for the cutover's PostgreSQL → PostgreSQL switch test
# (tests/cutover_pgbouncer.rs starts its own instance on a free port).
if ! command -v pgbouncer >/dev/null 2>&1 && [ ! -x /usr/sbin/pgbouncer ]; then
  echo "installing: pgbouncer" >&2
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq pgbouncer >/dev/null
fi

# Headless Chromium opens the HTML reports in tests/report.rs.
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  echo "installing: chromium" >&2
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq chromium >/dev/null
fi

# The schema corpus (tests/corpus.rs) lets Django migrate its contrib apps
# onto both servers; Django and the two database drivers come from PyPI.
# Installed only when one of them does not import. Distribution Pythons that
# refuse installs into the system (PEP 668) get --break-system-packages: the
# packages are test tools on a throwaway CI machine.
have_django() {
  python3 -c 'import django, psycopg, pymysql' >/dev/null 2>&1
}
if ! have_django; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  if ! python3 -m pip --version >/dev/null 2>&1; then
    echo "installing: python3 python3-pip" >&2
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq python3 python3-pip >/dev/null
  fi
  echo "installing from PyPI: django psycopg pymysql" >&2
  pip=(python3 -m pip install -q 'django==5.2.*' 'psycopg[binary]' pymysql)
  "${pip[@]}" 2>/dev/null || "${pip[@]}" --break-system-packages
fi

# GNU time: tests/scale.rs reads a ferry process's peak RSS from
# `/usr/bin/time -f %M` (the kernel's own accounting), and the benchmark
# prints it.
if [ ! -x /usr/bin/time ]; then
  echo "installing: time" >&2
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq time >/dev/null
fi
