"""Clientele: analytical CRM on Arrow data, from Python.

Customer summaries (lifetimes' ``frequency, recency, T, monetary_value``), RFM scores and value
tiers, BG/NBD, MBG/NBD, Pareto/NBD, BG/BB and Gamma-Gamma models, CLV, churn models and CRM
views, computed by the Clientele engine (Rust, multi-threaded) with the GIL released.

Events and summaries are accepted from anything that speaks the Arrow PyCapsule interface
(pyarrow tables and batches, polars data frames, DuckDB results) without copying, and from
pandas data frames (converted through pyarrow). Results are ``pyarrow.Table`` objects: call
``.to_pandas()`` or ``polars.from_arrow(...)`` on them.

Events may also be given as a path to a Parquet, CSV or Arrow IPC file, which the engine reads
itself exactly as the ``clientele`` CLI does (a single Parquet file is streamed straight from
its columns where the layout allows).

Events need the columns ``customer_id``, ``event_time`` and, for purchases, ``event_type`` and
``amount`` (``columns={"customer_id": "user", ...}`` maps other names). Rows the engine rejects
(a null key, an unparsable time, ...) are skipped and reported in a :class:`RejectedRowsWarning`
that counts them by reason; they are never dropped silently.

Example::

    import clientele, pyarrow.parquet as pq
    events = pq.read_table("events.parquet")
    s = clientele.summary(events, calibration_end="2025-12-31", time_unit="week")
    bgf = clientele.fit(s, "bgnbd")
    ggf = clientele.fit(s, "gg")
    print(bgf.summary().to_pandas())
    alive = bgf.p_alive(s["frequency"], s["recency"], s["T"])
"""
from __future__ import annotations

import datetime as _dt
import json as _json
import os as _os
import sys as _sys
import warnings as _warnings
from collections.abc import Mapping

from typing import TYPE_CHECKING, Any, Optional, Sequence, Union

# pyarrow (and the NumPy it loads) is imported on first use, not here: most of a cold start.
# Annotations are strings (``from __future__ import annotations``); ``_pa.Table`` in them
# resolves for type checkers, and for ``typing.get_type_hints`` once pyarrow is imported.
if TYPE_CHECKING:
    import pyarrow as _pa

DateLike = Union[str, _dt.date, _dt.datetime]

from . import _native
from ._native import ClienteleError, ChurnModel

__version__ = _native.__version__

__all__ = [
    "ClienteleError",
    "RejectedRowsWarning",
    "KeyTypingWarning",
    "Model",
    "Models",
    "ChurnModel",
    "ClvResult",
    "summary",
    "rfm",
    "segments",
    "fit",
    "clv",
    "clv_job",
    "churn_train",
    "churn_score",
    "cohorts",
    "channels",
    "customer360",
    "acquisition",
    "attribution",
    "campaigns",
    "cross_sell",
    "satisfaction",
    "write",
    "report_html",
    "SummaryState",
]

class RejectedRowsWarning(UserWarning):
    """Some input rows were rejected by the engine's validation (counts by reason in the message;
    the full report is the warning's ``report`` attribute)."""

    def __init__(self, message: str, report: dict):
        super().__init__(message)
        self.report = report


class KeyTypingWarning(UserWarning):
    """The customer keys were read as strings because some text keys are not integers while
    others are (the message says how many and which). Null markers such as ``"NULL"`` or
    ``"NA"`` are missing keys (rejected rows), not text keys. The full ingest report is the
    warning's ``report`` attribute."""

    def __init__(self, message: str, report: dict):
        super().__init__(message)
        self.report = report


# -- inputs -------------------------------------------------------------------------------------

def _pyarrow():
    """pyarrow, imported on first use: a job that reads and writes files (:func:`clv_job`) never
    needs it, and its import (with the NumPy it loads) is most of a cold start."""
    import pyarrow

    return pyarrow


