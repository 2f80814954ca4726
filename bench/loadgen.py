"""A lean HTTP/1.1 load generator: many keep-alive clients POST pre-signed records to a node.

Runs in its own process (``python -m bench.loadgen URL FILE CLIENTS``) so that it competes
with the node only for CPU, not for its event loop. Requests are pre-built bytes and
responses are parsed just enough to read the status and skip the body: the client should
cost the machine as little as possible, so the figure measures the node.

FILE holds the records, each as a 4-byte big-endian length and the bytes. Prints one JSON
line: requests sent, answers by status, seconds from the first request to the last
answer, and the first error body seen.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

MSGPACK = "application/vnd.coopfed+msgpack"


def read_records(path: Path) -> list[bytes]:
    data = path.read_bytes()
    out, i = [], 0
    while i < len(data):
        n = int.from_bytes(data[i : i + 4], "big")
        out.append(data[i + 4 : i + 4 + n])
        i += 4 + n
    return out


def write_records(path: Path, raws: list[bytes]) -> None:
    path.write_bytes(b"".join(len(r).to_bytes(4, "big") + r for r in raws))


def request(host: str, raw: bytes) -> bytes:
    return (
        f"POST /api/v1/records HTTP/1.1\r\nHost: {host}\r\nContent-Type: {MSGPACK}\r\n"
        f"Content-Length: {len(raw)}\r\n\r\n"
    ).encode() + raw


async def run(url: str, raws: list[bytes], clients: int) -> dict[str, object]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    hostport = f"{host}:{port}"
    requests = [request(hostport, r) for r in raws]
    statuses: Counter[int] = Counter()
    first_error: list[str] = []
    latencies: list[float] = []
    it = iter(requests)

    async def client() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for req in it:
                t0 = time.perf_counter()
                writer.write(req)
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head[9:12])
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                body = await reader.readexactly(length)
                latencies.append(time.perf_counter() - t0)
                statuses[status] += 1
                if status >= 400 and not first_error:
                    first_error.append(body.decode(errors="replace")[:500])
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "sent": len(requests),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "seconds": elapsed,
        "p50_ms": 1000 * latencies[len(latencies) // 2] if latencies else 0.0,
        "p99_ms": 1000 * latencies[int(len(latencies) * 0.99)] if latencies else 0.0,
        "first_error": first_error[0] if first_error else None,
        "cpu_s": time.process_time(),
    }


def main() -> None:
    url, path, clients = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    result = asyncio.run(run(url, read_records(path), clients))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
