#!/usr/bin/env bash
# job-submit (docker-compose.yml): submits job.jar to the session cluster with `flink run -d`, as
# deploy/stack/job.py does natively. The arguments are the job's parameters (--kafka-bootstrap ...).
# Idempotent: when a job named tickstream is already running it does nothing. TICKSTREAM_RESTORE_FROM=<savepoint
# or retained checkpoint path> resumes from that state (`flink run -s`), which is how an upgrade finishes.
set -euo pipefail

JAR=/opt/flink/usrlib/job.jar
if [[ ! -s "$JAR" ]]; then
  echo "job-submit: $JAR is missing: build it with ./mvnw -pl job package -DskipTests, then rerun" >&2
  exit 1
fi
: "${TICKSTREAM_JDBC_PASSWORD:?job-submit: set TICKSTREAM_JDBC_PASSWORD (the job reads it in main())}"

for _ in $(seq 1 60); do
  if running=$(flink list -r 2>/dev/null); then break; fi
  echo "job-submit: waiting for the JobManager REST API ..."
  sleep 2
done
if grep -q ' : tickstream (' <<<"${running:-}"; then
  echo "job-submit: tickstream is already running; nothing to do"
  grep ' : tickstream (' <<<"$running"
  exit 0
fi

restore=()
if [[ -n "${TICKSTREAM_RESTORE_FROM:-}" ]]; then
  restore=(-s "$TICKSTREAM_RESTORE_FROM")
  echo "job-submit: restoring from $TICKSTREAM_RESTORE_FROM"
fi
echo "job-submit: flink run -d ${restore[*]} $JAR $*"
exec flink run -d "${restore[@]}" "$JAR" "$@"
