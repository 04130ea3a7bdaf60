//! The light-client page on HTTP: `casl2 devnet` serves the browser page (`wasm/www/`) and its
//! wasm package (`wasm/pkg/`, built by `scripts/build-wasm.sh`) from one directory on disk.
//!
//! Only files directly under `www/` and `pkg/` with a known extension are served (no directory
//! listings, no `..`, no hidden files). `/` redirects to the page with its fields preset for
//! this network (a query on `/` is passed on); when the package is not built, `/` says how to build it instead of serving a
//! page that cannot start.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::future::Future;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

/// What the page server needs.
#[derive(Debug, Clone)]
pub struct PageConfig {
    /// The `wasm/` directory: holds `www/` (the page) and `pkg/` (the built package).
    pub root: PathBuf,
    /// The query string `/` redirects to (`l1=…&node=…&chain=…`), without the `?`.
    pub query: String,
}

impl PageConfig {
    /// Whether the wasm package has been built (`pkg/casl2_wasm.js` and its `.wasm`).
    pub fn package_built(&self) -> bool {
        let pkg = self.root.join("pkg");
        pkg.join("casl2_wasm.js").is_file() && pkg.join("casl2_wasm_bg.wasm").is_file()
    }

    /// Whether the page itself is there (`www/index.html`).
    pub fn page_present(&self) -> bool {
        self.root.join("www").join("index.html").is_file()
    }
}

/// The `wasm/` directory of this source tree, if it is still where it was built; otherwise
/// `./wasm` if the current directory has one.
pub fn default_root() -> Option<PathBuf> {
    let built = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../wasm"));
    [built, PathBuf::from("wasm")]
        .into_iter()
        .find(|p| p.join("www").join("index.html").is_file())
}

fn content_type(name: &str) -> Option<&'static str> {
    let ext = name.rsplit_once('.')?.1;
    Some(match ext {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "wasm" => "application/wasm",
        "json" => "application/json",
        "ts" => "text/plain; charset=utf-8",
        "png" => "image/png",
        "svg" => "image/svg+xml",
        _ => return None,
    })
}

/// The file `dir/name` if `name` is a plain file name this server may serve.
pub fn servable(root: &FsPath, dir: &str, name: &str) -> Option<(PathBuf, &'static str)> {
    if !matches!(dir, "www" | "pkg")
        || name.is_empty()
        || name.starts_with('.')
        || name.contains(['/', '\\'])
        || name.contains("..")
    {
        return None;
    }
    let ct = content_type(name)?;
    Some((root.join(dir).join(name), ct))
}

fn text(status: StatusCode, ct: &'static str, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    r
}

async fn index(State(cfg): State<Arc<PageConfig>>, RawQuery(extra): RawQuery) -> Response {
    if !cfg.page_present() {
        return text(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            format!(
                "the light-client page is not in {} (expected www/index.html there)\n",
                cfg.root.display()
            ),
        );
    }
    if !cfg.package_built() {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/html; charset=utf-8",
            format!(
                "<!doctype html><meta charset=utf-8><title>casl2 light client</title>\
                 <h1>The wasm package is not built</h1>\
                 <p>The page needs <code>{}/pkg/casl2_wasm.js</code>. Build it once with \
                 <code>scripts/build-wasm.sh</code> (from the repository root; it installs the \
                 wasm target and a matching wasm-bindgen-cli when missing), then reload.</p>",
                cfg.root.display()
            ),
        );
    }
    let mut r = StatusCode::FOUND.into_response();
    // Fields the visitor gave (`/?address=0x…`) come after, so they win.
    let loc = match extra.filter(|q| !q.is_empty()) {
        Some(q) => format!("/www/index.html?{}&{q}", cfg.query),
        None => format!("/www/index.html?{}", cfg.query),
    };
    if let Ok(v) = HeaderValue::from_str(&loc) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

async fn file(
    State(cfg): State<Arc<PageConfig>>,
    Path((dir, name)): Path<(String, String)>,
) -> Response {
    let Some((path, ct)) = servable(&cfg.root, &dir, &name) else {
        return text(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            format!("no such file: /{dir}/{name}\n"),
        );
    };
    let p = path.clone();
    let read = tokio::task::spawn_blocking(move || std::fs::read(p))
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e.to_string())));
    match read {
        Ok(bytes) => {
            let mut r = Response::new(Body::from(bytes));
            let h = r.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            r
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let hint = if dir == "pkg" {
                " (the wasm package is not built: run scripts/build-wasm.sh)"
            } else {
                ""
            };
            text(
                StatusCode::NOT_FOUND,
                "text/plain; charset=utf-8",
                format!("no such file: /{dir}/{name}{hint}\n"),
            )
        }
        Err(e) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "text/plain; charset=utf-8",
            format!("reading {}: {e}\n", path.display()),
        ),
    }
}

/// The router of the page server.
pub fn router(cfg: PageConfig) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/{dir}/{name}", get(file))
        .with_state(Arc::new(cfg))
}

/// Serve the page on `listener` until `shutdown` completes.
pub async fn serve(
    cfg: PageConfig,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(cfg))
        .with_graceful_shutdown(shutdown)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_files_of_www_and_pkg_are_servable() {
        let root = FsPath::new("/r");
        assert!(servable(root, "www", "index.html").is_some());
        assert_eq!(
            servable(root, "pkg", "casl2_wasm_bg.wasm").map(|x| x.1),
            Some("application/wasm")
        );
        for (d, n) in [
            ("src", "lib.rs"),
            ("www", "../Cargo.toml"),
            ("www", ".hidden.js"),
            ("www", "a/b.js"),
            ("pkg", "x..js"),
            ("www", "noext"),
            ("www", "run.sh"),
            ("..", "index.html"),
        ] {
            assert!(servable(root, d, n).is_none(), "{d}/{n}");
        }
    }
}
