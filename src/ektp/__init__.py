"""ektp — open-source software for a national identity card programme modelled on Indonesia's KTP-el."""

__version__ = "0.1.0"
