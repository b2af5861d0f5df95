"""The tensors and integer attributes of a TorchScript archive (`.pt` zip) as numpy, without torch.

A TorchScript file is a zip holding `<root>/data.pkl`, the pickled module tree (objects of
`__torch__.*` classes whose state holds tensors, ints and int lists), and `<root>/data/<key>`,
the raw little-endian bytes of each tensor storage. A restricted Unpickler rebuilds exactly
that: any other global in the pickle is refused, so reading an archive runs no foreign code.
"""

import collections
import io
import pickle
import zipfile

import numpy as np

STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}


class ScriptModuleState:
    """A pickled `__torch__.<class>` object: its class path and (set by unpickling) its attribute dict."""

    class_path = ""

    def __setstate__(self, state):
        self.attributes = dict(state)


def _state_class(class_path):
    """A `ScriptModuleState` subclass for one pickled class (NEWOBJ instantiates the class itself)."""
    return type(class_path.rsplit(".", 1)[-1], (ScriptModuleState,), {"class_path": class_path})


class _StorageType:
    """Stand-in for `torch.<X>Storage` in a persistent id: only its numpy dtype matters."""

    def __init__(self, name):
        self.dtype = np.dtype(STORAGE_DTYPES[name])


def _rebuild_tensor(storage, offset, size, stride, requires_grad=False, hooks=None, metadata=None):
    """numpy copy of `torch._utils._rebuild_tensor_v2`: a strided view of a 1-D storage."""
    del requires_grad, hooks, metadata
    if not size:
        return np.array(storage[offset])
    itemsize = storage.dtype.itemsize
    view = np.lib.stride_tricks.as_strided(
        storage[offset:], shape=tuple(size), strides=tuple(s * itemsize for s in stride), writeable=False)
    return np.array(view)


class _ArchiveUnpickler(pickle.Unpickler):
    """Unpickler of `data.pkl` that maps torch's globals to numpy and refuses every other global."""

    def __init__(self, data, archive, root):
        super().__init__(io.BytesIO(data))
        self._archive, self._root = archive, root

    def find_class(self, module, name):
        if module.startswith("__torch__"):
            return _state_class(f"{module}.{name}")
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(name)
        if (module, name) == ("torch.jit._pickle", "build_intlist"):
            return list
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        raise pickle.UnpicklingError(
            f"TorchScript archive refers to {module}.{name}; only __torch__ modules, tensors, "
            f"storages, int lists and OrderedDict are read")

    def persistent_load(self, pid):
        kind, storage_type, key, _location, numel = pid
        if kind != "storage":
            raise pickle.UnpicklingError(f"unknown persistent id kind {kind!r} (expected 'storage')")
        raw = self._archive.read(f"{self._root}/data/{key}")
        return np.frombuffer(raw, dtype=storage_type.dtype.newbyteorder("<"), count=numel)


def _root_folder(archive):
    """The single top folder of the archive that holds `data.pkl`."""
    roots = sorted({name.split("/")[0] for name in archive.namelist() if name.endswith("/data.pkl")})
    if len(roots) != 1:
        raise ValueError(f"not a TorchScript archive: expected one <root>/data.pkl, found roots {roots}")
    return roots[0]


def read_module_tree(source):
    """The root `ScriptModuleState` of a TorchScript archive (a path, bytes or a binary file)."""
    if isinstance(source, (bytes, bytearray)):
        source = io.BytesIO(source)
    with zipfile.ZipFile(source) as archive:
        root = _root_folder(archive)
        return _ArchiveUnpickler(archive.read(f"{root}/data.pkl"), archive, root).load()


def flatten_module_tree(module, prefix=""):
    """{dotted path: value} of every tensor (numpy array), int and int list under `module`.

    Paths are the torch attribute paths (e.g. `net.layers.conv.weight`); bools (such as
    `training`) and None are left out.
    """
    flat = {}
    for name, value in module.attributes.items():
        path = f"{prefix}{name}"
        if isinstance(value, ScriptModuleState):
            flat.update(flatten_module_tree(value, path + "."))
        elif isinstance(value, np.ndarray):
            flat[path] = value
        elif isinstance(value, int) and not isinstance(value, bool):
            flat[path] = value
        elif isinstance(value, list) and all(isinstance(v, int) for v in value):
            flat[path] = list(value)
    return flat
