# Helpers for bench/copy.sh: TLS + htpasswd distribution registries on
# 127.0.0.1 and synthetic OCI image layouts. Source it; needs
# docker-registry, openssl, htpasswd (apache2-utils), python3, skopeo.
# Test credentials only: they are generated per run and live in $BENCH_DIR.

set -euo pipefail

BENCH_DIR=${BENCH_DIR:-$(mktemp -d /tmp/zuul-image-bench.XXXXXX)}
BENCH_USER=benchuser
BENCH_PASS=$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
REGISTRY_PIDS=()

bench_ca() {
    [ -f "$BENCH_DIR/ca.crt" ] && return
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=bench CA" \
        -keyout "$BENCH_DIR/ca.key" -out "$BENCH_DIR/ca.crt" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
        -keyout "$BENCH_DIR/server.key" -out "$BENCH_DIR/server.csr" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\n' > "$BENCH_DIR/san.ext"
    openssl x509 -req -in "$BENCH_DIR/server.csr" -CA "$BENCH_DIR/ca.crt" -CAkey "$BENCH_DIR/ca.key" \
        -CAcreateserial -days 2 -extfile "$BENCH_DIR/san.ext" -out "$BENCH_DIR/server.crt" 2>/dev/null
    htpasswd -Bbc "$BENCH_DIR/htpasswd" "$BENCH_USER" "$BENCH_PASS" 2>/dev/null
    mkdir -p "$BENCH_DIR/certs"
    cp "$BENCH_DIR/ca.crt" "$BENCH_DIR/certs/ca.crt"
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_registry NAME [accesslog]: sets REGISTRY_PORT; storage under
# $BENCH_DIR/NAME, log in $BENCH_DIR/NAME/log (every request with
# `accesslog`). Call it directly, not in $(...), so REGISTRY_PIDS keeps the pid.
start_registry() {
    local name=$1 port quiet=true
    [ "${2:-}" = accesslog ] && quiet=false
    bench_ca
    port=$(free_port)
    mkdir -p "$BENCH_DIR/$name"
    cat > "$BENCH_DIR/$name/config.yml" <<YAML
version: 0.1
log:
  level: error
  accesslog:
    disabled: $quiet
storage:
  filesystem:
    rootdirectory: $BENCH_DIR/$name/data
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$port
  secret: bench-$name
  tls:
    certificate: $BENCH_DIR/server.crt
    key: $BENCH_DIR/server.key
auth:
  htpasswd:
    realm: bench
    path: $BENCH_DIR/htpasswd
YAML
    docker-registry serve "$BENCH_DIR/$name/config.yml" >"$BENCH_DIR/$name/log" 2>&1 &
    REGISTRY_PIDS+=($!)
    for _ in $(seq 100); do
        curl -s -o /dev/null --cacert "$BENCH_DIR/ca.crt" "https://127.0.0.1:$port/v2/" && break
        sleep 0.1
    done
    REGISTRY_PORT=$port
}

stop_registries() {
    for pid in "${REGISTRY_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${REGISTRY_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    REGISTRY_PIDS=()
}

# make_layout DIR LAYERS BYTES_PER_LAYER SEED: an OCI layout of one image
# with random, incompressible layers (skopeo copies them as they are).
make_layout() {
    python3 - "$@" <<'PY'
import hashlib, json, os, random, sys
out, layers, size, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
blobs = os.path.join(out, "blobs", "sha256")
os.makedirs(blobs, exist_ok=True)
rng = random.Random(seed)
def put(data):
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, digest), "wb") as f:
        f.write(data)
    return "sha256:" + digest, len(data)
descs = []
for i in range(layers):
    # Vary sizes +-25% so "largest first" matters.
    n = max(1, int(size * (0.75 + 0.5 * rng.random())))
    data = rng.randbytes(n)
    d, n = put(data)
    descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d, "size": n})
config = json.dumps({"architecture": "amd64", "os": "linux",
    "rootfs": {"type": "layers", "diff_ids": [x["digest"] for x in descs]}, "config": {}}).encode()
cd, cn = put(config)
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cn},
    "layers": descs}).encode()
md, mn = put(manifest)
with open(os.path.join(out, "index.json"), "w") as f:
    json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": md, "size": mn, "annotations": {"org.opencontainers.image.ref.name": "latest"}}]}, f)
with open(os.path.join(out, "oci-layout"), "w") as f:
    json.dump({"imageLayoutVersion": "1.0.0"}, f)
PY
}

# skopeo_push LAYOUT PORT REPO:TAG
skopeo_push() {
    skopeo --insecure-policy copy -q --dest-cert-dir "$BENCH_DIR/certs" \
        --dest-creds "$BENCH_USER:$BENCH_PASS" "oci:$1:latest" "docker://127.0.0.1:$2/$3"
}
