#!/usr/bin/env python3
"""Chaos test of replicas, Jepsen-style (issue 13, item 7).

Three `medic serve` replicas share one PostgreSQL through PgBouncer in
transaction pooling mode: a private cluster (initdb, its own port, removed
at the end; never the shared server) and a private PgBouncer. Thirty chaos
targets probe a loopback chaos server. FAULTS faults are injected (a target
starts answering 503); each target's remedy is an HTTP call to the same
server, which records it, works for 0.2-1.5 s, then heals the target; the
next rung pages (also recorded). Meanwhile a driver `kill -9`s a random
replica every 5-15 s and starts a new one, and PostgreSQL is restarted once.

Reported:
  healed        faults after which the target answered 200 again
  duplicates    remedy calls beyond the first for one fault, or while the
                target had no fault: goal 0 (remedies are at most once)
  pages         escalations: goal 0 here, every fault is healable; pages
                are at-least-once by design, so a page is a needless page,
                never a lost one
  left open     incidents not resolved once everything settled, or ended
                escalated/failed: goal 0
  takeover      kill -9 -> every target the dead replica owned is owned by
                a live one: goal p95 <= 2 x the lease
  MTTR          fault -> healthy, for faults that saw a kill and for the rest

Usage: scripts/ha-chaos.py [--quick] [--check] [MEDIC_BINARY]
  --quick: 20 faults, 1 kill, no PostgreSQL restart (CI); else 300 faults
  --check: exit 1 unless every goal holds
  default binary: ${CARGO_TARGET_DIR:-target}/release/medic
Each replica's log is replica-N.log in the work directory (KEEP_TMP=1 keeps
it; CHAOS_MEDIC_LOG sets their MEDIC_LOG, default warn).
Needs: PostgreSQL's server binaries (initdb, pg_ctl) and pgbouncer; run as
root they run as the `postgres` user.
"""

import glob
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from medic_replica import Replica

LEASE_S = 5
TARGETS = 30
REPLICAS = 3


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def as_postgres(argv):
    """PostgreSQL and PgBouncer refuse to run as root."""
    if os.geteuid() == 0:
        return ["setpriv", "--reuid=postgres", "--regid=postgres", "--clear-groups", *argv]
    return argv


def wait_port(port, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"ha-chaos: {what} did not listen on {port} within {seconds} s")


