"""Fixtures shared by the binding tests: the CDNOW sample as an event table (testdata/cdnow)."""
import os

import pyarrow as pa
import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
CDNOW = os.path.join(ROOT, "testdata", "cdnow", "CDNOW_sample.txt")
RFM_EVENTS = os.path.join(ROOT, "testdata", "rfm", "events.parquet")
RFM_GOLDEN = os.path.join(ROOT, "testdata", "rfm", "duckdb_rfm.csv")
CALIBRATION_END = "1997-09-30"


@pytest.fixture(scope="session")
def cdnow_frame():
    """Every CDNOW purchase: customer_id, date, amount (pandas)."""
    import pandas as pd

    df = pd.read_csv(CDNOW, sep=r"\s+", header=None, names=["customer_id", "sample_id", "date", "cds", "amount"])
    df["date"] = pd.to_datetime(df["date"].astype(str), format="%Y%m%d")
    return df[["customer_id", "date", "amount"]]


@pytest.fixture(scope="session")
def cdnow_events(cdnow_frame):
    """The CDNOW purchases as a pyarrow event table in Clientele's column names."""
    n = len(cdnow_frame)
    return pa.table({
        "customer_id": pa.array(cdnow_frame["customer_id"].to_numpy(), pa.int64()),
        "event_time": pa.array(cdnow_frame["date"].to_numpy(), pa.timestamp("us")).cast(pa.timestamp("us", tz="UTC")),
        "event_type": pa.array(["purchase"] * n),
        "amount": pa.array(cdnow_frame["amount"].to_numpy(), pa.float64()),
    })


@pytest.fixture(scope="session")
def rfm_events():
    import pyarrow.parquet as pq

    return pq.read_table(RFM_EVENTS)
