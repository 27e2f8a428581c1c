//! The key layout, and the only code that knows it: one builder per kind of key.
//! Keys are a kind byte then ids (8 bytes big-endian, versions 4), so that a range scan comes
//! out in id order.
//!
//! Key layout (ids are 8 bytes BE, versions 4 bytes BE):
//! ```text
//! m/check               sealed check value of the master key
//! m/seq/<kind>          id counters
//! m/head/<org>          etcd only: moved by every change of the organization (empty value)
//! u <user>              User                  E <lower email>    -> user id
//! X <lower username>    -> user id            t <sha256(token)>  TokenRecord
//! o <org>               Organization          k <org><version>   sealed data key
//! M <org><user>         Membership            U <user><org>      Role (a user's organizations)
//! l <kind><id>          Loc: the organization (and parent) that owns a project/env/variable
//! P <org><project>      Project               N <project><env>   Environment
//! n <project><name>     -> env id             V <env><var>       Variable
//! K <env><key>          -> var id             a <audit>          AuditEntry
//! h <var><version>      VariableVersion       S <sha256(token)>  ServiceToken
//! s <env><token id>     -> token hash (an environment's service tokens)
//! A <org><audit>        -> () (an organization's entries)
//! Z <user><audit>       -> () (a user's account events)
//! T <sha256(token)>     SessionRecord (beside the token's `t` record; both go together)
//! L <user><session>     -> token hash (a user's sessions, oldest first)
//! m/sessions            SessionPolicy the serving process enforces (absent: none)
//! c <A, Z or V prefix>  -> u64 (entries of an audit index; variables of an environment)
//! c b <org>             -> u64 (sealed bytes an organization keeps, versions included)
//! c r <env>             -> u64 (an environment's revision: its change feed)
//! D <scope><key hash>   IdemRecord: a kept answer to an Idempotency-Key (scope: caller kind + id)
//! d <created><scope><key hash> -> () (kept answers by age, for expiry)
//! m/records-key         sealed key for kept answers
//! m/rotation/<org>      KeyRotation: an organization's data-key rotation in progress
//! i <org><invitation>   Invitation (an organization's invitations, pending or expired)
//! I <len><lower email><org><invitation>  -> () (the invitations addressed to an email)
//! J <user>              -> u64 (the user's organizations after their last creation or join)
//! ```
//!
//! `I` lets an invitee's listing read only their own invitations (one prefix scan under their
//! email, whether they registered before or after being invited) and lets inviting find an
//! email's invitation in one organization. The email's byte length (2 bytes BE) comes first, so
//! no email's prefix is another email's: `a@b.co` never scans into `a@b.com`.

use crate::model::*;

pub const CHECK: &[u8] = b"m/check";
/// The key that seals kept answers (idempotency), itself sealed by the master key.
pub const RECORDS_KEY: &[u8] = b"m/records-key";
pub const SESSION_POLICY: &[u8] = b"m/sessions";

fn k(prefix: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + parts.iter().map(|p| p.len()).sum::<usize>());
    key.push(prefix);
    for p in parts {
        key.extend_from_slice(p);
    }
    key
}

/// Etcd only: moved by every change of an organization, so that two nodes' changes of one
/// organization never both apply on the same reads (a phantom no per-key compare would catch).
pub fn head(org: OrgId) -> Vec<u8> {
    [b"m/head/".as_slice(), &org.be()].concat()
}

