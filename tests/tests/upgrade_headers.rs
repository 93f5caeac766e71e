//! Custom upgrade headers against a header-checking reverse proxy in front of the real
//! Gateway (`openclaw@2026.9.6`): Debian's nginx, started here on loopback with a rule
//! that answers 403 unless `CF-Access-Client-Id` and `CF-Access-Client-Secret` carry the
//! expected service token (the shape of a Cloudflare Access edge), and otherwise proxies
//! the WebSocket upgrade to the Gateway.
//!
//! - With `headers = { "CF-Access-Client-Id" = "…", "CF-Access-Client-Secret" = { source =
//!   "file", id = "…" } }` the node pairs and serves an invoke through nginx (access log:
//!   101); the secret is never printed.
//! - Without the headers nginx answers 403: the node never reaches the Gateway (no pending
//!   pairing there) and keeps retrying with the 403 in its status.
//! - A reserved header (`Sec-WebSocket-Protocol`) in the table is refused before any
//!   connection (exit 2, nothing in nginx's access log).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use clawnode_testkit::{ClawnodeProcess, Gateway, Operator, random_hex};
use serde_json::json;

const T: Duration = Duration::from_secs(60);

struct Nginx {
    _child: clawnode_testkit::KillOnDrop,
    port: u16,
}

async fn nginx(dir: &Path, upstream: u16, id: &str, secret: &str) -> Nginx {
    assert!(Path::new("/usr/sbin/nginx").exists(), "nginx is required (cargo xtask test installs nginx-light)");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let d = dir.display();
    let conf = format!(
        "daemon off;\nmaster_process off;\nuser root;\npid {d}/nginx.pid;\nerror_log {d}/error.log info;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n  access_log {d}/access.log;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
           fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
           server {{\n    listen 127.0.0.1:{port};\n    location / {{\n\
               if ($http_cf_access_client_id != \"{id}\") {{ return 403; }}\n\
               if ($http_cf_access_client_secret != \"{secret}\") {{ return 403; }}\n\
               proxy_pass http://127.0.0.1:{upstream};\n      proxy_http_version 1.1;\n\
               proxy_set_header Upgrade $http_upgrade;\n      proxy_set_header Connection \"upgrade\";\n\
               proxy_set_header Host $host;\n      proxy_read_timeout 3600s;\n    }}\n  }}\n}}\n"
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, conf).unwrap();
    let child = Command::new("/usr/sbin/nginx")
        .arg("-c")
        .arg(&path)
        .arg("-p")
        .arg(dir)
        .arg("-e")
        .arg(dir.join("error.log"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nginx starts");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "nginx did not listen: {}",
            std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Nginx { _child: clawnode_testkit::KillOnDrop(child), port }
}

fn access_log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("access.log")).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edge_headers_through_a_header_checking_nginx() {
    let gw = Gateway::builder().start().await.expect("gateway starts");
    let op = Operator::connect(&gw.ws_url(), gw.token()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (id, secret) = ("client-id.access", random_hex(16));
    let edge = nginx(dir.path(), gw.port(), id, &secret).await;
    std::fs::write(dir.path().join("token"), gw.token()).unwrap();
    std::fs::write(dir.path().join("cf-secret"), format!("{secret}\n")).unwrap();
    let url = format!("ws://127.0.0.1:{}", edge.port);
    let cfg = dir.path().join("config.toml");
    let state = dir.path().join("state");
    let write = |headers: &str| {
        std::fs::write(&cfg, format!("[gateway]\nurl = \"{url}\"\ntoken_file = \"token\"\n{headers}")).unwrap();
    };
    let args = ["run", "--config", cfg.to_str().unwrap(), "--state-dir", state.to_str().unwrap()];

    // 1. No headers: 403 at the edge, the Gateway never sees the node; the node retries.
    write("");
    let mut node = ClawnodeProcess::spawn(&args, &[]).unwrap();
    // Not just "403": the banner's random device id may contain it.
    let line = node.wait_line("403 Forbidden", T).await.unwrap();
    assert!(line.contains("disconnected") || line.contains("403 Forbidden"), "{line}");
    assert!(node.is_running(), "a 403 at the edge is retried, not terminal");
    node.terminate().await.unwrap();
    assert!(access_log(dir.path()).contains("\" 403 "), "{}", access_log(dir.path()));
    let pending = op.request("node.pair.list", json!({})).await.unwrap();
    assert_eq!(pending["pending"].as_array().map(Vec::len), Some(0), "{pending}");

    // 2. A reserved header: refused before any connection.
    let before = access_log(dir.path()).lines().count();
    write("headers = { \"Sec-WebSocket-Protocol\" = \"x\" }\n");
    let mut bad = ClawnodeProcess::spawn(&args, &[]).unwrap();
    let st = bad.wait_exit(T).await.unwrap();
    assert_eq!(st.code(), Some(2), "{:?}", bad.lines());
    assert!(bad.lines().join("\n").contains("is reserved for the WebSocket upgrade"), "{:?}", bad.lines());
    assert_eq!(access_log(dir.path()).lines().count(), before);

    // 3. The service token (secret from a file): through the edge to the Gateway.
    write(&format!(
        "headers = {{ \"CF-Access-Client-Id\" = \"{id}\", \"CF-Access-Client-Secret\" = {{ source = \"file\", id = \"cf-secret\" }} }}\n"
    ));
    let mut node = ClawnodeProcess::spawn(&args, &[]).unwrap();
    let line = node.wait_line("upgrade headers", T).await.unwrap();
    assert!(line.contains("upgrade headers CF-Access-Client-Id, CF-Access-Client-Secret"), "{line}");
    node.wait_line("commands await approval", T).await.unwrap();
    let surface = op.wait_for_pending_node(T).await.unwrap();
    let node_id = surface["nodeId"].as_str().unwrap().to_string();
    op.node_pair_approve(surface["requestId"].as_str().unwrap()).await.unwrap();
    node.wait_line("ready: node", T).await.unwrap();
    let r = op.node_invoke(&node_id, "system.which", json!({"bins": ["sh"]}), 10_000).await.unwrap();
    assert!(r["payload"]["bins"]["sh"].is_string(), "{r}");
    node.terminate().await.unwrap();
    // nginx logs an upgraded request when its connection ends, just after the node stopped:
    // wait for the line rather than race the log write.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while !access_log(dir.path()).contains("\" 101 ") {
        assert!(std::time::Instant::now() < deadline, "{}", access_log(dir.path()));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let out = node.lines().join("\n");
    assert!(!out.contains(&secret), "the header secret is never printed");
    op.close().await;
}
