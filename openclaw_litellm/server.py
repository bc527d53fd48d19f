"""``llmrouter serve``: load the config, build the app, run uvicorn."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import signal
import sys

from llmrouter.secrets import install_log_redaction
from llmrouter.config import ConfigError, OpenClawConfig
from llmrouter.providers import BEDROCK

__all__ = ["run_from_cli"]

log = logging.getLogger("openclaw.server")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run_from_cli(args: argparse.Namespace) -> int:
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    install_log_redaction()
    try:
        config = OpenClawConfig.from_yaml(args.config)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from llmrouter.provider_params import register_config_secrets

    register_config_secrets(config)
    host = args.host or config.serve.host
    port = args.port if args.port is not None else config.serve.port

    import uvicorn

    from openclaw_litellm.app import create_app

    try:
        app = create_app(config, prefix=args.prefix)
    except ValueError as exc:
        print(f"error: {config.source}: {exc}", file=sys.stderr)
        return 2
    if not _is_loopback(host):
        if config.serve.api_keys:
            log.warning("binding %s: the gateway is reachable from other machines (API keys required)", host)
        else:
            log.warning(
                "!!! binding %s WITHOUT serve.api_keys: anyone who can reach this address can spend your "
                "provider credits. Set serve.api_keys, or bind 127.0.0.1. !!!", host,
            )
    for name, llm in config.llms.items():
        where = f"region {llm.aws_region or 'default chain'}" if llm.is_bedrock else llm.base_url
        log.info("model %-24s %s %s (%s)", name, BEDROCK if llm.is_bedrock else llm.provider, llm.model, where)
    log.info("OpenClaw gateway on http://%s:%d (OpenAI base URL http://%s:%d/v1)", host, port, host, port)
    _exit_cleanly_on_sigterm()
    from openclaw_litellm.websocket import max_message_bytes

    # uvicorn's default (16 MiB) would let each WebSocket message exceed serve.max_body_bytes.
    ws_max_size = max_message_bytes(config.serve.max_body_bytes)
    uvicorn.run(app, host=host, port=port, log_level=args.log_level, access_log=False, lifespan="on", ws_max_size=ws_max_size)
    return 0


def _exit_cleanly_on_sigterm() -> None:
    """After its graceful shutdown uvicorn re-raises the SIGTERM it caught; with the default
    handler that kills the process before ``--record`` writes its cassettes (``docker stop``,
    systemd, ``kill`` would lose the recording). Leave through Python instead, exit code 0."""
    def leave(signum: int, frame: object) -> None:
        raise SystemExit(0)

    try:
        signal.signal(signal.SIGTERM, leave)
    except ValueError:  # not the main thread (embedded use): leave signals alone
        pass
