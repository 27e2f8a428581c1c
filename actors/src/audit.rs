//! The audit log: how an entry is recorded (inside the same atomic batch as the change it
//! describes, so neither exists without the other) and the audit actor, which answers queries
//! off the HTTP workers. Entries hold names, keys and ids, never a value.

use crate::error::{DomainError, DomainResult, FieldErrors};
use crate::model::*;
use crate::page::{PageRequest, Paged};
use crate::store::{id_from, keys, Changes, Store};
use actix::prelude::*;
use std::collections::BTreeMap;

/// One change to record: what was done to what, with names and keys for the reader.
pub struct Event {
    pub org: Option<OrgId>,
    pub action: &'static str,
    pub target_type: &'static str,
    pub target_id: Option<u64>,
    pub details: BTreeMap<String, String>,
}

impl Event {
    pub fn new(
        org: Option<OrgId>,
        action: &'static str,
        target_type: &'static str,
        target_id: u64,
    ) -> Self {
        Event {
            org,
            action,
            target_type,
            target_id: Some(target_id),
            details: BTreeMap::new(),
        }
    }

    pub fn detail(mut self, key: &str, value: impl Into<String>) -> Self {
        self.details.insert(key.to_string(), value.into());
        self
    }
}

/// Who did something: a user, a service token (recorded under its name), or nobody known.
pub enum Who<'a> {
    User(&'a User),
    Service(&'a ServiceGrant),
    Nobody,
}

impl<'a> From<Option<&'a User>> for Who<'a> {
    fn from(u: Option<&'a User>) -> Self {
        u.map_or(Who::Nobody, Who::User)
    }
}

/// Add the audit entry for `event`, done by `who` from `ip`, to `changes`.
pub fn record<'a>(
    store: &Store,
    changes: &mut Changes,
    who: impl Into<Who<'a>>,
    ip: Option<String>,
    event: Event,
) -> DomainResult<()> {
    let id = AuditId(store.next_id("audit")?);
    let (user, user_name, user_email) = match who.into() {
        Who::User(u) => (Some(u.id), u.display_name(), u.email.clone()),
        Who::Service(g) => (None, format!("service token {}", g.name), String::new()),
        Who::Nobody => (None, String::new(), String::new()),
    };
    let entry = AuditEntry {
        id,
        org: event.org,
        user,
        user_name,
        user_email,
        action: event.action.to_string(),
        target_type: event.target_type.to_string(),
        target_id: event.target_id,
        details: event.details,
        ip_address: ip,
        timestamp: Ts::now(),
    };
    // Indexed by organization, or by user for account events, so a query reads only what its
    // caller may see.
    let index = match (entry.org, entry.user) {
        (Some(org), _) => Some(keys::org_audit(org)),
        (None, Some(user)) => Some(keys::account_audit(user)),
        (None, None) => None,
    };
    if let Some(prefix) = index {
        // One writer per index (an organization's actor, or the accounts actor for account
        // events), so reading the count and writing it plus one cannot race.
        let n = count(store, &prefix)? + 1;
        changes.put(keys::count(&prefix), &n)?;
        changes.put_raw([prefix, id.be().to_vec()].concat(), Vec::new());
    }
    changes.put(keys::audit(id), &entry)
}

/// The entries in an audit index (see `Store::counted`).
fn count(store: &Store, index: &[u8]) -> DomainResult<u64> {
    store.counted(index)
}

/// The documented filters of `GET /api/audit-logs/`.
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub user: Option<UserId>,
    pub action: Option<String>,
    pub target_type: Option<String>,
    /// Inclusive bounds in microseconds, from whole days (UTC).
    pub from: Option<Ts>,
    pub to: Option<Ts>,
}

