//! [`EngineService`].

use std::{
    convert::Infallible,
    future::{Ready, ready},
    sync::Arc,
    task::{Context, Poll},
};

use http::{Request, Response, StatusCode};
use http_body::Body as HttpBody;
use tower_service::Service;

use super::ResponseFuture;
use crate::engine::Body;
use crate::engine::{Engine, EngineConfig, EngineHandler};

/// Serves Engine.IO at the engine's path and passes every other request, untouched, to `S`.
#[derive(Debug, Clone)]
pub struct EngineService<S> {
    engine: Arc<Engine>,
    inner: S,
}

impl<S> EngineService<S> {
    /// Wraps `inner`.
    pub fn new(engine: Arc<Engine>, inner: S) -> Self {
        EngineService { engine, inner }
    }

    /// The engine.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }
}

impl EngineService<NotFound> {
    /// A stand-alone service for plain hyper: Engine.IO at its path, 404 elsewhere.
    pub fn standalone(handler: Arc<dyn EngineHandler>, config: EngineConfig) -> Self {
        EngineService::new(Engine::new(handler, config), NotFound)
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for EngineService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ReqBody: HttpBody + Send + 'static,
    ReqBody::Data: Send,
    ReqBody::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response<super::ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        if self.engine.matches(req.uri().path()) {
            ResponseFuture::engine(Box::pin(self.engine.clone().handle(req)))
        } else {
            ResponseFuture::inner(self.inner.call(req))
        }
    }
}

/// A service that answers every request with 404 Not Found.
#[derive(Debug, Clone, Copy, Default)]
pub struct NotFound;

impl<B> Service<Request<B>> for NotFound {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Ready<Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Request<B>) -> Self::Future {
        let mut res = Response::new(Body::empty());
        *res.status_mut() = StatusCode::NOT_FOUND;
        ready(Ok(res))
    }
}
