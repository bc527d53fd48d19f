"""The OpenClaw gateway: an OpenAI-compatible HTTP + WebSocket server over many providers.

Request flow, one module per step::

    app.py (HTTP) / websocket.py (WS)   validate (schemas.py), answer errors (errors catalog)
      _http.py                          shared HTTP plumbing: error handlers, body limit, client-left race
    responses_api.py (/v1/responses)    to chat (responses_request.py), events (responses_events.py)
      -> completions.py                 route (routing/), fall back, prefix + usage (stream_pipeline.py)
      -> backend.py                     LLMBackend: direct HTTP, or Bedrock via LiteLLM
           -> bedrock_handler.py        litellm CustomLLM -> llmrouter.utils.api_calling
      -> sse.py                         OpenAI Server-Sent Events framing
"""