def _arrow(data: Any, what: str = "events") -> Any:
    """An object the engine can import through the Arrow PyCapsule interface (or, for events, a
    path the engine reads itself)."""
    if isinstance(data, (str, _os.PathLike)):
        if what != "events":
            raise TypeError(f"{what}: expected an Arrow table, not a path (read it with pyarrow first)")
        return _os.fspath(data)
    if hasattr(data, "__arrow_c_stream__") or hasattr(data, "__arrow_c_array__"):
        # pandas >= 2.2 exports __arrow_c_stream__ too, but drops a meaningful index: go
        # through the pandas branch for pandas frames
        if not _is_pandas(data):
            return data
    if _is_pandas(data):
        import pandas as pd  # noqa: F401  (only when given a pandas frame)

        frame = data
        if not isinstance(frame.index, pd.RangeIndex) or frame.index.name is not None:
            frame = frame.reset_index()
        return _pyarrow().Table.from_pandas(frame, preserve_index=False)
    if isinstance(data, Mapping):
        return _pyarrow().table(dict(data))
    if hasattr(data, "arrow") and callable(data.arrow):  # older DuckDB relations
        return data.arrow()
    raise TypeError(
        f"{what}: expected an Arrow table or batch (pyarrow, polars, DuckDB), a pandas DataFrame "
        f"or a dict of columns, got {type(data).__name__}"
    )


def _is_pandas(data: Any) -> bool:
    return type(data).__module__.split(".")[0] == "pandas" and hasattr(data, "reset_index")


def _date(d: Optional[DateLike], what: str) -> Optional[str]:
    if d is None:
        return None
    if isinstance(d, _dt.datetime):
        return d.date().isoformat()
    if isinstance(d, _dt.date):
        return d.isoformat()
    if isinstance(d, str):
        return d
    raise TypeError(f"{what}: expected a date or an ISO date string, got {type(d).__name__}")


def _numpy():
    """NumPy, imported on first use (60 ms): the jobs never need it, only the model methods."""
    import numpy

    return numpy


def _f64(values: Any, what: str):
    """A contiguous float64 NumPy array from an array-like (NumPy, pyarrow, pandas, polars, list)."""
    _np = _numpy()
    # a pyarrow object exists only if pyarrow was imported: NumPy input never imports it
    pa = _sys.modules.get("pyarrow")
    if pa is not None and isinstance(values, (pa.ChunkedArray, pa.Array)):
        values = values.to_numpy(zero_copy_only=False)
    elif hasattr(values, "to_numpy") and not isinstance(values, _np.ndarray):
        values = values.to_numpy()
    try:
        arr = _np.ascontiguousarray(values, dtype=_np.float64)
    except (TypeError, ValueError) as e:
        raise ClienteleError(f"invalid {what}: {e}") from None
    if arr.ndim != 1:
        raise ClienteleError(f"invalid {what}: expected one value per customer, got shape {arr.shape}")
    return arr


def _vectors(*pairs):
    """(arrays, scalar): 1-D float64 arrays, and whether every input was a scalar."""
    _np = _numpy()
    scalar = all(_np.ndim(v) == 0 and not hasattr(v, "__len__") for v, _ in pairs)
    arrays = [_f64(_np.atleast_1d(v) if scalar else v, name) for v, name in pairs]
    return arrays, scalar


def _out(arr, scalar: bool):
    return float(arr[0]) if scalar else arr


def _warn(report_json: Optional[str]) -> Optional[dict]:
    if report_json is None:
        return None
    report = _json.loads(report_json)
    if report.get("key_typing_warning"):
        _warnings.warn(KeyTypingWarning(report["key_typing_warning"], report), stacklevel=3)
    rejected = report.get("rows_rejected", 0)
    if rejected:
        reasons = ", ".join(f"{k}: {v}" for k, v in report.get("rejected_by_reason", {}).items())
        _warnings.warn(
            RejectedRowsWarning(
                f"{rejected} of {report.get('rows_read')} input rows rejected ({reasons}); "
                f"{report.get('rows_accepted')} accepted",
                report,
            ),
            stacklevel=3,
        )
    return report


# -- models -------------------------------------------------------------------------------------

_LIFETIMES_FREQ = {"W": 4.345, "D": 30.0, "M": 1.0, "H": 30.0 * 24.0}


