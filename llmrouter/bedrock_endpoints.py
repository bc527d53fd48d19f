"""Bedrock endpoint URLs: the runtime host a chat call must go to, from what a config names.

Configs around the Bedrock fork set ``base_url: https://bedrock.<region>.amazonaws.com``:
that is Bedrock's *control plane* (ListFoundationModels...), which has no Converse API.
Chat calls go to ``bedrock-runtime.<region>``; :func:`runtime_url` maps the one onto the
other. A VPC endpoint or any other override (a loopback stub) is returned unchanged.
"""

from __future__ import annotations

import re

__all__ = ["region_of", "runtime_url"]

# https://bedrock.us-east-1.amazonaws.com, bedrock-fips..., *.amazonaws.com.cn; an optional path.
_CONTROL_PLANE = re.compile(
    r"^(?P<scheme>https?://)bedrock(?P<fips>-fips)?\.(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)\.(?P<domain>amazonaws\.com(?:\.cn)?)/?$",
    re.IGNORECASE,
)
_RUNTIME_REGION = re.compile(r"bedrock-runtime(?:-fips)?\.(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)\.", re.IGNORECASE)


def runtime_url(url: str) -> str:
    """The bedrock-runtime URL for a control-plane ``url``; any other URL unchanged."""
    match = _CONTROL_PLANE.match(url.strip())
    if match is None:
        return url
    fips = match.group("fips") or ""
    return f"{match.group('scheme')}bedrock-runtime{fips.lower()}.{match.group('region').lower()}.{match.group('domain').lower()}"


def region_of(url: str) -> str | None:
    """The region a bedrock-runtime URL names, or None when it names none (a loopback stub)."""
    match = _RUNTIME_REGION.search(url)
    return match.group("region").lower() if match else None
