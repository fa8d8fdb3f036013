#!/usr/bin/env bash
# Benchmark of the embedded registry against Debian's distribution 2.8 and
# zuul-registry (PyPI, in a venv), all on the same disk, all with TLS and a
# write user, all on 127.0.0.1:
#   ingest  skopeo copy of a 5-layer OCI image (SIZE_MIB total of random
#           bytes in stored (level 0) gzip layers, passed through as they are) into the registry
#   pull    the 5 layers fetched back with 5 parallel GETs (curl)
#   cpu     the server's CPU time (user+system) during the ingest
#   rss     the server's peak RSS (VmHWM) after ingest and pull
# each REPEAT times (default 3), interleaved, reporting medians,
# and the time from starting `zuul-image run-buildset-registry` to its first
# answered TLS request (median of RUNS).
#
# Usage: bench/registry.sh   (SIZE_MIB=1024 RUNS=5 by default; REGISTRIES=
#        "zuul-image distribution zuul-registry" picks which to run)
# Needs: skopeo, docker-registry, apache2-utils, curl, python3 (venv).
# Builds zuul-image --release. Prints a Markdown table on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE_MIB=${SIZE_MIB:-1024}
RUNS=${RUNS:-5}
VENV=${ZUUL_REGISTRY_VENV:-/tmp/zuul-registry-venv}
say() { printf '==> %s\n' "$*" >&2; }

cargo build --release --quiet
ZI=$PWD/target/release/zuul-image

if [ ! -x "$VENV/bin/zuul-registry" ]; then
  say "installing zuul-registry from PyPI into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet zuul-registry
fi
ZR_VERSION=$("$VENV/bin/pip" show zuul-registry 2>/dev/null | awk '/^Version:/ {print $2}')

work=$(mktemp -d /tmp/zuul-image-bench.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  "$ZI" -q registry stop --root "$work/bsr" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$2 - $1:.2f}')"; }

say "making a ${SIZE_MIB} MiB 5-layer image in $work/layout"
python3 - "$work/layout" "$SIZE_MIB" <<'PY'
import gzip, hashlib, io, json, os, sys, tarfile
root, size_mib = sys.argv[1], int(sys.argv[2])
blobs = os.path.join(root, "blobs", "sha256")
os.makedirs(blobs)
def put(data):
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, d), "wb") as f:
        f.write(data)
    return "sha256:" + d, len(data)
layers, diff_ids = [], []
per = size_mib * 1024 * 1024 // 5
for i in range(5):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo(f"data/layer{i}")
        info.size = per
        tar.addfile(info, io.BytesIO(os.urandom(per)))
    raw = buf.getvalue()
    # gzip without compression: skopeo passes compressed layers through
    # instead of spending the benchmark compressing random bytes.
    digest, size = put(gzip.compress(raw, compresslevel=0, mtime=0))
    layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest, "size": size})
    diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
cd, cs = put(config)
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
    "layers": layers}).encode()
md, ms = put(manifest)
with open(os.path.join(root, "oci-layout"), "w") as f:
    f.write('{"imageLayoutVersion":"1.0.0"}')
with open(os.path.join(root, "index.json"), "w") as f:
    json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": ms}]}, f)
with open(os.path.join(root, "..", "source-layers.txt"), "w") as f:
    f.write("\n".join(l["digest"] for l in layers) + "\n")
PY

say "TLS material from run-buildset-registry"
"$ZI" -q run-buildset-registry --host 127.0.0.1 --port "$(free_port)" --root "$work/tlsgen" >/dev/null
"$ZI" -q registry stop --root "$work/tlsgen"
CERT=$work/tlsgen/tls/cert.pem
KEY=$work/tlsgen/tls/cert.key
mkdir -p "$work/trust"
cp "$work/tlsgen/tls/ca.pem" "$work/trust/ca.crt"
PASSWORD=$(python3 -c 'import secrets,string; print("".join(secrets.choice(string.ascii_letters+string.digits) for _ in range(24)))')
umask 077

