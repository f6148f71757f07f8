//! Processes for the bench: network namespaces and veth pairs (removed on drop), the C
//! programs of `examples-c/build` started inside them (killed by PID on drop), and the
//! readers of their output (ttcp's byte count and rate, rping's round-trip times).
//!
//! Everything here is bounded in time: a program that does not say it is ready, or does
//! not finish, is killed and reported as an error, never waited on forever.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub type Res<T> = Result<T, String>;

/// A program of `examples-c/build` (`make examples`; `make bench` builds them).
pub fn c_prog(name: &str) -> Res<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples-c/build")
        .join(name);
    if p.exists() {
        Ok(p)
    } else {
        Err(format!("{} is missing: run `make examples`", p.display()))
    }
}

/// Run a host command that must succeed (configuration: ip, sysctl).
pub fn sh(args: &[&str]) -> Res<()> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{args:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{args:?}: {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Whether this process has CAP_NET_ADMIN (bit 12 of CapEff), and the tools to make
/// namespaces (ip) and taps (/dev/net/tun).
pub fn can_make_namespaces() -> bool {
    let caps = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|st| {
            st.lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .unwrap_or(0);
    caps & (1 << 12) != 0
        && std::path::Path::new("/dev/net/tun").exists()
        && sh(&["ip", "-V"]).is_ok()
}

/// A network namespace of the bench (`rumpbench<pid><tag>`), deleted on drop with
/// everything in it.
pub struct Ns(pub String);

impl Ns {
    pub fn new(tag: &str) -> Res<Ns> {
        let name = format!("rumpbench{}{tag}", std::process::id());
        let _ = Command::new("ip")
            .args(["netns", "del", &name])
            .stderr(Stdio::null())
            .status();
        sh(&["ip", "netns", "add", &name])?;
        let ns = Ns(name);
        ns.ip(&["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// `ip -n NS ARGS...`
    pub fn ip(&self, args: &[&str]) -> Res<()> {
        let mut v = vec!["ip", "-n", &self.0];
        v.extend_from_slice(args);
        sh(&v)
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.0])
            .stderr(Stdio::null())
            .status();
    }
}

/// Two namespaces joined by a veth pair with MTU 1500: `a` has 10.99.0.1/24 on `vbA`,
/// `b` has 10.99.0.2/24 on `vbB`.
pub struct VethPair {
    pub a: Ns,
    pub b: Ns,
}

pub const VETH_A: &str = "10.99.0.1";
pub const VETH_B: &str = "10.99.0.2";

impl VethPair {
    pub fn new() -> Res<VethPair> {
        let (a, b) = (Ns::new("a")?, Ns::new("b")?);
        a.ip(&[
            "link", "add", "vbA", "mtu", "1500", "type", "veth", "peer", "name", "vbB", "mtu",
            "1500", "netns", &b.0,
        ])?;
        a.ip(&["addr", "add", &format!("{VETH_A}/24"), "dev", "vbA"])?;
        b.ip(&["addr", "add", &format!("{VETH_B}/24"), "dev", "vbB"])?;
        a.ip(&["link", "set", "vbA", "up"])?;
        b.ip(&["link", "set", "vbB", "up"])?;
        Ok(VethPair { a, b })
    }
}

/// Where a program runs: in a namespace or not, pinned to a CPU or not.
#[derive(Clone, Copy, Default)]
pub struct Place<'a> {
    pub ns: Option<&'a Ns>,
    pub cpu: Option<u32>,
}

/// A started program, killed by PID on drop; its stdout and stderr collect in `out`.
pub struct Proc {
    child: Option<Child>,
    name: String,
    out: Arc<Mutex<String>>,
}

impl Proc {
    /// Start `prog ARGS` at `place` with `RUMP_NET=net` (removed when `None`).
    pub fn start(
        place: Place,
        prog: &std::path::Path,
        args: &[&str],
        net: Option<&str>,
    ) -> Res<Proc> {
        let mut argv: Vec<String> = Vec::new();
        if let Some(cpu) = place.cpu {
            argv.extend(["taskset".into(), "-c".into(), cpu.to_string()]);
        }
        if let Some(ns) = place.ns {
            // ip netns exec and taskset exec the program: its PID is the child's.
            argv.extend(["ip".into(), "netns".into(), "exec".into(), ns.0.clone()]);
        }
        argv.push(prog.display().to_string());
        argv.extend(args.iter().map(|a| a.to_string()));
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        match net {
            Some(n) => cmd.env("RUMP_NET", n),
            None => cmd.env_remove("RUMP_NET"),
        };
        let mut child = cmd.spawn().map_err(|e| format!("{argv:?}: {e}"))?;
        let out = Arc::new(Mutex::new(String::new()));
        let streams: [Box<dyn Read + Send>; 2] = [
            Box::new(child.stdout.take().expect("piped")),
            Box::new(child.stderr.take().expect("piped")),
        ];
        for r in streams {
            let out = out.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(r).lines().map_while(Result::ok) {
                    let mut o = out.lock().unwrap_or_else(|e| e.into_inner());
                    o.push_str(&line);
                    o.push('\n');
                }
            });
        }
        let name = prog
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        Ok(Proc {
            child: Some(child),
            name,
            out,
        })
    }

    pub fn output(&self) -> String {
        self.out.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Wait (at most `limit`) until the output contains `text`.
    pub fn wait_for(&mut self, text: &str, limit: Duration) -> Res<()> {
        let t = Instant::now();
        while !self.output().contains(text) {
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if exited.is_some() || t.elapsed() > limit {
                std::thread::sleep(Duration::from_millis(50));
                return Err(format!(
                    "{} never said {text:?}; its output:\n{}",
                    self.name,
                    self.output()
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    }

    /// Wait (at most `limit`, then kill) for the program to exit; returns whether it
    /// succeeded and its whole output.
    pub fn finish(mut self, limit: Duration) -> Res<(bool, String)> {
        let mut c = self.child.take().expect("running");
        let t = Instant::now();
        let st = loop {
            if let Some(st) = c.try_wait().map_err(|e| e.to_string())? {
                break Some(st);
            }
            if t.elapsed() > limit {
                let _ = c.kill();
                let _ = c.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        // Let the readers drain the pipes.
        std::thread::sleep(Duration::from_millis(30));
        let out = self.output();
        match st {
            Some(st) => Ok((st.success(), out)),
            None => Err(format!("{} ran over {limit:?}; output:\n{out}", self.name)),
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// One endpoint of a ttcp transfer: where it runs, which ttcp (`ttcp` on the host
/// kernel, `ttcp-rump` on a virtual kernel) and its `RUMP_NET`.
pub struct Ttcp<'a> {
    pub place: Place<'a>,
    pub prog: &'a str,
    pub net: Option<&'a str>,
}

/// TCP bulk with ttcp: `bytes` in 8 KiB writes from `tx` to `rx` (listening on `dst`
/// port `port`). Returns the receiver's rate in MB/s (10^6 bytes), after checking that it
/// received every byte.
pub fn ttcp(rx: &Ttcp, tx: &Ttcp, dst: &str, port: u16, bytes: usize) -> Res<f64> {
    let p = port.to_string();
    let mut r = Proc::start(rx.place, &c_prog(rx.prog)?, &["-r", "-s", "-p", &p], rx.net)?;
    r.wait_for("ttcp-r: buflen", Duration::from_secs(10))?;
    let n = (bytes / 8192).to_string();
    let targs = ["-t", "-s", "-n", &n, "-l", "8192", "-p", &p, dst];
    // The receiver prints its header before listen(2): retry a refused connect.
    let mut last = String::new();
    for _ in 0..10 {
        std::thread::sleep(Duration::from_millis(100));
        let t = Proc::start(tx.place, &c_prog(tx.prog)?, &targs, tx.net)?;
        let (ok, out) = t.finish(Duration::from_secs(60))?;
        if ok {
            last.clear();
            break;
        }
        last = out;
        if !last.contains("refused") && !last.contains("ECONNREFUSED") {
            break;
        }
    }
    if !last.is_empty() {
        return Err(format!("ttcp -t failed:\n{last}"));
    }
    let (ok, out) = r.finish(Duration::from_secs(30))?;
    let line = out
        .lines()
        .find(|l| l.starts_with("ttcp-r: bytes="))
        .ok_or_else(|| format!("ttcp -r printed no result:\n{out}"))?;
    let field = |k: &str| -> Option<f64> {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(k))
            .and_then(|v| v.parse().ok())
    };
    let (got, secs) = (field("bytes="), field("seconds="));
    match (ok, got, secs) {
        (true, Some(got), Some(secs)) if got as usize == bytes && secs > 0.0 => {
            Ok(got / secs / 1e6)
        }
        _ => Err(format!("ttcp -r: wanted {bytes} bytes:\n{out}")),
    }
}

/// The times of lines like rping's "... time=0.123 ms", in microseconds.
fn times_us(out: &str) -> Vec<f64> {
    out.lines()
        .filter_map(|l| l.split("time=").nth(1))
        .filter_map(|t| t.trim_end_matches(" ms").parse::<f64>().ok())
        .map(|ms| ms * 1e3)
        .collect()
}

/// The round-trip times (microseconds) of `rping -c count HOST PORT` at `place` with
/// `RUMP_NET=net`; every echo must come back.
pub fn rping(place: Place, net: &str, host: &str, count: usize) -> Res<Vec<f64>> {
    let c = count.to_string();
    let p = Proc::start(place, &c_prog("rping")?, &["-c", &c, host, "7"], Some(net))?;
    let (ok, out) = p.finish(Duration::from_secs(60))?;
    let v = times_us(&out);
    if !ok || v.len() != count {
        return Err(format!("rping: {} of {count} echoes:\n{out}", v.len()));
    }
    Ok(v)
}

/// The hidden modes of the bench binary that the Linux side runs inside a namespace
/// (`rumpbench --udp-echo ADDR PORT` and `rumpbench --udp-ping ADDR PORT COUNT`): the
/// same blocking calls as echod and rping, on the host kernel's UDP. Returns `None`
/// when `args` names no such mode.
pub fn helper_mode(args: &[String]) -> Option<i32> {
    let mode = args.get(1)?.as_str();
    if mode != "--udp-echo" && mode != "--udp-ping" {
        return None;
    }
    match udp_helper(mode, &args[2..]) {
        Ok(()) => Some(0),
        Err(e) => {
            eprintln!("rumpbench {mode}: {e}");
            Some(1)
        }
    }
}

fn udp_helper(mode: &str, args: &[String]) -> Res<()> {
    use std::net::UdpSocket;
    let e = |e: std::io::Error| e.to_string();
    let [ip, port, rest @ ..] = args else {
        return Err("usage: ADDR PORT [COUNT]".into());
    };
    let addr = format!("{ip}:{port}");
    let mut b = [0u8; 64];
    if mode == "--udp-echo" {
        let s = UdpSocket::bind(&addr).map_err(e)?;
        println!("udp-echo ready");
        // Quiet for 30 s: nobody is pinging any more.
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .map_err(e)?;
        while let Ok((n, from)) = s.recv_from(&mut b) {
            let _ = s.send_to(&b[..n], from);
        }
        return Ok(());
    }
    let count: usize = rest
        .first()
        .and_then(|c| c.parse().ok())
        .ok_or("COUNT missing")?;
    let s = UdpSocket::bind("0.0.0.0:0").map_err(e)?;
    s.connect(&addr).map_err(e)?;
    s.set_read_timeout(Some(Duration::from_secs(1)))
        .map_err(e)?;
    // The first exchange resolves ARP: not counted, as in rping.
    for i in 0..=count {
        let msg = format!("rping {i}");
        let t = Instant::now();
        s.send(msg.as_bytes()).map_err(e)?;
        let n = s.recv(&mut b).map_err(e)?;
        let dt = t.elapsed().as_secs_f64() * 1e3;
        if i > 0 && &b[..n] == msg.as_bytes() {
            println!("{n} bytes: seq={i} time={dt:.3} ms");
        }
    }
    Ok(())
}

/// The round-trip times (microseconds) of the Linux UDP pinger at `ping` against the
/// Linux echo at `echo` listening on `addr`.
/// The port: one free on the host (a namespace of ours has every port free).
pub fn linux_udp_rtt(echo: Place, ping: Place, addr: &str, count: usize) -> Res<Vec<f64>> {
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map_or(7007, |a| a.port())
        .to_string();
    let mut e = Proc::start(echo, &me, &["--udp-echo", addr, &port], None)?;
    e.wait_for("udp-echo ready", Duration::from_secs(10))?;
    let c = count.to_string();
    let p = Proc::start(ping, &me, &["--udp-ping", addr, &port, &c], None)?;
    let (ok, out) = p.finish(Duration::from_secs(60))?;
    let v = times_us(&out);
    if !ok || v.len() != count {
        return Err(format!(
            "linux udp ping: {} of {count} echoes:\n{out}",
            v.len()
        ));
    }
    Ok(v)
}
