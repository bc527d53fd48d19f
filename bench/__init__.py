"""The gateway benchmark (``python -m bench``) and its loopback stubs; see docs/benchmark.md."""
