//! `almanach import`: migrating the exports of other servers — one big
//! `.ics` (or a directory of them) into a calendar, a multi-card `.vcf`
//! into an address book.
//!
//! 1. Each file is cut into resources ([`icalendar::split`]: one per UID,
//!    recurrence overrides together, with the VTIMEZONEs they use;
//!    [`vcard::split`]: one per card), each remembering its first line.
//! 2. Each resource is validated and indexed by the code PUT uses
//!    (`caldav::put::validate`, `carddav::put::validate`), on every core.
//! 3. A resource whose UID the collection already holds is *skipped* when
//!    the stored bytes are the same (a re-run imports nothing twice), and
//!    *kept* as stored when they differ (the agent may have changed it
//!    since the first import; `--replace` replaces it instead, only over
//!    the version read).
//! 4. The rest is written through the store's batch path
//!    ([`ObjectStore::apply_batch`]), [`CHUNK`] resources per transaction,
//!    each checked as a PUT is (UID unique in the collection, quota,
//!    locks); when a batch is refused, its resources are written one by
//!    one, so that one bad resource refuses only itself.
//!
//! It is a migration, not a meeting: the scheduling hook of PUT
//! (`scheduling::implicit`, which sends invitations and makes visio rooms)
//! is never called and no job is queued; a meeting of the owner is stored
//! as a scheduling object with a schedule tag
//! (`scheduling::implicit::imported_schedule_tag`), so that the owner's
//! next change is sent as a change.

pub mod icalendar;
mod lines;
pub mod vcard;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::dav::collection_type::ResourceLimits;
use crate::dav::error::{DavError, Refusal};
use crate::dav::resource::{ensure_home, HomeSpace};
use crate::itip::AddressSet;
use crate::store::{
    etag_for, BatchOutcome, BatchWrite, Collection, CollectionKind, DeadProperty, LockGuard,
    NewCollection, ObjectIndex, ObjectQuery, Principal, PutObject, StoreError, WriteBatch,
    WriteCondition,
};

/// Resources per transaction: large enough that a transaction's fixed cost
/// (the collection's revision, the change log, the commit) is spread thin,
/// small enough that a refused batch costs little to redo one by one.
pub const CHUNK: usize = 500;

/// A resource cut from a file, before validation.
#[derive(Debug, Clone)]
pub struct SplitItem {
    /// The line its first component or vCard starts on (1-based).
    pub line: usize,
    pub uid: Option<String>,
    pub content: Vec<u8>,
}

/// Something of a file that is no resource (stray lines, a component
/// without END).
#[derive(Debug, Clone)]
pub struct Problem {
    pub line: usize,
    pub uid: Option<String>,
    pub reason: String,
}

/// What is imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportKind {
    /// `.ics` files into a calendar.
    Calendar,
    /// `.vcf` files into an address book.
    Contacts,
}

impl ImportKind {
    fn space(self) -> HomeSpace {
        match self {
            ImportKind::Calendar => crate::caldav::collection::CALENDAR_HOMES,
            ImportKind::Contacts => crate::carddav::collection::ADDRESSBOOK_HOMES,
        }
    }

    fn collection_kind(self) -> CollectionKind {
        match self {
            ImportKind::Calendar => CollectionKind::Calendar,
            ImportKind::Contacts => CollectionKind::AddressBook,
        }
    }

    /// The file extensions read from a directory, and the member names'.
    fn extensions(self) -> (&'static [&'static str], &'static str) {
        match self {
            ImportKind::Calendar => (&["ics", "ical", "ifb", "icalendar"], ".ics"),
            ImportKind::Contacts => (&["vcf", "vcard"], ".vcf"),
        }
    }

    fn split(self, text: &[u8]) -> (Vec<SplitItem>, Vec<Problem>) {
        match self {
            ImportKind::Calendar => icalendar::split(text),
            ImportKind::Contacts => vcard::split(text),
        }
    }
}

/// One import: whose, into which collection, from which files.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    pub kind: ImportKind,
    pub username: String,
    /// The collection's name in the user's home (created when missing);
    /// None: the home's default calendar or address book.
    pub collection: Option<String>,
    /// Replace the stored version of a UID whose bytes differ.
    pub replace: bool,
    /// Files, or directories read recursively for files of the kind's
    /// extensions.
    pub paths: Vec<PathBuf>,
}

/// Where an item of the import came from, and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Noted {
    pub file: String,
    pub line: usize,
    pub uid: Option<String>,
    pub reason: String,
}