start_zuul_image() {
  local dir=$1 port=$2
  cat > "$dir/config.yaml" <<YAML
listen: 127.0.0.1:$port
root: $dir/storage
tls-cert: $CERT
tls-key: $KEY
users:
  - name: zuul
    password: "$PASSWORD"
    access: write
YAML
  "$ZI" -q registry serve --config "$dir/config.yaml" >"$dir/log" 2>&1 &
  echo $!
}

start_distribution() {
  local dir=$1 port=$2
  printf '%s' "$PASSWORD" | htpasswd -iBc "$dir/htpasswd" zuul 2>/dev/null
  cat > "$dir/config.yml" <<YAML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/storage
http:
  addr: 127.0.0.1:$port
  secret: bench-secret
  tls:
    certificate: $CERT
    key: $KEY
auth:
  htpasswd:
    realm: bench
    path: $dir/htpasswd
YAML
  docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 &
  echo $!
}

start_zuul_registry() {
  local dir=$1 port=$2
  cat > "$dir/registry.yaml" <<YAML
registry:
  address: '127.0.0.1'
  port: $port
  public-url: https://127.0.0.1:$port
  tls-cert: $CERT
  tls-key: $KEY
  secret: bench-secret
  users:
    - name: zuul
      pass: "$PASSWORD"
      access: write
  storage:
    driver: filesystem
    root: $dir/storage
YAML
  "$VENV/bin/zuul-registry" -c "$dir/registry.yaml" serve >"$dir/log" 2>&1 &
  echo $!
}

hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }

# Bearer token when the registry hands out tokens (zuul-registry needs one),
# else empty (Basic works).
pull_header() {
  local port=$1 repo=$2
  local realm
  realm=$(curl -s -D - -o /dev/null --cacert "$work/trust/ca.crt" "https://127.0.0.1:$port/v2/" | awk 'tolower($1)=="www-authenticate:" && tolower($2)=="bearer" {print $3}' | sed -E 's/realm="([^"]*)".*/\1/')
  if [ -n "$realm" ]; then
    local token
    token=$(curl -s --cacert "$work/trust/ca.crt" -K "$work/curl-user" "$realm?scope=repository:$repo:pull&service=bench" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
    echo "Authorization: Bearer $token"
  fi
}

printf 'user = "zuul:%s"\n' "$PASSWORD" > "$work/curl-user"
printf '{"auths":{}}' > "$work/empty-auth.json"

cpu_s() { awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$1/stat"; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A INGEST PULL RSS CPU
REGISTRIES=${REGISTRIES:-zuul-image distribution zuul-registry}
REPEAT=${REPEAT:-3}
for rep in $(seq 1 "$REPEAT"); do
for name in $REGISTRIES; do
  dir=$work/$name
  rm -rf "$dir"
  mkdir -p "$dir/storage"
  port=$(free_port)
  case $name in
    zuul-image) pid=$(start_zuul_image "$dir" "$port") ;;
    distribution) pid=$(start_distribution "$dir" "$port") ;;
    zuul-registry) pid=$(start_zuul_registry "$dir" "$port") ;;
  esac
  pids+=("$pid")
  for _ in $(seq 1 200); do
    curl -s -o /dev/null --cacert "$work/trust/ca.crt" "https://127.0.0.1:$port/v2/" && break
    sleep 0.05
  done
  token=$(printf 'zuul:%s' "$PASSWORD" | base64 -w0)
  printf '{"auths":{"127.0.0.1:%s":{"auth":"%s"}}}' "$port" "$token" > "$dir/auth.json"
  say "$name (run $rep): skopeo copy into 127.0.0.1:$port"
  sync
  cpu0=$(cpu_s "$pid")
  start=$(now)
  REGISTRY_AUTH_FILE=$work/empty-auth.json skopeo copy --quiet --dest-cert-dir "$work/trust" --dest-authfile "$dir/auth.json" \
    "oci:$work/layout" "docker://127.0.0.1:$port/bench/img:v1" || { cat "$dir/log" >&2; exit 1; }
  INGEST[$name]="${INGEST[$name]:-} $(elapsed "$start" "$(now)")"
  CPU[$name]="${CPU[$name]:-} $(elapsed "$cpu0" "$(cpu_s "$pid")")"
  # The layers as the registry holds them.
  REGISTRY_AUTH_FILE=$work/empty-auth.json skopeo inspect --raw --cert-dir "$work/trust" --authfile "$dir/auth.json" \
    "docker://127.0.0.1:$port/bench/img:v1" | python3 -c 'import json,sys; print("\n".join(l["digest"] for l in json.load(sys.stdin)["layers"]))' > "$work/layers.txt"
  cmp -s <(sort "$work/layers.txt") <(sort "$work/source-layers.txt") || { say "$name: layers were rewritten"; exit 1; }
  header=$(pull_header "$port" bench/img)
  say "$name (run $rep): 5 parallel GETs"
  start=$(now)
  gets=()
  while read -r digest; do
    if [ -n "$header" ]; then
      curl -sf -o /dev/null --cacert "$work/trust/ca.crt" -H "$header" "https://127.0.0.1:$port/v2/bench/img/blobs/$digest" &
      gets+=($!)
    else
      curl -sf -o /dev/null --cacert "$work/trust/ca.crt" -K "$work/curl-user" "https://127.0.0.1:$port/v2/bench/img/blobs/$digest" &
      gets+=($!)
    fi
  done < "$work/layers.txt"
  for get in "${gets[@]}"; do wait "$get" || { say "$name: a GET failed"; cat "$dir/log" >&2; exit 1; }; done
  PULL[$name]="${PULL[$name]:-} $(elapsed "$start" "$(now)")"
  RSS[$name]="${RSS[$name]:-} $(( $(hwm_kib "$pid") / 1024 ))"
  kill "$pid"
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  rm -rf "$dir/storage"
done
done
for name in $REGISTRIES; do
  say "$name: ingest${INGEST[$name]} s; server CPU${CPU[$name]} s; pull${PULL[$name]} s; RSS${RSS[$name]} MiB"
  INGEST[$name]=$(median ${INGEST[$name]})
  CPU[$name]=$(median ${CPU[$name]})
  PULL[$name]=$(median ${PULL[$name]})
  RSS[$name]=$(printf '%s\n' ${RSS[$name]} | sort -n | tail -1)
