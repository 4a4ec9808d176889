//! The tower surface: a [`Layer`](tower_layer::Layer) and [`Service`](tower_service::Service)
//! that serve the engine's path and hand every other request to the service they wrap.

mod body;
mod future;
mod layer;
#[allow(clippy::module_inception)]
mod service;

pub use self::body::ResponseBody;
pub use self::future::ResponseFuture;
pub use self::layer::EngineLayer;
pub use self::service::{EngineService, NotFound};
pub use crate::engine::Body;
