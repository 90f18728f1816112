"""The registry of data sets and their checksummed, cached download.

Where files go and come from:

* ``TUTORIAL_DATA_DIR`` – the cache folder (default: the user cache folder that
  ``pooch.os_cache("e3nn-tutorial")`` names). Every file there has passed its sha256 check.
* ``TUTORIAL_DATA_MIRROR`` – an offline mirror: a local folder that holds the files
  under their registry file names, or a base URL (``https://...``) that serves them.
  When set, files are fetched from the mirror instead of their public address.
* Data this project makes (``data/<set>/``) travels with the repository: in a checkout
  (local, Binder, CI) ``fetch`` copies it from there; an installed package without the
  checkout (Colab) downloads it from the repository at the pinned tag.

A file whose checksum does not match (a truncated download, a wrong version on a
mirror) is never left in the cache: the error says where it came from and what to do.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["REGISTRY", "DataFile", "cache_dir", "fetch", "fetch_all", "sha256sum"]


@dataclass(frozen=True)
class DataFile:
    """One downloadable file: where it lives, its checksum and what it is."""

    name: str
    filename: str
    url: str
    sha256: str
    size: int
    description: str
    licence: str
    citation: str
    repo_path: str = ""  # where the file lies in a checkout of this repository, if it does


_REPO_ROOT = Path(__file__).resolve().parents[2]


def _raw_url(repo_path: str) -> str:
    from .._meta import REPO_REF, REPO_SLUG

    return f"https://raw.githubusercontent.com/{REPO_SLUG}/{REPO_REF}/{repo_path}"


def _project_file(folder: str, section: str, name: str, filename: str, sha256: str, size: int,
                  description: str) -> DataFile:
    """A file this project makes, kept in ``data/<folder>/`` of the repository."""
    path = f"data/{folder}/{filename}"
    return DataFile(name=name, filename=filename, url=_raw_url(path), sha256=sha256, size=size,
                    description=description, repo_path=path,
                    licence=f"CC BY 4.0 (made by this project, data/{folder}/generate.py)",
                    citation=f"this repository, data/README.md ({section})")


def _ethanol(name: str, filename: str, sha256: str, size: int, description: str) -> DataFile:
    return _project_file("ethanol", "ethanol", name, filename, sha256, size, description)


# Ethanol frames of notebook 04: GFN2-xTB MD geometries labelled with PBE/def2-SVP (pyscf).
# The sha256s are those of data/ethanol/manifest.json (tests check they agree).
_ETHANOL = [
    _ethanol("ethanol_train", "ethanol_train.npz",
             "50d8516fdb7b60a29832343b8c385f31255786a967f8b0898753a78b65a9497b", 654_681,
             "training pool: ethanol at 500 K, DFT energies and forces"),
    _ethanol("ethanol_test", "ethanol_test.npz",
             "fdb3f45567f789e519cbe15eb5dfaa405a83193132d10ba2eba9da6fdd382fc0", 69_729,
             "held-out ethanol frames at 500 K from separate trajectories"),
    _ethanol("ethanol_t700", "ethanol_t700.npz",
             "e5b96834c0db453c9cdc83de01d4d029a9ccb023b2fcfd7664e7a933a29756a0", 69_797,
             "held-out ethanol frames at 700 K (transfer)"),
    _ethanol("ethanol_t300", "ethanol_t300.npz",
             "ebf1922736eba464c6bf783d9d25b0ed2104a5d71f93e9045889f3878398de6c", 69_655,
             "held-out ethanol frames at 300 K (transfer)"),
    _ethanol("ethanol_potential", "ethanol_potential.pt",
             "908aaf26e168ead83d8bb544bfda9da63ad1d5aaf4149b857bd96054a87f3ea3", 107_694,
             "trained weights (state_dict) of notebook 04's potential, made by "
             "data/ethanol/train_potential.py"),
]



def _water(name: str, filename: str, sha256: str, size: int, description: str) -> DataFile:
    return _project_file("water", "water clusters", name, filename, sha256, size, description)


# Water clusters of notebook 05: GFN2-xTB droplet geometries, PBE0/def2-SVP densities fitted onto
# def2-universal-jfit (pyscf). The sha256s are those of data/water/manifest.json (tests check).
_WATER = [
    _water("water_train", "water_train.npz",
           "f0d9c21563aaa7c2926581bb609438fcad664e0fa1adc4a088f08e47df75eff1", 136_185,
           "training pool: water clusters of 3-10 molecules with fitted densities"),
    _water("water_train_small", "water_train_small.npz",
           "dfae8caf21b699c1178f82e32d71e491dd3779ee88140a064edb7c07dcfb50c9", 620_437,
           "training pool: water clusters of 3-7 molecules with fitted densities"),
    _water("water_test", "water_test.npz",
           "f27bcacf438be7404ecb488efd7a8ab0796a21346a8c0f1bdf665e689595f6b4", 1_871_019,
           "held-out water clusters of 3-10 molecules (own trajectory), with DFT density matrices"),
    _water("water_large", "water_large.npz",
           "6a50284fef361f06e3cf4c49bb9af9bbffd72d0842f3ec444268f62681794ad0", 1_444_504,
           "held-out water clusters of 15 and 20 molecules, with DFT density matrices"),
]

REGISTRY: dict[str, DataFile] = {
    f.name: f
    for f in [
        DataFile(
            name="phonon_dos",
            filename="petretto_phonon_dos_1521.csv",
            url=(
                "https://raw.githubusercontent.com/ninarina12/phononDoS_tutorial/"
                "036ba109f2ca82daa048c0012f40899ee32f02b9/data.csv"
            ),
            sha256="fe19bbabc4d49f13a3fb336ee6adff9d70d66e20375cabf56fbfa31cf4da1754",
            size=2_486_028,
            description="DFPT phonon densities of states of 1521 Materials Project crystals "
            "(51 points on 0-1000 cm^-1, max-normalised) with their structures",
            licence="MIT (the repository that publishes the processed file); the underlying "
            "data: Petretto et al., CC BY 4.0",
            citation="Petretto et al., Sci. Data 5, 180065 (2018); Chen et al., Adv. Sci. 8, "
            "2004214 (2021)",
        ),
        *_ETHANOL,
        *_WATER,
    ]
}


def cache_dir() -> Path:
    """The cache folder: ``TUTORIAL_DATA_DIR`` if set, else the user cache folder."""
    env = os.environ.get("TUTORIAL_DATA_DIR", "").strip()
    if env:
        return Path(env).expanduser()
    import pooch

    return Path(pooch.os_cache("e3nn-tutorial"))


def sha256sum(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def _lookup(name: str) -> DataFile:
    if name not in REGISTRY:
        raise KeyError(f"unknown data set {name!r}; registered: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[name]


def _source(entry: DataFile) -> str:
    """Where to fetch ``entry`` from: the repository checkout if the file lies there, else
    the mirror (folder or base URL) if set, else its URL."""
    if entry.repo_path and (_REPO_ROOT / entry.repo_path).is_file():
        return str(_REPO_ROOT / entry.repo_path)
    mirror = os.environ.get("TUTORIAL_DATA_MIRROR", "").strip()
    if not mirror:
        return entry.url
    if "://" in mirror and not mirror.startswith("file://"):
        return mirror.rstrip("/") + "/" + entry.filename
    folder = Path(mirror.removeprefix("file://")).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(
            f"TUTORIAL_DATA_MIRROR={mirror!r} is neither a folder nor a URL; point it at a "
            "folder holding the data files or at a base URL, or unset it to download"
        )
    candidates = [folder / entry.filename, folder / entry.name / entry.filename]
    for c in candidates:
        if c.is_file():
            return str(c)
    raise FileNotFoundError(
        f"the mirror folder {folder} has no {entry.filename} (looked in "
        f"{', '.join(str(c) for c in candidates)}); copy the file there or unset TUTORIAL_DATA_MIRROR"
    )


def _mismatch(entry: DataFile, source: str, got: str, size: int) -> ValueError:
    return ValueError(
        f"{entry.filename} from {source} has sha256 {got} ({size} bytes) but the registry "
        f"expects {entry.sha256} ({entry.size} bytes): the file is truncated, corrupt or a "
        "different version. Nothing was saved to the cache. Fetch it again, or fix the mirror."
    )


def fetch(name: str, progress: bool = False) -> Path:
    """Return the local path of data set ``name``, downloading and verifying it if needed.

    The file is checked against its sha256 before it enters the cache (written to a
    temporary file in the cache folder, then atomically renamed), so an interrupted or
    corrupt download never leaves a bad file behind.
    """
    entry = _lookup(name)
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / entry.filename
    if target.is_file():
        if sha256sum(target) == entry.sha256:
            return target
        target.unlink()  # stale or corrupt cache entry: fetch it again
    source = _source(entry)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{entry.filename}.", suffix=".part", dir=folder)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if "://" in source:
            import pooch

            downloader = pooch.HTTPDownloader(progressbar=progress, timeout=60)
            downloader(source, str(tmp), None)
        else:
            shutil.copyfile(source, tmp)
        got = sha256sum(tmp)
        if got != entry.sha256:
            raise _mismatch(entry, source, got, tmp.stat().st_size)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return target


def fetch_all(progress: bool = True) -> dict[str, Path]:
    """Fetch every registered data set (run before an offline workshop)."""
    return {name: fetch(name, progress=progress) for name in REGISTRY}
