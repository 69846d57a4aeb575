#!/usr/bin/env bash
# Checks that docker-compose.temporal.yml is a valid compose file: with `docker compose config`
# where a Docker client with the compose plugin exists, else with tools/compose-config (compose-go,
# the loader docker compose itself uses; built from Go modules). No Docker engine is needed.
set -euo pipefail
cd "$(dirname "$0")/.."
file=docker-compose.temporal.yml
if command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
  docker compose -f "$file" config --quiet
else
  (cd tools/compose-config && go run . "../../$file") >/dev/null
fi
echo "check-compose: $file is a valid compose file"
