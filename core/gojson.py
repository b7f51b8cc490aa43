"""JSON rendered the way Go's encoding/json does, so files and output match docker-machine byte for byte."""

from __future__ import annotations

import json

TYPE_CHECKING = False  # typing itself is not loaded: these modules are on the quick commands' path
if TYPE_CHECKING:
    from typing import Any


def _go_escape(text: str) -> str:
    # Go's encoder escapes HTML-significant characters and the two JS line separators.
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def marshal_indent(value: Any) -> str:
    """json.MarshalIndent(v, "", "    ") without a trailing newline."""
    return _go_escape(json.dumps(value, indent=4, ensure_ascii=False))


def marshal(value: Any, sort_keys: bool = False) -> str:
    """json.Marshal(v): compact. Maps that went through map[string]interface{} come out sorted."""
    return _go_escape(json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=sort_keys))
