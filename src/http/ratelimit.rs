//! Rate limits, as the API document sets them: authenticated callers 1000/hour per user,
//! unauthenticated 100/hour per client address, a burst limit of 50/minute per caller, and
//! register/login 5/minute per client address whatever token the request carries; beyond the
//! document, failed logins per target account (so that many addresses cannot guess one
//! account's password).
//!
//! The general limits are checked before routing (every request pays them); the register/login
//! limits are checked by the handlers of those routes (`AuthAttempt`, `check_login_target`), so
//! they apply to the route that runs however its path is spelled (`/api/auth/%6cogin/`). A client
//! address is an IPv4 address or an IPv6 /64 (one subscriber's allocation), so rotating through
//! one's own /64 does not make new callers.
//!
//! Each limit is a GCRA (a token bucket kept as one timestamp per caller: the "theoretical
//! arrival time"), so a check is one DashMap entry update, and an entry can be dropped as soon as
//! its bucket is full again: idle callers cost no memory, and the sweep keeps the tables small.

use crate::http::error::{ApiError, ErrorCode};
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use dashmap::DashMap;
use std::net::IpAddr;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

/// `N/second|minute|hour|day`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub limit: u32,
    pub period_secs: u64,
}

impl FromStr for Rate {
    type Err = String;

    fn from_str(s: &str) -> Result<Rate, String> {
        let err = || format!("{s:?} is not a rate like 100/hour (second, minute, hour, day)");
        let (n, unit) = s.trim().split_once('/').ok_or_else(err)?;
        let limit: u32 = n.trim().parse().ok().filter(|&n| n > 0).ok_or_else(err)?;
        let period_secs = match unit.trim() {
            "second" | "sec" | "s" => 1,
            "minute" | "min" | "m" => 60,
            "hour" | "h" => 3600,
            "day" | "d" => 86_400,
            _ => return Err(err()),
        };
        Ok(Rate { limit, period_secs })
    }
}

/// Who a limit counts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    User(u64),
    Service(u64),
    /// A client address, as `Key::addr` canonicalizes it.
    Addr(IpAddr),
    /// The account a login names (a hash of the lower-cased email).
    Account(u64),
    /// Every caller that arrives while the table is full: limited together, not let through.
    Overflow,
}

impl Key {
    /// IPv4 as is (also when it arrives IPv4-mapped in IPv6), IPv6 cut to its /64.
    pub fn addr(ip: IpAddr) -> Key {
        match crate::http::auth::canonical(ip) {
            IpAddr::V6(v6) => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                Key::Addr(IpAddr::V6(bits.into()))
            }
            v4 => Key::Addr(v4),
        }
    }

    pub fn account(email: &str) -> Key {
        use std::hash::BuildHasher;
        // A keyed hash per process: the table never holds emails, and nobody can aim
        // collisions at it.
        static SEED: std::sync::OnceLock<std::collections::hash_map::RandomState> =
            std::sync::OnceLock::new();
        let seed = SEED.get_or_init(Default::default);
        Key::Account(seed.hash_one(email.trim().to_lowercase()))
    }
}

/// The outcome of a check, and what the `X-RateLimit-*` headers say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Epoch seconds when the caller's allowance is whole again.
    pub reset: u64,
    pub retry_after: u64,
}

/// Entries kept per table before new callers go untracked (and a warning is logged).
const MAX_ENTRIES: usize = 1_000_000;

struct Gcra {
    /// Callers tracked before new ones share the `Overflow` bucket.
    max_entries: usize,
    limit: u32,
    /// Microseconds between two requests at the sustained rate.
    interval: u64,
    /// How far ahead of now the arrival time may run: `limit - 1` intervals.
    tolerance: u64,
    tat: DashMap<Key, u64>,
}

fn ceil_secs(micros: u64) -> u64 {
    micros.div_ceil(1_000_000)
}

impl Gcra {
    fn new(rate: Rate) -> Gcra {
        Self::with_capacity(rate, MAX_ENTRIES)
    }

