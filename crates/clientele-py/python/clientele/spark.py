"""Clientele on Spark: per-customer summaries, one fit on the driver, scoring on every partition.

The recipe (each step is one function here; PySpark 4 is imported only by the caller)::

    from pyspark.sql import SparkSession
    import clientele, clientele.spark as cs

    spark = SparkSession.builder.master("local[2]").getOrCreate()
    events = spark.read.parquet("events.parquet")        # customer_id, event_time, event_type, amount
    summary = cs.summarize(events, calibration_end="2025-12-31", time_unit="week")
    models = cs.fit(summary, time_unit="week")           # BG/NBD + Gamma-Gamma + risk model, on the driver
    scores = cs.score(summary, models, time_unit="week") # every partition, models broadcast as JSON

1. ``summarize`` runs ``mapInArrow`` over the events as Spark partitioned them (a customer's
   events may sit in several partitions): each task feeds its batches to a
   :class:`clientele.SummaryState` and emits the partial state, one row per customer. The
   states are shuffled by ``customer_id`` and a second ``mapInArrow`` merges them and finishes
   the summary. The result equals ``clientele.summary`` on all the events, bit for bit.
2. ``fit`` collects the summary's model columns (``frequency, recency, T, monetary_value``: four
   doubles and a key per customer, about 40 MB at 1M customers) and runs ``clientele.clv`` once
   on the driver; the models come back as :class:`clientele.Models`.
3. ``score`` sends the models' JSON to every task (a closure variable: Spark ships it with the
   task) and values each partition of the summary with ``clientele.clv(..., models=...)``.

Spark drops Arrow schema metadata, so the summary's data window (its time unit) cannot travel
with it: pass the same ``period`` / ``time_unit`` to every step.
"""
from __future__ import annotations

from typing import Iterator, Optional

import pyarrow as pa

import clientele

# The partial state's columns as Spark types (see the engine's kernels::summary::partial).
_PERIODS = "array<struct<period:bigint,spend:decimal(38,9)>>"
_STATE_DDL = ("customer_id {key}, first_event bigint, last_event bigint, first_purchase bigint, "
              "last_purchase bigint, purchase_count bigint, spend decimal(38,9), "
              f"calibration {_PERIODS}, holdout {_PERIODS}, "
              "event_type_counts array<struct<event_type:string,count:bigint>>")
# The summary columns the models read (every buyer has them; the activity columns vary with the
# event types present, so they stay out of a fixed Spark schema).
SUMMARY_COLUMNS = ["customer_id", "frequency", "recency", "T", "monetary_value", "total_spend"]
HOLDOUT_COLUMNS = ["frequency_holdout", "monetary_value_holdout", "duration_holdout"]
SCORE_COLUMNS = ["customer_id", "p_alive", "expected_purchases", "expected_spend", "clv", "churn_risk"]


def _key_type(events) -> str:
    t = dict(events.dtypes)["customer_id"]
    if t in ("bigint", "int", "smallint", "tinyint"):
        return "bigint"
    if t == "string":
        return "string"
    raise TypeError(f"customer_id must be an integer or a string column, got {t}")


def summarize(events, calibration_end: str, *, observation_end: Optional[str] = None, period: str = "day",
              time_unit: str = "period", partitions: Optional[int] = None, purchase_type: Optional[str] = None):
    """The customer summary of a Spark DataFrame of events, as a Spark DataFrame with
    :data:`SUMMARY_COLUMNS` (and :data:`HOLDOUT_COLUMNS` with ``observation_end``).

    Two ``mapInArrow`` stages with a shuffle of the partial states by ``customer_id`` between
    them (``partitions`` sets the shuffle's partition count; Spark's default otherwise).
    """
    key = _key_type(events)
    state_ddl = _STATE_DDL.format(key=key)
    settings = dict(calibration_end=calibration_end, observation_end=observation_end, period=period,
                    time_unit=time_unit, purchase_type=purchase_type)
    columns = SUMMARY_COLUMNS + (HOLDOUT_COLUMNS if observation_end else [])
    out_ddl = ", ".join([f"customer_id {key}"] + [f"`{c}` double" for c in columns[1:]])
    events = events.select("customer_id", "event_time", "event_type", "amount")

    def partial(batches):
        state = clientele.SummaryState(**settings)
        for b in batches:
            state.update(b)
        table = state.state()
        if table.num_rows:
            yield from table.to_batches()

    def merge(batches):
        state = clientele.SummaryState(**settings)
        for b in batches:
            state.merge_state(b)
        table = state.finish()
        if table.num_rows:
            table = table.select(columns)
            yield from table.to_batches()

    states = events.mapInArrow(partial, state_ddl)
    states = states.repartition(partitions, "customer_id") if partitions else states.repartition("customer_id")
    return states.mapInArrow(merge, out_ddl)


def fit(summary, *, model: str = "bgnbd", monthly_discount: float = 0.01, time_unit: str = "period",
        period: str = "day", **clv_settings) -> "clientele.Models":
    """Fits the CLV models once, on the driver, from the summary's model columns."""
    table = summary.select(*SUMMARY_COLUMNS[:5]).toArrow()
    run = clientele.clv(table, model=model, monthly_discount=monthly_discount, time_unit=time_unit, period=period,
                        **clv_settings)
    return run.models


def score(summary, models: "clientele.Models", *, time_unit: str = "period", period: str = "day"):
    """Values every customer of a Spark summary with fitted models, partition by partition:
    a Spark DataFrame with :data:`SCORE_COLUMNS`."""
    key = dict(summary.dtypes)["customer_id"]
    ddl = ", ".join([f"customer_id {key}"] + [f"`{c}` double" for c in SCORE_COLUMNS[1:]])
    payload = models.to_json()

    def value(batches):
        m = clientele.Models.from_json(payload)
        for b in batches:
            if b.num_rows == 0:
                continue
            run = clientele.clv(b, models=m, time_unit=time_unit, period=period)
            yield from run.table.select(SCORE_COLUMNS).to_batches()

    return summary.select(*SUMMARY_COLUMNS[:5]).mapInArrow(value, ddl)
