"""The local runtime, started as a person starts it (``nudge local``) in a subprocess, on a free port.

Used by the end-to-end tests and the latency benchmark."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import requests

STARTUP_SECONDS = 90


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Runtime:
    process: subprocess.Popen[str]
    state_dir: Path
    contract: dict[str, Any]
    port: int
    output: list[str]  # everything the runtime printed so far, drained by a thread so it never blocks

    @property
    def banner(self) -> str:
        return "".join(self.output)

    @property
    def url(self) -> str:
        return str(self.contract["track_url"])

    @property
    def verify(self) -> str | bool:
        return str(self.contract.get("tls_cert", True))

    def get(self, path: str, **kw: Any) -> requests.Response:
        return requests.get(self.url + path, timeout=10, verify=self.verify, **kw)

    def track(self, method: str, path: str, body: Any = None) -> requests.Response:
        return requests.request(
            method,
            self.url + path,
            json=body,
            timeout=10,
            verify=self.verify,
            auth=(self.contract["site_id"], self.contract["track_api_key"]),
        )

    def app(self, method: str, path: str, body: Any = None) -> requests.Response:
        return requests.request(
            method,
            self.url + path,
            json=body,
            timeout=10,
            verify=self.verify,
            headers={"authorization": f"Bearer {self.contract['app_api_key']}"},
        )

    def status(self) -> dict[str, Any]:
        answer = self.get("/_local/status")
        answer.raise_for_status()
        return dict(answer.json())

    def aws(self, service: str) -> Any:
        make_client: Any = boto3.client  # any service by name: the stubs only type literal names
        return make_client(
            service,
            endpoint_url=self.contract["aws_endpoint_url"],
            region_name=self.contract["aws_region"],
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    def wait_until(self, condition: Any, timeout: float = 20.0, interval: float = 0.05) -> Any:
        """``condition()`` once it is truthy, checked every ``interval`` seconds (a latency benchmark polls
        finely: a sample is only as precise as its polling)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = condition()
            if found:
                return found
            time.sleep(interval)
        raise AssertionError("condition not met in time")

    def stop(self) -> tuple[int, str]:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        code = self.process.wait(timeout=30)
        self._drain.join(timeout=10)
        return code, "".join(self.output)

    def start_draining(self) -> None:
        assert self.process.stdout is not None
        stream = self.process.stdout
        self._drain = threading.Thread(
            target=lambda: self.output.extend(iter(stream.readline, "")), daemon=True
        )
        self._drain.start()


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "NUDGE_", "MOTO_"))}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def launch(state_dir: Path, *extra: str, port: int | None = None) -> subprocess.Popen[str]:
    argv = [
        sys.executable,
        "-m",
        "nudge_tools.cli",
        "local",
        "--port",
        str(port or free_port()),
        "--state-dir",
        str(state_dir),
        *extra,
    ]
    return subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=environment()
    )


def start(state_dir: Path, *extra: str) -> Runtime:
    port = free_port()
    contract_path = state_dir / "local.json"
    contract_path.unlink(missing_ok=True)  # a runtime killed earlier left its own: wait for this one's
    process = launch(state_dir, *extra, port=port)
    deadline = time.monotonic() + STARTUP_SECONDS
    while not contract_path.exists():
        if process.poll() is not None:
            raise RuntimeError(f"nudge local exited early:\n{process.communicate()[0]}")
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("nudge local did not become ready in time")
        time.sleep(0.1)
    runtime = Runtime(process, state_dir, json.loads(contract_path.read_text()), port, [])
    runtime.start_draining()
    runtime.wait_until(lambda: "Try it:" in runtime.banner and runtime.banner.rstrip().endswith("'"))
    assert runtime.get("/_local/health").status_code == 200
    return runtime
