"""Shared test setup: offline LiteLLM, dummy AWS credentials, cassette replay."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# Before anything imports LiteLLM or botocore: no network, no real AWS identity.
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
os.environ["AWS_ACCESS_KEY_ID"] = "AKIDTESTINGONLY0000"
os.environ["AWS_SECRET_ACCESS_KEY"] = "test-secret-key-not-real"
os.environ["AWS_CONFIG_FILE"] = "/nonexistent/aws-config"
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = "/nonexistent/aws-credentials"
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
for _name in ("AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_SESSION_TOKEN"):
    os.environ.pop(_name, None)

from fault_upstream import FaultUpstream  # noqa: E402
from loopback import REFERENCE, LoopbackUpstream  # noqa: E402
from real_server import RunningGateway  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CASSETTES = ROOT / "cassettes"


@contextlib.contextmanager
def replay(relative: str, *, repeat: bool = False, ignore_localhost: bool = False) -> Iterator[object]:
    """Serve upstream HTTP from a cassette (method + URI matching); anything else fails."""
    import vcr

    player = vcr.VCR(
        match_on=["method", "scheme", "host", "port", "path", "query"],
        record_mode="none",
        ignore_localhost=ignore_localhost,
    )
    path = Path(relative)
    if not path.is_absolute():
        path = REFERENCE / relative if (REFERENCE / relative).exists() else CASSETTES / relative
    with player.use_cassette(str(path), allow_playback_repeats=repeat) as cassette:
        yield cassette


@pytest.fixture
def cassette():
    """``with cassette("weave/...yaml"):`` replays that recording."""
    return replay


# --- Gateway and loopback upstreams for the server tests ----------------------------------------
#
# The gateway runs in-process under uvicorn in a daemon thread (real_server.RunningGateway); the
# upstreams it calls are either replayed from cassettes (`replay_upstream`: loopback traffic
# passes through, so the test's own requests to the gateway are not intercepted) or served by
# loopback.LoopbackUpstream on 127.0.0.1.


@contextlib.contextmanager
def replay_upstream(relative: str | os.PathLike[str], *, repeat: bool = False) -> Iterator[object]:
    """Like :func:`replay`, but requests to 127.0.0.1 go out for real (the gateway, stubs)."""
    with replay(os.fspath(relative), repeat=repeat, ignore_localhost=True) as cassette:
        yield cassette


@pytest.fixture(scope="session")
def gateway_factory() -> Iterator[object]:
    """``gateway_factory(config_dict_or_OpenClawConfig, prefix=None) -> RunningGateway``.

    Session-scoped so that module-scoped fixtures can share one gateway; all stop at the end.
    """
    started: list[RunningGateway] = []

    def start(config: object, prefix: bool | None = None) -> RunningGateway:
        gw = RunningGateway(config, prefix)
        started.append(gw)
        return gw

    yield start
    for gw in started:  # all at once: each uvicorn takes a moment to notice
        gw.server.should_exit = True
    for gw in started:
        gw.stop()


@pytest.fixture
def gateway(gateway_factory):  # noqa: ANN001, ANN201
    """A function-scoped alias of :func:`gateway_factory` (same signature)."""
    return gateway_factory


@contextlib.contextmanager
def _upstreams() -> Iterator[object]:
    started: list[LoopbackUpstream] = []

    def start(route) -> LoopbackUpstream:  # noqa: ANN001
        started.append(LoopbackUpstream(route))
        return started[-1]

    yield start
    for up in started:
        up.stop()


@pytest.fixture(scope="session")
def upstream_factory() -> Iterator[object]:
    """``upstream_factory(route) -> LoopbackUpstream`` (session-scoped; all stop at the end)."""
    with _upstreams() as start:
        yield start


@pytest.fixture
def upstream() -> Iterator[object]:
    """``upstream(route) -> LoopbackUpstream``; these stop when the test ends."""
    with _upstreams() as start:
        yield start


def sse_events(text: str) -> list[object]:
    """The ``data:`` events of an SSE body: parsed JSON objects, and ``"[DONE]"`` as a string."""
    import json

    events: list[object] = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        data = [line[5:].lstrip() for line in block.split("\n") if line.startswith("data:")]
        if not data:
            continue
        payload = "\n".join(data)
        events.append(payload if payload == "[DONE]" else json.loads(payload))
    return events


# --- in-process gateway (tests/test_routing*.py, test_fallback*.py) ------------------------------


@contextlib.asynccontextmanager
async def asgi_gateway(config: object, prefix: bool | None = None):  # noqa: ANN201 - yields (httpx.AsyncClient, app)
    """``async with asgi_gateway(config_dict) as (client, app):`` the app served in-process
    (httpx's ASGI transport, no socket to the gateway; its upstreams are real loopback servers).
    The backend's pooled upstream client is closed on the way out, as the app's lifespan would."""
    import httpx

    from openclaw_litellm.app import create_app
    from llmrouter.config import OpenClawConfig

    if isinstance(config, dict):
        config = OpenClawConfig.from_dict(config)
    app = create_app(config, prefix=prefix)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway", timeout=30) as client:
            yield client, app
    finally:
        await app.state.backend.aclose()


@pytest.fixture(scope="module")
def up():  # noqa: ANN201
    """A fault-injecting OpenAI-compatible upstream (tests/fault_upstream.py), per module."""
    with FaultUpstream() as stub:
        yield stub


@pytest.fixture(scope="module")
def bad_token_stream_cassette(tmp_path_factory):  # noqa: ANN001, ANN201
    """The recorded 403 (bad token) addressed to ConverseStream: AWS rejects both the same way."""
    import yaml

    data = yaml.safe_load((REFERENCE / "openllmetry/bedrock-historical-d4c2ca62/test_titan_converse_with_caching.yaml").read_text())
    for interaction in data["interactions"]:
        interaction["request"]["uri"] = interaction["request"]["uri"].replace("/converse", "/converse-stream")
    path = tmp_path_factory.mktemp("cassettes") / "bad_token_stream.yaml"
    path.write_text(yaml.safe_dump(data))
    return path
