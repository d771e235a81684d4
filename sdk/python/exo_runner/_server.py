"""The runner side of the protocol: what exo_runner.serve runs.

Threads (all daemons, so a handler that ignores cancellation cannot keep the
process alive past its exit):

  main       the caller's thread: handshake, then the event loop below; the
             only thread that changes task bookkeeping
  reader     reads supervisor frames from stdin (os.read), puts them on the
             event queue; at most MAX_PENDING_FRAMES wait there (then it
             stops reading, and the supervisor sees its input queue fill)
  heartbeat  sends a Heartbeat every interval with the progress counters
  load       one call of handler.load
  task       one thread per running task, calling handler.run
  hook       handler.before_shutdown, if the handler has one

Every frame is written under the writer's lock, one os.write per batch; a
state change and the frames that announce it are made under the same lock,
so "task ends + Ready" reaches the supervisor in one write.
"""

import os
import queue
import signal
import sys
import threading
import time
import traceback

from . import _protocol as proto
from . import _wire
from . import runner_pb2 as pb

MAX_PENDING_FRAMES = 256

# Heartbeat thread: a wake-up later than this many seconds past its interval
# is logged as starvation (the GIL held by a C extension, most likely).
STARVATION_WARNING = 1.0

# The most of a Shutdown's timeout the SDK keeps for its own exit: it waits
# for cancelled handlers up to the timeout less this (less a fifth of a
# timeout under 2.5 s), counted from the frame, so it reports Shutdown and
# exits before the supervisor's SIGTERM, which comes when the timeout ends.
# Waiting the whole timeout raced the SIGTERM and lost it whenever a handler
# ignored its cancellation.
SHUTDOWN_EXIT_MARGIN = 0.5


def shutdown_wait(timeout, elapsed):
    """Seconds to wait for cancelled handlers after a Shutdown of timeout
    read elapsed seconds ago (a before_shutdown hook ran meanwhile); 0 (no
    limit) only for a timeout of 0."""
    if timeout <= 0:
        return 0.0
    return max(timeout - min(timeout / 5, SHUTDOWN_EXIT_MARGIN) - elapsed, 0.001)


class Cancelled(Exception):
    """Raised by Task.check and Session.check once the task (or Load) was
    cancelled. Let it propagate out of run/load: the SDK reports the task
    Cancelled."""


class FatalError(Exception):
    """Raise it from a task to end the whole runner (lost model, device out
    of memory): the runner reports Failed, sends TerminationError and exits 1.
    Any other exception from a task fails only that task."""


class TaskEnded(Exception):
    """Task.chunk or Task.finish after the task's stream ended."""


class Refused(Exception):
    """The supervisor refused the runner's protocol versions (HelloRefused)."""


def _log(msg):
    sys.stderr.write("exo_runner: %s\n" % msg)
    sys.stderr.flush()


def _env(**body):
    return pb.RunnerEnvelope(**body)


def _status_frame(kind, **fields):
    return _env(status_updated=pb.StatusUpdated(status=pb.RunnerStatus(kind=kind, **fields)))


def _task_status_frame(task_id, status, reason=""):
    return _env(task_status_updated=pb.TaskStatusUpdated(task_id=task_id, status=status, reason=reason))


# The supervisor keeps this much of a runner's texts (docs/protocol.md,
# "Bounds on texts"); cut here too, so a long one never makes a frame over
# the frame limit (its write would end the runner with nothing said).
TEXT_MAX = 4096
DIAGNOSTICS_MAX = 16384


def _cap(text, limit):
    """text cut to at most limit bytes of UTF-8, ending with the marker the
    supervisor uses, or text itself when it fits."""
    raw = text.encode("utf-8", "replace")  # lone surrogates (OSError file names) become "?"
    if len(raw) <= limit:
        return raw.decode("utf-8")
    marker_len = len((" …[truncated %d bytes]" % len(raw)).encode("utf-8"))
    head = raw[:max(limit - marker_len, 0)].decode("utf-8", "ignore")
    return head + " …[truncated %d bytes]" % (len(raw) - len(head.encode("utf-8")))


def _error_text(exc):
    text = str(exc)
    return _cap("%s: %s" % (type(exc).__name__, text) if text else type(exc).__name__, TEXT_MAX)


