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
from pathlib import Path

import pandas as pd

from grid.errors import ConfigError

__all__ = ["load_or_create_key", "key_id", "hash_names", "hash_phones", "mask_names", "mask_phones",
           "mask_free_text"]

_KEY_BYTES = 32
_NON_DIGIT = re.compile(r"\D+")
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


def _hash_unique(normalised: pd.Series, key: bytes) -> pd.Series:
    uniques = normalised.dropna().unique()
    digests = {v: hashlib.blake2b(v.encode("utf-8"), key=key, digest_size=16).hexdigest() for v in uniques}
    return normalised.map(digests)


def _blank_to_na(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.strip()
    return text.mask(text == "")


def _phone_digits(values: pd.Series) -> pd.Series:
    digits = _blank_to_na(values).str.replace(_NON_DIGIT, "", regex=True)
    digits = digits.mask(digits.str.len().eq(13) & digits.str.startswith("86"), digits.str[2:])
    return digits.mask(digits == "")


def hash_phones(values: pd.Series, key: bytes) -> pd.Series:
    """Keyed hash (32 hex) of phone numbers by their digits (``+86`` dropped); NA stays NA."""
    return _hash_unique(_phone_digits(values), key)


def hash_names(values: pd.Series, key: bytes) -> pd.Series:
    """Keyed hash (32 hex) of names after NFKC, trimming and case folding; NA stays NA."""
    text = _blank_to_na(values)
    normalised = text.map(lambda v: unicodedata.normalize("NFKC", v).casefold(), na_action="ignore")
    return _hash_unique(normalised, key)


def _mask_phone(digits: str) -> str:
    if len(digits) >= 11:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    if len(digits) >= 7:
        return "*" * (len(digits) - 4) + digits[-4:]
    return "*" * len(digits)


def mask_phones(values: pd.Series) -> pd.Series:
    """``13812345678`` -> ``138****5678``; landlines keep only the last four digits."""
    return _phone_digits(values).map(_mask_phone, na_action="ignore")


def _mask_name(name: str) -> str:
    words = name.split()
    if len(words) > 1:  # Latin names: keep each initial
        return " ".join(w[0] + "*" * (len(w) - 1) for w in words)
    if len(name) <= 2:
        return name[0] + "*" * (len(name) - 1) if len(name) == 2 else "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_names(values: pd.Series) -> pd.Series:
    """``张三`` -> ``张*``, ``欧阳娜娜`` -> ``欧**娜``, ``John Smith`` -> ``J*** S****``."""
    return _blank_to_na(values).map(_mask_name, na_action="ignore")


def mask_free_text(values: pd.Series) -> pd.Series:
    """Mask mobile and landline numbers written inside free text (descriptions often carry them)."""
    text = values.astype("string").str.replace(_MOBILE, lambda m: m.group(1) + "****" + m.group(3), regex=True)
    return text.str.replace(_LANDLINE, lambda m: m.group(1) + m.group(2) + "****" + m.group(4), regex=True)
