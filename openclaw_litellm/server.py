"""``llmrouter serve``: load the config, build the app, run uvicorn (one process or several).

One process (``serve.workers: 1``, the default) runs :func:`serve_one`; more run under the
supervisor in :mod:`openclaw_litellm.workers`, each worker a :func:`serve_one` on the shared
socket. Either way SIGHUP reloads the config and SIGTERM drains (:mod:`openclaw_litellm.serving`).
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import signal
import socket
import sys
from typing import Any

from llmrouter.config import ConfigError, OpenClawConfig
from llmrouter.providers import BEDROCK
from llmrouter.secrets import install_log_redaction
from llmrouter.stderr_logging import StderrHandler

__all__ = ["run_from_cli", "serve_one", "setup_logging"]

log = logging.getLogger("openclaw.server")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def setup_logging(level: str, log_format: str = "text") -> None:
    """Log lines to stderr: ``text`` as before, ``json`` one JSON object per line (every logger)."""
    handler = StderrHandler()
    if log_format == "json":
        from openclaw_litellm.observability import JsonFormatter

        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    # One INFO line per upstream request from the HTTP client is noise on a gateway (and, under
    # --replay, reads as if providers were called); failures reach the log through the catalog.
    for name in ("httpx", "httpx2", "httpcore"):
        logging.getLogger(name).setLevel(logging.DEBUG if level.upper() == "DEBUG" else logging.WARNING)
    install_log_redaction()


def run_from_cli(args: argparse.Namespace) -> int:
    setup_logging(args.log_level)
    try:
        config = OpenClawConfig.from_yaml(args.config)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if config.serve.log_format != "text":
        setup_logging(args.log_level, config.serve.log_format)
    from llmrouter.provider_params import register_config_secrets

    register_config_secrets(config)
    try:  # a router that cannot be built (a trained one for other models...) is one line, before the banner
        from llmrouter.routing import build_strategy

        build_strategy(config)
    except ValueError as exc:
        print(f"error: {config.source}: {exc}", file=sys.stderr)
        return 2
    host = args.host or config.serve.host
    port = args.port if args.port is not None else config.serve.port
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
    if config.state.redis_url:
        from llmrouter.state.redis_store import redis_location

        log.info("shared state in Redis at %s", redis_location(config.state.redis_url))
    log.info("OpenClaw gateway on http://%s:%d (OpenAI base URL http://%s:%d/v1)", host, port, host, port)
    if config.serve.workers > 1:
        from openclaw_litellm.workers import supervise

        return supervise(args, config, host, port)
    return serve_one(args, config, host=host, port=port)


class _Stores:
    """One state store per ``state:`` section, kept across reloads (rate windows, spend and
    cooldowns survive a reload; a changed ``redis_url`` opens a new store)."""

    def __init__(self) -> None:
        self._stores: dict[tuple[str | None, str], Any] = {}

    def get(self, config: OpenClawConfig) -> Any:
        from llmrouter.state import open_store

        where = (config.state.redis_url, config.state.prefix)
        if where not in self._stores:
            self._stores[where] = open_store(*where)
        return self._stores[where]


def serve_one(args: argparse.Namespace, config: OpenClawConfig, *, host: str = "127.0.0.1", port: int = 0,
              sockets: list[socket.socket] | None = None) -> int:
    """Serve until SIGTERM (drain) or SIGINT; SIGHUP reloads ``args.config``."""
    import uvicorn

    from openclaw_litellm.app import create_app
    from openclaw_litellm.litellm_warmup import LiteLLMWarmup
    from openclaw_litellm.observability import Drain
    from openclaw_litellm.reloadable import ReloadableApp
    from openclaw_litellm.serving import GatewayServer
    from openclaw_litellm.websocket import max_message_bytes

    drain = Drain()
    stores = _Stores()
    # One LiteLLM warm-up per process: a reload must not warm up again (and turn /health/ready
    # 503 meanwhile, which a load balancer would take as the instance going away).
    warmup = LiteLLMWarmup()

    def build(new: OpenClawConfig) -> Any:
        return create_app(new, prefix=args.prefix, store=stores.get(new), drain=drain, warmup=warmup)

    try:
        app = ReloadableApp(lambda: OpenClawConfig.from_yaml(args.config), build, config)
    except ValueError as exc:
        print(f"error: {config.source}: {exc}", file=sys.stderr)
        return 2
    _exit_cleanly_on_sigterm()
    options: dict[str, Any] = {}
    if config.serve.log_format == "json":
        options["log_config"] = None  # uvicorn's lines go through the root's JSON handler
    uv_config = uvicorn.Config(
        app, host=host, port=port, log_level=args.log_level, access_log=False, lifespan="on",
        # uvicorn's default (16 MiB) would let each WebSocket message exceed serve.max_body_bytes.
        ws_max_size=max_message_bytes(config.serve.max_body_bytes),
        # What is left after the drain (serving.py) gets this long before it is cut.
        timeout_graceful_shutdown=1, **options,
    )
    GatewayServer(uv_config, app, drain).run(sockets=sockets)
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
