//! Engine.IO v4.
