"""The process that reads a large upload's file and puts its rows through the rules (row_checking): it reads its
CheckingJob pickled on standard input and writes frames on standard output (ready, each batch, the end, or the
error that stopped it), then exits. The upload worker starts one per large upload and ends it when done. Run it,
never import it: importing it takes the importer's standard output."""

# The frames own standard output, so it is taken before anything is imported: whatever a library prints, now or
# later, goes to standard error instead.
import os
import sys

FRAMES = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
os.dup2(sys.stderr.fileno(), sys.stdout.fileno())

import contextlib  # noqa: E402
import pickle  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import BinaryIO  # noqa: E402

from ingest.row_checking import (  # noqa: E402
    FRAME,
    FRAME_BATCH,
    FRAME_END,
    FRAME_FAILED,
    FRAME_READY,
    CheckingJob,
    RowChecker,
    sendable,
)


def _send(out: BinaryIO, kind: bytes, body: object = None) -> None:
    data = b"" if body is None else pickle.dumps(body, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(FRAME.pack(kind, len(data)))
    out.write(data)
    out.flush()


def _exit_when_orphaned(parent: int) -> None:
    """Ends this process once the worker that started it is gone (killed: it could not end this one), rather
    than checking the rest of a file nobody will write."""
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(1)


def _first_to_go_when_memory_runs_out() -> None:
    # A file that costs more memory than the container has takes this process, not the worker beside it: the
    # upload's try fails (CheckingFailed) and the worker goes on with the others.
    with contextlib.suppress(OSError):
        Path("/proc/self/oom_score_adj").write_text("1000")


def check(job: CheckingJob, out: BinaryIO) -> None:
    try:
        with job.path.open("rb") as handle:
            checker = RowChecker.open(job, handle)
            _send(out, FRAME_READY)
            while (batch := checker.next()) is not None:
                _send(out, FRAME_BATCH, batch)
        _send(out, FRAME_END)
    except BrokenPipeError:  # the worker stopped reading: nothing is waiting for the rest
        return
    except Exception as error:  # reported to the worker, which decides what it means
        _send(out, FRAME_FAILED, sendable(error))


def main() -> None:
    threading.Thread(target=_exit_when_orphaned, args=(os.getppid(),), daemon=True).start()
    _first_to_go_when_memory_runs_out()
    try:
        # Unpickled safely: only the upload worker that started this process holds the other end of the pipe.
        job = pickle.load(sys.stdin.buffer)  # noqa: S301
        if not isinstance(job, CheckingJob):
            raise TypeError(type(job).__name__)
        check(job, FRAMES)
    except BaseException as error:  # never a traceback: its messages may quote a cell
        with contextlib.suppress(OSError):
            sys.stderr.write(f"ingest's checking process stopped: {type(error).__name__}\n")
        os._exit(1)


if __name__ == "__main__":
    main()
