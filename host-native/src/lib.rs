//! Sentimap's native host as a library: the producer (`sentimap produce`), so tests and the local
//! demo can drive it in-process. The `sentimap` binary is a thin command line over it.

pub mod produce;
