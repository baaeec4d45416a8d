//! Mapping a request path to the resource it names, and the URL layout:
//!
//! ```text
//! /                              server root
//! /principals/                   principal collection
//! /principals/NAME/              a principal (RFC 3744 §2)
//! /files/  /calendars/  /addressbooks/          namespace roots
//! /files/NAME/…                  a user's plain WebDAV home and below
//! /calendars/NAME/…              calendar home (CalDAV)
//! /addressbooks/NAME/…           address book home (CardDAV)
//! /directory/                    the national directory (read-only, CardDAV)
//! ```
//!
//! Homes are created the first time their owner reaches them. A path below
//! another principal's home that the user has no privilege on resolves to
//! 404, so existence is not revealed across owners or académies.

use crate::auth::acl::{self, Privileges, Target};
use crate::store::{
    Collection, CollectionKind, DeadProperty, DirectoryEntry, LockGuard, NewCollection, ObjectMeta, Principal, SharedStore,
    StoreError, StoreResult,
};
use crate::xml::NS_DAV;

use super::error::{DavError, DavResult};
use super::path::DavPath;

/// The top-level trees that hold per-user homes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HomeSpace {
    Files,
    Calendars,
    AddressBooks,
}

impl HomeSpace {
    pub const ALL: [HomeSpace; 3] = [HomeSpace::Files, HomeSpace::Calendars, HomeSpace::AddressBooks];

    pub fn segment(self) -> &'static str {
        match self {
            HomeSpace::Files => "files",
            HomeSpace::Calendars => "calendars",
            HomeSpace::AddressBooks => "addressbooks",
        }
    }

    pub fn parse(seg: &str) -> Option<HomeSpace> {
        HomeSpace::ALL.into_iter().find(|h| h.segment() == seg)
    }

    pub fn home_path(self, username: &str) -> String {
        format!("/{}/{}/", self.segment(), username)
    }
}

#[derive(Debug, Clone)]
pub enum Resource {
    Root,
    PrincipalCollection,
    Principal(Principal),
    HomeSpaceRoot(HomeSpace),
    Collection { space: HomeSpace, collection: Collection },
    Object { space: HomeSpace, parent: Collection, meta: ObjectMeta },
    /// Nothing is mapped at this path; `parent` is the collection that would
    /// contain it, when that exists.
    Unmapped { space: HomeSpace, owner: i64, parent: Option<Collection> },
    /// The national directory gateway (`/directory/`, see
    /// [`crate::carddav::directory`]).
    Directory,
    /// The generated card of one account in the directory.
    DirectoryCard(Box<DirectoryEntry>),
}

impl Resource {
    pub fn is_collection(&self) -> bool {
        !matches!(self, Resource::Object { .. } | Resource::Unmapped { .. } | Resource::DirectoryCard(_))
    }

    pub fn exists(&self) -> bool {
        !matches!(self, Resource::Unmapped { .. })
    }

    /// The store path: collections end with `/`.
    pub fn store_path(&self, path: &DavPath) -> String {
        if self.is_collection() {
            path.collection_path()
        } else {
            path.object_path()
        }
    }

    /// What the user may do here (RFC 3744), from the one authorisation module.
    pub fn privileges(&self, user: &Principal) -> Privileges {
        let target = match self {
            Resource::Root | Resource::PrincipalCollection | Resource::HomeSpaceRoot(_) => Target::ServerNode,
            Resource::Principal(p) => Target::PrincipalRecord(p),
            Resource::Collection { collection, .. } => Target::OwnedBy(collection.owner),
            Resource::Object { parent, .. } => Target::OwnedBy(parent.owner),
            Resource::Unmapped { owner, .. } => Target::OwnedBy(*owner),
            Resource::Directory | Resource::DirectoryCard(_) => Target::NationalDirectory,
        };
        acl::privileges(user, target)
    }

    pub fn space(&self) -> Option<HomeSpace> {
        match self {
            Resource::HomeSpaceRoot(s)
            | Resource::Collection { space: s, .. }
            | Resource::Object { space: s, .. }
            | Resource::Unmapped { space: s, .. } => Some(*s),
            _ => None,
        }
    }

    /// Plain files and collections may be created only in the `/files/`
    /// homes; calendar and address-book homes hold only CalDAV/CardDAV
    /// collections.
    pub fn require_plain_files(&self) -> DavResult<()> {
        match self.space() {
            Some(HomeSpace::Files) => Ok(()),
            Some(HomeSpace::Calendars) => Err(DavError::forbidden("calendar homes hold only calendar collections")),
            Some(HomeSpace::AddressBooks) => Err(DavError::forbidden("address book homes hold only address books")),
            None => Err(DavError::status(http::StatusCode::METHOD_NOT_ALLOWED)),
        }
    }

    /// The owning principal id, for owned resources.
    pub fn owner(&self) -> Option<i64> {
        match self {
            Resource::Collection { collection, .. } => Some(collection.owner),
            Resource::Object { parent, .. } => Some(parent.owner),
            Resource::Unmapped { owner, .. } => Some(*owner),
            Resource::Principal(p) => Some(p.id),
            _ => None,
        }
    }
}

