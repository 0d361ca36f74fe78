//! Verdicts remembered for files seen before (issue 21): an approval system
//! checks the same license file again and again, and each check of a sealed
//! PDF re-parses it, re-validates two chains and re-verifies three SM2
//! signatures to reach the same answer.
//!
//! Only a passing report of a whole PDF or OFD, judged at the current time,
//! is kept, keyed by the file's SM3 and length (the digest the caller has
//! already computed to find the license; [`crate::VerifyRequest::file_sm3`]).
//! It is given back only
//! - while the time is inside the window the report holds for
//!   ([`VerificationReport::holds_until`]: the earliest certificate expiry,
//!   CRL or OCSP next update, seal validity end, or claimed-signing-time
//!   boundary that went into it), and not before it was made (a clock set
//!   back);
//! - while every seal registry answer it read is still the same (the
//!   registry is asked again on every hit and its status, status time and
//!   registered seal, by SM3, compared: a seal suspended or revoked since,
//!   by this process or another sharing the store, is a miss);
//! - by the same [`crate::TrustContext`]: the cache belongs to it, so new
//!   anchors, CRLs, OCSP responses or policy come with a new, empty cache.
//!
//! A hit differs from a fresh verification only in its validation time,
//! which is set to now. Failing, indeterminate and erroneous verdicts are
//! never kept: they are cheap to reach again and their messages carry times.
//!
//! What it does not do: keep its hits from being told apart by their speed
//! (a caller holding a file's bytes can learn that it was checked within
//! the last minutes), or keep many distinct passing variants of one file
//! (an OFD with a changed ZIP comment, say) from pushing other verdicts out:
//! at worst every check is verified afresh, as without the cache.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::SystemTime;

use yinzheng_pki::VerificationReport;
use yinzheng_seal::{RegisteredSeal, SealStatus, SealStatusSource};

use crate::Format;

/// Bounds of a [`VerdictCache`].
#[derive(Clone, Copy, Debug)]
pub struct VerdictCacheLimits {
    /// Most verdicts kept.
    pub entries: usize,
    /// Most bytes kept (the reports' text), roughly.
    pub bytes: usize,
}

impl Default for VerdictCacheLimits {
    fn default() -> Self {
        VerdictCacheLimits {
            entries: 4096,
            bytes: 32 << 20,
        }
    }
}

/// What the file was, besides its bytes' digest, that the verdict depends on.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct VerdictKey {
    format: Format,
    sm3: [u8; 32],
    len: usize,
    /// Whether a seal registry was asked.
    registry: bool,
    max_inflated: Option<u64>,
}

impl VerdictKey {
    pub(crate) fn new(
        format: Format,
        sm3: [u8; 32],
        len: usize,
        registry: bool,
        max_inflated: Option<u64>,
    ) -> Self {
        VerdictKey {
            format,
            sm3,
            len,
            registry,
            max_inflated,
        }
    }
}

/// One registry answer a verdict was built on: what verification reads of
/// it (status, when it last changed, the registered seal, by its SM3).
#[derive(Clone, Debug)]
struct SealAnswer {
    id: String,
    /// `None`: not a seal of this registry.
    seal: Option<(SealStatus, i64, [u8; 32])>,
}

impl SealAnswer {
    fn of(id: String, seal: Option<RegisteredSeal>) -> Self {
        SealAnswer {
            id,
            seal: seal.map(|r| (r.status, r.status_at, yinzheng_crypto::sm3(&r.der))),
        }
    }

    fn same_as(&self, now: &Option<RegisteredSeal>) -> bool {
        match (&self.seal, now) {
            (None, None) => true,
            (Some((status, at, der_sm3)), Some(r)) => {
                *status == r.status
                    && *at == r.status_at
                    && *der_sm3 == yinzheng_crypto::sm3(&r.der)
            }
            _ => false,
        }
    }
}

struct Entry {
    report: VerificationReport,
    made: SystemTime,
    holds_until: SystemTime,
    seals: Vec<SealAnswer>,
    bytes: usize,
    /// Used since the clock hand last passed (second-chance eviction).
    used: bool,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<VerdictKey, Entry>,
    /// Insertion order, for the clock hand.
    order: VecDeque<VerdictKey>,
    bytes: usize,
    hits: u64,
    misses: u64,
}

