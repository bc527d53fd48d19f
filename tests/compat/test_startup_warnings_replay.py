"""Under --replay no provider is called: the startup warnings say nothing about missing keys."""

from llmrouter.config import OpenClawConfig
from llmrouter.recording import recording
from llmrouter.startup_checks import startup_warnings

CONFIG = {"llms": {"llama": {"provider": "nvidia", "model": "meta/llama-3.1-8b-instruct", "api_key_env": "UNSET_KEY_FOR_TEST"}}}


def test_key_warnings_are_given_live_and_not_under_replay(tmp_path, monkeypatch):
    monkeypatch.delenv("UNSET_KEY_FOR_TEST", raising=False)
    config = OpenClawConfig.from_dict(CONFIG)
    assert any("llama" in w for w in startup_warnings(config))  # live: the missing key is named
    (tmp_path / "x.yaml").write_text("interactions: []\n")
    with recording(replay_dir=str(tmp_path)):
        assert startup_warnings(config) == []
