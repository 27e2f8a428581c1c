//! `routes!`: how every API route is registered. A resource's path and methods are read from its
//! handlers' `#[utoipa::path]`, so the route table and the OpenAPI document are written by the
//! same call and cannot disagree: a handler without the annotation does not compile here, one
//! that is annotated but not registered is not in the document, and a route's method or path
//! exists only as the annotation states it.
//!
//! Why not actix's `#[get]`/`#[post]` macros with `utoipa_actix_web` alone: each of those is a
//! resource of its own, guarded by its method, so a method a path does not have falls through to
//! the default service and answers 404. One `web::resource` per path answers 405, as the API
//! promises; `Routes` is that resource, and it documents itself to `utoipa_actix_web` the way the
//! macros' handlers do (`OpenApiFactory`).

use actix_web::dev::{AppService, HttpServiceFactory};
use actix_web::http::Method;
use actix_web::{web, FromRequest, Handler, Resource, Responder};
use utoipa::openapi::path::{HttpMethod, Paths};
use utoipa::openapi::schema::Schema;
use utoipa::openapi::RefOr;

/// One path of the API with its methods: registered as one `web::resource`, documented as one
/// path item.
pub struct Routes {
    path: String,
    resource: Resource,
    paths: Paths,
    schemas: Vec<(String, RefOr<Schema>)>,
}

impl Routes {
    #[doc(hidden)]
    pub fn at(path: String) -> Self {
        Routes {
            resource: web::resource(path.as_str()),
            path,
            paths: Paths::new(),
            schemas: Vec::new(),
        }
    }

    /// Adds `handler` under the methods and at the path its annotation `P` states. One `Routes`
    /// is one path: a handler annotated with another is a mistake in the code, caught the first
    /// time the app is built (every test starts it).
    #[doc(hidden)]
    pub fn handler<P, F, Args>(mut self, handler: F) -> Self
    where
        P: utoipa::Path + utoipa::__dev::SchemaReferences + for<'t> utoipa::__dev::Tags<'t>,
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        assert_eq!(
            P::path(),
            self.path,
            "routes!: handlers of one resource must be annotated with the same path"
        );
        let methods = P::methods();
        for m in &methods {
            self.resource = self
                .resource
                .route(web::method(method(m)).to(handler.clone()));
        }
        let mut operation = P::operation();
        let tags = <P as utoipa::__dev::Tags>::tags();
        if !tags.is_empty() {
            let own = operation.tags.get_or_insert_with(Vec::new);
            own.extend(tags.into_iter().map(str::to_string));
        }
        self.paths
            .add_path_operation(&self.path, methods, operation);
        P::schemas(&mut self.schemas);
        self
    }
}

fn method(m: &HttpMethod) -> Method {
    match m {
        HttpMethod::Get => Method::GET,
        HttpMethod::Post => Method::POST,
        HttpMethod::Put => Method::PUT,
        HttpMethod::Delete => Method::DELETE,
        HttpMethod::Options => Method::OPTIONS,
        HttpMethod::Head => Method::HEAD,
        HttpMethod::Patch => Method::PATCH,
        HttpMethod::Trace => Method::TRACE,
    }
}

impl HttpServiceFactory for Routes {
    fn register(self, config: &mut AppService) {
        self.resource.register(config)
    }
}

impl utoipa_actix_web::OpenApiFactory for Routes {
    fn paths(&self) -> Paths {
        self.paths.clone()
    }

    fn schemas(&self, schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.extend(self.schemas.iter().cloned());
    }
}

/// `routes![list_projects, create_project]`: one resource from handlers annotated with
/// `#[utoipa::path]` at the same path, each under the methods its annotation names.
macro_rules! routes {
    ($first:ident $(, $rest:ident)* $(,)?) => {
        ::pastey::paste! {
            $crate::http::openapi::routes::Routes::at(
                <[<__path_ $first>] as ::utoipa::Path>::path(),
            )
            .handler::<[<__path_ $first>], _, _>($first)
            $(.handler::<[<__path_ $rest>], _, _>($rest))*
        }
    };
}
pub(crate) use routes;

#[cfg(test)]
mod tests {
    use actix_web::test::{call_service, init_service, read_body, TestRequest};
    use actix_web::App;
    use utoipa_actix_web::OpenApiFactory;

    #[utoipa::path(get, path = "/a/", responses((status = 200)))]
    async fn get_a() -> &'static str {
        "got"
    }

    #[utoipa::path(post, path = "/a/", responses((status = 201)))]
    async fn post_a() -> &'static str {
        "posted"
    }

    #[utoipa::path(post, path = "/b/", responses((status = 200)))]
    async fn post_b() -> &'static str {
        "b"
    }

    #[test]
    fn a_resource_is_documented_with_its_handlers_methods() {
        let paths = routes![get_a, post_a].paths();
        let item = paths.paths.get("/a/").expect("/a/ documented");
        assert!(item.get.is_some() && item.post.is_some());
        assert!(item.put.is_none() && item.patch.is_none() && item.delete.is_none());
        assert_eq!(paths.paths.len(), 1);
    }

    #[actix_web::test]
    async fn a_resource_serves_exactly_the_documented_methods() {
        let app = init_service(App::new().service(routes![get_a, post_a])).await;
        for (method, status, body) in [
            ("GET", 200, "got"),
            ("POST", 200, "posted"),
            ("DELETE", 405, ""),
            ("PUT", 405, ""),
        ] {
            let req = TestRequest::default()
                .method(method.parse().expect("a method"))
                .uri("/a/")
                .to_request();
            let res = call_service(&app, req).await;
            assert_eq!(res.status().as_u16(), status, "{method}");
            assert_eq!(read_body(res).await, body.as_bytes(), "{method}");
        }
    }

    #[test]
    #[should_panic(expected = "same path")]
    fn handlers_of_two_paths_cannot_share_a_resource() {
        let _ = routes![get_a, post_b];
    }
}
