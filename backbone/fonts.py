"""The CJK font every printed page embeds (ceremony's documents, the console's rosters and visit sheets).

Its path comes from WANQING_CJK_FONT or a search of the usual places (Debian packages fonts-wqy-microhei /
fonts-noto-cjk); `make install` installs one when missing.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONT_NAME = "WanqingCJK"
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/System/Library/Fonts/PingFang.ttc",
)


class FontMissingError(RuntimeError):
    """No CJK TrueType font: install fonts-wqy-microhei (make install does) or set WANQING_CJK_FONT."""


def find_font() -> Path:
    configured = os.environ.get("WANQING_CJK_FONT")
    candidates = (configured,) if configured else FONT_CANDIDATES
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise FontMissingError(f"no CJK font found (tried {', '.join(c for c in candidates if c)}); "
                           "install fonts-wqy-microhei or set WANQING_CJK_FONT")


@cache
def register_font() -> str:
    """The font registered with reportlab (once per process), by the name to draw with."""
    pdfmetrics.registerFont(TTFont(FONT_NAME, str(find_font()), subfontIndex=0))
    return FONT_NAME
