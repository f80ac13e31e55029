"""Start the fake upstreams on fixed ports and print the environment that points the app at them.

    python -m tests.fakes [--ports 8701,8702,8703] [--page-size 12] [--latency 0.05]
"""
from __future__ import annotations

import argparse
import signal
import sys
import threading

from tests.fakes import FakeUpstreams, build_world


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.fakes", description=__doc__.splitlines()[0])
    p.add_argument("--ports", default="8701,8702,8703", help="Letterboxd,TMDB,JustWatch ports")
    p.add_argument("--page-size", type=int, default=12, help="films per Letterboxd grid page")
    p.add_argument("--latency", type=float, default=0.0, help="seconds added to every answer")
    p.add_argument("--big-member", type=int, default=0, help="give member 'bigwatcher' this many films")
    args = p.parse_args(argv)
    ports = tuple(int(x) for x in args.ports.split(","))
    if len(ports) != 3:
        p.error("--ports needs three ports")
    world = build_world(big_member_films=args.big_member)
    fakes = FakeUpstreams.start(world, page_size=args.page_size, ports=ports)  # type: ignore[arg-type]
    for server in (fakes.letterboxd, fakes.tmdb, fakes.justwatch):
        server.control.set(latency_s=args.latency)
    for key, value in fakes.env().items():
        print(f"export {key}={value}")
    print(f"# members: cinephile (3 pages), newbie, member001..member{len(world.popular):03d}"
          + (", bigwatcher" if args.big_member else ""), file=sys.stderr)
    print("# failure modes: POST JSON to <server>/__control, e.g. {\"block\": \"plain\"}", file=sys.stderr)
    sys.stdout.flush()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    fakes.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
