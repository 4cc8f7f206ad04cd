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

pub(crate) mod batch;
mod builder;
pub(crate) mod columns;
mod integrity;
mod keys;
mod persist;

use std::ops::Range;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, UInt32Array};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};

pub use batch::KeyType;
pub(crate) use builder::StoreBuilder;
pub use columns::StoreColumns;
pub use keys::{CustomerKeys, KeyIndex, KeyRef};
pub use persist::StoreFormat;

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
        Ok(EventStore {
            keys,
            offsets: offsets.into(),
            columns,
            purchase_type,
            purchase_code,
        })
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

    /// All events as one record batch: `customer_index` (the dense index; see
    /// [`customer_keys`](Self::customer_keys)) followed by the canonical columns present.
    ///
    /// # Errors
    /// Only on an internal inconsistency.
    pub fn events(&self) -> Result<RecordBatch> {
        let c = &self.columns;
        let mut cols: Vec<ArrayRef> = vec![
            Arc::new(self.customer_index_column()),
            Arc::new(c.time.clone()),
            Arc::new(c.event_type.clone()),
        ];
        let push_f = |cols: &mut Vec<ArrayRef>, a: &Option<arrow_array::Float64Array>| {
            if let Some(a) = a {
                cols.push(Arc::new(a.clone()));
            }
        };
        let push_d = |cols: &mut Vec<ArrayRef>,
                      a: &Option<arrow_array::DictionaryArray<arrow_array::types::Int32Type>>| {
            if let Some(a) = a {
                cols.push(Arc::new(a.clone()));
            }
        };
        push_f(&mut cols, &c.amount);
        push_d(&mut cols, &c.channel);
        push_d(&mut cols, &c.product);
        push_d(&mut cols, &c.campaign_id);
        push_f(&mut cols, &c.score);
        push_f(&mut cols, &c.cost);
        Ok(RecordBatch::try_new(self.events_schema(), cols)?)
    }
}
