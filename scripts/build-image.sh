#!/usr/bin/env bash
# Builds medic's container image from a release binary, offline from any
# registry: the base is made by Debian's mmdebstrap (libc6, libgcc-s1,
# ca-certificates; no shell), imported into buildah, then
# deploy/container/Containerfile adds the binary. Then a smoke test runs the
# image's binary with `buildah run`: --version, `check --offline` on the
# image's config, and the demo (as the image's non-root user).
#
#   scripts/build-image.sh target/release/medic      # -> localhost/medic:latest
#
# Needs root, buildah and mmdebstrap (apt-get install buildah mmdebstrap),
# and a Debian mirror (apt's) for the base: about a minute the first time,
# 20 seconds when the base is reused.
set -euo pipefail
cd "$(dirname "$0")/.."
fail() { printf 'build-image: %s\n' "$*" >&2; exit 1; }

binary="$(realpath "${1:?usage: scripts/build-image.sh PATH/TO/medic}")"
[ -x "$binary" ] || fail "$binary is not an executable"
image="${MEDIC_IMAGE:-localhost/medic:latest}"
base="localhost/medic-base:bookworm"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The base changes only with Debian's point releases: reuse it when it is
# there (MEDIC_REBUILD_BASE=1 makes it again), so a second build takes seconds.
if [ "${MEDIC_REBUILD_BASE:-0}" = 1 ] || ! buildah inspect --type image "$base" >/dev/null 2>&1; then
echo "build-image: the base (mmdebstrap bookworm: libc6, libgcc-s1, ca-certificates)"
# chrootless runs no maintainer scripts that need a chroot, so the CA bundle
# is assembled by a hook; /var/lib/medic is made for the image's user.
mmdebstrap --quiet --mode=chrootless --variant=custom \
  --include=base-files,base-passwd,libc6,libgcc-s1,ca-certificates \
  --customize-hook='mkdir -p "$1/etc/ssl/certs" && cat "$1"/usr/share/ca-certificates/mozilla/*.crt > "$1/etc/ssl/certs/ca-certificates.crt"' \
  --customize-hook='mkdir -p "$1/var/lib/medic" && chown 10001:10001 "$1/var/lib/medic" && chmod 0750 "$1/var/lib/medic"' \
  --customize-hook='rm -rf "$1/usr/share/doc" "$1/usr/share/man" "$1/usr/share/locale" "$1/var/cache/apt" "$1/var/lib/apt/lists"' \
  bookworm "$work/base.tar" || fail "mmdebstrap could not make the base"
container="$(buildah from --quiet scratch)"
buildah add --quiet "$container" "$work/base.tar" / >/dev/null
buildah commit --quiet --rm "$container" "$base" >/dev/null || fail "could not commit the base"
else
  echo "build-image: reusing the base $base (MEDIC_REBUILD_BASE=1 rebuilds it)"
fi

echo "build-image: $image (deploy/container/Containerfile)"
cp deploy/container/Containerfile deploy/container/medic.toml "$work/"
cp "$binary" "$work/medic"
buildah bud --quiet --isolation chroot --format docker --build-arg "BASE=$base" \
  -t "$image" -f "$work/Containerfile" "$work" >/dev/null || fail "buildah bud failed"

echo "build-image: smoke test (buildah run --isolation chroot)"
container="$(buildah from --quiet "$image")"
trap 'buildah rm "$container" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
buildah run --isolation chroot "$container" -- /usr/local/bin/medic --version
buildah run --isolation chroot --env MEDIC_API_KEY=smoke-test-key-0123456789 "$container" -- \
  /usr/local/bin/medic check --offline --config /etc/medic/medic.toml >/dev/null \
  || fail "the image's medic.toml does not pass medic check --offline in the image"
# The demo inside the image, as its non-root user: the chaos shop under
# medic, three failures healed (exit 0), about 10 seconds.
buildah run --isolation chroot "$container" -- /usr/local/bin/medic demo >"$work/demo.log" 2>&1 \
  || { tail -30 "$work/demo.log" >&2; fail "medic demo failed inside the image"; }
grep -q "everything healed" "$work/demo.log" || fail "medic demo inside the image did not say everything healed"
echo "build-image: medic demo healed everything inside the image"
user="$(buildah inspect --format '{{.OCIv1.Config.User}}' "$image")"
[ "$user" = "10001:10001" ] || fail "the image runs as '$user', not 10001:10001"
health="$(buildah inspect --format '{{.Docker.Config.Healthcheck.Test}}' "$image")"
[[ "$health" == *"medic status"* ]] || fail "the image has no medic healthcheck: $health"
echo "build-image: $image, $(buildah inspect --format '{{.Docker.Config.Healthcheck.Test}}' "$image"), user $user"
buildah images --format '{{.Name}}:{{.Tag}} {{.Size}}' "$image"
