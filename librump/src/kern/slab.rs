//! A slab of values addressed by index and generation.
//!
//! Sockets, open files and protocol control blocks live in slabs so that a handle is
//! two integers (no reference counting, no pointers) and a stale handle — a socket that
//! has been closed and whose slot was reused — is detected instead of aliasing.

/// A handle into a [`Slab`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SlabId {
    index: u32,
    gen: u32,
}

impl SlabId {
    /// The slot number (stable while the value lives).
    pub fn index(self) -> usize {
        self.index as usize
    }

    /// A number that identifies this handle uniquely for a long time (for hashing).
    pub fn as_u64(self) -> u64 {
        (u64::from(self.gen) << 32) | u64::from(self.index)
    }

    /// The inverse of [`SlabId::as_u64`].
    pub fn from_u64(v: u64) -> SlabId {
        SlabId {
            index: v as u32,
            gen: (v >> 32) as u32,
        }
    }
}

enum Slot<T> {
    Used { gen: u32, val: T },
    Free { gen: u32, next: Option<u32> },
}

/// A growable arena with O(1) insert and remove and a free list.
pub struct Slab<T> {
    slots: Vec<Slot<T>>,
    free: Option<u32>,
    len: usize,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            slots: Vec::new(),
            free: None,
            len: 0,
        }
    }
}

impl<T> Slab<T> {
    /// An empty slab.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of live values.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no live values.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of slots ever made (live and free).
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Store a value and return its handle.
    pub fn insert(&mut self, val: T) -> SlabId {
        self.len += 1;
        if let Some(i) = self.free {
            let slot = &mut self.slots[i as usize];
            let (gen, next) = match slot {
                Slot::Free { gen, next } => (gen.wrapping_add(1), *next),
                Slot::Used { .. } => unreachable!("free list points at a used slot"),
            };
            *slot = Slot::Used { gen, val };
            self.free = next;
            SlabId { index: i, gen }
        } else {
            let index = self.slots.len() as u32;
            self.slots.push(Slot::Used { gen: 0, val });
            SlabId { index, gen: 0 }
        }
    }

    /// Remove a value; `None` if the handle is stale.
    pub fn remove(&mut self, id: SlabId) -> Option<T> {
        let slot = self.slots.get_mut(id.index as usize)?;
        match slot {
            Slot::Used { gen, .. } if *gen == id.gen => {
                let old = std::mem::replace(
                    slot,
                    Slot::Free {
                        gen: id.gen,
                        next: self.free,
                    },
                );
                self.free = Some(id.index);
                self.len -= 1;
                match old {
                    Slot::Used { val, .. } => Some(val),
                    Slot::Free { .. } => None,
                }
            }
            _ => None,
        }
    }

    /// The value behind a handle.
    pub fn get(&self, id: SlabId) -> Option<&T> {
        match self.slots.get(id.index as usize)? {
            Slot::Used { gen, val } if *gen == id.gen => Some(val),
            _ => None,
        }
    }

    /// The value behind a handle, mutably.
    pub fn get_mut(&mut self, id: SlabId) -> Option<&mut T> {
        match self.slots.get_mut(id.index as usize)? {
            Slot::Used { gen, val } if *gen == id.gen => Some(val),
            _ => None,
        }
    }

    /// Whether the handle is live.
    pub fn contains(&self, id: SlabId) -> bool {
        self.get(id).is_some()
    }

    /// Handles of all live values.
    pub fn ids(&self) -> Vec<SlabId> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match s {
                Slot::Used { gen, .. } => Some(SlabId {
                    index: i as u32,
                    gen: *gen,
                }),
                Slot::Free { .. } => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_handles_do_not_alias() {
        let mut s = Slab::new();
        let a = s.insert(1);
        assert_eq!(s.remove(a), Some(1));
        let b = s.insert(2);
        assert_eq!(a.index(), b.index());
        assert!(s.get(a).is_none());
        assert_eq!(s.remove(a), None);
        assert_eq!(s.get(b), Some(&2));
        assert_eq!(SlabId::from_u64(b.as_u64()), b);
        assert_eq!(s.len(), 1);
        assert_eq!(s.capacity(), 1);
    }
}
