#!/bin/sh
# install-deps.sh — installs the Debian packages Parley needs to build and test.
# Run as root it installs what is missing with apt-get; otherwise it prints the
# exact command to run.
set -e
PKGS="build-essential pkg-config clang libclang-rt-14-dev libuv1-dev libhttp-parser-dev \
libjansson-dev libsqlite3-dev libsodium-dev libcmocka-dev libwslay-dev cppcheck \
libmagic-dev libjpeg62-turbo-dev libpng-dev libwebp-dev"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
	echo "install-deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq $missing
else
	echo "install-deps: missing Debian packages. Run:"
	echo "  sudo apt-get install -y$missing"
	exit 1
fi