done

say "run-buildset-registry time to ready ($RUNS runs)"
ready=()
for i in $(seq 1 "$RUNS"); do
  port=$(free_port)
  start=$(now)
  "$ZI" -q run-buildset-registry --host 127.0.0.1 --port "$port" --root "$work/bsr" >/dev/null
  ready+=("$(python3 -c "print(round(($(now) - $start) * 1000))")")
  "$ZI" -q registry stop --root "$work/bsr"
  rm -rf "$work/bsr"
done
READY=$(median "${ready[@]}")

ratio() { python3 -c "print(f'{$1 / $2:.1f}x')"; }
echo
echo "Image: ${SIZE_MIB} MiB in 5 layers (level-0 gzip); TLS and a write user everywhere; $(nproc) cores; medians of $REPEAT interleaved runs (peak RSS: maximum); $(date -u +%Y-%m-%d)."
echo
echo "| registry | ingest (skopeo copy) | server CPU during ingest | pull (5 parallel GETs) | peak RSS |"
echo "|---|---|---|---|---|"
for name in $REGISTRIES; do
  label=$name
  [ "$name" = zuul-registry ] && label="zuul-registry $ZR_VERSION"
  [ "$name" = distribution ] && label="distribution $(docker-registry --version 2>/dev/null | awk '{print $3}')"
  echo "| $label | ${INGEST[$name]} s | ${CPU[$name]} s | ${PULL[$name]} s | ${RSS[$name]} MiB |"
done
[ "$REGISTRIES" = "zuul-image distribution zuul-registry" ] || exit 0
echo
echo "Ingest: zuul-image is $(ratio "${INGEST[distribution]}" "${INGEST[zuul-image]}") faster than distribution and $(ratio "${INGEST[zuul-registry]}" "${INGEST[zuul-image]}") faster than zuul-registry."
echo "Pull: $(ratio "${PULL[distribution]}" "${PULL[zuul-image]}") vs distribution, $(ratio "${PULL[zuul-registry]}" "${PULL[zuul-image]}") vs zuul-registry."
echo "run-buildset-registry to first TLS answer: median ${READY} ms of $RUNS (${ready[*]} ms)."
