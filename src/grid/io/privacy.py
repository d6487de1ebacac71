"""Complainants' personal data (PIPL): never stored raw.

Names and phone numbers become a keyed hash (BLAKE2b with a 32-byte secret key,
so equal values can be linked without being readable) plus a masked form for
display (``138****5678``, ``张*``). The key lives in the user's config folder,
outside git and outside the database, created on first use.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import unicodedata
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from grid.errors import ConfigError

__all__ = ["load_or_create_key", "key_id", "hash_names", "hash_phones", "mask_names", "mask_phones",
           "mask_free_text", "protect_phones", "protect_names"]

_KEY_BYTES = 32
_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})([- ]?)(\d{3,4})(\d{4})(?!\d)")


def load_or_create_key(path: Path) -> bytes:
    """The secret hashing key at ``path``; created (mode 0600) when missing."""
    path = Path(path)
    if path.exists():
        key = path.read_bytes()
        if len(key) != _KEY_BYTES:
            raise ConfigError(f"hash key {path} has {len(key)} bytes, expected {_KEY_BYTES}; restore the "
                              "original key file (hashes made with another key will not match)")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(_KEY_BYTES)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key


def key_id(key: bytes) -> str:
    """A short public fingerprint of ``key``, stored in the database to detect a key change."""
    return hashlib.blake2b(b"grid-key-id", key=key, digest_size=6).hexdigest()


def _per_unique(values: pd.Series, *fns: Callable[[str], str]) -> list[pd.Series]:
    """Apply each ``fn`` once per distinct non-missing value (records repeat people); NA stays NA."""
    codes, uniques = pd.factorize(values)
    plain = uniques.tolist()
    indices = pa.array(codes, mask=codes < 0)
    return [_string_series(pc.take(pa.array([fn(u) for u in plain], type=pa.string()), indices), values.index)
            for fn in fns]


def _string_series(arr: pa.Array | pa.ChunkedArray, index: pd.Index) -> pd.Series:
    """A pandas string Series over an Arrow string array, without converting to Python objects."""
    return pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array([arr]) if isinstance(arr, pa.Array) else arr),
                     index=index)


def _digest(key: bytes) -> Callable[[str], str]:
    """Keyed BLAKE2b (16 bytes, hex) of a text; the keyed state is set up once and copied."""
    keyed = hashlib.blake2b(key=key, digest_size=16)

    def digest(value: str) -> str:
        state = keyed.copy()
        state.update(value.encode("utf-8"))
        return state.hexdigest()

    return digest


def _blank_to_na(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.strip()
    return text.mask(text == "")


def _phone_digits(values: pd.Series) -> pd.Series:
    digits = _blank_to_na(values).str.replace(r"\D+", "", regex=True)
    digits = digits.mask(digits.str.len().eq(13) & digits.str.startswith("86"), digits.str.slice(2))
    return digits.mask(digits == "")


def hash_phones(values: pd.Series, key: bytes) -> pd.Series:
    """Keyed hash (32 hex) of phone numbers by their digits (``+86`` dropped); NA stays NA."""
    return _per_unique(_phone_digits(values), _digest(key))[0]


def _name_key(digest: Callable[[str], str]) -> Callable[[str], str]:
    return lambda v: digest(unicodedata.normalize("NFKC", v).casefold())


def hash_names(values: pd.Series, key: bytes) -> pd.Series:
    """Keyed hash (32 hex) of names after NFKC, trimming and case folding; NA stays NA."""
    return _per_unique(_blank_to_na(values), _name_key(_digest(key)))[0]


def _mask_digits(digits: pd.Series) -> pd.Series:
    """Digits masked: 11+ digits keep the first 3 and last 4, 7-10 keep the last 4, shorter ones none."""
    arr = pa.array(digits, type=pa.string(), from_pandas=True)
    length = pc.utf8_length(arr)
    head = pc.if_else(pc.greater_equal(length, 11), pc.utf8_slice_codeunits(arr, 0, 3), "")
    tail = pc.if_else(pc.greater_equal(length, 7), pc.utf8_slice_codeunits(arr, -4), "")
    stars = pc.binary_repeat("*", pc.subtract(length, pc.add(pc.utf8_length(head), pc.utf8_length(tail))))
    return _string_series(pc.binary_join_element_wise(head, stars, tail, ""), digits.index)


def mask_phones(values: pd.Series) -> pd.Series:
    """``13812345678`` -> ``138****5678``; landlines keep only the last four digits."""
    return _mask_digits(_phone_digits(values))


def _mask_name(name: str) -> str:
    words = name.split()
    if len(words) > 1:  # Latin names: keep each initial
        return " ".join(w[0] + "*" * (len(w) - 1) for w in words)
    if len(name) <= 2:
        return name[0] + "*" * (len(name) - 1) if len(name) == 2 else "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_names(values: pd.Series) -> pd.Series:
    """``张三`` -> ``张*``, ``欧阳娜娜`` -> ``欧**娜``, ``John Smith`` -> ``J*** S****``."""
    return _per_unique(_blank_to_na(values), _mask_name)[0]


def mask_free_text(values: pd.Series) -> pd.Series:
    """Mask mobile and landline numbers written inside free text (descriptions often carry them)."""
    text = values.astype("string").str.replace(_MOBILE, lambda m: m.group(1) + "****" + m.group(3), regex=True)
    return text.str.replace(_LANDLINE, lambda m: m.group(1) + m.group(2) + "****" + m.group(4), regex=True)


def protect_phones(values: pd.Series, key: bytes) -> tuple[pd.Series, pd.Series]:
    """(masked, hashed) phone numbers, normalising the column once."""
    digits = _phone_digits(values)
    return _mask_digits(digits), _per_unique(digits, _digest(key))[0]


def protect_names(values: pd.Series, key: bytes) -> tuple[pd.Series, pd.Series]:
    """(masked, hashed) names, each distinct name handled once."""
    masked, hashed = _per_unique(_blank_to_na(values), _mask_name, _name_key(_digest(key)))
    return masked, hashed
