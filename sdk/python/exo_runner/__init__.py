"""exo_runner: the Python runner SDK for exo-actors.

A runner is a worker process that loads a model and streams tokens; the
exo-actors supervisor starts it and speaks the runner protocol
(docs/protocol.md) with it over stdin/stdout. This package does for a Python
runner what runtime/runner does for a Go one:

- the handshake (Hello with versions, runner ID, PID and capabilities;
  HelloAccepted or HelloRefused);
- statuses, checked against the protocol's legal transitions;
- heartbeats from a thread of their own, with honest progress counters;
- tasks in threads of their own, acknowledged before the handler runs,
  ended with one terminal status and Ready in one write; cancel;
- a stdout guard: frames go to a private duplicate of fd 1, while fd 1 and
  sys.stdout point at stderr, so a stray print() cannot corrupt the stream;
- a clean exit: 0 after Shutdown, at the end of stdin and on SIGTERM; 1 on
  an uncaught exception, with the traceback on stderr and in the Failed
  status's diagnostics.

Usage::

    import exo_runner
    from exo_runner import Status

    class Model(exo_runner.Handler):
        def load(self, session):
            session.set_status(Status.CONNECTING)
            session.set_status(Status.CONNECTED)
            for k in range(8):
                session.loading(k + 1, 8)
            session.set_status(Status.LOADED)
            session.set_status(Status.READY)

        def run(self, task):
            for i in range(3):
                task.check()              # raises Cancelled once cancelled
                task.chunk("tok%d " % i)
            task.finish("stop", ".")

    exo_runner.run(Model())

Its only dependency is protobuf (Debian's python3-protobuf 3.21 works).
"""

from ._protocol import (CAP_CANCEL, CAP_PROGRESS, MAX_VERSION, MIN_VERSION)
from ._server import (Cancelled, FatalError, Refused, Session, Task, TaskEnded,
                      guard_stdout, run, serve)
from . import _protocol as _p

__all__ = ["Handler", "Status", "Session", "Task", "Cancelled", "FatalError", "TaskEnded",
           "Refused", "serve", "run", "guard_stdout", "CAP_CANCEL", "CAP_PROGRESS",
           "MIN_VERSION", "MAX_VERSION"]


class Status:
    """The runner statuses a handler reports (RunnerStatusKind values)."""
    CONNECTING = _p.CONNECTING
    CONNECTED = _p.CONNECTED
    LOADING = _p.LOADING
    LOADED = _p.LOADED
    WARMING_UP = _p.WARMING_UP
    READY = _p.READY


class Handler:
    """What a runner implements. load reports its way to READY (it runs in a
    thread, so the runner answers the supervisor meanwhile); run runs one
    task in a thread of its own. A handler may also define
    before_shutdown(cancelled), called on Shutdown before the SDK cancels
    the tasks; cancelled is a threading.Event set when it must return."""

    def load(self, session):
        """Loads the model, reporting statuses; must end READY."""
        session.set_status(Status.READY)

    def run(self, task):
        """Runs one task: stream with task.chunk and task.finish. Raising
        fails the task (FatalError ends the runner); Cancelled after a
        cancel ends it Cancelled."""
        raise NotImplementedError("Handler.run: implement it to run tasks")
