//! The organization actor's own rules, checked on the actor itself (no HTTP): an import keeps
//! the last value of a key given twice, the last admin stays, a rollback adds a version, and a
//! write lands together with its audit entry or not at all.

use super::*;
use crate::crypto::{Keyring, MasterKey};
use crate::input::{NewOrg, Rollback, VariableKey, VariablePatch};
use crate::page::PageRequest;
use crate::registry::Registry;
use crate::store::{keys, Store};
use serde_json::json;
use std::sync::Arc;

struct Fixture {
    _dir: tempfile::TempDir,
    store: Store,
    registry: Registry,
    keyring: Arc<crate::crypto::KeyringCell>,
    admin: Caller,
    org: OrgId,
}

fn add_user(store: &Store, name: &str) -> User {
    let user = User {
        id: UserId(store.next_id("user").expect("id")),
        username: name.into(),
        email: format!("{name}@example.com"),
        first_name: String::new(),
        last_name: String::new(),
        password_hash: String::new(),
        date_joined: Ts::now(),
        last_login: None,
        is_active: true,
    };
    let mut c = Changes::new();
    c.put(keys::user(user.id), &user).expect("put");
    c.put(keys::email(&user.email), &user.id).expect("put");
    store.apply(c).expect("apply");
    user
}

impl Fixture {
    /// A store with one user, admin of one organization, and its registry.
    fn new() -> Fixture {
        Self::with_quotas(Quotas::default())
    }

    fn with_quotas(quotas: Quotas) -> Fixture {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(dir.path()).expect("open");
        let keyring = Arc::new(Keyring::new(&MasterKey::generate().expect("key")));
        let admin = add_user(&store, "ada");
        let mut c = Changes::new();
        let input = NewOrg {
            name: "acme".into(),
            description: String::new(),
        };
        let org = new_org(&store, &keyring, &mut c, &admin, input, None).expect("org");
        store.apply(c).expect("apply");
        let (_, records) = keyring.new_records_key().expect("records key");
        let keyring = Arc::new(crate::crypto::KeyringCell::new(
            Arc::into_inner(keyring).expect("one keyring"),
        ));
        let registry = Registry::new(store.clone(), keyring.clone(), Arc::new(records), quotas, 1);
        Fixture {
            _dir: dir,
            store,
            registry,
            keyring,
            admin: Caller::user(admin.id, None),
            org: org.id,
        }
    }

    async fn send<M, R>(&self, msg: M) -> DomainResult<R>
    where
        M: Message<Result = DomainResult<R>> + Send + 'static,
        R: Send + 'static,
        OrgActor: Handler<M>,
    {
        self.registry
            .get(self.org)
            .expect("actor")
            .send(msg)
            .await?
    }

    fn audit_count(&self) -> u64 {
        self.store.count(&keys::org_audit(self.org)).expect("count")
    }

    async fn environment(&self) -> EnvId {
        let input = crate::input::NewProject {
            org: self.org,
            name: "web".into(),
            description: String::new(),
        };
        let caller = self.admin.clone();
        let p = self.send(CreateProject { caller, input }).await.expect("p");
        let input = crate::input::NewEnvironment {
            project: p.id,
            name: "production".into(),
            environment_type: EnvironmentType::Production,
            description: String::new(),
        };
        let caller = self.admin.clone();
        let e = self.send(CreateEnvironment { caller, input }).await;
        e.expect("env").id
    }

    fn reader(&self) -> OrgReader {
        self.registry.reader(self.org).expect("reader")
    }
}

fn key(k: &str) -> VariableKey {
    VariableKey::parse(k).expect("key")
}

fn value(v: &str) -> SecretValue {
    SecretValue::new(v.into())
}

#[actix_rt::test]
async fn import_keeps_the_last_value_of_a_key_given_twice_in_first_position() {
    let f = Fixture::new();
    let env = f.environment().await;
    let msg = ImportVariables {
        caller: f.admin.clone(),
        env,
        entries: vec![
            (key("A"), value("1")),
            (key("B"), value("2")),
            (key("A"), value("3")),
        ],
        failed: 1,
        overwrite: true,
    };
    let sum = f.send(msg).await.expect("import");
    let want = ImportSummary {
        imported: 2,
        updated: 0,
        skipped: 0,
        failed: 1,
        total_variables: 3,
    };
    assert_eq!(sum, want);
    let page = f
        .reader()
        .list_variables(&f.admin, env, PageRequest::default());
    let got: Vec<(String, String, u32)> = page
        .expect("list")
        .items
        .into_iter()
        .map(|v| {
            let value = v.decrypted_value.expect("admin sees values");
            (v.key, value.expose().to_string(), v.version)
        })
        .collect();
    assert_eq!(
        got,
        vec![("A".into(), "3".into(), 1), ("B".into(), "2".into(), 1)]
    );
}

