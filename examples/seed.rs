//! Seed a data dir with many organizations, environments and variables, through the domain API
//! (the same actors the server uses), for the start-time and memory figures in BENCHMARKS.md.
//!
//! Usage: cargo run --release --example seed -- DATA_DIR [ORGS=1000] [ENVS=10] [VARS=100]
//! The master key is written to DATA_DIR/master.key, as the server would.

use keynest::seed::Seeder;
use keynest_actors::crypto::MasterKey;
use keynest_actors::input::VariableKey;
use keynest_actors::model::SecretValue;
use keynest_actors::Keynest;
use std::time::Instant;

fn arg(n: usize, default: usize) -> usize {
    std::env::args()
        .nth(n)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

#[actix_rt::main]
async fn main() {
    let dir = std::path::PathBuf::from(
        std::env::args()
            .nth(1)
            .expect("usage: seed DATA_DIR [ORGS] [ENVS] [VARS]"),
    );
    let (orgs, envs, vars) = (arg(2, 1000), arg(3, 10), arg(4, 100));
    std::fs::create_dir_all(&dir).expect("data dir");
    let (master, _) = MasterKey::load_or_create(&dir.join("master.key")).expect("master key");
    let quotas = keynest::seed::unlimited();
    let kn = Keynest::open_with(&dir, &master, 2, quotas, Default::default()).expect("open");
    let s = Seeder::register(kn, "seed", "seed@example.com", "seed password")
        .await
        .expect("register");
    println!("token {}", s.token.as_str());
    let started = Instant::now();
    for o in 0..orgs {
        let org = s
            .organization(&format!("org {o}"))
            .await
            .expect("create org");
        let project = s.project(org, "app").await.expect("project");
        for e in 0..envs {
            let env = s
                .environment(project, &format!("env {e}"))
                .await
                .expect("env");
            let entries = (0..vars)
                .map(|v| {
                    let key = VariableKey::parse(&format!("VAR_{v:03}")).expect("key");
                    (
                        key,
                        SecretValue::new(format!(
                            "postgresql://user:secret-{o}-{e}-{v}@db.internal:5432/app"
                        )),
                    )
                })
                .collect();
            s.import(env, entries).await.expect("import");
        }
        if (o + 1) % 100 == 0 {
            println!(
                "{} organizations, {:.0} s",
                o + 1,
                started.elapsed().as_secs_f64()
            );
        }
    }
    s.kn.flush().expect("flush");
    println!(
        "seeded {} variables in {:.1} s",
        orgs * envs * vars,
        started.elapsed().as_secs_f64()
    );
}
