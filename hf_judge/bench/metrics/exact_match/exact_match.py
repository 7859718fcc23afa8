"""Exact match of normalised final answers (shipped with hf_judge so it loads offline)."""

import datasets
import evaluate

from hf_judge.training.checkable import norm_answer

_DESCRIPTION = (
    "Share of predictions equal to their reference (spaces, commas, case and decoration such as $...$ stripped; "
    "numbers by value)."
)
_KWARGS_DESCRIPTION = """
Args:
    predictions: list of str, the extracted final answers.
    references: list of str, the gold answers.
Returns:
    exact_match: float in [0, 1].
    hits: list of 0.0 / 1.0, one per prediction.
"""


def _norm(x):
    return norm_answer(str(x).lower())


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class ExactMatch(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Value("string"), "references": datasets.Value("string")}
            ),
        )

    def _compute(self, predictions, references):
        hits = [float(_norm(p) == _norm(r)) for p, r in zip(predictions, references, strict=True)]
        return {"exact_match": sum(hits) / len(hits) if hits else 0.0, "hits": hits}
