"""Planning: treatments become dated attempts; whatever closes an account stops them."""
