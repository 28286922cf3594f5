"""[MS-OVBA] 2.4.1 Compression and Decompression: the run-length / LZ77 scheme of VBA streams.

:func:`compress` follows 2.4.1.3.6-19 (CompressedContainer of CompressedChunks, 4096 bytes of
decompressed data per chunk, CopyTokens sized by 2.4.1.3.19's CopyToken help);
:func:`decompress` is 2.4.1.3.1-5 (used to read back what we wrote, and by the tests).
"""

from __future__ import annotations

import struct

# ---------------------------------------------------------------------------
# [MS-OVBA] 2.4.1 Compression and Decompression
# ---------------------------------------------------------------------------

_CHUNK_SIZE = 4096  # decompressed bytes per chunk (2.4.1.1.3)
_MAX_COMPRESSED_CHUNK = 4098  # header (2) + at most 4096 bytes of data (2.4.1.1.4)
_CHUNK_SIGNATURE = 0b011 << 12  # CompressedChunkSignature (2.4.1.1.5)


def _copy_token_help(difference: int) -> tuple[int, int, int]:
    """CopyToken Help (2.4.1.3.19.1).

    ``difference`` is DecompressedCurrent - DecompressedChunkStart (>= 1).
    Returns ``(bit_count, length_mask, maximum_length)``; the offset occupies
    the high ``bit_count`` bits of the token and the length the rest.
    """
    bit_count = max((difference - 1).bit_length(), 4)  # ceil(log2(difference)), min 4
    length_mask = 0xFFFF >> bit_count
    return bit_count, length_mask, length_mask + 3