class Session:
    """What handler.load gets: reports statuses on the way to Ready."""

    def __init__(self, srv):
        self._srv = srv
        self._cancel = threading.Event()

    @property
    def runner_id(self):
        """The runner's ID as the supervisor knows it."""
        return self._srv.runner_id

    @property
    def version(self):
        """The protocol version agreed in the handshake."""
        return self._srv.version

    @property
    def status(self):
        """The runner's current status (an exo_runner.Status value)."""
        return self._srv.status

    def set_status(self, kind):
        """Reports a status change (CONNECTING, CONNECTED, LOADED,
        WARMING_UP, READY). Raises ValueError for an illegal transition."""
        self._srv.set_status(pb.RunnerStatus(kind=kind))

    def loading(self, loaded, total):
        """Reports Loading(loaded/total); layers_loaded is heartbeat progress.
        Raises ValueError for a total of 0, loaded above total, or, after a
        Loading report, fewer layers or another total (the node refuses
        those: docs/protocol.md, "Runner statuses")."""
        self._srv.set_status(pb.RunnerStatus(kind=proto.LOADING, layers_loaded=loaded, total_layers=total))

    @property
    def cancelled(self):
        """True once loading should stop (shutdown, or the supervisor left)."""
        return self._cancel.is_set()

    def wait(self, seconds):
        """Sleeps up to seconds; returns True (early) if cancelled."""
        return self._cancel.wait(seconds)

    def check(self):
        """Raises Cancelled if loading should stop."""
        if self._cancel.is_set():
            raise Cancelled("load cancelled")


class Task:
    """One task: what handler.run gets."""

    def __init__(self, srv, msg):
        self._srv = srv
        self._msg = msg
        self._cancel = threading.Event()
        self.reason = ""  # why it was cancelled; main thread only
        self.next_index = 0
        self.ended = False

    @property
    def id(self):
        """The task's ID, unique per runner."""
        return self._msg.id

    @property
    def kind(self):
        """What to do, e.g. "text_generation"."""
        return self._msg.kind

    @property
    def payload(self):
        """The task's payload bytes."""
        return self._msg.payload

    @property
    def params(self):
        """The task's parameters (a dict of str to str), e.g. max_tokens."""
        return dict(self._msg.params)

    @property
    def cancelled(self):
        """True once the supervisor cancelled the task (or the runner stops)."""
        return self._cancel.is_set()

    def wait(self, seconds):
        """Sleeps up to seconds; returns True (early) if cancelled."""
        return self._cancel.wait(seconds)

    def check(self):
        """Raises Cancelled if the task was cancelled."""
        if self._cancel.is_set():
            raise Cancelled("task %s cancelled" % self.id)

    def chunk(self, text):
        """Streams one generated token; indices count from 0."""
        self._srv.chunk(self, text, "")

    def finish(self, finish_reason, text):
        """Streams the last token with finish_reason ("stop", "length"); later
        chunk and finish calls raise TaskEnded."""
        if not finish_reason:
            raise ValueError('Task.finish needs a finish reason, such as "stop" or "length"')
        self._srv.chunk(self, text, finish_reason)

    def _stop(self, reason):
        if not self.reason:
            self.reason = reason
        self._cancel.set()


