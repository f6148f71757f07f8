//! Classic pcap files (the libpcap format tcpdump and Wireshark read), for the `pcap`
//! statement of `RUMP_NET` and for tests.
//!
//! The file is a 24-byte global header (magic 0xa1b2c3d4 for microsecond timestamps,
//! version 2.4, snaplen 65535, link type 1 = Ethernet) and then one 16-byte record header
//! per frame (seconds, microseconds, captured length, original length) followed by the
//! captured bytes. The writer uses little-endian byte order, which readers recognise by
//! the magic; [`PcapReader`] reads either order, and nanosecond files (0xa1b23c4d) too.
//!
//! Time is passed in (STYLE.md habit 9): the caller stamps each frame with its own clock,
//! since the UNIX epoch for files a human reads, or since boot under a fake clock.

use std::io::{self, Read, Write};
use std::time::Duration;

/// The microsecond magic number.
pub const MAGIC_MICROS: u32 = 0xa1b2_c3d4;
/// The nanosecond magic number (read only).
pub const MAGIC_NANOS: u32 = 0xa1b2_3c4d;
/// The snapshot length written: whole frames up to 64 KiB.
pub const SNAPLEN: u32 = 65535;
/// LINKTYPE_ETHERNET.
pub const LINKTYPE_ETHERNET: u32 = 1;
/// LINKTYPE_RAW: bare IPv4/IPv6 packets (what lo0 carries).
pub const LINKTYPE_RAW: u32 = 101;

/// The longest record the reader accepts; anything longer is a corrupt file, not a frame.
const MAX_RECORD: u32 = 256 * 1024;

/// Writes frames to a pcap file.
#[derive(Debug)]
pub struct PcapWriter<W: Write> {
    out: W,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the global header to `out`.
    ///
    /// # Errors
    ///
    /// Those of the write.
    pub fn new(out: W) -> io::Result<Self> {
        Self::with_linktype(out, LINKTYPE_ETHERNET)
    }

    /// A writer for another link type ([`LINKTYPE_RAW`] for bare IP packets).
    ///
    /// # Errors
    /// When the global header cannot be written.
    pub fn with_linktype(mut out: W, linktype: u32) -> io::Result<Self> {
        let mut header = [0u8; 24];
        header[0..4].copy_from_slice(&MAGIC_MICROS.to_le_bytes());
        header[4..6].copy_from_slice(&2u16.to_le_bytes());
        header[6..8].copy_from_slice(&4u16.to_le_bytes());
        // thiszone and sigfigs stay zero.
        header[16..20].copy_from_slice(&SNAPLEN.to_le_bytes());
        header[20..24].copy_from_slice(&linktype.to_le_bytes());
        out.write_all(&header)?;
        Ok(PcapWriter { out })
    }

    /// Writes one frame stamped `ts`. A frame longer than the snaplen is cut to it, with its
    /// original length recorded; seconds past 2106 wrap, as the format's 32 bits do.
    ///
    /// # Errors
    ///
    /// Those of the write.
    pub fn write_packet(&mut self, ts: Duration, frame: &[u8]) -> io::Result<()> {
        let captured = frame.get(..SNAPLEN as usize).unwrap_or(frame);
        let mut record = [0u8; 16];
        record[0..4].copy_from_slice(&(ts.as_secs() as u32).to_le_bytes());
        record[4..8].copy_from_slice(&ts.subsec_micros().to_le_bytes());
        record[8..12].copy_from_slice(&(captured.len() as u32).to_le_bytes());
        let orig_len = u32::try_from(frame.len()).unwrap_or(u32::MAX);
        record[12..16].copy_from_slice(&orig_len.to_le_bytes());
        self.out.write_all(&record)?;
        self.out.write_all(captured)
    }

    /// Flushes the underlying writer.
    ///
    /// # Errors
    ///
    /// Those of the flush.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// The underlying writer.
    pub fn into_inner(self) -> W {
        self.out
    }
}

