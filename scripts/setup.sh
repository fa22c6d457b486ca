#!/usr/bin/env bash
# Installs the Debian packages testbus needs to build, run and test.
# Idempotent: packages already present are skipped, and apt-get update runs
# only when something is missing. Run as root on Debian 12.
set -euo pipefail

build_packages=(
  build-essential cmake pkg-config git
  libnng-dev libmbedtls-dev
  libprotobuf-c-dev protobuf-c-compiler protobuf-compiler
  libcurl4-openssl-dev libyaml-dev libjson-c-dev libxml2-dev libxml2-utils
  libpcre2-dev
)
test_packages=(
  libcmocka-dev openssl python3 python3-protobuf python3-yaml
  python3-pytest python3-pytest-xdist bats
  golang-go ginkgo golang-github-onsi-ginkgo-dev golang-gomega-dev
  chromium iproute2 procps valgrind clang libclang-rt-14-dev
)

want=("${build_packages[@]}")
if [ "${1:-}" = "--test" ]; then
  want+=("${test_packages[@]}")
fi

missing=()
for pkg in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

echo "setup: installing ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
  sudo=sudo
else
  sudo=
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
