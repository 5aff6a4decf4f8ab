#!/usr/bin/env bash
# Validates the compose files without a container engine: Debian's
# docker-compose (v1) parses them, resolves them and checks them against its
# schema (`config -q`); the Compose v2 plugin does the same when present.
# Installs docker-compose with apt-get when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

files=(docker-compose.yml deploy/gateway/docker-compose.yml)

if ! command -v docker-compose >/dev/null 2>&1; then
    echo "docker-compose not found: installing Debian's package"
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq docker-compose >/dev/null
fi
echo "docker-compose $(docker-compose version --short)"

for f in "${files[@]}"; do
    docker-compose -f "$f" config -q
    echo "ok (docker-compose v1): $f"
    if docker compose version >/dev/null 2>&1; then
        docker compose -f "$f" config -q
        echo "ok (docker compose v2): $f"
    fi
done
