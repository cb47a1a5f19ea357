#!/usr/bin/env bash
# Checks what deploy/ ships, against a built medic binary:
#   - deploy/systemd/medic.service passes `systemd-analyze verify` with no
#     output at all (a warning fails too). verify needs ExecStart's binary to
#     exist, so it checks a copy of the unit whose ExecStart is BINARY.
#   - deploy/kubernetes renders with `kubectl kustomize`, holds the expected
#     objects, and the rendered ConfigMap's medic.toml passes
#     `medic check --offline`.
#
#   scripts/check-deploy.sh target/release/medic
#
# Needs systemd-analyze (apt: systemd), kubectl (any; apt: kubernetes-client)
# and python3 with PyYAML (apt: python3-yaml). Takes a few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
fail() { printf 'check-deploy: %s\n' "$*" >&2; exit 1; }

binary="$(realpath "${1:?usage: scripts/check-deploy.sh PATH/TO/medic}")"
[ -x "$binary" ] || fail "$binary is not an executable"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "check-deploy: systemd-analyze verify deploy/systemd/medic.service (ExecStart -> $binary)"
sed "s|^ExecStart=/usr/local/bin/medic |ExecStart=$binary |" deploy/systemd/medic.service >"$work/medic.service"
grep -q "^ExecStart=$binary " "$work/medic.service" || fail "medic.service: no ExecStart=/usr/local/bin/medic line to point at the binary"
if ! systemd-analyze verify "$work/medic.service" >"$work/verify.log" 2>&1 || [ -s "$work/verify.log" ]; then
  cat "$work/verify.log" >&2
  fail "systemd-analyze verify reported the problems above"
fi

echo "check-deploy: kubectl kustomize deploy/kubernetes ($(kubectl version --client 2>/dev/null | head -1))"
# stderr is shown, not failed on: new kustomize warns that commonLabels is
# deprecated, which we keep on purpose so old kustomize renders the files.
kubectl kustomize deploy/kubernetes >"$work/rendered.yaml" || fail "kubectl kustomize deploy/kubernetes failed"
python3 - "$work/rendered.yaml" "$work/medic.toml" <<'PY' || fail "the rendered manifests are not what deploy/kubernetes promises"
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
kinds = sorted(d["kind"] for d in docs)
expected = sorted(["ConfigMap", "Deployment", "PodDisruptionBudget", "Role", "RoleBinding", "Service", "ServiceAccount"])
if kinds != expected:
    sys.exit(f"objects {kinds}, expected {expected}")
deployment = next(d for d in docs if d["kind"] == "Deployment")
container = deployment["spec"]["template"]["spec"]["containers"][0]
problems = []
if deployment["spec"]["replicas"] != 3 or deployment["spec"].get("strategy", {}).get("type") != "RollingUpdate":
    problems.append("the Deployment must run 3 replicas with a rolling update (they share targets by leases)")
node = next((e for e in container.get("env", []) if e.get("name") == "MEDIC_CLUSTER_NODE"), {})
if node.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") != "spec.nodeName":
    problems.append("MEDIC_CLUSTER_NODE must come from the pod's spec.nodeName")
budget = next(d for d in docs if d["kind"] == "PodDisruptionBudget")
if budget["spec"].get("minAvailable") != 2:
    problems.append("the PodDisruptionBudget must keep 2 of the 3 replicas")
for probe, path in (("livenessProbe", "/health"), ("readinessProbe", "/ready")):
    if container.get(probe, {}).get("httpGet", {}).get("path") != path:
        problems.append(f"{probe} is not GET {path}")
if not any(e.get("name") == "MEDIC_STORAGE_URL" and "secretKeyRef" in e.get("valueFrom", {}) for e in container.get("env", [])):
    problems.append("MEDIC_STORAGE_URL does not come from a Secret")
role = next(d for d in docs if d["kind"] == "Role")
for rule in role["rules"]:
    granted = set(rule["verbs"])
    if "*" in granted or "*" in rule["resources"] or not granted <= {"get", "list", "patch", "delete"}:
        problems.append(f"the Role grants more than medic uses: {rule}")
if problems:
    sys.exit("; ".join(problems))
config = next(d for d in docs if d["kind"] == "ConfigMap")["data"]["medic.toml"]
if "postgres://" not in config:
    sys.exit("the ConfigMap's medic.toml does not use PostgreSQL")
open(sys.argv[2], "w").write(config)
print(f"check-deploy: {len(docs)} objects: {', '.join(kinds)}")
PY

echo "check-deploy: medic check --offline on the rendered ConfigMap's medic.toml"
"$binary" check --offline --config "$work/medic.toml" >"$work/check.log" 2>&1 \
  || { cat "$work/check.log" >&2; fail "the ConfigMap's medic.toml does not pass medic check --offline"; }
echo "check-deploy: all deploy/ checks passed"
