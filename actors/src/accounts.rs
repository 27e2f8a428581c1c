//! The accounts actor: users, password hashes (Argon2id) and API tokens. One actor, so that
//! "is this email taken" and "take it" happen as one step. Argon2id runs on the blocking pool,
//! never on the actor's thread; the actor only checks and writes.
//!
//! Login tokens and their sessions are `sessions`'s; token authentication does not go through
//! the actor: `Tokens` (`tokens.rs`) answers from a DashMap of token hashes in front of the
//! store, so the hot path is one SHA-256, one map look-up and a comparison of times.

pub mod sessions;
pub mod tokens;

pub use sessions::{ListSessions, Logout, LogoutAll, RevokeSession};
pub use tokens::Tokens;

use crate::audit::{self, Event};
use crate::crypto::{random_bytes, KeyringCell};
use crate::error::{DomainError, DomainResult};
use crate::input::{Credentials, NewOrg, NewUser, Password};
use crate::model::*;
use crate::org::new_org;
use crate::store::{keys, Store};
use actix::prelude::*;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::Arc;
use zeroize::Zeroizing;

fn argon2() -> DomainResult<Argon2<'static>> {
    // OWASP's minimum for Argon2id: 19 MiB, 2 passes, 1 lane (~16 ms here). Do not lower it.
    let params = Params::new(19_456, 2, 1, None).map_err(|e| DomainError::internal("argon2", e))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hash a password with Argon2id into a PHC string (blocking: call from the blocking pool).
pub fn hash_password(password: &[u8]) -> DomainResult<String> {
    let mut salt = [0u8; 16];
    random_bytes(&mut salt)?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| DomainError::internal("salt", e))?;
    Ok(argon2()?
        .hash_password(password, &salt)
        .map_err(|e| DomainError::internal("argon2", e))?
        .to_string())
}

/// Check a password against a PHC string (blocking: call from the blocking pool).
pub fn verify_password(password: &[u8], phc: &str) -> bool {
    match (PasswordHash::new(phc), argon2()) {
        (Ok(parsed), Ok(a)) => a.verify_password(password, &parsed).is_ok(),
        _ => false,
    }
}

/// Run Argon2id on the blocking pool, at most `limit` at a time: half the cores, so that a
/// login storm queues logins instead of taking every core from the requests beside it.
async fn hashing<T: Send + 'static>(
    limit: Arc<tokio::sync::Semaphore>,
    f: impl FnOnce() -> DomainResult<T> + Send + 'static,
) -> DomainResult<T> {
    let _permit = limit
        .acquire_owned()
        .await
        .map_err(|e| DomainError::internal("hashing limit", e))?;
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| DomainError::internal("blocking pool", e))?
}

/// What register and login answer. The token is shown this once; only its hash is stored.
pub struct Session {
    pub token: Zeroizing<String>,
    pub user: User,
    pub organization: Option<Organization>,
}

#[derive(Message)]
#[rtype(result = "DomainResult<Session>")]
pub struct Register {
    pub input: NewUser,
    pub ip: Option<String>,
}

#[derive(Message)]
#[rtype(result = "DomainResult<Session>")]
pub struct Login {
    pub input: Credentials,
    pub ip: Option<String>,
}

pub struct AccountsActor {
    store: Store,
    keyring: Arc<KeyringCell>,
    tokens: Arc<Tokens>,
    /// Verified against when the email is unknown, so that costs the same as a wrong password.
    dummy_hash: Arc<String>,
    /// Permits for Argon2id runs at once (see `hashing`).
    hashers: Arc<tokio::sync::Semaphore>,
}

