"""Routing strategies: each strategy's choice, its YAML validation, and `auto` end to end.

Randomness is stubbed or seeded, never the router: the strategies run as the server runs them.
"""

from __future__ import annotations

import asyncio
import collections
import json
import random

import pytest

from conftest import asgi_gateway
from loopback import StubReply, openai_completion_body
from llmrouter import errors
from llmrouter.config import ROUTER_STRATEGIES, ConfigError, OpenClawConfig
from llmrouter.routing import AUTO, STRATEGIES, Router
from llmrouter.routing.cost import estimate_prompt_tokens
from openclaw_litellm.schemas import ChatRequest


def llm(model: str, **extra: object) -> dict:
    return {"provider": "vllm", "model": model, "base_url": "http://127.0.0.1:9/v1", **extra}


def config(router: dict, llms: dict | None = None) -> OpenClawConfig:
    return OpenClawConfig.from_dict({"router": router, "llms": llms or {"a": llm("A"), "b": llm("B"), "c": llm("C")}})


def ask(text: str = "hi", *, model: str = AUTO, history: list[dict] | None = None, **extra: object) -> ChatRequest:
    return ChatRequest.model_validate({"model": model, "messages": [*(history or []), {"role": "user", "content": text}], **extra})


async def chosen(router: Router, request: ChatRequest) -> str:
    return (await router.select(request))[0][0]


# --- first, explicit names, fallbacks ---------------------------------------------------------


async def test_first_is_the_default_strategy_and_fallbacks_follow_without_repeats():
    router = Router(config({"fallback_models": ["c", "a"]}))
    assert [name for name, _ in await router.select(ask())] == ["a", "c"]
    assert [name for name, _ in await router.select(ask(model="b"))] == ["b", "c", "a"]


async def test_an_explicit_name_bypasses_the_strategy_and_an_unknown_one_is_404():
    router = Router(config({"strategy": "round_robin"}))
    assert [await chosen(router, ask(model="c")) for _ in range(3)] == ["c", "c", "c"]
    with pytest.raises(errors.GatewayError) as caught:
        await router.select(ask(model="gpt-5"))
    assert caught.value.status == 404 and "auto, a, b, c" in caught.value.message


async def test_router_models_limits_the_pool_of_auto():
    router = Router(config({"strategy": "round_robin", "models": ["c", "b"]}))
    assert [await chosen(router, ask()) for _ in range(4)] == ["c", "b", "c", "b"]


# --- random -----------------------------------------------------------------------------------


class StubRandom:
    """Plays back the uniform draws it is given."""

    def __init__(self, draws: list[float]) -> None:
        self.draws = iter(draws)

    def random(self) -> float:
        return next(self.draws)


async def test_random_maps_each_draw_to_its_weighted_slice():
    # weights 3 : 1 : 0 over a, b, c  ->  a covers [0, 0.75), b [0.75, 1); c never.
    router = Router(config({"strategy": "random", "weights": {"a": 3, "b": 1, "c": 0}}))
    router.strategy.rng = StubRandom([0.0, 0.74, 0.75, 0.999])
    assert [await chosen(router, ask()) for _ in range(4)] == ["a", "a", "b", "b"]


async def test_random_with_a_seed_follows_the_weights_and_unlisted_models_weigh_one():
    router = Router(config({"strategy": "random", "weights": {"a": 6, "b": 3}}))  # c: 1 (unlisted)
    router.strategy.rng = random.Random(1234)
    counts = collections.Counter([await chosen(router, ask()) for _ in range(5000)])
    assert set(counts) == {"a", "b", "c"}
    assert abs(counts["a"] / 5000 - 0.6) < 0.03 and abs(counts["b"] / 5000 - 0.3) < 0.03 and abs(counts["c"] / 5000 - 0.1) < 0.02


async def test_random_without_weights_is_uniform():
    router = Router(config({"strategy": "random"}))
    router.strategy.rng = StubRandom([0.1, 0.4, 0.9])
    assert [await chosen(router, ask()) for _ in range(3)] == ["a", "b", "c"]


# --- round robin ------------------------------------------------------------------------------


