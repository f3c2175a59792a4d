"""Read the PNG screenshots headless Chromium takes (8-bit RGB or RGBA, not interlaced), with
the standard library only: Image(path).width, .height, .rgb(x, y), .count(rgb, y)."""
import struct
import zlib


class Image:
    def __init__(self, path):
        data = open(path, 'rb').read()
        assert data[:8] == b'\x89PNG\r\n\x1a\n', f'{path}: not a PNG'
        pos, idat, ihdr = 8, b'', None
        while pos < len(data):
            n, kind = struct.unpack('>I4s', data[pos:pos + 8])
            body = data[pos + 8:pos + 8 + n]
            if kind == b'IHDR':
                ihdr = struct.unpack('>IIBBBBB', body)
            elif kind == b'IDAT':
                idat += body
            pos += 12 + n
        self.width, self.height, depth, ctype, _, _, interlace = ihdr
        assert depth == 8 and ctype in (2, 6) and not interlace, f'{path}: unexpected PNG format {ihdr}'
        self.bpp = 4 if ctype == 6 else 3
        self.rows = self._unfilter(zlib.decompress(idat))

    def _unfilter(self, raw):
        bpp, stride = self.bpp, self.width * self.bpp
        prev, rows = bytearray(stride), []
        for y in range(self.height):
            f = raw[y * (stride + 1)]
            line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
            if f == 1:
                for i in range(bpp, stride):
                    line[i] = (line[i] + line[i - bpp]) & 255
            elif f == 2:
                line = bytearray((a + b) & 255 for a, b in zip(line, prev))
            elif f == 3:
                for i in range(stride):
                    line[i] = (line[i] + ((line[i - bpp] if i >= bpp else 0) + prev[i]) // 2) & 255
            elif f == 4:
                for i in range(stride):
                    a = line[i - bpp] if i >= bpp else 0
                    b = prev[i]
                    c = prev[i - bpp] if i >= bpp else 0
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
            prev = line
            rows.append(bytes(line))
        return rows

    def rgb(self, x, y):
        """The colour at pixel (x, y) as an (r, g, b) tuple."""
        i = x * self.bpp
        return tuple(self.rows[y][i:i + 3])

    def count(self, rgb, y):
        """How many pixels of row y are exactly rgb (opaque)."""
        want = bytes(rgb) + (b'\xff' if self.bpp == 4 else b'')
        row = self.rows[y]
        return sum(1 for i in range(0, len(row), self.bpp) if row[i:i + self.bpp] == want)


def hex_rgb(s):
    """'#1a7f37' -> (26, 127, 55)"""
    s = s.lstrip('#')
    return tuple(int(s[i:i + 2], 16) for i in (0, 2, 4))
