#!/usr/bin/env bash
# Copy benchmark: zuul-image's copy engine against `skopeo copy --all` and a
# raw parallel curl GET->PUT of the same blobs, between two TLS + htpasswd
# distribution registries on 127.0.0.1 (scenarios 1, 3, 4), and from one of
# them into zuul-image's embedded buildset registry (scenario 2, with
# `pull-from-intermediate`). Prints a table of times and ratios.
#
#   bench/copy.sh [--size-mib 1024] [--small-layers 40] [--runs 1] [--scenarios 1,2,3,4]
#
# With --runs N every timing is taken N times (each from a fresh state) and
# the table shows the median, with min-max in brackets.
#
# Needs: a release build (`cargo build --release`), docker-registry,
# skopeo, curl, openssl, htpasswd, python3. Every scenario starts from a
# fresh destination registry (storage wiped and restarted) and skopeo's
# blob-info caches are removed before each skopeo run, so nothing is
# remembered between runs except the source registry's content.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE_MIB=1024
SMALL_LAYERS=40
RUNS=1
SCENARIOS=1,2,3,4
while [ $# -gt 0 ]; do
    case $1 in
        --size-mib) SIZE_MIB=$2; shift 2 ;;
        --small-layers) SMALL_LAYERS=$2; shift 2 ;;
        --runs) RUNS=$2; shift 2 ;;
        --scenarios) SCENARIOS=$2; shift 2 ;;
        *) echo "usage: $0 [--size-mib N] [--small-layers N] [--runs N] [--scenarios 1,2,3,4]" >&2; exit 2 ;;
    esac
done

BIN=${ZUUL_IMAGE:-target/release/zuul-image}
[ -x "$BIN" ] || { echo "build first: cargo build --release" >&2; exit 2; }

. bench/lib.sh
stop_buildset() {
    "$BIN" -q registry stop --root "$BENCH_DIR/bsr" 2>/dev/null || true
}
trap 'stop_buildset; stop_registries; rm -rf "$BENCH_DIR"' EXIT

say() { printf '==> %s\n' "$*" >&2; }
now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$2 - $1:.2f}')"; }

start_registry src; SRC=$REGISTRY_PORT
start_registry dst; DST=$REGISTRY_PORT
say "source 127.0.0.1:$SRC, destination 127.0.0.1:$DST, work dir $BENCH_DIR"

# Client credentials in files only (never on a command line).
python3 - "$BENCH_DIR" "$BENCH_USER" "$BENCH_PASS" "$SRC" "$DST" <<'PY'
import base64, json, os, sys
d, user, pw, src, dst = sys.argv[1:]
auth = base64.b64encode(f"{user}:{pw}".encode()).decode()
with open(os.path.join(d, "auth.json"), "w") as f:
    json.dump({"auths": {f"127.0.0.1:{src}": {"auth": auth}, f"127.0.0.1:{dst}": {"auth": auth}}}, f)
with open(os.path.join(d, "curlrc"), "w") as f:
    f.write(f'user = "{user}:{pw}"\n')
ca = open(os.path.join(d, "ca.crt")).read()
def reg(port):
    return {"host": "127.0.0.1", "port": int(port), "username": user, "password": pw, "cert": ca}
with open(os.path.join(d, "vars.json"), "w") as f:
    json.dump({"zuul": {"build": "bench"}, "buildset_registry": reg(src), "intermediate_registry": reg(dst)}, f)
PY
chmod 600 "$BENCH_DIR/auth.json" "$BENCH_DIR/curlrc" "$BENCH_DIR/vars.json"

restart_dst() {
    local pid=${REGISTRY_PIDS[1]}
    kill "$pid"; wait "$pid" 2>/dev/null || true
    rm -rf "$BENCH_DIR/dst/data"
    docker-registry serve "$BENCH_DIR/dst/config.yml" >"$BENCH_DIR/dst/log" 2>&1 &
    REGISTRY_PIDS[1]=$!
    for _ in $(seq 100); do
        curl -s -o /dev/null --cacert "$BENCH_DIR/ca.crt" "https://127.0.0.1:$DST/v2/" && return
        sleep 0.1
    done
}

clear_skopeo_cache() {
    rm -f /var/lib/containers/cache/blob-info-cache-v1.sqlite \
        "$HOME/.local/share/containers/cache/blob-info-cache-v1.sqlite"
}

run_zuul() {  # repo
    "$BIN" -q --vars "$BENCH_DIR/vars.json" push-to-intermediate --repository "$1" --tag latest >/dev/null
}

