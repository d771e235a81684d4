#!/usr/bin/python3
"""A runner with one deliberate protocol fault, for the conformance suite's
own tests: the example runner (examples/text_generation.py, 5 ms a token) on
the exo_runner SDK, with one SDK step replaced. The fault is the first
argument:

  late-ready  it decides Ready when a task ends, but writes the Ready only
              once it has accepted the next task (or after 2 s if none
              comes), so it reports Ready while that task runs (the bug of
              a Ready written from a timer, made deterministic: a 50 ms
              timer let a slow machine's next task start after the Ready)
  no-running  it never reports StatusUpdated{Running}: TaskStatus Running,
              TaskAcknowledged, chunks, Complete, then Ready while it
              already shows Ready
  busy-shutdown-hangs
              a Shutdown that arrives while a task runs is answered in
              full (ShuttingDown, the task Cancelled, Shutdown), but the
              process never exits: the Node.js trial's hang, whose
              process.exit() from a callback did not return while a read
              of fd 0 through fs.createReadStream was pending. An idle
              Shutdown exits as usual

  stray-late  STRAY seconds after its first Ready it writes a line of text
              to the frames' stdout (a debug print on a timer, or a log
              line that took the wrong stream), once; and it ignores a
              supervisor message it does not know (as a runner may), so
              that unknown-message meets the line too

  bad-loading its loading reports have total_layers 0, written past the
              SDK, which refuses them (ValueError: checked first; a SDK
              that sent one exits the runner 3)

  exit-after-ready
              it exits 0 right after its first Ready, unasked (a Java
              runner whose main returned while its other threads were
              daemon threads)

  crash-after-ready
              right after its first Ready it writes a Python traceback
              ending "ValueError: weights corrupt" to stderr and exits 1

  crash-on-shutdown
              on its Shutdown frame it writes a traceback ending
              "RuntimeError: flush failed" to stderr and exits 1

  exit-on-shutdown
              on its Shutdown frame it exits 0 at once, without a status
              (a new author's runner: os._exit on Shutdown)

  silent-warmup
              it sends no heartbeat before its first Ready, and warms up
              for 0.8 s (a model load holding the interpreter's lock): a
              task after it must be judged from its own start

  silent-task while a task runs it sends no heartbeat (heartbeats sent only
              between tokens), and a task waits first_token_delay_ms
              (task parameter, default 0) before its first token

exo-actors conformance must fail next-task-before-ready for late-ready, and
every case that runs a task for no-running, and shutdown-mid-task (only) for
busy-shutdown-hangs, each naming the fault; and for stray-late,
no-stray-stdout and unknown-message, each quoting the line; for
exit-after-ready, every case after Ready saying that the runner exited
unasked; for exit-on-shutdown, the cases that send Shutdown saying that
it did not answer it, not that it exited unasked; for silent-task with a first_token_delay_ms past the suite's
heartbeat gap, every case that waits on a task, naming the gap.
"""

import os
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "examples"))

import exo_runner  # noqa: E402
from exo_runner import _protocol as proto  # noqa: E402
from exo_runner import _server  # noqa: E402
from exo_runner import runner_pb2 as pb  # noqa: E402
import text_generation  # noqa: E402

LATE = 2.0  # how late late-ready writes the Ready when no next task comes

_original_on_task = _server.Server._on_task


def late_ready(srv, t, exc):
    """_on_task_ended without the atomic Ready: the terminal status now, the
    Ready once the next task was accepted (late_ready_task), or LATE seconds
    later."""
    del srv.tasks[t.id]
    t._cancel.set()
    with srv.w.lock:
        t.ended = True
        if exc is not None:
            srv.w.write_locked(_server._task_status_frame(t.id, pb.TASK_STATUS_CANCELLED, t.reason or str(exc)))
        else:
            srv.completed += 1
            srv.w.write_locked(_server._task_status_frame(t.id, pb.TASK_STATUS_COMPLETE))
        decided = not srv.tasks and not srv.stopping
        if decided:
            srv.late_ready_pending = True

    def write_ready():
        with srv.w.lock:
            if getattr(srv, "late_ready_pending", False) and not srv.stopping:
                srv.late_ready_pending = False
                srv.w.write_locked(_server._status_frame(proto.READY))
                srv.status = proto.READY

    if decided:
        srv.late_ready_write = write_ready
        timer = threading.Timer(LATE, write_ready)
        timer.daemon = True  # never holds the runner's exit
        timer.start()
    return None