impl AuditFilter {
    /// Parse the query's values; dates are `YYYY-MM-DD`, `date_to` includes its whole day.
    pub fn parse(
        user: Option<&str>,
        action: Option<&str>,
        target_type: Option<&str>,
        date_from: Option<&str>,
        date_to: Option<&str>,
    ) -> DomainResult<AuditFilter> {
        let mut errors = FieldErrors::default();
        // An `i64` first: no id is past it, and the API's document says `int64`.
        let user = user.and_then(|u| match u.parse::<i64>().map(u64::try_from) {
            Ok(Ok(id)) => Some(UserId(id)),
            _ => {
                errors.add("user", "Must be a user id.");
                None
            }
        });
        let mut day = |field: &str, s: Option<&str>, end: bool| {
            let s = s?;
            match chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
                Ok(d) => {
                    let d = if end { d.succ_opt()? } else { d };
                    let micros = d.and_hms_opt(0, 0, 0)?.and_utc().timestamp_micros();
                    Some(Ts(if end { micros - 1 } else { micros }))
                }
                Err(_) => {
                    errors.add(field, "Enter a date as YYYY-MM-DD.");
                    None
                }
            }
        };
        let from = day("date_from", date_from, false);
        let to = day("date_to", date_to, true);
        errors.into_result()?;
        Ok(AuditFilter {
            user,
            action: action.map(str::to_string),
            target_type: target_type.map(str::to_string),
            from,
            to,
        })
    }

    /// No filter given: every entry the caller may see.
    fn is_empty(&self) -> bool {
        self.user.is_none()
            && self.action.is_none()
            && self.target_type.is_none()
            && self.from.is_none()
            && self.to.is_none()
    }

    fn matches(&self, e: &AuditEntry) -> bool {
        self.user.is_none_or(|u| e.user == Some(u))
            && self.action.as_ref().is_none_or(|a| &e.action == a)
            && self
                .target_type
                .as_ref()
                .is_none_or(|t| &e.target_type == t)
            && self.from.is_none_or(|f| e.timestamp >= f)
            && self.to.is_none_or(|t| e.timestamp <= t)
    }
}

/// Entries the caller may read: those of organizations where they are admin, and their own
/// account events. Newest first.
#[derive(Message)]
#[rtype(result = "DomainResult<Paged<AuditView>>")]
pub struct QueryAudit {
    pub caller: UserId,
    pub filter: AuditFilter,
    pub page: PageRequest,
}

pub struct AuditActor {
    store: Store,
}

impl AuditActor {
    pub fn new(store: Store) -> Self {
        AuditActor { store }
    }
}

impl Actor for AuditActor {
    type Context = Context<Self>;
}

impl Handler<QueryAudit> for AuditActor {
    type Result = ResponseFuture<DomainResult<Paged<AuditView>>>;

    /// Runs in the blocking pool, not on this actor: a flood of queries from one user does not
    /// queue another's behind it.
    fn handle(&mut self, msg: QueryAudit, _: &mut Self::Context) -> Self::Result {
        let store = self.store.clone();
        Box::pin(async move {
            store.check()?;
            let admin_of: Vec<OrgId> = store
                .orgs_of(msg.caller)?
                .into_iter()
                .filter_map(|(org, role)| role.is_admin().then_some(org))
                .collect();
            // Each organization is read through its gate, so no entry of a change that is not
            // yet durable is shown.
            let mut durable = Vec::with_capacity(admin_of.len());
            for org in &admin_of {
                durable.push(store.read_durable(*org).await?);
            }
            let page = tokio::task::spawn_blocking(move || {
                let page = query(&store, &msg, &admin_of);
                drop(durable);
                page
            });
            page.await
                .map_err(|e| DomainError::internal("blocking pool", e))?
        })
    }
}

/// The indexes the caller may read (their own account events, and the organizations they
/// administer), newest first.
fn query(store: &Store, msg: &QueryAudit, admin_of: &[OrgId]) -> DomainResult<Paged<AuditView>> {
    let mut indexes = vec![keys::account_audit(msg.caller)];
    indexes.extend(admin_of.iter().map(|org| keys::org_audit(*org)));
    if msg.filter.is_empty() {
        return newest_page(store, &indexes, msg.page);
    }
    // With filters every entry the caller may see is read, to count the matching ones.
    let mut ids = Vec::new();
    for index in &indexes {
        ids.extend(store.index_ids(index)?);
    }
    ids.sort_unstable_by(|a, b| b.cmp(a));
    let mut count = 0;
    let mut items = Vec::new();
    for id in ids {
        let Some(e) = store.get::<AuditEntry>(&keys::audit(AuditId(id)))? else {
            continue;
        };
        if msg.filter.matches(&e) {
            if count >= msg.page.offset() && items.len() < msg.page.size() {
                items.push(AuditView::from(e));
            }
            count += 1;
        }
    }
    Ok(Paged { count, items })
}

