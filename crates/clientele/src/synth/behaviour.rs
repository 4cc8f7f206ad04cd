//! The behavioural model of one synthetic customer.
//!
//! [`simulate_customer`] draws a customer's latent traits and then lets the customer live
//! through the window: purchases (BG/NBD with Gamma-Gamma spend), the service events that
//! follow purchases, web visits while engaged, and the monthly e-mail campaigns. The model and
//! every parameter below are described in the documentation of the parent module; keep the two
//! in step.
//!
//! Times are whole seconds since the Unix epoch (UTC). Events are appended to the caller's
//! buffer in generation order, which is also the deterministic tiebreak between events of one
//! customer that share a second; the first event appended is always the acquisition purchase.

use super::rng::Rng;

/// Seconds in a day.
pub(crate) const DAY: i64 = 86_400;
/// Seconds in an hour.
const HOUR: i64 = 3_600;
/// Seconds in a day, as a float.
const DAY_F: f64 = 86_400.0;

// ---- Acquisition -------------------------------------------------------------------------
/// Customers are acquired uniformly over this leading share of the window.
const ACQUISITION_SHARE: f64 = 0.6;

// ---- BG/NBD purchasing -------------------------------------------------------------------
/// Shape `r` of the gamma distribution of the purchase rate lambda (per day).
const LAMBDA_SHAPE: f64 = 0.9;
/// Rate `alpha` (in days) of the gamma distribution of lambda: mean lambda = r / alpha.
const LAMBDA_RATE: f64 = 66.0;
/// Shape `a` of the beta distribution of the dropout probability p.
const DROPOUT_A: f64 = 0.8;
/// Shape `b` of the beta distribution of the dropout probability p.
const DROPOUT_B: f64 = 2.4;

// ---- Gamma-Gamma spend -------------------------------------------------------------------
/// Shape `p` of the per-transaction gamma distribution.
const SPEND_SHAPE: f64 = 6.0;
/// Shape `q` of the gamma distribution of the customer's spend rate nu.
const SPEND_RATE_SHAPE: f64 = 3.7;
/// Rate `gamma` of the gamma distribution of nu.
const SPEND_RATE_RATE: f64 = 15.0;
/// Currency units per model unit: amount = scale * Gamma(p, rate nu).
const SPEND_SCALE: f64 = 1.5;
/// Floor on nu, so that a (practically impossible) zero draw cannot make amounts infinite.
const MIN_SPEND_RATE: f64 = 1.0e-3;
/// The smallest amount emitted.
const MIN_AMOUNT: f64 = 0.01;
/// Random addition, uniform in `[0, this)`, to the channel's cost-to-serve share.
const COST_SHARE_SPREAD: f64 = 0.03;

// ---- Channels and products ---------------------------------------------------------------
/// Channels a purchase can happen in.
const PURCHASE_CHANNELS: [Channel; 4] = [Channel::Store, Channel::Web, Channel::App, Channel::Phone];
/// Population-level weights of [`PURCHASE_CHANNELS`]; each customer multiplies each weight by
/// an independent Exp(1) draw (its personal preference).
const PURCHASE_CHANNEL_BASE: [f64; 4] = [0.40, 0.32, 0.20, 0.08];
/// Product names, by popularity rank.
const PRODUCT_NAMES: [&str; 20] = [
    "P01", "P02", "P03", "P04", "P05", "P06", "P07", "P08", "P09", "P10", "P11", "P12", "P13", "P14", "P15", "P16",
    "P17", "P18", "P19", "P20",
];
/// Zipf popularity: weight 1 / rank.
const PRODUCT_POPULARITY: [f64; 20] = [
    1.0,
    1.0 / 2.0,
    1.0 / 3.0,
    1.0 / 4.0,
    1.0 / 5.0,
    1.0 / 6.0,
    1.0 / 7.0,
    1.0 / 8.0,
    1.0 / 9.0,
    1.0 / 10.0,
    1.0 / 11.0,
    1.0 / 12.0,
    1.0 / 13.0,
    1.0 / 14.0,
    1.0 / 15.0,
    1.0 / 16.0,
    1.0 / 17.0,
    1.0 / 18.0,
    1.0 / 19.0,
    1.0 / 20.0,
];
/// Probability that a purchase is of the customer's favourite product.
const FAVOURITE_SHARE: f64 = 0.35;

