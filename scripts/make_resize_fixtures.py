#!/usr/bin/env python3
"""Writes the image decoding and resizing fixtures of the Swift tests, once.

    python3 scripts/make_resize_fixtures.py [--output Tests/MobileNetTests/Fixtures/images]

Needs Pillow and numpy. With torchvision importable (with torch), the resize references are
also computed through torchvision's Resize + CenterCrop and must equal the ones below.

What it writes (all small; the Swift tests read them, no Python needed there):

decode/   input images made by Pillow (and, for what Pillow cannot write, by the small PNG
          writer below: 16-bit colour, Adam7 interlacing, a gAMA chunk), each with
          NAME.rgb = Pillow's Image.open(NAME).convert("RGB").tobytes() (height × width × 3,
          torchvision's default loader), and for 16-bit PNGs NAME.scaled.rgb = the 16-bit
          samples scaled to 8 bits with rounding, round(v · 255 / 65535), computed with numpy;
          for the PNG with gAMA 1.0, NAME.gamma.rgb = round(255 · (v / 255)^(1/2.2)).
          decode.tsv: name, width, height, md5 of NAME.rgb, how the Swift decoder is expected
          to compare with Pillow (see RULES).
resize/   Pillow's resize references, 3 × S × S bytes, planar (R, G, B planes, row-major):
          synthetic-WxH-S.planar: the synthetic image pattern(W, H) (defined below, mirrored
          in the Swift tests) through torchvision Resize(S) (Pillow BILINEAR, antialiased)
          and CenterCrop(S); NAME-32.planar: the same of decode/NAME's Pillow-decoded image
          (a few of them, side 32).
          resize.tsv: source (synthetic or decode/NAME), width, height, side, file.
bad/      files every decoder must refuse, with bad.tsv: name, the expected ImageError case.
"""
import argparse
import hashlib
import io
import os
import struct
import zlib

import numpy as np
from PIL import Image

SIDES = (32, 24)
# How the Swift decoder compares with Pillow's convert("RGB"), per decode fixture:
#   exact    byte for byte
#   scaled   equals NAME.scaled.rgb (16-bit: Pillow converts 16-bit samples its own way)
#   gamma    equals NAME.gamma.rgb (gAMA 1.0, linear samples: libpng re-encodes them with
#            gamma 1/2.2, its 8-bit sRGB stand-in; Pillow ignores gAMA)
RULES = ("exact", "scaled", "gamma")
# Decode fixtures whose Pillow-decoded image also gets a resize reference (side 32 only: size budget).
RESIZED_DECODES = ("rgb-300x200.jpg", "rgb-97x61.jpg", "rgba-97x61.png", "rgb-1x40.png", "grey-97x61.jpg")
SYNTHETIC_SIZES = [(32, 32), (20, 13), (13, 20), (97, 61), (300, 200), (1, 40), (40, 1), (33, 32),
                   (32, 33), (31, 31), (64, 64), (500, 7), (7, 500), (48, 36), (2, 2)]


def pattern(width, height):
    """The synthetic test image (height × width × 3 uint8): a gradient plus hashed noise,
    mirrored in ImageResizeTests.pattern."""
    y, x, c = np.meshgrid(np.arange(height, dtype=np.int64), np.arange(width, dtype=np.int64),
                          np.arange(3, dtype=np.int64), indexing="ij")
    noise = ((x * 7919 + y * 104729 + c * 15485863) * 2654435761 >> 16) % 64
    return ((x * 13 + y * 7 + c * 50 + noise) % 256).astype(np.uint8)


