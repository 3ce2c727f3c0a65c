"""docker-compose.yml and deploy/kubernetes/, checked without a container engine: they parse, name
only real settings, run two replicas on PostgreSQL, and probe the endpoints the bot serves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from circuitbot.approvals.engine import STOP_GRACE_SECONDS as ENGINE_GRACE
from circuitbot.settings import unknown_environment
from circuitbot.slack.server import SHUTDOWN_GRACE_SECONDS, build_http_app
from circuitbot.watch.engine import STOP_GRACE_SECONDS as WATCH_GRACE
from circuitbot.watch.sender import FLUSH_SECONDS
from support.paths import REPOSITORY

COMPOSE = REPOSITORY / "docker-compose.yml"
KUBERNETES = REPOSITORY / "deploy" / "kubernetes"
SLACK_NAMES = {"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_API_URL"}
AZURE_IDENTITY_NAMES = {"AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET"}
IMAGE_UID = 10001  # the Dockerfile's user
# serve's stop after SIGTERM: acknowledged work, then the engines side by side (README)
STOP_BOUND_SECONDS = SHUTDOWN_GRACE_SECONDS + max(ENGINE_GRACE, WATCH_GRACE + FLUSH_SECONDS) + 5


def documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def kubernetes() -> dict[str, dict[str, Any]]:
    found = {}
    for path in sorted(KUBERNETES.glob("*.yaml")):
        for doc in documents(path):
            found[doc["kind"]] = doc
    return found


def served_paths() -> set[str]:
    app = build_http_app(runtime=None, bolt_app=None)  # type: ignore[arg-type]  # routes only
    return {route.path for route in app.routes}  # type: ignore[attr-defined]


def assert_real_settings(names: set[str]) -> None:
    ours = {name: "" for name in names if name.startswith("CIRCUITBOT_")}
    assert unknown_environment(ours) == []
    assert names - set(ours) <= SLACK_NAMES | AZURE_IDENTITY_NAMES, names - set(ours)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_runs_two_replicas_on_postgresql(compose: dict[str, Any]) -> None:
    services = compose["services"]
    replicas = [s for name, s in services.items() if name.startswith("circuitbot")]
    assert len(replicas) == 2 and "postgres" in services
    for service in replicas:
        env = service["environment"]
        assert env["CIRCUITBOT_DATABASE_URL"].startswith("postgresql+asyncpg://")
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert service["command"][0] == "serve"
        assert "/readyz" in " ".join(service["healthcheck"]["test"])
        assert int(service["stop_grace_period"].removesuffix("s")) >= STOP_BOUND_SECONDS
        assert_real_settings(set(env))
    assert len({tuple(s["ports"]) for s in replicas}) == 2, "each replica on its own host port"


def test_kubernetes_deployment_of_two_replicas_with_probes() -> None:
    objects = kubernetes()
    assert {"Deployment", "Service", "Secret", "ConfigMap", "PodDisruptionBudget"} <= set(objects)
    deployment = objects["Deployment"]["spec"]
    assert deployment["replicas"] == 2
    pod = deployment["template"]["spec"]
    [container] = pod["containers"]
    paths = served_paths()
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz" in paths
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz" in paths
    assert container["args"][0] == "serve"
    sources = {next(iter(s.values()))["name"] for s in container["envFrom"]}
    assert sources == {objects["Secret"]["metadata"]["name"], objects["ConfigMap"]["metadata"]["name"]}
    assert pod["securityContext"]["runAsUser"] == IMAGE_UID and pod["securityContext"]["runAsNonRoot"]
    assert pod["terminationGracePeriodSeconds"] >= STOP_BOUND_SECONDS, "longer than the bot's own stop"


def test_kubernetes_settings_are_real_and_secrets_stay_in_the_secret() -> None:
    objects = kubernetes()
    config, secret = set(objects["ConfigMap"]["data"]), set(objects["Secret"]["stringData"])
    assert_real_settings(config | secret)
    assert not {n for n in config if "TOKEN" in n or "SECRET" in n or "DATABASE_URL" in n}
    assert {"SLACK_BOT_TOKEN", "CIRCUITBOT_DATABASE_URL", "CIRCUITBOT_SECRET_KEY"} <= secret


def test_the_disruption_budget_keeps_a_replica_of_the_deployment() -> None:
    objects = kubernetes()
    labels = objects["Deployment"]["spec"]["template"]["metadata"]["labels"]
    pdb = objects["PodDisruptionBudget"]["spec"]
    assert pdb["minAvailable"] == 1
    assert pdb["selector"]["matchLabels"].items() <= labels.items()
    assert objects["Service"]["spec"]["selector"].items() <= labels.items()
