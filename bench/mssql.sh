#!/usr/bin/env bash
# SQL Server benchmark (not a timed test), for a machine that has a SQL
# Server: PostgreSQL → SQL Server and SQL Server → PostgreSQL on bench/run.sh's
# 1M-row mixed table, ferry against the native pipe built from SQL Server's
# own bulk tool:
#   SQL Server → PG: bcp queryout (character mode) | psql \copy from stdin
#   PG → SQL Server: psql \copy to stdout | bcp in (character mode)
# with a small converter between the two text formats (bcp writes NULL as an
# empty field and '' as a NUL byte; PostgreSQL's text COPY escapes \, tab,
# newline, CR; bytea travels as hex). Every result is checked by row count
# and a fingerprint over every column, as bench/run.sh does.
#
# Needs: FERRY_BENCH_MSSQL_URL (or FERRY_TEST_MSSQL_URL), an account that may
# create databases; `bcp` and `sqlcmd` (mssql-tools18) on the PATH; python3.
# PostgreSQL is the test kit's throwaway server (bench/servers.sh).
#
#   FERRY_BENCH_MSSQL_URL='mssql://sa:pw@host:1433/master?trustServerCertificate=true' \
#     bash bench/mssql.sh [--rows N] [--workers N]
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS=1000000
WORKERS=""
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) ROWS="$2"; shift 2 ;;
    --workers) WORKERS="--workers $2"; shift 2 ;;
    *) echo "usage: bench/mssql.sh [--rows N] [--workers N]" >&2; exit 2 ;;
  esac
done
MSURL=${FERRY_BENCH_MSSQL_URL:-${FERRY_TEST_MSSQL_URL:-}}
[ -n "$MSURL" ] || { echo "set FERRY_BENCH_MSSQL_URL to a SQL Server (see the header)" >&2; exit 2; }
for tool in bcp sqlcmd python3; do
  command -v "$tool" >/dev/null || { echo "$tool is needed on the PATH (mssql-tools18 for bcp/sqlcmd)" >&2; exit 2; }
