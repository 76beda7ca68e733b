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
    def transaction(self) -> Iterator[Conn]:
        """One transaction: commits on success, rolls back on any exception.

        Connection-level failures surface as TransientError (answered 503),
        so a caller that retries will converge. That includes any error that
        leaves the connection broken: behind a transaction pooler (pgbouncer)
        a server connection lost mid-transaction shows at COMMIT as an
        InternalError ("received 2 results"), not an OperationalError.
        """
        with self._connection() as conn, conn.transaction():
            yield conn

    @contextmanager
    def statement(self) -> Iterator[Conn]:
        """A connection for one statement (atomic on its own) or one pipeline of reads.

        No BEGIN/COMMIT: each statement is its own transaction. Use it only
        where a single statement is the whole unit of work.
        """
        with self._connection() as conn:
            yield conn

    @contextmanager
    def _connection(self) -> Iterator[Conn]:
        """A pooled connection whose failures are mapped: unreachable, or broken under us,
        is a TransientError (503); any other error is the caller's."""
        try:
            with self.pool.connection() as conn:
                try:
                    yield conn
                except psycopg.Error as exc:
                    if conn.broken and not isinstance(exc, psycopg.OperationalError):
                        raise TransientError(f"database connection lost: {type(exc).__name__}") from exc
                    raise
        except psycopg.OperationalError as exc:
            raise TransientError(f"database unavailable: {type(exc).__name__}") from exc

    def close(self) -> None:
        self.pool.close()
