#!/usr/bin/env python3
"""Make crates/fonts/data/wqy-microhei-gb2312.ttf, the embedded default CJK font.

Source: face 0 of Debian's fonts-wqy-microhei (0.2.0-beta-3.1),
/usr/share/fonts/truetype/wqy/wqy-microhei.ttc — WenQuanYi Micro Hei,
Apache-2.0 (or GPL-3+ with font exception; we take Apache-2.0).

Kept: every character of GB 2312 (6,763 hanzi and 682 symbols), printable
ASCII, Latin-1, general punctuation, CJK symbols and punctuation, full- and
half-width forms. Hinting is dropped (we draw at 16 px/mm and embed subsets
in OFD; neither uses TrueType hinting).

Needs fonttools (pip install fonttools==4.55.0). Run from the repository root:
    python3 scripts/make-embedded-font.py [path-to-wqy-microhei.ttc]
"""
import sys

from fontTools import subset
from fontTools.ttLib import TTCollection

SRC = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
OUT = "crates/fonts/data/wqy-microhei-gb2312.ttf"


def gb2312():
    chars = set()
    for hi in range(0xA1, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                chars.add(bytes([hi, lo]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return chars


def main():
    chars = gb2312()
    chars.update(chr(c) for c in range(0x20, 0x7F))
    chars.update(chr(c) for c in range(0xA0, 0x100))
    chars.update(chr(c) for c in range(0x2000, 0x2070))  # general punctuation
    chars.update(chr(c) for c in range(0x3000, 0x3040))  # CJK symbols and punctuation
    chars.update(chr(c) for c in range(0xFF00, 0xFFF0))  # full-/half-width forms
    font = TTCollection(SRC).fonts[0]
    opts = subset.Options()
    opts.hinting = False
    opts.layout_features = ["*"]
    opts.name_IDs = ["*"]
    opts.name_languages = ["*"]
    opts.notdef_outline = True
    opts.glyph_names = False
    sub = subset.Subsetter(options=opts)
    sub.populate(unicodes=[ord(c) for c in chars])
    sub.subset(font)
    font.save(OUT)
    cmap = font.getBestCmap()
    missing = sorted(c for c in gb2312() if ord(c) not in cmap)
    print(f"{OUT}: {len(cmap)} characters, GB 2312 missing: {len(missing)} {''.join(missing[:40])}")


if __name__ == "__main__":
    main()
