//! Opening the rollups of a saved store: the base's, with each appended segment's merged in.
//!
//! A format version 2 store (the base, and every segment an append adds) saves a purchase
//! rollup and an activity rollup of its own events. Opening reads the base's and folds each
//! segment's in through the rollups' mergeable state ([`PurchaseRollup::merged`],
//! [`ActivityRollup::merged`]), so a kernel that reads the rollups reads one row per customer
//! per part, appended or not: no event is opened and nothing waits for `compact`.

use std::path::Path;

use super::activity::{ACTIVITY, ActivityRollup};
use super::persist::{FORMAT_V2, Manifest, corrupt, read_customers_v2, read_file, read_manifest};
use super::rollup::{PurchaseRollup, ROLLUP};
use super::segments::{self, segment_manifest};
use super::{EventStore, KeyRef, OwnedKey, merge};
use crate::error::Result;
use crate::exec::Parallelism;
use crate::schema::Role;

/// The rollups of one part of a store.
type Rollups = (PurchaseRollup, Option<ActivityRollup>);

impl EventStore {
    /// The purchase rollup saved with the store in `dir` (see [`PurchaseRollup`]): its customer
    /// keys and, per customer, purchase count, spend and first and last purchase, read and
    /// verified without opening the events; a store with appended segments gives the rollup of
    /// the base and every segment together. `None` when the store has none: a Parquet-storage
    /// or older store.
    ///
    /// # Errors
    /// As [`open`](Self::open), for the manifests, the customers files and the rollup files.
    pub fn open_rollup(dir: impl AsRef<Path>, par: &Parallelism) -> Result<Option<PurchaseRollup>> {
        let dir = dir.as_ref();
        par.install(|| rollup_in(dir, &read_manifest(dir)?))
    }

    /// The activity rollup saved with the store in `dir` (see [`ActivityRollup`]), with the
    /// purchase rollup it completes; a store with appended segments gives those of the base and
    /// every segment together. `None` when the store has either not (a Parquet-storage or older
    /// store), or when the appended purchases of more than 256 customers interleave with
    /// earlier ones so that their distinct purchase periods cannot be merged (see
    /// [`ActivityRollup`]'s docs; up to 256 such customers are recounted from their events,
    /// one point lookup each): the events answer then.
    ///
    /// # Errors
    /// As [`open`](Self::open), for the manifests, the customers files and the rollup files.
    pub fn open_activity(dir: impl AsRef<Path>, par: &Parallelism) -> Result<Option<(PurchaseRollup, ActivityRollup)>> {
        let dir = dir.as_ref();
        par.install(|| {
            let Some((purchases, Some(activity))) = rollups_in(dir, &read_manifest(dir)?, true)? else {
                return Ok(None);
            };
            Ok(Some((purchases, activity)))
        })
    }
}

/// The purchase rollup of the store in `dir` whose manifest is `m` (read in the current
/// pool), or `None` as [`EventStore::open_rollup`].
pub(super) fn rollup_in(dir: &Path, m: &Manifest) -> Result<Option<PurchaseRollup>> {
    Ok(rollups_in(dir, m, false)?.map(|(p, _)| p))
}

/// The rollups of the store in `dir` whose manifest is `m`, segments merged in: the purchase
/// rollup, and with `activity` the activity rollup (`None` inside when it cannot be merged).
/// `None` when the base or a segment has no rollup.
fn rollups_in(dir: &Path, m: &Manifest, activity: bool) -> Result<Option<Rollups>> {
    let Some((mut purchases, mut active)) = read_part(dir, m, activity)? else {
        return Ok(None);
    };
    // The customers whose purchase periods interleave across parts, to recount.
    let mut late: Vec<OwnedKey> = Vec::new();
    for seg in &m.segments {
        let (sdir, sm) = segment_manifest(dir, seg)?;
        let Some((p, a)) = read_part(&sdir, &sm, activity && active.is_some())? else {
            return Ok(None);
        };
        let (keys, pairs) = merge::merge_keys(purchases.keys(), p.keys())
            .map_err(|e| corrupt(dir, format!("segment {}: {e}", seg.name)))?;
        active = match (&active, &a) {
            (Some(mine), Some(theirs)) => {
                let (merged, rows) = mine.merged(&purchases, theirs, &p, keys.clone(), &pairs);
                late.extend(rows.into_iter().filter_map(|r| keys.get(r).map(OwnedKey::of)));
                (late.len() <= RECOUNT_MAX).then_some(merged)
            }
            _ => None,
        };
        purchases = purchases.merged(&p, keys, &pairs);
    }
    if let Some(a) = active.as_mut() {
        late.sort_unstable();
        late.dedup();
        for key in &late {
            recount(dir, m, a, key.as_ref())?;
        }
    }
    let expected = m.num_customers + m.segments.iter().map(|s| s.new_customers).sum::<u64>();
    if purchases.keys().len() as u64 != expected {
        return Err(corrupt(
            dir,
            format!(
                "{} customers in the merged rollups, the manifests say {expected}",
                purchases.keys().len()
            ),
        ));
    }
    Ok(Some((purchases, active)))
}

/// At most this many customers whose appended purchases interleave with earlier ones are
/// recounted from their events; beyond, the activity rollup is not used and the events answer.
/// A recount is a point lookup, about 2 ms on the 1M-customer store (100 customers added 0.2 s
/// to the summary), so 256 cost about what reading the events instead adds (0.8 s).
const RECOUNT_MAX: usize = 256;

/// Recounts the period totals of customer `key` in the merged activity rollup `a` of the store
/// in `dir` (manifest `m`) from its events in every part.
fn recount(dir: &Path, m: &Manifest, a: &mut ActivityRollup, key: KeyRef<'_>) -> Result<()> {
    let missing = || {
        corrupt(
            dir,
            format!("customer {key}, in the merged rollups, is not in the store"),
        )
    };
    let row = a.keys().position(key).ok_or_else(missing)?;
    let roles = [Role::EventTime, Role::EventType, Role::Amount];
    let one = segments::lookup(dir, m, key, Some(&roles))?.ok_or_else(missing)?;
    a.recount(row as usize, &one);
    Ok(())
}

/// The rollups of one part (the base or a segment, whose own segments are not looked at):
/// its customers file, purchase rollup file and, with `activity`, activity rollup file,
/// read side by side and verified. `None` when the part has no purchase rollup (a version 1
/// or older store); the activity rollup is `None` inside when not asked for or not saved.
fn read_part(dir: &Path, m: &Manifest, activity: bool) -> Result<Option<Rollups>> {
    let (rollup_name, rollup_entry) = m.file(ROLLUP);
    let Some(rollup_entry) = rollup_entry.filter(|_| m.version == FORMAT_V2) else {
        return Ok(None);
    };
    let (activity_name, activity_entry) = m.file(ACTIVITY);
    let activity_entry = activity_entry.filter(|_| activity);
    let ((customers, rollup), active) = rayon::join(
        || {
            rayon::join(
                || read_customers_v2(dir, m),
                || read_file(dir, &rollup_name, m.storage, Some(rollup_entry)),
            )
        },
        || activity_entry.map(|e| read_file(dir, &activity_name, m.storage, Some(e))),
    );
    let (keys, _) = customers?;
    let purchases = PurchaseRollup::from_batches(dir, keys, &rollup?)?;
    let active = match active {
        Some(batches) => Some(ActivityRollup::from_batches(dir, purchases.keys().clone(), &batches?)?),
        None => None,
    };
    Ok(Some((purchases, active)))
}
