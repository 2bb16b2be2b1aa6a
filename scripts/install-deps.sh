#!/usr/bin/env bash
# Install Berth's build, runtime and test dependencies from Debian's packages.
# Idempotent: packages already present are skipped by apt-get.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

build_pkgs=(build-essential meson ninja-build pkg-config clang-format
  libjansson-dev libsqlite3-dev libarchive-dev libcurl4-openssl-dev libssl-dev
  zlib1g-dev libzstd-dev libhttp-parser-dev libnl-route-3-dev libcap-dev
  libseccomp-dev liblzma-dev libbz2-dev
  libbtrfs-dev # btrfs/version.h: the btrfs driver's Build/Library Version (as docker)
  musl-tools) # musl-gcc: berth-shim-lean, the static shim of file-logging containers
# make fuzz / scripts/fuzz.sh: clang with libFuzzer (compiler-rt), llvm-symbolizer
fuzz_pkgs=(clang libclang-rt-dev llvm)
run_pkgs=(runc crun busybox-static tini catatonit iptables iproute2 tar)
test_pkgs=(bats jq tmux python3-docker docker.io docker-registry skopeo openssl curl hyperfine btrfs-progs xfsprogs docker-compose apache2-utils python3-cryptography python3-botocore apparmor)

missing=()
for p in "${build_pkgs[@]}" "${fuzz_pkgs[@]}" "${run_pkgs[@]}" "${test_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi

# Never let package scripts start daemons (dockerd, containerd, registry) on
# this host: tests start their own on private sockets and ports.
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  made_policy=1
fi
trap '[ $made_policy = 1 ] && rm -f "$policy"' EXIT

stamp=/var/lib/apt/periodic/berth-update-stamp
if [ ! -e "$stamp" ] || [ -n "$(find "$stamp" -mmin +360 2>/dev/null)" ] || ! apt-cache show "${missing[0]}" >/dev/null 2>&1; then
  apt-get update -qq
  mkdir -p "$(dirname "$stamp")" && touch "$stamp"
fi
echo "install-deps: installing ${missing[*]}"
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
