"""CI's security lint (issue 11, point 8): ruff's flake8-bandit rules (`S`) pass on src/ with none of them ignored
there, and each exception made on a line says why. `make test` runs this, so CI fails on a new finding."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUFF = Path(sys.executable).with_name("ruff")
NOQA_S = re.compile(r"#\s*noqa:\s*([A-Z0-9, ]*\bS\d{3}[A-Z0-9, ]*)(.*)$")


def test_ruff_security_rules_find_nothing_in_src() -> None:
    run = subprocess.run(
        [str(RUFF), "check", "--select", "S", "--no-cache", "--output-format", "concise", "src"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, f"ruff's security rules found problems in src/:\n{run.stdout}{run.stderr}"


def test_no_security_rule_is_switched_off_for_src() -> None:
    lint = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["ruff"]["lint"]
    assert "S" in lint["select"]
    assert not [rule for rule in lint.get("ignore", []) if rule.startswith("S")]
    for pattern, rules in lint.get("per-file-ignores", {}).items():
        if pattern.startswith("src"):
            assert not [rule for rule in rules if rule.startswith("S")], pattern


def test_every_security_exception_in_src_gives_its_reason() -> None:
    unexplained = []
    for path in sorted((ROOT / "src").rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            found = NOQA_S.search(line)
            if found and len(found[2].strip(" -—:")) < 10:
                unexplained.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not unexplained, "say why on the line: `# noqa: Sxxx - reason`\n" + "\n".join(unexplained)
