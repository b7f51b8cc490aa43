"""A subset of Go's text/template, enough for docker-machine's --format flags:
literal text, {{.Field.Sub}}, {{.}}, functions applied to one argument ({{json .X}}, {{prettyjson .X}},
{{upper .X}}, {{lower .X}}), pipelines ({{.X | json}}), {{if}}/{{else}}/{{end}} and {{range}}/{{end}}."""

from __future__ import annotations

import json
import re
from typing import Any

from . import gojson

Node = tuple[Any, ...]  # ("text", s) | ("expr", stages) | ("if" | "range" | "with", stages, body, else)


class TemplateError(Exception):
    pass


_ACTION = re.compile(r"\{\{(-?)\s*(.*?)\s*(-?)\}\}", re.S)


def go_string(value: Any) -> str:
    """fmt.Sprint of a value decoded from JSON or built by us."""
    if value is None:
        return "<no value>"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{_inner(v)}" for k, v in sorted(value.items())) + "]"
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(_inner(v) for v in value) + "]"
    return str(value)


def _inner(value: Any) -> str:
    return "<nil>" if value is None else go_string(value)


def _prettyjson(value: Any) -> str:
    return gojson._go_escape(json.dumps(value, indent=4, ensure_ascii=False, sort_keys=isinstance(value, dict)))


FUNCS = {
    "json": lambda v: gojson.marshal(v, sort_keys=True),
    "prettyjson": _prettyjson,
    "upper": lambda v: go_string(v).upper(),
    "lower": lambda v: go_string(v).lower(),
}


class Template:
    def __init__(self, source: str, funcs: dict[str, Any] | None = None):
        self.source = source
        self.funcs = FUNCS if funcs is None else funcs
        self.nodes = self._parse(source)

    # ----- parsing into a small tree: ("text", s) | ("expr", expr) | ("if", expr, body, else) | ("range", expr, body)
    def _parse(self, src: str) -> list[Node]:
        tokens: list[tuple[Any, ...]] = []
        pos = 0
        for m in _ACTION.finditer(src):
            text = src[pos:m.start()]
            if m.group(1):
                text = text.rstrip()
            tokens.append(("text", text))
            tokens.append(("action", m.group(2), src.count("\n", 0, m.start()) + 1))
            pos = m.end()
            if m.group(3):
                rest = src[pos:]
                pos += len(rest) - len(rest.lstrip())
        tail = src[pos:]
        if "{{" in tail:
            line = src.count("\n", 0, pos + tail.index("{{")) + 1
            raise TemplateError(f"template: :{line}: unclosed action")
        tokens.append(("text", tail))
        nodes, _, end = self._block(tokens, 0)
        if end is not None:
            raise TemplateError(f"template: :{end[2]}: unexpected {{{{{end[1]}}}}}")
        return nodes

    def _block(self, tokens: list[tuple[Any, ...]], i: int) -> tuple[list[Node], int, tuple[Any, ...] | None]:
        nodes: list[Node] = []
        while i < len(tokens):
            tok = tokens[i]
            if tok[0] == "text":
                if tok[1]:
                    nodes.append(("text", tok[1]))
                i += 1
                continue
            body, line = tok[1], tok[2]
            word = body.split(None, 1)[0] if body else ""
            if word in ("end", "else"):
                return nodes, i, tok
            if word in ("if", "range", "with"):
                expr = self._expr(body[len(word):].strip(), line)
                inner, i, end = self._block(tokens, i + 1)
                other: list[Node] = []
                if end is not None and end[1].split()[0] == "else":
                    other, i, end = self._block(tokens, i + 1)
                if end is None:
                    raise TemplateError(f"template: :{line}: unexpected EOF")
                nodes.append((word, expr, inner, other))
                i += 1
                continue
            if not body or body.startswith("/*"):
                if not body:
                    raise TemplateError(f"template: :{line}: missing value for command")
                i += 1
                continue
            nodes.append(("expr", self._expr(body, line)))
            i += 1
        return nodes, i, None

    def _expr(self, body: str, line: int) -> list[list[str]]:
        stages = []
        for stage in body.split("|"):
            words = stage.split()
            if not words:
                raise TemplateError(f"template: :{line}: missing value for command")
            for w in words:
                if not (w.startswith(".") or w.startswith('"') or w in self.funcs):
                    if re.fullmatch(r"[A-Za-z_]\w*", w):
                        raise TemplateError(f'template: :{line}: function "{w}" not defined')
                    raise TemplateError(f"template: :{line}: bad character in action: {w}")
            stages.append(words)
        return stages

    # ----- execution
    def execute(self, data: Any) -> str:
        out: list[str] = []
        self._run(self.nodes, data, out)
        return "".join(out)

    def _run(self, nodes: Any, data: Any, out: Any) -> None:
        for node in nodes:
            kind = node[0]
            if kind == "text":
                out.append(node[1])
            elif kind == "expr":
                out.append(go_string(self._eval(node[1], data)))
            elif kind in ("if", "with"):
                value = self._eval(node[1], data)
                if _truthy(value):
                    self._run(node[2], value if kind == "with" else data, out)
                else:
                    self._run(node[3], data, out)
            elif kind == "range":
                value = self._eval(node[1], data)
                items = list(value.values()) if isinstance(value, dict) else list(value or [])
                if not items:
                    self._run(node[3], data, out)
                for item in items:
                    self._run(node[2], item, out)

    def _eval(self, stages: list[list[str]], data: Any) -> Any:
        value = None
        for n, words in enumerate(stages):
            if words[0] in self.funcs:
                args = [self._term(w, data) for w in words[1:]]
                if n > 0:
                    args = args + [value]
                if len(args) != 1:
                    raise TemplateError(f"template: wrong number of args for {words[0]}: want 1 got {len(args)}")
                value = self.funcs[words[0]](args[0])
            else:
                if len(words) > 1 or n > 0:
                    raise TemplateError(f"template: can't give argument to non-function {words[0]}")
                value = self._term(words[0], data)
        return value

    def _term(self, word: str, data: Any) -> Any:
        if word.startswith('"'):
            return word.strip('"')
        if word == ".":
            return data
        value = data
        for part in word.split(".")[1:]:
            if isinstance(value, dict):
                if part not in value:
                    if getattr(value, "strict_fields", False):
                        raise TemplateError(
                            f'template: :1:2: executing "" at <{word}>: can\'t evaluate field {part} '
                            "in type commands.HostListItem"
                        )
                    return None
                value = value[part]
            else:
                return None
        return value


class StrictFields(dict[str, Any]):
    """Row data for ls: unknown fields are an error, as they are on Go structs."""

    strict_fields = True


def _truthy(value: Any) -> bool:
    return bool(value) and value != 0
