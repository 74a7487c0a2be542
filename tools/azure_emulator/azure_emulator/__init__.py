"""A local Azure for tests and the offline sandbox: Entra ID, Resource Manager,
Blob Storage (Azurite behind a TLS proxy), with fault injection."""

__version__ = "0.1.0"
