//! What clients send, as the OpenAPI document describes it: request bodies and query parameters.
//! Documentation only, never built: the server reads a body as a JSON object and parses each
//! field by hand (`keynest_actors::input`), collecting an error per field, so these types state
//! the fields that parsing accepts. Answers are documented by the types that are serialized
//! (the views, `PageBody`, the handlers' own answer types), which is what keeps them true.
#![allow(dead_code)]

use keynest_actors::model::{EnvironmentType, Role, ServiceAccess};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

/// A new account. Passwords: at least 8 characters, not all digits.
#[derive(Deserialize, ToSchema)]
pub struct RegisterBody {
    /// Letters, digits and `@ . + - _`.
    #[schema(min_length = 1, max_length = 150, pattern = "^[A-Za-z0-9@.+_-]+$")]
    username: String,
    #[schema(format = Email, max_length = 254)]
    email: String,
    #[schema(min_length = 8, max_length = 128)]
    password: String,
    /// The same as `password`.
    #[schema(min_length = 8, max_length = 128)]
    confirm_password: String,
    #[schema(max_length = 150)]
    first_name: Option<String>,
    #[schema(max_length = 150)]
    last_name: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct LoginBody {
    email: String,
    password: String,
}

/// Optional: without a body every session is ended, this one included.
#[derive(Deserialize, ToSchema)]
pub struct LogoutAllBody {
    keep_current: Option<bool>,
}

#[derive(Deserialize, ToSchema)]
pub struct NewOrgBody {
    #[schema(min_length = 1, max_length = 100)]
    name: String,
    #[schema(max_length = 1000)]
    description: Option<String>,
}

/// A partial update: fields left out are kept.
#[derive(Deserialize, ToSchema)]
pub struct OrgPatchBody {
    #[schema(min_length = 1, max_length = 100)]
    name: Option<String>,
    #[schema(max_length = 1000)]
    description: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct NewProjectBody {
    #[schema(min_length = 1, max_length = 100)]
    name: String,
    #[schema(max_length = 1000)]
    description: Option<String>,
    /// The organization's id.
    organization: u64,
}

/// A partial update. `organization` may only name the project's own organization (projects do
/// not move).
#[derive(Deserialize, ToSchema)]
pub struct ProjectPatchBody {
    #[schema(min_length = 1, max_length = 100)]
    name: Option<String>,
    #[schema(max_length = 1000)]
    description: Option<String>,
    organization: Option<u64>,
}

#[derive(Deserialize, ToSchema)]
pub struct NewEnvironmentBody {
    #[schema(min_length = 1, max_length = 100)]
    name: String,
    /// The project's id.
    project: u64,
    /// `development` when left out.
    environment_type: Option<EnvironmentType>,
    #[schema(max_length = 1000)]
    description: Option<String>,
}

/// A partial update. `project` may only name the environment's own project.
#[derive(Deserialize, ToSchema)]
pub struct EnvironmentPatchBody {
    #[schema(min_length = 1, max_length = 100)]
    name: Option<String>,
    environment_type: Option<EnvironmentType>,
    #[schema(max_length = 1000)]
    description: Option<String>,
    project: Option<u64>,
}

#[derive(Deserialize, ToSchema)]
pub struct NewVariableBody {
    /// Letters, digits and `_`, not starting with a digit.
    #[schema(pattern = "^[A-Za-z_][A-Za-z0-9_]*$", max_length = 255)]
    key: String,
    /// At most 64 KiB.
    value: String,
    /// The environment's id.
    environment: u64,
}

/// A partial update: a new value makes a new version. `environment` may only name the
/// variable's own environment.
#[derive(Deserialize, ToSchema)]
pub struct VariablePatchBody {
    #[schema(pattern = "^[A-Za-z_][A-Za-z0-9_]*$", max_length = 255)]
    key: Option<String>,
    value: Option<String>,
    environment: Option<u64>,
}

#[derive(Deserialize, ToSchema)]
pub struct RollbackBody {
    /// The version whose value becomes the next version.
    #[schema(minimum = 1)]
    version: u32,
}

/// Invites an email (a membership is made only when the invitee accepts).
#[derive(Deserialize, ToSchema)]
pub struct InviteBody {
    #[schema(format = Email)]
    email: String,
    /// `viewer` when left out.
    role: Option<Role>,
    /// How long the invitation can be accepted: 7 days when left out, at most 30.
    #[schema(exclusive_minimum = 0, maximum = 30)]
    expires_in_days: Option<f64>,
}

#[derive(Deserialize, ToSchema)]
pub struct RoleChangeBody {
    role: Role,
}

/// `expires_in_days`: a number of days (fractions allowed, at most 3650), or `"never"`.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub enum Expiry {
    /// Days above 0, at most 3650.
    Days(f64),
    Never(Never),
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Never {
    Never,
}

#[derive(Deserialize, ToSchema)]
pub struct NewServiceTokenBody {
    #[schema(min_length = 1, max_length = 100)]
    name: String,
    /// `read` when left out.
    access: Option<ServiceAccess>,
    /// 90 days when left out.
    expires_in_days: Option<Expiry>,
}

/// The import's format: `auto` (or empty, or left out) guesses from the file name, else from the
/// text.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ImportFormat {
    Env,
    Json,
    Yaml,
    Auto,
    #[serde(rename = "")]
    Empty,
}

/// An import as JSON: the file's text in `data`.
#[derive(Deserialize, ToSchema)]
pub struct ImportJsonBody {
    /// The document: `.env` lines, a flat JSON object or a flat YAML mapping (at most 10 MiB).
    data: String,
    format: Option<ImportFormat>,
    /// Whether keys that exist get the file's value (default `true`).
    overwrite: Option<bool>,
}

/// An import as a form upload: the file in `file` (its name picks the format).
#[derive(Deserialize, ToSchema)]
pub struct ImportForm {
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    format: Option<ImportFormat>,
    overwrite: Option<bool>,
}

/// `page` and `page_size` of every list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// 1-based; a page past the end is 404.
    #[param(minimum = 1)]
    page: Option<u64>,
    /// 20 by default.
    #[param(minimum = 1, maximum = 100)]
    page_size: Option<u64>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProjectFilter {
    /// Only this organization's projects.
    #[param(minimum = 0)]
    organization: Option<u64>,
    /// Part of the name or description, ignoring case.
    search: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EnvironmentFilter {
    /// Only this project's environments.
    #[param(minimum = 0)]
    project: Option<u64>,
    #[param(inline)]
    environment_type: Option<EnvironmentType>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditFilter {
    /// A user id.
    #[param(minimum = 0)]
    user: Option<u64>,
    /// An action, such as `variable_updated`.
    action: Option<String>,
    /// A kind of record, such as `variable`.
    target_type: Option<String>,
    /// From this day on (`YYYY-MM-DD`, UTC, whole days).
    #[param(format = Date)]
    date_from: Option<String>,
    /// Up to and including this day (`YYYY-MM-DD`, UTC).
    #[param(format = Date)]
    date_to: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CompareParams {
    /// The id of one environment of the project.
    #[param(minimum = 0)]
    source: u64,
    /// The id of another environment of the project.
    #[param(minimum = 0)]
    target: u64,
}

/// What `export` renders.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    Env,
    Json,
    Yaml,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// `env` (the default), `json` or `yaml`.
    #[param(inline)]
    format: Option<ExportFormat>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WatchParams {
    /// The revision the client has; the answer comes once the environment is past it.
    #[param(minimum = 0)]
    revision: Option<u64>,
    /// Seconds to wait for a change (30 by default, at most 60).
    #[param(minimum = 0, maximum = 60)]
    timeout: Option<u64>,
}

/// `If-None-Match` on a listing or export whose `ETag` the client has.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IfNoneMatch {
    /// An `ETag` from an earlier answer: 304 while nothing changed.
    #[serde(rename = "If-None-Match")]
    #[param(nullable = false)]
    if_none_match: Option<String>,
}