impl std::fmt::Display for Noted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)?;
        if let Some(uid) = &self.uid {
            write!(f, " (UID {uid})")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// What an import did.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// The collection imported into (its store path).
    pub collection: String,
    /// Resources found in the files.
    pub items: u64,
    /// Created.
    pub imported: u64,
    /// Replaced a differing stored version (`--replace`).
    pub replaced: u64,
    /// Already stored with the same bytes.
    pub skipped: u64,
    /// Stored with other bytes, kept as stored (without `--replace`).
    pub kept: Vec<Noted>,
    /// Not imported, with the reason.
    pub refused: Vec<Noted>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("no such user: {0}")]
    UnknownUser(String),
    #[error("invalid collection name {0:?}: one path segment expected")]
    CollectionName(String),
    #[error("{0} exists and is not a {1}")]
    WrongKind(String, &'static str),
    #[error("cannot read {0}: {1}")]
    Read(PathBuf, std::io::Error),
    #[error("no {0} file in {1}")]
    NoFiles(&'static str, PathBuf),
    #[error("{0}")]
    Dav(#[from] DavError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A resource on its way in.
struct Pending {
    file: usize,
    line: usize,
    uid: Option<String>,
    content: Bytes,
}

/// What validation made of a resource: its content type and index.
type Checked = Result<(String, ObjectIndex), Refusal>;

/// Run `request`; `progress` advances by one per resource (its length is
/// set once the files are cut).
pub async fn import(
    state: &AppState,
    request: &ImportRequest,
    progress: &indicatif::ProgressBar,
) -> Result<Summary, ImportError> {
    let store = &state.store;
    let owner = store
        .principal_by_username(&request.username)
        .await?
        .ok_or_else(|| ImportError::UnknownUser(request.username.clone()))?;
    let collection = target(state, &owner, request).await?;
    let files = files_of(request)?;
    let mut summary = Summary {
        collection: collection.path.clone(),
        ..Default::default()
    };
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    let pending = read_all(request.kind, &files, &names, &mut summary)?;
    summary.items = pending.len() as u64 + summary.refused.len() as u64;
    progress.set_length(pending.len() as u64);
    let mut writer = Writer::new(state, request, &owner, &collection, names).await?;
    let mut pending = pending.into_iter();
    loop {
        let chunk: Vec<Pending> = pending.by_ref().take(CHUNK).collect();
        if chunk.is_empty() {
            break;
        }
        let n = chunk.len() as u64;
        let checked = validate_all(
            request.kind,
            &collection,
            ResourceLimits::of(&state.config),
            chunk,
        )
        .await;
        writer.write_chunk(checked, &mut summary).await?;
        progress.inc(n);
    }
    progress.finish_and_clear();
    // In file order, whichever step refused them.
    let order = |n: &Noted| (n.file.clone(), n.line);
    summary.refused.sort_by_key(order);
    summary.kept.sort_by_key(order);
    Ok(summary)
}

/// The collection imported into, created (with the user's home) when
/// missing.
async fn target(
    state: &AppState,
    owner: &Principal,
    request: &ImportRequest,
) -> Result<Collection, ImportError> {
    let kind = request.kind.collection_kind();
    let space = request.kind.space();
    let home = ensure_home(state, owner, space).await?;
    let default = state
        .registry
        .home_of(space)
        .and_then(|h| h.default_collections.iter().find(|d| d.kind == kind))
        .map(|d| d.name.to_string());
    let name = match (&request.collection, default) {
        (Some(n), _) => n.clone(),
        (None, Some(d)) => d,
        (None, None) => return Err(ImportError::CollectionName(String::new())),
    };
    if name.is_empty()
        || name.contains('/')
        || name == "."
        || name == ".."
        || name.chars().any(char::is_control)
    {
        return Err(ImportError::CollectionName(name));
    }
    let path = format!("{}{name}/", home.path);
    let what = match kind {
        CollectionKind::Calendar => "calendar",
        _ => "address book",
    };
    if let Some(c) = state.store.collection_by_path(&path).await? {
        return if c.kind == kind {
            Ok(c)
        } else {
            Err(ImportError::WrongKind(path, what))
        };
    }
    let components = state
        .registry
        .collection_type(kind)
        .map(|t| {
            t.default_member_types()
                .iter()
                .map(|c| c.to_string())
                .collect()
        })
        .unwrap_or_default();
    let displayname =
        crate::xml::Element::with_text(crate::xml::NS_DAV, "displayname", &name).to_fragment();
    let created = state
        .store
        .create_collection(NewCollection {
            owner: owner.id,
            parent: Some(home.id),
            path: path.clone(),
            kind,
            components,
            properties: vec![DeadProperty {
                namespace: crate::xml::NS_DAV.into(),
                name: "displayname".into(),
                value: displayname,
            }],
            guard: LockGuard::none(),
            quota_limit: None,
        })
        .await;
    match created {
        Ok(c) => Ok(c),
        // Created meanwhile (by the owner's client).
        Err(StoreError::AlreadyExists) => match state.store.collection_by_path(&path).await? {
            Some(c) if c.kind == kind => Ok(c),
            _ => Err(ImportError::WrongKind(path, what)),
        },
        Err(e) => Err(e.into()),
    }
}

/// The files named, directories read recursively (sorted, for the same
/// order on every run).
fn files_of(request: &ImportRequest) -> Result<Vec<PathBuf>, ImportError> {
    let (extensions, _) = request.kind.extensions();
    let mut out = Vec::new();
    for path in &request.paths {
        let meta = std::fs::metadata(path).map_err(|e| ImportError::Read(path.clone(), e))?;
        if !meta.is_dir() {
            out.push(path.clone());
            continue;
        }
        let before = out.len();
        walk(path, extensions, &mut out)?;
        if out.len() == before {
            return Err(ImportError::NoFiles(extensions[0], path.clone()));
        }
    }
    Ok(out)
}

fn walk(dir: &Path, extensions: &[&str], out: &mut Vec<PathBuf>) -> Result<(), ImportError> {
    let read = std::fs::read_dir(dir).map_err(|e| ImportError::Read(dir.to_path_buf(), e))?;
    let mut entries: Vec<PathBuf> = read.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(&path, extensions, out)?;
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| extensions.iter().any(|x| x.eq_ignore_ascii_case(e)))
        {
            out.push(path);
        }
    }
    Ok(())
}

/// Cut every file; what is no resource, and a UID met again in a later
/// file (or card), is refused with its line.
fn read_all(
    kind: ImportKind,
    files: &[PathBuf],
    names: &[String],
    summary: &mut Summary,
) -> Result<Vec<Pending>, ImportError> {
    let mut pending = Vec::new();
    let mut first_seen: HashMap<String, (usize, usize)> = HashMap::new();
    for (file, path) in files.iter().enumerate() {
        let text = std::fs::read(path).map_err(|e| ImportError::Read(path.clone(), e))?;
        let (items, problems) = kind.split(&text);
        for p in problems {
            summary.refused.push(Noted {
                file: names[file].clone(),
                line: p.line,
                uid: p.uid,
                reason: p.reason,
            });
        }
        for item in items {
            if let Some(uid) = &item.uid {
                if let Some((f, l)) = first_seen.get(uid) {
                    let reason =
                        format!("the UID is also at {}:{l}, imported from there", names[*f]);
                    summary.refused.push(Noted {
                        file: names[file].clone(),
                        line: item.line,
                        uid: item.uid.clone(),
                        reason,
                    });
                    continue;
                }
                first_seen.insert(uid.clone(), (file, item.line));
            }
            pending.push(Pending {
                file,
                line: item.line,
                uid: item.uid,
                content: Bytes::from(item.content),
            });
        }
    }
    Ok(pending)
}

/// Validate a chunk with the code of PUT, on every core.
async fn validate_all(
    kind: ImportKind,
    collection: &Collection,
    limits: ResourceLimits,
    chunk: Vec<Pending>,
) -> Vec<(Pending, Checked)> {
    let components = Arc::new(collection.components.clone());
    let check = move |body: &[u8]| -> Checked {
        match kind {
            ImportKind::Calendar => crate::caldav::put::validate(limits, None, &components, body)
                .map(|p| (p.content_type, p.index)),
            ImportKind::Contacts => {
                crate::carddav::put::validate(limits, None, body).map(|p| (p.content_type, p.index))
            }
        }
    };
    tokio::task::spawn_blocking(move || {
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, chunk.len().max(1));
        let per = chunk.len().div_ceil(threads).max(1);
        let results: Vec<Checked> = std::thread::scope(|s| {
            let parts: Vec<_> = chunk
                .chunks(per)
                .map(|part| s.spawn(|| part.iter().map(|p| check(&p.content)).collect::<Vec<_>>()))
                .collect();
            parts
                .into_iter()
                .flat_map(|h| h.join().expect("validation does not panic"))
                .collect()
        });
        chunk.into_iter().zip(results).collect()
    })
    .await
    .expect("validation task")
}

