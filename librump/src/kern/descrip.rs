//! The descriptor table (NetBSD: kern_descrip.c, sys/filedesc.h).
//!
//! A descriptor names an open file; `dup` makes a second descriptor for the same open
//! file, which counts its references and is closed with its last descriptor. The lowest
//! free descriptor is always the one handed out, as POSIX requires.

use super::errno::Errno;
use super::slab::{Slab, SlabId};

/// Default limit on open descriptors (RLIMIT_NOFILE of the virtual process).
pub const DEFAULT_MAXFILES: usize = 1 << 16;

/// What an open file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// A socket (DTYPE_SOCKET).
    Socket(SlabId),
}

/// An open file (`struct file`).
#[derive(Debug)]
pub struct File {
    /// The object behind it.
    pub f_kind: FileKind,
    /// Descriptors that refer to it.
    pub f_count: u32,
}

#[derive(Clone, Copy, Debug)]
struct FdEntry {
    file: SlabId,
    cloexec: bool,
}

/// The descriptor table of the virtual process.
pub struct Filedesc {
    fds: Vec<Option<FdEntry>>,
    files: Slab<File>,
    /// No descriptor below this is free (fd_freefile hint).
    lowest_free: usize,
    /// How many descriptors may be open.
    pub maxfiles: usize,
    open: usize,
}

impl Filedesc {
    /// An empty table with a limit.
    pub fn new(maxfiles: usize) -> Self {
        Filedesc {
            fds: Vec::new(),
            files: Slab::new(),
            lowest_free: 0,
            maxfiles,
            open: 0,
        }
    }

    /// Number of open descriptors.
    pub fn open_count(&self) -> usize {
        self.open
    }

    /// Number of open files (several descriptors may share one).
    pub fn file_count(&self) -> usize {
        self.files.len()
    }

    /// Size of the table (highest descriptor ever used + 1, shrinks when the top closes).
    pub fn table_len(&self) -> usize {
        self.fds.len()
    }

    fn find_free(&self, from: usize) -> Result<usize, Errno> {
        // No descriptor below `lowest_free` is free.
        let start = from.max(self.lowest_free);
        let mut fd = start;
        while fd < self.fds.len() && self.fds[fd].is_some() {
            fd += 1;
        }
        if fd >= self.maxfiles {
            return Err(Errno::EMFILE);
        }
        Ok(fd)
    }

    fn set(&mut self, fd: usize, e: FdEntry) {
        if fd >= self.fds.len() {
            self.fds.resize(fd + 1, None);
        }
        debug_assert!(self.fds[fd].is_none());
        self.fds[fd] = Some(e);
        self.open += 1;
        if fd == self.lowest_free {
            self.lowest_free += 1;
            while self.lowest_free < self.fds.len() && self.fds[self.lowest_free].is_some() {
                self.lowest_free += 1;
            }
        }
    }

    /// Open a new file and give it the lowest free descriptor (fd_allocfile).
    ///
    /// # Errors
    /// `EMFILE` when the table is full.
    pub fn alloc(&mut self, kind: FileKind, cloexec: bool) -> Result<i32, Errno> {
        let fd = self.find_free(0)?;
        let file = self.files.insert(File {
            f_kind: kind,
            f_count: 1,
        });
        self.set(fd, FdEntry { file, cloexec });
        Ok(fd as i32)
    }

    /// Check whether a new file could be opened now (so a protocol is attached only
    /// when a descriptor will be there for it).
    ///
    /// # Errors
    /// `EMFILE`.
    pub fn reserve_check(&self) -> Result<(), Errno> {
        self.find_free(0).map(|_| ())
    }

    fn entry(&self, fd: i32) -> Result<FdEntry, Errno> {
        if fd < 0 {
            return Err(Errno::EBADF);
        }
        self.fds
            .get(fd as usize)
            .copied()
            .flatten()
            .ok_or(Errno::EBADF)
    }

    /// The object behind a descriptor (fd_getfile).
    ///
    /// # Errors
    /// `EBADF` when `fd` is not open.
    pub fn get(&self, fd: i32) -> Result<FileKind, Errno> {
        let e = self.entry(fd)?;
        Ok(self
            .files
            .get(e.file)
            .expect("fd points at a closed file")
            .f_kind)
    }

    /// The close-on-exec flag.
    ///
    /// # Errors
    /// `EBADF`.
    pub fn cloexec(&self, fd: i32) -> Result<bool, Errno> {
        Ok(self.entry(fd)?.cloexec)
    }

    /// Set the close-on-exec flag.
    ///
    /// # Errors
    /// `EBADF`.
    pub fn set_cloexec(&mut self, fd: i32, on: bool) -> Result<(), Errno> {
        self.entry(fd)?;
        if let Some(Some(e)) = self.fds.get_mut(fd as usize) {
            e.cloexec = on;
        }
        Ok(())
    }

    /// A second descriptor for the same file, the lowest free at or above `min`
    /// (dup, F_DUPFD).
    ///
    /// # Errors
    /// `EBADF`, `EMFILE`, `EINVAL` for a negative `min`.
    pub fn dup(&mut self, fd: i32, min: i32, cloexec: bool) -> Result<i32, Errno> {
        let e = self.entry(fd)?;
        if min < 0 {
            return Err(Errno::EINVAL);
        }
        if min as usize >= self.maxfiles {
            return Err(Errno::EINVAL);
        }
        let newfd = self.find_free(min as usize)?;
        self.files.get_mut(e.file).expect("live file").f_count += 1;
        self.set(
            newfd,
            FdEntry {
                file: e.file,
                cloexec,
            },
        );
        Ok(newfd as i32)
    }

