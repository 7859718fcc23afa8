#!/usr/bin/env bash
# Rechecks the errors of built shards (hf-judge recheck): each error gets 4 answers sampled at temperature 0.7
# from the same prefix, and stays an error only if at most half of the 5 answers (the labeller's greedy one
# and these) are right. The rechecked shard goes to rechecked/ITEMS/seed-N (with recheck.json: what changed);
# a finished one is skipped, an interrupted one resumes. Wall time per shard goes to logs/wall_time.txt.
# Usage: bash data/judge/recheck.sh ITEMS FIRST_SEED LAST_SEED   (ITEMS: math-steps or programs, as built)
set -euo pipefail
cd "$(dirname "$0")"
items="$1"
case "$items" in
  math-steps) extra=(--label-max-new-tokens 320) ;;
  programs) extra=(--label-max-new-tokens 256 --allow-code-exec) ;;
  *) echo "unknown ITEMS '$items': math-steps or programs" >&2; exit 2 ;;
esac
mkdir -p logs "rechecked/$items"
for seed in $(seq "$2" "$3"); do
  out="rechecked/$items/seed-$seed"
  [ -e "$out/dataset_info.json" ] && continue
  start=$(date +%s)
  hf-judge recheck --dtype float32 --data "$items/seed-$seed" --items "$items" --n-items 20 --seed "$seed" \
    "${extra[@]}" --out "$out" >> "logs/recheck-$items-seed-$seed.log" 2>&1
  echo "recheck $items seed $seed: $(( $(date +%s) - start )) s" >> logs/wall_time.txt
done
