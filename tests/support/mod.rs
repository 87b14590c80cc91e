#![allow(dead_code)]
pub mod scripted;
pub mod real;
pub mod proxy;
