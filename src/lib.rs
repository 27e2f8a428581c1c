//! The `keynest` binary's library: settings, the HTTP face, and start-up. The domain lives in the
//! `keynest-actors` crate. `seed` (hidden) fills a store for the benches and the seed example.
#![forbid(unsafe_code)]

// mimalloc: the listing path makes many small allocations, and glibc's malloc/free were ~20% of
// the server's CPU under load (perf, BENCHMARKS.md). Declared here so the binary and the benches
// that link this library measure the same allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod cli;
pub mod config;
pub mod http;
pub mod operator;
#[doc(hidden)]
pub mod seed;
pub mod server;
pub mod web;
