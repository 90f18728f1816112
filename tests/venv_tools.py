"""Fresh virtual environments for the install-path tests (Colab, Binder): built with the
Python running the tests, so they see the same pip configuration and package cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TORCH = "torch==2.13.0"  # the version with a CPU wheel here; any other request pulls CUDA


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for commands in a test venv: no PYTHONPATH or active venv leaking in,
    one thread, quiet pip; ``extra`` is added."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME") and not k.startswith("PIP_CONSTRAINT")}
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PIP_NO_INPUT="1", PIP_DISABLE_PIP_VERSION_CHECK="1",
               PIP_COMPILE="0",  # pip writes no .pyc files at install time: much faster here
               PYTHONDONTWRITEBYTECODE="1")
    env.update(extra)
    return env


def make_venv(path: Path) -> Path:
    """Create an empty venv (pip only) at ``path``; returns its python executable."""
    venv.EnvBuilder(with_pip=True, clear=True).create(path)
    return path / "bin" / "python"


def run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    """Run ``cmd``; on failure raise with the tail of its output, so the test says why."""
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n"
                             f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def pip_install(python: Path, *args: str, cwd: Path, env: dict[str, str], timeout: float = 300):
    return run([str(python), "-m", "pip", "install", "--quiet", *args], cwd, env, timeout)


def installed(python: Path, cwd: Path, env: dict[str, str]) -> dict[str, str]:
    """name -> version of every distribution in the venv of ``python``."""
    out = run([str(python), "-m", "pip", "list", "--format=json"], cwd, env, 60).stdout
    return {d["name"].lower().replace("_", "-"): d["version"] for d in json.loads(out)}


def python_version() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"
