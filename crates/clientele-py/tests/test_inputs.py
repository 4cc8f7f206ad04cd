"""Inputs from every Arrow producer, zero-copy import, and clean errors on bad input."""
import datetime as dt
import json
import warnings

import numpy as np
import pyarrow as pa
import pytest

import clientele
from clientele import _native
from conftest import CALIBRATION_END


def summary_of(data, **kw):
    return clientele.summary(data, CALIBRATION_END, time_unit="week", **kw).sort_by("customer_id")


def test_pyarrow_polars_pandas_batches_and_dicts_agree(cdnow_events):
    pl = pytest.importorskip("polars")
    reference = summary_of(cdnow_events)
    inputs = {
        "pyarrow batch": cdnow_events.combine_chunks().to_batches()[0],
        "pyarrow reader": pa.RecordBatchReader.from_batches(cdnow_events.schema, cdnow_events.to_batches(max_chunksize=1000)),
        "pyarrow chunked table": pa.Table.from_batches(cdnow_events.to_batches(max_chunksize=777)),
        "polars": pl.from_arrow(cdnow_events),
        "pandas": cdnow_events.to_pandas(),
        "dict": {name: cdnow_events[name] for name in cdnow_events.column_names},
    }
    for name, data in inputs.items():
        got = summary_of(data)
        assert got.equals(reference), name


def test_duckdb_result(cdnow_events):
    duckdb = pytest.importorskip("duckdb")
    rel = duckdb.from_arrow(cdnow_events)
    assert summary_of(rel).equals(summary_of(cdnow_events))


def test_import_copies_no_buffer(cdnow_events):
    """The engine sees the very buffers pyarrow holds (the PyCapsule import is zero-copy)."""
    table = cdnow_events.combine_chunks()
    seen = dict(_native.buffer_addresses(table))
    for name in table.column_names:
        chunk = table[name].chunks[0]
        theirs = [b.address for b in chunk.buffers() if b is not None]
        assert [a for a in seen[name] if a] == theirs or seen[name] == theirs[1:], (name, seen[name], theirs)
        # the values buffer, at least, is shared
        assert theirs[-1] in seen[name], name


def test_polars_import_is_zero_copy():
    pl = pytest.importorskip("polars")
    df = pl.DataFrame({"x": np.arange(1000, dtype=np.float64)})
    address = df["x"].to_arrow().buffers()[1].address
    seen = dict(_native.buffer_addresses(df))
    assert address in seen["x"]


def test_column_mapping_and_purchase_type(cdnow_events):
    renamed = cdnow_events.rename_columns(["user", "ts", "kind", "value"])
    renamed = renamed.set_column(2, "kind", pa.array(["order"] * renamed.num_rows))
    got = summary_of(renamed, columns={"customer_id": "user", "event_time": "ts", "event_type": "kind",
                                       "amount": "value"}, purchase_type="order")
    cols = ["customer_id", "frequency", "recency", "T", "monetary_value"]
    assert got.select(cols).equals(summary_of(cdnow_events).select(cols))


def test_window_travels_with_the_summary(cdnow_events):
    s = clientele.summary(cdnow_events, dt.date(1997, 9, 30), time_unit="week")
    window = json.loads(s.schema.metadata[b"clientele.window"])
    assert window["time_unit"] == "week"
    m = clientele.fit(s, "bgnbd")  # no time_unit needed: the table says it
    assert m.window["time_unit"] == "week"
    # a pandas copy has lost the metadata: CLV refuses to guess the unit
    with pytest.raises(clientele.ClienteleError, match="time_unit"):
        clientele.clv(s.to_pandas(), monthly_discount=0.01)


def test_missing_column_is_a_clean_error(cdnow_events):
    with pytest.raises(clientele.ClienteleError) as e:
        clientele.summary(cdnow_events.drop_columns(["customer_id"]), CALIBRATION_END)
    assert "customer_id" in str(e.value)
    assert e.value.kind == "MissingColumn"
    assert isinstance(e.value, ValueError)


def test_bad_parameters_are_clean_errors(cdnow_events):
    with pytest.raises(clientele.ClienteleError, match="not a date"):
        clientele.summary(cdnow_events, "30/09/1997")
    with pytest.raises(clientele.ClienteleError, match="time_unit"):
        clientele.summary(cdnow_events, CALIBRATION_END, time_unit="fortnight")
    with pytest.raises(clientele.ClienteleError, match="unknown model"):
        clientele.fit(summary_of(cdnow_events), "pareto")
    with pytest.raises(clientele.ClienteleError, match="unknown role"):
        clientele.summary(cdnow_events, CALIBRATION_END, columns={"user": "customer_id"})
    with pytest.raises(clientele.ClienteleError) as e:
        clientele.summary(cdnow_events, CALIBRATION_END, observation_end="1997-01-01")
    assert e.value.kind == "InvalidParameter"
    with pytest.raises(TypeError, match="expected an Arrow table"):
        clientele.summary([1, 2, 3], CALIBRATION_END)
    m = clientele.Model.from_params("bgnbd", r=0.243, alpha=4.414, a=0.793, b=2.426)
    with pytest.raises(clientele.ClienteleError, match="differ in length"):
        m.p_alive([1, 2], [1, 2], [3])
    with pytest.raises(clientele.ClienteleError):
        m.p_alive([-1.0], [0.0], [10.0])
    with pytest.raises(clientele.ClienteleError, match="not a BG/NBD parameter"):
        clientele.Model.from_params("bgnbd", r=1, alpha=1, a=1, b=1, s=1)
    with pytest.raises(clientele.ClienteleError):
        clientele.Model.from_params("bgnbd", r=-1, alpha=1, a=1, b=1)
    with pytest.raises(clientele.ClienteleError, match="Gamma-Gamma"):
        m.expected_spend([1.0], [10.0])


