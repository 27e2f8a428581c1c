//! `/api/environments/{id}/export/` and `/import/`: a whole environment out as `.env`, JSON or
//! YAML, and a file in (multipart field `file`, or a JSON body `{"data", "format", "overwrite"}`).

use crate::http::auth::AnyCaller;
use crate::http::error::{ApiError, ApiResult, ErrorCode};
use crate::http::feed;
use crate::http::openapi::bodies::{ExportParams, IfNoneMatch, ImportForm, ImportJsonBody};
use crate::http::openapi::routes::routes;
use crate::http::pagination::ListQuery;
use crate::http::secret_body::SecretBuf;
use crate::http::AppState;
use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use keynest_actors::formats::Failure;
use keynest_actors::formats::{self, ExportHeader, Format, Refusal, MAX_IMPORT_BYTES};
use keynest_actors::model::{Caller, EnvId, SecretValue};
use keynest_actors::org::{Export, ExportEnvironment, ImportSummary, ImportVariables};
use zeroize::Zeroizing;

pub fn configure(cfg: &mut crate::http::Config) {
    cfg.service(routes![export_environment])
        .service(routes![import_environment]);
}

/// An import's answer: what it did, and every line or key that failed, with why.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Imported {
    message: &'static str,
    summary: ImportSummary,
    /// `null` when nothing failed.
    #[schema(required = true)]
    failed_imports: Option<Vec<Failure>>,
}

/// Letters, digits, `-`, `_` and `.` only, so the name is safe in a header and on any disk.
fn file_name(project: &str, env: &str, ext: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    format!("{}-{}.{ext}", clean(project), clean(env))
}

/// The whole environment as `.env`, JSON or YAML (admins, editors, service tokens); audited.
#[utoipa::path(
    get,
    path = "/api/environments/{id}/export/",
    tag = "import-export",
    params(ExportParams, IfNoneMatch),
    responses((status = 200, description = "The environment as a file", headers(("Content-Disposition" = String, description = "`attachment; filename=\"<project>-<environment>.<format>\"`"), ("ETag" = String, description = "The environment's revision as this caller sees it; send it back in `If-None-Match`")),
            content((String = "text/plain"), (BTreeMap<String, String> = "application/json"),
                (BTreeMap<String, String> = "application/yaml"))),
        (status = 304, description = "Not modified since the `ETag` in `If-None-Match`", headers(("ETag" = String, description = "The environment's revision as this caller sees it; send it back in `If-None-Match`"))),)
)]
async fn export_environment(
    state: web::Data<AppState>,
    AnyCaller(caller): AnyCaller,
    id: web::Path<u64>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let q = ListQuery::from_request(&req)?;
    let format = match q.get("format") {
        None => Format::Env,
        Some(f) => Format::parse(f)
            .filter(|_| f != "yml" && f != "dotenv")
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "Unknown export format {f:?}; use env, json or yaml."
                ))
            })?,
    };
    let env = EnvId(*id);
    let etag = feed::etag(&req, &caller, state.kn.revision(&caller, env).await?);
    if feed::unchanged(&req, &etag) {
        return Ok(feed::not_modified(etag));
    }
    let mut res = export(&state, caller, env, format).await?;
    if let Ok(v) = header::HeaderValue::from_str(&etag) {
        res.headers_mut().insert(header::ETAG, v);
    }
    Ok(res)
}

/// The whole environment as a download (`attachment`) in `format`, audited as an export: for
/// the API's `export/` and the dashboard's download links.
pub async fn export(
    state: &AppState,
    caller: Caller,
    env: EnvId,
    format: Format,
) -> ApiResult<HttpResponse> {
    let msg = ExportEnvironment {
        caller,
        env,
        format: format.extension(),
    };
    let export = state.kn.export(msg).await?;
    let now = chrono::Utc::now()
        .format("%Y-%m-%d %H:%M:%S UTC")
        .to_string();
    let name = file_name(&export.project, &export.environment, format.extension());
    // A large environment renders for milliseconds: in the blocking pool, not on the worker
    // whose other connections would wait behind it.
    let body = web::block(move || render_export(format, &export, &now))
        .await
        .map_err(|e| ApiError::from(keynest_actors::error::DomainError::internal("export", e)))??;
    Ok(HttpResponse::Ok()
        .content_type(format.content_type())
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body.into_bytes()))
}

