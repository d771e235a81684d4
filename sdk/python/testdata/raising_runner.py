#!/usr/bin/python3
"""A runner on the exo_runner SDK whose load raises after Loading(1/2), for
tests of the SDK's exit on an exception: exit code 1, the traceback on
stderr and in the Failed status's diagnostics. It also print()s before
anything else, which the SDK's stdout guard sends to stderr. With the
argument "huge" its exception's text is 5 MB, more than a frame holds: the
SDK cuts it to what the supervisor keeps."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import exo_runner  # noqa: E402
from exo_runner import Status  # noqa: E402


def read_weights(path):
    if sys.argv[1:] == ["huge"]:
        raise ValueError("weights corrupt: " + "w" * 5000000)
    raise ValueError("weights corrupt: %s" % path)


class Raising(exo_runner.Handler):
    def load(self, session):
        print("Loading model…")  # the guard sends this to stderr
        session.set_status(Status.CONNECTING)
        session.set_status(Status.CONNECTED)
        session.loading(1, 2)
        read_weights("/models/layer-2.bin")


exo_runner.run(Raising())