def test_rejected_rows_are_reported_not_dropped(cdnow_events):
    bad = pa.table({
        "customer_id": pa.array([1, None, 3], pa.int64()),
        "event_time": pa.array([dt.datetime(1997, 1, 1)] * 3, pa.timestamp("us", tz="UTC")),
        "event_type": ["purchase"] * 3,
        "amount": [10.0, 20.0, 30.0],
    })
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        s = clientele.summary(pa.concat_tables([cdnow_events, bad]), CALIBRATION_END, time_unit="week")
    rejected = [w for w in caught if issubclass(w.category, clientele.RejectedRowsWarning)]
    assert len(rejected) == 1
    report = rejected[0].message.report
    assert report["rows_rejected"] == 1
    assert report["rows_read"] == report["rows_accepted"] + report["rows_rejected"] == cdnow_events.num_rows + 3
    assert "1 of 6922 input rows rejected" in str(rejected[0].message)
    assert s.num_rows == 2357 + 2


def test_text_keys_are_named_and_null_markers_are_missing_keys():
    def events(keys):
        return pa.table({
            "customer_id": pa.array(keys, pa.string()),
            "event_time": pa.array([dt.datetime(1997, 1, 1)] * len(keys), pa.timestamp("us", tz="UTC")),
            "event_type": ["purchase"] * len(keys),
            "amount": [10.0] * len(keys),
        })
    # "NULL" among integer keys: a rejected row, and the keys stay integers
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        s = clientele.summary(events(["1", "NULL", "2"]), CALIBRATION_END, time_unit="week")
    assert pa.types.is_int64(s.schema.field("customer_id").type)
    assert [w.category for w in caught] == [clientele.RejectedRowsWarning]
    assert caught[0].message.report["rejected_by_reason"] == {"null_customer_id": 1}
    # "1.5" among integer keys: strings, and a warning that says why
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        s = clientele.summary(events(["1", "1.5", "2"]), CALIBRATION_END, time_unit="week")
    assert pa.types.is_string(s.schema.field("customer_id").type)
    typing = [w for w in caught if issubclass(w.category, clientele.KeyTypingWarning)]
    assert len(typing) == 1
    assert '1 of 3 distinct keys are not integers (e.g. "1.5")' in str(typing[0].message)
    assert typing[0].message.report["key_typing"]["typed_as"] == "string"


def test_model_json_round_trip(cdnow_events):
    s = clientele.summary(cdnow_events, CALIBRATION_END, time_unit="week")
    m = clientele.fit(s, "pnbd")
    back = clientele.Model.from_json(m.to_json())
    assert back.params == m.params
    assert back.standard_errors == m.standard_errors
    assert back.window == m.window
    x = s["frequency"]
    np.testing.assert_array_equal(back.p_alive(x, s["recency"], s["T"]), m.p_alive(x, s["recency"], s["T"]))
    table = m.summary()
    assert table.column_names == ["param", "coef", "se(coef)", "lower 95% bound", "upper 95% bound"]
    assert table["param"].to_pylist() == ["r", "alpha", "s", "beta"]


def test_long_calls_release_the_gil():
    """Another Python thread runs while the engine computes (the call releases the GIL)."""
    import threading
    import time

    n = 3_000_000
    rng = np.random.default_rng(1)
    events = pa.table({
        "customer_id": pa.array(rng.integers(0, 300_000, n), pa.int64()),
        "event_time": pa.array(rng.integers(0, 365 * 86400 * 10**6, n), pa.int64()).cast(pa.timestamp("us", tz="UTC")),
        "event_type": pa.array(["purchase"] * n),
        "amount": pa.array(rng.uniform(1, 100, n)),
    })
    done = threading.Event()
    started = time.perf_counter()

    def work():
        clientele.summary(events, "1970-12-31", threads=1)
        done.set()

    t = threading.Thread(target=work)
    t.start()
    ticks = 0
    while not done.is_set():
        ticks += 1
        time.sleep(0.001)
    t.join()
    elapsed = time.perf_counter() - started
    # with the GIL held for the whole call the loop would tick at most a few times
    assert elapsed < 0.05 or ticks > 0.2 * elapsed / 0.0011, (ticks, elapsed)


def test_paths_are_read_by_the_engine(tmp_path, rfm_events, cdnow_events):
    """A Parquet or CSV path gives the same summary as the table (the CLI's readers)."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    cols = ["customer_id", "frequency", "recency", "T", "monetary_value"]
    parquet = tmp_path / "events.parquet"
    pq.write_table(rfm_events, parquet)
    from_table = clientele.summary(rfm_events, "2025-06-30", time_unit="week").sort_by("customer_id")
    for path in [parquet, str(parquet)]:
        from_path = clientele.summary(path, "2025-06-30", time_unit="week").sort_by("customer_id")
        assert from_path.select(cols).equals(from_table.select(cols))
    csv = tmp_path / "cdnow.csv"
    pacsv.write_csv(cdnow_events, csv)
    assert summary_of(str(csv)).select(cols).equals(summary_of(cdnow_events).select(cols))
    with pytest.raises(clientele.ClienteleError):
        clientele.summary(tmp_path / "missing.parquet", "2025-06-30")
    with pytest.raises(TypeError, match="not a path"):
        clientele.fit(str(parquet))


def test_outputs_do_not_import_pandas():
    """Returning a table must not pull in pandas (pyarrow.table() does, at 0.16 s)."""
    import subprocess
    import sys

    from conftest import RFM_EVENTS

    code = ("import sys, clientele\n"
            f"t = clientele.rfm({RFM_EVENTS!r}, '2025-07-01')\n"
            "assert t.num_rows > 0\n"
            "print('pandas' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "False"
