"""Each metric on real rows of the 140-query sample: right answers score 1, wrong ones 0."""

from __future__ import annotations

import pytest

from routing_fixtures import sample_rows  # noqa: F401 - fixture

from llmrouter.training.metrics import MetricSkipped, score_answer


def _row(rows: list[dict], task: str, index: int = 0) -> dict:
    return [r for r in rows if r["task_name"] == task][index]


def _score(row: dict, answer: str, metric: str | None = None) -> float:
    return score_answer(metric or row["metric"], answer, row["ground_truth"], row)


def test_em_mc_reads_the_letter_in_its_usual_forms(sample_rows):
    row = _row(sample_rows, "arc_challenge")  # truth D: "movement from tectonic plates"
    assert row["ground_truth"] == "D"
    for answer in ("D", "(D)", "D) movement from tectonic plates", "The answer is D.", "Answer: **D**", "\\boxed{D}", "movement from tectonic plates"):
        assert _score(row, answer) == 1.0, answer
    for answer in ("B", "The answer is (A).", "the deposition of sediment", "A person would say D is unlikely but the answer is C"):
        assert _score(row, answer) == 0.0, answer


def test_em_mc_with_a_list_of_choices(sample_rows):
    row = _row(sample_rows, "mmlu")  # truth B, choices given as a plain list
    assert _score(row, "B. Students will be tested on all the material discussed in class.") == 1.0
    assert _score(row, "Students will be tested on all the material discussed in class.") == 1.0
    assert _score(row, "It will be easy to understand.") == 0.0
    assert _score(row, "I cannot tell.") == 0.0


def test_token_f1_and_exact_match_on_open_questions(sample_rows):
    row = _row(sample_rows, "natural_qa")  # truth "24 October 2017"
    assert _score(row, "24 October 2017") == 1.0
    assert _score(row, "It came out on 24 October 2017.") == pytest.approx(2 * (3 / 7) * 1 / (3 / 7 + 1))
    assert _score(row, "In 2019") == 0.0
    trivia = _row(sample_rows, "trivia_qa")  # truth "spielberg"
    assert _score(trivia, "Spielberg!", "exact_match") == 1.0
    assert _score(trivia, "Steven Spielberg", "exact_match") == 0.0
    assert _score(trivia, "Steven Spielberg") == pytest.approx(2 / 3)


def test_gsm8k_final_number(sample_rows):
    row = _row(sample_rows, "gsm8k")  # truth "... #### 1260"
    assert _score(row, "6 ferns x 7 fronds = 42 fronds; 42 x 30 = 1,260 leaves. The answer is 1260.") == 1.0
    assert _score(row, "So the total is \\boxed{1260}") == 1.0
    assert _score(row, "6 * 7 = 42 fronds, so 42 leaves") == 0.0
    assert _score(row, "I do not know") == 0.0


def test_math_boxed_answers(sample_rows):
    row = _row(sample_rows, "math")  # truth ends with \boxed{318}
    assert _score(row, "... so k+m+n = \\boxed{318}.") == 1.0
    assert _score(row, "... so k+m+n = \\boxed{317}.") == 0.0
    mgsm = _row(sample_rows, "agentverse-mgsm")  # truth "44"
    assert _score(mgsm, "She needs $352 / $8 = 44 hours. \\boxed{44}") == 1.0
    assert _score(mgsm, "\\boxed{44.0}") == 1.0
    assert _score(mgsm, "\\boxed{40}") == 0.0
    fractions = {"ground_truth": "\\boxed{\\frac{1}{2}}", "metric": "MATH"}
    assert _score(fractions, "\\boxed{\\dfrac{1}{2}}") == 1.0
    assert _score(fractions, "\\boxed{0.5}") == 1.0


def test_commongen_coverage_counts_inflected_concepts(sample_rows):
    row = _row(sample_rows, "commongen")
    concepts = [c.strip() for c in row["ground_truth"].split(",")]
    assert _score(row, " ".join(concepts)) == 1.0
    half = concepts[: len(concepts) // 2]
    assert _score(row, "A story with " + ", ".join(half)) == pytest.approx(len(half) / len(concepts))
    assert _score({"ground_truth": "smile, run, dog", "metric": "commongen_coverage"}, "Smiling dogs were running.") == 1.0
    assert _score(row, "Nothing relevant here.") == 0.0


def test_code_eval_runs_mbpp_asserts(sample_rows):
    row = _row(sample_rows, "mbpp")  # opposite_Signs
    good = "Here you go:\n```python\ndef opposite_Signs(x, y):\n    return (x ^ y) < 0\n```"
    bad = "```python\ndef opposite_Signs(x, y):\n    return True\n```"
    assert _score(row, good) == 1.0
    assert _score(row, bad) == 0.0


def test_code_eval_humaneval_body_or_whole_function(sample_rows):
    row = _row(sample_rows, "human_eval")  # match_parens
    body = (
        "    def ok(s):\n        depth = 0\n        for c in s:\n            depth += 1 if c == '(' else -1\n"
        "            if depth < 0:\n                return False\n        return depth == 0\n"
        "    return 'Yes' if ok(lst[0] + lst[1]) or ok(lst[1] + lst[0]) else 'No'\n"
    )
    assert _score(row, body) == 1.0
    assert _score(row, "```python\ndef match_parens(lst):\n" + body + "```") == 1.0
    assert _score(row, "```python\ndef match_parens(lst):\n    return 'Yes'\n```") == 0.0


def test_code_eval_has_no_network_and_a_timeout(sample_rows):
    import socket

    from llmrouter.training import code_eval

    row = _row(sample_rows, "mbpp")
    solution = "def opposite_Signs(x, y):\n    return (x ^ y) < 0\n"
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    reach_out = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2).sendall(b'hi')\n" + solution
    try:
        assert _score(row, solution) == 1.0
        assert _score(row, reach_out) == 0.0  # the connection attempt fails, so the program does
        with pytest.raises(TimeoutError):
            listener.accept()  # and nothing reached the listener
    finally:
        listener.close()
    assert code_eval.run_tests("import time\ntime.sleep(30)\n" + solution, row["ground_truth"], row, timeout=1.0) == 0.0


def test_code_eval_without_tests_is_skipped_with_a_reason():
    with pytest.raises(MetricSkipped, match="no tests"):
        score_answer("code_eval", "def f(): pass", "", {"query": "write f"})
    with pytest.raises(MetricSkipped, match="no `def`"):
        score_answer("code_eval", "x", "def check(candidate):\n    assert candidate(1)\n", {"query": "no function here"})


def test_unknown_metric_is_an_error():
    with pytest.raises(ValueError, match="unknown metric 'bleu'"):
        score_answer("bleu", "a", "b")
