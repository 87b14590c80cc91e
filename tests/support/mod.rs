#![allow(dead_code)]
pub mod proxy;
pub mod real;
pub mod scripted;
