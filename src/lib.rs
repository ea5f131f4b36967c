//! healthpipe