async def test_round_robin_cycles_in_pool_order():
    router = Router(config({"strategy": "round_robin"}))
    assert [await chosen(router, ask()) for _ in range(7)] == ["a", "b", "c", "a", "b", "c", "a"]


async def test_round_robin_splits_50_concurrent_requests_evenly(upstream):
    up = upstream(lambda request: StubReply(headers={"content-type": "application/json"}, body=openai_completion_body("ok", request.json()["model"])))
    up.server.socket.listen(128)  # socketserver's backlog of 5 would drop some of 50 simultaneous connects
    names = [f"m{i}" for i in range(5)]
    cfg = {"router": {"strategy": "round_robin"}, "llms": {n: {"provider": "vllm", "model": n, "base_url": f"{up.url}/v1"} for n in names}}
    body = {"model": "auto", "messages": [{"role": "user", "content": "hi"}]}
    async with asgi_gateway(cfg) as (client, _):
        replies = await asyncio.gather(*(client.post("/v1/chat/completions", json=body) for _ in range(50)))
    assert [r.status_code for r in replies] == [200] * 50, [r.text for r in replies if r.status_code != 200][:2]
    served = collections.Counter(r.headers["x-openclaw-model"] for r in replies)
    assert served == {n: 10 for n in names}
    assert collections.Counter(r.json()["model"] for r in replies) == served
    assert collections.Counter(req.json()["model"] for req in up.requests) == served


# --- rules ------------------------------------------------------------------------------------

RULES = {
    "strategy": "rules",
    "rules": [
        {"keywords": ["python", "Traceback"], "model": "b"},
        {"keywords": ["translate"], "model": "c"},
        {"keywords": ["code"], "model": "a"},
    ],
    "default": "c",
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Why does my PYTHON script fail?", "b"),  # case-insensitive
        ("traceback (most recent call last)", "b"),
        ("Translate this code to French", "c"),  # the first matching rule wins
        ("Decode this", "a"),  # keywords are substrings
        ("Tell me a joke", "c"),  # no rule: the default
    ],
)
async def test_rules_first_matching_rule_then_default(text, expected):
    assert await chosen(Router(config(RULES)), ask(text)) == expected


async def test_rules_read_only_the_last_user_message():
    history = [
        {"role": "system", "content": "You write python code."},
        {"role": "user", "content": "translate python to code"},
        {"role": "assistant", "content": "Sure, python."},
        {"role": "user", "content": [{"type": "text", "text": "And now a joke"}, {"type": "image_url", "image_url": {"url": "data:,"}}]},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "t1", "function": {"name": "search", "arguments": "{}"}}]},
    ]
    request = ChatRequest.model_validate({"model": "auto", "messages": [*history, {"role": "tool", "tool_call_id": "t1", "content": "python Traceback"}]})
    assert await chosen(Router(config(RULES)), request) == "c"


async def test_rules_without_default_fall_to_the_first_model_of_the_pool():
    router = Router(config({"strategy": "rules", "rules": [{"keywords": ["x-ray"], "model": "c"}], "models": ["b", "c"]}))
    assert await chosen(router, ask("nothing matches")) == "b"


# --- cost -------------------------------------------------------------------------------------

COST_LLMS = {
    "tiny": llm("tiny", input_price=0.05, output_price=0.1, context_limit=1000),
    "mid": llm("mid", input_price=0.5, output_price=1.5, context_limit=32000),
    "big": llm("big", input_price=3.0, output_price=15.0, context_limit=200000),
    "unpriced": llm("unpriced"),
}


async def test_cost_picks_the_cheapest_model_whose_context_fits():
    router = Router(config({"strategy": "cost"}, COST_LLMS))
    assert await chosen(router, ask("short question")) == "tiny"
    # ~2,500 prompt tokens + 512 default output tokens: too big for tiny.
    assert await chosen(router, ask("x" * 10_000)) == "mid"
    # A request's own max_tokens counts towards the context.
    assert await chosen(router, ask("short", max_tokens=2000)) == "mid"
    assert await chosen(router, ask("x" * 400_000)) == "big"


async def test_cost_when_nothing_fits_uses_the_largest_context():
    llms = {k: v for k, v in COST_LLMS.items() if k != "unpriced"}
    router = Router(config({"strategy": "cost"}, llms))
    assert await chosen(router, ask("x" * 2_000_000)) == "big"


