#!/usr/bin/env python3
"""ONNX check: models written by `mobilenet-train export --output M.onnx` pass
onnx.checker (full_check) and give, in onnxruntime, the engine's logits.

    python3 scripts/onnx_check.py [--trainer .build/debug/mobilenet-train]
        [--data data/cifar-10-batches-bin] [--count 500] [--tolerance 1e-4]

Needs `pip install onnx onnxruntime` (CPU wheels) and numpy. Without them it prints that
it skipped and exits 0, except under CI=true, where it exits 1: CI must run the check.

Models (each exported with the trainer's `export`, from a file or a checkpoint folder):
  fixture-w025   the PyTorch-initialised alpha=0.25 network of the test fixture
                 Tests/MobileNetTests/Fixtures/mobilenet_v1_w025.safetensors ('init.*');
  trained-w050   alpha=0.5, 10 classes: a checkpoint folder from one training step on
                 generated CIFAR-10-format data (export reads the class names its run recorded);
  trained-w100   alpha=1.0, 10 classes, likewise;
  trained-c100   alpha=0.25, 100 classes, one step on generated CIFAR-100-format data.
Each gets BatchNorm statistics that keep the activations alive (with_live_batchnorm), so
the logits depend on the image and folding BatchNorm into the convolutions is exercised.
Images: 500 generated images (uniform random bytes) in CIFAR format, always; and the
first --count images of the CIFAR-10 test batch when --data holds it (CI has it).

For each model and image set:
  1. onnx.checker.check_model(full_check=True); opset, IR version, input/output names
     and shapes, metadata_props (class names, image size, mean, std, width multiplier);
  2. the engine's logits: `mobilenet-train evaluate --checkpoint M --data D --limit N
     --dump-logits T` (eval mode, unfolded BatchNorm: the reference forward);
  3. onnxruntime's logits on the same images, read here and normalised as the metadata
     says, (pixel / 255 - mean) / std;
  4. pass when, on every image, the relative difference norm-wise,
     ||onnx - engine||_2 / ||engine||_2, is at most --tolerance; when the same holds for the
     image-dependent part (each logit minus its mean over the images, Frobenius norm over
     all images: a barely trained network's logits are mostly its biases); and when the
     top-1 class is the same on every image. The largest elementwise relative difference
     (over logits at least 1e-3 of their image's largest) is printed too.
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE = os.path.join(ROOT, "Tests", "MobileNetTests", "Fixtures", "mobilenet_v1_w025.safetensors")
CIFAR10_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
IMAGE_BYTES = 3 * 32 * 32


def skip_or_fail(message):
    if os.environ.get("CI", "").lower() == "true":
        print(f"onnx_check: FAIL: {message} (CI=true: the ONNX check must run; .ci/run installs them)")
        sys.exit(1)
    print(f"onnx_check: SKIPPED: {message}")
    sys.exit(0)


try:
    import numpy as np
    import onnx
    import onnxruntime as ort
except ImportError as error:
    skip_or_fail(f"{error.name} is not installed (pip install onnx onnxruntime)")


def read_safetensors(path, with_metadata=False):
    """{name: numpy array} of a safetensors file (F32, I64 only), and its metadata if asked."""
    with open(path, "rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(size))
        data = f.read()
    types = {"F32": np.float32, "I64": np.int64}
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        out[name] = np.frombuffer(data[begin:end], dtype=types[entry["dtype"]]).reshape(entry["shape"])
    return (out, header.get("__metadata__", {})) if with_metadata else out


def write_safetensors(path, tensors, metadata=None):
    types = {np.dtype(np.float32): "F32", np.dtype(np.int64): "I64"}
    header, blobs, offset = ({"__metadata__": metadata} if metadata else {}), [], 0
    for name, array in tensors.items():
        blob = np.ascontiguousarray(array).tobytes()
        header[name] = {"dtype": types[array.dtype], "shape": list(array.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def with_live_batchnorm(path, seed):
    """Rewrites a model file's BatchNorm parameters and running statistics so that every
    layer's activations keep a useful spread: freshly initialised or barely trained, the
    running statistics are still 0 and 1, the activations shrink layer after layer and the
    logits are the linear layer's bias whatever the image. For output channel c of the
    convolution W before it, v_c = sum of W_c^2 (its output variance for unit-variance
    inputs): running_var = v_c * U(0.3, 0.6), running_mean = N(0, 0.2 sqrt(v_c)),
    weight = U(0.8, 1.2), bias = N(0, 0.2). The convolution and linear weights stay."""
    rng = np.random.default_rng(seed)
    tensors, metadata = read_safetensors(path, with_metadata=True)
    tensors = {k: v.copy() for k, v in tensors.items()}
    for name in [k for k in tensors if k.endswith(".running_var")]:
        prefix = name[: -len("running_var")]
        conv = prefix[:-2] + "0.weight"  # entry.1.* follows entry.0.weight, depthConv.1 follows depthConv.0
        v = (tensors[conv].reshape(tensors[conv].shape[0], -1).astype(np.float64) ** 2).sum(1)
        n = len(v)
        tensors[prefix + "running_var"] = (v * rng.uniform(0.3, 0.6, n)).astype(np.float32)
        tensors[prefix + "running_mean"] = (rng.normal(0, 0.2, n) * np.sqrt(v)).astype(np.float32)
        tensors[prefix + "weight"] = rng.uniform(0.8, 1.2, n).astype(np.float32)
        tensors[prefix + "bias"] = rng.normal(0, 0.2, n).astype(np.float32)
    write_safetensors(path, tensors, metadata)


def run(command):
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"onnx_check: {' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result.stdout


def generated_cifar(folder, kind, train, test, seed):
    """A CIFAR-10 or CIFAR-100 binary folder of random images and labels."""
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)

    def records(count):
        images = rng.integers(0, 256, size=(count, IMAGE_BYTES), dtype=np.uint8)
        if kind == "cifar10":
            labels = rng.integers(0, 10, size=(count, 1), dtype=np.uint8)
        else:
            labels = np.stack([rng.integers(0, 20, size=count), rng.integers(0, 100, size=count)], axis=1).astype(np.uint8)
        return np.concatenate([labels, images], axis=1).tobytes()

    if kind == "cifar10":
        for i in range(1, 6):
            with open(os.path.join(folder, f"data_batch_{i}.bin"), "wb") as f:
                f.write(records(train))
        with open(os.path.join(folder, "test_batch.bin"), "wb") as f:
            f.write(records(test))
        with open(os.path.join(folder, "batches.meta.txt"), "w") as f:
            f.write("\n".join(CIFAR10_NAMES) + "\n")
    else:
        with open(os.path.join(folder, "train.bin"), "wb") as f:
            f.write(records(train))
        with open(os.path.join(folder, "test.bin"), "wb") as f:
            f.write(records(test))
        with open(os.path.join(folder, "fine_label_names.txt"), "w") as f:
            f.write("\n".join(f"fine_{i:02d}" for i in range(100)) + "\n")
        with open(os.path.join(folder, "coarse_label_names.txt"), "w") as f:
            f.write("\n".join(f"coarse_{i:02d}" for i in range(20)) + "\n")
    return folder


def test_images(folder, count):
    """The first `count` test images of a CIFAR folder as uint8 [N, 3, 32, 32]."""
    for name, label_bytes in (("test_batch.bin", 1), ("test.bin", 2)):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            raw = np.fromfile(path, dtype=np.uint8).reshape(-1, label_bytes + IMAGE_BYTES)[:count]
            return raw[:, label_bytes:].reshape(-1, 3, 32, 32)
    sys.exit(f"onnx_check: no test batch in {folder}")


def check_structure(model, classes, alpha, class_names):
    """Metadata and interface a deployment relies on; returns the metadata dict."""
    onnx.checker.check_model(model, full_check=True)
    opset = {o.domain: o.version for o in model.opset_import}[""]
    assert opset >= 13 and model.ir_version >= 7, (opset, model.ir_version)
    meta = {p.key: p.value for p in model.metadata_props}

    def dims(value):
        return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]

    assert [i.name for i in model.graph.input] == ["input"] and dims(model.graph.input[0]) == ["N", 3, 32, 32]
    assert [o.name for o in model.graph.output] == ["logits"] and dims(model.graph.output[0]) == ["N", classes]
    assert json.loads(meta["class_names"]) == class_names, meta["class_names"]
    assert int(meta["image_size"]) == 32 and float(meta["width_multiplier"]) == alpha
    assert np.allclose(json.loads(meta["mean"]), [0.4914, 0.4822, 0.4465]) and np.allclose(json.loads(meta["std"]), [0.2023, 0.1994, 0.2010])
    kinds = [n.op_type for n in model.graph.node]
    assert kinds.count("Conv") == 27 and kinds.count("Clip") == 27 and "BatchNormalization" not in kinds, kinds
    return meta


def compare(args, name, model_path, onnx_path, folder, count, label):
    """The engine's logits on `folder`'s first `count` test images against onnxruntime's."""
    with tempfile.TemporaryDirectory() as tmp:
        dump = os.path.join(tmp, "logits.safetensors")
        run([args.trainer, "evaluate", "--checkpoint", model_path, "--data", folder, "--limit", str(count),
             "--dump-logits", dump, "--threads", "2"])
        engine = read_safetensors(dump)["logits"].astype(np.float64)
    model = onnx.load(onnx_path)
    meta = {p.key: p.value for p in model.metadata_props}
    mean = np.array(json.loads(meta["mean"]), dtype=np.float32).reshape(1, 3, 1, 1)
    std = np.array(json.loads(meta["std"]), dtype=np.float32).reshape(1, 3, 1, 1)
    pixels = test_images(folder, count).astype(np.float32) / np.float32(255)
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = 2, 1
    session = ort.InferenceSession(onnx_path, options, providers=["CPUExecutionProvider"])
    logits = session.run(["logits"], {"input": (pixels - mean) / std})[0].astype(np.float64)
    if logits.shape != engine.shape:
        return print(f"FAIL {name} on {label}: onnxruntime gave {logits.shape}, the engine {engine.shape}") or False
    normwise = np.linalg.norm(logits - engine, axis=1) / np.maximum(np.linalg.norm(engine, axis=1), 1e-30)
    significant = np.abs(engine) >= 1e-3 * np.abs(engine).max(axis=1, keepdims=True)
    elementwise = (np.abs(logits - engine) / np.maximum(np.abs(engine), 1e-30))[significant]
    # The part of the logits that depends on the image (an untrained network's logits are
    # mostly its biases): the same comparison after subtracting each logit's mean over images.
    centred = np.linalg.norm((logits - logits.mean(0)) - (engine - engine.mean(0))) / np.linalg.norm(engine - engine.mean(0))
    same_top1 = (logits.argmax(1) == engine.argmax(1))
    top2 = np.sort(engine, axis=1)[:, -2:]
    ok = normwise.max() <= args.tolerance and centred <= args.tolerance and same_top1.all()
    spread = np.linalg.norm(engine - engine.mean(0)) / np.linalg.norm(engine)
    print(f"{'ok  ' if ok else 'FAIL'} {name:13s} {label:21s} {len(engine)} images (image-dependent share of the logits {spread:.2f}): max relative difference "
          f"{normwise.max():.2e} norm-wise (per image, L2), {elementwise.max():.2e} elementwise "
          f"(logits >= 1e-3 of the image's largest), {centred:.2e} of the image-dependent part; top-1 same on {same_top1.sum()}/{len(engine)} "
          f"(smallest top-1 margin {(top2[:, 1] - top2[:, 0]).min():.2e})")
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trainer", default=os.path.join(ROOT, ".build", "debug", "mobilenet-train"))
    parser.add_argument("--data", default=os.path.join(ROOT, "data", "cifar-10-batches-bin"),
                        help="CIFAR-10 folder; its test images are used when it exists")
    parser.add_argument("--count", type=int, default=500, help="test images compared")
    parser.add_argument("--tolerance", type=float, default=1e-4, help="largest norm-wise relative logit difference allowed")
    args = parser.parse_args()
    if not os.access(args.trainer, os.X_OK):
        sys.exit(f"onnx_check: {args.trainer} not found: build it first (swift build --product mobilenet-train)")
    print(f"onnx_check: onnx {onnx.__version__}, onnxruntime {ort.__version__}, trainer {args.trainer}")

    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        c10 = generated_cifar(os.path.join(tmp, "cifar10"), "cifar10", train=24, test=args.count, seed=1)
        c100 = generated_cifar(os.path.join(tmp, "cifar100"), "cifar100", train=16, test=args.count, seed=2)
        fixture = os.path.join(tmp, "fixture-w025.safetensors")
        write_safetensors(fixture, {k[len("init."):]: v for k, v in read_safetensors(FIXTURE).items() if k.startswith("init.")})
        with_live_batchnorm(fixture, seed=4)

        models = [("fixture-w025", fixture, 0.25, CIFAR10_NAMES, c10)]
        for seed, (name, data, alpha) in enumerate((("trained-w050", c10, 0.5), ("trained-w100", c10, 1.0), ("trained-c100", c100, 0.25))):
            runs = os.path.join(tmp, name)
            run([args.trainer, "train", "--data", data, "--epochs", "1", "--batch-size", "8", "--limit-train", "8",
                 "--limit-test", "8", "--width-multiplier", str(alpha), "--checkpoint-dir", runs, "--threads", "2", "--seed", "3"])
            with_live_batchnorm(os.path.join(runs, "last", "model.safetensors"), seed=5 + seed)
            names = CIFAR10_NAMES if data == c10 else [f"fine_{i:02d}" for i in range(100)]
            models.append((name, runs, alpha, names, data))

        real = os.path.exists(os.path.join(args.data, "test_batch.bin"))
        if not real:
            print(f"onnx_check: {args.data} has no CIFAR-10 test batch: generated images only")
        for name, checkpoint, alpha, names, data in models:
            onnx_path = os.path.join(tmp, name + ".onnx")
            run([args.trainer, "export", "--checkpoint", checkpoint, "--output", onnx_path])
            model = onnx.load(onnx_path)
            try:
                check_structure(model, len(names), alpha, names)
            except (AssertionError, onnx.checker.ValidationError) as error:
                print(f"FAIL {name}: structure: {error}")
                ok = False
                continue
            ok &= compare(args, name, checkpoint, onnx_path, data, args.count, "generated images")
            if real and len(names) == 10:
                ok &= compare(args, name, checkpoint, onnx_path, args.data, args.count, "CIFAR-10 test images")
    print("onnx_check: " + ("OK" if ok else "FAILED"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
