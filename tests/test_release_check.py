"""The release check (scripts/release_check.py, ``make release-check``): badges, setup cells,
the Binder badge and data URLs agree with tutorial_utils/_meta.py, and the release tag exists
and holds the registered data files."""

from __future__ import annotations

import subprocess

import pytest

from .notebook_files import ROOT, load_script

release_check = load_script("release_check")


def test_everything_but_the_tag_points_to_the_release():
    assert release_check.metadata_problems() == []
    assert release_check.notebook_problems() == []
    assert release_check.readme_problems() == []
    assert release_check.registry_problems() == []


def test_a_badge_for_another_ref_is_found(monkeypatch):
    monkeypatch.setattr(release_check._meta, "REPO_REF", "v9.9.9")
    assert any("REPO_REF is 'v9.9.9'" in p for p in release_check.metadata_problems())
    assert any("Binder badge" in p for p in release_check.readme_problems())
    assert len(release_check.registry_problems()) > 0


@pytest.fixture
def clone(tmp_path, monkeypatch):
    """A clone of this repository's committed history, as the release check's git folder."""
    target = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", "--no-checkout", str(ROOT), str(target)], check=True)
    monkeypatch.setattr(release_check, "ROOT", target)
    return target


def _git(clone, *args):
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=clone, check=True,
                   capture_output=True)


def test_missing_tag_fails_and_says_how_to_make_it(clone):
    subprocess.run(["git", "tag", "-d", release_check._meta.REPO_REF], cwd=clone, capture_output=True)
    (problem,) = release_check.tag_problems()
    assert "does not exist" in problem and "git tag -a" in problem


def test_a_tag_on_the_release_commit_passes_and_one_elsewhere_fails(clone):
    ref = release_check._meta.REPO_REF
    subprocess.run(["git", "tag", "-d", ref], cwd=clone, capture_output=True)
    _git(clone, "tag", "-a", ref, "-m", "test release", "HEAD")
    head_meta = subprocess.run(["git", "show", "HEAD:tutorial_utils/_meta.py"], cwd=clone,
                               capture_output=True, text=True).stdout
    if f'REPO_REF = "{ref}"' not in head_meta:
        pytest.skip("the committed HEAD has another REPO_REF than the working tree")
    assert release_check.tag_problems() == []
    first = subprocess.run(["git", "rev-list", "--max-parents=0", "HEAD"], cwd=clone, capture_output=True,
                           text=True).stdout.split()[0]
    _git(clone, "tag", "-f", "-a", ref, "-m", "wrong commit", first)
    problems = release_check.tag_problems()
    assert problems and any("lacks data/" in p or "_meta.py" in p for p in problems)
