//! Rate limits, as the API document sets them: authenticated callers 1000/hour per user,
//! unauthenticated 100/hour per client address, a burst limit of 50/minute per caller, and
//! register/login 5/minute per client address whatever token the request carries.
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
    Addr(IpAddr),
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
        let interval = (rate.period_secs * 1_000_000 / u64::from(rate.limit)).max(1);
        Gcra {
            limit: rate.limit,
            interval,
            tolerance: interval * u64::from(rate.limit - 1),
            tat: DashMap::new(),
        }
    }

    fn check(&self, key: Key, now: u64) -> Decision {
        if self.tat.len() >= MAX_ENTRIES && !self.tat.contains_key(&key) {
            self.sweep(now);
            if self.tat.len() >= MAX_ENTRIES {
                log::warn!(
                    "rate limit table full ({MAX_ENTRIES} callers); not tracking new callers"
                );
                return Decision {
                    allowed: true,
                    limit: self.limit,
                    remaining: self.limit,
                    reset: now / 1_000_000,
                    retry_after: 0,
                };
            }
        }
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
}

pub struct Limiter {
    user: Gcra,
    anon: Gcra,
    burst: Gcra,
    auth: Gcra,
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
        }
    }

    /// Check every limit that applies; the answer is the first refusal, else the hourly limit
    /// (the one the documented headers describe). `user` is the authenticated caller, if any;
    /// `addr` the client address.
    pub fn check(
        &self,
        user: Option<Key>,
        addr: Option<IpAddr>,
        auth_endpoint: bool,
        now: u64,
    ) -> Decision {
        let addr_key = addr.map(Key::Addr);
        let caller = user.or(addr_key);
        let mut checks: [Option<(&Gcra, Key)>; 3] = [None, None, None];
        if auth_endpoint {
            checks[0] = addr_key.map(|k| (&self.auth, k));
        }
        checks[1] = caller.map(|k| (&self.burst, k));
        checks[2] = match user {
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

    pub fn sweep(&self) {
        let now = now_micros();
        for g in [&self.user, &self.anon, &self.burst, &self.auth] {
            g.sweep(now);
        }
    }

    pub fn tracked(&self) -> usize {
        [&self.user, &self.anon, &self.burst, &self.auth]
            .iter()
            .map(|g| g.tat.len())
            .sum()
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
        });
    let auth_endpoint =
        path.starts_with("/api/auth/login") || path.starts_with("/api/auth/register");
    Some(limiter.check(user, addr, auth_endpoint, now_micros()))
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

    #[test]
    fn the_login_limit_counts_per_address_whatever_the_token() {
        let l = Limiter::new(RateSettings {
            user: "1000/hour".parse().expect("rate"),
            anon: "100/hour".parse().expect("rate"),
            burst: "50/minute".parse().expect("rate"),
            auth: "5/minute".parse().expect("rate"),
        });
        let ip = Some(IpAddr::from([10, 0, 0, 1]));
        for user in 0..5 {
            assert!(l.check(Some(Key::User(user)), ip, true, 0).allowed);
        }
        let d = l.check(Some(Key::User(99)), ip, true, 0);
        assert!(!d.allowed);
        assert_eq!(d.limit, 5);
        assert!(
            l.check(Some(Key::User(99)), ip, false, 0).allowed,
            "other endpoints are not the login limit"
        );
    }
}
