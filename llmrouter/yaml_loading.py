"""YAML loading for config files: pyyaml's safe loader, except that a key written twice in
one mapping is an error (with its line) instead of the second value silently winning.

A model name defined twice under ``llms`` (a copy-paste that forgot to rename) would otherwise
serve only the second definition, and nothing would say so.
"""

from __future__ import annotations

from typing import Any

import yaml

__all__ = ["DuplicateKeyError", "StrictSafeLoader", "load_yaml"]


class DuplicateKeyError(yaml.constructor.ConstructorError):
    """A mapping names the same key twice; ``key_path`` is where (``llms.titan``)."""

    def __init__(self, key_path: str, first_line: int, mark: yaml.Mark) -> None:
        line = mark.line + 1
        super().__init__(None, None, f"defined twice (lines {first_line} and {line}); a key may appear only once", mark)
        self.key_path = key_path
        self.first_line = first_line
        self.line = line


class StrictSafeLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses duplicate keys in any mapping, at any depth."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *anchor` merges are not duplicates
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: SafeLoader reports it below
                continue
            if first is not None:
                raise DuplicateKeyError(_path_of(self, node, key), first, key_node.start_mark)
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def _path_of(loader: StrictSafeLoader, mapping: yaml.MappingNode, key: Any) -> str:
    """The dotted key path of ``key`` inside ``mapping``, found from the document's root."""
    root = loader._strict_root  # type: ignore[attr-defined]

    def search(node: yaml.Node, path: tuple[str, ...]) -> tuple[str, ...] | None:
        if node is mapping:
            return path
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                found = search(v, (*path, str(getattr(k, "value", k))))
                if found is not None:
                    return found
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                found = search(v, (*path, str(i)))
                if found is not None:
                    return found
        return None

    return ".".join((*(search(root, ()) or ()), str(key)))


def load_yaml(text: str) -> Any:
    """The YAML document in ``text``, like ``yaml.safe_load`` but refusing duplicate keys."""
    loader = StrictSafeLoader(text)
    try:
        root = loader.get_single_node()
        loader._strict_root = root  # type: ignore[attr-defined]
        return loader.construct_document(root) if root is not None else None
    finally:
        loader.dispose()
