#!/usr/bin/env bash
# Builds auto-labelled judge data in shards of 20 items (one seed each), resumably: a finished shard is
# skipped, an interrupted one resumes from its .progress.jsonl checkpoint. Wall time per shard goes to
# logs/wall_time.txt, the labeller's output to logs/ITEMS-seed-N.log.
# Usage: bash data/judge/build.sh ITEMS FIRST_SEED LAST_SEED
#   ITEMS: math-steps (multi-step word problems, boxed answer), programs (unit-tested functions;
#   runs model-written code in a sandboxed subprocess) or program-stubs (the same functions to complete
#   from a signature and docstring, as HumanEval asks)
# Up to 16 disagreements per item, continued in one batch of 16 (a CPU batch costs little more than one
# of 8: decoding reads the weights once per step for all rows), half of them where the target gives the
# draft's token the least probability (--hard-share 0.5: errors are rare, 6% of evenly spread
# disagreements); the first shards (math-steps seeds up to 1001, programs seeds up to 2) were built with
# 8 evenly spread ones in batches of 8, and keep that, so that they resume and rebuild as they were.
# The models run in float32 on every machine (the dtype features are extracted in; --dtype auto would pick
# bfloat16 where a CPU computes it natively, and a shard's labels would depend on the machine); a
# checkpoint records the models' dtype and is not resumed in another.
# From math-steps seed 1008's second item on, the continuations start from one shared prefill of the answer
# (benchmarks/label_cost.py: the same continuations and labels as the batch prefill, in less time), and from its
# fourth on, a continuation that is done leaves the batch. From math-steps seed 1009 and programs seed 10 on,
# three items' substitutions share one batch of 48 (benchmarks/label_batching.py); a checkpoint then records
# three items at a time.
# Programs shards up to seed 9 were labelled before the checker ran an indented code block dedented (as the
# bench's grader does): there an answer written indented was skipped, or a substitution labelled an error.
set -euo pipefail
cd "$(dirname "$0")"
items="$1"
case "$items" in
  math-steps) extra=(--label-max-new-tokens 320) first_wide=1002 first_shared=1009 ;;
  programs) extra=(--label-max-new-tokens 256 --allow-code-exec) first_wide=3 first_shared=10 ;;
  program-stubs) extra=(--label-max-new-tokens 256 --allow-code-exec) first_wide=1 first_shared=1 ;;
  *) echo "unknown ITEMS '$items': math-steps, programs or program-stubs" >&2; exit 2 ;;
esac
mkdir -p logs "$items"
for seed in $(seq "$2" "$3"); do
  out="$items/seed-$seed"
  [ -e "$out/dataset_info.json" ] && continue
  n=16 hard=0.5 batch=48
  [ "$seed" -lt "$first_shared" ] && batch=$n
  [ "$seed" -lt "$first_wide" ] && n=8 hard=0 batch=8
  start=$(date +%s)
  hf-judge build-data --dtype float32 --source auto --items "$items" --n-items 20 --seed "$seed" \
    --max-mismatches "$n" --max-positives 16 --label-batch-size "$batch" --hard-share "$hard" "${extra[@]}" \
    --out "$out" >> "logs/$items-seed-$seed.log" 2>&1
  echo "$items seed $seed: $(( $(date +%s) - start )) s (up to $n disagreements per item, hard share $hard, batches of $batch)" >> logs/wall_time.txt
done
