//! The event store: customer events in Arrow columns, ordered by (customer, time).
//!
//! An [`EventStore`] is built by [`Ingestor::finish`](crate::ingest::Ingestor::finish), saved
//! with [`EventStore::save`] and opened again with [`EventStore::open`], so a data set is
//! ingested once and analysed many times. Its layout is made for per-customer kernels:
//!
//! - customers have a dense `u32` index in the natural order of their original keys
//!   ([`CustomerKeys`]);
//! - events are sorted by (customer, time, event type, amount; ties in all four keep input
//!   order) and `offsets[c]..offsets[c + 1]`
//!   is customer `c`'s contiguous slice, so kernels run over customers in parallel with no
//!   grouping step;
//! - string columns (event type, channel, product, campaign) are dictionary arrays with sorted
//!   dictionaries, so a kernel compares small integer codes.

mod activity;
pub(crate) mod batch;
mod builder;
mod columnar;
pub(crate) mod columns;
mod integrity;
mod keys;
mod lookup;
mod lookup_parquet;
mod merge;
mod parquet_blocks;
mod persist;
mod rollup;
mod rollup_open;
mod segments;

use std::ops::Range;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, UInt32Array};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};

pub use activity::{ActivityRollup, PeriodKind, PeriodTotals};
pub use batch::{KeyType, KeyTyping};
pub(crate) use builder::StoreBuilder;
pub use columns::StoreColumns;
pub(crate) use keys::OwnedKey;
pub use keys::{CustomerKeys, KeyIndex, KeyRef};
pub use persist::StoreFormat;
pub(crate) use rollup::rollup_covers;
pub use rollup::{CustomerPurchases, PurchaseRollup};
pub use segments::{AppendOutcome, SavedStore, SegmentInfo, SourceFile};

use crate::error::{Error, Result};
use crate::schema;

/// Customer events in Arrow columns, ordered by (customer, time), with per-customer offsets.
#[derive(Debug, Clone)]
pub struct EventStore {
    keys: CustomerKeys,
    offsets: Arc<[usize]>,
    columns: StoreColumns,
    purchase_type: String,
    purchase_code: Option<i32>,
    /// The latest event time (a one-customer store from [`EventStore::open_customer`]: the
    /// whole saved store's).
    last_event: Option<i64>,
}

/// The name of the dense customer index column in [`EventStore::events`].
pub const CUSTOMER_INDEX: &str = "customer_index";

impl EventStore {
    pub(crate) fn from_parts(
        keys: CustomerKeys,
        offsets: Vec<usize>,
        columns: StoreColumns,
        purchase_type: String,
    ) -> Result<Self> {
        let types = columns::dict_values(&columns.event_type);
        let purchase_code = types
            .iter()
            .position(|t| *t == purchase_type)
            .and_then(|p| i32::try_from(p).ok());
        if offsets.len() != keys.len() + 1 || offsets.last().copied() != Some(columns.len()) {
            return Err(Error::Capacity {
                message: "internal: offsets do not match the columns".into(),
            });
        }
        let last_event = columns.time.values().iter().max().copied();
        Ok(EventStore {
            keys,
            offsets: offsets.into(),
            columns,
            purchase_type,
            purchase_code,
            last_event,
        })
    }

    /// The time of the store's latest event, microseconds since the epoch (UTC); `None` for an
    /// empty store. A one-customer store opened with [`open_customer`](Self::open_customer)
    /// answers for the whole saved store, so that a reference day derived from it (a 360
    /// card's tenure without `as_of`) is the same as the whole store's.
    pub fn last_event_micros(&self) -> Option<i64> {
        self.last_event
    }

    /// This store with `last_event` taken from the saved store it is a part of.
    pub(crate) fn with_last_event(mut self, last_event: Option<i64>) -> Self {
        self.last_event = last_event;
        self
    }

    /// An empty store.
    pub fn empty(purchase_type: &str) -> Result<Self> {
        StoreBuilder::new(purchase_type, KeyType::Auto).finish()
    }

    /// The number of customers.
    pub fn num_customers(&self) -> usize {
        self.keys.len()
    }

    /// The number of events.
    pub fn num_events(&self) -> usize {
        self.columns.len()
    }

    /// The original customer keys, in dense-index order.
    pub fn customer_keys(&self) -> &CustomerKeys {
        &self.keys
    }

    /// Per-customer offsets: customer `c`'s events are rows `offsets[c]..offsets[c + 1]`.
    pub fn offsets(&self) -> &[usize] {
        &self.offsets
    }

    /// The rows of customer `c` (empty when out of range).
    pub fn customer_range(&self, c: usize) -> Range<usize> {
        match (self.offsets.get(c), self.offsets.get(c + 1)) {
            (Some(&a), Some(&b)) => a..b,
            _ => 0..0,
        }
    }