// ---- After-purchase events ---------------------------------------------------------------
/// Web/app purchases after the first are preceded by Poisson(this) web visits.
const BROWSE_MEAN: f64 = 1.2;
/// ... spread uniformly over this many days before the purchase.
const BROWSE_DAYS: f64 = 3.0;
/// Probability that a purchase is refunded.
const REFUND_PROB: f64 = 0.02;
/// Refunds come uniformly 1 to this many days after the purchase.
const REFUND_MAX_DAYS: f64 = 30.0;
/// Shapes of the beta distribution of the per-purchase service-call probability.
const SERVICE_A: f64 = 1.0;
/// See [`SERVICE_A`].
const SERVICE_B: f64 = 14.0;
/// Service calls come uniformly 0 to this many days after the purchase.
const SERVICE_MAX_DAYS: f64 = 14.0;
/// Cost of a service call.
const SERVICE_COST: f64 = 4.0;
/// Probability that a service call is followed by a complaint (within 2 days).
const COMPLAINT_AFTER_CALL: f64 = 0.25;
/// Probability that a refund is followed by a complaint (within 3 days).
const COMPLAINT_AFTER_REFUND: f64 = 0.30;
/// Channels of complaints.
const COMPLAINT_CHANNELS: [Channel; 4] = [Channel::Phone, Channel::Email, Channel::Web, Channel::Store];
/// Weights of [`COMPLAINT_CHANNELS`].
const COMPLAINT_CHANNEL_WEIGHTS: [f64; 4] = [0.45, 0.30, 0.15, 0.10];
/// Probability that a purchase is followed by a survey answer (1 to 7 days later).
const SURVEY_PROB: f64 = 0.10;
/// Mean of the customer's latent satisfaction (on the 1..=10 scale).
const SATISFACTION_MEAN: f64 = 7.4;
/// Standard deviation of the latent satisfaction between customers.
const SATISFACTION_SD: f64 = 1.2;
/// Standard deviation of one answer around the customer's satisfaction.
const SCORE_NOISE: f64 = 1.5;
/// How much a complaint about the same purchase lowers the expected score.
const COMPLAINT_PENALTY: f64 = 2.5;

// ---- Engagement: web visits and e-mail ---------------------------------------------------
/// Shape of the gamma distribution (mean 1) of the customer's engagement multiplier.
const ENGAGEMENT_SHAPE: f64 = 2.0;
/// Background web visits per day (times engagement), plus [`WEB_VISITS_PER_PURCHASE`] times
/// the purchase rate.
const WEB_BASE_RATE: f64 = 0.007;
/// See [`WEB_BASE_RATE`].
const WEB_VISITS_PER_PURCHASE: f64 = 0.3;
/// After dropping out, a customer stays engaged (visits, reads e-mail) for an exponential time
/// with this mean, in days.
const LINGER_DAYS: f64 = 45.0;
/// Share of eligible customers that each monthly campaign is sent to.
const CAMPAIGN_REACH: f64 = 0.4;
/// Cost of one campaign send.
const CAMPAIGN_COST: f64 = 0.05;
/// Shapes of the beta distribution of the customer's e-mail open probability.
const OPEN_A: f64 = 2.0;
/// See [`OPEN_A`].
const OPEN_B: f64 = 5.0;
/// Open probability multiplier once the customer is no longer engaged.
const LAPSED_OPEN_FACTOR: f64 = 0.35;
/// Mean delay between a send and its open, in days (exponential).
const OPEN_DELAY_DAYS: f64 = 0.75;
/// Probability that an opened campaign gets a response, for an engaged customer (times
/// engagement, capped at 3).
const RESPONSE_ENGAGED: f64 = 0.12;
/// Probability that an opened campaign gets a response once the customer has lapsed.
const RESPONSE_LAPSED: f64 = 0.03;
/// Responses come 1 to this many whole days after the send.
const RESPONSE_MAX_DAYS: u64 = 10;

/// The observation window, in seconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    /// The first second of the window (midnight UTC of the start date).
    pub(crate) start: i64,
    /// The last second of the window (23:59:59 UTC of the end date), inclusive.
    pub(crate) end: i64,
}

/// The kind of an event (the `event_type` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A purchase: amount, channel, product and cost to serve.
    Purchase,
    /// A refund of an earlier purchase: its amount, channel and product.
    Refund,
    /// A web or app visit.
    WebVisit,
    /// An opened campaign e-mail.
    EmailOpen,
    /// A campaign e-mail sent.
    CampaignSend,
    /// A response to a campaign.
    CampaignResponse,
    /// A call to customer service.
    ServiceCall,
    /// A complaint.
    Complaint,
    /// A satisfaction survey answer (score 1..=10).
    Survey,
}