def late_ready_task(srv, m):
    """_on_task, then the Ready held since the last task's end."""
    _original_on_task(srv, m)
    write = getattr(srv, "late_ready_write", None)
    if write is not None:
        write()


def no_running_task(srv, m):
    """_on_task without step 2 (StatusUpdated{Running})."""
    with srv.w.lock:
        srv.w.write_locked(_server._task_status_frame(m.id, pb.TASK_STATUS_RUNNING),
                           _server._env(task_acknowledged=pb.TaskAcknowledged(task_id=m.id)))
    t = _server.Task(srv, m)
    srv.tasks[m.id] = t
    srv._spawn("exo-task-" + m.id, lambda: srv.h.run(t), ("task_ended", t))


def no_running_end(srv, t, exc):
    """_on_task_ended that reports Ready although it never left Ready."""
    del srv.tasks[t.id]
    t._cancel.set()
    with srv.w.lock:
        t.ended = True
        st = pb.TASK_STATUS_COMPLETE if exc is None else pb.TASK_STATUS_CANCELLED
        if exc is None:
            srv.completed += 1
        srv.w.write_locked(_server._task_status_frame(t.id, st), _server._status_frame(proto.READY))
    return None


STRAY = 0.3  # how long after its first Ready stray-late writes its line

_original_set_status_locked = _server.Server._set_status_locked


def stray_late_status(srv, st):
    """_set_status_locked, and at the first Ready a timer that writes a text
    line to stdout STRAY seconds later."""
    _original_set_status_locked(srv, st)
    if st.kind == proto.READY and not getattr(srv, "stray_armed", False):
        srv.stray_armed = True

        def stray():
            with srv.w.lock:
                os.write(srv.w._fd, b"debug: model ready, cache warm\n")

        timer = threading.Timer(STRAY, stray)
        timer.daemon = True  # never holds the runner's exit
        timer.start()


_original_on_frame = _server.Server._on_frame


def ignore_unknown(srv, body):
    """_on_frame, but a message with no body this runner knows is ignored."""
    if pb.SupervisorEnvelope.FromString(body).WhichOneof("body") is None:
        return None
    return _original_on_frame(srv, body)


_original_shutdown = _server.Server._shutdown


def busy_shutdown_hangs(srv):
    """_shutdown, then, if a task was running, never return (no exit)."""
    busy = bool(srv.tasks)
    code = _original_shutdown(srv)
    if busy:
        sys.stderr.write("faulty_runner: busy-shutdown-hangs: answered the Shutdown, now not exiting\n")
        sys.stderr.flush()
        threading.Event().wait()  # forever: only SIGTERM or SIGKILL ends it
    return code


_original_loading = _server.Session.loading


def bad_loading(self, loaded, total):
    """Session.loading with total_layers 0, written past the SDK's check
    (which must refuse it first)."""
    try:
        _original_loading(self, loaded, 0)
    except ValueError as e:
        sys.stderr.write("the SDK refused it: %s\n" % e)
    else:
        sys.stderr.write("the SDK sent Loading(%d/0)\n" % loaded)
        os._exit(3)
    with self._srv.w.lock:
        self._srv.w.write_locked(_server._status_frame(proto.LOADING, layers_loaded=loaded, total_layers=0))
        self._srv.status = proto.LOADING


def crash_after_ready(srv, st):
    """_set_status_locked, and at the first Ready (written) a traceback
    on stderr and exit 1."""
    _original_set_status_locked(srv, st)
    if st.kind == proto.READY:
        sys.stderr.write('Traceback (most recent call last):\n  File "runner.py", line 42, in load\n'
                         '    check(weights)\nValueError: weights corrupt\n')
        sys.stderr.flush()
        os._exit(1)


