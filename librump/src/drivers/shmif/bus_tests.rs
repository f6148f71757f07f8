//! Unit tests of the bus format: opening and refusing files, the ring, the seqlock
//! readers, the bus lock's takeover and the member table.

use std::path::PathBuf;
use std::sync::atomic::AtomicUsize;

use super::*;

/// A fresh directory, removed on drop.
pub(crate) struct TempDir(pub PathBuf);

impl TempDir {
    pub(crate) fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!(
            "rumpnet-shmif-unit-{}-{tag}-{n}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    pub(crate) fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A frame of `len` bytes whose contents follow from `seq`: broadcast, EtherType
/// 0x88b5, `seq` after the header, then a pattern of `seq`.
fn frame(seq: u64, len: usize) -> Vec<u8> {
    let mut f = vec![0u8; len];
    f[..6].fill(0xff);
    f[6..12].copy_from_slice(&[2, 0x73, 0x68, 0, 0, 1]);
    f[12..14].copy_from_slice(&[0x88, 0xb5]);
    if len >= 22 {
        f[14..22].copy_from_slice(&seq.to_be_bytes());
    }
    for (i, b) in f.iter_mut().enumerate().skip(22) {
        *b = (seq as usize).wrapping_mul(31).wrapping_add(i) as u8;
    }
    f
}

/// Whether `f` is exactly what `frame` makes for the seq it carries.
fn intact(f: &[u8]) -> bool {
    f.len() >= 22 && f == frame(u64::from_be_bytes(f[14..22].try_into().unwrap()), f.len())
}

fn not_a_bus(r: Result<Arc<Bus>, BusError>) -> NotABus {
    match r {
        Err(BusError::NotABus(n)) => n,
        Err(e) => panic!("host error {e}"),
        Ok(_) => panic!("accepted a file that is not a bus"),
    }
}

#[test]
fn create_writes_a_header_others_accept() {
    let d = TempDir::new("create");
    let path = d.file("bus");
    let a = Bus::open(&path).unwrap();
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        u64::from(SHMIF_HDR_SIZE + SHMIF_DEFAULT_RING)
    );
    let raw = std::fs::read(&path).unwrap();
    assert_eq!(&raw[..4], &SHMIF_MAGIC.to_ne_bytes());
    assert_eq!(
        check_header(&raw[..4096], raw.len() as u64),
        Ok(SHMIF_DEFAULT_RING)
    );
    // A second open with another ring size keeps the bus as it is.
    let b = Bus::create(&path, SHMIF_MIN_RING).unwrap();
    assert_eq!(b.ring_size(), SHMIF_DEFAULT_RING);
    let ro = Bus::open_readonly(&path).unwrap();
    assert!(!ro.writable());
    a.send(1, 0, &frame(0, 60)).unwrap();
    let i = ro.info();
    assert_eq!(
        (i.version, i.frames, i.first, i.head),
        (SHMIF_VERSION, 1, 0, record_size(60))
    );
    assert_eq!(ro.send(1, 0, &frame(0, 60)), Err(Errno::EROFS));
    assert_eq!(
        Bus::create(&d.file("x"), SHMIF_MIN_RING + 4).err(),
        Some(BusError::Host(Errno::EINVAL))
    );
}

#[test]
fn files_that_are_not_buses_are_refused() {
    let d = TempDir::new("refuse");
    let good = d.file("good");
    Bus::create(&good, SHMIF_MIN_RING).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let variant = |name: &str, f: &dyn Fn(&mut Vec<u8>)| {
        let p = d.file(name);
        let mut b = bytes.clone();
        f(&mut b);
        std::fs::write(&p, &b).unwrap();
        p
    };
    let magic = variant("magic", &|b| b[0] ^= 0x40);
    let version = variant("version", &|b| {
        b[4..8].copy_from_slice(&(SHMIF_VERSION + 1).to_ne_bytes())
    });
    let truncated = variant("truncated", &|b| b.truncate(4096 + 1000));
    let short = variant("short", &|b| b.truncate(6));
    let long = variant("long", &|b| b.extend_from_slice(&[0; 8]));
    let ring = variant("ring", &|b| {
        b[12..16].copy_from_slice(&12345u32.to_ne_bytes())
    });
    let swapped = variant("swapped", &|b| {
        b[0..4].copy_from_slice(&SHMIF_MAGIC.swap_bytes().to_ne_bytes())
    });
    let text = d.file("text");
    std::fs::write(&text, "hello, this is not a bus\n").unwrap();

    for open in [Bus::open, Bus::open_readonly] {
        assert!(matches!(not_a_bus(open(&magic)), NotABus::BadMagic(_)));
        assert_eq!(
            not_a_bus(open(&version)),
            NotABus::BadVersion(SHMIF_VERSION + 1)
        );
        assert!(matches!(
            not_a_bus(open(&truncated)),
            NotABus::Truncated { len: 5096, .. }
        ));
        assert!(matches!(
            not_a_bus(open(&short)),
            NotABus::Truncated { len: 6, .. }
        ));
        assert!(matches!(not_a_bus(open(&long)), NotABus::WrongSize { .. }));
        assert_eq!(
            not_a_bus(open(&ring)),
            NotABus::BadGeometry("ring size", 12345)
        );
        assert_eq!(not_a_bus(open(&swapped)), NotABus::ForeignByteOrder);
        assert!(matches!(not_a_bus(open(&text)), NotABus::BadMagic(_)));
        let e = open(&magic).err().unwrap();
        assert_eq!(e.errno(), Errno::EFTYPE);
        assert!(e.to_string().contains("bad magic number"), "{e}");
        // A directory is not a bus either.
        assert!(open(&d.0).is_err());
    }
    // Nothing refused was changed.
    assert_eq!(std::fs::read(&text).unwrap(), b"hello, this is not a bus\n");
    assert_eq!(std::fs::metadata(&truncated).unwrap().len(), 5096);
    // Read-only opens never create or initialise.
    let missing = d.file("missing");
    assert_eq!(
        Bus::open_readonly(&missing).err(),
        Some(BusError::Host(Errno::ENOENT))
    );
    assert!(!missing.exists());
    let empty = d.file("empty");
    std::fs::write(&empty, b"").unwrap();
    assert!(matches!(
        not_a_bus(Bus::open_readonly(&empty)),
        NotABus::Truncated { len: 0, .. }
    ));
    // ... but a read-write open makes an empty file a bus.
    Bus::open(&empty).unwrap();
    Bus::open_readonly(&empty).unwrap();
}

#[test]
fn racing_creators_end_up_with_one_bus() {
    let d = TempDir::new("race");
    let path = d.file("bus");
    let buses: Vec<Arc<Bus>> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..8)
            .map(|_| s.spawn(|| Bus::create(&path, SHMIF_MIN_RING).unwrap()))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    buses[3].send(3, 0, &frame(0, 64)).unwrap();
    for b in &buses {
        assert_eq!(b.info().frames, 1);
        let got: Vec<_> = b.reader_from_oldest().collect();
        assert_eq!(got.len(), 1);
        assert_eq!((got[0].info.sender, &got[0].data), (3, &frame(0, 64)));
    }
}

