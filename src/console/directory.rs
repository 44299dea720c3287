//! The directory: dealers, a dealer's departments, a department's settings and users, and
//! credentials (issue, with the password shown once; revoke).

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

use super::csrf::Posted;
use super::layout::{self, action, csrf_field, page, time};
use super::session::Session;
use crate::api::AppState;
use crate::api::admin::{dealer as find_dealer, department as find_department, issue_credential};
use crate::api::admin_read::{PageParams, credential_list, dealer_list};
use crate::api::error::ApiError;
use crate::domain::credential::{Grant, Level, Scope};

const SCOPES: [Scope; 8] = [
    Scope::MessageCreate,
    Scope::MessageRead,
    Scope::CustomerSearch,
    Scope::CustomerUpdate,
    Scope::OptoutStatusRead,
    Scope::OptoutStatusUpdate,
    Scope::DefaultDealerAssociateRead,
    Scope::MessageOverrideOptout,
];

fn next_link(base: &str, next: Option<String>) -> Markup {
    html! { @if let Some(t) = next { p { a.next href={ (base) "?pageToken=" (t) } { "Next page" } } } }
}

/// `GET /console/directory?pageToken=`: dealers, oldest first.
pub async fn dealers(
    session: Session,
    State(state): State<AppState>,
    Query(params): Query<PageParams>,
) -> Response {
    let (rows, next) = match dealer_list(&state, &params).await {
        Ok(found) => found,
        Err(error) => return layout::failure(&session, error),
    };
    let body = html! {
        p { a href="/console/credentials" { "Credentials" } }
        h2 { "Dealers" }
        table { tr { th { "Name" } th { "UUID" } th { "Created" } }
            @for d in &rows { tr {
                td { a href={ "/console/dealers/" (d.dealer.uuid) } { (d.dealer.name) } }
                td.mono { (d.dealer.uuid) } td { (time(d.created_at)) }
            } }
        }
        (next_link("/console/directory", next))
    };
    page("Directory", &session, body)
}

/// A department's settings as the admin API writes them, key by key.
fn settings(value: serde_json::Value) -> Markup {
    let fields = match value {
        serde_json::Value::Object(map) => map.into_iter().collect::<Vec<_>>(),
        _ => Vec::new(),
    };
    html! {
        dl.settings { @for (k, v) in fields {
            dt { (k) } dd.mono { (match v { serde_json::Value::String(s) => s, other => other.to_string() }) }
        } }
    }
}

/// `GET /console/dealers/{uuid}`: the dealer and its departments.
pub async fn dealer(
    session: Session,
    State(state): State<AppState>,
    Path(segment): Path<String>,
) -> Response {
    let found = async {
        let dealer = find_dealer(&state, &segment).await?;
        let departments = state.store.departments_of(dealer.uuid).await?;
        Ok::<_, ApiError>((dealer, departments))
    };
    let (dealer, departments) = match found.await {
        Ok(found) => found,
        Err(error) => return layout::failure(&session, error),
    };
    let body = html! {
        p.mono { (dealer.uuid) }
        p { a href={ "/console/messages?dealerUuid=" (dealer.uuid) } { "This dealer's messages" } }
        h2 { "Departments" }
        table { tr { th { "Name" } th { "UUID" } th { "Default user" } }
            @for d in &departments { tr {
                td { a href={ "/console/departments/" (d.uuid) } { (d.name) } }
                td.mono { (d.uuid) } td.mono { (d.default_user_uuid) }
            } }
        }
    };
    page(&format!("Dealer {}", dealer.name), &session, body)
}

/// `GET /console/departments/{uuid}`: its settings and users.
pub async fn department(
    session: Session,
    State(state): State<AppState>,
    Path(segment): Path<String>,
) -> Response {
    let found = async {
        let department = find_department(&state, &segment).await?;
        let users = state.store.users_of(department.uuid).await?;
        Ok::<_, ApiError>((department, users))
    };
    let (department, users) = match found.await {
        Ok(found) => found,
        Err(error) => return layout::failure(&session, error),
    };
    let values = serde_json::to_value(&department.settings).unwrap_or_default();
    let body = html! {
        p.mono { (department.uuid) }
        p {
            a href={ "/console/dealers/" (department.dealer_uuid) } { "Its dealer" } " · "
            a href={ "/console/messages?departmentUuid=" (department.uuid) } { "This department's messages" }
        }
        h2 { "Settings" }
        (settings(values))
        h2 { "Users" }
        table { tr { th { "Name" } th { "Email" } th { "Texts" } th { "Emails" } th { "Default" } th { "UUID" } }
            @for u in &users { tr {
                td { (u.first_name) " " (u.last_name) }
                td { (u.email.as_ref().map(|e| e.as_str()).unwrap_or("")) }
                td { (if u.can_text { "yes" } else { "no" }) } td { (if u.can_email { "yes" } else { "no" }) }
                td { (if u.is_default { "yes" } else { "" }) } td.mono { (u.uuid) }
            } }
        }
    };
    page(&format!("Department {}", department.name), &session, body)
}

