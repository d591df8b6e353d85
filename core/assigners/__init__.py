"""Positives of the YOLO and anchor-free detector families from static geometry, exact to the
real code (docs/families.md; verified against tests/fixtures/assigners)."""