/// Reads a pcap file record by record: an iterator of `(timestamp, frame)`.
#[derive(Debug)]
pub struct PcapReader<R: Read> {
    input: R,
    big_endian: bool,
    nanos: bool,
    snaplen: u32,
    linktype: u32,
    done: bool,
}

impl<R: Read> PcapReader<R> {
    /// Reads and checks the global header.
    ///
    /// # Errors
    ///
    /// `InvalidData` for an unknown magic number; `UnexpectedEof` for a short header.
    pub fn new(mut input: R) -> io::Result<Self> {
        let mut header = [0u8; 24];
        input.read_exact(&mut header)?;
        let magic = [header[0], header[1], header[2], header[3]];
        let (big_endian, nanos) = match (u32::from_le_bytes(magic), u32::from_be_bytes(magic)) {
            (MAGIC_MICROS, _) => (false, false),
            (MAGIC_NANOS, _) => (false, true),
            (_, MAGIC_MICROS) => (true, false),
            (_, MAGIC_NANOS) => (true, true),
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "not a pcap file: bad magic number",
                ))
            }
        };
        let mut reader = PcapReader {
            input,
            big_endian,
            nanos,
            snaplen: 0,
            linktype: 0,
            done: false,
        };
        reader.snaplen = reader.u32_at(&header, 16);
        reader.linktype = reader.u32_at(&header, 20);
        Ok(reader)
    }

    /// The snapshot length of the file.
    pub fn snaplen(&self) -> u32 {
        self.snaplen
    }

    /// The link type of the file (1 for Ethernet).
    pub fn linktype(&self) -> u32 {
        self.linktype
    }

    fn u32_at(&self, bytes: &[u8], at: usize) -> u32 {
        let word = [bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]];
        if self.big_endian {
            u32::from_be_bytes(word)
        } else {
            u32::from_le_bytes(word)
        }
    }

    /// The next record, `Ok(None)` at a clean end of file.
    fn next_record(&mut self) -> io::Result<Option<(Duration, Vec<u8>)>> {
        let mut header = [0u8; 16];
        // A clean end is zero bytes where a record header would start.
        let mut got = 0;
        while got < header.len() {
            match self.input.read(&mut header[got..]) {
                Ok(0) if got == 0 => return Ok(None),
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let secs = self.u32_at(&header, 0);
        let frac = self.u32_at(&header, 4);
        let incl_len = self.u32_at(&header, 8);
        if incl_len > MAX_RECORD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "pcap record longer than any frame",
            ));
        }
        let nanos = if self.nanos {
            frac
        } else {
            frac.saturating_mul(1000)
        };
        // A corrupt fraction of a second carries into the seconds instead of panicking.
        let ts = Duration::from_secs(u64::from(secs)) + Duration::from_nanos(u64::from(nanos));
        let mut frame = vec![0u8; incl_len as usize];
        self.input.read_exact(&mut frame)?;
        Ok(Some((ts, frame)))
    }
}