fn issue_form(session: &Session) -> Markup {
    html! {
        form.stack method="post" action="/console/credentials" {
            (csrf_field(session))
            label { "Level" select name="level" {
                option value="DealerDepartment" { "one department" }
                option value="Dealer" { "every department of a dealer" }
            } }
            label { "Dealer or department UUID" input type="text" name="uuid" required; }
            fieldset { legend { "Scopes" }
                @for s in SCOPES { label.check {
                    input type="checkbox" name="scope" value=(s.as_str()) checked[s != Scope::MessageOverrideOptout];
                    " " (s.as_str())
                } }
            }
            button type="submit" { "Issue credential" }
        }
    }
}

/// `GET /console/credentials?pageToken=`: every credential (never a secret), the issue form.
pub async fn credentials(
    session: Session,
    State(state): State<AppState>,
    Query(params): Query<PageParams>,
) -> Response {
    let (rows, next) = match credential_list(&state, &params).await {
        Ok(found) => found,
        Err(error) => return layout::failure(&session, error),
    };
    let body = html! {
        table.credentials { tr { th { "Username" } th { "Grants" } th { "Created" } th { "Last used" } th { "Revoked" } th {} }
            @for c in &rows { tr {
                td.mono.username { (c.username) }
                td { @for g in &c.grants { div.mono { (g.scope.as_str()) " · " (g.level.as_str()) " " (g.uuid) } } }
                td { (time(c.created_at)) }
                td { (c.last_used_at.map(time).unwrap_or_default()) }
                td { (c.revoked_at.map(time).unwrap_or_default()) }
                td { @if c.revoked_at.is_none() {
                    (action(&session, &format!("/console/credentials/{}/revoke", c.username), "Revoke"))
                } }
            } }
        }
        (next_link("/console/credentials", next))
        h2 { "Issue a credential" }
        (issue_form(&session))
    };
    page("Credentials", &session, body)
}

fn grants(form: &Posted) -> Result<Vec<Grant>, ApiError> {
    let level = form
        .get("level")
        .and_then(Level::parse)
        .ok_or_else(|| ApiError::invalid_request("level: Dealer or DealerDepartment"))?;
    let uuid = form
        .get("uuid")
        .and_then(|u| uuid::Uuid::parse_str(u).ok())
        .ok_or_else(|| ApiError::invalid_request("uuid: a dealer or department UUID"))?;
    let scopes = form
        .all("scope")
        .map(|s| {
            Scope::parse(s)
                .ok_or_else(|| ApiError::invalid_request(format!("scope: {s:?} is not a scope")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if scopes.is_empty() {
        return Err(ApiError::invalid_request("scope: choose at least one"));
    }
    Ok(scopes
        .into_iter()
        .map(|scope| Grant { scope, level, uuid })
        .collect())
}

/// `POST /console/credentials`: the new credential's password and webhook secret, shown on
/// this page only (Herald keeps neither in a form it can show again).
pub async fn issue(State(state): State<AppState>, form: Posted) -> Response {
    let issued = match grants(&form) {
        Ok(grants) => issue_credential(&state, grants).await,
        Err(error) => Err(error),
    };
    let issued = match issued {
        Ok(issued) => issued,
        Err(error) => return layout::failure(&form.session, error),
    };
    let body = html! {
        p { "Copy the password and the webhook secret now: this page is the only place they are shown." }
        dl.settings.secret {
            dt { "Username" } dd.mono id="username" { (issued.username) }
            dt { "Password" } dd.mono id="password" { (issued.password) }
            dt { "Webhook secret" } dd.mono id="webhook-secret" { (issued.webhook_secret) }
        }
        p { a href="/console/credentials" { "Back to the credentials" } }
    };
    page("Credential issued", &form.session, body)
}

/// `POST /console/credentials/{username}/revoke`.
pub async fn revoke(
    State(state): State<AppState>,
    Path(username): Path<String>,
    form: Posted,
) -> Response {
    match crate::api::admin::revoke(&state, &username).await {
        Ok(()) => Redirect::to("/console/credentials").into_response(),
        Err(error) => layout::failure(&form.session, error),
    }
}
