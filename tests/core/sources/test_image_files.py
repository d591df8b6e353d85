"""Image-file helpers: header sizes without decoding, luminance pixels, folder lookups."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from core.errors import InputError
from core.sources.image_files import (
    ImageFolder,
    read_image_size,
    read_luminance,
    resolve_folder,
)
from core.sources.tensors import LUMINANCE_WEIGHTS


def save(image: Image.Image, path, **options):
    image.save(path, **options)
    return path


def grey(height: int, width: int) -> np.ndarray:
    rows, cols = np.mgrid[0:height, 0:width]
    return ((rows * 7 + cols * 3) % 256).astype(np.uint8)


# --- sizes from headers --------------------------------------------------------------------------

@pytest.mark.parametrize("suffix, options", [(".png", {}), (".jpg", {"quality": 90}),
                                             (".jpg", {"progressive": True}), (".bmp", {}),
                                             (".gif", {}), (".tif", {})])
def test_header_size_is_height_width(tmp_path, suffix, options):
    path = save(Image.fromarray(grey(37, 91)).convert("RGB"), tmp_path / f"a{suffix}", **options)
    assert read_image_size(path) == (37, 91)


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_header_size_needs_no_decode(tmp_path, suffix, monkeypatch):
    """Only the header is read: a file cut after its header still has a size (but no pixels),
    and Pillow is never asked."""
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (120, 200), np.uint8)).save(
        buffer, format="PNG" if suffix == ".png" else "JPEG")
    path = tmp_path / f"cut{suffix}"
    path.write_bytes(buffer.getvalue()[:700])

    def refuse(*args, **kwargs):
        raise AssertionError("the image was decoded")

    with monkeypatch.context() as patch:
        patch.setattr(Image, "open", refuse)
        assert read_image_size(path) == (120, 200)
    with pytest.raises(InputError, match="cannot decode the image"):
        read_luminance(path)


def test_header_size_errors_name_the_file(tmp_path):
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"this is not an image")
    with pytest.raises(InputError, match=r"junk\.png: cannot read the image size"):
        read_image_size(junk)
    with pytest.raises(InputError, match=r"gone\.png: cannot read the image size"):
        read_image_size(tmp_path / "gone.png")
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match=r"empty\.jpg"):
        read_image_size(empty)


# --- pixels --------------------------------------------------------------------------------------

def test_grey_8_bit_pixels_as_stored(tmp_path):
    values = grey(20, 30)
    pixels = read_luminance(save(Image.fromarray(values), tmp_path / "g.png"))
    assert pixels.dtype == np.float32 and pixels.shape == (20, 30)
    np.testing.assert_array_equal(pixels, values)


def test_grey_16_bit_keeps_its_range(tmp_path):
    values = (np.arange(12 * 9, dtype=np.uint16).reshape(12, 9) * 601).astype(np.uint16)
    pixels = read_luminance(save(Image.fromarray(values), tmp_path / "g16.png"))
    assert pixels.dtype == np.float32 and pixels.shape == (12, 9)
    np.testing.assert_array_equal(pixels, values.astype(np.float32))
    assert pixels.max() > 255


def test_float_tiff_unchanged(tmp_path):
    values = np.linspace(-120.5, -30.25, 6 * 7, dtype=np.float32).reshape(6, 7)  # dB
    pixels = read_luminance(save(Image.fromarray(values), tmp_path / "db.tif"))
    np.testing.assert_array_equal(pixels, values)


def test_colour_becomes_bt601_luminance(tmp_path):
    rgb = np.random.default_rng(1).integers(0, 256, (15, 25, 3)).astype(np.uint8)
    pixels = read_luminance(save(Image.fromarray(rgb), tmp_path / "c.png"))
    assert pixels.shape == (15, 25) and pixels.dtype == np.float32
    expected = rgb.astype(np.float64) @ [0.299, 0.587, 0.114]
    np.testing.assert_allclose(pixels, expected, atol=1e-3)
    pure = {(255, 0, 0): 76.245, (0, 255, 0): 149.685, (0, 0, 255): 29.07}
    for colour, luma in pure.items():
        image = Image.new("RGB", (2, 2), colour)
        assert read_luminance(save(image, tmp_path / "p.png"))[0, 0] == pytest.approx(luma, 1e-4)
    np.testing.assert_allclose(LUMINANCE_WEIGHTS.sum(), 1.0, rtol=1e-6)


def test_alpha_is_dropped_and_palette_rendered(tmp_path):
    rgba = np.zeros((4, 5, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 200, 7  # red, nearly transparent
    pixels = read_luminance(save(Image.fromarray(rgba), tmp_path / "a.png"))
    np.testing.assert_allclose(pixels, 0.299 * 200, atol=1e-3)
    la = Image.fromarray(np.full((3, 3), 90, np.uint8)).convert("LA")
    np.testing.assert_array_equal(read_luminance(save(la, tmp_path / "la.png")), 90)
    palette = Image.new("RGB", (6, 4), (0, 255, 0)).convert("P")
    np.testing.assert_allclose(read_luminance(save(palette, tmp_path / "p.png")), 149.685,
                               atol=1e-3)


def test_jpeg_pixels_are_close(tmp_path):
    values = np.full((16, 24), 128, np.uint8)
    pixels = read_luminance(save(Image.fromarray(values), tmp_path / "g.jpg", quality=95))
    assert pixels.shape == (16, 24)
    assert np.abs(pixels - 128).max() <= 2


def test_missing_and_broken_files_raise_input_error(tmp_path):
    with pytest.raises(InputError, match=r"nothere\.png: image file not found"):
        read_luminance(tmp_path / "nothere.png")
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(InputError, match=r"broken\.png: cannot decode the image"):
        read_luminance(broken)


# --- folders -------------------------------------------------------------------------------------

def test_folder_find_by_name_subpath_and_stem(tmp_path):
    (tmp_path / "sub").mkdir()
    for name in ("a.png", "sub/b.jpg", "c.JPG"):
        (tmp_path / name).write_bytes(b"x")
    folder = ImageFolder(tmp_path)
    assert folder.find("a.png") == tmp_path / "a.png"
    assert folder.find("sub/b.jpg") == tmp_path / "sub" / "b.jpg"
    assert folder.find("train2017/a.png") == tmp_path / "a.png"  # prefix not in the folder
    assert folder.find("C:\\data\\a.png") == tmp_path / "a.png"  # Windows-style path
    assert folder.find("missing.png") is None
    assert folder.find("") is None
    assert folder.find("sub") is None  # a folder is not an image
    assert folder.find_stem("a") == tmp_path / "a.png"
    assert folder.find_stem("c") == tmp_path / "c.JPG"
    assert folder.find_stem("zzz") is None


def test_no_folder_finds_nothing():
    folder = ImageFolder(None)
    assert folder.find("a.png") is None and folder.find_stem("a") is None
    assert resolve_folder(None, ".").root is None
    assert resolve_folder("", ".").root is None


def test_resolve_folder_relative_to_the_label_file(tmp_path, monkeypatch):
    (tmp_path / "set" / "imgs").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert resolve_folder("imgs", tmp_path / "set").root == tmp_path / "set" / "imgs"
    (tmp_path / "elsewhere" / "imgs").mkdir()  # the working directory wins when it has it
    assert resolve_folder("imgs", tmp_path / "set").root.resolve() == (
        tmp_path / "elsewhere" / "imgs")
    assert resolve_folder(str(tmp_path / "set" / "imgs"), "/").root == tmp_path / "set" / "imgs"
    assert resolve_folder("nowhere", tmp_path).root.name == "nowhere"  # kept; finds nothing


# --- EXIF orientation, file-like input, stem lookups ---------------------------------------------

@pytest.mark.parametrize(("orientation", "turned"), [(1, 0), (3, 2), (6, -1), (8, 1)])
def test_exif_orientation_turns_size_and_pixels_alike(tmp_path, orientation, turned):
    """Sizes and pixels are both as displayed: EXIF 6 / 8 swap height and width, and the pixels
    are turned the way the size says (np.rot90 k: 1 = counter-clockwise)."""
    stored = np.zeros((24, 40), np.uint8)
    stored[:12, :20] = 255  # a bright top-left quarter shows which way the image turned
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = save(Image.fromarray(stored), tmp_path / "turned.jpg", quality=95, exif=exif)
    expected = np.rot90(stored, turned).astype(np.float32)
    assert read_image_size(path) == expected.shape
    pixels = read_luminance(path)
    assert pixels.shape == expected.shape
    assert np.abs(pixels - expected).max() < 40  # JPEG ringing at the quarter's edges only
    assert np.abs(pixels - expected).mean() < 2


def test_luminance_of_encoded_bytes_names_the_record(tmp_path):
    buffer = io.BytesIO()
    Image.fromarray(grey(5, 7)).save(buffer, format="PNG")
    np.testing.assert_array_equal(read_luminance(io.BytesIO(buffer.getvalue())), grey(5, 7))
    with pytest.raises(InputError, match=r"^records\.tfrecord: cannot decode the image"):
        read_luminance(io.BytesIO(b"not an image"), name="records.tfrecord")


def test_stem_lookup_prefers_the_earlier_suffix_and_ignores_other_files(tmp_path):
    for name in ("a.JPG", "a.png", "b.txt", "c.jpeg", "c.jpg", "d.gif"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "e.png").mkdir()  # a folder named like an image is not one
    folder = ImageFolder(tmp_path)
    assert folder.find_stem("a") == tmp_path / "a.png"
    assert folder.find_stem("c") == tmp_path / "c.jpg"
    assert folder.find_stem("b") is None and folder.find_stem("d") is None
    assert folder.find_stem("e") is None
    assert ImageFolder(tmp_path / "missing").find_stem("a") is None
