#!/usr/bin/env bash
# Image commands benchmark, one scenario per function (scenario_<name>):
#
#   upload   `upload-image` of a two-platform index from the embedded
#            buildset registry into a TLS + htpasswd distribution registry
#            (the final registry) against `skopeo copy --all` of the same
#            index; the final registry is wiped before every copy.
#            Target: <= 0.6x skopeo.
#   promote  `promote-image` (temporary tag -> final tag in the final
#            registry) against `skopeo copy --all` of the manifest between
#            the same two tags, and the blob requests each makes (counted
#            in the registry's access log). Target: zero blob requests.
#
#   bench/publish.sh [--scenarios upload,promote]   (or bench/images.sh, which runs these too) [--size-mib 256] [--runs 1]
#
# Needs a release build (`cargo build --release`), docker-registry, skopeo,
# curl, openssl, htpasswd, python3. Prints a table with the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE_MIB=256
RUNS=1
SCENARIOS=upload,promote
while [ $# -gt 0 ]; do
    case $1 in
        --size-mib) SIZE_MIB=$2; shift 2 ;;
        --runs) RUNS=$2; shift 2 ;;
        --scenarios) SCENARIOS=$2; shift 2 ;;
        *) echo "usage: $0 [--scenarios upload,promote] [--size-mib N] [--runs N]" >&2; exit 2 ;;
    esac
done

BIN=${ZUUL_IMAGE:-target/release/zuul-image}
[ -x "$BIN" ] || { echo "build first: cargo build --release" >&2; exit 2; }

. bench/lib.sh
stop_buildset() { "$BIN" -q registry stop --root "$BENCH_DIR/bsr" 2>/dev/null || true; }
trap 'stop_buildset; stop_registries; rm -rf "$BENCH_DIR"' EXIT

say() { printf '==> %s\n' "$*" >&2; }
now() { date +%s.%N; }
timed() {  # command...: seconds it took
    local start end
    start=$(now)
    "$@"
    end=$(now)
    python3 -c "print(f'{$end - $start:.2f}')"
}
clear_skopeo_cache() {
    rm -f /var/lib/containers/cache/blob-info-cache-v1.sqlite \
        "$HOME/.local/share/containers/cache/blob-info-cache-v1.sqlite"
}
wants() { case ",$SCENARIOS," in *",$1,"*) return 0 ;; esac; return 1; }
RESULTS=()
NOTES=()

# make_index_layout DIR LAYERS BYTES_PER_LAYER: an OCI layout whose entry
# is an index over an amd64 and an arm64 image, LAYERS random layers each.
make_index_layout() {
    python3 - "$@" <<'PY'
import hashlib, json, os, random, sys
out, layers, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
blobs = os.path.join(out, "blobs", "sha256")
os.makedirs(blobs, exist_ok=True)
def put(data):
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, digest), "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + digest, "size": len(data)}
entries = []
for seed, arch in enumerate(["amd64", "arm64"]):
    rng = random.Random(seed)
    descs = [dict(put(rng.randbytes(size)), mediaType="application/vnd.oci.image.layer.v1.tar")
             for _ in range(layers)]
    config = json.dumps({"architecture": arch, "os": "linux", "config": {},
        "rootfs": {"type": "layers", "diff_ids": [d["digest"] for d in descs]}}).encode()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": dict(put(config), mediaType="application/vnd.oci.image.config.v1+json"),
        "layers": descs}).encode()
    entries.append(dict(put(manifest), mediaType="application/vnd.oci.image.manifest.v1+json",
                        platform={"architecture": arch, "os": "linux"}))
index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                    "manifests": entries}).encode()
top = put(index)
with open(os.path.join(out, "index.json"), "w") as f:
    json.dump({"schemaVersion": 2, "manifests": [dict(top, mediaType="application/vnd.oci.image.index.v1+json",
        annotations={"org.opencontainers.image.ref.name": "latest"})]}, f)
with open(os.path.join(out, "oci-layout"), "w") as f:
    json.dump({"imageLayoutVersion": "1.0.0"}, f)
PY
}

