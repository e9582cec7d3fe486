"""Set up the kit and run it, with nothing but Python 3.10+ installed.

    python kit.py course   # install what is missing, run every notebook headless, write runs/REPORT.md
    python kit.py test     # install what is missing, run the test suite (notebooks included)
                           # (and, for its browser test, Chromium with apt-get when root or sudo allow)
    python kit.py lab      # install what is missing, open the notebooks in JupyterLab
    python kit.py pretrain # pre-train the shipped base model again (scripts/pretrain_base.py; resumable)
    python kit.py dashboard [PROJECT]  # TensorBoard on http://127.0.0.1:6006 over every run's logs

Inside an active virtual or conda environment the kit installs into it; otherwise it creates `.venv/`
here. Installing is skipped when requirements.txt has not changed since the last install.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
COMMANDS = {
    "course": ["-m", "helpers.course"],
    "test": ["-m", "pytest"],
    "lab": ["-m", "jupyterlab", "notebooks"],
    "pretrain": ["scripts/pretrain_base.py"],
    "dashboard": ["-m", "helpers.tracking"],
}


def in_environment() -> bool:
    """True inside a virtual environment or a conda environment."""
    return sys.prefix != sys.base_prefix or bool(os.environ.get("CONDA_PREFIX"))


def environment_python() -> Path:
    """The interpreter to install into and run with, creating `.venv/` if needed."""
    if in_environment():
        return Path(sys.executable)
    python = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if not python.exists():
        print(f"Creating a virtual environment in {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    return python


def install(python: Path) -> None:
    """pip-install requirements.txt and the kit itself, unless already done for this requirements file."""
    requirements = ROOT / "requirements.txt"
    digest = hashlib.sha256(requirements.read_bytes() + str(python).encode()).hexdigest()
    stamp = Path(sys.prefix if in_environment() else VENV) / ".kit-installed"
    if stamp.exists() and stamp.read_text() == digest:
        return
    print("Installing the kit's requirements (a few minutes the first time) ...", flush=True)
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "-r", requirements, "-e", ROOT], check=True)
    stamp.write_text(digest)


def needs_browser(pytest_args: list[str]) -> bool:
    """Whether these pytest arguments may select the browser test (tests/test_jupyterlab_browser.py):
    not when a marker expression leaves it out, nor when only other test files are named."""
    expression = " ".join(pytest_args)
    if "not browser" in expression or "not notebook" in expression:
        return False
    paths = [a.split("::")[0] for a in pytest_args if not a.startswith("-") and Path(a.split("::")[0]).exists()]
    return not paths or any(Path(p).is_dir() or "browser" in p for p in paths)


def ensure_chromium() -> None:
    """The browser test drives the system's Chromium through playwright (no browser download). Install the
    Debian package `chromium` when it is missing, with apt-get as root or through password-less sudo
    (about 100 MB to download, 400 MB installed); otherwise say what to install."""
    if os.environ.get("KIT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser"):
        return
    command = ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-q",
               "--no-install-recommends", "chromium"]
    if not shutil.which("apt-get"):
        print("The browser test needs Chromium or Chrome: install it and set KIT_CHROMIUM to its executable "
              "(or leave the test out with -m \"not browser\").", flush=True)
        return
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        sudo = []
    elif shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0:
        sudo = ["sudo", "-n"]
    else:
        print("The browser test needs Chromium: sudo apt-get install --no-install-recommends chromium "
              "(or leave the test out with -m \"not browser\").", flush=True)
        return
    print("Installing Chromium for the browser test (apt-get, about 100 MB) ...", flush=True)
    if subprocess.run(sudo + command).returncode != 0:  # a fresh system may have no package lists yet
        subprocess.run(sudo + ["apt-get", "update", "-q"])
        if subprocess.run(sudo + command).returncode != 0:
            print("Could not install chromium: the browser test will fail and say what it needs.", flush=True)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(__doc__)
        return 2
    python = environment_python()
    install(python)
    if argv[0] == "test" and needs_browser(argv[1:]):
        ensure_chromium()
    env = {**os.environ, "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}
    return subprocess.run([python, *COMMANDS[argv[0]], *argv[1:]], cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
