"""Sparse initialisation: per-layer densities (uniform, ER, ERK) and exact random masks.

Density solvers are pure functions of ``{layer name: kernel shape}`` and a global
density ``d``. Each layer gets ``eps * raw_l`` where ``raw_l`` depends on the method
and ``eps`` solves ``sum_l eps * raw_l * N_l = d * sum_l N_l`` (``N_l`` = kernel
size), so the global density is ``d``:

* ``uniform``: ``raw_l = 1``.
* ``erdos_renyi``: ``raw_l = (n_in + n_out) / (n_in * n_out)`` with ``n_in, n_out``
  the last two kernel dims (channels), spatial dims ignored, as RigL's ER
  (``include_kernel=False``).
* ``erk``: ``raw_l = (sum(shape) / prod(shape)) ** erk_power_scale``, spatial dims
  included (RigL ``erdos_renyi_kernel``; ADAPT ``init(mode='ERK')``).

Any layer with ``eps * raw_l > 1`` becomes dense and ``eps`` is re-solved over the
rest, until no layer exceeds 1. (RigL densifies only the max-``raw_l`` layers per
round; since densifying an exceeding layer can only raise ``eps``, both orders
end with the same dense set.) Kernel layout does not matter: ``sum/prod`` and the
ER formula are invariant to Keras' vs PyTorch's axis order.

Overrides (``dense_layers``, ``layer_densities``) fix those layers' densities and
are excluded from the ``eps`` solve, but they count toward the total budget
``d * sum of ALL N_l``, as RigL counts the layers it makes dense; so the global
density stays ``d``. (RigL's ``custom_sparsity_map`` instead leaves custom layers
out of the budget entirely.) Overrides that use more than the budget, or leave
more than the remaining layers can hold, raise ``ValueError``.

Masks: each layer gets exactly ``round(density_l * N_l)`` non-zeros (Python
``round``) at uniformly random positions, drawn from a NumPy Generator seeded with
``(seed, layer index)``: same seed gives the same masks, and a layer's mask does
not depend on the other layers. The official ADAPT code samples
``Bernoulli(density_l)`` per weight instead, so its counts are random.
"""

import gin
import numpy as np

from ddst_tf import validation
from ddst_tf.sparse import view

# Layers whose eps * raw_l is within this of 1 are treated as dense, so that
# d = 1 yields exact ones instead of 0.999999...
_DENSE_TOLERANCE = 1e-9


def _kernel_size(shape):
    return int(np.prod(shape))


def _fixed_densities(shapes, dense_layers, layer_densities):
    """{name: density} for overridden layers, after checking names and values."""
    if isinstance(dense_layers, str):
        raise ValueError(f"dense_layers must be a sequence of layer names, not the "
                         f"string {dense_layers!r}")
    layer_densities = dict(layer_densities or {})
    dense_layers = tuple(dense_layers)
    unknown = sorted((set(dense_layers) | set(layer_densities)) - set(shapes))
    if unknown:
        raise ValueError(f"Overrides name unknown layers {unknown}; known layers: "
                         f"{sorted(shapes)}")
    both = sorted(set(dense_layers) & set(layer_densities))
    if both:
        raise ValueError(f"Layers {both} are in both dense_layers and layer_densities; "
                         f"give each layer one override")
    for name, value in layer_densities.items():
        validation.density(f"SparseInit.layer_densities[{name!r}]", value)
    fixed = {name: 1.0 for name in dense_layers}
    fixed.update({name: float(value) for name, value in layer_densities.items()})
    return fixed


def solve_densities(shapes, density, raw_density, dense_layers=(), layer_densities=None):
    """Per-layer densities eps * raw_density(shape), with dense fallback and overrides.

    shapes: {name: kernel shape}; raw_density: shape -> positive float.
    Returns {name: density} in the order of ``shapes``.
    """
    validation.density("density", density)
    sizes = {name: _kernel_size(shape) for name, shape in shapes.items()}
    fixed = _fixed_densities(shapes, dense_layers, layer_densities)
    free = [name for name in shapes if name not in fixed]
    raw = {name: float(raw_density(shapes[name])) for name in free}
    total = sum(sizes.values())
    budget = density * total - sum(fixed[name] * sizes[name] for name in fixed)
    slack = _DENSE_TOLERANCE * total
    if budget < -slack:
        raise ValueError(
            f"Overrides {fixed} keep {density * total - budget:.1f} weights, more than "
            f"the budget of {density * total:.1f} (density {density} of {total} weights)")

    dense, eps = set(), 0.0
    while len(dense) < len(free):
        sparse = [name for name in free if name not in dense]
        remaining = budget - sum(sizes[name] for name in dense)
        eps = remaining / sum(raw[name] * sizes[name] for name in sparse)
        exceeding = {name for name in sparse if eps * raw[name] > 1.0 - _DENSE_TOLERANCE}
        if not exceeding:
            break
        dense |= exceeding
    if len(dense) == len(free) and budget > sum(sizes[n] for n in free) + slack:
        raise ValueError(
            f"Overrides {fixed} are too sparse: even with every other layer dense the "
            f"global density stays below {density}")
    if free and len(dense) < len(free) and eps <= 0.0:
        raise ValueError(
            f"Overrides {fixed} use the whole budget (density {density}); layers "
            f"{[n for n in free if n not in dense]} would get no weights")

    densities = {}
    for name in shapes:
        if name in fixed:
            densities[name] = fixed[name]
        elif name in dense:
            densities[name] = 1.0
        else:
            densities[name] = eps * raw[name]
    return densities


