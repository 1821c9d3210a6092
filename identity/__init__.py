"""Sign-in with NHSmail / Microsoft Entra ID (OpenID Connect; docs/sign-in.md): the provider's
settings, checking what it sends, matching or creating the person, roles from its groups."""
