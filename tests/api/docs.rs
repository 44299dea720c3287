//! The API reference: `/openapi.json` is an OpenAPI 3.1 document whose references all resolve
//! and whose every operation is routed; `/docs` renders it without touching the network.

use reqwest::Method;
use reqwest::header::CONTENT_TYPE;
use serde_json::Value;

use crate::helpers::{ADMIN_TOKEN, TestApp, encode, spawn_app};

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Stands in for every path parameter the document gives no example for.
const EXAMPLE_UUID: &str = "3fa85f64-5717-4562-b3fc-2c963f66afa6";

async fn document(app: &TestApp) -> Value {
    let response = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()[CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("application/json"),
        "content-type {content_type}"
    );
    let text = response.text().await.unwrap();
    serde_json::from_str(&text).expect("/openapi.json is JSON")
}

fn collect_refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r),
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// A `$ref` inside this document (`#/...`), followed to what it names.
fn resolve<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    doc.pointer(reference.strip_prefix('#')?)
}

/// Follows `$ref`s until a value that is not one.
fn deref<'a>(doc: &'a Value, mut value: &'a Value) -> &'a Value {
    while let Some(Value::String(r)) = value.get("$ref") {
        value = resolve(doc, r).unwrap_or_else(|| panic!("{r} does not resolve"));
    }
    value
}

#[tokio::test]
async fn openapi_json_is_an_openapi_3_1_document_whose_refs_all_resolve() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let version = doc["openapi"].as_str().expect("openapi is a string");
    assert!(version.starts_with("3.1"), "openapi {version}");
    assert!(doc["info"]["title"].is_string());
    assert!(!doc["paths"].as_object().expect("paths").is_empty());

    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(!refs.is_empty());
    let broken: Vec<&str> = refs
        .into_iter()
        .filter(|r| resolve(&doc, r).is_none())
        .collect();
    assert!(broken.is_empty(), "unresolved $refs: {broken:?}");
}

#[tokio::test]
async fn the_docs_page_is_self_contained_html_that_renders_openapi_json() {
    let app = spawn_app().await;
    let response = app.client.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()[CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("text/html"),
        "content-type {content_type}"
    );
    let page = response.text().await.unwrap();
    assert!(
        page.contains("var SPEC_URL = \"openapi.json\";"),
        "the page must load openapi.json relative to itself"
    );
    assert!(
        !page.contains("\"/openapi.json\""),
        "an absolute /openapi.json breaks behind a path prefix"
    );
    let lower = page.to_ascii_lowercase();
    for network in [
        "http://",
        "https://",
        "src=\"//",
        "href=\"//",
        "url(//",
        "<link",
        "@import",
        "<script src",
    ] {
        assert!(
            !lower.contains(network),
            "the page must load nothing from the network, but contains {network:?}"
        );
    }
}

#[tokio::test]
async fn every_documented_operation_is_routed() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let paths = doc["paths"].as_object().unwrap();
    let mut checked = 0;
    let mut unrouted = Vec::new();
    for (template, item) in paths {
        for method in METHODS {
            let Some(operation) = item.get(method) else {
                continue;
            };
            let parameters: Vec<&Value> = [item.get("parameters"), operation.get("parameters")]
                .into_iter()
                .flatten()
                .filter_map(Value::as_array)
                .flatten()
                .map(|p| deref(&doc, p))
                .filter(|p| p["in"] == "path")
                .collect();
            let mut path = template.clone();
            while let Some(start) = path.find('{') {
                let end = start + path[start..].find('}').expect("closed template");
                let name = &path[start + 1..end];
                let example = parameters
                    .iter()
                    .find(|p| p["name"] == name)
                    .and_then(|p| p["example"].as_str())
                    .map(encode)
                    .unwrap_or_else(|| EXAMPLE_UUID.to_string());
                path.replace_range(start..=end, &example);
            }

            let admin = operation["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|r| r.get("adminBearer").is_some()));
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let mut request = app.client.request(method.clone(), app.url(&path));
            if admin {
                request = request.bearer_auth(ADMIN_TOKEN);
            }
            let response = request.send().await.expect("request reaches herald");
            let status = response.status();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            let error = &body["errors"][0];
            let fallback = status == 405
                || error["errorCode"] == "METHOD_NOT_ALLOWED"
                || (error["errorCode"] == "NOT_FOUND"
                    && error["errorDescription"] == "no such endpoint");
            if fallback {
                unrouted.push(format!("{method} {template} ({path}): {status} {body}"));
            }
            checked += 1;
        }
    }
    assert!(checked > 0, "the document has no operations");
    assert!(
        unrouted.is_empty(),
        "documented but not routed: {unrouted:#?}"
    );
}

/// Every `.route(path, method(..).method(..))` of the files that build the API's router, as
/// `METHOD /path` with each path parameter written `{}`.
fn routes_in_source() -> std::collections::BTreeSet<String> {
    let api = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api");
    let mut routes = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(&api).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let prefix = match name.as_str() {
            "mod.rs" => "",
            n if n.starts_with("admin") && n.ends_with(".rs") => "/admin/v1",
            _ => continue,
        };
        let source = std::fs::read_to_string(&path).unwrap();
        for chunk in source.split(".route(").skip(1) {
            let Some(rest) = chunk.trim_start().strip_prefix('"') else {
                continue;
            };
            let (route, handlers) = rest.split_once('"').unwrap();
            // The handlers run to the call's closing parenthesis: `get(a).post(b))`.
            let mut depth = 1;
            let end = handlers
                .char_indices()
                .find(|&(_, c)| {
                    depth += match c {
                        '(' => 1,
                        ')' => -1,
                        _ => 0,
                    };
                    depth == 0
                })
                .map(|(i, _)| i)
                .unwrap();
            for method in METHODS {
                let called = format!("{method}(");
                let handlers = &handlers[..end];
                let starts = handlers.match_indices(&called).any(|(i, _)| {
                    i == 0 || !handlers[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_')
                });
                if starts {
                    let path = normalize(&format!("{prefix}{route}"));
                    routes.insert(format!("{} {path}", method.to_uppercase()));
                }
            }
        }
    }
    routes
}

/// A path template with each parameter (and what follows it up to the next `/`) as `{}`.
fn normalize(template: &str) -> String {
    template
        .split('/')
        .map(|segment| if segment.contains('{') { "{}" } else { segment })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn every_routed_operation_is_documented() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let mut documented = std::collections::BTreeSet::new();
    for (template, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            if item.get(method).is_some() {
                documented.insert(format!("{} {}", method.to_uppercase(), normalize(template)));
            }
        }
    }
    let routed = routes_in_source();
    assert!(
        routed.contains("GET /admin/v1/queue")
            && routed.contains("POST /customer/v2/department/{}/customer"),
        "the route scan found {routed:#?}"
    );
    let missing: Vec<&String> = routed.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "routed but not documented: {missing:#?}"
    );
}
