"""TensorFlow, imported quietly and only when a source needs it.

Its native code prints CUDA and oneDNN probe lines on stderr before its own logging is set up,
which `TF_CPP_MIN_LOG_LEVEL` cannot silence; the CLI's stderr is for progress and errors, so the
import runs with the process's stderr file descriptor pointed at /dev/null.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """File descriptor 2 goes to /dev/null meanwhile (Python's and native writes alike)."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tensorflow():
    """The `tensorflow` module, its start-up noise on stderr silenced."""
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with native_stderr_silenced():
        import tensorflow

    return tensorflow
