//! The principal reports of RFC 3744 §9: `principal-property-search`
//! (§9.4), which clients use to find colleagues and to list the principals
//! they can see, and `principal-search-property-set` (§9.5), which says what
//! can be searched. Only principals the user may read are found (its own
//! académie, and itself). A match is a substring under `i;unicode-casemap`
//! (RFC 4790 §4.2.3, RFC 5051), as in the national directory; at most
//! [`MAX_RESULTS`] principals are answered, with a 507 response for the
//! request-URI (`DAV:number-of-matches-within-limits`, as RFC 6352 §8.6.2)
//! when there are more or the search stopped at its bound: never a short
//! answer that hides matches.

use http::StatusCode;

use super::error::{conditions, DavError, DavResult};
use super::multistatus::MultiStatus;
use super::path::DavPath;
use super::propfind::{PropfindPlan, PropfindRequest};
use super::property::PropName;
use super::resource::Resource;
use super::response::{multistatus, xml_response, Response};
use super::DavRequest;
use crate::store::PrincipalSearch;
use super::registry::SearchField;
use crate::xml::{Element, XmlWriter, NS_DAV};

/// Most principals one search returns; a directory is searched, not listed.
pub const MAX_RESULTS: i64 = 100;

pub async fn principal_property_search(req: &DavRequest<'_>, root: &Element) -> DavResult<Response> {
    let mut search = PrincipalSearch {
        academie: req.user.academie.clone(),
        always: Some(req.user.id),
        match_all: root.attr("", "test") != Some("anyof"),
        limit: MAX_RESULTS,
        ..Default::default()
    };
    for ps in root.elements().filter(|e| e.is(NS_DAV, "property-search")) {
        let term = ps.child(NS_DAV, "match").map(|m| m.text()).unwrap_or_default();
        let most = req.state.config.max_search_length;
        if term.chars().count() > most {
            return Err(DavError::bad_request(format!("a search match may not be longer than {most} characters")));
        }
        let props = ps.child(NS_DAV, "prop").map(|p| p.elements().collect::<Vec<_>>()).unwrap_or_default();
        for prop in props {
            let searchable = req.state.registry.principal_search().iter().find(|p| prop.is(p.ns, p.name));
            match searchable.map(|p| p.field) {
                Some(SearchField::Name) => search.name_terms.push(term.clone()),
                Some(SearchField::Email) => search.email_terms.push(term.trim_start_matches("mailto:").to_string()),
                // §9.4: a property that cannot be searched.
                None => return Err(DavError::bad_request(format!("cannot search on {{{}}}{}", prop.ns, prop.name))),
            }
        }
    }
    let mut names: Vec<PropName> = root
        .child(NS_DAV, "prop")
        .map(|p| p.elements().map(|e| PropName::new(&e.ns, &e.name)).collect())
        .unwrap_or_default();
    // Some clients (python caldav 3.x) put the properties next to an empty
    // `DAV:prop` instead of inside it; their intent is clear, so honour it.
    let structural = ["prop", "property-search", "apply-to-principal-collection-set"];
    names.extend(
        root.elements()
            .filter(|e| !(e.ns == NS_DAV && structural.contains(&e.name.as_str())))
            .map(|e| PropName::new(&e.ns, &e.name)),
    );
    let plan = PropfindPlan::new(&req.state.registry, PropfindRequest::Prop(names));
    let mut ms = MultiStatus::new();
    let found = req.state.store.search_principals(&search).await?;
    for principal in found.principals {
        let store_path = format!("/principals/{}/", principal.username);
        let resource = Resource::Principal(principal);
        if resource.privileges(req.user).is_empty() {
            continue;
        }
        let groups = plan.properties_of(req, &DavPath::from_store_path(&store_path), &resource).await?;
        ms.propstat_response(&req.href(&store_path), &groups);
    }
    if found.more {
        let target = if req.path.trailing_slash { req.path.collection_path() } else { req.path.object_path() };
        ms.status_error_response(&req.href(&target), StatusCode::INSUFFICIENT_STORAGE, conditions::NUMBER_OF_MATCHES_WITHIN_LIMITS);
    }
    Ok(multistatus(ms.finish()))
}

/// §9.5: the searchable properties, as registered.
pub fn principal_search_property_set(req: &DavRequest<'_>) -> Response {
    let mut w = XmlWriter::new();
    w.root(NS_DAV, "principal-search-property-set");
    for p in req.state.registry.principal_search() {
        let Some(description) = p.description else { continue };
        w.start(NS_DAV, "principal-search-property");
        w.start(NS_DAV, "prop");
        w.empty(p.ns, p.name);
        w.end();
        w.text_element(NS_DAV, "description", description);
        w.end();
    }
    xml_response(StatusCode::OK, w.finish())
}
