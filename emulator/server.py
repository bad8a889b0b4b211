"""A local AWS (moto) on 127.0.0.1, started and stopped by whoever needs one."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


# The server is on this machine: a proxy from the environment must not stand in between.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class MotoServer:
    """A moto server process on a free port of 127.0.0.1 (see `emulator.moto_process`)."""

    def __init__(self, start_timeout: float = 20.0):
        self.port = _free_port()
        self.endpoint_url = f"http://127.0.0.1:{self.port}"
        self._start_timeout = start_timeout
        self._process: subprocess.Popen | None = None

    def start(self) -> "MotoServer":
        """Start the server and wait until it answers."""
        self._process = subprocess.Popen(
            [sys.executable, "-m", "emulator.moto_process", "--port", str(self.port)],
            cwd=PROJECT_DIR,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, **CREDENTIALS},
        )
        deadline = time.monotonic() + self._start_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"moto_server exited with code {self._process.returncode}")
            try:
                _DIRECT.open(f"{self.endpoint_url}/moto-api/", timeout=1).close()
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"moto_server did not answer on {self.endpoint_url}")

    def reset(self) -> None:
        """Forget every resource the server holds."""
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        _DIRECT.open(request, timeout=10).close()

    def stop(self) -> None:
        """Stop the server process."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def __enter__(self) -> "MotoServer":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