#[actix_rt::test]
async fn the_last_admin_can_neither_leave_nor_be_demoted_until_another_admin_exists() {
    let f = Fixture::new();
    let me = f.admin.user;
    let leave = || RemoveMember {
        caller: f.admin.clone(),
        org: f.org,
        user: me,
    };
    let demote = |user| ChangeMemberRole {
        caller: f.admin.clone(),
        org: f.org,
        user,
        change: crate::input::RoleChange { role: Role::Viewer },
    };
    assert!(matches!(
        f.send(leave()).await,
        Err(DomainError::Conflict(_))
    ));
    assert!(matches!(
        f.send(demote(me)).await,
        Err(DomainError::Conflict(_))
    ));

    let bob = add_user(&f.store, "bob");
    let input = crate::input::NewMember::parse(
        json!({"email": bob.email, "role": "admin"})
            .as_object()
            .expect("obj"),
    )
    .expect("member");
    let invite = InviteMember {
        caller: f.admin.clone(),
        org: f.org,
        input,
    };
    let id = f.send(invite).await.expect("invite bob").id;
    let accept = AcceptInvitation {
        caller: Caller::user(bob.id, None),
        org: f.org,
        id,
    };
    f.send(accept).await.expect("bob accepts");
    // Positive control: with a second admin, the first may step down.
    f.send(demote(me)).await.expect("demote once bob is admin");
}

#[actix_rt::test]
async fn rollback_adds_a_new_version_holding_the_old_value() {
    let f = Fixture::new();
    let env = f.environment().await;
    let input = crate::input::NewVariable {
        env,
        key: key("DATABASE_URL"),
        value: value("first"),
    };
    let caller = f.admin.clone();
    let v = f.send(CreateVariable { caller, input }).await.expect("v1");
    let patch = VariablePatch {
        key: None,
        value: Some(value("second")),
        env: None,
    };
    let caller = f.admin.clone();
    let v2 = f
        .send(UpdateVariable {
            caller,
            id: v.id,
            patch,
        })
        .await;
    assert_eq!(v2.expect("v2").version, 2);
    let msg = RollbackVariable {
        caller: f.admin.clone(),
        var: v.id,
        input: Rollback { version: 1 },
    };
    let back = f.send(msg).await.expect("rollback");
    assert_eq!(back.version, 3);
    assert_eq!(back.decrypted_value.expect("value").expose(), "first");
    let msg = ListVersions {
        caller: f.admin.clone(),
        var: v.id,
        page: PageRequest::default(),
    };
    let versions = msg.run(&f.reader()).expect("versions");
    let numbers: Vec<u32> = versions.items.iter().map(|v| v.version).collect();
    assert_eq!(numbers, vec![3, 2, 1], "history only grows, newest first");
}

#[actix_rt::test]
async fn a_write_lands_with_its_audit_entry_and_a_refused_one_leaves_neither() {
    let f = Fixture::new();
    let before = f.audit_count();
    let env = f.environment().await;
    assert_eq!(
        f.audit_count(),
        before + 2,
        "project and environment audited"
    );
    let ids = f.store.index_ids(&keys::org_audit(f.org)).expect("index");
    let newest = AuditId(*ids.last().expect("an entry"));
    let last: AuditEntry = f
        .store
        .get(&keys::audit(newest))
        .expect("get")
        .expect("entry");
    assert_eq!(last.action, "environment_created");
    assert_eq!(last.target_id, Some(env.0));

    // The same name again is refused: no environment and no audit entry are added.
    let project = f.reader().environment(env).expect("env").project;
    let input = crate::input::NewEnvironment {
        project,
        name: "PRODUCTION".into(),
        environment_type: EnvironmentType::Production,
        description: String::new(),
    };
    let caller = f.admin.clone();
    let dup = f.send(CreateEnvironment { caller, input }).await;
    assert!(matches!(dup, Err(DomainError::Conflict(_))), "{dup:?}");
    assert_eq!(f.audit_count(), before + 2);
    assert_eq!(f.store.count(&keys::envs(project)).expect("count"), 1);
}