async def test_cost_ranks_unpriced_models_last_but_uses_them_when_they_fit_alone():
    llms = {"unpriced": llm("unpriced"), "small": llm("small", input_price=9.0, output_price=9.0, context_limit=100)}
    router = Router(config({"strategy": "cost"}, llms))
    assert await chosen(router, ask("hi", max_tokens=10)) == "small"
    assert await chosen(router, ask("hi" * 500)) == "unpriced"


async def test_cost_weighs_output_price_by_the_expected_output():
    # cheap input, expensive output vs. the reverse: the answer's length decides.
    llms = {"readers": llm("r", input_price=0.1, output_price=10.0), "writers": llm("w", input_price=2.0, output_price=0.5)}
    router = Router(config({"strategy": "cost"}, llms))
    assert await chosen(router, ask("x" * 40_000, max_tokens=10)) == "readers"
    assert await chosen(router, ask("short", max_tokens=4000)) == "writers"


def test_prompt_estimate_counts_messages_tools_and_images():
    request = ChatRequest.model_validate(
        {
            "model": "auto",
            "messages": [
                {"role": "system", "content": "s" * 400},
                {"role": "user", "content": [{"type": "text", "text": "t" * 400}, {"type": "image_url", "image_url": {"url": "data:,"}}]},
                {"role": "assistant", "tool_calls": [{"id": "1", "function": {"name": "f", "arguments": "a" * 399}}]},
            ],
            "tools": [{"type": "function", "function": {"name": "f", "description": "d" * 400, "parameters": {"type": "object"}}}],
        }
    )
    # 3 messages x 4 + 1 image x 1000 + ceil((400 + 400 + 400 + 401 + 17) / 4)
    assert estimate_prompt_tokens(request) == 12 + 1000 + 405


# --- configuration ----------------------------------------------------------------------------


EXTRA = {"rules": {"rules": [{"keywords": ["weather"], "model": "b"}]}, "llm": {"router_model": "c"}}


async def test_every_strategy_the_config_accepts_builds_its_own_router_and_routes_auto():
    """Each name config.py validates must reach a builder of its own (a name the registry
    lacked would fail at startup; one mapped to the wrong strategy would route wrongly)."""
    kinds = {}
    for strategy in ROUTER_STRATEGIES:
        router = Router(config({"strategy": strategy, **EXTRA.get(strategy, {})}))
        kinds[strategy] = type(router.strategy)
        candidates = await router.select(ask("what is the weather"))
        assert candidates[0][0] in {"a", "b", "c"}, strategy
    assert len(set(kinds.values())) == len(ROUTER_STRATEGIES), kinds
    assert set(kinds) == STRATEGIES


