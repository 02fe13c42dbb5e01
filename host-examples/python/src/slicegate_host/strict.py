"""Reading input exactly as strictly as the Rust host does.

JSON as serde_json reads it for a typed value: strict UTF-8 (no byte-order
mark), an object naming a member twice refused, no NaN or Infinity, no
lone surrogates, at most 128 levels deep, and ``-0`` a float (so never a
whole number). Instants as the Rust host's ``humantime`` reads them
(``parse_rfc3339_weak``), byte for byte: a value another reader would take
differently (an offset, a lowercase ``z``, a basic-format date) is refused,
not read another way.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Union

MAX_DEPTH = 128
_MAX_SECONDS = 253_402_300_799  # 9999-12-31T23:59:59Z, humantime's limit
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _pairs(items):
    out = {}
    for key, value in items:
        if key in out:
            raise ValueError(f"duplicate field `{key}`")
        out[key] = value
    return out


def _no_constant(name):
    raise ValueError(f"`{name}` is not JSON")


def _int(text: str):
    # serde_json reads `-0` as a float, never as a whole number.
    return -0.0 if text == "-0" else int(text)


def _check(value) -> None:
    """Depth and well-formed strings, without recursion."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            item.encode("utf-8")  # a lone surrogate raises
        elif isinstance(item, (list, dict)):
            if depth > MAX_DEPTH:
                raise ValueError(f"nested more than {MAX_DEPTH} levels deep")
            children = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in children:
                if isinstance(key, str):
                    key.encode("utf-8")
                stack.append((child, depth + 1))


def loads(data: Union[bytes, str]):
    """JSON text (bytes must be UTF-8) read strictly; ValueError says why not."""
    try:
        text = data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else data
        value = json.loads(text, object_pairs_hook=_pairs, parse_constant=_no_constant, parse_int=_int)
        _check(value)
        return value
    except RecursionError:
        raise ValueError(f"nested more than {MAX_DEPTH} levels deep") from None
    except UnicodeError as e:
        raise ValueError(f"not well-formed UTF-8: {e}") from None


def parse_instant(text: object, *, round_up: bool = False) -> datetime:
    """An instant as the Rust host reads it; ValueError otherwise. Python
    keeps microseconds: nanoseconds are cut, or with `round_up` (for the
    start of a window, so it never opens early) carried up."""
    if not isinstance(text, str):
        raise ValueError(f"`{text!r}` is not an RFC 3339 instant (not a string)")
    b = text.encode("utf-8")

    def bad(why: str) -> ValueError:
        return ValueError(f"`{text}` is not an RFC 3339 instant: {why}")

    if len(b) < 19:
        raise bad("too short")
    if b[4:5] != b"-" or b[7:8] != b"-" or b[10:11] not in (b"T", b" ") or b[13:14] != b":" or b[16:17] != b":":
        raise bad("not YYYY-MM-DDTHH:MM:SS")

    def two(i: int) -> int:
        pair = b[i : i + 2]
        if not (len(pair) == 2 and 48 <= pair[0] <= 57 and 48 <= pair[1] <= 57):
            raise bad("not a digit")
        return (pair[0] - 48) * 10 + pair[1] - 48

    year = two(0) * 100 + two(2)
    month, day, hour, minute, second = two(5), two(8), two(11), two(14), two(17)
    if year < 1970 or hour > 23 or minute > 59 or second > 60:
        raise bad("out of range")
    second = min(second, 59)
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    days_in = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    if not 1 <= month <= 12 or not 1 <= day <= days_in[month - 1]:
        raise bad("out of range")
    nanos, mult = 0, 100_000_000
    if b[19:20] == b".":
        for idx in range(20, len(b)):
            c = b[idx]
            if c == ord("Z"):
                if idx == len(b) - 1:
                    break
                raise bad("bad fraction")
            if c == ord("+"):
                if idx == len(b) - 6:
                    break
                raise bad("bad fraction")
            if not 48 <= c <= 57:
                raise bad("bad fraction")
            nanos += mult * (c - 48)
            mult //= 10
    elif len(b) != 19 and (len(b) > 25 or (b[19:20] != b"Z" and b[19:] != b"+00:00")):
        raise bad("only `Z` or `+00:00` may follow the seconds")
    ydays = sum(days_in[: month - 1]) + day - 1
    leap_years = ((year - 1) - 1968) // 4 - ((year - 1) - 1900) // 100 + ((year - 1) - 1600) // 400
    total = (year - 1970) * 365 + leap_years + ydays
    seconds = second + minute * 60 + hour * 3600 + total * 86400
    if seconds > _MAX_SECONDS:
        raise bad("out of range")
    micros = -(-nanos // 1000) if round_up else nanos // 1000
    return _EPOCH + timedelta(seconds=seconds, microseconds=micros)
