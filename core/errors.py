"""The one error type for bad input: its message names the file, the record and the problem."""

from __future__ import annotations


class InputError(Exception):
    """Input the tool cannot use. The CLI prints the message as one line and exits with code 2."""

    def __init__(self, problem: str, *, file: str | None = None, record: str | None = None):
        self.file = file
        self.record = record
        self.problem = problem
        super().__init__(": ".join(part for part in (file, record, problem) if part))
