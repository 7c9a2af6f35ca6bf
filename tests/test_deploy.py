"""The deployment files name real things: every command line parses as a `jasping` command with its options, every
JASPING_* variable is a setting, ports and probes match what the server serves, the Dockerfile runs as a non-root
user from a pinned base and the lock, and the Grafana dashboard asks for metrics the product exports. (The image
is not built here: no image registry is reachable from the test machines.)"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import click
import yaml

from jasping import metrics
from jasping.cli import main
from jasping.config import Settings

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
EXTRA_ENV = {"OPENAI_API_KEY", "OPENAI_BASE_URL", "PROMETHEUS_MULTIPROC_DIR", "HOST", "PORT"}
PROBES = {"/healthz", "/readyz", "/metrics"}


def _k8s() -> list[dict]:
    docs = []
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def _compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def _check_command(argv: list[str]) -> click.Context:
    """Parse `argv` as the CLI would (unknown commands or options raise), without running it."""
    assert argv[0] == "jasping", argv
    command = main.get_command(click.Context(main), argv[1])
    assert command is not None, f"no command {argv[1]!r}"
    return command.make_context(argv[1], list(argv[2:]))


def _env_names(text: str) -> set[str]:
    return set(re.findall(r"\b(JASPING_[A-Z0-9_]+|OPENAI_[A-Z_]+)\b", text))


def test_every_variable_is_a_setting() -> None:
    fields = {f"JASPING_{name.upper()}" for name in Settings.model_fields}
    fields |= {f.alias for f in Settings.model_fields.values() if f.alias}
    for path in [*DEPLOY.rglob("*.yaml"), ROOT / "Dockerfile", ROOT / "docs" / "operations.md"]:
        unknown = _env_names(path.read_text()) - fields - EXTRA_ENV
        assert not unknown, f"{path.name}: {sorted(unknown)} are not settings"


def test_compose_services_run_real_commands() -> None:
    services = _compose()["services"]
    assert {"postgres", "redis", "migrate", "web", "worker"} <= set(services)
    ports = {}
    for name in ("migrate", "web", "worker"):
        ctx = _check_command(services[name]["command"])
        ports[name] = ctx.params.get("port")
    assert ports["web"] == 8000 and services["web"]["ports"] == ["127.0.0.1:8000:8000"]
    assert services["web"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "--appendonly" in services["redis"]["command"]
    assert services["web"]["environment"]["JASPING_REDIS_URL"].startswith("redis://redis:")


def test_kubernetes_manifests_run_real_commands_with_probes_on_real_paths(client) -> None:
    assert all(client.get(path).status_code == 200 for path in PROBES)
    docs = _k8s()
    kinds = [d["kind"] for d in docs]
    assert kinds.count("Deployment") == 2 and "Job" in kinds and "HorizontalPodAutoscaler" in kinds
    for doc in docs:
        if doc["kind"] not in ("Deployment", "Job"):
            continue
        pod = doc["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        for container in pod["containers"]:
            ctx = _check_command(container["command"])
            declared = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
            listens = ctx.params.get("port") or ctx.params.get("metrics_port")
            if declared:
                assert listens in declared.values(), (container["name"], declared, listens)
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                if probe in container:
                    get = container[probe]["httpGet"]
                    assert get["path"] in PROBES and get["port"] in declared
    web = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "jasping-web")
    (container,) = web["spec"]["template"]["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    job = next(d for d in docs if d["kind"] == "Job")
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["jasping", "migrate"]


def test_the_dockerfile_is_non_root_pinned_and_locked() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim[\w.-]*@sha256:[0-9a-f]{64}$", text, re.M)
    assert re.search(r"^USER 10001:10001$", text, re.M)
    assert "pip install --no-deps -r /tmp/requirements.lock" in text and "EXPOSE 8000" in text
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", text, re.M)[1])
    assert _check_command(cmd).params["port"] == 8000
    locked = {
        re.sub(r"[-_.]+", "-", line.split("==")[0]).lower()
        for line in (DEPLOY / "requirements.lock").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for requirement in project["dependencies"] + project["optional-dependencies"]["s3"]:
        name = re.sub(r"[-_.]+", "-", re.split(r"[\[<>=!~ ]", requirement)[0]).lower()
        assert name in locked, f"{name} is not pinned in deploy/requirements.lock"


def test_the_grafana_dashboard_asks_for_exported_metrics() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "jasping-dashboard.json").read_text())
    exported = {m._name for m in vars(metrics).values() if hasattr(m, "_name") and hasattr(m, "_type")} | {
        "jasping_jobs_queued"
    }
    asked = set()
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            asked |= set(re.findall(r"\b(jasping_[a-z_]+)", target["expr"]))
    base = {re.sub(r"_(bucket|total|count|sum)$", "", name) for name in asked}
    assert base <= {re.sub(r"_total$", "", n) for n in exported}, base - exported
    assert len(dashboard["panels"]) >= 10
