"""Serving a saved model over HTTP with an OpenAI-compatible API, using `transformers serve`, on the
loopback address; started, waited for and stopped by its process id.

    with model_server("runs/02_supervised_fine_tuning/model") as server:
        client = OpenAI(base_url=server.url, api_key="unused")
        client.chat.completions.create(model=server.model, messages=[...], temperature=0)

`transformers serve` answers a body whose `messages` is malformed with a bare 500, and generates past
the model's context when a conversation is too long. The server started here checks both first and
answers 400 with the reason (`python -m helpers.serving MODEL --port N` runs it alone).
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
from typing import Any, TYPE_CHECKING

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

DEFAULT_MAX_TOKENS = 256  # what a request that sets no max_tokens may generate, for the length check


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
    command = [sys.executable, "-m", "helpers.serving", model, "--port", str(port)]
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


def request_problem(body: Any, tokenizer: PreTrainedTokenizerBase, context: int) -> str | None:
    """Why a chat-completion request body cannot be served, or None: `messages` must be a non-empty
    list of {role, content} objects, and the conversation plus `max_tokens` must fit the context."""
    if not isinstance(body, dict):
        return "the body must be a JSON object"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages or not all(
            isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
            for m in messages):
        return "messages must be a non-empty list of objects with a string role and a string content"
    max_tokens = body.get("max_tokens") or body.get("max_completion_tokens") or DEFAULT_MAX_TOKENS
    if not isinstance(max_tokens, int) or max_tokens < 1:
        return "max_tokens must be a positive integer"
    prompt = len(tokenizer.apply_chat_template(messages, tokenize=True, add_generation_prompt=True,
                                               return_dict=True)["input_ids"])
    if prompt + max_tokens > context:
        return (f"the conversation is {prompt} tokens; with max_tokens {max_tokens} it exceeds the model's "
                f"context of {context} tokens")
    return None


def _with_request_checks(build_server: Any, tokenizer: PreTrainedTokenizerBase, context: int) -> Any:
    """`transformers serve`'s app factory, with chat-completion requests checked before they reach it."""
    import json

    from fastapi.responses import JSONResponse

    def build(*args: Any, **kwargs: Any) -> Any:
        app = build_server(*args, **kwargs)

        @app.middleware("http")
        async def check_request(request, call_next):
            if request.method == "POST" and request.url.path.endswith("/chat/completions"):
                try:
                    body = json.loads(await request.body())
                except ValueError:
                    return JSONResponse({"detail": "the body is not valid JSON"}, status_code=400)
                problem = request_problem(body, tokenizer, context)
                if problem:
                    return JSONResponse({"detail": problem}, status_code=400)
            return await call_next(request)

        return app

    return build


def main(argv: list[str] | None = None) -> None:
    """Serve one model folder with `transformers serve`, its requests checked (see the module docstring)."""
    import argparse

    from transformers import AutoConfig, AutoTokenizer
    from transformers.cli import serve
    from transformers.cli.serving import server

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("model", help="the model folder to serve")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    context = AutoConfig.from_pretrained(args.model).max_position_embeddings
    server.build_server = _with_request_checks(server.build_server, tokenizer, context)
    serve.Serve(force_model=args.model, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
