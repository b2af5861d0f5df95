"""GAN architectures by name: each name has a generator and a discriminator builder.

Builders are gin-configurable functions ``builder(image_shape, num_classes=0,
**widths)`` that return a functional Keras model (all variables exist once it is
built) carrying ``image_shape`` and ``num_classes`` attributes, generators also
``latent_dim``. ``build_gan`` is the gin entry point that builds both networks of
one GAN and checks that their masked layer names (the keys of per-layer
densities) are unique.
"""

import gin

from ddst_tf.sparse import view

ROLES = ("generator", "discriminator")

_BUILDERS = {}
_CONDITIONAL = {}


def register(name, role, conditional=False):
    """Decorator: register ``builder`` as the ``role`` network of GAN ``name``.

    ``conditional`` marks class-conditional GANs (their networks take labels);
    both roles of one name must agree on it.
    """
    if role not in ROLES:
        raise ValueError(f"Unknown role {role!r}; known roles: {list(ROLES)}")

    def decorator(builder):
        builders = _BUILDERS.setdefault(name, {})
        if role in builders:
            raise ValueError(f"GAN {name!r} already has a registered {role}")
        if _CONDITIONAL.setdefault(name, bool(conditional)) != bool(conditional):
            raise ValueError(
                f"GAN {name!r}: the generator and discriminator disagree on conditional")
        builders[role] = builder
        return builder

    return decorator


def known_models():
    """Names of the GANs that have both a generator and a discriminator."""
    return sorted(n for n, builders in _BUILDERS.items() if set(builders) == set(ROLES))


def _builder(name, role):
    if name not in known_models():
        raise ValueError(f"Unknown GAN model {name!r}; known models: {known_models()}")
    return _BUILDERS[name][role]


def is_conditional(name):
    """Whether GAN ``name`` is class-conditional (its networks take labels)."""
    _builder(name, "generator")
    return _CONDITIONAL[name]


def build_generator(name, **kwargs):
    """The generator of GAN ``name`` (kwargs: image_shape, num_classes, widths)."""
    return _builder(name, "generator")(**kwargs)


def build_discriminator(name, **kwargs):
    """The discriminator of GAN ``name`` (kwargs: image_shape, num_classes, widths)."""
    return _builder(name, "discriminator")(**kwargs)


@gin.configurable
def build_gan(name=gin.REQUIRED, image_shape=gin.REQUIRED, num_classes=0,
              generator_only=False):
    """(G, D) of GAN ``name`` for images of ``image_shape`` (H, W, C), both built.

    Widths and other architecture options are gin parameters of the builders
    (e.g. ``sngan32_generator.gf_dim``). With ``generator_only`` D is None (e.g.
    for an EMA copy of G).
    """
    kwargs = {"image_shape": tuple(image_shape), "num_classes": num_classes}
    generator = build_generator(name, **kwargs)
    if generator_only:
        return generator, None
    discriminator = build_discriminator(name, **kwargs)
    g_names = {layer.name for layer in view.masked_layers(generator)}
    shared = sorted(g_names & {layer.name for layer in view.masked_layers(discriminator)})
    if shared:
        raise ValueError(
            f"GAN {name!r}: masked layer names must differ between G and D; shared: {shared}")
    return generator, discriminator
