//! REPORT (RFC 3253 §3.6): one dispatch on the report's root element.
//! `sync-collection` (RFC 6578) and the principal searches (RFC 3744 §9)
//! belong to the WebDAV core; every other report to the collection type
//! (or the mount) that registered it. Anything else, or a report on a
//! resource that does not support it, is refused with the
//! `DAV:supported-report` precondition.


use super::collection_type::{CollectionType, QName, ReportTarget};
use super::error::{conditions, DavError, DavResult};
use super::multistatus::{Cut, MultiStatus, ObjectData, Pace, RESPONSE_OVERHEAD};
use super::path::DavPath;
use super::propfind::{PropfindPlan, PropfindRequest};
use super::registry::Registry;
use super::property::{PropName, PropValue};
use super::resource::{resolve, HomeSpace, Resource};
use super::response::Response;
use super::{principal_search, sync, DavRequest};
use crate::auth::acl::Privileges;
use crate::store::{Collection, CollectionKind, ObjectMeta};
use crate::xml::{self, Element, NS_DAV};

pub async fn report(req: &DavRequest<'_>) -> DavResult<Response> {
    let resource = resolve(req.state, req.user, &req.path).await?;
    if !resource.exists() {
        return Err(DavError::not_found());
    }
    req.require(&resource, Privileges::READ)?;
    let root = xml::parse(&req.body, xml::XmlLimits::default())?;
    let name = supported_reports(req, &resource)
        .into_iter()
        .find(|(ns, name)| root.is(ns, name))
        .ok_or_else(|| DavError::forbidden_by(conditions::SUPPORTED_REPORT))?;
    match name {
        SYNC_COLLECTION => sync::sync_collection(req, &resource, &root).await,
        PRINCIPAL_PROPERTY_SEARCH => principal_search::principal_property_search(req, &root).await,
        PRINCIPAL_SEARCH_PROPERTY_SET => Ok(principal_search::principal_search_property_set(req)),
        name => match &resource {
            Resource::Mounted(node) => match req.state.registry.mount(node.mount()) {
                Some(mount) => mount.report(name, req, node.as_ref(), &root).await,
                None => Err(DavError::forbidden_by(conditions::SUPPORTED_REPORT)),
            },
            _ => match report_type(req, &resource) {
                Some((t, _)) => t.report(name, req, &resource, &root).await,
                None => Err(DavError::forbidden_by(conditions::SUPPORTED_REPORT)),
            },
        },
    }
}

/// RFC 6578 §3.
const SYNC_COLLECTION: QName = (NS_DAV, "sync-collection");
/// RFC 3744 §9.4.
const PRINCIPAL_PROPERTY_SEARCH: QName = (NS_DAV, "principal-property-search");
/// RFC 3744 §9.5.
const PRINCIPAL_SEARCH_PROPERTY_SET: QName = (NS_DAV, "principal-search-property-set");

/// The collection type whose reports apply to `resource`, and where: a
/// collection of that type, one of its members, or the home holding such
/// collections.
fn report_type<'r>(req: &'r DavRequest<'_>, resource: &Resource) -> Option<(&'r dyn CollectionType, ReportTarget)> {
    let registry = &req.state.registry;
    match resource {
        Resource::Collection { collection, .. } if collection.kind != CollectionKind::Plain => {
            registry.collection_type(collection.kind).map(|t| (t, ReportTarget::Collection))
        }
        Resource::Collection { space, collection } if collection.parent.is_none() => {
            let kind = registry.home_of(*space)?.holds?;
            registry.collection_type(kind).map(|t| (t, ReportTarget::Home))
        }
        Resource::Object { parent, .. } => registry.collection_type(parent.kind).map(|t| (t, ReportTarget::Member)),
        _ => None,
    }
}

/// The reports a resource supports (RFC 3253 §3.1.5 `supported-report-set`):
/// the core's (`sync-collection` on every stored collection, the principal
/// searches on principals and their collection) and those its collection
/// type or its mount registers.
pub fn supported_reports(req: &DavRequest<'_>, resource: &Resource) -> Vec<QName> {
    let mut reports: Vec<QName> = match resource {
        Resource::Root | Resource::PrincipalCollection | Resource::Principal(_) => {
            return vec![PRINCIPAL_PROPERTY_SEARCH, PRINCIPAL_SEARCH_PROPERTY_SET]
        }
        Resource::Mounted(node) => {
            return req.state.registry.mount(node.mount()).map(|m| m.reports(node.as_ref()).to_vec()).unwrap_or_default()
        }
        _ => report_type(req, resource).map(|(t, target)| t.reports(target).to_vec()).unwrap_or_default(),
    };
    if matches!(resource, Resource::Collection { .. }) {
        reports.push(SYNC_COLLECTION);
    }
    reports
}

/// `limit/nresults` of a report (RFC 5323 §5.17 `DAV:limit`, which RFC
/// 6578 §6.1 and RFC 4791 use; RFC 6352 §8.6.1 defines the same in the
/// CardDAV namespace): the first `limit` child of `root` in one of
/// `namespaces`, with its `nresults` (in whichever namespace clients put
/// it).
pub fn parse_limit(root: &Element, namespaces: &[&str]) -> DavResult<Option<usize>> {
    let Some(limit) = namespaces.iter().find_map(|ns| root.child(ns, "limit")) else { return Ok(None) };
    let n = limit
        .elements()
        .find(|e| e.name == "nresults")
        .map(|n| n.text())
        .ok_or_else(|| DavError::bad_request("limit needs nresults"))?;
    n.trim().parse::<usize>().map(Some).map_err(|_| DavError::bad_request(format!("invalid nresults {n:?}")))
}

