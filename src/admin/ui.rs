//! The Admin UI's static files, served from directories the user points at: the npm package's
//! `ui/dist`, with the two web-font stylesheets its `index.html` loads from the internet
//! replaced by local copies (npm `@mdi/font` for the icons, `@fontsource/roboto` for the text),
//! so the UI works offline.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    task::{Context, Poll},
};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use tower_layer::Layer;
use tower_service::Service;

use crate::{
    engine::Body,
    service::{ResponseBody, ResponseFuture},
};

/// The Roboto weights the UI asks for.
const ROBOTO_WEIGHTS: [&str; 6] = ["100", "300", "400", "500", "700", "900"];

/// Where the UI's files are: `index.html` is read (and its font links rewritten) once, the
/// other files from disk on each request.
#[derive(Debug, Clone)]
pub struct UiFiles {
    dist: PathBuf,
    icons: Option<PathBuf>,
    roboto: Option<PathBuf>,
    index: Bytes,
}

impl UiFiles {
    /// The UI in `dist` (the npm package's `@socket.io/admin-ui/ui/dist`), without local fonts:
    /// its two external stylesheets are left out (the UI works, its icons are blank) until
    /// [`icons`](Self::icons) and [`roboto`](Self::roboto) are given.
    pub fn new(dist: impl Into<PathBuf>) -> std::io::Result<Self> {
        let dist = dist.into();
        let html = std::fs::read_to_string(dist.join("index.html"))?;
        let mut files = UiFiles {
            dist,
            icons: None,
            roboto: None,
            index: Bytes::new(),
        };
        files.index = Bytes::from(files.rewrite(&html));
        Ok(files)
    }

    /// The UI and its fonts from a `node_modules` folder where `@socket.io/admin-ui`, `@mdi/font`
    /// and `@fontsource/roboto` are installed.
    pub fn from_node_modules(node_modules: impl AsRef<Path>) -> std::io::Result<Self> {
        let nm = node_modules.as_ref();
        let files = UiFiles::new(nm.join("@socket.io/admin-ui/ui/dist"))?;
        files
            .icons(nm.join("@mdi/font"))?
            .roboto(nm.join("@fontsource/roboto"))
    }

    /// The Material Design Icons font: the npm package `@mdi/font` (its `css/` and `fonts/`),
    /// served under `vendor/mdi/`.
    pub fn icons(mut self, dir: impl Into<PathBuf>) -> std::io::Result<Self> {
        let dir = dir.into();
        std::fs::metadata(dir.join("css/materialdesignicons.min.css"))?;
        self.icons = Some(dir);
        self.reindex()
    }

    /// The Roboto font: the npm package `@fontsource/roboto` (its `<weight>.css` and `files/`),
    /// served under `vendor/roboto/`.
    pub fn roboto(mut self, dir: impl Into<PathBuf>) -> std::io::Result<Self> {
        let dir = dir.into();
        std::fs::metadata(dir.join("400.css"))?;
        self.roboto = Some(dir);
        self.reindex()
    }

    fn reindex(mut self) -> std::io::Result<Self> {
        let html = std::fs::read_to_string(self.dist.join("index.html"))?;
        self.index = Bytes::from(self.rewrite(&html));
        Ok(self)
    }

    /// `index.html` with every stylesheet from outside replaced by the local fonts.
    fn rewrite(&self, html: &str) -> String {
        let mut out = String::with_capacity(html.len() + 512);
        let mut rest = html;
        while let Some(start) = rest.find("<link") {
            let Some(len) = rest[start..].find('>') else {
                break;
            };
            let tag = &rest[start..start + len + 1];
            out.push_str(&rest[..start]);
            if tag.contains("href=\"https://") || tag.contains("href=\"http://") {
                if tag.contains("materialdesignicons") && self.icons.is_some() {
                    out.push_str(
                        "<link rel=\"stylesheet\" href=\"vendor/mdi/css/materialdesignicons.min.css\">",
                    );
                } else if tag.contains("Roboto") && self.roboto.is_some() {
                    for w in ROBOTO_WEIGHTS {
                        out.push_str(&format!(
                            "<link rel=\"stylesheet\" href=\"vendor/roboto/{w}.css\">"
                        ));
                    }
                }
            } else {
                out.push_str(tag);
            }
            rest = &rest[start + len + 1..];
        }
        out.push_str(rest);
        out
    }

    /// The file for a path below the mount point (`""` is the index), if it is one of ours.
    fn file(&self, rel: &str) -> Option<PathBuf> {
        let safe = !rel.is_empty()
            && rel.split('/').all(|seg| {
                !seg.is_empty()
                    && seg != "."
                    && seg != ".."
                    && seg
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"._-@".contains(&b))
            });
        if !safe {
            return None;
        }
        if let Some(r) = rel.strip_prefix("vendor/mdi/") {
            return self.icons.as_ref().map(|d| d.join(r));
        }
        if let Some(r) = rel.strip_prefix("vendor/roboto/") {
            return self.roboto.as_ref().map(|d| d.join(r));
        }
        Some(self.dist.join(rel))
    }
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("json" | "map") => "application/json",
        Some("woff2") => "font/woff2",
        Some("woff") => "font/woff",
        Some("ttf") => "font/ttf",
        Some("eot") => "application/vnd.ms-fontobject",
        _ => "application/octet-stream",
    }
}