class Server:
    """One runner's protocol session; see serve."""

    def __init__(self, handler, in_fd, out_fd, capabilities, versions, stop_grace):
        self.h = handler
        self.reader = _wire.FrameReader(in_fd)
        self.w = _wire.FrameWriter(out_fd)
        self.caps = list(capabilities)
        self.min_version, self.max_version = versions
        self.grace = stop_grace
        self.runner_id = os.environ.get(proto.ENV_RUNNER_ID, "")
        self.version = 0
        self.interval = proto.DEFAULT_HEARTBEAT_INTERVAL
        self.status = proto.IDLE  # guarded by w.lock
        self.tokens = 0  # guarded by w.lock
        self.layers = 0  # guarded by w.lock
        self.total = 0  # guarded by w.lock: the last Loading's total_layers
        self.completed = 0  # guarded by w.lock
        self.seq = 0  # guarded by w.lock
        self.events = queue.Queue()  # never closed; frames bounded by slots
        self.slots = threading.BoundedSemaphore(MAX_PENDING_FRAMES)
        self.tasks = {}  # main thread only
        self.live = 0  # handler calls running; main thread only
        self.stopping = False
        self.shutdown_seen = False
        self.shutdown_timeout = 0.0
        self.shutdown_at = 0.0  # time.monotonic() when the Shutdown frame was read
        self.session = Session(self)
        self.hook_cancel = threading.Event()
        self.hb_stop = threading.Event()
        self.sigterm = False
        self.load_running = False
        self.hook_running = False

    # -- writing ---------------------------------------------------------

    def set_status(self, st):
        with self.w.lock:
            self._set_status_locked(st)

    def _set_status_locked(self, st):
        if not proto.valid_transition(self.status, st.kind):
            raise ValueError("status %s -> %s is not a legal transition" % (
                proto.status_name(self.status), proto.status_name(st.kind)))
        if st.kind == proto.LOADING:
            # The node refuses the same (docs/protocol.md, "Runner statuses").
            if st.total_layers == 0 or st.layers_loaded > st.total_layers:
                raise ValueError("Loading(%d/%d): want 0 <= loaded <= total and total > 0" % (
                    st.layers_loaded, st.total_layers))
            if self.status == proto.LOADING and (st.layers_loaded < self.layers or st.total_layers != self.total):
                raise ValueError("Loading(%d/%d) after Loading(%d/%d): layers may not go backwards nor the total change" % (
                    st.layers_loaded, st.total_layers, self.layers, self.total))
        self.w.write_locked(_env(status_updated=pb.StatusUpdated(status=st)))
        self.status = st.kind
        if st.kind == proto.LOADING:
            self.layers, self.total = st.layers_loaded, st.total_layers

    def chunk(self, task, text, finish_reason):
        with self.w.lock:
            if task.ended:
                raise TaskEnded("task %s: its stream has ended" % task.id)
            self.w.write_locked(_env(chunk_generated=pb.ChunkGenerated(
                task_id=task.id, index=task.next_index,
                token=pb.TokenChunk(text=text, token_id=task.next_index, finish_reason=finish_reason))))
            task.next_index += 1
            self.tokens += 1
            if finish_reason:
                task.ended = True

    def heartbeat(self, nonce=0):
        with self.w.lock:
            self.seq += 1
            self.w.write_locked(_env(heartbeat=pb.Heartbeat(
                seq=self.seq, tokens_produced=self.tokens, layers_loaded=self.layers,
                tasks_completed=self.completed, ping_nonce=nonce)))

    # -- threads ---------------------------------------------------------

    def _read_loop(self):
        while True:
            try:
                body = self.reader.read()
            except Exception as exc:  # FrameError, OSError
                self.events.put(("read_error", exc))
                return
            if body is None:
                self.events.put(("eof", None))
                return
            self.slots.acquire()  # at most MAX_PENDING_FRAMES wait
            self.events.put(("frame", body))

    def _heartbeat_loop(self):
        next_at = time.monotonic() + self.interval
        while not self.hb_stop.wait(max(0.0, next_at - time.monotonic())):
            now = time.monotonic()
            late = now - next_at
            if late > STARVATION_WARNING:
                _log("heartbeat thread ran %.1fs late: something held the GIL (a C extension "
                     "that does not release it?); the supervisor declares a hang after its "
                     "heartbeat timeout (5s by default)" % late)
            try:
                self.heartbeat()
            except OSError:
                return  # stdout closed: the supervisor is gone
            next_at = max(next_at + self.interval, now)

    def _spawn(self, name, target, done):
        def body():
            exc = None
            try:
                target()
            except BaseException as e:  # reported on the event queue
                exc = e
                exc.__exo_traceback__ = traceback.format_exc()
            self.events.put(done + (exc,))
        self.live += 1
        t = threading.Thread(target=body, name=name, daemon=True)
        t.start()

    # -- handshake -------------------------------------------------------

    def _next_frame(self):
        """The next supervisor frame from the event queue, for the handshake."""
        ev = self.events.get()
        if ev[0] == "frame":
            self.slots.release()
            return ev[1]
        if ev[0] == "eof":
            return None
        raise ev[1]

    def handshake(self):
        """Returns True when accepted; False when stdin ended first."""
        self.w.write(_env(hello=pb.Hello(min_version=self.min_version, max_version=self.max_version,
                                          runner_id=self.runner_id, pid=os.getpid(),
                                          capabilities=self.caps)))
        body = self._next_frame()
        if body is None:
            return False
        env = pb.SupervisorEnvelope.FromString(body)
        which = env.WhichOneof("body")
        if which == "hello_refused":
            r = env.hello_refused
            raise Refused("supervisor refused the handshake: %s (supervisor speaks [%d, %d], this runner [%d, %d])"
                          % (r.reason, r.supervisor_min_version, r.supervisor_max_version,
                             self.min_version, self.max_version))
        if which != "hello_accepted":
            raise _wire.FrameError("expected HelloAccepted or HelloRefused, got %s" % (which or "an envelope with no body"))
        a = env.hello_accepted
        self.version = a.version
        if a.runner_id:
            self.runner_id = a.runner_id
        iv = a.heartbeat_interval.seconds + a.heartbeat_interval.nanos / 1e9
        if iv > 0:
            self.interval = iv
        return True

    # -- the main loop ---------------------------------------------------

    def serve(self):
        """Runs the runner; returns its exit code."""
        threading.Thread(target=self._read_loop, name="exo-reader", daemon=True).start()
        try:
            if not self.handshake():
                _log("supervisor closed stdin before the handshake; exiting")
                return 0
        except Refused as exc:
            _log(str(exc))
            return 1
        except Exception as exc:
            _log("handshake failed: %s" % exc)
            return 1
        self.hb_thread = threading.Thread(target=self._heartbeat_loop, name="exo-heartbeat", daemon=True)
        self.hb_thread.start()
        self.load_running = True
        self._spawn("exo-load", lambda: self.h.load(self.session), ("load_ended",))
        try:
            return self._loop()
        except Exception as exc:  # a bug in the SDK or a handler hook: still end cleanly
            return self.fail(exc, traceback.format_exc())

    def _get(self):
        # A timeout, so a SIGTERM (which only sets a flag) is seen promptly.
        while True:
            if self.sigterm:
                self.sigterm = False
                return ("sigterm", None)
            try:
                return self.events.get(timeout=0.2)
            except queue.Empty:
                continue

    def _loop(self):
        while True:
            ev = self._get()
            kind = ev[0]
            if kind == "frame":
                self.slots.release()
                code = self._on_frame(ev[1])
            elif kind == "eof":
                _log("supervisor closed stdin; stopping")
                self.stop("supervisor went away", self.grace)
                return 0
            elif kind == "sigterm":
                _log("SIGTERM; stopping")
                self.stop("runner terminated", self.grace)
                return 0
            elif kind == "read_error":
                return self.fail(_wire.FrameError("reading from the supervisor: %s" % ev[1]), None)
            else:
                code = self._on_event(ev)
            if code is not None:
                return code

    def _on_frame(self, body):
        try:
            env = pb.SupervisorEnvelope.FromString(body)
        except Exception as exc:
            return self.fail(_wire.FrameError("undecodable frame from the supervisor: %s" % exc), None)
        which = env.WhichOneof("body")
        if which == "task":
            self._on_task(env.task)
        elif which == "cancel":
            self._on_cancel(env.cancel)
        elif which == "shutdown":
            return self._on_shutdown(env.shutdown)
        elif which == "ping":
            self.heartbeat(env.ping.nonce)
        elif which is None:
            # A newer supervisor's message this runner does not know.
            return self.fail(_wire.FrameError(
                "unknown supervisor message (%d bytes, no body this runner knows): it speaks protocol "
                "[%d, %d]; upgrade exo_runner" % (len(body), self.min_version, self.max_version)), None)
        else:
            return self.fail(_wire.FrameError("unexpected %s after the handshake" % which), None)
        return None

    def _on_task(self, m):
        if not m.id:
            _log("ignoring a task without an ID")
            return
        if m.id in self.tasks:
            _log("ignoring task %s: a task with that ID is running" % m.id)
            return
        with self.w.lock:
            st = self.status
            if self.shutdown_seen or self.stopping or st not in (proto.READY, proto.RUNNING):
                reason = ("runner is shutting down" if self.shutdown_seen or self.stopping
                          else "runner is %s; send tasks when it is Ready" % proto.status_name(st))
                self.w.write_locked(_task_status_frame(m.id, pb.TASK_STATUS_FAILED, reason))
                return
            frames = [_task_status_frame(m.id, pb.TASK_STATUS_RUNNING)]
            if st != proto.RUNNING:
                frames.append(_status_frame(proto.RUNNING))
            frames.append(_env(task_acknowledged=pb.TaskAcknowledged(task_id=m.id)))
            self.w.write_locked(*frames)
            self.status = proto.RUNNING
        t = Task(self, m)
        self.tasks[m.id] = t
        self._spawn("exo-task-" + m.id, lambda: self.h.run(t), ("task_ended", t))

    def _on_cancel(self, m):
        which = m.WhichOneof("target")
        if which == "task_id":
            t = self.tasks.get(m.task_id)
            if t is None:
                _log("cancel of task %s, which is not running" % m.task_id)
                return
            t._stop("cancelled by the supervisor")
        elif which == "all" and m.all:
            for t in self.tasks.values():
                t._stop("cancelled by the supervisor")
        else:
            _log("ignoring a Cancel without a target")

    def _on_shutdown(self, m):
        if self.shutdown_seen:
            return None
        self.shutdown_seen = True
        self.shutdown_timeout = m.timeout.seconds + m.timeout.nanos / 1e9
        self.shutdown_at = time.monotonic()
        hook = getattr(self.h, "before_shutdown", None)
        if hook is None:
            return self._shutdown()
        self.hook_running = True
        self._spawn("exo-before-shutdown", lambda: hook(self.hook_cancel), ("hook_ended",))
        return None

    def _shutdown(self):
        _log("shutting down (timeout %.1fs)" % self.shutdown_timeout)
        self.set_status(pb.RunnerStatus(kind=proto.SHUTTING_DOWN))
        ok = self.stop("runner shutting down", shutdown_wait(self.shutdown_timeout, time.monotonic() - self.shutdown_at))
        self.hb_stop.set()
        with self.w.lock:
            self._set_status_locked(pb.RunnerStatus(kind=proto.SHUTDOWN))
        return 0 if ok else 1

    def _on_event(self, ev):
        self.live -= 1
        kind, exc = ev[0], ev[-1]
        if kind == "load_ended":
            self.load_running = False
            self.session._cancel.set()
            if self.stopping:
                return None
            if exc is not None and not isinstance(exc, Cancelled):
                return self.fail(exc, getattr(exc, "__exo_traceback__", None))
            if self.status not in (proto.READY, proto.RUNNING):
                return self.fail(RuntimeError("load returned in status %s; it must report READY before returning"
                                              % proto.status_name(self.status)), None)
        elif kind == "hook_ended":
            self.hook_running = False
            if not self.stopping:
                return self._shutdown()
        elif kind == "task_ended":
            return self._on_task_ended(ev[1], exc)
        return None

    def _on_task_ended(self, t, exc):
        del self.tasks[t.id]
        t._cancel.set()
        fatal = isinstance(exc, FatalError)
        if exc is not None and not fatal and not isinstance(exc, Cancelled):
            _log("task %s failed:\n%s" % (t.id, getattr(exc, "__exo_traceback__", "").rstrip()))
        with self.w.lock:
            t.ended = True
            if exc is not None and t.reason and not fatal:
                frames = [_task_status_frame(t.id, pb.TASK_STATUS_CANCELLED, t.reason)]
            elif exc is not None and isinstance(exc, Cancelled) and not fatal:
                frames = [_task_status_frame(t.id, pb.TASK_STATUS_CANCELLED, str(exc))]
            elif exc is not None:
                msg = _error_text(exc)
                frames = [_env(chunk_generated=pb.ChunkGenerated(task_id=t.id, index=t.next_index,
                                                                 error=pb.ErrorChunk(error_message=msg))),
                          _task_status_frame(t.id, pb.TASK_STATUS_FAILED, msg)]
                t.next_index += 1
            else:
                self.completed += 1
                frames = [_task_status_frame(t.id, pb.TASK_STATUS_COMPLETE)]
            # The terminal status and Ready in one write: a supervisor that sends
            # the next task on the terminal status finds the runner ready for it.
            if not self.stopping and not fatal and not self.tasks and self.status == proto.RUNNING:
                frames.append(_status_frame(proto.READY))
                self.status = proto.READY
            self.w.write_locked(*frames)
        if fatal and not self.stopping:
            return self.fail(exc, getattr(exc, "__exo_traceback__", None))
        return None

    def fail(self, exc, tb):
        """Ends the runner on an error: Failed(message, traceback), cancel and
        wait for the handlers, TerminationError as the last frame; exit code 1."""
        msg = _error_text(exc)
        sys.stderr.write(tb if tb else "exo_runner: %s\n" % msg)
        diag = _cap(tb or "", DIAGNOSTICS_MAX)
        sys.stderr.flush()
        try:
            with self.w.lock:
                if proto.valid_transition(self.status, proto.FAILED):
                    self._set_status_locked(pb.RunnerStatus(kind=proto.FAILED, error_message=msg, diagnostics=diag))
            self.stop("runner failed: " + msg, self.grace)
            self.hb_stop.set()
            self.w.write(_env(termination_error=pb.TerminationError(message=msg)))
        except OSError:
            pass  # stdout closed: the supervisor is gone
        return 1

    def stop(self, reason, limit):
        """Cancels every handler call and waits up to limit seconds (0: until
        stdin ends, then the stop grace). Returns False if some did not end."""
        self.stopping = True
        self.session._cancel.set()
        self.hook_cancel.set()
        for t in list(self.tasks.values()):
            t._stop(reason)
        deadline = time.monotonic() + limit if limit > 0 else None
        while self.live > 0:
            timeout = None if deadline is None else deadline - time.monotonic()
            if timeout is not None and timeout <= 0:
                names = sorted(["task " + i for i in self.tasks] + (["load"] if self.load_running else []))
                _log("%d handler call(s) still running %.2fs after cancellation (%s): they ignore cancellation; exiting anyway"
                     % (self.live, limit, ", ".join(names)))
                return False
            try:
                ev = self.events.get(timeout=min(timeout, 0.2) if timeout is not None else 0.2)
            except queue.Empty:
                continue
            if ev[0] == "frame":
                self.slots.release()
                try:
                    env = pb.SupervisorEnvelope.FromString(ev[1])
                    if env.WhichOneof("body") == "ping":
                        self.heartbeat(env.ping.nonce)
                except Exception:
                    pass
            elif ev[0] in ("eof", "read_error"):
                if deadline is None:
                    deadline = time.monotonic() + self.grace
            else:
                self._on_event(ev)
        return True


