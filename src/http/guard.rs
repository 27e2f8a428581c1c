//! Connection hygiene: no client holds the server's connections or workers for long. A request
//! body must arrive within a deadline (the head has its own, `client_request_timeout`), and one
//! client address may have only so many requests in progress at once; past that it is refused
//! at once and the connection closed, so a single address cannot exhaust file descriptors with
//! stalled bodies (1,125 of them once stopped `/health/` and logins). The file-descriptor limit
//! is raised to the hard limit at start, where the OS allows.

use crate::http::error::{ApiError, ErrorCode};
use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::web::Bytes;
use dashmap::DashMap;
use futures_util::Stream;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

/// In-flight requests per client address, with a cap.
pub struct ClientSlots {
    cap: u32,
    busy: DashMap<IpAddr, u32>,
}

/// One request in progress for its address; the slot is given back when this is dropped
/// (whether the response was sent, failed, or the client went away).
pub struct Slot {
    slots: Arc<ClientSlots>,
    addr: IpAddr,
}

impl ClientSlots {
    pub fn new(cap: u32) -> Arc<ClientSlots> {
        Arc::new(ClientSlots {
            cap: cap.max(1),
            busy: DashMap::new(),
        })
    }

    /// A slot for `addr`, or the refusal when it has `cap` requests in progress already.
    pub fn take(self: &Arc<Self>, addr: IpAddr) -> Result<Slot, ApiError> {
        let mut n = self.busy.entry(addr).or_insert(0);
        if *n >= self.cap {
            return Err(ApiError::new(
                ErrorCode::RateLimited,
                "Too many requests in progress from your address; finish or close some first.",
            ));
        }
        *n += 1;
        Ok(Slot {
            slots: self.clone(),
            addr,
        })
    }

    pub fn in_progress(&self) -> usize {
        self.busy.iter().map(|e| *e.value() as usize).sum()
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        // Entries at zero are removed, so idle addresses cost nothing.
        self.slots.busy.remove_if_mut(&self.addr, |_, n| {
            *n = n.saturating_sub(1);
            *n == 0
        });
    }
}

/// A request body that must be complete by a deadline; after it, the stream ends with a
/// `TimedOut` error, which the extractors answer 408.
struct Deadline {
    inner: Payload,
    sleep: Pin<Box<tokio::time::Sleep>>,
    expired: bool,
}

impl Stream for Deadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.expired {
            return Poll::Ready(None);
        }
        if self.sleep.as_mut().poll(cx).is_ready() {
            self.expired = true;
            let e = std::io::Error::new(std::io::ErrorKind::TimedOut, "request body deadline");
            return Poll::Ready(Some(Err(PayloadError::Io(e))));
        }
        Pin::new(&mut self.inner).poll_next(cx)
    }
}

/// A request body as a stream of chunks (what `Payload` takes).
pub type BodyStream = Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>>;

/// `payload`, cut off `limit` from now.
pub fn with_deadline(payload: Payload, limit: Duration) -> Payload {
    let stream: BodyStream = Box::pin(Deadline {
        inner: payload,
        sleep: Box::pin(tokio::time::sleep(limit)),
        expired: false,
    });
    Payload::from(stream)
}

/// Was a body read cut off by its deadline?
pub fn timed_out(e: &PayloadError) -> bool {
    matches!(e, PayloadError::Io(io) if io.kind() == std::io::ErrorKind::TimedOut)
}

/// The answer to a body that could not be read: 408 when its deadline cut it off.
pub fn body_error(e: PayloadError) -> ApiError {
    if timed_out(&e) {
        body_timeout()
    } else {
        ApiError::bad_request("The request body could not be read.")
    }
}

/// The answer to a body that did not arrive in time.
pub fn body_timeout() -> ApiError {
    ApiError::new(
        ErrorCode::RequestTimeout,
        "The request body did not arrive in time.",
    )
}

/// Raise the soft limit on open files to the hard limit, so that connection caps, not the
/// default 1,024, decide how many clients are served. Returns the limit now in force.
pub fn raise_fd_limit() -> Option<u64> {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
    if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
        return Some(hard);
    }
    Some(soft)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_its_cap_of_slots_and_they_come_back_when_dropped() {
        let slots = ClientSlots::new(2);
        let a: IpAddr = "203.0.113.1".parse().expect("ip");
        let b: IpAddr = "203.0.113.2".parse().expect("ip");
        let one = slots.take(a).expect("first");
        let two = slots.take(a).expect("second");
        assert!(slots.take(a).is_err(), "third refused");
        assert!(slots.take(b).is_ok(), "another address is not affected");
        drop(one);
        let again = slots.take(a).expect("a slot came back");
        drop((two, again));
        assert_eq!(slots.in_progress(), 0);
        assert!(slots.busy.is_empty(), "idle addresses cost nothing");
    }
}
