//! Integration tests: the built `platgen` binary, run in a temporary copy of the project.

mod build;
mod conformance;
mod errors;
mod extend;
mod fuzz;
mod support;
mod tree;
