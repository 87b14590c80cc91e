#![allow(dead_code)]
pub mod certs;
pub mod proxy;
pub mod real;
pub mod responder;
pub mod scripted;
pub mod via;
