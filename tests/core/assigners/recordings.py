"""The recordings of the real assigners (tests/fixtures/assigners), loaded once per file."""

import functools
import json

from tests.conftest import REPO_ROOT

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "assigners"


@functools.cache
def recording(name: str) -> dict:
    """The parsed JSON of `name` (e.g. "fcos_torchvision.json"); do not mutate it."""
    return json.loads((FIXTURES / name).read_text())