#[test]
fn readers_see_frames_in_order_and_late_readers_only_new_ones() {
    let d = TempDir::new("order");
    let bus = Bus::create(&d.file("bus"), SHMIF_MIN_RING).unwrap();
    let mut early = bus.reader_at_end();
    for seq in 0..10 {
        bus.send(7, seq, &frame(seq, 60 + seq as usize)).unwrap();
    }
    let mut late = bus.reader_at_end();
    bus.send(7, 10, &frame(10, 70)).unwrap();
    let got: Vec<_> = early.by_ref().collect();
    assert_eq!(got.len(), 11);
    for (i, f) in got.iter().enumerate() {
        assert_eq!(f.info.seq, i as u64);
        assert_eq!(f.info.time_ns, i as u64);
        assert!(intact(&f.data));
    }
    assert_eq!(
        early.stats(),
        ReaderStats {
            frames: 11,
            lost: 0,
            bad: 0
        }
    );
    let got: Vec<_> = late.by_ref().collect();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].info.seq, 10);
    // At the end: nothing, and the wait returns after its timeout.
    assert!(late.next().is_none());
    let t = std::time::Instant::now();
    late.wait(Duration::from_millis(30));
    assert!(t.elapsed() >= Duration::from_millis(25));
}

#[test]
fn a_lapped_reader_counts_lost_frames_and_resyncs_to_the_oldest() {
    let d = TempDir::new("lapped");
    let bus = Bus::create(&d.file("bus"), SHMIF_MIN_RING).unwrap();
    let mut r = bus.reader_at_end();
    bus.send(1, 0, &frame(0, 100)).unwrap();
    assert_eq!(r.next().unwrap().info.seq, 0);
    // Ten rings' worth while the reader sleeps; records wrap at odd offsets.
    let n = 10 * u64::from(SHMIF_MIN_RING) / record_size(100 + 7) + 3;
    for seq in 1..=n {
        bus.send(1, 0, &frame(seq, 100 + (seq % 15) as usize))
            .unwrap();
    }
    let got: Vec<_> = r.by_ref().collect();
    let first = got[0].info.seq;
    assert!(first > 1);
    let seqs: Vec<u64> = got.iter().map(|f| f.info.seq).collect();
    assert_eq!(seqs, (first..=n).collect::<Vec<_>>());
    assert!(got.iter().all(|f| intact(&f.data)), "a torn frame");
    let st = r.stats();
    assert_eq!(st.lost, first - 1);
    assert_eq!(st.frames + st.lost, n + 1);
    assert_eq!(st.bad, 0);
    let i = bus.info();
    assert!(i.head - i.first <= u64::from(SHMIF_MIN_RING));
    assert_eq!(bus.reader_from_oldest().next().unwrap().info.seq, first);
}