class Model:
    """A fitted model: BG/NBD (``bgnbd``), MBG/NBD (``mbgnbd``), Pareto/NBD (``pnbd``), BG/BB
    (``bgbb``), Gamma-Gamma (``gg``) or sBG (``sbg``).

    Array arguments take NumPy arrays, pyarrow arrays or columns, pandas or polars series and
    lists; a scalar in gives a scalar out. Methods with lifetimes' names are aliases, so code
    written for ``lifetimes.BetaGeoFitter`` reads the same.
    """

    def __init__(self, native: "_native.Model", fit_info: Optional[dict] = None):
        self._m = native
        self.fit_info = fit_info or {}

    @property
    def kind(self) -> str:
        """``bgnbd``, ``mbgnbd``, ``pnbd``, ``bgbb``, ``gg`` or ``sbg``."""
        return self._m.kind

    @property
    def params(self) -> dict:
        """The estimates by name (``r, alpha, a, b`` for BG/NBD; ``p, q, gamma`` for Gamma-Gamma)."""
        return dict(self._m.params)

    @property
    def params_(self) -> dict:
        """lifetimes' name for :attr:`params` (Gamma-Gamma's ``gamma`` is also given as ``v``)."""
        p = self.params
        if self.kind == "gg":
            p["v"] = p["gamma"]
        return p

    @property
    def diagnostics(self) -> Optional[dict]:
        """How the fit went: log-likelihood, iterations, gradient norm, convergence, standard
        errors, Hessian condition, boundary parameters and a note (``None`` for a model built from
        given parameters)."""
        j = self._m.diagnostics_json()
        return None if j is None else _json.loads(j)

    @property
    def standard_errors(self) -> dict:
        """Standard errors by parameter (``None`` where the Hessian gives none)."""
        d = self.diagnostics or {}
        se = d.get("standard_errors") or [None] * len(self.params)
        return dict(zip(self.params, se))

    @property
    def log_likelihood(self) -> Optional[float]:
        d = self.diagnostics
        return None if d is None else d["log_likelihood"]

    @property
    def converged(self) -> Optional[bool]:
        """True only for a proper maximum (converged, off every boundary, every standard error exists)."""
        d = self.diagnostics
        return None if d is None else bool(d.get("identified", d.get("converged")))

    @property
    def window(self) -> Optional[dict]:
        """How the fitted summary was prepared (calibration end, period, time unit), if known."""
        j = self._m.window_json()
        return None if j is None else _json.loads(j)

    def summary(self) -> _pa.Table:
        """``param, coef, se(coef), lower 95% bound, upper 95% bound`` (lifetimes' columns)."""
        return self._m.summary()

    def intervals(self, level: float = 0.95) -> _pa.Table:
        """``param, estimate, se, lower, upper``: confidence intervals at ``level`` on the log
        scale, exp(ln p ± z·se/p), which stay positive (lifetimes' ``summary`` bounds are
        p ± 1.96·se); null bounds for a model without a covariance (given by hand)."""
        return self._m.intervals(level)

    def p_alive(self, frequency, recency, T):
        """P(alive | x, t_x, T) per customer."""
        (x, tx, t), scalar = _vectors((frequency, "frequency"), (recency, "recency"), (T, "T"))
        return _out(self._m.p_alive(x, tx, t), scalar)

    conditional_probability_alive = p_alive

    def predict(self, t: float, frequency, recency, T):
        """E[Y(t) | x, t_x, T]: expected purchases in the next ``t`` time units."""
        (x, tx, tc), scalar = _vectors((frequency, "frequency"), (recency, "recency"), (T, "T"))
        return _out(self._m.predict(float(t), x, tx, tc), scalar)

    def conditional_expected_number_of_purchases_up_to_time(self, t, frequency, recency, T):
        return self.predict(t, frequency, recency, T)

    def expected_purchases(self, t: float) -> float:
        """E[X(t)]: expected purchases of a new customer in ``t`` time units."""
        return self._m.expected_purchases(float(t))

    expected_number_of_purchases_up_to_time = expected_purchases

    def probability_of_purchases(self, t: float, n: int) -> float:
        """P(X(t) = n) for a new customer."""
        return self._m.probability_of_purchases(float(t), int(n))

    def expected_spend(self, frequency, monetary_value):
        """Gamma-Gamma: E[M | x, m̄] (one-time buyers get the population mean)."""
        (x, m), scalar = _vectors((frequency, "frequency"), (monetary_value, "monetary_value"))
        return _out(self._m.expected_spend(x, m), scalar)

    conditional_expected_average_profit = expected_spend

    def customer_lifetime_value(self, transaction_prediction_model: "Model", frequency, recency, T,
                                monetary_value, time: int = 12, discount_rate: float = 0.01,
                                freq: str = "D"):
        """Gamma-Gamma: CLV per customer over ``time`` months discounted at ``discount_rate`` a
        month, with lifetimes' convention (``freq`` is the summary's time unit: ``D`` = 30 per
        month, ``W`` = 4.345, ``M`` = 1, ``H`` = 720)."""
        if freq not in _LIFETIMES_FREQ:
            raise ClienteleError(f"invalid freq: {freq!r} (expected one of {', '.join(_LIFETIMES_FREQ)})")
        (x, tx, t, m), scalar = _vectors((frequency, "frequency"), (recency, "recency"), (T, "T"),
                                         (monetary_value, "monetary_value"))
        out = self._m.clv(transaction_prediction_model._m, x, tx, t, m, int(time), float(discount_rate),
                          _LIFETIMES_FREQ[freq])
        return _out(out, scalar)

    def to_json(self) -> str:
        """The CLI's model document (``clientele predict --model`` reads it)."""
        return self._m.to_json()

    @staticmethod
    def from_json(text: str) -> "Model":
        return Model(_native.Model.from_json(text))

    @staticmethod
    def from_params(kind: str, **params: float) -> "Model":
        """A model with given parameters, e.g. ``Model.from_params("bgnbd", r=0.243, alpha=4.414, a=0.793, b=2.426)``."""
        return Model(_native.Model.from_params(kind, {k: float(v) for k, v in params.items()}))

    def __repr__(self) -> str:
        return repr(self._m)


