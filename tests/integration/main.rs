//! Integration tests: the built binary on real trees, every store in a tempdir.

mod common;

mod cli_basics;
mod corpus;
mod corruption;
mod crash;
mod flip_sweep;
mod full_disk;
mod hash;
mod hostile;
mod hostile_files;
mod kill_resume;
mod load;
mod packing;
mod proofs_doc;
mod provenance;
mod roundtrip;
mod upgrade;
