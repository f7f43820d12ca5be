//! Planning a table's reshape from its job options.
