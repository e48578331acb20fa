"""The process that reads a large upload's file and puts its rows through the rules (row_checking): it reads its
CheckingJob pickled on standard input and writes frames on standard output (ready, each batch, the end, or the
error that stopped it), then exits. The upload worker starts one per large upload and ends it when done."""

from __future__ import annotations

import os
import pickle
import sys
from typing import BinaryIO

from ingest.row_checking import BATCH, END, FAILED, FRAME, READY, CheckingFailed, CheckingJob, RowChecker


def _send(out: BinaryIO, kind: bytes, body: object = None) -> None:
    data = b"" if body is None else pickle.dumps(body, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(FRAME.pack(kind, len(data)))
    out.write(data)
    out.flush()


def _sendable(error: Exception) -> Exception:
    """The error as the worker will raise it: itself if it survives pickling whole (the file's FileFormatError or
    MappingError, whose code and detail the upload's failure shows), otherwise its type's name alone."""
    try:
        pickle.loads(pickle.dumps(error))  # noqa: S301 - its own bytes, made the line above
    except Exception:  # any error that cannot cross is named by its type
        return CheckingFailed(f"checking the rows failed with {type(error).__name__}")
    return error


def main() -> None:
    # The frames own standard output: anything else printed by a library goes to standard error instead.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    # Unpickled safely: only the upload worker that started this process holds the other end of the pipe.
    job = pickle.load(sys.stdin.buffer)  # noqa: S301
    assert isinstance(job, CheckingJob)
    try:
        with job.path.open("rb") as handle:
            checker = RowChecker.open(job, handle)
            _send(out, READY)
            while (batch := checker.next()) is not None:
                _send(out, BATCH, batch)
        _send(out, END)
    except BrokenPipeError:  # the worker stopped reading: nothing is waiting for the rest
        return
    except Exception as error:  # reported to the worker, which decides what it means
        _send(out, FAILED, _sendable(error))


if __name__ == "__main__":
    main()
