#!/bin/sh
# Install the Debian packages cove needs to build, run and test, only those missing.
# Safe to run again; runs apt-get only when something is missing.
set -eu

PACKAGES="
  build-essential meson ninja-build pkg-config clang libclang-rt-14-dev
  libmicrohttpd-dev libjansson-dev libsqlite3-dev libsodium-dev
  libcurl4-openssl-dev libmnl-dev uuid-dev libcmocka-dev libgnutls28-dev liburing-dev
  bats curl jq git sqlite3 nftables iproute2 procps psmisc
  util-linux netcat-openbsd socat python3 iputils-ping dnsutils bc
  chromium nodejs python3-venv python3-pip
  postgresql redis-server redis-tools postgresql-client
"

# The data services' servers (add-ons, docs/addons.md) run only as cove starts them: the
# Debian packages' own cluster and service must never run beside them.
quiet_data_services() {
	if command -v pg_lsclusters >/dev/null 2>&1; then
		pg_lsclusters -h 2>/dev/null | while read -r ver name _; do
			$SUDO pg_ctlcluster "$ver" "$name" stop >/dev/null 2>&1 || true
			[ -f "/etc/postgresql/$ver/$name/start.conf" ] &&
				echo disabled | $SUDO tee "/etc/postgresql/$ver/$name/start.conf" >/dev/null
		done
	fi
	if [ -x /etc/init.d/redis-server ]; then
		$SUDO /etc/init.d/redis-server stop >/dev/null 2>&1 || true
		$SUDO update-rc.d redis-server disable >/dev/null 2>&1 || true
	fi
	if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
		$SUDO systemctl disable --now postgresql redis-server >/dev/null 2>&1 || true
	fi
}

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

# npm: NodeSource's nodejs carries its own (and conflicts with Debian's npm package).
command -v npm >/dev/null 2>&1 || missing="$missing npm"

if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
else
	SUDO=
fi

if [ -z "$missing" ]; then
	quiet_data_services
	exit 0
fi
echo "cove: installing Debian packages:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq </dev/null
# No service a package installs may start (policy-rc.d: 101 is "action forbidden").
policy_added=
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
	$SUDO chmod 755 /usr/sbin/policy-rc.d
	policy_added=1
fi
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing </dev/null
[ -n "$policy_added" ] && $SUDO rm -f /usr/sbin/policy-rc.d
quiet_data_services