class Models:
    """The models of a CLV run: ``purchase``, ``spend`` and (when it differs) ``risk``."""

    def __init__(self, native: "_native.Models"):
        self._m = native

    @property
    def purchase(self) -> Optional[Model]:
        m = self._m.purchase
        return None if m is None else Model(m)

    @property
    def spend(self) -> Optional[Model]:
        m = self._m.spend
        return None if m is None else Model(m)

    @property
    def risk(self) -> Optional[Model]:
        m = self._m.risk
        return None if m is None else Model(m)

    def to_json(self) -> str:
        """The CLI's model-set document (``clientele clv --models`` reads it)."""
        return self._m.to_json()

    @staticmethod
    def from_json(text: str) -> "Models":
        return Models(_native.Models.from_json(text))

    def __repr__(self) -> str:
        return repr(self._m)


class ClvResult:
    """A valued customer base: the per-customer table, the models used and what was done."""

    __slots__ = ("table", "models", "report")

    def __init__(self, table: Optional[_pa.Table], models: Models, report: dict) -> None:
        self.table = table
        self.models = models
        self.report = report

    def __repr__(self) -> str:
        table = "None" if self.table is None else f"<{self.table.num_rows} rows>"
        return f"ClvResult(table={table}, models={self.models!r}, report={self.report!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ClvResult):
            return NotImplemented
        return (self.table, self.models, self.report) == (other.table, other.models, other.report)


# -- jobs ---------------------------------------------------------------------------------------

def summary(events, calibration_end: DateLike, *, observation_end: Optional[DateLike] = None,
            period: str = "day", time_unit: str = "period", include_non_buyers: bool = False,
            all_columns: bool = False, columns: Optional[Mapping[str, str]] = None,
            purchase_type: Optional[str] = None, threads: Optional[int] = None) -> _pa.Table:
    """Per-customer summary with lifetimes' column names: ``customer_id, frequency, recency, T,
    monetary_value`` and more (first/last purchase, counts, holdout columns with
    ``observation_end``).

    Purchases merge into ``period`` occasions (``day``, ``week``, ``month`` or ``Nd``); recency
    and T are measured in ``time_unit`` (``period``, ``day`` or ``week`` = days / 7). lifetimes'
    ``summary_data_from_transaction_data(freq="D", freq_multiplier=7)`` is ``period="day",
    time_unit="week"``. The table's schema metadata records the window, so :func:`fit` and
    :func:`clv` know the time unit.
    """
    table, report = _native.summary(
        _arrow(events), _date(calibration_end, "calibration_end"), _date(observation_end, "observation_end"),
        period, time_unit, include_non_buyers, all_columns,
        None if columns is None else dict(columns), purchase_type, threads)
    _warn(report)
    return table


