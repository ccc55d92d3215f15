//! Integration tests: the built `platgen` binary, run in a temporary copy of the project.

mod admission;
mod backup;
mod bootstrap;
mod build;
mod check;
mod clusters;
mod components;
mod conformance;
mod crosscheck;
mod data_layer;
mod ecosystem;
mod errors;
mod extend;
mod fuzz;
mod resilience;
mod scale;
mod suite;
mod support;
mod tree;
mod wiring;
mod writes;
