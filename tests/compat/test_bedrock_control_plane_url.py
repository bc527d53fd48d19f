"""A Bedrock ``base_url`` on the control-plane host is mapped to bedrock-runtime; overrides stay.

``https://bedrock.<region>.amazonaws.com`` (seen in configs around the Bedrock fork) has no
Converse API: chat calls must go to ``bedrock-runtime.<region>``. A VPC endpoint or a
loopback stub is an override the user meant, and is used as given.
"""

from __future__ import annotations

import logging

import pytest

from llmrouter.config import ConfigError, OpenClawConfig
from llmrouter.provider_params import litellm_params
from llmrouter.utils.chat_call import from_request

VPC = "https://vpce-0abc123.bedrock-runtime.us-west-2.vpce.amazonaws.com"


def bedrock(**extra: object) -> dict:
    return {"llms": {"claude": {"provider": "bedrock", "model": "anthropic.claude-3-haiku-20240307-v1:0", **extra}}}


def test_the_control_plane_host_is_mapped_and_said(caplog):
    config = OpenClawConfig.from_dict(bedrock(base_url="https://bedrock.eu-west-1.amazonaws.com"))
    llm = config.llms["claude"]
    assert llm.base_url == "https://bedrock-runtime.eu-west-1.amazonaws.com"
    assert llm.aws_region == "eu-west-1"  # the region the URL names, when none is set
    assert litellm_params(llm, 30)["api_base"] == "https://bedrock-runtime.eu-west-1.amazonaws.com"
    [notice] = config.notices
    assert "llms.claude.base_url" in notice and "control-plane" in notice and "bedrock-runtime.eu-west-1" in notice


def test_a_control_plane_host_in_another_region_than_aws_region_is_one_line():
    with pytest.raises(ConfigError) as caught:
        OpenClawConfig.from_dict(bedrock(base_url="https://bedrock.us-east-1.amazonaws.com/", aws_region="us-west-2"))
    message = str(caught.value)
    assert "\n" not in message and "control-plane host in us-east-1" in message and "aws_region is us-west-2" in message


@pytest.mark.parametrize("url", [VPC, "https://bedrock-runtime.us-west-2.amazonaws.com", "http://127.0.0.1:9102"])
def test_runtime_and_vpc_overrides_are_used_as_given(url):
    config = OpenClawConfig.from_dict(bedrock(base_url=url, aws_region="us-west-2"))
    assert config.llms["claude"].base_url == url and config.notices == []


def test_call_api_maps_a_control_plane_api_endpoint_and_logs_it(caplog):
    request = {"service": "bedrock", "api_name": "m", "query": "hi", "api_endpoint": "https://bedrock-fips.us-gov-west-1.amazonaws.com"}
    with caplog.at_level(logging.WARNING, logger="llmrouter.bedrock"):
        call = from_request(request)
    assert call.endpoint == "https://bedrock-runtime-fips.us-gov-west-1.amazonaws.com"
    assert any("control-plane" in r.getMessage() for r in caplog.records)
    assert from_request({**request, "api_endpoint": VPC}).endpoint == VPC