/// The properties a report asks for (RFC 4791 §9.5, RFC 6352 §10.7): the
/// report's own data property (`calendar-data`, `address-data`), parsed by
/// its protocol, and every other one through the PROPFIND machinery,
/// planned once for the whole report.
pub struct ReportProps<'r, D> {
    pub plan: PropfindPlan<'r>,
    pub data: Option<D>,
}

impl<'r, D> ReportProps<'r, D> {
    /// From the `DAV:prop`, `DAV:allprop` or `DAV:propname` child of a
    /// report's `root`; the element `data_name` is parsed by `parse_data`.
    pub fn parse(
        registry: &'r Registry,
        root: &Element,
        data_name: QName,
        parse_data: impl Fn(&Element) -> DavResult<D>,
    ) -> DavResult<ReportProps<'r, D>> {
        let mut data = None;
        let request = if let Some(prop) = root.child(NS_DAV, "prop") {
            let mut names = Vec::new();
            for e in prop.elements() {
                if e.is(data_name.0, data_name.1) {
                    data = Some(parse_data(e)?);
                } else {
                    names.push(PropName::new(&e.ns, &e.name));
                }
            }
            PropfindRequest::Prop(names)
        } else if root.child(NS_DAV, "propname").is_some() {
            PropfindRequest::PropName
        } else if root.child(NS_DAV, "allprop").is_some() {
            PropfindRequest::AllProp(Vec::new())
        } else {
            PropfindRequest::Prop(Vec::new())
        };
        Ok(ReportProps { plan: PropfindPlan::new(registry, request), data })
    }

    /// Whether the objects' bytes are needed (the data property is asked).
    pub fn needs_content(&self) -> bool {
        self.data.is_some()
    }
}

/// Append the `response` of one object of a report: the properties asked
/// for (`plan`) and its generated data in `data_name` (`calendar-data`,
/// `address-data`).
#[allow(clippy::too_many_arguments)]
pub async fn object_response(
    req: &DavRequest<'_>,
    ms: &mut MultiStatus,
    space: HomeSpace,
    collection: &Collection,
    meta: ObjectMeta,
    data_name: QName,
    data: ObjectData,
    plan: &PropfindPlan<'_>,
) -> DavResult<()> {
    let store_path = format!("{}{}", collection.path, meta.name);
    let path = DavPath::from_store_path(&store_path);
    let resource = Resource::Object { space, parent: collection.clone(), meta };
    let mut groups = plan.properties_of(req, &path, &resource).await?;
    let name = PropName::new(data_name.0, data_name.1);
    match data {
        ObjectData::NotAsked => {}
        ObjectData::Missing => groups[1].props.push((name, PropValue::Empty)),
        ObjectData::Value(v) => groups[0].props.push((name, v)),
    }
    ms.propstat_response(&req.href(&store_path), &groups);
    Ok(())
}

/// The matches of one evaluation of a query (`calendar-query`,
/// `addressbook-query`), collected within the query's limits: what is left
/// of the client's `DAV:limit` and of the answer's size budget.
pub struct Matches {
    pub matched: Vec<(ObjectMeta, ObjectData)>,
    /// Why the evaluation stopped early, if it did.
    pub cut: Option<Cut>,
    most_matches: Option<usize>,
    bytes_left: usize,
}

impl Matches {
    pub fn new(most_matches: Option<usize>, most_bytes: usize) -> Matches {
        Matches { matched: Vec::new(), cut: None, most_matches, bytes_left: most_bytes }
    }

    /// Offer a match; `render` makes its data, given the bytes left for
    /// it. False when the evaluation must stop (`cut` says why).
    pub fn offer(&mut self, meta: ObjectMeta, render: impl FnOnce(usize) -> Result<ObjectData, Cut>) -> bool {
        if self.most_matches.is_some_and(|m| self.matched.len() >= m) {
            return self.stop(Cut::Limit);
        }
        let room = self.bytes_left.saturating_sub(RESPONSE_OVERHEAD + meta.name.len());
        match render(room) {
            Ok(data) if data.size() <= room => {
                self.bytes_left = room - data.size();
                self.matched.push((meta, data));
                true
            }
            Ok(_) => self.stop(Cut::Bytes),
            Err(cut) => self.stop(cut),
        }
    }

    /// Stop the evaluation for `cut`; always false.
    pub fn stop(&mut self, cut: Cut) -> bool {
        self.cut = Some(cut);
        false
    }
}

/// Write the responses of `matches` (members of `collection`) into `ms`,
/// checking after each that the answer stays within `max_report_bytes`
/// (the estimate did not count the other properties asked for): a
/// response that does not fit is taken back. Returns how many were
/// written and why the answer stops, if it does.
#[allow(clippy::too_many_arguments)]
pub async fn write_matches(
    req: &DavRequest<'_>,
    ms: &mut MultiStatus,
    space: HomeSpace,
    collection: &Collection,
    data_name: QName,
    plan: &PropfindPlan<'_>,
    matches: Matches,
) -> DavResult<(usize, Option<Cut>)> {
    let most = req.state.config.max_report_bytes;
    let mut pace = Pace::default();
    let mut written = 0;
    for (meta, data) in matches.matched {
        let mark = ms.len();
        object_response(req, ms, space, collection, meta, data_name, data, plan).await?;
        if ms.len() > most {
            ms.truncate(mark);
            return Ok((written, Some(Cut::Bytes)));
        }
        written += 1;
        pace.step(ms).await;
    }
    Ok((written, matches.cut))
}
