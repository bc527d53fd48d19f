"""A do-nothing TCP relay: the floor any gateway process pays for being one more hop.

    python -m bench.upstreams.tcp_relay --target-port 9101 [--port 0]

Forwards bytes both ways between each client connection and one to the target, nothing
else (no parsing, no copies beyond the socket buffers; uvloop when installed). Measured like a
gateway, the latency it adds is what the machine charges for an extra process on the path:
two more socket hops and, when the process was idle (waiting 50 ms on the upstream), waking it
up. That is the part of a gateway's added latency no code inside it can remove.

It prints ``READY relay <port> <pid>`` once listening.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

__all__ = ["main"]


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def _serve(host: str, port: int, target_host: str, target_port: int) -> None:
    async def relay(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(target_host, target_port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(_pipe(client_reader, upstream_writer), _pipe(upstream_reader, client_writer))

    server = await asyncio.start_server(relay, host, port)
    bound = server.sockets[0].getsockname()[1]
    print(f"READY relay {bound} {os.getpid()}", flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port (printed in the READY line)")
    parser.add_argument("--target-host", default="127.0.0.1")
    parser.add_argument("--target-port", type=int, required=True)
    args = parser.parse_args(argv)
    serve = _serve(args.host, args.port, args.target_host, args.target_port)
    try:
        try:
            import uvloop
        except ImportError:
            asyncio.run(serve)
        else:
            uvloop.run(serve)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
