//! The sysctl MIB: a tree of named, numbered kernel variables that `__sysctl(2)` reads
//! and writes by integer path (NetBSD: kern/kern_sysctl.c `sysctl_dispatch`,
//! `sysctl_locate`, `sysctl_lookup`; sys/sys/sysctl.h).
//!
//! Each kernel owns one [`Sysctl`]. Subsystems [`register`](Sysctl::register) their
//! variables at boot under NetBSD's numbers and keep the [`SysctlId`] they get back:
//! reading a variable by id is a vector index, cheap enough for the forwarding path to
//! ask `net.inet.ip.forwarding` on every packet ([`Sysctl::int`]). The C boundary
//! passes `__sysctl` requests to [`Sysctl::sysctl`]; `RUMP_NET`'s `forward` and other
//! configuration use the dotted names ([`Sysctl::id_of`]).
//!
//! # Semantics of [`Sysctl::sysctl`], as NetBSD's
//!
//! - A name of no components or more than [`CTL_MAXNAME`] is `EINVAL`.
//! - A component that names no child is `ENOENT`; a path that continues below a leaf
//!   is `ENOTDIR`; a path that ends at an interior node is `EINVAL` ("you can't look up
//!   a node", sysctl_lookup).
//! - An empty new value is no new value. A new value for a read-only leaf is `EPERM`,
//!   before anything is copied out.
//! - The old value is copied out, as much as fits, and `*oldlenp` becomes its full
//!   length (strings count their NUL). Without an old buffer only the length is
//!   reported.
//! - A new value must have the leaf's exact size (`EINVAL`), except strings, which may
//!   be shorter than [`STRING_SIZE`] and need not end in NUL. A leaf's check function
//!   may refuse it with its own errno. The write happens even when the old buffer was
//!   too short.
//! - Finally, an old buffer smaller than the value is `ENOMEM` (sys___sysctl), with
//!   `*oldlenp` telling the size needed.
//!
//! Deviations: the meta-operations (`CTL_QUERY`, `CTL_CREATE`, `CTL_DESTROY`,
//! `CTL_DESCRIBE`, `CTL_MMAP`) answer `EOPNOTSUPP`; there are no credentials, so every
//! caller may write what is writable; strings hold UTF-8 only (`EINVAL` otherwise).
//! The pre-created `net.inet.ip.ttl` accepts 1..=255 and the UDP buffer sizes accept
//! positive values only, where NetBSD takes any int.

use crate::abi::netbsd as abi;
use crate::kern::errno::Errno;

/// Most components in a name.
pub const CTL_MAXNAME: usize = 12;
/// Longest node name plus its NUL.
pub const SYSCTL_NAMELEN: usize = 32;
/// Room of a string leaf, its NUL included (MAXHOSTNAMELEN-sized).
pub const STRING_SIZE: usize = 256;

// Meta-identifiers: negative numbers that name operations, not nodes.
/// End of a `sysctl_createv` name list.
pub const CTL_EOL: i32 = -1;
/// Enumerate the children of a node.
pub const CTL_QUERY: i32 = -2;
/// Create a node.
pub const CTL_CREATE: i32 = -3;
/// Create a node bound to a kernel symbol.
pub const CTL_CREATESYM: i32 = -4;
/// Destroy a node.
pub const CTL_DESTROY: i32 = -5;
/// Map a node's data.
pub const CTL_MMAP: i32 = -6;
/// Describe nodes.
pub const CTL_DESCRIBE: i32 = -7;

// Top-level identifiers.
/// "High kernel": limits, hostname, version.
pub const CTL_KERN: i32 = 1;
/// Virtual memory.
pub const CTL_VM: i32 = 2;
/// File systems.
pub const CTL_VFS: i32 = 3;
/// Networking: the second level is the protocol family.
pub const CTL_NET: i32 = 4;
/// Debugging.
pub const CTL_DEBUG: i32 = 5;
/// Generic CPU and I/O.
pub const CTL_HW: i32 = 6;
/// Machine dependent.
pub const CTL_MACHDEP: i32 = 7;
/// User level.
pub const CTL_USER: i32 = 8;
/// In-kernel debugger.
pub const CTL_DDB: i32 = 9;
/// Per-process.
pub const CTL_PROC: i32 = 10;
/// Vendor-specific.
pub const CTL_VENDOR: i32 = 11;
/// Emulations.
pub const CTL_EMUL: i32 = 12;
/// Security.
pub const CTL_SECURITY: i32 = 13;

// Leaf types (CTLTYPE_*).
/// An interior node.
pub const CTLTYPE_NODE: i32 = 1;
/// A C int.
pub const CTLTYPE_INT: i32 = 2;
/// A NUL-terminated string.
pub const CTLTYPE_STRING: i32 = 3;
/// A 64-bit integer.
pub const CTLTYPE_QUAD: i32 = 4;
/// An opaque structure.
pub const CTLTYPE_STRUCT: i32 = 5;

