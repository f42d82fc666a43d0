//! sea-orm entities; one submodule per table.
