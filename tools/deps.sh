#!/usr/bin/env bash
# Install the Debian 12 packages mpstore needs (only those missing).
set -euo pipefail
pkgs=(build-essential cmake pkg-config libnng-dev libprotobuf-c-dev protobuf-c-compiler
      protobuf-compiler libprotobuf-dev libprotoc-dev libsqlite3-dev sqlite3 libcmocka-dev
      python3 openssl clang libclang-rt-14-dev)
if [ "${MPSTORE_BENCH_DEPS:-0}" = 1 ]; then pkgs+=(redis-server redis-tools gnuplot-nox); fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q "${missing[@]}"
fi
