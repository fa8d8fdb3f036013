#!/usr/bin/env bash
# Run the roles-compat jobs under a real Zuul 14.3.0 (scheduler, executor,
# merger, Ansible in bubblewrap, ZooKeeper over TLS, MariaDB), with Zuul's
# own test harness standing in for Gerrit and nodepool only. As root, after
# tests/zuul/setup.sh:
#
#   tests/zuul/run.sh [TEST]        TEST: a test name of test_roles_compat.py
#
# Everything runs in fresh network, mount and PID namespaces: nothing
# listens beyond this run's loopback, the node has no default route, and
# the node's /etc, /run, /tmp, /home, /var/log, /usr/local/bin and
# /usr/local/share/ca-certificates are private copies, so ensure-docker and
# use-buildset-registry change nothing on this machine. When the test ends,
# the namespace's init (tini) goes and the kernel ends every process in it.
# ZUUL_IMAGE_BIN names the binary (default target/debug/zuul-image);
# ZUUL_IMAGE_TEST_KEEP=1 keeps the work directory for a post-mortem.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
# The real path: bubblewrap binds the venv by the path Python reports.
zuul=$(realpath -m "$repo/target/zuul")

say() { printf '==> %s\n' "$*" >&2; }

if [ "${1:-}" != --inside ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "tests/zuul/run.sh starts servers in namespaces: run it as root" >&2
    exit 2
  fi
  [ -f "$zuul/venv/.done-ansible" ] || {
    echo "tests/zuul/run.sh: run tests/zuul/setup.sh first (tests/run-all.sh does)" >&2
    exit 2
  }
  bin=$(realpath "${ZUUL_IMAGE_BIN:-$repo/target/debug/zuul-image}")
  [ -x "$bin" ] || { echo "no zuul-image binary at \`$bin\`: cargo build" >&2; exit 2; }
  standin=$(realpath -m "${ZUUL_IMAGE_TEST_STANDIN:-$repo/target/debug/examples/web_api_standin}")
  [ -x "$standin" ] || {
    echo "no Docker Hub API stand-in at \`$standin\`: cargo build --example web_api_standin" >&2
    exit 2
  }
  # Not under a directory the namespace replaces (/tmp, /var/tmp, /home).
  work=$(mktemp -d "$zuul/run.XXXXXX")
  chmod 0755 "$work"
  status=0
  [ "${ZUUL_IMAGE_TEST_KEEP:-}" != 1 ] || export KEEP_TEMPDIRS=1
  unshare --net --mount --pid --fork --mount-proc --propagation private \
    tini -s -g -- "$0" --inside "$work" "$bin" "$standin" "$@" || status=$?
  if [ "${ZUUL_IMAGE_TEST_KEEP:-}" = 1 ]; then
    say "kept $work"
  else
    rm -rf "$work"
  fi
  exit "$status"
fi

# ---- inside the namespaces ----
work=$2
bin=$3
standin=$4
shift 4

ip link set lo up

# Private copies of what the jobs change on "the node".
mkdir -p "$work/root"
cp -a /etc "$work/root/etc"
mount --bind "$work/root/etc" /etc
for dir in tmp var-tmp home var-log run local-bin local-ca; do mkdir -p "$work/root/$dir"; done
chmod 1777 "$work/root/tmp" "$work/root/var-tmp"
mount --bind "$work/root/tmp" /tmp
mount --bind "$work/root/var-tmp" /var/tmp
mount --bind "$work/root/home" /home
mount --bind "$work/root/var-log" /var/log
mount -t tmpfs -o mode=0755 tmpfs /run
cp -a /usr/local/bin/. "$work/root/local-bin/"
mount --bind "$work/root/local-bin" /usr/local/bin
mount --bind "$work/root/local-ca" /usr/local/share/ca-certificates
mkdir -p /run/sshd /run/mysqld /run/lock
chmod 0755 /run/sshd

# The binary where bubblewrap sees it (the executor's sandbox exposes /usr).
install -m 0755 "$bin" /usr/local/bin/zuul-image
# On the node, jobs run it through this wrapper: it keeps a copy of every
# vars file it is handed (and its mode), so the test can check what each
# command got and that the intermediate registry's password never reached
# the node.
install -d -m 1733 /var/tmp/zuul-image-audit
cat > /usr/local/bin/zuul-image-audit <<'SH'
#!/bin/sh
# Test-only: record the vars files handed to zuul-image, then run it.
prev=
for arg in "$@"; do
  if [ "$prev" = --vars ]; then
    copy=$(mktemp /var/tmp/zuul-image-audit/vars.XXXXXX)
    { printf '%s\n' "$(stat -c '%a %U' "$arg") $arg $1"; cat "$arg"; } > "$copy"
  fi
  prev=$arg
done
exec /usr/local/bin/zuul-image "$@"
SH
chmod 0755 /usr/local/bin/zuul-image-audit

# The node's user: not root, passwordless sudo for `become`.
useradd --create-home --shell /bin/bash zuul
usermod -p '*' zuul
echo 'zuul ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/zuul
chmod 0440 /etc/sudoers.d/zuul
install -d -m 0700 -o zuul -g zuul /home/zuul/.ssh
install -m 0600 -o zuul -g zuul "$zuul/src/tests/fixtures/test_id_rsa.pub" /home/zuul/.ssh/authorized_keys

# sshd on 127.0.0.1:22 with its own config and host key.
mkdir -p "$work/sshd"
ssh-keygen -q -t ed25519 -N '' -f "$work/sshd/host_ed25519"
cat > "$work/sshd/sshd_config" <<EOF
ListenAddress 127.0.0.1
Port 22
HostKey $work/sshd/host_ed25519
PidFile $work/sshd/sshd.pid
PermitRootLogin no
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
AllowUsers zuul
MaxSessions 50
MaxStartups 50
Subsystem sftp internal-sftp
EOF
/usr/sbin/sshd -f "$work/sshd/sshd_config" -E "$work/sshd/sshd.log"

# dockerd: ensure-docker starts it (no systemd here); these settings let it
# run in this namespace (no bridge, no iptables, vfs, data under $work).
mkdir -p /etc/docker "$work/docker"
cat > /etc/docker/daemon.json <<EOF
{
  "data-root": "$work/docker",
  "storage-driver": "vfs",
  "bridge": "none",
  "iptables": false,
  "ip6tables": false
}
EOF

# ZooKeeper with TLS on 2281, as the harness expects.
ca=$zuul/src/tools/ca
mkdir -p "$work/zk/data"
cat > "$work/zk/zoo.cfg" <<EOF
dataDir=$work/zk/data
tickTime=2000
initLimit=5
syncLimit=2
maxClientCnxns=1000
standaloneEnabled=true
admin.enableServer=false
serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory
secureClientPort=2281
ssl.keyStore.location=$ca/keystores/localhost.pem
ssl.trustStore.location=$ca/certs/cacert.pem
4lw.commands.whitelist=*
EOF
java -Dzookeeper.log.dir="$work/zk" -Dlog4j.configuration=file:/etc/zookeeper/conf/log4j.properties \
  -cp /etc/zookeeper/conf:/usr/share/java/zookeeper.jar:/usr/share/java/netty-codec.jar:/usr/share/java/netty-resolver.jar:/usr/share/java/netty-transport-native-unix-common.jar \
  org.apache.zookeeper.server.quorum.QuorumPeerMain "$work/zk/zoo.cfg" >"$work/zk/zk.log" 2>&1 &

# MariaDB with the harness's user and database.
cp -a "$zuul/mysql-template" "$work/mysql"
mariadbd --no-defaults --user=root --datadir="$work/mysql" --socket=/run/mysqld/mysqld.sock \
  --bind-address=127.0.0.1 --port=3306 --skip-log-bin --innodb-buffer-pool-size=64M \
  >"$work/mysql.log" 2>&1 &

wait_for() { # wait_for WHAT COMMAND...
  local what=$1
  shift
  for _ in $(seq 1 300); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "tests/zuul/run.sh: $what did not come up" >&2
  tail -20 "$work/zk/zk.log" "$work/mysql.log" "$work/sshd/sshd.log" >&2 || true
  exit 1
}
wait_for mariadb mariadb --socket=/run/mysqld/mysqld.sock -uroot -e 'select 1'
mariadb --socket=/run/mysqld/mysqld.sock -uroot <<'SQL'
DELETE FROM mysql.user WHERE User='';
CREATE USER 'openstack_citest'@'%' IDENTIFIED BY 'openstack_citest';
GRANT ALL PRIVILEGES ON *.* TO 'openstack_citest'@'%' WITH GRANT OPTION;
CREATE DATABASE openstack_citest CHARACTER SET utf8;
FLUSH PRIVILEGES;
SQL
wait_for zookeeper bash -c 'exec 3<>/dev/tcp/127.0.0.1/2281'
wait_for sshd bash -c 'exec 3<>/dev/tcp/127.0.0.1/22'

# A distribution registry with TLS and htpasswd (user `zuul`) on
# 127.0.0.1:PORT, its data under $work/NAME. Its CA goes into the
# (private) system trust, as a site's real certificate would be trusted;
# the password only into a 0600 file the test reads.
start_registry() { # start_registry NAME PORT
  local name=$1 port=$2 reg=$work/$1
  mkdir -p "$reg"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$name-ca" \
    -addext basicConstraints=critical,CA:TRUE -keyout "$reg/ca.key" -out "$reg/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$reg/server.key" -out "$reg/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > "$reg/ext"
  openssl x509 -req -in "$reg/server.csr" -CA "$reg/ca.pem" -CAkey "$reg/ca.key" -CAcreateserial \
    -days 2 -extfile "$reg/ext" -out "$reg/server.pem" 2>/dev/null
  cp "$reg/ca.pem" "/usr/local/share/ca-certificates/zuul-real-$name.crt"
  (umask 077 && head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$reg/password")
  htpasswd -niB zuul < "$reg/password" > "$reg/htpasswd" 2>/dev/null
  cat > "$reg/config.yml" <<EOF
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $reg/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
  secret: $(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
  tls:
    certificate: $reg/server.pem
    key: $reg/server.key
auth:
  htpasswd:
    realm: $name
    path: $reg/htpasswd
EOF
  docker-registry serve "$reg/config.yml" >"$reg/registry.log" 2>&1 &
  wait_for "the $name registry" bash -c "exec 3<>/dev/tcp/127.0.0.1/$port"
}

# The site's intermediate registry, and the final registry that plays
# Docker Hub: Hub's web API for its tags (login, list, delete) is the test
# support's stand-in (examples/web_api_standin.rs) on 127.0.0.1:5445,
# working on that registry's storage.
start_registry intermediate 5443
start_registry final 5444
update-ca-certificates >/dev/null 2>&1
"$standin" --listen 127.0.0.1:5445 --storage "$work/final/storage" --username zuul \
  --password-file "$work/final/password" >"$work/final/hub-api.log" 2>&1 &
wait_for "the Docker Hub API stand-in" bash -c 'exec 3<>/dev/tcp/127.0.0.1/5445'

# podman and buildah on the node (rootless, as the job's user) keep their
# images on vfs, which works in this namespace.
mkdir -p /etc/containers
printf '[storage]\ndriver = "vfs"\n' > /etc/containers/storage.conf

say "servers up; running the Zuul test"
export ZUUL_ZK_HOST=127.0.0.1:2281 ZUUL_MYSQL_HOST=127.0.0.1 ZUUL_REMOTE_IPV4=127.0.0.1
export ZUUL_REMOTE_USER=zuul ZUUL_ANSIBLE_PYTHON=/usr/bin/python3
unset ZUUL_TEST_ROOT
export ZUUL_IMAGE_TEST_REPO=$repo
export ZUUL_IMAGE_TEST_INTERMEDIATE="127.0.0.1:5443"
export ZUUL_IMAGE_TEST_INTERMEDIATE_PASSWORD_FILE=$work/intermediate/password
export ZUUL_IMAGE_TEST_INTERMEDIATE_CA=$work/intermediate/ca.pem
export ZUUL_IMAGE_TEST_FINAL="127.0.0.1:5444"
export ZUUL_IMAGE_TEST_FINAL_PASSWORD_FILE=$work/final/password
export ZUUL_IMAGE_TEST_FINAL_CA=$work/final/ca.pem
export ZUUL_IMAGE_TEST_WORK=$work
export OS_LOG_CAPTURE=1 OS_STDOUT_CAPTURE=1 OS_STDERR_CAPTURE=1
cd "$zuul/src"
tests=tests.zuul_image.test_roles_compat
if [ $# -gt 0 ]; then
  tests=$(printf "$tests.RolesCompatUnderZuul.%s " "$@")
fi
# shellcheck disable=SC2086
"$zuul/venv/bin/python" -m testtools.run $tests
