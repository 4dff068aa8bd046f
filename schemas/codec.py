"""JSON codec: msgspec, one encoder and one typed decoder per message type.

See ``docs/codec.md`` for why msgspec rather than orjson.  Encoding happens once, where an
object is born (the bridge); everyone downstream forwards the bytes.
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

from schemas.errors import BadRequestError, error_from_validation

T = TypeVar("T")

TOO_DEEP = "JSON nested too deeply"

_encoder = msgspec.json.Encoder()


def encode(obj: Any) -> bytes:
    """Encode a Struct, list of Structs or plain value as strict JSON bytes."""
    return _encoder.encode(obj)


_decoders: dict[Any, msgspec.json.Decoder[Any]] = {}


def decoder(type_: type[T]) -> msgspec.json.Decoder[T]:
    """The typed decoder for ``type_`` (built on first use, then reused)."""
    dec = _decoders.get(type_)
    if dec is None:
        dec = _decoders[type_] = msgspec.json.Decoder(type_)
    return dec


def decode(data: bytes | str, type_: type[T]) -> T:
    """Decode ``data`` as ``type_``.

    Raises:
        BadRequestError: not JSON, nested too deeply, or not a valid ``type_``; ``field``
            names the offending path.
    """
    try:
        return decoder(type_).decode(data)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise error_from_validation(exc) from None
    except RecursionError:  # msgspec's nesting limit, even inside an ignored field
        raise BadRequestError(TOO_DEEP) from None


def convert(obj: Any, type_: type[T]) -> T:
    """Validate already-parsed data (e.g. form fields) as ``type_``, strings coerced.

    Raises:
        BadRequestError: as :func:`decode`.
    """
    try:
        return msgspec.convert(obj, type_, strict=False)
    except msgspec.ValidationError as exc:
        raise error_from_validation(exc) from None


def join_array(items: list[bytes]) -> bytes:
    """A JSON array of already-encoded JSON values, without re-encoding them."""
    return b"[" + b",".join(items) + b"]"


__all__ = ["BadRequestError", "convert", "decode", "decoder", "encode", "join_array"]
