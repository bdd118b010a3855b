"""`up` runs the job built from the sources in the clone: a jar older than any of them is rebuilt, never reused."""

import os
import time

from stack import job


def test_a_missing_jar_is_built(tmp_path):
    assert job.jar_is_stale(tmp_path / "job.jar") == "building job/target/job.jar (once)"


def test_a_jar_older_than_a_source_file_is_rebuilt_and_the_reason_names_one(tmp_path):
    jar = tmp_path / "job.jar"
    jar.write_bytes(b"")
    an_hour_before_the_oldest_source = min(f.stat().st_mtime for f in job._jar_sources()) - 3600
    os.utime(jar, (an_hour_before_the_oldest_source, an_hour_before_the_oldest_source))
    reason = job.jar_is_stale(jar)
    assert reason is not None and reason.startswith("rebuilding job/target/job.jar")
    assert "job/src/main/" in reason or "pom.xml" in reason


def test_a_jar_newer_than_every_source_file_is_reused(tmp_path):
    jar = tmp_path / "job.jar"
    jar.write_bytes(b"")
    later = time.time() + 3600
    os.utime(jar, (later, later))
    assert job.jar_is_stale(jar) is None
