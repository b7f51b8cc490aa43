"""The gob codec against bytes Go's encoding/gob wrote (recorded from Go 1.19): each decodes to the values Go
encoded, and what machine-tui encodes decodes again to what it sent. (The plugin tests check both directions
against a live Go program.)"""

from __future__ import annotations

import pytest
from machine_tui.core.plugins import gob

# Go: enc.Encode(x) for each x, one encoder per line
FROM_GO = {
    "empty": "0aff81030102ff8200000003ff8200",
    "int": "0304000e",
    "req": "2fff83030101075265717565737401ff84000102010d536572766963654d6574686f64010c00010353657101060000001fff84011a5250435365727665724472697665722e47657456657273696f6e000aff81030102ff8200000003ff8200",
    "flags": "0cff85020102ff86000110000058ff860002132a6d636e666c61672e537472696e67466c6167ff870301010a537472696e67466c616701ff8800010401044e616d65010c0001055573616765010c000106456e76566172010c00010556616c7565010c00000056ff880d01016101017501014501017600112a6d636e666c61672e426f6f6c466c6167ff8903010108426f6f6c466c616701ff8a00010301044e616d65010c0001055573616765010c000106456e76566172010c00000007ff8a0401016200",
    "opts": "381000132a7270636472697665722e525043466c616773ff8b03010108525043466c61677301ff8c000101010656616c75657301ff8e00000027ff8d040101176d61705b737472696e675d696e74657266616365207b7d01ff8e00010c011000004aff8c270104017306737472696e670c03000178016c085b5d737472696e67ff8f020102ff9000010c00001fff9006000201700171016903696e7404020005016204626f6f6c0202000100",
    "bytes": "050a00027b7d",
}


def decode_all(data: bytes) -> list:
    pos = 0

    def more() -> bytes:
        nonlocal pos
        if pos >= len(data):
            raise EOFError
        r = gob.Reader(data[pos:])
        length = r.uint()
        start = pos + r.pos
        pos = start + length
        return data[start:pos]

    reader, decoder, out = gob.Reader(b"", more), gob.Decoder(), []
    while True:
        try:
            out.append(decoder.value(reader))
        except EOFError:
            return out


def test_values_go_encoded_decode_to_what_go_sent():
    got = {name: decode_all(bytes.fromhex(data)) for name, data in FROM_GO.items()}
    assert got["empty"] == [{}]
    assert got["int"] == [7]
    assert got["req"] == [{"ServiceMethod": "RPCServerDriver.GetVersion", "Seq": 0}, {}]
    assert got["bytes"] == [b"{}"]
    string_flag, bool_flag = got["flags"][0]
    assert (string_flag.name, string_flag.value) == ("*mcnflag.StringFlag",
                                                     {"Name": "a", "Usage": "u", "EnvVar": "E", "Value": "v"})
    assert (bool_flag.name, bool_flag.value) == ("*mcnflag.BoolFlag", {"Name": "b", "Usage": "", "EnvVar": ""})
    [opts] = got["opts"]  # an interface holding a struct holding a map of interfaces (types defined inline)
    assert opts.name == "*rpcdriver.RPCFlags"
    assert {k: (v.name, v.value) for k, v in opts.value["Values"].items()} == {
        "s": ("string", "x"), "l": ("[]string", ["p", "q"]), "i": ("int", -3), "b": ("bool", True)}


@pytest.mark.parametrize("n", [0, 1, 63, 64, 127, 128, 255, 256, 65535, 1 << 40, -1, -64, -65, -129, -(1 << 40)])
def test_integers_round_trip_at_every_width(n):
    out = bytearray()
    gob.put_int(out, n)
    assert gob.Reader(bytes(out)).int() == n
    if n >= 0:
        out = bytearray()
        gob.put_uint(out, n)
        assert gob.Reader(bytes(out)).uint() == n


def test_what_machine_tui_sends_decodes_to_what_it_meant():
    flags = gob.Struct("RPCFlags", [("Values", gob.Map(gob.STRING, gob.INTERFACE))])
    request = gob.Struct("Request", [("ServiceMethod", gob.STRING), ("Seq", gob.UINT)])
    enc = gob.Encoder()
    data = (enc.message(request, {"ServiceMethod": "X.Y", "Seq": 300}) + enc.message(gob.BYTES, b"\x00\xff")
            + enc.message(gob.INTERFACE, gob.Concrete("*rpcdriver.RPCFlags", flags, {"Values": {
                "s": "x", "l": ["p"], "i": 1 << 33, "b": False, "f": 1.5}})))
    header, raw, opts = decode_all(data)
    assert header == {"ServiceMethod": "X.Y", "Seq": 300} and raw == b"\x00\xff"
    assert {k: v.value for k, v in opts.value["Values"].items()} == {"s": "x", "l": ["p"], "i": 1 << 33, "b": False,
                                                                      "f": 1.5}


def test_a_stream_cut_short_or_malformed_is_a_gob_error_not_a_crash():
    data = bytes.fromhex(FROM_GO["flags"])
    for cut in (5, 20, len(data) - 3):
        with pytest.raises((gob.GobError, EOFError)):
            decode_all(data[:cut])
    with pytest.raises(gob.GobError):
        decode_all(bytes([3, 0x82, 0, 0]))  # a value of type 65, never defined
