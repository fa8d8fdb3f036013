#!/usr/bin/env bash
# Image benchmark: zuul-image's image commands against doing the same by
# hand, on a private dockerd (started by `zuul-image ensure-docker --root`,
# vfs storage, nothing shared with a system Docker) and the embedded
# buildset registry. One function per scenario, `scenario_<name>`; each
# appends one row to the table printed at the end.
#
#   bench/images.sh [--scenarios build,upload,promote] [--size-mib N] [--runs 1]
#
# With --runs N every timing is taken N times and the table shows medians
# (min-max), the ratio taken per run.
#
# Scenarios:
#   build   `build-image` (build + tag + push every tag to the buildset
#           registry) against `docker build` + `docker tag` + `docker push`
#           of the same tags, for the same FROM-scratch context (static
#           busybox + SIZE_MIB of random bytes). Both start cold: no local
#           images and an empty buildset registry.
#
#   upload, promote  run by bench/publish.sh (no dockerd needed; see its
#           header): upload-image of a two-platform index against
#           `skopeo copy --all`, promote-image against `skopeo copy` of the
#           manifest, with the blob requests each makes. Its default size
#           is 256 MiB; --size-mib is passed on when given.
#
# Needs: root, a release build (`cargo build --release`), docker.io,
# busybox-static, python3. Credentials live only in files under $BENCH_DIR
# (0600), never on a command line.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE_MIB=64
SIZE_GIVEN=
RUNS=1
SCENARIOS=build,upload,promote
while [ $# -gt 0 ]; do
    case $1 in
        --size-mib) SIZE_MIB=$2; SIZE_GIVEN=1; shift 2 ;;
        --runs) RUNS=$2; shift 2 ;;
        --scenarios) SCENARIOS=$2; shift 2 ;;
        *) echo "usage: $0 [--scenarios build,upload,promote] [--size-mib N] [--runs N]" >&2; exit 2 ;;
    esac
done

BIN=${ZUUL_IMAGE:-target/release/zuul-image}
[ -x "$BIN" ] || { echo "build first: cargo build --release" >&2; exit 2; }
BIN=$(realpath "$BIN")
[ "$(id -u)" -eq 0 ] || { echo "$0 starts a private dockerd: run it as root" >&2; exit 2; }

. bench/lib.sh

say() { printf '==> %s\n' "$*" >&2; }
now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$2 - $1:.2f}')"; }

ROWS=()
# row SCENARIO BASELINE_NAME TARGET "OURS..." "BASELINE...": one line of the
# table, medians of the times and of the per-run ratios (min-max with
# more than one run), since the machine's load changes between runs.
row() {
    ROWS+=("$(python3 - "$@" <<'PY'
import statistics, sys
name, baseline, target, ours, theirs = sys.argv[1:]
ours, theirs = [float(x) for x in ours.split()], [float(x) for x in theirs.split()]
ratios = [a / b for a, b in zip(ours, theirs)]
def show(values, fmt):
    text = fmt.format(statistics.median(values))
    if len(values) > 1:
        text += " (" + fmt.format(min(values)) + "–" + fmt.format(max(values)) + ")"
    return text
print(f"| {name} | {show(ours, '{:.2f}')} | {show(theirs, '{:.2f}')} ({baseline}) "
      f"| {show(ratios, '{:.2f}x')} | {target} |")
PY
)")
}

# --- the private dockerd -------------------------------------------------
DOCKER_ROOT="$BENCH_DIR/docker"
export DOCKER_HOST="unix://$DOCKER_ROOT/docker.sock"
start_docker() {
    mkdir -p "$DOCKER_ROOT"
    "$BIN" ensure-docker --quiet --root "$DOCKER_ROOT" --docker-host "$DOCKER_HOST" \
        --dockerd-arg="--data-root=$DOCKER_ROOT/data" --dockerd-arg="--exec-root=$DOCKER_ROOT/exec" \
        --dockerd-arg=--bridge=none --dockerd-arg=--iptables=false \
        --dockerd-arg=--ip6tables=false --dockerd-arg=--storage-driver=vfs >/dev/null
}
stop_docker() {
    local pid
    pid=$(cat "$DOCKER_ROOT/var/run/docker.pid" 2>/dev/null) || return 0
    kill "$pid" 2>/dev/null || return 0
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    grep -o " $DOCKER_ROOT[^ ]*" /proc/mounts 2>/dev/null | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
}

# --- the buildset registry -----------------------------------------------
# start_buildset NAME: a fresh embedded registry on localhost (not an IP,
# so no /etc/hosts alias is needed); sets BSR_PORT and writes
# $BENCH_DIR/NAME.vars.json (its buildset_registry) and $BENCH_DIR/NAME.docker/
# (a docker client config holding its credentials).
BSR_ROOTS=()
start_buildset() {
    local name=$1
    BSR_PORT=$(free_port)
    rm -rf "$BENCH_DIR/$name.bsr"
    "$BIN" run-buildset-registry --host localhost --port "$BSR_PORT" \
        --root "$BENCH_DIR/$name.bsr" --results "$BENCH_DIR/$name.results.json" 2>/dev/null
    BSR_ROOTS+=("$BENCH_DIR/$name.bsr")
    mkdir -p "$BENCH_DIR/$name.docker"
    python3 - "$BENCH_DIR" "$name" "$BSR_PORT" <<'PY'
import base64, json, os, sys
d, name, port = sys.argv[1:]
registry = json.load(open(os.path.join(d, f"{name}.results.json")))["secret_data"]["buildset_registry"]
auth = base64.b64encode(f"{registry['username']}:{registry['password']}".encode()).decode()
path = os.path.join(d, f"{name}.docker", "config.json")
with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
    json.dump({"auths": {f"localhost:{port}": {"auth": auth}}}, f)
path = os.path.join(d, f"{name}.vars.json")
with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
    json.dump({"buildset_registry": registry}, f)
PY
}
stop_buildsets() {
    for root in "${BSR_ROOTS[@]}"; do "$BIN" -q registry stop --root "$root" 2>/dev/null || true; done
    BSR_ROOTS=()
}

