#!/bin/sh
# Install the Debian packages cove needs to build, run and test, only those missing.
# Safe to run again; runs apt-get only when something is missing.
set -eu

PACKAGES="
  build-essential meson ninja-build pkg-config clang libclang-rt-14-dev
  libmicrohttpd-dev libjansson-dev libsqlite3-dev libsodium-dev
  libcurl4-openssl-dev libmnl-dev uuid-dev libcmocka-dev libgnutls28-dev
  bats curl jq git sqlite3 nftables iproute2 procps psmisc
  util-linux netcat-openbsd socat python3 iputils-ping dnsutils bc
  chromium nodejs python3-venv python3-pip
  postgresql-client redis-tools
"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

# npm: NodeSource's nodejs carries its own (and conflicts with Debian's npm package).
command -v npm >/dev/null 2>&1 || missing="$missing npm"

[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
else
	SUDO=
fi
echo "cove: installing Debian packages:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq </dev/null
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing </dev/null