def _rfm_params(as_of, bins, scoring, mode, period) -> str:
    if mode not in ("orders", "btyd"):
        raise ClienteleError(f"invalid mode: {mode!r} (expected 'orders' or 'btyd')")
    m = {"mode": mode} if mode == "orders" else {"mode": mode, "period": period}
    return _json.dumps({"as_of": _date(as_of, "as_of"), "bins": int(bins), "scoring": scoring, "mode": m})


def rfm(events, as_of: DateLike, *, bins: int = 5, scoring: str = "ntile", mode: str = "orders",
        period: str = "day", columns: Optional[Mapping[str, str]] = None,
        purchase_type: Optional[str] = None, threads: Optional[int] = None) -> _pa.Table:
    """RFM scores and segments of every customer with a purchase before ``as_of``.

    ``mode="orders"`` counts purchase events and sums spend (SQL / R ``rfm``); ``mode="btyd"``
    merges purchases into ``period`` occasions (lifetimes). ``scoring`` is ``ntile`` (SQL
    ``NTILE(bins)``) or ``quantile``.
    """
    table, report = _native.rfm(_arrow(events), _rfm_params(as_of, bins, scoring, mode, period),
                                None if columns is None else dict(columns), purchase_type, threads)
    _warn(report)
    return table


def segments(events, as_of: DateLike, *, tiers: str = "pareto", top_share: float = 0.2, bins: int = 5,
             scoring: str = "ntile", columns: Optional[Mapping[str, str]] = None,
             purchase_type: Optional[str] = None, threads: Optional[int] = None):
    """Value tiers by revenue: ``tiers="pareto"`` (the top ``top_share`` of customers) or
    ``"deciles"``. Returns ``(per_customer, per_tier)`` tables."""
    table, tier_summary, report = _native.value_segments(
        _arrow(events), _rfm_params(as_of, bins, scoring, "orders", "day"), tiers, float(top_share),
        None if columns is None else dict(columns), purchase_type, threads)
    _warn(report)
    return table, tier_summary


def fit(summary, model: str = "bgnbd", *, penalizer: float = 0.0, time_unit: Optional[str] = None,
        period: Optional[str] = None, threads: Optional[int] = None) -> Model:
    """Fits ``model`` (``bgnbd``, ``mbgnbd``, ``pnbd``, ``bgbb`` or ``gg``) by maximum likelihood
    with an L2 ``penalizer`` on a summary (from :func:`summary`, or any table with
    ``frequency, recency, T`` and, for ``gg``, ``monetary_value``).

    A fit that ends on a boundary or without a proper maximum is returned with
    ``converged == False`` and a note in ``diagnostics``; a fit that fails raises
    :class:`ClienteleError`. Gamma-Gamma leaves out one-time buyers and customers with a
    non-positive mean spend, and counts them in ``fit_info``.
    """
    native, info = _native.fit(_arrow(summary, "summary"), model, float(penalizer), time_unit, period, threads)
    return Model(native, _json.loads(info))


def clv(summary, *, model: str = "bgnbd", horizon: str = "12m", monthly_discount: Optional[float] = None,
        continuous_discount: Optional[float] = None, cost_rate: Optional[float] = None,
        purchase_penalizer: float = 0.0, spend_penalizer: float = 0.0, risk_model: Optional[str] = None,
        models: Optional[Models] = None, time_unit: Optional[str] = None, period: Optional[str] = None,
        threads: Optional[int] = None, intervals: Optional[float] = None) -> ClvResult:
    """Lifetime value of every customer of a summary: fits the purchase model, Gamma-Gamma and
    the churn-risk model (or scores with ``models`` from an earlier run), as ``clientele clv`` does.

    ``monthly_discount`` (lifetimes' convention, e.g. 0.01) or ``continuous_discount`` (per model
    time unit, Pareto/NBD DERT) must be given, unless ``models`` carry one. ``horizon`` is
    ``12m``, ``26w`` or ``90d``. ``intervals`` (a level, e.g. 0.9) adds delta-method intervals:
    ``expected_purchases_lower/upper`` and ``clv_lower/upper``.
    """
    table, native, report = _native.clv(
        _arrow(summary, "summary"), model, horizon, monthly_discount, continuous_discount, cost_rate,
        float(purchase_penalizer), float(spend_penalizer), risk_model,
        None if models is None else models._m, time_unit, period, threads, intervals)
    return ClvResult(table, Models(native), _json.loads(report))


