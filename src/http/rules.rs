//! What a route needs, as declared with it in `routes::api!`: the permission
//! the key must hold and the operator right besides it. `guard` wraps every
//! declared route: it authenticates and checks the permission before the
//! handler runs — before a body is read — so a key that may not call an
//! endpoint never gets to send it anything.

use actix_web::HttpMessage;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

use crate::auth::principal::authenticate;
use crate::metrics::RoutePattern;
use crate::types::Permission;

/// The operator right an operation needs besides its permission (SPEC §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requires {
    None,
    /// Any valid key or console session, with no permission or right besides.
    Authenticated,
    Administrators,
    ViewVaultSection,
    ChangeVaultSection,
    /// Administrators may read every section's metadata and authorizations.
    ViewOrAdministrators,
    /// Administrators may manage any section's authorizations.
    ChangeOrAdministrators,
    /// A list that shows only what the caller may view.
    Filtered,
}

impl Requires {
    /// As the OpenAPI extension `x-coffre-requires` writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Requires::None => "none",
            Requires::Authenticated => "authenticated",
            Requires::Administrators => "Administrators",
            Requires::ViewVaultSection => "ViewVaultSection",
            Requires::ChangeVaultSection => "ChangeVaultSection",
            Requires::ViewOrAdministrators => "ViewVaultSection or Administrators",
            Requires::ChangeOrAdministrators => "ChangeVaultSection or Administrators",
            Requires::Filtered => "filtered",
        }
    }

    /// The same, in words, for the operation's description.
    pub fn sentence(self) -> &'static str {
        match self {
            Requires::None => "No operator right is needed besides the permission.",
            Requires::Authenticated => {
                "Any valid API key (or console session) may call it; no permission or operator \
                 right is needed."
            }
            Requires::Administrators => {
                "The key's operator must be a member of Administrators (403 NotAdministrator otherwise)."
            }
            Requires::ViewVaultSection => {
                "The key's operator must hold ViewVaultSection on the section, directly or through \
                 a group; a section it cannot view, and its items, answer 404."
            }
            Requires::ChangeVaultSection => {
                "The key's operator must hold ChangeVaultSection on the section, directly or \
                 through a group: 404 if it cannot even view the section, 403 \
                 ChangeVaultSectionRequired if it can only view it."
            }
            Requires::ViewOrAdministrators => {
                "The key's operator must hold ViewVaultSection on the section or be a member of \
                 Administrators (404 otherwise)."
            }
            Requires::ChangeOrAdministrators => {
                "The key's operator must hold ChangeVaultSection on the section or be a member of \
                 Administrators (404 if it can neither view the section nor administer, 403 \
                 ChangeVaultSectionRequired if it can only view it)."
            }
            Requires::Filtered => {
                "The list holds only what the key's operator may view (sections it holds \
                 ViewVaultSection on, directly or through a group)."
            }
        }
    }
}

/// What one route needs.
#[derive(Debug, Clone, Copy)]
pub struct RouteRule {
    /// `None`: a public route (no key at all) unless `requires` says otherwise.
    pub permission: Option<Permission>,
    pub requires: Requires,
}

impl RouteRule {
    /// Public routes (`/health`, the API description) take no key.
    pub fn needs_key(self) -> bool {
        self.permission.is_some() || self.requires != Requires::None
    }
}

/// Authenticates and checks the route's permission, then hands the
/// `Principal` to the handler through the request's extensions. Also marks
/// the request with its route's declared path pattern, for the metrics.
pub async fn guard(
    rule: RouteRule,
    pattern: &'static str,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    req.extensions_mut().insert(RoutePattern(pattern));
    if rule.needs_key() {
        match authenticate(req.request()).and_then(|p| p.for_route(rule)) {
            Ok(principal) => {
                req.extensions_mut().insert(principal);
            }
            Err(e) => return Ok(req.error_response(e)),
        }
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}
