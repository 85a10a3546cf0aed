"""The plugin's run(context) on whole batches: the sample, rejected rows, delimiters and encodings, failures of
the whole run, progress, cancel and determinism. The context is a recording fake with the attributes the SDK
gives a processor (input_dir, output_dir, parameters, log, report_progress, set_result, cancelled)."""

import json
import shutil
import zipfile

import pytest
from insureright_scoring_support import (
    CLASS_HEADER,
    INSURED_HEADER,
    SAMPLE,
    RecordingContext,
    load_main,
    rows_of,
    write_batch,
)
from insureright_wc.batch import REJECTED_COLUMNS, SCORES_COLUMNS

main = load_main()

SAMPLE_SCORES = [
    list(SCORES_COLUMNS),
    ["WC-1001", "2017-07-07", "19", "LOW", "new_business", "payroll_size", "experience_mod", "1"],
    ["WC-1002", "2018-01-15", "56", "HIGH", "claim_frequency", "class_hazard", "payroll_size", "2"],
    ["WC-1003", "2018-03-01", "100", "VERY_HIGH", "claim_frequency", "class_hazard", "experience_mod", "3"],
    ["WC-1004", "2018-04-01", "68", "HIGH", "claim_frequency", "class_hazard", "new_business", "4"],
    ["WC-1005", "2018-05-20", "82", "VERY_HIGH", "class_hazard", "new_business", "payroll_size", "5"],
    ["WC-1006", "2018-06-30", "68", "HIGH", "class_hazard", "experience_mod", "payroll_size", "6"],
    ["WC-1007", "2018-07-07", "39", "MEDIUM", "class_hazard", "new_business", "payroll_size", "7"],
    ["WC-1008", "2018-08-01", "100", "VERY_HIGH", "claim_frequency", "experience_mod", "class_hazard", "8"],
    ["WC-1009", "2018-09-09", "26", "MEDIUM", "payroll_size", "experience_mod", "new_business", "9"],
    ["WC-1010", "2018-10-01", "53", "HIGH", "claim_frequency", "payroll_size", "new_business", "10"],
]
REJECTED_HEADER = list(REJECTED_COLUMNS)
SAMPLE_NODES = {"insured": "insured.csv", "class": "class.csv"}


def sample_batch(folder):
    """The members of sample/wc-batch.zip, as the platform stages them in the input folder."""
    with zipfile.ZipFile(SAMPLE / "wc-batch.zip") as archive:
        archive.extractall(folder)
    return folder


def run(tmp_path, input_dir, **context_args):
    context = RecordingContext(input_dir, tmp_path / "out", **context_args)
    return context, main.run(context)


INSURED = [
    INSURED_HEADER,
    "T-1,7/7/2017,1.00,N,Alpha,CO,80202,1,1,1,0,0,0",
    "T-2,7/8/2017,1.00,N,Beta,CO,80202,1,1,1,0,0,0",
]
CLASSES = [CLASS_HEADER, "T-1,7/7/2017,CO,8810,100000", "T-2,7/8/2017,CO,5040,200000"]


def test_the_sample_batch_is_scored_with_its_bad_row_set_aside(tmp_path):
    context, result = run(tmp_path, sample_batch(tmp_path / "in"), parameters={"nodes": SAMPLE_NODES, "batchKey": "k"})

    assert result == {"scored": 10, "rejected": 1}
    assert context.result == result
    assert rows_of(tmp_path / "out" / "scores.csv") == SAMPLE_SCORES
    assert rows_of(tmp_path / "out" / "rejected.csv") == [
        REJECTED_HEADER,
        ["class", "15", "WC-1010", "payroll_amount_initial is negative: '-55000'"],
    ]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary == {
        "model": "insureright-wc-reference",
        "model_version": "1.0.0",
        "inputs": SAMPLE_NODES,
        "insured_rows": 10,
        "class_rows": 16,
        "policy_terms": 10,
        "scored": 10,
        "rejected": 1,
        "rejected_by_node": {"insured": 0, "class": 1},
        "score_bands": {"LOW": 1, "MEDIUM": 2, "HIGH": 4, "VERY_HIGH": 3},
        "complete": True,
    }
    assert context.progress[0] == (10, 0, 1)
    assert context.progress[-1] == (10, 10, 1)
    assert "scored 10 policy terms, rejected 1 rows (0 insured, 1 class)" in context.lines
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["rejected.csv", "scores.csv", "summary.json"]


