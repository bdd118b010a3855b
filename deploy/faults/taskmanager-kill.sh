#!/usr/bin/env bash
# Fault 1: the TaskManager is killed with SIGKILL mid-stream; the job restarts from its last checkpoint.
#
# By hand, on a running stack (state dir $TICKSTREAM_HOME, default .stack):
#   kill -9 "$(python3 -c 'import json,os; print(json.load(open(os.environ.get("TICKSTREAM_HOME", ".stack") + "/stack.json"))["components"]["flink-taskmanager"]["pid"])')"
#   deploy/tickstream up --only flink      # starts a new TaskManager; the job (restarting) gets its slots back
#   deploy/tickstream status               # job: running; rows keep coming
# The JobManager notices the lost TaskManager, restarts the job (exponential delay from 1 s) from the last
# completed checkpoint: Kafka offsets, detector and candle state; rows written since are written again (the
# writes are idempotent), alerts of uncommitted Kafka transactions are aborted.
#
# Automated, with exact books (a 2000 ticks/s stream, fault at 12 s; takes ~3 minutes):
exec "$(dirname "$0")/_run_test.sh" taskmanager_killed
