#!/usr/bin/python3
"""A single-threaded runner that does not read stdin while a task streams
(a new user's trial runner, written from docs/protocol.md): it reads a
frame, and for a Task streams every chunk before it reads the next one. A
Shutdown sent while a task streams is never seen, so the conformance case
shutdown-mid-task must fail it, saying that the runner did not read stdin
while the task streamed. Idle, it answers Shutdown and exits 0.

Usage: /usr/bin/python3 deaf_runner.py (its tasks stream max_tokens chunks,
5 ms apart).
"""

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "sdk", "python"))

from exo_runner import _wire  # noqa: E402
from exo_runner import runner_pb2 as pb  # noqa: E402

OUT = os.dup(1)
os.dup2(2, 1)  # nothing but frames on the pipe
w = _wire.FrameWriter(OUT)
r = _wire.FrameReader(0)


def read():
    body = r.read()
    if body is None:
        return None
    env = pb.SupervisorEnvelope()
    env.ParseFromString(body)
    return env


def status(kind, **kw):
    e = pb.RunnerEnvelope()
    e.status_updated.status.kind = kind
    for k, v in kw.items():
        setattr(e.status_updated.status, k, v)
    return e


hello = pb.RunnerEnvelope()
hello.hello.min_version = 1
hello.hello.max_version = 1
hello.hello.runner_id = os.environ.get("EXO_RUNNER_ID", "")
hello.hello.pid = os.getpid()
w.write(hello)
if read() is None:
    sys.exit(1)
w.write(status(pb.RUNNER_STATUS_KIND_CONNECTING), status(pb.RUNNER_STATUS_KIND_CONNECTED),
        status(pb.RUNNER_STATUS_KIND_LOADING, layers_loaded=1, total_layers=1),
        status(pb.RUNNER_STATUS_KIND_LOADED), status(pb.RUNNER_STATUS_KIND_READY))
while True:
    f = read()
    if f is None:
        sys.exit(0)
    body = f.WhichOneof("body")
    if body == "task":
        tid = f.task.id
        run = pb.RunnerEnvelope()
        run.task_status_updated.task_id = tid
        run.task_status_updated.status = pb.TASK_STATUS_RUNNING
        ack = pb.RunnerEnvelope()
        ack.task_acknowledged.task_id = tid
        w.write(run, status(pb.RUNNER_STATUS_KIND_RUNNING), ack)
        n = int(f.task.params.get("max_tokens", "5"))
        for i in range(n):  # no read of stdin until the task ends
            c = pb.RunnerEnvelope()
            c.chunk_generated.task_id = tid
            c.chunk_generated.index = i
            c.chunk_generated.token.text = "t%d " % i
            c.chunk_generated.token.token_id = i
            if i == n - 1:
                c.chunk_generated.token.finish_reason = "length"
            w.write(c)
            time.sleep(0.005)
        done = pb.RunnerEnvelope()
        done.task_status_updated.task_id = tid
        done.task_status_updated.status = pb.TASK_STATUS_COMPLETE
        w.write(done, status(pb.RUNNER_STATUS_KIND_READY))
    elif body == "shutdown":
        w.write(status(pb.RUNNER_STATUS_KIND_SHUTTING_DOWN), status(pb.RUNNER_STATUS_KIND_SHUTDOWN))
        sys.exit(0)
