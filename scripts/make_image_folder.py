#!/usr/bin/env python3
"""Writes a torchvision ImageFolder tree from the CIFAR binary files (Pillow only).

    python3 scripts/make_image_folder.py --data ../shared/data/cifar-10-batches-bin --output DIR
        [--format png|jpeg] [--upscale N] [--quality Q] [--limit-train N] [--limit-test N]

Gives DIR/train/<class>/<index>.<ext> and DIR/test/<class>/<index>.<ext>: <class> the class
name (batches.meta.txt, or CIFAR-100's fine_label_names.txt; CIFAR-10's fixed names when the
file is missing), <index> the record's position in its split, zero-padded to 5 digits so that
sorted file names keep the records' order (ImageFolder sorts them). Records come in order:
CIFAR-10's data_batch_1..5.bin then test_batch.bin (1 label byte + 3072 bytes, the R, G, B
planes of a 32×32 image); CIFAR-100's train.bin and test.bin (coarse, fine label, 3072 bytes).

--format png (default) stores the pixels losslessly: a sample of the files written is read
back and compared with the binary's bytes, and the script fails if one differs. --format jpeg
stores them at --quality (default 90, 4:2:0), lossy. --upscale N first enlarges each image N
times with Pillow's BICUBIC filter (e.g. --upscale 8 --format jpeg: 256×256 photos, as users'
own pictures are), to exercise the resize path.
"""
import argparse
import os
import random
import sys

from PIL import Image

CIFAR10_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
PIXELS = 3 * 32 * 32


def layout(data):
    """(files per split, label offset, record size, class-name file) of the CIFAR folder."""
    if os.path.exists(os.path.join(data, "data_batch_1.bin")):
        return ({"train": [f"data_batch_{k}.bin" for k in range(1, 6)], "test": ["test_batch.bin"]},
                0, 1 + PIXELS, "batches.meta.txt")
    if os.path.exists(os.path.join(data, "train.bin")):
        return {"train": ["train.bin"], "test": ["test.bin"]}, 1, 2 + PIXELS, "fine_label_names.txt"
    sys.exit(f"{data} holds neither CIFAR-10 (data_batch_1.bin …) nor CIFAR-100 (train.bin) binary files")


def class_names(data, names_file):
    path = os.path.join(data, names_file)
    if not os.path.exists(path):
        if names_file != "batches.meta.txt":
            sys.exit(f"{path} is missing: CIFAR-100's class names are needed")
        return CIFAR10_NAMES
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


def records(data, files, label_offset, record_size, limit):
    """Yields (index, label, 3072 planar bytes) for the split, at most `limit` records."""
    index = 0
    for name in files:
        path = os.path.join(data, name)
        with open(path, "rb") as f:
            blob = f.read()
        if len(blob) % record_size:
            sys.exit(f"{path}: {len(blob)} bytes is not a whole number of {record_size}-byte records")
        for start in range(0, len(blob), record_size):
            if limit is not None and index >= limit:
                return
            record = blob[start:start + record_size]
            yield index, record[label_offset], record[label_offset + 1:]
            index += 1


def to_image(planar):
    """The 32×32 RGB image of a record's R, G, B planes."""
    planes = [Image.frombytes("L", (32, 32), planar[c * 1024:(c + 1) * 1024]) for c in range(3)]
    return Image.merge("RGB", planes)


def to_planar(image):
    return b"".join(band.tobytes() for band in image.convert("RGB").split())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="folder of the CIFAR-10 or CIFAR-100 .bin files")
    parser.add_argument("--output", required=True, help="folder to write train/ and test/ into")
    parser.add_argument("--format", choices=["png", "jpeg"], default="png")
    parser.add_argument("--upscale", type=int, default=1, help="enlarge each image N times (BICUBIC) first")
    parser.add_argument("--quality", type=int, default=90, help="JPEG quality (1-95)")
    parser.add_argument("--limit-train", type=int, default=None, help="write only the first N training images")
    parser.add_argument("--limit-test", type=int, default=None, help="write only the first N test images")
    parser.add_argument("--verify", type=int, default=200, help="PNG files read back per split (default 200)")
    args = parser.parse_args()
    if args.upscale < 1:
        sys.exit("--upscale must be at least 1")
    splits, label_offset, record_size, names_file = layout(args.data)
    names = class_names(args.data, names_file)
    extension = "png" if args.format == "png" else "jpg"
    limits = {"train": args.limit_train, "test": args.limit_test}
    for split, files in splits.items():
        for name in names:
            os.makedirs(os.path.join(args.output, split, name), exist_ok=True)
        written = []
        for index, label, planar in records(args.data, files, label_offset, record_size, limits[split]):
            if label >= len(names):
                sys.exit(f"{split} record {index}: label {label} outside the {len(names)} class names")
            image = to_image(planar)
            if args.upscale > 1:
                image = image.resize((32 * args.upscale, 32 * args.upscale), Image.BICUBIC)
            path = os.path.join(args.output, split, names[label], f"{index:05d}.{extension}")
            if args.format == "png":
                image.save(path, format="PNG")
            else:
                image.save(path, format="JPEG", quality=args.quality)
            written.append((path, planar))
        checked = verify(written, args)
        print(f"{split}: {len(written)} images in {len(names)} classes under {os.path.join(args.output, split)}"
              + (f"; {checked} read back byte-identical to the binary" if checked else ""))


def verify(written, args):
    """Reads back a sample of lossless files and compares them with the records' bytes."""
    if args.format != "png" or args.upscale != 1 or not written:
        return 0
    sample = random.Random(0).sample(written, min(args.verify, len(written)))
    for path, planar in sample:
        with Image.open(path) as image:
            if image.mode != "RGB" or image.size != (32, 32) or to_planar(image) != planar:
                sys.exit(f"{path} does not hold the binary's pixels")
    return len(sample)


if __name__ == "__main__":
    main()
