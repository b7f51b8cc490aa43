"""Go's gob encoding, as far as docker-machine's plugin protocol uses it: written from the format Go publishes
(encoding/gob's package documentation) and tested against Go itself.

A stream is a sequence of messages, each a byte count then its bytes. A message holds a value (its type id, then
the value) or a type definition (the negated id, then a wireType). Type ids are the stream's own: each side numbers
the types it defines from 65 up. Structs send only their non-zero fields, each as a delta from the previous field's
number, and end with a 0; a value that is not a struct is sent as a one-field struct without the end mark."""

from __future__ import annotations

import struct as _struct
from collections.abc import Callable
from typing import Any

# the ids every stream knows without a definition
BOOL, INT, UINT, FLOAT, BYTES, STRING, COMPLEX, INTERFACE = 1, 2, 3, 4, 5, 6, 7, 8
FIRST_USER_ID = 65
BASIC_NAMES = {BOOL: "bool", INT: "int", UINT: "uint", FLOAT: "float64", BYTES: "[]byte", STRING: "string",
               COMPLEX: "complex128", INTERFACE: "interface"}


class GobError(Exception):
    """A stream that does not follow the format (or ends inside a value)."""


# ----- types, as the encoding side describes them

class GoType:
    """A composite Go type this side sends; basic types are their ids (BOOL, INT, ...)."""

    name = ""


class Slice(GoType):
    def __init__(self, elem: GoType | int, name: str = ""):
        self.elem, self.name = elem, name or f"[]{_name(elem)}"


class Map(GoType):
    def __init__(self, key: GoType | int, elem: GoType | int, name: str = ""):
        self.key, self.elem, self.name = key, elem, name or f"map[{_name(key)}]{_name(elem)}"


class Struct(GoType):
    def __init__(self, name: str, fields: list[tuple[str, GoType | int]]):
        self.name, self.fields = name, fields


class Concrete:
    """A value inside an interface: the name the receiver registered its type under, the type, the value."""

    def __init__(self, name: str, type_: GoType | int, value: Any):
        self.name, self.type, self.value = name, type_, value

    def __repr__(self) -> str:
        return f"Concrete({self.name!r}, {self.value!r})"


def _name(t: GoType | int) -> str:
    return BASIC_NAMES.get(t, "") if isinstance(t, int) else t.name


# the types interface values of plain Go values carry, under the names Go registers them by
INTERFACE_NAMES: dict[type, tuple[str, GoType | int]] = {
    bool: ("bool", BOOL), int: ("int", INT), str: ("string", STRING), float: ("float64", FLOAT),
    bytes: ("[]uint8", BYTES),
}
STRINGS = Slice(STRING)


def go_value(value: Any) -> Concrete:
    """A Python value as Go's interface{} would hold it: bool, int, string, float64, []string."""
    if isinstance(value, Concrete):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return Concrete("[]string", STRINGS, value)
    for kind, (name, t) in INTERFACE_NAMES.items():
        if type(value) is kind:
            return Concrete(name, t, value)
    raise GobError(f"no Go type for {type(value).__name__} {value!r}")


# ----- the primitives

def put_uint(out: bytearray, n: int) -> None:
    if n < 0:
        raise GobError(f"negative unsigned {n}")
    if n < 0x80:
        out.append(n)
        return
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    out.append(256 - len(raw))
    out += raw


def put_int(out: bytearray, n: int) -> None:
    put_uint(out, (~n << 1) | 1 if n < 0 else n << 1)


def put_bytes(out: bytearray, data: bytes) -> None:
    put_uint(out, len(data))
    out += data


class Reader:
    """The bytes of the message being read; `more` brings the next message when a value goes on past this one
    (an interface whose concrete type is defined in a message of its own)."""

    def __init__(self, data: bytes = b"", more: Callable[[], bytes] | None = None):
        self.data, self.pos, self.more = data, 0, more

    def left(self) -> int:
        return len(self.data) - self.pos

    def take(self, n: int) -> bytes:
        if n > self.left():
            raise GobError(f"the stream ends inside a value ({n} bytes wanted, {self.left()} left)")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def uint(self) -> int:
        first = self.take(1)[0]
        if first < 0x80:
            return first
        count = 256 - first
        if count > 9:
            raise GobError(f"an unsigned integer of {count} bytes")
        return int.from_bytes(self.take(count), "big")

    def int(self) -> int:
        u = self.uint()
        return ~(u >> 1) if u & 1 else u >> 1

    def next_message(self) -> None:
        if self.more is None:
            raise GobError("the stream ends inside a value")
        self.data, self.pos = self.more(), 0