def decompress(data: bytes) -> bytes:
    """Decompress a CompressedContainer ([MS-OVBA] 2.4.1.3.1).

    Implements 2.4.1.3.2 (CompressedChunk), 2.4.1.3.3 (RawChunk),
    2.4.1.3.4 (TokenSequence) and 2.4.1.3.5 (Token, with the CopyToken
    unpacking of 2.4.1.3.19.2).  A raw (uncompressed) chunk contributes 4096
    bytes, or whatever is left of the container if it ends sooner (see
    :func:`compress` for why a short final raw chunk can occur).

    Raises ``ValueError`` on a malformed container.
    """
    buf = bytes(data)
    if not buf or buf[0] != 0x01:
        raise ValueError("not an MS-OVBA CompressedContainer (signature byte must be 0x01)")
    out = bytearray()
    pos = 1
    end = len(buf)
    while pos < end:
        if pos + 2 > end:
            raise ValueError(f"truncated CompressedChunkHeader at offset {pos}")
        (header,) = struct.unpack_from("<H", buf, pos)
        if header & 0x7000 != _CHUNK_SIGNATURE:
            raise ValueError(f"bad CompressedChunkSignature at offset {pos}")
        chunk_size = (header & 0x0FFF) + 3
        compressed = bool(header & 0x8000)
        chunk_end = min(end, pos + chunk_size)
        pos += 2
        if not compressed:
            # 2.4.1.3.3: raw chunk of 4096 bytes
            if chunk_size != _MAX_COMPRESSED_CHUNK:
                raise ValueError("raw chunk with CompressedChunkSize != 4098")
            out += buf[pos : pos + _CHUNK_SIZE]
            pos += _CHUNK_SIZE
            continue
        chunk_start = len(out)  # DecompressedChunkStart
        while pos < chunk_end:
            flags = buf[pos]
            pos += 1
            for bit in range(8):
                if pos >= chunk_end:
                    break
                if not (flags >> bit) & 1:  # literal token
                    out.append(buf[pos])
                    pos += 1
                    continue
                if pos + 2 > chunk_end:
                    raise ValueError(f"truncated CopyToken at offset {pos}")
                (token,) = struct.unpack_from("<H", buf, pos)
                pos += 2
                difference = len(out) - chunk_start
                if difference < 1:
                    raise ValueError("CopyToken at the start of a chunk")
                bit_count, length_mask, _ = _copy_token_help(difference)
                length = (token & length_mask) + 3
                offset = (token >> (16 - bit_count)) + 1
                src = len(out) - offset
                if src < chunk_start:
                    raise ValueError("CopyToken refers before the start of the chunk")
                if offset >= length:
                    out += out[src : src + length]
                else:  # overlapping copy: repeat the last `offset` bytes
                    pattern = bytes(out[src:])
                    reps = -(-length // offset)
                    out += (pattern * reps)[:length]
    return bytes(out)


def _match_length(buf: bytes, cand: int, cur: int, end: int) -> int:
    """Length of the common run of ``buf[cand:]`` and ``buf[cur:]`` bounded by ``end``."""
    limit = end - cur
    n = 0
    step = 16
    while n < limit:
        s = min(step, limit - n)
        if buf[cand + n : cand + n + s] == buf[cur + n : cur + n + s]:
            n += s
            step <<= 1
            continue
        for i in range(s):
            if buf[cand + n + i] != buf[cur + n + i]:
                return n + i
        return n + s  # pragma: no cover - unreachable
    return n


def _compress_chunk(buf: bytes, start: int, end: int) -> bytes:
    """Compress one DecompressedChunk ``buf[start:end]`` (2.4.1.3.7).

    Matching follows 2.4.1.3.19.4 exactly: the longest match (compared
    without the length cap) wins, the nearest candidate wins ties, and a match
    is used only if it is at least 3 bytes long.  Candidates are found through
    3-byte hash chains instead of scanning every earlier position, which gives
    the same result because shorter matches are never used.
    """
    out = bytearray(b"\x00\x00")  # header placeholder
    chains: dict[bytes, list[int]] = {}
    cur = start

    def index_upto(pos_end: int, idx_from: int) -> None:
        for p in range(idx_from, min(pos_end, end - 2)):
            chains.setdefault(buf[p : p + 3], []).append(p)

    indexed = start
    overflow = False
    while cur < end and len(out) < _MAX_COMPRESSED_CHUNK and not overflow:
        # 2.4.1.3.8 TokenSequence: a FlagByte and up to 8 tokens
        flag_index = len(out)
        out.append(0)
        flags = 0
        for bit in range(8):
            if not (cur < end and len(out) < _MAX_COMPRESSED_CHUNK):
                break
            # 2.4.1.3.9 Token; 2.4.1.3.19.4 Matching
            index_upto(cur, indexed)
            indexed = cur
            best_len = 0
            best_cand = -1
            if end - cur >= 3:
                limit = end - cur
                for cand in reversed(chains.get(buf[cur : cur + 3], ())):
                    length = _match_length(buf, cand, cur, end)
                    if length > best_len:
                        best_len, best_cand = length, cand
                        if length == limit:
                            break
            if best_len >= 3:
                if len(out) + 1 >= _MAX_COMPRESSED_CHUNK:  # no room for a 2-byte CopyToken
                    overflow = True
                    break
                bit_count, _, max_len = _copy_token_help(cur - start)
                length = min(best_len, max_len)
                offset = cur - best_cand
                out += struct.pack("<H", ((offset - 1) << (16 - bit_count)) | (length - 3))  # 2.4.1.3.19.3
                flags |= 1 << bit
                cur += length
            else:  # LiteralToken
                out.append(buf[cur])
                cur += 1
        out[flag_index] = flags
    if cur < end:
        # 2.4.1.3.10: the compressed form does not fit -- store a RawChunk
        # (flag 0, CompressedChunkSize 4098).  The spec pads a short final raw
        # chunk with zero bytes, which would append NULs to the decompressed
        # data; we write only the real bytes instead (the container simply ends),
        # which decompressors such as olevba's and ours read back exactly.  This
        # only happens for a final chunk of more than 3640 incompressible bytes,
        # never for VBA source text.
        header = _CHUNK_SIGNATURE | (_MAX_COMPRESSED_CHUNK - 3)
        return struct.pack("<H", header) + buf[start:end]
    header = 0x8000 | _CHUNK_SIGNATURE | (len(out) - 3)
    struct.pack_into("<H", out, 0, header)
    return bytes(out)


def compress(data: bytes) -> bytes:
    """Compress ``data`` into a CompressedContainer ([MS-OVBA] 2.4.1.3.6).

    The output is the signature byte 0x01 followed by one CompressedChunk per
    4096 bytes of input (2.4.1.3.7-2.4.1.3.9, 2.4.1.3.19.3/4).  For the
    examples of [MS-OVBA] 3.2 it produces the byte sequences printed there.
    """
    buf = bytes(data)
    out = bytearray(b"\x01")
    for start in range(0, len(buf), _CHUNK_SIZE):
        out += _compress_chunk(buf, start, min(len(buf), start + _CHUNK_SIZE))
    return bytes(out)
