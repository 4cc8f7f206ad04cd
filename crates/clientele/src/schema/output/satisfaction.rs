//! Satisfaction views ([`satisfaction`](crate::views::satisfaction())): the summary and the
//! score distribution, whose bucket column is [`SCORE`](crate::schema::SCORE) (the score
//! rounded to an integer) and whose share is [`SHARE`](super::common::SHARE).

/// The grouping: `overall`, `channel`, `period` or `segment`.
pub const DIMENSION: &str = "dimension";
/// The group within the dimension (a channel, a period's first day, a segment; `all`).
pub const GROUP: &str = "group";
/// Scores in the group.
pub const RESPONSES: &str = "responses";
/// Mean score of the group; null when it has no responses.
pub const MEAN_SCORE: &str = "mean_score";
/// Scores of the group in the bucket.
pub const COUNT: &str = "count";
