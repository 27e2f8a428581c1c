//! The lookup path: token authentication (SHA-256 + DashMap), one variable by id through its
//! organization actor, and a 20-variable listing through the actor with the values opened.

use criterion::{criterion_group, criterion_main, Criterion};
use keynest_actors::accounts::Register;
use keynest_actors::crypto::MasterKey;
use keynest_actors::input::{NewEnvironment, NewProject, NewUser, NewVariable};
use keynest_actors::model::{Caller, EnvId, VarId};
use keynest_actors::org::{
    CreateEnvironment, CreateProject, CreateVariable, GetVariable, ListVariables,
};
use keynest_actors::page::PageRequest;
use keynest_actors::Keynest;
use serde_json::{json, Map, Value};
use std::hint::black_box;

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().expect("object")
}

struct Seeded {
    kn: Keynest,
    token: String,
    caller: Caller,
    org: keynest_actors::model::OrgId,
    env: EnvId,
    var: VarId,
}

async fn seed(dir: &std::path::Path) -> Seeded {
    let kn = Keynest::open(dir, &MasterKey::generate().expect("key"), 2).expect("open");
    let input = NewUser::parse(&obj(json!({"username": "bench", "email": "b@example.com",
        "password": "benchmark pw", "confirm_password": "benchmark pw"})))
    .expect("user");
    let s = kn
        .account(Register { input, ip: None })
        .await
        .expect("register");
    let caller = Caller::user(s.user.id, None);
    let org = s.organization.expect("org").id;
    let input = NewProject::parse(&obj(json!({"name": "p", "organization": org.0}))).expect("p");
    let p = kn
        .ask(
            org,
            CreateProject {
                caller: caller.clone(),
                input,
            },
        )
        .await
        .expect("project");
    let input = NewEnvironment::parse(&obj(json!({"name": "e", "project": p.id.0}))).expect("e");
    let e = kn
        .ask(
            org,
            CreateEnvironment {
                caller: caller.clone(),
                input,
            },
        )
        .await
        .expect("env");
    let mut var = VarId(0);
    for i in 0..20 {
        let body = json!({"key": format!("KEY_{i}"), "value": "postgresql://user:pass@host:5432/db", "environment": e.id.0});
        let input = NewVariable::parse(&obj(body)).expect("var");
        var = kn
            .ask(
                org,
                CreateVariable {
                    caller: caller.clone(),
                    input,
                },
            )
            .await
            .expect("create")
            .id;
    }
    Seeded {
        kn,
        token: s.token.to_string(),
        caller,
        org,
        env: e.id,
        var,
    }
}

fn lookup(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tmp");
    let sys = actix_rt::System::new();
    let s = sys.block_on(seed(dir.path()));
    c.bench_function("token_auth", |b| {
        b.iter(|| {
            s.kn.tokens()
                .authenticate(black_box(&s.token))
                .expect("auth")
                .expect("valid")
        })
    });
    c.bench_function("get_variable_via_actor", |b| {
        b.iter(|| {
            let msg = GetVariable {
                caller: s.caller.clone(),
                id: s.var,
            };
            sys.block_on(s.kn.ask(s.org, msg)).expect("get")
        })
    });
    c.bench_function("list_20_variables_via_actor", |b| {
        b.iter(|| {
            let msg = ListVariables {
                caller: s.caller.clone(),
                env: s.env,
                page: PageRequest::default(),
            };
            sys.block_on(s.kn.ask(s.org, msg)).expect("list")
        })
    });
}

criterion_group!(benches, lookup);
criterion_main!(benches);
