//! Servers for tests, on loopback and in process:
//!
//! - [`s3_server`]: a real S3 protocol server (s3s over a folder), and the targets of the tests
//!   (it, and moto when `.ci/run` started one);
//! - [`fault_proxy`]: a TCP proxy that adds latency, caps bandwidth, cuts, resets, throttles or
//!   swallows traffic, and records every request.

pub mod fault_proxy;
pub mod s3_server;
