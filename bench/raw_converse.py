"""The baseline for the Bedrock path: boto3's bedrock-runtime client calling the stub directly.

Sequential (concurrency 1), after a few warm-up calls; prints one JSON object with Converse
latency and ConverseStream TTFT (first event) and total time, in ms.

    python -m bench.raw_converse --endpoint http://127.0.0.1:9102 --count 100 --stream-count 10
"""

from __future__ import annotations

import argparse
import json
import time

from bench.loadgen import PROMPT, percentile

__all__ = ["main"]


def _stats(values: list[float]) -> dict[str, float | None]:
    v = sorted(values)
    ms = lambda x: None if x is None else round(x * 1000, 3)  # noqa: E731
    return {"p50": ms(percentile(v, 50)), "p90": ms(percentile(v, 90)), "p99": ms(percentile(v, 99)),
            "mean": ms(sum(v) / len(v)) if v else None, "n": len(v)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--model-id", default="amazon.nova-lite-v1:0")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--stream-count", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args(argv)

    import boto3
    from botocore.config import Config

    client = boto3.client("bedrock-runtime", region_name=args.region, endpoint_url=args.endpoint,
                          config=Config(retries={"max_attempts": 1}, max_pool_connections=10))
    messages = [{"role": "user", "content": [{"text": PROMPT}]}]
    kwargs = {"modelId": args.model_id, "messages": messages, "inferenceConfig": {"maxTokens": 64}}
    for _ in range(args.warmup):
        client.converse(**kwargs)
        for _event in client.converse_stream(**kwargs)["stream"]:
            pass

    latencies = []
    for _ in range(args.count):
        t0 = time.perf_counter()
        response = client.converse(**kwargs)
        latencies.append(time.perf_counter() - t0)
        assert response["output"]["message"]["content"][0]["text"]

    ttfts, totals = [], []
    for _ in range(args.stream_count):
        t0 = time.perf_counter()
        first = None
        events = 0
        for _event in client.converse_stream(**kwargs)["stream"]:
            events += 1
            if first is None:
                first = time.perf_counter()
        end = time.perf_counter()
        ttfts.append((first or end) - t0)
        totals.append(end - t0)

    print(json.dumps({"converse_ms": _stats(latencies), "stream_ttft_ms": _stats(ttfts), "stream_total_ms": _stats(totals),
                      "boto3": boto3.__version__}))


if __name__ == "__main__":
    main()