impl Kind {
    /// The event type name.
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Kind::Purchase => "purchase",
            Kind::Refund => "refund",
            Kind::WebVisit => "web_visit",
            Kind::EmailOpen => "email_open",
            Kind::CampaignSend => "campaign_send",
            Kind::CampaignResponse => "campaign_response",
            Kind::ServiceCall => "service_call",
            Kind::Complaint => "complaint",
            Kind::Survey => "survey",
        }
    }
}

/// The channel of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Channel {
    /// A physical store.
    Store,
    /// The web site.
    Web,
    /// The mobile app.
    App,
    /// The telephone.
    Phone,
    /// E-mail.
    Email,
}

impl Channel {
    /// The channel name.
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Channel::Store => "store",
            Channel::Web => "web",
            Channel::App => "app",
            Channel::Phone => "phone",
            Channel::Email => "email",
        }
    }

    /// When in the day this channel is used.
    const fn hours(self) -> Hours {
        match self {
            Channel::Store => Hours::Store,
            Channel::Phone => Hours::Phone,
            Channel::Web | Channel::App | Channel::Email => Hours::Digital,
        }
    }

    /// The base share of a purchase's amount that serving it costs.
    const fn cost_share(self) -> f64 {
        match self {
            Channel::Store => 0.10,
            Channel::Web | Channel::Email => 0.07,
            Channel::App => 0.05,
            Channel::Phone => 0.12,
        }
    }
}

/// Time-of-day profiles.
#[derive(Debug, Clone, Copy)]
enum Hours {
    /// Uniform over 09:00-21:00.
    Store,
    /// Uniform over 08:00-20:00.
    Phone,
    /// 80% uniform over 07:00-23:00, 20% uniform over the whole day.
    Digital,
    /// Uniform over 08:00-12:00 (campaign e-mail delivery).
    Morning,
}

impl Hours {
    /// A random second of the day under this profile.
    fn draw(self, rng: &mut Rng) -> i64 {
        let (from, len) = match self {
            Hours::Store => (9 * HOUR, 12 * HOUR),
            Hours::Phone => (8 * HOUR, 12 * HOUR),
            Hours::Digital => {
                if rng.chance(0.8) {
                    (7 * HOUR, 16 * HOUR)
                } else {
                    (0, DAY)
                }
            }
            Hours::Morning => (8 * HOUR, 4 * HOUR),
        };
        from + below(rng, len)
    }
}

/// A uniform integer in `[0, n)` (0 when `n <= 0`).
fn below(rng: &mut Rng, n: i64) -> i64 {
    // The draw is below n <= i64::MAX, so it fits back into an i64.
    rng.below(n.max(0) as u64) as i64
}

/// Rounds to cents.
fn round_cents(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The second at which an event that happens on the day containing continuous time `t`
/// (seconds) takes place: that day plus a time of day drawn from `hours`, but never before
/// `not_before` (if the drawn time is earlier, a uniform second between `not_before` and the end
/// of that day is used instead).
fn place(rng: &mut Rng, t: f64, hours: Hours, not_before: i64) -> i64 {
    // `as` saturates (and maps NaN to 0); callers pass finite times inside the window.
    let day_start = (t.floor() as i64).div_euclid(DAY).saturating_mul(DAY);
    let at = day_start.saturating_add(hours.draw(rng));
    if at >= not_before {
        return at;
    }
    let room = day_start.saturating_add(DAY).saturating_sub(not_before).max(1);
    not_before.saturating_add(below(rng, room))
}

/// One generated event, in a compact form (nulls are NaN or 0, see the accessors).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Event {
    /// Seconds since the Unix epoch (UTC).
    pub(crate) time: i64,
    /// Amount, NaN for null.
    amount: f64,
    /// Cost, NaN for null.
    cost: f64,
    /// 0-based customer index.
    pub(crate) customer: u32,
    /// 1 + campaign index, 0 for null.
    campaign: u32,
    /// The event type.
    pub(crate) kind: Kind,
    /// The channel.
    pub(crate) channel: Option<Channel>,
    /// 1 + product index, 0 for null.
    product: u8,
    /// Score 1..=10, 0 for null.
    score: u8,
}

impl Event {
    /// An event with every optional field null.
    fn new(kind: Kind, time: i64, customer: u32) -> Self {
        Event {
            time,
            amount: f64::NAN,
            cost: f64::NAN,
            customer,
            campaign: 0,
            kind,
            channel: None,
            product: 0,
            score: 0,
        }
    }

