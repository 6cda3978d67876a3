"""Read an HDF5 variable-length string with a bounded parser of the file's global heap.

Why: the ``.csd`` metadata values are variable-length strings, which HDF5 keeps in a
*global heap collection*. On a corrupt collection the HDF5 library can loop forever
while reading one (found by fuzzing ``read_csd``). Here the string's heap id is read
from the dataset's raw storage and the collection is walked with explicit bounds, so a
corrupt file gives an error, never a hang.

Layout (HDF5 file format spec, "Global Heap" and "Variable-length data"): the raw
element is ``length (4 bytes) | collection address (sizeof_addr) | object index (4
bytes)``; a collection is ``"GCOL" | version 1 | 3 reserved | collection size
(sizeof_size)`` followed by objects ``index (2) | reference count (2) | reserved (4) |
size (sizeof_size) | data padded to 8 bytes``; index 0 marks the free space at the end.
"""

from __future__ import annotations

from typing import BinaryIO

__all__ = ["read_vlen_string"]


def _uint(raw: bytes, what: str) -> int:
    if not raw:
        raise ValueError(f"{what}: beyond the end of the file")
    return int.from_bytes(raw, "little")


def read_vlen_string(
    fh: BinaryIO,
    element_offset: int,
    *,
    sizeof_addr: int,
    sizeof_size: int,
    base: int = 0,
) -> bytes:
    """The bytes of the variable-length string whose raw element starts at file offset
    ``element_offset``.

    Raises ValueError (with what is wrong) on anything inconsistent; reads at most the
    collection.
    """
    fh.seek(0, 2)
    file_size = fh.tell()
    fh.seek(element_offset)
    element = fh.read(4 + sizeof_addr + 4)
    if len(element) != 4 + sizeof_addr + 4:
        raise ValueError("string descriptor beyond the end of the file")
    length = int.from_bytes(element[:4], "little")
    address = int.from_bytes(element[4 : 4 + sizeof_addr], "little") + base
    index = int.from_bytes(element[4 + sizeof_addr :], "little")
    if length == 0:
        return b""
    fh.seek(address)
    header = fh.read(8 + sizeof_size)
    if len(header) != 8 + sizeof_size or header[:4] != b"GCOL" or header[4] != 1:
        raise ValueError(f"no global heap collection at offset {address}")
    end = min(address + _uint(header[8:], "collection size"), file_size)
    pos = address + len(header)
    # each object advances pos by at least 8 + sizeof_size bytes
    while pos + 8 + sizeof_size <= end:
        fh.seek(pos)
        obj = fh.read(8 + sizeof_size)
        obj_index = int.from_bytes(obj[:2], "little")
        size = int.from_bytes(obj[8:], "little")
        if obj_index == 0:
            break  # free space: no more objects
        if obj_index == index:
            if size < length or pos + len(obj) + length > end:
                raise ValueError(
                    f"heap object {index} holds {size} bytes, expected {length}"
                )
            return fh.read(length)
        pos += len(obj) + ((size + 7) // 8) * 8
    raise ValueError(
        f"heap object {index} not found in the collection at offset {address}"
    )