def clv_job(events, calibration_end: DateLike, out, *, period: str = "day", time_unit: str = "period",
            model: str = "bgnbd", horizon: str = "12m", monthly_discount: Optional[float] = None,
            continuous_discount: Optional[float] = None, cost_rate: Optional[float] = None,
            purchase_penalizer: float = 0.0, spend_penalizer: float = 0.0, risk_model: Optional[str] = None,
            models: Optional[Models] = None, columns: Optional[Mapping[str, str]] = None,
            purchase_type: Optional[str] = None, threads: Optional[int] = None) -> ClvResult:
    """The whole CLV job from event files to a file, as ``clientele clv --input ... --out ...``:
    :func:`summary` of ``events`` (a path, or a table), :func:`clv`, and :func:`write` to ``out``,
    without the per-customer tables crossing into Python. For batch jobs (schedulers, Spark
    drivers) that do not need the table in the interpreter: neither pyarrow nor NumPy is
    imported. Returns a :class:`ClvResult` whose ``table`` is ``None``; its report holds the
    ingest report under ``"ingest"``.
    """
    native, report = _native.clv_job(
        _arrow(events), _date(calibration_end, "calibration_end"), _os.fspath(out), period, time_unit,
        model, horizon, monthly_discount, continuous_discount, cost_rate, float(purchase_penalizer),
        float(spend_penalizer), risk_model, None if models is None else models._m,
        None if columns is None else dict(columns), purchase_type, threads)
    report = _json.loads(report)
    _warn(_json.dumps(report["ingest"]) if report.get("ingest") is not None else None)
    return ClvResult(None, Models(native), report)


def churn_train(events, cutoff: DateLike, *, horizon_days: int = 90, btyd_weeks: Optional[float] = None,
                c: float = 1.0, balanced: bool = False, columns: Optional[Mapping[str, str]] = None,
                purchase_type: Optional[str] = None, threads: Optional[int] = None):
    """Trains the churn classifier (features up to ``cutoff``, label: no purchase in the next
    ``horizon_days``). Returns ``(model, training_metrics)``."""
    model, metrics, report = _native.churn_train(
        _arrow(events), _date(cutoff, "cutoff"), int(horizon_days), btyd_weeks, float(c), bool(balanced),
        None if columns is None else dict(columns), purchase_type, threads)
    _warn(report)
    return model, _json.loads(metrics)


def churn_score(events, model: ChurnModel, as_of: DateLike, *, btyd_weeks: Optional[float] = None,
                columns: Optional[Mapping[str, str]] = None, purchase_type: Optional[str] = None,
                threads: Optional[int] = None) -> _pa.Table:
    """Churn probability of every customer as of ``as_of`` with a trained model."""
    table, report = _native.churn_score(_arrow(events), model, _date(as_of, "as_of"), btyd_weeks,
                                        None if columns is None else dict(columns), purchase_type, threads)
    _warn(report)
    return table


def _view(name: str, events, params: dict, columns, purchase_type, threads, table=None) -> dict:
    # unset settings are left out, so the engine's documented defaults apply
    params = {k: v for k, v in params.items() if v is not None}
    tables, report = _native.view(name, _arrow(events), _json.dumps(params),
                                  None if table is None else _arrow(table, "table"),
                                  None if columns is None else dict(columns), purchase_type, threads)
    _warn(report)
    return dict(tables)


def cohorts(events, as_of: DateLike, *, by: str = "month", columns: Optional[Mapping[str, str]] = None,
            purchase_type: Optional[str] = None, threads: Optional[int] = None) -> _pa.Table:
    """Acquisition cohorts (``by`` month or week): customers, active customers, retention and
    revenue per cohort and period since acquisition, counting events before ``as_of``."""
    return _view("cohorts", events, {"as_of": _date(as_of, "as_of"), "by": by}, columns, purchase_type,
                 threads)["cohorts"]