#[actix_rt::test]
async fn quotas_refuse_the_whole_change_and_counters_follow_creates_and_deletes() {
    let quotas = Quotas {
        variables_per_environment: 3,
        bytes_per_organization: 10_000,
        ..Quotas::default()
    };
    let f = Fixture::with_quotas(quotas);
    let env = f.environment().await;
    let import = |keys: &[&str], v: &str| ImportVariables {
        caller: f.admin.clone(),
        env,
        entries: keys.iter().map(|k| (key(k), value(v))).collect(),
        failed: 0,
        overwrite: true,
    };
    f.send(import(&["A", "B"], "v")).await.expect("two fit");
    let over = f.send(import(&["C", "D"], "v")).await;
    assert!(
        matches!(over, Err(DomainError::QuotaExceeded(_))),
        "{over:?}"
    );
    let count = |f: &Fixture| f.store.counted(&keys::vars(env)).expect("count");
    assert_eq!(count(&f), 2, "the refused import added nothing");
    let c = f.send(import(&["C"], "v")).await.expect("the third fits");
    assert_eq!(c.imported, 1);
    assert_eq!(count(&f), 3);
    let list = f
        .reader()
        .list_variables(&f.admin, env, PageRequest::default());
    let id = list.expect("list").items[0].id;
    let msg = DeleteVariable {
        caller: f.admin.clone(),
        id,
    };
    f.send(msg).await.expect("delete");
    assert_eq!(count(&f), 2, "a delete gives room back");
    // Bytes: values and their history count against the organization.
    let big = "x".repeat(6_000);
    let over = f.send(import(&["E"], &big)).await;
    assert!(over.is_ok(), "{over:?}");
    let again = f.send(import(&["E"], &big)).await;
    assert!(
        matches!(again, Err(DomainError::QuotaExceeded(_))),
        "a second version does not fit"
    );
}

#[actix_rt::test]
async fn a_data_key_rotation_reseals_everything_then_deletes_the_old_key() {
    let f = Fixture::new();
    let env = f.environment().await;
    let n = 2 * crate::org::BATCH as usize + 17;
    let entries = (0..n)
        .map(|i| (key(&format!("K{i}")), value(&format!("v{i}"))))
        .collect();
    let msg = ImportVariables {
        caller: f.admin.clone(),
        env,
        entries,
        failed: 0,
        overwrite: true,
    };
    f.send(msg).await.expect("import");
    let vars: Vec<Variable> = f
        .store
        .scan(&keys::vars(env))
        .collect::<DomainResult<_>>()
        .expect("vars");
    // A second version for some, so history is re-sealed too.
    for v in vars.iter().step_by(7) {
        let patch = VariablePatch {
            key: None,
            value: Some(value(&format!("{}-2", v.key))),
            env: None,
        };
        let (caller, id) = (f.admin.clone(), v.id);
        f.send(UpdateVariable { caller, id, patch })
            .await
            .expect("update");
    }
    let view = f
        .send(RotateOrgKey {
            caller: f.admin.clone(),
            org: f.org,
            keyring: f.keyring.clone(),
        })
        .await
        .expect("rotate");
    assert_eq!(view.key.version, 2);
    let total = view.key.rotation.expect("running").total;
    assert_eq!(total as usize, 2 * n + n.div_ceil(7), "values and versions");
    // A second rotation while one runs is refused.
    let again = RotateOrgKey {
        caller: f.admin.clone(),
        org: f.org,
        keyring: f.keyring.clone(),
    };
    assert!(matches!(f.send(again).await, Err(DomainError::Conflict(_))));
    for _ in 0..500 {
        if !f.store.contains(&keys::rotation(f.org)).expect("read") {
            break;
        }
        actix_rt::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(!f.store.contains(&keys::rotation(f.org)).expect("read"));
    let deks: Vec<_> = f
        .store
        .scan_keys(&keys::deks(f.org))
        .collect::<DomainResult<_>>()
        .expect("deks");
    assert_eq!(
        deks,
        vec![sled::IVec::from(&2u32.to_be_bytes())],
        "only v2 left"
    );
    let r = f.reader();
    for v in f.store.scan::<Variable>(&keys::vars(env)) {
        let v = v.expect("var");
        assert_eq!(crate::crypto::key_version(&v.sealed).expect("blob"), 2);
        let want = if v.version == 2 {
            format!("{}-2", v.key)
        } else {
            format!("v{}", &v.key[1..])
        };
        assert_eq!(r.open(&v).expect("open").expose(), want);
        for old in f.store.scan::<VariableVersion>(&keys::versions(v.id)) {
            assert_eq!(
                crate::crypto::key_version(&old.expect("ver").sealed).expect("blob"),
                2
            );
        }
    }
    let actions: Vec<String> = f
        .store
        .index_ids(&keys::org_audit(f.org))
        .expect("index")
        .into_iter()
        .map(|id| {
            let entry: AuditEntry = f
                .store
                .get(&keys::audit(AuditId(id)))
                .expect("get")
                .expect("entry");
            entry.action.to_string()
        })
        .filter(|a| a.starts_with("key_rot"))
        .collect();
    assert_eq!(
        actions.first().map(String::as_str),
        Some("key_rotation_started")
    );
    assert_eq!(actions.last().map(String::as_str), Some("key_rotated"));
    let batches = (total as usize).div_ceil(crate::org::BATCH as usize);
    assert_eq!(
        actions.len(),
        1 + batches,
        "an entry per batch: {actions:?}"
    );
}
