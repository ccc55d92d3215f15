//! Descriptor source text: where each key sits, and diagnostics that point into it.