/// The export as the client asked for it, written from the opened values straight into one
/// `SecretBuf` (zeroized once sent), so no other copy of a value is left behind by this handler.
/// `formats::render_env`, `render_json` and `render_yaml` stay the definition of each layout:
/// `export_is_rendered_exactly_as_formats_renders_it` holds this to them byte for byte. (They
/// build `String`s freed without being zeroized; rendering into a caller's writer there would
/// make this one piece again.)
fn render_export(format: Format, export: &Export, now: &str) -> ApiResult<SecretBuf> {
    let vars = &export.vars;
    let size: usize = vars
        .iter()
        .map(|(k, v)| k.len() + v.expose().len() + 8)
        .sum();
    let mut buf = SecretBuf::with_capacity(512 + size + size / 4);
    match format {
        Format::Env => {
            let header = ExportHeader {
                environment: &export.environment,
                project: &export.project,
                organization: &export.organization,
                generated_on: now,
            };
            // The header names no value.
            buf.push(formats::render_env(&header, &[]).as_bytes());
            for (k, v) in vars {
                // `env_line` quotes in a `String` of its own, freed as it is: one copy per value
                // that this cannot reach (README, "Security model").
                let line = Zeroizing::new(formats::env_line(k, v.expose()));
                buf.push(line.as_bytes());
                buf.push(b"\n");
            }
        }
        Format::Json => {
            buf.push(b"{\n");
            for (i, (k, v)) in vars.iter().enumerate() {
                buf.push(b"  ");
                buf.push_json_str(k)?;
                buf.push(b": ");
                buf.push_json_str(v.expose())?;
                buf.push(if i + 1 < vars.len() { b",\n" } else { b"\n" });
            }
            buf.push(b"}\n");
        }
        Format::Yaml => {
            for (k, v) in vars {
                buf.push(k.as_bytes());
                buf.push(b": ");
                buf.push_json_str(v.expose())?;
                buf.push(b"\n");
            }
            if vars.is_empty() {
                buf.push(b"{}\n");
            }
        }
    }
    Ok(buf)
}

fn too_large() -> ApiError {
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        format!(
            "An import may be at most {} MiB.",
            MAX_IMPORT_BYTES / (1024 * 1024)
        ),
    )
}