run_skopeo() {  # repo
    clear_skopeo_cache
    skopeo --insecure-policy copy --all -q --authfile "$BENCH_DIR/auth.json" \
        --src-cert-dir "$BENCH_DIR/certs" --dest-cert-dir "$BENCH_DIR/certs" \
        "docker://127.0.0.1:$SRC/$1:latest" "docker://127.0.0.1:$DST/$1:bench_latest"
}

# Raw baseline: for every blob in parallel (8 at a time), POST an upload on
# the destination, then stream GET | PUT with Content-Length; then the
# manifest. The least two servers can be asked to do for this copy.
run_curl() {  # repo [port curlrc ca]: destination, default the distribution one
    local repo=$1 manifest
    local DST=${2:-$DST} DST_RC=${3:-$BENCH_DIR/curlrc} DST_CA=${4:-$BENCH_DIR/ca.crt}
    manifest=$(curl -sf -K "$BENCH_DIR/curlrc" --cacert "$BENCH_DIR/ca.crt" \
        -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
        "https://127.0.0.1:$SRC/v2/$repo/manifests/latest")
    printf '%s' "$manifest" | python3 -c '
import json, sys
m = json.load(sys.stdin)
for d in [m["config"]] + m["layers"]:
    print(d["digest"], d["size"])' | sort -k2 -n -r > "$BENCH_DIR/blobs.txt"
    export BENCH_DIR SRC DST DST_RC DST_CA repo
    xargs -P 8 -L 1 bash -c '
        digest=$0 size=$1
        loc=$(curl -sf -K "$DST_RC" --cacert "$DST_CA" -X POST -D - -o /dev/null \
            "https://127.0.0.1:$DST/v2/$repo/blobs/uploads/" | tr -d "\r" | sed -n "s/^[Ll]ocation: //p")
        case $loc in http*) ;; *) loc="https://127.0.0.1:$DST$loc" ;; esac
        sep="?"; case $loc in *\?*) sep="&" ;; esac
        curl -sf -K "$BENCH_DIR/curlrc" --cacert "$BENCH_DIR/ca.crt" "https://127.0.0.1:$SRC/v2/$repo/blobs/$digest" |
            curl -sf -K "$DST_RC" --cacert "$DST_CA" -X PUT -T - \
                -H "Content-Length: $size" -H "Transfer-Encoding:" -H "Content-Type: application/octet-stream" \
                -o /dev/null "$loc${sep}digest=$digest"
    ' < "$BENCH_DIR/blobs.txt"
    printf '%s' "$manifest" | curl -sf -K "$DST_RC" --cacert "$DST_CA" -X PUT \
        -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary @- -o /dev/null \
        "https://127.0.0.1:$DST/v2/$repo/manifests/curl_latest"
}

# Scenario 2: the embedded buildset registry, restarted from an empty root
# for every copy; its fresh password and CA go to files for each client.
BSR=$(free_port)
restart_buildset() {
    stop_buildset
    rm -rf "$BENCH_DIR/bsr"
    "$BIN" -q run-buildset-registry --host 127.0.0.1 --port "$BSR" --root "$BENCH_DIR/bsr" \
        >"$BENCH_DIR/bsr.json"
    python3 - "$BENCH_DIR" "$BENCH_USER" "$BENCH_PASS" "$SRC" "$BSR" <<'PY'
import base64, json, os, sys
d, user, pw, src, bsr = sys.argv[1:]
b = json.load(open(os.path.join(d, "bsr.json")))["secret_data"]["buildset_registry"]
b64 = lambda u, p: base64.b64encode(f"{u}:{p}".encode()).decode()
def private(name, text):
    path = os.path.join(d, name)
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        f.write(text)
private("bsr-auth.json", json.dumps({"auths": {f"127.0.0.1:{src}": {"auth": b64(user, pw)},
                                               f"127.0.0.1:{bsr}": {"auth": b64(b["username"], b["password"])}}}))
private("bsr-curlrc", f'user = "{b["username"]}:{b["password"]}"\n')
os.makedirs(os.path.join(d, "bsr-certs"), exist_ok=True)
for name in ("bsr-certs/ca.crt", "bsr-ca.crt"):
    open(os.path.join(d, name), "w").write(b["cert"])
ca = open(os.path.join(d, "ca.crt")).read()
private("bsr-vars.json", json.dumps({
    "buildset_registry": b,
    "intermediate_registry": {"host": "127.0.0.1", "port": int(src), "username": user, "password": pw, "cert": ca},
    "zuul_artifacts": [{"name": "bench/big:latest", "url": f"docker://127.0.0.1:{src}/bench/big:latest",
                        "metadata": {"type": "container_image", "repository": "bench/big", "tag": "latest"}}]}))
PY
}

run_zuul_pull() {
    "$BIN" -q --vars "$BENCH_DIR/bsr-vars.json" pull-from-intermediate >/dev/null
}

