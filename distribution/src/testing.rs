//! Local OCI registries for tests: Debian's `docker-registry` (CNCF
//! distribution 2.8) on loopback, with a temporary storage folder, over
//! plain HTTP or TLS with a private CA made for the run.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// A registry process, stopped when dropped.
pub struct Registry {
    child: Child,
    addr: SocketAddr,
    dir: TempDir,
    ca_file: Option<PathBuf>,
}

/// Makes sure `docker-registry` can be run, installing it with
/// `scripts/install-registry.sh` when it is missing.
pub fn ensure_registry() -> Result<(), String> {
    let found = || {
        Command::new("docker-registry")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if found() {
        return Ok(());
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/install-registry.sh");
    let _ = Command::new("bash").arg(&script).status();
    if found() {
        Ok(())
    } else {
        Err(format!(
            "docker-registry is not installed and {} could not install it",
            script.display()
        ))
    }
}

impl Registry {
    /// A registry over plain HTTP.
    pub fn start() -> Registry {
        Self::launch(false, "")
    }

    /// A registry over TLS whose certificate (for `127.0.0.1` and
    /// `localhost`) a private CA signed; [`Registry::ca_file`] is that CA.
    pub fn start_tls() -> Registry {
        Self::launch(true, "")
    }

    /// A TLS registry whose configuration also holds `extra` (YAML at the
    /// top level; `{ca}` stands for the CA certificate's path).
    pub fn start_tls_with(extra: &str) -> Registry {
        Self::launch(true, extra)
    }

    fn launch(tls: bool, extra: &str) -> Registry {
        ensure_registry().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
        let storage = dir.path().join("storage");
        let mut config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  \
             filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\n",
            storage.display()
        );
        let mut ca_file = None;
        if tls {
            let (ca, cert, key) = certificates();
            for (name, text) in [("ca.pem", &ca), ("cert.pem", &cert), ("key.pem", &key)] {
                std::fs::write(dir.path().join(name), text).unwrap();
            }
            config.push_str(&format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                dir.path().join("cert.pem").display(),
                dir.path().join("key.pem").display()
            ));
            ca_file = Some(dir.path().join("ca.pem"));
            config
                .push_str(&extra.replace("{ca}", &dir.path().join("ca.pem").display().to_string()));
        }
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let registry = Registry {
            child,
            addr,
            dir,
            ca_file,
        };
        let started = Instant::now();
        while TcpStream::connect(addr).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the registry did not start listening on {addr}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        registry
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// `oci://127.0.0.1:PORT/<path>`.
    pub fn reference(&self, path: &str) -> String {
        format!("oci://{}/{path}", self.addr)
    }

    /// The private CA's certificate (PEM), for a TLS registry.
    pub fn ca_file(&self) -> Option<&Path> {
        self.ca_file.as_deref()
    }

    /// The server certificate and key (PEM) of a TLS registry, for another
    /// server to present as the same host.
    pub fn cert_and_key(&self) -> (PathBuf, PathBuf) {
        (
            self.dir.path().join("cert.pem"),
            self.dir.path().join("key.pem"),
        )
    }

    /// Where the registry keeps the blob `digest` (`sha256:…`).
    pub fn blob_path(&self, digest: &str) -> PathBuf {
        let hex = digest.trim_start_matches("sha256:");
        self.dir
            .path()
            .join("storage/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A CA, and a server certificate and key it signed, as PEM.
fn certificates() -> (String, String, String) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
        SanType,
    };
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "slicegate test CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params
        .subject_alt_names
        .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    let cert = params.signed_by(&key, &issuer).unwrap();
    (ca.pem(), cert.pem(), key.serialize_pem())
}
