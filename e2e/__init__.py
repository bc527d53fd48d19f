"""End-to-end checks with real clients (the OpenClaw agent) against ``llmrouter serve``."""
