"""Dataset loading, validation messages, splits and SFT formatting."""

import json

import pytest
from conftest import FIXTURE_ROWS

from interviewmate import dataset as ds
from interviewmate.prompts import parse_feedback


def write_rows(path, rows, raw_lines=()):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + "".join(raw_lines))
    return path


def test_fixture_is_valid(fixture_rows):
    assert len(fixture_rows) == 12
    assert ds.validate_rows(fixture_rows, whole_set=False) == []


def test_broken_rows_name_line_and_field(tmp_path, fixture_rows):
    rows = [dict(r) for r in fixture_rows[:3]]
    rows[1]["score"] = 11
    rows[2]["criteria"] = {**rows[2]["criteria"], "structure": "4"}
    del rows[0]["feedback"]
    path = write_rows(tmp_path / "bad.jsonl", rows, raw_lines=['{"id": "x",\n'])
    with pytest.raises(ds.DatasetError) as err:
        ds.load_rows(path)
    text = str(err.value)
    assert "line 1: feedback: missing" in text
    assert "line 2: score: 11 is outside 1-10" in text
    assert "line 3: criteria.structure: must be an integer 1-5" in text
    assert "line 4: invalid JSON" in text
    assert str(path) in text and len(err.value.issues) == 4


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda r: r.update(category="cooking"), "category: 'cooking' is not one of"),
        (lambda r: r.update(id="beh-901"), "id: 'beh-901' must be the question_id plus"),
        (lambda r: r.update(follow_up="Tell me more."), "follow_up: must be a question ending in '?'"),
        (lambda r: r.update(key_points=["one"]), "key_points: must be a list of 3-6"),
        (lambda r: r.update(score=True), "score: must be an integer"),
        (lambda r: r.update(extra=1), "extra: unknown field"),
        (lambda r: r.update(answer="  "), "answer: is empty"),
        (lambda r: r.update(score=3), "score: 3 disagrees with the criteria"),
    ],
)
def test_single_field_errors(tmp_path, fixture_rows, change, expected):
    row = dict(fixture_rows[0])
    change(row)
    with pytest.raises(ds.DatasetError, match=expected):
        ds.load_rows(write_rows(tmp_path / "one.jsonl", [row]))


def test_bad_encoding_is_located(tmp_path, fixture_rows):
    path = write_rows(tmp_path / "enc.jsonl", fixture_rows[:2])
    path.write_bytes(path.read_bytes() + b'{"id": "caf\xe9"}\n')
    with pytest.raises(ds.DatasetError, match="line 3: not valid UTF-8"):
        ds.load_rows(path)


def test_cross_row_checks(tmp_path, fixture_rows):
    rows = [dict(r) for r in fixture_rows]
    rows[1]["id"] = rows[0]["id"]  # duplicate id
    rows[4]["question"] = rows[4]["question"] + " Please."  # question fields differ within a question
    rows[8]["score"] = rows[7]["score"]  # question gen-901 no longer has one answer per band
    rows[10]["feedback"] = rows[0]["feedback"]  # reused feedback
    path = write_rows(tmp_path / "x.jsonl", rows)
    with pytest.raises(ds.DatasetError) as err:
        ds.validate_file(path, whole_set=False)
    text = str(err.value)
    assert "line 2: id: duplicate id 'beh-901-a' (first on line 1)" in text
    assert "line 5: question: differs from line 4 of the same question tech-901" in text
    assert "question gen-901 needs one strong" in text
    assert "line 11: feedback: identical to the feedback on line 1" in text


def test_near_duplicate_question_is_caught(tmp_path, fixture_rows):
    rows = [dict(r) for r in fixture_rows[:3]]
    copy = [
        dict(
            r,
            question_id="beh-902",
            id=r["id"].replace("901", "902"),
            question="Tell me about a time you had to push back on a tight deadline.",
            answer=r["answer"] + " That is all.",
            feedback="Different words entirely " + str(i) + ".",
        )
        for i, r in enumerate(rows)
    ]
    for r in copy:
        r["answer"] = " ".join(reversed(r["answer"].split()))  # same words, no shared trigrams
    path = write_rows(tmp_path / "dup.jsonl", rows + copy)
    with pytest.raises(ds.DatasetError, match="near-duplicate of question beh-901"):
        ds.validate_file(path, whole_set=False)


def test_whole_set_checks_balance(tmp_path, fixture_rows):
    with pytest.raises(ds.DatasetError, match="score band 7-8 holds 0.0% of rows"):
        ds.validate_file(FIXTURE_ROWS, whole_set=True)


def test_splits_are_deterministic_disjoint_and_stratified():
    rows = []
    for cat, prefix in (("behavioral", "beh"), ("technical", "tech")):
        for i in range(20):
            rows.append({"question_id": f"{prefix}-{i:03d}", "category": cat})
    a, b = ds.make_splits(rows), ds.make_splits(list(reversed(rows)))
    assert a == b
    sets = [set(a[n]) for n in ds.SPLIT_NAMES]
    assert not (sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2])
    assert sum(map(len, sets)) == 40
    assert len(a["test"]) == 4 and len(a["validation"]) == 4
    assert any(q.startswith("tech") for q in a["test"]) and any(q.startswith("beh") for q in a["test"])
    assert ds.make_splits(rows, seed=1) != a


def test_split_rows_rejects_overlap(fixture_rows):
    splits = {"train": ["beh-901", "tech-901", "gen-901", "sit-901"], "validation": ["beh-901"], "test": []}
    with pytest.raises(ValueError, match="beh-901 is in both"):
        ds.split_rows(fixture_rows, splits)
    with pytest.raises(ValueError, match="in no split"):
        ds.split_rows(fixture_rows, {"train": ["beh-901"], "validation": [], "test": []})


