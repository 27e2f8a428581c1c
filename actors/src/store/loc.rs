//! Locators: records found by id alone (a project, an environment, a variable) are kept with a
//! small record saying which organization owns them and under which parent, so a request by id
//! finds its organization's actor with one read.

use super::{keys, Changes, Store};
use crate::error::DomainResult;
use crate::model::*;
use serde::{Deserialize, Serialize};

/// A record found by id alone (`/api/variables/{id}/`), and so kept with a locator: which
/// organization owns it and its parent. The parent's type comes with the record's, so an
/// environment's locator can only name a project and a variable's only an environment.
pub trait Located: Copy {
    type Parent: Copy;
    /// The locator key's kind byte.
    const TAG: u8;
    /// What a client is told was not found.
    const WHAT: &'static str;
    fn raw(self) -> u64;
    fn parent_raw(parent: Self::Parent) -> u64;
    fn parent_from(raw: u64) -> Self::Parent;
}

impl Located for ProjectId {
    /// A project's parent is its organization, already in the locator.
    type Parent = ();
    const TAG: u8 = b'p';
    const WHAT: &'static str = "project";
    fn raw(self) -> u64 {
        self.0
    }
    fn parent_raw(_: ()) -> u64 {
        0
    }
    fn parent_from(_: u64) {}
}

impl Located for EnvId {
    type Parent = ProjectId;
    const TAG: u8 = b'e';
    const WHAT: &'static str = "environment";
    fn raw(self) -> u64 {
        self.0
    }
    fn parent_raw(p: ProjectId) -> u64 {
        p.0
    }
    fn parent_from(raw: u64) -> ProjectId {
        ProjectId(raw)
    }
}

impl Located for VarId {
    type Parent = EnvId;
    const TAG: u8 = b'v';
    const WHAT: &'static str = "variable";
    fn raw(self) -> u64 {
        self.0
    }
    fn parent_raw(e: EnvId) -> u64 {
        e.0
    }
    fn parent_from(raw: u64) -> EnvId {
        EnvId(raw)
    }
}

/// Where a located record lives: its organization and its parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loc<P> {
    pub org: OrgId,
    pub parent: P,
}

/// The stored form of a `Loc` (the parent as a bare id; 0 for a project).
#[derive(Debug, Serialize, Deserialize)]
struct StoredLoc {
    org: OrgId,
    parent: u64,
}

impl Changes {
    /// Record where `r` lives, so that it can be found by its id alone.
    pub fn put_loc<R: Located>(&mut self, r: R, loc: Loc<R::Parent>) -> DomainResult<()> {
        let stored = StoredLoc {
            org: loc.org,
            parent: R::parent_raw(loc.parent),
        };
        self.put(keys::loc(r), &stored)
    }
}

impl Store {
    /// Where a record found by id alone lives, or `None` when there is no such record.
    pub fn locate<R: Located>(&self, r: R) -> DomainResult<Option<Loc<R::Parent>>> {
        Ok(self.get::<StoredLoc>(&keys::loc(r))?.map(|l| Loc {
            org: l.org,
            parent: R::parent_from(l.parent),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locators_are_typed_and_keep_their_parent() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(dir.path()).expect("open");
        let mut c = Changes::new();
        fn at<P>(parent: P) -> Loc<P> {
            Loc {
                org: OrgId(3),
                parent,
            }
        }
        c.put_loc(VarId(5), at(EnvId(8))).expect("put");
        c.put_loc(ProjectId(5), at(())).expect("put");
        store.apply(c).expect("apply");
        assert_eq!(store.locate(VarId(5)).expect("get"), Some(at(EnvId(8))));
        assert_eq!(store.locate(ProjectId(5)).expect("get"), Some(at(())));
        // Same number, other kind: not found.
        assert_eq!(store.locate(EnvId(5)).expect("get"), None);
    }

    #[test]
    fn locators_written_before_they_were_typed_still_read() {
        // The stored form is unchanged: a project's locator holds 0 as its parent.
        let old = StoredLoc {
            org: OrgId(7),
            parent: 0,
        };
        let bytes = super::super::encode(&old).expect("encode");
        let back: StoredLoc = super::super::decode(&bytes).expect("decode");
        assert_eq!((back.org, back.parent), (OrgId(7), 0));
    }
}
