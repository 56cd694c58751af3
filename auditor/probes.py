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

PROBE_CHARS: tuple[tuple[str, str], ...] = tuple((group, ch) for group, chars in _GROUPS.items() for ch in chars)


# Probe strings: whole texts whose tokenization shows preprocessing defects (lossy
# normalisers, decoders that do not invert, implementations that disagree). Named, so a
# lock file and a report can say which probe changed. Change only with PROBE_STRINGS_VERSION.
PROBE_STRINGS_VERSION = 1

PROBE_STRINGS: tuple[tuple[str, str], ...] = (
    ("plain", "Hello world"),
    ("leading-space", " Hello world"),
    ("trailing-space", "Hello world "),
    ("double-space", "Hello  world"),
    ("space-run-4", "a    b"),
    ("space-run-16", "x" + " " * 16 + "y"),
    ("only-spaces", "   "),
    ("tab", "a\tb"),
    ("tabs-indent", "\t\tif x:\n\t\t\treturn y"),
    ("newline", "line one\nline two"),
    ("blank-line", "para one\n\npara two"),
    ("crlf", "line one\r\nline two\r\n"),
    ("lone-cr", "progress 10%\rprogress 20%"),
    ("trailing-newlines", "end\n\n\n"),
    ("nbsp", "100\u00a0km"),
    ("narrow-nbsp", "10\u202f000"),
    ("ideographic-space", "日本\u3000語"),
    ("zero-width-space", "zero\u200bwidth"),
    ("zwnj-zwj", "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645 a\u200db"),
    ("word-joiner-bom", "\ufeffstart\u2060end"),
    ("bidi-marks", "abc \u200fdef\u200e \u061cghi"),
    ("bidi-override", "file\u202eexe.txt\u202c"),
    ("combining", "e\u0301 vs \u00e9, n\u0303 vs \u00f1"),
    ("nfkc-compat", "\ufb01ne \u2460 \u00bd \uff21\uff22\uff23 \u0149 \ufe30"),
    ("accents", "Cr\u00e8me br\u00fbl\u00e9e \u00e0 la fa\u00e7on"),
    ("case", "HELLO Hello hello hElLo"),
    ("digits", "0123456789"),
    ("numbers", "3333+777 = 4110, 1,234.56 and 2024-11-26"),
    ("long-number", "31415926535897932384626433832795"),
    ("punctuation", "Hello, world! How are you? I'm fine; thanks."),
    ("space-before-punct", "hello ! what ? yes . no , don 't"),
    ("contractions", "I'm you're they've we'll she'd it's don't"),
    ("quotes", "\u201cquoted\u201d \u2018single\u2019 \u00abguillemets\u00bb"),
    ("dashes-ellipsis", "a\u2014b \u2013 c\u2026"),
    ("emoji", "Good job \U0001f44d\U0001f389"),
    ("emoji-zwj", "family \U0001f468\u200d\U0001f469\u200d\U0001f467 flag \U0001f1eb\U0001f1f7"),
    ("emoji-modifier", "wave \U0001f44b\U0001f3fd"),
    ("cjk", "\u6211\u559c\u6b22\u5b66\u4e60\u4e2d\u6587\u3002"),
    ("japanese", "\u3053\u3093\u306b\u3061\u306f\u3001\u30ab\u30bf\u30ab\u30ca\u3002"),
    ("korean", "\uc548\ub155\ud558\uc138\uc694"),
    ("arabic", "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645"),
    ("hebrew", "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd"),
    ("devanagari", "\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e"),
    ("thai", "\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35\u0e04\u0e23\u0e31\u0e1a"),
    ("cyrillic-greek", "\u041f\u0440\u0438\u0432\u0435\u0442 \u039a\u03b1\u03bb\u03b7\u03bc\u03ad\u03c1\u03b1"),
    ("code-python", "def f(x):\n    if x:\n        return x  # done\n    return None\n"),
    ("code-braces", "for (int i = 0; i < n; ++i) {\n  a[i] = b[i] * 2;\n}"),
    ("code-crlf", "int main() {\r\n    return 0;\r\n}\r\n"),
    ("markup", '<div class="a">&amp; <br/></div>'),
    ("url-email", "https://example.com/a?b=c&d=e user@example.org"),
    ("special-s", "<s> text </s>"),
    ("special-endoftext", "a<|endoftext|>b"),
    ("special-im", "<|im_start|>user\nhi<|im_end|>"),
    ("special-brackets", "[CLS] x [SEP] [MASK] [PAD] [UNK] <unk> <pad> <mask>"),
    ("control-chars", "a\x00b\x07c\x1bd\x7fe"),
    ("replacement-char", "bad \ufffd byte"),
    ("private-use", "icon \ue000 here"),
    ("astral", "math \U0001d400\U0001d401 \U00020000"),
)
