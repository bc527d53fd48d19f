"""Provider calling utilities; see :mod:`llmrouter.utils.api_calling`."""
