"""The connection pool and the transaction boundary."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from shared.errors import TransientError
from shared.store import arrays

Conn = psycopg.Connection[Any]


class Database:
    """A pool of connections; ``transaction()`` is the only way to touch state.

    Prepared statements are off (``prepare_threshold=None``): Supabase's
    transaction pooler hands each transaction a different server connection.
    Connections are in autocommit mode, so a lone statement (``statement()``)
    costs one round trip, and ``transaction()`` sends BEGIN/COMMIT itself.
    """

    def __init__(self, url: str, *, max_size: int = 4, options: str | None = None) -> None:
        self.url = url
        kwargs: dict[str, Any] = {"prepare_threshold": None, "autocommit": True}
        if options:
            kwargs["options"] = options
        self.pool = ConnectionPool(
            url,
            min_size=1,
            max_size=max_size,
            kwargs=kwargs,
            configure=arrays.register,
            open=True,
            name="learner",
        )

    @contextmanager
    def transaction(self, *, pipelined: bool = False) -> Iterator[Conn]:
        """One transaction: commits on success, rolls back on any exception.

        ``pipelined`` sends BEGIN with the first statement and COMMIT with the
        last writes, saving two round trips; results are still read in order.
        Connection-level failures surface as TransientError (answered 503),
        so a caller that retries will converge.
        """
        try:
            with self.pool.connection() as conn:
                if pipelined:
                    with conn.pipeline(), conn.transaction():
                        yield conn
                else:
                    with conn.transaction():
                        yield conn
        except psycopg.OperationalError as exc:
            raise TransientError(f"database unavailable: {type(exc).__name__}") from exc

    @contextmanager
    def statement(self) -> Iterator[Conn]:
        """A connection for one statement (atomic on its own) or one pipeline of reads.

        No BEGIN/COMMIT: each statement is its own transaction. Use it only
        where a single statement is the whole unit of work.
        """
        try:
            with self.pool.connection() as conn:
                yield conn
        except psycopg.OperationalError as exc:
            raise TransientError(f"database unavailable: {type(exc).__name__}") from exc

    def close(self) -> None:
        self.pool.close()
