//! platgen: typed descriptors in, the Kubernetes deployment of the e-commerce platform out.

pub mod emit;
pub mod source;
