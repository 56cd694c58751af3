from auditor.escape import escape_bytes, escape_text


def test_escape_text_keeps_printable_and_spaces():
    assert escape_text(" Hello wörld 中文 🙂") == " Hello wörld 中文 🙂"


def test_escape_text_controls_and_invisibles():
    assert escape_text("a\nb\rc\td\\") == "a\\nb\\rc\\td\\\\"
    assert escape_text("\x00\x1b[31m") == "\\x00\\x1b[31m"
    assert escape_text("\u202e\u200b\u00a0\u2028") == "\\u202e\\u200b\\xa0\\u2028"


def test_escape_bytes_marks_invalid_utf8():
    assert escape_bytes(b" \xe4\xb8") == " \\xe4\\xb8"
    assert escape_bytes("中".encode() + b"\xff" + b"x") == "中\\xffx"
    assert escape_bytes(b"") == ""
