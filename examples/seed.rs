//! Seed a data dir with many organizations, environments and variables, through the domain API
//! (the same actors the server uses), for the start-time and memory figures in BENCHMARKS.md.
//!
//! Usage: cargo run --release --example seed -- DATA_DIR [ORGS=1000] [ENVS=10] [VARS=100]
//! The master key is written to DATA_DIR/master.key, as the server would.

use keynest_actors::accounts::Register;
use keynest_actors::crypto::MasterKey;
use keynest_actors::input::{NewEnvironment, NewOrg, NewProject, NewUser, VariableKey};
use keynest_actors::model::{Caller, SecretValue};
use keynest_actors::org::{CreateEnvironment, CreateProject, ImportVariables};
use keynest_actors::Keynest;
use serde_json::{json, Map, Value};
use std::time::Instant;

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().expect("object")
}

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
    let kn = Keynest::open(&dir, &master, 2).expect("open");
    let input = NewUser::parse(&obj(
        json!({"username": "seed", "email": "seed@example.com",
        "password": "seed password", "confirm_password": "seed password"}),
    ))
    .expect("user");
    let session = kn
        .account(Register { input, ip: None })
        .await
        .expect("register");
    println!("token {}", session.token.as_str());
    let caller = Caller::user(session.user.id, None);
    let started = Instant::now();
    for o in 0..orgs {
        let org = kn
            .create_org(
                caller.clone(),
                NewOrg::parse(&obj(json!({"name": format!("org {o}")}))).expect("org"),
            )
            .await
            .expect("create org")
            .id;
        let input =
            NewProject::parse(&obj(json!({"name": "app", "organization": org.0}))).expect("p");
        let project = kn
            .ask(CreateProject {
                caller: caller.clone(),
                input,
            })
            .await
            .expect("project")
            .id;
        for e in 0..envs {
            let input = NewEnvironment::parse(&obj(
                json!({"name": format!("env {e}"), "project": project.0}),
            ))
            .expect("e");
            let env = kn
                .ask(CreateEnvironment {
                    caller: caller.clone(),
                    input,
                })
                .await
                .expect("env")
                .id;
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
            let msg = ImportVariables {
                caller: caller.clone(),
                env,
                entries,
                failed: 0,
                overwrite: true,
            };
            kn.ask(msg).await.expect("import");
        }
        if (o + 1) % 100 == 0 {
            println!(
                "{} organizations, {:.0} s",
                o + 1,
                started.elapsed().as_secs_f64()
            );
        }
    }
    kn.flush().expect("flush");
    println!(
        "seeded {} variables in {:.1} s",
        orgs * envs * vars,
        started.elapsed().as_secs_f64()
    );
}
