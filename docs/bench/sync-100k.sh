#!/usr/bin/env bash
# The sync figures of the README: a first `nexudus sync` of 100,000
# CoworkerTimePasses from `nexudus serve` into SQLite and into PostgreSQL,
# then 1% of them changed (1,000 updates) and the incremental sync into
# each, in one run. Needs a release build (`cargo build --release`) and
# PostgreSQL's initdb (Debian's postgresql); it starts a throwaway cluster
# on a free port (as nobody under root) and stops everything at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=$PWD/target/release/nexudus
WORK=$(mktemp -d)
BIN=$(dirname "$(command -v initdb || ls /usr/lib/postgresql/*/bin/initdb | tail -1)")
as_owner() { if [ "$(id -u)" = 0 ]; then setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown 65534:65534 "$WORK"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
echo secret > "$WORK/pw"; [ "$(id -u)" = 0 ] && chown 65534 "$WORK/pw"
as_owner "$BIN/initdb" -D "$WORK/data" -U postgres --auth-host=scram-sha-256 --auth-local=trust \
    --pwfile="$WORK/pw" --no-sync >/dev/null
as_owner "$BIN/pg_ctl" -D "$WORK/data" -l "$WORK/log" -w \
    -o "-p $PORT -k $WORK -c listen_addresses=127.0.0.1" start >/dev/null
"$B" serve --coworker-time-passes 100000 > "$WORK/serve" 2>/dev/null & SERVE=$!
stop() {
    kill $SERVE 2>/dev/null || true
    as_owner "$BIN/pg_ctl" -D "$WORK/data" -m immediate stop >/dev/null || true
    rm -rf "$WORK"
}
trap stop EXIT
for _ in $(seq 100); do [ -s "$WORK/serve" ] && break; sleep 0.1; done
export NEXUDUS_BASE_URL=$(awk '{print $3}' "$WORK/serve")
export NEXUDUS_EMAIL=admin@example.com NEXUDUS_PASSWORD=stand-in-password PGPASSWORD=secret
SQLITE="sqlite:$WORK/passes.db"
PG="postgres://postgres@127.0.0.1:$PORT/postgres"
timed() { local s; s=$(date +%s.%N); "$@"; printf '  %.2f s\n' "$(echo "$(date +%s.%N) - $s" | bc)"; }
sync() { "$B" sync --into "$1" --reads-per-minute 0 coworkertimepasses; }
echo "first sync into SQLite:"; timed sync "$SQLITE"
echo "first sync into PostgreSQL:"; timed sync "$PG"
"$B" coworkertimepasses list --all -o jsonl --reads-per-minute 0 -q \
    | python3 -c 'import sys, json; [print(json.loads(l)["Id"]) for i, l in enumerate(sys.stdin) if i % 100 == 0]' \
    > "$WORK/ids"
TOKEN=$(curl -s -X POST -d grant_type=password -d username="$NEXUDUS_EMAIL" \
    -d password="$NEXUDUS_PASSWORD" "$NEXUDUS_BASE_URL/api/token" \
    | python3 -c 'import sys, json; print(json.load(sys.stdin)["access_token"])')
while read -r id; do
    NEXUDUS_TOKEN=$TOKEN "$B" coworkertimepasses update "$id" --set Notes=changed -q >/dev/null
done < "$WORK/ids"
echo "changed $(wc -l < "$WORK/ids") records"
echo "incremental sync into SQLite:"; timed sync "$SQLITE"
echo "incremental sync into PostgreSQL:"; timed sync "$PG"
