"""A small rewrite of Go's core module: a `cabi_realloc_adapter` export for the WASI preview1 adapter.

Without it the adapter takes pages with memory.grow, but Go's runtime believes it owns every byte above its
data and its heap soon grows over the adapter's state (an "assertion failed at adapter line ..." trap). Nor
can the adapter call a Go function: it allocates during the Go runtime's first WASI calls, on Go's system
stack, where Go cannot be re-entered. So the glue reserves a static array (`asteraiAdapterSpace`, found by
the marker it starts with) and this module appends a plain-wasm bump allocator over it to the module.
"""

from __future__ import annotations

MARKER = b"asterai-adapter!"
SPACE = 1 << 19  # bytes reserved for the adapter (its state and stack take well under this)


def _uleb(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _sleb(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if (n == 0 and not b & 0x40) or (n == -1 and b & 0x40):
            out.append(b)
            return bytes(out)
        out.append(b | 0x80)


def _read_leb(data: bytes, i: int, signed: bool = False) -> tuple[int, int]:
    """A LEB128 number at data[i] (unsigned, or signed) and the index after it."""
    if data[i] < 0x40:  # one byte, and positive: most of them
        return data[i], i + 1
    result = shift = 0
    while True:
        b = data[i]
        i += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            if signed and b & 0x40:
                result -= 1 << shift
            return result, i


def _sections(wasm: bytes) -> list[tuple[int, bytes]]:
    assert wasm[:8] == b"\0asm\1\0\0\0", "not a core wasm module"
    out, i = [], 8
    while i < len(wasm):
        sid = wasm[i]
        size, j = _read_leb(wasm, i + 1)
        out.append((sid, wasm[j : j + size]))
        i = j + size
    return out


def _vec(body: bytes) -> tuple[int, int]:
    """(count, offset of the first item) of a vector section."""
    return _read_leb(body, 0)


def _imported_funcs(body: bytes) -> int:
    count, i = _vec(body)
    funcs = 0
    for _ in range(count):
        for _ in range(2):  # module, name
            n, i = _read_leb(body, i)
            i += n
        kind = body[i]
        i += 1
        if kind == 0:  # func: type index
            _, i = _read_leb(body, i)
            funcs += 1
        elif kind in (1, 2):  # table (reftype + limits) / memory (limits)
            if kind == 1:
                i += 1
            flags = body[i]
            i += 1
            _, i = _read_leb(body, i)
            if flags & 1:
                _, i = _read_leb(body, i)
        elif kind == 3:  # global: valtype, mutability
            i += 2
        else:
            raise ValueError(f"unexpected import kind {kind}")
    return funcs


def _find_space(body: bytes) -> int:
    """The address of the marker in the module's active data segments. Go's linker writes tens of thousands
    of segments, so the walk only reads headers, up to the segment holding the marker."""
    at = body.find(MARKER)
    count, i = _vec(body)
    for _ in range(count):
        if at < i:
            break
        flags, i = _read_leb(body, i)
        if flags == 1:  # passive
            n, i = _read_leb(body, i)
            i += n
            continue
        if flags == 2:
            _, i = _read_leb(body, i)
        if body[i] != 0x41:
            raise ValueError("a data segment offset that is not i32.const")
        offset, i = _read_leb(body, i + 1, signed=True)
        assert body[i] == 0x0B
        n, i = _read_leb(body, i + 1)
        if i <= at < i + n:
            return offset + (at - i)
        i += n
    raise ValueError("the glue's adapter space was not found in the module's data")


def _allocator(base: int) -> bytes:
    """func (old, old_size, align, new_size) -> ptr: bump allocation inside [base+16, base+SPACE); the next
    free address is kept in the space's first word (the marker's bytes, replaced on first use)."""
    i32 = lambda op, n: bytes([op]) + _sleb(n)  # noqa: E731
    next_ptr = 4  # local index
    code = b"".join(
        [
            # next = *base; if next < base+16 || next > base+SPACE { next = base+16 }
            i32(0x41, base), b"\x28\x02\x00", b"\x21" + _uleb(next_ptr),
            b"\x20" + _uleb(next_ptr), i32(0x41, base + 16), b"\x49",
            b"\x20" + _uleb(next_ptr), i32(0x41, base + SPACE), b"\x4b", b"\x72",
            b"\x04\x40", i32(0x41, base + 16), b"\x21" + _uleb(next_ptr), b"\x0b",
            # next = (next + align - 1) & -align
            b"\x20" + _uleb(next_ptr), b"\x20\x02", b"\x6a", i32(0x41, 1), b"\x6b",
            i32(0x41, 0), b"\x20\x02", b"\x6b", b"\x71", b"\x21" + _uleb(next_ptr),
            # if next + new_size > base + SPACE { unreachable }
            b"\x20" + _uleb(next_ptr), b"\x20\x03", b"\x6a", i32(0x41, base + SPACE), b"\x4b",
            b"\x04\x40\x00\x0b",
            # *base = next + new_size; return next
            i32(0x41, base), b"\x20" + _uleb(next_ptr), b"\x20\x03", b"\x6a", b"\x36\x02\x00",
            b"\x20" + _uleb(next_ptr), b"\x0b",
        ]
    )  # fmt: skip
    body = b"\x01\x01\x7f" + code  # one local i32
    return _uleb(len(body)) + body


def add_adapter_realloc(wasm: bytes) -> bytes:
    sections = _sections(wasm)
    ids = [sid for sid, _ in sections]
    for need in (1, 3, 7, 10, 11):
        if need not in ids:
            raise ValueError(f"Go's module has no section {need}")
    imported = next((_imported_funcs(b) for sid, b in sections if sid == 2), 0)
    defined = _vec(next(b for sid, b in sections if sid == 3))[0]
    base = _find_space(next(b for sid, b in sections if sid == 11))
    func_index = imported + defined
    out = []
    for sid, body in sections:
        if sid == 1:
            n, i = _vec(body)
            type_index = n
            body = _uleb(n + 1) + body[i:] + b"\x60\x04\x7f\x7f\x7f\x7f\x01\x7f"
        elif sid == 3:
            n, i = _vec(body)
            body = _uleb(n + 1) + body[i:] + _uleb(type_index)
        elif sid == 7:
            n, i = _vec(body)
            name = b"cabi_realloc_adapter"
            body = _uleb(n + 1) + body[i:] + _uleb(len(name)) + name + b"\x00" + _uleb(func_index)
        elif sid == 10:
            n, i = _vec(body)
            body = _uleb(n + 1) + body[i:] + _allocator(base)
        out.append(bytes([sid]) + _uleb(len(body)) + body)
    return wasm[:8] + b"".join(out)