pub fn seq(kind: &str) -> Vec<u8> {
    [b"m/seq/", kind.as_bytes()].concat()
}
pub fn user(u: UserId) -> Vec<u8> {
    k(b'u', &[&u.be()])
}
pub fn email(lower: &str) -> Vec<u8> {
    k(b'E', &[lower.as_bytes()])
}
pub fn username(lower: &str) -> Vec<u8> {
    k(b'X', &[lower.as_bytes()])
}
pub fn token(hash: &[u8; 32]) -> Vec<u8> {
    k(b't', &[hash])
}
pub fn tokens() -> Vec<u8> {
    vec![b't']
}
/// Every session (`T`), and one session by its token's hash.
pub fn sessions() -> Vec<u8> {
    vec![b'T']
}
pub fn session(hash: &[u8; 32]) -> Vec<u8> {
    k(b'T', &[hash])
}
pub fn user_session(u: UserId, s: SessionId) -> Vec<u8> {
    k(b'L', &[&u.be(), &s.be()])
}
pub fn user_sessions(u: UserId) -> Vec<u8> {
    k(b'L', &[&u.be()])
}
pub fn org(o: OrgId) -> Vec<u8> {
    k(b'o', &[&o.be()])
}
pub fn dek(o: OrgId, version: u32) -> Vec<u8> {
    k(b'k', &[&o.be(), &version.to_be_bytes()])
}
pub fn deks(o: OrgId) -> Vec<u8> {
    k(b'k', &[&o.be()])
}
/// Every sealed data key (`k`), of every organization.
pub fn all_deks() -> Vec<u8> {
    vec![b'k']
}
/// An organization's data-key rotation in progress, and every one of them.
pub fn rotation(o: OrgId) -> Vec<u8> {
    [ROTATIONS, &o.be()].concat()
}
pub const ROTATIONS: &[u8] = b"m/rotation/";
pub fn member(o: OrgId, u: UserId) -> Vec<u8> {
    k(b'M', &[&o.be(), &u.be()])
}
pub fn members(o: OrgId) -> Vec<u8> {
    k(b'M', &[&o.be()])
}
pub fn user_org(u: UserId, o: OrgId) -> Vec<u8> {
    k(b'U', &[&u.be(), &o.be()])
}
pub fn user_orgs(u: UserId) -> Vec<u8> {
    k(b'U', &[&u.be()])
}
/// Moved by every change that makes a user a member of one more organization (creating or
/// joining one), so that on etcd two such changes of one user built on the same count never
/// both apply: the organizations-per-user quota holds across nodes.
pub fn joins(u: UserId) -> Vec<u8> {
    k(b'J', &[&u.be()])
}
pub fn loc<R: super::Located>(r: R) -> Vec<u8> {
    k(b'l', &[&[R::TAG], &r.raw().to_be_bytes()])
}
pub fn project(o: OrgId, p: ProjectId) -> Vec<u8> {
    k(b'P', &[&o.be(), &p.be()])
}
pub fn projects(o: OrgId) -> Vec<u8> {
    k(b'P', &[&o.be()])
}
pub fn env(p: ProjectId, e: EnvId) -> Vec<u8> {
    k(b'N', &[&p.be(), &e.be()])
}
pub fn envs(p: ProjectId) -> Vec<u8> {
    k(b'N', &[&p.be()])
}
pub fn env_name(p: ProjectId, lower: &str) -> Vec<u8> {
    k(b'n', &[&p.be(), lower.as_bytes()])
}
pub fn var(e: EnvId, v: VarId) -> Vec<u8> {
    k(b'V', &[&e.be(), &v.be()])
}
pub fn vars(e: EnvId) -> Vec<u8> {
    k(b'V', &[&e.be()])
}
pub fn var_key(e: EnvId, key: &str) -> Vec<u8> {
    k(b'K', &[&e.be(), key.as_bytes()])
}
pub fn version(v: VarId, version: u32) -> Vec<u8> {
    k(b'h', &[&v.be(), &version.to_be_bytes()])
}
pub fn versions(v: VarId) -> Vec<u8> {
    k(b'h', &[&v.be()])
}
pub fn service_token(hash: &[u8; 32]) -> Vec<u8> {
    k(b'S', &[hash])
}
pub fn env_service_token(e: EnvId, t: ServiceTokenId) -> Vec<u8> {
    k(b's', &[&e.be(), &t.be()])
}
pub fn env_service_tokens(e: EnvId) -> Vec<u8> {
    k(b's', &[&e.be()])
}
pub fn audit(a: AuditId) -> Vec<u8> {
    k(b'a', &[&a.be()])
}
/// Index of an organization's audit entries (`A`), and of a user's account events (`Z`).
pub fn org_audit(o: OrgId) -> Vec<u8> {
    k(b'A', &[&o.be()])
}
pub fn account_audit(u: UserId) -> Vec<u8> {
    k(b'Z', &[&u.be()])
}

/// A counter kept beside what it counts, in the same batches: `c <prefix>` -> u64. For an
/// audit index (`A <org>`, `Z <user>`) the entries; for an environment's variables
/// (`V <env>`) the variables; for `org_bytes` the sealed bytes an organization stores.
pub fn count(prefix: &[u8]) -> Vec<u8> {
    [b"c".as_slice(), prefix].concat()
}

/// What `count(revision(e))` counts: every durable change of an environment's variables or of
/// the environment itself, the revision its change feed and `ETag`s are made of.
pub fn revision(e: EnvId) -> Vec<u8> {
    k(b'r', &[&e.be()])
}

/// What `count(org_bytes(o))` counts: every sealed value and version an organization keeps.
pub fn org_bytes(o: OrgId) -> Vec<u8> {
    k(b'b', &[&o.be()])
}

/// A kept answer: `D <scope (9 bytes: kind + id)><sha256(Idempotency-Key)>`.
pub fn idem(scope: &[u8; 9], key: &[u8; 32]) -> Vec<u8> {
    k(IDEM, &[scope, key])
}

const IDEM: u8 = b'D';

/// Kept answers by age, for their expiry: `d <created at (8 bytes)><scope><key hash>`.
pub fn idem_by_age(created: i64, scope: &[u8; 9], key: &[u8; 32]) -> Vec<u8> {
    k(b'd', &[&created.to_be_bytes(), scope, key])
}

pub fn idem_ages() -> Vec<u8> {
    vec![b'd']
}

/// The kept answer a `d` entry's tail (scope + key hash) names.
pub fn idem_from_tail(tail: &[u8]) -> Vec<u8> {
    k(IDEM, &[tail])
}

pub fn invitation(o: OrgId, i: InvitationId) -> Vec<u8> {
    k(b'i', &[&o.be(), &i.be()])
}
pub fn invitations(o: OrgId) -> Vec<u8> {
    k(b'i', &[&o.be()])
}
/// An email's invitations (`lower` is the lower-cased email); then one organization's of them,
/// then one.
pub fn email_invitations(lower: &str) -> Vec<u8> {
    let len = u16::try_from(lower.len()).unwrap_or(u16::MAX);
    k(b'I', &[&len.to_be_bytes(), lower.as_bytes()])
}
pub fn email_org_invitations(lower: &str, o: OrgId) -> Vec<u8> {
    [email_invitations(lower), o.be().to_vec()].concat()
}
pub fn email_invitation(lower: &str, o: OrgId, i: InvitationId) -> Vec<u8> {
    [email_org_invitations(lower, o), i.be().to_vec()].concat()
}
