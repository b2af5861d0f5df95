"""The grid of the reproduction study: which methods, densities and seeds, one run per cell.

Each method is a gin file in ``gin_configs/reproduction/methods/`` that sets the densities from
the macro ``D_G`` (and ``D_D`` for the explicit static cells of the BR-vs-d_D picture) and
rescales the paper's schedules with the study config's ``STUDY_*`` macros. A cell trains with
``ddst-train --gin_file=<study config> --gin_file=<method> --gin_bindings='D_G = ...'`` into its
own subfolder, so the study resumes cell by cell and each run resumes from its checkpoints.
"""

import dataclasses
import os

from ddst_tf import config, validation

METHODS_DIR = os.path.join("reproduction", "methods")
# name: (label in tables and plots, D's initial density: dense, d_G (balance), 1 (strong) or D_D)
METHODS = {
    "dense": ("Dense", "dense"),
    "static_balance": ("Static-Balance", "balance"),
    "static_strong": ("Static-Strong", "strong"),
    "sdst_balance_rigl": ("SDST-Balance-RigL", "balance"),
    "sdst_strong_rigl": ("SDST-Strong-RigL", "strong"),
    "adapt_relax": ("ADAPT_relax", "balance"),
    "adapt_strict": ("ADAPT_strict", "balance"),
    "static": ("Static", "explicit"),
}
GRID_METHODS = ("static_balance", "static_strong", "sdst_balance_rigl", "sdst_strong_rigl",
                "adapt_relax", "adapt_strict")


@dataclasses.dataclass(frozen=True)
class Cell:
    """One run of the study: a method at (d_G, initial d_D) with one seed."""

    method: str
    g_density: float
    d_density: float
    seed: int

    def __post_init__(self):
        validation.one_of("method", self.method, tuple(METHODS))
        validation.density("d_G", self.g_density)
        validation.density("d_D", self.d_density)
        validation.non_negative_int("seed", self.seed)

    @property
    def label(self):
        return METHODS[self.method][0]

    @property
    def name(self):
        """The run's folder name, e.g. ``adapt_relax-dG0.1-dD0.1-s2``."""
        return f"{self.method}-dG{self.g_density:g}-dD{self.d_density:g}-s{self.seed}"

    def method_file(self):
        return os.path.join(config.RECIPES_DIR, METHODS_DIR, f"{self.method}.gin")

    def bindings(self):
        """The gin bindings that make this cell out of its method file."""
        found = [f"D_G = {self.g_density!r}", f"GANTrainer.seed = {self.seed}"]
        if METHODS[self.method][1] == "explicit":
            found.append(f"D_D = {self.d_density!r}")
        return found


def make_cell(method, g_density, seed, d_density=None):
    """The cell of ``method`` at d_G, its initial d_D following the method (balance, strong,
    dense) unless it is the explicit ``static`` method."""
    kind = METHODS[validation.one_of("method", method, tuple(METHODS))][1]
    if kind == "explicit":
        if d_density is None:
            raise validation.InvalidValueError("method 'static' needs an explicit d_D")
    else:
        d_density = {"dense": 1.0, "balance": g_density, "strong": 1.0}[kind]
    if kind == "dense":
        g_density = 1.0
    return Cell(method, float(g_density), float(d_density), int(seed))


def study_cells(g_densities, seeds_by_density, methods=GRID_METHODS, dense_seeds=(),
                fig2_g_density=None, fig2_d_densities=(), fig2_seeds=()):
    """Every cell of the study, without duplicates, in a stable order: dense, then per d_G its
    methods' cells (the BR-vs-d_D static cells right after their d_G), so that an interrupted
    study has whole groups.

    ``seeds_by_density``: {d_G: seeds}; the dense reference runs ``dense_seeds``; the
    BR-vs-d_D picture adds static cells at ``fig2_g_density`` for each of
    ``fig2_d_densities`` (cells that a grid method already covers are not repeated).
    """
    fig2 = [make_cell("static", fig2_g_density, seed, d_density)
            for d_density in fig2_d_densities for seed in fig2_seeds]
    cells = [make_cell("dense", 1.0, seed) for seed in dense_seeds]
    for g_density in g_densities:
        for method in methods:
            cells += [make_cell(method, g_density, seed)
                      for seed in seeds_by_density[g_density]]
        if g_density == fig2_g_density:
            cells, fig2 = cells + fig2, []
    cells += fig2
    unique, seen = [], set()
    for cell in cells:
        key = _static_key(cell)
        if key not in seen:
            seen.add(key)
            unique.append(cell)
    return unique


def _static_key(cell):
    """Static cells with the same densities and seed are the same run whatever their method name."""
    if cell.method in ("static", "static_balance", "static_strong"):
        return ("static", cell.g_density, cell.d_density, cell.seed)
    return (cell.method, cell.g_density, cell.d_density, cell.seed)


def static_at(cells, g_density, d_density):
    """The static cells (any static method) at these densities."""
    return [cell for cell in cells if _static_key(cell)[:3] == ("static", g_density, d_density)]
