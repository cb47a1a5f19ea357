#!/usr/bin/env bash
# Load test of the HTTP API with wrk, against a real `medic serve` on loopback:
#   GET  /health             a no-op handler of the same server: the ceiling
#   GET  /api/v1/incidents   a page of 50 incidents (500 seeded in SQLite),
#                            as clients poll it (page cache) and with every
#                            request a miss (SQLite read each time)
#   POST /api/v1/events      an application event, authenticated by key
# Prints a Markdown table (requests/s, p50, p99, errors, ratio to the ceiling).
# Usage: scripts/load.sh [seconds per run, default 10] [--check]
# With --check it exits 1 unless GET /api/v1/incidents (cached) reaches
# 0.5 x the no-op ceiling with no errors (issue 4's goal).
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
check="${2:-}"
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null
cargo build --release --locked -q -p medic

dir="$(mktemp -d)"
key="load-test-key-0123456789abcdef"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
cat > "$dir/medic.toml" <<TOML
[server]
listen = "127.0.0.1:$port"
rate_limit = 0

[storage]
url = "sqlite://$dir/medic.db"

[auth]
keys = [{ name = "load", key_env = "MEDIC_LOAD_KEY", scopes = ["read", "write", "admin"] }]
TOML
export MEDIC_LOAD_KEY="$key" MEDIC_LOG=warn

serve() {
  "${CARGO_TARGET_DIR:-target}/release/medic" serve --config "$dir/medic.toml" >"$dir/serve.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null && return 0
    sleep 0.1
  done
  cat "$dir/serve.log" >&2
  echo "load: medic serve did not come up" >&2
  exit 1
}
stop() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
trap 'stop; rm -rf "$dir"' EXIT

# First start creates the schema; then 500 resolved incidents are seeded.
serve
stop
python3 - "$dir/medic.db" <<'PY'
import json, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
now = int(time.time() * 1e6)
diagnosis = json.dumps({"category": "network", "severity": "high",
    "root_cause": "connection refused by 127.0.0.1:5432", "evidence": ["ERROR db: connection refused"],
    "confidence": 0.9, "sources": ["rules"], "rule": "connection-refused"})
rows = [(f"svc-{i % 20}", f"network:refused:{i}", "resolved", f"svc-{i % 20}: connection refused",
         "network", "high", diagnosis, now - i * 1_000_000, now - i * 1_000_000 + 500_000,
         now - i * 1_000_000 + 500_000, 500) for i in range(500)]
db.executemany("INSERT INTO incidents (target, fingerprint, status, title, category, severity, diagnosis,"
               " opened_at, updated_at, closed_at, time_to_recover_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
db.commit()
PY
serve

cat > "$dir/miss.lua" <<'LUA'
-- A different cursor each time: every request misses the page cache and reads SQLite.
request = function()
  return wrk.format(nil, "/api/v1/incidents?cursor=" .. math.random(1000, 1000000000))
end
LUA
cat > "$dir/event.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"component":"checkout","operation":"charge","outcome":"error","error":"card service 503","latency_ms":12.5}'
wrk.headers["Content-Type"] = "application/json"
LUA

run() { # name, path, extra wrk args...
  local name="$1" path="$2"
  shift 2
  local out
  out="$(wrk -t1 -c16 -d"${duration}s" --latency -H "X-API-Key: $key" "$@" "http://127.0.0.1:$port$path")"
  local rps p50 p99 errors
  rps="$(awk '/^Requests\/sec/ {print $2}' <<<"$out")"
  p50="$(awk '$1 == "50%" {print $2}' <<<"$out")"
  p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
  errors="$(awk '/Non-2xx/ {n += $NF} /Socket errors/ {n += $4 + $6 + $8 + $10} END {print n + 0}' <<<"$out")"
  echo "$name|$rps|$p50|$p99|$errors"
}

ceiling="$(run "GET /health (no-op ceiling)" /health)"
incidents="$(run "GET /api/v1/incidents (50 of 500)" /api/v1/incidents)"
misses="$(run "GET /api/v1/incidents, every request a cache miss" /api/v1/incidents -s "$dir/miss.lua")"
events="$(run "POST /api/v1/events" /api/v1/events -s "$dir/event.lua")"
base="$(cut -d'|' -f2 <<<"$ceiling")"
echo
echo "| endpoint | requests/s | p50 | p99 | errors | ratio to ceiling |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
for row in "$ceiling" "$incidents" "$misses" "$events"; do
  IFS='|' read -r name rps p50 p99 errors <<<"$row"
  ratio="$(python3 -c "print(f'{$rps / $base:.2f}')")"
  echo "| $name | $rps | $p50 | $p99 | $errors | $ratio |"
done
if [ "$check" = "--check" ]; then
  IFS='|' read -r _ rps _ _ errors <<<"$incidents"
  python3 -c "import sys; sys.exit(0 if $rps >= 0.5 * $base and $errors == 0 else 1)" \
    || { echo "load: GET /api/v1/incidents below 0.5 x the ceiling, or errors" >&2; exit 1; }
  echo "load: goal met"
fi