def test_the_sample_zip_holds_the_sample_csvs():
    with zipfile.ZipFile(SAMPLE / "wc-batch.zip") as archive:
        assert [info.filename for info in archive.infolist()] == ["insured.csv", "class.csv"]
        for name in ("insured.csv", "class.csv"):
            assert archive.read(name) == (SAMPLE / name).read_bytes()


def test_the_sample_keeps_what_the_published_samples_show():
    insured = (SAMPLE / "insured.csv").read_text()
    assert ',"1234 Anystreet, Suite 5",' in insured  # a quoted address with a comma
    assert ",7/7/2017," in insured
    assert ",02108," in insured  # a zip code with a leading zero


def test_the_same_batch_gives_the_same_bytes_every_time(tmp_path):
    batch = sample_batch(tmp_path / "in")
    outputs = []
    for attempt in range(2):
        context = RecordingContext(batch, tmp_path / f"out{attempt}", parameters={"nodes": SAMPLE_NODES})
        main.run(context)
        outputs.append({p.name: p.read_bytes() for p in context.output_dir.iterdir()})
    assert outputs[0] == outputs[1]


def test_every_kind_of_bad_row_is_rejected_with_its_reason(tmp_path):
    insured = [
        INSURED_HEADER,
        "T-1,7/7/2017,1.00,N,Alpha,CO,80202,1,1,1,0,0,0",
        ",7/7/2017,1.00,N,No number,CO,80202,,,,,,",
        "T-3,2/30/2017,1.00,N,Bad date,CO,80202,,,,,,",
        "T-4,7/7/2017,abc,maybe,Bad values,CO,80202,1,x,1,0,0,0",
        "T-1,7/7/2017,2.00,Y,Duplicate of T-1,CO,80202,,,,,,",
        "T-5,7/7/2017,1.00,N,Too many cells,CO,80202,1,1,1,0,0,0,extra",
        "T-6,7/7/2017,1.00,N,No state,,80202,,,,,,",
    ]
    classes = [
        CLASS_HEADER,
        "T-1,7/7/2017,CO,8810,100000",
        "T-1,7/7/2017,CO,8810,-5",
        "T-1,7/7/2017,CO,8810,lots",
        "T-1,7/8/2017,CO,8810,100000",
        "T-9,7/7/2017,CO,8810,100000",
        "T-3,2/30/2017,CO,8810,100000",
        "T-1,7/7/2017,CO,,100000",
        "T-6,7/7/2017,CO,8810,100000",
    ]
    context, result = run(tmp_path, write_batch(tmp_path / "in", insured, classes))

    no_insured = "no valid insured row for this policy term (number and effective date)"
    assert rows_of(tmp_path / "out" / "rejected.csv") == [
        REJECTED_HEADER,
        ["insured", "2", "", "original_policy_term_number is empty"],
        ["insured", "3", "T-3", "term_effective_date not a calendar date: '2/30/2017'"],
        [
            "insured",
            "4",
            "T-4",
            "experience_mod_factor_initial not a number: 'abc'; new_renew_flag not a Y/N flag: "
            "'maybe'; available_history_2 not a number: 'x'",
        ],
        ["insured", "5", "T-1", "duplicate policy term: insured row 1 has the same number and effective date"],
        ["insured", "6", "T-5", "14 cells where the header has 13 (an unquoted delimiter?)"],
        ["insured", "7", "T-6", "policy_state_code is empty"],
        ["class", "2", "T-1", "payroll_amount_initial is negative: '-5'"],
        ["class", "3", "T-1", "payroll_amount_initial not a number: 'lots'"],
        ["class", "4", "T-1", no_insured],  # T-1 exists, but not with this effective date
        ["class", "5", "T-9", no_insured],
        ["class", "6", "T-3", "term_effective_date not a calendar date: '2/30/2017'"],
        ["class", "7", "T-1", "class_code is empty"],
        ["class", "8", "T-6", no_insured],  # its insured row was rejected
    ]
    assert result == {"scored": 1, "rejected": 13}
    # The first T-1 is the term: scored from its own values (emod 1.00), not the duplicate's (2.00).
    scores = rows_of(tmp_path / "out" / "scores.csv")
    assert [row[0] for row in scores[1:]] == ["T-1"]
    assert scores[1][7] == "1"
    assert context.progress[-1] == (1, 1, 13)


