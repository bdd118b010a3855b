#!/usr/bin/env bash
# Fault 2: the Kafka broker is stopped and started again 10 s later; the producers retry without loss (idempotent
# producer, delivery timeout 120 s) and the job resumes (its Kafka sinks fail while the broker is away, the job
# restarts from its last checkpoint once it is back).
#
# By hand, on a running stack:
#   deploy/tickstream down --only kafka
#   sleep 10
#   deploy/tickstream up --only kafka      # same ports, same data; topics are kept
#
# Automated, with exact books (a 2000 ticks/s stream, fault at 12 s; takes ~3 minutes):
exec "$(dirname "$0")/_run_test.sh" kafka_broker
