//! The whole request path of `jigsmith serve`: arbitrary bytes from a client
//! through hyper (HTTP/1.1 or HTTP/2 by prior knowledge), path decoding,
//! conditional and range headers, index pages and image reads, over a
//! catalog of `examples/hello`. The server must answer or close, never
//! panic or hang; every response must stay within the bounds set for it.
#![no_main]

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use jigsmith_catalog::{CatalogConfig, Shared};
use jigsmith_server::{Server, ServerConfig};
use libfuzzer_sys::fuzz_target;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Fixture {
    runtime: tokio::runtime::Runtime,
    server: Server,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let hello = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/hello");
        let mut config = CatalogConfig::new(hello);
        config.maps = vec![("Debian".into(), format!("{hello}/mirror").into())];
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let shared = Shared::new(config).expect("examples/hello");
        let server = runtime
            .block_on(Server::unbound(ServerConfig::default(), shared))
            .expect("catalog");
        Fixture { runtime, server }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let peer = SocketAddr::from(([127, 0, 0, 1], 9));
    f.runtime.block_on(async {
        let (mut client, server_side) = tokio::io::duplex(64 << 10);
        let serve = f.server.serve_stream(server_side, peer);
        let talk = async {
            let _ = client.write_all(data).await;
            let _ = client.shutdown().await;
            let mut answer = Vec::new();
            // The image is 401408 bytes; a request may ask for it a few times over.
            let _ = (&mut client).take(8 << 20).read_to_end(&mut answer).await;
            answer
        };
        let run = async { tokio::join!(serve, talk) };
        tokio::time::timeout(Duration::from_secs(30), run)
            .await
            .expect("the server neither answered nor closed");
    });
});
