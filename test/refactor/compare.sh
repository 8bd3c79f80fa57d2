#!/usr/bin/env bash
# What every stack in stacks/ deploys, written so two revisions compare byte for byte:
#   test/refactor/compare.sh BEFORE     # on the old revision
#   test/refactor/compare.sh AFTER      # on the new one
#   diff -r BEFORE AFTER                # empty when nothing changed
# For each stack: `gpu-monitoring export` (and, for Docker stacks, `--addressing loopback`), and the
# resource graph index.ts declares under Pulumi mocks (graph/<stack>.graph.json, canonical JSON).
# A loopback export names its own directory (Grafana's dashboard path): that path is written as
# @OUT@, and the export's hash manifest (hashes of those same files) is left out.
set -euo pipefail
out=$(realpath -m "${1:?usage: compare.sh OUT_DIR}")
cd "$(dirname "$0")/../.."
mkdir -p "$out"
for f in stacks/Pulumi.*.yaml; do
  s=${f#stacks/Pulumi.}; s=${s%.yaml}
  dirs=("$out/export-$s")
  npx gpu-monitoring export --stack "$s" --out "$out/export-$s" --quiet
  # Loopback addressing exists for Docker-platform stacks only.
  if ! grep -q 'platform: kubernetes' "$f"; then
    npx gpu-monitoring export --stack "$s" --addressing loopback --out "$out/export-$s-loopback" --quiet
    dirs+=("$out/export-$s-loopback")
  fi
  for d in "${dirs[@]}"; do
    rm -f "$d/.gpu-monitoring-export.json"
    { grep -rlF "$d" "$d" || true; } | while read -r file; do sed -i "s#$d#@OUT@#g" "$file"; done
  done
done
log=$(mktemp)
GRAPH_SNAPSHOT_DIR="$out/graph" npx vitest run --config test/refactor/vitest.graph.mts >"$log" 2>&1 || { cat "$log"; rm -f "$log"; exit 1; }
rm -f "$log"
echo "written: $out"
