//! `shmif_dumpbus [-f] [-p PCAPFILE|-] BUSFILE`: show what is on a shmif bus (NetBSD's
//! tool of the same name, for rumpnet's bus format, which librump's
//! `drivers::shmif` documents and reads).
//!
//! The bus is opened read-only: checked first (a file that is not a bus is refused with
//! a message and exit status 1), then mapped; the tool takes no lock and never writes.
//! Without `-p` it prints the header and one line per frame; with `-p` it writes the
//! frames, oldest to newest, as a classic pcap file (`-` for standard output), which
//! `tcpdump -r` reads. `-f` follows the bus: after the frames on it, new frames as they
//! come (waiting on the bus futex, never polling in a loop), until SIGINT/SIGTERM, a
//! closed output, or until no process has had an interface on the bus for
//! [`GONE_FOR_GOOD`] — so a follower ends on its own when its writers are gone.
//!
//! Exit status: 0 done, 1 the bus could not be read or the output written, 2 usage.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use rump::drivers::shmif::{self, Bus, BusInfo, BusReader};
use rump::wire::pcap::PcapWriter;

/// How long a follower waits once no live process is on the bus.
const GONE_FOR_GOOD: Duration = Duration::from_secs(1);
/// Longest a follower sleeps before looking at the bus's members again.
const FOLLOW_WAIT: Duration = Duration::from_millis(250);

const USAGE: &str = "usage: shmif_dumpbus [-f] [-p PCAPFILE|-] BUSFILE";

struct Args {
    follow: bool,
    pcap: Option<String>,
    bus: PathBuf,
}

fn parse_args() -> Result<Args, String> {
    let mut follow = false;
    let mut pcap = None;
    let mut bus = None;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "-f" => follow = true,
            "-p" => pcap = Some(it.next().ok_or("-p needs a file name (or -)")?),
            "-h" | "--help" => return Err(String::new()),
            s if s.starts_with('-') && s.len() > 1 => return Err(format!("unknown option {s}")),
            _ if bus.is_none() => bus = Some(PathBuf::from(a)),
            _ => return Err("more than one bus file".into()),
        }
    }
    Ok(Args {
        follow,
        pcap,
        bus: bus.ok_or("no bus file")?,
    })
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(msg) => {
            if !msg.is_empty() {
                eprintln!("shmif_dumpbus: {msg}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let bus = match Bus::open_readonly(&args.bus) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("shmif_dumpbus: {}: {e}", args.bus.display());
            return ExitCode::from(1);
        }
    };
    match run(&args, &bus) {
        Ok(()) => ExitCode::SUCCESS,
        // A reader that went away (tcpdump quit): not an error of ours.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("shmif_dumpbus: {e}");
            ExitCode::from(1)
        }
    }
}

fn run(args: &Args, bus: &std::sync::Arc<Bus>) -> io::Result<()> {
    let mut reader = bus.reader_from_oldest();
    let out: Box<dyn Write> = match args.pcap.as_deref() {
        Some("-") => Box::new(io::stdout().lock()),
        Some(file) => Box::new(std::fs::File::create(file)?),
        None => Box::new(io::stdout().lock()),
    };
    let mut out = BufWriter::new(out);
    if args.pcap.is_some() {
        let mut w = PcapWriter::new(out)?;
        shmif::dump_pcap(&mut reader, &mut w)?;
        w.flush()?;
        if args.follow {
            follow(&mut reader, |r| {
                if shmif::dump_pcap(r, &mut w)? > 0 {
                    w.flush()?;
                }
                Ok(())
            })?;
        }
    } else {
        print_header(&mut out, &args.bus, &bus.info())?;
        print_frames(&mut out, &mut reader)?;
        out.flush()?;
        if args.follow {
            follow(&mut reader, |r| {
                print_frames(&mut out, r)?;
                out.flush()
            })?;
        }
    }
    let st = reader.stats();
    if st.lost > 0 || st.bad > 0 {
        eprintln!(
            "shmif_dumpbus: {} frames overwritten before they could be read, {} impossible records skipped",
            st.lost, st.bad
        );
    }
    Ok(())
}

/// Wait for new frames and hand them to `emit` until the bus has had no live member
/// for [`GONE_FOR_GOOD`] (and everything it holds was emitted).
fn follow(
    reader: &mut BusReader,
    mut emit: impl FnMut(&mut BusReader) -> io::Result<()>,
) -> io::Result<()> {
    let mut alone_since: Option<Instant> = None;
    loop {
        reader.wait(FOLLOW_WAIT);
        emit(reader)?;
        let bus = reader.bus();
        if bus.members().is_empty() && bus.uncounted_members() == 0 {
            let since = *alone_since.get_or_insert_with(Instant::now);
            if since.elapsed() >= GONE_FOR_GOOD {
                // A last look, for frames sent just before the writers left.
                return emit(reader);
            }
        } else {
            alone_since = None;
        }
    }
}

fn print_header(out: &mut impl Write, path: &std::path::Path, i: &BusInfo) -> io::Result<()> {
    writeln!(
        out,
        "bus {}: format version {}, ring {} bytes, created {}",
        path.display(),
        i.version,
        i.ring_size,
        secs(i.created_ns)
    )?;
    writeln!(
        out,
        "{} frames sent; ring holds positions {:#x}..{:#x} ({} bytes)",
        i.frames,
        i.first,
        i.head,
        i.head - i.first
    )?;
    let lock = if i.lock_holder == 0 {
        "free".to_string()
    } else {
        format!("held by pid {}", i.lock_holder)
    };
    writeln!(
        out,
        "lock {lock}; {} lock recoveries; {} bad records skipped by writers",
        i.lock_recoveries, i.bad_records
    )?;
    let mut members: Vec<String> = i
        .members
        .iter()
        .map(|(pid, n)| format!("pid {pid} ({n} if)"))
        .collect();
    if i.uncounted > 0 {
        members.push(format!("{} more if beyond the table", i.uncounted));
    }
    writeln!(
        out,
        "members: {}",
        if members.is_empty() {
            "none".to_string()
        } else {
            members.join(", ")
        }
    )?;
    writeln!(
        out,
        "{:>8}  {:<17}  {:<16}  {:>5}  {:<17}    {:<17}  type",
        "seq", "time", "sender", "len", "source", "destination"
    )
}

fn print_frames(out: &mut impl Write, reader: &mut BusReader) -> io::Result<()> {
    let mut buf = Vec::new();
    while let Some(f) = reader.next_into(&mut buf) {
        // Frames are at least an Ethernet header long (the reader checked).
        writeln!(
            out,
            "{:>8}  {:<17}  {:016x}  {:>5}  {} -> {}  {:#06x}",
            f.seq,
            secs(f.time_ns),
            f.sender,
            f.len,
            mac(&buf[6..12]),
            mac(&buf[0..6]),
            u16::from_be_bytes([buf[12], buf[13]])
        )?;
    }
    Ok(())
}

fn secs(ns: u64) -> String {
    format!("{}.{:06}", ns / 1_000_000_000, ns % 1_000_000_000 / 1000)
}

fn mac(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}
