"""The Converse request rules real Bedrock enforces, as its 400 ValidationException texts.

Used by the loopback Bedrock upstream (:mod:`e2e.upstreams`); prompt-cache rules are in
:mod:`e2e.bedrock_cache_rules`.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["TOOLCONFIG_MISSING", "converse_violation"]

TOOLCONFIG_MISSING = "The toolConfig field must be defined when using toolUse and toolResult content blocks."
_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def converse_violation(body: Any) -> str | None:
    """The ValidationException message real Bedrock gives for this Converse body, or None."""
    if not isinstance(body, dict):
        return "The request body is not a JSON object."
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "A conversation must start with a user message. Try again with a conversation that starts with a user message."
    tool_config = body.get("toolConfig")
    names: set[str] = set()
    if tool_config is not None:
        tools = tool_config.get("tools") if isinstance(tool_config, dict) else None
        if not isinstance(tools, list) or not tools:
            return "The value at toolConfig.tools must contain at least one tool."
        for i, tool in enumerate(tools):
            if isinstance(tool, dict) and "cachePoint" in tool:
                continue  # prompt caching: checked by e2e.bedrock_cache_rules
            spec = (tool or {}).get("toolSpec") or {}
            name = spec.get("name")
            if not isinstance(name, str) or not _ID.match(name):
                return f"Value '{name}' at 'toolConfig.tools.{i + 1}.member.toolSpec.name' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_-]+"
            if name in names:
                return f"The tool name {name} is used more than once in toolConfig.tools."
            names.add(name)
            schema = (spec.get("inputSchema") or {}).get("json")
            if not isinstance(schema, dict):
                return f"The value at toolConfig.tools.{i}.toolSpec.inputSchema.json must be a JSON object."
    pending: list[str] = []  # toolUse ids of the previous assistant turn
    for i, message in enumerate(messages):
        role = message.get("role")
        if role not in ("user", "assistant"):
            return f"Value '{role}' at 'messages.{i + 1}.member.role' failed to satisfy constraint: Member must satisfy enum value set: [user, assistant]"
        if i == 0 and role != "user":
            return "A conversation must start with a user message. Try again with a conversation that starts with a user message."
        if i > 0 and role == messages[i - 1].get("role"):
            return "A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again."
        content = message.get("content")
        if not isinstance(content, list) or not content:
            return f"The content field in the Message object at messages.{i} is empty. Add a ContentBlock object to the content field and try again."
        uses: list[str] = []
        results: list[str] = []
        for j, block in enumerate(content):
            if "text" in block and not str(block["text"]).strip():
                return f"The text field in the ContentBlock object at messages.{i}.content.{j} is blank. Add text to the text field, and try again."
            for kind in ("toolUse", "toolResult"):
                if kind not in block:
                    continue
                if tool_config is None:
                    return TOOLCONFIG_MISSING
                tid = block[kind].get("toolUseId")
                if not isinstance(tid, str) or not _ID.match(tid):
                    return f"Value '{tid}' at 'messages.{i + 1}.member.content.{j + 1}.member.{kind}.toolUseId' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_-]+"
                if kind == "toolUse":
                    if role != "assistant":
                        return f"messages.{i}.content.{j}: toolUse blocks are only allowed in assistant messages."
                    if block["toolUse"].get("name") not in names:
                        return f"messages.{i}.content.{j}: the tool {block['toolUse'].get('name')!r} is not defined in toolConfig."
                    if not isinstance(block["toolUse"].get("input"), dict):
                        return f"messages.{i}.content.{j}.toolUse.input must be a JSON object."
                    uses.append(tid)
                else:
                    if role != "user":
                        return f"messages.{i}.content.{j}: toolResult blocks are only allowed in user messages."
                    results.append(tid)
        if role == "user":
            unknown = [t for t in results if t not in pending]
            if unknown:
                return f"The toolResult block(s) at messages.{i}.content with toolUseId {', '.join(unknown)} do not match any toolUse block of the previous turn."
            missing = [t for t in pending if t not in results]
            if missing:
                return f"Expected toolResult blocks at messages.{i}.content for the following Ids: {', '.join(missing)}"
            pending = []
        else:
            pending = uses
    if messages[-1].get("role") != "user":
        return "The model returned the following errors: Your API request included an `assistant` message in the final position, which would pre-fill the `assistant` response. When using tools, pre-filling the `assistant` response is not supported."
    return None
