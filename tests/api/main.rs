//! Black-box tests: each starts the real `keynest serve` on a random port with a temp data dir
//! and talks HTTP to it, as a client would. One test binary (modules below), so the crate links
//! once.

mod accounts;
mod audit;
mod backup;
mod clean_output;
mod cli;
mod cli_names;
mod cluster;
mod connections;
mod cors;
mod dashboard;
mod durability;
mod errors;
mod feed;
mod full_disk;
mod helpers;
mod hostile_imports;
mod hygiene;
mod idempotency;
mod invitations;
mod lost_access;
mod migrate;
mod observability;
mod quotas;
mod ratelimit;
mod resources;
mod roles;
mod rotation;
mod schema;
mod sessions;
mod shutdown;
mod teams;
mod transfer;