#[test]
fn a_slow_reader_racing_a_writer_never_accepts_a_torn_frame() {
    let d = TempDir::new("torn");
    let bus = Bus::create(&d.file("bus"), SHMIF_MIN_RING).unwrap();
    const N: u64 = 40_000;
    let mut r = bus.reader_at_end();
    let w = bus.clone();
    let writer = std::thread::spawn(move || {
        for seq in 0..N {
            w.send(9, 0, &frame(seq, 60 + (seq % 1400) as usize))
                .unwrap();
        }
    });
    let mut first = None;
    let mut last = None;
    let mut buf = Vec::new();
    let mut reads = 0u64;
    while !(writer.is_finished() && r.position() == bus.info().head) {
        match r.next_into(&mut buf) {
            Some(info) => {
                assert!(intact(&buf), "torn frame {}", info.seq);
                assert_eq!(
                    u64::from_be_bytes(buf[14..22].try_into().unwrap()),
                    info.seq
                );
                assert!(last.is_none_or(|l| info.seq > l));
                first.get_or_insert(info.seq);
                last = Some(info.seq);
                reads += 1;
                // Slow: a pause now and then lets the writer lap us.
                if reads & 63 == 0 {
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
            None => r.wait(Duration::from_millis(5)),
        }
    }
    writer.join().unwrap();
    let st = r.stats();
    assert_eq!(last, Some(N - 1));
    assert_eq!(st.frames + st.lost + first.unwrap(), N);
    assert!(st.lost > 0, "the writer never lapped the reader: {st:?}");
    assert_eq!(st.bad, 0);
}

#[test]
fn impossible_records_are_dropped_counted_and_never_trusted() {
    let d = TempDir::new("bad");
    let bus = Bus::create(&d.file("bus"), SHMIF_MIN_RING).unwrap();
    let mut r = bus.reader_at_end();
    let mut pos = Vec::new();
    for seq in 0..5 {
        pos.push(bus.info().head);
        bus.send(1, 0, &frame(seq, 80)).unwrap();
    }
    // Frame 1 gets an impossible length, frame 3 a tag that is not its position.
    bus.rw(pos[1] + 16).store(1 << 20, Ordering::Relaxed);
    bus.rw(pos[3]).store(12345, Ordering::Relaxed);
    let seqs: Vec<u64> = r.by_ref().map(|f| f.info.seq).collect();
    assert_eq!(seqs, vec![0, 2, 4]);
    assert_eq!(
        r.stats(),
        ReaderStats {
            frames: 3,
            lost: 0,
            bad: 2
        }
    );
    // A length just past the jumbo limit, and one shorter than a header.
    for (i, len) in [(SHMIF_MAX_FRAME as u64 + 1), 13].into_iter().enumerate() {
        let p = bus.info().head;
        bus.send(1, 0, &frame(10 + i as u64, 80)).unwrap();
        bus.rw(p + 16).store(len, Ordering::Relaxed);
        assert!(r.next().is_none());
    }
    assert_eq!(r.stats().bad, 4);
    // Writers making room walk over the bad records: skipped and counted, the ring
    // stays usable.
    let n = 2 * u64::from(SHMIF_MIN_RING) / record_size(80);
    for seq in 100..100 + n {
        bus.send(1, 0, &frame(seq, 80)).unwrap();
    }
    assert!(bus.info().bad_records >= 1);
    let all: Vec<_> = bus.reader_from_oldest().collect();
    assert!(all.iter().all(|f| intact(&f.data)));
    assert_eq!(all.last().unwrap().info.seq, bus.info().frames - 1);
}

#[test]
fn a_dead_processs_lock_is_taken_over_and_a_live_ones_is_not() {
    let d = TempDir::new("lock");
    let bus = Bus::create(&d.file("bus"), SHMIF_MIN_RING).unwrap();
    let mut dead = std::process::Command::new("true").spawn().unwrap();
    let dead_pid = dead.id();
    dead.wait().unwrap();
    bus.u32f(field::LOCK).store(dead_pid, Ordering::SeqCst);
    let info = bus.send(1, 0, &frame(0, 60)).unwrap();
    assert!(info.recovered);
    assert_eq!(bus.info().lock_recoveries, 1);
    assert_eq!(bus.info().lock_holder, 0);
    // A live holder keeps the lock until it dies; then it is taken over.
    let mut live = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    bus.u32f(field::LOCK).store(live.id(), Ordering::SeqCst);
    let b = bus.clone();
    let sender = std::thread::spawn(move || b.send(1, 0, &frame(1, 60)).unwrap());
    std::thread::sleep(Duration::from_millis(50));
    assert!(!sender.is_finished(), "took a live process's lock");
    live.kill().unwrap();
    live.wait().unwrap();
    assert!(sender.join().unwrap().recovered);
    assert_eq!(bus.info().lock_recoveries, 2);
    let seqs: Vec<u64> = bus.reader_from_oldest().map(|f| f.info.seq).collect();
    assert_eq!(seqs, vec![0, 1]);
}

#[test]
fn frame_limits() {
    let d = TempDir::new("limits");
    let bus = Bus::create(&d.file("bus"), SHMIF_MIN_RING).unwrap();
    let mut r = bus.reader_at_end();
    bus.send(1, 0, &frame(0, SHMIF_MAX_FRAME)).unwrap();
    bus.send(1, 0, &frame(1, ETHER_HDR_LEN)).unwrap();
    assert_eq!(
        bus.send(1, 0, &frame(2, SHMIF_MAX_FRAME + 1)),
        Err(Errno::EMSGSIZE)
    );
    assert_eq!(bus.send(1, 0, &[0; 13]), Err(Errno::EINVAL));
    let got: Vec<_> = r.by_ref().collect();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].data, frame(0, SHMIF_MAX_FRAME));
    assert_eq!(got[1].data.len(), ETHER_HDR_LEN);
}

