"""A local SMTP server for `make load`: accepts every message and logs one line per
recipient ("<unix time> <address>"), so a run can check that what the outbox marked SENT
actually arrived, and the benchmarks can time delivery."""

import argparse
import asyncio
import time
from pathlib import Path

from aiosmtpd.controller import UnthreadedController


class Sink:
    def __init__(self, log: Path):
        self.log = log.open("a", buffering=1)

    async def handle_DATA(self, server, session, envelope):
        for rcpt in envelope.rcpt_tos:
            self.log.write(f"{time.time():.6f} {rcpt}\n")
        return "250 OK"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", type=Path, required=True)
    args = parser.parse_args()
    loop = asyncio.new_event_loop()
    controller = UnthreadedController(
        Sink(args.log), hostname="127.0.0.1", port=args.port, loop=loop
    )
    controller.begin()
    try:
        loop.run_forever()
    finally:
        controller.end()


if __name__ == "__main__":
    main()
