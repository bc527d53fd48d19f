"""LLMRouter: one function to call many LLM providers (AWS Bedrock among them), and a CLI.

Heavy dependencies (LiteLLM, boto3) are imported lazily, where a call needs them.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
