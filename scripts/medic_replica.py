"""One `medic serve` replica for the replica scripts (ha-takeover.py,
ha-chaos.py, ha-scale.py): started on a config whose `[server] listen` is
port 0, its address read from the first line it prints, its log written to
a file. Also what those scripts share: psql, the replicas' config, and who
owns what."""

import json
import os
import shutil
import signal
import subprocess
import threading
import time
import urllib.request


def psql(base, sql):
    """Runs `sql` on `base`; whether it worked."""
    return subprocess.run(["psql", base, "-qc", sql], capture_output=True).returncode == 0


def write_http_targets_config(path, store, lease_s, n_targets, port):
    """A replica config: loopback API, `store`, the lease, and `n_targets`
    targets `t0`… each probing http://127.0.0.1:PORT/health every second."""
    with open(path, "w") as out:
        out.write('[server]\nlisten = "127.0.0.1:0"\n')
        out.write(f'[storage]\nurl = "{store}"\n')
        out.write(f'[cluster]\nlease = "{int(lease_s * 1000)}ms"\n')
        for i in range(n_targets):
            out.write(
                f'[[targets]]\nname = "t{i}"\n'
                f'probes = [{{ kind = "http", url = "http://127.0.0.1:{port}/health?t={i}", interval = "1s" }}]\n'
            )
    return {f"t{i}" for i in range(n_targets)}


def ownership(replicas):
    """Each target's owners, by the replicas that answer."""
    owners = {}
    for replica in replicas:
        for target in replica.owns() or ():
            owners.setdefault(target, []).append(replica)
    return owners


def settle(replicas, targets, limit_s, twice, pause_s=0.05):
    """Waits up to `limit_s` until every one of `targets` has one owner and
    every replica a share; whether it happened. A target seen with two
    owners meanwhile is added to the set `twice`."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        owners = ownership(replicas)
        twice.update(t for t, o in owners.items() if len(o) > 1)
        spread = {id(r) for o in owners.values() for r in o}
        one_each = set(owners) == targets and all(len(o) == 1 for o in owners.values())
        if one_each and len(spread) == len(replicas):
            return True
        time.sleep(pause_s)
    return False


def time_takeover(replicas, wanted, started, twice, limit_s=30, pause_s=0.05):
    """Seconds from `started` until the live `replicas` own every one of
    `wanted`, or None after `limit_s`; targets owned twice go into `twice`."""
    while time.monotonic() < started + limit_s:
        owners = ownership(replicas)
        twice.update(t for t, o in owners.items() if len(o) > 1)
        if wanted <= set(owners):
            return time.monotonic() - started
        time.sleep(pause_s)
    return None


class Replica:
    def __init__(self, medic, config, log_path, level="warn"):
        log = open(log_path, "w")
        self.process = subprocess.Popen(
            [medic, "serve", "--config", config],
            stdout=subprocess.PIPE,
            stderr=log,
            env={**os.environ, "MEDIC_LOG": level},
        )
        line = self.process.stdout.readline().decode()
        self.address = line.strip().rsplit("http://", 1)[-1]
        # The rest goes to the log: a full pipe would stall the replica.
        threading.Thread(target=lambda: shutil.copyfileobj(self.process.stdout, log.buffer), daemon=True).start()

    def owns(self):
        """The targets it owns now (`GET /api/v1/health`), or None if it does not answer."""
        try:
            with urllib.request.urlopen(f"http://{self.address}/api/v1/health", timeout=2) as answer:
                return set(json.load(answer)["replica"]["owns"])
        except (OSError, ValueError, KeyError):
            return None

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
