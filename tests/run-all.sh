#!/usr/bin/env bash
# Run every test of zuul-image, real components included, on a Debian 12
# machine as root. Installs the Debian packages the suite needs when they
# are missing, checks formatting and lints, starts a private dockerd for the
# run (its own data root, exec root, socket, pidfile and config file, so a
# system Docker is never touched), runs `cargo test -- --include-ignored`,
# and stops everything it started, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '==> %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
  echo "tests/run-all.sh installs packages and starts dockerd: run it as root" >&2
  exit 2
fi

packages=(docker.io docker-registry skopeo buildah podman busybox-static apache2-utils ca-certificates iproute2)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

say "cargo fmt --check"
cargo fmt --check
say "cargo clippy --all-targets -- -D warnings"
cargo clippy --quiet --all-targets -- -D warnings

work=$(mktemp -d /tmp/zuul-image-tests.XXXXXX)
dockerd_pid=
cleanup() {
  if [ -n "$dockerd_pid" ] && kill -0 "$dockerd_pid" 2>/dev/null; then
    kill "$dockerd_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$dockerd_pid" 2>/dev/null || true
  fi
  # Containers of the private daemon may leave mounts behind.
  grep -o " $work[^ ]*" /proc/mounts 2>/dev/null | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

say "starting a private dockerd in $work"
mkdir -p "$work/docker/data" "$work/docker/exec"
echo '{}' > "$work/docker/daemon.json"
dockerd \
  --data-root "$work/docker/data" \
  --exec-root "$work/docker/exec" \
  --pidfile "$work/docker/docker.pid" \
  -H "unix://$work/docker/docker.sock" \
  --config-file "$work/docker/daemon.json" \
  --bridge=none --iptables=false --ip6tables=false --storage-driver=vfs \
  >"$work/docker/dockerd.log" 2>&1 &
dockerd_pid=$!
for _ in $(seq 1 300); do
  DOCKER_HOST="unix://$work/docker/docker.sock" docker version >/dev/null 2>&1 && break
  kill -0 "$dockerd_pid" 2>/dev/null || { cat "$work/docker/dockerd.log" >&2; exit 1; }
  sleep 0.1
done
DOCKER_HOST="unix://$work/docker/docker.sock" docker version >/dev/null || {
  cat "$work/docker/dockerd.log" >&2
  exit 1
}

export ZUUL_IMAGE_TEST_DOCKER_HOST="unix://$work/docker/docker.sock"
export ZUUL_IMAGE_TEST_DOCKER_CONFIG="$work/docker/daemon.json"
export ZUUL_IMAGE_TEST_DOCKER_PIDFILE="$work/docker/docker.pid"

say "cargo test -- --include-ignored"
cargo test -- --include-ignored "$@"