run_skopeo_buildset() {  # repo
    clear_skopeo_cache
    skopeo --insecure-policy copy --all -q --authfile "$BENCH_DIR/bsr-auth.json" \
        --src-cert-dir "$BENCH_DIR/certs" --dest-cert-dir "$BENCH_DIR/bsr-certs" \
        "docker://127.0.0.1:$SRC/$1:latest" "docker://127.0.0.1:$BSR/$1:latest"
}

run_curl_buildset() {  # repo
    run_curl "$1" "$BSR" "$BENCH_DIR/bsr-curlrc" "$BENCH_DIR/bsr-ca.crt"
}

timed() {  # command...
    local start end
    start=$(now)
    "$@"
    end=$(now)
    elapsed "$start" "$end"
}

wants() { case ",$SCENARIOS," in *",$1,"*) return 0 ;; esac; return 1; }

if wants 1 || wants 2 || wants 4; then
    say "making a ${SIZE_MIB} MiB 5-layer image"
    make_layout "$BENCH_DIR/big" 5 $((SIZE_MIB * 1024 * 1024 / 5)) 1
    skopeo_push "$BENCH_DIR/big" "$SRC" bench/big:latest
fi
if wants 3; then
    say "making a ${SMALL_LAYERS}-layer image of small layers"
    make_layout "$BENCH_DIR/small" "$SMALL_LAYERS" $((256 * 1024)) 2
    skopeo_push "$BENCH_DIR/small" "$SRC" bench/small:latest
fi
sync

results=()
scenario() {  # name repo warm
    local name=$1 repo=$2 warm=$3 z=() s=() c=() run
    if [ "$warm" = buildset ]; then
        for run in $(seq "$RUNS"); do
            restart_buildset; z+=("$(timed run_zuul_pull)")
            restart_buildset; s+=("$(timed run_skopeo_buildset "$repo")")
            restart_buildset; c+=("$(timed run_curl_buildset "$repo")")
            say "$name, run $run: zuul-image ${z[-1]}s, skopeo ${s[-1]}s, curl ${c[-1]}s"
        done
        results+=("$name|${z[*]}|${s[*]}|${c[*]}")
        stop_buildset
        return
    fi
    if [ "$warm" = warm ]; then
        restart_dst; run_zuul "$repo"; run_skopeo "$repo"; run_curl "$repo"
    fi
    for run in $(seq "$RUNS"); do
        if [ "$warm" = warm ]; then
            z+=("$(timed run_zuul "$repo")")
            s+=("$(timed run_skopeo "$repo")")
            c+=(-)
        else
            restart_dst; z+=("$(timed run_zuul "$repo")")
            restart_dst; s+=("$(timed run_skopeo "$repo")")
            restart_dst; c+=("$(timed run_curl "$repo")")
        fi
        say "$name, run $run: zuul-image ${z[-1]}s, skopeo ${s[-1]}s, curl ${c[-1]}s"
    done
    results+=("$name|${z[*]}|${s[*]}|${c[*]}")
}

wants 1 && scenario "1. cold, ${SIZE_MIB} MiB in 5 layers" bench/big cold
wants 2 && scenario "2. cold, ${SIZE_MIB} MiB into the embedded buildset registry" bench/big buildset
wants 3 && scenario "3. cold, ${SMALL_LAYERS} small layers" bench/small cold
wants 4 && scenario "4. warm re-copy, ${SIZE_MIB} MiB" bench/big warm

# Medians, with min-max when there are several runs; ratios are taken per
# run (zuul-image and skopeo of the same run saw the same machine load).
printf '\n| scenario | zuul-image (s) | skopeo --all (s) | curl GET→PUT (s) | vs skopeo | vs curl |\n'
printf '|---|---|---|---|---|---|\n'
for row in "${results[@]}"; do
    IFS='|' read -r name z s c <<<"$row"
    python3 - "$name" "$z" "$s" "$c" <<'PY'
import statistics, sys
name = sys.argv[1]
z, s = ([float(x) for x in a.split()] for a in sys.argv[2:4])
c = None if "-" in sys.argv[4] else [float(x) for x in sys.argv[4].split()]
def show(values, fmt):
    m = fmt(statistics.median(values))
    return m if len(values) == 1 else f"{m} ({fmt(min(values))}–{fmt(max(values))})"
secs = lambda v: f"{v:.2f}"
ratio = lambda v: f"{v:.2f}x"
vs_s = [a / b for a, b in zip(z, s)]
vs_c = "-" if c is None else show([a / b for a, b in zip(z, c)], ratio)
print(f"| {name} | {show(z, secs)} | {show(s, secs)} | {'-' if c is None else show(c, secs)} | {show(vs_s, ratio)} | {vs_c} |")
PY
done
