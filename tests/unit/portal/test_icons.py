"""The app icons drawn in code (decoded by Pillow, an independent PNG reader), the operator's
own icons (checked for size), and the settings they come from."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from topup.channels.portal.icons import SIZES, draw, encode_png, icon, ink_on, png_size
from topup.config import load_settings


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()  # every row, every CRC
    return image


@pytest.mark.parametrize("name", sorted(SIZES))
def test_each_icon_is_a_png_of_its_size_in_the_theme_colour(name: str) -> None:
    image = decoded(draw(name, "#00695c"))
    size = SIZES[name]
    assert (image.format, image.mode, image.size) == ("PNG", "RGBA", (size, size))
    assert png_size(draw(name, "#00695c")) == (size, size)
    # The tile beside the card is the theme colour, the card is in white ink on it.
    assert image.getpixel((size // 5, size // 2)) == (0, 0x69, 0x5C, 255)
    assert image.getpixel((size * 36 // 100, size // 3)) == (255, 255, 255, 255)


def alpha(image: Image.Image, x: int, y: int) -> int:
    pixel = image.getpixel((x, y))
    assert isinstance(pixel, tuple)
    return int(pixel[3])


def test_any_icons_have_round_corners_with_smooth_edges() -> None:
    image = decoded(draw("icon-512.png", "#0b57d0"))
    alphas = {alpha(image, x, 10) for x in range(0, 60)}
    assert 0 in alphas and 255 in alphas
    assert any(0 < a < 255 for a in alphas), "the edge is blended, not jagged"
    assert alpha(image, 0, 0) == 0 and alpha(image, 256, 0) == 255


def test_maskable_icon_keeps_the_card_inside_the_safe_zone() -> None:
    """Masks keep a centred circle of 80 % of the icon; outside it only the tile may be."""
    image = decoded(draw("icon-maskable-512.png", "#0b57d0"))
    tile = (0x0B, 0x57, 0xD0, 255)
    for y in range(0, 512, 4):
        for x in range(0, 512, 4):
            if (x - 255.5) ** 2 + (y - 255.5) ** 2 > (0.4 * 512) ** 2:
                assert image.getpixel((x, y)) == tile, (x, y)


def test_the_card_is_dark_on_a_light_theme_colour() -> None:
    assert ink_on("#0b57d0") == (255, 255, 255, 255)
    assert ink_on("#ffd54f") == (17, 17, 17, 255)
    image = decoded(draw("icon-192.png", "#ffd54f"))
    assert image.getpixel((192 * 36 // 100, 192 // 3)) == (17, 17, 17, 255)


def test_the_operators_own_icons_replace_the_drawn_ones(tmp_path: Path) -> None:
    own = encode_png(192, 192, (b"\x00" + b"\xff\x00\x00\xff" * 192) * 192)
    (tmp_path / "icon-192.png").write_bytes(own)
    assert icon("icon-192.png", "#0b57d0", str(tmp_path)) == own
    assert icon("icon-512.png", "#0b57d0", str(tmp_path)) == draw("icon-512.png", "#0b57d0")
    (tmp_path / "icon-512.png").write_bytes(own)  # 192 px where 512 px is announced
    with pytest.raises(ValueError, match="must be a 512x512 PNG"):
        icon("icon-512.png", "#0b57d0", str(tmp_path))
    (tmp_path / "apple-touch-icon.png").write_bytes(b"GIF89a")
    with pytest.raises(ValueError, match="must be a 180x180 PNG"):
        icon("apple-touch-icon.png", "#0b57d0", str(tmp_path))


def test_app_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def loaded() -> tuple[str, str, str]:
        s = load_settings(data_dir=tmp_path, secret_key="k")
        return s.theme_color, s.hotline_number, s.app_icons

    assert loaded() == ("#0b57d0", "", "")
    monkeypatch.setenv("TOPUP_THEME_COLOR", "#00695C")
    monkeypatch.setenv("TOPUP_HOTLINE_NUMBER", " +86 400 820 8820 ")
    monkeypatch.setenv("TOPUP_APP_ICONS", str(tmp_path))
    assert loaded() == ("#00695c", "+86 400 820 8820", str(tmp_path))
    monkeypatch.setenv("TOPUP_APP_ICONS", str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="TOPUP_APP_ICONS"):
        loaded()
    monkeypatch.delenv("TOPUP_APP_ICONS")
    for bad in ("teal", "#0b57d", "0b57d0", "#0b57d0;}"):
        monkeypatch.setenv("TOPUP_THEME_COLOR", bad)
        with pytest.raises(ValueError, match="TOPUP_THEME_COLOR"):
            loaded()
