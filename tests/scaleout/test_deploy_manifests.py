"""The deployment files agree with the code: ports, probe paths, flags, env names, names.

No container runtime runs here, so every manifest is parsed and checked against what
``llmrouter serve`` really accepts and serves: the CLI parser reads the commands, the config
loader reads the YAML they mount, the app's routes answer the probe paths.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from llmrouter.cli import build_parser
from llmrouter.config import OpenClawConfig

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
_REQUIRED_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")  # ${VAR}: no default, must be set
_ANY_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}")


def dockerfile() -> dict[str, list[str]]:
    """Instruction -> the arguments of each occurrence (continuation lines joined)."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            word, _, rest = line.strip().partition(" ")
            found.setdefault(word.upper(), []).append(rest.strip())
    return found


def k8s() -> dict[str, dict[str, Any]]:
    docs = [d for f in sorted(K8S.glob("*.yaml")) for d in yaml.safe_load_all(f.read_text()) if d]
    return {f"{d['kind']}/{d['metadata']['name']}": d for d in docs}


def load_config(text: str) -> OpenClawConfig:
    """The YAML as the gateway loads it: every variable it needs set to a dummy, the others unset."""
    with pytest.MonkeyPatch.context() as env:
        for name in _ANY_VAR.findall(text):
            env.delenv(name, raising=False)
        for name in _REQUIRED_VAR.findall(text):
            env.setenv(name, "redis://redis:6379/0" if name == "REDIS_URL" else f"dummy-{name.lower()}")
        return OpenClawConfig.from_dict(yaml.safe_load(text), source="manifest")


def serve_args(argv: list[str]):  # noqa: ANN201 - argparse.Namespace
    args = build_parser().parse_args(["serve", *argv])  # exits (a test failure) on an unknown flag
    assert args.command == "serve"
    return args


def routes() -> set[str]:
    from openclaw_litellm.app import create_app

    app = create_app(load_config((DEPLOY / "gateway.yaml").read_text()))
    return {getattr(route, "path", "") for route in app.routes}


GATEWAY_YAML = (DEPLOY / "gateway.yaml").read_text()
CONFIG = load_config(GATEWAY_YAML)


def test_the_dockerfile_is_slim_non_root_with_a_healthcheck_on_the_served_port():
    d = dockerfile()
    assert all(base.split()[0].endswith("-slim") for base in d["FROM"])
    user = d["USER"][-1]
    assert user not in ("root", "0") and user.isdigit()
    port = int(d["EXPOSE"][0])
    entry, cmd = yaml.safe_load(d["ENTRYPOINT"][0]), yaml.safe_load(d["CMD"][0])
    assert entry == ["llmrouter", "serve"]
    args = serve_args(cmd)
    assert args.port == port == CONFIG.serve.port
    health = d["HEALTHCHECK"][0]
    url = re.search(r"http://127\.0\.0\.1:(\d+)(/[\w/]+)", health)
    assert url and int(url.group(1)) == port and url.group(2) in routes()
    copied = {src: dst for src, dst in (c.split()[-2:] for c in d["COPY"] if not c.startswith("--from"))}
    assert copied["deploy/gateway.yaml"] == args.config


def test_compose_runs_two_gateways_and_redis_with_what_the_config_reads():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    gateways = {name: s for name, s in services.items() if name.startswith("gateway")}
    assert len(gateways) == 2 and "redis" in services
    ports = set()
    for name, service in gateways.items():
        args = serve_args(service["command"])
        assert args.port == CONFIG.serve.port and args.host == "0.0.0.0"
        mounts = {v.split(":")[1]: v.split(":")[0] for v in service["volumes"]}
        assert (DEPLOY / mounts[args.config]).resolve() == (DEPLOY / "gateway.yaml").resolve()
        env = service["environment"]
        assert set(_REQUIRED_VAR.findall(GATEWAY_YAML)) <= set(env), name
        assert env["REDIS_URL"].startswith("redis://redis:")
        assert int(service["stop_grace_period"].rstrip("s")) > CONFIG.serve.drain_timeout
        published, target = service["ports"][0].split(":")
        assert int(target) == CONFIG.serve.port
        ports.add(published)
        assert service["build"]["dockerfile"] == "Dockerfile" and (DEPLOY / service["build"]["context"] / "Dockerfile").exists()
    assert len(ports) == 2


def test_the_kubernetes_manifests_agree_with_the_code_and_each_other():
    objects = k8s()
    deployment = objects["Deployment/llmrouter"]
    pod = deployment["spec"]["template"]
    container = pod["spec"]["containers"][0]
    args = serve_args(container["args"])
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["http"] == args.port

    # The ConfigMap's YAML is the deploy YAML, and loads.
    configmap = objects["ConfigMap/llmrouter-config"]
    text = configmap["data"]["config.yaml"]
    assert load_config(text).model_dump() == CONFIG.model_dump()
    assert load_config(text).serve.port == args.port
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    config_volume = next(name for name, v in volumes.items() if v.get("configMap", {}).get("name") == "llmrouter-config")
    assert f"{mounts[config_volume]}/config.yaml" == args.config

    # Probes: readiness on /health/ready, liveness on /health, both served, on the named port.
    served = routes()
    assert container["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert {"/health/ready", "/health", "/metrics"} <= served
    assert pod["metadata"]["annotations"]["prometheus.io/path"] in served
    assert int(pod["metadata"]["annotations"]["prometheus.io/port"]) == args.port

    # Every variable the YAML needs comes from the env or the Secret.
    secret = objects["Secret/llmrouter-keys"]
    provided = {e["name"] for e in container.get("env", [])}
    for source in container.get("envFrom", []):
        assert source["secretRef"]["name"] == secret["metadata"]["name"]
        provided |= set(secret["stringData"])
    assert set(_REQUIRED_VAR.findall(text)) <= provided
    assert secret["stringData"]["REDIS_URL"].startswith(f"redis://{objects['Service/llmrouter-redis']['metadata']['name']}:")

    # Drain, user, service, autoscaler.
    assert pod["spec"]["terminationGracePeriodSeconds"] > CONFIG.serve.drain_timeout
    assert str(pod["spec"]["securityContext"]["runAsUser"]) == dockerfile()["USER"][-1]
    labels = pod["metadata"]["labels"]
    service = objects["Service/llmrouter"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert service["spec"]["ports"][0]["targetPort"] in ports
    hpa = objects["HorizontalPodAutoscaler/llmrouter"]
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "llmrouter"}
    assert hpa["spec"]["minReplicas"] >= 2  # several instances: what the shared state is for
    # And the YAML asks for what these files provide: shared state, JSON logs, several workers.
    assert CONFIG.state.redis_url and CONFIG.serve.log_format == "json" and CONFIG.serve.workers >= 2