def test_an_insured_term_without_class_rows_is_scored_at_the_class_baselines(tmp_path):
    insured = [INSURED_HEADER, "T-1,7/7/2017,,,Alpha,CO,,,,,,,"]
    run(tmp_path, write_batch(tmp_path / "in", insured, [CLASS_HEADER]))
    assert rows_of(tmp_path / "out" / "scores.csv")[1] == [
        "T-1",
        "2017-07-07",
        "50",
        "MEDIUM",
        "class_hazard",
        "experience_mod",
        "claim_frequency",
        "1",
    ]


def test_nothing_rejected_still_writes_the_rejected_header(tmp_path):
    _, result = run(tmp_path, write_batch(tmp_path / "in", INSURED, CLASSES))
    assert result == {"scored": 2, "rejected": 0}
    assert rows_of(tmp_path / "out" / "rejected.csv") == [REJECTED_HEADER]


@pytest.mark.parametrize(
    ("extension", "delimiter"),
    [(".csv", ","), (".psv", "|"), (".tsv", "\t"), (".txt", "|"), (".txt", "\t"), (".txt", ";"), (".txt", ",")],
)
def test_each_member_format_gives_the_same_scores(tmp_path, extension, delimiter):
    expected_dir = write_batch(tmp_path / "csv", INSURED, CLASSES)
    main.run(RecordingContext(expected_dir, tmp_path / "expected"))
    # Values that hold the delimiter are quoted by the writer; the reader must keep them whole.
    insured = [INSURED[0], INSURED[1].replace("Alpha", '"Alpha, Inc.; | and\tsons"'), INSURED[2]]
    batch = write_batch(tmp_path / "in", insured, CLASSES, extension=extension, delimiter=delimiter)

    _, result = run(tmp_path, batch)

    assert result == {"scored": 2, "rejected": 0}
    assert rows_of(tmp_path / "out" / "scores.csv") == rows_of(tmp_path / "expected" / "scores.csv")


def test_latin_1_files_are_read_and_a_utf_8_byte_order_mark_is_not_part_of_a_column(tmp_path):
    insured = [INSURED[0], INSURED[1].replace("Alpha", "Café Müller"), INSURED[2]]
    batch = write_batch(tmp_path / "in", insured, CLASSES, encoding="latin-1")
    (batch / "class.csv").write_bytes(b"\xef\xbb\xbf" + (batch / "class.csv").read_bytes())  # Excel's UTF-8 export

    context, result = run(tmp_path, batch)

    assert result == {"scored": 2, "rejected": 0}
    assert "insured: insured.csv (latin-1, delimiter ',')" in context.lines
    assert "class: class.csv (utf-8-sig, delimiter ',')" in context.lines


def test_header_names_are_matched_whatever_their_case_and_spaces_and_extra_columns_are_ignored(tmp_path):
    header = ",".join(f" {name.upper()} " for name in CLASS_HEADER.split(",")) + ",comment"
    classes = [header, "T-1,7/7/2017,CO,8810,100000,hello", "T-2,7/8/2017,CO,5040,200000,"]
    _, result = run(tmp_path, write_batch(tmp_path / "in", INSURED, classes))
    assert result == {"scored": 2, "rejected": 0}


def test_short_rows_have_their_missing_cells_empty_and_blank_lines_are_skipped(tmp_path):
    insured = [INSURED_HEADER, "T-1,7/7/2017,1.00,N,Alpha,CO", "", "T-2,7/8/2017"]
    _, result = run(tmp_path, write_batch(tmp_path / "in", insured, CLASSES[:2]))
    assert result == {"scored": 1, "rejected": 1}
    assert rows_of(tmp_path / "out" / "rejected.csv")[1] == ["insured", "3", "T-2", "policy_state_code is empty"]


