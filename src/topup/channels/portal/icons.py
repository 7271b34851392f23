"""The installed app's icons: a brand-neutral SIM card drawn in the operator's theme colour,
encoded as PNG with the standard library, or the operator's own files (``TOPUP_APP_ICONS``).

Drawing in code keeps the repository free of binary images and lets the icon follow
``TOPUP_THEME_COLOR``. The shapes are filled row by row as horizontal spans with the edge
pixels blended by how much of them the span covers, which is enough for a flat icon.

=========================  ====  =========================================================
file                       size  use
=========================  ====  =========================================================
``icon-192.png``           192   manifest, ``purpose: any`` (home screen, favicon)
``icon-512.png``           512   manifest, ``purpose: any`` (splash screen, install dialog)
``icon-maskable-512.png``  512   manifest, ``purpose: maskable``: full bleed, the card
                                 inside the central circle of 80 % that every mask keeps
``apple-touch-icon.png``   180   iOS home screen (square, opaque: iOS rounds it itself)
=========================  ====  =========================================================
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

SIZES = {"icon-192.png": 192, "icon-512.png": 512, "icon-maskable-512.png": 512,
         "apple-touch-icon.png": 180}
SIGNATURE = b"\x89PNG\r\n\x1a\n"
RGBA = tuple[int, int, int, int]
# A shape answers, for a row's centre y (0..1), the span [x0, x1) it covers, or None.
Shape = Callable[[float], tuple[float, float] | None]


def rgba(color: str, alpha: int = 255) -> RGBA:
    """``#rrggbb`` as an opaque RGBA tuple."""
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16), alpha


def ink_on(color: str) -> RGBA:
    """White on a dark theme colour, near-black on a light one (WCAG relative luminance)."""
    def linear(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
    r, g, b, _ = rgba(color)
    luminance = 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
    return (255, 255, 255, 255) if luminance < 0.4 else (17, 17, 17, 255)


def rect(x0: float, x1: float, y0: float, y1: float) -> Shape:
    return lambda y: (x0, x1) if y0 <= y < y1 else None


def rounded_square(radius: float) -> Shape:
    """The whole tile with round corners of ``radius``."""
    def span(y: float) -> tuple[float, float]:
        dy = max(radius - y, y - (1 - radius), 0.0)
        inset = radius - math.sqrt(max(radius * radius - dy * dy, 0.0)) if dy else 0.0
        return inset, 1 - inset
    return span


def sim_card(x0: float, x1: float, y0: float, y1: float, cut: float) -> Shape:
    """A SIM card: a portrait rectangle with its top right corner cut off."""
    def span(y: float) -> tuple[float, float] | None:
        if not y0 <= y < y1:
            return None
        return x0, x1 - max(cut - (y - y0), 0.0)
    return span


def shapes_of(name: str, color: str) -> list[tuple[Shape, RGBA]]:
    """What the icon ``name`` is made of, painted in order: the tile, the card, its chip."""
    tile, ink = rgba(color), ink_on(color)
    # "any" icons are a rounded tile on transparency; the maskable and Apple ones fill the
    # square (the platform cuts the shape), so they must have no transparent corners.
    background = rounded_square(0.18) if name in ("icon-192.png", "icon-512.png") \
        else rect(0, 1, 0, 1)
    return [(background, tile),
            (sim_card(0.32, 0.68, 0.2, 0.8, 0.11), ink),
            # The chip: six contacts in two columns, parted by lines of ink.
            (rect(0.39, 0.61, 0.47, 0.69), tile),
            (rect(0.39, 0.61, 0.536, 0.551), ink),
            (rect(0.39, 0.61, 0.609, 0.624), ink),
            (rect(0.4925, 0.5075, 0.47, 0.69), ink)]


def _paint(row: bytearray, size: int, x0: float, x1: float, color: RGBA) -> None:
    """Fill [x0, x1) (0..1) of one RGBA row, blending the partly covered end pixels."""
    left, right = max(x0 * size, 0.0), min(x1 * size, float(size))
    if right <= left:
        return
    first, last = math.floor(left), math.ceil(right) - 1  # the pixels the span touches
    if first == last:
        _blend(row, first * 4, color, right - left)
        return
    _blend(row, first * 4, color, first + 1 - left)
    row[(first + 1) * 4:last * 4] = bytes(color) * (last - first - 1)
    _blend(row, last * 4, color, right - last)


def _blend(row: bytearray, at: int, color: RGBA, cover: float) -> None:
    old = row[at:at + 4]
    if old[3] == 0:  # over transparency: the colour itself, partly opaque
        row[at:at + 4] = bytes((*color[:3], round(color[3] * cover)))
        return
    mixed = (round(c * cover + o * (1 - cover)) for c, o in zip(color, old, strict=True))
    row[at:at + 4] = bytes(mixed)


def draw(name: str, color: str) -> bytes:
    """The generated icon ``name`` (a key of ``SIZES``) in ``color``, as PNG bytes."""
    size = SIZES[name]
    shapes = shapes_of(name, color)
    rows = []
    for j in range(size):
        row = bytearray(size * 4)
        y = (j + 0.5) / size
        for shape, paint in shapes:
            found = shape(y)
            if found is not None:
                _paint(row, size, found[0], found[1], paint)
        rows.append(b"\x00" + bytes(row))  # filter type 0 (None) per scanline
    return encode_png(size, size, b"".join(rows))


def encode_png(width: int, height: int, scanlines: bytes) -> bytes:
    """An 8-bit RGBA PNG of already filtered ``scanlines``."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(scanlines, 9))
            + chunk(b"IEND", b""))


def png_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG's header, or None if ``data`` is not a PNG."""
    if len(data) < 24 or data[:8] != SIGNATURE or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def operator_icon(folder: str, name: str) -> bytes | None:
    """The operator's own ``name`` from ``folder`` (None when it has none), checked to be a
    PNG of the size the manifest announces."""
    path = Path(folder) / name
    if not folder or not path.is_file():
        return None
    data = path.read_bytes()
    size = SIZES[name]
    if png_size(data) != (size, size):
        raise ValueError(f"{path} must be a {size}x{size} PNG (TOPUP_APP_ICONS)")
    return data


def icon(name: str, color: str, folder: str = "") -> bytes:
    """The icon ``name``: the operator's file if there is one, else drawn in ``color``."""
    return operator_icon(folder, name) or draw(name, color)
