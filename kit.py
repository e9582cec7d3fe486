"""Set up the kit and run it, with nothing but Python 3.10+ installed.

    python kit.py course   # install what is missing, run every notebook headless, write runs/REPORT.md
    python kit.py test     # install what is missing, run the test suite (notebooks included)
    python kit.py lab      # install what is missing, open the notebooks in JupyterLab
    python kit.py pretrain # pre-train the shipped base model again (scripts/pretrain_base.py; resumable)
    python kit.py dashboard [PROJECT]  # TensorBoard on http://127.0.0.1:6006 over every run's logs

Inside an active virtual or conda environment the kit installs into it; otherwise it creates `.venv/`
here. Installing is skipped when requirements.txt has not changed since the last install.
"""

from __future__ import annotations

import hashlib
import os
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


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(__doc__)
        return 2
    python = environment_python()
    install(python)
    env = {**os.environ, "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}
    return subprocess.run([python, *COMMANDS[argv[0]], *argv[1:]], cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