/// Passing verdicts of files seen before, bounded; see the module notes.
pub struct VerdictCache {
    limits: VerdictCacheLimits,
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for VerdictCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (entries, hits, misses) = self.stats();
        f.debug_struct("VerdictCache")
            .field("limits", &self.limits)
            .field("entries", &entries)
            .field("hits", &hits)
            .field("misses", &misses)
            .finish()
    }
}

impl VerdictCache {
    /// An empty cache within `limits`.
    pub fn new(limits: VerdictCacheLimits) -> Self {
        VerdictCache {
            limits,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// The bounds it keeps within.
    pub fn limits(&self) -> VerdictCacheLimits {
        self.limits
    }

    /// Verdicts kept, verdicts given back, and lookups that found none.
    pub fn stats(&self) -> (usize, u64, u64) {
        self.inner
            .lock()
            .map(|i| (i.entries.len(), i.hits, i.misses))
            .unwrap_or_default()
    }

    /// The verdict kept for `key`, if it still holds at `now` and every
    /// registry answer it read is still the same (asked again of `seals`).
    pub(crate) fn get(
        &self,
        key: &VerdictKey,
        now: SystemTime,
        seals: Option<&dyn SealStatusSource>,
    ) -> Option<VerificationReport> {
        let (report, answers) = {
            let mut inner = self.inner.lock().ok()?;
            let found = match inner.entries.get_mut(key) {
                Some(e) if e.made <= now && now < e.holds_until => {
                    e.used = true;
                    Some((e.report.clone(), e.seals.clone()))
                }
                Some(e) if now >= e.holds_until => {
                    // Past its window: gone for good.
                    forget(&mut inner, key);
                    None
                }
                // Asked for a time before it was made (a clock set back).
                Some(_) | None => None,
            };
            if found.is_none() {
                inner.misses += 1;
            }
            found?
        };
        // The registry is asked outside the lock: it may be a database.
        for a in &answers {
            let same = match seals {
                Some(s) => s.seal_status(&a.id).is_ok_and(|fresh| a.same_as(&fresh)),
                None => false,
            };
            if !same {
                if let Ok(mut inner) = self.inner.lock() {
                    forget(&mut inner, key);
                    inner.misses += 1;
                }
                return None;
            }
        }
        if let Ok(mut inner) = self.inner.lock() {
            inner.hits += 1;
        }
        let mut report = report;
        report.set_validation_time(yinzheng_pki::rfc3339(now));
        Some(report)
    }

    /// Keep `report`, made at `made` from the registry answers `seals`
    /// recorded, if it passed and holds beyond `made`.
    pub(crate) fn put(
        &self,
        key: VerdictKey,
        report: &VerificationReport,
        made: SystemTime,
        seals: RecordedAnswers,
    ) {
        if !report.passed() || seals.failed {
            return;
        }
        let Some(holds_until) = report.holds_until() else {
            // Nothing bounded it: every report that passed went through a
            // chain validation, so this is not one to trust a window for.
            return;
        };
        if holds_until <= made {
            return;
        }
        let answers: Vec<SealAnswer> = seals
            .answers
            .into_iter()
            .map(|(id, seal)| SealAnswer::of(id, seal))
            .collect();
        let bytes =
            report.approx_len() + 256 + answers.iter().map(|a| a.id.len() + 64).sum::<usize>();
        if bytes > self.limits.bytes / 4 || self.limits.entries == 0 {
            return;
        }
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        let inner = &mut *inner;
        forget(inner, &key);
        while !inner.order.is_empty()
            && (inner.entries.len() >= self.limits.entries
                || inner.bytes + bytes > self.limits.bytes)
        {
            evict_one(inner);
        }
        inner.bytes += bytes;
        inner.order.push_back(key);
        inner.entries.insert(
            key,
            Entry {
                report: report.clone(),
                made,
                holds_until,
                seals: answers,
                bytes,
                used: false,
            },
        );
    }
}

/// Drop the verdict for `key`, if any.
fn forget(inner: &mut Inner, key: &VerdictKey) {
    if let Some(old) = inner.entries.remove(key) {
        inner.bytes -= old.bytes;
        inner.order.retain(|k| k != key);
    }
}

/// Drop the first verdict the clock hand finds unused since it last passed.
fn evict_one(inner: &mut Inner) {
    while let Some(k) = inner.order.pop_front() {
        match inner.entries.get_mut(&k) {
            Some(e) if e.used => {
                e.used = false;
                inner.order.push_back(k);
            }
            Some(_) => {
                if let Some(e) = inner.entries.remove(&k) {
                    inner.bytes -= e.bytes;
                }
                return;
            }
            None => {}
        }
    }
}

/// The registry answers one verification read, in order.
#[derive(Default)]
pub(crate) struct RecordedAnswers {
    answers: Vec<(String, Option<RegisteredSeal>)>,
    /// The registry could not be asked once: the report carries a warning
    /// about it, which a later check need not repeat.
    failed: bool,
}

/// A [`SealStatusSource`] that passes every question on and records the answers.
pub(crate) struct Recorder<'a> {
    inner: &'a dyn SealStatusSource,
    seen: Mutex<RecordedAnswers>,
}

impl<'a> Recorder<'a> {
    pub(crate) fn new(inner: &'a dyn SealStatusSource) -> Self {
        Recorder {
            inner,
            seen: Mutex::new(RecordedAnswers::default()),
        }
    }