# ----- encoding

class Encoder:
    """One side of a stream: remembers which types it has defined, so each is sent once."""

    def __init__(self) -> None:
        self.ids: dict[int, int] = {}  # id(GoType) -> its id in this stream
        self.kept: list[GoType] = []  # the types, alive as long as their ids are in use
        self.next_id = FIRST_USER_ID

    def message(self, type_: GoType | int, value: Any) -> bytes:
        """The messages that send value: definitions of the types not yet sent, then the value."""
        out = bytearray()
        for t in self._types_to_define(type_, value):
            self._define(out, t)
        body = bytearray()
        put_int(body, self._id(type_))
        if isinstance(type_, Struct):
            self._struct(body, type_, value)
        else:
            body.append(0)  # a singleton's field delta
            self._value(body, type_, value)
        put_bytes(out, bytes(body))
        return bytes(out)

    def _id(self, t: GoType | int) -> int:
        return t if isinstance(t, int) else self.ids[id(t)]

    def _types_to_define(self, t: GoType | int, value: Any) -> list[GoType]:
        """The composite types value needs that this stream has not defined: its own, and those of the values
        its interfaces hold (defined ahead, in messages of their own, which Go's decoder accepts)."""
        found: list[GoType] = []

        def walk(t: GoType | int, value: Any) -> None:
            if t == INTERFACE and value is not None:
                c = go_value(value)
                walk(c.type, c.value)
            if isinstance(t, int):
                return
            if id(t) not in self.ids and all(f is not t for f in found):
                found.append(t)
            if isinstance(t, Slice):
                for v in value or ():
                    walk(t.elem, v)
            elif isinstance(t, Map):
                for k, v in (value or {}).items():
                    walk(t.key, k)
                    walk(t.elem, v)
            elif isinstance(t, Struct):
                for name, ft in t.fields:
                    walk(ft, (value or {}).get(name))

        walk(t, value)
        return found

    def _define(self, out: bytearray, t: GoType) -> None:
        if id(t) in self.ids:
            return
        tid = self.next_id
        self.next_id += 1
        self.ids[id(t)] = tid
        self.kept.append(t)
        for inner in _inner_types(t):  # an element type gets its id before it is named
            if id(inner) not in self.ids:
                self._define(out, inner)
        body = bytearray()
        put_int(body, -tid)
        common = bytearray()
        if t.name:
            common += b"\x01"
            put_bytes(common, t.name.encode())
            common += b"\x01"
        else:
            common += b"\x02"
        put_int(common, tid)
        common += b"\x00"
        if isinstance(t, Slice):
            body += b"\x02\x01" + common + b"\x01"
            put_int(body, self._id(t.elem))
            body += b"\x00"
        elif isinstance(t, Struct):
            body += b"\x03\x01" + common
            if t.fields:
                body += b"\x01"
                put_uint(body, len(t.fields))
                for name, ft in t.fields:
                    body += b"\x01"
                    put_bytes(body, name.encode())
                    body += b"\x01"
                    put_int(body, self._id(ft))
                    body += b"\x00"
            body += b"\x00"
        elif isinstance(t, Map):
            body += b"\x04\x01" + common + b"\x01"
            put_int(body, self._id(t.key))
            body += b"\x01"
            put_int(body, self._id(t.elem))
            body += b"\x00"
        body += b"\x00"  # end of the wireType
        put_bytes(out, bytes(body))

    def _struct(self, out: bytearray, t: Struct, value: dict[str, Any]) -> None:
        last = -1
        for number, (name, ft) in enumerate(t.fields):
            v = value.get(name)
            if _is_zero(ft, v):
                continue
            put_uint(out, number - last)
            last = number
            self._value(out, ft, v)
        out.append(0)

    def _value(self, out: bytearray, t: GoType | int, v: Any) -> None:
        if t == BOOL:
            put_uint(out, 1 if v else 0)
        elif t == INT:
            put_int(out, int(v or 0))
        elif t == UINT:
            put_uint(out, int(v or 0))
        elif t == FLOAT:
            put_uint(out, int.from_bytes(_struct.pack("<d", float(v or 0)), "big"))
        elif t == BYTES:
            put_bytes(out, bytes(v or b""))
        elif t == STRING:
            put_bytes(out, str(v or "").encode())
        elif t == INTERFACE:
            self._interface(out, v)
        elif isinstance(t, Slice):
            put_uint(out, len(v or ()))
            for item in v or ():
                self._value(out, t.elem, item)
        elif isinstance(t, Map):
            put_uint(out, len(v or {}))
            for k, item in (v or {}).items():
                self._value(out, t.key, k)
                self._value(out, t.elem, item)
        elif isinstance(t, Struct):
            self._struct(out, t, v or {})
        else:
            raise GobError(f"cannot send a value of type {t!r}")

    def _interface(self, out: bytearray, v: Any) -> None:
        if v is None:
            put_uint(out, 0)  # a nil interface: an empty name
            return
        c = go_value(v)
        put_bytes(out, c.name.encode())
        put_int(out, self._id(c.type))
        inner = bytearray()
        if isinstance(c.type, Struct):
            self._struct(inner, c.type, c.value)
        else:
            inner.append(0)
            self._value(inner, c.type, c.value)
        put_bytes(out, bytes(inner))


