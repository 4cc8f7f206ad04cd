//! The canonical event model: column names, roles and how input columns map onto them.
//!
//! An event is one row: who (`customer_id`), when (`event_time`), what (`event_type`, which
//! defaults to `purchase`), and optional facts about it (`amount`, `channel`, `product`,
//! `campaign_id`, `score`, `cost`). Only `customer_id` and `event_time` are required. Input files
//! may call these columns anything: a [`ColumnMapping`] names the input column for each role.
//!
//! The engine's output tables name their columns with the constants of [`output`].

use serde::{Deserialize, Serialize};

/// Canonical name of the customer key column (Int64 or Utf8).
pub const CUSTOMER_ID: &str = "customer_id";
/// Canonical name of the event time column.
pub const EVENT_TIME: &str = "event_time";
/// Canonical name of the event type column (string).
pub const EVENT_TYPE: &str = "event_type";
/// Canonical name of the monetary amount column (null for non-monetary events).
pub const AMOUNT: &str = "amount";
/// Canonical name of the channel column (`store`, `web`, `app`, `phone`, `email`, ...).
pub const CHANNEL: &str = "channel";
/// Canonical name of the product column.
pub const PRODUCT: &str = "product";
/// Canonical name of the campaign id column.
pub const CAMPAIGN_ID: &str = "campaign_id";
/// Canonical name of the satisfaction score column.
pub const SCORE: &str = "score";
/// Canonical name of the cost column (cost to serve or to market).
pub const COST: &str = "cost";

pub mod output;

/// The event type that counts as a purchase unless configured otherwise.
pub const DEFAULT_PURCHASE_TYPE: &str = "purchase";

/// The role a column plays in the event model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The customer key (required).
    CustomerId,
    /// The event time (required).
    EventTime,
    /// The event type.
    EventType,
    /// The monetary amount.
    Amount,
    /// The channel.
    Channel,
    /// The product.
    Product,
    /// The campaign id.
    CampaignId,
    /// The satisfaction score.
    Score,
    /// The cost.
    Cost,
}

impl Role {
    /// Every role, in canonical column order.
    pub const ALL: [Role; 9] = [
        Role::CustomerId,
        Role::EventTime,
        Role::EventType,
        Role::Amount,
        Role::Channel,
        Role::Product,
        Role::CampaignId,
        Role::Score,
        Role::Cost,
    ];

    /// The canonical column name of this role.
    pub fn canonical_name(self) -> &'static str {
        match self {
            Role::CustomerId => CUSTOMER_ID,
            Role::EventTime => EVENT_TIME,
            Role::EventType => EVENT_TYPE,
            Role::Amount => AMOUNT,
            Role::Channel => CHANNEL,
            Role::Product => PRODUCT,
            Role::CampaignId => CAMPAIGN_ID,
            Role::Score => SCORE,
            Role::Cost => COST,
        }
    }

    /// Whether an input must have this column.
    pub fn is_required(self) -> bool {
        matches!(self, Role::CustomerId | Role::EventTime)
    }
}

/// Which input column plays each role. Defaults to the canonical names.
///
/// A role whose column is absent from the input is simply not present (for optional roles);
/// a missing required column is an [`Error::MissingColumn`](crate::Error::MissingColumn).
///
/// # Example
/// ```
/// use clientele::schema::{ColumnMapping, Role};
/// let mapping = ColumnMapping::default()
///     .with(Role::CustomerId, "masterid")
///     .with(Role::EventTime, "date");
/// assert_eq!(mapping.column(Role::CustomerId), "masterid");
/// assert_eq!(mapping.column(Role::Amount), "amount");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ColumnMapping {
    /// Input column for [`Role::CustomerId`].
    pub customer_id: String,
    /// Input column for [`Role::EventTime`].
    pub event_time: String,
    /// Input column for [`Role::EventType`].
    pub event_type: String,
    /// Input column for [`Role::Amount`].
    pub amount: String,
    /// Input column for [`Role::Channel`].
    pub channel: String,
    /// Input column for [`Role::Product`].
    pub product: String,
    /// Input column for [`Role::CampaignId`].
    pub campaign_id: String,
    /// Input column for [`Role::Score`].
    pub score: String,
    /// Input column for [`Role::Cost`].
    pub cost: String,
}

impl Default for ColumnMapping {
    fn default() -> Self {
        ColumnMapping {
            customer_id: CUSTOMER_ID.into(),
            event_time: EVENT_TIME.into(),
            event_type: EVENT_TYPE.into(),
            amount: AMOUNT.into(),
            channel: CHANNEL.into(),
            product: PRODUCT.into(),
            campaign_id: CAMPAIGN_ID.into(),
            score: SCORE.into(),
            cost: COST.into(),
        }
    }
}

impl ColumnMapping {
    /// The input column name for `role`.
    pub fn column(&self, role: Role) -> &str {
        match role {
            Role::CustomerId => &self.customer_id,
            Role::EventTime => &self.event_time,
            Role::EventType => &self.event_type,
            Role::Amount => &self.amount,
            Role::Channel => &self.channel,
            Role::Product => &self.product,
            Role::CampaignId => &self.campaign_id,
            Role::Score => &self.score,
            Role::Cost => &self.cost,
        }
    }

    /// Maps `role` to the input column `name` (builder style).
    pub fn with(mut self, role: Role, name: impl Into<String>) -> Self {
        let name = name.into();
        match role {
            Role::CustomerId => self.customer_id = name,
            Role::EventTime => self.event_time = name,
            Role::EventType => self.event_type = name,
            Role::Amount => self.amount = name,
            Role::Channel => self.channel = name,
            Role::Product => self.product = name,
            Role::CampaignId => self.campaign_id = name,
            Role::Score => self.score = name,
            Role::Cost => self.cost = name,
        }
        self
    }
}