    fn with_capacity(rate: Rate, max_entries: usize) -> Gcra {
        let interval = (rate.period_secs * 1_000_000 / u64::from(rate.limit)).max(1);
        Gcra {
            max_entries,
            limit: rate.limit,
            interval,
            tolerance: interval * u64::from(rate.limit - 1),
            tat: DashMap::new(),
        }
    }

    /// Count one request of `key` and say whether it is allowed.
    fn check(&self, key: Key, now: u64) -> Decision {
        let key = self.tracked_key(key, now);
        let mut entry = self.tat.entry(key).or_insert(now);
        let tat = (*entry).max(now);
        if tat - now > self.tolerance {
            let wait = tat - self.tolerance - now;
            return Decision {
                allowed: false,
                limit: self.limit,
                remaining: 0,
                reset: ceil_secs(tat),
                retry_after: ceil_secs(wait).max(1),
            };
        }
        let new_tat = tat + self.interval;
        *entry = new_tat;
        let used = (new_tat - now).div_ceil(self.interval);
        Decision {
            allowed: true,
            limit: self.limit,
            remaining: u32::try_from(u64::from(self.limit).saturating_sub(used)).unwrap_or(0),
            reset: ceil_secs(new_tat),
            retry_after: 0,
        }
    }

    /// Would a request of `key` be allowed now? Counts nothing.
    fn peek(&self, key: Key, now: u64) -> bool {
        let key = self.tracked_key(key, now);
        self.tat
            .get(&key)
            .is_none_or(|tat| tat.saturating_sub(now) <= self.tolerance)
    }

    /// `key`, or `Overflow` when the table is full of other callers even after a sweep: a full
    /// table still limits (all newcomers together), it never lets them through unlimited.
    fn tracked_key(&self, key: Key, now: u64) -> Key {
        if self.tat.len() >= self.max_entries && !self.tat.contains_key(&key) {
            self.sweep(now);
            if self.tat.len() >= self.max_entries {
                log::warn!(
                    "rate limit table full ({} callers); new callers share one allowance",
                    self.max_entries
                );
                return Key::Overflow;
            }
        }
        key
    }

    /// Forget callers whose allowance is whole again: they would start afresh anyway.
    fn sweep(&self, now: u64) {
        self.tat.retain(|_, tat| *tat > now);
    }
}

#[derive(Debug, Clone, Copy)]
pub struct RateSettings {
    pub user: Rate,
    pub anon: Rate,
    pub burst: Rate,
    pub auth: Rate,
    /// Failed logins per target account.
    pub login_account: Rate,
}

pub struct Limiter {
    user: Gcra,
    anon: Gcra,
    burst: Gcra,
    auth: Gcra,
    login_account: Gcra,
}

pub fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

impl Limiter {
    pub fn new(s: RateSettings) -> Limiter {
        Limiter {
            user: Gcra::new(s.user),
            anon: Gcra::new(s.anon),
            burst: Gcra::new(s.burst),
            auth: Gcra::new(s.auth),
            login_account: Gcra::new(s.login_account),
        }
    }

    /// Check the general limits; the answer is the first refusal, else the hourly limit
    /// (the one the documented headers describe). `user` is the authenticated caller, if any;
    /// `addr` the client address.
    pub fn check(&self, user: Option<Key>, addr: Option<IpAddr>, now: u64) -> Decision {
        let addr_key = addr.map(Key::addr);
        let caller = user.or(addr_key);
        let mut checks: [Option<(&Gcra, Key)>; 2] = [None, None];
        checks[0] = caller.map(|k| (&self.burst, k));
        checks[1] = match user {
            Some(k) => Some((&self.user, k)),
            None => addr_key.map(|k| (&self.anon, k)),
        };
        let mut last = Decision {
            allowed: true,
            limit: 0,
            remaining: 0,
            reset: 0,
            retry_after: 0,
        };
        for (gcra, key) in checks.into_iter().flatten() {
            last = gcra.check(key, now);
            if !last.allowed {
                break;
            }
        }
        last
    }

    /// A register or login attempt from `addr`.
    pub fn check_auth(&self, addr: IpAddr, now: u64) -> Decision {
        self.auth.check(Key::addr(addr), now)
    }

