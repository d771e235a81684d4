#!/usr/bin/python3
"""An example runner on the exo_runner SDK that imitates the built-in runner
(`exo-actors runner`): it loads --layers layers (Connecting, Connected,
Loading(k/N) for k = 0..N, Loaded, WarmingUp, Ready), then runs tasks:

  text_generation  streams max_tokens tokens (parameter, default 20):
                   "tok0 ", "tok1 ", ..., --token-delay before each; the last
                   chunk carries finish_reason "length"
  noop             completes at once, without chunks
  anything else    fails with: unknown task kind "KIND"

Run it under the supervisor, or check it with
  exo-actors conformance -- /usr/bin/python3 sdk/python/examples/text_generation.py
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import exo_runner  # noqa: E402
from exo_runner import Status  # noqa: E402

DEFAULT_MAX_TOKENS = 20
MAX_MAX_TOKENS = 1_000_000


def duration(text):
    """Parses a Go-style duration: 5ms, 0.2s, 1s, 0s."""
    for suffix, scale in (("ms", 1e-3), ("us", 1e-6), ("s", 1.0)):
        if text.endswith(suffix):
            return float(text[:-len(suffix)]) * scale
    raise argparse.ArgumentTypeError("%r: want a duration such as 5ms or 0.5s" % text)


class TextGeneration(exo_runner.Handler):
    def __init__(self, args):
        self.args = args

    def load(self, session):
        session.set_status(Status.CONNECTING)
        session.set_status(Status.CONNECTED)
        n = self.args.layers
        session.loading(0, n)
        for k in range(1, n + 1):
            if session.wait(self.args.layer_delay):
                return
            session.loading(k, n)
        session.set_status(Status.LOADED)
        session.set_status(Status.WARMING_UP)
        if session.wait(self.args.warmup_delay):
            return
        session.set_status(Status.READY)

    def run(self, task):
        if task.kind == "noop":
            return
        if task.kind != "text_generation":
            raise ValueError('unknown task kind "%s"' % task.kind)
        raw = task.params.get("max_tokens", str(DEFAULT_MAX_TOKENS))
        try:
            n = int(raw)
        except ValueError:
            n = -1
        if not 0 <= n <= MAX_MAX_TOKENS:
            raise ValueError("task parameter max_tokens %r: want an integer from 0 to %d" % (raw, MAX_MAX_TOKENS))
        delay = self.args.token_delay
        for i in range(n):
            if delay > 0:
                task.wait(delay)
            task.check()
            if i == n - 1:
                task.finish("length", "tok%d " % i)
            else:
                task.chunk("tok%d " % i)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--layers", type=int, default=8, help="layers to load (default 8)")
    p.add_argument("--layer-delay", type=duration, default=0.02, help="time to load one layer (default 20ms)")
    p.add_argument("--warmup-delay", type=duration, default=0.01, help="time spent WarmingUp (default 10ms)")
    p.add_argument("--token-delay", type=duration, default=0.005, help="time to generate one token (default 5ms)")
    args = p.parse_args()
    if args.layers < 1:
        p.error("--layers %d: want at least 1" % args.layers)
    exo_runner.run(TextGeneration(args))


if __name__ == "__main__":
    main()
