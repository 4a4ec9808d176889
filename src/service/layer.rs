//! [`EngineLayer`].

use std::sync::Arc;

use tower_layer::Layer;

use super::EngineService;
use crate::engine::{Engine, EngineConfig, EngineHandler};

/// A layer that serves Engine.IO at the configured path and passes every other request to the
/// service it wraps.
#[derive(Debug, Clone)]
pub struct EngineLayer {
    engine: Arc<Engine>,
}

impl EngineLayer {
    /// A layer serving `handler` with `config`.
    pub fn new(handler: Arc<dyn EngineHandler>, config: EngineConfig) -> Self {
        EngineLayer {
            engine: Engine::new(handler, config),
        }
    }

    /// A layer over an existing engine.
    pub fn from_engine(engine: Arc<Engine>) -> Self {
        EngineLayer { engine }
    }

    /// The engine, to inspect or close its sessions.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }
}

impl<S> Layer<S> for EngineLayer {
    type Service = EngineService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        EngineService::new(self.engine.clone(), inner)
    }
}
