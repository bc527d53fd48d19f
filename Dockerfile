# The OpenClaw gateway (`llmrouter serve`): slim, non-root, with a health check.
#   docker build -t llmrouter . && docker run -p 8000:8000 -v $PWD/deploy/gateway.yaml:/etc/llmrouter/config.yaml:ro llmrouter
# deploy/compose.yaml runs two of these sharing one Redis; deploy/k8s/ is the Kubernetes version.

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY llmrouter ./llmrouter
COPY openclaw_litellm ./openclaw_litellm
# bedrock: boto3 for AWS Bedrock; redis: state.redis_url (shared limits, cooldowns, spend).
RUN pip install --no-cache-dir --prefix=/install '.[bedrock,redis]'

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    LITELLM_LOCAL_MODEL_COST_MAP=True
COPY --from=build /install /usr/local
COPY deploy/gateway.yaml /etc/llmrouter/config.yaml
RUN useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin llmrouter
USER 10001
EXPOSE 8000
# Liveness: /health answers as soon as the process serves (readiness is /health/ready).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2).status != 200)"]
# `docker stop` sends SIGTERM: the gateway drains (serve.drain_timeout) and exits 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["llmrouter", "serve"]
CMD ["--config", "/etc/llmrouter/config.yaml", "--host", "0.0.0.0", "--port", "8000"]