/// Create the collection `name` of `kind` in a new `home`, with a display
/// name, unless it exists (the default calendar and address book, so that a
/// client finds somewhere to write on first use).
pub async fn create_default_collection(
    store: &SharedStore,
    home: &Collection,
    name: &str,
    kind: CollectionKind,
    components: Vec<String>,
    display_name: &str,
) -> StoreResult<()> {
    let created = store
        .create_collection(NewCollection {
            owner: home.owner,
            parent: Some(home.id),
            path: format!("{}{name}/", home.path),
            kind,
            components,
            properties: vec![DeadProperty {
                namespace: NS_DAV.into(),
                name: "displayname".into(),
                value: crate::xml::Element::with_text(NS_DAV, "displayname", display_name).to_fragment(),
            }],
            guard: LockGuard::none(),
            quota_limit: None,
        })
        .await;
    match created {
        Ok(_) | Err(StoreError::AlreadyExists) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Create `user`'s home in `space` if it does not exist yet.
pub async fn ensure_home(store: &SharedStore, user: &Principal, space: HomeSpace) -> DavResult<Collection> {
    Ok(home_created(store, user, space).await?.0)
}

/// `user`'s home in `space`, and whether this call created it (with its
/// default calendar or address book).
async fn home_created(store: &SharedStore, user: &Principal, space: HomeSpace) -> DavResult<(Collection, bool)> {
    let path = space.home_path(&user.username);
    if let Some(c) = store.collection_by_path(&path).await? {
        return Ok((c, false));
    }
    let created = store
        .create_collection(NewCollection {
            owner: user.id,
            parent: None,
            path: path.clone(),
            kind: CollectionKind::Plain,
            components: vec![],
            properties: vec![],
            guard: LockGuard::none(),
            quota_limit: None,
        })
        .await;
    match created {
        Ok(home) => {
            match space {
                HomeSpace::Calendars => crate::caldav::create_default_calendar(store, &home).await?,
                HomeSpace::AddressBooks => crate::carddav::create_default_addressbook(store, &home).await?,
                HomeSpace::Files => {}
            }
            Ok((home, true))
        }
        // Another request created it concurrently.
        Err(StoreError::AlreadyExists) => {
            Ok((store.collection_by_path(&path).await?.ok_or(DavError::not_found())?, false))
        }
        Err(e) => Err(e.into()),
    }
}

/// Resolve `path` for `user`. Unknown paths outside homes are 404; paths below
/// a home the user cannot read are 404 too.
pub async fn resolve(store: &SharedStore, user: &Principal, path: &DavPath) -> DavResult<Resource> {
    let segs = &path.segments;
    match segs.first().map(String::as_str) {
        None => return Ok(Resource::Root),
        Some("principals") => {
            return match segs.len() {
                1 => Ok(Resource::PrincipalCollection),
                2 => {
                    let p = store.principal_by_username(&segs[1]).await?.ok_or(DavError::not_found())?;
                    let resource = Resource::Principal(p);
                    if resource.privileges(user).is_empty() {
                        return Err(DavError::not_found());
                    }
                    Ok(resource)
                }
                _ => Err(DavError::not_found()),
            };
        }
        Some(crate::carddav::directory::DIRECTORY_SEGMENT) => return crate::carddav::directory::resolve(store, path).await,
        Some(_) => {}
    }
    let space = HomeSpace::parse(&segs[0]).ok_or(DavError::not_found())?;
    if segs.len() == 1 {
        return Ok(Resource::HomeSpaceRoot(space));
    }
    // Below a home, what exists is found first (one read each): the home
    // exists when anything below it does, and the owner of what is found
    // decides access.
    if segs.len() > 2 {
        if let Some(found) = existing_below_home(store, space, path).await? {
            if acl::privileges(user, Target::OwnedBy(found.owner().unwrap_or(-1))).is_empty() {
                return Err(DavError::not_found());
            }
            return Ok(found);
        }
    }
    let home = if segs[1] == user.username {
        let (home, created) = home_created(store, user, space).await?;
        // The first request of a user may name the default calendar or
        // address book that creating the home just made.
        if created && segs.len() > 2 {
            if let Some(found) = existing_below_home(store, space, path).await? {
                return Ok(found);
            }
        }
        home
    } else {
        store.collection_by_path(&space.home_path(&segs[1])).await?.ok_or(DavError::not_found())?
    };
    if acl::privileges(user, Target::OwnedBy(home.owner)).is_empty() {
        return Err(DavError::not_found());
    }
    if segs.len() == 2 {
        return Ok(Resource::Collection { space, collection: home });
    }
    let parent_path = path.parent().expect("non-root path has a parent").collection_path();
    let parent = if parent_path == home.path {
        Some(home.clone())
    } else {
        store.collection_by_path(&parent_path).await?
    };
    // Objects were looked up above; a path ending in `/` never names one
    // (GET/DELETE 404, MKCOL 405 via the name clash).
    Ok(Resource::Unmapped { space, owner: home.owner, parent })
}

/// The object or collection stored at `path` (below a home), if any.
/// Without a trailing slash the path most often names an object, found with
/// its parent in one read; a collection is also found without its slash.
async fn existing_below_home(store: &SharedStore, space: HomeSpace, path: &DavPath) -> DavResult<Option<Resource>> {
    if !path.trailing_slash {
        let parent_path = path.parent().expect("non-root path has a parent").collection_path();
        let name = path.last().expect("non-root path has a last segment");
        if let Some((parent, meta)) = store.object_at(&parent_path, name).await? {
            return Ok(Some(Resource::Object { space, parent, meta }));
        }
    }
    Ok(store.collection_by_path(&path.collection_path()).await?.map(|collection| Resource::Collection { space, collection }))
}
