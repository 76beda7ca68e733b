"""A loopback TCP proxy in front of Postgres that counts network round trips.

It reads the client's protocol messages: every Sync ('S') and every simple
Query ('Q') makes the client wait for the server's ReadyForQuery, so each is
one round trip. A pipeline of statements ending in one Sync is one; BEGIN,
a statement and COMMIT sent one after the other are three. Connect with
``sslmode=disable`` so the first messages are the plain startup packet.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from pathlib import Path


class RoundTripProxy:
    def __init__(self, upstream_socket: Path) -> None:
        self.upstream = upstream_socket
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = int(self.listener.getsockname()[1])
        self._lock = threading.Lock()
        self._trips = 0
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres?sslmode=disable&gssencmode=disable"

    @property
    def trips(self) -> int:
        with self._lock:
            return self._trips

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            server.connect(str(self.upstream))
            threading.Thread(target=self._client_side, args=(client, server), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client), daemon=True).start()

    def _client_side(self, src: socket.socket, dst: socket.socket) -> None:
        """Forward client → server, counting Sync and Query messages. Each chunk is counted
        before it is forwarded, so the count is up to date before any answer can reach the
        client (counting after forwarding raced with a client that read ``trips`` at once)."""
        buf = b""
        started = False  # the startup packet has no type byte
        try:
            while data := src.recv(65536):
                buf += data
                while True:
                    if not started:
                        if len(buf) < 4:
                            break
                        (n,) = struct.unpack_from(">i", buf, 0)
                        if len(buf) < n:
                            break
                        buf, started = buf[n:], True
                        continue
                    if len(buf) < 5:
                        break
                    kind = buf[0:1]
                    (n,) = struct.unpack_from(">i", buf, 1)
                    if len(buf) < n + 1:
                        break
                    if kind in (b"S", b"Q"):
                        with self._lock:
                            self._trips += 1
                    buf = buf[n + 1 :]
                dst.sendall(data)
        except OSError:
            pass
        finally:
            self._close(src, dst)

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            self._close(src, dst)

    @staticmethod
    def _close(*socks: socket.socket) -> None:
        for s in socks:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.listener.close()
