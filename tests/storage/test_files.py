import pytest

from storage.files import FileNotStored, LocalFileStore, safe_name


async def test_put_get_round_trip_with_unicode_names(tmp_path):
    store = LocalFileStore(tmp_path)
    key = await store.put(b"\x00\x01pdf", "factura año 2026.pdf", "application/pdf")
    assert key.endswith("factura_a_o_2026.pdf")
    assert await store.get(key) == b"\x00\x01pdf"
    other = await store.put(b"x", "factura año 2026.pdf", "application/pdf")
    assert other != key  # same name, different file


async def test_keys_cannot_escape_the_store(tmp_path):
    store = LocalFileStore(tmp_path / "files")
    (tmp_path / "secret").write_text("no")
    with pytest.raises(FileNotStored):
        await store.get("../secret")
    with pytest.raises(FileNotStored):
        await store.get("ab/missing")


def test_safe_name():
    assert safe_name("../../etc/passwd") == "passwd"
    assert safe_name("") == "file"