def test_a_missing_required_column_fails_the_whole_run_naming_it(tmp_path):
    classes = [line.rsplit(",", 1)[0] for line in CLASSES]  # no payroll_amount_initial
    with pytest.raises(main.ScoringInputError) as failure:
        run(tmp_path, write_batch(tmp_path / "in", INSURED, classes))
    assert str(failure.value) == (
        "class.csv (class) lacks the required column payroll_amount_initial (its columns: "
        "original_policy_term_number, term_effective_date, state_code, class_code)"
    )
    assert not (tmp_path / "out" / "scores.csv").exists()


def test_a_missing_node_fails_the_whole_run_naming_it(tmp_path):
    batch = write_batch(tmp_path / "in", INSURED, CLASSES)
    (batch / "class.csv").unlink()
    with pytest.raises(main.ScoringInputError, match=r"the batch has no class node: expected a file class\.csv"):
        run(tmp_path, batch)
    with pytest.raises(main.ScoringInputError, match=r"the class node's file class\.psv is not among the inputs"):
        run(tmp_path, batch, parameters={"nodes": {"insured": "insured.csv", "class": "class.psv"}})


def test_an_empty_file_or_another_kind_of_member_fails_the_run(tmp_path):
    batch = write_batch(tmp_path / "in", INSURED, CLASSES)
    (batch / "class.csv").write_text("")
    with pytest.raises(main.ScoringInputError, match=r"class\.csv \(class\) is empty"):
        run(tmp_path, batch)
    shutil.move(batch / "insured.csv", batch / "insured.xlsx")
    with pytest.raises(main.ScoringInputError, match=r"insured\.xlsx \(insured\) is not a \.csv"):
        run(tmp_path, batch, parameters={"nodes": {"insured": "insured.xlsx", "class": "class.csv"}})


def test_two_files_of_one_node_need_the_nodes_parameter(tmp_path):
    batch = write_batch(tmp_path / "in", INSURED, CLASSES)
    shutil.copy(batch / "class.csv", batch / "class.txt")
    with pytest.raises(main.ScoringInputError, match=r"more than one class node \(class\.csv, class\.txt\)"):
        run(tmp_path, batch)
    _, result = run(tmp_path, batch, parameters={"nodes": {"insured": "insured.csv", "class": "class.txt"}})
    assert result == {"scored": 2, "rejected": 0}


def test_the_nodes_parameter_names_files_of_any_name_but_never_a_path(tmp_path):
    batch = write_batch(tmp_path / "in", INSURED, CLASSES)
    shutil.move(batch / "insured.csv", batch / "policies.psv.csv")
    shutil.move(batch / "class.csv", batch / "exposures.csv")
    nodes = {"insured": "policies.psv.csv", "class": "exposures.csv"}
    _, result = run(tmp_path, batch, parameters={"nodes": nodes})
    assert result == {"scored": 2, "rejected": 0}
    with pytest.raises(main.ScoringInputError, match="a plain file name is expected"):
        run(tmp_path, batch, parameters={"nodes": {"insured": "../policies.psv.csv", "class": "exposures.csv"}})


def test_progress_is_reported_every_n_terms(tmp_path):
    insured = [INSURED_HEADER, *(f"T-{i},7/7/2017,1.00,N,Insured {i},CO,80202,1,1,1,0,0,0" for i in range(25))]
    context, result = run(
        tmp_path, write_batch(tmp_path / "in", insured, [CLASS_HEADER]), properties={"progress_every": 10}
    )
    assert result == {"scored": 25, "rejected": 0}
    assert context.progress == [(25, 0, 0), (25, 10, 0), (25, 20, 0), (25, 25, 0)]


def test_a_cancel_stops_the_scoring_cleanly_keeping_what_was_scored(tmp_path):
    insured = [INSURED_HEADER, *(f"T-{i},7/7/2017,1.00,N,Insured {i},CO,80202,1,1,1,0,0,0" for i in range(25))]
    context, result = run(
        tmp_path,
        write_batch(tmp_path / "in", insured, [CLASS_HEADER]),
        properties={"progress_every": 10},
        cancel_after=2,  # cancelled once the report after the first 10 terms is made
    )
    assert result == {"scored": 10, "rejected": 0}
    assert len(rows_of(tmp_path / "out" / "scores.csv")) == 11
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert (summary["complete"], summary["scored"], summary["policy_terms"]) == (False, 10, 25)
    assert "canceled: 10 of 25 policy terms scored before the cancel" in context.lines