class Database:
    """A private PostgreSQL cluster behind a private PgBouncer."""

    def __init__(self, work):
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not bins or not shutil.which("pgbouncer", path="/usr/sbin:/usr/bin"):
            sys.exit("ha-chaos: needs PostgreSQL's server binaries and pgbouncer (apt-get install pgbouncer)")
        self.bin = os.path.dirname(bins[-1])
        self.dir = os.path.join(work, "pg")
        os.makedirs(self.dir)
        if os.geteuid() == 0:
            shutil.chown(work, "postgres", "postgres")
            shutil.chown(self.dir, "postgres", "postgres")
        self.port, self.bouncer_port = free_port(), free_port()
        run = lambda argv: subprocess.run(as_postgres(argv), check=True, capture_output=True)
        run([f"{self.bin}/initdb", "-D", f"{self.dir}/data", "-U", "postgres", "--auth=trust", "-N"])
        self.start()
        run([f"{self.bin}/createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "chaos"])
        with open(f"{self.dir}/userlist.txt", "w") as out:
            out.write('"postgres" ""\n')
        with open(f"{self.dir}/pgbouncer.ini", "w") as out:
            out.write(
                f"[databases]\n* = host=127.0.0.1 port={self.port}\n[pgbouncer]\n"
                f"listen_addr = 127.0.0.1\nlisten_port = {self.bouncer_port}\nunix_socket_dir =\n"
                f"auth_type = trust\nauth_file = {self.dir}/userlist.txt\npool_mode = transaction\n"
                "max_client_conn = 500\ndefault_pool_size = 20\n"
                "ignore_startup_parameters = extra_float_digits\nserver_login_retry = 1\n"
            )
        self.bouncer = subprocess.Popen(
            as_postgres(["pgbouncer", f"{self.dir}/pgbouncer.ini"]),
            stdout=subprocess.DEVNULL,
            stderr=open(f"{self.dir}/pgbouncer.log", "w"),
        )
        wait_port(self.bouncer_port, 10, "pgbouncer")
        self.url = f"postgres://postgres@127.0.0.1:{self.bouncer_port}/chaos?pool_mode=transaction"

    def pg_ctl(self, *args):
        subprocess.run(
            as_postgres([f"{self.bin}/pg_ctl", "-D", f"{self.dir}/data", "-w", "-l", f"{self.dir}/pg.log", *args]),
            check=True,
            capture_output=True,
        )

    def start(self):
        self.pg_ctl("-o", f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=on", "start")

    def restart(self):
        self.pg_ctl("-m", "fast", "restart")

    def query(self, sql):
        out = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", "chaos", "-Atc", sql],
            check=True,
            capture_output=True,
            text=True,
        )
        return [line.split("|") for line in out.stdout.splitlines() if line]

    def stop(self):
        self.bouncer.terminate()
        self.bouncer.wait()
        try:
            self.pg_ctl("-m", "immediate", "stop")
        except subprocess.CalledProcessError:
            pass


class Chaos:
    """The chaos targets' health, their remedy, and the pager: all recorded."""

    def __init__(self):
        self.lock = threading.Lock()
        self.fault = [None] * TARGETS  # the open fault's number, per target
        self.faults = []  # [target, injected_at, healed_at]
        self.fixes = []  # (fault number or None, target, incident)
        self.pages = []
        chaos = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                target = int(urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)["t"][0])
                with chaos.lock:
                    broken = chaos.fault[target] is not None
                self.answer(503 if broken else 200)

            def do_POST(self):
                url = urllib.parse.urlparse(self.path)
                query = urllib.parse.parse_qs(url.query)
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if url.path == "/page":
                    with chaos.lock:
                        chaos.pages.append(time.monotonic())
                    return self.answer(200)
                target = int(query["t"][0])
                with chaos.lock:
                    fault = chaos.fault[target]
                    chaos.fixes.append((fault, target, query.get("incident", ["?"])[0]))
                time.sleep(random.uniform(0.2, 1.5))  # the remedy works for a while
                with chaos.lock:
                    if chaos.fault[target] is not None and chaos.fault[target] == fault:
                        chaos.faults[fault][2] = time.monotonic()
                        chaos.fault[target] = None
                self.answer(200)

            def answer(self, status):
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def inject(self, target, quiet_s):
        """A fault on `target` unless it has one, or healed under `quiet_s` ago."""
        now = time.monotonic()
        with self.lock:
            if self.fault[target] is not None or any(
                f[0] == target and f[2] is not None and now - f[2] < quiet_s for f in self.faults[-TARGETS:]
            ):
                return
            self.fault[target] = len(self.faults)
            self.faults.append([target, now, None])

    def all_healthy(self):
        with self.lock:
            return all(f is None for f in self.fault)


def start_replica(medic, config, work, started=[0]):
    started[0] += 1
    log = os.path.join(work, f"replica-{started[0]}.log")
    return Replica(medic, config, log, os.environ.get("CHAOS_MEDIC_LOG", "warn"))


def write_config(path, db_url, chaos_port):
    with open(path, "w") as out:
        out.write('[server]\nlisten = "127.0.0.1:0"\n')
        out.write(f'[storage]\nurl = "{db_url}"\n')
        out.write(f'[cluster]\nlease = "{LEASE_S}s"\n')
        out.write(
            '[policy]\ncooldown = "0s"\nmax_actions_per_hour = 100000\n'
            "max_actions_per_hour_per_target = 10000\n"
        )
        for i in range(TARGETS):
            out.write(
                f'[[targets]]\nname = "t{i}"\n'
                f'probes = [{{ kind = "http", url = "http://127.0.0.1:{chaos_port}/health?t={i}", '
                'interval = "500ms", timeout = "400ms" }]\n'
                'health = { confirm_interval = "100ms", verify_window = "5s", flap_limit = 100000 }\n'
                '[[targets.remedies]]\nname = "fix"\n'
                f'action = {{ kind = "http", url = "http://127.0.0.1:{chaos_port}/fix?t={i}&incident={{{{incident.id}}}}", '
                'timeout = "5s" }\n'
                '[[targets.remedies]]\nname = "page"\n'
                f'action = {{ kind = "escalate", webhook = "http://127.0.0.1:{chaos_port}/page" }}\n'
            )


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else float("nan")


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    quick, check = "--quick" in sys.argv, "--check" in sys.argv
    medic = os.path.abspath(
        args[0] if args else os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "release", "medic")
    )
    n_faults = 20 if quick else 300
    work = tempfile.mkdtemp(prefix="medic-chaos-")
    db = Database(work)
    chaos = Chaos()
    config = os.path.join(work, "medic.toml")
    write_config(config, db.url, chaos.port)
    replicas, takeovers, kill_times = [], [], []
    restarted_db = quick  # the quick run restarts nothing but one replica
    db_restart_at = None
    started = time.monotonic()
    try:
        replicas = [start_replica(medic, config, work) for _ in range(REPLICAS)]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            owned = [r.owns() or set() for r in replicas]
            if sum(len(o) for o in owned) == TARGETS and all(owned):
                break
            time.sleep(0.1)
        else:
            sys.exit("ha-chaos: the targets never spread over the replicas")

        # Faults arrive at about 3 a second, each on a healthy target that
        # has been quiet for 2 s; kills every 5-15 s (one in quick mode).
        next_kill = time.monotonic() + random.uniform(5, 15)
        while len(chaos.faults) < n_faults or (quick and not kill_times):
            if len(chaos.faults) < n_faults:
                chaos.inject(random.randrange(TARGETS), quiet_s=2)
            if time.monotonic() >= next_kill and not (quick and kill_times):
                victim = random.choice(replicas)
                orphaned = victim.owns() or set()
                kill_times.append(time.monotonic())
                victim.kill()
                replicas.remove(victim)
                replicas.append(start_replica(medic, config, work))
                threading.Thread(
                    target=lambda o=orphaned, at=kill_times[-1]: takeovers.append(
                        taken_over(o, at, lambda: list(replicas))
                    ),
                    daemon=True,
                ).start()
                next_kill = time.monotonic() + random.uniform(5, 15)
            if not restarted_db and len(chaos.faults) >= n_faults // 2:
                db_restart_at = time.monotonic()
                db.restart()
                restarted_db = True
            time.sleep(random.uniform(0.2, 0.45))
        # Everything settles: every fault healed, every incident ended.
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            live = db.query("SELECT count(*) FROM incidents WHERE status NOT IN ('resolved', 'escalated', 'failed')")
            if chaos.all_healthy() and live[0][0] == "0" and len(takeovers) == len(kill_times):
                break
            time.sleep(0.5)
        incidents = db.query("SELECT id, target, status FROM incidents ORDER BY id")
    finally:
        for replica in replicas:
            replica.stop()
        chaos.server.shutdown()
        db.stop()
        if os.environ.get("KEEP_TMP") != "1":
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"ha-chaos: kept {work}")

    elapsed = time.monotonic() - started
    healed = [f for f in chaos.faults if f[2] is not None]
    per_fault = {}
    for fault, _, _ in chaos.fixes:
        per_fault[fault] = per_fault.get(fault, 0) + 1
    duplicates = sum(n - 1 for f, n in per_fault.items() if f is not None) + per_fault.get(None, 0)
    left = [i for i in incidents if i[2] != "resolved"]
    kills = len(kill_times)
    saw_kill = lambda f: any(f[1] <= k <= f[2] for k in kill_times)
    mttr_kill = [(f[2] - f[1]) * 1000 for f in healed if saw_kill(f)]
    mttr_calm = [(f[2] - f[1]) * 1000 for f in healed if not saw_kill(f)]
    valid_takeovers = [t for t in takeovers if t is not None]
    print(
        f"{REPLICAS} replicas through PgBouncer (transaction pooling), {TARGETS} targets, lease {LEASE_S} s, "
        f"{len(chaos.faults)} faults, {kills} kill -9, PostgreSQL restarted {0 if quick else 1}x, {elapsed:.0f} s"
    )
    print("| healed | duplicate remedies | pages | incidents | left open or ended wrongly | takeover p50 / p95 / max |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    print(
        f"| {len(healed)} / {len(chaos.faults)} | {duplicates} | {len(chaos.pages)} | {len(incidents)} | {len(left)} "
        f"| {statistics.median(valid_takeovers) if valid_takeovers else float('nan'):.2f} / "
        f"{percentile(valid_takeovers, 0.95):.2f} / {max(valid_takeovers, default=float('nan')):.2f} s |"
    )
    def mttr(values):
        if not values:
            return "none"
        return f"p50 {percentile(values, 0.5):.0f} ms, p95 {percentile(values, 0.95):.0f} ms ({len(values)})"

    print(f"MTTR (fault -> healthy): calm {mttr(mttr_calm)}; across a kill {mttr(mttr_kill)}")
    print("takeovers: " + ", ".join(f"{t:.2f} s" if t is not None else "never" for t in takeovers)
          + (f"; PostgreSQL restarted {db_restart_at - started:.0f} s in" if db_restart_at else "")
          + "; kills at " + ", ".join(f"{k - started:.0f}" for k in kill_times) + " s")
    if duplicates:
        calls = {}
        for fault, target, incident in chaos.fixes:
            calls.setdefault((fault, target), []).append(incident)
        twice = [(f, t, i) for (f, t), i in calls.items() if f is None or len(i) > 1]
        print("remedy calls beyond one per fault (fault, target, incidents): " + ", ".join(map(str, twice[:10])))
    if left:
        print("left open or ended wrongly: " + ", ".join(f"#{i[0]} {i[1]} {i[2]}" for i in left[:10]))
    missed = []
    if len(healed) != len(chaos.faults):
        missed.append(f"{len(chaos.faults) - len(healed)} faults not healed")
    if duplicates:
        missed.append(f"{duplicates} duplicate remedies")
    if chaos.pages:
        missed.append(f"{len(chaos.pages)} needless pages")
    if left:
        missed.append(f"{len(left)} incidents left open or ended wrongly")
    if len(valid_takeovers) != kills:
        missed.append(f"{kills - len(valid_takeovers)} takeovers never completed")
    elif valid_takeovers and percentile(valid_takeovers, 0.95) > 2 * LEASE_S:
        missed.append(f"takeover p95 above {2 * LEASE_S} s")
    print("goals: every fault healed, 0 duplicates, 0 pages, 0 left open, takeover p95 <= 2 x lease: "
          + ("met" if not missed else "MISSED (" + "; ".join(missed) + ")"))
    if check and missed:
        sys.exit(1)


def taken_over(orphaned, killed_at, live):
    """Seconds from the kill until a live replica owns each orphaned target
    (`live()`: the replicas running now, as later kills change them)."""
    while time.monotonic() < killed_at + 60:
        owned = set()
        for replica in live():
            owned |= replica.owns() or set()
        if orphaned <= owned:
            return time.monotonic() - killed_at
        time.sleep(0.1)
    return None


if __name__ == "__main__":
    main()
