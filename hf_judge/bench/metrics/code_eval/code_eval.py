"""pass@k of generated programs against unit tests (shipped with hf_judge so it loads offline).

Executes untrusted model-written code: it refuses to run unless HF_ALLOW_CODE_EVAL=1 is set.
Each program runs in hf_judge's sandbox, as the labeller's do (``run_sandboxed``: its own isolated Python in an
empty temporary folder, a clean environment, CPU and memory limits, a timeout).
"""

import os

import datasets
import evaluate
import numpy as np

from hf_judge.training.programs import run_sandboxed

_DESCRIPTION = "pass@k: the chance that at least one of k samples passes the unit tests (Chen et al., 2021)."
_KWARGS_DESCRIPTION = """
Args:
    predictions: list of lists of str, candidate programs per problem.
    references: list of str, the test code per problem (it calls the candidate and raises on failure).
    k: list of int, default [1].
    timeout: float seconds per program, default 10.
Returns:
    pass_at_k: dict "pass@k" -> float; results: list of lists of bool.
"""


def _estimate(n, c, k):
    if n - c < k:
        return 1.0
    return 1.0 - float(np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class CodeEval(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Sequence(datasets.Value("string")), "references": datasets.Value("string")}
            ),
        )

    def _compute(self, predictions, references, k=(1,), timeout=10.0):
        if os.getenv("HF_ALLOW_CODE_EVAL") != "1":
            raise ValueError(
                "code_eval executes model-written code; set HF_ALLOW_CODE_EVAL=1 to opt in "
                "(preferably inside a sandbox)"
            )
        results = [
            [run_sandboxed(c + "\n\n" + test, timeout) for c in cands]
            for cands, test in zip(predictions, references, strict=True)
        ]
        pass_at_k = {}
        for kk in k:
            vals = [_estimate(len(r), sum(r), kk) for r in results if len(r) >= kk]
            pass_at_k[f"pass@{kk}"] = float(np.mean(vals)) if vals else 0.0
        return pass_at_k, results