#[test]
fn the_member_table_counts_live_processes() {
    let d = TempDir::new("members");
    let bus = Bus::create(&d.file("bus"), SHMIF_MIN_RING).unwrap();
    assert!(bus.members().is_empty());
    bus.join();
    bus.join();
    let me = std::process::id();
    assert_eq!(bus.members(), vec![(me, 2)]);
    // A dead process's slot is not a member and is reused.
    let mut dead = std::process::Command::new("true").spawn().unwrap();
    let dead_pid = u64::from(dead.id());
    dead.wait().unwrap();
    for s in &bus.map.words64()[field::MEMBERS / 8..][..SHMIF_MEMBER_SLOTS] {
        s.store(dead_pid << 32 | 1, Ordering::Relaxed);
    }
    bus.join();
    assert_eq!(bus.members(), vec![(me, 1)]);
    bus.leave();
    assert!(bus.members().is_empty());
}

#[test]
fn a_readers_own_frames_come_back_without_their_bytes() {
    let d = TempDir::new("skip");
    let bus = Bus::open(&d.file("bus")).unwrap();
    let mut r = bus.reader_at_end();
    r.skip_payload_of(7);
    bus.send(7, 0, &frame(1, 60)).unwrap();
    bus.send(8, 0, &frame(2, 70)).unwrap();
    let mut buf = Vec::new();
    let own = r.next_into(&mut buf).unwrap();
    assert_eq!((own.sender, own.len, buf.len()), (7, 60, 0));
    let other = r.next_into(&mut buf).unwrap();
    assert_eq!((other.sender, &buf), (8, &frame(2, 70)));
    assert!(r.next_into(&mut buf).is_none());
    assert_eq!(r.stats().lost, 0);
}

