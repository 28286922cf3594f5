"""[MS-OVBA] 2.4.3 Data Encryption: the obfuscation of the PROJECT stream's ``CMG=``, ``DPB=``
and ``GC=`` lines (2.3.1.15-2.3.1.17), as hex text.
"""

from __future__ import annotations

import struct

# ---------------------------------------------------------------------------
# [MS-OVBA] 2.4.3 Data Encryption (CMG / DPB / GC obfuscation)
# ---------------------------------------------------------------------------


def _encrypt_data(data: bytes, project_id: str, seed: int) -> str:
    """Encrypt ``data`` as an Encrypted Data Structure (2.4.3.1/2.4.3.2).

    Returns the uppercase hex string used in the PROJECT stream.  ``seed`` is
    the 1-byte Seed; its bits 1-2 give the number of ignored bytes.
    """
    version = 2
    proj_key = sum(project_id.encode("ascii")) & 0xFF
    seed &= 0xFF
    version_enc = seed ^ version
    proj_key_enc = seed ^ proj_key
    out = [seed, version_enc, proj_key_enc]
    unenc1, enc1, enc2 = proj_key, proj_key_enc, version_enc

    def emit(byte: int) -> None:
        nonlocal unenc1, enc1, enc2
        byte_enc = byte ^ ((enc2 + unenc1) & 0xFF)
        out.append(byte_enc)
        enc2, enc1, unenc1 = enc1, byte_enc, byte

    for _ in range((seed & 6) // 2):  # IgnoredEnc: arbitrary bytes
        emit(0x00)
    for b in struct.pack("<I", len(data)):  # DataLengthEnc
        emit(b)
    for b in data:  # DataEnc
        emit(b)
    return bytes(out).hex().upper()


def decrypt_data(hex_text: str) -> tuple[int, bytes]:
    """Decrypt an Encrypted Data Structure (2.4.3.3); returns ``(proj_key, data)``."""
    raw = bytes.fromhex(hex_text)
    seed, version_enc, proj_key_enc = raw[0], raw[1], raw[2]
    if seed ^ version_enc != 2:
        raise ValueError("unsupported encryption version")
    proj_key = seed ^ proj_key_enc
    unenc1, enc1, enc2 = proj_key, proj_key_enc, version_enc
    pos = 3
    decoded = []

    def take() -> int:
        nonlocal unenc1, enc1, enc2, pos
        byte_enc = raw[pos]
        pos += 1
        byte = byte_enc ^ ((enc2 + unenc1) & 0xFF)
        enc2, enc1, unenc1 = enc1, byte_enc, byte
        return byte

    for _ in range((seed & 6) // 2):
        take()
    length = struct.unpack("<I", bytes(take() for _ in range(4)))[0]
    for _ in range(length):
        decoded.append(take())
    if pos != len(raw):
        raise ValueError("trailing bytes after encrypted data")
    return proj_key, bytes(decoded)
