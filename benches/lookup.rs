//! The lookup and write paths: token authentication (SHA-256 + DashMap), the rate-limit check,
//! a read through an organization actor (the hop), one variable by id and a 20-variable listing
//! on the organization's reader (values opened) with 1, 100 and 10,000 environments in the store, create-variable with the
//! durable flush (one writer, and 64 at once to show flushes shared), and one Argon2id hash.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use futures_util::future::join_all;
use keynest::http::ratelimit::{Key, Limiter, RateSettings};
use keynest::seed::Seeder;
use keynest_actors::accounts::hash_password;
use keynest_actors::crypto::MasterKey;
use keynest_actors::model::{EnvId, ProjectId, VarId};
use keynest_actors::org::GetEnvironment;
use keynest_actors::page::PageRequest;
use keynest_actors::Keynest;
use std::hint::black_box;
use std::net::IpAddr;
use std::time::Duration;

/// A user with one project and one environment holding 20 variables; `var` is the last of them.
struct Seeded {
    seeder: Seeder,
    project: ProjectId,
    env: EnvId,
    var: VarId,
}

async fn create_var(s: &Seeder, env: EnvId, key: &str) -> VarId {
    s.variable(env, key, "postgresql://user:pass@host:5432/db")
        .await
        .expect("create")
}

async fn seed(dir: &std::path::Path) -> Seeded {
    let key = MasterKey::generate().expect("key");
    let kn = Keynest::open_with(dir, &key, 2, keynest::seed::unlimited(), Default::default())
        .expect("open");
    let seeder = Seeder::register(kn, "bench", "b@example.com", "benchmark pw")
        .await
        .expect("register");
    let project = seeder.project(seeder.org, "p").await.expect("project");
    let env = seeder.environment(project, "e").await.expect("env");
    let mut var = VarId(0);
    for i in 0..20 {
        var = create_var(&seeder, env, &format!("KEY_{i}")).await;
    }
    Seeded {
        seeder,
        project,
        env,
        var,
    }
}

fn lookup(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tmp");
    let sys = actix_rt::System::new();
    let Seeded {
        seeder: s,
        project,
        env,
        var,
    } = sys.block_on(seed(dir.path()));
    c.bench_function("token_auth", |b| {
        b.iter(|| {
            s.kn.tokens()
                .authenticate(black_box(&s.token), None)
                .expect("auth")
                .expect("valid")
        })
    });
    let limiter = Limiter::new(RateSettings {
        user: "1000000000/hour".parse().expect("rate"),
        anon: "100/hour".parse().expect("rate"),
        burst: "1000000000/minute".parse().expect("rate"),
        auth: "5/minute".parse().expect("rate"),
        login_account: "10/hour".parse().expect("rate"),
    });
    let ip: Option<IpAddr> = Some([10, 0, 0, 1].into());
    c.bench_function("rate_limit_check", |b| {
        b.iter(|| {
            limiter.check(
                black_box(Some(Key::User(7))),
                ip,
                keynest::http::ratelimit::now_micros(),
            )
        })
    });
    // A read through the organization actor: the cost of the hop to its arbiter and back.
    c.bench_function("get_environment_via_actor", |b| {
        b.iter(|| {
            let msg = GetEnvironment {
                caller: s.caller.clone(),
                id: env,
            };
            sys.block_on(s.kn.ask(msg)).expect("get")
        })
    });
    c.bench_function("get_variable", |b| {
        b.iter(|| {
            sys.block_on(s.kn.get_variable(&s.caller, black_box(var)))
                .expect("get")
        })
    });
    let mut group = c.benchmark_group("list_20_variables");
    group.measurement_time(Duration::from_secs(3));
    let mut envs = 1;
    for target in [1usize, 100, 10_000] {
        sys.block_on(async {
            while envs < target {
                s.environment(project, &format!("filler-{envs}"))
                    .await
                    .expect("env");
                envs += 1;
            }
        });
        group.bench_with_input(
            BenchmarkId::new("environments_in_store", target),
            &target,
            |b, _| {
                b.iter(|| {
                    let page = PageRequest::default();
                    sys.block_on(s.kn.list_variables(&s.caller, black_box(env), page))
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
    let Seeded { seeder: s, env, .. } = sys.block_on(seed(dir.path()));
    let mut n = 0u64;
    let mut group = c.benchmark_group("create_variable_durable");
    group.measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Elements(1));
    group.bench_function("one_writer", |b| {
        b.iter(|| {
            n += 1;
            sys.block_on(create_var(&s, env, &format!("W{n}")))
        })
    });
    group.throughput(Throughput::Elements(64));
    group.bench_function("64_concurrent_writers", |b| {
        b.iter(|| {
            let base = n;
            n += 64;
            let s = &s;
            sys.block_on(join_all((0..64).map(|i| async move {
                create_var(s, env, &format!("C{}", base + i)).await
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