def _inner_types(t: GoType) -> list[GoType]:
    if isinstance(t, Slice):
        parts: list[GoType | int] = [t.elem]
    elif isinstance(t, Map):
        parts = [t.key, t.elem]
    elif isinstance(t, Struct):
        parts = [ft for _, ft in t.fields]
    else:
        parts = []
    return [p for p in parts if isinstance(p, GoType)]


def _is_zero(t: GoType | int, v: Any) -> bool:
    if v is None:
        return True
    if t in (BOOL, INT, UINT, FLOAT):
        return not v
    if t in (BYTES, STRING) or isinstance(t, (Slice, Map)):
        return len(v) == 0
    return False  # a struct is always sent (Go sends a struct field even when all its fields are zero)


# ----- decoding

class Decoder:
    """The other side's types, as its definitions arrive; values come out as Python values: a struct as a dict of
    all its fields (zero where not sent), a slice as a list, an interface as Concrete."""

    def __init__(self) -> None:
        self.types: dict[int, tuple[str, Any]] = {}  # id -> (kind, details)

    def value(self, r: Reader) -> Any:
        """The next value of the stream; the type definitions before it are taken in on the way."""
        tid = self._type_sequence(r, inside_interface=False)
        return self._top(r, tid)

    def _type_sequence(self, r: Reader, inside_interface: bool) -> int:
        while True:
            if r.left() == 0:
                r.next_message()
            tid = r.int()
            if tid >= 0:
                return tid
            self._receive_type(r, -tid)
            if r.left() > 0:
                if not inside_interface:
                    raise GobError("extra data after a type definition")
                r.uint()  # the byte count of the delimited value that follows

    def _top(self, r: Reader, tid: int) -> Any:
        if self.types.get(tid, ("",))[0] == "struct":
            return self._struct(r, tid)
        if r.uint() != 0:
            raise GobError("a value that is not a struct must start with a zero field delta")
        return self._value(r, tid)

    def _receive_type(self, r: Reader, tid: int) -> None:
        if tid < FIRST_USER_ID or tid in self.types:
            raise GobError(f"type {tid} defined twice, or in the reserved range")
        wire = self._read_struct(r, self._wire_type_fields)
        for key, kind in (("ArrayT", "array"), ("SliceT", "slice"), ("StructT", "struct"), ("MapT", "map"),
                          ("GobEncoderT", "opaque"), ("BinaryMarshalerT", "opaque"), ("TextMarshalerT", "opaque")):
            if wire.get(key) is not None:
                self.types[tid] = (kind, wire[key])
                return
        raise GobError(f"type {tid}: a definition of no kind")

    # the wire types' own layout (fixed by Go, never sent)
    def _wire_type_fields(self, r: Reader, number: int) -> tuple[str, Any]:
        names = ("ArrayT", "SliceT", "StructT", "MapT", "GobEncoderT", "BinaryMarshalerT", "TextMarshalerT")
        if number >= len(names):
            raise GobError(f"wireType has no field {number}")
        name = names[number]
        if name == "ArrayT":
            return name, self._read_struct(r, _fields(("CommonType", "common"), ("Elem", "int"), ("Len", "int")))
        if name == "SliceT":
            return name, self._read_struct(r, _fields(("CommonType", "common"), ("Elem", "int")))
        if name == "StructT":
            return name, self._read_struct(r, _fields(("CommonType", "common"), ("Field", "fields")))
        if name == "MapT":
            return name, self._read_struct(r, _fields(("CommonType", "common"), ("Key", "int"), ("Elem", "int")))
        return name, self._read_struct(r, _fields(("CommonType", "common")))

    def _read_struct(self, r: Reader, field: Callable[[Reader, int], tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        number = -1
        while True:
            delta = r.uint()
            if delta == 0:
                return out
            number += delta
            name, value = field(r, number)
            out[name] = value

    def _struct(self, r: Reader, tid: int) -> dict[str, Any]:
        fields = [(f.get("Name", ""), f.get("Id", 0)) for f in self.types[tid][1].get("Field", [])]
        out = {name: self._zero(ftid) for name, ftid in fields}

        def field(r: Reader, number: int) -> tuple[str, Any]:
            if number >= len(fields):
                raise GobError(f"field {number} of a struct of {len(fields)} fields")
            name, ftid = fields[number]
            return name, self._value(r, ftid)

        out.update(self._read_struct(r, field))
        return out

    def _zero(self, tid: int) -> Any:
        kind = self.types.get(tid, ("",))[0]
        return {BOOL: False, INT: 0, UINT: 0, FLOAT: 0.0, BYTES: b"", STRING: "", COMPLEX: 0j}.get(
            tid, [] if kind in ("slice", "array") else {} if kind == "map" else None)

    def _value(self, r: Reader, tid: int) -> Any:
        if tid == BOOL:
            return r.uint() != 0
        if tid == INT:
            return r.int()
        if tid == UINT:
            return r.uint()
        if tid == FLOAT:
            return _float(r.uint())
        if tid == COMPLEX:
            return complex(_float(r.uint()), _float(r.uint()))
        if tid == BYTES:
            return r.take(r.uint())
        if tid == STRING:
            return r.take(r.uint()).decode("utf-8", "replace")
        if tid == INTERFACE:
            return self._interface(r)
        if tid not in self.types:
            raise GobError(f"a value of type {tid}, which was never defined")
        kind, wire = self.types[tid]
        if kind == "struct":
            return self._struct(r, tid)
        if kind in ("slice", "array"):
            count = r.uint()
            if count > r.left():
                raise GobError(f"a list of {count} items in {r.left()} bytes")
            return [self._value(r, wire.get("Elem", 0)) for _ in range(count)]
        if kind == "map":
            count = r.uint()
            if count > r.left():
                raise GobError(f"a map of {count} entries in {r.left()} bytes")
            out = {}
            for _ in range(count):
                key = self._value(r, wire.get("Key", 0))
                out[key if not isinstance(key, (list, dict)) else repr(key)] = self._value(r, wire.get("Elem", 0))
            return out
        return r.take(r.uint())  # a GobEncoder's own bytes: kept as they came

    def _interface(self, r: Reader) -> Concrete | None:
        name = r.take(r.uint()).decode("utf-8", "replace")
        if not name:
            return None
        tid = self._type_sequence(r, inside_interface=True)
        r.uint()  # the value's byte count
        return Concrete(name, tid, self._top(r, tid))


def _fields(*layout: tuple[str, str]) -> Callable[[Reader, int], tuple[str, Any]]:
    def field(r: Reader, number: int) -> tuple[str, Any]:
        if number >= len(layout):
            raise GobError(f"a type definition with an unknown field {number}")
        name, kind = layout[number]
        if kind == "int":
            return name, r.int()
        if kind == "common":
            return name, Decoder()._read_struct(r, _fields(("Name", "string"), ("Id", "int")))
        if kind == "string":
            return name, r.take(r.uint()).decode("utf-8", "replace")
        # the fields of a struct: a slice of fieldType structs
        return name, [Decoder()._read_struct(r, _fields(("Name", "string"), ("Id", "int")))
                      for _ in range(r.uint())]
    return field


def _float(bits: int) -> float:
    value: float = _struct.unpack("<d", bits.to_bytes(8, "big"))[0]
    return value
