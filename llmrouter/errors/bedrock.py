"""The catalog, AWS Bedrock: missing dependencies, credentials, model ids, access, regions."""

from __future__ import annotations

from llmrouter.errors.base import GatewayError, model_in_region

__all__ = [
    "boto3_missing",
    "credentials_invalid",
    "credentials_missing",
    "litellm_missing",
    "model_access_denied",
    "model_id_invalid",
    "provider_key_unset",
    "region_missing",
]


def _aws_said(detail: str) -> str:
    """AWS's own words, when it gave any, inside our message."""
    return f" AWS said: {detail}." if detail else ""


MODEL_REGION_TABLE_URL = "https://docs.aws.amazon.com/bedrock/latest/userguide/models-regions.html"
MODEL_IDS_URL = "https://docs.aws.amazon.com/bedrock/latest/userguide/model-ids.html"
CREDENTIALS_URL = "https://boto3.amazonaws.com/v1/documentation/api/latest/guide/credentials.html"
EXAMPLE_MODEL_IDS = (
    "'anthropic.claude-3-haiku-20240307-v1:0', 'amazon.nova-lite-v1:0', "
    "'meta.llama3-1-8b-instruct-v1:0', or a cross-region profile such as "
    "'us.anthropic.claude-3-5-haiku-20241022-v1:0'"
)


def _dependency_missing(message: str) -> GatewayError:
    # Not retryable: installing the package is the fix, and a retry finds it missing again.
    return GatewayError(message, status=503, type="server_error", code="bedrock_dependency_missing")


def boto3_missing() -> GatewayError:
    return _dependency_missing(
        "AWS Bedrock needs boto3, which cannot be imported here (llmrouter's install brings it "
        "through LiteLLM: it was removed, or this runs in another environment). Reinstall it with "
        "`pip install boto3` in the environment the gateway runs in, then retry."
    )


def litellm_missing() -> GatewayError:
    return _dependency_missing(
        "AWS Bedrock calls go through LiteLLM, which is not importable in this environment. "
        "Install it with `pip install litellm` (or reinstall llmrouter: `pip install -e .`) in the same "
        "environment as llmrouter, then restart."
    )


def provider_key_unset(variable: str, model: str, key_path: str) -> GatewayError:
    """A model whose API key reads an environment variable that was not set at startup."""
    return GatewayError(
        f"Model '{model}' has no API key: `{key_path}` reads the environment variable {variable}, which "
        f"is not set. Set {variable} (export {variable}=...) and restart the gateway.",
        status=401, type="authentication_error", code="provider_key_unset",
    )


def credentials_missing(model_id: str, region: str | None) -> GatewayError:
    return GatewayError(
        f"No AWS credentials found for Bedrock ({model_in_region(model_id, region)}). Configure them "
        "in any way boto3 reads: environment variables AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY (plus AWS_SESSION_TOKEN for temporary ones), a profile in "
        "~/.aws/credentials or ~/.aws/config (select it with AWS_PROFILE or `aws_profile` in "
        "the YAML), `aws sso login --profile NAME` for SSO, or an instance/task role. "
        f"See {CREDENTIALS_URL}",
        status=401, type="authentication_error", code="aws_credentials_missing",
    )


def credentials_invalid(model_id: str, region: str | None, detail: str = "") -> GatewayError:
    return GatewayError(
        f"AWS rejected the credentials used for Bedrock ({model_in_region(model_id, region)}): they "
        f"are invalid or expired.{_aws_said(detail)} Refresh them (`aws sso login`, new temporary "
        "credentials with their AWS_SESSION_TOKEN, or a corrected access key pair) and check "
        "which ones are in use with `aws sts get-caller-identity`.",
        status=401, type="authentication_error", code="aws_credentials_invalid",
    )


def model_id_invalid(model_id: str, region: str | None) -> GatewayError:
    return GatewayError(
        f"Bedrock does not recognise {model_in_region(model_id, region)}. Either the id is misspelt "
        f"or the model is not offered in that region. Valid ids look like {EXAMPLE_MODEL_IDS}; "
        f"list them with `aws bedrock list-foundation-models --region {region or 'REGION'}` "
        f"or see {MODEL_IDS_URL}. If the model exists elsewhere, set `aws_region` for it in "
        f"the YAML (regions per model: {MODEL_REGION_TABLE_URL}).",
        status=400, type="invalid_request_error", code="bedrock_model_id_invalid",
    )


def model_access_denied(model_id: str, region: str | None, detail: str = "") -> GatewayError:
    return GatewayError(
        f"Bedrock refused access to {model_in_region(model_id, region)}.{_aws_said(detail)} Request access to the "
        "model in the Bedrock console (Model access) for that region, make sure the IAM "
        "identity may call bedrock:InvokeModel, or set `aws_region` to a region where the "
        f"model is available ({MODEL_REGION_TABLE_URL}). Some models need a cross-region "
        "inference profile id (for example 'us.' + the model id).",
        status=403, type="permission_error", code="bedrock_model_access_denied",
    )


def region_missing(model_id: str) -> GatewayError:
    return GatewayError(
        f"No AWS region is configured for Bedrock model '{model_id}'. Set `aws_region` for "
        "it in the YAML (for example us-east-1), or AWS_REGION / AWS_DEFAULT_REGION in the "
        "environment, or `region` in your AWS profile.",
        status=400, type="invalid_request_error", code="aws_region_missing",
    )
