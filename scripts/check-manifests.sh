#!/usr/bin/env bash
# Validates the Kubernetes manifests under deploy/kubernetes against the
# Kubernetes API schemas (kubernetes-validate, from the Python package
# registry, installed when missing), strictly: unknown fields are errors.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=1.37.0
if ! command -v kubernetes-validate >/dev/null \
  || [ "$(python3 -m pip show kubernetes-validate 2>/dev/null | sed -n 's/^Version: //p')" != "$VERSION" ]; then
  echo "installing kubernetes-validate $VERSION (pip) …" >&2
  python3 -m pip install --quiet "kubernetes-validate==$VERSION" 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages "kubernetes-validate==$VERSION"
fi
manifests=()
for file in deploy/kubernetes/*.yaml; do
  # kustomization.yaml is kustomize's, not a Kubernetes resource.
  [ "$(basename "$file")" = kustomization.yaml ] || manifests+=("$file")
done
# The oldest Kubernetes still supported upstream and the newest the
# validator knows.
for k8s in 1.32.0 1.37.0; do
  kubernetes-validate --strict --quiet -k "$k8s" "${manifests[@]}"
done
echo "${#manifests[@]} manifests valid (Kubernetes 1.32 and 1.37, strict)" >&2
