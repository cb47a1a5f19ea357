"""One `medic serve` replica for the replica scripts (ha-takeover.py,
ha-chaos.py): started on a config whose `[server] listen` is port 0, its
address read from the first line it prints, its log written to a file."""

import json
import os
import shutil
import signal
import subprocess
import threading
import urllib.request


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
