#!/usr/bin/env bash
# The long run of the reliability suite (issue 12): the same tests that
# tests/run-all.sh runs as a short pass in CI, scaled up through
# ZUUL_IMAGE_SOAK_* variables, in a release build, one test at a time so
# the figures are not disturbed by each other. Run as root on a machine
# with the suite's Debian packages (tests/run-all.sh installs them).
#
#   tests/soak/run.sh                   # defaults below, ~15 min on 2 cores
#   KILLS=200 COPIES=100 LOAD_SECONDS=600 tests/soak/run.sh
#   tests/soak/run.sh reliability::kills   # one part only
#
# Figures are printed on `reliability:` lines and collected in
# target/reliability-soak.log (docs/reliability.md quotes them).
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ "$(id -u)" -ne 0 ]; then
  echo "tests/soak/run.sh mounts a tmpfs: run it as root" >&2
  exit 2
fi

export ZUUL_IMAGE_SOAK_KILLS=${KILLS:-60}
export ZUUL_IMAGE_SOAK_SUPERVISED_KILLS=${SUPERVISED_KILLS:-20}
export ZUUL_IMAGE_SOAK_COPIES=${COPIES:-45}
export ZUUL_IMAGE_SOAK_LOAD_SECONDS=${LOAD_SECONDS:-60}
export ZUUL_IMAGE_SOAK_SLOW_CONNECTIONS=${SLOW_CONNECTIONS:-1000}
[ -z "${SEED:-}" ] || export ZUUL_IMAGE_SOAK_SEED=$SEED
export ZUUL_IMAGE_RELIABILITY_LOG=${LOG:-$PWD/target/reliability-soak.log}
: > "$ZUUL_IMAGE_RELIABILITY_LOG"

echo "==> cargo test --release reliability (kills $ZUUL_IMAGE_SOAK_KILLS, copies $ZUUL_IMAGE_SOAK_COPIES, load ${ZUUL_IMAGE_SOAK_LOAD_SECONDS}s)" >&2
cargo test --release --test main -- --include-ignored --test-threads=1 --nocapture "${@:-reliability::}"
echo "==> figures in $ZUUL_IMAGE_RELIABILITY_LOG" >&2
cat "$ZUUL_IMAGE_RELIABILITY_LOG"
