"""SigV4 for Bedrock calls: botocore's signer over boto3's credential chain, resolved once.

The chain (env vars, shared files and profiles, SSO, web identity, container and instance
roles) is walked once per profile and environment, not on every request: walking it reads
files and may call a metadata endpoint. The credentials object it returns is botocore's own,
so temporary credentials refresh themselves as botocore refreshes them (a refresh, which can
block on the network, runs in a worker thread rather than on the event loop).

An ``AWS_BEARER_TOKEN_BEDROCK`` (Bedrock API key) replaces SigV4, as LiteLLM and boto3 do.
"""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Any

from llmrouter import errors

__all__ = ["auth_headers", "credentials_for"]

# What the chain reads from the environment: a change (a test, a rotated key in a long-lived
# CLI session) resolves afresh rather than signing with stale keys.
_CHAIN_ENV = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
)
_lock = threading.Lock()
_resolved: dict[tuple[str | None, ...], Any] = {}


def _chain_key(profile: str | None) -> tuple[str | None, ...]:
    return (profile, *(os.environ.get(name) for name in _CHAIN_ENV))


def credentials_for(profile: str | None) -> Any:
    """botocore's credentials for ``profile`` (None: the default chain), or None if there are none.

    Blocking the first time (files, maybe a metadata endpoint): call it from a thread, or
    through :func:`auth_headers`, which does.
    """
    key = _chain_key(profile)
    creds = _resolved.get(key)
    if creds is not None:
        return creds
    import botocore.session

    creds = botocore.session.Session(profile=profile).get_credentials()
    if creds is not None:  # none found is not remembered: the user may set them up
        with _lock:
            _resolved[key] = creds
    return creds


async def _frozen(profile: str | None, model_id: str, region: str) -> Any:
    creds = _resolved.get(_chain_key(profile))
    if creds is None:
        creds = await asyncio.to_thread(credentials_for, profile)
    if creds is None:
        raise errors.credentials_missing(model_id, region)
    refresh_needed = getattr(creds, "refresh_needed", None)  # RefreshableCredentials only
    if refresh_needed is not None and refresh_needed():
        return await asyncio.to_thread(creds.get_frozen_credentials)
    return creds.get_frozen_credentials()


def _bearer_token() -> str | None:
    return os.environ.get("AWS_BEARER_TOKEN_BEDROCK") or None


async def auth_headers(
    url: str, body: bytes, *, region: str, profile: str | None, model_id: str
) -> dict[str, str]:
    """The headers of one signed ``POST url`` with ``body`` to bedrock-runtime (JSON in)."""
    headers = {"Content-Type": "application/json"}
    token = _bearer_token()
    if token:
        headers["Authorization"] = f"Bearer {token}"
        return headers
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    request = AWSRequest(method="POST", url=url, data=body, headers=headers)
    SigV4Auth(await _frozen(profile, model_id, region), "bedrock", region).add_auth(request)
    return dict(request.headers.items())
