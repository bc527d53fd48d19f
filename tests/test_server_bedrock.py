"""Where a Bedrock request goes: region from YAML, the AWS default chain, an endpoint
override (``base_url``), and the spellings of the provider name.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import yaml

from conftest import REFERENCE, replay_upstream
from loopback import StubReply, converse_body, recorded_converse_stream_frames
from llmrouter.config import OpenClawConfig

BEDROCK = "opentelemetry-python-contrib/botocore/test_converse_with_content.yaml"
HELLO = [{"role": "user", "content": "Say this is a test"}]


def regional_cassette(tmp_path: Path, region: str) -> Path:
    """The reference Converse recording, re-addressed to ``region`` (bodies untouched)."""
    data = yaml.safe_load((REFERENCE / BEDROCK).read_text())
    for interaction in data["interactions"]:
        request = interaction["request"]
        assert "bedrock-runtime.us-east-1.amazonaws.com" in request["uri"]
        request["uri"] = request["uri"].replace("us-east-1", region)
    path = tmp_path / f"converse-{region}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def yaml_config(tmp_path: Path, text: str) -> OpenClawConfig:
    path = tmp_path / "openclaw.yaml"
    path.write_text(text)
    return OpenClawConfig.from_yaml(path)


def test_aws_region_from_yaml_reaches_the_request_url(tmp_path, gateway):
    config = yaml_config(
        tmp_path,
        """
llms:
  paris:
    provider: bedrock
    model: amazon.titan-text-lite-v1
    aws_region: eu-west-3
""",
    )
    gw = gateway(config)
    with replay_upstream(regional_cassette(tmp_path, "eu-west-3")) as cassette:
        answer = gw.client().chat.completions.create(model="paris", messages=HELLO)
    assert cassette.play_count == 1
    assert cassette.requests[0].host == "bedrock-runtime.eu-west-3.amazonaws.com"
    assert answer.choices[0].message.content == "Hi, how can I help you"

    # Replaying the us-east-1 recording instead fails, and the error names the URL it tried.
    with replay_upstream(BEDROCK) as cassette:
        failed = httpx.post(f"{gw.base_url}/chat/completions", json={"model": "paris", "messages": HELLO}, timeout=30)
    assert cassette.play_count == 0
    assert failed.status_code == 502
    assert "https://bedrock-runtime.eu-west-3.amazonaws.com/model/amazon.titan-text-lite-v1/converse" in failed.json()["error"]["message"]


def test_no_aws_region_uses_the_default_chain(tmp_path, gateway, monkeypatch):
    monkeypatch.setenv("AWS_REGION", "ap-northeast-1")
    gw = gateway({"llms": {"tokyo": {"provider": "bedrock", "model": "amazon.titan-text-lite-v1"}}})
    assert gw.config.llms["tokyo"].aws_region is None
    with replay_upstream(regional_cassette(tmp_path, "ap-northeast-1")) as cassette:
        answer = gw.client().chat.completions.create(model="tokyo", messages=HELLO)
    assert cassette.play_count == 1
    assert answer.choices[0].message.content == "Hi, how can I help you"


@pytest.fixture
def bedrock_stub(upstream):
    """A loopback Bedrock Runtime: Converse JSON, or the recorded ConverseStream frames."""
    frames = recorded_converse_stream_frames()

    def route(request):
        if request.path.endswith("/converse-stream"):
            return StubReply(headers={"content-type": "application/vnd.amazon.eventstream"}, parts=frames)
        return StubReply(headers={"content-type": "application/json"}, body=converse_body("answered by the loopback stub"))

    return upstream(route)


def test_bedrock_base_url_override_reaches_the_request_url(gateway, bedrock_stub):
    gw = gateway(
        {
            "llms": {
                "vpc": {
                    "provider": "bedrock",
                    "model": "amazon.titan-text-lite-v1",
                    "aws_region": "us-west-2",
                    "base_url": bedrock_stub.url,
                }
            }
        }
    )
    answer = gw.client().chat.completions.create(model="vpc", messages=HELLO)
    assert answer.choices[0].message.content == "answered by the loopback stub"
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens, answer.usage.total_tokens) == (1, 2, 3)
    [request] = bedrock_stub.requests
    assert request.method == "POST"
    assert request.path == "/model/amazon.titan-text-lite-v1/converse"
    # Signed with SigV4 for the configured region, the conversation in Converse's shape.
    assert request.headers["authorization"].startswith("AWS4-HMAC-SHA256 ")
    assert "/us-west-2/bedrock/aws4_request" in request.headers["authorization"]
    assert request.json()["messages"] == [{"role": "user", "content": [{"text": "Say this is a test"}]}]

    chunks = list(gw.client().chat.completions.create(model="vpc", messages=HELLO, stream=True))
    assert bedrock_stub.requests[-1].path == "/model/amazon.titan-text-lite-v1/converse-stream"
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "I am here and ready to assist"


def test_whole_conversation_reaches_bedrock(gateway, bedrock_stub):
    gw = gateway({"llms": {"vpc": {"provider": "aws", "model": "amazon.titan-text-lite-v1", "aws_region": "us-east-1", "base_url": bedrock_stub.url}}})
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "first answer"},
        {"role": "user", "content": "second question"},
    ]
    gw.client().chat.completions.create(model="vpc", messages=messages, temperature=0.2, max_tokens=33)
    sent = bedrock_stub.requests[-1].json()
    assert sent["system"] == [{"text": "Be brief."}]
    assert [(m["role"], m["content"][0]["text"]) for m in sent["messages"]] == [
        ("user", "first question"),
        ("assistant", "first answer"),
        ("user", "second question"),
    ]
    assert sent["inferenceConfig"]["maxTokens"] == 33
    assert sent["inferenceConfig"]["temperature"] == 0.2


@pytest.mark.parametrize("spelling", ["AWS", "Bedrock", "bedrock", "aws", " BEDROCK "])
def test_provider_spellings_all_mean_bedrock(gateway, spelling):
    gw = gateway({"llms": {"m": {"provider": spelling, "model": "amazon.titan-text-lite-v1", "aws_region": "us-east-1"}}})
    with replay_upstream(BEDROCK) as cassette:
        answer = gw.client().chat.completions.create(model="m", messages=HELLO)
    assert cassette.play_count == 1
    assert answer.choices[0].message.content == "Hi, how can I help you"
    assert [m.owned_by for m in gw.client().models.list().data if m.id == "m"] == ["aws-bedrock"]