def channels(events, *, as_of: Optional[DateLike] = None, channel_costs: Optional[Mapping[str, float]] = None,
             columns: Optional[Mapping[str, str]] = None, purchase_type: Optional[str] = None,
             threads: Optional[int] = None) -> dict:
    """Channel mix: ``{"channels": per-channel table, "preferred": per-customer preferred channel}``."""
    params = {"as_of": _date(as_of, "as_of"),
              "channel_costs": None if channel_costs is None else {k: float(v) for k, v in channel_costs.items()}}
    return _view("channels", events, params, columns, purchase_type, threads)


def customer360(events, *, as_of: Optional[DateLike] = None, recent: int = 10, table=None,
                columns: Optional[Mapping[str, str]] = None, purchase_type: Optional[str] = None,
                threads: Optional[int] = None) -> _pa.Table:
    """One row per customer: purchases, spend, channels, service calls, complaints, surveys,
    campaign responses and the most recent events; ``table`` (e.g. a CLV or RFM table keyed by
    ``customer_id``) adds its columns."""
    return _view("customer360", events, {"as_of": _date(as_of, "as_of"), "recent": int(recent)}, columns,
                 purchase_type, threads, table)["customer360"]


def acquisition(events, *, clv=None, as_of: Optional[DateLike] = None,
                channel_costs: Optional[Mapping[str, float]] = None, columns: Optional[Mapping[str, str]] = None,
                purchase_type: Optional[str] = None, threads: Optional[int] = None) -> _pa.Table:
    """Customers, revenue and (with ``clv``, a table from :func:`clv`) value by acquisition
    channel (the channel of each customer's first event)."""
    params = {"as_of": _date(as_of, "as_of"),
              "channel_costs": None if channel_costs is None else {k: float(v) for k, v in channel_costs.items()}}
    return _view("acquisition", events, params, columns, purchase_type, threads, clv)["acquisition"]


def attribution(events, *, model: str = "linear", lookback_days: Optional[int] = None,
                half_life_days: Optional[float] = None, by_campaign: Optional[bool] = None,
                as_of: Optional[DateLike] = None, columns: Optional[Mapping[str, str]] = None,
                purchase_type: Optional[str] = None, threads: Optional[int] = None) -> _pa.Table:
    """Multi-touch attribution of revenue to channels (and campaigns): ``first``, ``last``,
    ``linear`` or ``decay`` (time-decay with ``half_life_days``) over ``lookback_days``."""
    params = {"model": model, "lookback_days": lookback_days, "half_life_days": half_life_days,
              "by_campaign": by_campaign, "as_of": _date(as_of, "as_of")}
    return _view("attribution", events, params, columns, purchase_type, threads)["attribution"]


def campaigns(events, *, segments=None, window_days: Optional[int] = None, send_type: Optional[str] = None,
              response_type: Optional[str] = None, control_suffix: Optional[str] = None,
              segment_column: Optional[str] = None, as_of: Optional[DateLike] = None,
              columns: Optional[Mapping[str, str]] = None, purchase_type: Optional[str] = None,
              threads: Optional[int] = None) -> _pa.Table:
    """Campaign response and responder revenue, with uplift against a control group and its
    confidence interval; by segment with ``segments`` (a table with ``customer_id`` and
    ``segment_column``)."""
    params = {"window_days": window_days, "send_type": send_type, "response_type": response_type,
              "control_suffix": control_suffix, "segment_column": segment_column, "as_of": _date(as_of, "as_of")}
    return _view("campaigns", events, params, columns, purchase_type, threads, segments)["campaigns"]


def cross_sell(events, *, basket: str = "customer", min_support: Optional[float] = None,
               top_k: Optional[int] = None, as_of: Optional[DateLike] = None,
               columns: Optional[Mapping[str, str]] = None, purchase_type: Optional[str] = None,
               threads: Optional[int] = None) -> dict:
    """Product pairs (support, confidence, lift) and each customer's next-best products:
    ``{"rules": ..., "next_best": ...}``; ``basket`` is ``customer`` or ``day``."""
    params = {"basket": basket, "min_support": min_support, "top_k": top_k, "as_of": _date(as_of, "as_of")}
    return _view("cross_sell", events, params, columns, purchase_type, threads)


