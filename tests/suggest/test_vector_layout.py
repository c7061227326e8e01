"""The vector index file mapped read-only (issue 13, cold start): a mapped load answers as the
index that was saved, files of the previous layout still load, a writer killed mid-save
leaves a whole index, and add/remove/membership keep their meaning on a mapped index."""

from __future__ import annotations

import gc
import json
import os
import random
import signal
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import faiss
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.vectors import MAGIC, VectorIndex
from replykit.errors import IndexMismatch

DIM = 16


def unit_vectors(seed: int, n: int, dim: int = DIM) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def build(kind: str, ids, seed: int = 1) -> VectorIndex:
    """A flat index, or an IVF one that searches every list (so it is exact too)."""
    ids = np.asarray(ids, dtype=np.int64)
    exact_max = 10 if kind == "ivf" else 10**6
    return VectorIndex.build("m", DIM, ids, unit_vectors(seed, len(ids)), exact_max=exact_max,
                             nprobe=1000)


@pytest.mark.parametrize("kind", ["flat", "ivf"])
def test_mapped_load_answers_as_the_saved_index(tmp_path, kind):
    ids = np.arange(5000, 5300, 3)
    index = build(kind, ids)
    index.save(tmp_path / "a.rkvec")
    loaded = VectorIndex.load(tmp_path / "a.rkvec", model="m", dim=DIM)
    assert loaded.kind == kind and loaded.stamp() == index.stamp()
    assert loaded.ids == set(ids.tolist()) and len(loaded) == len(ids)
    queries = unit_vectors(9, 7)
    assert loaded.search(queries, 12) == index.search(queries, 12)
    assert loaded.contains([5000, 5001, 5297, 4999, 10**12]).tolist() == [
        True, False, True, False, False]


def previous_layout_bytes(index: VectorIndex) -> bytes:
    """The file as written before issue 13: the header unpadded, so the ids may start at any
    byte (here deliberately not at a multiple of 8)."""
    header = json.dumps(index.stamp()).encode()
    if (len(MAGIC) + 8 + len(header) + 8) % 8 == 0:
        header = json.dumps({**index.stamp(), "x": 1}).encode()
    ids = np.array(sorted(index.ids), dtype=np.int64)
    return (MAGIC + struct.pack("<Q", len(header)) + header + struct.pack("<Q", len(ids))
            + ids.tobytes() + faiss.serialize_index(index.index).tobytes())


@pytest.mark.parametrize("kind", ["flat", "ivf"])
def test_file_of_the_previous_layout_loads_changes_and_saves(tmp_path, kind):
    index = build(kind, range(100, 160))
    path = tmp_path / "old.rkvec"
    path.write_bytes(previous_layout_bytes(index))
    assert (len(MAGIC) + 8 + struct.unpack_from("<Q", path.read_bytes(), len(MAGIC))[0]) % 8
    loaded = VectorIndex.load(path, model="m", dim=DIM)
    queries = unit_vectors(3, 4)
    assert loaded.ids == index.ids and loaded.search(queries, 5) == index.search(queries, 5)
    loaded.remove([100, 101])
    loaded.add(np.array([7]), unit_vectors(4, 1))
    loaded.save(path)
    again = VectorIndex.load(path, model="m", dim=DIM)
    assert again.ids == (index.ids - {100, 101}) | {7}
    assert again.search(unit_vectors(4, 1), 1)[0][0][0] == 7


def test_loaded_index_outlives_a_replaced_file_and_changes_only_its_copy(tmp_path):
    path = tmp_path / "a.rkvec"
    first = build("flat", range(50))
    first.save(path)
    loaded = VectorIndex.load(path)
    queries = unit_vectors(5, 3)
    expected = first.search(queries, 5)
    build("ivf", range(1000, 1100), seed=2).save(path)  # a writer replaces the file
    gc.collect()
    assert loaded.search(queries, 5) == expected  # still the old file's inode, mapped
    loaded.remove(range(10))
    loaded.add(np.arange(50, 55), unit_vectors(6, 5))
    assert loaded.ids == set(range(10, 55))
    assert VectorIndex.load(path).ids == set(range(1000, 1100))  # the file is untouched


def test_ivf_rebuild_reusing_a_mapped_index_keeps_working_once_it_is_gone(tmp_path):
    ids, vectors = np.arange(200), unit_vectors(7, 200)
    VectorIndex.build("m", DIM, ids, vectors, exact_max=10, nprobe=8).save(tmp_path / "a.rkvec")
    previous = VectorIndex.load(tmp_path / "a.rkvec")
    centroids = previous.index.quantizer.reconstruct_n(0, previous.index.nlist)
    rebuilt = VectorIndex.build("m", DIM, ids, vectors, exact_max=10, nprobe=8, previous=previous)
    expected = VectorIndex.load(tmp_path / "a.rkvec").search(vectors[:5], 5)
    del previous
    (tmp_path / "a.rkvec").unlink()
    gc.collect()
    assert np.array_equal(rebuilt.index.quantizer.reconstruct_n(0, rebuilt.index.nlist),
                          centroids)
    assert rebuilt.search(vectors[:5], 5) == expected


SAVER = """
import sys
import numpy as np
from index.vectors import VectorIndex
from tests.suggest.test_vector_layout import generations
path = sys.argv[1]
indexes = generations()
indexes[0].save(path)
print("saving", flush=True)
while True:
    for index in indexes[1:] + indexes[:1]:
        index.save(path)
"""


def generations() -> list[VectorIndex]:
    """Two indexes that differ in ids, kind and vectors, large enough that a save takes a while."""
    return [build("flat", range(20000), seed=11), build("ivf", range(30000, 34000), seed=12)]


