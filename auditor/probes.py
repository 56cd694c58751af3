"""Fixed probe characters: a small, versioned sample of what real text contains.

Rules that ask "can this tokenizer represent text X?" without a corpus use these. The
list changes only with PROBE_VERSION, so results stay comparable between runs.
"""

from __future__ import annotations

PROBE_VERSION = 1

_GROUPS: dict[str, str] = {
    "ascii": "".join(chr(c) for c in range(0x20, 0x7F)),
    "whitespace": "\t\n\r\u00a0\u3000",
    "latin": "àáâãäåæçèéêëìíîïñòóôõöøùúûüýÿßÀÉÑÖÜąćęłńśźżčřšžőűğış",
    "greek": "αβγδεζηθλμπσωΩΣΔ",
    "cyrillic": "абвгдежзиклмнопрстуфхцчшщыэюяЖЯ",
    "hebrew": "אבגדהוש",
    "arabic": "ابتثجحخدرسعفقكلمنهوي",
    "devanagari": "अआइकखगचजतदनपमयरलवसह",
    "thai": "กขคงจฉชซญดตถทนบปผพมยรลวสหอ",
    "cjk": "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年",
    "japanese": "あいうえおかきくけこアイウエオカキクケコ",
    "korean": "한국어가나다라마바사",
    "emoji": "😀😂👍🎉❤🔥🚀🤖",
    "symbols": "€£¥©®°±×÷—–…“”‘’•→∞≠≤≥√∑",
}

PROBE_CHARS: tuple[tuple[str, str], ...] = tuple(
    (group, ch) for group, chars in _GROUPS.items() for ch in chars
)
