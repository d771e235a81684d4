"""Frames on the runner pipes: protobuf's delimited format (a varint length,
then one message), read and written on raw file descriptors.

Reading uses os.read on the descriptor, never sys.stdin: a thread blocked in
sys.stdin.buffer holds its lock, and an interpreter that exits while a
daemon thread holds it dies by SIGABRT ("could not acquire lock ... at
interpreter shutdown") instead of with its exit code.
"""

import os
import threading

# The largest frame body either side accepts by default (frame.DefaultMaxSize).
MAX_FRAME = 4 << 20


class FrameError(Exception):
    """The stream is not frames: a bad length, a frame over the limit, or a
    stream that ended inside a frame."""


def encode_varint(n):
    """Returns n (>= 0) as a base-128 varint."""
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def frame_bytes(msg):
    """Returns msg serialized as one delimited frame."""
    body = msg.SerializeToString()
    if len(body) > MAX_FRAME:
        raise FrameError(
            "message of %d bytes exceeds the frame size limit of %d bytes" % (len(body), MAX_FRAME))
    return encode_varint(len(body)) + body


class FrameReader:
    """Reads delimited frames from a file descriptor. One thread owns it."""

    def __init__(self, fd, max_size=MAX_FRAME):
        self._fd = fd
        self._buf = bytearray()
        self._max = max_size
        self.offset = 0  # byte offset of the next frame

    def _fill(self):
        chunk = os.read(self._fd, 65536)
        if not chunk:
            return False
        self._buf += chunk
        return True

    def read(self):
        """Returns the next frame's body as bytes, or None at a clean end of
        stream (between frames). Raises FrameError otherwise."""
        while True:
            size, n = self._length()
            if n and len(self._buf) >= n + size:
                body = bytes(self._buf[n:n + size])
                del self._buf[:n + size]
                self.offset += n + size
                return body
            if not self._fill():
                if not self._buf:
                    return None
                raise FrameError("stream ended inside the frame at byte %d" % self.offset)

    def _length(self):
        """Returns (size, prefix length) of the frame at the buffer's start,
        or (0, 0) when the length prefix is incomplete."""
        size = 0
        for i, b in enumerate(self._buf[:10]):
            size |= (b & 0x7F) << (7 * i)
            if b < 0x80:
                if size > self._max:
                    raise FrameError("frame at byte %d declares %d bytes, over the limit of %d"
                                     % (self.offset, size, self._max))
                return size, i + 1
        if len(self._buf) >= 10:
            raise FrameError("malformed frame length at byte %d" % self.offset)
        return 0, 0


class FrameWriter:
    """Writes frames to a file descriptor, each batch in one write call, under
    one lock so that threads never interleave bytes of two frames."""

    def __init__(self, fd):
        self._fd = fd
        self.lock = threading.Lock()

    def write_locked(self, *msgs):
        """Writes msgs as consecutive frames in one write; the caller holds
        lock."""
        data = b"".join(frame_bytes(m) for m in msgs)
        view = memoryview(data)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]

    def write(self, *msgs):
        """Writes msgs as consecutive frames in one write."""
        with self.lock:
            self.write_locked(*msgs)