/// Without filters: the count from the indexes' counters, and the page by merging the indexes
/// from their newest end, reading only as far as the page reaches: O(page), whatever the size
/// of the log.
fn newest_page(
    store: &Store,
    indexes: &[Vec<u8>],
    page: PageRequest,
) -> DomainResult<Paged<AuditView>> {
    let mut count = 0u64;
    let mut heads = Vec::with_capacity(indexes.len());
    for index in indexes {
        count += self::count(store, index)?;
        let mut ids = store
            .scan_keys(index)
            .rev()
            .map(|k| k.and_then(|k| id_from(k.as_ref())));
        let first = ids.next().transpose()?;
        heads.push((first, ids));
    }
    let mut items = Vec::with_capacity(page.size());
    let mut skipped = 0;
    while items.len() < page.size() {
        // The index whose next entry is the newest.
        let Some(i) = (0..heads.len())
            .filter(|i| heads[*i].0.is_some())
            .max_by_key(|i| heads[*i].0)
        else {
            break;
        };
        let Some(id) = heads[i].0 else { break };
        heads[i].0 = heads[i].1.next().transpose()?;
        if skipped < page.offset() {
            skipped += 1;
            continue;
        }
        if let Some(e) = store.get::<AuditEntry>(&keys::audit(AuditId(id)))? {
            items.push(AuditView::from(e));
        }
    }
    Ok(Paged {
        count: count as usize,
        items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_filters_cover_whole_days() {
        let f = AuditFilter::parse(None, None, None, Some("2025-08-30"), Some("2025-08-30"))
            .expect("valid");
        let (from, to) = (f.from.expect("from").0, f.to.expect("to").0);
        assert_eq!(to - from, 86_400_000_000 - 1);
        assert!(AuditFilter::parse(None, None, None, Some("30/08/2025"), None).is_err());
        assert!(AuditFilter::parse(Some("x"), None, None, None, None).is_err());
    }

    #[test]
    fn an_unfiltered_page_from_the_counters_matches_reading_every_entry() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(dir.path()).expect("open");
        let user = User {
            id: UserId(1),
            username: "ada".into(),
            email: "ada@example.com".into(),
            first_name: String::new(),
            last_name: String::new(),
            password_hash: String::new(),
            date_joined: Ts::now(),
            last_login: None,
            is_active: true,
        };
        // Entries interleaved over two organizations and the user's own account events.
        for i in 0..57u64 {
            let org = match i % 3 {
                0 => None,
                1 => Some(OrgId(1)),
                _ => Some(OrgId(2)),
            };
            let mut c = Changes::new();
            let event = Event::new(org, "x", "t", i);
            record(&store, &mut c, Some(&user), None, event).expect("record");
            store.apply(c).expect("apply");
        }
        let admin_of = [OrgId(1), OrgId(2)];
        let everything = AuditFilter {
            from: Some(Ts(0)),
            ..Default::default()
        };
        for (page, size) in [(1, 20), (2, 20), (3, 20), (4, 20), (1, 100), (5, 7)] {
            let page = PageRequest::new(page, size).expect("page");
            let ask = |filter: &AuditFilter| QueryAudit {
                caller: user.id,
                filter: filter.clone(),
                page,
            };
            let fast = query(&store, &ask(&AuditFilter::default()), &admin_of).expect("fast");
            let slow = query(&store, &ask(&everything), &admin_of).expect("slow");
            assert_eq!(fast.count, 57);
            assert_eq!(fast.count, slow.count);
            let ids = |p: &Paged<AuditView>| p.items.iter().map(|v| v.id).collect::<Vec<_>>();
            assert_eq!(ids(&fast), ids(&slow), "page {page:?}");
        }
    }
}
