"""training.unipen: real writers' digits are read with their strokes, labels, writers and labs; a
missing or damaged file is named with what to do; the folder is found as the README says."""

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from training.unipen import (
    PenDigit,
    is_held_out,
    load_unipen,
    parse_holdout,
    resolve_unipen_dir,
    split_writers,
)

ROW = {"source": "unipen-1a", "split": "test", "writer": "apb-Someone", "label": 7,
       "strokes": [[[10, 5], [30, 5], [18, 40]], [[12, 22], [26, 22]]],
       "id": "unipen-1a/apb/someone/0003", "seq": 3}


def write(folder: Path, split: str, lines: list[str]) -> None:
    with gzip.open(folder / f"{split}.jsonl.gz", "wt") as f:
        f.write("\n".join(lines) + "\n")


def test_a_digit_comes_with_its_strokes_label_writer_and_lab(tmp_path):
    write(tmp_path, "test", [json.dumps(ROW), json.dumps({**ROW, "label": 1, "strokes": [
        [], [[3, 3], [3, 9]]]})])
    first, second = load_unipen(tmp_path, "test")
    assert (first.label, first.writer, first.lab) == (7, "apb-Someone", "apb")
    assert [s.shape for s in first.strokes] == [(3, 2), (2, 2)]
    assert first.strokes[0].dtype == np.float64
    assert len(second.strokes) == 1  # the empty stroke is left out


@pytest.mark.parametrize("line, words", [
    ("not json", "line 2, is not a UNIPEN digit"),
    (json.dumps({**ROW, "label": 12}), "line 2"),
    (json.dumps({**ROW, "strokes": [[1, 2, 3]]}), "line 2"),
    (json.dumps({k: v for k, v in ROW.items() if k != "writer"}), "line 2"),
])
def test_a_damaged_line_is_named(tmp_path, line, words):
    write(tmp_path, "train", [json.dumps(ROW), line])
    with pytest.raises(ValueError, match=words):
        load_unipen(tmp_path, "train")


def test_a_truncated_file_and_a_missing_one_are_named(tmp_path):
    write(tmp_path, "train", [json.dumps(ROW)] * 50)
    path = tmp_path / "train.jsonl.gz"
    path.write_bytes(path.read_bytes()[:60])
    with pytest.raises(ValueError, match="cannot be read"):
        load_unipen(tmp_path, "train")
    with pytest.raises(FileNotFoundError, match="UNIPEN_DIR"):
        load_unipen(tmp_path, "test")
    with pytest.raises(ValueError, match="unknown UNIPEN split"):
        load_unipen(tmp_path, "validation")


def test_the_folder_comes_from_the_argument_then_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("UNIPEN_DIR", str(tmp_path))
    assert resolve_unipen_dir("/from/arg") == Path("/from/arg")
    assert resolve_unipen_dir(None) == tmp_path
    monkeypatch.delenv("UNIPEN_DIR")
    monkeypatch.chdir(tmp_path)  # neither data/unipen nor ../shared/unipen here
    assert resolve_unipen_dir(None) is None


def test_the_real_files_hold_the_writers_the_readme_promises(unipen_dir):
    train, test = load_unipen(unipen_dir, "train"), load_unipen(unipen_dir, "test")
    assert (len(train), len(test)) == (13_028, 2_438)
    assert len({d.writer for d in train}) == 200 and len({d.writer for d in test}) == 58
    assert not {d.writer for d in train} & {d.writer for d in test}  # split by writer
    assert np.bincount([d.label for d in test], minlength=10).tolist() == [
        251, 273, 254, 247, 264, 237, 213, 236, 229, 234]


def test_held_out_folds_split_the_writers_into_disjoint_shares_of_about_equal_size():
    writers = [f"lab-writer{i}" for i in range(400)]
    folds = [{w for w in writers if is_held_out(w, f"{k}/4")} for k in range(4)]
    assert set().union(*folds) == set(writers) and sum(map(len, folds)) == 400  # disjoint
    assert all(70 <= len(fold) <= 130 for fold in folds)
    validation = [w for w in writers if is_held_out(w)]  # train.py's default: one in seven
    assert 35 <= len(validation) <= 80 and validation == [w for w in writers
                                                          if is_held_out(w, "0/7")]


@pytest.mark.parametrize("spec", ["4/4", "-1/4", "1", "a/b", "1/0", ""])
def test_a_bad_holdout_says_what_is_expected(spec):
    with pytest.raises(ValueError, match="expected K/N with 0 <= K < N"):
        parse_holdout(spec)


def test_split_writers_leaves_out_the_noisy_lab_and_splits_by_the_holdout():
    digits = [PenDigit((np.zeros((2, 2)),), 1, f"{lab}-w{i}", lab)
              for i in range(40) for lab in ("apb", "ibm")]
    kept, held = split_writers(digits, "1/3")
    assert not any(d.lab == "ibm" for d in kept + held) and len(kept) + len(held) == 40
    assert all(is_held_out(d.writer, "1/3") for d in held)
    assert not any(is_held_out(d.writer, "1/3") for d in kept)