def satisfaction(events, *, segments=None, by: str = "month", survey_type: Optional[str] = None,
                 segment_column: Optional[str] = None, as_of: Optional[DateLike] = None,
                 columns: Optional[Mapping[str, str]] = None, purchase_type: Optional[str] = None,
                 threads: Optional[int] = None) -> dict:
    """Survey scores per channel, period and (with ``segments``) segment:
    ``{"summary": ..., "distribution": ...}``."""
    params = {"by": by, "survey_type": survey_type, "segment_column": segment_column, "as_of": _date(as_of, "as_of")}
    return _view("satisfaction", events, params, columns, purchase_type, threads, segments)


def write(table, path, *, threads: Optional[int] = None) -> None:
    """Writes an Arrow table to ``path`` with the engine's writers (``.parquet`` with zstd,
    ``.csv``, ``.json``, ``.arrow``), atomically: under a temporary name, then renamed, so an
    interrupted write never leaves a half-written file at ``path``. The same writers as the CLI's
    ``--out``: Parquet columns are encoded in parallel on ``threads`` workers (default: one per
    core)."""
    _native.write(_arrow(table, "table"), _os.fspath(path), threads)


class SummaryState:
    """The customer summary computed from partitions of the events, for engines that split data
    across processes (Spark, Dask, Ray): ``update`` with a partition's events, ``state()`` to
    ship the partial state as an Arrow table (one row per customer), ``merge_state`` where the
    states meet, ``finish()`` for the summary. Any split gives exactly :func:`summary`'s
    numbers (with ``all_columns=True``). Invalid rows are errors here (a partial aggregate
    cannot drop rows and stay mergeable); ``clientele.spark`` uses this for Spark.
    """

    def __init__(self, calibration_end: DateLike, *, observation_end: Optional[DateLike] = None,
                 period: str = "day", time_unit: str = "period", include_non_buyers: bool = False,
                 columns: Optional[Mapping[str, str]] = None, purchase_type: Optional[str] = None):
        self._s = _native.SummaryState(_date(calibration_end, "calibration_end"),
                                       _date(observation_end, "observation_end"), period, time_unit,
                                       include_non_buyers, None if columns is None else dict(columns),
                                       purchase_type)

    def update(self, events) -> "SummaryState":
        self._s.update(_arrow(events, "events batch"))
        return self

    def state(self) -> _pa.Table:
        return self._s.state()

    def merge_state(self, state) -> "SummaryState":
        self._s.merge_state(_arrow(state, "state"))
        return self

    @property
    def num_customers(self) -> int:
        return self._s.num_customers

    def finish(self) -> _pa.Table:
        return self._s.finish()


def report_html(events, as_of: DateLike, calibration_end: DateLike, *, out=None, data_dir=None,
                title: Optional[str] = None, time_unit: str = "week", monthly_discount: float = 0.01,
                churn_horizon_days: int = 90, columns: Optional[Mapping[str, str]] = None,
                purchase_type: Optional[str] = None, threads: Optional[int] = None) -> str:
    """The self-contained HTML report (as ``clientele report html`` writes it): segments, the
    RFM grid, value tiers, CLV, model checks, tracking, cohorts, channels, attribution,
    campaigns, satisfaction and churn, each with a one-line reading; charts as inline SVG.

    Models are fitted on purchases up to ``calibration_end`` and checked on the days after it
    up to ``as_of`` (events strictly before ``as_of`` count). Returns the page; with ``out`` it
    is also written there, and with ``data_dir`` the numbers behind every chart as CSV files.
    In a notebook: ``IPython.display.HTML(clientele.report_html(...))``.
    """
    return _native.report_html(
        _arrow(events), _date(as_of, "as_of"), _date(calibration_end, "calibration_end"),
        None if out is None else _os.fspath(out), None if data_dir is None else _os.fspath(data_dir),
        title, time_unit, float(monthly_discount), int(churn_horizon_days),
        None if columns is None else dict(columns), purchase_type, threads)
