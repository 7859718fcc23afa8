#!/usr/bin/env bash
# Builds auto-labelled judge data in shards of 20 items (one seed each), resumably: a finished shard is
# skipped, an interrupted one resumes from its .progress.jsonl checkpoint. Wall time per shard goes to
# logs/wall_time.txt, the labeller's output to logs/ITEMS-seed-N.log.
# Usage: bash data/judge/build.sh ITEMS FIRST_SEED LAST_SEED
#   ITEMS: math-steps (multi-step word problems, boxed answer) or programs (unit-tested functions;
#   runs model-written code in a sandboxed subprocess)
set -euo pipefail
cd "$(dirname "$0")"
items="$1"
case "$items" in
  math-steps) extra=(--label-max-new-tokens 320) ;;
  programs) extra=(--label-max-new-tokens 256 --allow-code-exec) ;;
  *) echo "unknown ITEMS '$items': math-steps or programs" >&2; exit 2 ;;
esac
mkdir -p logs "$items"
for seed in $(seq "$2" "$3"); do
  out="$items/seed-$seed"
  [ -e "$out/dataset_info.json" ] && continue
  start=$(date +%s)
  hf-judge build-data --source auto --items "$items" --n-items 20 --seed "$seed" \
    --max-mismatches 8 --max-positives 16 --label-batch-size 8 "${extra[@]}" \
    --out "$out" >> "logs/$items-seed-$seed.log" 2>&1
  echo "$items seed $seed: $(( $(date +%s) - start )) s" >> logs/wall_time.txt
done
