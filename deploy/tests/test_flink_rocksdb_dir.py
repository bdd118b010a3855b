"""The local stack's TaskManagers keep RocksDB's working files in memory when the machine has /dev/shm (a checkpoint
syncs them in its synchronous phase, which holds the task), one directory per state dir, removed by `down`."""

from stack import flink
from stack.state import Stack


def test_rocksdb_works_in_shared_memory_one_directory_per_stack_and_down_removes_it(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a, b = Stack(tmp_path / "a"), Stack(tmp_path / "b")
    dir_a = flink.rocksdb_local_dir(a)
    assert dir_a == flink.rocksdb_local_dir(Stack(tmp_path / "a"))
    assert dir_a != flink.rocksdb_local_dir(b)
    assert dir_a.parent == flink.SHARED_MEMORY  # this machine, like CI's, has /dev/shm
    (dir_a / "job_1_op_x").mkdir(parents=True)
    a.data.setdefault("components", {})
    flink.down(a)
    assert not dir_a.exists()


def test_without_shared_memory_it_stays_in_the_state_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(flink, "SHARED_MEMORY", tmp_path / "no-shm")
    stack = Stack(tmp_path)
    assert flink.rocksdb_local_dir(stack) == stack.path("flink", "rocksdb")
