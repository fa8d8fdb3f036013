#!/usr/bin/env bash
# Prepare what the real-Zuul test needs, cached under target/zuul/ so a
# second run takes seconds: Zuul 14.3.0's PyPI sdist (it ships Zuul's own
# test harness, tests/base.py, which the wheel does not), a venv on the
# SYSTEM python with Zuul's requirements and test requirements (bubblewrap
# exposes only system paths, so a venv on another interpreter cannot start
# ansible-playbook in the sandbox), the Ansible versions the executor runs
# (zuul-manage-ansible), the ZooKeeper TLS CA the harness expects in
# tools/ca, and an initialised MariaDB data directory to copy per run.
# The Debian packages (zookeeper, mariadb-server, bubblewrap,
# openssh-server, sudo, tini) come from tests/run-all.sh's package list.
set -euo pipefail
cd "$(dirname "$0")/../.."

say() { printf '==> %s\n' "$*" >&2; }

version=14.3.0
dir=$PWD/target/zuul
src=$dir/src
venv=$dir/venv
mkdir -p "$dir"

for program in java bwrap sshd mariadbd mariadb-install-db tini sudo; do
  command -v "$program" >/dev/null || [ -x "/usr/sbin/$program" ] || {
    echo "tests/zuul/setup.sh: \`$program\` is missing (tests/run-all.sh installs it)" >&2
    exit 2
  }
done
[ -f /usr/share/java/zookeeper.jar ] || {
  echo "tests/zuul/setup.sh: Debian's zookeeper is missing (tests/run-all.sh installs it)" >&2
  exit 2
}

if [ ! -f "$src/.done-$version" ]; then
  say "fetching the Zuul $version sdist"
  rm -rf "$src" "$dir/dl"
  /usr/bin/python3 -m pip download -q --no-deps --no-binary :all: -d "$dir/dl" "zuul==$version"
  tar -xzf "$dir/dl/zuul-$version.tar.gz" -C "$dir"
  mv "$dir/zuul-$version" "$src"
  touch "$src/.done-$version"
fi

# A marker says the venv was made, not that it still works here: a target/
# copied or moved from another checkout, or a system python that changed,
# leaves a venv whose scripts and editable install name other paths.
# tests/zuul/venv-ok.py checks; an unusable venv is made again.
if [ -f "$venv/.done-$version" ] && ! why=$(/usr/bin/python3 tests/zuul/venv-ok.py "$venv" "$src" 2>&1); then
  say "$venv is unusable here ($why): making it again"
  rm -rf "$venv"
fi
if [ ! -f "$venv/.done-$version" ]; then
  say "preparing $venv (Zuul's requirements and test requirements, on /usr/bin/python3)"
  rm -rf "$venv"
  /usr/bin/python3 -m venv "$venv"
  "$venv/bin/pip" install -q -U pip
  "$venv/bin/pip" install -q -r "$src/requirements.txt" -r "$src/test-requirements.txt"
  "$venv/bin/pip" install -q -e "$src"
  touch "$venv/.done-$version"
fi

# The executor's Ansible installs live in the venv (sys.exec_prefix/lib/zuul/ansible),
# venvs of their own, checked the same way.
if [ -f "$venv/.done-ansible" ] &&
  ! why=$(/usr/bin/python3 tests/zuul/venv-ok.py "$venv" "$src" "$venv/lib/zuul/ansible" 2>&1); then
  say "the executor's Ansible installs are unusable here ($why): installing them again"
  rm -rf "$venv/lib/zuul/ansible" "$venv/.done-ansible"
fi
if [ ! -f "$venv/.done-ansible" ]; then
  say "installing the executor's Ansible versions (zuul-manage-ansible; minutes the first time)"
  "$venv/bin/zuul-manage-ansible" >"$dir/manage-ansible.log" 2>&1 || {
    tail -20 "$dir/manage-ansible.log" >&2
    exit 1
  }
  touch "$venv/.done-ansible"
fi

# The harness reads ZooKeeper's CA and client keys from the sdist's tools/ca.
if [ ! -f "$src/tools/ca/keystores/localhost.pem" ]; then
  say "making the ZooKeeper TLS CA (tools/zk-ca.sh)"
  rm -rf "$src/tools/ca"
  mkdir -p "$src/tools/ca"
  (cd "$src/tools" && ./zk-ca.sh ca localhost) >"$dir/zk-ca.log" 2>&1 || {
    tail -20 "$dir/zk-ca.log" >&2
    exit 1
  }
fi

# Our test module, seen by Python as tests.zuul_image.* next to tests.base.
mkdir -p "$src/tests/zuul_image"
touch "$src/tests/zuul_image/__init__.py"
ln -sfn "$PWD/tests/zuul/test_roles_compat.py" "$src/tests/zuul_image/test_roles_compat.py"

if [ ! -f "$dir/mysql-template/.done" ]; then
  say "initialising a MariaDB data directory"
  rm -rf "$dir/mysql-template"
  mkdir -p "$dir/mysql-template"
  mariadb-install-db --no-defaults --user=root --datadir="$dir/mysql-template" \
    --auth-root-authentication-method=normal --skip-test-db >"$dir/mysql-install.log" 2>&1 || {
    tail -20 "$dir/mysql-install.log" >&2
    exit 1
  }
  touch "$dir/mysql-template/.done"
fi