    fn with_channel(mut self, channel: Channel) -> Self {
        self.channel = Some(channel);
        self
    }

    fn with_amount(mut self, amount: f64) -> Self {
        self.amount = amount;
        self
    }

    fn with_cost(mut self, cost: f64) -> Self {
        self.cost = cost;
        self
    }

    /// `product` is an index into [`PRODUCT_NAMES`].
    fn with_product(mut self, product: usize) -> Self {
        self.product = u8::try_from(product + 1).unwrap_or(0);
        self
    }

    /// `campaign` is an index into the campaign schedule.
    fn with_campaign(mut self, campaign: usize) -> Self {
        self.campaign = u32::try_from(campaign + 1).unwrap_or(0);
        self
    }

    fn with_score(mut self, score: u8) -> Self {
        self.score = score;
        self
    }

    /// The amount, if any.
    pub(crate) fn amount(&self) -> Option<f64> {
        (!self.amount.is_nan()).then_some(self.amount)
    }

    /// The cost, if any.
    pub(crate) fn cost(&self) -> Option<f64> {
        (!self.cost.is_nan()).then_some(self.cost)
    }

    /// The score, if any.
    pub(crate) fn score(&self) -> Option<f64> {
        (self.score > 0).then_some(f64::from(self.score))
    }

    /// The product name, if any.
    pub(crate) fn product(&self) -> Option<&'static str> {
        let index = usize::from(self.product).checked_sub(1)?;
        PRODUCT_NAMES.get(index).copied()
    }

    /// The index of the campaign in the schedule, if any.
    pub(crate) fn campaign(&self) -> Option<usize> {
        usize::try_from(self.campaign.checked_sub(1)?).ok()
    }
}

/// A customer's latent traits, drawn once at acquisition.
#[derive(Debug, Clone)]
struct Traits {
    /// Purchase rate while alive, per day (BG/NBD lambda).
    lambda: f64,
    /// Probability of dropping out after each repeat purchase (BG/NBD p).
    dropout: f64,
    /// Gamma-Gamma nu: the rate of the per-transaction spend distribution.
    spend_rate: f64,
    /// Unnormalised preference weights of [`PURCHASE_CHANNELS`].
    channel_weights: [f64; 4],
    /// Share of the app among the customer's digital (web/app) sessions.
    app_share: f64,
    /// Index of the favourite product.
    favourite: usize,
    /// Multiplier (mean 1) of web visits and campaign responses.
    engagement: f64,
    /// Probability of opening a campaign e-mail while engaged.
    open: f64,
    /// Probability that a purchase leads to a service call.
    service: f64,
    /// Latent satisfaction, around which survey scores scatter.
    satisfaction: f64,
}

impl Traits {
    fn draw(rng: &mut Rng) -> Self {
        let lambda = rng.gamma(LAMBDA_SHAPE, 1.0 / LAMBDA_RATE);
        let dropout = rng.beta(DROPOUT_A, DROPOUT_B);
        let spend_rate = rng.gamma(SPEND_RATE_SHAPE, 1.0 / SPEND_RATE_RATE).max(MIN_SPEND_RATE);
        let mut channel_weights = PURCHASE_CHANNEL_BASE;
        for weight in &mut channel_weights {
            *weight *= rng.exponential(1.0);
        }
        let [_, web, app, _] = channel_weights;
        let app_share = if web + app > 0.0 { app / (web + app) } else { 0.4 };
        let favourite = rng.choose_weighted(&PRODUCT_POPULARITY);
        let engagement = rng.gamma(ENGAGEMENT_SHAPE, 1.0 / ENGAGEMENT_SHAPE);
        let open = rng.beta(OPEN_A, OPEN_B);
        let service = rng.beta(SERVICE_A, SERVICE_B);
        let satisfaction = SATISFACTION_MEAN + SATISFACTION_SD * rng.normal();
        Traits {
            lambda,
            dropout,
            spend_rate,
            channel_weights,
            app_share,
            favourite,
            engagement,
            open,
            service,
            satisfaction,
        }
    }
}

/// Appends the events of customer `customer` (0-based) to `out`.
///
/// The customer's random stream is `Rng::for_stream(seed, customer)`, so the events depend only
/// on `(seed, customer, window, campaigns)`. Events outside the window are not appended.
pub(crate) fn simulate_customer(seed: u64, customer: u32, window: Window, campaigns: &[i64], out: &mut Vec<Event>) {
    let mut rng = Rng::for_stream(seed, u64::from(customer));
    let traits = Traits::draw(&mut rng);
    let mut sim = Sim {
        rng,
        out,
        traits,
        customer,
        acquired: window.start,
        end: window.end,
    };
    sim.run(window, campaigns);
}