def photo(width, height, seed):
    """A smooth image with some texture (JPEG-friendly), height × width × 3 uint8."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    channels = []
    for k in range(3):
        fx, fy, phase = rng.uniform(0.02, 0.3), rng.uniform(0.02, 0.3), rng.uniform(0, 6.3)
        value = 128 + 90 * np.sin(fx * x + phase) * np.cos(fy * y + k) + rng.normal(0, 12, (height, width))
        channels.append(value)
    return np.clip(np.stack(channels, axis=-1), 0, 255).round().astype(np.uint8)


def torchvision_sizes(width, height, side):
    """torchvision Resize(side): the shorter edge to side, the longer to int(side · long / short)."""
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = side, int(side * long / short)
    return (new_short, new_long) if width <= height else (new_long, new_short)


def resize_center_crop(image, side):
    """torchvision Resize(side) then CenterCrop(side) on a PIL RGB image, as torchvision
    computes them (F.resize returns the image unchanged when the size already matches;
    CenterCrop's offsets are int(round((size - side) / 2.0)), Python's round half to even)."""
    new_w, new_h = torchvision_sizes(image.width, image.height, side)
    if (new_w, new_h) != image.size:
        image = image.resize((new_w, new_h), Image.BILINEAR)
    top = int(round((new_h - side) / 2.0))
    left = int(round((new_w - side) / 2.0))
    return image.crop((left, top, left + side, top + side))


def torchvision_check(image, side, expected):
    """With torchvision installed, its Resize + CenterCrop must give the same bytes."""
    try:
        from torchvision import transforms
    except Exception:                                    # not installed, or built for another torch
        return False
    result = transforms.CenterCrop(side)(transforms.Resize(side)(image))
    assert result.tobytes() == expected.tobytes(), f"torchvision disagrees for {image.size} side {side}"
    return True


def planar(image):
    return np.asarray(image.convert("RGB"), dtype=np.uint8).transpose(2, 0, 1).tobytes()


# ---- a minimal PNG writer for what Pillow cannot write ----

def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def png_bytes(samples, bit_depth, color_type, interlace=False, extra_chunks=()):
    """samples: height × width × channels unsigned ints (big-endian when 16-bit)."""
    height, width = samples.shape[:2]
    dtype = ">u2" if bit_depth == 16 else "u1"
    def rows(block):
        return b"".join(b"\x00" + np.ascontiguousarray(row).astype(dtype).tobytes() for row in block)
    if interlace:
        passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
        raw = b"".join(rows(samples[y0::dy, x0::dx]) for x0, y0, dx, dy in passes
                       if samples[y0::dy, x0::dx].size)
    else:
        raw = rows(samples)
    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 1 if interlace else 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + b"".join(extra_chunks)
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def save(image, **options):
    buffer = io.BytesIO()
    image.save(buffer, **options)
    return buffer.getvalue()


def decode_fixtures():
    """(name, bytes, rule, 16-bit source samples or None) for each decode fixture."""
    rgb32 = Image.fromarray(pattern(32, 32))
    thin = Image.fromarray(pattern(1, 40))
    up = Image.fromarray(pattern(20, 13))
    down = Image.fromarray(photo(97, 61, 1))
    big = Image.fromarray(photo(300, 200, 2))
    rng = np.random.default_rng(7)
    alpha = rng.integers(0, 256, (61, 97), dtype=np.uint8)
    alpha[:5, :] = 0                                     # fully transparent rows keep their colour in Pillow
    rgba = Image.fromarray(np.dstack([photo(97, 61, 3), alpha]), "RGBA")
    grey = Image.fromarray(pattern(20, 13)[:, :, 0], "L")
    grey_alpha = Image.fromarray(np.dstack([pattern(20, 13)[:, :, 1], pattern(20, 13)[:, :, 2]]), "LA")
    palette = Image.fromarray(photo(20, 13, 4)).quantize(colors=40)
    palette_trns = palette.copy()
    palette_trns.info["transparency"] = 3
    bilevel = Image.fromarray((pattern(20, 13)[:, :, 0] > 128).astype(np.uint8) * 255, "L").convert("1")
    deep = (pattern(20, 13).astype(np.uint32) * 257 + rng.integers(0, 257, (13, 20, 3))).astype(np.uint16)
    deep_alpha = np.dstack([deep, rng.integers(0, 65536, (13, 20), dtype=np.uint16)])
    deep_grey = deep[:, :, 0]
    grey_photo = Image.fromarray(photo(97, 61, 5)[:, :, 0], "L")
    cases = [
        ("rgb-32x32.png", save(rgb32, format="PNG"), "exact", None),
        ("rgb-20x13.png", save(up, format="PNG"), "exact", None),
        ("rgb-1x40.png", save(thin, format="PNG"), "exact", None),
        ("rgb-97x61.png", save(down, format="PNG"), "exact", None),
        ("rgba-97x61.png", save(rgba, format="PNG"), "exact", None),
        ("grey-20x13.png", save(grey, format="PNG"), "exact", None),
        ("grey-alpha-20x13.png", save(grey_alpha, format="PNG"), "exact", None),
        ("palette-20x13.png", save(palette, format="PNG"), "exact", None),
        ("palette-trns-20x13.png", save(palette_trns, format="PNG"), "exact", None),
        ("bilevel-20x13.png", save(bilevel, format="PNG"), "exact", None),
        ("interlaced-20x13.png", png_bytes(pattern(20, 13), 8, 2, interlace=True), "exact", None),
        ("rgb16-20x13.png", png_bytes(deep, 16, 2), "scaled", deep),
        ("rgba16-20x13.png", png_bytes(deep_alpha, 16, 6), "scaled", deep),
        ("grey16-20x13.png", png_bytes(deep_grey[:, :, None], 16, 0), "scaled", np.dstack([deep_grey] * 3)),
        ("gamma1-20x13.png", png_bytes(pattern(20, 13), 8, 2, extra_chunks=[chunk(b"gAMA", struct.pack(">I", 100000))]),
         "gamma", None),
        ("rgb-32x32.jpg", save(rgb32, format="JPEG", quality=90), "exact", None),
        ("rgb-97x61.jpg", save(down, format="JPEG", quality=85), "exact", None),
        ("rgb444-97x61.jpg", save(down, format="JPEG", quality=85, subsampling=0), "exact", None),
        ("rgb-1x40.jpg", save(thin, format="JPEG", quality=90), "exact", None),
        ("rgb-300x200.jpg", save(big, format="JPEG", quality=75), "exact", None),
        ("progressive-97x61.jpg", save(down, format="JPEG", quality=80, progressive=True), "exact", None),
        ("grey-97x61.jpg", save(grey_photo, format="JPEG", quality=85), "exact", None),
    ]
    # Three stray bytes before the end-of-image marker (the decoder stops at the last scan).
    encoded = dict((name, data) for name, data, _, _ in cases)
    jpeg = encoded["rgb-97x61.jpg"]
    cases.append(("extraneous-97x61.jpg", jpeg[:-2] + b"\x00\x01\x02" + jpeg[-2:], "exact", None))
    cases.append(("damaged-300x200.jpg", damaged_but_complete(encoded["rgb-300x200.jpg"]), "exact", None))
    return cases


def damaged_but_complete(jpeg):
    """The JPEG with three bytes of its scan data replaced, the first such version (seeded)
    that Pillow still decodes, to an image other than the undamaged one: libjpeg warns
    ("Corrupt JPEG data: …") and, like Pillow, still gives the whole image."""
    clean = Image.open(io.BytesIO(jpeg)).convert("RGB").tobytes()
    scan = jpeg.index(b"\xff\xda") + 20
    rng = np.random.default_rng(11)
    while True:
        damaged = bytearray(jpeg)
        for offset in rng.integers(scan, len(jpeg) - 10, 3):
            damaged[offset] = int(rng.integers(0, 256))
        try:
            decoded = Image.open(io.BytesIO(bytes(damaged))).convert("RGB").tobytes()
        except OSError:
            continue
        if decoded != clean:
            return bytes(damaged)


def bad_fixtures(good_png, good_jpeg):
    """(name, bytes, expected ImageError case) for the files every decoder must refuse."""
    corrupt_png = bytearray(good_png)
    idat = corrupt_png.index(b"IDAT")
    corrupt_png[idat + 8] ^= 0xFF                        # in the deflate stream: inflate fails before the CRC is read
    bomb_png = png_bytes(np.zeros((1, 1, 3), np.uint8), 8, 2)
    bomb_png = bomb_png[:16] + struct.pack(">II", 20000, 20000) + bomb_png[24:]
    ihdr_end = 8 + 8 + 13
    bomb_png = bomb_png[:ihdr_end] + struct.pack(">I", zlib.crc32(bomb_png[12:ihdr_end]) & 0xFFFFFFFF) + bomb_png[ihdr_end + 4:]
    bomb_jpeg = bytearray(good_jpeg)
    sof = next(i for i in range(2, len(bomb_jpeg) - 1) if bomb_jpeg[i] == 0xFF and bomb_jpeg[i + 1] in (0xC0, 0xC2))
    bomb_jpeg[sof + 5:sof + 9] = struct.pack(">HH", 20000, 20000)   # height, width
    cmyk = Image.fromarray(photo(16, 16, 6)).convert("CMYK")
    gif = save(Image.fromarray(pattern(8, 8)).convert("P"), format="GIF")
    return [
        ("corrupt.png", bytes(corrupt_png), "corrupt"),
        ("truncated.png", good_png[: len(good_png) // 2], "corrupt"),
        ("truncated.jpg", good_jpeg[: len(good_jpeg) // 2], "corrupt"),
        ("header-only.jpg", good_jpeg[:sof + 19], "corrupt"),
        ("text.png", b"this is a text file with an image extension\n", "notPNGOrJPEG"),
        ("gif.jpg", gif, "notPNGOrJPEG"),
        ("empty.png", b"", "emptyFile"),
        ("bomb-20000x20000.png", bomb_png, "tooManyPixels"),
        ("bomb-20000x20000.jpg", bytes(bomb_jpeg), "tooManyPixels"),
        ("cmyk.jpg", save(cmyk, format="JPEG", quality=90), "unsupported"),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", default="Tests/MobileNetTests/Fixtures/images")
    args = parser.parse_args()
    folders = {name: os.path.join(args.output, name) for name in ("decode", "resize", "bad")}
    for folder in folders.values():
        os.makedirs(folder, exist_ok=True)

    decode_rows, resize_rows, jobs = [], [], []
    used_torchvision = False
    cases = decode_fixtures()
    for name, data, rule, deep in cases:
        assert rule in RULES
        with open(os.path.join(folders["decode"], name), "wb") as f:
            f.write(data)
        image = Image.open(io.BytesIO(data)).convert("RGB")
        rgb = image.tobytes()
        if image.width * image.height <= 4096:           # the big ones keep only their md5 (size budget)
            with open(os.path.join(folders["decode"], name + ".rgb"), "wb") as f:
                f.write(rgb)
        if deep is not None:
            scaled = np.floor(deep.astype(np.float64) * 255 / 65535 + 0.5).astype(np.uint8)
            with open(os.path.join(folders["decode"], name + ".scaled.rgb"), "wb") as f:
                f.write(scaled.tobytes())
        if rule == "gamma":
            encoded = (np.asarray(image, dtype=np.float64) / 255) ** (1 / 2.2)
            with open(os.path.join(folders["decode"], name + ".gamma.rgb"), "wb") as f:
                f.write(np.floor(encoded * 255 + 0.5).astype(np.uint8).tobytes())
        decode_rows.append(f"{name}\t{image.width}\t{image.height}\t{hashlib.md5(rgb).hexdigest()}\t{rule}")
        if name in RESIZED_DECODES:
            jobs.append((f"decode/{name}", image, SIDES[:1], name))
    jobs += [("synthetic", Image.fromarray(pattern(w, h)), SIDES, f"synthetic-{w}x{h}") for w, h in SYNTHETIC_SIZES]
    for source, image, sides, stem in jobs:
        for side in sides:
            result = resize_center_crop(image, side)
            used_torchvision |= torchvision_check(image, side, result)
            file = f"{stem}-{side}.planar"
            with open(os.path.join(folders["resize"], file), "wb") as f:
                f.write(planar(result))
            resize_rows.append(f"{source}\t{image.width}\t{image.height}\t{side}\t{file}")
    with open(os.path.join(args.output, "decode.tsv"), "w") as f:
        f.write("\n".join(decode_rows) + "\n")
    with open(os.path.join(args.output, "resize.tsv"), "w") as f:
        f.write("\n".join(resize_rows) + "\n")

    good = dict((name, data) for name, data, _, _ in cases)
    bad_rows = []
    for name, data, expected in bad_fixtures(good["rgb-97x61.png"], good["rgb-97x61.jpg"]):
        with open(os.path.join(folders["bad"], name), "wb") as f:
            f.write(data)
        bad_rows.append(f"{name}\t{expected}")
    with open(os.path.join(args.output, "bad.tsv"), "w") as f:
        f.write("\n".join(bad_rows) + "\n")
    total = sum(os.path.getsize(os.path.join(root, file)) for root, _, files in os.walk(args.output) for file in files)
    print(f"wrote {len(cases)} decode, {len(resize_rows)} resize and {len(bad_rows)} bad fixtures "
          f"({total} bytes) to {args.output}; resize references "
          f"{'checked against torchvision' if used_torchvision else 'from Pillow (torchvision not installed)'}")


if __name__ == "__main__":
    main()
