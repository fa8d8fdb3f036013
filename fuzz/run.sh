#!/usr/bin/env bash
# Run every cargo-fuzz target of zuul-image (fuzz/fuzz_targets/) for a time
# budget each. A crash stops the run and leaves its input in
# fuzz/artifacts/<target>/: replay it with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run <target> fuzz/artifacts/<target>/<file>
# and turn it into a regression test in the normal suite before fixing it.
#
#   fuzz/run.sh                 # every target for 300 s, AddressSanitizer
#   fuzz/run.sh 3600            # every target for an hour
#   fuzz/run.sh 60 vars results # some targets only
#   fuzz/run.sh --smoke         # what CI runs (tests/run-all.sh): 2000 runs each, seed 1,
#                               # a debug build without a sanitizer
#
# The machine has a stable toolchain only: RUSTC_BOOTSTRAP=1 lets cargo-fuzz
# pass its nightly flags (-Zsanitizer, -Cpasses=sancov-module). cargo-fuzz
# is installed from crates.io when missing. Corpora stay in fuzz/corpus/
# (not committed), seeded from the repository's test fixtures.
set -euo pipefail
cd "$(dirname "$0")"
export RUSTC_BOOTSTRAP=1

seconds=300
# The long runs: an optimised build with AddressSanitizer. The smoke pass
# builds in debug mode without a sanitizer: from a clean fuzz/target the
# optimised ASan build of the crate and its ~290 dependencies takes 15+
# minutes on two cores, the debug one a few; five seconds of fuzzing need
# no speed. The two builds live side by side in fuzz/target/.
# cargo-fuzz's default build: optimised, with debug assertions and
# overflow checks (its `--release` would drop them, and rebuild everything).
sanitizer=address
profile=()
profile_dir=release
smoke=
if [ "${1:-}" = --smoke ]; then
  # The smoke pass is deterministic (a fixed seed and number of runs from
  # the committed seeds), so CI fails only on what a local run finds too;
  # the time cap only matters on a very slow machine.
  smoke=1
  seconds=60
  sanitizer=none
  profile=(--dev)
  profile_dir=debug
  shift
fi
if [[ "${1:-}" =~ ^[0-9]+$ ]]; then
  seconds=$1
  shift
fi

say() { printf '==> %s\n' "$*" >&2; }

if ! command -v cargo-fuzz >/dev/null; then
  say "installing cargo-fuzz from crates.io"
  cargo install --locked --quiet cargo-fuzz@0.13.2
fi

# Seeds: real files of each kind from the test fixtures.
seed() {  # target, find arguments
  local target=$1
  shift
  mkdir -p "corpus/$target"
  find ../tests/fixtures ../src "$@" -type f -size -64k 2>/dev/null | while read -r file; do
    cp "$file" "corpus/$target/seed-$(sha256sum "$file" | cut -c1-16)"
  done
}
seed daemon_json -name daemon.json
seed ensure_docker_json -name daemon.json
seed auth_json \( -name auth.json -o -name config.json \)
seed registries_conf -name registries.conf
seed buildkitd -name buildkitd.toml
seed hosts_toml \( -name hosts.toml -o -name config.toml \)
seed etc_hosts -name hosts
seed vars \( -name 'vars*.json' -o -name 'vars*.yaml' \)
seed results -name 'results*.json'
seed manifest \( -name 'index.json' -o -name '*manifest*.json' \)
mkdir -p corpus/reference corpus/server_path
printf 'quay.io/org/app:v1' > corpus/reference/seed-1
printf 'localhost:5000/a/b@sha256:%064d' 0 > corpus/reference/seed-2
printf 'org/app/blobs/uploads/0123456789abcdef0123456789abcdef' > corpus/server_path/seed-1
printf 'org/app/manifests/sha256%%3A%064d' 0 > corpus/server_path/seed-2

targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo fuzz list)

started=$SECONDS
say "building ${#targets[@]} targets (${profile[*]:-optimised}, sanitizer: $sanitizer)"
cargo fuzz build "${profile[@]}" -s "$sanitizer" >corpus/build.log 2>&1 || {
  tail -40 corpus/build.log >&2
  exit 1
}
say "built in $((SECONDS - started)) s"
for target in "${targets[@]}"; do
  if [ -n "$smoke" ]; then
    budget=(-seed=1 -runs=2000 -max_total_time="$seconds")
    say "fuzzing $target: 2000 runs, seed 1"
  else
    budget=(-max_total_time="$seconds")
    say "fuzzing $target for $seconds s"
  fi
  before=$(find "corpus/$target" -type f | wc -l)
  # The built binary itself: `cargo fuzz run` would check (and, after any
  # git command touched the index the build script watches, redo) the build.
  mkdir -p "artifacts/$target"
  if ! ASAN_OPTIONS=detect_odr_violation=0 "target/x86_64-unknown-linux-gnu/$profile_dir/$target" \
    "corpus/$target" -artifact_prefix="artifacts/$target/" \
    "${budget[@]}" -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
    -print_final_stats=1 >"corpus/$target.log" 2>&1; then
    tail -40 "corpus/$target.log" >&2
    say "$target crashed: its input is in fuzz/artifacts/$target/ (make it a regression test)"
    exit 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "corpus/$target.log" | tail -1)
  after=$(find "corpus/$target" -type f | wc -l)
  printf 'fuzz: %s: %s runs, no crash, corpus %s -> %s\n' "$target" "${runs:-?}" "$before" "$after"
done
say "fuzzed ${#targets[@]} targets in $((SECONDS - started)) s"