def test_to_conversation_is_prompt_completion(fixture_rows):
    row = fixture_rows[1]
    conv = ds.to_conversation(row)
    assert [m["role"] for m in conv["prompt"]] == ["system", "user"]
    assert row["answer"] in conv["prompt"][1]["content"]
    parsed = parse_feedback(conv["completion"][0]["content"])
    assert parsed.scored and parsed.score == row["score"] and parsed.criteria == row["criteria"]
    assert parsed.follow_up == row["follow_up"]


def test_cli_validate_exit_codes(tmp_path, fixture_rows, capsys):
    assert ds.main(["validate", str(FIXTURE_ROWS), "--no-whole-set"]) == 0
    assert "OK: 12 rows, 4 questions" in capsys.readouterr().out
    bad = write_rows(tmp_path / "bad.jsonl", [dict(fixture_rows[0], score=0)])
    assert ds.main(["validate", str(bad), "--no-whole-set"]) == 1
    assert "line 1: score: 0 is outside 1-10" in capsys.readouterr().err


def test_shipped_dataset_is_valid_and_complete():
    rows = ds.validate_file(ds.DATASET_PATH)  # schema, bands, near-duplicates, balance, length/score
    assert len(rows) == 905 and len({r["question_id"] for r in rows}) == 302
    stats = ds.statistics_of(rows)
    assert set(stats["categories"]) == set(ds.CATEGORIES)
    assert abs(stats["spearman_length_score"]) < ds.MAX_LENGTH_RHO
    assert min(stats["score_histogram"].values()) / len(rows) >= ds.MIN_BAND_SHARE


def test_splits_split_files_and_card_are_current():
    rows = ds.load_rows()
    splits = ds.load_splits()
    assert splits == ds.make_splits(rows, seed=splits["seed"]), "run `python -m interviewmate.dataset split`"
    for name, part in ds.split_rows(rows, splits).items():
        on_disk = [json.loads(line) for line in (ds.SPLIT_FILES_DIR / f"{name}.jsonl").read_text().splitlines()]
        assert on_disk == part, f"data/splits/{name}.jsonl is stale"
    card = ds.CARD_PATH.read_text()
    assert ds.stats_markdown(ds.statistics_of(rows), splits) in card, "run `python -m interviewmate.dataset card`"
    contrast = ds.validate_contrast_file()
    assert ds.contrast_markdown(ds.contrast_statistics(contrast, splits)) in card, "run `make data`"


def test_shipped_contrast_set_is_valid_and_covers_every_kind_and_split():
    rows = ds.validate_contrast_file()  # schema, kinds, ranges, sources, splits, duplicates, minimums
    stats = ds.contrast_statistics(rows, ds.load_splits())
    for kind, minimum in ds.CONTRAST_MINIMUMS.items():
        assert stats[kind]["rows"] >= minimum
        assert all(stats[kind]["splits"][name] > 0 for name in ds.SPLIT_NAMES)


_WORDS = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa".split()


def _contrast_row(main: dict, n: int, **change) -> dict:
    """A valid concise_strong row whose answer and feedback are unique to `n` (no near-duplicates)."""
    words = " ".join(f"{w}{n}" for w in _WORDS)
    row = dict(main, id=main["question_id"] + "-cs1", kind="concise_strong", score=9,
               criteria={"relevance": 5, "structure": 4, "specificity": 4, "communication": 5},
               answer=f"A short and correct answer with its own words {words} and one example.",
               feedback=f"Feedback written for this answer alone, quoting {words}.")  # fmt: skip
    return {**row, **change}


def test_contrast_errors_name_line_and_field(tmp_path):
    main = ds.load_rows()
    first, other = main[0], next(r for r in main if r["question_id"] != main[0]["question_id"])
    short = next(r for r in main if 20 <= len(r["answer"].split()) <= 70)  # a main answer the kind's range allows
    rows = [
        _contrast_row(first, 1),  # line 1: valid
        _contrast_row(first, 2, id=first["question_id"] + "-cs2", kind="concise"),  # 2: unknown kind
        _contrast_row(first, 3, id=first["question_id"] + "-cs3", answer="Too short."),  # 3: word range
        _contrast_row(first, 4, id=first["question_id"] + "-pw1"),  # 4: id code does not match the kind
        _contrast_row(first, 5, id=first["question_id"] + "-cs4", question=other["question"]),  # 5: question field
        _contrast_row(first, 6, id=first["question_id"] + "-fu1", kind="follow_up_answer", source_id=other["id"],
                      score=5, criteria={"relevance": 3, "structure": 3, "specificity": 2, "communication": 3},
                      question=first["follow_up"]),  # 6: source row of another question
        _contrast_row(first, 7, id=first["question_id"] + "-cs5", answer=short["answer"]),  # 7: copies a main answer
    ]
    path = write_rows(tmp_path / "contrast.jsonl", rows)
    with pytest.raises(ds.DatasetError) as err:
        ds.validate_contrast_file(path, whole_set=False)
    text = str(err.value)
    assert ", line 1:" not in text
    assert "line 2: kind: 'concise' is not one of" in text
    assert "line 3: answer: 2 words; concise_strong answers have 20-70" in text
    assert "line 4: id:" in text and "-cs1', '-cs2', ... for concise_strong" in text
    assert "line 5: question: differs from question" in text
    assert "line 6: source_id:" in text
    assert f"line 7: answer: identical to the answer of main-set row {short['id']}" in text
    with pytest.raises(ds.DatasetError, match="at least 120 required"):
        ds.validate_contrast_file(write_rows(tmp_path / "one.jsonl", rows[:1]))
