//! The audit log: how an entry is recorded (inside the same atomic batch as the change it
//! describes, so neither exists without the other) and the audit actor, which answers queries
//! off the HTTP workers. Entries hold names, keys and ids, never a value.

use crate::error::{DomainResult, FieldErrors};
use crate::model::*;
use crate::page::{PageRequest, Paged};
use crate::store::{keys, Changes, Store};
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
        changes.put_raw([prefix, id.be().to_vec()].concat(), Vec::new());
    }
    changes.put(keys::audit(id), &entry)
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
        let user = user.and_then(|u| match u.parse::<u64>() {
            Ok(id) => Some(UserId(id)),
            Err(_) => {
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

    fn handle(&mut self, msg: QueryAudit, _: &mut Self::Context) -> Self::Result {
        let store = self.store.clone();
        Box::pin(async move {
            store.check()?;
            // The ids the caller may see: the indexes of the organizations they administer, and
            // of their own account events; merged newest first. Each organization is read
            // through its gate, so no entry of a change that is not yet durable is shown.
            let admin_of: Vec<OrgId> = store
                .orgs_of(msg.caller)?
                .into_iter()
                .filter_map(|(org, role)| role.is_admin().then_some(org))
                .collect();
            let mut durable = Vec::with_capacity(admin_of.len());
            for org in &admin_of {
                durable.push(store.read_durable(*org).await?);
            }
            let mut ids = store.index_ids(&keys::account_audit(msg.caller))?;
            for org in admin_of {
                ids.extend(store.index_ids(&keys::org_audit(org))?);
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
            drop(durable);
            Ok(Paged { count, items })
        })
    }
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
}