/// What the client sent: the document, its format, and whether existing keys are overwritten.
pub struct Upload {
    pub data: Zeroizing<Vec<u8>>,
    pub format: Option<Format>,
    pub overwrite: bool,
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

fn format_field(v: &str) -> ApiResult<Option<Format>> {
    match v.trim() {
        "auto" | "" => Ok(None),
        f => Format::parse(f).map(Some).ok_or_else(|| {
            ApiError::from(keynest_actors::error::DomainError::invalid(
                "format",
                "Use env, json, yaml or auto.",
            ))
        }),
    }
}

fn multipart_error(e: actix_multipart::MultipartError) -> ApiError {
    match &e {
        actix_multipart::MultipartError::Payload(p) if crate::http::guard::timed_out(p) => {
            crate::http::guard::body_timeout()
        }
        _ => ApiError::bad_request(format!("Malformed multipart body: {e}")),
    }
}

pub async fn read_multipart(req: &HttpRequest, payload: web::Payload) -> ApiResult<Upload> {
    let mut form = Multipart::new(req.headers(), payload);
    let mut upload = Upload {
        data: Zeroizing::new(Vec::new()),
        format: None,
        overwrite: true,
    };
    let mut have_file = false;
    // The form has three fields (file, format, overwrite) and a browser may add a few (the
    // dashboard's csrf): more parts than this is not a form of ours, and each part costs a
    // header parse, so a body of 200,000 empty parts is refused at the 17th.
    const MAX_PARTS: usize = 16;
    let mut parts = 0;
    while let Some(field) = form.next().await {
        parts += 1;
        if parts > MAX_PARTS {
            return Err(ApiError::bad_request(format!(
                "The form has more than {MAX_PARTS} parts."
            )));
        }
        let mut field = field.map_err(multipart_error)?;
        let name = field.name().unwrap_or_default().to_string();
        let file_name = field
            .content_disposition()
            .and_then(|cd| cd.get_filename())
            .map(str::to_string);
        let limit = if name == "file" { MAX_IMPORT_BYTES } else { 64 };
        let mut bytes = Zeroizing::new(Vec::new());
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(multipart_error)?;
            if bytes.len() + chunk.len() > limit {
                return Err(if name == "file" {
                    too_large()
                } else {
                    ApiError::bad_request(format!("Field {name} is too long."))
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        match name.as_str() {
            "file" => {
                have_file = true;
                upload.data = bytes;
                if upload.format.is_none() {
                    upload.format =
                        Some(Format::from_file_name(file_name.as_deref().unwrap_or("")));
                }
            }
            "format" => {
                if let Some(f) = format_field(&String::from_utf8_lossy(&bytes))? {
                    upload.format = Some(f);
                }
            }
            "overwrite" => {
                upload.overwrite =
                    parse_bool(&String::from_utf8_lossy(&bytes)).ok_or_else(|| {
                        ApiError::from(keynest_actors::error::DomainError::invalid(
                            "overwrite",
                            "Must be true or false.",
                        ))
                    })?;
            }
            _ => {}
        }
    }
    if !have_file {
        return Err(
            keynest_actors::error::DomainError::invalid("file", "This field is required.").into(),
        );
    }
    Ok(upload)
}

async fn read_json(mut payload: web::Payload) -> ApiResult<Upload> {
    // JSON escaping can make the document longer than the file it carries.
    let limit = MAX_IMPORT_BYTES + MAX_IMPORT_BYTES / 2;
    let mut body = Zeroizing::new(Vec::new());
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(crate::http::guard::body_error)?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    // Read into exactly the three fields: anything else in the body is skipped without being
    // built (a `Value` tree of a 14 MiB body once took 775 MiB and kept it).
    let doc: ImportBody = serde_json::from_slice(&body).map_err(|e| {
        if e.is_data() {
            ApiError::bad_request("The request body must be a JSON object.")
        } else {
            ApiError::bad_request(format!(
                "Malformed JSON at line {}, column {}.",
                e.line(),
                e.column()
            ))
        }
    })?;
    let mut errors = keynest_actors::error::FieldErrors::default();
    let data = match doc.data {
        Some(Loose::Str(s)) => Some(Zeroizing::new(s.into_bytes())),
        None | Some(Loose::Null) => {
            errors.add("data", "This field is required.");
            None
        }
        Some(_) => {
            errors.add("data", "Must be a string holding the file's text.");
            None
        }
    };
    let format = match doc.format {
        None | Some(Loose::Null) => None,
        Some(Loose::Str(f)) => format_field(&f).unwrap_or_else(|_| {
            errors.add("format", "Use env, json, yaml or auto.");
            None
        }),
        Some(_) => {
            errors.add("format", "Use env, json, yaml or auto.");
            None
        }
    };
    let overwrite = match doc.overwrite {
        None | Some(Loose::Null) => true,
        Some(Loose::Bool(b)) => b,
        Some(_) => {
            errors.add("overwrite", "Must be true or false.");
            true
        }
    };
    errors.into_result()?;
    Ok(Upload {
        data: data.unwrap_or_default(),
        format,
        overwrite,
    })
}

/// Imports a file: one atomic change. Existing keys are overwritten unless `overwrite` is false.
#[utoipa::path(
    post,
    path = "/api/environments/{id}/import/",
    tag = "import-export",
    request_body(content((ImportJsonBody = "application/json"), (ImportForm = "multipart/form-data"))),
    responses((status = 200, description = "Imported; keys missing from the file are kept", body = Imported))
)]
async fn import_environment(
    state: web::Data<AppState>,
    AnyCaller(caller): AnyCaller,
    id: web::Path<u64>,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("multipart/form-data"));
    let upload = if is_multipart {
        read_multipart(&req, payload).await?
    } else {
        read_json(payload).await?
    };
    let env = EnvId(*id);
    let (summary, failures) = import(&state, caller, env, upload).await?;
    let message = if failures.is_empty() {
        "Import completed successfully"
    } else {
        "Import completed with errors"
    };
    Ok(HttpResponse::Ok().json(Imported {
        message,
        summary,
        failed_imports: (!failures.is_empty()).then_some(failures),
    }))
}

/// Parse an upload and apply it to `env` as one atomic change: the summary, and the lines or
/// keys that failed. For the API's `import/` and the dashboard's import and bulk edit.
pub async fn import(
    state: &AppState,
    caller: Caller,
    env: EnvId,
    upload: Upload,
) -> ApiResult<(ImportSummary, Vec<formats::Failure>)> {
    if upload.data.len() > MAX_IMPORT_BYTES {
        return Err(too_large());
    }
    let text = std::str::from_utf8(&upload.data)
        .map_err(|_| ApiError::bad_request("The file is not UTF-8 text."))?;
    let format = upload.format.unwrap_or_else(|| Format::sniff(text));
    let parsed = formats::parse(text, format).map_err(|r| match r {
        Refusal::TooLarge => too_large(),
        Refusal::Invalid(m) => ApiError::bad_request(m),
    })?;
    let failures = parsed.failures;
    let msg = ImportVariables {
        caller,
        env,
        failed: failures.len(),
        entries: parsed
            .entries
            .into_iter()
            .map(|(k, v)| (k, SecretValue::new(v)))
            .collect(),
        overwrite: upload.overwrite,
    };
    let summary = state.kn.ask(msg).await?;
    Ok((summary, failures))
}

/// The JSON import body; other fields are skipped unread.
#[derive(serde::Deserialize)]
struct ImportBody {
    data: Option<Loose>,
    format: Option<Loose>,
    overwrite: Option<Loose>,
}

/// A field's value as far as the import needs it: a string, a bool, null, or something else,
/// which is skipped without being built.
enum Loose {
    Null,
    Str(String),
    Bool(bool),
    Other,
}

impl<'de> serde::Deserialize<'de> for Loose {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Loose;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_unit<E>(self) -> Result<Loose, E> {
                Ok(Loose::Null)
            }
            fn visit_none<E>(self) -> Result<Loose, E> {
                Ok(Loose::Null)
            }
            fn visit_bool<E>(self, b: bool) -> Result<Loose, E> {
                Ok(Loose::Bool(b))
            }
            fn visit_str<E>(self, s: &str) -> Result<Loose, E> {
                Ok(Loose::Str(s.to_string()))
            }
            fn visit_string<E>(self, s: String) -> Result<Loose, E> {
                Ok(Loose::Str(s))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Loose, E> {
                Ok(Loose::Other)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Loose, E> {
                Ok(Loose::Other)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Loose, E> {
                Ok(Loose::Other)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut a: A) -> Result<Loose, A::Error> {
                while a.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Loose::Other)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut a: A) -> Result<Loose, A::Error> {
                while a
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(Loose::Other)
            }
        }
        d.deserialize_any(Visit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn export(vars: &[(&str, &str)]) -> Export {
        Export {
            organization: "Acme\nInc".into(),
            project: "web".into(),
            environment: "production".into(),
            vars: vars
                .iter()
                .map(|(k, v)| (k.to_string(), SecretValue::new(v.to_string())))
                .collect(),
        }
    }

    #[test]
    fn export_is_rendered_exactly_as_formats_renders_it() {
        let now = "2026-01-02 03:04:05 UTC";
        let tricky: &[(&str, &str)] = &[
            ("PLAIN", "value"),
            ("EMPTY", ""),
            ("SPACES", " padded value "),
            ("QUOTES", "it's \"quoted\" `x`"),
            ("SLASH_END", "C:\\dir\\"),
            ("MULTI", "line one\nline two\r\n"),
            ("HASH", "a#b $HOME"),
            ("CONTROL", "esc\u{1b} bell\u{7} sep\u{2028}"),
            ("UNICODE", "ünïcødé ✓"),
            ("LONG", &"x".repeat(10_000)),
        ];
        for vars in [tricky, &tricky[..1], &[]] {
            let e = export(vars);
            let pairs: Vec<(String, String)> = vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let header = ExportHeader {
                environment: &e.environment,
                project: &e.project,
                organization: &e.organization,
                generated_on: now,
            };
            let cases = [
                (Format::Env, formats::render_env(&header, &pairs)),
                (Format::Json, formats::render_json(&pairs)),
                (Format::Yaml, formats::render_yaml(&pairs)),
            ];
            for (format, want) in cases {
                let got = render_export(format, &e, now).expect("render");
                assert_eq!(
                    String::from_utf8_lossy(got.as_slice()),
                    want,
                    "{format:?} with {} variables",
                    vars.len()
                );
            }
        }
    }
}