impl<R: Read> Iterator for PcapReader<R> {
    type Item = io::Result<(Duration, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let record = self.next_record();
        if !matches!(record, Ok(Some(_))) {
            self.done = true;
        }
        record.transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::fuzz;

    fn frames() -> Vec<(Duration, Vec<u8>)> {
        let seeds = fuzz::seeds_ethernet();
        vec![
            (Duration::new(1_700_000_000, 123_456_000), seeds[0].clone()),
            (Duration::new(1_700_000_000, 999_999_000), seeds[1].clone()),
            (Duration::new(1_700_000_001, 0), seeds[2].clone()),
        ]
    }

    fn file(frames: &[(Duration, Vec<u8>)]) -> Vec<u8> {
        let mut writer = PcapWriter::new(Vec::new()).unwrap();
        for (ts, frame) in frames {
            writer.write_packet(*ts, frame).unwrap();
        }
        writer.flush().unwrap();
        writer.into_inner()
    }

    #[test]
    fn write_then_read_back() {
        let frames = frames();
        let bytes = file(&frames);
        assert_eq!(&bytes[..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
        assert_eq!(
            bytes.len(),
            24 + frames.iter().map(|f| 16 + f.1.len()).sum::<usize>()
        );
        let reader = PcapReader::new(&bytes[..]).unwrap();
        assert_eq!(
            (reader.snaplen(), reader.linktype()),
            (SNAPLEN, LINKTYPE_ETHERNET)
        );
        let read: Vec<_> = reader.map(Result::unwrap).collect();
        assert_eq!(read, frames);
    }

    #[test]
    fn big_endian_and_nanosecond_files() {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&MAGIC_NANOS.to_be_bytes());
        bytes.extend_from_slice(&[0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0]);
        bytes.extend_from_slice(&SNAPLEN.to_be_bytes());
        bytes.extend_from_slice(&LINKTYPE_ETHERNET.to_be_bytes());
        for word in [5u32, 7, 3, 3] {
            bytes.extend_from_slice(&word.to_be_bytes());
        }
        bytes.extend_from_slice(&[1, 2, 3]);
        let read: Vec<_> = PcapReader::new(&bytes[..])
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(read, [(Duration::new(5, 7), vec![1, 2, 3])]);
    }

    #[test]
    fn bad_files() {
        let err = PcapReader::new(&[0u8; 24][..]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let err = PcapReader::new(&[0xd4, 0xc3, 0xb2][..]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        // A file cut inside a record: one error, then the end.
        let bytes = file(&frames());
        let mut reader = PcapReader::new(&bytes[..bytes.len() - 1]).unwrap();
        assert!(reader.next().unwrap().is_ok());
        assert!(reader.next().unwrap().is_ok());
        assert_eq!(
            reader.next().unwrap().unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
        assert!(reader.next().is_none());
        let mut reader = PcapReader::new(&bytes[..24 + 5]).unwrap();
        assert!(reader.next().unwrap().is_err());
        // An absurd record length is refused before allocating it.
        let mut huge = bytes[..24].to_vec();
        huge.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
        let mut reader = PcapReader::new(&huge[..]).unwrap();
        let err = reader.next().unwrap().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn long_frame_cut_to_snaplen() {
        let frame = vec![0xab; 70_000];
        let bytes = file(&[(Duration::ZERO, frame)]);
        assert_eq!(
            &bytes[24 + 8..24 + 16],
            &[0xff, 0xff, 0, 0, 0x70, 0x11, 0x01, 0]
        );
        let read: Vec<_> = PcapReader::new(&bytes[..])
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(read[0].1.len(), SNAPLEN as usize);
    }

    #[test]
    fn tcpdump_reads_our_files() {
        let Ok(out) = std::process::Command::new("tcpdump")
            .arg("--version")
            .output()
        else {
            eprintln!("SKIPPED: tcpdump not installed; pcap files not checked against tcpdump");
            return;
        };
        assert!(out.status.success(), "tcpdump --version failed");
        let path = std::env::temp_dir().join(format!(
            "rumpnet-wire-pcap-{}-{:?}.pcap",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::write(&path, file(&frames())).unwrap();
        let out = std::process::Command::new("tcpdump")
            .arg("-r")
            .arg(&path)
            .arg("-nn")
            .output()
            .unwrap();
        std::fs::remove_file(&path).unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "tcpdump failed: {stderr}");
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(lines.len(), 3, "tcpdump output:\n{stdout}{stderr}");
        // The seeds: an ARP request, an ARP reply, an ICMP echo request.
        assert!(
            lines[0].contains("ARP, Request who-has 10.0.1.2"),
            "{}",
            lines[0]
        );
        assert!(
            lines[1].contains("ARP, Reply 10.0.1.2 is-at"),
            "{}",
            lines[1]
        );
        assert!(
            lines[2].contains("10.0.1.1 > 10.0.1.2: ICMP echo request"),
            "{}",
            lines[2]
        );
        assert!(stderr.contains("link-type EN10MB"), "{stderr}");
    }
}
