#!/usr/bin/python3
"""A runner on the exo_runner SDK whose load never returns and ignores its
cancellation, for the test that a Shutdown still ends it on its own: the
SDK gives up on the load before the Shutdown's timeout ends, reports
Shutdown and exits, so the supervisor never needs its SIGTERM."""

import os
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import exo_runner  # noqa: E402
from exo_runner import Status  # noqa: E402


class Stubborn(exo_runner.Handler):
    def load(self, session):
        session.set_status(Status.CONNECTING)
        session.set_status(Status.CONNECTED)
        session.loading(0, 4)
        threading.Event().wait()  # never set: ignores the cancellation


exo_runner.run(Stubborn())
