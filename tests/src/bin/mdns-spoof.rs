//! A spoofing mDNS responder for discovery tests: advertises one `_openclaw-gw._tcp`
//! instance with whatever TXT it is given, until killed.
//!
//! `mdns-spoof <instance> <host> <ipv4> <port> [key=value …]`

use std::collections::HashMap;
use std::time::Duration;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [instance, host, ip, port, txt @ ..] = args.as_slice() else {
        eprintln!("usage: mdns-spoof <instance> <host> <ipv4> <port> [key=value …]");
        std::process::exit(2);
    };
    let Ok(port) = port.parse::<u16>() else {
        eprintln!("mdns-spoof: bad port {port:?}");
        std::process::exit(2);
    };
    let props: HashMap<String, String> =
        txt.iter().filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let daemon = match mdns_sd::ServiceDaemon::new() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("mdns-spoof: {e}");
            std::process::exit(1);
        }
    };
    let info = match mdns_sd::ServiceInfo::new("_openclaw-gw._tcp.local.", instance, host, ip.as_str(), port, props) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("mdns-spoof: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = daemon.register(info) {
        eprintln!("mdns-spoof: {e}");
        std::process::exit(1);
    }
    println!("registered {instance}");
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}