def uniform(shapes, density, dense_layers=(), layer_densities=None):
    """Same density for every non-overridden layer (d when there are no overrides)."""
    return solve_densities(shapes, density, lambda shape: 1.0, dense_layers,
                           layer_densities)


def _erdos_renyi_raw(shape):
    if len(shape) < 2:
        raise ValueError(f"erdos_renyi needs kernels with >= 2 dims; got shape {shape}")
    n_in, n_out = shape[-2:]
    return (n_in + n_out) / (n_in * n_out)


def erdos_renyi(shapes, density, dense_layers=(), layer_densities=None):
    """ER densities: raw_l = (n_in + n_out) / (n_in * n_out) over the last two dims."""
    return solve_densities(shapes, density, _erdos_renyi_raw, dense_layers,
                           layer_densities)


def erk(shapes, density, erk_power_scale=1.0, dense_layers=(), layer_densities=None):
    """ERK densities: raw_l = (sum(shape) / prod(shape)) ** erk_power_scale."""
    erk_power_scale = validation.real("SparseInit.erk_power_scale", erk_power_scale, low=0.0)
    return solve_densities(
        shapes, density, lambda shape: (sum(shape) / _kernel_size(shape)) ** erk_power_scale,
        dense_layers, layer_densities)


DENSITY_METHODS = {"uniform": uniform, "erdos_renyi": erdos_renyi, "erk": erk}


def random_masks(shapes, densities, seed):
    """{name: float32 0/1 mask} with exactly round(density * size) ones per layer.

    Layer i's positions come from ``np.random.default_rng([seed, i])``.
    """
    seed = validation.non_negative_int("seed", seed)
    masks = {}
    for index, (name, shape) in enumerate(shapes.items()):
        size = _kernel_size(shape)
        nnz = round(densities[name] * size)
        rng = np.random.default_rng([int(seed), index])
        flat = np.zeros(size, dtype=np.float32)
        flat[rng.choice(size, size=nnz, replace=False)] = 1.0
        masks[name] = flat.reshape(shape)
    return masks


def _as_masked_layers(layers):
    """A list of masked layers from a list/tuple of them, or a Keras model or layer."""
    if isinstance(layers, (list, tuple)):
        return list(layers)
    return view.masked_layers(layers)


def _layer_shapes(layers):
    """{layer name: kernel shape} for masked layers."""
    return {layer.name: tuple(int(n) for n in layer.mask.shape) for layer in layers}


@gin.configurable
class SparseInit:
    """Chooses per-layer densities by ``method`` and writes random exact-count masks."""

    def __init__(self, method=gin.REQUIRED, density=gin.REQUIRED, erk_power_scale=1.0,
                 dense_layers=(), layer_densities=None):
        if method not in DENSITY_METHODS:
            raise ValueError(f"Unknown sparse init method {method!r}; known methods: "
                             f"{sorted(DENSITY_METHODS)}")
        if method != "erk" and erk_power_scale != 1.0:
            raise ValueError(f"erk_power_scale={erk_power_scale!r} only applies to "
                             f"method 'erk', not {method!r}")
        validation.density("density", density)
        self.method = method
        self.density = float(density)
        self.erk_power_scale = erk_power_scale
        self.dense_layers = tuple(dense_layers)
        self.layer_densities = dict(layer_densities or {})

    def solve(self, shapes):
        """{name: density} for {name: kernel shape}."""
        options = {"erk_power_scale": self.erk_power_scale} if self.method == "erk" else {}
        return DENSITY_METHODS[self.method](
            shapes, self.density, dense_layers=self.dense_layers,
            layer_densities=self.layer_densities, **options)

    def densities(self, layers):
        """{layer name: target density} for masked layers (or a model holding them)."""
        return self.solve(_layer_shapes(_as_masked_layers(layers)))

    def apply(self, layers, seed):
        """Write exact-count random masks (zeroing pruned weights); return the densities."""
        layers = _as_masked_layers(layers)
        shapes = _layer_shapes(layers)
        densities = self.solve(shapes)
        view.set_masks(layers, random_masks(shapes, densities, seed))
        return densities
