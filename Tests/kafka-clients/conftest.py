"""Fixtures for the Kafka client tests: a real `pipeline serve` process per test.

The server is the `pipeline` binary built by `swift build` (override with SLUICE_PIPELINE=path).
`SLUICE_KAFKA_TARGET=noida` runs the same tests against the Kafka-compatible broker noida-db
instead, to check the tests themselves against a second broker.
"""
import os
import pathlib
import signal
import socket
import subprocess
import tempfile
import threading
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
TARGET = os.environ.get("SLUICE_KAFKA_TARGET", "sluice")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pipeline_binary():
    explicit = os.environ.get("SLUICE_PIPELINE")
    if explicit:
        return explicit
    for configuration in ("debug", "release"):
        candidate = ROOT / ".build" / configuration / "pipeline"
        if candidate.exists():
            return str(candidate)
    raise RuntimeError("no pipeline binary: run `swift build` first or set SLUICE_PIPELINE")


class Server:
    """One server process over one data directory: started, SIGKILLed and restarted at will.

    Its output lines are kept in `lines` (a reader thread drains them so it never blocks).
    """

    def __init__(self, data_dir, port, extra_args=()):
        self.data_dir = data_dir
        self.port = port
        self.extra_args = list(extra_args)
        self.process = None
        self.lines = []
        self.kills = 0

    @property
    def bootstrap(self):
        return f"127.0.0.1:{self.port}"

    def command(self):
        if TARGET == "noida":
            return ["noida-db", "start", "--only", "kafka", "--host", "127.0.0.1",
                    "--kafka-port", str(self.port), "--data-dir", self.data_dir]
        return [pipeline_binary(), "serve", "--listen", self.bootstrap, "--data-dir", self.data_dir, *self.extra_args]

    def start(self, timeout=60):
        assert self.process is None or self.process.poll() is not None, "already running"
        self.process = subprocess.Popen(self.command(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True, start_new_session=True)
        ready = threading.Event()
        process = self.process

        def drain():
            for line in process.stdout:
                self.lines.append(line.rstrip("\n"))
                if f"listening on {self.bootstrap}" in line or (TARGET == "noida" and "press Ctrl-C" in line):
                    ready.set()
            ready.set()

        threading.Thread(target=drain, daemon=True).start()
        if not ready.wait(timeout) or process.poll() is not None:
            raise RuntimeError(f"server did not start: {self.command()}\n" + "\n".join(self.lines[-40:]))
        wait_for_port(self.port, timeout)

    def kill(self):
        """SIGKILL, as a crash: nothing is flushed or committed on the way out."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            self.kills += 1

    def stop(self):
        """SIGTERM, a clean stop; returns the exit status."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            return self.process.wait(timeout=60)
        return self.process.returncode if self.process else None

    def restart(self):
        self.kill()
        self.start()


def wait_for_port(port, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def make_server(tmp_path, port=None, extra_args=()):
    return Server(str(tmp_path / "data"), port or free_port(), extra_args)


@pytest.fixture
def server(tmp_path):
    server = make_server(tmp_path)
    server.start()
    yield server
    server.kill()


@pytest.fixture
def server_factory(tmp_path):
    """Builds servers with extra arguments or a fixed port; every one is killed at the end."""
    made = []

    def build(port=None, extra_args=(), start=True):
        server = make_server(tmp_path, port, extra_args)
        if start:
            server.start()
        made.append(server)
        return server

    yield build
    for server in made:
        server.kill()


def scratch_dir():
    return tempfile.mkdtemp(prefix="sluice-kafka-clients-")
