"""The pure side of search: query words, engine expressions and highlighted snippets."""

from __future__ import annotations

import pytest

from server.domain.search_text import Segment, fold, fts5_query, highlight, terms, tsquery


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Refund", ["refund"]),
        ("  refund  REFUND order ", ["refund", "order"]),
        ("Zażółć gęślą", ["zazołc", "gesla"]),
        ("ΚΑΛΗΜΈΡΑ", ["καλημερα"]),
        ('"NEAR(a b)" AND *', ["near", "a", "b", "and"]),
        ("snake_case", ["snake", "case"]),
        ("", []),
        ("!!! ... ---", []),
    ],
)
def test_terms(query: str, expected: list[str]) -> None:
    assert terms(query) == expected


def test_terms_are_bounded() -> None:
    assert len(terms(" ".join(f"w{i}" for i in range(100)))) == 12
    assert terms("x" * 500) == ["x" * 64]


def test_engine_expressions_quote_or_sanitise_every_word() -> None:
    assert fts5_query(["refund", "ord"]) == '"refund" "ord"*'
    assert tsquery(["refund", "ord"]) == "refund & ord:*"
    assert fts5_query([]) == "" and tsquery([]) == ""


def test_fold_matches_what_the_indexes_compare() -> None:
    assert fold("Ἀθῆναι") == "αθηναι"
    assert fold("ÉCOLE") == "ecole"


def test_highlight_marks_whole_words_and_the_typed_prefix() -> None:
    assert highlight("Refund for order, refunded", ["refund", "ord"]) == [
        Segment("Refund", True),
        Segment(" for ", False),
        Segment("order", True),
        Segment(", refunded", False),
    ]


def test_highlight_cuts_a_window_around_the_first_hit_at_a_word_edge() -> None:
    text = "lorem " * 100 + "refund " + "ipsum " * 100
    segments = highlight(text, ["refund"], width=60)
    assert segments[0] == Segment("…", False)
    assert segments[-1] == Segment("…", False)
    assert [s.text for s in segments if s.hit] == ["refund"]
    assert not segments[1].text.startswith("orem")  # begins at a word


def test_highlight_without_a_hit_shows_the_start() -> None:
    assert highlight("short text", ["nothing"]) == [Segment("short text", False)]
    assert highlight("", ["x"]) == []
