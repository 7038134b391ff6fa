"""The QR in the browser edition: read back from the device's QR file and drawn as SVG, with no pillow.

The file (QRCodePNG, saved at 2.1) stays the one source of what the learner scans: its PNG is read
module by module, strictly (the kit's own drawing: 1-bit greyscale, square modules, a white quiet
zone; anything else is refused rather than guessed), and the same modules are drawn by qrcode's own
SVG factory. Logic only: widget.py shows the SVG, inside a widget that is never saved.
"""

from __future__ import annotations

import struct
import zlib

from qrcode.image.svg import SvgPathFillImage

from ..errors import HandsonError
from ..safefs import PNG_SIGNATURE
from ..texts import forms as texts

BORDER = 4  # the quiet zone, in modules, that the kit draws (and QR readers need)
FINDER = 7  # the width of a finder pattern, in modules
PIXELS_PER_MODULE = 6  # on screen: whole pixels per module, so a screenshot reads back exactly


_BITS = [[(byte >> (7 - i)) & 1 for i in range(8)] for byte in range(256)]


class NotKitsQr(HandsonError):
    def __init__(self, problem: str):
        super().__init__(texts.QR_NOT_DRAWABLE.format(problem=problem), "QrNotDrawable")


def _pixels(data: bytes) -> list[list[int]]:
    """The rows of a non-interlaced 1-bit greyscale PNG (1 white, 0 black), CRCs checked."""
    if not data.startswith(PNG_SIGNATURE):
        raise NotKitsQr(texts.QR_NOT_PNG)
    chunks: dict[bytes, bytes] = {}
    at, idat = len(PNG_SIGNATURE), b""
    while at + 12 <= len(data):
        (length,), kind = struct.unpack(">I", data[at : at + 4]), data[at + 4 : at + 8]
        body, crc = data[at + 8 : at + 8 + length], data[at + 8 + length : at + 12 + length]
        if len(crc) != 4 or zlib.crc32(kind + body) != struct.unpack(">I", crc)[0]:
            raise NotKitsQr(texts.QR_NOT_PNG)
        idat += body if kind == b"IDAT" else b""
        chunks.setdefault(kind, body)
        at += 12 + length
        if kind == b"IEND":
            break
    if b"IHDR" not in chunks or b"IEND" not in chunks or len(chunks[b"IHDR"]) != 13:
        raise NotKitsQr(texts.QR_NOT_PNG)
    width, height, depth, colour, compression, filtering, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    if (depth, colour, compression, filtering, interlace) != (1, 0, 0, 0, 0) or width != height or not width:
        raise NotKitsQr(texts.QR_NOT_KITS)
    stride = (width + 7) // 8
    try:
        raw = zlib.decompress(idat)
    except zlib.error:
        raise NotKitsQr(texts.QR_NOT_PNG) from None
    if len(raw) != height * (stride + 1):
        raise NotKitsQr(texts.QR_NOT_PNG)
    rows, previous = [], bytes(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for x in range(stride):  # PNG's five filters; one byte per pixel group at this depth
            left, up, corner = line[x - 1] if x else 0, previous[x], previous[x - 1] if x else 0
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                near = min((abs(p - left), left), (abs(p - up), up), (abs(p - corner), corner), key=lambda t: t[0])
                line[x] = (line[x] + near[1]) & 0xFF
            elif kind != 0:
                raise NotKitsQr(texts.QR_NOT_PNG)
        previous = bytes(line)
        rows.append([bit for byte in line for bit in _BITS[byte]][:width])
    return rows


def modules(data: bytes) -> list[list[bool]]:
    """The QR's modules (True: dark) from the kit's QR PNG, or a refusal: the picture must be an exact
    grid of square modules of a QR size (21 + 4k, up to 177) inside a white quiet zone of BORDER."""
    rows = _pixels(data)
    size = len(rows)
    corner = next(((y, x) for y, row in enumerate(rows) for x, v in enumerate(row) if v == 0), None)
    if corner is None or corner[0] != corner[1]:
        raise NotKitsQr(texts.QR_NOT_KITS)
    top = corner[0]
    box, remainder = divmod(top, BORDER)
    count, extra = divmod(size, box) if box else (0, 1)
    count -= 2 * BORDER
    if remainder or extra or not (21 <= count <= 177 and (count - 21) % 4 == 0):
        raise NotKitsQr(texts.QR_NOT_KITS)
    grid = [[rows[top + r * box][top + c * box] == 0 for c in range(count)] for r in range(count)]
    quiet, white = [1] * (BORDER * box), [1] * size
    drawn = [quiet + [v for dark in line for v in ([0] if dark else [1]) * box] + quiet for line in grid]
    if any(
        row != (drawn[y // box - BORDER] if 0 <= y // box - BORDER < count else white) for y, row in enumerate(rows)
    ):
        raise NotKitsQr(texts.QR_NOT_KITS)  # a pixel off its module's colour, or a dark one in the quiet zone
    finder = [[max(abs(r - 3), abs(c - 3)) != 2 for c in range(FINDER)] for r in range(FINDER)]
    for r0, c0 in ((0, 0), (0, count - FINDER), (count - FINDER, 0)):
        if [row[c0 : c0 + FINDER] for row in grid[r0 : r0 + FINDER]] != finder:
            raise NotKitsQr(texts.QR_NOT_KITS)
    return grid


def svg(grid: list[list[bool]]) -> str:
    """The modules drawn by qrcode's own SVG factory (one path, white background), in whole pixels."""
    count = len(grid)
    image = SvgPathFillImage(BORDER, count, 10, qrcode_modules=grid)
    for r in range(count):
        for c in range(count):
            image.drawrect_context(r, c, qr=image)  # reads only .modules, which the image holds
    image.process()
    side = f"{(count + 2 * BORDER) * PIXELS_PER_MODULE}px"
    root = image.get_image()
    root.set("width", side)
    root.set("height", side)
    root.set("shape-rendering", "crispEdges")
    return image.to_string(encoding="unicode")


def svg_of_png(data: bytes) -> str:
    """The QR file's picture as SVG: what the browser edition shows (widget.py)."""
    return svg(modules(data))
