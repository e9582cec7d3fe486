"""Where things live and how to run: paths, the `cpu`/`gpu` profile, seeds and CPU threads.

Nothing here imports torch at module level, so a notebook can set the thread policy before
torch is loaded.
"""

from __future__ import annotations

import os
import random
from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT / "data"
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
PROFILES = ("cpu", "gpu")


def runs_dir() -> Path:
    """The folder every run writes under: `$RUNS_DIR` if set, else `runs/` in the repository."""
    return Path(os.environ.get("RUNS_DIR", REPO_ROOT / "runs")).resolve()


def notebook_run_dir(stem: str) -> Path:
    """The output folder of one notebook, `runs/<stem>/`, created if missing."""
    path = runs_dir() / stem
    path.mkdir(parents=True, exist_ok=True)
    return path


def configure_cpu_threads() -> None:
    """Make OpenMP threads sleep instead of spin when idle; call before importing torch.

    With the default busy-waiting, two processes sharing a 2-core machine can slow each other
    down twentyfold.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def detect_profile(requested: str | None = "auto") -> str:
    """Return `cpu` or `gpu`: the requested profile, or `gpu` exactly when CUDA is available."""
    if requested in (None, "", "auto"):
        import torch

        return "gpu" if torch.cuda.is_available() else "cpu"
    if requested not in PROFILES:
        raise ValueError(f"Unknown profile {requested!r}: choose one of {PROFILES} or 'auto'.")
    return requested


def profile_sizes(profile: str, sizes: Mapping[str, Mapping[str, Any]], **chosen: Any) -> SimpleNamespace:
    """How big a notebook's runs are: each setting of `chosen` that is not None, else the `profile`'s
    default from `sizes` (`{"cpu": {...}, "gpu": {...}}`). Read them as attributes: `size.rm_steps`."""
    if profile not in sizes:
        raise ValueError(f"no sizes for profile {profile!r}: the table has {sorted(sizes)}")
    defaults = dict(sizes[profile])
    unknown = sorted(set(chosen) - set(defaults))
    if unknown:
        raise ValueError(f"unknown size settings {unknown}: the {profile} profile has {sorted(defaults)}")
    return SimpleNamespace(**{**defaults, **{k: v for k, v in chosen.items() if v is not None}})


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and torch so that a CPU run repeats exactly."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bfloat16 in hardware (AVX512-BF16 or AMX): there bf16 autocast trains
    a small model about 1.7x faster than fp32; elsewhere it is emulated, and slower."""
    try:
        with open("/proc/cpuinfo") as handle:
            flags = handle.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def precision_flags() -> dict[str, bool]:
    """Mixed-precision flags for a Trainer config, decided here for the whole kit: bf16 on a GPU that
    supports it, fp16 on older cards (a T4), bf16 autocast on a CPU with native bf16, else fp32. On a
    CPU, `use_cpu` also lets processes launched together train as one (data parallel over gloo)."""
    import torch

    if not torch.cuda.is_available():
        return {"bf16": cpu_has_native_bf16(), "fp16": False, "use_cpu": True}
    if torch.cuda.is_bf16_supported(including_emulation=False):  # a T4 emulates bf16, slowly
        return {"bf16": True, "fp16": False}
    return {"bf16": False, "fp16": True}


def current_rss_mb() -> float:
    """This process's resident memory in MB (Linux; elsewhere the peak so far, which is what
    `resource` can tell)."""
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        import resource
        import sys

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def _reset_peak_rss() -> bool:
    """Set the kernel's record of this process's peak resident memory to the current value
    (Linux 4.0 and later); False where that cannot be done."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def _peak_rss_mb() -> float:
    """The kernel's record of this process's peak resident memory in MB (`VmHWM`, Linux)."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**10
    raise OSError("no VmHWM line in /proc/self/status")


class PeakMemory:
    """Peak memory while a block runs, in MB: GPU memory allocated by torch on CUDA; otherwise
    the process's resident memory, from the kernel's exact high-water mark on Linux, or sampled
    every `interval` seconds in a background thread where that mark cannot be reset.
    `added_mb` is the peak less what was in use on entry: what the block itself needed.
    Do not nest them: the mark is the whole process's, and an inner block resets it.

        with PeakMemory() as memory:
            trainer.train()
        print(memory.peak_mb, memory.added_mb)
    """

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.peak_mb = 0.0
        self.start_mb = 0.0
        self._stop = None
        self._thread = None
        self._cuda = False
        self._kernel_mark = False

    def __enter__(self) -> "PeakMemory":
        import threading

        import torch

        self._cuda = torch.cuda.is_available()
        if self._cuda:
            torch.cuda.reset_peak_memory_stats()
            self.start_mb = torch.cuda.memory_allocated() / 2**20
            return self
        self.start_mb = self.peak_mb = current_rss_mb()
        # A sampler misses peaks shorter than its interval (longer ones on a busy machine); the mark does not.
        self._kernel_mark = _reset_peak_rss()
        if not self._kernel_mark:
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak_mb = max(self.peak_mb, current_rss_mb())

    def __exit__(self, *exc: object) -> None:
        if self._cuda:
            import torch

            self.peak_mb = torch.cuda.max_memory_allocated() / 2**20
            return
        if self._kernel_mark:
            self.peak_mb = max(self.peak_mb, _peak_rss_mb())
            return
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, current_rss_mb())

    @property
    def added_mb(self) -> float:
        return max(0.0, self.peak_mb - self.start_mb)
