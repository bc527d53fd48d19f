"""The OpenClaw gateway: an OpenAI-compatible HTTP + WebSocket server over many providers.

Request flow, one module per step::

    app.py (HTTP) / websocket.py (WS)   validate (schemas.py), answer errors (errors catalog)
      _http.py                          shared HTTP plumbing: error handlers, body limit, client-left
                                        race, a served chat as JSON / SSE / 499 (answer)
    responses_api.py (/v1/responses)    to chat (responses_request.py), events (responses_events.py)
      -> completions.py                 route (routing/), fall back, prefix + usage (stream_pipeline.py)
      -> backend.py                     LLMBackend: direct HTTP, or Bedrock via LiteLLM
           -> bedrock_handler.py        litellm CustomLLM -> llmrouter.utils.api_calling
      -> guarded_stream.py              after the first byte: chunks as frames, a failure as an error frame
      -> sse.py                         Server-Sent Events framing: chat (data, [DONE]) and named (Responses)
"""