def test_an_unknown_strategy_is_a_startup_error_naming_file_and_key(tmp_path):
    path = tmp_path / "gw.yaml"
    path.write_text("router:\n  strategy: round-robin\nllms:\n  a: {provider: vllm, model: A, base_url: 'http://127.0.0.1:9/v1'}\n")
    with pytest.raises(ConfigError) as caught:
        OpenClawConfig.from_yaml(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: router.strategy: unknown strategy 'round-robin'")
    assert "did you mean 'round_robin'?" in message and "cost" in message


@pytest.mark.parametrize(
    ("router", "expected"),
    [
        ({"strategy": "llm"}, "router: strategy `llm` needs `router_model`"),
        ({"strategy": "rules"}, "router: strategy `rules` needs `rules`"),
        ({"strategy": "rules", "rules": [{"keywords": ["x"], "model": "d"}]}, "router.rules.0.model: 'd' is not a model under `llms`"),
        ({"strategy": "rules", "rules": [{"keywords": [], "model": "a"}]}, "router.rules.0.keywords:"),
        ({"strategy": "rules", "rules": [{"keywords": ["x"], "modle": "a"}]}, "router.rules.0.model: Field required"),
        ({"strategy": "rules", "rules": [{"keywords": ["x"], "model": "a", "modle": "a"}]}, "router.rules.0.modle: unknown key; did you mean 'model'?"),
        ({"strategy": "llm", "router_model": "bb"}, "router.router_model: 'bb' is not a model under `llms`; did you mean 'b'?"),
        ({"strategy": "random", "weights": {"a": 0, "b": 0, "c": 0}}, "router.weights: every model weighs 0"),
        ({"strategy": "random", "weights": {"a": 1.5}}, "router.weights.a:"),
        ({"strategy": "random", "weights": {"a": -1}}, "router.weights.a:"),
        ({"fallback_models": ["z"]}, "router.fallback_models.0: 'z' is not a model under `llms`"),
        ({"default": "z"}, "router.default: 'z' is not a model under `llms`"),
        ({"models": ["a", "z"]}, "router.models.1: 'z'"),
        ({"deadline": 0}, "router.deadline:"),
        ({"stratgy": "first"}, "router.stratgy: unknown key; did you mean 'strategy'?"),
    ],
)
def test_router_config_errors_name_the_key(router, expected):
    with pytest.raises(ConfigError) as caught:
        config(router)
    assert str(caught.value).startswith(f"<memory>: {expected}"), str(caught.value)


def test_a_model_cannot_be_called_auto():
    with pytest.raises(ConfigError, match="llms.auto: `auto` is reserved"):
        config({}, {"auto": llm("A")})


def test_every_yaml_block_of_docs_routing_loads_and_covers_every_strategy():
    """docs/routing.md's blocks, each with the doc's shared `llms`, load and build a Router."""
    from pathlib import Path

    import yaml

    doc = (Path(__file__).resolve().parent.parent / "docs" / "routing.md").read_text()
    blocks = [yaml.safe_load(b.split("```", 1)[0]) for b in doc.split("```yaml\n")[1:]]
    [llms] = [b["llms"] for b in blocks if "llms" in b]
    seen = set()
    for block in blocks:
        if "router" in block:
            cfg = OpenClawConfig.from_dict({"llms": llms, **block})
            Router(cfg)
            seen.add(cfg.router.strategy)
    assert seen == set(ROUTER_STRATEGIES)


async def test_the_cost_example_of_docs_routing_holds():
    from pathlib import Path

    import yaml

    doc = (Path(__file__).resolve().parent.parent / "docs" / "routing.md").read_text()
    llms = yaml.safe_load(doc.split("```yaml\n")[1].split("```", 1)[0])["llms"]
    router = Router(OpenClawConfig.from_dict({"router": {"strategy": "cost"}, "llms": llms}))
    assert await chosen(router, ask("Hi")) == "llama-8b"
    router = Router(OpenClawConfig.from_dict({"router": {"strategy": "cost", "models": ["titan-lite", "claude-sonnet"]}, "llms": llms}))
    assert await chosen(router, ask("What is 2 + 2?")) == "titan-lite"
    assert await chosen(router, ask("word " * 16_000)) == "claude-sonnet"


# --- end to end -------------------------------------------------------------------------------


async def test_models_endpoint_lists_auto_first():
    async with asgi_gateway({"llms": {"a": llm("A")}}) as (client, _):
        ids = [m["id"] for m in (await client.get("/v1/models")).json()["data"]]
    assert ids == ["auto", "a"]


async def test_auto_with_rules_is_served_by_the_chosen_model(upstream):
    up = upstream(lambda request: StubReply(headers={"content-type": "application/json"}, body=openai_completion_body("ok", request.json()["model"])))
    base = f"{up.url}/v1"
    cfg = {
        "router": RULES,
        "llms": {n: {"provider": "vllm", "model": n.upper(), "base_url": base} for n in ("a", "b", "c")},
    }
    async with asgi_gateway(cfg, prefix=True) as (client, _):
        reply = await client.post("/v1/chat/completions", json={"model": "auto", "messages": [{"role": "user", "content": "a python bug"}]})
    assert reply.status_code == 200
    assert reply.headers["x-openclaw-model"] == "b" and reply.headers["x-openclaw-attempts"] == "1"
    assert reply.json()["model"] == "b" and reply.json()["choices"][0]["message"]["content"] == "[b] ok"
    assert json.loads(up.requests[-1].body)["model"] == "B"
