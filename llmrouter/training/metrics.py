"""Score one answer against a row's ground truth: a float in [0, 1], or :class:`MetricSkipped`.

The metric names are those of LLMRouter's query files (``metric`` on each row):

==========================  ===================================================================
``em_mc``                   multiple choice: the answer's letter (``B``, ``(B)``, ``answer is B``,
                            ``\\boxed{B}``, or the text of exactly one choice) equals the truth
``exact_match`` (``em``)    SQuAD-normalized exact match (case, punctuation, articles, spaces)
``f1_score`` (``f1``)       SQuAD token F1 between the normalized answer and truth
``GSM8K``                   the final number (``\\boxed{}``, ``answer is``, else the last number)
                            equals the number after ``####`` in the truth
``MATH``                    the last ``\\boxed{}`` (else the final number) equals the truth's
                            last ``\\boxed{}`` (or the whole truth), as normalized LaTeX or as a number
``commongen_coverage``      share of the truth's comma-separated concepts used in the answer,
                            inflections included (``smile`` = ``smiling``)
``code_eval``               the answer's code passes the row's tests (see :mod:`.code_eval`)
==========================  ===================================================================

A metric that cannot judge an answer (``code_eval`` without tests, or switched off) raises
:class:`MetricSkipped` with the reason: a skipped pair is reported, never counted as 0.
"""

from __future__ import annotations

import ast
import re
import string
from collections import Counter
from collections.abc import Callable
from typing import Any

__all__ = ["METRICS", "MetricSkipped", "canonical_metric", "score_answer"]


class MetricSkipped(Exception):
    """The metric could not judge this answer; ``str(exc)`` says why."""


# --- text normalization ----------------------------------------------------------------------

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = str.maketrans("", "", string.punctuation)


def normalize_text(text: str) -> str:
    """SQuAD's normalization: lowercase, no punctuation, no articles, single spaces."""
    return " ".join(_ARTICLES.sub(" ", text.lower().translate(_PUNCT)).split())


def exact_match(answer: str, truth: str, row: dict[str, Any] | None = None) -> float:
    return float(normalize_text(answer) == normalize_text(truth))


def token_f1(answer: str, truth: str, row: dict[str, Any] | None = None) -> float:
    predicted, expected = normalize_text(answer).split(), normalize_text(truth).split()
    common = sum((Counter(predicted) & Counter(expected)).values())
    if not predicted or not expected:
        return float(predicted == expected)
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(expected)
    return 2 * precision * recall / (precision + recall)


# --- multiple choice -------------------------------------------------------------------------

_LETTER_PATTERNS = [
    re.compile(r"\\boxed\{\s*\(?([A-J])\)?\s*\}"),
    # Letters are upper case only: "the answer is a dog" names no choice.
    re.compile(r"(?i:answer)(?: is|:)?\s*(?i:option\s*)?[:\s]*\(?\**([A-J])\b\)?"),
    re.compile(r"^\s*\(?\**([A-J])\**(?:\)|\.|:|$)"),
    re.compile(r"\(([A-J])\)"),
]


def parse_choices(choices: Any) -> dict[str, str]:
    """``{letter: text}`` from a row's ``choices`` (a dict with text/labels, a list, or their repr)."""
    if isinstance(choices, str):
        try:
            choices = ast.literal_eval(choices)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return {}
    if isinstance(choices, dict) and isinstance(choices.get("text"), list):
        labels = choices.get("labels") or choices.get("label") or [chr(65 + i) for i in range(len(choices["text"]))]
        return {str(label).upper(): str(text) for label, text in zip(labels, choices["text"])}
    if isinstance(choices, list):
        return {chr(65 + i): str(text) for i, text in enumerate(choices[:10])}
    return {}


def choice_letter(answer: str, choices: dict[str, str]) -> str | None:
    """The letter an answer picks, or None when it names none."""
    for pattern in _LETTER_PATTERNS:
        found = pattern.findall(answer)
        if found:
            return found[-1].upper() if pattern is _LETTER_PATTERNS[3] else found[0].upper()
    said = normalize_text(answer)
    named = [letter for letter, text in choices.items() if normalize_text(text) and normalize_text(text) == said]
    if not named:
        named = [letter for letter, text in choices.items() if normalize_text(text) and re.search(rf"\b{re.escape(normalize_text(text))}\b", said)]
    return named[0] if len(named) == 1 else None


def multiple_choice(answer: str, truth: str, row: dict[str, Any] | None = None) -> float:
    choices = parse_choices((row or {}).get("choices"))
    expected = truth.strip().strip("()").upper()
    if len(expected) != 1:  # the truth is a choice's text: find its letter
        expected = next((k for k, v in choices.items() if normalize_text(v) == normalize_text(truth)), expected)
    return float(choice_letter(answer, choices) == expected)


# --- numbers and LaTeX -----------------------------------------------------------------------

_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+")


