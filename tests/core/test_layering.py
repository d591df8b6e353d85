"""`core/` never imports Qt, the command line (`cli/`) or the GUI (`gui/`), and importing any
`core` module does not import TensorFlow."""

import subprocess
import sys

from tests.conftest import REPO_ROOT

ROOT = REPO_ROOT

PROBE = r"""
import importlib, pkgutil, sys

BLOCKED = ("PySide6", "PyQt5", "PyQt6", "pyqtgraph", "superqt", "qtpy", "shiboken6", "cli", "gui")

class BlockOuterLayers:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"core imported {name}")
        return None

sys.meta_path.insert(0, BlockOuterLayers())
import core
from tests.conftest import REPO_ROOT
names = [m.name for m in pkgutil.walk_packages(core.__path__, "core.")]
for name in names:
    importlib.import_module(name)
heavy = sorted(m for m in ("tensorflow", "keras", "keras_cv", "keras_hub") if m in sys.modules)
print(len(names), ",".join(heavy))
"""


def test_core_imports_no_qt_and_no_tensorflow():
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    module_count, heavy = result.stdout.split()[0], result.stdout.strip().partition(" ")[2]
    assert int(module_count) >= 5
    assert heavy == "", f"importing core pulled in {heavy}"


def test_probe_detects_a_qt_import(tmp_path):
    """The probe itself must be able to fail: a module importing Qt is caught."""
    probe = PROBE.replace("import core\n", "import core\nimport PySide6\n")
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode != 0
    assert "core imported PySide6" in result.stderr


def test_probe_detects_an_import_of_the_command_line(tmp_path):
    probe = PROBE.replace("import core\n", "import core\nimport cli.common\n")
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode != 0
    assert "core imported cli" in result.stderr


def test_the_framework_table_does_not_import_the_config():
    """The table's rules take plain values; the helpers that need a whole config live beside
    `AnchorConfig` (which imports the table), so the two never import each other."""
    import ast

    source = REPO_ROOT / "core" / "frameworks.py"
    imported = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    assert "core.anchor_config" not in imported