    /// The dense index of a customer key.
    pub fn customer_index(&self, key: KeyRef<'_>) -> Option<u32> {
        self.keys.position(key)
    }

    /// The typed event columns.
    pub fn columns(&self) -> &StoreColumns {
        &self.columns
    }

    /// The event type that counts as a purchase.
    pub fn purchase_type(&self) -> &str {
        &self.purchase_type
    }

    /// The dictionary code of the purchase type in the event-type column, if any event has it.
    pub fn purchase_code(&self) -> Option<i32> {
        self.purchase_code
    }

    /// The distinct event types, sorted (the event-type dictionary).
    pub fn event_types(&self) -> Vec<String> {
        columns::dict_values(&self.columns.event_type)
    }

    /// The schema of [`events`](Self::events).
    pub fn events_schema(&self) -> SchemaRef {
        let dict = || DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
        let c = &self.columns;
        let mut fields = vec![
            Field::new(CUSTOMER_INDEX, DataType::UInt32, false),
            Field::new(
                schema::EVENT_TIME,
                DataType::Timestamp(TimeUnit::Microsecond, Some(crate::time::UTC.into())),
                false,
            ),
            Field::new(schema::EVENT_TYPE, dict(), false),
        ];
        let opt = [
            (c.amount.is_some(), schema::AMOUNT, DataType::Float64),
            (c.channel.is_some(), schema::CHANNEL, dict()),
            (c.product.is_some(), schema::PRODUCT, dict()),
            (c.campaign_id.is_some(), schema::CAMPAIGN_ID, dict()),
            (c.score.is_some(), schema::SCORE, DataType::Float64),
            (c.cost.is_some(), schema::COST, DataType::Float64),
        ];
        fields.extend(
            opt.into_iter()
                .filter(|(p, _, _)| *p)
                .map(|(_, n, t)| Field::new(n, t, true)),
        );
        Arc::new(Schema::new(fields))
    }

    /// The dense customer index of every event.
    pub fn customer_index_column(&self) -> UInt32Array {
        let mut v = Vec::with_capacity(self.num_events());
        for (c, w) in self.offsets.windows(2).enumerate() {
            v.extend(std::iter::repeat_n(c as u32, w[1] - w[0]));
        }
        UInt32Array::from(v)
    }

    /// The event columns after `customer_index`, in [`events_schema`](Self::events_schema)'s
    /// order: time, type, then the optional columns present.
    fn event_columns(&self) -> Vec<ArrayRef> {
        let c = &self.columns;
        let mut cols: Vec<ArrayRef> = vec![Arc::new(c.time.clone()), Arc::new(c.event_type.clone())];
        let floats = [&c.amount];
        let dicts = [&c.channel, &c.product, &c.campaign_id];
        let tail = [&c.score, &c.cost];
        cols.extend(floats.into_iter().flatten().map(|a| Arc::new(a.clone()) as ArrayRef));
        cols.extend(dicts.into_iter().flatten().map(|a| Arc::new(a.clone()) as ArrayRef));
        cols.extend(tail.into_iter().flatten().map(|a| Arc::new(a.clone()) as ArrayRef));
        cols
    }

    /// All events as one record batch: `customer_index` (the dense index; see
    /// [`customer_keys`](Self::customer_keys)) followed by the canonical columns present.
    ///
    /// # Errors
    /// Only on an internal inconsistency.
    pub fn events(&self) -> Result<RecordBatch> {
        let mut cols: Vec<ArrayRef> = vec![Arc::new(self.customer_index_column())];
        cols.extend(self.event_columns());
        Ok(RecordBatch::try_new(self.events_schema(), cols)?)
    }

    /// The events of dense customer `c`, oldest first: `customer_id` (the original key)
    /// followed by the event columns of [`events`](Self::events). The event columns are slices
    /// of the store's (no copy); an index past the last customer gives no rows.
    ///
    /// # Errors
    /// Only on an internal inconsistency.
    pub fn customer_events(&self, c: usize) -> Result<RecordBatch> {
        let r = self.customer_range(c);
        let key = self.customer_keys().array();
        let key = if c < key.len() {
            key.slice(c, 1)
        } else {
            key.slice(0, 0)
        };
        let keys = arrow_select::take::take(key.as_ref(), &UInt32Array::from(vec![0u32; r.len()]), None)?;
        let schema = self.events_schema();
        let mut fields = vec![Field::new(schema::CUSTOMER_ID, keys.data_type().clone(), false)];
        fields.extend(schema.fields().iter().skip(1).map(|f| f.as_ref().clone()));
        let mut cols = vec![keys];
        cols.extend(self.event_columns().iter().map(|a| a.slice(r.start, r.len())));
        Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)?)
    }
}