// net.inet.ip.* (netinet/in.h) and net.inet.udp.* (netinet/udp_var.h).
/// `net.inet.ip.forwarding`: act as a router.
pub const IPCTL_FORWARDING: i32 = 1;
/// `net.inet.ip.redirect`: send redirects when forwarding.
pub const IPCTL_SENDREDIRECTS: i32 = 2;
/// `net.inet.ip.ttl`: default TTL.
pub const IPCTL_DEFTTL: i32 = 3;
/// `net.inet.udp.checksum`: checksum UDP datagrams.
pub const UDPCTL_CHECKSUM: i32 = 1;
/// `net.inet.udp.sendspace`: default send buffer.
pub const UDPCTL_SENDSPACE: i32 = 2;
/// `net.inet.udp.recvspace`: default receive buffer.
pub const UDPCTL_RECVSPACE: i32 = 3;

/// Default `net.inet.ip.ttl` (NetBSD's IPDEFTTL).
pub const IPDEFTTL: i32 = 64;
/// Default `net.inet.udp.sendspace` (NetBSD's udp_sendspace).
pub const UDP_SENDSPACE: i32 = 9216;
/// Default `net.inet.udp.recvspace`: 40 datagrams of 1024 bytes with their
/// `sockaddr_in` (NetBSD's udp_recvspace).
pub const UDP_RECVSPACE: i32 = 40 * (1024 + 16);

/// The value of a leaf.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SysctlValue {
    /// `CTLTYPE_INT`: 4 bytes, host order.
    Int(i32),
    /// `CTLTYPE_QUAD`: 8 bytes, host order.
    Quad(i64),
    /// `CTLTYPE_STRING`: read with its NUL, at most [`STRING_SIZE`] bytes so.
    Str(String),
    /// `CTLTYPE_STRUCT`: fixed-size bytes.
    Struct(Vec<u8>),
}

impl SysctlValue {
    /// The kind of leaf that holds this value.
    pub fn kind(&self) -> SysctlKind {
        match self {
            SysctlValue::Int(_) => SysctlKind::Int,
            SysctlValue::Quad(_) => SysctlKind::Quad,
            SysctlValue::Str(_) => SysctlKind::String,
            SysctlValue::Struct(_) => SysctlKind::Struct,
        }
    }

    /// The bytes `__sysctl` copies out.
    fn to_bytes(&self) -> Vec<u8> {
        match self {
            SysctlValue::Int(v) => v.to_ne_bytes().to_vec(),
            SysctlValue::Quad(v) => v.to_ne_bytes().to_vec(),
            SysctlValue::Str(s) => {
                let mut b = Vec::with_capacity(s.len() + 1);
                b.extend_from_slice(s.as_bytes());
                b.push(0);
                b
            }
            SysctlValue::Struct(b) => b.clone(),
        }
    }

    /// A new value of the same kind as `self` from the bytes of a write.
    fn decode_new(&self, new: &[u8]) -> Result<SysctlValue, Errno> {
        match self {
            SysctlValue::Int(_) => new
                .try_into()
                .map(|b| SysctlValue::Int(i32::from_ne_bytes(b)))
                .map_err(|_| Errno::EINVAL),
            SysctlValue::Quad(_) => new
                .try_into()
                .map(|b| SysctlValue::Quad(i64::from_ne_bytes(b)))
                .map_err(|_| Errno::EINVAL),
            SysctlValue::Str(_) => {
                // Userland may leave out the NUL, unless that leaves no room for one.
                if new.len() > STRING_SIZE || (new.len() == STRING_SIZE && new.last() != Some(&0)) {
                    return Err(Errno::EINVAL);
                }
                let end = new.iter().position(|b| *b == 0).unwrap_or(new.len());
                let s = std::str::from_utf8(&new[..end]).map_err(|_| Errno::EINVAL)?;
                Ok(SysctlValue::Str(s.to_owned()))
            }
            SysctlValue::Struct(old) if old.len() == new.len() => {
                Ok(SysctlValue::Struct(new.to_vec()))
            }
            SysctlValue::Struct(_) => Err(Errno::EINVAL),
        }
    }

    /// Whether a leaf can hold this value (strings fit [`STRING_SIZE`] with a NUL
    /// and have none inside).
    fn fits(&self) -> bool {
        match self {
            SysctlValue::Str(s) => s.len() < STRING_SIZE && !s.contains('\0'),
            _ => true,
        }
    }
}

/// What a node is (NetBSD's `CTLTYPE_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SysctlKind {
    /// An interior node with children.
    Node,
    /// An int leaf.
    Int,
    /// A 64-bit leaf.
    Quad,
    /// A string leaf.
    String,
    /// A structure leaf.
    Struct,
}

impl SysctlKind {
    /// NetBSD's `CTLTYPE_*` number.
    pub fn ctltype(self) -> i32 {
        match self {
            SysctlKind::Node => CTLTYPE_NODE,
            SysctlKind::Int => CTLTYPE_INT,
            SysctlKind::Quad => CTLTYPE_QUAD,
            SysctlKind::String => CTLTYPE_STRING,
            SysctlKind::Struct => CTLTYPE_STRUCT,
        }
    }
}

