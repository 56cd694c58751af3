import numpy as np
import pytest

from auditor.cache import Cache


def test_round_trip_and_tag(tmp_path):
    cache = Cache(tmp_path / "c")
    key = Cache.key("vocabulary", "abc", {"opt": 1})
    assert cache.load("vocabulary", key) is None
    cache.store("vocabulary", key, {"n": 3, "s": "«x»"}, {"ids": np.arange(5, dtype=np.int32)})
    doc, arrays = cache.load("vocabulary", key)
    assert doc == {"n": 3, "s": "«x»"}
    assert arrays["ids"].tolist() == [0, 1, 2, 3, 4]
    assert (tmp_path / "c" / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")
    assert cache.hits == 1 and cache.misses == 1


def test_key_depends_on_every_part():
    assert Cache.key("a", 1) != Cache.key("a", 2)
    assert Cache.key("a", 1) != Cache.key("b", 1)
    assert Cache.key("a", {"x": 1, "y": 2}) == Cache.key("a", {"y": 2, "x": 1})


@pytest.mark.parametrize("arrays", [None, {"a": np.arange(3)}], ids=["json-entry", "npz-entry"])
def test_corrupt_and_foreign_entries_are_misses(tmp_path, arrays):
    cache = Cache(tmp_path)
    suffix = ".npz" if arrays else ".json"
    key = Cache.key("k", 1)
    cache.store("k", key, {"v": 1}, arrays)
    path = tmp_path / "k" / f"{key}{suffix}"
    assert path.is_file()
    path.write_bytes(b"garbage")
    assert cache.load("k", key) is None
    assert not path.exists()  # deleted, to be rebuilt
    other = Cache.key("k", 2)
    cache.store("k", other, {"v": 2}, arrays)
    (tmp_path / "k" / f"{other}{suffix}").rename(path)  # an entry stored under another key
    assert cache.load("k", key) is None


def test_document_only_entries_need_no_numpy_and_keep_any_text(tmp_path):
    cache = Cache(tmp_path)
    key = Cache.key("k", "doc")
    doc = {"text": "\ud800 lone surrogate, «x», \n", "n": [1, 2]}
    cache.store("k", key, doc)
    assert (tmp_path / "k" / f"{key}.json").is_file()
    assert cache.load("k", key) == (doc, {})


def test_disabled_cache_stores_nothing(tmp_path):
    cache = Cache(tmp_path / "c", enabled=False)
    cache.store("k", "x", {"v": 1})
    assert cache.load("k", "x") is None
    assert not (tmp_path / "c").exists()
