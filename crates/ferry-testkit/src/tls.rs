//! A throwaway certificate authority for TLS tests, made with the `openssl`
//! command at test time: a CA, a server certificate it signs for
//! `127.0.0.1` and `localhost`, and a second, unrelated CA to prove that
//! verification rejects what the wrong CA did not sign.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// PEM files in one directory (readable by any user, so servers run as
/// another user can read them; the keys are throwaway).
#[derive(Debug, Clone)]
pub struct TlsCerts {
    pub dir: PathBuf,
    /// The CA that signed the server certificate.
    pub ca_cert: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    /// A CA that signed nothing the servers present.
    pub other_ca_cert: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) -> Result<(), String> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("openssl: cannot run: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "openssl {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Generates the CA, the server certificate and the other CA in a new
/// directory the caller keeps (the test process leaks it to the OS's tmp).
pub fn generate() -> Result<TlsCerts, String> {
    let dir = tempfile::Builder::new()
        .prefix("ferry-tls-")
        .tempdir()
        .map_err(|e| e.to_string())?
        .keep();
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
    for (name, cn) in [("ca", "ferry test CA"), ("other-ca", "ferry other CA")] {
        let mut args = vec!["req", "-x509", "-nodes", "-days", "2"];
        args.extend_from_slice(&ec);
        let (key, crt, subj) = (
            format!("{name}.key"),
            format!("{name}.crt"),
            format!("/CN={cn}"),
        );
        args.extend_from_slice(&["-keyout", &key, "-out", &crt, "-subj", &subj]);
        args.extend_from_slice(&[
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        openssl(&dir, &args)?;
    }
    let mut args = vec!["req", "-nodes"];
    args.extend_from_slice(&ec);
    args.extend_from_slice(&[
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]);
    openssl(&dir, &args)?;
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n\
         basicConstraints=CA:FALSE\n\
         keyUsage=critical,digitalSignature,keyEncipherment\n\
         extendedKeyUsage=serverAuth\n",
    )
    .map_err(|e| e.to_string())?;
    openssl(
        &dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            "server.crt",
            "-extfile",
            "server.ext",
        ],
    )?;
    let _ = Command::new("chmod")
        .arg("-R")
        .arg("a+rX")
        .arg(&dir)
        .status();
    Ok(TlsCerts {
        ca_cert: dir.join("ca.crt"),
        server_cert: dir.join("server.crt"),
        server_key: dir.join("server.key"),
        other_ca_cert: dir.join("other-ca.crt"),
        dir,
    })
}