done
[[ "$MSURL" =~ ^[a-z]+://([^:]+):([^@]+)@([^:/?]+)(:([0-9]+))?/ ]] || { echo "bad SQL Server URL" >&2; exit 2; }
MSU=${BASH_REMATCH[1]}; MSPW=${BASH_REMATCH[2]}; MSH=${BASH_REMATCH[3]}; MSP=${BASH_REMATCH[5]:-1433}
MSOPT=${MSURL#*\?}; [ "$MSOPT" = "$MSURL" ] && MSOPT=""
export SQLCMDPASSWORD="$MSPW"
ms() { sqlcmd -S "$MSH,$MSP" -U "$MSU" -C -b -h -1 -W -s '|' "$@"; }
msurl() { echo "mssql://$MSU:$MSPW@$MSH:$MSP/$1${MSOPT:+?$MSOPT}"; }

command -v /usr/bin/time >/dev/null || { apt-get install -y -qq time >/dev/null; }
source bench/servers.sh ferry-bench-mssql
pgurl() { echo "postgres://$PGU:$PGPW@$PGH:$PGP/$1"; }

echo "generating $ROWS rows…" >&2
for db in src dst_mp native_mp; do
  pg -d postgres -c "CREATE DATABASE $db TEMPLATE template0 ENCODING 'UTF8'"
done
for db in ferry_bench_src ferry_bench_pm ferry_bench_native_pm; do
  ms -Q "IF DB_ID('$db') IS NOT NULL DROP DATABASE [$db]; CREATE DATABASE [$db]; ALTER DATABASE [$db] SET ALLOW_SNAPSHOT_ISOLATION ON"
done
DDL_PG="id bigint PRIMARY KEY, n integer, name varchar(64), small smallint, amount numeric(12,2),
  note text, flag boolean, at_tz timestamptz, at timestamp, day date, doc text, uid uuid, data bytea"
DDL_MS="id bigint NOT NULL PRIMARY KEY, n int, name nvarchar(64), small smallint, amount decimal(12,2),
  note nvarchar(max), flag bit, at_tz datetimeoffset(7), at datetime2(6), day date, doc nvarchar(max),
  uid uniqueidentifier, data varbinary(max)"
pg -d src <<SQL
CREATE TABLE bench ($DDL_PG);
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
       jsonb_build_object('k', g, 's', 'v' || (g % 100))::text,
       md5(g::text)::uuid,
       decode(md5(g::text), 'hex') || '\x000a0d5c09ff'::bytea
FROM generate_series(1::bigint, $ROWS) g;
VACUUM ANALYZE bench;
SQL
HEAP_MB=$(pg -d src -At -c "SELECT round(pg_relation_size('bench') / 1048576.0, 1)")
# SQL Server's copy of the source, loaded by ferry (not timed).
"$FERRY" copy --source "$(pgurl src)" --target "$(msurl ferry_bench_src)" --quiet \
  --target-schema dbo --if-exists truncate
pg -d dst_mp -c "CREATE TABLE bench ($DDL_PG)"
pg -d native_mp -c "CREATE TABLE bench ($DDL_PG)"
ms -d ferry_bench_native_pm -Q "CREATE TABLE dbo.bench ($DDL_MS)"

pg_fp() { pg -d "$1" -At -c "SELECT count(*), sum(id), sum(n), sum(small), sum(amount),
    sum(char_length(name)), sum(coalesce(char_length(note), -1)), sum(flag::int),
    sum((extract(epoch FROM at_tz) * 1000000)::numeric(38,0)),
    sum((extract(epoch FROM at) * 1000000)::numeric(38,0)), sum(day - date '2000-01-01'),
    sum(char_length(doc)), sum(ascii(uid::text)), sum(length(data)), sum(get_byte(data, 17)) FROM bench"; }
ms_fp() { ms -d "$1" -Q "SET NOCOUNT ON; SELECT COUNT_BIG(*), SUM(id), SUM(CAST(n AS bigint)), SUM(CAST(small AS bigint)), SUM(amount),
    SUM(CAST(LEN(name + N'x') - 1 AS bigint)), SUM(CAST(COALESCE(LEN(note + N'x') - 1, -1) AS bigint)), SUM(CAST(flag AS int)),
    SUM(CAST(DATEDIFF_BIG(microsecond, '1970-01-01', SWITCHOFFSET(at_tz, '+00:00')) AS decimal(38,0))),
    SUM(CAST(DATEDIFF_BIG(microsecond, '1970-01-01', at) AS decimal(38,0))), SUM(CAST(DATEDIFF(day, '2000-01-01', day) AS bigint)),
    SUM(CAST(LEN(doc) AS bigint)), SUM(CAST(ASCII(LOWER(CONVERT(char(36), uid))) AS bigint)),
    SUM(CAST(DATALENGTH(data) AS bigint)), SUM(CAST(CAST(SUBSTRING(data, 18, 1) AS tinyint) AS bigint)) FROM dbo.bench" | tail -1; }
SRC_FP=$(pg_fp src)
# Numbers print differently (decimal places, separators): compare as numbers.
same() { python3 -c "import sys; a=[float(x or 0) for x in sys.argv[1].split('|')]; b=[float(x or 0) for x in sys.argv[2].split('|')]; sys.exit(0 if a==b else 1)" "$1" "$2"; }

# bcp character mode ⇄ PostgreSQL text COPY (fields 0x1f, rows 0x1e).
cat >"$WORK/bcp2pg.py" <<'PY'
import sys
BYTEA = {12}
data = sys.stdin.buffer.read().decode('utf-8')
out = sys.stdout
for row in data.split('\x1e'):
    if not row:
        continue
    fields = row.split('\x1f')
    cells = []
    for i, f in enumerate(fields):
        if f == '':
            cells.append('\\N')
        elif f == '\x00':
            cells.append('')
        elif i in BYTEA:
            cells.append('\\\\x' + f)
        else:
            cells.append(f.replace('\\', '\\\\').replace('\t', '\\t').replace('\n', '\\n').replace('\r', '\\r'))
    out.write('\t'.join(cells) + '\n')
PY
cat >"$WORK/pg2bcp.py" <<'PY'
import sys
def unescape(s):
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == '\\' and i + 1 < len(s):
            n = s[i + 1]
            out.append({'t': '\t', 'n': '\n', 'r': '\r', '\\': '\\'}.get(n, n)); i += 2
        else:
            out.append(c); i += 1
    return ''.join(out)
for line in sys.stdin.buffer.read().decode('utf-8').split('\n'):
    if not line:
        continue
    cells = []
    for i, f in enumerate(line.split('\t')):
        if f == '\\N':
            cells.append('')
        elif f == '':
            cells.append('\x00')
        elif i == 12:
            cells.append(unescape(f)[2:])  # bytea hex without \x
        elif i == 6:
            cells.append('1' if f == 't' else '0')
        else:
            cells.append(unescape(f))
    sys.stdout.write('\x1f'.join(cells) + '\x1e')
PY

RESULTS="$WORK/results"; : >"$RESULTS"
timed() { # name pair check-cmd -- command…
  local name="$1" pair="$2" check="$3"; shift 4
  echo "running $name ($pair)…" >&2
  if ! /usr/bin/time -f "%e %M" -o "$WORK/time" bash -c "$*" >"$WORK/out" 2>"$WORK/err"; then
    echo "$pair|$name|failed|||" >>"$RESULTS"; echo "  $name failed: $(tail -8 "$WORK/err")" >&2; return 0
  fi
  read -r secs kb <"$WORK/time"
  local fp; fp=$(eval "$check" 2>/dev/null || true)
  local ok=DIFFERS; same "$fp" "$SRC_FP" && ok=ok
  echo "$pair|$name|$secs|$kb|$ok" >>"$RESULTS"
}
BCPAUTH="-S $MSH,$MSP -U $MSU -P $MSPW -u"
timed ferry "SQL Server→PG" "pg_fp dst_mp" -- \
  "$FERRY" copy --source "'$(msurl ferry_bench_src)'" --target "'$(pgurl dst_mp)'" --schema dbo \
  --target-schema public --if-exists truncate --quiet $WORKERS
timed "bcp out | psql COPY" "SQL Server→PG" "pg_fp native_mp" -- \
  "bcp \"SELECT id, n, name, small, amount, note, flag, CONVERT(nvarchar(40), at_tz, 127), at, day, doc, LOWER(CONVERT(char(36), uid)), data FROM ferry_bench_src.dbo.bench\" queryout /dev/stdout -c -C 65001 -t 0x1f -r 0x1e $BCPAUTH | python3 $WORK/bcp2pg.py | psql -X -q -h $PGH -p $PGP -U $PGU -d native_mp -c '\\copy bench FROM stdin'"
timed ferry "PG→SQL Server" "ms_fp ferry_bench_pm" -- \
  "$FERRY" copy --source "'$(pgurl src)'" --target "'$(msurl ferry_bench_pm)'" --target-schema dbo \
  --if-exists truncate --quiet $WORKERS
timed "psql COPY | bcp in" "PG→SQL Server" "ms_fp ferry_bench_native_pm" -- \
  "psql -X -q -h $PGH -p $PGP -U $PGU -d src -c '\\copy bench TO stdout' | python3 $WORK/pg2bcp.py >$WORK/pm.dat && bcp ferry_bench_native_pm.dbo.bench in $WORK/pm.dat -c -C 65001 -t 0x1f -r 0x1e -b 100000 $BCPAUTH"

echo
echo "$ROWS rows, $HEAP_MB MB of PostgreSQL heap"
echo "| pair | tool | seconds | rows/s | MB/s | vs native | peak RSS | content |"
echo "|---|---|---:|---:|---:|---:|---:|---|"
python3 - "$RESULTS" "$ROWS" "$HEAP_MB" <<'PY'
import sys
rows, heap = int(sys.argv[2]), float(sys.argv[3])
res = [l.rstrip('\n').split('|') for l in open(sys.argv[1]) if l.strip()]
native = {p: float(s) for p, n, s, *_ in res if n != 'ferry' and s != 'failed'}
for pair, name, secs, *rest in res:
    if secs == 'failed':
        print(f"| {pair} | {name} | failed | | | | | |"); continue
    s, kb, ok = float(secs), int(rest[0]), rest[1]
    ratio = native[pair] / s if pair in native else float('nan')
    print(f"| {pair} | {name} | {s:.1f} | {rows / s:,.0f} | {heap / s:.1f} | {ratio:.2f}× | {kb // 1024} MB | {ok} |")
PY
