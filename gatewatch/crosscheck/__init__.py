"""Cross-checking entry events against the visitor log and standing authorisations."""
