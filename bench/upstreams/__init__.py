"""Stub upstreams for benchmarks and tests: an OpenAI-compatible server and a Bedrock Runtime
(Converse / ConverseStream) server, each runnable with ``python -m`` or in a thread.
"""
