//! Sessions on the domain side, with no HTTP: a token from before sessions keeps working, the
//! policy reaches the organizations' check, the sweep ends only what expired, and a late record
//! of a use cannot bring back an ended session.

use super::*;
use crate::accounts::tokens::Tokens;
use crate::crypto::{Keyring, MasterKey};
use crate::input::NewOrg;
use crate::org::{new_org, OrgReader};
use std::sync::Arc;
use std::time::Duration;

const MINUTE: i64 = 60_000_000;

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tmp");
    let store = Store::open(dir.path()).expect("open");
    (dir, store)
}

fn add_user(store: &Store, id: u64) -> UserId {
    let user = User {
        id: UserId(id),
        username: format!("u{id}"),
        email: format!("u{id}@example.com"),
        first_name: String::new(),
        last_name: String::new(),
        password_hash: String::new(),
        date_joined: Ts::now(),
        last_login: None,
        is_active: true,
    };
    let mut c = Changes::new();
    c.put(keys::user(user.id), &user).expect("put");
    store.apply(c).expect("apply");
    user.id
}

/// A session as `issue` writes one, with the times given.
fn put_session(store: &Store, user: UserId, created: Ts, used: Ts) -> String {
    let token = new_token_hex().expect("token");
    let hash = hash_token(&token);
    let s = SessionRecord {
        id: SessionId(store.next_id("session").expect("id")),
        user,
        created_at: created,
        created_ip: Some("198.51.100.7".into()),
        last_used_at: used,
        last_used_ip: Some("198.51.100.7".into()),
    };
    let mut c = Changes::new();
    let rec = TokenRecord {
        user,
        created_at: created,
    };
    c.put(keys::token(&hash), &rec).expect("put");
    c.put(keys::session(&hash), &s).expect("put");
    c.put_raw(keys::user_session(user, s.id), hash.to_vec());
    store.apply(c).expect("apply");
    token.to_string()
}

fn idle(secs: u64) -> SessionPolicy {
    SessionPolicy {
        idle_timeout: Some(Duration::from_secs(secs)),
        max_age: None,
    }
}

fn start_actor(store: &Store, tokens: &Arc<Tokens>) -> Addr<AccountsActor> {
    let keyring = Arc::new(crate::crypto::KeyringCell::new(Keyring::new(
        &MasterKey::generate().expect("key"),
    )));
    let actor = AccountsActor::new(store.clone(), keyring, tokens.clone()).expect("actor");
    let addr = actor.start();
    tokens.record_uses_with(addr.clone().recipient());
    addr
}

#[test]
fn a_token_stored_before_sessions_keeps_working_once_given_its_session() {
    let (_dir, store) = store();
    let user = add_user(&store, 7);
    // The record exactly as versions without sessions wrote it, and nothing beside it.
    let token = new_token_hex().expect("token");
    let hash = hash_token(&token);
    let old = TokenRecord {
        user,
        created_at: Ts(Ts::now().0 - 90 * 24 * 60 * MINUTE),
    };
    let mut c = Changes::new();
    c.put(keys::token(&hash), &old).expect("put");
    store.apply(c).expect("apply");

    prepare(&store, SessionPolicy::default()).expect("prepare");
    let tokens = Tokens::new(store.clone(), SessionPolicy::default());
    assert_eq!(
        tokens.authenticate(&token, None).expect("auth"),
        Some((user, hash))
    );
    let s: SessionRecord = store
        .get(&keys::session(&hash))
        .expect("get")
        .expect("a session was made");
    assert_eq!((s.user, s.created_at), (user, old.created_at));
    let index = store.get_raw(&keys::user_session(user, s.id)).expect("get");
    assert_eq!(index.as_deref(), Some(&hash[..]), "listed under its user");

    // A second start adopts nothing twice.
    prepare(&store, SessionPolicy::default()).expect("prepare");
    assert_eq!(store.count(&keys::user_sessions(user)).expect("count"), 1);

    // Its idle clock starts at the upgrade; its age is the token's.
    let tokens = Tokens::new(store.clone(), idle(60));
    assert!(tokens.authenticate(&token, None).expect("auth").is_some());
    let aged = SessionPolicy {
        idle_timeout: None,
        max_age: Some(Duration::from_secs(30 * 86_400)),
    };
    let tokens = Tokens::new(store.clone(), aged);
    assert!(matches!(
        tokens.authenticate(&token, None),
        Err(DomainError::Unauthorized(m)) if m == SESSION_EXPIRED
    ));
}

#[test]
fn the_policy_is_stored_for_the_readers_and_removed_when_off() {
    let (_dir, store) = store();
    prepare(&store, idle(60)).expect("prepare");
    let stored: Option<SessionPolicy> = store.get(keys::SESSION_POLICY).expect("get");
    assert_eq!(stored, Some(idle(60)));
    prepare(&store, SessionPolicy::default()).expect("prepare");
    assert!(!store.contains(keys::SESSION_POLICY).expect("get"));
}

