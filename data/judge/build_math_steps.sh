#!/usr/bin/env bash
# Builds the math-steps judge data in shards of 20 items (seeds 1000, 1001, ...), resumably:
# a finished shard is skipped, an interrupted one resumes from its .progress.jsonl checkpoint.
# Usage: bash data/judge/build_math_steps.sh FIRST_SEED LAST_SEED   (logs to data/judge/logs/)
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p logs math-steps
for seed in $(seq "${1:-1000}" "${2:-1019}"); do
  out="math-steps/seed-$seed"
  [ -e "$out/dataset_info.json" ] && continue
  start=$(date +%s)
  hf-judge build-data --source auto --items math-steps --n-items 20 --seed "$seed" \
    --max-mismatches 8 --max-positives 16 --label-max-new-tokens 320 --label-batch-size 8 \
    --out "$out" >> "logs/seed-$seed.log" 2>&1
  echo "seed $seed: $(( $(date +%s) - start )) s" >> logs/wall_time.txt
done
