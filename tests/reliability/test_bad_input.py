"""Malformed workspace files end in a DataError that names the file, line and column
(or, for an absent table, a documented no_data KPI), never another exception and never
a number computed from silently skipped rows."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nexus_agents.config import load_config
from nexus_agents.data.workspace import Workspace
from nexus_agents.exceptions import DataError
from nexus_agents.tools.kpis import compute_kpis, last_complete_month

SUBSCRIPTIONS = ["month,customer_id,mrr"] + [
    f"2026-0{m},c{c:03d},{10 * c + m}.00" for m in range(1, 7) for c in range(1, 6)
]
USERS = ["user_id,signup_at,activated_at,channel"] + [
    f"u{i:03d},2026-03-{i % 28 + 1:02d}T10:00:00,,ads" for i in range(1, 31)
]
BAD = {
    "month": ["", "2026-13", "26-01", "January", "2026/01", "2026-1x", "2026-00"],
    "mrr": ["-1", "-0.01", "abc", '"1,5"', "", "nan", "inf", "-inf", "1e400", "NaN"],
    "signup_at": [
        "",
        "yesterday",
        "2026-02-30T10:00:00",
        "2026-13-01",
        "12/01/2026",
        "2026-03-01T25:00",
    ],
    "customer_id": [""],
    "user_id": [""],
}
TABLE_OF = {
    "month": "subscriptions",
    "mrr": "subscriptions",
    "customer_id": "subscriptions",
    "signup_at": "users",
    "user_id": "users",
}
LINES_OF = {"subscriptions": SUBSCRIPTIONS, "users": USERS}


def workspace_with(files: dict[str, str | bytes]) -> Workspace:
    root = Path(tempfile.mkdtemp(prefix="nexus-bad-input-"))
    (root / "data").mkdir()
    for name, content in files.items():
        path = root / "data" / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return Workspace(root, load_config(root, env={}))


def load(ws: Workspace, table: str) -> None:
    ws.connect([table]).close()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_one_corrupted_cell_is_reported_with_file_line_and_column(data: st.DataObject) -> None:
    column = data.draw(st.sampled_from(sorted(BAD)))
    table = TABLE_OF[column]
    lines = list(LINES_OF[table])
    header = lines[0].split(",")
    row = data.draw(st.integers(min_value=1, max_value=len(lines) - 1))
    cells = lines[row].split(",")
    cells[header.index(column)] = data.draw(st.sampled_from(BAD[column]))
    lines[row] = ",".join(cells)
    ws = workspace_with({f"{table}.csv": "\n".join(lines) + "\n"})
    with pytest.raises(DataError) as caught:
        load(ws, table)
    err = caught.value
    assert err.file.endswith(f"{table}.csv")
    assert err.line == row + 1  # the header is line 1
    assert err.column == column


CASES: dict[str, tuple[str, bytes | str, int | None, str | None]] = {
    # name: (file, content, expected line, expected column)
    "missing column": ("subscriptions.csv", "month,customer_id\n2026-01,c1\n", 1, "mrr"),
    "extra field in a row": (
        "subscriptions.csv",
        "month,customer_id,mrr\n2026-01,c1,5,9\n",
        2,
        None,
    ),
    "short row": (
        "subscriptions.csv",
        "month,customer_id,mrr\n2026-01,c1,5\n2026-02,c1\n",
        3,
        None,
    ),
    "latin-1 bytes": (
        "users.csv",
        b"user_id,signup_at,activated_at,channel\nu1,2026-03-01T10:00:00,,ads\n"
        + "u2,2026-03-02T10:00:00,,caf\xe9\n".encode("latin-1"),
        3,
        None,
    ),
    "negative count": (
        "nps.csv",
        "responded_at,user_id,score,comment\n2026-03-01T10:00:00,u1,-3,\n",
        2,
        "score",
    ),
    "score out of range": (
        "nps.csv",
        "responded_at,user_id,score,comment\n2026-03-01T10:00:00,u1,11,\n",
        2,
        "score",
    ),
    "huge field": (
        "subscriptions.csv",
        "month,customer_id,mrr\n2026-01,c1," + "9" * 200_000 + "x\n",
        2,
        "mrr",
    ),
    "header only, no newline, wrong names": ("users.csv", "id;signup;activated", 1, None),
    "jsonl wrong type": (
        "feedback.jsonl",
        '{"id": "F1", "source": "web", "created_at": "2026-03-01T10:00:00", "text": "ok"}\n'
        '{"id": "F2", "source": "web", "created_at": "2026-03-01T10:00:00", "text": "ok", "rating": "five"}\n',
        2,
        "rating",
    ),
    "jsonl not json": ("feedback.jsonl", '{"id": "F1"\n', 1, None),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_hand_made_malformed_files(name: str) -> None:
    file, content, line, column = CASES[name]
    ws = workspace_with({file: content})
    with pytest.raises(DataError) as caught:
        load(ws, file.split(".")[0])
    err = caught.value
    assert err.file.endswith(file), str(err)
    assert err.line == line, str(err)
    if column is not None:
        assert err.column == column, str(err)
    assert "\n" not in str(err) and len(str(err)) < 400


def test_an_empty_file_is_a_clear_error_or_no_rows() -> None:
    ws = workspace_with({"subscriptions.csv": ""})
    try:
        load(ws, "subscriptions")
    except DataError as err:
        assert err.file.endswith("subscriptions.csv")


@pytest.fixture
def demo_ws(workspace: Path) -> Callable[[], Workspace]:
    return lambda: Workspace(workspace, load_config(workspace, env={}))


def test_compute_kpis_raises_on_one_corrupted_row_instead_of_skipping_it(
    workspace: Path, demo_ws: Callable[[], Workspace]
) -> None:
    ws = demo_ws()
    month = last_complete_month(ws.now())
    before = compute_kpis(ws, month, ws.now())
    assert before.by_key()["ltv_cac"].status != "no_data"  # a sane baseline
    path = workspace / "data" / "subscriptions.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    target = next(i for i, text in enumerate(lines) if text.startswith(month.label[:7]))
    cells = lines[target].split(",")
    cells[2] = "12O.00"  # a letter O in a number
    lines[target] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataError) as caught:
        compute_kpis(demo_ws(), month, ws.now())
    assert caught.value.line == target + 1 and caught.value.column == "mrr"


def test_a_missing_table_is_no_data_not_a_zero(
    workspace: Path, demo_ws: Callable[[], Workspace]
) -> None:
    (workspace / "data" / "subscriptions.csv").unlink()
    ws = demo_ws()
    report = compute_kpis(ws, last_complete_month(ws.now()), ws.now())
    ltv_cac = report.by_key()["ltv_cac"]
    assert ltv_cac.status == "no_data" and ltv_cac.value is None
    assert "subscriptions.csv" in ltv_cac.detail


@pytest.mark.parametrize("cell", ["1_000", "1,5", "nan", "inf", "0x10", "5e"])
def test_numbers_outside_plain_decimal_notation_are_rejected(tmp_path: Path, cell: str) -> None:
    from nexus_agents.data.rows import subscription_rows

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "subscriptions.csv").write_text(
        f'month,customer_id,mrr\n2026-10,c1,100\n2026-10,c2,"{cell}"\n', encoding="utf-8"
    )
    with pytest.raises(DataError) as err:
        subscription_rows(Workspace(tmp_path))
    assert (err.value.line, err.value.column) == (3, "mrr")