#[test]
fn an_organization_refuses_a_session_ended_or_expired_since_the_request_arrived() {
    let (_dir, store) = store();
    let id = add_user(&store, 1);
    let user = store.user(id).expect("get").expect("user");
    let keyring = Keyring::new(&MasterKey::generate().expect("key"));
    let mut c = Changes::new();
    let input = NewOrg {
        name: "acme".into(),
        description: String::new(),
    };
    let org = new_org(&store, &keyring, &mut c, &user, input, None).expect("org");
    store.apply(c).expect("apply");
    let (_, records) = keyring.new_records_key().expect("records key");
    let quotas = crate::org::Quotas::default();
    let reader = OrgReader::new(org.id, store.clone(), Vec::new(), records.into(), quotas);
    let now = Ts::now();
    let fresh = put_session(&store, id, now, now);
    let stale = put_session(&store, id, now, Ts(now.0 - 2 * MINUTE));
    let role = |token: &str| reader.role(&Caller::session(id, None, hash_token(token)), "org");
    let refused = |r: DomainResult<Role>| match r {
        Err(DomainError::Unauthorized(m)) => m,
        other => panic!("not refused: {other:?}"),
    };

    assert!(role(&stale).is_ok(), "no policy stored: nothing expires");
    prepare(&store, idle(60)).expect("prepare");
    assert!(role(&fresh).is_ok(), "positive control");
    assert_eq!(refused(role(&stale)), SESSION_EXPIRED);

    let hash = hash_token(&fresh);
    let s: SessionRecord = store
        .get(&keys::session(&hash))
        .expect("get")
        .expect("there");
    let mut c = Changes::new();
    end(&mut c, &hash, &s);
    store.apply(c).expect("apply");
    assert_eq!(refused(role(&fresh)), "Invalid token.");
}

#[actix_rt::test]
async fn the_sweep_deletes_expired_sessions_and_audits_them_leaving_live_ones() {
    let (_dir, store) = store();
    let user = add_user(&store, 1);
    let now = Ts::now();
    let stale = put_session(
        &store,
        user,
        Ts(now.0 - 10 * MINUTE),
        Ts(now.0 - 2 * MINUTE),
    );
    let live = put_session(&store, user, Ts(now.0 - 10 * MINUTE), now);
    let tokens = Arc::new(Tokens::new(store.clone(), idle(60)));
    let addr = start_actor(&store, &tokens);
    assert!(tokens.authenticate(&live, None).expect("auth").is_some());
    assert!(
        tokens.authenticate(&stale, None).is_err(),
        "refused before the sweep"
    );

    assert_eq!(
        sweep(&store, &addr, idle(60), None).await.expect("sweep"),
        1
    );
    let gone = hash_token(&stale);
    assert!(!store.contains(&keys::session(&gone)).expect("get"));
    assert!(!store.contains(&keys::token(&gone)).expect("get"));
    assert_eq!(store.count(&keys::user_sessions(user)).expect("count"), 1);
    assert_eq!(tokens.authenticate(&stale, None).expect("auth"), None);
    assert!(tokens.authenticate(&live, None).expect("auth").is_some());
    let ids = store.index_ids(&keys::account_audit(user)).expect("index");
    assert_eq!(ids.len(), 1);
    let entry: AuditEntry = store
        .get(&keys::audit(AuditId(ids[0])))
        .expect("get")
        .expect("entry");
    assert_eq!(entry.action, "session_expired");

    // Nothing expires under no policy, whatever the times.
    assert_eq!(
        sweep(&store, &addr, SessionPolicy::default(), None)
            .await
            .expect("sweep"),
        0
    );
}

#[actix_rt::test]
async fn a_use_recorded_after_a_revocation_does_not_bring_the_session_back() {
    let (_dir, store) = store();
    let user = add_user(&store, 1);
    let now = Ts::now();
    let token = put_session(&store, user, now, now);
    let hash = hash_token(&token);
    let tokens = Arc::new(Tokens::new(store.clone(), SessionPolicy::default()));
    let addr = start_actor(&store, &tokens);
    let s: SessionRecord = store
        .get(&keys::session(&hash))
        .expect("get")
        .expect("there");
    let caller = Caller::session(user, None, hash);
    addr.send(RevokeSession { caller, id: s.id })
        .await
        .expect("mailbox")
        .expect("revoke");
    let late = RecordUse {
        hash,
        at: Ts(now.0 + MINUTE),
        ip: None,
    };
    addr.send(late).await.expect("mailbox");
    assert!(!store.contains(&keys::session(&hash)).expect("get"));
    assert_eq!(tokens.authenticate(&token, None).expect("auth"), None);

    // The same use, for a session that is still there, is recorded.
    let token = put_session(&store, user, now, now);
    let hash = hash_token(&token);
    let used = RecordUse {
        hash,
        at: Ts(now.0 + MINUTE),
        ip: Some("203.0.113.9".into()),
    };
    addr.send(used).await.expect("mailbox");
    let s: SessionRecord = store
        .get(&keys::session(&hash))
        .expect("get")
        .expect("there");
    assert_eq!(s.last_used_at, Ts(now.0 + MINUTE));
    assert_eq!(s.last_used_ip.as_deref(), Some("203.0.113.9"));
}
