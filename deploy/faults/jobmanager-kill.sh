#!/usr/bin/env bash
# Fault 4: the JobManager is killed with SIGKILL; a new one is started and the job is resubmitted from its newest
# retained checkpoint.
#
# Recovery procedure (the local stack has no JobManager HA, so the job dies with its JobManager):
#   deploy/tickstream up --only flink      # a new JobManager on the same ports; the surviving TaskManager
#                                          # registers with it again
#   deploy/tickstream up --only job        # no job runs: `flink run -s <newest restore point>`, the newest of the
#                                          # last savepoint and <state>/flink/checkpoints/*/chk-*/_metadata
#                                          # (checkpoints are retained: RETAIN_ON_CANCELLATION, 3 kept)
#   (or simply `deploy/tickstream up`, which does both)
# By hand, to cause it:
#   kill -9 "$(python3 -c 'import json,os; print(json.load(open(os.environ.get("TICKSTREAM_HOME", ".stack") + "/stack.json"))["components"]["flink-jobmanager"]["pid"])')"
# Rows written after the checkpoint are written again (idempotent); the new job's Kafka sinks abort the
# transactions the old one left open, so read_committed readers see each alert once.
#
# Automated, with exact books (a 2000 ticks/s stream, fault at 12 s; takes ~3 minutes):
exec "$(dirname "$0")/_run_test.sh" jobmanager_killed
