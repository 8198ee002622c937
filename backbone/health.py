"""Per-service HTTP endpoint: /health (JSON) and /metrics (Prometheus). Tiny on purpose: two fixed routes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

HealthProbe = Callable[[], Awaitable[dict[str, Any]]]


async def serve(host: str, port: int, probe: HealthProbe) -> asyncio.Server:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = (await asyncio.wait_for(reader.readline(), 5)).decode(errors="replace")
            while (await asyncio.wait_for(reader.readline(), 5)) not in (b"\r\n", b"\n", b""):
                pass
            path = request_line.split(" ")[1] if request_line.count(" ") >= 2 else "/"  # noqa: PLR2004
            if path == "/metrics":
                status, ctype, body = 200, CONTENT_TYPE_LATEST, generate_latest()
            elif path == "/health":
                report = await probe()
                status = 200 if report.get("ok") else 503
                ctype, body = "application/json", json.dumps(report, ensure_ascii=False).encode()
            else:
                status, ctype, body = 404, "text/plain", b"not found"
            head = (f"HTTP/1.1 {status} OK\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                    "Connection: close\r\n\r\n")
            writer.write(head.encode() + body)
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(handle, host, port)
