#!/usr/bin/env bash
# update-k8s-version.sh VERSION — pin k8s.io/kubernetes to VERSION (e.g. v1.37.2) and
# rewrite the replace block so every k8s.io staging module resolves to the matching
# v0.X.Y tag. k8s.io/kubernetes itself refers to its staging modules as v0.0.0 with
# local replaces, so a consumer must replace each one; the list comes from that
# version's own go.mod, so a bump is this one command.
set -euo pipefail
version=${1:?usage: $0 vX.Y.Z}
case "$version" in v1.*.*) ;; *) echo "version must look like v1.MINOR.PATCH, got $version" >&2; exit 2 ;; esac
staging="v0.${version#v1.}"
cd "$(dirname "$0")/.."

go mod download "k8s.io/kubernetes@$version"
gomod="$(go env GOMODCACHE)/k8s.io/kubernetes@$version/go.mod"
modules=$(sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\1#p' "$gomod")
[ -n "$modules" ] || { echo "no staging replaces found in $gomod" >&2; exit 1; }

args=(-require="k8s.io/kubernetes@$version")
for m in $modules; do args+=(-replace="$m=$m@$staging"); done
go mod edit "${args[@]}"
go mod tidy
echo "k8s.io/kubernetes $version, $(echo "$modules" | wc -l) staging modules at $staging"
