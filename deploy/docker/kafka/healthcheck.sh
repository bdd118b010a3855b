#!/usr/bin/env bash
# Kafka health probe (docker-compose.yml): one ApiVersions request, the first request of every Kafka client,
# sent with bash's /dev/tcp; healthy when the broker answers it without an error, which it does once it serves
# requests. Milliseconds and no JVM (kafka-broker-api-versions.sh starts one, with the broker's heap settings,
# on every probe). Usage: healthcheck.sh [host:port], default 127.0.0.1:9092.
set -euo pipefail
target=${1:-127.0.0.1:9092}
exec 3<>"/dev/tcp/${target%:*}/${target##*:}"
# Request: size 12, api_key 18 (ApiVersions), api_version 0, correlation_id 0x54530001, client_id "hc".
printf '\x00\x00\x00\x0c\x00\x12\x00\x00\x54\x53\x00\x01\x00\x02hc' >&3
# Response: size (4 bytes), correlation_id (4), error_code (2).
reply=$(timeout 5 head -c 10 <&3 | od -An -tx1 | tr -d ' \n')
exec 3<&-
if [[ ${reply:8:12} != 545300010000 ]]; then
  echo "kafka at $target: no ApiVersions answer without error (got '${reply}')" >&2
  exit 1
fi
