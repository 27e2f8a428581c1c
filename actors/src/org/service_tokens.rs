//! Service tokens: credentials for machines (CI jobs, servers), each bound to one environment
//! with read or read-write access to its variables and nothing else. Created, listed and revoked
//! here; the token (`kns_` + 40 hex) is shown once and stored only as a SHA-256. Checking one
//! (`authenticate`) reads the store every time, so a revocation, an expiry or the deletion of
//! the environment takes effect on the very next request.

use super::{routed, Durable, OrgActor};
use crate::crypto::{hash_token, is_token_hex, new_token_hex, token_hash_from};
use crate::error::{DomainError, DomainResult};
use crate::input::NewServiceToken;
use crate::model::*;
use crate::page::{PageRequest, Paged, Window};
use crate::store::{keys, Store};
use actix::prelude::*;

pub const PREFIX: &str = "kns_";

/// Does `token` have the shape of a service token (`kns_` + 40 lowercase hex)?
pub fn is_service_token(token: &str) -> bool {
    token.strip_prefix(PREFIX).is_some_and(is_token_hex)
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
        match store.put_volatile(&key, &rec) {
            // Another node recorded a use (or changed the token) at the same moment: its
            // record stands, within the same minute as this one.
            Err(DomainError::Contended) => {}
            other => other?,
        }
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

#[derive(Message, Clone)]
#[rtype(result = "DomainResult<ServiceTokenView>")]
pub struct CreateServiceToken {
    pub caller: Caller,
    pub env: EnvId,
    pub input: NewServiceToken,
}

#[derive(Message, Clone)]
#[rtype(result = "DomainResult<Paged<ServiceTokenView>>")]
pub struct ListServiceTokens {
    pub caller: Caller,
    pub env: EnvId,
    pub page: PageRequest,
}

#[derive(Message, Clone)]
#[rtype(result = "DomainResult<()>")]
pub struct RevokeServiceToken {
    pub caller: Caller,
    pub env: EnvId,
    pub id: ServiceTokenId,
}

routed! {
    CreateServiceToken => Environment(env);
    ListServiceTokens => Environment(env);
    RevokeServiceToken => Environment(env);
}

impl Handler<CreateServiceToken> for OrgActor {
    type Result = Durable<ServiceTokenView>;

    fn handle(&mut self, msg: CreateServiceToken, _: &mut Self::Context) -> Self::Result {
        let CreateServiceToken { caller, env, input } = msg;
        self.write(&caller, |tx| {
            let e = tx.r.environment(env)?;
            tx.r.writer(&caller, "environment")?;
            let token = SecretValue::new(format!("{PREFIX}{}", new_token_hex()?.as_str()));
            let hash = hash_token(token.expose());
            let now = Ts::now();
            let rec = ServiceToken {
                id: ServiceTokenId(tx.r.store().next_id("service_token")?),
                org: tx.r.id(),
                env: e.id,
                name: input.name,
                access: input.access,
                created_at: now,
                expires_at: input
                    .expires_in_days
                    .map(|d| Ts(now.0 + (d * 86_400_000_000.0) as i64)),
                created_by: caller.user,
                last_used: None,
            };
            tx.put(keys::service_token(&hash), &rec)?;
            tx.put_raw(keys::env_service_token(e.id, rec.id), hash.to_vec());
            let access = match rec.access {
                ServiceAccess::ReadWrite => "read_write",
                ServiceAccess::Read => "read",
            };
            let ev =
                tx.r.event("service_token_created", "service_token", rec.id.0)
                    .detail("token_name", &rec.name)
                    .detail("environment_name", &e.name)
                    .detail("access", access);
            Ok((tx.r.token_view(&rec, Some(token))?, ev))
        })
    }
}

impl Handler<ListServiceTokens> for OrgActor {
    type Result = DomainResult<Paged<ServiceTokenView>>;

    fn handle(&mut self, msg: ListServiceTokens, _: &mut Self::Context) -> Self::Result {
        let r = self.read()?;
        let e = r.environment(msg.env)?;
        r.writer(&msg.caller, "environment")?;
        let prefix = keys::env_service_tokens(e.id);
        let count = r.store().count(&prefix)? as usize;
        let items = Window::page(msg.page)
            .apply(r.store().scan_entries(&prefix))
            .into_iter()
            .map(|kv| {
                let (_, hash) = kv?;
                let t: ServiceToken = r
                    .store()
                    .get(&keys::service_token(&token_hash_from(&hash)?))?
                    .ok_or_else(|| {
                        DomainError::Internal("service token index without its token".into())
                    })?;
                r.token_view(&t, None)
            })
            .collect::<DomainResult<_>>()?;
        Ok(Paged { count, items })
    }
}

impl Handler<RevokeServiceToken> for OrgActor {
    type Result = Durable<()>;

    fn handle(&mut self, msg: RevokeServiceToken, _: &mut Self::Context) -> Self::Result {
        self.write(&msg.caller, |tx| {
            let e = tx.r.environment(msg.env)?;
            tx.r.writer(&msg.caller, "environment")?;
            let index = keys::env_service_token(e.id, msg.id);
            let hash =
                tx.r.store()
                    .get_raw(&index)?
                    .ok_or(DomainError::NotFound("service token"))?;
            let hash = token_hash_from(&hash)?;
            let t: Option<ServiceToken> = tx.r.store().get(&keys::service_token(&hash))?;
            tx.del(keys::service_token(&hash));
            tx.del(index);
            let ev =
                tx.r.event("service_token_revoked", "service_token", msg.id.0)
                    .detail("token_name", t.map(|t| t.name).unwrap_or_default())
                    .detail("environment_name", &e.name);
            Ok(((), ev))
        })
    }
}
