"""The file helpers the data generators share (tools/datagen.py, authoring-only)."""

from __future__ import annotations

import numpy as np

from tools.datagen import claim, load_npz, now_utc, save_npz, versions


def test_npz_round_trip_is_atomic_and_pickle_free(tmp_path):
    path = tmp_path / "part.npz"
    save_npz(path, {"level_of_theory": "PBE0", "n": 3}, x=np.arange(4.0), names=np.array(["O", "H"]))
    meta, arrays = load_npz(path)
    assert meta == {"level_of_theory": "PBE0", "n": 3}
    np.testing.assert_array_equal(arrays["x"], np.arange(4.0))
    assert arrays["names"].tolist() == ["O", "H"]
    assert not (tmp_path / "part.npz.tmp").exists()  # the temporary file was renamed


def test_claim_takes_free_and_released_locks_only(tmp_path):
    part = tmp_path / "dft_x.npz"
    lock = claim(part)
    assert lock is not None and lock.is_locked
    assert claim(part) is None  # held (by this process, through another handle)
    lock.release()
    again = claim(part)  # a lock file left behind does not block: only a held lock does
    assert again is not None
    again.release()


def test_provenance_stamps():
    assert len(now_utc()) == 20 and now_utc().endswith("Z")
    v = versions(("numpy", "no_such_package_here"))
    assert v["numpy"] == np.__version__ and "no_such_package_here" not in v


def test_manifest_lists_every_npz_and_reports_a_corrupt_one(tmp_path):
    import json

    from tools.datagen import write_manifest
    from tutorial_utils.data.registry import sha256sum

    save_npz(tmp_path / "a.npz", {"set": "train"}, energy=np.zeros(3))
    save_npz(tmp_path / "b.npz", {"set": "md"}, positions=np.zeros((2, 4, 3)))
    (tmp_path / "c.npz").write_bytes(b"not a zip")
    m = write_manifest(tmp_path, "items", lambda meta: {"set": meta.get("set")}, note="test")
    assert json.loads((tmp_path / "manifest.json").read_text()) == m
    assert m["note"] == "test" and m["files"]["a.npz"]["items"] == 3 and m["files"]["b.npz"]["items"] == 2
    assert m["files"]["a.npz"]["sha256"] == sha256sum(tmp_path / "a.npz") and m["files"]["b.npz"]["set"] == "md"
    assert "error" in m["files"]["c.npz"]