_frames_fd = None  # the private duplicate of fd 1, once guard_stdout ran


def guard_stdout():
    """Keeps stdout for frames: returns a private duplicate of fd 1 for the
    frames, then points fd 1 (C code, subprocesses) and sys.stdout (print) at
    stderr, so a stray print lands in the log instead of corrupting the
    frame stream. Call it first thing in a runner that imports libraries
    which print while loading; serve calls it too. Idempotent."""
    global _frames_fd
    if _frames_fd is None:
        sys.stdout.flush()
        _frames_fd = os.dup(1)  # non-inheritable: children do not get it
        os.dup2(2, 1)
        sys.stdout = sys.stderr
    return _frames_fd


def serve(handler, capabilities=(proto.CAP_CANCEL, proto.CAP_PROGRESS),
          versions=(proto.MIN_VERSION, proto.MAX_VERSION), stop_grace=2.0,
          in_fd=0, out_fd=None):
    """Speaks the runner protocol on stdin/stdout for handler until Shutdown,
    the end of stdin, SIGTERM or a fatal error; returns the exit code (0, or
    1 after a failure). Prefer run, which also exits the process."""
    if out_fd is None:
        out_fd = guard_stdout()
    srv = Server(handler, in_fd, out_fd, capabilities, versions, stop_grace)

    def on_sigterm(signum, frame):
        srv.sigterm = True  # only a flag: the main loop polls it

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_sigterm)
    return srv.serve()


def run(handler, **options):
    """Runs serve(handler, **options) and exits the process with its code.

    It exits with os._exit after flushing stderr: threads still blocked on
    stdin or in a handler that ignores cancellation cannot turn the exit
    into a crash at interpreter shutdown."""
    try:
        code = serve(handler, **options)
    except BaseException:  # noqa: the exit code must say it failed
        traceback.print_exc()
        code = 1
    try:
        sys.stderr.flush()
    finally:
        os._exit(code)