/// What the collection holds of a UID.
struct Stored {
    name: String,
    etag: String,
}

/// Writes checked resources into the collection, keeping track of what it
/// holds.
struct Writer<'a> {
    state: &'a AppState,
    owner: &'a Principal,
    collection: &'a Collection,
    replace: bool,
    extension: &'static str,
    quota: i64,
    files: Vec<String>,
    by_uid: HashMap<String, Stored>,
    names: HashSet<String>,
    /// The owner's calendar user addresses (calendars only): which
    /// imported events are the owner's meetings.
    me: Option<AddressSet>,
}

/// One write of a chunk, with where it came from.
struct Planned {
    file: usize,
    line: usize,
    uid: String,
    put: PutObject,
    replaces: bool,
}

impl<'a> Writer<'a> {
    async fn new(
        state: &'a AppState,
        request: &ImportRequest,
        owner: &'a Principal,
        collection: &'a Collection,
        files: Vec<String>,
    ) -> Result<Writer<'a>, ImportError> {
        let mut by_uid = HashMap::new();
        let mut names = HashSet::new();
        for object in state
            .store
            .query_objects(collection.id, &ObjectQuery::default())
            .await?
        {
            if let Some(uid) = object.index.uid {
                by_uid.insert(
                    uid,
                    Stored {
                        name: object.meta.name.clone(),
                        etag: object.meta.etag,
                    },
                );
            }
            names.insert(object.meta.name);
        }
        let me = match request.kind {
            ImportKind::Calendar => {
                Some(crate::scheduling::address::address_set(state, owner).await?)
            }
            ImportKind::Contacts => None,
        };
        Ok(Writer {
            state,
            owner,
            collection,
            replace: request.replace,
            extension: request.kind.extensions().1,
            quota: owner
                .quota_bytes
                .unwrap_or(state.config.default_quota_bytes),
            files,
            by_uid,
            names,
            me,
        })
    }

    fn noted(
        &self,
        file: usize,
        line: usize,
        uid: Option<String>,
        reason: impl Into<String>,
    ) -> Noted {
        Noted {
            file: self.files[file].clone(),
            line,
            uid,
            reason: reason.into(),
        }
    }

    async fn write_chunk(
        &mut self,
        checked: Vec<(Pending, Checked)>,
        summary: &mut Summary,
    ) -> Result<(), ImportError> {
        let mut planned = Vec::with_capacity(checked.len());
        for (item, result) in checked {
            let (content_type, index) = match result {
                Ok(ok) => ok,
                Err(refusal) => {
                    summary.refused.push(self.noted(
                        item.file,
                        item.line,
                        item.uid,
                        refusal.to_string(),
                    ));
                    continue;
                }
            };
            let uid = index.uid.clone().unwrap_or_default();
            if let Some(p) = self.plan(item, uid, content_type, index, summary).await? {
                planned.push(p);
            }
        }
        if planned.is_empty() {
            return Ok(());
        }
        let batch = WriteBatch {
            writes: planned
                .iter()
                .map(|p| BatchWrite::Put(p.put.clone()))
                .collect(),
            ..Default::default()
        };
        match self.state.store.apply_batch(batch).await {
            Ok(result) => {
                for (p, outcome) in planned.into_iter().zip(result.outcomes) {
                    if let BatchOutcome::Put(o) = outcome {
                        self.done(p, o.meta.etag, summary);
                    }
                }
                Ok(())
            }
            Err(e) if refuses_item(&e) => {
                // One of them is refused: each on its own, so that it
                // refuses only itself.
                for p in planned {
                    match self.state.store.put_object(p.put.clone()).await {
                        Ok(o) => self.done(p, o.meta.etag, summary),
                        Err(e) if refuses_item(&e) => {
                            let reason = self.store_refusal(&e);
                            summary
                                .refused
                                .push(self.noted(p.file, p.line, Some(p.uid), reason));
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The write of a valid resource, or None when it is skipped, kept or
    /// refused (noted in `summary`).
    async fn plan(
        &mut self,
        item: Pending,
        uid: String,
        content_type: String,
        index: ObjectIndex,
        summary: &mut Summary,
    ) -> Result<Option<Planned>, ImportError> {
        let etag = etag_for(&item.content);
        let (name, condition, replaces) = match self.by_uid.get(&uid) {
            Some(stored) if stored.etag == etag => {
                summary.skipped += 1;
                return Ok(None);
            }
            Some(stored) if !self.replace => {
                let reason = format!(
                    "kept {}: the stored version differs (--replace replaces it)",
                    stored.name
                );
                summary
                    .kept
                    .push(self.noted(item.file, item.line, Some(uid), reason));
                return Ok(None);
            }
            Some(stored) => (
                stored.name.clone(),
                WriteCondition::ETagMatches(stored.etag.clone()),
                true,
            ),
            None => match member_name(&uid, self.extension, &self.names) {
                Some(name) => (name, WriteCondition::MustNotExist, false),
                None => {
                    summary.refused.push(self.noted(
                        item.file,
                        item.line,
                        Some(uid),
                        "no free member name for this UID",
                    ));
                    return Ok(None);
                }
            },
        };
        let schedule_tag = match &self.me {
            Some(me) => match crate::scheduling::implicit::imported_schedule_tag(me, &item.content)
            {
                Ok(tag) => tag,
                Err(refusal) => {
                    summary.refused.push(self.noted(
                        item.file,
                        item.line,
                        Some(uid),
                        refusal.to_string(),
                    ));
                    return Ok(None);
                }
            },
            None => None,
        };
        if schedule_tag.is_some() {
            if let Some(elsewhere) = self.meeting_elsewhere(&uid, &name).await? {
                // RFC 6638 §3.2.4.1: one scheduling object resource per UID
                // in a calendar user's calendars.
                let reason = format!("unique-scheduling-object-resource: the UID is already a meeting at {elsewhere}");
                summary
                    .refused
                    .push(self.noted(item.file, item.line, Some(uid), reason));
                return Ok(None);
            }
        }
        self.names.insert(name.clone());
        let put = PutObject {
            collection: self.collection.id,
            collection_path: self.collection.path.clone(),
            name,
            content_type,
            content: item.content,
            condition,
            quota_limit: Some(self.quota),
            guard: LockGuard::none(),
            index,
            unique_uid: true,
            enqueue: Vec::new(),
            schedule_tag,
        };
        Ok(Some(Planned {
            file: item.file,
            line: item.line,
            uid,
            put,
            replaces,
        }))
    }

    /// The path of another scheduling object of the owner with this UID.
    async fn meeting_elsewhere(
        &self,
        uid: &str,
        name: &str,
    ) -> Result<Option<String>, ImportError> {
        let held = self
            .state
            .store
            .calendar_objects_by_uid(self.owner.id, uid)
            .await?;
        Ok(held
            .into_iter()
            .find(|(c, m)| {
                m.schedule_tag.is_some() && !(c.id == self.collection.id && m.name == name)
            })
            .map(|(c, m)| format!("{}{}", c.path, m.name)))
    }

    fn done(&mut self, p: Planned, etag: String, summary: &mut Summary) {
        if p.replaces {
            summary.replaced += 1;
        } else {
            summary.imported += 1;
        }
        self.by_uid.insert(
            p.uid,
            Stored {
                name: p.put.name,
                etag,
            },
        );
    }

    /// A store refusal as PUT would name it.
    fn store_refusal(&self, e: &StoreError) -> String {
        match e {
            StoreError::UidConflict { name } => format!(
                "no-uid-conflict: the UID is held by {}{name}",
                self.collection.path
            ),
            StoreError::QuotaExceeded => "quota-not-exceeded: the owner's quota is full".into(),
            StoreError::PreconditionFailed => {
                "changed or created meanwhile by a client (run the import again)".into()
            }
            StoreError::AlreadyExists => "a collection has this member name".into(),
            StoreError::Locked { root } => format!("locked: {root} is locked (LOCK) by a client"),
            other => other.to_string(),
        }
    }
}

/// Whether a store error refuses a write rather than the whole import.
fn refuses_item(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::UidConflict { .. }
            | StoreError::QuotaExceeded
            | StoreError::PreconditionFailed
            | StoreError::AlreadyExists
            | StoreError::Locked { .. }
            | StoreError::Invalid(_)
    )
}

/// The member name of a new resource: `UID.ics` when the UID is a safe
/// path segment, else a digest of the UID (the same on every run); None
/// when both are taken by other UIDs.
fn member_name(uid: &str, extension: &str, taken: &HashSet<String>) -> Option<String> {
    let safe = !uid.is_empty()
        && uid.len() <= 200
        && !uid.starts_with('.')
        && uid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.@+=".contains(&b));
    let digest = format!(
        "{}{extension}",
        &hex::encode(Sha256::digest(uid.as_bytes()))[..32]
    );
    [safe.then(|| format!("{uid}{extension}")), Some(digest)]
        .into_iter()
        .flatten()
        .find(|n| !taken.contains(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_names() {
        let mut taken = HashSet::new();
        assert_eq!(
            member_name("abc-1@x.fr", ".ics", &taken).as_deref(),
            Some("abc-1@x.fr.ics")
        );
        let odd = member_name("a/b c", ".ics", &taken).unwrap();
        assert!(odd.len() == 36 && odd.ends_with(".ics") && !odd.contains('/'));
        taken.insert("abc.vcf".to_string());
        assert_ne!(
            member_name("abc", ".vcf", &taken).as_deref(),
            Some("abc.vcf")
        );
    }
}
