//! Import and export of a whole environment. An import is one atomic batch with one audit entry
//! (counts only), so after a crash either all of it is there or none of it; an export is audited
//! too, since it hands out every value.

use super::{routed, Durable, OrgActor, OrgQuery, OrgReader};
use crate::error::{DomainError, DomainResult};
use crate::input::VariableKey;
use crate::model::*;
use crate::store::keys;
use actix::prelude::*;
use std::collections::HashMap;

/// Every variable of an environment, opened, with the names for the export header.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Export {
    pub organization: String,
    pub project: String,
    pub environment: String,
    pub vars: Vec<(String, SecretValue)>,
}

/// Every value of an environment (a query: see `OrgQuery`); `Keynest::export` reads them off
/// the actor and then records the export through it.
pub struct ExportEnvironment {
    pub caller: Caller,
    pub env: EnvId,
    /// For the audit entry: `env`, `json` or `yaml`.
    pub format: &'static str,
}

/// The audit entry of an export, durable before the values are handed out.
#[derive(Message, Clone)]
#[rtype(result = "DomainResult<()>")]
pub struct RecordExport {
    pub caller: Caller,
    pub env: EnvId,
    pub format: &'static str,
    pub variables: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportSummary {
    pub imported: usize,
    pub updated: usize,
    pub skipped: usize,
    pub failed: usize,
    pub total_variables: usize,
}

#[derive(Message, Clone)]
#[rtype(result = "DomainResult<ImportSummary>")]
pub struct ImportVariables {
    pub caller: Caller,
    pub env: EnvId,
    /// In file order; a key given twice takes its last value.
    pub entries: Vec<(VariableKey, SecretValue)>,
    pub failed: usize,
    /// When false, keys that already exist are left alone (counted as skipped).
    pub overwrite: bool,
}

routed! {
    ExportEnvironment => Environment(env);
    RecordExport => Environment(env);
    ImportVariables => Environment(env);
}

impl OrgQuery for ExportEnvironment {
    type Output = Export;

    /// Every value opened, off the actor; handed out only once `RecordExport` is durable.
    fn run(self, r: &OrgReader) -> DomainResult<Export> {
        let e = r.environment(self.env)?;
        if !r.env_access(&self.caller, e.id, false, "environment")? {
            return Err(refuse_export());
        }
        let mut vars = Vec::new();
        for v in r.variables_in(e.id) {
            let v = v?;
            let value = r.open(&v)?;
            vars.push((v.key, value));
        }
        let project = r.project(e.project)?;
        Ok(Export {
            organization: r.org()?.name,
            project: project.name,
            environment: e.name,
            vars,
        })
    }
}

fn refuse_export() -> DomainError {
    DomainError::Forbidden("Only admins and editors can export values.".into())
}

impl Handler<RecordExport> for OrgActor {
    type Result = Durable<()>;

    fn handle(&mut self, msg: RecordExport, _: &mut Self::Context) -> Self::Result {
        self.write(&msg.caller, |tx| {
            let e = tx.r.environment(msg.env)?;
            // Checked again here: access lost since the values were read hands out nothing.
            if !tx.r.env_access(&msg.caller, e.id, false, "environment")? {
                return Err(refuse_export());
            }
            let ev =
                tx.r.event("environment_exported", "environment", e.id.0)
                    .detail("environment_name", &e.name)
                    .detail("format", msg.format)
                    .detail("variables", msg.variables.to_string());
            Ok(((), ev))
        })
    }
}

impl Handler<ImportVariables> for OrgActor {
    type Result = Durable<ImportSummary>;

    fn handle(&mut self, msg: ImportVariables, _: &mut Self::Context) -> Self::Result {
        let ImportVariables {
            caller,
            env,
            entries,
            failed,
            overwrite,
        } = msg;
        self.write(&caller, |tx| {
            let e = tx.r.environment(env)?;
            tx.r.env_access(&caller, e.id, true, "environment")?;
            // Last value wins for a key given twice; first position keeps the order.
            let mut order: Vec<VariableKey> = Vec::new();
            let mut values: HashMap<VariableKey, SecretValue> = HashMap::new();
            for (k, v) in entries {
                if values.insert(k.clone(), v).is_none() {
                    order.push(k);
                }
            }
            let mut sum = ImportSummary {
                failed,
                ..Default::default()
            };
            for key in order {
                let Some(value) = values.remove(&key) else {
                    continue;
                };
                let index = keys::var_key(e.id, key.as_str());
                match tx.r.store().get::<VarId>(&index)? {
                    Some(_) if !overwrite => sum.skipped += 1,
                    Some(id) => {
                        let mut v = tx.r.variable(id)?;
                        tx.set_value(&mut v, &value, caller.user)?;
                        sum.updated += 1;
                    }
                    None => {
                        tx.add_variable(e.id, &key, &value, caller.user)?;
                        sum.imported += 1;
                    }
                }
            }
            tx.within_value_quotas(e.id)?;
            sum.total_variables = sum.imported + sum.updated + sum.skipped + sum.failed;
            let ev =
                tx.r.event("variables_imported", "environment", e.id.0)
                    .detail("environment_name", &e.name)
                    .detail("imported", sum.imported.to_string())
                    .detail("updated", sum.updated.to_string())
                    .detail("skipped", sum.skipped.to_string())
                    .detail("failed", sum.failed.to_string());
            Ok((sum, ev))
        })
    }
}
