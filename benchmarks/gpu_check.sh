#!/usr/bin/env bash
# GPU check: the audit with --device cuda against the same audit on the CPU.
#
#   bash benchmarks/gpu_check.sh [MODEL ...]
#
# Default models: the tiny fixture, and SmolLM2-135M-Instruct (GGUF) when present under
# $TOKAUDIT_REAL_MATERIAL (default .real_material) or named by $GPU_CHECK_SMOL. For each
# model it runs `python -m auditor audit MODEL --verify --budget full --exact-max-prob`
# (GPU_CHECK_EXACT=0 drops --exact-max-prob: rejected tokens' max_prob is then a lower
# bound) on cpu (float32), on cuda (float32) and on cuda (--dtype auto), times them, and
# compares the `tokens` lists:
# same candidates; same verdicts between cpu and cuda float32 (exit 1 otherwise); max
# |max_prob difference|; verdict changes under --dtype auto are reported, not failed
# (half precision moves probabilities near the 0.01 threshold). Then it runs
# benchmarks/bench_verify.py and benchmarks/bench_budget.py (the adaptive budget against
# the full list) on cuda. Results go to $OUT (or a temporary folder).
# GPU_CHECK_DEVICE=cpu runs the "cuda" legs on the CPU: a dry run of this script itself.
# Exit codes: 0 all agree, 1 a float32 verdict or candidate list differs, 2 an audit
# failed, 3 no CUDA device (the check is pending, nothing was compared).
set -uo pipefail

cd "$(dirname "$0")/.."
PY="${PYTHON:-}"
if [[ -z "$PY" ]]; then
    if [[ -x .venv/bin/python ]]; then PY=.venv/bin/python; else PY=python3; fi
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
RESULTS="${OUT:-$(mktemp -d)}"
mkdir -p "$RESULTS"
REAL="${TOKAUDIT_REAL_MATERIAL:-.real_material}"

GPU="${GPU_CHECK_DEVICE:-cuda}"
EXACT="--exact-max-prob"
[[ "${GPU_CHECK_EXACT:-1}" == 0 ]] && EXACT=""
if [[ "$GPU" == cuda ]]; then
    if ! "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
        echo "gpu_check: no CUDA device visible to torch ($PY): the GPU check is pending" >&2
        exit 3
    fi
    "$PY" -c 'import torch; print("gpu_check: torch", torch.__version__, "on", torch.cuda.get_device_name(0))'
else
    echo "gpu_check: dry run, the cuda legs run on $GPU"
fi

TINY=sample_corpora/tiny_model/model
SMOL="${GPU_CHECK_SMOL:-$REAL/models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf}"
if [[ $# -gt 0 ]]; then
    MODELS=("$@")
else
    MODELS=("$TINY")
    [[ -f "$SMOL" ]] && MODELS+=("$SMOL")
fi
has() { local m; for m in "${MODELS[@]}"; do [[ "$m" == "$1" ]] && return 0; done; return 1; }

status=0
for model in "${MODELS[@]}"; do
    name="$(basename "$model")"
    name="${name%.gguf}"
    for run in "cpu float32 cpu32" "$GPU float32 gpu32" "$GPU auto gpuauto"; do
        set -- $run
        out="$RESULTS/$name.$3.json"
        start=$(date +%s%N)
        "$PY" -m auditor audit "$model" --verify --budget full --device "$1" --dtype "$2" $EXACT --no-cache \
            --no-progress --exit-zero --format json -o "$out" 2> "$RESULTS/$name.$3.err"
        rc=$?
        end=$(date +%s%N)
        printf 'gpu_check: %-24s %-5s %-8s rc=%d %6d ms\n' "$name" "$1" "$2" "$rc" "$(( (end - start) / 1000000 ))"
        if [[ $rc -ne 0 ]]; then
            echo "gpu_check: the audit failed, see $RESULTS/$name.$3.err:" >&2
            tail -5 "$RESULTS/$name.$3.err" >&2
            status=2
        fi
    done
    [[ $status -eq 2 ]] && continue
    "$PY" - "$RESULTS/$name.cpu32.json" "$RESULTS/$name.gpu32.json" "$RESULTS/$name.gpuauto.json" <<'EOF'
import json, sys

def tokens(path):
    with open(path, encoding="utf-8") as fh:
        report = json.load(fh)
    ver = ((report.get("model") or {}).get("verification") or {})
    toks = {t["token_id"]: t for t in report.get("tokens", []) if t.get("candidate")}
    return toks, ver

cpu, cpu_ver = tokens(sys.argv[1])
failed = False
for path, strict in ((sys.argv[2], True), (sys.argv[3], False)):
    other, ver = tokens(path)
    label = path.rsplit("/", 1)[-1]
    if sorted(cpu) != sorted(other):
        print(f"  {label}: candidates differ from the CPU run ({len(cpu)} vs {len(other)})")
        failed = True
        continue
    flips = [i for i in cpu if cpu[i].get("verdict") != other[i].get("verdict")]
    # Without --exact-max-prob a rejected token's max_prob is a lower bound: compare exact ones.
    diffs = [abs(cpu[i]["max_prob"] - other[i]["max_prob"]) for i in cpu
             if cpu[i].get("max_prob") is not None and other[i].get("max_prob") is not None
             and cpu[i].get("max_prob_exact") and other[i].get("max_prob_exact")]
    worst = max(diffs) if diffs else 0.0
    under = sum(t.get("verdict") == "under-trained" for t in other.values())
    print(f"  {label}: {len(cpu)} candidates, {under} under-trained, verdict changes vs cpu: {len(flips)}, "
          f"max |max_prob diff| {worst:.2e}, verified on {ver.get('device')} {ver.get('dtype')}")
    for i in flips[:10]:
        print(f"    token {i}: cpu {cpu[i]['verdict']} {cpu[i]['max_prob']:.4g} / {other[i]['verdict']} {other[i]['max_prob']:.4g}")
    if strict and flips:
        failed = True
print(f"  reference run: {len(cpu)} candidates verified on {cpu_ver.get('device')} {cpu_ver.get('dtype')}")
sys.exit(1 if failed else 0)
EOF
    [[ $? -ne 0 ]] && status=1
done

if has "$TINY"; then
    echo "gpu_check: verification throughput on $GPU (bench_verify.py)"
    "$PY" benchmarks/bench_verify.py --device "$GPU" --repeat 2 | tee "$RESULTS/bench_verify.$GPU.txt"
    echo "gpu_check: adaptive budget against the full list on $GPU (bench_budget.py)"
    "$PY" benchmarks/bench_budget.py --device "$GPU" --extra "--candidates-percent 12" | tee "$RESULTS/bench_budget.$GPU.txt"
fi
if has "$SMOL" && [[ -f "$SMOL" ]]; then
    "$PY" benchmarks/bench_verify.py --device "$GPU" --model "$SMOL" --count 64 --repeat 2 | tee "$RESULTS/bench_verify.smollm2.$GPU.txt"
    "$PY" benchmarks/bench_budget.py --device "$GPU" --model "$SMOL" --sample 400 | tee "$RESULTS/bench_budget.smollm2.$GPU.txt"
fi
echo "gpu_check: results in $RESULTS (exit $status)"
exit $status
