//! Filling a `Keynest` with data for the benches and the `seed` example, through the domain API:
//! the same input parsers and actor messages the HTTP handlers use, so seeded data is exactly what
//! the server would have stored. The server never calls this. It lives in the library, hidden from
//! the docs, because a bench and an example cannot share a module any other way without copying
//! or `#[path]` tricks, and here it is type-checked once with the crate it drives.

use keynest_actors::accounts::Register;
use keynest_actors::error::{DomainError, DomainResult};
use keynest_actors::input::{
    NewEnvironment, NewOrg, NewProject, NewUser, NewVariable, VariableKey,
};
use keynest_actors::model::{Caller, EnvId, OrgId, ProjectId, SecretValue, VarId};
use keynest_actors::org::{
    CreateEnvironment, CreateProject, CreateVariable, ImportSummary, ImportVariables,
};
use keynest_actors::Keynest;
use serde_json::{json, Map, Value};
use zeroize::Zeroizing;

/// No quotas: seeding fills stores far past what one tenant may hold (10,000 environments in
/// one project for the lookup bench, a million variables for the seed example).
pub fn unlimited() -> keynest_actors::org::Quotas {
    keynest_actors::org::Quotas {
        variables_per_environment: u64::MAX,
        environments_per_project: u64::MAX,
        organizations_per_user: u64::MAX,
        bytes_per_organization: u64::MAX,
    }
}

/// One registered user and everything needed to act as them.
pub struct Seeder {
    pub kn: Keynest,
    pub caller: Caller,
    /// The user's API token, for benches of the authentication path.
    pub token: Zeroizing<String>,
    /// The personal organization registration creates.
    pub org: OrgId,
}

/// The bodies are built as JSON and parsed as a request's would be, so seeding takes the same
/// validation path as the API (and a bench of a write measures that parse too).
fn body(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

impl Seeder {
    /// Register a user (Argon2id and all) and act as them from here on.
    pub async fn register(
        kn: Keynest,
        username: &str,
        email: &str,
        password: &str,
    ) -> DomainResult<Seeder> {
        let input = NewUser::parse(&body(json!({"username": username, "email": email,
            "password": password, "confirm_password": password})))?;
        let session = kn.account(Register { input, ip: None }).await?;
        let org = session
            .organization
            .map(|o| o.id)
            .ok_or(DomainError::NotFound("organization"))?;
        Ok(Seeder {
            caller: Caller::user(session.user.id, None),
            token: session.token,
            org,
            kn,
        })
    }

    pub async fn organization(&self, name: &str) -> DomainResult<OrgId> {
        let input = NewOrg::parse(&body(json!({ "name": name })))?;
        Ok(self.kn.create_org(self.caller.clone(), input).await?.id)
    }

    pub async fn project(&self, org: OrgId, name: &str) -> DomainResult<ProjectId> {
        let input = NewProject::parse(&body(json!({"name": name, "organization": org.0})))?;
        let msg = CreateProject {
            caller: self.caller.clone(),
            input,
        };
        Ok(self.kn.ask(msg).await?.id)
    }

    pub async fn environment(&self, project: ProjectId, name: &str) -> DomainResult<EnvId> {
        let input = NewEnvironment::parse(&body(json!({"name": name, "project": project.0})))?;
        let msg = CreateEnvironment {
            caller: self.caller.clone(),
            input,
        };
        Ok(self.kn.ask(msg).await?.id)
    }

    /// One variable, as `POST /api/variables/` creates it (answered once it is durable).
    pub async fn variable(&self, env: EnvId, key: &str, value: &str) -> DomainResult<VarId> {
        let input = NewVariable::parse(&body(
            json!({"key": key, "value": value, "environment": env.0}),
        ))?;
        let msg = CreateVariable {
            caller: self.caller.clone(),
            input,
        };
        Ok(self.kn.ask(msg).await?.id)
    }

    /// Many variables in one batch, as an import does: far faster than one `variable` each.
    pub async fn import(
        &self,
        env: EnvId,
        entries: Vec<(VariableKey, SecretValue)>,
    ) -> DomainResult<ImportSummary> {
        let msg = ImportVariables {
            caller: self.caller.clone(),
            env,
            entries,
            failed: 0,
            overwrite: true,
        };
        self.kn.ask(msg).await
    }
}