/// The state of one customer's simulation.
struct Sim<'a> {
    rng: Rng,
    out: &'a mut Vec<Event>,
    traits: Traits,
    customer: u32,
    /// The acquisition second: nothing is emitted before it.
    acquired: i64,
    /// The last second of the window: nothing is emitted after it.
    end: i64,
}

impl Sim<'_> {
    fn run(&mut self, window: Window, campaigns: &[i64]) {
        // Acquisition, with the first purchase.
        let span = window.end.saturating_sub(window.start).saturating_add(1) as f64;
        let acquisition = window.start as f64 + ACQUISITION_SHARE * span * self.rng.next_f64();
        let channel = self.purchase_channel();
        let acquired = place(&mut self.rng, acquisition, channel.hours(), window.start);
        self.acquired = acquired;
        self.purchase(acquired, channel, true);

        // Repeat purchases: a Poisson process of rate lambda while alive; after each repeat
        // purchase the customer drops out with probability p (BG/NBD).
        let horizon = window.end as f64 + 1.0;
        let mut t = acquired as f64;
        let mut dropout = None;
        loop {
            t += self.rng.exponential(self.traits.lambda) * DAY_F;
            if t.is_nan() || t >= horizon {
                break;
            }
            let channel = self.purchase_channel();
            let at = place(&mut self.rng, t, channel.hours(), acquired);
            self.purchase(at, channel, false);
            if self.rng.chance(self.traits.dropout) {
                dropout = Some(t);
                break;
            }
        }

        // Engagement outlives the last purchase a little.
        let engaged_until = match dropout {
            Some(at) => at + self.rng.exponential(1.0 / LINGER_DAYS) * DAY_F,
            None => f64::INFINITY,
        };
        self.web_visits(acquired as f64, engaged_until.min(horizon));
        self.campaigns(campaigns, engaged_until);
    }

    /// Appends `event` if it lies between acquisition and the end of the window.
    fn push(&mut self, event: Event) {
        if (self.acquired..=self.end).contains(&event.time) {
            self.out.push(event);
        }
    }

    fn event(&self, kind: Kind, time: i64) -> Event {
        Event::new(kind, time, self.customer)
    }

    fn purchase_channel(&mut self) -> Channel {
        let index = self.rng.choose_weighted(&self.traits.channel_weights);
        PURCHASE_CHANNELS.get(index).copied().unwrap_or(Channel::Store)
    }

    fn digital_channel(&mut self) -> Channel {
        if self.rng.chance(self.traits.app_share) {
            Channel::App
        } else {
            Channel::Web
        }
    }

    fn product(&mut self) -> usize {
        if self.rng.chance(FAVOURITE_SHARE) {
            self.traits.favourite
        } else {
            self.rng.choose_weighted(&PRODUCT_POPULARITY)
        }
    }

    /// A purchase at `at`, with what may follow it (and the browsing that precedes repeat
    /// purchases made online).
    fn purchase(&mut self, at: i64, channel: Channel, first: bool) {
        let amount =
            round_cents(SPEND_SCALE * self.rng.gamma(SPEND_SHAPE, 1.0 / self.traits.spend_rate)).max(MIN_AMOUNT);
        let product = self.product();
        let share = channel.cost_share() + self.rng.uniform(0.0, COST_SHARE_SPREAD);
        let cost = round_cents(amount * share);
        let event = self
            .event(Kind::Purchase, at)
            .with_channel(channel)
            .with_product(product)
            .with_amount(amount)
            .with_cost(cost);
        self.push(event);

        if !first && matches!(channel, Channel::Web | Channel::App) {
            let visits = self.rng.poisson(BROWSE_MEAN);
            for _ in 0..visits {
                let before = (self.rng.uniform(0.0, BROWSE_DAYS) * DAY_F) as i64;
                let event = self
                    .event(Kind::WebVisit, at.saturating_sub(before))
                    .with_channel(channel);
                self.push(event);
            }
        }

        if self.rng.chance(REFUND_PROB) {
            let t = at as f64 + self.rng.uniform(1.0, REFUND_MAX_DAYS) * DAY_F;
            let when = place(&mut self.rng, t, channel.hours(), at);
            let event = self
                .event(Kind::Refund, when)
                .with_channel(channel)
                .with_product(product)
                .with_amount(amount);
            self.push(event);
            if self.rng.chance(COMPLAINT_AFTER_REFUND) {
                self.complaint(when, 3.0);
            }
        }

        let mut complained = false;
        if self.rng.chance(self.traits.service) {
            let t = at as f64 + self.rng.uniform(0.0, SERVICE_MAX_DAYS) * DAY_F;
            let when = place(&mut self.rng, t, Hours::Phone, at);
            let event = self
                .event(Kind::ServiceCall, when)
                .with_channel(Channel::Phone)
                .with_cost(SERVICE_COST);
            self.push(event);
            if self.rng.chance(COMPLAINT_AFTER_CALL) {
                self.complaint(when, 2.0);
                complained = true;
            }
        }

        if self.rng.chance(SURVEY_PROB) {
            let t = at as f64 + self.rng.uniform(1.0, 7.0) * DAY_F;
            let when = place(&mut self.rng, t, Hours::Digital, at);
            let penalty = if complained { COMPLAINT_PENALTY } else { 0.0 };
            let mean = self.traits.satisfaction - penalty;
            let score = (mean + SCORE_NOISE * self.rng.normal()).round().clamp(1.0, 10.0) as u8;
            let event = self
                .event(Kind::Survey, when)
                .with_channel(Channel::Email)
                .with_score(score);
            self.push(event);
        }
    }

    /// A complaint within `within_days` after `after`.
    fn complaint(&mut self, after: i64, within_days: f64) {
        let t = after as f64 + self.rng.uniform(0.0, within_days) * DAY_F;
        let index = self.rng.choose_weighted(&COMPLAINT_CHANNEL_WEIGHTS);
        let channel = COMPLAINT_CHANNELS.get(index).copied().unwrap_or(Channel::Phone);
        let when = place(&mut self.rng, t, channel.hours(), after);
        let event = self.event(Kind::Complaint, when).with_channel(channel);
        self.push(event);
    }

    /// Background web/app visits: a Poisson process between `from` and `to` (seconds).
    fn web_visits(&mut self, from: f64, to: f64) {
        let per_day = self.traits.engagement * (WEB_BASE_RATE + WEB_VISITS_PER_PURCHASE * self.traits.lambda);
        let mut t = from;
        loop {
            t += self.rng.exponential(per_day) * DAY_F;
            if t.is_nan() || t >= to {
                break;
            }
            let channel = self.digital_channel();
            let when = place(&mut self.rng, t, Hours::Digital, self.acquired);
            let event = self.event(Kind::WebVisit, when).with_channel(channel);
            self.push(event);
        }
    }

    /// The monthly campaigns: `campaigns` holds the midnight (seconds) of each send day.
    fn campaigns(&mut self, campaigns: &[i64], engaged_until: f64) {
        for (index, &day) in campaigns.iter().enumerate() {
            if day.saturating_add(DAY) <= self.acquired {
                continue;
            }
            let sent = day.saturating_add(Hours::Morning.draw(&mut self.rng));
            if sent <= self.acquired || !self.rng.chance(CAMPAIGN_REACH) {
                continue;
            }
            let event = self
                .event(Kind::CampaignSend, sent)
                .with_channel(Channel::Email)
                .with_campaign(index)
                .with_cost(CAMPAIGN_COST);
            self.push(event);

            let engaged = (sent as f64) < engaged_until;
            let open = if engaged {
                self.traits.open
            } else {
                self.traits.open * LAPSED_OPEN_FACTOR
            };
            if !self.rng.chance(open) {
                continue;
            }
            let delay = self.rng.exponential(1.0 / OPEN_DELAY_DAYS) * DAY_F;
            let opened = ((sent as f64 + delay).floor() as i64).max(sent);
            let event = self
                .event(Kind::EmailOpen, opened)
                .with_channel(Channel::Email)
                .with_campaign(index);
            self.push(event);

            let respond = if engaged {
                RESPONSE_ENGAGED * self.traits.engagement.min(3.0)
            } else {
                RESPONSE_LAPSED
            };
            if self.rng.chance(respond) {
                let days = 1 + self.rng.below(RESPONSE_MAX_DAYS);
                let t = sent as f64 + days as f64 * DAY_F;
                let when = place(&mut self.rng, t, Hours::Digital, opened);
                let channel = self.digital_channel();
                let event = self
                    .event(Kind::CampaignResponse, when)
                    .with_channel(channel)
                    .with_campaign(index);
                self.push(event);
            }
        }
    }
}
