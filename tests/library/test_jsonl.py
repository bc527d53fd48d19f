"""JSON Lines readers: a row holding a Unicode line break stays one row; bad lines name themselves."""

import json

import pytest

from llmrouter.jsonl import lines_of, objects, read_text


def test_a_query_with_u2028_is_one_row_not_two(tmp_path):
    rows = [{"query": "first line\u2028second line"}, {"query": "next"}]
    path = tmp_path / "q.jsonl"
    # ensure_ascii=False writes U+2028 raw, as the shared routing data has it.
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    assert [item for _, item in objects(path, lines_of(read_text(path)))] == rows


def test_a_bad_line_is_named_with_its_number_and_blank_lines_are_skipped(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text('{"query": "a"}\n\n{"query": \n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"q\.jsonl, line 3: not valid JSON"):
        list(objects(path, lines_of(read_text(path))))


def test_unreadable_and_non_utf8_files_are_one_line_errors(tmp_path):
    with pytest.raises(ValueError, match="missing.jsonl: cannot read"):
        read_text(tmp_path / "missing.jsonl")
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes('{"query": "caf\u00e9"}\n'.encode("latin-1"))
    with pytest.raises(ValueError, match="latin.jsonl: not UTF-8 text"):
        read_text(latin)
