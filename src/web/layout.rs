//! The page shell every dashboard page shares (top bar, breadcrumbs, the notice left by the last
//! form), the error page, and small form pieces. maud escapes every interpolated string, so a
//! name or key such as `<script>` is shown as text.

use crate::web::assets;
use crate::web::WebUser;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use maud::{html, Markup, DOCTYPE};

/// The cookie carrying the notice of the last form to the page it redirected to.
/// Its name: `__Host-` prefixed over HTTPS, as the session's is (`session::cookie_name`).
pub fn flash_name() -> &'static str {
    if crate::web::session::secure() {
        "__Host-keynest_flash"
    } else {
        "keynest_flash"
    }
}

pub fn flash_cookie(kind: &str, text: &str) -> Cookie<'static> {
    // Only the first 300 characters: a cookie has a size limit, and a notice is one line.
    let text: String = text.chars().take(300).collect();
    let value =
        serde_urlencoded::to_string([("k", kind), ("t", text.as_str())]).unwrap_or_default();
    Cookie::build(flash_name(), value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(crate::web::session::secure())
        .finish()
}

fn take_flash(req: &HttpRequest) -> Option<(bool, String)> {
    let c = req.cookie(flash_name())?;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(c.value()).ok()?;
    let get = |n: &str| pairs.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    Some((get("k")? == "error", get("t")?))
}

/// A breadcrumb: its text and, but for the last, where it links.
pub struct Crumb(pub String, pub Option<String>);

/// A whole page: shell, breadcrumbs, the pending notice, and `body`.
pub fn render(
    req: &HttpRequest,
    user: Option<&WebUser>,
    title: &str,
    crumbs: &[Crumb],
    body: Markup,
) -> HttpResponse {
    let flash = take_flash(req);
    let notice = flash.as_ref().map(|(error, text)| {
        html! { div.flash.error[*error] role=(if *error { "alert" } else { "status" }) { (text) } }
    });
    let markup = shell(
        user,
        title,
        crumbs,
        html! { (notice.unwrap_or_default()) (body) },
    );
    let mut res = HttpResponse::Ok();
    res.content_type("text/html; charset=utf-8");
    if flash.is_some() {
        let mut gone = Cookie::build(flash_name(), "")
            .path("/")
            .http_only(true)
            .same_site(SameSite::Strict)
            .secure(crate::web::session::secure())
            .finish();
        gone.make_removal();
        res.cookie(gone);
    }
    res.body(markup.into_string())
}

/// The document around every page: head, top bar (with the signed-in user's navigation),
/// breadcrumbs, and `body` in `main`.
fn shell(user: Option<&WebUser>, title: &str, crumbs: &[Crumb], body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if let Some(u) = user { meta name="csrf-token" content=(u.csrf_token()); }
                title { (title) " · KeyNest" }
                link rel="stylesheet" href=(assets::css_path());
                script src=(assets::js_path()) defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/" { "KeyNest" }
                    @if let Some(u) = user {
                        nav.main aria-label="Main" {
                            a href="/orgs/" { "Organizations" }
                            a href="/audit/" { "Audit log" }
                            a href="/sessions/" { "Sessions" }
                            form.inline method="post" action="/logout/" {
                                (csrf(u))
                                button.link type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                main #main tabindex="-1" {
                    @if !crumbs.is_empty() {
                        nav.crumbs aria-label="Breadcrumb" {
                            @for (i, c) in crumbs.iter().enumerate() {
                                @if i > 0 { span.sep aria-hidden="true" { "/" } }
                                @match &c.1 {
                                    Some(href) => a href=(href) { (c.0) },
                                    None => span aria-current="page" { (c.0) },
                                }
                            }
                        }
                    }
                    (body)
                }
            }
        }
    }
}

/// A page for a refused request, with its status.
pub fn error_page(status: StatusCode, title: &str, text: &str) -> HttpResponse {
    let body = html! {
        h1 { (title) }
        p.error-text { (text) }
        p { a href="/" { "Back to the dashboard" } }
    };
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((
            actix_web::http::header::CONTENT_SECURITY_POLICY,
            crate::web::CSP,
        ))
        .insert_header((actix_web::http::header::X_FRAME_OPTIONS, "DENY"))
        .body(shell(None, title, &[], body).into_string())
}

/// The hidden CSRF field of a form.
pub fn csrf(user: &WebUser) -> Markup {
    html! { input type="hidden" name="csrf" value=(user.csrf_token()); }
}

/// A form that is one button: POST to `action`, asking first when `confirm` is given.
pub fn button(
    user: &WebUser,
    action: &str,
    label: &str,
    class: &str,
    confirm: Option<&str>,
) -> Markup {
    html! {
        form.inline method="post" action=(action) data-confirm=[confirm] {
            (csrf(user))
            button type="submit" class=(class) { (label) }
        }
    }
}

/// Links to the previous and next pages of a list of `count` items, `size` a page.
pub fn pager(base: &str, page: usize, size: usize, count: usize) -> Markup {
    let pages = count.div_ceil(size).max(1);
    let sep = if base.contains('?') { '&' } else { '?' };
    html! {
        @if pages > 1 {
            nav.pager aria-label="Pages" {
                @if page > 1 { a href=(format!("{base}{sep}page={}", page - 1)) rel="prev" { "← Newer" } }
                span { "Page " (page) " of " (pages) " · " (count) " entries" }
                @if page < pages { a href=(format!("{base}{sep}page={}", page + 1)) rel="next" { "Older →" } }
            }
        }
    }
}

/// An RFC 3339 timestamp as `2026-11-28 10:30 UTC`: shorter in a table, still unambiguous.
pub fn when(ts: &str) -> String {
    match (ts.get(..10), ts.get(11..16)) {
        (Some(day), Some(time)) if ts.ends_with('Z') => format!("{day} {time} UTC"),
        _ => ts.to_string(),
    }
}
