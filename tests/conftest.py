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

ROOT = Path(__file__).resolve().parent.parent
CASSETTES = ROOT / "cassettes"
REFERENCE = CASSETTES / "reference"


@contextlib.contextmanager
def replay(relative: str, *, repeat: bool = False) -> Iterator[object]:
    """Serve upstream HTTP from a cassette (method + URI matching); anything else fails."""
    import vcr

    player = vcr.VCR(
        match_on=["method", "scheme", "host", "port", "path", "query"],
        record_mode="none",
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
