//! Service tokens: credentials for machines (CI jobs, servers), each bound to one environment
//! with read or read-write access to its variables and nothing else. Created, listed and revoked
//! by the environment's organization actor; the token (`kns_` + 40 hex) is shown once and stored
//! only as a SHA-256. Checking one reads the store every time, so a revocation, an expiry or the
//! deletion of the environment takes effect on the very next request.

use crate::accounts::hash_token;
use crate::crypto::random_bytes;
use crate::error::{DomainError, DomainResult};
use crate::model::*;
use crate::org::{OrgActor, Write};
use crate::page::{PageRequest, Paged, Window};
use crate::store::{keys, Changes, Store};
use actix::prelude::*;

pub const PREFIX: &str = "kns_";
pub const MAX_EXPIRY_DAYS: u32 = 3650;

/// Does `token` have the shape of a service token (`kns_` + 40 lowercase hex)?
pub fn is_service_token(token: &str) -> bool {
    token
        .strip_prefix(PREFIX)
        .is_some_and(|t| t.len() == 40 && t.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
}

/// Why a service token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Unknown,
    Expired,
}

/// The grant a service token carries and the user who created it, or why it is refused.
/// Records `last_used` at most once a minute (bookkeeping, not flushed).
pub fn authenticate(
    store: &Store,
    token: &str,
) -> DomainResult<Result<(ServiceGrant, UserId), Refused>> {
    if !is_service_token(token) {
        return Ok(Err(Refused::Unknown));
    }
    let key = keys::service_token(&hash_token(token));
    let Some(mut rec) = store.get::<ServiceToken>(&key)? else {
        return Ok(Err(Refused::Unknown));
    };
    let now = Ts::now();
    if rec.expires_at.is_some_and(|e| e <= now) {
        return Ok(Err(Refused::Expired));
    }
    if rec.last_used.is_none_or(|t| now.0 - t.0 > 60_000_000) {
        rec.last_used = Some(now);
        store.put_volatile(&key, &rec)?;
    }
    let grant = ServiceGrant {
        token: rec.id,
        name: rec.name,
        org: rec.org,
        env: rec.env,
        access: rec.access,
    };
    Ok(Ok((grant, rec.created_by)))
}

#[derive(Debug)]
pub struct NewServiceToken {
    pub name: String,
    pub access: ServiceAccess,
    pub expires_in_days: Option<f64>,
}

#[derive(Message)]
#[rtype(result = "DomainResult<ServiceTokenView>")]
pub struct CreateServiceToken {
    pub caller: Caller,
    pub env: EnvId,
    pub input: NewServiceToken,
}

#[derive(Message)]
#[rtype(result = "DomainResult<Paged<ServiceTokenView>>")]
pub struct ListServiceTokens {
    pub caller: Caller,
    pub env: EnvId,
    pub page: PageRequest,
}

#[derive(Message)]
#[rtype(result = "DomainResult<()>")]
pub struct RevokeServiceToken {
    pub caller: Caller,
    pub env: EnvId,
    pub id: ServiceTokenId,
}

impl OrgActor {
    fn token_view(
        &self,
        t: &ServiceToken,
        token: Option<SecretValue>,
    ) -> DomainResult<ServiceTokenView> {
        Ok(ServiceTokenView {
            id: t.id,
            name: t.name.clone(),
            access: t.access,
            environment: t.env,
            created_at: t.created_at.rfc3339(),
            expires_at: t.expires_at.map(Ts::rfc3339),
            last_used: t.last_used.map(Ts::rfc3339),
            created_by_name: self.name_of(t.created_by)?,
            token,
        })
    }
}

impl Handler<CreateServiceToken> for OrgActor {
    type Result = Write<ServiceTokenView>;

    fn handle(&mut self, msg: CreateServiceToken, _: &mut Self::Context) -> Self::Result {
        let change = (|| {
            let e = self.environment(msg.env)?;
            self.writer(&msg.caller, "environment")?;
            let mut raw = [0u8; 20];
            random_bytes(&mut raw)?;
            let token = SecretValue::new(format!("{PREFIX}{}", hex::encode(raw)));
            let hash = hash_token(token.expose());
            let now = Ts::now();
            let rec = ServiceToken {
                id: ServiceTokenId(self.store().next_id("service_token")?),
                org: self.id(),
                env: e.id,
                name: msg.input.name,
                access: msg.input.access,
                created_at: now,
                expires_at: msg
                    .input
                    .expires_in_days
                    .map(|d| Ts(now.0 + (d * 86_400_000_000.0) as i64)),
                created_by: msg.caller.user,
                last_used: None,
            };
            let mut c = Changes::new();
            c.put(keys::service_token(&hash), &rec)?;
            c.put_raw(keys::env_service_token(e.id, rec.id), hash.to_vec());
            let ev = self
                .event("service_token_created", "service_token", rec.id.0)
                .detail("token_name", &rec.name)
                .detail("environment_name", &e.name)
                .detail(
                    "access",
                    if rec.access == ServiceAccess::ReadWrite {
                        "read_write"
                    } else {
                        "read"
                    },
                );
            self.record(&mut c, &msg.caller, ev)?;
            Ok((c, self.token_view(&rec, Some(token))?))
        })();
        self.commit(change)
    }
}

impl Handler<ListServiceTokens> for OrgActor {
    type Result = DomainResult<Paged<ServiceTokenView>>;

    fn handle(&mut self, msg: ListServiceTokens, _: &mut Self::Context) -> Self::Result {
        let e = self.environment(msg.env)?;
        self.writer(&msg.caller, "environment")?;
        let prefix = keys::env_service_tokens(e.id);
        let count = self.store().count(&prefix)? as usize;
        let items = Window::page(msg.page)
            .apply(self.store().scan_entries(&prefix))
            .into_iter()
            .map(|kv| {
                let (_, hash) = kv?;
                let hash: [u8; 32] = hash
                    .as_ref()
                    .try_into()
                    .map_err(|_| DomainError::Internal("bad token index".into()))?;
                let t: ServiceToken =
                    self.store()
                        .get(&keys::service_token(&hash))?
                        .ok_or_else(|| {
                            DomainError::Internal("service token index without its token".into())
                        })?;
                self.token_view(&t, None)
            })
            .collect::<DomainResult<_>>()?;
        Ok(Paged { count, items })
    }
}

impl Handler<RevokeServiceToken> for OrgActor {
    type Result = Write<()>;

    fn handle(&mut self, msg: RevokeServiceToken, _: &mut Self::Context) -> Self::Result {
        let change = (|| {
            let e = self.environment(msg.env)?;
            self.writer(&msg.caller, "environment")?;
            let index = keys::env_service_token(e.id, msg.id);
            let hash = self
                .store()
                .get_raw(&index)?
                .ok_or(DomainError::NotFound("service token"))?;
            let hash: [u8; 32] = hash
                .as_ref()
                .try_into()
                .map_err(|_| DomainError::Internal("bad token index".into()))?;
            let t: Option<ServiceToken> = self.store().get(&keys::service_token(&hash))?;
            let mut c = Changes::new();
            c.del(keys::service_token(&hash));
            c.del(index);
            let ev = self
                .event("service_token_revoked", "service_token", msg.id.0)
                .detail("token_name", t.map(|t| t.name).unwrap_or_default())
                .detail("environment_name", &e.name);
            self.record(&mut c, &msg.caller, ev)?;
            Ok((c, ()))
        })();
        self.commit(change)
    }
}
