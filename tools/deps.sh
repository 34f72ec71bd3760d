#!/usr/bin/env bash
# Install the Debian 12 packages mpstore needs (only those missing).
set -euo pipefail
pkgs=(build-essential cmake pkg-config libnng-dev libprotobuf-c-dev protobuf-c-compiler
      protobuf-compiler libprotobuf-dev libprotoc-dev libsqlite3-dev sqlite3 libcmocka-dev
      libuv1-dev libssl-dev libnanomsg-dev libedit-dev python3 openssl clang
      libclang-rt-14-dev python3-dev python3-pytest python3-venv libpython3.11-testsuite)
if [ "${MPSTORE_BENCH_DEPS:-0}" = 1 ]; then pkgs+=(redis-server redis-tools gnuplot-nox); fi
# one dpkg-query for all (tools/run.sh runs this at every start)
installed=$(dpkg-query -W -f='${Package} ${Status}\n' "${pkgs[@]}" 2>/dev/null | grep " install ok installed" || true)
missing=()
for p in "${pkgs[@]}"; do
  grep -q "^$p " <<<"$installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q "${missing[@]}"
fi
