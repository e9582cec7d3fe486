"""The results contract every notebook writes and every test, report and later notebook reads.

    runs/<notebook stem>/results.json  = {"notebook", "profile", "metrics": {VARIANT: {METRIC: n}},
                                          "details": {...}}
    runs/<notebook stem>/manifest.json = base model, data fingerprints, hyperparameters, seed,
                                          library versions, wall time
"""

from __future__ import annotations

import hashlib
import json
import math
import platform
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from helpers.runtime import REPO_ROOT, notebook_run_dir, precision_flags, runs_dir

LIBRARIES = ("torch", "transformers", "trl", "peft", "datasets", "evaluate", "tokenizers", "papermill")


def file_fingerprint(path: str | Path) -> str:
    """SHA-256 of a file (or of every file under a folder, in sorted order), first 16 hex digits."""
    path = Path(path)
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        digest.update(file.name.encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries a result depends on (`missing` if not installed)."""
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "missing"
    return versions


def _display_path(path: str | Path) -> str:
    path = Path(path).resolve()
    for root in (REPO_ROOT, runs_dir()):
        if path.is_relative_to(root):
            return path.relative_to(root).as_posix()
    return str(path)


@dataclass
class Run:
    """One notebook run: collect metrics per variant and details, then `finish()` writes both files.

    Metric values must be finite numbers; fractions are written in 0..1.
    """

    notebook: str
    profile: str
    seed: int
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    base_model: str | None = None
    data_files: list[str] = field(default_factory=list)
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.time)

    @property
    def out_dir(self) -> Path:
        """`runs/<notebook>/`, where results, manifest and any artefacts of this run go."""
        return notebook_run_dir(self.notebook)

    def record(self, variant: str, **metrics: float) -> None:
        """Add metrics for one variant (a model or setting such as `base` or `lora_r8`)."""
        for name, value in metrics.items():
            value = float(value)
            if not math.isfinite(value):
                raise ValueError(f"Metric {variant}.{name} is not a finite number: {value}")
            self.metrics.setdefault(variant, {})[name] = value

    def finish(self) -> Path:
        """Write `results.json` and `manifest.json`; return the results path."""
        out = self.out_dir
        results = {"notebook": self.notebook, "profile": self.profile,
                   "metrics": self.metrics, "details": self.details}
        manifest = {
            "notebook": self.notebook,
            "profile": self.profile,
            "base_model": self.base_model,
            "data": {_display_path(p): file_fingerprint(p) if Path(p).exists() else "not a local file"
                     for p in map(str, filter(None, self.data_files))},
            "hyperparameters": self.hyperparameters,
            "seed": self.seed,
            "libraries": library_versions(),
            "precision": precision_flags(),
            "machine": {"platform": platform.platform(), "processor": platform.machine()},
            "wall_seconds": round(time.time() - self.started, 1),
        }
        (out / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n")
        path = out / "results.json"
        path.write_text(json.dumps(results, indent=2, default=str) + "\n")
        return path


def load_results(notebook: str) -> dict[str, Any]:
    """Read `runs/<notebook>/results.json`, with a clear error when the notebook has not run."""
    path = runs_dir() / notebook / "results.json"
    if not path.exists():
        raise FileNotFoundError(f"No results at {path}: run notebooks/{notebook}.ipynb first.")
    return json.loads(path.read_text())
