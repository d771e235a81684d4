"""The shared protocol rules (internal/protocol in Go): versions, capability
names, the environment variable and the legal status transitions."""

from . import runner_pb2 as pb

MIN_VERSION = 1
MAX_VERSION = 1

CAP_CANCEL = "cancel"
CAP_PROGRESS = "progress"

ENV_RUNNER_ID = "EXO_RUNNER_ID"

DEFAULT_HEARTBEAT_INTERVAL = 0.5  # seconds, when HelloAccepted says zero

IDLE = pb.RUNNER_STATUS_KIND_IDLE
CONNECTING = pb.RUNNER_STATUS_KIND_CONNECTING
CONNECTED = pb.RUNNER_STATUS_KIND_CONNECTED
LOADING = pb.RUNNER_STATUS_KIND_LOADING
LOADED = pb.RUNNER_STATUS_KIND_LOADED
WARMING_UP = pb.RUNNER_STATUS_KIND_WARMING_UP
READY = pb.RUNNER_STATUS_KIND_READY
RUNNING = pb.RUNNER_STATUS_KIND_RUNNING
SHUTTING_DOWN = pb.RUNNER_STATUS_KIND_SHUTTING_DOWN
SHUTDOWN = pb.RUNNER_STATUS_KIND_SHUTDOWN
FAILED = pb.RUNNER_STATUS_KIND_FAILED

_NEXT = {
    IDLE: {CONNECTING, LOADING},
    CONNECTING: {CONNECTED},
    CONNECTED: {LOADING},
    LOADING: {LOADING, LOADED},
    LOADED: {WARMING_UP, READY},
    WARMING_UP: {READY},
    READY: {RUNNING},
    RUNNING: {RUNNING, READY},
}


def valid_transition(frm, to):
    """Reports whether a runner may go from status frm to status to
    (protocol.ValidTransition)."""
    if frm in (SHUTDOWN, FAILED):
        return False
    if to == FAILED:
        return True
    if to == SHUTTING_DOWN:
        return frm != SHUTTING_DOWN
    if frm == SHUTTING_DOWN:
        return to == SHUTDOWN
    return to in _NEXT.get(frm, ())


def status_name(kind):
    """Returns "Ready" for READY, and so on."""
    name = pb.RunnerStatusKind.Name(kind).replace("RUNNER_STATUS_KIND_", "")
    return "".join(p.capitalize() for p in name.split("_"))
