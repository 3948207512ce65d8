"""The compiled loops' cache (:mod:`analytical_models._jit_cache`): a second checkout of the same
code at another path loads them instead of compiling; an edit to a module a loop imports
compiles it again; ``NUMBA_CACHE_DIR`` keeps numba's own placement."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from analytical_models._jit_cache import ROOT, _prune, sources_hash

_PROBE = """
import json, numpy as np
from analytical_models import compiled_module
kernel = compiled_module("dse.contraction._dp_kernel")
bits, prods = kernel._kept(3, np.array([1, 2, 3], dtype=np.int64),
                           np.array([2, 3, 4], dtype=np.int64), np.array([True, False, False]))
stats = kernel._kept.stats
print(json.dumps({"hits": sum(stats.cache_hits.values()), "misses": sum(stats.cache_misses.values()),
                  "path": stats.cache_path, "prods": prods.tolist()}))
"""


def _checkout(dest: Path) -> Path:
    """A copy of the project's packages at ``dest`` (no ``__pycache__``): a fresh checkout."""
    for package in ("analytical_models", "dse"):
        shutil.copytree(ROOT / package, dest / package, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def _probe(checkout: Path, cache: Path, **env: str) -> dict[str, object]:
    environ = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "TNN_DSE_NO_JIT")}
    environ.update(PYTHONPATH=str(checkout), TNN_DSE_CACHE_DIR=str(cache), **env)
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], cwd=checkout, env=environ, capture_output=True, text=True, check=True
    )
    out: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def test_a_second_checkout_loads_the_compiled_loops(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = _probe(_checkout(tmp_path / "a"), cache)
    second = _probe(_checkout(tmp_path / "b"), cache)
    assert first["misses"] == 1 and first["hits"] == 0
    assert second["misses"] == 0 and second["hits"] == 1
    assert first["path"] == second["path"]
    assert str(first["path"]).startswith(str(cache / "numba" / "dse.contraction._dp_kernel-"))
    # input 0 holds indices 0 and 2, input 1 indices 1 and 2, the output index 0: each input
    # keeps all of its indices (2 * 4, 3 * 4), the pair only the output's (2)
    assert second["prods"] == first["prods"] == [1, 2 * 4, 3 * 4, 2]
    # nothing was written beside the sources
    assert not (tmp_path / "b" / "dse" / "contraction" / "__pycache__").exists() or not any(
        p.suffix in (".nbi", ".nbc") for p in (tmp_path / "b" / "dse" / "contraction" / "__pycache__").iterdir()
    )


def test_numba_cache_dir_keeps_numbas_placement(tmp_path: Path) -> None:
    own = tmp_path / "numba_own"
    got = _probe(_checkout(tmp_path / "a"), tmp_path / "cache", NUMBA_CACHE_DIR=str(own))
    assert str(got["path"]).startswith(str(own))
    assert not (tmp_path / "cache" / "numba").exists()


def test_an_unwritable_cache_folder_falls_back_to_numbas_placement(tmp_path: Path) -> None:
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the cache folder would go")
    checkout = _checkout(tmp_path / "a")
    got = _probe(checkout, blocker / "cache")
    assert got["misses"] == 1
    assert str(got["path"]).startswith(str(checkout / "dse" / "contraction" / "__pycache__"))


def test_the_key_covers_every_imported_project_module(tmp_path: Path) -> None:
    """An edit to a module the kernel module imports, directly or through another, changes its
    key; an edit to a module it does not import does not."""
    copy = _checkout(tmp_path / "a")
    kernel = copy / "analytical_models" / "_pinned_kernel.py"
    before = sources_hash(kernel, copy)
    assert before == sources_hash((ROOT / "analytical_models" / "_pinned_kernel.py").resolve())
    imported = copy / "analytical_models" / "_scalesim_reads.py"
    assert "analytical_models._scalesim_reads" in kernel.read_text()
    imported.write_text(imported.read_text() + "\n# edited\n")
    sources_hash.cache_clear()
    after_direct = sources_hash(kernel, copy)
    assert after_direct != before
    # a module the kernel does not import: the key stays
    unrelated = copy / "dse" / "cli" / "run.py"
    assert unrelated.is_file()
    unrelated.write_text(unrelated.read_text() + "\n# edited\n")
    sources_hash.cache_clear()
    assert sources_hash(kernel, copy) == after_direct
    # through another module: the bounds kernel imports the floor kernel, which imports nothing
    # of the project; the floor kernel's edit moves the bounds kernel's key
    bounds = copy / "dse" / "schedule" / "_bounds_kernel.py"
    key = sources_hash(bounds, copy)
    floor = copy / "dse" / "schedule" / "_floor_kernel.py"
    floor.write_text(floor.read_text() + "\n# edited\n")
    sources_hash.cache_clear()
    assert sources_hash(bounds, copy) != key
    # a kernel module loaded by name to call its loops (compiled_module("...")): the segment
    # kernel calls the on-chip kernel's loop; that kernel's edit moves the segment kernel's key
    segment = copy / "dse" / "schedule" / "_price_kernel.py"
    assert 'compiled_module("analytical_models._onchip_kernel")' in segment.read_text()
    key = sources_hash(segment, copy)
    onchip = copy / "analytical_models" / "_onchip_kernel.py"
    onchip.write_text(onchip.read_text() + "\n# edited\n")
    sources_hash.cache_clear()
    assert sources_hash(segment, copy) != key


def test_each_module_keeps_its_newest_versions(tmp_path: Path) -> None:
    for i in range(5):
        folder = tmp_path / f"dse.x._k-{i:016x}"
        folder.mkdir()
        os.utime(folder, (1000 + i, 1000 + i))
    other = tmp_path / "dse.x._other-0000000000000000"
    other.mkdir()
    os.utime(other, (1, 1))
    recent = tmp_path / "dse.x._k-00000000000000ff"  # (in use a minute ago: kept)
    recent.mkdir()
    os.utime(recent, (time.time() - 60,) * 2)
    _prune(tmp_path / "dse.x._k-0000000000000004", keep=3)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ["dse.x._k-0000000000000003", "dse.x._k-0000000000000004", recent.name, other.name]
    _prune(tmp_path / "dse.x._k-0000000000000004", keep=1)  # (the recent one is the newest)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == [recent.name, other.name]
    _prune(tmp_path / "dse.x._k-0000000000000004", keep=0)  # (untouched for a minute only: kept)
    assert sorted(p.name for p in tmp_path.iterdir()) == [recent.name, other.name]


@pytest.fixture(autouse=True)
def _fresh_hashes() -> None:
    sources_hash.cache_clear()


def test_install_keeps_numbas_placement_without_its_internals(monkeypatch: pytest.MonkeyPatch) -> None:
    import analytical_models._jit_cache as jit_cache

    assert jit_cache.install()  # (this numba: the locator comes first)
    assert jit_cache._IMPL._locator_classes[0] is jit_cache.ProjectCacheLocator
    monkeypatch.setattr(jit_cache, "_IMPL", None)
    assert not jit_cache.install()