#[test]
fn writers_wake_only_when_someone_sleeps() {
    let d = TempDir::new("sleepers");
    let bus = Bus::open(&d.file("bus")).unwrap();
    assert_eq!(bus.u32f(field::SLEEPERS).load(Ordering::SeqCst), 0);
    let r = bus.reader_at_end();
    let b2 = bus.clone();
    let sleeper = std::thread::spawn(move || {
        let t = std::time::Instant::now();
        r.wait(Duration::from_secs(10));
        t.elapsed()
    });
    // Wait (bounded) until the reader has announced its sleep, then send.
    for _ in 0..1000 {
        if b2.u32f(field::SLEEPERS).load(Ordering::SeqCst) == 1 {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    bus.send(1, 0, &frame(3, 60)).unwrap();
    let slept = sleeper.join().unwrap();
    assert!(slept < Duration::from_secs(5), "the send woke the sleeper");
    assert_eq!(bus.u32f(field::SLEEPERS).load(Ordering::SeqCst), 0);
}

#[test]
fn processes_beyond_the_member_table_are_counted_in_bulk() {
    let d = TempDir::new("uncounted");
    let bus = Bus::open(&d.file("bus")).unwrap();
    // Every slot held by a live process that is not us (pid 1 is always alive).
    for s in &bus.map.words64()[field::MEMBERS / 8..][..SHMIF_MEMBER_SLOTS] {
        s.store(1 << 32 | 1, Ordering::SeqCst);
    }
    bus.join();
    bus.join();
    assert_eq!(bus.uncounted_members(), 2);
    bus.leave();
    assert_eq!(bus.uncounted_members(), 1);
    bus.leave();
    assert_eq!(bus.uncounted_members(), 0);
    // Leaving again (nothing of ours anywhere) changes nothing.
    bus.leave();
    assert_eq!(bus.uncounted_members(), 0);
    assert_eq!(bus.members().len(), SHMIF_MEMBER_SLOTS);
}