impl AccountsActor {
    pub fn new(store: Store, keyring: Arc<KeyringCell>, tokens: Arc<Tokens>) -> DomainResult<Self> {
        Ok(AccountsActor {
            store,
            keyring,
            tokens,
            dummy_hash: Arc::new(hash_password(b"keynest dummy password")?),
            hashers: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1)),
            )),
        })
    }

    fn user_by_email(&self, email: &str) -> DomainResult<Option<User>> {
        let id: Option<UserId> = self.store.get(&keys::email(&email.to_lowercase()))?;
        match id {
            Some(id) => self.store.user(id),
            None => Ok(None),
        }
    }

    fn check_unique(&self, input: &NewUser) -> DomainResult<()> {
        if self.store.contains(&keys::email(&input.email.lower()))? {
            return Err(DomainError::conflict(
                "email",
                "A user with this email already exists.",
            ));
        }
        if self
            .store
            .contains(&keys::username(&input.username.to_lowercase()))?
        {
            return Err(DomainError::conflict(
                "username",
                "A user with this username already exists.",
            ));
        }
        Ok(())
    }

    /// Write the user, their first token, their personal organization and the audit entries as
    /// one batch. Runs on the actor, so the uniqueness check and the write are one step.
    fn insert_user(
        &self,
        input: NewUser,
        hash: String,
        ip: Option<String>,
    ) -> DomainResult<Session> {
        // Begun before the check: on etcd the write is refused if another node took the email
        // or username after what the check read.
        let mut changes = self.store.changes();
        self.check_unique(&input)?;
        let now = Ts::now();
        let user = User {
            id: UserId(self.store.next_id("user")?),
            username: input.username,
            email: input.email.as_str().to_string(),
            first_name: input.first_name,
            last_name: input.last_name,
            password_hash: hash,
            date_joined: now,
            last_login: None,
            is_active: true,
        };
        changes.put(keys::user(user.id), &user)?;
        changes.put(keys::email(&input.email.lower()), &user.id)?;
        changes.put(keys::username(&user.username.to_lowercase()), &user.id)?;
        let token = sessions::issue(&self.store, &mut changes, user.id, ip.clone())?;
        let owner = if user.first_name.is_empty() {
            &user.username
        } else {
            &user.first_name
        };
        let name = format!("{owner}'s Organization");
        let input = NewOrg {
            name,
            description: String::new(),
        };
        // Held until the new data key is applied (see `KeyringCell`).
        let keyring = self.keyring.hold();
        let org = new_org(
            &self.store,
            &keyring,
            &mut changes,
            &user,
            input,
            ip.clone(),
        )?;
        let event = Event::new(None, "user_registered", "user", user.id.0)
            .detail("username", &user.username);
        audit::record(&self.store, &mut changes, Some(&user), ip, event)?;
        self.store.apply(changes)?;
        drop(keyring);
        Ok(Session {
            token,
            user,
            organization: Some(org),
        })
    }

    fn finish_login(
        &self,
        user: Option<User>,
        ok: bool,
        ip: Option<String>,
    ) -> DomainResult<Session> {
        let bad = || DomainError::Unauthorized("Invalid email or password.".into());
        let mut user = user.ok_or_else(bad)?;
        let mut changes = self.store.changes();
        if !ok || !user.is_active {
            let event = Event::new(None, "user_login_failed", "user", user.id.0);
            audit::record(&self.store, &mut changes, Some(&user), ip, event)?;
            self.store.apply(changes)?;
            return Err(bad());
        }
        // Re-read: the user may have changed while the hash was being checked.
        user = self.store.user(user.id)?.ok_or_else(bad)?;
        user.last_login = Some(Ts::now());
        changes.put(keys::user(user.id), &user)?;
        let token = sessions::issue(&self.store, &mut changes, user.id, ip.clone())?;
        let event = Event::new(None, "user_login", "user", user.id.0);
        audit::record(&self.store, &mut changes, Some(&user), ip, event)?;
        self.store.apply(changes)?;
        Ok(Session {
            token,
            user,
            organization: None,
        })
    }
}

impl Actor for AccountsActor {
    type Context = Context<Self>;
}

