#!/usr/bin/env bash
# Installs the Go toolchain the Go client example is built with (Debian's
# `golang-go`, from the system's packages) when `go` is not already on PATH.
set -euo pipefail
if command -v go >/dev/null; then
  exit 0
fi
sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
echo "installing Go (apt-get install golang-go) …" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y --no-install-recommends golang-go >/dev/null 2>&1 \
  || { $sudo apt-get update >/dev/null && $sudo apt-get install -y --no-install-recommends golang-go >/dev/null; }
go version >&2
