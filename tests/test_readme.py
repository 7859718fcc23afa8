"""The README's generated parts match what they are generated from."""

from pathlib import Path

from tests import bad_inputs


def test_bad_input_table_matches_the_tests():
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    assert bad_inputs.readme_table(readme) == bad_inputs.table(), "run: python -m tests.bad_inputs --write"
    assert len(bad_inputs.cases()) >= 14
