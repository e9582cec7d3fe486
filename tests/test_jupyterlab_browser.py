"""The playground works where learners use it: in JupyterLab, in a real browser.

The test starts JupyterLab on 127.0.0.1 (a free port, a random token, throw-away config, data, runtime and
settings folders, this environment's Python as the kernel), opens `notebooks/playground.ipynb` in headless
Chromium driven by playwright, runs every cell, types a ticket into the playground, presses *Compare* and
checks the two answers on the page: the base model writes e-mail-like text, the fine-tuned model (notebook
02's, which the test session runs anyway) the triage JSON with the order id it read in the typed ticket.
A screenshot is kept in `runs/browser/playground.png`.

It needs the Debian `chromium` package and the `playwright` Python package (no browser download: playwright
drives the system's Chromium). `python kit.py test` installs both; where they are missing, the test fails
and says what to install. `-m "not browser"` leaves it out.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from helpers.metrics import parse_triage
from helpers.notebooks import ensure_checkpoint
from helpers.runtime import REPO_ROOT, runs_dir

pytestmark = [pytest.mark.notebook, pytest.mark.browser]

STEM = "02_supervised_fine_tuning"  # its model is the playground's fine-tuned model; the session runs it
NOTEBOOK = REPO_ROOT / "notebooks" / "playground.ipynb"
TICKET = "Hello, the kettle from order LL-482913 stops heating after two minutes. Please send a replacement."
ORDER_ID = "LL-482913"
KERNEL_NAME = "Python 3 (course kit)"
TIMEOUT_MS = 180_000  # per wait: a busy 2-core machine (the course's notebooks run beside this test)

INSTALL_HINT = ("`python kit.py test` installs both (the apt package when run as root or with sudo); "
                "or deselect the browser test with -m \"not browser\".")


def browser_executable() -> str:
    """The system Chromium that playwright drives (`$KIT_CHROMIUM` to use another Chromium or Chrome);
    fails with what to install when it, or the playwright package, is missing."""
    try:
        import playwright.sync_api  # noqa: F401
        missing = False
    except ImportError:
        missing = True
    if missing:  # failed outside the `except`, so that the message comes alone
        pytest.fail("The browser test needs the playwright Python package: pip install playwright "
                    "(it is in requirements.txt; no browser download is needed, it drives the system's "
                    f"Chromium). {INSTALL_HINT}", pytrace=False)
    found = os.environ.get("KIT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail("The browser test needs Chromium: on Debian, `sudo apt-get install --no-install-recommends "
                    "chromium` (about 100 MB to download); elsewhere install Chromium or Chrome and set "
                    f"KIT_CHROMIUM to its executable. {INSTALL_HINT}", pytrace=False)
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process_start(pid: int) -> str | None:
    """The start time of process `pid` (field 22 of /proc/<pid>/stat), to tell it from a later one with
    the same pid; None once it has ended or where /proc does not exist."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def descendants(root: int) -> dict[int, str]:
    """The processes below `root` (pid -> start time), read from /proc: the kernels the server started,
    which run in sessions of their own and so are not in the server's process group."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    found, frontier = {}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in found and (start := process_start(pid)):
                found[pid] = start
                frontier.append(pid)
    return found


def wait_for_server(server: subprocess.Popen, runtime_dir: Path, token: str, timeout: float = 120) -> str:
    """The server's base URL once it answers on its API; fails with its log if it exits first."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if server.poll() is not None:
            pytest.fail(f"JupyterLab exited with code {server.returncode}", pytrace=False)
        info = runtime_dir / f"jpserver-{server.pid}.json"
        if info.exists():
            url = json.loads(info.read_text())["url"].rstrip("/") + "/"
            try:
                request = urllib.request.Request(url + "api/status", headers={"Authorization": f"token {token}"})
                with urllib.request.urlopen(request, timeout=5):
                    return url
            except OSError:
                pass
        time.sleep(0.25)
    pytest.fail(f"JupyterLab did not answer within {timeout:.0f} s", pytrace=False)


def stop_server(server: subprocess.Popen, url: str | None, token: str) -> None:
    """Stop what the test started, by pid: the kernels (shut down through the server's API, then by pid if
    still there) and the server's process group (SIGTERM, then SIGKILL)."""
    kernels = descendants(server.pid) if Path("/proc").is_dir() else {}
    if url and server.poll() is None:
        headers = {"Authorization": f"token {token}"}
        try:
            with urllib.request.urlopen(urllib.request.Request(url + "api/kernels", headers=headers), timeout=5) as r:
                for kernel in json.load(r):
                    urllib.request.urlopen(urllib.request.Request(
                        f"{url}api/kernels/{kernel['id']}", method="DELETE", headers=headers), timeout=30).close()
        except OSError:
            pass  # the signals below still stop everything
    for sig, grace in ((signal.SIGTERM, 20), (signal.SIGKILL, 5)):
        if server.poll() is None:
            try:
                os.killpg(server.pid, sig)  # the group start_new_session made: the server and its own children
            except ProcessLookupError:
                pass
            try:
                server.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                continue
    server.wait()
    deadline = time.time() + 10
    while time.time() < deadline and any(process_start(p) == s for p, s in kernels.items()):
        time.sleep(0.2)
    for pid, start in kernels.items():
        if process_start(pid) == start:  # the same process, still running
            os.kill(pid, signal.SIGKILL)