def crash_on_shutdown(srv, m):
    """_on_shutdown: a traceback on stderr, exit 1, no status."""
    sys.stderr.write('Traceback (most recent call last):\n  File "runner.py", line 9, in stop\n'
                     '    flush()\nRuntimeError: flush failed\n')
    sys.stderr.flush()
    os._exit(1)


def exit_on_shutdown(srv, m):
    """_on_shutdown: exit 0 at once, no ShuttingDown, no Shutdown."""
    sys.stderr.write("faulty_runner: exit-on-shutdown: exiting without a word\n")
    sys.stderr.flush()
    os._exit(0)


def exit_after_ready(srv, st):
    """_set_status_locked, and at the first Ready (written) exit 0."""
    _original_set_status_locked(srv, st)
    if st.kind == proto.READY:
        os._exit(0)


_original_heartbeat = _server.Server.heartbeat


def heartbeat_between_tasks(srv, nonce=0):
    """heartbeat, but none while a task runs (a ping is still answered)."""
    if srv.tasks and nonce == 0:
        return
    _original_heartbeat(srv, nonce)


def heartbeat_once_ready(srv, nonce=0):
    """heartbeat, but none before the runner is Ready (a ping is still
    answered)."""
    if srv.status not in (proto.READY, proto.RUNNING) and nonce == 0:
        return
    _original_heartbeat(srv, nonce)


_original_run = text_generation.TextGeneration.run


def run_after_delay(handler, task):
    """TextGeneration.run after first_token_delay_ms."""
    if task.wait(int(task.params.get("first_token_delay_ms", "0")) / 1000):
        task.check()
    return _original_run(handler, task)


def main():
    faults = ("late-ready", "no-running", "busy-shutdown-hangs", "stray-late", "bad-loading", "exit-after-ready", "crash-after-ready", "crash-on-shutdown", "exit-on-shutdown",
              "silent-task", "silent-warmup")
    if len(sys.argv) < 2 or sys.argv[1] not in faults:
        sys.stderr.write("usage: faulty_runner.py %s\n" % "|".join(faults))
        return 2
    if sys.argv[1] == "stray-late":
        _server.Server._set_status_locked = stray_late_status
        _server.Server._on_frame = ignore_unknown
    elif sys.argv[1] == "busy-shutdown-hangs":
        _server.Server._shutdown = busy_shutdown_hangs
    elif sys.argv[1] == "bad-loading":
        _server.Session.loading = bad_loading
    elif sys.argv[1] == "exit-after-ready":
        _server.Server._set_status_locked = exit_after_ready
    elif sys.argv[1] == "crash-after-ready":
        _server.Server._set_status_locked = crash_after_ready
    elif sys.argv[1] == "crash-on-shutdown":
        _server.Server._on_shutdown = crash_on_shutdown
    elif sys.argv[1] == "exit-on-shutdown":
        _server.Server._on_shutdown = exit_on_shutdown
    elif sys.argv[1] == "silent-task":
        _server.Server.heartbeat = heartbeat_between_tasks
        text_generation.TextGeneration.run = run_after_delay
    elif sys.argv[1] == "silent-warmup":
        _server.Server.heartbeat = heartbeat_once_ready
    elif sys.argv[1] == "late-ready":
        _server.Server._on_task_ended = late_ready
        _server.Server._on_task = late_ready_task
    else:
        _server.Server._on_task = no_running_task
        _server.Server._on_task_ended = no_running_end
    warmup = 0.8 if sys.argv[1] == "silent-warmup" else 0.0
    args = text_generation.argparse.Namespace(layers=2, layer_delay=0.01, warmup_delay=warmup, token_delay=0.005)
    exo_runner.run(text_generation.TextGeneration(args))


if __name__ == "__main__":
    sys.exit(main())
