"""Anchor Inspector's PySide6 + pyqtgraph front end: draws what `core` computes, nothing more."""
