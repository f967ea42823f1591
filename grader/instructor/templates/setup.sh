#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder's image (Ubuntu): it installs Node.js
# @@NODE_VERSION@@ (the version the package was made with; the kit needs 20.19 or newer), the
# kit's dependencies, python3 (for submissions in Python), strace (lab 5's hidden phase checks
# the fsync behind every acknowledgement with it) and bubblewrap (the students' programs are
# sandboxed with it where the container allows user namespaces), and makes the unprivileged user
# the students' programs run as. Written by `npm run gradescope` for lab @@LAB@@.
set -euo pipefail

NODE_VERSION=@@NODE_VERSION@@
source_dir="${AUTOGRADER_ROOT:-/autograder}/source"

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends ca-certificates curl xz-utils python3 strace bubblewrap util-linux
id switchboard-grade-1 >/dev/null 2>&1 || useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin switchboard-grade-1

case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "setup.sh: no Node.js build for $(uname -m)" >&2; exit 1 ;;
esac

# The official build, checked against the release's published checksums.
tarball="node-v${NODE_VERSION}-linux-${arch}.tar.xz"
download=$(mktemp -d)
curl -fsSL --retry 3 -o "${download}/${tarball}" "https://nodejs.org/dist/v${NODE_VERSION}/${tarball}"
curl -fsSL --retry 3 -o "${download}/SHASUMS256.txt" "https://nodejs.org/dist/v${NODE_VERSION}/SHASUMS256.txt"
(cd "$download" && grep " ${tarball}\$" SHASUMS256.txt | sha256sum -c -)
tar -xJf "${download}/${tarball}" -C /usr/local --strip-components=1 --no-same-owner
rm -rf "$download"
node --version

# Exactly the versions in package-lock.json.
cd "$source_dir"
npm ci --no-audit --no-fund
