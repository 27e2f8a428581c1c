//! What clients are shown of an organization's records: each view built from its record plus the
//! names and counts a client expects beside it. Values appear only when the caller may read them
//! (`reveal`), opened here and nowhere else.

use super::OrgReader;
use crate::error::DomainResult;
use crate::model::*;
use crate::store::keys;
use std::collections::HashMap;

/// Display names looked up once per message: a listing's variables mostly share a creator.
#[derive(Default)]
pub(crate) struct Names(HashMap<UserId, String>);

impl Names {
    pub(crate) fn get(&mut self, reader: &OrgReader, user: UserId) -> DomainResult<String> {
        if let Some(n) = self.0.get(&user) {
            return Ok(n.clone());
        }
        let name = reader.name_of(user)?;
        self.0.insert(user, name.clone());
        Ok(name)
    }
}

impl OrgReader {
    pub(crate) fn name_of(&self, user: UserId) -> DomainResult<String> {
        Ok(self
            .store()
            .user(user)?
            .map(|u| u.display_name())
            .unwrap_or_default())
    }

    pub(crate) fn org_view(&self, org: &Organization, role: Role) -> DomainResult<OrgView> {
        Ok(OrgView {
            id: org.id,
            name: org.name.clone(),
            description: org.description.clone(),
            created_at: org.created_at.rfc3339(),
            updated_at: org.updated_at.rfc3339(),
            member_count: self.store().count(&keys::members(self.id()))?,
            project_count: self.store().count(&keys::projects(self.id()))?,
            user_role: role,
            key: self.key_view()?,
        })
    }

    pub(crate) fn project_view(
        &self,
        org: &Organization,
        p: &Project,
    ) -> DomainResult<ProjectView> {
        Ok(ProjectView {
            id: p.id,
            name: p.name.clone(),
            description: p.description.clone(),
            organization: org.id,
            organization_name: org.name.clone(),
            created_at: p.created_at.rfc3339(),
            updated_at: p.updated_at.rfc3339(),
            created_by_name: self.name_of(p.created_by)?,
            environment_count: self.store().count(&keys::envs(p.id))?,
        })
    }

    pub(crate) fn env_view(
        &self,
        e: &Environment,
        project_name: &str,
    ) -> DomainResult<EnvironmentView> {
        Ok(EnvironmentView {
            id: e.id,
            name: e.name.clone(),
            project: e.project,
            project_name: project_name.to_string(),
            environment_type: e.environment_type,
            description: e.description.clone(),
            created_at: e.created_at.rfc3339(),
            updated_at: e.updated_at.rfc3339(),
            created_by_name: self.name_of(e.created_by)?,
            variable_count: self.store().counted(&keys::vars(e.id))?,
        })
    }

    pub(crate) fn var_view(
        &self,
        v: &Variable,
        env_name: &str,
        reveal: bool,
        names: &mut Names,
    ) -> DomainResult<VariableView> {
        Ok(VariableView {
            id: v.id,
            key: v.key.clone(),
            decrypted_value: if reveal { Some(self.open(v)?) } else { None },
            environment: v.env,
            environment_name: env_name.to_string(),
            version: v.version,
            created_at: v.created_at.rfc3339(),
            updated_at: v.updated_at.rfc3339(),
            created_by_name: names.get(self, v.created_by)?,
        })
    }

    /// A service token as listed; `token` only in the answer that creates it.
    pub(crate) fn token_view(
        &self,
        t: &ServiceToken,
        token: Option<SecretValue>,
    ) -> DomainResult<ServiceTokenView> {
        Ok(ServiceTokenView {
            id: t.id,
            name: t.name.clone(),
            access: t.access,
            environment: t.env,
            created_at: t.created_at.rfc3339(),
            expires_at: t.expires_at.map(Ts::rfc3339),
            last_used: t.last_used.map(Ts::rfc3339),
            created_by_name: self.name_of(t.created_by)?,
            token,
        })
    }
}