    /// May someone try to log in to `account` now? Only failures are counted
    /// (`login_failed`), so an account's owner is not locked out by their own successes.
    pub fn login_allowed(&self, account: Key, now: u64) -> bool {
        self.login_account.peek(account, now)
    }

    pub fn login_failed(&self, account: Key, now: u64) {
        self.login_account.check(account, now);
    }

    fn tables(&self) -> [&Gcra; 5] {
        [
            &self.user,
            &self.anon,
            &self.burst,
            &self.auth,
            &self.login_account,
        ]
    }

    pub fn sweep(&self) {
        let now = now_micros();
        for g in self.tables() {
            g.sweep(now);
        }
    }

    pub fn tracked(&self) -> usize {
        self.tables().iter().map(|g| g.tat.len()).sum()
    }
}

impl Decision {
    pub fn write_headers(&self, headers: &mut HeaderMap) {
        for (name, value) in [
            ("x-ratelimit-limit", self.limit as u64),
            ("x-ratelimit-remaining", self.remaining as u64),
            ("x-ratelimit-reset", self.reset),
        ] {
            headers.insert(HeaderName::from_static(name), HeaderValue::from(value));
        }
        if !self.allowed {
            headers.insert(
                HeaderName::from_static("retry-after"),
                HeaderValue::from(self.retry_after),
            );
        }
    }

    /// The documented 429 body.
    pub fn refusal(&self) -> ApiError {
        ApiError::new(
            ErrorCode::RateLimited,
            format!(
                "Too many requests. Try again in {} seconds.",
                self.retry_after
            ),
        )
    }
}

/// The decision for one request, or `None` when limits are off or the path is not limited.
pub fn decide(req: &actix_web::HttpRequest) -> Option<Decision> {
    let state = req.app_data::<actix_web::web::Data<crate::http::AppState>>()?;
    let limiter = state.limiter.as_ref()?;
    let path = req.path();
    if path.starts_with("/health") {
        return None;
    }
    let addr =
        crate::http::auth::client_ip(req, &state.trusted_proxies).and_then(|ip| ip.parse().ok());
    let user = crate::http::auth::identify(req)
        .ok()
        .map(|(caller, _)| match caller.service {
            Some(grant) => Key::Service(grant.token.0),
            None => Key::User(caller.user.0),
        })
        // The dashboard's pages count against their signed-in user, as API calls do. Only
        // outside `/api/`: the API never takes the cookie as a caller.
        .or_else(|| crate::web::session::rate_key(req).map(Key::User));
    Some(limiter.check(user, addr, now_micros()))
}

/// A limit decided by a handler (register/login), kept in the request so that its
/// `X-RateLimit-*` headers are the ones the response carries.
#[derive(Clone, Copy)]
pub struct HandlerDecision(pub Decision);

