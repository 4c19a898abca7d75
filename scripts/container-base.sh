#!/usr/bin/env bash
# Assembles, with buildah, the base image the Dockerfile names in its FROM lines
# (node:24-bookworm-slim) from parts that can be had without a registry that serves images:
#
#   - a minimal Debian bookworm root (debootstrap --variant=minbase) from the machine's own apt
#     mirror (/etc/apt/sources.list.d/*.sources or /etc/apt/sources.list);
#   - the official Node.js build of .node-version (the npm registry's node-linux-<arch> package:
#     the binary and its C++ headers) under /usr/local, as the official image has it;
#   - npm itself (`npm pack npm@<version>`, the version of the npm running this script unless
#     GL_NPM_VERSION says otherwise): the Node package ships none;
#   - the `node` user and group, uid/gid 1000, as in the official image;
#   - the host's extra CA certificates (/usr/local/share/ca-certificates/*.crt) with
#     NODE_EXTRA_CA_CERTS pointing at them, so npm inside the build trusts what the host's npm
#     trusts (a TLS-inspecting egress proxy). This is a property of this stand-in base only: the
#     Dockerfile sets nothing of the kind, and a real `docker build` uses the official image.
#
# The result is committed under the exact name of the FROM line (docker.io/library/node:…), with
# a label naming what it holds. A later run finds it by that label and reuses it, so a second CI
# run on the same machine skips all of this; GL_BASE_REBUILD=1 forces a rebuild.
#
# Root only (buildah with the vfs storage driver and chroot isolation: no daemon, no overlay, no
# user namespaces). Usage: bash scripts/container-base.sh   → prints the image name on stdout.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
say() { printf '[container-base] %s\n' "$*" >&2; }
B() { buildah --storage-driver vfs "$@"; }

NODE_VERSION="$(tr -d ' \n\r' <"$ROOT/.node-version")"
NPM_VERSION="${GL_NPM_VERSION:-$(npm -v)}"
case "$(uname -m)" in
  x86_64 | amd64) ARCH=x64 ;;
  aarch64 | arm64) ARCH=arm64 ;;
  *) say "no official Node build for $(uname -m)"; exit 1 ;;
esac
# The FROM name, fully qualified as buildah resolves a short Docker Hub name.
FROM="$(awk '/^FROM /{print $2; exit}' "$ROOT/Dockerfile")"
case "$FROM" in
  */*/*) NAME="$FROM" ;;
  */*) NAME="docker.io/$FROM" ;;
  *) NAME="docker.io/library/$FROM" ;;
esac
CERTS=(/usr/local/share/ca-certificates/*.crt)
[[ -e "${CERTS[0]}" ]] || CERTS=()
CERTS_SUM="$( ((${#CERTS[@]})) && cat "${CERTS[@]}" | sha256sum | cut -c1-12 || echo none)"
WANT="node-$NODE_VERSION-linux-$ARCH npm-$NPM_VERSION bookworm-minbase certs-$CERTS_SUM"

have="$(B inspect --type image --format '{{index .Docker.Config.Labels "org.gradient-lab.base"}}' "$NAME" 2>/dev/null || true)"
if [[ "${GL_BASE_REBUILD:-0}" != "1" && "$have" == "$WANT" ]]; then
  say "reusing $NAME ($WANT)"
  echo "$NAME"
  exit 0
fi
say "assembling $NAME ($WANT)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/gl-base.XXXXXX")"
CTR=""
cleanup() {
  if [[ -n "$CTR" ]]; then B rm "$CTR" >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
DIR="$WORK/rootfs"

# The machine's Debian mirror: the first URIs/deb line that serves bookworm.
MIRROR="${GL_DEBIAN_MIRROR:-}"
if [[ -z "$MIRROR" ]]; then
  MIRROR="$(awk '/^URIs:/{u=$2} /^Suites:.*\<bookworm\>/{if (u) {print u; exit}}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)"
fi
if [[ -z "$MIRROR" ]]; then
  MIRROR="$(awk '$1=="deb" && $3=="bookworm"{print $2; exit}' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true)"
fi
MIRROR="${MIRROR:-http://deb.debian.org/debian}"

t0=$(date +%s)
say "debootstrap --variant=minbase bookworm from $MIRROR"
debootstrap --variant=minbase bookworm "$DIR" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 || {
  tail -n 30 "$WORK/debootstrap.log" >&2
  say "debootstrap failed"
  exit 1
}
# As slim as the official image: no package lists or downloaded archives, no docs.
rm -rf "$DIR"/var/lib/apt/lists/* "$DIR"/var/cache/apt/archives/*.deb "$DIR"/usr/share/doc/* "$DIR"/usr/share/man/*
t1=$(date +%s)
say "  debootstrap: $((t1 - t0)) s"

say "Node.js $NODE_VERSION (node-linux-$ARCH) and npm $NPM_VERSION from the npm registry"
(cd "$WORK" && npm pack --silent "node-linux-$ARCH@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
mkdir -p "$DIR/usr/local/lib/node_modules/npm"
tar -xzf "$WORK"/node-linux-"$ARCH"-*.tgz -C "$DIR/usr/local" --strip-components=1 \
  --exclude=package/package.json --exclude=package/README.md --exclude=package/CHANGELOG.md --exclude=package/LICENSE
tar -xzf "$WORK"/npm-"$NPM_VERSION".tgz -C "$DIR/usr/local/lib/node_modules/npm" --strip-components=1
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$DIR/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$DIR/usr/local/bin/npx"
[[ -x "$DIR/usr/local/bin/node" && -f "$DIR/usr/local/include/node/node.h" ]] || { say "the Node package did not unpack as expected"; exit 1; }

# The official image's unprivileged user.
chroot "$DIR" groupadd --gid 1000 node
chroot "$DIR" useradd --uid 1000 --gid node --shell /bin/bash --create-home node

ENV_CERTS=()
if ((${#CERTS[@]})); then
  mkdir -p "$DIR/usr/local/share/ca-certificates"
  cat "${CERTS[@]}" >"$DIR/usr/local/share/ca-certificates/host-extra.pem"
  ENV_CERTS=(--env NODE_EXTRA_CA_CERTS=/usr/local/share/ca-certificates/host-extra.pem)
fi
chroot "$DIR" /usr/local/bin/node -e 'process.exit(process.versions.node === process.argv[1] ? 0 : 1)' "$NODE_VERSION"
chroot "$DIR" /usr/local/bin/npm -v >/dev/null
t2=$(date +%s)
say "  node, npm, user: $((t2 - t1)) s"

CTR="$(B from scratch)"
MNT="$(B mount "$CTR")"
tar -C "$DIR" -cf - . | tar -C "$MNT" -xf -
B umount "$CTR" >/dev/null
B config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --env NODE_VERSION="$NODE_VERSION" "${ENV_CERTS[@]}" \
  --label org.gradient-lab.base="$WANT" --cmd node "$CTR"
B commit --quiet --format docker --rm "$CTR" "$NAME" >/dev/null
CTR=""
t3=$(date +%s)
say "  commit: $((t3 - t2)) s; $NAME assembled in $((t3 - t0)) s"
echo "$NAME"