fn respond(status: StatusCode, kind: &'static str, body: Bytes) -> Response<Body> {
    let mut res = Response::new(Body::full(body));
    *res.status_mut() = status;
    res.headers_mut()
        .insert(header::CONTENT_TYPE, header::HeaderValue::from_static(kind));
    res
}

fn not_found() -> Response<Body> {
    respond(
        StatusCode::NOT_FOUND,
        "text/plain; charset=utf-8",
        Bytes::from_static(b"not found"),
    )
}

/// A layer serving the Admin UI under a path the user picks (`/admin-ui/`, say), and passing
/// every other request to the service it wraps; put it beside the Socket.IO layer.
#[derive(Debug, Clone)]
pub struct AdminUiLayer {
    mount: Arc<str>,
    files: Arc<UiFiles>,
}

impl AdminUiLayer {
    /// Serves `files` under `mount` (a leading and a trailing `/` are added when missing).
    pub fn new(mount: impl Into<String>, files: UiFiles) -> Self {
        let mut mount = mount.into();
        if !mount.starts_with('/') {
            mount.insert(0, '/');
        }
        if !mount.ends_with('/') {
            mount.push('/');
        }
        AdminUiLayer {
            mount: mount.into(),
            files: Arc::new(files),
        }
    }

    /// [`UiFiles::from_node_modules`] under `mount`.
    pub fn from_node_modules(
        mount: impl Into<String>,
        node_modules: impl AsRef<Path>,
    ) -> std::io::Result<Self> {
        Ok(Self::new(mount, UiFiles::from_node_modules(node_modules)?))
    }
}

impl<S> Layer<S> for AdminUiLayer {
    type Service = AdminUiService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AdminUiService {
            mount: self.mount.clone(),
            files: self.files.clone(),
            inner,
        }
    }
}

/// Serves the Admin UI under its mount path, every other request by `S`; see [`AdminUiLayer`].
#[derive(Debug, Clone)]
pub struct AdminUiService<S> {
    mount: Arc<str>,
    files: Arc<UiFiles>,
    inner: S,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for AdminUiService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let path = req.uri().path();
        let bare = &self.mount[..self.mount.len() - 1];
        if path == bare {
            // The UI's links are relative: it must be served under the trailing slash.
            let mut res = Response::new(Body::empty());
            *res.status_mut() = StatusCode::PERMANENT_REDIRECT;
            if let Ok(to) = header::HeaderValue::from_str(&self.mount) {
                res.headers_mut().insert(header::LOCATION, to);
            }
            return ResponseFuture::engine(Box::pin(std::future::ready(res)));
        }
        let Some(rel) = path.strip_prefix(&*self.mount) else {
            return ResponseFuture::inner(self.inner.call(req));
        };
        if req.method() != Method::GET && req.method() != Method::HEAD {
            let mut res = Response::new(Body::empty());
            *res.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
            return ResponseFuture::engine(Box::pin(std::future::ready(res)));
        }
        if rel.is_empty() || rel == "index.html" {
            let res = respond(
                StatusCode::OK,
                "text/html; charset=utf-8",
                self.files.index.clone(),
            );
            return ResponseFuture::engine(Box::pin(std::future::ready(res)));
        }
        let Some(file) = self.files.file(rel) else {
            return ResponseFuture::engine(Box::pin(std::future::ready(not_found())));
        };
        ResponseFuture::engine(Box::pin(async move {
            match tokio::fs::read(&file).await {
                Ok(bytes) => respond(StatusCode::OK, content_type(&file), Bytes::from(bytes)),
                Err(_) => not_found(),
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(icons: bool, roboto: bool) -> UiFiles {
        UiFiles {
            dist: PathBuf::from("/ui"),
            icons: icons.then(|| PathBuf::from("/mdi")),
            roboto: roboto.then(|| PathBuf::from("/roboto")),
            index: Bytes::new(),
        }
    }

    const HTML: &str = r#"<head><link rel="icon" href="favicon.png"><link rel="stylesheet" href="https://fonts.example/css?family=Roboto:100,300"><link rel="stylesheet" href="https://cdn.example/npm/@mdi/font@latest/css/materialdesignicons.min.css"><link href="css/app.css" rel="stylesheet"></head>"#;

    #[test]
    fn the_index_loads_nothing_from_outside() {
        let local = files(true, true).rewrite(HTML);
        assert!(!local.contains("https://"), "{local}");
        assert!(local.contains(r#"href="vendor/mdi/css/materialdesignicons.min.css""#));
        assert!(local.contains(r#"href="vendor/roboto/400.css""#));
        assert!(local.contains(r#"<link rel="icon" href="favicon.png">"#));
        assert!(local.contains(r#"<link href="css/app.css" rel="stylesheet"></head>"#));
        let bare = files(false, false).rewrite(HTML);
        assert!(
            !bare.contains("https://") && !bare.contains("vendor/"),
            "{bare}"
        );
    }

    #[test]
    fn only_files_below_the_roots_are_served() {
        let f = files(true, false);
        assert_eq!(f.file("js/app.js"), Some(PathBuf::from("/ui/js/app.js")));
        assert_eq!(
            f.file("vendor/mdi/fonts/x.woff2"),
            Some(PathBuf::from("/mdi/fonts/x.woff2"))
        );
        assert_eq!(f.file("vendor/roboto/400.css"), None, "no Roboto given");
        for bad in [
            "../secret",
            "js/../../x",
            "/etc/passwd",
            "a//b",
            "%2e%2e/x",
            "",
        ] {
            assert_eq!(f.file(bad), None, "{bad}");
        }
    }
}