def last_boxed(text: str) -> str | None:
    """The content of the last ``\\boxed{...}`` (or ``\\fbox{...}``), braces balanced."""
    start = max(text.rfind("\\boxed"), text.rfind("\\fbox"))
    if start < 0:
        return None
    brace = text.find("{", start)
    if brace < 0:
        return None
    depth = 0
    for i in range(brace, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return text[brace + 1 : i]
    return None


def _to_number(text: str) -> float | None:
    cleaned = text.replace(",", "").replace("$", "").replace("\\%", "").replace("%", "").strip().rstrip(".")
    frac = re.fullmatch(r"-?\\[dt]?frac\{(-?[\d.]+)\}\{(-?[\d.]+)\}", cleaned) or re.fullmatch(r"(-?[\d.]+)/(-?[\d.]+)", cleaned)
    try:
        if frac:
            value = float(frac.group(1)) / float(frac.group(2))
            return -value if cleaned.startswith("-\\") else value
        return float(cleaned)
    except (ValueError, ZeroDivisionError):
        return None


def final_number(answer: str) -> float | None:
    """The answer's final number: ``\\boxed{}``, then ``answer is``, then the last number."""
    boxed = last_boxed(answer)
    if boxed is not None and _to_number(boxed) is not None:
        return _to_number(boxed)
    stated = re.findall(r"answer is[:\s]*\$?(-?[\d,]*\.?\d+)", answer, flags=re.I)
    candidates = stated or _NUMBER.findall(answer)
    return _to_number(candidates[-1]) if candidates else None


def _same_number(a: float | None, b: float | None) -> bool:
    return a is not None and b is not None and abs(a - b) <= 1e-6 * max(1.0, abs(b))


def gsm8k(answer: str, truth: str, row: dict[str, Any] | None = None) -> float:
    expected = truth.split("####")[-1]
    return float(_same_number(final_number(answer), _to_number(expected) if _to_number(expected) is not None else final_number(expected)))


def normalize_latex(text: str) -> str:
    text = re.sub(r"\\text\{\s*([^}]*)\}", r"\1", text)
    for old, new in (("\\left", ""), ("\\right", ""), ("\\!", ""), ("\\,", ""), ("\\;", ""), ("dfrac", "frac"), ("tfrac", "frac"),
                     ("^\\circ", ""), ("^{\\circ}", ""), ("\\$", ""), ("$", ""), ("\\%", ""), ("%", "")):
        text = text.replace(old, new)
    text = re.sub(r"\\frac(\d)(\d)", r"\\frac{\1}{\2}", text)
    return re.sub(r"\s+", "", text).rstrip(".").lstrip("x=").strip()


def math_answer(answer: str, truth: str, row: dict[str, Any] | None = None) -> float:
    expected = last_boxed(truth)
    expected = truth if expected is None else expected
    got = last_boxed(answer)
    if got is None:
        number = final_number(answer)
        if number is None:
            return 0.0
        return float(_same_number(number, _to_number(normalize_latex(expected))))
    if normalize_latex(got) == normalize_latex(expected):
        return 1.0
    return float(_same_number(_to_number(normalize_latex(got)), _to_number(normalize_latex(expected))))


# --- CommonGen -------------------------------------------------------------------------------


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiou":
        word = word[:-1]  # running -> runn -> run
    return word


def commongen_coverage(answer: str, truth: str, row: dict[str, Any] | None = None) -> float:
    concepts = [c.strip().lower() for c in truth.split(",") if c.strip()]
    if not concepts:
        raise MetricSkipped("no concepts in ground_truth")
    used = {_stem(w) for w in re.findall(r"[a-z]+", answer.lower())}
    covered = sum(all(_stem(w) in used for w in re.findall(r"[a-z]+", concept)) for concept in concepts)
    return covered / len(concepts)


# --- dispatch --------------------------------------------------------------------------------


def _code_eval(answer: str, truth: str, row: dict[str, Any] | None = None) -> float:
    from llmrouter.training.code_eval import run_tests

    return run_tests(answer, truth, row or {})


METRICS: dict[str, Callable[[str, str, dict[str, Any] | None], float]] = {
    "em_mc": multiple_choice,
    "exact_match": exact_match,
    "f1_score": token_f1,
    "GSM8K": gsm8k,
    "MATH": math_answer,
    "commongen_coverage": commongen_coverage,
    "code_eval": _code_eval,
}
_ALIASES = {name.lower(): name for name in METRICS} | {"em": "exact_match", "f1": "f1_score", "mgsm": "GSM8K", "final_number": "GSM8K"}


def canonical_metric(name: Any) -> str | None:
    """The metric's canonical name (case-insensitive, aliases allowed), or None if unknown."""
    return _ALIASES.get(str(name).lower()) if isinstance(name, str) else None


def score_answer(metric: str, answer: str, truth: Any, row: dict[str, Any] | None = None) -> float:
    """Score ``answer`` with ``metric``; :class:`MetricSkipped` when it cannot be judged."""
    name = canonical_metric(metric)
    if name is None:
        raise ValueError(f"unknown metric '{metric}' (known: {', '.join(METRICS)})")
    return float(METRICS[name](answer or "", "" if truth is None else str(truth), row))
