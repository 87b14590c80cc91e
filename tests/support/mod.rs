#![allow(dead_code)]
pub mod certs;
pub mod file_tree;
pub mod proxy;
pub mod real;
pub mod responder;
pub mod scripted;
pub mod scripted_client;
pub mod via;