/// Apply `changes` and answer once they are durable; the actor takes no other message in
/// between (`AtomicResponse`), so nothing it reads, such as "is this email taken", ever rests on
/// a change a failed flush could take back.
fn durable<T: Send + 'static>(
    store: Store,
    result: DomainResult<T>,
) -> AtomicResponse<AccountsActor, DomainResult<T>> {
    let flushed = async move {
        let out = result?;
        store.flush().await?;
        Ok(out)
    };
    AtomicResponse::new(Box::pin(actix::fut::wrap_future(flushed)))
}

/// How many times a login refused for a concurrent change on another node is made again.
const CONTENDED_RETRIES: usize = 8;

/// The write half of `Register`, once the password is hashed: sent by the actor to itself so
/// that hashing (milliseconds, off the actor) does not hold the actor, while the check, the
/// write and its flush are one step.
#[derive(Message)]
#[rtype(result = "DomainResult<Session>")]
struct InsertUser {
    input: NewUser,
    hash: String,
    ip: Option<String>,
}

/// The write half of `Login`, once the password is checked.
#[derive(Message, Clone)]
#[rtype(result = "DomainResult<Session>")]
struct FinishLogin {
    user: Option<User>,
    ok: bool,
    ip: Option<String>,
}

impl Handler<Register> for AccountsActor {
    type Result = ResponseActFuture<Self, DomainResult<Session>>;

    fn handle(&mut self, msg: Register, ctx: &mut Self::Context) -> Self::Result {
        if let Err(e) = self.check_unique(&msg.input) {
            return Box::pin(actix::fut::ready(Err(e)));
        }
        let password = msg.input.password.0.clone();
        let hashing = hashing(self.hashers.clone(), move || {
            hash_password(password.as_bytes())
        });
        let me = ctx.address();
        Box::pin(actix::fut::wrap_future(async move {
            let insert = InsertUser {
                input: msg.input,
                hash: hashing.await?,
                ip: msg.ip,
            };
            me.send(insert).await?
        }))
    }
}

impl Handler<InsertUser> for AccountsActor {
    type Result = AtomicResponse<Self, DomainResult<Session>>;

    fn handle(&mut self, msg: InsertUser, _: &mut Self::Context) -> Self::Result {
        let result = self.insert_user(msg.input, msg.hash, msg.ip);
        durable(self.store.clone(), result)
    }
}

impl Handler<Login> for AccountsActor {
    type Result = ResponseActFuture<Self, DomainResult<Session>>;

    fn handle(&mut self, msg: Login, ctx: &mut Self::Context) -> Self::Result {
        let user = match self.user_by_email(&msg.input.email) {
            Ok(u) => u,
            Err(e) => return Box::pin(actix::fut::ready(Err(e))),
        };
        let phc = user
            .as_ref()
            .map(|u| Arc::new(u.password_hash.clone()))
            .unwrap_or_else(|| self.dummy_hash.clone());
        let Password(password) = msg.input.password;
        let checking = hashing(self.hashers.clone(), move || {
            Ok(verify_password(password.as_bytes(), &phc))
        });
        let me = ctx.address();
        let ip = msg.ip;
        let store = self.store.clone();
        Box::pin(actix::fut::wrap_future(async move {
            let ok = checking.await?;
            let finish = FinishLogin { user, ok, ip };
            // Several nodes: the same user logging in (or out) on another node at the same
            // moment moves the same records; the write is refused whole and made again.
            for _ in 0..CONTENDED_RETRIES {
                match me.send(finish.clone()).await? {
                    Err(DomainError::Contended) => store.barrier().await?,
                    other => return other,
                }
            }
            me.send(finish).await?
        }))
    }
}

impl Handler<FinishLogin> for AccountsActor {
    type Result = AtomicResponse<Self, DomainResult<Session>>;

    fn handle(&mut self, msg: FinishLogin, _: &mut Self::Context) -> Self::Result {
        let result = self.finish_login(msg.user, msg.ok, msg.ip);
        durable(self.store.clone(), result)
    }
}
