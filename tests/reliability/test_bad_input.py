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


# --- impossible values, overflows, hostile sizes and line endings (issue 19, item 8) -------

USERS_HEADER = "user_id,signup_at,activated_at,channel\n"
FINANCE_HEADER = "month,kind,category,amount,budget\n"


@pytest.mark.parametrize(
    ("file", "content", "line", "column", "fragment"),
    [
        (
            "users.csv",
            USERS_HEADER + "u1,2026-03-01T10:00:00,2026-03-01T11:00:00,ads\n"
            "u2,2026-03-02T10:00:00,2026-03-01T09:00:00,ads\n",
            3,
            "activated_at",
            "activated_at is before signup_at",
        ),
        (
            "finance.csv",
            FINANCE_HEADER + "2026-03,revenue,sales,1000,\n2026-03,cost,hosting,-250,\n",
            3,
            "amount",
            "must be >= 0",
        ),
        (
            "finance.csv",
            FINANCE_HEADER + "2026-03,revenue,sales,1e308,\n",
            2,
            "amount",
            "<= 1e+15",
        ),
        (
            "finance.csv",
            FINANCE_HEADER + "2026-03,cost,hosting,10,-5\n",
            2,
            "budget",
            "must be >= 0",
        ),
        (
            "experiments.csv",
            "experiment_id,variant,exposures,conversions,started_on,ended_on\n"
            "e1,control,10,1,2026-03-10,2026-03-01\n",
            2,
            "ended_on",
            "ended_on is before started_on",
        ),
    ],
)
def test_impossible_values_are_errors_naming_file_line_and_column(
    file: str, content: str, line: int, column: str, fragment: str
) -> None:
    ws = workspace_with({file: content})
    with pytest.raises(DataError) as caught:
        load(ws, file.split(".")[0])
    err = caught.value
    assert (err.file, err.line, err.column) == (f"data/{file}", line, column), str(err)
    assert fragment in str(err)


def test_a_ratio_that_overflows_is_na_with_the_reason_never_inf() -> None:
    from nexus_agents.periods import parse_period
    from nexus_agents.tools.kpis import compute_kpi

    # both amounts are allowed; their ratio is not a float (100 x 1e15 / 1e-300)
    ws = workspace_with(
        {"finance.csv": FINANCE_HEADER + "2026-03,revenue,sales,1e15,\n2026-03,cost,fees,1e-300,\n"}
    )
    roi = compute_kpi(ws, "portfolio_roi", parse_period("2026-03"), ws.now())
    assert roi.value is None and roi.status == "no_data"
    assert roi.detail.startswith("n/a: value not a finite number")
    assert "inf" not in roi.model_dump_json().lower()
    assert roi.to_kpi_value().meets_target is None


def test_tool_ratios_that_overflow_are_none_with_a_reason() -> None:
    from nexus_agents.tools.finance import UnitEconomicsInput, unit_economics

    out = unit_economics(
        UnitEconomicsInput(cac=1e-300, arpa=1e15, gross_margin=1, monthly_churn=1e-300)
    )
    assert out.ltv is None and out.ltv_to_cac is None
    assert any("LTV is too large" in r for r in out.reasons)
    with pytest.raises(ValueError):
        UnitEconomicsInput(cac=float("inf"), arpa=1, gross_margin=0.5)


def test_mixed_line_endings_read_fine() -> None:
    content = (
        USERS_HEADER.encode()
        + b"u1,2026-03-01T10:00:00,,ads\n"
        + b"u2,2026-03-01T10:00:00,,ads\r\n"  # one CRLF row appended to an LF file
        + b'u3,2026-03-01T10:00:00,,"two\r\nlines"\n'
    )
    ws = workspace_with({"users.csv": content})
    with ws.connect(["users"]) as conn:
        rows = conn.execute("SELECT user_id, channel FROM users").fetchall()
    assert rows == [("u1", "ads"), ("u2", "ads"), ("u3", "two\r\nlines")]


def test_mixed_line_endings_with_a_broken_row_name_its_line() -> None:
    content = (
        USERS_HEADER.encode()
        + b"u1,2026-03-01T10:00:00,,ads\r\n"
        + b"u2,2026-03-01T10:00:00,,ads\n"
        + b"u3,2026-03-01T10:00:00\n"  # too few fields
    )
    ws = workspace_with({"users.csv": content})
    with pytest.raises(DataError) as caught:
        load(ws, "users")
    assert caught.value.line == 4 and "expected 4 fields, found 2" in str(caught.value)


@pytest.mark.parametrize("quoted", [False, True])
def test_a_50_mb_field_of_commas_is_refused_with_its_line_in_bounded_memory(
    quoted: bool,
) -> None:
    import tracemalloc

    field = "," * 50_000_000
    ws = workspace_with(
        {
            "users.csv": USERS_HEADER
            + "u1,2026-03-01T10:00:00,,ads\n"
            + "u2,2026-03-01T10:00:00,,"
            + (f'"{field}"' if quoted else field)
            + "\n"
        }
    )
    tracemalloc.start()
    try:
        with pytest.raises(DataError) as caught:
            load(ws, "users")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert caught.value.line == 3 and "limit for one record" in str(caught.value)
    assert peak < 64 * 2**20  # Python-side; DuckDB never sees the line


def test_a_long_json_lines_line_is_refused_with_its_line() -> None:
    text = '{"id": "F1", "source": "web", "created_at": "2026-03-01T10:00:00", "text": "ok"}\n'
    huge = '{"id": "F2", "source": "web", "created_at": "2026-03-01", "text": "' + "x" * 2**21
    ws = workspace_with({"feedback.jsonl": text + huge + '"}\n'})
    with pytest.raises(DataError) as caught:
        load(ws, "feedback")
    assert caught.value.line == 2 and "limit for one record" in str(caught.value)


def test_a_file_over_the_configured_size_is_refused(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "nexus.toml").write_text("[data]\nmax_file_mb = 1\n", encoding="utf-8")
    rows = "".join(f"u{i},2026-03-01T10:00:00,,ads\n" for i in range(60_000))
    (tmp_path / "data" / "users.csv").write_text(USERS_HEADER + rows, encoding="utf-8")
    with pytest.raises(DataError) as caught:
        load(Workspace(tmp_path, load_config(tmp_path, env={})), "users")
    assert caught.value.file == "data/users.csv" and "max_file_mb" in str(caught.value)


def test_a_month_with_revenue_but_no_cost_is_flagged_in_the_roi_detail() -> None:
    from nexus_agents.periods import parse_period
    from nexus_agents.tools.kpis import compute_kpi

    ws = workspace_with(
        {
            "finance.csv": FINANCE_HEADER + "2026-01,revenue,sales,100,\n2026-01,cost,fees,50,\n"
            "2026-02,revenue,sales,120,\n"
        }
    )
    roi = compute_kpi(ws, "portfolio_roi", parse_period("2026-Q1"), ws.now())
    assert roi.value == pytest.approx(340.0)  # (220 - 50) / 50: February's cost is missing
    assert "warning: 2026-02 has revenue but no cost rows" in roi.detail