# The final registry (distribution, with an access log) and the embedded
# buildset registry holding org/app:latest, with files for every client:
# auth.json (skopeo), upload.json and promote.json (zuul-image's vars).
setup() {
    [ -n "${FINAL:-}" ] && return
    start_registry final accesslog; FINAL=$REGISTRY_PORT
    FINAL_PID=${REGISTRY_PIDS[-1]}
    BSR=$(free_port)
    "$BIN" -q run-buildset-registry --host 127.0.0.1 --port "$BSR" --root "$BENCH_DIR/bsr" >"$BENCH_DIR/bsr.json"
    python3 - "$BENCH_DIR" "$BENCH_USER" "$BENCH_PASS" "$FINAL" "$BSR" <<'PY'
import base64, json, os, sys
d, user, pw, final, bsr = sys.argv[1:]
b = json.load(open(os.path.join(d, "bsr.json")))["secret_data"]["buildset_registry"]
b64 = lambda u, p: base64.b64encode(f"{u}:{p}".encode()).decode()
def private(name, value):
    with open(os.open(os.path.join(d, name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        json.dump(value, f)
private("auth.json", {"auths": {f"127.0.0.1:{final}": {"auth": b64(user, pw)},
                                f"127.0.0.1:{bsr}": {"auth": b64(b["username"], b["password"])}}})
os.makedirs(os.path.join(d, "bsr-certs"), exist_ok=True)
open(os.path.join(d, "bsr-certs/ca.crt"), "w").write(b["cert"])
ca = open(os.path.join(d, "ca.crt")).read()
common = {"zuul": {"change": "1", "pipeline": "promote"},
          "docker_registry": f"127.0.0.1:{final}",
          "docker_credentials": {"username": user, "password": pw, "cert": ca},
          "docker_images": [{"repository": "org/app", "tags": ["latest"]}]}
private("upload.json", dict(common, buildset_registry=b))
private("promote.json", common)
PY
    say "making a two-platform index, $SIZE_MIB MiB in 8 layers"
    make_index_layout "$BENCH_DIR/index" 4 $((SIZE_MIB * 1024 * 1024 / 8))
    skopeo --insecure-policy copy --all -q --authfile "$BENCH_DIR/auth.json" --dest-cert-dir "$BENCH_DIR/bsr-certs" \
        "oci:$BENCH_DIR/index:latest" "docker://127.0.0.1:$BSR/org/app:latest"
    sync
}

restart_final() {  # an empty final registry
    kill "$FINAL_PID"; wait "$FINAL_PID" 2>/dev/null || true
    rm -rf "$BENCH_DIR/final/data"
    docker-registry serve "$BENCH_DIR/final/config.yml" >>"$BENCH_DIR/final/log" 2>&1 &
    FINAL_PID=$!
    REGISTRY_PIDS+=("$FINAL_PID")
    for _ in $(seq 100); do
        curl -s -o /dev/null --cacert "$BENCH_DIR/ca.crt" "https://127.0.0.1:$FINAL/v2/" && return
        sleep 0.1
    done
}

blob_requests() { grep -c '/blobs/' "$BENCH_DIR/final/log" || true; }

upload_zuul() { "$BIN" -q --vars "$BENCH_DIR/upload.json" upload-image >/dev/null; }
skopeo_copy() {  # SRC_CERT_DIR SRC DEST (docker:// references)
    clear_skopeo_cache
    skopeo --insecure-policy copy --all -q --authfile "$BENCH_DIR/auth.json" \
        --src-cert-dir "$1" --dest-cert-dir "$BENCH_DIR/certs" "$2" "$3"
}
upload_skopeo() {
    skopeo_copy "$BENCH_DIR/bsr-certs" "docker://127.0.0.1:$BSR/org/app:latest" \
        "docker://127.0.0.1:$FINAL/org/app:change_1_latest"
}

scenario_upload() {
    setup
    local z=() s=() run
    for run in $(seq "$RUNS"); do
        restart_final; z+=("$(timed upload_zuul)")
        restart_final; s+=("$(timed upload_skopeo)")
        say "upload, run $run: zuul-image ${z[-1]}s, skopeo copy --all ${s[-1]}s"
    done
    RESULTS+=("upload-image of a two-platform index, $SIZE_MIB MiB|skopeo copy --all|${z[*]}|${s[*]}|<= 0.6x")
}

# The `latest` tag goes from the final registry's storage, so each
# promotion starts from the same state (the temporary tag stays: this
# distribution deletes no tag by name).
drop_latest() {
    rm -rf "$BENCH_DIR/final/data/docker/registry/v2/repositories/org/app/_manifests/tags/latest"
}
promote_zuul() { "$BIN" -q --vars "$BENCH_DIR/promote.json" promote-image >/dev/null 2>>"$BENCH_DIR/promote.log"; }
promote_skopeo() {
    skopeo_copy "$BENCH_DIR/certs" "docker://127.0.0.1:$FINAL/org/app:change_1_latest" \
        "docker://127.0.0.1:$FINAL/org/app:latest"
}

scenario_promote() {
    setup
    restart_final
    upload_zuul
    local z=() s=() run before zb sb
    for run in $(seq "$RUNS"); do
        drop_latest; before=$(blob_requests); z+=("$(timed promote_zuul)"); zb=$(($(blob_requests) - before))
        drop_latest; before=$(blob_requests); s+=("$(timed promote_skopeo)"); sb=$(($(blob_requests) - before))
        say "promote, run $run: zuul-image ${z[-1]}s ($zb blob requests), skopeo copy ${s[-1]}s ($sb blob requests)"
    done
    RESULTS+=("promote-image, temporary tag to final tag|skopeo copy --all|${z[*]}|${s[*]}|0 blob requests")
    NOTES+=("blob requests during one promotion: zuul-image $zb, skopeo copy --all $sb")
}

for name in ${SCENARIOS//,/ }; do
    declare -F "scenario_$name" >/dev/null || { echo "no scenario \`$name\`" >&2; exit 2; }
    "scenario_$name"
done

# Medians (with min-max for several runs); ratios taken per run.
printf '\n| scenario | zuul-image (s) | baseline | baseline (s) | ratio | target |\n|---|---|---|---|---|---|\n'
for row in "${RESULTS[@]}"; do
    IFS='|' read -r name baseline z s target <<<"$row"
    python3 - "$name" "$baseline" "$z" "$s" "$target" <<'PY'
import statistics, sys
name, baseline, z, s, target = sys.argv[1:]
z, s = ([float(x) for x in a.split()] for a in (z, s))
def show(values, fmt):
    m = fmt(statistics.median(values))
    return m if len(values) == 1 else f"{m} ({fmt(min(values))}–{fmt(max(values))})"
ratios = [a / b for a, b in zip(z, s)]
print(f"| {name} | {show(z, lambda v: f'{v:.2f}')} | {baseline} | {show(s, lambda v: f'{v:.2f}')} "
      f"| {show(ratios, lambda v: f'{v:.2f}x')} | {target} |")
PY
done
for note in "${NOTES[@]}"; do printf '\n%s\n' "$note"; done
