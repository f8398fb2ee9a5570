"""Fuzzing the OTB ground-truth and result parsers: whatever the bytes, the only thing that
may escape is the clear InputError naming the file; well-formed files parse exactly, and the
fast C path never disagrees with the strict line-by-line reader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pul_bench.benchmarks import get_benchmark
from pul_bench.datasets import otb
from pul_bench.datasets.otb import OTBSequence, load_otb, read_boxes
from pul_bench.errors import InputError, PulBenchError
from pul_bench.io import read_table
from pul_bench.results import read_otb_results

FUZZ = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])

# Bytes close to real box files, so that the fuzzer reaches the interesting paths.
NUMERICISH = st.lists(st.sampled_from(
    [b"0", b"1", b"7", b"-", b"+", b".", b"e", b"E", b",", b";", b"\t", b" ", b"\n", b"\r\n",
     b"\r", b"nan", b"NaN", b"inf", b"x", b"\xef\xbb\xbf", b"\x00", b"\xff", b"_", b"\x0c",
     b"\xc2\xa0", b"1,2,3,4\n", b"12.5\t3\t4\t5\r\n"]), max_size=40).map(b"".join)
ANY_BYTES = st.one_of(st.binary(max_size=200), NUMERICISH)
# Nearly valid tables: mostly 4 cells a row of odd but valid number spellings, sometimes a
# bad cell or a wrong count; odd separators and line ends.
VALID = ["1", "-2.5", "1e3", "nan", "NaN", "-nan", "inf", "-inf", "Infinity", "1.", ".5", "+3",
         "nAn", "iNf", "1E-2", "00", "-0"]
TOKENS = st.sampled_from(VALID * 4 + ["1e", "e5", "--1", "1.2.3", "0x10", "1_0"])
ROWS = st.one_of(*[st.lists(TOKENS, min_size=4, max_size=4)] * 8,
                 st.lists(TOKENS, min_size=3, max_size=5))
TABLES = st.builds(
    lambda rows, sep, eol, tail: eol.join(sep.join(r) for r in rows) + tail,
    st.lists(ROWS, max_size=6),
    st.sampled_from([",", "\t", " ", ";", ", ", " ,"]),
    st.sampled_from(["\n", "\r\n", "\n", "\r", "\n\n"]),
    st.sampled_from(["", "\n", "\r\n", "\n\n  \n"]),
).map(str.encode)


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@FUZZ
@given(content=ANY_BYTES)
def test_box_reader_raises_only_input_error(work: Path, content: bytes) -> None:
    f = work / "groundtruth_rect.txt"
    f.write_bytes(content)
    try:
        boxes = read_boxes(f)
    except InputError as e:
        assert e.path == f
        return
    assert boxes.ndim == 2 and boxes.shape[1] == 4 and len(boxes) >= 1
    assert boxes.dtype == np.float64


@FUZZ
@given(content=st.one_of(TABLES, NUMERICISH))
def test_fast_path_agrees_with_the_strict_reader(work: Path, content: bytes) -> None:
    f = work / "boxes.txt"
    f.write_bytes(content)
    fast = otb._read_boxes_fast(f, allow_nan=True)
    if fast is None:
        return
    np.testing.assert_array_equal(fast, read_table(f, 4, allow_nan=True))


finite = st.floats(allow_nan=False, allow_infinity=False, width=64, min_value=-1e6,
                   max_value=1e6)


@FUZZ
@given(rows=st.lists(st.lists(finite, min_size=4, max_size=4), min_size=1, max_size=30),
       sep=st.sampled_from([",", "\t", " ", ";", ", ", "  "]),
       eol=st.sampled_from(["\n", "\r\n"]), final_eol=st.booleans())
def test_well_formed_files_parse_exactly(work: Path, rows: list[list[float]], sep: str,
                                         eol: str, final_eol: bool) -> None:
    f = work / "good.txt"
    text = eol.join(sep.join(repr(v) for v in r) for r in rows) + (eol if final_eol else "")
    f.write_text(text, newline="")
    np.testing.assert_array_equal(read_boxes(f), np.array(rows))


def _sequence(n: int) -> OTBSequence:
    gt = np.tile([10.0, 20.0, 30.0, 40.0], (n, 1))
    return OTBSequence(name="Seq", groundtruth=gt, valid=np.ones(n, bool))


@FUZZ
@given(content=ANY_BYTES, n=st.integers(1, 4))
def test_result_reader_raises_only_input_error(work: Path, content: bytes, n: int) -> None:
    d = work / "Tracker"
    d.mkdir(exist_ok=True)
    (d / "seq.txt").write_bytes(content)
    try:
        boxes, lacking = read_otb_results(d, [_sequence(n)])
    except InputError as e:
        assert e.path == d / "seq.txt"
        return
    assert lacking == [] and boxes["Seq"].shape == (n, 4)


@FUZZ
@given(anno=ANY_BYTES, att=ANY_BYTES)
@pytest.mark.slow
def test_annotation_root_raises_only_clear_errors(work: Path, anno: bytes, att: bytes) -> None:
    root = work / "root"
    (root / "anno").mkdir(parents=True, exist_ok=True)
    (root / "anno_att").mkdir(exist_ok=True)
    (root / "anno" / "Tiger1.txt").write_bytes(anno)
    (root / "anno_att" / "Tiger1.txt").write_bytes(att)
    try:
        seqs, missing = load_otb(get_benchmark("otb"), root)
    except PulBenchError as e:  # InputError included
        assert "Tiger1.txt" in str(e)
        return
    assert missing == [] and len(seqs[0]) == len(seqs[0].valid) >= 1
