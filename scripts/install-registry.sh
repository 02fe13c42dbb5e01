#!/usr/bin/env bash
# Installs the OCI registry the distribution tests run against: Debian's
# `docker-registry` (CNCF distribution 2.8), from the system's packages,
# when `docker-registry` is not already on PATH. The package's own service
# is not started (the tests start their own registries on loopback).
set -euo pipefail
if command -v docker-registry >/dev/null; then
  exit 0
fi
sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
echo "installing docker-registry (apt-get install docker-registry) …" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y docker-registry >/dev/null 2>&1 \
  || { $sudo apt-get update >/dev/null && $sudo apt-get install -y docker-registry >/dev/null; }
docker-registry --version >&2
