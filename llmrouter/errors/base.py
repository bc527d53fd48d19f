"""The catalog's one exception: a status, OpenAI's error type and code, and a message that says
how to fix the problem (secrets masked)."""

from __future__ import annotations

from typing import Any

from llmrouter.secrets import redact

__all__ = ["GatewayError", "model_in_region"]


class GatewayError(Exception):
    """A failure with its HTTP status, OpenAI error type/code and an actionable message."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        type: str,
        code: str,
        retryable: bool = False,
        retry_after: float | None = None,
        param: str | None = None,
    ) -> None:
        self.message = redact(message)  # the one way out for a message: never with a secret in it
        super().__init__(self.message)
        self.status, self.type, self.code, self.param = status, type, code, param
        # Whether calling again may help (throttling, 5xx, timeouts), and when at the earliest.
        self.retryable, self.retry_after = retryable, retry_after

    def to_dict(self) -> dict[str, Any]:
        """OpenAI's error shape: ``{"error": {"message", "type", "code", "param"}}``."""
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "code": self.code,
                "param": self.param,
            }
        }

    def __repr__(self) -> str:
        return f"GatewayError(status={self.status}, code={self.code!r}, message={self.message!r})"


def model_in_region(model_id: str, region: str | None) -> str:
    """How Bedrock messages name a model: with the region it was called in."""
    return f"model '{model_id}' in region '{region or 'unresolved'}'"