/// Keep `d` for the response's headers; its 429 when it refuses.
pub fn enforce(req: &actix_web::HttpRequest, d: Decision) -> Result<(), ApiError> {
    use actix_web::HttpMessage;
    req.extensions_mut().insert(HandlerDecision(d));
    if d.allowed {
        Ok(())
    } else {
        Err(d.refusal())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000;

    #[test]
    fn rates_parse() {
        assert_eq!(
            "5/minute".parse(),
            Ok(Rate {
                limit: 5,
                period_secs: 60
            })
        );
        assert_eq!(
            "1000/hour".parse(),
            Ok(Rate {
                limit: 1000,
                period_secs: 3600
            })
        );
        for bad in ["", "5", "0/hour", "x/hour", "5/fortnight", "-1/day"] {
            assert!(bad.parse::<Rate>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_bucket_allows_its_limit_then_refuses_until_it_refills() {
        let g = Gcra::new(Rate {
            limit: 5,
            period_secs: 60,
        });
        let k = Key::User(1);
        let t0 = 1_000 * S;
        for left in (0..5).rev() {
            let d = g.check(k, t0);
            assert!(d.allowed);
            assert_eq!(d.remaining, left);
        }
        let d = g.check(k, t0);
        assert!(!d.allowed);
        assert_eq!(d.retry_after, 12, "one interval of 60/5 s");
        assert_eq!(d.reset, 1_060);
        assert!(!g.check(k, t0 + 11 * S).allowed);
        assert!(g.check(k, t0 + 12 * S).allowed);
        // Other callers are unaffected.
        assert!(g.check(Key::User(2), t0).allowed);
    }

    #[test]
    fn idle_callers_are_swept_and_memory_stays_bounded() {
        let g = Gcra::new(Rate {
            limit: 100,
            period_secs: 3600,
        });
        for i in 0..10_000u32 {
            g.check(Key::Addr(IpAddr::from(i.to_be_bytes())), 0);
        }
        assert_eq!(g.tat.len(), 10_000);
        g.sweep(36 * S);
        assert_eq!(
            g.tat.len(),
            0,
            "one request is forgotten after one interval"
        );
    }

    fn limiter() -> Limiter {
        Limiter::new(RateSettings {
            user: "1000/hour".parse().expect("rate"),
            anon: "100/hour".parse().expect("rate"),
            burst: "50/minute".parse().expect("rate"),
            auth: "5/minute".parse().expect("rate"),
            login_account: "3/minute".parse().expect("rate"),
        })
    }

    #[test]
    fn the_login_limit_counts_per_address_and_ipv6_per_64() {
        let l = limiter();
        let ip = IpAddr::from([10, 0, 0, 1]);
        for _ in 0..5 {
            assert!(l.check_auth(ip, 0).allowed);
        }
        let d = l.check_auth(ip, 0);
        assert!(!d.allowed);
        assert_eq!(d.limit, 5);
        // The same address seen IPv4-mapped is the same caller.
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().expect("ip");
        assert!(!l.check_auth(mapped, 0).allowed);
        assert!(
            l.check(None, Some(ip), 0).allowed,
            "other endpoints are not the login limit"
        );
        for i in 1..=5u16 {
            let a = IpAddr::from([0x2001, 0xdb8, 0, 7, 0, 0, 0, i]);
            assert!(l.check_auth(a, 0).allowed);
        }
        let same_64 = IpAddr::from([0x2001, 0xdb8, 0, 7, 0xffff, 1, 2, 3]);
        assert!(!l.check_auth(same_64, 0).allowed);
        let next_64 = IpAddr::from([0x2001, 0xdb8, 0, 8, 0, 0, 0, 1]);
        assert!(
            l.check_auth(next_64, 0).allowed,
            "another /64 is another caller"
        );
    }

    #[test]
    fn failed_logins_are_limited_per_account_and_successes_are_not_counted() {
        let l = limiter();
        let a = Key::account("Victim@Example.com ");
        assert_eq!(a, Key::account("victim@example.com"));
        for _ in 0..10 {
            assert!(l.login_allowed(a, 0), "looking does not count");
        }
        for _ in 0..3 {
            l.login_failed(a, 0);
        }
        assert!(!l.login_allowed(a, 0));
        assert!(l.login_allowed(Key::account("other@example.com"), 0));
        assert!(
            l.login_allowed(a, 20 * S),
            "one failure forgotten per interval"
        );
    }

    #[test]
    fn a_full_table_still_limits_newcomers_together() {
        let g = Gcra::with_capacity(
            Rate {
                limit: 2,
                period_secs: 60,
            },
            3,
        );
        for i in 0..3u8 {
            assert!(g.check(Key::Addr(IpAddr::from([10, 0, 0, i])), 0).allowed);
        }
        // Table full: the next callers share the overflow bucket of 2.
        let newcomer = |i: u8| Key::Addr(IpAddr::from([10, 0, 1, i]));
        assert!(g.check(newcomer(1), 0).allowed);
        assert!(g.check(newcomer(2), 0).allowed);
        assert!(!g.check(newcomer(3), 0).allowed, "limited, not let through");
        // Once the old callers' allowances are whole again they are swept and room returns.
        assert!(g.check(newcomer(4), 61 * S).allowed);
    }
}
