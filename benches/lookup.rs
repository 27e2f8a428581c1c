//! The lookup and write paths: token authentication (SHA-256 + DashMap), the rate-limit check,
//! a read through an organization actor (the hop), one variable by id and a 20-variable listing
//! on the organization's reader (values opened) with 1, 100 and 10,000 environments in the store, create-variable with the
//! durable flush (one writer, and 64 at once to show flushes shared), and one Argon2id hash.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use futures_util::future::join_all;
use keynest::http::ratelimit::{Key, Limiter, RateSettings};
use keynest_actors::accounts::{hash_password, Register};
use keynest_actors::crypto::MasterKey;
use keynest_actors::input::{NewEnvironment, NewProject, NewUser, NewVariable};
use keynest_actors::model::{Caller, EnvId, ProjectId, VarId};
use keynest_actors::org::{CreateEnvironment, CreateProject, CreateVariable, GetEnvironment};
use keynest_actors::page::PageRequest;
use keynest_actors::Keynest;
use serde_json::{json, Map, Value};
use std::hint::black_box;
use std::net::IpAddr;
use std::time::Duration;

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().expect("object")
}

struct Seeded {
    kn: Keynest,
    token: String,
    caller: Caller,
    project: ProjectId,
    env: EnvId,
    var: VarId,
}

async fn create_env(s: &Seeded, name: &str) -> EnvId {
    let input =
        NewEnvironment::parse(&obj(json!({"name": name, "project": s.project.0}))).expect("e");
    s.kn.ask(CreateEnvironment {
        caller: s.caller.clone(),
        input,
    })
    .await
    .expect("env")
    .id
}

async fn create_var(kn: &Keynest, caller: &Caller, env: EnvId, key: &str) -> VarId {
    let body =
        json!({"key": key, "value": "postgresql://user:pass@host:5432/db", "environment": env.0});
    let input = NewVariable::parse(&obj(body)).expect("var");
    kn.ask(CreateVariable {
        caller: caller.clone(),
        input,
    })
    .await
    .expect("create")
    .id
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
    let project = kn
        .ask(CreateProject {
            caller: caller.clone(),
            input,
        })
        .await
        .expect("project")
        .id;
    let mut seeded = Seeded {
        kn,
        token: s.token.to_string(),
        caller,
        project,
        env: EnvId(0),
        var: VarId(0),
    };
    seeded.env = create_env(&seeded, "e").await;
    for i in 0..20 {
        seeded.var = create_var(&seeded.kn, &seeded.caller, seeded.env, &format!("KEY_{i}")).await;
    }
    seeded
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
    let limiter = Limiter::new(RateSettings {
        user: "1000000000/hour".parse().expect("rate"),
        anon: "100/hour".parse().expect("rate"),
        burst: "1000000000/minute".parse().expect("rate"),
        auth: "5/minute".parse().expect("rate"),
    });
    let ip: Option<IpAddr> = Some([10, 0, 0, 1].into());
    c.bench_function("rate_limit_check", |b| {
        b.iter(|| {
            limiter.check(
                black_box(Some(Key::User(7))),
                ip,
                false,
                keynest::http::ratelimit::now_micros(),
            )
        })
    });
    // A read through the organization actor: the cost of the hop to its arbiter and back.
    c.bench_function("get_environment_via_actor", |b| {
        b.iter(|| {
            let msg = GetEnvironment {
                caller: s.caller.clone(),
                id: s.env,
            };
            sys.block_on(s.kn.ask(msg)).expect("get")
        })
    });
    c.bench_function("get_variable", |b| {
        b.iter(|| s.kn.get_variable(&s.caller, black_box(s.var)).expect("get"))
    });
    let mut group = c.benchmark_group("list_20_variables");
    group.measurement_time(Duration::from_secs(3));
    let mut envs = 1;
    for target in [1usize, 100, 10_000] {
        sys.block_on(async {
            while envs < target {
                create_env(&s, &format!("filler-{envs}")).await;
                envs += 1;
            }
        });
        group.bench_with_input(
            BenchmarkId::new("environments_in_store", target),
            &target,
            |b, _| {
                b.iter(|| {
                    s.kn.list_variables(&s.caller, black_box(s.env), PageRequest::default())
                        .expect("list")
                })
            },
        );
    }
    group.finish();
}

fn writes(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tmp");
    let sys = actix_rt::System::new();
    let s = sys.block_on(seed(dir.path()));
    let mut n = 0u64;
    let mut group = c.benchmark_group("create_variable_durable");
    group.measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Elements(1));
    group.bench_function("one_writer", |b| {
        b.iter(|| {
            n += 1;
            sys.block_on(create_var(&s.kn, &s.caller, s.env, &format!("W{n}")))
        })
    });
    group.throughput(Throughput::Elements(64));
    group.bench_function("64_concurrent_writers", |b| {
        b.iter(|| {
            let base = n;
            n += 64;
            let kn = &s.kn;
            let caller = &s.caller;
            sys.block_on(join_all((0..64).map(|i| async move {
                create_var(kn, caller, s.env, &format!("C{}", base + i)).await
            })))
        })
    });
    group.finish();
}

fn password(c: &mut Criterion) {
    let mut group = c.benchmark_group("argon2id");
    group.sample_size(10);
    // Deliberately slow (19 MiB, 2 passes): recorded so nobody "optimizes" it away.
    group.bench_function("hash_password", |b| {
        b.iter(|| hash_password(black_box(b"correct horse battery")).expect("hash"))
    });
    group.finish();
}

criterion_group!(benches, lookup, writes, password);
criterion_main!(benches);
