#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Installs the npm packages of the CRI test client (tools/cni/cri/package.json:
# @grpc/grpc-js and @grpc/proto-loader, pinned by package-lock.json) into
# BUILD_DIR/cri, once: nothing is
# fetched again while the lock file is unchanged, and the npm cache lives in
# BUILD_DIR/npm-cache, so a second run works offline.
#   tools/cni/cri/setup.sh BUILD_DIR
set -eu

SRC=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:?usage: $0 BUILD_DIR}
DEST=$BUILD/cri

command -v npm >/dev/null 2>&1 || { echo "setup.sh: npm (Node.js) is missing" >&2; exit 3; }
mkdir -p "$DEST"
if [ -d "$DEST/node_modules" ] && cmp -s "$SRC/package-lock.json" "$DEST/package-lock.json"; then
	exit 0
fi
cp "$SRC/package.json" "$SRC/package-lock.json" "$DEST/"
rm -rf "$DEST/node_modules"
cd "$DEST"
npm ci --cache "$BUILD/npm-cache" --prefer-offline --no-audit --no-fund --loglevel=error >/dev/null
