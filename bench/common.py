"""What the benchmark scripts share: progress lines, rounding and formatting, API calls that must succeed,
the machine's description, and the results file (written atomically to bench/results/)."""

from __future__ import annotations

import json
import os
import platform
import sys
from collections.abc import Callable
from pathlib import Path

import httpx

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def make_log(prefix: str) -> Callable[[str], None]:
    """A progress printer to stderr: `[prefix] message`."""

    def log(message: str) -> None:
        print(f"[{prefix}] {message}", file=sys.stderr, flush=True)

    return log


def rounded(v: float | None, nd: int = 2) -> float | None:
    return None if v is None else round(v, nd)


def fixed(v: float | None, nd: int = 1) -> str:
    """A number for a Markdown table ("–" when not measured)."""
    return "–" if v is None else f"{v:.{nd}f}"


def api(client: httpx.Client, method: str, path: str, expect: int, **kw) -> dict:  # noqa: ANN003
    """A set-up call that must answer `expect`; its JSON."""
    r = client.request(method, path, **kw)
    if r.status_code != expect:
        raise RuntimeError(f"{method} {path} answered {r.status_code}: {r.text[:500]}")
    return r.json()


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict:
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu_model(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def save_results(doc: dict, name: str) -> Path:
    """Write `doc` to bench/results/<name>.json (atomically: a reader never sees half a file)."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    os.replace(tmp, path)
    return path