def test_writer_killed_mid_save_leaves_one_whole_generation(tmp_path):
    path = tmp_path / "a.rkvec"
    indexes = generations()
    queries = unit_vectors(13, 3)
    expected = {frozenset(i.ids): i.search(queries, 5) for i in indexes}
    rng = random.Random(5)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    for _ in range(3):
        saver = subprocess.Popen([sys.executable, "-c", SAVER, str(path)], env=env,
                                 stdout=subprocess.PIPE, text=True)
        assert saver.stdout.readline() == "saving\n"
        saver.stdout.close()
        try:
            saver.wait(rng.uniform(0, 0.3))
        except subprocess.TimeoutExpired:
            os.kill(saver.pid, signal.SIGKILL)
        assert saver.wait() == -signal.SIGKILL
        loaded = VectorIndex.load(path, model="m", dim=DIM)
        assert loaded.search(queries, 5) == expected[frozenset(loaded.ids)]


operations = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.lists(st.integers(0, 40), max_size=8)),
        st.tuples(st.just("remove"), st.lists(st.integers(0, 45), max_size=8)),
        st.tuples(st.just("reload"), st.just([])),
    ),
    max_size=12,
)


@settings(max_examples=40, deadline=None)
@given(kind=st.sampled_from(["flat", "ivf"]), start=st.sets(st.integers(0, 40), max_size=30),
       steps=operations)
def test_add_remove_and_membership_follow_a_plain_dict(kind, start, steps):
    """Against a reference {id: vector}: a mapped index (after each reload) and an in-memory
    one hold the same ids, and each id's own vector finds it first."""
    version = iter(range(1000, 10**6))
    model = {i: unit_vectors(i, 1)[0] for i in start}
    index = build(kind, range(100, 140))  # IVF: trained on 40 vectors, then emptied
    index.remove(range(100, 140))
    if model:
        index.add(np.array(sorted(model)), np.array([model[i] for i in sorted(model)]))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "h.rkvec"
        for action, ids in steps:
            if action == "add":
                fresh = {i: unit_vectors(next(version), 1)[0] for i in ids}
                model.update(fresh)
                if fresh:
                    index.add(np.array(list(fresh)), np.array(list(fresh.values())))
            elif action == "remove":
                for i in ids:
                    model.pop(i, None)
                index.remove(ids)
            else:
                index.save(path)
                index = VectorIndex.load(path, model="m", dim=DIM)
            assert index.ids == set(model) and len(index) == len(model)
            probe = list(range(-1, 47))
            assert index.contains(probe).tolist() == [i in model for i in probe]
        for i, vector in model.items():
            assert index.search(vector[None, :], 1)[0][0][0] == i


def mapped_files() -> str:
    return Path("/proc/self/maps").read_text()


@pytest.mark.parametrize("kind", ["flat", "ivf"])
def test_loaded_and_saved_indexes_map_their_file(tmp_path, kind):
    """After `load`, and after `save` (the serving process keeps what its writer saved), the
    index reads its file mapped: shared page cache, not a private copy."""
    index = build(kind, range(100))
    index.save(tmp_path / "saved.rkvec")
    assert str(tmp_path / "saved.rkvec") in mapped_files()
    queries = unit_vectors(8, 3)
    assert index.search(queries, 5) == build(kind, range(100)).search(queries, 5)
    index.add(np.array([500]), unit_vectors(9, 1))  # changes copy the mapped index first
    assert index.search(unit_vectors(9, 1), 1)[0][0][0] == 500
    copy = VectorIndex.load(tmp_path / "saved.rkvec")
    copy.save(tmp_path / "copy.rkvec")
    assert str(tmp_path / "copy.rkvec") in mapped_files() and len(copy) == 100


@pytest.fixture(scope="module")
def saved_files(tmp_path_factory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("saved")
    found = {}
    for kind in ("flat", "ivf"):
        build(kind, range(60)).save(folder / kind)
        found[kind] = (folder / kind).read_bytes()
    return found


@settings(max_examples=100, deadline=None)
@given(kind=st.sampled_from(["flat", "ivf"]), cut=st.floats(0, 1),
       flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=3))
def test_damaged_file_is_refused_or_searchable_never_a_crash(saved_files, kind, cut, flips):
    """FAISS reads a mapped file in place: a truncated or corrupted one must end in
    IndexMismatch (or, where only vector bytes changed, an index that searches), never in
    a crash of the process."""
    data = bytearray(saved_files[kind])
    for where, value in flips:
        data[int(where * (len(data) - 1))] = value
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "damaged.rkvec"
        path.write_bytes(bytes(data[: max(1, int(cut * len(data)))] if cut < 1 else data))
        try:
            index = VectorIndex.load(path, model="m", dim=DIM)
        except IndexMismatch:
            return
        index.search(unit_vectors(1, 2), 5)


@pytest.mark.parametrize("kind", ["flat", "ivf"])
def test_faiss_dimension_other_than_the_stamps_is_a_mismatch(saved_files, tmp_path, kind):
    """The stamp says 16, the damaged FAISS header 80: refused before any search reads
    vectors of the wrong length from the mapping."""
    data = bytearray(saved_files[kind])
    faiss_at = len(data) - faiss.serialize_index(build(kind, range(60)).index).size
    assert struct.unpack_from("<i", data, faiss_at + 4)[0] == DIM  # fourcc, then d
    struct.pack_into("<i", data, faiss_at + 4, 80)
    (tmp_path / "a.rkvec").write_bytes(bytes(data))
    with pytest.raises(IndexMismatch, match="is (inconsistent|unreadable)"):
        VectorIndex.load(tmp_path / "a.rkvec", model="m", dim=DIM)
