"""The small-scale reproduction study (tools/reproduce.py): its grid, per-run measures, report."""
