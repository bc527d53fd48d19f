"""Our code emits no warnings on the paths a user runs; the ones pytest filters (pyproject's
``filterwarnings``) come from dependencies (pydantic about LiteLLM's TypedDicts, LiteLLM's
use of deprecated pydantic attributes), which is what this checks."""

from __future__ import annotations

import warnings
from pathlib import Path

from conftest import REFERENCE

ROOT = Path(__file__).resolve().parents[2]
OURS = [ROOT / "llmrouter", ROOT / "openclaw_litellm", ROOT / "tests"]


def _ours(filename: str) -> bool:
    path = Path(filename).resolve()
    return any(path.is_relative_to(folder) for folder in OURS)


def test_config_app_and_both_provider_kinds_warn_about_nothing_of_ours() -> None:
    from llmrouter.config import OpenClawConfig
    from llmrouter.recording import recording
    from llmrouter.utils.api_calling import call_api
    from openclaw_litellm.app import create_app

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        config = OpenClawConfig.from_yaml(ROOT / "configs" / "openclaw_example.yaml")
        app = create_app(config)
        app.openapi()
        with recording(replay_dir=str(REFERENCE)):
            bedrock = call_api({"service": "bedrock", "api_name": "amazon.titan-text-lite-v1", "aws_region": "us-east-1",
                                "query": "Say this is a test", "api_endpoint": None, "model_name": "titan"}, max_retries=0)
            nvidia = call_api({"service": "nvidia", "api_name": "meta/llama-3.1-8b-instruct", "query": "Hello!",
                               "api_endpoint": "https://integrate.api.nvidia.com/v1", "model_name": "llama"}, max_retries=0)
    assert bedrock["response"] == "Hi, how can I help you", bedrock
    assert nvidia["response"].startswith("Hello! It's nice to meet you"), nvidia
    ours = [f"{w.filename}:{w.lineno}: {w.category.__name__}: {w.message}" for w in caught if _ours(w.filename)]
    assert not ours, ours
