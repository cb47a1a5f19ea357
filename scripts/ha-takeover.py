#!/usr/bin/env python3
"""Takeover time: how long a dead replica's targets go unowned (issue 13).

Starts REPLICAS `medic serve` on one PostgreSQL schema (a private one,
dropped at the end) with TARGETS HTTP targets probing a loopback server,
waits until every target has exactly one owner (by each replica's
`GET /api/v1/health`: `replica.owns`), then KILLS times: `kill -9` of a
random replica, and the time until every target it owned is owned by a
survivor; a replacement replica is started and the targets rebalance.
At every poll no target may be owned by two replicas at once.

Usage: scripts/ha-takeover.py [--quick] [--check] [--lease=SECONDS] [MEDIC_BINARY]
  default binary: ${CARGO_TARGET_DIR:-target}/release/medic
  --quick: 2 replicas, 10 targets, 1 kill (CI); else 3, 30, 5
  --check: exit 1 unless takeover p95 <= 2 x the lease and no target was
           ever owned twice
  --lease: the [cluster] lease (default 2)
Environment: MEDIC_TEST_POSTGRES_URL (default the local server's `test`).
"""

import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from medic_replica import Replica, psql, settle, time_takeover, write_http_targets_config

LEASE_S = next((float(a.split("=", 1)[1]) for a in sys.argv if a.startswith("--lease=")), 2.0)


class Healthy(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass



def get_json(address, path):
    with urllib.request.urlopen(f"http://{address}{path}", timeout=2) as answer:
        return json.load(answer)



def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    quick, check = "--quick" in sys.argv, "--check" in sys.argv
    medic = args[0] if args else os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "release", "medic")
    n_replicas, n_targets, kills = (2, 10, 1) if quick else (3, 30, 5)
    base = os.environ.get("MEDIC_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
    schema = f"medic_ha_{os.getpid()}"
    if not psql(base, f"CREATE SCHEMA {schema}"):
        sys.exit(f"ha-takeover: PostgreSQL unreachable at {base} (set MEDIC_TEST_POSTGRES_URL)")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Healthy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    work = tempfile.mkdtemp(prefix="medic-ha-")
    config = os.path.join(work, "medic.toml")
    store = f"{base}?options=-c%20search_path%3D{schema}"
    targets = write_http_targets_config(config, store, LEASE_S, n_targets, port)
    replicas = []
    twice = set()
    takeovers = []

    try:
        replicas = [Replica(medic, config, os.path.join(work, f"replica-{time.monotonic_ns()}.log"), "error") for _ in range(n_replicas)]
        if not settle(replicas, targets, 30, twice):
            sys.exit("ha-takeover: the targets never spread, one owner each, over the replicas")
        for _ in range(kills):
            victim = random.choice(replicas)
            orphaned = victim.owns() or set()
            if not orphaned:
                sys.exit("ha-takeover: the chosen replica owned nothing to take over")
            started = time.monotonic()
            victim.kill()
            replicas.remove(victim)
            taken = time_takeover(replicas, orphaned, started, twice)
            if taken is None:
                sys.exit(f"ha-takeover: {len(orphaned)} targets were never taken over")
            takeovers.append(taken)
            replicas.append(Replica(medic, config, os.path.join(work, f"replica-{time.monotonic_ns()}.log"), "error"))
            if not settle(replicas, targets, 30, twice):
                sys.exit("ha-takeover: the targets never rebalanced after a replica joined")
    finally:
        for replica in replicas:
            replica.stop()
        server.shutdown()
        psql(base, f"DROP SCHEMA {schema} CASCADE")
        shutil.rmtree(work, ignore_errors=True)

    ordered = sorted(takeovers)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    print(f"{n_replicas} replicas, {n_targets} targets, lease {LEASE_S:g} s, {kills} kill -9")
    print("| takeover after kill -9 | p50 | p95 | max | targets owned twice |")
    print("| --- | ---: | ---: | ---: | ---: |")
    print(
        f"| {len(takeovers)} kills | {statistics.median(takeovers):.2f} s | {p95:.2f} s "
        f"| {max(takeovers):.2f} s | {len(twice)} |"
    )
    print("each: " + ", ".join(f"{t:.2f} s" for t in takeovers))
    print(f"goal: p95 <= {2 * LEASE_S:g} s (2 x the lease), nothing owned twice")
    if check and (p95 > 2 * LEASE_S or twice):
        print("ha-takeover: goal missed", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
