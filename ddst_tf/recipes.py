"""The facts of a training recipe: what is trained, how long, how sparse, with which batches.

:class:`Recipe` is what ``GANTrainer`` hands to its parts (run length, n_critic, initial
densities) and what tools need without training (``ddst-flops``): ``Recipe.from_gin()``
reads it from the parsed gin config, with ``GANTrainer``'s defaults, which are these fields'.
"""

import dataclasses

import gin

from ddst_tf import validation

# GANTrainer bindings that change densities during training (G DST, D density control).
DYNAMIC_PARTS = ("g_dst", "d_controller")


@dataclasses.dataclass(frozen=True)
class Recipe:
    """A recipe's training facts, validated. ``dataset`` is a name or a loaded ``ImageData``."""

    model: str
    dataset: object
    num_iterations: int
    densities: tuple = (1.0, 1.0)
    sparse_init: str = "erk"
    gen_batch_size: int = 128
    disc_batch_size: int = 64
    n_critic: int = 5
    dynamic: tuple = ()  # which of DYNAMIC_PARTS the recipe uses

    def __post_init__(self):
        validation.positive_int("GANTrainer.num_iterations", self.num_iterations)
        validation.positive_int("GANTrainer.gen_batch_size", self.gen_batch_size)
        validation.positive_int("GANTrainer.disc_batch_size", self.disc_batch_size)
        validation.positive_int("GANTrainer.n_critic", self.n_critic)
        if not isinstance(self.densities, (tuple, list)) or len(self.densities) != 2:
            raise validation.InvalidValueError(
                f"GANTrainer.densities must be (d_G, d_D); got {self.densities!r}")
        object.__setattr__(self, "densities", (
            validation.density("GANTrainer.densities[0] (d_G)", self.densities[0]),
            validation.density("GANTrainer.densities[1] (d_D)", self.densities[1])))
        object.__setattr__(self, "dynamic", tuple(self.dynamic))

    @property
    def g_density(self):
        return self.densities[0]

    @property
    def d_density(self):
        """D's density at the start (a density controller moves it)."""
        return self.densities[1]

    @classmethod
    def from_gin(cls):
        """The recipe of the parsed gin config (``GANTrainer.<field>`` bindings, else defaults)."""
        values = {}
        for field in dataclasses.fields(cls):
            if field.name == "dynamic":
                continue
            value = _bound("GANTrainer." + field.name)
            if value is _UNBOUND:
                if field.default is dataclasses.MISSING:
                    raise validation.InvalidValueError(
                        f"the recipe must bind GANTrainer.{field.name}")
                continue
            values[field.name] = value
        dynamic = tuple(part for part in DYNAMIC_PARTS
                        if _bound("GANTrainer." + part) not in (_UNBOUND, None))
        return cls(dynamic=dynamic, **values)

    def as_dict(self):
        """JSON-ready facts (a loaded dataset is named by its class)."""
        facts = dataclasses.asdict(self)
        if not isinstance(self.dataset, str):
            facts["dataset"] = type(self.dataset).__name__
        return facts


_UNBOUND = object()


def _bound(name):
    """The value bound to ``name`` in the parsed config, macros resolved; _UNBOUND if none."""
    try:
        return _resolve(gin.query_parameter(name))
    except ValueError:
        return _UNBOUND


def _resolve(value):
    if isinstance(value, (list, tuple)):
        return type(value)(_resolve(item) for item in value)
    if isinstance(value, gin.config.ConfigurableReference) and str(value).startswith("%"):
        return _resolve(gin.query_parameter(str(value)))
    return value