    /// Make `to` refer to the file of `from`, closing what `to` had (dup2). Returns the
    /// file `to` referred to before if this was its last descriptor, for the caller to
    /// close.
    ///
    /// # Errors
    /// `EBADF` for a closed `from` or an out-of-range `to`.
    pub fn dup2(&mut self, from: i32, to: i32) -> Result<Option<FileKind>, Errno> {
        let e = self.entry(from)?;
        if to < 0 || to as usize >= self.maxfiles {
            return Err(Errno::EBADF);
        }
        if from == to {
            return Ok(None);
        }
        let old = if self.entry(to).is_ok() {
            self.close(to)?
        } else {
            None
        };
        self.files.get_mut(e.file).expect("live file").f_count += 1;
        self.set(
            to as usize,
            FdEntry {
                file: e.file,
                cloexec: false,
            },
        );
        Ok(old)
    }

    /// Release a descriptor; returns the file's object if this was its last
    /// descriptor (the caller then closes the object).
    ///
    /// # Errors
    /// `EBADF` when `fd` is not open.
    pub fn close(&mut self, fd: i32) -> Result<Option<FileKind>, Errno> {
        let e = self.entry(fd)?;
        self.fds[fd as usize] = None;
        self.open -= 1;
        if (fd as usize) < self.lowest_free {
            self.lowest_free = fd as usize;
        }
        while matches!(self.fds.last(), Some(None)) {
            self.fds.pop();
        }
        if self.fds.capacity() > 64 && self.fds.len() < self.fds.capacity() / 4 {
            self.fds.shrink_to(self.fds.len().max(64));
        }
        let f = self.files.get_mut(e.file).expect("live file");
        f.f_count -= 1;
        if f.f_count == 0 {
            let f = self.files.remove(e.file).expect("live file");
            Ok(Some(f.f_kind))
        } else {
            Ok(None)
        }
    }

    /// All open descriptors.
    pub fn open_fds(&self) -> Vec<i32> {
        self.fds
            .iter()
            .enumerate()
            .filter(|(_, e)| e.is_some())
            .map(|(i, _)| i as i32)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sock(n: u64) -> FileKind {
        FileKind::Socket(SlabId::from_u64(n))
    }

    #[test]
    fn lowest_free_descriptor_first() {
        let mut fd = Filedesc::new(16);
        assert_eq!(fd.alloc(sock(1), false), Ok(0));
        assert_eq!(fd.alloc(sock(2), false), Ok(1));
        assert_eq!(fd.alloc(sock(3), false), Ok(2));
        assert_eq!(fd.close(1), Ok(Some(sock(2))));
        assert_eq!(fd.alloc(sock(4), false), Ok(1));
        assert_eq!(fd.alloc(sock(5), false), Ok(3));
        assert_eq!(fd.close(7), Err(Errno::EBADF));
        assert_eq!(fd.get(-1), Err(Errno::EBADF));
    }

    #[test]
    fn dup_shares_the_file_until_the_last_close() {
        let mut fd = Filedesc::new(16);
        let a = fd.alloc(sock(9), true).unwrap();
        let b = fd.dup(a, 0, false).unwrap();
        assert_eq!(b, 1);
        assert!(!fd.cloexec(b).unwrap());
        assert_eq!(fd.file_count(), 1);
        assert_eq!(fd.close(a), Ok(None));
        assert_eq!(fd.get(b), Ok(sock(9)));
        assert_eq!(fd.close(b), Ok(Some(sock(9))));
        assert_eq!(fd.file_count(), 0);
        assert_eq!(fd.table_len(), 0);
    }

    #[test]
    fn dup_with_minimum_and_dup2() {
        let mut fd = Filedesc::new(16);
        let a = fd.alloc(sock(1), false).unwrap();
        let c = fd.dup(a, 10, false).unwrap();
        assert_eq!(c, 10);
        let b = fd.alloc(sock(2), false).unwrap();
        assert_eq!(b, 1);
        // dup2 onto b closes b's file, which had no other descriptor
        assert_eq!(fd.dup2(a, b), Ok(Some(sock(2))));
        assert_eq!(fd.get(b), Ok(sock(1)));
        assert_eq!(fd.dup2(a, a), Ok(None));
        assert_eq!(fd.dup2(a, 16), Err(Errno::EBADF));
        assert_eq!(fd.dup2(5, 6), Err(Errno::EBADF));
        assert_eq!(fd.dup(a, 16, false), Err(Errno::EINVAL));
    }

    #[test]
    fn table_full_is_emfile_and_churn_returns_to_empty() {
        let mut fd = Filedesc::new(4);
        for i in 0..4 {
            assert_eq!(fd.alloc(sock(i), false), Ok(i as i32));
        }
        assert_eq!(fd.alloc(sock(9), false), Err(Errno::EMFILE));
        assert_eq!(fd.dup(0, 0, false), Err(Errno::EMFILE));
        for i in 0..4 {
            fd.close(i).unwrap();
        }
        for round in 0..10_000u64 {
            let a = fd.alloc(sock(round), false).unwrap();
            let b = fd.dup(a, 0, false).unwrap();
            fd.close(a).unwrap();
            fd.close(b).unwrap();
        }
        assert_eq!(fd.open_count(), 0);
        assert_eq!(fd.file_count(), 0);
        assert_eq!(fd.table_len(), 0);
    }
}