    pub(crate) fn into_answers(self) -> RecordedAnswers {
        self.seen.into_inner().unwrap_or_else(|p| {
            let mut a = p.into_inner();
            a.failed = true;
            a
        })
    }
}

impl SealStatusSource for Recorder<'_> {
    fn seal_status(
        &self,
        id: &str,
    ) -> Result<Option<RegisteredSeal>, Box<dyn std::error::Error + Send + Sync>> {
        let answer = self.inner.seal_status(id);
        if let Ok(mut seen) = self.seen.lock() {
            match &answer {
                Ok(r) => seen.answers.push((id.to_string(), r.clone())),
                Err(_) => seen.failed = true,
            }
        }
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use yinzheng_pki::{Indication, SubIndication};

    fn key(i: u8) -> VerdictKey {
        VerdictKey::new(Format::Pdf, [i; 32], 1000, true, None)
    }

    fn passing(until: SystemTime) -> VerificationReport {
        let mut r = VerificationReport::new("PDF document", "2026-12-07T00:00:00Z");
        r.pass("signature", "PDF document", "verified");
        r.limit_until(until);
        r
    }

    /// A registry with one seal whose answer the test changes.
    struct OneSeal(Mutex<Option<RegisteredSeal>>);

    impl SealStatusSource for OneSeal {
        fn seal_status(
            &self,
            _id: &str,
        ) -> Result<Option<RegisteredSeal>, Box<dyn std::error::Error + Send + Sync>> {
            Ok(self.0.lock().expect("seal").clone())
        }
    }

    fn seal(status: SealStatus, at: i64) -> RegisteredSeal {
        RegisteredSeal {
            id: "S1".into(),
            name: "seal".into(),
            holder: "h".into(),
            status,
            status_at: at,
            der: vec![0x30, 3, 1, 2, 3],
        }
    }

    fn answers_of(source: &dyn SealStatusSource) -> RecordedAnswers {
        let rec = Recorder::new(source);
        let _ = rec.seal_status("S1");
        rec.into_answers()
    }

    #[test]
    fn a_verdict_is_given_only_inside_its_window() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let cache = VerdictCache::new(VerdictCacheLimits::default());
        let source = OneSeal(Mutex::new(Some(seal(SealStatus::Active, 1))));
        cache.put(
            key(1),
            &passing(t0 + Duration::from_secs(100)),
            t0 + Duration::from_secs(1),
            answers_of(&source),
        );
        assert_eq!(cache.stats().0, 1);
        // Before it was made (a clock set back): not given.
        assert!(cache.get(&key(1), t0, Some(&source)).is_none());
        let hit = cache
            .get(&key(1), t0 + Duration::from_secs(50), Some(&source))
            .expect("inside the window");
        assert!(hit.passed());
        assert_eq!(
            hit.to_string(),
            {
                let mut r = passing(t0);
                r.set_validation_time(yinzheng_pki::rfc3339(t0 + Duration::from_secs(50)));
                r.to_string()
            },
            "given at the time asked"
        );
        // Another file, or the same without the registry: not this verdict.
        assert!(
            cache
                .get(&key(2), t0 + Duration::from_secs(50), Some(&source))
                .is_none()
        );
        assert!(
            cache
                .get(&key(1), t0 + Duration::from_secs(50), None)
                .is_none()
        );
        // At the window's end: gone.
        cache.put(
            key(1),
            &passing(t0 + Duration::from_secs(100)),
            t0 + Duration::from_secs(1),
            answers_of(&source),
        );
        assert!(
            cache
                .get(&key(1), t0 + Duration::from_secs(100), Some(&source))
                .is_none()
        );
        assert_eq!(cache.stats().0, 0, "an expired verdict is dropped");
    }