/// A node's description (NetBSD: the public part of `struct sysctlnode`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SysctlNode {
    /// Its name, one component of the dotted name.
    pub name: &'static str,
    /// Its number, one component of the integer name.
    pub num: i32,
    /// Node or leaf type.
    pub kind: SysctlKind,
    /// Whether `__sysctl` may write it (`CTLFLAG_READWRITE`).
    pub writable: bool,
}

/// A node of one [`Sysctl`], for reading it without a name lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SysctlId(usize);

/// Validates a value before a write commits it; its error is the write's.
pub type SysctlCheck = fn(&SysctlValue) -> Result<(), Errno>;

/// A path of (name, number) components, root first.
type SysctlPath<'a> = &'a [(&'static str, i32)];

struct Entry {
    node: SysctlNode,
    /// `None` for interior nodes.
    value: Option<SysctlValue>,
    check: Option<SysctlCheck>,
    /// Children, sorted by number.
    children: Vec<SysctlId>,
}

/// The sysctl tree of one kernel.
pub struct Sysctl {
    /// Entry 0 is the root; an id is an index.
    entries: Vec<Entry>,
}

impl Default for Sysctl {
    fn default() -> Self {
        Self::new()
    }
}

fn ttl_check(v: &SysctlValue) -> Result<(), Errno> {
    match v {
        SysctlValue::Int(1..=255) => Ok(()),
        _ => Err(Errno::EINVAL),
    }
}

fn space_check(v: &SysctlValue) -> Result<(), Errno> {
    match v {
        SysctlValue::Int(n) if *n > 0 => Ok(()),
        _ => Err(Errno::EINVAL),
    }
}

/// A node name as NetBSD's sysctl_create accepts it: letters, digits, `-` and `_`,
/// not starting with a digit, shorter than [`SYSCTL_NAMELEN`].
fn name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() < SYSCTL_NAMELEN
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

const ROOT: SysctlId = SysctlId(0);

impl Sysctl {
    /// `net.inet.ip.forwarding`.
    pub const IP_FORWARDING: SysctlId = SysctlId(4);
    /// `net.inet.ip.ttl`.
    pub const IP_DEFTTL: SysctlId = SysctlId(5);
    /// `net.inet.udp.sendspace`.
    pub const UDP_SENDSPACE: SysctlId = SysctlId(7);
    /// `net.inet.udp.recvspace`.
    pub const UDP_RECVSPACE: SysctlId = SysctlId(8);
    /// `kern.ostype`.
    pub const KERN_OSTYPE: SysctlId = SysctlId(10);

    /// A tree holding NetBSD's `net.inet.ip.forwarding` (0), `net.inet.ip.ttl` (64),
    /// `net.inet.udp.sendspace` (9216) and `net.inet.udp.recvspace` (41600), all
    /// writable, under NetBSD's numbers; other subsystems add theirs with
    /// [`Sysctl::register`].
    pub fn new() -> Self {
        let mut s = Sysctl {
            entries: vec![Entry {
                node: SysctlNode {
                    name: "",
                    num: 0,
                    kind: SysctlKind::Node,
                    writable: false,
                },
                value: None,
                check: None,
                children: Vec::new(),
            }],
        };
        let net = ("net", CTL_NET);
        let inet = ("inet", abi::RUMP_PF_INET);
        let ip = ("ip", abi::RUMP_IPPROTO_IP);
        let udp = ("udp", abi::RUMP_IPPROTO_UDP);
        let builtin: [(SysctlPath, i32, Option<SysctlCheck>, SysctlId); 4] = [
            (
                &[net, inet, ip, ("forwarding", IPCTL_FORWARDING)],
                0,
                None,
                Self::IP_FORWARDING,
            ),
            (
                &[net, inet, ip, ("ttl", IPCTL_DEFTTL)],
                IPDEFTTL,
                Some(ttl_check),
                Self::IP_DEFTTL,
            ),
            (
                &[net, inet, udp, ("sendspace", UDPCTL_SENDSPACE)],
                UDP_SENDSPACE,
                Some(space_check),
                Self::UDP_SENDSPACE,
            ),
            (
                &[net, inet, udp, ("recvspace", UDPCTL_RECVSPACE)],
                UDP_RECVSPACE,
                Some(space_check),
                Self::UDP_RECVSPACE,
            ),
        ];
        for (path, value, check, want) in builtin {
            let id = s.register(path, SysctlValue::Int(value), true, check);
            debug_assert_eq!(id, Ok(want), "built-in sysctl ids");
        }
        // The kernel's identity, read-only (so a write gets EPERM, as on NetBSD).
        let id = s.register(
            &[("kern", CTL_KERN), ("ostype", abi::RUMP_KERN_OSTYPE)],
            SysctlValue::Str("NetBSD".into()),
            false,
            None,
        );
        debug_assert_eq!(id, Ok(Self::KERN_OSTYPE), "built-in sysctl ids");
        s
    }

    fn entry(&self, id: SysctlId) -> Option<&Entry> {
        self.entries.get(id.0)
    }

    /// The child of `parent` numbered `num`.
    fn child(&self, parent: SysctlId, num: i32) -> Option<SysctlId> {
        let children = &self.entry(parent)?.children;
        let i = children
            .binary_search_by_key(&num, |c| self.entries[c.0].node.num)
            .ok()?;
        Some(children[i])
    }

    /// The child of `parent` called `name`.
    fn child_named(&self, parent: SysctlId, name: &str) -> Option<SysctlId> {
        let children = &self.entry(parent)?.children;
        children
            .iter()
            .copied()
            .find(|c| self.entries[c.0].node.name == name)
    }

    fn push(
        &mut self,
        parent: SysctlId,
        node: SysctlNode,
        value: Option<SysctlValue>,
        check: Option<SysctlCheck>,
    ) -> SysctlId {
        let id = SysctlId(self.entries.len());
        let num = node.num;
        self.entries.push(Entry {
            node,
            value,
            check,
            children: Vec::new(),
        });
        let at = self.entries[parent.0]
            .children
            .partition_point(|c| self.entries[c.0].node.num < num);
        self.entries[parent.0].children.insert(at, id);
        id
    }

    /// Adds a leaf at `path` (name and number of each component, root first),
    /// creating the interior nodes on the way as needed, like NetBSD's
    /// `sysctl_createv`. `writable` lets `__sysctl` write it; `check` may refuse a
    /// write.
    ///
    /// # Errors
    ///
    /// `EINVAL` for an empty or over-long path, a negative number, a name NetBSD
    /// would refuse, or a string longer than [`STRING_SIZE`] - 1; `EEXIST` when the
    /// leaf exists or a component's number and name belong to different nodes;
    /// `ENOTDIR` when the path goes through a leaf.
    pub fn register(
        &mut self,
        path: &[(&'static str, i32)],
        value: SysctlValue,
        writable: bool,
        check: Option<SysctlCheck>,
    ) -> Result<SysctlId, Errno> {
        let Some(((leaf_name, leaf_num), dirs)) = path.split_last() else {
            return Err(Errno::EINVAL);
        };
        if path.len() > CTL_MAXNAME
            || path.iter().any(|(name, num)| *num < 0 || !name_ok(name))
            || !value.fits()
        {
            return Err(Errno::EINVAL);
        }
        let mut cur = ROOT;
        for &(name, num) in dirs {
            cur = match (self.child(cur, num), self.child_named(cur, name)) {
                (Some(c), Some(n)) if c == n => {
                    if self.entries[c.0].node.kind != SysctlKind::Node {
                        return Err(Errno::ENOTDIR);
                    }
                    c
                }
                (None, None) => {
                    let node = SysctlNode {
                        name,
                        num,
                        kind: SysctlKind::Node,
                        writable: false,
                    };
                    self.push(cur, node, None, None)
                }
                _ => return Err(Errno::EEXIST),
            };
        }
        if self.child(cur, *leaf_num).is_some() || self.child_named(cur, leaf_name).is_some() {
            return Err(Errno::EEXIST);
        }
        let node = SysctlNode {
            name: leaf_name,
            num: *leaf_num,
            kind: value.kind(),
            writable,
        };
        Ok(self.push(cur, node, Some(value), check))
    }

    /// NetBSD's `sysctl_locate`: the node an integer name leads to.
    fn locate(&self, name: &[i32]) -> Result<SysctlId, Errno> {
        let mut cur = ROOT;
        for (i, &num) in name.iter().enumerate() {
            if self.entries[cur.0].node.kind != SysctlKind::Node {
                return Err(Errno::ENOTDIR);
            }
            cur = match self.child(cur, num) {
                Some(c) => c,
                // A meta-operation on the node reached so far (CTL_QUERY and kin).
                None if num < 0 && i + 1 == name.len() => return Err(Errno::EOPNOTSUPP),
                None => return Err(Errno::ENOENT),
            };
        }
        Ok(cur)
    }

    /// `__sysctl(2)`: reads the value `name` leads to into `old` and replaces it with
    /// `new`. `*oldlenp` is the room in `old` on entry (at most `old.len()` counts)
    /// and the value's length on return. See the module documentation for the rules.
    ///
    /// # Errors
    ///
    /// `EINVAL` for a bad name length, an interior node or a new value of the wrong
    /// size; `ENOENT` for an unknown name; `ENOTDIR` for a name below a leaf; `EPERM`
    /// for a write to a read-only leaf; `ENOMEM` when `old` is too small; `EOPNOTSUPP`
    /// for meta-operations; whatever the leaf's check returns.
    pub fn sysctl(
        &mut self,
        name: &[i32],
        old: Option<&mut [u8]>,
        oldlenp: &mut usize,
        new: Option<&[u8]>,
    ) -> Result<(), Errno> {
        if name.is_empty() || name.len() > CTL_MAXNAME {
            return Err(Errno::EINVAL);
        }
        let id = self.locate(name)?;
        let entry = &self.entries[id.0];
        let Some(value) = &entry.value else {
            return Err(Errno::EINVAL);
        };
        let new = new.filter(|n| !n.is_empty());
        if new.is_some() && !entry.node.writable {
            return Err(Errno::EPERM);
        }
        let bytes = value.to_bytes();
        let room = old.as_ref().map(|o| (*oldlenp).min(o.len()));
        if let (Some(old), Some(room)) = (old, room) {
            let n = room.min(bytes.len());
            old[..n].copy_from_slice(&bytes[..n]);
        }
        *oldlenp = bytes.len();
        if let Some(new) = new {
            let v = value.decode_new(new)?;
            if let Some(check) = entry.check {
                check(&v)?;
            }
            self.entries[id.0].value = Some(v);
        }
        match room {
            Some(room) if room < bytes.len() => Err(Errno::ENOMEM),
            _ => Ok(()),
        }
    }

    /// The integer name of a dotted name: `"net.inet.ip.forwarding"` is
    /// `[4, 2, 0, 1]`. Interior nodes have names too (`"net.inet"`).
    pub fn lookup_name(&self, name: &str) -> Option<Vec<i32>> {
        let mut cur = ROOT;
        let mut nums = Vec::new();
        for part in name.split('.') {
            cur = self.child_named(cur, part)?;
            nums.push(self.entries[cur.0].node.num);
        }
        Some(nums)
    }

    /// The node an integer name leads to, if any.
    pub fn locate_id(&self, name: &[i32]) -> Option<SysctlId> {
        self.locate(name).ok()
    }

    /// The node a dotted name names.
    pub fn id_of(&self, name: &str) -> Option<SysctlId> {
        name.split('.')
            .try_fold(ROOT, |cur, part| self.child_named(cur, part))
            .filter(|id| *id != ROOT)
    }

    /// The int a dotted name names, for configuration and tests.
    pub fn get_int(&self, name: &str) -> Option<i32> {
        match self.value(self.id_of(name)?)? {
            SysctlValue::Int(v) => Some(*v),
            _ => None,
        }
    }

    /// A node's description.
    pub fn node(&self, id: SysctlId) -> Option<&SysctlNode> {
        self.entry(id).map(|e| &e.node)
    }

    /// A leaf's value (`None` for interior nodes).
    pub fn value(&self, id: SysctlId) -> Option<&SysctlValue> {
        self.entry(id)?.value.as_ref()
    }

    /// The children of a node, by number.
    pub fn children(&self, id: SysctlId) -> impl Iterator<Item = SysctlId> + '_ {
        self.entry(id)
            .into_iter()
            .flat_map(|e| e.children.iter().copied())
    }

    /// The fast path: an int leaf's value by id, 0 for an id that is not one.
    pub fn int(&self, id: SysctlId) -> i32 {
        match self.entries.get(id.0).and_then(|e| e.value.as_ref()) {
            Some(SysctlValue::Int(v)) => *v,
            _ => 0,
        }
    }

    /// A quad leaf's value by id, 0 for an id that is not one.
    pub fn quad(&self, id: SysctlId) -> i64 {
        match self.entries.get(id.0).and_then(|e| e.value.as_ref()) {
            Some(SysctlValue::Quad(v)) => *v,
            _ => 0,
        }
    }

    /// Sets a leaf from inside the kernel (`RUMP_NET`'s `forward`): read-only leaves
    /// too, but the kind must match and the check must pass.
    ///
    /// # Errors
    ///
    /// `ENOENT` for an unknown id, `EINVAL` for an interior node, another kind of
    /// value or a string that does not fit; whatever the check returns.
    pub fn set(&mut self, id: SysctlId, value: SysctlValue) -> Result<(), Errno> {
        let entry = self.entries.get_mut(id.0).ok_or(Errno::ENOENT)?;
        match &entry.value {
            Some(old) if old.kind() == value.kind() && value.fits() => {}
            _ => return Err(Errno::EINVAL),
        }
        if let SysctlValue::Struct(new) = &value {
            if entry.value.as_ref().map(|v| v.to_bytes().len()) != Some(new.len()) {
                return Err(Errno::EINVAL);
            }
        }
        if let Some(check) = entry.check {
            check(&value)?;
        }
        entry.value = Some(value);
        Ok(())
    }

    /// `net.inet.ip.forwarding`: whether to forward packets not addressed to us.
    pub fn ip_forwarding(&self) -> bool {
        self.int(Self::IP_FORWARDING) != 0
    }

    /// `net.inet.ip.ttl`: the default TTL.
    pub fn ip_defttl(&self) -> u8 {
        u8::try_from(self.int(Self::IP_DEFTTL)).unwrap_or(64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORWARDING: [i32; 4] = [CTL_NET, 2, 0, IPCTL_FORWARDING];

    fn read_int(s: &mut Sysctl, name: &[i32]) -> Result<i32, Errno> {
        let mut b = [0u8; 4];
        let mut len = 4;
        s.sysctl(name, Some(&mut b), &mut len, None)?;
        assert_eq!(len, 4);
        Ok(i32::from_ne_bytes(b))
    }

    fn write(s: &mut Sysctl, name: &[i32], new: &[u8]) -> Result<(), Errno> {
        let mut len = 0;
        s.sysctl(name, None, &mut len, Some(new))
    }

    #[test]
    fn builtin_nodes_have_netbsd_numbers_and_values() {
        let s = Sysctl::new();
        assert_eq!(
            s.lookup_name("net.inet.ip.forwarding"),
            Some(vec![4, 2, 0, 1])
        );
        assert_eq!(s.lookup_name("net.inet.ip.ttl"), Some(vec![4, 2, 0, 3]));
        assert_eq!(
            s.lookup_name("net.inet.udp.sendspace"),
            Some(vec![4, 2, 17, 2])
        );
        assert_eq!(
            s.lookup_name("net.inet.udp.recvspace"),
            Some(vec![4, 2, 17, 3])
        );
        assert_eq!(s.lookup_name("net.inet"), Some(vec![4, 2]));
        assert_eq!(s.lookup_name("net.inet.ip.nosuch"), None);
        assert_eq!(s.lookup_name(""), None);
        assert_eq!(s.get_int("net.inet.ip.forwarding"), Some(0));
        assert_eq!(s.get_int("net.inet.ip.ttl"), Some(64));
        assert_eq!(s.get_int("net.inet.udp.sendspace"), Some(9216));
        assert_eq!(s.get_int("net.inet.udp.recvspace"), Some(41600));
        assert_eq!(s.get_int("net.inet"), None);
        assert_eq!(
            s.id_of("net.inet.ip.forwarding"),
            Some(Sysctl::IP_FORWARDING)
        );
        assert_eq!(s.id_of("net.inet.ip.ttl"), Some(Sysctl::IP_DEFTTL));
        assert_eq!(
            s.id_of("net.inet.udp.sendspace"),
            Some(Sysctl::UDP_SENDSPACE)
        );
        assert_eq!(
            s.id_of("net.inet.udp.recvspace"),
            Some(Sysctl::UDP_RECVSPACE)
        );
        assert_eq!(s.id_of(""), None);
        let node = s.node(Sysctl::IP_FORWARDING).unwrap();
        assert_eq!(
            (node.name, node.num, node.kind, node.writable),
            ("forwarding", 1, SysctlKind::Int, true)
        );
        assert_eq!(node.kind.ctltype(), CTLTYPE_INT);
        let ip = s.id_of("net.inet.ip").unwrap();
        let kids: Vec<i32> = s.children(ip).map(|c| s.node(c).unwrap().num).collect();
        assert_eq!(kids, [1, 3]);
        assert!(!s.ip_forwarding());
        assert_eq!(s.ip_defttl(), 64);
    }

    #[test]
    fn get_and_set_forwarding() {
        let mut s = Sysctl::new();
        assert_eq!(read_int(&mut s, &FORWARDING), Ok(0));
        // Read the old value and write the new one in one call.
        let mut b = [0xffu8; 4];
        let mut len = 4;
        s.sysctl(
            &FORWARDING,
            Some(&mut b),
            &mut len,
            Some(&1i32.to_ne_bytes()),
        )
        .unwrap();
        assert_eq!(i32::from_ne_bytes(b), 0);
        assert_eq!(s.int(Sysctl::IP_FORWARDING), 1);
        assert!(s.ip_forwarding());
        assert_eq!(read_int(&mut s, &FORWARDING), Ok(1));
        assert_eq!(s.get_int("net.inet.ip.forwarding"), Some(1));
        // The kernel's own path, for RUMP_NET's `forward`.
        s.set(Sysctl::IP_FORWARDING, SysctlValue::Int(0)).unwrap();
        assert!(!s.ip_forwarding());
        assert_eq!(
            s.set(Sysctl::IP_FORWARDING, SysctlValue::Quad(1)),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            s.set(SysctlId(999), SysctlValue::Int(1)),
            Err(Errno::ENOENT)
        );
        assert_eq!(
            s.set(s.id_of("net.inet").unwrap(), SysctlValue::Int(1)),
            Err(Errno::EINVAL)
        );
    }

    #[test]
    fn short_buffer_is_enomem_with_the_needed_length() {
        let mut s = Sysctl::new();
        let ttl = [CTL_NET, 2, 0, IPCTL_DEFTTL];
        let mut b = [0u8; 2];
        let mut len = 2;
        assert_eq!(
            s.sysctl(&ttl, Some(&mut b), &mut len, None),
            Err(Errno::ENOMEM)
        );
        assert_eq!(len, 4);
        assert_eq!(b, 64i32.to_ne_bytes()[..2], "partial copy");
        // *oldlenp limits the room even when the slice is larger.
        let mut b = [0u8; 8];
        let mut len = 3;
        assert_eq!(
            s.sysctl(&ttl, Some(&mut b), &mut len, None),
            Err(Errno::ENOMEM)
        );
        assert_eq!((len, b[3]), (4, 0));
        let mut len = 0;
        assert_eq!(
            s.sysctl(&ttl, Some(&mut b), &mut len, None),
            Err(Errno::ENOMEM)
        );
        assert_eq!(len, 4);
        // A larger buffer is fine and says how much was written.
        let mut len = 8;
        s.sysctl(&ttl, Some(&mut b), &mut len, None).unwrap();
        assert_eq!(len, 4);
        // The write still happens when the old buffer is short, as in NetBSD.
        let mut b = [0u8; 1];
        let mut len = 1;
        let new = 32i32.to_ne_bytes();
        assert_eq!(
            s.sysctl(&ttl, Some(&mut b), &mut len, Some(&new)),
            Err(Errno::ENOMEM)
        );
        assert_eq!(s.ip_defttl(), 32);
    }

    #[test]
    fn null_old_reports_the_length() {
        let mut s = Sysctl::new();
        let mut len = 0;
        s.sysctl(&FORWARDING, None, &mut len, None).unwrap();
        assert_eq!(len, 4);
        // kern.ostype is built in.
        let mut len = 0;
        s.sysctl(&[CTL_KERN, 1], None, &mut len, None).unwrap();
        assert_eq!(len, 7, "with its NUL");
        let mut b = [0xffu8; 16];
        let mut len = 16;
        s.sysctl(&[CTL_KERN, 1], Some(&mut b), &mut len, None)
            .unwrap();
        assert_eq!(&b[..len], b"NetBSD\0");
    }

    #[test]
    fn unknown_names_and_nodes() {
        let mut s = Sysctl::new();
        assert_eq!(read_int(&mut s, &[CTL_NET, 2, 0, 99]), Err(Errno::ENOENT));
        assert_eq!(read_int(&mut s, &[CTL_NET, 99]), Err(Errno::ENOENT));
        assert_eq!(read_int(&mut s, &[CTL_VM]), Err(Errno::ENOENT));
        assert_eq!(
            read_int(&mut s, &[CTL_NET, 2, 0, 1, 5]),
            Err(Errno::ENOTDIR)
        );
        assert_eq!(
            read_int(&mut s, &[CTL_NET, 2, 0]),
            Err(Errno::EINVAL),
            "a node"
        );
        assert_eq!(read_int(&mut s, &[]), Err(Errno::EINVAL));
        assert_eq!(read_int(&mut s, &[4; 13]), Err(Errno::EINVAL));
        assert_eq!(
            read_int(&mut s, &[CTL_NET, 2, 0, CTL_QUERY]),
            Err(Errno::EOPNOTSUPP)
        );
        assert_eq!(read_int(&mut s, &[CTL_NET, -2, 0]), Err(Errno::ENOENT));
    }

    #[test]
    fn read_only_write_is_eperm() {
        let mut s = Sysctl::new();
        let id = s
            .register(
                &[("kern", CTL_KERN), ("osrevision", 3)],
                SysctlValue::Int(1000000000),
                false,
                None,
            )
            .unwrap();
        let name = [CTL_KERN, 3];
        let mut b = [0u8; 4];
        let mut len = 4;
        let new = 5i32.to_ne_bytes();
        assert_eq!(
            s.sysctl(&name, Some(&mut b), &mut len, Some(&new)),
            Err(Errno::EPERM)
        );
        assert_eq!((b, len), ([0; 4], 4), "nothing copied out");
        assert_eq!(s.int(id), 1000000000);
        // An empty new value is a read.
        s.sysctl(&name, Some(&mut b), &mut len, Some(&[])).unwrap();
        assert_eq!(i32::from_ne_bytes(b), 1000000000);
        // The kernel itself may.
        s.set(id, SysctlValue::Int(7)).unwrap();
        assert_eq!(s.int(id), 7);
    }

    #[test]
    fn wrong_write_sizes_are_einval() {
        let mut s = Sysctl::new();
        assert_eq!(write(&mut s, &FORWARDING, &[1, 0]), Err(Errno::EINVAL));
        assert_eq!(
            write(&mut s, &FORWARDING, &[1, 0, 0, 0, 0, 0, 0, 0]),
            Err(Errno::EINVAL)
        );
        assert!(!s.ip_forwarding());
        let q = s
            .register(
                &[("kern", CTL_KERN), ("hardclock_ticks", 80)],
                SysctlValue::Quad(-1),
                true,
                None,
            )
            .unwrap();
        assert_eq!(write(&mut s, &[CTL_KERN, 80], &[0; 4]), Err(Errno::EINVAL));
        write(&mut s, &[CTL_KERN, 80], &(1i64 << 40).to_ne_bytes()).unwrap();
        assert_eq!(s.quad(q), 1 << 40);
        let st = s
            .register(
                &[("kern", CTL_KERN), ("boottime", 21)],
                SysctlValue::Struct(vec![0; 16]),
                true,
                None,
            )
            .unwrap();
        assert_eq!(write(&mut s, &[CTL_KERN, 21], &[1; 15]), Err(Errno::EINVAL));
        write(&mut s, &[CTL_KERN, 21], &[1; 16]).unwrap();
        assert_eq!(s.value(st), Some(&SysctlValue::Struct(vec![1; 16])));
        assert_eq!(
            s.set(st, SysctlValue::Struct(vec![2; 3])),
            Err(Errno::EINVAL)
        );
        assert_eq!(s.int(st), 0, "not an int");
        assert_eq!(s.quad(Sysctl::IP_FORWARDING), 0, "not a quad");
    }

    #[test]
    fn checks_refuse_bad_values() {
        let mut s = Sysctl::new();
        let ttl = [CTL_NET, 2, 0, IPCTL_DEFTTL];
        assert_eq!(write(&mut s, &ttl, &0i32.to_ne_bytes()), Err(Errno::EINVAL));
        assert_eq!(
            write(&mut s, &ttl, &256i32.to_ne_bytes()),
            Err(Errno::EINVAL)
        );
        write(&mut s, &ttl, &255i32.to_ne_bytes()).unwrap();
        assert_eq!(s.ip_defttl(), 255);
        let space = [CTL_NET, 2, 17, UDPCTL_RECVSPACE];
        assert_eq!(
            write(&mut s, &space, &(-1i32).to_ne_bytes()),
            Err(Errno::EINVAL)
        );
        assert_eq!(s.int(Sysctl::UDP_RECVSPACE), UDP_RECVSPACE);
        assert_eq!(
            s.set(Sysctl::UDP_SENDSPACE, SysctlValue::Int(0)),
            Err(Errno::EINVAL)
        );
    }

    #[test]
    fn strings() {
        let mut s = Sysctl::new();
        let id = s
            .register(
                &[("kern", CTL_KERN), ("hostname", 10)],
                SysctlValue::Str(String::new()),
                true,
                None,
            )
            .unwrap();
        let name = [CTL_KERN, 10];
        write(&mut s, &name, b"rump").unwrap();
        assert_eq!(s.value(id), Some(&SysctlValue::Str("rump".into())));
        write(&mut s, &name, b"host\0junk").unwrap();
        assert_eq!(s.value(id), Some(&SysctlValue::Str("host".into())));
        assert_eq!(
            write(&mut s, &name, &[b'a'; STRING_SIZE]),
            Err(Errno::EINVAL)
        );
        let mut full = vec![b'a'; STRING_SIZE];
        full[STRING_SIZE - 1] = 0;
        write(&mut s, &name, &full).unwrap();
        assert_eq!(
            write(&mut s, &name, &[b'a'; STRING_SIZE + 1]),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            write(&mut s, &name, &[0xff, 0xfe]),
            Err(Errno::EINVAL),
            "not UTF-8"
        );
        let mut len = 0;
        s.sysctl(&name, None, &mut len, None).unwrap();
        assert_eq!(len, STRING_SIZE);
    }

    #[test]
    fn register_errors() {
        let mut s = Sysctl::new();
        let one = SysctlValue::Int(1);
        let r = |s: &mut Sysctl, path: &[(&'static str, i32)]| {
            s.register(path, one.clone(), true, None)
        };
        let net = ("net", CTL_NET);
        let inet = ("inet", 2);
        let ip = ("ip", 0);
        assert_eq!(
            r(&mut s, &[net, inet, ip, ("forwarding", 1)]),
            Err(Errno::EEXIST)
        );
        assert_eq!(
            r(&mut s, &[net, inet, ip, ("forwarding", 40)]),
            Err(Errno::EEXIST),
            "name taken"
        );
        assert_eq!(
            r(&mut s, &[net, inet, ip, ("other", 1)]),
            Err(Errno::EEXIST),
            "number taken"
        );
        assert_eq!(
            r(&mut s, &[net, ("inet", 5), ("x", 1)]),
            Err(Errno::EEXIST),
            "inet is 2"
        );
        assert_eq!(
            r(&mut s, &[net, inet, ip, ("forwarding", 1), ("x", 1)]),
            Err(Errno::ENOTDIR)
        );
        assert_eq!(r(&mut s, &[]), Err(Errno::EINVAL));
        assert_eq!(r(&mut s, &[net, ("x", -1)]), Err(Errno::EINVAL));
        assert_eq!(r(&mut s, &[net, ("9lives", 50)]), Err(Errno::EINVAL));
        assert_eq!(r(&mut s, &[net, ("a.b", 50)]), Err(Errno::EINVAL));
        assert_eq!(r(&mut s, &[net, ("", 50)]), Err(Errno::EINVAL));
        let long: &'static str = "abcdefghijklmnopqrstuvwxyz012345";
        assert_eq!(r(&mut s, &[net, (long, 50)]), Err(Errno::EINVAL));
        assert_eq!(r(&mut s, &[("a", 1); 13]), Err(Errno::EINVAL));
        let big = SysctlValue::Str("x".repeat(STRING_SIZE));
        assert_eq!(
            s.register(&[("kern", 1), ("v", 4)], big, false, None),
            Err(Errno::EINVAL)
        );
        let nul = SysctlValue::Str("a\0b".into());
        assert_eq!(
            s.register(&[("kern", 1), ("v", 4)], nul, false, None),
            Err(Errno::EINVAL)
        );
        // Sibling subtrees share their common nodes and stay sorted by number.
        let tcp = r(&mut s, &[net, inet, ("tcp", 6), ("mssdflt", 4)]).unwrap();
        r(&mut s, &[net, inet, ("icmp", 1), ("maskrepl", 1)]).unwrap();
        assert_eq!(
            s.lookup_name("net.inet.tcp.mssdflt"),
            Some(vec![4, 2, 6, 4])
        );
        let inet_id = s.id_of("net.inet").unwrap();
        let kids: Vec<i32> = s
            .children(inet_id)
            .map(|c| s.node(c).unwrap().num)
            .collect();
        assert_eq!(kids, [0, 1, 6, 17]);
        assert_eq!(read_int(&mut s, &[4, 2, 6, 4]), Ok(1));
        assert_eq!(s.int(tcp), 1);
    }
}
