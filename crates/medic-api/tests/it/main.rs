//! medic-api's tests: every route through `Router::oneshot`, every auth
//! failure, the bad-input corpus, and property tests of the parsers.

mod auth;
mod ci;
mod corpus;
mod endpoints;
mod harness;
mod listen;
mod routes;
mod shapes;
mod tls;
mod webhooks;