    #[test]
    fn a_changed_registry_answer_is_a_miss() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let later = t0 + Duration::from_secs(10);
        let cache = VerdictCache::new(VerdictCacheLimits::default());
        let source = OneSeal(Mutex::new(Some(seal(SealStatus::Active, 1))));
        let until = t0 + Duration::from_secs(1000);
        let again = |cache: &VerdictCache, source: &OneSeal| {
            cache.put(key(1), &passing(until), t0, answers_of(source));
            assert!(cache.get(&key(1), later, Some(source)).is_some());
        };
        again(&cache, &source);
        *source.0.lock().expect("seal") = Some(seal(SealStatus::Suspended, 5));
        assert!(
            cache.get(&key(1), later, Some(&source)).is_none(),
            "suspended"
        );
        *source.0.lock().expect("seal") = Some(seal(SealStatus::Active, 1));
        again(&cache, &source);
        *source.0.lock().expect("seal") = Some(seal(SealStatus::Active, 7));
        assert!(
            cache.get(&key(1), later, Some(&source)).is_none(),
            "resumed since"
        );
        *source.0.lock().expect("seal") = Some(seal(SealStatus::Active, 1));
        again(&cache, &source);
        let mut other = seal(SealStatus::Active, 1);
        other.der = vec![0x30, 3, 9, 9, 9];
        *source.0.lock().expect("seal") = Some(other);
        assert!(
            cache.get(&key(1), later, Some(&source)).is_none(),
            "another seal"
        );
        *source.0.lock().expect("seal") = Some(seal(SealStatus::Active, 1));
        again(&cache, &source);
        *source.0.lock().expect("seal") = None;
        assert!(
            cache.get(&key(1), later, Some(&source)).is_none(),
            "unregistered"
        );
    }

    #[test]
    fn failing_unbounded_or_unasked_verdicts_are_not_kept() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let cache = VerdictCache::new(VerdictCacheLimits::default());
        let mut failed = passing(t0 + Duration::from_secs(100));
        failed.fail(
            "signature",
            "PDF document",
            Indication::TotalFailed,
            SubIndication::HashFailure,
            "changed",
        );
        cache.put(key(1), &failed, t0, RecordedAnswers::default());
        let unbounded = VerificationReport::new("PDF document", "2026-12-07T00:00:00Z");
        cache.put(key(2), &unbounded, t0, RecordedAnswers::default());
        // Already past its window when made.
        cache.put(key(3), &passing(t0), t0, RecordedAnswers::default());
        // The registry could not be asked.
        struct Down;
        impl SealStatusSource for Down {
            fn seal_status(
                &self,
                _id: &str,
            ) -> Result<Option<RegisteredSeal>, Box<dyn std::error::Error + Send + Sync>>
            {
                Err("down".into())
            }
        }
        cache.put(
            key(4),
            &passing(t0 + Duration::from_secs(100)),
            t0,
            answers_of(&Down),
        );
        assert_eq!(cache.stats().0, 0);
    }

    #[test]
    fn kept_within_its_bounds_and_the_used_stay_longest() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let until = t0 + Duration::from_secs(1000);
        let cache = VerdictCache::new(VerdictCacheLimits {
            entries: 3,
            bytes: 1 << 20,
        });
        for i in 0..3 {
            cache.put(key(i), &passing(until), t0, RecordedAnswers::default());
        }
        assert!(cache.get(&key(0), t0, None).is_some());
        for i in 3..5 {
            cache.put(key(i), &passing(until), t0, RecordedAnswers::default());
            assert!(cache.stats().0 <= 3);
        }
        assert!(cache.get(&key(0), t0, None).is_some(), "used: kept");
        assert!(cache.get(&key(1), t0, None).is_none(), "unused: evicted");
        assert!(cache.get(&key(2), t0, None).is_none(), "unused: evicted");
        // A byte bound: each report is a few hundred bytes.
        let small = VerdictCache::new(VerdictCacheLimits {
            entries: 1000,
            bytes: 4096,
        });
        for i in 0..50 {
            small.put(key(i), &passing(until), t0, RecordedAnswers::default());
        }
        let inner = small.inner.lock().expect("cache");
        assert!(inner.bytes <= 4096, "{} bytes", inner.bytes);
        assert!(inner.entries.len() < 50 && inner.order.len() == inner.entries.len());
    }
}
