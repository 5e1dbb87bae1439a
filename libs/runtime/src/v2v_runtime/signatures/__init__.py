"""Part 11 electronic signatures: the model (``model``), re-authentication at the provider
(``reauth``), the gate a signed act goes through (``gate``), their read model (``store``) and
the security notice of repeated failures (``notify``). docs/signatures.md."""
