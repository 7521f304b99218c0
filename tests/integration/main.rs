//! Integration tests: the built binary on real trees, every store in a tempdir.

mod common;

mod cli_basics;
mod corpus;
mod corruption;
mod crash;
mod hash;
mod hostile;
mod kill_resume;
mod proofs_doc;
mod provenance;
mod roundtrip;
