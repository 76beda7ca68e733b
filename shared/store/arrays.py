"""float8[] ⇄ numpy, in Postgres's binary array format, vectorised.

psycopg's generic list dumper handles a 768-float array element by element
in Python (about 2 ms each); θ updates move 18 of them per reward. Here the
whole array is one numpy view: a header, then (int32 length = 8, float64)
pairs, all big-endian.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
from psycopg import adapt, postgres
from psycopg.abc import AdaptContext
from psycopg.pq import Format

from shared.core.context import FloatArray

_FLOAT8_OID = postgres.types["float8"].oid
_FLOAT8_ARRAY_OID = postgres.types["float8"].array_oid
_HEADER = struct.Struct(">iiIii")  # ndim, has-nulls flag, element oid, length, lower bound
_ELEMENT = np.dtype([("len", ">i4"), ("value", ">f8")])


class Float8ArrayDumper(adapt.Dumper):
    """A 1-D float numpy array as a binary float8[] parameter (use ``%b``)."""

    format = Format.BINARY
    oid = _FLOAT8_ARRAY_OID

    def dump(self, obj: Any) -> bytes:
        arr = np.asarray(obj, dtype=np.float64)
        if arr.ndim != 1:
            raise ValueError("only 1-D arrays are dumped as float8[]")
        body = np.empty(arr.size, dtype=_ELEMENT)
        body["len"] = 8
        body["value"] = arr
        return _HEADER.pack(1, 0, _FLOAT8_OID, arr.size, 1) + body.tobytes()


class Float8ArrayLoader(adapt.Loader):
    """A binary float8[] result as a float64 numpy array (None elements are not expected)."""

    format = Format.BINARY

    def load(self, data: Any) -> FloatArray:
        buf = bytes(data)
        ndim, has_nulls, _oid = struct.unpack_from(">iiI", buf, 0)
        if ndim == 0:
            return np.zeros(0)
        if ndim != 1 or has_nulls:
            raise ValueError("expected a 1-D float8[] without nulls")
        (n,) = struct.unpack_from(">i", buf, 12)
        out: FloatArray = np.frombuffer(buf, dtype=_ELEMENT, count=n, offset=20)["value"].astype(np.float64)
        return out


def register(context: AdaptContext) -> None:
    """Install both on a connection (the pool does it for each new one)."""
    context.adapters.register_dumper(np.ndarray, Float8ArrayDumper)
    context.adapters.register_loader(_FLOAT8_ARRAY_OID, Float8ArrayLoader)
