"""Just enough of the engine file format (docs/engine-format.md) to edit seeds: split a file into
its sections, rewrite the device record (META) or the program binaries (PROG), and put the header
back with the right payload size and checksum."""
from __future__ import annotations

import struct
from typing import Callable, List, Sequence, Tuple, Union

MAGIC = b"MLPRTENG"
HEADER_BYTES = 32
Section = Tuple[bytes, bytes]  # (tag, body)


def fnv1a64(data: bytes) -> int:
    """The payload checksum: 64-bit FNV-1a."""
    value = 0xCBF29CE484222325
    for byte in data:
        value = ((value ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return value


def with_header(payload: bytes, version: int = 2, checksum: Callable[[bytes], int] = fnv1a64) -> bytes:
    """`payload` behind a header that announces its size and checksum (`checksum`: this file's
    FNV-1a, or the same function compiled, mlprt._core.engine_checksum, where speed matters)."""
    return MAGIC + struct.pack("<IIQQ", version, 0, len(payload), checksum(payload)) + payload


def split(engine: bytes) -> Tuple[int, List[Section]]:
    """The format version and the (tag, body) sections of a well-formed engine file."""
    if engine[:8] != MAGIC:
        raise ValueError("not an mlprt engine file")
    version = struct.unpack_from("<I", engine, 8)[0]
    sections: List[Section] = []
    at = HEADER_BYTES
    while at < len(engine):
        tag, length = engine[at:at + 4], struct.unpack_from("<Q", engine, at + 4)[0]
        sections.append((tag, engine[at + 12:at + 12 + length]))
        at += 12 + length
    return version, sections


def join(version: int, sections: Sequence[Section]) -> bytes:
    """The engine file of these sections (the inverse of split)."""
    payload = b"".join(tag + struct.pack("<Q", len(body)) + body for tag, body in sections)
    return with_header(payload, version)


def _string(text: Union[str, bytes]) -> bytes:
    data = text if isinstance(text, bytes) else text.encode()
    return struct.pack("<I", len(data)) + data


def _read_string(body: bytes, at: int) -> Tuple[bytes, int]:
    length = struct.unpack_from("<I", body, at)[0]
    return body[at + 4:at + 4 + length], at + 4 + length


Text = Union[str, bytes]


def retarget(engine: bytes, platform: Text, device: Text, vendor: Text, driver: Text, opencl_version: Text) -> bytes:
    """The engine with its device record replaced (the mlprt version and FP16 flag kept); bytes
    are written as they are (a test may need some that are not UTF-8)."""
    version, sections = split(engine)
    tag, meta = sections[0]
    mlprt_version, at = _read_string(meta, 0)
    for _ in range(5):
        _, at = _read_string(meta, at)
    fp16 = meta[at:]
    record = b"".join(_string(s) for s in (platform, device, vendor, driver, opencl_version))
    sections[0] = (tag, struct.pack("<I", len(mlprt_version)) + mlprt_version + record + fp16)
    return join(version, sections)


def without_binaries(engine: bytes) -> bytes:
    """The engine with every program binary emptied (family, options and source hash kept): the
    runtime then compiles those kernels from source, and the file shrinks to a seed's size."""
    version, sections = split(engine)
    tag, body = sections[-1]
    count = struct.unpack_from("<I", body, 0)[0]
    at, programs = 4, [struct.pack("<I", count)]
    for _ in range(count):
        strings = []
        for _ in range(3):
            text, at = _read_string(body, at)
            strings.append(struct.pack("<I", len(text)) + text)
        length = struct.unpack_from("<Q", body, at)[0]
        at += 8 + length
        programs.append(b"".join(strings) + struct.pack("<Q", 0))
    sections[-1] = (tag, b"".join(programs))
    return join(version, sections)
