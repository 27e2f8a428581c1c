//! Durable before visible to readers. A change is applied to sled (and so readable) before it is
//! flushed, and a flush can fail or a crash can come first: a read in that window would answer
//! with state that may be taken back. Each organization has a gate: its actor closes it for the
//! window of one write (after waiting, without holding its thread, for the readers inside to
//! leave) and opens it once the flush is done; readers off the actor wait at the gate while it
//! is closed, and none enters once a writer waits, so a stream of readers cannot starve writes.
//! The actor itself handles nothing else during that window (`AtomicResponse`), so its own
//! reads never see a change that is not yet durable either.

use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::Notify;

#[derive(Default)]
pub struct Gate {
    state: Mutex<State>,
    /// Wakes a closing writer when the last reader leaves.
    drained: Notify,
    /// Wakes waiting readers when the gate opens.
    opened: Notify,
}

#[derive(Default)]
struct State {
    closed: bool,
    readers: usize,
}

/// A reader inside the gate; leaving is dropping it.
pub struct Reading {
    gate: Arc<Gate>,
}

impl Gate {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock only means a reader panicked while counting; the counts are intact.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Enter once the gate is open (no write of this organization between apply and flush).
    pub async fn read(self: &Arc<Self>) -> Reading {
        loop {
            let mut opened = std::pin::pin!(self.opened.notified());
            // Registered before the check, so an opening between the check and the wait is seen.
            opened.as_mut().enable();
            {
                let mut s = self.lock();
                if !s.closed {
                    s.readers += 1;
                    return Reading { gate: self.clone() };
                }
            }
            opened.await;
        }
    }

    /// Close the gate for one write and wait until the readers inside have left (a heavy query
    /// may take a while: the wait holds the actor, not its arbiter's thread, so other
    /// organizations go on). Only the organization's actor writes, so it never waits for
    /// another writer.
    pub async fn close(&self) {
        self.lock().closed = true;
        loop {
            let mut drained = std::pin::pin!(self.drained.notified());
            drained.as_mut().enable();
            if self.lock().readers == 0 {
                return;
            }
            drained.await;
        }
    }

    /// Open the gate again: the write is durable (or the store has failed, which readers check).
    pub fn open(&self) {
        self.lock().closed = false;
        self.opened.notify_waiters();
    }
}

impl Drop for Reading {
    fn drop(&mut self) {
        let mut s = self.gate.lock();
        s.readers -= 1;
        if s.readers == 0 {
            self.gate.drained.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[actix_rt::test]
    async fn readers_wait_while_a_write_is_between_apply_and_flush() {
        let gate = Arc::new(Gate::default());
        let inside = gate.read().await;
        let g = gate.clone();
        let (closed_tx, mut closed_rx) = tokio::sync::mpsc::unbounded_channel();
        let (go_tx, go_rx) = tokio::sync::oneshot::channel::<()>();
        let writer = actix_rt::spawn(async move {
            g.close().await;
            closed_tx.send(()).expect("send");
            go_rx.await.expect("go");
            g.open();
        });
        // The writer cannot close while a reader is inside.
        let early = tokio::time::timeout(Duration::from_millis(100), closed_rx.recv()).await;
        assert!(early.is_err(), "closed with a reader inside");
        drop(inside);
        closed_rx.recv().await.expect("closed once the reader left");
        // Closed: a new reader stays outside (a lower bound on waiting, not a timing claim).
        let waiting = tokio::time::timeout(Duration::from_millis(100), gate.read()).await;
        assert!(waiting.is_err(), "no reader enters a closed gate");
        go_tx.send(()).expect("go");
        let _after = gate.read().await;
        writer.await.expect("writer");
    }
}
