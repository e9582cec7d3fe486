"""Serving a saved model over HTTP with an OpenAI-compatible API, using `transformers serve`, on the
loopback address; started, waited for and stopped by its process id.

    with model_server("runs/02_supervised_fine_tuning/model") as server:
        client = OpenAI(base_url=server.url, api_key="unused")
        client.chat.completions.create(model=server.model, messages=[...], temperature=0)
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SERVE_COMMAND = "from transformers.cli.transformers import main; main()"  # the `transformers` command


@dataclass
class Server:
    """A running server: its base URL for an OpenAI client, the model name to ask for, its process id."""

    url: str
    model: str
    pid: int
    log: Path


def free_port() -> int:
    """A TCP port on the loopback address that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/models", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@contextmanager
def model_server(model_dir: str | Path, port: int | None = None, startup_timeout: float = 180.0,
                 log: str | Path | None = None) -> Iterator[Server]:
    """Run `transformers serve` on `model_dir` (pinned: the only model it answers for) on 127.0.0.1,
    offline, until the block ends; then stop it and only it, by its process group. Its output goes to
    `log` (a temporary file by default); a server that dies or does not answer in time is an error
    that quotes the end of that log."""
    model = str(Path(model_dir).resolve())
    if not Path(model, "config.json").exists():
        raise FileNotFoundError(f"No model to serve in {model} (no config.json)")
    port = port or free_port()
    log = Path(log or tempfile.mkstemp(prefix="serve-", suffix=".log")[1])
    cache = tempfile.mkdtemp(prefix="hf-cache-")  # the server lists cached Hub models: give it an empty cache
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": cache}
    command = [sys.executable, "-c", SERVE_COMMAND, "serve", model, "--host", "127.0.0.1", "--port", str(port)]
    with open(log, "w") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + startup_timeout
        while not _ready(url):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"the server did not start (exit code {process.poll()}); its log ends:\n{tail}")
            time.sleep(0.5)
        yield Server(url=url, model=model, pid=process.pid, log=log)
    finally:
        _stop(process)


def _stop(process: subprocess.Popen) -> None:
    """Stop the server's process group: politely, then by force after ten seconds."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