cleanup() { stop_buildsets; stop_docker; stop_registries; rm -rf "$BENCH_DIR"; }
trap cleanup EXIT

# --- the build context ---------------------------------------------------
REPO=bench/app
TAGS=(latest 1.0)
PREFIX=change_1003_
make_context() {
    local dir=$BENCH_DIR/work/app
    mkdir -p "$dir"
    cp /bin/busybox "$dir/busybox"
    head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom > "$dir/payload"
    printf 'FROM scratch\nCOPY busybox /bin/busybox\nCOPY payload /payload\nLABEL bench=images\n' > "$dir/Dockerfile"
}

# No image of this benchmark left in the daemon (and so no build cache).
clean_images() {
    { docker images --format '{{.Repository}}:{{.Tag}}' | grep -E "(^|/)$REPO:" || true; } |
        xargs -r docker rmi -f >/dev/null
    docker image prune -f >/dev/null
}

# --- scenario: build -----------------------------------------------------
by_hand_build() {
    local name=$1 port=$2 args=() tag
    # The same image build-image makes: its tags and the label Zuul's change adds.
    for tag in "${TAGS[@]}"; do args+=(-t "$REPO:$tag" -t "$REPO:$PREFIX$tag"); done
    args+=(--label "org.zuul-ci.change=1003")
    DOCKER_BUILDKIT=0 docker build -q "${args[@]}" "$BENCH_DIR/work/app" >/dev/null 2>&1
    for tag in "${TAGS[@]}"; do
        docker tag "$REPO:$tag" "localhost:$port/$REPO:$tag"
        DOCKER_CONFIG="$BENCH_DIR/$name.docker" docker push -q "localhost:$port/$REPO:$tag" >/dev/null
    done
}

zuul_image_build() {
    local name=$1
    python3 - "$BENCH_DIR" "$name" "$REPO" "${TAGS[@]}" <<'PY'
import json, os, sys
d, name, repo, *tags = sys.argv[1:]
path = os.path.join(d, f"{name}.vars.json")
v = json.load(open(path))
v["zuul"] = {"change": "1003", "pipeline": "gate"}
v["docker_images"] = [{"context": "app", "repository": repo, "tags": tags}]
with open(path, "w") as f:
    json.dump(v, f)
PY
    "$BIN" -q --vars "$BENCH_DIR/$name.vars.json" build-image --family docker \
        --work-dir "$BENCH_DIR/work" --docker-host "$DOCKER_HOST" >/dev/null
}

scenario_build() {
    make_context
    local ours=() theirs=() run t0 t1
    for run in $(seq "$RUNS"); do
        # Alternate who goes first; each starts from no images and an empty registry.
        for side in $( [ $((run % 2)) -eq 1 ] && echo "hand ours" || echo "ours hand"); do
            clean_images
            start_buildset "$side$run"
            t0=$(now)
            if [ "$side" = hand ]; then by_hand_build "$side$run" "$BSR_PORT"; else zuul_image_build "$side$run"; fi
            t1=$(now)
            curl -sf --cacert "$BENCH_DIR/$side$run.bsr/tls/ca.pem" \
                "https://localhost:$BSR_PORT/v2/$REPO/tags/list" | grep -q '"1.0"' \
                || { echo "the $side run did not push $REPO:1.0" >&2; exit 1; }
            if [ "$side" = hand ]; then theirs+=("$(elapsed "$t0" "$t1")"); else ours+=("$(elapsed "$t0" "$t1")"); fi
            stop_buildsets
        done
        say "build run $run: build-image ${ours[-1]} s, by hand ${theirs[-1]} s"
    done
    clean_images
    row "build + tag + push (${SIZE_MIB} MiB context, ${#TAGS[@]} tags)" \
        "docker build + tag + push" "≤ 1.0x" "${ours[*]}" "${theirs[*]}"
}

local_scenarios=()
publish_scenarios=()
for scenario in ${SCENARIOS//,/ }; do
    case $scenario in
        upload|promote) publish_scenarios+=("$scenario") ;;
        *)
            declare -F "scenario_$scenario" >/dev/null || { echo "unknown scenario \`$scenario\`" >&2; exit 2; }
            local_scenarios+=("$scenario") ;;
    esac
done

if [ ${#local_scenarios[@]} -gt 0 ]; then
    say "starting a private dockerd under $DOCKER_ROOT"
    start_docker
    for scenario in "${local_scenarios[@]}"; do
        say "scenario $scenario"
        "scenario_$scenario"
    done
    printf '\n| scenario | zuul-image (s) | baseline (s) | ratio (per run) | target |\n|---|---|---|---|---|\n'
    printf '%s\n' "${ROWS[@]}"
fi

if [ ${#publish_scenarios[@]} -gt 0 ]; then
    publish_args=(--scenarios "$(IFS=,; echo "${publish_scenarios[*]}")" --runs "$RUNS")
    [ -z "$SIZE_GIVEN" ] || publish_args+=(--size-mib "$SIZE_MIB")
    ZUUL_IMAGE="$BIN" bench/publish.sh "${publish_args[@]}"
fi
