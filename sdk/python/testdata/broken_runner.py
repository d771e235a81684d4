#!/usr/bin/python3
"""A deliberately broken runner, for the conformance suite's own tests. It
speaks the protocol with the exo_runner wire helpers but not their rules:

- it prints text to stdout (no stdout guard): "task done" after every task;
- it never sends TaskAcknowledged;
- it ignores Shutdown (only SIGKILL, or the end of stdin, ends it).

exo-actors conformance must fail its cases no-stray-stdout, ack-before-work
and shutdown.
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from exo_runner import _wire  # noqa: E402
from exo_runner import runner_pb2 as pb  # noqa: E402

OUT = 1
w = _wire.FrameWriter(OUT)


def status(kind):
    # total_layers 1: a node refuses a Loading report with none.
    w.write(pb.RunnerEnvelope(status_updated=pb.StatusUpdated(status=pb.RunnerStatus(kind=kind, total_layers=1))))


def main():
    w.write(pb.RunnerEnvelope(hello=pb.Hello(min_version=1, max_version=1, pid=os.getpid(),
                                             runner_id=os.environ.get("EXO_RUNNER_ID", ""),
                                             capabilities=["progress"])))
    r = _wire.FrameReader(0)
    body = r.read()
    if body is None:
        return 0
    env = pb.SupervisorEnvelope.FromString(body)
    if env.WhichOneof("body") != "hello_accepted":
        return 1
    for k in (pb.RUNNER_STATUS_KIND_LOADING, pb.RUNNER_STATUS_KIND_LOADED, pb.RUNNER_STATUS_KIND_READY):
        status(k)
    state = {"tokens": 0, "done": 0}

    def beat():
        seq = 0
        while True:
            time.sleep(0.1)
            seq += 1
            w.write(pb.RunnerEnvelope(heartbeat=pb.Heartbeat(seq=seq, tokens_produced=state["tokens"],
                                                             tasks_completed=state["done"])))

    threading.Thread(target=beat, daemon=True).start()
    while True:
        body = r.read()
        if body is None:
            return 0
        env = pb.SupervisorEnvelope.FromString(body)
        if env.WhichOneof("body") != "task":
            continue  # Shutdown, Cancel, unknown: ignored
        t = env.task
        n = int(t.params.get("max_tokens", "3"))
        w.write(pb.RunnerEnvelope(task_status_updated=pb.TaskStatusUpdated(task_id=t.id, status=pb.TASK_STATUS_RUNNING)))
        status(pb.RUNNER_STATUS_KIND_RUNNING)
        for i in range(min(n, 50)):  # no TaskAcknowledged before the work
            state["tokens"] += 1
            w.write(pb.RunnerEnvelope(chunk_generated=pb.ChunkGenerated(
                task_id=t.id, index=i, token=pb.TokenChunk(text="tok%d " % i, finish_reason="length" if i == min(n, 50) - 1 else ""))))
        state["done"] += 1
        w.write(pb.RunnerEnvelope(task_status_updated=pb.TaskStatusUpdated(task_id=t.id, status=pb.TASK_STATUS_COMPLETE)))
        status(pb.RUNNER_STATUS_KIND_READY)
        print("task done", flush=True)  # text on stdout


if __name__ == "__main__":
    sys.exit(main())
