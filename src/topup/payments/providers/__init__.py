"""Payment providers, one folder each; each exposes ``from_settings(ctx: ProviderContext)``."""