def fine_tuned_model(notebook_runs: dict) -> Path:
    """Notebook 02's model: in the test session, once notebook 02 has run; else built now if missing."""
    if STEM in notebook_runs and notebook_runs[STEM].exception():
        pytest.fail(f"{STEM} failed, so there is no fine-tuned model to try: {notebook_runs[STEM].exception()}",
                    pytrace=False)
    return ensure_checkpoint("sft")


@contextmanager
def jupyterlab(home: Path):
    """A JupyterLab server of this test's own, its folders under `home`: yields (base URL, token)."""
    folders = {name: home / name
               for name in ("config", "data", "runtime", "settings", "workspaces", "ipython", "notebooks")}
    for folder in folders.values():
        folder.mkdir()
    shutil.copy(NOTEBOOK, folders["notebooks"])  # a copy: what JupyterLab saves never touches the repository
    # this environment's Python as the notebooks' `python3` kernel (the data folder is searched first)
    spec = folders["data"] / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": KERNEL_NAME, "language": "python"}))
    # no news or update checks (nothing to fetch, no notification over the page), no autosave
    for plugin, values in {"apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
                           "docmanager-extension/plugin": {"autosave": False}}.items():
        settings = folders["settings"] / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
        settings.parent.mkdir(parents=True, exist_ok=True)
        settings.write_text(json.dumps(values))
    env = {**os.environ,
           "JUPYTER_CONFIG_DIR": str(folders["config"]), "JUPYTER_DATA_DIR": str(folders["data"]),
           "JUPYTER_RUNTIME_DIR": str(folders["runtime"]), "JUPYTERLAB_SETTINGS_DIR": str(folders["settings"]),
           "JUPYTERLAB_WORKSPACES_DIR": str(folders["workspaces"]), "IPYTHONDIR": str(folders["ipython"]),
           "RUNS_DIR": str(runs_dir()),  # the kernel finds the session's notebook 02 model there
           "PYTHONPATH": os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if p)}
    env.pop("JUPYTER_PATH", None)
    env["JUPYTER_PREFER_ENV_PATH"] = "0"  # the data folder above before the environment's own kernel spec
    token = secrets.token_hex(24)
    log = (home / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={free_port()}", "--ServerApp.port_retries=50", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={folders['notebooks']}", "--LabApp.extension_manager=readonly",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         *(["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else [])],
        cwd=folders["notebooks"], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = None
    try:
        url = wait_for_server(server, folders["runtime"], token)
        yield url, token
    except BaseException:
        print((home / "server.log").read_text()[-3000:])
        raise
    finally:
        stop_server(server, url, token)
        log.close()
        (runs_dir() / "browser").mkdir(parents=True, exist_ok=True)
        shutil.copy(home / "server.log", runs_dir() / "browser" / "server.log")  # beside the screenshot


def test_playground_compares_base_and_fine_tuned_in_jupyterlab(notebook_runs, tmp_path):
    chromium = browser_executable()  # first: a missing browser fails at once, before any wait
    fine_tuned_model(notebook_runs)
    from playwright.sync_api import expect, sync_playwright

    shots = runs_dir() / "browser"
    shots.mkdir(parents=True, exist_ok=True)
    started, timings = time.time(), {}

    def mark(phase: str) -> None:
        timings[phase] = round(time.time() - started, 1)

    with jupyterlab(tmp_path) as (url, token), sync_playwright() as driver:
        mark("server_started")
        browser = driver.chromium.launch(executable_path=chromium, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.set_default_timeout(TIMEOUT_MS)
            expect.set_options(timeout=TIMEOUT_MS)
            try:
                page.goto(f"{url}lab/tree/{NOTEBOOK.name}?token={token}")
                # the status bar names the kernel (this environment's, from the spec above) once it is ready
                expect(page.locator(".jp-StatusBar-Widget", has_text=f"{KERNEL_NAME} | Idle")).to_have_count(1)
                mark("notebook_open")

                page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
                page.locator(".lm-Menu-item:visible", has_text="Run All Cells").first.click()
                message = page.locator(".kit-playground-message textarea")
                expect(message).to_be_visible()
                mark("playground_shown")

                message.fill(TICKET)
                page.locator("button.kit-playground-compare").click()
                rows = page.locator(".kit-playground-answers table tbody tr")
                fine_tuned = rows.filter(has_text="fine-tuned")
                expect(fine_tuned).to_contain_text(ORDER_ID)
                mark("answers_shown")
                page.locator(".kit-playground").scroll_into_view_if_needed()
            finally:
                page.screenshot(path=str(shots / "playground.png"))
            answers = {row.locator("td").nth(0).inner_text().strip(): row.locator("td").nth(1).inner_text().strip()
                       for row in rows.all()}
        finally:
            browser.close()
    mark("browser_closed")
    (shots / "timings.json").write_text(json.dumps(timings, indent=1))
    print(json.dumps({"timings_s": timings, "answers": answers}, indent=1))

    assert set(answers) == {"base", "fine-tuned"}
    triage = parse_triage(answers["fine-tuned"])
    assert triage is not None and "intent" in triage, answers["fine-tuned"]
    assert triage["order_id"] == ORDER_ID  # the answer is to the ticket typed in the box, read from it
    assert parse_triage(answers["base"]) is None and '"intent"' not in answers["base"], answers["base"]
