"""A tiny local HTTP receiver for tests of outgoing requests (webhooks)."""

from __future__ import annotations

import asyncio


class LocalServer:
    """A tiny HTTP/1.1 server on 127.0.0.1 that records requests."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.status = 200
        self.body = b"ok"
        self.headers: dict[str, str] = {}
        self.hang = False
        self.port = 0
        self._server: asyncio.Server | None = None

    async def _handle(self, reader, writer) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {k.lower(): v for k, v in (ln.split(": ", 1) for ln in lines[1:] if ln)}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        self.requests.append({"method": method, "path": path, "headers": headers, "body": body})
        if self.hang:
            await asyncio.sleep(30)
        extra = "".join(f"{k}: {v}\r\n" for k, v in self.headers.items())
        writer.write(
            f"HTTP/1.1 {self.status} X\r\nContent-Length: {len(self.body)}\r\n{extra}"
            "Connection: close\r\n\r\n".encode()
            + self.body
        )
        await writer.drain()
        writer.close()

    async def __aenter__(self) -> LocalServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc) -> None:
        assert self._server is not None
        self._server.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"
